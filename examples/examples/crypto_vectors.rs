//! Helper for `scripts/crypto-vectors`: seals a Secret (JSON) with sealkit-crypto's hybrid format so
//! that the real `kubeseal --recovery-unseal` can check it.
//!
//! `cargo run -p sealkit-examples --example crypto_vectors -- seal-hybrid SECRET.json CERT.pem`
//! prints a SealedSecret (JSON) on stdout.
//!
//! `cargo run -p sealkit-examples --example crypto_vectors -- generate-key KEY.json CERT.pem`
//! writes a sealkit controller key Secret (JSON, with `age.key`) and its certificate.

use std::collections::BTreeMap;
use std::error::Error;

use sealkit_crypto::{Binding, Certificate, Scope, SealingTarget, base64};
use serde_json::{Value, json};

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [command, secret, cert] if command == "seal-hybrid" => seal_hybrid(secret, cert),
        [command, key, cert] if command == "generate-key" => generate_key(key, cert),
        _ => Err("usage: crypto_vectors (seal-hybrid SECRET.json CERT.pem | generate-key KEY.json CERT.pem)".into()),
    }
}

fn generate_key(key_path: &str, cert_path: &str) -> Result<(), Box<dyn Error>> {
    let pair = sealkit_crypto::keys::generate(&sealkit_crypto::keys::KeyGenOptions::default())?;
    let data: serde_json::Map<String, Value> = pair
        .to_secret_data()?
        .into_iter()
        .map(|(k, v)| (k, Value::String(base64::encode(v.expose_secret()))))
        .collect();
    let secret = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "type": sealkit_crypto::keys::KEY_SECRET_TYPE,
        "metadata": {
            "name": "sealed-secrets-keysealk",
            "namespace": "kube-system",
            "labels": { sealkit_crypto::keys::KEY_LABEL: sealkit_crypto::keys::KEY_LABEL_ACTIVE },
        },
        "data": data,
    });
    std::fs::write(key_path, serde_json::to_string_pretty(&secret)? + "\n")?;
    std::fs::write(cert_path, pair.certificate().to_pem())?;
    Ok(())
}

fn seal_hybrid(secret_path: &str, cert_path: &str) -> Result<(), Box<dyn Error>> {
    let secret: Value = serde_json::from_slice(&std::fs::read(secret_path)?)?;
    let certificate = Certificate::from_pem(&std::fs::read(cert_path)?)?;
    let target = SealingTarget::from_certificate(&certificate);

    let metadata = &secret["metadata"];
    let namespace = metadata["namespace"].as_str().unwrap_or("default");
    let name = metadata["name"]
        .as_str()
        .ok_or("the Secret has no metadata.name")?;
    let annotations: BTreeMap<String, String> =
        serde_json::from_value(metadata.get("annotations").cloned().unwrap_or(json!({})))?;
    let scope = Scope::from_annotations(namespace, name, Some(&annotations));

    let mut encrypted = serde_json::Map::new();
    if let Some(data) = secret["data"].as_object() {
        for (key, value) in data {
            let plaintext = base64::decode(value.as_str().ok_or("data values must be strings")?)?;
            let sealed = target.seal(&Binding::new(scope.clone(), key), &plaintext)?;
            encrypted.insert(key.clone(), Value::String(base64::encode(&sealed)));
        }
    }
    let mut top_annotations = BTreeMap::new();
    scope.write_annotations(&mut top_annotations);
    let sealed_secret = json!({
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": { "name": name, "namespace": namespace, "annotations": top_annotations },
        "spec": {
            "template": {
                "metadata": { "name": name, "namespace": namespace, "annotations": annotations },
                "type": secret.get("type").cloned().unwrap_or(json!("Opaque")),
            },
            "encryptedData": encrypted,
        },
    });
    println!("{}", serde_json::to_string_pretty(&sealed_secret)?);
    Ok(())
}
