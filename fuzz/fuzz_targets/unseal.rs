//! Sealed-value parser: format detection, hybrid framing, age header parsing, and the key ring
//! (frozen test keys), fed arbitrary bytes and arbitrary base64 text. Must never panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sealkit_crypto::keys::parse_private_keys;
use sealkit_crypto::{Binding, KeyRing, Scope, base64};

fn ring() -> &'static KeyRing {
    static RING: OnceLock<KeyRing> = OnceLock::new();
    RING.get_or_init(|| {
        let mut keys = parse_private_keys(include_bytes!("../../crypto/tests/vectors/bitnami-key-1.pkcs1.pem")).unwrap();
        keys.extend(parse_private_keys(include_bytes!("../../crypto/tests/vectors/age-identity-1.txt")).unwrap());
        keys.into_iter().collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let binding = Binding::new(
        Scope::Strict { namespace: "team-a".into(), name: "db".into() },
        "password",
    );
    let _ = ring().unseal(data, &binding);
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(blob) = base64::decode(text) {
            let _ = ring().unseal(&blob, &binding);
        }
    }
});
