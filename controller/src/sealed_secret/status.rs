//! Status and event writes of the SealedSecret reconciler, on a lower-priority path than the
//! Secret writes.
//!
//! A reconcile decides the status and events and hands them to [`StatusQueue`]; a writer task
//! sends them. While reconciles are writing Secrets, the writer sends one request at a time, so
//! the API server spends its time on Secrets first (a cold start of 10,000 SealedSecrets makes
//! every Secret exist sooner); when they are done it catches up with several requests in flight.
//!
//! Contract: per SealedSecret the latest status wins (an older one still queued is replaced, its
//! events are kept and sent); a failed write is retried with exponential backoff (up to 5 min)
//! unless a newer status replaced it; a SealedSecret that no longer exists is dropped. A status
//! still queued is what the next reconcile compares against ([`StatusQueue::pending_status`]), so
//! a condition change yields one event, not one per retry.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, Patch, PatchParams, PostParams};
use sealkit_api::SealedSecret;
use sealkit_api::sealed_secret::SealedSecretStatus;
use serde_json::value::RawValue;

use crate::metrics::Metrics;

/// Requests in flight when no Secret is being written.
const IDLE_CONCURRENCY: usize = 16;
/// Requests in flight while Secrets are being written.
const BUSY_CONCURRENCY: usize = 1;
/// Backoff cap of failed writes.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Event notes are at most 1 kB.
const MAX_NOTE: usize = 1000;

/// `Normal` or `Warning`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    /// Something happened as expected.
    Normal,
    /// Something needs attention.
    Warning,
}

/// One event to publish about a SealedSecret. The note never contains a value.
#[derive(Clone, Debug)]
pub struct PendingEvent {
    /// `Normal` or `Warning`.
    pub type_: EventType,
    /// Upstream's reason (`Unsealed`, `ErrUnsealFailed`, `ErrUpdateFailed`).
    pub reason: &'static str,
    /// Human-readable note.
    pub note: Cow<'static, str>,
}

/// What is left to write for one SealedSecret. Kept small: a cold start queues one per object.
#[derive(Debug)]
struct Job {
    uid: Box<str>,
    /// The status as JSON (what is sent), not the typed struct: a third of the memory.
    status: Option<Box<RawValue>>,
    events: Vec<PendingEvent>,
    failures: u32,
}

/// `namespace/name` of a SealedSecret (names cannot contain `/`): one allocation per object,
/// shared by the queue's map, order and busy set.
type Key = Arc<str>;

fn key(ss: &SealedSecret) -> Key {
    let meta = &ss.metadata;
    Arc::from(format!(
        "{}/{}",
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name.as_deref().unwrap_or_default()
    ))
}

/// `(namespace, name)` of a [`Key`].
fn split(key: &str) -> (&str, &str) {
    key.split_once('/').unwrap_or(("", key))
}

#[derive(Default)]
struct Queue {
    jobs: HashMap<Key, Job>,
    order: VecDeque<Key>,
    /// Objects whose job was popped and is being sent, or waits to be retried: a newer job for
    /// them stays queued until then, so two writes for one object never race and a failed old
    /// status is never sent after a newer one.
    busy: HashSet<Key>,
}

impl Queue {
    /// Queues `job`; a job still queued for the same object is updated in place (its status
    /// replaced when `job` has one, the events appended), or replaced when the object was
    /// re-created (another uid).
    fn push(&mut self, oref: Key, job: Job) {
        match self.jobs.get_mut(&oref) {
            Some(queued) if queued.uid == job.uid => {
                if job.status.is_some() {
                    queued.status = job.status;
                }
                queued.events.extend(job.events);
                queued.failures = 0;
            }
            Some(queued) => *queued = job,
            None => {
                self.jobs.insert(oref.clone(), job);
                self.order.push_back(oref);
            }
        }
    }

    /// Puts a failed job back, unless a newer one for the same object was queued meanwhile: that
    /// status wins, the failed job's events are still due (first). The object is no longer busy.
    fn requeue(&mut self, oref: Key, mut job: Job) {
        self.busy.remove(&oref);
        match self.jobs.get_mut(&oref) {
            Some(newer) if newer.uid == job.uid => {
                job.events.append(&mut newer.events);
                newer.events = job.events;
            }
            Some(_) => {}
            None => {
                self.jobs.insert(oref.clone(), job);
                self.order.push_back(oref);
            }
        }
    }

    /// The oldest job of an object that is not busy; its object is busy until [`Queue::done`]
    /// or [`Queue::requeue`].
    fn pop(&mut self) -> Option<(Key, Job)> {
        let mut waiting = Vec::new();
        let mut found = None;
        while let Some(oref) = self.order.pop_front() {
            if !self.jobs.contains_key(&oref) {
                continue;
            }
            if self.busy.contains(&oref) {
                waiting.push(oref);
                continue;
            }
            if let Some(job) = self.jobs.remove(&oref) {
                self.busy.insert(oref.clone());
                found = Some((oref, job));
                break;
            }
        }
        for oref in waiting.into_iter().rev() {
            self.order.push_front(oref);
        }
        found
    }

    /// The popped job of `oref` is finished (written, or its object is gone).
    fn done(&mut self, oref: &str) {
        self.busy.remove(oref);
    }
}

/// The queue between reconciles and the writer task.
pub struct StatusQueue {
    client: kube::Client,
    metrics: Metrics,
    reporting_instance: String,
    queue: Mutex<Queue>,
    wake: tokio::sync::Notify,
    secret_writes: AtomicUsize,
}

/// Marks a reconcile that may write a Secret; the writer slows down while one exists.
pub struct SecretWrite<'a>(&'a StatusQueue);

impl Drop for SecretWrite<'_> {
    fn drop(&mut self) {
        if self.0.secret_writes.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.wake.notify_one();
        }
    }
}

impl StatusQueue {
    /// An empty queue; [`StatusQueue::run`] sends what is queued.
    pub fn new(client: kube::Client, metrics: Metrics) -> Arc<Self> {
        let reporting_instance =
            std::env::var("POD_NAME").unwrap_or_else(|_| REPORTING_CONTROLLER.to_owned());
        Arc::new(Self {
            client,
            metrics,
            reporting_instance,
            queue: Mutex::new(Queue::default()),
            wake: tokio::sync::Notify::new(),
            secret_writes: AtomicUsize::new(0),
        })
    }

    /// Held by a reconcile while it unseals and writes a Secret.
    pub fn secret_write(&self) -> SecretWrite<'_> {
        self.secret_writes.fetch_add(1, Ordering::SeqCst);
        SecretWrite(self)
    }

    /// Queues a status (`None`: leave it) and events for `ss`. A status still queued for the same
    /// SealedSecret is replaced; its events are kept.
    pub fn push(
        &self,
        ss: &SealedSecret,
        status: Option<SealedSecretStatus>,
        events: Vec<PendingEvent>,
    ) {
        if status.is_none() && events.is_empty() {
            return;
        }
        let oref = key(ss);
        let uid: Box<str> = ss.metadata.uid.as_deref().unwrap_or_default().into();
        let status = status.and_then(|s| serde_json::value::to_raw_value(&s).ok());
        lock(&self.queue).push(
            oref,
            Job {
                uid,
                status,
                events,
                failures: 0,
            },
        );
        self.wake.notify_one();
    }

    /// The status queued for `ss` and not yet written, if any.
    pub fn pending_status(&self, ss: &SealedSecret) -> Option<SealedSecretStatus> {
        let queue = lock(&self.queue);
        let job = queue.jobs.get(&key(ss))?;
        if Some(&*job.uid) != ss.metadata.uid.as_deref() {
            return None;
        }
        serde_json::from_str(job.status.as_ref()?.get()).ok()
    }

    /// Sends queued writes forever.
    pub async fn run(self: Arc<Self>) {
        let mut in_flight = tokio::task::JoinSet::new();
        loop {
            let limit = if self.secret_writes.load(Ordering::SeqCst) > 0 {
                BUSY_CONCURRENCY
            } else {
                IDLE_CONCURRENCY
            };
            if in_flight.len() < limit
                && let Some((oref, job)) = self.pop()
            {
                let this = self.clone();
                in_flight.spawn(async move { this.send(oref, job).await });
                continue;
            }
            // The tick only guards against a missed wake-up.
            tokio::select! {
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
                () = self.wake.notified() => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    fn pop(&self) -> Option<(Key, Job)> {
        lock(&self.queue).pop()
    }

    async fn send(self: Arc<Self>, oref: Key, mut job: Job) {
        let (namespace, name) = split(&oref);
        if let Some(status) = &job.status {
            let api: Api<SealedSecret> = Api::namespaced(self.client.clone(), namespace);
            let patch = serde_json::json!({ "status": status });
            match api
                .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => {
                    self.metrics.write("status");
                    job.status = None;
                }
                Err(kube::Error::Api(e)) if e.code == 404 => {
                    self.finish(&oref);
                    return;
                }
                Err(e) => {
                    self.metrics.unseal_error("status", namespace);
                    self.retry(oref, job, &e);
                    return;
                }
            }
        }
        let regarding = ObjectReference {
            api_version: Some(<SealedSecret as kube::Resource>::api_version(&()).into_owned()),
            kind: Some(<SealedSecret as kube::Resource>::kind(&()).into_owned()),
            name: Some(name.to_owned()),
            namespace: Some(namespace.to_owned()),
            uid: Some(job.uid.to_string()),
            ..Default::default()
        };
        for event in std::mem::take(&mut job.events) {
            self.publish(&regarding, event).await;
        }
        self.finish(&oref);
    }

    fn finish(&self, oref: &str) {
        lock(&self.queue).done(oref);
        self.wake.notify_one();
    }

    /// Puts a failed job back after a backoff, unless a newer one replaced it meanwhile.
    fn retry(self: &Arc<Self>, oref: Key, mut job: Job, error: &kube::Error) {
        job.failures = job.failures.saturating_add(1);
        let delay = Duration::from_millis(500u64.saturating_mul(1u64 << job.failures.min(16)))
            .min(MAX_BACKOFF);
        tracing::warn!(sealed_secret = %oref, error = %error, retry_in_ms = delay.as_millis() as u64, "cannot write the SealedSecret status");
        let this = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            lock(&this.queue).requeue(oref, job);
            this.wake.notify_one();
        });
    }

    /// Creates an `events.k8s.io/v1` Event (as kube-runtime's `Recorder` does, without its
    /// per-object cache: events are sent only when something changed, so there is no series to
    /// aggregate, and the cache held every event for 6 minutes).
    async fn publish(&self, regarding: &ObjectReference, event: PendingEvent) {
        let mut note = event.note.into_owned();
        if note.len() > MAX_NOTE {
            let mut cut = MAX_NOTE;
            while !note.is_char_boundary(cut) {
                cut -= 1;
            }
            note.truncate(cut);
        }
        let now = k8s_openapi::jiff::Timestamp::now();
        let namespace = regarding.namespace.clone().unwrap_or_default();
        let k8s_event = Event {
            action: Some("Unseal".to_owned()),
            reason: Some(event.reason.to_owned()),
            event_time: Some(MicroTime(now)),
            regarding: Some(regarding.clone()),
            note: Some(note),
            metadata: ObjectMeta {
                namespace: Some(namespace.clone()),
                name: Some(format!(
                    "{}.{:x}",
                    regarding.name.as_deref().unwrap_or(REPORTING_CONTROLLER),
                    now.as_nanosecond()
                )),
                ..Default::default()
            },
            reporting_controller: Some(REPORTING_CONTROLLER.to_owned()),
            reporting_instance: Some(self.reporting_instance.clone()),
            type_: Some(
                match event.type_ {
                    EventType::Normal => "Normal",
                    EventType::Warning => "Warning",
                }
                .to_owned(),
            ),
            ..Default::default()
        };
        let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        match api.create(&PostParams::default(), &k8s_event).await {
            Ok(_) => self.metrics.write("event"),
            Err(e) => tracing::debug!(error = %e, "cannot publish event"),
        }
    }
}

/// `reportingController` of our events (as before: kube-runtime's `Reporter`).
const REPORTING_CONTROLLER: &str = "sealed-secrets";

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(uid: &str, status: Option<&str>, reasons: &[&'static str]) -> Job {
        Job {
            uid: uid.into(),
            status: status.map(|s| RawValue::from_string(s.to_owned()).unwrap()),
            events: reasons
                .iter()
                .map(|reason| PendingEvent {
                    type_: EventType::Normal,
                    reason,
                    note: Cow::Borrowed("n"),
                })
                .collect(),
            failures: 0,
        }
    }

    fn key(name: &str) -> Key {
        Arc::from(format!("prod/{name}"))
    }

    fn summary(entry: Option<(Key, Job)>) -> Option<(String, String, Vec<&'static str>)> {
        entry.map(|(oref, job)| {
            (
                split(&oref).1.to_owned(),
                job.status.map(|s| s.get().to_owned()).unwrap_or_default(),
                job.events.iter().map(|e| e.reason).collect(),
            )
        })
    }

    #[test]
    fn the_newest_status_wins_and_every_event_is_kept_in_first_come_order() {
        let mut queue = Queue::default();
        queue.push(key("a"), job("u1", Some("1"), &["Unsealed"]));
        queue.push(key("b"), job("u2", Some("2"), &[]));
        queue.push(key("a"), job("u1", Some("3"), &["ErrUpdateFailed"]));
        queue.push(key("a"), job("u1", None, &["Unsealed"]));
        assert_eq!(
            summary(queue.pop()),
            Some((
                "a".into(),
                "3".into(),
                vec!["Unsealed", "ErrUpdateFailed", "Unsealed"]
            ))
        );
        assert_eq!(summary(queue.pop()), Some(("b".into(), "2".into(), vec![])));
        assert!(queue.pop().is_none());
    }

    #[test]
    fn a_recreated_object_replaces_what_was_queued_for_the_old_one() {
        let mut queue = Queue::default();
        queue.push(key("a"), job("old", Some("1"), &["Unsealed"]));
        queue.push(key("a"), job("new", Some("2"), &[]));
        let (_, popped) = queue.pop().unwrap();
        assert_eq!(&*popped.uid, "new");
        assert!(popped.events.is_empty());
        assert!(queue.pop().is_none());
    }

    #[test]
    fn a_newer_status_waits_until_the_popped_one_is_written_or_put_back() {
        let mut queue = Queue::default();
        queue.push(key("a"), job("u1", Some("10"), &[]));
        queue.push(key("b"), job("u2", Some("2"), &[]));
        let (a, failed) = queue.pop().unwrap();
        assert_eq!(split(&a), ("prod", "a"));

        // While "a" is being sent (or waits for its retry), a newer status for it is not handed
        // out: two writes for one object must not race.
        queue.push(key("a"), job("u1", Some("30"), &[]));
        assert_eq!(summary(queue.pop()), Some(("b".into(), "2".into(), vec![])));
        assert!(queue.pop().is_none());

        // The failed write comes back after its backoff: the newer status wins, not the old one.
        queue.requeue(a, failed);
        assert_eq!(
            summary(queue.pop()),
            Some(("a".into(), "30".into(), vec![]))
        );
        assert!(queue.pop().is_none());
        queue.done(&key("a"));
        queue.push(key("a"), job("u1", Some("40"), &[]));
        assert_eq!(
            summary(queue.pop()),
            Some(("a".into(), "40".into(), vec![]))
        );
    }

    #[test]
    fn a_failed_write_comes_back_unless_a_newer_status_was_queued() {
        let mut queue = Queue::default();
        queue.requeue(key("a"), job("u1", Some("1"), &["Unsealed"]));
        assert_eq!(
            summary(queue.pop()),
            Some(("a".into(), "1".into(), vec!["Unsealed"]))
        );

        queue.push(key("a"), job("u1", Some("2"), &["ErrUnsealFailed"]));
        queue.requeue(key("a"), job("u1", Some("1"), &["Unsealed"]));
        assert_eq!(
            summary(queue.pop()),
            Some(("a".into(), "2".into(), vec!["Unsealed", "ErrUnsealFailed"]))
        );
        assert!(queue.pop().is_none());
    }
}
