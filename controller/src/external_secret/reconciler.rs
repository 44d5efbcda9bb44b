//! The ExternalSecret reconciler: decide whether to fetch (ESO's refresh rules), fetch through the
//! shared cache, assemble the data, write the Secret according to the creation and deletion
//! policies, then write status and events. A failure before the write leaves the Secret untouched.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder};
use kube::{Resource, ResourceExt};
use sealkit_api::external_secret::{
    CreationPolicy, DeletionPolicy, ExternalSecret, ExternalSecretDataRemoteRef,
    ExternalSecretStatus, MetadataPolicy, SecretBinding,
};
use tokio::time::Instant;

use super::aws::{AwsError, ListFilter};
use super::cache::{Answer, Cached, RemoteKey, ValueCache};
use super::desired::{self, DesiredError, TemplateSources};
use super::duration::parse_go_duration;
use super::hash;
use super::key::{self, KeyError};
use super::metrics::Metrics;
use super::property::{self, PropertyError};
use super::refresh::{self, RefreshFacts, RefreshReason, TargetState};
use super::status::{self, REASON_DELETED, REASON_MISSING, REASON_SYNCED, REASON_SYNCED_ERROR};
use super::store::{ResolvedStore, StoreError, Stores};

/// Everything a reconcile needs.
pub struct Context {
    /// Kubernetes client.
    pub client: kube::Client,
    /// Store resolver and credential cache.
    pub stores: Stores,
    /// Shared value cache.
    pub cache: Arc<ValueCache>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Event recorder.
    pub recorder: Recorder,
    /// Limits concurrent periodic refreshes so never-synced ExternalSecrets go first.
    pub refresh_permits: tokio::sync::Semaphore,
    /// Consecutive failures per ExternalSecret, for backoff.
    pub failures: std::sync::Mutex<HashMap<String, Failure>>,
}

/// A reconcile failure. `reason()` is the condition/metric/event reason; the message never holds a
/// value.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Store or credentials.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// AWS call for an entry failed.
    #[error("could not get secret data from provider: {what}: {source}")]
    FetchRemoteSecret {
        /// Which entry (`spec.data[0] (key=…)`).
        what: String,
        /// Cause.
        #[source]
        source: AwsError,
    },
    /// Property/extract problem.
    #[error("could not get secret data from provider: {what}: {source}")]
    Property {
        /// Which entry.
        what: String,
        /// Cause.
        #[source]
        source: PropertyError,
    },
    /// Key/value transformation.
    #[error("{what}: {source}")]
    Key {
        /// Which entry.
        what: String,
        /// Cause.
        #[source]
        source: KeyError,
    },
    /// Desired Secret.
    #[error("{0}")]
    Desired(#[from] DesiredError),
    /// Invalid spec.
    #[error("invalid ExternalSecret: {0}")]
    InvalidSpec(String),
    /// Kubernetes write failed.
    #[error("could not update secret: {0}")]
    WriteSecret(#[source] kube::Error),
    /// Kubernetes read failed.
    #[error("kubernetes API: {0}")]
    Kube(#[source] kube::Error),
    /// Deletion requested with a policy that does not own the Secret.
    #[error("unable to delete secret: creationPolicy={0:?} is not Owner")]
    DeleteNotOwner(CreationPolicy),
}

impl Error {
    /// Stable reason for metrics and events.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Store(StoreError::ProviderNotSupported(_)) => "ProviderNotSupported",
            Error::Store(StoreError::NotAllowed { .. }) => "StoreNotAllowed",
            Error::Store(StoreError::Credentials(_)) => "CredentialsFailed",
            Error::Store(_) => "InvalidStore",
            Error::FetchRemoteSecret {
                source: AwsError::NotFound,
                ..
            } => "ProviderSecretNotFound",
            Error::FetchRemoteSecret {
                source: AwsError::Throttled { .. },
                ..
            } => "ProviderThrottled",
            Error::FetchRemoteSecret {
                source: AwsError::AccessDenied { .. },
                ..
            } => "ProviderAccessDenied",
            Error::FetchRemoteSecret { .. } => "ProviderError",
            Error::Property { .. } => "InvalidProperty",
            Error::Key { .. } => "InvalidKey",
            Error::Desired(DesiredError::Immutable) => "TargetImmutable",
            Error::Desired(DesiredError::OwnedByAnother(_)) => "TargetOwnedByAnother",
            Error::Desired(_) => "TemplateFailed",
            Error::InvalidSpec(_) => "InvalidSpec",
            Error::WriteSecret(_) => "UpdateFailed",
            Error::Kube(_) => "KubernetesError",
            Error::DeleteNotOwner(_) => "DeleteNotOwner",
        }
    }

    /// Whether retrying without a change can help (transient) — others wait for a spec change
    /// or the next interval, with a long backoff.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Store(e) => e.is_transient(),
            Error::FetchRemoteSecret { source, .. } => source.is_transient(),
            Error::WriteSecret(_) | Error::Kube(_) => true,
            _ => false,
        }
    }
}

/// Backoff state of a failing ExternalSecret. Any trigger (status write, Secret event) before
/// `retry_at` is ignored unless the spec, labels or annotations changed, so failures never loop.
#[derive(Debug, Clone)]
pub struct Failure {
    count: u32,
    retry_at: std::time::Instant,
    fingerprint: String,
}

fn fingerprint(es: &ExternalSecret) -> String {
    hash::synced_resource_version(
        es.metadata.generation.unwrap_or(0),
        es.metadata.labels.as_ref(),
        es.metadata.annotations.as_ref(),
    )
}

/// What a successful reconcile did.
enum Outcome {
    Synced,
    Retained,
    Deleted,
    Missing,
    Skipped,
}

/// Reconciles one ExternalSecret.
pub async fn reconcile(es: Arc<ExternalSecret>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = std::time::Instant::now();
    let key = format!("{}/{}", es.namespace().unwrap_or_default(), es.name_any());
    let fp = fingerprint(&es);
    let gate = ctx
        .failures
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&key)
        .cloned();
    if let Some(f) = gate
        && f.fingerprint == fp
        && started < f.retry_at
    {
        return Ok(Action::requeue(f.retry_at - started));
    }
    let result = reconcile_inner(&es, &ctx).await;
    ctx.metrics
        .reconcile_duration
        .observe(started.elapsed().as_secs_f64());
    match &result {
        Ok(_) => {
            let mut failures = ctx.failures.lock().unwrap_or_else(|e| e.into_inner());
            failures.remove(&key);
            ctx.metrics.not_ready.set(failures.len() as i64);
        }
        Err(e) => {
            {
                let mut failures = ctx.failures.lock().unwrap_or_else(|e| e.into_inner());
                let count = failures.get(&key).map(|f| f.count).unwrap_or(0) + 1;
                let base = if e.is_transient() {
                    Duration::from_secs(5)
                } else {
                    Duration::from_secs(60)
                };
                let delay = super::aws::backoff(count - 1, base, Duration::from_secs(300));
                failures.insert(
                    key.clone(),
                    Failure {
                        count,
                        retry_at: std::time::Instant::now() + delay,
                        fingerprint: fp,
                    },
                );
                ctx.metrics.not_ready.set(failures.len() as i64);
            }
            ctx.metrics.sync(e.reason());
            tracing::warn!(externalsecret = %key, reason = e.reason(), error = %e, "sync failed");
            let cond = status::ready_condition(
                es.status.as_ref().and_then(|s| s.conditions.as_deref()),
                false,
                REASON_SYNCED_ERROR,
                &e.to_string(),
            );
            let mut st = es.status.clone().unwrap_or_default();
            st.conditions = Some(vec![cond]);
            if let Err(err) = write_status(&ctx, &es, st).await {
                tracing::warn!(externalsecret = %key, error = %err, "status update failed");
            }
            publish(
                &ctx,
                &es,
                EventType::Warning,
                "UpdateFailed",
                &e.to_string(),
            )
            .await;
        }
    }
    result
}

/// Backoff for failed reconciles: exponential with jitter per ExternalSecret, 5 s to 5 min for
/// transient errors, and at least 1 min for errors that need a user fix (a spec change requeues
/// immediately anyway).
pub fn error_policy(es: Arc<ExternalSecret>, _err: &Error, ctx: Arc<Context>) -> Action {
    let key = format!("{}/{}", es.namespace().unwrap_or_default(), es.name_any());
    let retry_at = ctx
        .failures
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&key)
        .map(|f| f.retry_at);
    let now = std::time::Instant::now();
    Action::requeue(
        retry_at
            .filter(|t| *t > now)
            .map(|t| t - now)
            .unwrap_or(Duration::from_secs(5)),
    )
}

fn interval_of(es: &ExternalSecret) -> Result<Duration, Error> {
    match es.spec.refresh_interval.as_deref() {
        None | Some("") => Ok(refresh::DEFAULT_REFRESH_INTERVAL),
        Some(text) => parse_go_duration(text)
            .map_err(|e| Error::InvalidSpec(format!("spec.refreshInterval: {e}"))),
    }
}

async fn reconcile_inner(es: &ExternalSecret, ctx: &Context) -> Result<Action, Error> {
    if es.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let now = Utc::now();
    let ns = es.namespace().unwrap_or_default();
    let policy = desired::creation_policy(es);
    let deletion = es
        .spec
        .target
        .as_ref()
        .and_then(|t| t.deletion_policy)
        .unwrap_or(DeletionPolicy::Retain);
    validate_policies(es, policy, deletion)?;
    let interval = interval_of(es)?;
    let target = desired::target_name(es);
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);
    let existing = secrets.get_opt(&target).await.map_err(Error::Kube)?;

    let status = es.status.clone().unwrap_or_default();
    let facts = RefreshFacts {
        policy: es.spec.refresh_policy,
        interval,
        refresh_time: status.refresh_time.as_ref().map(refresh::to_chrono),
        synced_resource_version: status.synced_resource_version.clone(),
        current_resource_version: hash::synced_resource_version(
            es.metadata.generation.unwrap_or(0),
            es.metadata.labels.as_ref(),
            es.metadata.annotations.as_ref(),
        ),
        now,
    };
    let reason = refresh::should_refresh(&facts);
    let target_state = match &existing {
        None => TargetState::Missing,
        Some(s) => {
            let data: BTreeMap<String, Vec<u8>> = s
                .data
                .iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.0.clone()))
                .collect();
            TargetState::Present {
                managed: s.labels().get(desired::LABEL_MANAGED).map(String::as_str) == Some("true"),
                hash_matches: s.annotations().get(desired::ANNOTATION_DATA_HASH)
                    == Some(&hash::data_hash(&data)),
            }
        }
    };
    let valid = refresh::secret_is_valid(policy, &target_state);
    let requeue = next_action(&refresh::RefreshFacts {
        refresh_time: Some(now),
        ..facts.clone()
    });
    if reason.is_none() && valid {
        return Ok(next_action(&facts));
    }

    // How old a cached value may be: a fresh read for changed ExternalSecrets; for never-synced
    // and due ones a value validated up to `refresh::tolerance` earlier, so ExternalSecrets sharing
    // secrets, or due at the same aligned time, share one bulk refresh; and the last synced one to
    // repair a tampered or deleted Secret without calling AWS.
    let tolerance = refresh::tolerance(interval);
    let not_before = match reason {
        Some(RefreshReason::Changed) => Instant::now(),
        Some(RefreshReason::NeverSynced) | Some(RefreshReason::Due) => Instant::now() - tolerance,
        None => {
            let age = facts
                .refresh_time
                .map(|t| (now - t).to_std().unwrap_or_default())
                .unwrap_or_default();
            Instant::now().checked_sub(age).unwrap_or_else(Instant::now)
        }
    };
    let _permit = match reason {
        Some(RefreshReason::Due) | None => Some(ctx.refresh_permits.acquire().await.ok()),
        _ => None,
    };

    let fetched = fetch(es, ctx, not_before).await?;
    let outcome = apply(
        es,
        ctx,
        &secrets,
        existing.as_ref(),
        fetched,
        policy,
        deletion,
    )
    .await?;

    let (ready_reason, message) = match outcome {
        Outcome::Synced | Outcome::Skipped => (REASON_SYNCED, "secret synced".to_owned()),
        Outcome::Retained => (
            REASON_SYNCED,
            "secret retained due to DeletionPolicy=Retain".to_owned(),
        ),
        Outcome::Deleted => (
            REASON_DELETED,
            "secret deleted due to DeletionPolicy=Delete".to_owned(),
        ),
        Outcome::Missing => (
            REASON_MISSING,
            "secret will not be created due to CreationPolicy=Merge".to_owned(),
        ),
    };
    ctx.metrics.sync(ready_reason);
    let mut st = status.clone();
    st.conditions = Some(vec![status::ready_condition(
        status.conditions.as_deref(),
        true,
        ready_reason,
        &message,
    )]);
    st.refresh_time = Some(refresh::to_time(now));
    st.synced_resource_version = Some(facts.current_resource_version.clone());
    st.binding = Some(SecretBinding { name: Some(target) });
    write_status(ctx, es, st).await?;
    Ok(requeue)
}

fn next_action(facts: &RefreshFacts) -> Action {
    match refresh::next_refresh_in(facts) {
        Some(d) => Action::requeue(d.max(Duration::from_millis(100))),
        None => Action::await_change(),
    }
}

fn validate_policies(
    es: &ExternalSecret,
    policy: CreationPolicy,
    deletion: DeletionPolicy,
) -> Result<(), Error> {
    if deletion == DeletionPolicy::Delete
        && matches!(
            policy,
            CreationPolicy::Merge | CreationPolicy::None | CreationPolicy::CreateOrMerge
        )
    {
        return Err(Error::InvalidSpec(format!(
            "deletionPolicy=Delete is not allowed with creationPolicy={policy:?}"
        )));
    }
    if deletion == DeletionPolicy::Merge && policy == CreationPolicy::None {
        return Err(Error::InvalidSpec(
            "deletionPolicy=Merge is not allowed with creationPolicy=None".to_owned(),
        ));
    }
    if es
        .spec
        .target
        .as_ref()
        .and_then(|t| t.manifest.as_ref())
        .is_some()
    {
        return Err(Error::InvalidSpec(
            "spec.target.manifest (generic targets) is not supported by sealkit".to_owned(),
        ));
    }
    for (i, d) in es.spec.data.iter().flatten().enumerate() {
        if d.source_ref
            .as_ref()
            .and_then(|s| s.generator_ref.as_ref())
            .is_some()
        {
            return Err(Error::InvalidSpec(format!(
                "spec.data[{i}].sourceRef.generatorRef is not supported by sealkit"
            )));
        }
    }
    for (i, d) in es.spec.data_from.iter().flatten().enumerate() {
        if d.source_ref
            .as_ref()
            .and_then(|s| s.generator_ref.as_ref())
            .is_some()
        {
            return Err(Error::InvalidSpec(format!(
                "spec.dataFrom[{i}].sourceRef.generatorRef is not supported by sealkit"
            )));
        }
    }
    Ok(())
}

/// Provider data, assembled: `dataFrom` in order, then `data` on top. `None` values in
/// `missing` name entries the provider reported as not found (handled per deletionPolicy).
struct Fetched {
    data: BTreeMap<String, Vec<u8>>,
    missing: Vec<String>,
    entries: usize,
}

fn remote_key(prefix: &str, r: &ExternalSecretDataRemoteRef) -> RemoteKey {
    let id = format!("{prefix}{}", r.key);
    if r.metadata_policy == Some(MetadataPolicy::Fetch) {
        return RemoteKey::Tags { id };
    }
    let version = r
        .version
        .clone()
        .filter(|v| !v.is_empty() && v != "AWSCURRENT");
    RemoteKey::Value { id, version }
}

fn answer_payload(answer: &Cached, binary_first: bool) -> Result<Vec<u8>, PropertyError> {
    match answer {
        Cached::Value(v) => {
            let p = if binary_first {
                v.payload_binary_first()
            } else {
                v.payload()
            };
            p.map(<[u8]>::to_vec).ok_or(PropertyError::NotJsonObject)
        }
        Cached::Tags(tags) => {
            let map: BTreeMap<&str, &str> =
                tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            Ok(serde_json::to_vec(&map).unwrap_or_default())
        }
    }
}

/// The bytes one remote reference yields: the cached value (binary first when a `property` is
/// looked up) narrowed to `property`; `None` when the remote secret does not exist.
fn property_payload(
    answer: Answer,
    property: Option<&str>,
    what: &str,
) -> Result<Option<Vec<u8>>, Error> {
    let value = match answer {
        Ok(v) => v,
        Err(AwsError::NotFound) => return Ok(None),
        Err(source) => {
            return Err(Error::FetchRemoteSecret {
                what: what.to_owned(),
                source,
            });
        }
    };
    let err = |source| Error::Property {
        what: what.to_owned(),
        source,
    };
    let payload = answer_payload(&value, property.is_some()).map_err(err)?;
    match property {
        Some(p) => property::lookup(&payload, p).map(Some).map_err(err),
        None => Ok(Some(payload)),
    }
}

async fn fetch(es: &ExternalSecret, ctx: &Context, not_before: Instant) -> Result<Fetched, Error> {
    let ns = es.namespace().unwrap_or_default();
    let mut stores: HashMap<(sealkit_api::external_secret::StoreKind, String), ResolvedStore> =
        HashMap::new();
    let mut resolve = async |entry_ref: Option<&sealkit_api::external_secret::SecretStoreRef>| -> Result<ResolvedStore, Error> {
        let (kind, name) = Stores::store_ref(es, entry_ref)?;
        if let Some(s) = stores.get(&(kind, name.clone())) {
            return Ok(s.clone());
        }
        let s = ctx.stores.resolve(&ns, kind, &name).await?;
        stores.insert((kind, name), s.clone());
        Ok(s)
    };

    // 1. plan every key, per store
    enum Plan {
        Extract {
            store: usize,
            key: RemoteKey,
            r: ExternalSecretDataRemoteRef,
        },
        Find {
            store: usize,
            names: Vec<String>,
        },
        Data {
            store: usize,
            key: RemoteKey,
            r: ExternalSecretDataRemoteRef,
            secret_key: String,
        },
    }
    let mut resolved: Vec<ResolvedStore> = Vec::new();
    let mut plans: Vec<(String, Plan, usize)> = Vec::new(); // (what, plan, index into dataFrom or usize::MAX)
    let data_from = es.spec.data_from.clone().unwrap_or_default();
    for (i, df) in data_from.iter().enumerate() {
        let store = resolve(df.source_ref.as_ref().and_then(|s| s.store_ref.as_ref())).await?;
        resolved.push(store.clone());
        let idx = resolved.len() - 1;
        if let Some(r) = &df.extract {
            plans.push((
                format!("spec.dataFrom[{i}]"),
                Plan::Extract {
                    store: idx,
                    key: remote_key(&store.prefix, r),
                    r: r.clone(),
                },
                i,
            ));
        } else if let Some(find) = &df.find {
            let mut tags: Vec<(String, String)> =
                find.tags.clone().unwrap_or_default().into_iter().collect();
            tags.sort();
            let filter = ListFilter {
                name_prefix: find.path.clone().filter(|p| !p.is_empty()),
                tags: tags.clone(),
            };
            let regex = match find.name.as_ref().and_then(|n| n.regexp.as_deref()) {
                Some(r) => Some(regex::Regex::new(r).map_err(|_| {
                    Error::InvalidSpec(format!(
                        "spec.dataFrom[{i}].find.name.regexp is not a valid regexp"
                    ))
                })?),
                None => None,
            };
            let listed = ctx
                .cache
                .find(&store, &filter, not_before)
                .await
                .map_err(|source| Error::FetchRemoteSecret {
                    what: format!("spec.dataFrom[{i}] (find)"),
                    source,
                })?;
            // Tags are paired exactly here (AWS filters match keys and values independently).
            let names: Vec<String> = listed
                .iter()
                .filter(|l| regex.as_ref().is_none_or(|re| re.is_match(&l.name)))
                .filter(|l| {
                    tags.iter()
                        .all(|(k, v)| l.tags.iter().any(|(tk, tv)| tk == k && tv == v))
                })
                .map(|l| l.name.clone())
                .collect();
            plans.push((
                format!("spec.dataFrom[{i}] (find)"),
                Plan::Find { store: idx, names },
                i,
            ));
        } else {
            return Err(Error::InvalidSpec(format!(
                "spec.dataFrom[{i}] needs extract or find"
            )));
        }
    }
    for (j, d) in es.spec.data.iter().flatten().enumerate() {
        if !key::is_valid_secret_key(&d.secret_key) {
            return Err(Error::InvalidSpec(format!(
                "spec.data[{j}].secretKey {:?} is not a valid Secret key",
                d.secret_key
            )));
        }
        let store = resolve(d.source_ref.as_ref().and_then(|s| s.store_ref.as_ref())).await?;
        resolved.push(store.clone());
        let idx = resolved.len() - 1;
        plans.push((
            format!("spec.data[{j}] (key={})", d.remote_ref.key),
            Plan::Data {
                store: idx,
                key: remote_key(&store.prefix, &d.remote_ref),
                r: d.remote_ref.clone(),
                secret_key: d.secret_key.clone(),
            },
            usize::MAX,
        ));
    }

    // 2. one cache request per store identity (so they batch together)
    let mut per_store: HashMap<String, (ResolvedStore, Vec<RemoteKey>)> = HashMap::new();
    for (_, plan, _) in &plans {
        let (store, keys): (usize, Vec<RemoteKey>) = match plan {
            Plan::Extract { store, key, .. } | Plan::Data { store, key, .. } => {
                (*store, vec![key.clone()])
            }
            Plan::Find { store, names } => (
                *store,
                names
                    .iter()
                    .map(|n| RemoteKey::Value {
                        id: n.clone(),
                        version: None,
                    })
                    .collect(),
            ),
        };
        let s = &resolved[store];
        per_store
            .entry(s.identity.clone())
            .or_insert_with(|| (s.clone(), Vec::new()))
            .1
            .extend(keys);
    }
    let mut answers: HashMap<(String, RemoteKey), Answer> = HashMap::new();
    let requests = per_store.into_values().map(|(store, keys)| {
        let cache = ctx.cache.clone();
        async move {
            let got = cache.get(&store, &keys, not_before).await;
            (store.identity.clone(), got)
        }
    });
    for (identity, got) in futures::future::join_all(requests).await {
        for (k, a) in got {
            answers.insert((identity.clone(), k), a);
        }
    }
    let answer = |store: usize, key: &RemoteKey| -> Answer {
        answers
            .get(&(resolved[store].identity.clone(), key.clone()))
            .cloned()
            .unwrap_or(Err(AwsError::Transport {
                operation: "cache",
                kind: "no answer",
            }))
    };

    // 3. assemble
    let mut out = Fetched {
        data: BTreeMap::new(),
        missing: Vec::new(),
        entries: plans.len(),
    };
    for (what, plan, i) in plans {
        match plan {
            Plan::Extract { store, key, r } => {
                let Some(payload) =
                    property_payload(answer(store, &key), r.property.as_deref(), &what)?
                else {
                    out.missing.push(what);
                    continue;
                };
                let map = property::extract(&payload).map_err(|source| Error::Property {
                    what: what.clone(),
                    source,
                })?;
                let map = transform_map(
                    &what,
                    map,
                    r.decoding_strategy,
                    r.null_byte_policy,
                    r.conversion_strategy,
                    data_from[i].rewrite.as_deref(),
                )?;
                out.data.extend(map);
            }
            Plan::Find { store, names } => {
                let find = data_from[i].find.clone().unwrap_or_default();
                let mut map = BTreeMap::new();
                for name in names {
                    match answer(
                        store,
                        &RemoteKey::Value {
                            id: name.clone(),
                            version: None,
                        },
                    ) {
                        Ok(v) => {
                            let payload =
                                answer_payload(&v, true).map_err(|source| Error::Property {
                                    what: what.clone(),
                                    source,
                                })?;
                            map.insert(name, payload);
                        }
                        Err(AwsError::NotFound) => {}
                        Err(source) => return Err(Error::FetchRemoteSecret { what, source }),
                    }
                }
                let map = transform_map(
                    &what,
                    map,
                    find.decoding_strategy,
                    find.null_byte_policy,
                    find.conversion_strategy,
                    data_from[i].rewrite.as_deref(),
                )?;
                out.data.extend(map);
            }
            Plan::Data {
                store,
                key,
                r,
                secret_key,
            } => {
                let Some(payload) =
                    property_payload(answer(store, &key), r.property.as_deref(), &what)?
                else {
                    out.missing.push(what);
                    continue;
                };
                let payload =
                    key::decode(&secret_key, payload, r.decoding_strategy).map_err(|source| {
                        Error::Key {
                            what: what.clone(),
                            source,
                        }
                    })?;
                key::check_null_bytes(&secret_key, &payload, r.null_byte_policy).map_err(
                    |source| Error::Key {
                        what: what.clone(),
                        source,
                    },
                )?;
                out.data.insert(secret_key, payload);
            }
        }
    }
    Ok(out)
}

fn transform_map(
    what: &str,
    map: BTreeMap<String, Vec<u8>>,
    decoding: Option<sealkit_api::external_secret::DecodingStrategy>,
    nulls: Option<sealkit_api::external_secret::NullBytePolicy>,
    conversion: Option<sealkit_api::external_secret::ConversionStrategy>,
    rewrite: Option<&[sealkit_api::external_secret::ExternalSecretRewrite]>,
) -> Result<BTreeMap<String, Vec<u8>>, Error> {
    let err = |source| Error::Key {
        what: what.to_owned(),
        source,
    };
    let mut decoded = BTreeMap::new();
    for (k, v) in map {
        let v = key::decode(&k, v, decoding).map_err(err)?;
        key::check_null_bytes(&k, &v, nulls).map_err(err)?;
        decoded.insert(k, v);
    }
    let renamed = match rewrite {
        Some(rules) if !rules.is_empty() => key::rewrite_keys(decoded, rules).map_err(err)?,
        _ => decoded
            .into_iter()
            .map(|(k, v)| (key::convert_key(&k, conversion), v))
            .collect(),
    };
    key::validate_keys(renamed).map_err(err)
}

async fn template_sources(es: &ExternalSecret, ctx: &Context) -> Result<TemplateSources, Error> {
    let ns = es.namespace().unwrap_or_default();
    let mut sources = TemplateSources::default();
    let from = es
        .spec
        .target
        .as_ref()
        .and_then(|t| t.template.as_ref())
        .and_then(|t| t.template_from.as_ref());
    for f in from.into_iter().flatten() {
        if let Some(cm) = &f.config_map
            && !sources.config_maps.contains_key(&cm.name)
        {
            let obj = Api::<ConfigMap>::namespaced(ctx.client.clone(), &ns)
                .get_opt(&cm.name)
                .await
                .map_err(Error::Kube)?;
            let obj = obj.ok_or_else(|| DesiredError::TemplateSource {
                what: format!("ConfigMap {ns}/{}", cm.name),
            })?;
            sources
                .config_maps
                .insert(cm.name.clone(), obj.data.unwrap_or_default());
        }
        if let Some(s) = &f.secret
            && !sources.secrets.contains_key(&s.name)
        {
            let obj = Api::<Secret>::namespaced(ctx.client.clone(), &ns)
                .get_opt(&s.name)
                .await
                .map_err(Error::Kube)?;
            let obj = obj.ok_or_else(|| DesiredError::TemplateSource {
                what: format!("Secret {ns}/{}", s.name),
            })?;
            sources.secrets.insert(
                s.name.clone(),
                obj.data
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, v.0))
                    .collect(),
            );
        }
    }
    Ok(sources)
}

async fn apply(
    es: &ExternalSecret,
    ctx: &Context,
    secrets: &Api<Secret>,
    existing: Option<&Secret>,
    fetched: Fetched,
    policy: CreationPolicy,
    deletion: DeletionPolicy,
) -> Result<Outcome, Error> {
    if !fetched.missing.is_empty() {
        match deletion {
            DeletionPolicy::Retain => {
                return Err(Error::FetchRemoteSecret {
                    what: fetched.missing.join(", "),
                    source: AwsError::NotFound,
                });
            }
            DeletionPolicy::Delete | DeletionPolicy::Merge => {
                for what in &fetched.missing {
                    publish(
                        ctx,
                        es,
                        EventType::Normal,
                        "MissingProviderSecret",
                        &format!("secret does not exist at provider using {what}"),
                    )
                    .await;
                }
            }
        }
    }
    let has_template_data = es
        .spec
        .target
        .as_ref()
        .and_then(|t| t.template.as_ref())
        .is_some_and(|t| {
            t.data.as_ref().is_some_and(|d| !d.is_empty())
                || t.template_from.as_ref().is_some_and(|d| !d.is_empty())
        });
    if fetched.data.is_empty() && fetched.entries > 0 && !has_template_data {
        match deletion {
            DeletionPolicy::Delete => {
                if policy != CreationPolicy::Owner {
                    return Err(Error::DeleteNotOwner(policy));
                }
                if let Some(s) = existing
                    && controls(es, s)
                {
                    secrets
                        .delete(&s.name_any(), &DeleteParams::default())
                        .await
                        .map_err(Error::WriteSecret)?;
                    publish(
                        ctx,
                        es,
                        EventType::Normal,
                        "Deleted",
                        "secret deleted due to DeletionPolicy=Delete",
                    )
                    .await;
                }
                return Ok(Outcome::Deleted);
            }
            DeletionPolicy::Retain => return Ok(Outcome::Retained),
            DeletionPolicy::Merge => {}
        }
    }
    if policy == CreationPolicy::None {
        return Ok(Outcome::Skipped);
    }
    if policy == CreationPolicy::Merge && existing.is_none() {
        return Ok(Outcome::Missing);
    }
    let sources = template_sources(es, ctx).await?;
    let desired = desired::desired_secret(es, &fetched.data, existing, &sources)?;
    let manager = hash::field_manager(&es.name_any());
    let pp = PostParams {
        field_manager: Some(manager),
        ..Default::default()
    };
    match existing {
        None => {
            secrets
                .create(&pp, &desired)
                .await
                .map_err(Error::WriteSecret)?;
            publish(ctx, es, EventType::Normal, "Created", "secret created").await;
        }
        Some(old) if !desired::unchanged(old, &desired) => {
            secrets
                .replace(&old.name_any(), &pp, &desired)
                .await
                .map_err(Error::WriteSecret)?;
            publish(ctx, es, EventType::Normal, "Updated", "secret updated").await;
        }
        Some(_) => {}
    }
    if policy == CreationPolicy::Owner {
        delete_orphans(es, ctx, secrets, &desired.name_any()).await?;
    }
    Ok(Outcome::Synced)
}

fn controls(es: &ExternalSecret, s: &Secret) -> bool {
    s.owner_references()
        .iter()
        .any(|r| r.controller == Some(true) && Some(&r.uid) == es.metadata.uid.as_ref())
}

async fn delete_orphans(
    es: &ExternalSecret,
    ctx: &Context,
    secrets: &Api<Secret>,
    target: &str,
) -> Result<(), Error> {
    let label = format!(
        "{}={}",
        desired::LABEL_CREATED_BY,
        hash::created_by(&es.namespace().unwrap_or_default(), &es.name_any())
    );
    let list = secrets
        .list_metadata(&ListParams::default().labels(&label))
        .await
        .map_err(Error::Kube)?;
    for s in list.items {
        let name = s.name_any();
        let owned = s
            .owner_references()
            .iter()
            .any(|r| r.controller == Some(true) && Some(&r.uid) == es.metadata.uid.as_ref());
        if name != target && owned {
            secrets
                .delete(&name, &DeleteParams::default())
                .await
                .map_err(Error::WriteSecret)?;
            publish(
                ctx,
                es,
                EventType::Normal,
                "Deleted",
                "secret deleted because it was orphaned",
            )
            .await;
        }
    }
    Ok(())
}

async fn write_status(
    ctx: &Context,
    es: &ExternalSecret,
    mut st: ExternalSecretStatus,
) -> Result<(), Error> {
    if st
        .conditions
        .as_ref()
        .is_some_and(|c| c.iter().any(|c| c.status == "False"))
    {
        // keep refreshTime and syncedResourceVersion of the last success
    }
    if es.status.as_ref() == Some(&st) {
        return Ok(());
    }
    if st.binding.is_none() {
        st.binding = es.status.as_ref().and_then(|s| s.binding.clone());
    }
    let api: Api<ExternalSecret> =
        Api::namespaced(ctx.client.clone(), &es.namespace().unwrap_or_default());
    let patch = serde_json::json!({ "status": st });
    api.patch_status(
        &es.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await
    .map_err(Error::Kube)?;
    Ok(())
}

async fn publish(ctx: &Context, es: &ExternalSecret, type_: EventType, reason: &str, note: &str) {
    let ev = Event {
        type_,
        reason: reason.to_owned(),
        note: Some(note.to_owned()),
        action: "Sync".to_owned(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&ev, &es.object_ref(&())).await {
        tracing::debug!(error = %e, "event not published");
    }
}
