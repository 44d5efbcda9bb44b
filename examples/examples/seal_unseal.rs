//! Seal and unseal with the sealkit-crypto API, in both formats.
//!
//! `cargo run -p sealkit-examples --example seal_unseal`

use std::error::Error;

use sealkit_crypto::keys::{KeyGenOptions, RsaKeySize};
use sealkit_crypto::{AgeIdentity, Binding, KeyRing, Scope, SealingTarget, base64, keys};

fn main() -> Result<(), Box<dyn Error>> {
    // A controller key: RSA + self-signed certificate (Bitnami-compatible) + age identity.
    let options = KeyGenOptions {
        rsa_size: RsaKeySize::Rsa2048, // 4096 is the default; 2048 keeps the example fast
        ..KeyGenOptions::default()
    };
    let cluster = keys::generate(&options)?;
    let cluster_recipient = cluster
        .age()
        .ok_or("generated keys have an age identity")?
        .recipient()
        .clone();
    // An offline break-glass key that can open every native value too.
    let break_glass = AgeIdentity::generate();

    let binding = Binding::new(Scope::from_annotations("prod", "db", None), "password");

    // Native: one ciphertext for the cluster and the break-glass key.
    let native = SealingTarget::Native(vec![cluster_recipient, break_glass.recipient().clone()]);
    let native_value = base64::encode(&native.seal(&binding, b"hunter2")?);
    // Bitnami format, for a sealed-secrets controller certificate.
    let hybrid = SealingTarget::from_certificate(cluster.certificate());
    let hybrid_value = base64::encode(&hybrid.seal(&binding, b"hunter2")?);
    println!(
        "native value: {}… ({} chars)",
        &native_value[..32],
        native_value.len()
    );
    println!(
        "hybrid value: {}… ({} chars)",
        &hybrid_value[..32],
        hybrid_value.len()
    );

    // The controller's view: all its keys in a ring.
    let mut ring = KeyRing::new();
    ring.add_key_pair(&cluster);
    for value in [&native_value, &hybrid_value] {
        let unsealed = ring.unseal(&base64::decode(value)?, &binding)?;
        println!(
            "unsealed {} bytes ({} format) with key {}",
            unsealed.value.len(),
            unsealed.format,
            unsealed.key
        );
    }

    // The break-glass key alone opens the native value.
    let offline: KeyRing = [break_glass.into()].into_iter().collect();
    let unsealed = offline.unseal(&base64::decode(&native_value)?, &binding)?;
    println!("break-glass key opened the native value: {}", unsealed.key);

    // Found somewhere else: one error, with a precise, non-secret diagnosis.
    let moved = Binding::new(Scope::from_annotations("staging", "db", None), "password");
    for value in [&native_value, &hybrid_value] {
        let err = ring.unseal(&base64::decode(value)?, &moved).unwrap_err();
        println!("{err}: {}", err.diagnosis());
    }
    Ok(())
}
