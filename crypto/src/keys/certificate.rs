//! Sealing certificates, read leniently: only the public key and the validity period matter.
//!
//! sealed-secrets controller certificates carry `KeyUsage = encipherOnly` (critical) and an empty
//! subject, which strict path-validating parsers reject; we never validate a chain.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{KeyError, RsaPublicKey, pem_encode};

/// An X.509 certificate holding an RSA sealing key.
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    der: Vec<u8>,
    public_key: RsaPublicKey,
    not_before: i64,
    not_after: i64,
}

impl Certificate {
    /// Parses the first `CERTIFICATE` block of a PEM text (other blocks are ignored), as kubeseal
    /// does with `--cert` and `/v1/cert.pem`.
    pub fn from_pem(pem_text: &[u8]) -> Result<Self, KeyError> {
        let blocks = pem::parse_many(pem_text).map_err(KeyError::Pem)?;
        let block = blocks
            .iter()
            .find(|b| b.tag() == "CERTIFICATE")
            .ok_or(KeyError::NoCertificate)?;
        Self::from_der(block.contents())
    }

    /// Parses a DER certificate.
    pub fn from_der(der: &[u8]) -> Result<Self, KeyError> {
        let (_, cert) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| KeyError::InvalidCertificate(e.to_string()))?;
        let tbs = &cert.tbs_certificate;
        let rsa_oid = x509_parser::oid_registry::OID_PKCS1_RSAENCRYPTION;
        if tbs.subject_pki.algorithm.algorithm != rsa_oid {
            return Err(KeyError::NotRsaCertificate);
        }
        let public_key = RsaPublicKey::from_der(tbs.subject_pki.raw)?;
        Ok(Self {
            der: der.to_vec(),
            public_key,
            not_before: tbs.validity.not_before.timestamp(),
            not_after: tbs.validity.not_after.timestamp(),
        })
    }

    pub(crate) fn from_parts(
        der: Vec<u8>,
        public_key: RsaPublicKey,
        not_before: i64,
        not_after: i64,
    ) -> Self {
        Self {
            der,
            public_key,
            not_before,
            not_after,
        }
    }

    /// The RSA public key.
    pub fn public_key(&self) -> &RsaPublicKey {
        &self.public_key
    }

    /// Start of validity.
    pub fn not_before(&self) -> SystemTime {
        to_system_time(self.not_before)
    }

    /// End of validity.
    pub fn not_after(&self) -> SystemTime {
        to_system_time(self.not_after)
    }

    /// Refuses a certificate outside its validity period at `now` (kubeseal refuses to seal with an
    /// expired certificate).
    pub fn check_valid_at(&self, now: SystemTime) -> Result<(), KeyError> {
        if now < self.not_before() || now > self.not_after() {
            return Err(KeyError::CertificateNotValid {
                not_before: self.not_before,
                not_after: self.not_after,
            });
        }
        Ok(())
    }

    /// DER bytes.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// PEM (`CERTIFICATE`, LF line endings), as served on `/v1/cert.pem` and stored in `tls.crt`.
    pub fn to_pem(&self) -> String {
        pem_encode("CERTIFICATE", self.der.clone())
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("public_key", &self.public_key)
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .finish()
    }
}

fn to_system_time(unix: i64) -> SystemTime {
    if unix >= 0 {
        UNIX_EPOCH + Duration::from_secs(unix.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_secs(unix.unsigned_abs())
    }
}
