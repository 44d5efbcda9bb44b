//! The SealedSecrets part: a drop-in for Bitnami's sealed-secrets controller.
//!
//! * [`key_registry`] — key Secrets (contract 1): load, watch, generate, renew; publish the public
//!   keys (contract 2).
//! * [`unseal`] — turns a SealedSecret's sealed items into plaintext, or into a precise,
//!   non-secret diagnosis of why it cannot.
//! * [`reconciler`] — writes the Secret, the status and the events; idempotent (nothing is
//!   written when nothing changed, also after a restart).
//!
//! [`verify`] and [`rotate`] back the HTTP endpoints `/v1/verify` and `/v1/rotate`.

pub mod key_registry;
pub mod reconciler;
pub mod secret_versions;
pub mod status;
pub mod unseal;

use std::sync::Arc;
use std::time::SystemTime;

use clap::{ArgAction, ValueEnum};
use sealkit_api::SealedSecret;
use sealkit_crypto::{Binding, Format, SealingTarget};

use crate::http::Readiness;
use crate::metrics::Metrics;
use key_registry::KeyRegistry;

/// Field manager of every write.
pub const FIELD_MANAGER: &str = "sealkit-controller";

/// Flags of the SealedSecrets part (upstream's names and `SEALED_SECRETS_*` variables).
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Prefix of key Secret names (`generateName`); the Secret named exactly this is the legacy key.
    #[arg(long, env = "SEALED_SECRETS_KEY_PREFIX", default_value = "sealed-secrets-key", value_parser = parse_key_prefix)]
    pub key_prefix: String,

    /// RSA size of new keys.
    #[arg(
        long,
        env = "SEALED_SECRETS_KEY_SIZE",
        default_value = "4096",
        value_enum
    )]
    pub key_size: KeySize,

    /// Validity of new certificates.
    #[arg(long, env = "SEALED_SECRETS_KEY_TTL", default_value = "87600h")]
    pub key_ttl: humantime::Duration,

    /// Common name of new certificates (empty subject by default, as upstream).
    #[arg(long, env = "SEALED_SECRETS_MY_CN", default_value = "")]
    pub my_cn: String,

    /// New key every period, counted from the newest key. Old keys are kept. 0 disables renewal,
    /// and also the key with an age identity otherwise added at once when only adopted Bitnami
    /// keys exist.
    #[arg(
        long,
        alias = "rotate-period",
        env = "SEALED_SECRETS_KEY_RENEW_PERIOD",
        default_value = "720h"
    )]
    pub key_renew_period: humantime::Duration,

    /// How the sealing key is chosen among active keys.
    #[arg(long, env = "SEALED_SECRETS_KEY_ORDER_PRIORITY", value_enum, default_value_t = KeyOrderPriority::CertNotBefore)]
    pub key_order_priority: KeyOrderPriority,

    /// Generate a new key at start when the newest is older than this time (RFC 1123 with
    /// numeric zone, the output of `date -R`).
    #[arg(long, env = "SEALED_SECRETS_KEY_CUTOFF_TIME", value_parser = parse_cutoff_time)]
    pub key_cutoff_time: Option<SystemTime>,

    /// Never generate a key when none exists: wait for a bootstrap key Secret (readyz stays
    /// unready, SealedSecrets report "no key").
    #[arg(long, env = "SEALED_SECRETS_REQUIRE_EXISTING_KEY", default_value_t = false, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub require_existing_key: bool,

    /// Unseal the pre-v0.7 `spec.data` format.
    #[arg(long, env = "SEALED_SECRETS_ACCEPT_DEPRECATED_V1_DATA", default_value_t = true, action = ArgAction::Set, value_name = "BOOL")]
    pub accept_deprecated_v1_data: bool,

    /// Watch all namespaces; with `false`, only the controller namespace plus
    /// --additional-namespaces (namespace-only mode needs only a Role).
    #[arg(long, env = "SEALED_SECRETS_ALL_NAMESPACES", default_value_t = true, action = ArgAction::Set, value_name = "BOOL")]
    pub all_namespaces: bool,

    /// Extra namespaces to watch with --all-namespaces=false (comma-separated).
    #[arg(
        long,
        env = "SEALED_SECRETS_ADDITIONAL_NAMESPACES",
        value_delimiter = ',',
        default_value = ""
    )]
    pub additional_namespaces: Vec<String>,

    /// Only SealedSecrets in namespaces matching this label selector (needs cluster-wide watch).
    #[arg(long, env = "SEALED_SECRETS_NAMESPACE_SELECTOR")]
    pub namespace_selector: Option<String>,

    /// Only SealedSecrets matching this label selector.
    #[arg(long, env = "SEALED_SECRETS_LABEL_SELECTOR", default_value = "")]
    pub label_selector: String,

    /// Requests per second per client on /v1/verify and /v1/rotate.
    #[arg(long, env = "SEALED_SECRETS_RATE_LIMIT", default_value_t = 2.0)]
    pub rate_limit: f64,

    /// Burst on /v1/verify and /v1/rotate.
    #[arg(long, env = "SEALED_SECRETS_RATE_LIMIT_BURST", default_value_t = 2)]
    pub rate_limit_burst: u32,

    /// Extra annotations of new key Secrets (`k=v,k2=v2`).
    #[arg(
        long,
        env = "SEALED_SECRETS_PRIVATEKEY_ANNOTATIONS",
        default_value = ""
    )]
    pub privatekey_annotations: String,

    /// Extra labels of new key Secrets (`k=v,k2=v2`).
    #[arg(long, env = "SEALED_SECRETS_PRIVATEKEY_LABELS", default_value = "")]
    pub privatekey_labels: String,

    /// Write SealedSecret status.
    #[arg(long, env = "SEALED_SECRETS_UPDATE_STATUS", default_value_t = true, action = ArgAction::Set, value_name = "BOOL")]
    pub update_status: bool,

    /// Do not re-create deleted Secrets nor repair edited ones.
    #[arg(long, env = "SEALED_SECRETS_SKIP_RECREATE", default_value_t = false, action = ArgAction::Set, value_name = "BOOL")]
    pub skip_recreate: bool,

    /// Reconcile workers (SealedSecrets processed in parallel).
    #[arg(long, env = "SEALED_SECRETS_WORKERS", default_value_t = 16)]
    pub workers: u16,

    /// Accepted for compatibility: key Secrets are always watched.
    #[arg(long, env = "SEALED_SECRETS_WATCH_FOR_SECRETS", default_value_t = true, action = ArgAction::Set, hide = true)]
    pub watch_for_secrets: bool,

    /// Accepted for compatibility: failures are retried with exponential backoff (up to 5 min),
    /// never dropped.
    #[arg(
        long,
        env = "SEALED_SECRETS_MAX_UNSEAL_RETRIES",
        default_value_t = 5,
        hide = true
    )]
    pub max_unseal_retries: u32,
}

/// RSA size of new keys.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum KeySize {
    /// 2048 bits.
    #[value(name = "2048")]
    Rsa2048,
    /// 3072 bits.
    #[value(name = "3072")]
    Rsa3072,
    /// 4096 bits (default).
    #[value(name = "4096")]
    Rsa4096,
}

impl From<KeySize> for sealkit_crypto::keys::RsaKeySize {
    fn from(size: KeySize) -> Self {
        match size {
            KeySize::Rsa2048 => Self::Rsa2048,
            KeySize::Rsa3072 => Self::Rsa3072,
            KeySize::Rsa4096 => Self::Rsa4096,
        }
    }
}

/// Which key seals: the newest certificate or the newest Secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KeyOrderPriority {
    /// Newest certificate NotBefore (upstream default).
    #[value(name = "CertNotBefore")]
    CertNotBefore,
    /// Newest Secret creationTimestamp (for brought-your-own certificates).
    #[value(name = "SecretCreationTimestamp")]
    SecretCreationTimestamp,
}

/// Who this controller is: its name and namespace.
#[derive(Clone, Debug)]
pub struct Identity {
    /// `--controller-name` (names the public-key ConfigMap and the event reporter).
    pub controller_name: String,
    /// Controller namespace (key Secrets live here).
    pub namespace: String,
}

fn parse_key_prefix(prefix: &str) -> Result<String, String> {
    let valid = !prefix.is_empty()
        && prefix.len() <= 245
        && prefix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(prefix.to_owned())
    } else {
        Err("must be 1-245 characters of [a-z0-9-]".into())
    }
}

fn parse_cutoff_time(text: &str) -> Result<SystemTime, String> {
    chrono::DateTime::parse_from_rfc2822(text.trim())
        .map(|t| SystemTime::from(t.with_timezone(&chrono::Utc)))
        .map_err(|_| {
            "expected RFC 1123 with numeric zone, e.g. `Mon, 02 Jan 2006 15:04:05 -0700` (date -R)"
                .into()
        })
}

/// The SealedSecrets part, shared by the HTTP side (every replica) and the leader side.
#[derive(Clone)]
pub struct Part {
    client: kube::Client,
    args: Args,
    identity: Identity,
    keys: Arc<KeyRegistry>,
    metrics: Metrics,
    readiness: Readiness,
}

impl Part {
    /// Prepares the part; nothing runs yet.
    pub fn new(
        client: kube::Client,
        args: Args,
        identity: Identity,
        keys: Arc<KeyRegistry>,
        metrics: Metrics,
        readiness: Readiness,
    ) -> anyhow::Result<Self> {
        if args.namespace_selector.is_some() && !args.all_namespaces {
            anyhow::bail!("--namespace-selector needs --all-namespaces=true");
        }
        readiness.register("sealed-secrets-key");
        Ok(Self {
            client,
            args,
            identity,
            keys,
            metrics,
            readiness,
        })
    }

    /// Every replica: watches key Secrets (keeps `/v1/*` current) and the `sealed-secrets-key`
    /// readiness check.
    pub async fn watch_keys(&self) -> anyhow::Result<()> {
        let keys = self.keys.clone();
        let readiness = self.readiness.clone();
        let metrics = self.metrics.clone();
        tokio::spawn(async move {
            let mut changes = keys.subscribe();
            keys.wait_loaded().await;
            loop {
                let set = keys.snapshot();
                readiness.set("sealed-secrets-key", !set.keys.is_empty());
                metrics
                    .keys
                    .set(i64::try_from(set.keys.len()).unwrap_or(i64::MAX));
                if changes.changed().await.is_err() {
                    break;
                }
            }
        });
        key_registry::watch(
            self.client.clone(),
            self.identity.clone(),
            self.args.clone(),
            self.keys.clone(),
        )
        .await
    }

    /// Leader only: key generation/renewal, public-key ConfigMap, and the reconciler.
    pub async fn run(&self) -> anyhow::Result<()> {
        let maintain = key_registry::maintain(
            self.client.clone(),
            self.identity.clone(),
            self.args.clone(),
            self.keys.clone(),
        );
        let publish = key_registry::publish(
            self.client.clone(),
            self.identity.clone(),
            self.keys.clone(),
        );
        let reconcile = reconciler::run(reconciler::Shared {
            client: self.client.clone(),
            args: self.args.clone(),
            identity: self.identity.clone(),
            keys: self.keys.clone(),
            metrics: self.metrics.clone(),
            readiness: self.readiness.clone(),
        });
        tokio::try_join!(maintain, publish, reconcile)?;
        Ok(())
    }
}

/// `/v1/verify`: whether every item of `ss` can be unsealed where it says it lives.
pub fn verify(keys: &KeyRegistry, ss: &SealedSecret) -> Result<(), unseal::UnsealFailure> {
    let set = keys.snapshot();
    unseal::unseal(&set, ss, true, None).map(|_| ())
}

/// `/v1/rotate` refused a SealedSecret.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    /// It cannot be unsealed.
    #[error(transparent)]
    Unseal(#[from] unseal::UnsealFailure),
    /// There is no sealing key.
    #[error("no sealing key registered yet")]
    NoKey,
    /// Sealing failed.
    #[error("cannot reseal item `{item}`")]
    Seal {
        /// Item name.
        item: String,
        /// Cause.
        #[source]
        source: sealkit_crypto::SealError,
    },
}

/// `/v1/rotate`: `ss` re-sealed with the current key, each item in its original format (native
/// items for the current age recipient, Bitnami items for the current certificate). The scope
/// comes from the SealedSecret's own metadata, never from its template (upstream advisory fix).
pub fn rotate(keys: &KeyRegistry, ss: &SealedSecret) -> Result<SealedSecret, RotateError> {
    let set = keys.snapshot();
    let current = set.keys.first().ok_or(RotateError::NoKey)?;
    let unsealed = unseal::unseal(&set, ss, true, None)?;
    let scope = unseal::scope_of(ss);
    let hybrid = SealingTarget::from_certificate(current.pair.certificate());
    let native = current
        .pair
        .age()
        .map(|a| SealingTarget::Native(vec![a.recipient().clone()]));
    let mut out = ss.clone();
    let mut encrypted = std::collections::BTreeMap::new();
    for (item, value) in &unsealed.values {
        let target = match (unsealed.formats.get(item), &native) {
            (Some(Format::Native), Some(native)) => native,
            _ => &hybrid,
        };
        let sealed = target
            .seal(
                &Binding::new(scope.clone(), item.clone()),
                value.expose_secret(),
            )
            .map_err(|source| RotateError::Seal {
                item: item.clone(),
                source,
            })?;
        encrypted.insert(item.clone(), sealkit_crypto::base64::encode(&sealed));
    }
    if ss.spec.data.is_none() {
        out.spec.encrypted_data = encrypted;
    }
    out.metadata.creation_timestamp = None;
    out.metadata.deletion_timestamp = None;
    out.metadata.generation = None;
    out.metadata.resource_version = None;
    out.metadata.uid = None;
    out.metadata.managed_fields = None;
    out.status = None;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_prefix_is_validated_like_upstream() {
        assert!(parse_key_prefix("sealed-secrets-key").is_ok());
        assert!(parse_key_prefix("Bad_Prefix").is_err());
        assert!(parse_key_prefix("").is_err());
    }

    #[test]
    fn cutoff_time_accepts_date_dash_r() {
        let t = parse_cutoff_time("Fri, 04 Dec 2026 20:00:00 +0000").unwrap();
        assert_eq!(
            t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(),
            1_796_414_400
        );
        assert!(parse_cutoff_time("yesterday").is_err());
    }
}
