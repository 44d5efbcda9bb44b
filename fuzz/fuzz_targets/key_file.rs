//! Key-file parsers: PEM, age identity files, Secret / List manifests (YAML and JSON), recipient
//! lists, key Secret fields. Must never panic, and errors must never echo the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealkit_crypto::keys::{parse_private_keys, parse_recipients};
use sealkit_crypto::{KeyPair, RsaPrivateKey};

fuzz_target!(|data: &[u8]| {
    if let Err(err) = parse_private_keys(data) {
        // Key material is base64 (PEM bodies, Secret data) or bech32 (age): no 32-character run of
        // that alphabet from the input may reappear in the message.
        let message = err.to_string();
        let input = String::from_utf8_lossy(data);
        let bytes = message.as_bytes();
        let key_alphabet = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-');
        for start in 0..bytes.len().saturating_sub(31) {
            let window = &bytes[start..start + 32];
            if window.iter().all(key_alphabet) {
                let window = std::str::from_utf8(window).unwrap();
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
