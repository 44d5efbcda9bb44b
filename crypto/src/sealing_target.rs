//! [`SealingTarget`]: the public keys a value is sealed for, which decide the format.

use crate::keys::{AgeRecipient, Certificate, RsaPublicKey};
use crate::{Binding, Format, SealError, hybrid, native};

/// Who can unseal: a Bitnami-compatible RSA key (one cluster, hybrid format) or one or more age
/// recipients (several clusters, or a cluster plus a break-glass key, in one native ciphertext).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SealingTarget {
    /// Bitnami format for one RSA key (a sealed-secrets or sealkit controller certificate).
    Hybrid(RsaPublicKey),
    /// Native format for all these recipients.
    Native(Vec<AgeRecipient>),
}

impl SealingTarget {
    /// Hybrid target from a certificate.
    pub fn from_certificate(certificate: &Certificate) -> Self {
        SealingTarget::Hybrid(certificate.public_key().clone())
    }

    /// The format values will have.
    pub fn format(&self) -> Format {
        match self {
            SealingTarget::Hybrid(_) => Format::Hybrid,
            SealingTarget::Native(_) => Format::Native,
        }
    }

    /// Seals one value. Hybrid values are bound to `binding.scope` only; native values to the scope
    /// and `binding.data_key`.
    pub fn seal(&self, binding: &Binding, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        match self {
            SealingTarget::Hybrid(key) => hybrid::seal(key, &binding.scope, plaintext),
            SealingTarget::Native(recipients) => native::seal(recipients, binding, plaintext),
        }
    }
}
