//! The key registry: every controller key (RSA certificate + optional age identity) loaded from
//! key Secrets in the controller namespace, kept current by a watch (add, update, delete and
//! relabel take effect without a restart).
//!
//! Key Secrets follow shared contract 1 (Bitnami's layout plus `age.key`): type
//! `kubernetes.io/tls`, `generateName: <prefix>`, label
//! `sealedsecrets.bitnami.com/sealed-secrets-key: active`. Any other label value (`compromised`)
//! retires a key; the legacy Secret named exactly `<prefix>` is loaded whatever its labels. A key
//! Secret that cannot be parsed is skipped with a warning naming it — it never stops the
//! controller (upstream crashes, PR #2034).
//!
//! The *sealing* key is the newest by certificate NotBefore (or Secret creation time with
//! `--key-order-priority=SecretCreationTimestamp`); every registered key unseals.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use futures::StreamExt;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use sealkit_crypto::keys::{
    AGE_KEY, KEY_LABEL, KEY_LABEL_ACTIVE, KEY_SECRET_TYPE, TLS_CRT, TLS_KEY,
};
use sealkit_crypto::{Fingerprint, KeyPair, KeyRing};

use super::{Args, FIELD_MANAGER, Identity, KeyOrderPriority};

/// One registered key.
pub struct RegisteredKey {
    /// Name of the key Secret.
    pub secret_name: String,
    /// The key pair.
    pub pair: KeyPair,
    /// Time used to pick the sealing key.
    pub ordering_time: SystemTime,
    cert_pem: String,
    rsa_fingerprint: Fingerprint,
    age_recipient: Option<String>,
}

impl RegisteredKey {
    fn new(secret_name: String, pair: KeyPair, ordering_time: SystemTime) -> Self {
        Self {
            secret_name,
            cert_pem: pair.certificate().to_pem(),
            rsa_fingerprint: pair.rsa().fingerprint(),
            age_recipient: pair.age().map(|a| a.recipient().to_string()),
            pair,
            ordering_time,
        }
    }

    /// PEM of the certificate.
    pub fn certificate_pem(&self) -> &str {
        &self.cert_pem
    }

    /// Fingerprint of the RSA key.
    pub fn rsa_fingerprint(&self) -> Fingerprint {
        self.rsa_fingerprint
    }

    /// The `age1…` recipient, if the key Secret has an age identity.
    pub fn age_recipient(&self) -> Option<&str> {
        self.age_recipient.as_deref()
    }
}

/// The keys at one moment: newest first, plus a ring unsealing with all of them.
#[derive(Default)]
pub struct KeySet {
    /// Keys, newest (sealing key) first.
    pub keys: Vec<Arc<RegisteredKey>>,
    /// All keys, for unsealing.
    pub ring: KeyRing,
}

impl KeySet {
    fn build(mut keys: Vec<Arc<RegisteredKey>>) -> Self {
        keys.sort_by(|a, b| {
            b.ordering_time
                .cmp(&a.ordering_time)
                .then_with(|| a.secret_name.cmp(&b.secret_name))
        });
        let mut ring = KeyRing::new();
        for key in &keys {
            ring.add_key_pair(&key.pair);
        }
        Self { keys, ring }
    }
}

/// Shared, always-current key set; cheap to read from many workers.
pub struct KeyRegistry {
    state: RwLock<Arc<KeySet>>,
    changes: tokio::sync::watch::Sender<u64>,
    loaded: tokio::sync::watch::Sender<bool>,
    pending: std::sync::Mutex<Vec<Arc<RegisteredKey>>>,
}

impl Default for KeyRegistry {
    fn default() -> Self {
        Self {
            state: RwLock::new(Arc::new(KeySet::default())),
            changes: tokio::sync::watch::Sender::new(0),
            loaded: tokio::sync::watch::Sender::new(false),
            pending: std::sync::Mutex::new(Vec::new()),
        }
    }
}

impl KeyRegistry {
    /// The current key set.
    pub fn snapshot(&self) -> Arc<KeySet> {
        self.state.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The sealing key (newest), if any.
    pub fn current(&self) -> Option<Arc<RegisteredKey>> {
        self.snapshot().keys.first().cloned()
    }

    /// `age1…` recipients of all keys that have one, sealing key first.
    pub fn recipients(&self) -> Vec<String> {
        self.snapshot()
            .keys
            .iter()
            .filter_map(|k| k.age_recipient().map(str::to_owned))
            .collect()
    }

    /// Subscribes to key-set changes (the value is a change counter).
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Waits until the first full load from the cluster finished.
    pub async fn wait_loaded(&self) {
        let mut rx = self.loaded.subscribe();
        let _ = rx.wait_for(|l| *l).await;
    }

    /// Replaces the key set (no-op, no notification, when the fingerprints did not change).
    pub fn replace(&self, keys: Vec<Arc<RegisteredKey>>) {
        let new = KeySet::build(keys);
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        let same = state.keys.len() == new.keys.len()
            && state.keys.iter().zip(&new.keys).all(|(a, b)| {
                a.secret_name == b.secret_name
                    && a.rsa_fingerprint == b.rsa_fingerprint
                    && a.age_recipient == b.age_recipient
            });
        *state = Arc::new(new);
        drop(state);
        if !same {
            self.changes.send_modify(|c| *c += 1);
        }
    }

    /// Adds one key (e.g. just generated) without waiting for the watch.
    pub fn insert(&self, key: RegisteredKey) {
        let key = Arc::new(key);
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(key.clone());
        let mut keys: Vec<_> = self
            .snapshot()
            .keys
            .iter()
            .filter(|k| k.secret_name != key.secret_name)
            .cloned()
            .collect();
        keys.push(key);
        self.replace(keys);
    }

    /// Replaces the key set with what the watch sees, keeping keys this process stored that the
    /// watch has not delivered yet (otherwise a new key would vanish until its watch event).
    fn replace_from_watch(&self, mut keys: Vec<Arc<RegisteredKey>>) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.retain(|p| !keys.iter().any(|k| k.secret_name == p.secret_name));
        keys.extend(pending.iter().cloned());
        drop(pending);
        self.replace(keys);
    }

    fn mark_loaded(&self) {
        self.loaded.send_replace(true);
    }
}

/// Why a key Secret was not registered (never contains key material).
#[derive(Debug, thiserror::Error)]
pub enum KeySecretError {
    /// A data field is missing.
    #[error("key Secret has no `{0}` data")]
    MissingField(&'static str),
    /// The key material is invalid.
    #[error("key Secret is unusable: {0}")]
    Invalid(#[source] sealkit_crypto::keys::KeyError),
}

/// Whether a Secret is a key Secret to register: labelled `active`, or the legacy `<prefix>` one.
pub fn is_active_key_secret(secret: &Secret, prefix: &str) -> bool {
    let labelled_active = secret
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(KEY_LABEL))
        .is_some_and(|v| v == KEY_LABEL_ACTIVE);
    labelled_active || secret.metadata.name.as_deref() == Some(prefix)
}

/// Parses a key Secret into a registered key.
pub fn key_from_secret(
    secret: &Secret,
    order: KeyOrderPriority,
) -> Result<RegisteredKey, KeySecretError> {
    let data = secret.data.as_ref();
    let field = |name: &'static str| data.and_then(|d| d.get(name)).map(|b| b.0.as_slice());
    let crt = field(TLS_CRT).ok_or(KeySecretError::MissingField(TLS_CRT))?;
    let key = field(TLS_KEY).ok_or(KeySecretError::MissingField(TLS_KEY))?;
    let pair =
        KeyPair::from_secret_fields(crt, key, field(AGE_KEY)).map_err(KeySecretError::Invalid)?;
    let created = secret.metadata.creation_timestamp.as_ref().map(|t| {
        SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(t.0.as_second()).unwrap_or(0))
    });
    let ordering_time = match order {
        KeyOrderPriority::CertNotBefore => pair.certificate().not_before(),
        KeyOrderPriority::SecretCreationTimestamp => {
            created.unwrap_or_else(|| pair.certificate().not_before())
        }
    };
    Ok(RegisteredKey::new(
        secret.metadata.name.clone().unwrap_or_default(),
        pair,
        ordering_time,
    ))
}

/// Watches key Secrets in the controller namespace and keeps `registry` current. Runs on every
/// replica; never returns unless the watch stream ends.
pub async fn watch(
    client: kube::Client,
    identity: Identity,
    args: Args,
    registry: Arc<KeyRegistry>,
) -> anyhow::Result<()> {
    let api: Api<Secret> = Api::namespaced(client, &identity.namespace);
    let (labelled, labelled_writer) = reflector::store();
    let (legacy, legacy_writer) = reflector::store();
    let labelled_stream = reflector(
        labelled_writer,
        watcher(api.clone(), watcher::Config::default().labels(KEY_LABEL)),
    )
    .default_backoff()
    .map(|e| e.map(|_| ()))
    .boxed();
    let legacy_stream = reflector(
        legacy_writer,
        watcher(
            api,
            watcher::Config::default().fields(&format!("metadata.name={}", args.key_prefix)),
        ),
    )
    .default_backoff()
    .map(|e| e.map(|_| ()))
    .boxed();
    let mut events = futures::stream::select(labelled_stream, legacy_stream);
    let mut warned: BTreeMap<String, String> = BTreeMap::new();
    while let Some(event) = events.next().await {
        if let Err(e) = event {
            tracing::warn!(error = %e, "key Secret watch error (retrying)");
            continue;
        }
        // Both initial lists must be complete (checked without blocking the streams).
        let ready = |store: &reflector::Store<Secret>| {
            futures::FutureExt::now_or_never(store.wait_until_ready()).is_some_and(|r| r.is_ok())
        };
        if !ready(&labelled) || !ready(&legacy) {
            continue;
        }
        let mut keys = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for secret in labelled.state().into_iter().chain(legacy.state()) {
            let name = secret.metadata.name.clone().unwrap_or_default();
            if !is_active_key_secret(&secret, &args.key_prefix) || !seen.insert(name.clone()) {
                continue;
            }
            match key_from_secret(&secret, args.key_order_priority) {
                Ok(key) => {
                    warned.remove(&name);
                    keys.push(Arc::new(key));
                }
                Err(e) => {
                    let message = e.to_string();
                    if warned.get(&name) != Some(&message) {
                        tracing::warn!(secret = %name, namespace = %identity.namespace, error = %message, "skipping key Secret");
                        warned.insert(name, message);
                    }
                }
            }
        }
        let before: Vec<String> = registry
            .snapshot()
            .keys
            .iter()
            .map(|k| k.secret_name.clone())
            .collect();
        registry.replace_from_watch(keys);
        let after = registry.snapshot();
        let names: Vec<String> = after.keys.iter().map(|k| k.secret_name.clone()).collect();
        if names != before {
            tracing::info!(
                keys = ?names,
                sealing_key = after.keys.first().map(|k| k.rsa_fingerprint.to_string()).unwrap_or_default(),
                "key registry updated"
            );
        }
        registry.mark_loaded();
    }
    anyhow::bail!("key Secret watch ended")
}

/// Generates a key (blocking work on a blocking thread).
pub async fn generate(args: &Args) -> anyhow::Result<KeyPair> {
    let options = sealkit_crypto::keys::KeyGenOptions {
        rsa_size: args.key_size.into(),
        common_name: args.my_cn.clone(),
        not_before: SystemTime::now(),
        validity: args.key_ttl.into(),
    };
    let started = std::time::Instant::now();
    let pair =
        tokio::task::spawn_blocking(move || sealkit_crypto::keys::generate(&options)).await??;
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "generated a new key"
    );
    Ok(pair)
}

/// Writes `pair` as a new key Secret (`generateName: <prefix>`) and registers it.
pub async fn store_new_key(
    client: &kube::Client,
    identity: &Identity,
    args: &Args,
    registry: &KeyRegistry,
    pair: KeyPair,
) -> anyhow::Result<String> {
    let mut labels: BTreeMap<String, String> = parse_pairs(&args.privatekey_labels);
    labels.insert(KEY_LABEL.to_owned(), KEY_LABEL_ACTIVE.to_owned());
    let annotations = parse_pairs(&args.privatekey_annotations);
    let data = pair
        .to_secret_data()?
        .into_iter()
        .map(|(k, v)| (k, ByteString(v.expose_secret().to_vec())))
        .collect();
    let secret = Secret {
        metadata: ObjectMeta {
            generate_name: Some(args.key_prefix.clone()),
            namespace: Some(identity.namespace.clone()),
            labels: Some(labels),
            annotations: (!annotations.is_empty()).then_some(annotations),
            ..ObjectMeta::default()
        },
        type_: Some(KEY_SECRET_TYPE.to_owned()),
        data: Some(data),
        ..Secret::default()
    };
    let api: Api<Secret> = Api::namespaced(client.clone(), &identity.namespace);
    let created = api.create(&PostParams::default(), &secret).await?;
    let name = created.metadata.name.clone().unwrap_or_default();
    let key = RegisteredKey::new(name.clone(), pair, SystemTime::now());
    tracing::info!(secret = %name, namespace = %identity.namespace, fingerprint = %key.rsa_fingerprint(),
        age_recipient = key.age_recipient().unwrap_or(""), "stored new key Secret");
    // Certificates are public: upstream prints the new one to the log too.
    tracing::info!(certificate = %key.certificate_pem(), "new sealing certificate");
    registry.insert(key);
    Ok(name)
}

/// Leader-only: generates the first key when none exists (unless `--require-existing-key`) or
/// when the newest is older than `--key-cutoff-time`, then renews every `--key-renew-period`
/// counted from the newest key (so restoring a fresh backup does not cause an extra key).
pub async fn maintain(
    client: kube::Client,
    identity: Identity,
    args: Args,
    registry: Arc<KeyRegistry>,
) -> anyhow::Result<()> {
    registry.wait_loaded().await;
    let mut changes = registry.subscribe();
    loop {
        let newest = registry.current();
        let due = match &newest {
            None if args.require_existing_key => {
                tracing::error!(namespace = %identity.namespace, prefix = %args.key_prefix,
                    "no key Secret found and --require-existing-key is set: waiting for one (not generating)");
                let _ = changes.changed().await;
                continue;
            }
            None => Duration::ZERO,
            Some(key) => {
                let cutoff_passed = args
                    .key_cutoff_time
                    .is_some_and(|cut| key.ordering_time < cut && SystemTime::now() >= cut);
                let age = SystemTime::now()
                    .duration_since(key.ordering_time)
                    .unwrap_or_default();
                let period: Duration = args.key_renew_period.into();
                if cutoff_passed {
                    Duration::ZERO
                } else if period.is_zero() {
                    Duration::MAX
                } else {
                    period.saturating_sub(age)
                }
            }
        };
        if due > Duration::ZERO {
            let sleep = due.min(Duration::from_secs(24 * 3600));
            tokio::select! {
                _ = tokio::time::sleep(sleep) => {}
                _ = changes.changed() => {}
            }
            continue;
        }
        match generate(&args).await {
            Ok(pair) => {
                if let Err(e) = store_new_key(&client, &identity, &args, &registry, pair).await {
                    tracing::error!(error = %e, "cannot store the new key Secret (retrying in 30s)");
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "key generation failed (retrying in 30s)");
                tokio::time::sleep(Duration::from_secs(30)).await;
            }
        }
        changes.borrow_and_update();
    }
}

/// Leader-only: publishes the public keys (contract 2) in ConfigMap `<controller-name>-public-keys`
/// whenever they change, with a Role/RoleBinding letting `system:authenticated` read it.
pub async fn publish(
    client: kube::Client,
    identity: Identity,
    registry: Arc<KeyRegistry>,
) -> anyhow::Result<()> {
    let name = format!("{}-public-keys", identity.controller_name);
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), &identity.namespace);
    let mut changes = registry.subscribe();
    let mut reader_role_done = false;
    let mut last: Option<(String, String)> = None;
    registry.wait_loaded().await;
    loop {
        if let Some(current) = registry.current() {
            let mut recipients = registry.recipients().join("\n");
            if !recipients.is_empty() {
                recipients.push('\n');
            }
            let wanted = (current.certificate_pem().to_owned(), recipients);
            if last.as_ref() != Some(&wanted) {
                let cm = serde_json::json!({
                    "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": name, "namespace": identity.namespace,
                                 "labels": {"app.kubernetes.io/managed-by": "sealkit-controller"}},
                    "data": {"cert.pem": wanted.0, "recipients.txt": wanted.1},
                });
                match api
                    .patch(
                        &name,
                        &PatchParams::apply(FIELD_MANAGER).force(),
                        &Patch::Apply(&cm),
                    )
                    .await
                {
                    Ok(_) => {
                        tracing::info!(configmap = %name, namespace = %identity.namespace, "published public keys");
                        last = Some(wanted);
                    }
                    Err(e) => {
                        tracing::warn!(configmap = %name, error = %e, "cannot publish public keys (will retry)")
                    }
                }
            }
            if !reader_role_done {
                reader_role_done = publish_reader_role(&client, &identity, &name).await;
            }
        }
        tokio::select! {
            r = changes.changed() => if r.is_err() { return Ok(()) },
            _ = tokio::time::sleep(Duration::from_secs(if last.is_some() { 600 } else { 10 })) => {}
        }
    }
}

async fn publish_reader_role(client: &kube::Client, identity: &Identity, configmap: &str) -> bool {
    use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
    let role_name = format!("{configmap}-reader");
    let role = serde_json::json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": role_name, "namespace": identity.namespace},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [configmap], "verbs": ["get", "list", "watch"]}],
    });
    let binding = serde_json::json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": role_name, "namespace": identity.namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role_name},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:authenticated"}],
    });
    let pp = PatchParams::apply(FIELD_MANAGER).force();
    let roles: Api<Role> = Api::namespaced(client.clone(), &identity.namespace);
    let bindings: Api<RoleBinding> = Api::namespaced(client.clone(), &identity.namespace);
    let result = async {
        roles.patch(&role_name, &pp, &Patch::Apply(&role)).await?;
        bindings
            .patch(&role_name, &pp, &Patch::Apply(&binding))
            .await
    }
    .await;
    match result {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(role = %role_name, error = %e,
                "cannot grant system:authenticated read access to the public-key ConfigMap; install the chart's Role instead");
            true // do not retry: the chart provides the same Role
        }
    }
}

/// Parses `k=v,k2=v2`.
pub fn parse_pairs(text: &str) -> BTreeMap<String, String> {
    text.split(',')
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            let k = k.trim();
            (!k.is_empty()).then(|| (k.to_owned(), v.trim().to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_secret(name: &str, label: Option<&str>, data: &[(&str, &[u8])]) -> Secret {
        Secret {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: label.map(|l| BTreeMap::from([(KEY_LABEL.to_owned(), l.to_owned())])),
                ..ObjectMeta::default()
            },
            data: Some(
                data.iter()
                    .map(|(k, v)| ((*k).to_owned(), ByteString(v.to_vec())))
                    .collect(),
            ),
            ..Secret::default()
        }
    }

    #[test]
    fn only_active_or_legacy_key_secrets_are_registered() {
        let prefix = "sealed-secrets-key";
        assert!(is_active_key_secret(
            &key_secret("sealed-secrets-keyabc", Some("active"), &[]),
            prefix
        ));
        assert!(!is_active_key_secret(
            &key_secret("sealed-secrets-keyabc", Some("compromised"), &[]),
            prefix
        ));
        assert!(is_active_key_secret(
            &key_secret("sealed-secrets-key", None, &[]),
            prefix
        ));
        assert!(!is_active_key_secret(
            &key_secret("other", None, &[]),
            prefix
        ));
    }

    #[test]
    fn garbage_key_secrets_are_refused_with_a_reason_naming_no_material() {
        let missing = key_from_secret(
            &key_secret("k", Some("active"), &[("tls.crt", b"x")]),
            KeyOrderPriority::CertNotBefore,
        );
        assert_eq!(
            missing.err().unwrap().to_string(),
            "key Secret has no `tls.key` data"
        );
        let garbage = key_from_secret(
            &key_secret("k", Some("active"), &[("tls.crt", b"not a cert"), ("tls.key", b"-----BEGIN RSA PRIVATE KEY-----\ngarbage\n-----END RSA PRIVATE KEY-----\n")]),
            KeyOrderPriority::CertNotBefore,
        );
        let message = garbage.err().unwrap().to_string();
        assert!(message.starts_with("key Secret is unusable"), "{message}");
        assert!(!message.contains("garbage"));
    }

    #[test]
    fn privatekey_label_pairs_parse() {
        let p = parse_pairs("a=1, b = 2,broken,=x");
        assert_eq!(
            p,
            BTreeMap::from([("a".into(), "1".into()), ("b".into(), "2".into())])
        );
    }
}
