//! A controller key: RSA key + self-signed certificate (Bitnami-compatible) + age identity.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{
    AGE_KEY, AgeIdentity, Certificate, KeyError, PrivateKey, RsaPrivateKey, TLS_CRT, TLS_KEY,
};
use crate::SecretBytes;

/// RSA modulus size for new keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RsaKeySize {
    /// 2048 bits (tests only; sealed-secrets' `--key-size` allows it).
    Rsa2048,
    /// 3072 bits.
    Rsa3072,
    /// 4096 bits, the sealed-secrets default.
    #[default]
    Rsa4096,
}

/// Options for [`generate`]; the defaults are sealed-secrets' controller defaults.
#[derive(Clone, Debug)]
pub struct KeyGenOptions {
    /// RSA size (default 4096).
    pub rsa_size: RsaKeySize,
    /// Certificate subject/issuer common name (`--my-cn`, default empty: empty subject).
    pub common_name: String,
    /// NotBefore (default now).
    pub not_before: SystemTime,
    /// Validity (`--key-ttl`, default 10 × 365 days).
    pub validity: Duration,
}

impl Default for KeyGenOptions {
    fn default() -> Self {
        Self {
            rsa_size: RsaKeySize::Rsa4096,
            common_name: String::new(),
            not_before: SystemTime::now(),
            validity: Duration::from_secs(10 * 365 * 24 * 3600),
        }
    }
}

/// Generates a controller key: RSA key, self-signed certificate like sealed-secrets' (serial
/// < 2^128, subject = issuer = `CN=<common_name>` or empty, `KeyUsage = encipherOnly`, CA, SHA-256
/// with RSA), and an age X25519 identity. RSA-4096 takes about half a second.
pub fn generate(options: &KeyGenOptions) -> Result<KeyPair, KeyError> {
    let size = match options.rsa_size {
        RsaKeySize::Rsa2048 => aws_lc_rs::rsa::KeySize::Rsa2048,
        RsaKeySize::Rsa3072 => aws_lc_rs::rsa::KeySize::Rsa3072,
        RsaKeySize::Rsa4096 => aws_lc_rs::rsa::KeySize::Rsa4096,
    };
    let rsa = RsaPrivateKey::generate(size)?;
    let certificate = self_signed_certificate(&rsa, options)?;
    Ok(KeyPair {
        rsa,
        certificate,
        age: Some(AgeIdentity::generate()),
    })
}

fn self_signed_certificate(
    rsa: &RsaPrivateKey,
    options: &KeyGenOptions,
) -> Result<Certificate, KeyError> {
    let generate_error = |e: rcgen::Error| KeyError::Generate(format!("certificate: {e}"));
    let pkcs8 = rsa.to_pkcs8_der()?;
    let signing_key = rcgen::KeyPair::try_from(pkcs8.as_slice()).map_err(generate_error)?;

    let not_before = unix_seconds(options.not_before);
    let not_after =
        not_before.saturating_add(i64::try_from(options.validity.as_secs()).unwrap_or(i64::MAX));
    let to_time = |unix: i64| {
        time::OffsetDateTime::from_unix_timestamp(unix)
            .map_err(|_| KeyError::Generate("certificate validity out of range".into()))
    };

    let mut params = rcgen::CertificateParams::default();
    params.not_before = to_time(not_before)?;
    params.not_after = to_time(not_after)?;
    let mut serial = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut serial)
        .map_err(|_| KeyError::Generate("no randomness".into()))?;
    serial[0] &= 0x7f;
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
    let mut name = rcgen::DistinguishedName::new();
    if !options.common_name.is_empty() {
        name.push(rcgen::DnType::CommonName, options.common_name.as_str());
    }
    params.distinguished_name = name;
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![rcgen::KeyUsagePurpose::EncipherOnly];

    let cert = params.self_signed(&signing_key).map_err(generate_error)?;
    Ok(Certificate::from_parts(
        cert.der().to_vec(),
        rsa.public_key().clone(),
        not_before,
        not_after,
    ))
}

fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// A controller key as stored in a key Secret (`tls.crt`, `tls.key`, optional `age.key`).
#[derive(Clone, Debug)]
pub struct KeyPair {
    rsa: RsaPrivateKey,
    certificate: Certificate,
    age: Option<AgeIdentity>,
}

impl KeyPair {
    /// Reads a key Secret's data values (already base64-decoded): `tls.crt` (first certificate is
    /// used), `tls.key` (PKCS#1 or PKCS#8 PEM) and, when present, `age.key`.
    ///
    /// Fails if the certificate's public key is not the private key's.
    pub fn from_secret_fields(
        tls_crt: &[u8],
        tls_key: &[u8],
        age_key: Option<&[u8]>,
    ) -> Result<Self, KeyError> {
        let rsa = RsaPrivateKey::from_pem(tls_key)?;
        let certificate = Certificate::from_pem(tls_crt)?;
        if certificate.public_key() != rsa.public_key() {
            return Err(KeyError::InvalidCertificate(
                "the certificate does not belong to the private key".into(),
            ));
        }
        let age = age_key.map(AgeIdentity::parse).transpose()?;
        Ok(Self {
            rsa,
            certificate,
            age,
        })
    }

    /// The key Secret's `data` (before base64): `tls.crt`, `tls.key` (PKCS#1 PEM) and `age.key` when
    /// there is an age identity.
    pub fn to_secret_data(&self) -> Result<BTreeMap<String, SecretBytes>, KeyError> {
        let mut data = BTreeMap::new();
        data.insert(
            TLS_CRT.to_owned(),
            SecretBytes::from(self.certificate.to_pem()),
        );
        data.insert(TLS_KEY.to_owned(), self.rsa.to_pkcs1_pem()?);
        if let Some(age) = &self.age {
            data.insert(AGE_KEY.to_owned(), age.to_secret_string());
        }
        Ok(data)
    }

    /// The RSA private key.
    pub fn rsa(&self) -> &RsaPrivateKey {
        &self.rsa
    }

    /// The sealing certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The age identity, if the key Secret has one (Bitnami key Secrets do not).
    pub fn age(&self) -> Option<&AgeIdentity> {
        self.age.as_ref()
    }

    /// Adds a fresh age identity if there is none (upgrading a Bitnami key); returns whether it did.
    pub fn ensure_age(&mut self) -> bool {
        if self.age.is_some() {
            return false;
        }
        self.age = Some(AgeIdentity::generate());
        true
    }

    /// The private keys (age first, then RSA), e.g. for a [`crate::KeyRing`].
    pub fn private_keys(&self) -> Vec<PrivateKey> {
        let mut keys = Vec::with_capacity(2);
        if let Some(age) = &self.age {
            keys.push(PrivateKey::Age(age.clone()));
        }
        keys.push(PrivateKey::Rsa(self.rsa.clone()));
        keys
    }
}
