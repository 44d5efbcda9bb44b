//! Key-file parsers: PEM, age identity files, Secret / List manifests (YAML and JSON), recipient
//! lists, key Secret fields. Must never panic, and errors must never echo the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealkit_crypto::keys::{parse_private_keys, parse_recipients};
use sealkit_crypto::{KeyPair, RsaPrivateKey};

fuzz_target!(|data: &[u8]| {
    if let Err(err) = parse_private_keys(data) {
        // No 32-byte run of the input may reappear in the message.
        let message = err.to_string();
        let input = String::from_utf8_lossy(data);
        let bytes = message.as_bytes();
        for start in 0..bytes.len().saturating_sub(31) {
            if let Ok(window) = std::str::from_utf8(&bytes[start..start + 32]) {
                assert!(!input.contains(window), "error message echoes the input: {message}");
            }
        }
    }
    let _ = RsaPrivateKey::from_pem(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_recipients(text);
    }
    let third = data.len() / 3;
    let _ = KeyPair::from_secret_fields(&data[..third], &data[third..2 * third], Some(&data[2 * third..]));
});
