//! Sealing and unsealing of Kubernetes secret values: pure bytes in, bytes out.
//!
//! Two formats, recognised from their bytes ([`Format::detect`]):
//!
//! * **native** ([`native`]): an age file for one or several X25519 recipients; its plaintext is a
//!   versioned header binding the value to its [`Scope`] *and* item name ([`Binding`]), then the
//!   value. A mismatch is reported precisely ([`Diagnosis`]).
//! * **hybrid** ([`hybrid`]): Bitnami sealed-secrets' `u16be len || RSA-OAEP || AES-256-GCM`,
//!   byte-compatible with `kubeseal` and its controller.
//!
//! Where to start: the CLI builds a [`SealingTarget`] from a certificate or recipients and calls
//! [`SealingTarget::seal`]; the controller loads its key Secrets with
//! [`keys::KeyPair::from_secret_fields`] into a [`KeyRing`] and calls [`KeyRing::unseal`] with the
//! [`Binding`] where the value was found. Every unseal failure is the one [`UnsealError`]; its
//! [`UnsealError::diagnosis`] says what probably went wrong without revealing secrets.
//!
//! ```
//! use sealkit_crypto::keys::AgeIdentity;
//! use sealkit_crypto::{Binding, KeyRing, Scope, SealingTarget, Diagnosis};
//!
//! let identity = AgeIdentity::generate();
//! let target = SealingTarget::Native(vec![identity.recipient().clone()]);
//! let binding = Binding::new(Scope::from_annotations("prod", "db", None), "password");
//! let sealed = target.seal(&binding, b"hunter2")?;
//! let manifest_value = sealkit_crypto::base64::encode(&sealed);
//!
//! let ring: KeyRing = [identity.into()].into_iter().collect();
//! let blob = sealkit_crypto::base64::decode(&manifest_value)?;
//! let unsealed = ring.unseal(&blob, &binding)?;
//! assert_eq!(unsealed.value.expose_secret(), b"hunter2");
//!
//! // The same value found in another namespace is refused, with a precise diagnosis.
//! let elsewhere = Binding::new(Scope::from_annotations("dev", "db", None), "password");
//! let err = ring.unseal(&blob, &elsewhere).unwrap_err();
//! assert!(matches!(err.diagnosis(), Diagnosis::ScopeMismatch { .. }));
//! assert_eq!(err.to_string(), "cannot unseal the value");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod base64;
mod format;
pub mod hybrid;
mod key_ring;
pub mod keys;
pub mod native;
mod scope;
mod sealing_target;
mod secret;
mod unseal_error;

pub use format::{AGE_MAGIC, Format};
pub use key_ring::{KeyRing, Unsealed};
pub use keys::{
    AgeIdentity, AgeRecipient, Certificate, Fingerprint, KeyPair, PrivateKey, RsaPrivateKey,
    RsaPublicKey,
};
pub use scope::{
    Binding, CLUSTER_WIDE_ANNOTATION, NAMESPACE_WIDE_ANNOTATION, Scope, ScopeError, ScopeKind,
};
pub use sealing_target::SealingTarget;
pub use secret::SecretBytes;
pub use unseal_error::{Diagnosis, SealError, UnsealError};
