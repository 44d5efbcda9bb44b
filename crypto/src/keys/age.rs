//! age X25519 keys for the native format.

use std::fmt;
use std::str::FromStr;

use ::age::secrecy::ExposeSecret;

use super::{Fingerprint, KeyAlgorithm, KeyError};
use crate::SecretBytes;

/// An age X25519 recipient (`age1…`): a public key to seal for.
#[derive(Clone)]
pub struct AgeRecipient {
    text: String,
    recipient: ::age::x25519::Recipient,
}

impl AgeRecipient {
    /// Fingerprint (`age:SHA256:…`).
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::new(KeyAlgorithm::Age, self.text.as_bytes())
    }

    pub(crate) fn inner(&self) -> &::age::x25519::Recipient {
        &self.recipient
    }
}

impl PartialEq for AgeRecipient {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for AgeRecipient {}

impl std::hash::Hash for AgeRecipient {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl FromStr for AgeRecipient {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let recipient = ::age::x25519::Recipient::from_str(s)
            .map_err(|_| KeyError::InvalidAgeRecipient(s.chars().take(80).collect()))?;
        Ok(Self {
            text: recipient.to_string(),
            recipient,
        })
    }
}

impl fmt::Display for AgeRecipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for AgeRecipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AgeRecipient({})", self.text)
    }
}

/// An age X25519 identity (`AGE-SECRET-KEY-1…`). Zeroized on drop (by age); `Debug` shows only the
/// recipient.
#[derive(Clone)]
pub struct AgeIdentity {
    identity: ::age::x25519::Identity,
    recipient: AgeRecipient,
}

impl AgeIdentity {
    /// A fresh random identity.
    pub fn generate() -> Self {
        Self::from_inner(::age::x25519::Identity::generate())
    }

    /// Parses `AGE-SECRET-KEY-1…` (surrounding whitespace ignored).
    pub fn parse(text: &[u8]) -> Result<Self, KeyError> {
        let text = std::str::from_utf8(text).map_err(|_| KeyError::InvalidAgeIdentity)?;
        let identity = ::age::x25519::Identity::from_str(text.trim())
            .map_err(|_| KeyError::InvalidAgeIdentity)?;
        Ok(Self::from_inner(identity))
    }

    fn from_inner(identity: ::age::x25519::Identity) -> Self {
        let public = identity.to_public();
        let recipient = AgeRecipient {
            text: public.to_string(),
            recipient: public,
        };
        Self {
            identity,
            recipient,
        }
    }

    /// The `AGE-SECRET-KEY-1…` string, as stored in a key Secret's `age.key`.
    pub fn to_secret_string(&self) -> SecretBytes {
        SecretBytes::from(self.identity.to_string().expose_secret().as_bytes())
    }

    /// The public recipient.
    pub fn recipient(&self) -> &AgeRecipient {
        &self.recipient
    }

    /// Fingerprint of the recipient.
    pub fn fingerprint(&self) -> Fingerprint {
        self.recipient.fingerprint()
    }

    pub(crate) fn inner(&self) -> &::age::x25519::Identity {
        &self.identity
    }
}

impl fmt::Debug for AgeIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AgeIdentity({}, [REDACTED])", self.recipient.text)
    }
}

/// Parses a recipients list (`/v1/recipients`, `recipients.txt`): one `age1…` per line; blank lines
/// and `#` comments are skipped.
pub fn parse_recipients(text: &str) -> Result<Vec<AgeRecipient>, KeyError> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(AgeRecipient::from_str)
        .collect()
}
