//! One value cache shared by every ExternalSecret, keyed by (store identity, secret id, version).
//!
//! Requests for values that were not validated recently enough are collected for a short window
//! and answered together: a key already in flight is joined (in-flight de-duplication); keys with a
//! cached version are first revalidated in bulk with `ListSecrets` (100 per page, version metadata
//! only) when that is cheaper than fetching; whatever changed or is unknown is fetched with
//! `BatchGetSecretValue` (≤ 20 ids per call), falling back to `GetSecretValue` per secret when batch
//! is not permitted or for a pinned version.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt as _;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::aws::{AwsError, ListFilter, ListedSecret, RemoteValue};
use super::metrics::Metrics;
use super::store::ResolvedStore;

/// What to read.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RemoteKey {
    /// A value: secret id and version (`None` = AWSCURRENT, a stage, or `uuid/<VersionId>`).
    Value {
        /// SecretId (name or ARN), prefix applied.
        id: String,
        /// Version selector.
        version: Option<String>,
    },
    /// The tags (metadataPolicy: Fetch).
    Tags {
        /// SecretId.
        id: String,
    },
}

impl RemoteKey {
    fn is_current(&self) -> bool {
        matches!(self, RemoteKey::Value { version: None, .. })
    }
    fn id(&self) -> &str {
        match self {
            RemoteKey::Value { id, .. } | RemoteKey::Tags { id } => id,
        }
    }
}

/// A cached answer.
#[derive(Debug, Clone)]
pub enum Cached {
    /// A value.
    Value(Arc<RemoteValue>),
    /// Tags.
    Tags(Arc<Vec<(String, String)>>),
}

/// Result for one key.
pub type Answer = Result<Cached, AwsError>;

struct Entry {
    answer: Answer,
    validated_at: Instant,
}

#[derive(Default)]
struct StoreState {
    entries: HashMap<RemoteKey, Entry>,
    /// Waiting requests and the freshest `not_before` any of them asked for.
    pending: HashMap<RemoteKey, (Instant, Vec<oneshot::Sender<Answer>>)>,
    /// One flush at a time per store: a later flush finds what an earlier one revalidated.
    flush_lock: Arc<tokio::sync::Mutex<()>>,
    inflight: HashMap<RemoteKey, (Instant, Vec<oneshot::Sender<Answer>>)>,
    flush_scheduled: bool,
    /// Secrets in the account seen by the last full ListSecrets (to price a sweep).
    account_size: Option<usize>,
    list_allowed: bool,
}

type FindListings = HashMap<(String, ListFilter), (Instant, Arc<Vec<ListedSecret>>)>;

/// The shared cache.
pub struct ValueCache {
    stores: Mutex<HashMap<String, Arc<Mutex<StoreState>>>>,
    finds: tokio::sync::Mutex<FindListings>,
    window: Duration,
    metrics: Arc<Metrics>,
}

impl ValueCache {
    /// New cache; requests are collected for `window` before AWS is called.
    pub fn new(window: Duration, metrics: Arc<Metrics>) -> Arc<Self> {
        Arc::new(ValueCache {
            stores: Mutex::new(HashMap::new()),
            finds: tokio::sync::Mutex::new(HashMap::new()),
            window,
            metrics,
        })
    }

    fn state(&self, identity: &str) -> Arc<Mutex<StoreState>> {
        let mut stores = self.stores.lock().unwrap_or_else(|e| e.into_inner());
        stores
            .entry(identity.to_owned())
            .or_insert_with(|| {
                Arc::new(Mutex::new(StoreState {
                    list_allowed: true,
                    ..Default::default()
                }))
            })
            .clone()
    }

    /// Answers for `keys`, using cached answers validated at or after `not_before`.
    pub async fn get(
        self: &Arc<Self>,
        store: &ResolvedStore,
        keys: &[RemoteKey],
        not_before: Instant,
    ) -> HashMap<RemoteKey, Answer> {
        let state = self.state(&store.identity);
        let mut out = HashMap::new();
        let mut waits = Vec::new();
        {
            let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
            for key in keys {
                if out.contains_key(key) {
                    continue;
                }
                if let Some(e) = s.entries.get(key)
                    && e.validated_at >= not_before
                {
                    self.metrics.cache_lookup(true);
                    out.insert(key.clone(), e.answer.clone());
                    continue;
                }
                self.metrics.cache_lookup(false);
                let (tx, rx) = oneshot::channel();
                if let Some((started, waiters)) = s.inflight.get_mut(key)
                    && *started >= not_before
                {
                    waiters.push(tx);
                } else {
                    let slot = s
                        .pending
                        .entry(key.clone())
                        .or_insert_with(|| (not_before, Vec::new()));
                    slot.0 = slot.0.max(not_before);
                    slot.1.push(tx);
                }
                waits.push((key.clone(), rx));
            }
            if !s.pending.is_empty() && !s.flush_scheduled {
                s.flush_scheduled = true;
                let this = self.clone();
                let store = store.clone();
                let state = state.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(this.window).await;
                    this.flush(&store, &state).await;
                });
            }
        }
        for (key, rx) in waits {
            let answer = rx.await.unwrap_or(Err(AwsError::Transport {
                operation: "cache",
                kind: "cancelled",
            }));
            out.insert(key, answer);
        }
        out
    }

    /// Cached answers only (for re-applying a tampered Secret without calling AWS).
    pub fn peek(
        &self,
        store: &ResolvedStore,
        keys: &[RemoteKey],
    ) -> Option<HashMap<RemoteKey, Answer>> {
        let state = self.state(&store.identity);
        let s = state.lock().unwrap_or_else(|e| e.into_inner());
        keys.iter()
            .map(|k| s.entries.get(k).map(|e| (k.clone(), e.answer.clone())))
            .collect()
    }

    async fn flush(self: &Arc<Self>, store: &ResolvedStore, state: &Arc<Mutex<StoreState>>) {
        let lock = {
            let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
            s.flush_scheduled = false;
            s.flush_lock.clone()
        };
        let _one_at_a_time = lock.lock().await;
        let started = Instant::now();
        let (keys, sweep) = {
            let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
            let pending = std::mem::take(&mut s.pending);
            let mut keys = Vec::new();
            for (k, (not_before, waiters)) in pending {
                // answered meanwhile by an earlier flush (a sweep, a batch, a piggyback)
                if let Some(e) = s.entries.get(&k)
                    && e.validated_at >= not_before
                {
                    for w in waiters {
                        let _ = w.send(e.answer.clone());
                    }
                    continue;
                }
                s.inflight
                    .entry(k.clone())
                    .or_insert_with(|| (started, Vec::new()))
                    .1
                    .extend(waiters);
                keys.push(k);
            }
            // Revalidate every cached value of the store with ListSecrets sweeps (one call per 100
            // secrets in the account) when they cost no more than fetching every cached value in
            // batches of 20; the first sweep also learns the account size.
            let stale_cached = keys
                .iter()
                .filter(|k| {
                    k.is_current() && matches!(s.entries.get(*k), Some(Entry { answer: Ok(_), .. }))
                })
                .count();
            let cached_total = s
                .entries
                .iter()
                .filter(|(k, e)| k.is_current() && e.answer.is_ok())
                .count();
            let sweep = s.list_allowed
                && stale_cached > 0
                && match s.account_size {
                    // aligned refreshes come in up to 4 groups per interval, each may sweep
                    Some(n) => (n / 100 + 1) * 4 <= cached_total.div_ceil(20),
                    None => cached_total >= 100,
                };
            (keys, sweep)
        };
        if keys.is_empty() {
            return;
        }

        let mut answers: HashMap<RemoteKey, Answer> = HashMap::new();
        let mut to_fetch: Vec<RemoteKey> = keys.clone();
        if sweep {
            match store.client.list_secrets(&ListFilter::default()).await {
                Ok(listed) => {
                    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
                    s.account_size = Some(listed.len());
                    let current: HashMap<&str, Option<&str>> = listed
                        .iter()
                        .flat_map(|l| {
                            [
                                (l.name.as_str(), l.current_version.as_deref()),
                                (l.arn.as_str(), l.current_version.as_deref()),
                            ]
                        })
                        .collect();
                    // Every cached AWSCURRENT value of this store whose version is unchanged is fresh now.
                    for (k, e) in s.entries.iter_mut() {
                        if !k.is_current() {
                            continue;
                        }
                        if let Ok(Cached::Value(v)) = &e.answer
                            && let Some(Some(cur)) = current.get(k.id())
                            && v.version_id.as_deref() == Some(*cur)
                        {
                            e.validated_at = started;
                        }
                    }
                    to_fetch.retain(|k| {
                        let fresh = s.entries.get(k).filter(|e| e.validated_at >= started);
                        match fresh {
                            Some(e) => {
                                answers.insert(k.clone(), e.answer.clone());
                                false
                            }
                            None => true,
                        }
                    });
                }
                Err(AwsError::AccessDenied { .. }) => {
                    state.lock().unwrap_or_else(|e| e.into_inner()).list_allowed = false;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "ListSecrets revalidation failed; fetching instead")
                }
            }
        }

        let (current, other): (Vec<RemoteKey>, Vec<RemoteKey>) =
            to_fetch.into_iter().partition(RemoteKey::is_current);
        let mut singles: Vec<RemoteKey> = other;
        let mut piggyback: Vec<RemoteKey> = Vec::new();
        let wanted: std::collections::HashSet<String> =
            current.iter().map(|k| k.id().to_owned()).collect();
        if store.client.batch_allowed() {
            let mut ids: Vec<String> = current.iter().map(|k| k.id().to_owned()).collect();
            // Free slots of the last batch carry the oldest other cached values: they cost no
            // extra call and will be due soon.
            let free = (20 - ids.len() % 20) % 20;
            if !ids.is_empty() && free > 0 {
                let requested: std::collections::HashSet<&str> =
                    ids.iter().map(String::as_str).collect();
                let s = state.lock().unwrap_or_else(|e| e.into_inner());
                let mut oldest: Vec<(Instant, &RemoteKey)> = s
                    .entries
                    .iter()
                    .filter(|(k, e)| {
                        k.is_current()
                            && e.answer.is_ok()
                            && e.validated_at + Duration::from_secs(1) < started
                            && !requested.contains(k.id())
                            && !s.inflight.contains_key(*k)
                    })
                    .map(|(k, e)| (e.validated_at, k))
                    .collect();
                oldest.sort();
                piggyback = oldest
                    .into_iter()
                    .take(free)
                    .map(|(_, k)| k.clone())
                    .collect();
                drop(requested);
                ids.extend(piggyback.iter().map(|k| k.id().to_owned()));
            }
            for chunk in ids.chunks(20) {
                match store.client.batch_get(chunk).await {
                    Ok(results) => {
                        let mut seen = std::collections::HashSet::new();
                        for (id, r) in results {
                            let key = RemoteKey::Value {
                                id: id.clone(),
                                version: None,
                            };
                            match r {
                                Ok(v) => {
                                    seen.insert(id);
                                    answers.insert(key, Ok(Cached::Value(Arc::new(v))));
                                }
                                Err(AwsError::NotFound) => {
                                    seen.insert(id);
                                    answers.insert(key, Err(AwsError::NotFound));
                                }
                                Err(_) => {}
                            }
                        }
                        singles.extend(
                            chunk
                                .iter()
                                .filter(|id| !seen.contains(*id) && wanted.contains(*id))
                                .map(|id| RemoteKey::Value {
                                    id: id.clone(),
                                    version: None,
                                }),
                        );
                    }
                    Err(AwsError::AccessDenied { .. }) => {
                        singles.extend(chunk.iter().filter(|id| wanted.contains(*id)).map(|id| {
                            RemoteKey::Value {
                                id: id.clone(),
                                version: None,
                            }
                        }));
                    }
                    Err(e) => {
                        for id in chunk {
                            answers.insert(
                                RemoteKey::Value {
                                    id: id.clone(),
                                    version: None,
                                },
                                Err(e.clone()),
                            );
                        }
                    }
                }
            }
        } else {
            singles.extend(current);
        }

        let fetched: Vec<(RemoteKey, Answer)> = futures::stream::iter(singles)
            .map(|k| async move {
                let answer = match &k {
                    RemoteKey::Value { id, version } => store
                        .client
                        .get_secret_value(id, version.as_deref())
                        .await
                        .map(|v| Cached::Value(Arc::new(v))),
                    RemoteKey::Tags { id } => store
                        .client
                        .describe_tags(id)
                        .await
                        .map(|t| Cached::Tags(Arc::new(t))),
                };
                (k, answer)
            })
            .buffer_unordered(8)
            .collect()
            .await;
        answers.extend(fetched);

        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        for key in piggyback {
            if let Some(answer @ (Ok(_) | Err(AwsError::NotFound))) = answers.remove(&key) {
                s.entries.insert(
                    key,
                    Entry {
                        answer,
                        validated_at: started,
                    },
                );
            }
        }
        for key in keys {
            let answer = answers.remove(&key).unwrap_or(Err(AwsError::Transport {
                operation: "BatchGetSecretValue",
                kind: "missing entry",
            }));
            // Values and definite "not found" are cached; transient errors are not.
            if matches!(answer, Ok(_) | Err(AwsError::NotFound)) {
                s.entries.insert(
                    key.clone(),
                    Entry {
                        answer: answer.clone(),
                        validated_at: started,
                    },
                );
            }
            if let Some((_, waiters)) = s.inflight.remove(&key) {
                for w in waiters {
                    let _ = w.send(answer.clone());
                }
            }
        }
    }

    /// Lists secrets for a `find`, shared between ExternalSecrets with the same filters when the
    /// listing is at least as recent as `not_before`. Cached values whose version matches the
    /// listing are revalidated by it.
    pub async fn find(
        &self,
        store: &ResolvedStore,
        filter: &ListFilter,
        not_before: Instant,
    ) -> Result<Arc<Vec<ListedSecret>>, AwsError> {
        let key = (store.identity.clone(), filter.clone());
        let mut finds = self.finds.lock().await;
        if let Some((at, listed)) = finds.get(&key)
            && *at >= not_before
        {
            return Ok(listed.clone());
        }
        let started = Instant::now();
        let listed = Arc::new(store.client.list_secrets(filter).await?);
        finds.insert(key, (started, listed.clone()));
        drop(finds);
        let state = self.state(&store.identity);
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        for l in listed.iter() {
            let k = RemoteKey::Value {
                id: l.name.clone(),
                version: None,
            };
            if let Some(e) = s.entries.get_mut(&k)
                && let Ok(Cached::Value(v)) = &e.answer
                && v.version_id.is_some()
                && v.version_id == l.current_version
            {
                e.validated_at = started;
            }
        }
        Ok(listed)
    }
}
