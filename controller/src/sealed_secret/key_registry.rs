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
//!
//! The leader generates keys ([`maintain`]) when [`next_key_step`] says so: the first key, a
//! renewal, or — when no key has an age identity (only adopted Bitnami keys) — one new key at
//! once, so native sealing works right after a migration.

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
    context: std::sync::OnceLock<RegistryContext>,
}

/// What the HTTP side needs to explain a missing age recipient (set by [`watch`]).
struct RegistryContext {
    policy: KeyPolicy,
    namespace: String,
}

impl Default for KeyRegistry {
    fn default() -> Self {
        Self {
            state: RwLock::new(Arc::new(KeySet::default())),
            changes: tokio::sync::watch::Sender::new(0),
            loaded: tokio::sync::watch::Sender::new(false),
            pending: std::sync::Mutex::new(Vec::new()),
            context: std::sync::OnceLock::new(),
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

    /// Why [`current`](Self::current) is `None`, and what to do about it: the body of
    /// `/v1/cert.pem`'s 503 answer.
    pub fn no_key_message(&self) -> String {
        let loaded = *self.loaded.borrow();
        match self.context.get() {
            Some(ctx) => no_key_message(Missing::SealingKey, loaded, &ctx.policy, &ctx.namespace),
            None => no_key_message(Missing::SealingKey, false, &KeyPolicy::default(), ""),
        }
    }

    /// Why [`recipients`](Self::recipients) is empty, and what to do about it: the body of
    /// `/v1/recipients`' 503 answer.
    pub fn no_recipient_message(&self) -> String {
        let loaded = *self.loaded.borrow();
        let has_keys = !self.snapshot().keys.is_empty();
        match self.context.get() {
            Some(ctx) => no_recipient_message(loaded, has_keys, &ctx.policy, &ctx.namespace),
            None => no_recipient_message(false, has_keys, &KeyPolicy::default(), ""),
        }
    }

    /// Facts about the current keys that decide whether a key must be generated.
    pub fn facts(&self) -> KeyFacts {
        KeyFacts::of(&self.snapshot())
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
    let ordering_time = ordering_time(&pair, secret, order);
    Ok(RegisteredKey::new(
        secret.metadata.name.clone().unwrap_or_default(),
        pair,
        ordering_time,
    ))
}

/// The time that picks the sealing key: certificate NotBefore, or the Secret's creation time.
fn ordering_time(pair: &KeyPair, secret: &Secret, order: KeyOrderPriority) -> SystemTime {
    let created = secret.metadata.creation_timestamp.as_ref().map(|t| {
        SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(t.0.as_second()).unwrap_or(0))
    });
    match order {
        KeyOrderPriority::CertNotBefore => pair.certificate().not_before(),
        KeyOrderPriority::SecretCreationTimestamp => {
            created.unwrap_or_else(|| pair.certificate().not_before())
        }
    }
}

/// Watches key Secrets in the controller namespace and keeps `registry` current. Runs on every
/// replica; never returns unless the watch stream ends.
pub async fn watch(
    client: kube::Client,
    identity: Identity,
    args: Args,
    registry: Arc<KeyRegistry>,
) -> anyhow::Result<()> {
    let _ = registry.context.set(RegistryContext {
        policy: KeyPolicy::from(&args),
        namespace: identity.namespace.clone(),
    });
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
    // the same ordering time the watch will compute (whole seconds), so the sealing key does not
    // change when the watch delivers the Secret (a tie with another key is broken by name)
    let ordering_time = ordering_time(&pair, &created, args.key_order_priority);
    let key = RegisteredKey::new(name.clone(), pair, ordering_time);
    tracing::info!(secret = %name, namespace = %identity.namespace, fingerprint = %key.rsa_fingerprint(),
        age_recipient = key.age_recipient().unwrap_or(""), "stored new key Secret");
    // Certificates are public: upstream prints the new one to the log too.
    tracing::info!(certificate = %key.certificate_pem(), "new sealing certificate");
    registry.insert(key);
    Ok(name)
}

/// The flags that decide when keys are generated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyPolicy {
    /// `--key-renew-period`; zero disables renewal (and so any generation next to existing keys,
    /// except `--key-cutoff-time`).
    pub renew_period: Duration,
    /// `--key-cutoff-time`.
    pub cutoff: Option<SystemTime>,
    /// `--require-existing-key`: never generate the *first* key.
    pub require_existing_key: bool,
}

impl From<&Args> for KeyPolicy {
    fn from(args: &Args) -> Self {
        Self {
            renew_period: args.key_renew_period.into(),
            cutoff: args.key_cutoff_time,
            require_existing_key: args.require_existing_key,
        }
    }
}

/// The facts about the registered keys that [`next_key_step`] needs (no key material).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyFacts {
    /// Ordering time of the newest (sealing) key; `None` when there is no key.
    pub newest: Option<SystemTime>,
    /// Whether any registered key has an age identity (adopted Bitnami keys have none).
    pub age_key: AgeKey,
}

/// Whether the registered keys can open native (age) values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgeKey {
    /// At least one key has an age identity: `/v1/recipients` serves it.
    Present,
    /// No key has one (only adopted Bitnami keys, or no key at all).
    Missing,
}

impl KeyFacts {
    fn of(set: &KeySet) -> Self {
        let present = set.keys.iter().any(|k| k.age_recipient().is_some());
        Self {
            newest: set.keys.first().map(|k| k.ordering_time),
            age_key: if present {
                AgeKey::Present
            } else {
                AgeKey::Missing
            },
        }
    }
}

/// What the leader does next about keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyStep {
    /// Generate and store a new key now.
    Generate(GenerateReason),
    /// Nothing to do for this long (or until the keys change).
    Sleep(Duration),
    /// Nothing to do until the keys change.
    Wait(WaitReason),
}

/// Why a key is generated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GenerateReason {
    /// There is no key at all.
    FirstKey,
    /// The newest key is older than `--key-cutoff-time`.
    CutoffPassed,
    /// Keys exist but none has an age identity (adopted Bitnami keys): without one, native
    /// sealing is impossible until the next renewal.
    NoAgeIdentity,
    /// The newest key is `--key-renew-period` old.
    RenewalDue,
}

/// Why no key is generated, with no time limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitReason {
    /// No key, and `--require-existing-key`: a key Secret must be brought.
    KeyRequired,
    /// No key has an age identity, but `--key-renew-period=0` asks for no new keys.
    NoAgeIdentityRenewalDisabled,
    /// `--key-renew-period=0`.
    RenewalDisabled,
}

/// Decides what the leader does next. A key is generated when there is none (unless
/// `--require-existing-key`), when the cutoff passed, when no key has an age identity (like a
/// renewal: not with `--key-renew-period=0`; `--require-existing-key` does not stop it, as it
/// does not stop renewals), and when the newest key is `--key-renew-period` old.
pub fn next_key_step(policy: &KeyPolicy, keys: KeyFacts, now: SystemTime) -> KeyStep {
    let Some(newest) = keys.newest else {
        return if policy.require_existing_key {
            KeyStep::Wait(WaitReason::KeyRequired)
        } else {
            KeyStep::Generate(GenerateReason::FirstKey)
        };
    };
    if policy.cutoff.is_some_and(|cut| newest < cut && now >= cut) {
        return KeyStep::Generate(GenerateReason::CutoffPassed);
    }
    let renewal_disabled = policy.renew_period.is_zero();
    match (keys.age_key, renewal_disabled) {
        (AgeKey::Missing, true) => KeyStep::Wait(WaitReason::NoAgeIdentityRenewalDisabled),
        (AgeKey::Missing, false) => KeyStep::Generate(GenerateReason::NoAgeIdentity),
        (AgeKey::Present, true) => KeyStep::Wait(WaitReason::RenewalDisabled),
        (AgeKey::Present, false) => {
            let age = now.duration_since(newest).unwrap_or_default();
            match policy.renew_period.saturating_sub(age) {
                Duration::ZERO => KeyStep::Generate(GenerateReason::RenewalDue),
                due => KeyStep::Sleep(due),
            }
        }
    }
}

/// What a public-key endpoint has nothing of, when there is no key at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    /// `/v1/cert.pem`: no certificate to serve.
    SealingKey,
    /// `/v1/recipients`: no age recipient to serve.
    AgeRecipient,
}

impl Missing {
    fn noun(self) -> &'static str {
        match self {
            Self::SealingKey => "sealing key",
            Self::AgeRecipient => "age recipient",
        }
    }
}

/// The body of the 503 answer of `/v1/cert.pem` or `/v1/recipients` when there is no key at all:
/// the key Secrets are still loading, the first key is being generated, or — with
/// `--require-existing-key` — none will be generated and a key Secret must be created (how, in
/// two commands). Names only the namespace, the label and the flags: nothing secret.
pub fn no_key_message(
    missing: Missing,
    loaded: bool,
    policy: &KeyPolicy,
    namespace: &str,
) -> String {
    let noun = missing.noun();
    if !loaded {
        return format!("no {noun} yet: the controller is loading its key Secrets\n");
    }
    if !policy.require_existing_key {
        return format!("no {noun} yet: the controller is generating the first key\n");
    }
    format!(
        "no {noun}: there is no usable key Secret in namespace `{namespace}`, and \
         --require-existing-key stops the controller from generating one. It waits for a key \
         Secret labelled {KEY_LABEL}={KEY_LABEL_ACTIVE} to be created in namespace `{namespace}` \
         and uses it at once, without a restart. Restore your key backup:\n  \
         kubectl apply -f keys.backup.yaml\n\
         or create a new key offline and add it:\n  \
         sealkit keygen -n {namespace} -w sealed-secrets-key.yaml\n  \
         kubectl create -f sealed-secrets-key.yaml\n"
    )
}

/// The body of `/v1/recipients`' 503 answer: why there is no age recipient and what to do.
pub fn no_recipient_message(
    loaded: bool,
    has_keys: bool,
    policy: &KeyPolicy,
    namespace: &str,
) -> String {
    if !loaded || !has_keys {
        return no_key_message(Missing::AgeRecipient, loaded, policy, namespace);
    }
    if !policy.renew_period.is_zero() {
        return "no age recipient yet: the keys are Bitnami keys without an age identity; the \
                controller is generating a new key with one\n"
            .into();
    }
    format!(
        "no age recipient: the key Secrets in namespace `{namespace}` are Bitnami keys without an \
         age identity, and --key-renew-period=0 stops the controller from generating a key with \
         one. Either enable renewal (e.g. --key-renew-period=720h: a key with an age identity is \
         generated at once; the old keys keep unsealing), or create one offline and add it:\n  \
         sealkit keygen -n {namespace} -w sealed-secrets-key.yaml\n  \
         kubectl create -f sealed-secrets-key.yaml\n\
         Until then, seal in the Bitnami format (kubeseal, or sealkit --sealing-format bitnami).\n"
    )
}

/// Leader-only: generates a key when [`next_key_step`] says so — the first key when none exists
/// (unless `--require-existing-key`), when the newest is older than `--key-cutoff-time`, when no
/// key has an age identity (adopted Bitnami keys), and every `--key-renew-period` counted from
/// the newest key (so restoring a fresh backup does not cause an extra key).
///
/// The decision is always taken on the watched key set, which includes a key this process just
/// stored, and taken again after the (slow) generation, before storing: a key that appeared
/// meanwhile (stored by a previous leader, or applied by hand) wins and the generated one is
/// dropped. A restart, a second replica or a new leader thus sees the key and generates none.
pub async fn maintain(
    client: kube::Client,
    identity: Identity,
    args: Args,
    registry: Arc<KeyRegistry>,
) -> anyhow::Result<()> {
    registry.wait_loaded().await;
    let policy = KeyPolicy::from(&args);
    let mut changes = registry.subscribe();
    let mut last_wait = None;
    loop {
        changes.borrow_and_update();
        let reason = match next_key_step(&policy, registry.facts(), SystemTime::now()) {
            KeyStep::Generate(reason) => reason,
            KeyStep::Sleep(due) => {
                last_wait = None;
                let sleep = due.min(Duration::from_secs(24 * 3600));
                tokio::select! {
                    _ = tokio::time::sleep(sleep) => {}
                    _ = changes.changed() => {}
                }
                continue;
            }
            KeyStep::Wait(reason) => {
                if last_wait != Some(reason) {
                    log_wait(reason, &identity, &args);
                    last_wait = Some(reason);
                }
                if changes.changed().await.is_err() {
                    return Ok(());
                }
                continue;
            }
        };
        last_wait = None;
        log_generate(reason, &identity);
        let pair = match generate(&args).await {
            Ok(pair) => pair,
            Err(e) => {
                tracing::error!(error = %e, "key generation failed (retrying in 30s)");
                tokio::time::sleep(Duration::from_secs(30)).await;
                continue;
            }
        };
        if !matches!(
            next_key_step(&policy, registry.facts(), SystemTime::now()),
            KeyStep::Generate(_)
        ) {
            tracing::info!(namespace = %identity.namespace,
                "a key Secret appeared while generating; the generated key is not stored");
            continue;
        }
        if let Err(e) = store_new_key(&client, &identity, &args, &registry, pair).await {
            tracing::error!(error = %e, "cannot store the new key Secret (retrying in 30s)");
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
    }
}

fn log_generate(reason: GenerateReason, identity: &Identity) {
    let namespace = &identity.namespace;
    match reason {
        GenerateReason::FirstKey => {
            tracing::info!(%namespace, "no key Secret found; generating the first key")
        }
        GenerateReason::CutoffPassed => {
            tracing::info!(%namespace, "the newest key is older than --key-cutoff-time; generating a new key")
        }
        GenerateReason::NoAgeIdentity => tracing::info!(
            %namespace,
            "no key has an age identity (adopted Bitnami keys); generating a new key"
        ),
        GenerateReason::RenewalDue => {
            tracing::info!(%namespace, "the newest key is --key-renew-period old; generating a new key")
        }
    }
}

fn log_wait(reason: WaitReason, identity: &Identity, args: &Args) {
    let namespace = &identity.namespace;
    match reason {
        WaitReason::KeyRequired => tracing::error!(%namespace, prefix = %args.key_prefix,
            "no key Secret found and --require-existing-key is set: waiting for one (not generating)"),
        WaitReason::NoAgeIdentityRenewalDisabled => tracing::warn!(%namespace,
            "no key has an age identity (adopted Bitnami keys) and --key-renew-period=0: not \
             generating one, so native (age) sealing is unavailable; enable renewal or add a key \
             made by `sealkit keygen` (see GET /v1/recipients)"),
        WaitReason::RenewalDisabled => tracing::debug!(%namespace, "key renewal disabled"),
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
    const DAY: Duration = Duration::from_secs(24 * 3600);

    fn policy(renew_days: u64) -> KeyPolicy {
        KeyPolicy {
            renew_period: DAY * u32::try_from(renew_days).unwrap(),
            ..KeyPolicy::default()
        }
    }

    fn facts(newest_days_ago: Option<u64>, age_key: AgeKey, now: SystemTime) -> KeyFacts {
        KeyFacts {
            newest: newest_days_ago.map(|d| now - DAY * u32::try_from(d).unwrap()),
            age_key,
        }
    }

    #[test]
    fn adopted_bitnami_keys_without_an_age_identity_get_a_new_key_at_once() {
        let now = SystemTime::now();
        let adopted = facts(Some(1), AgeKey::Missing, now);
        assert_eq!(
            next_key_step(&policy(30), adopted, now),
            KeyStep::Generate(GenerateReason::NoAgeIdentity)
        );
        // --require-existing-key only guards the first key, as for renewals
        let require = KeyPolicy {
            require_existing_key: true,
            ..policy(30)
        };
        assert_eq!(
            next_key_step(&require, adopted, now),
            KeyStep::Generate(GenerateReason::NoAgeIdentity)
        );
        assert_eq!(
            next_key_step(&require, facts(Some(31), AgeKey::Present, now), now),
            KeyStep::Generate(GenerateReason::RenewalDue),
            "require-existing-key lets renewals happen too"
        );
    }

    #[test]
    fn with_renewal_disabled_adopted_keys_get_no_new_key() {
        let now = SystemTime::now();
        assert_eq!(
            next_key_step(&policy(0), facts(Some(400), AgeKey::Missing, now), now),
            KeyStep::Wait(WaitReason::NoAgeIdentityRenewalDisabled)
        );
        assert_eq!(
            next_key_step(&policy(0), facts(Some(400), AgeKey::Present, now), now),
            KeyStep::Wait(WaitReason::RenewalDisabled)
        );
    }

    #[test]
    fn once_a_key_has_an_age_identity_only_the_renewal_period_counts() {
        let now = SystemTime::now();
        assert_eq!(
            next_key_step(&policy(30), facts(Some(0), AgeKey::Present, now), now),
            KeyStep::Sleep(DAY * 30)
        );
        assert_eq!(
            next_key_step(&policy(30), facts(Some(10), AgeKey::Present, now), now),
            KeyStep::Sleep(DAY * 20)
        );
        assert_eq!(
            next_key_step(&policy(30), facts(Some(30), AgeKey::Present, now), now),
            KeyStep::Generate(GenerateReason::RenewalDue)
        );
    }

    #[test]
    fn the_first_key_is_generated_unless_an_existing_one_is_required() {
        let now = SystemTime::now();
        assert_eq!(
            next_key_step(&policy(30), facts(None, AgeKey::Missing, now), now),
            KeyStep::Generate(GenerateReason::FirstKey)
        );
        assert_eq!(
            next_key_step(&policy(0), facts(None, AgeKey::Missing, now), now),
            KeyStep::Generate(GenerateReason::FirstKey)
        );
        let require = KeyPolicy {
            require_existing_key: true,
            ..policy(30)
        };
        assert_eq!(
            next_key_step(&require, facts(None, AgeKey::Missing, now), now),
            KeyStep::Wait(WaitReason::KeyRequired)
        );
    }

    #[test]
    fn a_passed_cutoff_forces_a_key_even_with_renewal_disabled() {
        let now = SystemTime::now();
        let cutoff = KeyPolicy {
            cutoff: Some(now - DAY),
            ..policy(0)
        };
        assert_eq!(
            next_key_step(&cutoff, facts(Some(2), AgeKey::Present, now), now),
            KeyStep::Generate(GenerateReason::CutoffPassed)
        );
        assert_eq!(
            next_key_step(&cutoff, facts(Some(0), AgeKey::Present, now), now),
            KeyStep::Wait(WaitReason::RenewalDisabled)
        );
    }

    fn vector(name: &str) -> Vec<u8> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../crypto/tests/vectors/");
        std::fs::read(format!("{path}{name}")).expect("test vector")
    }

    fn registered(name: &str, age: bool) -> RegisteredKey {
        let identity_file = String::from_utf8(vector("age-identity-1.txt")).expect("utf-8");
        let age_key = age.then(|| {
            let line = identity_file
                .lines()
                .find(|l| l.starts_with("AGE-SECRET-KEY-"));
            line.expect("identity line").as_bytes().to_vec()
        });
        let pair = KeyPair::from_secret_fields(
            &vector("bitnami-cert-1.pem"),
            &vector("bitnami-key-1.pkcs1.pem"),
            age_key.as_deref(),
        )
        .expect("vector key pair");
        RegisteredKey::new(name.into(), pair, SystemTime::UNIX_EPOCH)
    }

    #[test]
    fn a_stored_key_with_an_age_identity_counts_at_once_so_no_second_one_is_generated() {
        let registry = KeyRegistry::default();
        registry.replace_from_watch(vec![Arc::new(registered(
            "sealed-secrets-keybitnami",
            false,
        ))]);
        assert_eq!(registry.facts().age_key, AgeKey::Missing);
        // what store_new_key does, before the watch delivers the new Secret
        registry.insert(registered("sealed-secrets-keynew", true));
        assert_eq!(registry.facts().age_key, AgeKey::Present);
        // a watch event that does not list it yet does not make it vanish
        registry.replace_from_watch(vec![Arc::new(registered(
            "sealed-secrets-keybitnami",
            false,
        ))]);
        assert_eq!(registry.facts().age_key, AgeKey::Present);
        assert_eq!(registry.recipients().len(), 1);
    }

    #[test]
    fn the_503_body_of_recipients_says_what_to_do_when_renewal_is_disabled() {
        let generating = no_recipient_message(true, true, &policy(30), "kube-system");
        assert!(generating.contains("generating a new key"), "{generating}");
        let disabled = no_recipient_message(true, true, &policy(0), "kube-system");
        for expected in [
            "--key-renew-period=0",
            "sealkit keygen -n kube-system -w sealed-secrets-key.yaml",
            "kubectl create -f sealed-secrets-key.yaml",
            "--sealing-format bitnami",
        ] {
            assert!(disabled.contains(expected), "{expected}: {disabled}");
        }
        let loading = no_recipient_message(false, false, &policy(0), "kube-system");
        assert!(loading.contains("loading"), "{loading}");
    }

    #[test]
    fn without_a_key_the_503_bodies_say_loading_generating_or_waiting_for_a_key_secret() {
        let require = KeyPolicy {
            require_existing_key: true,
            ..policy(30)
        };
        for missing in [Missing::SealingKey, Missing::AgeRecipient] {
            let loading = no_key_message(missing, false, &require, "ns1");
            assert!(loading.contains("loading its key Secrets"), "{loading}");
            let generating = no_key_message(missing, true, &policy(30), "ns1");
            assert!(
                generating.contains("generating the first key"),
                "{generating}"
            );
            let waiting = no_key_message(missing, true, &require, "ns1");
            for expected in [
                "--require-existing-key",
                "Secret labelled sealedsecrets.bitnami.com/sealed-secrets-key=active",
                "created in namespace `ns1`",
                "without a restart",
                "kubectl apply -f keys.backup.yaml",
                "sealkit keygen -n ns1 -w sealed-secrets-key.yaml",
                "kubectl create -f sealed-secrets-key.yaml",
            ] {
                assert!(waiting.contains(expected), "{expected}: {waiting}");
            }
            assert!(!waiting.contains("is generating"), "{waiting}");
        }
        assert!(
            no_key_message(Missing::SealingKey, true, &require, "ns1")
                .starts_with("no sealing key: ")
        );
        // /v1/recipients without any key gives the same answer
        assert_eq!(
            no_recipient_message(true, false, &require, "ns1"),
            no_key_message(Missing::AgeRecipient, true, &require, "ns1")
        );
    }

    #[test]
    fn a_registry_not_yet_watching_says_it_is_loading() {
        let registry = KeyRegistry::default();
        assert_eq!(
            registry.no_key_message(),
            "no sealing key yet: the controller is loading its key Secrets\n"
        );
        assert_eq!(
            registry.no_recipient_message(),
            "no age recipient yet: the controller is loading its key Secrets\n"
        );
    }
}
