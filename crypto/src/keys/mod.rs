//! Keys: generation, parsing (PEM, `kubernetes.io/tls` Secrets, `List` backups, age identities),
//! certificates and fingerprints.
//!
//! A sealed-secrets controller key is a [`KeyPair`]: an RSA key with its self-signed certificate
//! (Bitnami-compatible) and, for sealkit, an age X25519 identity stored next to it under
//! [`AGE_KEY`].

mod age;
mod certificate;
mod der;
mod key_file;
mod key_pair;
mod rsa;

use std::fmt;

use ::base64::Engine as _;
use ::base64::engine::general_purpose::STANDARD_NO_PAD;

pub use self::age::{AgeIdentity, AgeRecipient, parse_recipients};
pub use self::certificate::Certificate;
pub use self::key_file::parse_private_keys;
pub use self::key_pair::{KeyGenOptions, KeyPair, RsaKeySize, generate};
pub use self::rsa::{RsaPrivateKey, RsaPublicKey};

/// Data key of the PEM certificate in a key Secret.
pub const TLS_CRT: &str = "tls.crt";
/// Data key of the PEM RSA private key (PKCS#1 `RSA PRIVATE KEY`) in a key Secret.
pub const TLS_KEY: &str = "tls.key";
/// Data key of the age X25519 identity (`AGE-SECRET-KEY-1…`) in a key Secret (sealkit addition).
pub const AGE_KEY: &str = "age.key";
/// Label marking key Secrets; value `active` (or `compromised`, which retires the key).
pub const KEY_LABEL: &str = "sealedsecrets.bitnami.com/sealed-secrets-key";
/// Value of [`KEY_LABEL`] for keys in use.
pub const KEY_LABEL_ACTIVE: &str = "active";
/// Type of key Secrets.
pub const KEY_SECRET_TYPE: &str = "kubernetes.io/tls";

/// Key material could not be generated, parsed or used.
///
/// Messages never contain key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Malformed PEM.
    #[error("invalid PEM")]
    Pem(#[source] pem::PemError),
    /// A PEM block of an unsupported type.
    #[error("unsupported PEM block `{0}` (expected RSA PRIVATE KEY, PRIVATE KEY or CERTIFICATE)")]
    UnsupportedPemBlock(String),
    /// The RSA private or public key was rejected (bad DER, unsupported size, not RSA).
    #[error("invalid RSA key ({0})")]
    InvalidRsaKey(&'static str),
    /// No certificate in the input.
    #[error("no CERTIFICATE PEM block found")]
    NoCertificate,
    /// The certificate could not be parsed.
    #[error("invalid certificate ({0})")]
    InvalidCertificate(String),
    /// The certificate's public key is not RSA.
    #[error("the certificate's public key is not an RSA key")]
    NotRsaCertificate,
    /// The certificate is outside its validity period.
    #[error(
        "the certificate is not valid at this time (valid from {not_before} to {not_after}, unix seconds)"
    )]
    CertificateNotValid {
        /// NotBefore, seconds since the epoch.
        not_before: i64,
        /// NotAfter, seconds since the epoch.
        not_after: i64,
    },
    /// Not an age X25519 identity.
    #[error("invalid age identity (expected AGE-SECRET-KEY-1…)")]
    InvalidAgeIdentity,
    /// Not an age X25519 recipient.
    #[error("invalid age recipient `{0}` (expected age1…)")]
    InvalidAgeRecipient(String),
    /// Not YAML/JSON, or not a Secret/List.
    #[error("not a PEM key, an age identity, a Secret or a List of Secrets{location}")]
    InvalidManifest {
        /// ` at line L column C` when known.
        location: String,
    },
    /// A Secret data value is not base64.
    #[error("data `{0}` of a Secret is not valid base64")]
    InvalidSecretData(String),
    /// The input held no private key.
    #[error(
        "no private key found (expected a PEM RSA key, an AGE-SECRET-KEY-1 line, or a Secret with data `tls.key` or `age.key`)"
    )]
    NoPrivateKey,
    /// Key generation failed.
    #[error("key generation failed ({0})")]
    Generate(String),
}

impl KeyError {
    /// The tag is echoed (it names the block type), but only its first 30 characters.
    fn unsupported_pem_block(tag: &str) -> Self {
        KeyError::UnsupportedPemBlock(tag.chars().take(30).collect())
    }
}

/// The algorithm of a public key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyAlgorithm {
    /// RSA (compat format).
    Rsa,
    /// age X25519 (native format).
    Age,
}

/// The fingerprint of a public key: SHA-256 over a canonical public encoding.
///
/// * RSA: the SSH wire encoding of the key (`ssh-rsa`, e, n), so the part after `rsa:` equals the
///   fingerprint sealed-secrets uses internally and `ssh-keygen -l` prints.
/// * age: the `age1…` recipient string.
///
/// Displayed as `rsa:SHA256:<base64 without padding>` or `age:SHA256:<…>`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint {
    algorithm: KeyAlgorithm,
    sha256: [u8; 32],
}

impl Fingerprint {
    pub(crate) fn new(algorithm: KeyAlgorithm, encoding: &[u8]) -> Self {
        let digest = ring::digest::digest(&ring::digest::SHA256, encoding);
        let mut sha256 = [0u8; 32];
        sha256.copy_from_slice(digest.as_ref());
        Self { algorithm, sha256 }
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// The raw SHA-256.
    pub fn sha256(&self) -> &[u8; 32] {
        &self.sha256
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = match self.algorithm {
            KeyAlgorithm::Rsa => "rsa",
            KeyAlgorithm::Age => "age",
        };
        write!(f, "{prefix}:SHA256:{}", STANDARD_NO_PAD.encode(self.sha256))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// One private key of either kind: what a key ring holds.
#[derive(Clone, Debug)]
pub enum PrivateKey {
    /// RSA (compat format).
    Rsa(RsaPrivateKey),
    /// age X25519 (native format).
    Age(AgeIdentity),
}

impl PrivateKey {
    /// Fingerprint of the public key.
    pub fn fingerprint(&self) -> Fingerprint {
        match self {
            PrivateKey::Rsa(key) => key.fingerprint(),
            PrivateKey::Age(key) => key.fingerprint(),
        }
    }
}

impl From<RsaPrivateKey> for PrivateKey {
    fn from(key: RsaPrivateKey) -> Self {
        PrivateKey::Rsa(key)
    }
}

impl From<AgeIdentity> for PrivateKey {
    fn from(key: AgeIdentity) -> Self {
        PrivateKey::Age(key)
    }
}

/// PEM encoding with LF line endings and 64-column lines, as Go writes it.
pub(crate) fn pem_encode(tag: &str, der: Vec<u8>) -> String {
    let block = pem::Pem::new(tag, der);
    pem::encode_config(
        &block,
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}
