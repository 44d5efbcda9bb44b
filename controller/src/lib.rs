//! sealkit-controller: unseals SealedSecrets (a drop-in for Bitnami's sealed-secrets controller)
//! and syncs ExternalSecrets from AWS Secrets Manager.
//!
//! Where to start: [`sealed_secret::run`] wires the SealedSecret reconciler
//! ([`sealed_secret::reconciler`]) and the key registry ([`sealed_secret::key_registry`]);
//! [`http`] serves `/healthz`, `/readyz` and the `/v1/*` key endpoints from the first second;
//! [`metrics`] holds the `sealed_secrets_controller_*` metrics. The binary (`main.rs`) parses the
//! flags, starts HTTP on every replica and the reconcilers once this replica leads.
//!
//! ```
//! let registry = sealkit_controller::sealed_secret::key_registry::KeyRegistry::default();
//! assert!(registry.current().is_none()); // no key until the registry has loaded or generated one
//! ```
#![forbid(unsafe_code)]

pub mod external_secret;
pub mod http;
pub mod leader;
pub mod metrics;
pub mod sealed_secret;
