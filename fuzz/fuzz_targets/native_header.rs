//! Native header parser: arbitrary bytes become the *payload* of a valid age file for the ring's
//! identity, so the sealkit header decoder (reachable only after decryption) sees every input.
#![no_main]

use std::io::Write;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sealkit_crypto::keys::parse_private_keys;
use sealkit_crypto::{Binding, KeyRing, PrivateKey, Scope};

fn setup() -> &'static (KeyRing, age::x25519::Recipient) {
    static SETUP: OnceLock<(KeyRing, age::x25519::Recipient)> = OnceLock::new();
    SETUP.get_or_init(|| {
        let keys = parse_private_keys(include_bytes!("../../crypto/tests/vectors/age-identity-1.txt")).unwrap();
        let PrivateKey::Age(identity) = &keys[0] else { panic!("age identity") };
        let recipient = identity.recipient().to_string().parse().unwrap();
        (keys.into_iter().collect(), recipient)
    })
}

fuzz_target!(|data: &[u8]| {
    let (ring, recipient) = setup();
    let encryptor = age::Encryptor::with_recipients(std::iter::once(recipient as &dyn age::Recipient)).unwrap();
    let mut sealed = Vec::new();
    let mut writer = encryptor.wrap_output(&mut sealed).unwrap();
    writer.write_all(data).unwrap();
    writer.finish().unwrap();
    for scope in [
        Scope::Strict { namespace: "team-a".into(), name: "db".into() },
        Scope::NamespaceWide { namespace: "team-a".into() },
        Scope::ClusterWide,
    ] {
        if let Ok(unsealed) = ring.unseal(&sealed, &Binding::new(scope, "password")) {
            assert!(data.starts_with(b"sealkit\x01"));
            assert!(unsealed.value.len() < data.len());
        }
    }
});
