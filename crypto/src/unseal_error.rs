//! The one unseal error, and the non-secret diagnosis attached to it.

use std::fmt;

use crate::{CLUSTER_WIDE_ANNOTATION, Format, NAMESPACE_WIDE_ANNOTATION, Scope, ScopeKind};

/// A value could not be unsealed.
///
/// Every failure (wrong key, wrong scope, wrong item name, tampering, garbage) is this one error
/// with this one message, so callers cannot act as a decryption oracle by accident. What went
/// wrong, as far as it can be told from non-secret facts, is in [`UnsealError::diagnosis`]: use it
/// for status messages and logs (it never contains a value or key material).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot unseal the value")]
pub struct UnsealError {
    diagnosis: Diagnosis,
}

impl UnsealError {
    pub(crate) fn new(diagnosis: Diagnosis) -> Self {
        Self { diagnosis }
    }

    /// What probably went wrong, for humans.
    pub fn diagnosis(&self) -> &Diagnosis {
        &self.diagnosis
    }
}

/// Why a value could not be unsealed, from non-secret facts only.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Diagnosis {
    /// The bytes are neither a native (age) nor a Bitnami (hybrid) sealed value.
    UnknownFormat,
    /// The value is cut short (hybrid: shorter than its length prefix and the GCM tag; native:
    /// unreadable age header).
    Malformed {
        /// The format recognised.
        format: Format,
    },
    /// No key could open it. For hybrid values this also covers a different namespace, name or
    /// scope, and modified bytes: the Bitnami format cannot tell these apart.
    NoKeyMatched {
        /// The format recognised.
        format: Format,
        /// How many keys of that format were tried.
        keys_tried: usize,
    },
    /// A native value opened, but it was sealed for another scope than where it was found.
    ScopeMismatch {
        /// The scope in the sealed header.
        sealed: Scope,
        /// The scope of the SealedSecret holding it.
        found: Scope,
    },
    /// A native value opened, but it was sealed for another item name.
    DataKeyMismatch {
        /// Item name in the sealed header.
        sealed: String,
        /// Item name where it was found.
        found: String,
    },
    /// A native value opened, but its header is not one this version understands.
    UnsupportedHeader,
}

impl fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Diagnosis::UnknownFormat => f.write_str(
                "the value is neither a sealkit (age) nor a sealed-secrets sealed value",
            ),
            Diagnosis::Malformed { format } => {
                write!(f, "the {format} sealed value is truncated or malformed")
            }
            Diagnosis::NoKeyMatched {
                format: Format::Hybrid,
                keys_tried,
            } => write!(
                f,
                "none of the {keys_tried} RSA keys could decrypt it: it was sealed with another key, for \
                 another namespace, name or scope, or it was modified"
            ),
            Diagnosis::NoKeyMatched {
                format: Format::Native,
                keys_tried,
            } => write!(
                f,
                "none of the {keys_tried} age keys could decrypt it: it was sealed for other recipients, \
                 or it was modified"
            ),
            Diagnosis::ScopeMismatch { sealed, found } => {
                write!(f, "sealed for {sealed}, but found in {found}")?;
                if sealed.kind() != found.kind() {
                    match sealed.kind() {
                        ScopeKind::Strict => f.write_str(
                            "; remove the scope annotations from the SealedSecret's metadata",
                        )?,
                        kind => write!(
                            f,
                            "; annotate the SealedSecret's metadata (not the template) with `{}: \"true\"`",
                            match kind {
                                ScopeKind::ClusterWide => CLUSTER_WIDE_ANNOTATION,
                                _ => NAMESPACE_WIDE_ANNOTATION,
                            }
                        )?,
                    }
                }
                Ok(())
            }
            Diagnosis::DataKeyMismatch { sealed, found } => write!(
                f,
                "sealed for item `{}`, but found as item `{}`",
                sealed.escape_debug(),
                found.escape_debug()
            ),
            Diagnosis::UnsupportedHeader => f.write_str(
                "the sealed header has an unknown version or layout (sealed by a newer sealkit?)",
            ),
        }
    }
}

/// A value could not be sealed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// Native sealing without recipients.
    #[error("no age recipient to seal for")]
    NoRecipients,
    /// A namespace, name or item name longer than the native header allows.
    #[error("the {field} is {len} bytes long; at most {max} are allowed")]
    FieldTooLong {
        /// `namespace`, `name` or `data key`.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// RSA-OAEP encryption failed (unsupported key).
    #[error("RSA-OAEP encryption failed")]
    Rsa,
    /// AES-GCM sealing failed.
    #[error("AES-GCM encryption failed")]
    Aes,
    /// The system random generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// age encryption failed.
    #[error("age encryption failed")]
    Age(#[source] std::io::Error),
}
