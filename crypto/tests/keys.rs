//! Key generation, key Secret round trips, key-file parsing and its errors.

mod common;

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use common::{read_json, read_vector};
use sealkit_crypto::keys::{
    self, AGE_KEY, KeyError, KeyGenOptions, TLS_CRT, TLS_KEY, parse_private_keys, parse_recipients,
};
use sealkit_crypto::{
    Binding, Certificate, KeyPair, KeyRing, PrivateKey, Scope, ScopeKind, base64,
};

/// One RSA-4096 key pair per test binary (generation takes about half a second).
fn generated() -> &'static KeyPair {
    static PAIR: OnceLock<KeyPair> = OnceLock::new();
    PAIR.get_or_init(|| keys::generate(&KeyGenOptions::default()).unwrap())
}

#[test]
fn generated_certificates_look_like_the_sealed_secrets_controllers() {
    let pair = generated();
    let der = pair.certificate().der();
    let (_, cert) = x509_parser::parse_x509_certificate(der).unwrap();
    assert_eq!(cert.subject().iter().count(), 0, "empty subject");
    assert_eq!(cert.issuer().iter().count(), 0, "empty issuer");
    assert_eq!(
        cert.signature_algorithm.algorithm,
        x509_parser::oid_registry::OID_PKCS1_SHA256WITHRSA
    );
    let key_usage = cert.key_usage().unwrap().unwrap();
    assert!(key_usage.critical);
    assert!(key_usage.value.encipher_only());
    assert!(!key_usage.value.digital_signature());
    let constraints = cert.basic_constraints().unwrap().unwrap();
    assert!(constraints.value.ca);
    assert!(cert.raw_serial().len() <= 17, "serial < 2^128");
    let validity = pair
        .certificate()
        .not_after()
        .duration_since(pair.certificate().not_before())
        .unwrap();
    assert_eq!(validity, Duration::from_secs(10 * 365 * 24 * 3600));
    assert_eq!(pair.certificate().public_key().bits(), 4096);
    assert!(pair.certificate().check_valid_at(SystemTime::now()).is_ok());
    assert!(
        pair.certificate()
            .check_valid_at(SystemTime::now() + Duration::from_secs(11 * 365 * 24 * 3600))
            .is_err()
    );
}

#[test]
fn a_common_name_is_written_when_given() {
    let options = KeyGenOptions {
        rsa_size: keys::RsaKeySize::Rsa2048,
        common_name: "sealed".into(),
        ..KeyGenOptions::default()
    };
    let pair = keys::generate(&options).unwrap();
    let (_, cert) = x509_parser::parse_x509_certificate(pair.certificate().der()).unwrap();
    assert_eq!(cert.subject().to_string(), "CN=sealed");
}

#[test]
fn key_secret_data_round_trips() {
    let pair = generated();
    let data = pair.to_secret_data().unwrap();
    assert_eq!(
        data.keys().map(String::as_str).collect::<Vec<_>>(),
        [AGE_KEY, TLS_CRT, TLS_KEY]
    );
    let tls_key = data[TLS_KEY].expose_secret();
    assert!(tls_key.starts_with(b"-----BEGIN RSA PRIVATE KEY-----\n"));
    assert!(!tls_key.contains(&b'\r'));
    assert!(
        data[TLS_CRT]
            .expose_secret()
            .starts_with(b"-----BEGIN CERTIFICATE-----\n")
    );
    assert!(
        data[AGE_KEY]
            .expose_secret()
            .starts_with(b"AGE-SECRET-KEY-1")
    );

    let read = KeyPair::from_secret_fields(
        data[TLS_CRT].expose_secret(),
        tls_key,
        Some(data[AGE_KEY].expose_secret()),
    )
    .unwrap();
    assert_eq!(read.rsa().fingerprint(), pair.rsa().fingerprint());
    assert_eq!(read.certificate(), pair.certificate());
    assert_eq!(
        read.age().unwrap().fingerprint(),
        pair.age().unwrap().fingerprint()
    );
}

#[test]
fn a_bitnami_key_gains_an_age_identity_once() {
    let data = generated().to_secret_data().unwrap();
    let mut pair = KeyPair::from_secret_fields(
        data[TLS_CRT].expose_secret(),
        data[TLS_KEY].expose_secret(),
        None,
    )
    .unwrap();
    assert!(pair.age().is_none());
    assert!(pair.ensure_age());
    let first = pair.age().unwrap().fingerprint();
    assert!(!pair.ensure_age());
    assert_eq!(pair.age().unwrap().fingerprint(), first);
}

#[test]
fn a_key_secret_manifest_yields_both_keys() {
    let pair = generated();
    let data = pair.to_secret_data().unwrap();
    let yaml = format!(
        "apiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\nmetadata:\n  name: k\ndata:\n  tls.crt: {}\n  tls.key: {}\n  age.key: {}\n",
        base64::encode(data[TLS_CRT].expose_secret()),
        base64::encode(data[TLS_KEY].expose_secret()),
        base64::encode(data[AGE_KEY].expose_secret()),
    );
    let keys = parse_private_keys(yaml.as_bytes()).unwrap();
    let fingerprints: Vec<_> = keys.iter().map(PrivateKey::fingerprint).collect();
    assert_eq!(
        fingerprints,
        vec![pair.age().unwrap().fingerprint(), pair.rsa().fingerprint()]
    );
}

#[test]
fn kubeseal_seals_for_our_certificates_and_reads_our_key_secrets() {
    // Recorded by scripts/crypto-vectors: kubeseal sealed with sealkit-cert.pem ...
    let keys = parse_private_keys(&read_vector("sealkit-key.json")).unwrap();
    assert_eq!(keys.len(), 2, "age.key and tls.key");
    let cert = Certificate::from_pem(&read_vector("sealkit-cert.pem")).unwrap();
    assert!(
        keys.iter()
            .any(|k| k.fingerprint() == cert.public_key().fingerprint())
    );
    let ring: KeyRing = keys.into_iter().collect();
    let case = read_json("kubeseal-raw-sealkit-cert.json");
    let scope = Scope::new(
        case["scope"]
            .as_str()
            .unwrap()
            .parse::<ScopeKind>()
            .unwrap(),
        case["namespace"].as_str(),
        case["name"].as_str(),
    )
    .unwrap();
    let blob = base64::decode(case["sealed_b64"].as_str().unwrap()).unwrap();
    let unsealed = ring.unseal(&blob, &Binding::new(scope, "x")).unwrap();
    assert_eq!(
        unsealed.value.expose_secret(),
        base64::decode(case["plaintext_b64"].as_str().unwrap()).unwrap()
    );
    // ... and opened our values with our key Secret.
    let record = String::from_utf8(read_vector("kubeseal-recovery-unseal.txt")).unwrap();
    assert!(
        record
            .lines()
            .any(|l| l.starts_with("sealkit-key.json") && l.contains(": ok"))
    );
}

#[test]
fn age_keygen_files_and_recipient_lists_parse() {
    let keys = parse_private_keys(&read_vector("age-identity-1.txt")).unwrap();
    let [PrivateKey::Age(identity)] = keys.as_slice() else {
        panic!("one age identity")
    };
    let text = String::from_utf8(read_vector("age-identity-1.txt")).unwrap();
    let recipients = parse_recipients(
        &text
            .replace("# public key: ", "")
            .lines()
            .filter(|l| l.starts_with("age1"))
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    assert_eq!(recipients, vec![identity.recipient().clone()]);
    let list = format!(
        "# comment\n\n{}\n  {}  \n",
        identity.recipient(),
        generated().age().unwrap().recipient()
    );
    assert_eq!(parse_recipients(&list).unwrap().len(), 2);
    assert!(matches!(
        parse_recipients("age1nope"),
        Err(KeyError::InvalidAgeRecipient(_))
    ));
}

#[test]
fn a_pem_file_with_certificate_and_key_yields_the_key() {
    let data = generated().to_secret_data().unwrap();
    let mut both = data[TLS_CRT].expose_secret().to_vec();
    both.extend(data[TLS_KEY].expose_secret());
    let keys = parse_private_keys(&both).unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].fingerprint(), generated().rsa().fingerprint());
}

#[test]
fn bad_key_files_get_clear_errors_without_key_material() {
    let secret_key = "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ";
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty input", b"".to_vec()),
        ("prose", b"hello world".to_vec()),
        (
            "a ConfigMap",
            b"apiVersion: v1\nkind: ConfigMap\ndata:\n  tls.key: x\n".to_vec(),
        ),
        (
            "an EC key",
            b"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n".to_vec(),
        ),
        (
            "broken PEM",
            b"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n".to_vec(),
        ),
        ("a bad age identity", format!("{secret_key}\n").into_bytes()),
        (
            "data that is not base64",
            format!("kind: Secret\ndata:\n  tls.key: \"{secret_key}!\"\n").into_bytes(),
        ),
        (
            "invalid YAML",
            format!("kind: Secret\ndata: [\n  tls.key: {secret_key}\n").into_bytes(),
        ),
    ];
    for (what, input) in cases {
        let err = parse_private_keys(&input).expect_err(what);
        let message = err.to_string();
        assert!(!message.contains("QQQQ"), "{what}: {message}");
        assert!(!message.is_empty());
        assert!(
            message.starts_with(|c: char| c.is_lowercase()),
            "{what}: {message}"
        );
    }
}
