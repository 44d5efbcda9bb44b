//! Lenient certificate parser (DER and PEM). Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealkit_crypto::Certificate;

fuzz_target!(|data: &[u8]| {
    if let Ok(cert) = Certificate::from_der(data) {
        let _ = cert.to_pem();
        let _ = cert.check_valid_at(std::time::SystemTime::now());
    }
    let _ = Certificate::from_pem(data);
});
