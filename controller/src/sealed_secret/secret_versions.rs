//! The `resourceVersion` of every Secret this controller labels, kept from their watch.
//!
//! All a reconcile needs to know about its Secret before deciding to do anything is whether it
//! exists and at which `resourceVersion` (the fast path of [`super::reconciler`]). A reflector
//! store of `PartialObjectMeta<Secret>` keeps a whole `ObjectMeta` per Secret (about 0.4 kB
//! before its strings) plus a key carrying the uid and resourceVersion again; this map keeps one
//! `namespace/name` string and one `resourceVersion` string, a third of the memory at 10,000
//! Secrets.
//!
//! Watch semantics as kube-runtime's reflector: a (re-)list is collected aside and replaces the
//! map only when complete (`InitDone`), so a Secret deleted while the watch was down disappears
//! and lookups never see a half-listed map.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};

use k8s_openapi::api::core::v1::Secret;
use kube::core::PartialObjectMeta;
use kube::runtime::watcher;

type Map = HashMap<Box<str>, Box<str>>;

/// `namespace/name` → `resourceVersion` of the watched Secrets.
#[derive(Default)]
pub struct SecretVersions {
    live: RwLock<Map>,
    /// A re-list in progress (between `Init` and `InitDone`).
    relist: Mutex<Option<Map>>,
}

impl SecretVersions {
    /// The `resourceVersion` of Secret `namespace/name`, if it exists.
    pub fn get(&self, namespace: &str, name: &str) -> Option<Box<str>> {
        read(&self.live).get(key(namespace, name).as_str()).cloned()
    }

    /// Number of known Secrets.
    pub fn len(&self) -> usize {
        read(&self.live).len()
    }

    /// Whether no Secret is known.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Applies one watch event (call it before the event triggers a reconcile).
    pub fn apply(&self, event: &watcher::Event<PartialObjectMeta<Secret>>) {
        match event {
            watcher::Event::Init => *lock(&self.relist) = Some(Map::new()),
            watcher::Event::InitApply(secret) => {
                if let Some((k, rv)) = entry(secret) {
                    lock(&self.relist)
                        .get_or_insert_with(Map::new)
                        .insert(k, rv);
                }
            }
            watcher::Event::InitDone => {
                if let Some(listed) = lock(&self.relist).take() {
                    *write(&self.live) = listed;
                }
            }
            watcher::Event::Apply(secret) => {
                if let Some((k, rv)) = entry(secret) {
                    write(&self.live).insert(k, rv);
                }
            }
            watcher::Event::Delete(secret) => {
                if let Some((k, _)) = entry(secret) {
                    write(&self.live).remove(&k);
                }
            }
        }
    }
}

fn key(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

fn entry(secret: &PartialObjectMeta<Secret>) -> Option<(Box<str>, Box<str>)> {
    let meta = &secret.metadata;
    let k = key(
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name.as_deref()?,
    );
    let rv = meta.resource_version.as_deref().unwrap_or_default();
    Some((k.into_boxed_str(), rv.into()))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn read<T>(m: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(m: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn secret(ns: &str, name: &str, rv: &str) -> PartialObjectMeta<Secret> {
        PartialObjectMeta {
            types: None,
            metadata: ObjectMeta {
                namespace: Some(ns.into()),
                name: Some(name.into()),
                resource_version: Some(rv.into()),
                ..Default::default()
            },
            _phantom: Default::default(),
        }
    }

    #[test]
    fn applies_updates_and_deletes() {
        let v = SecretVersions::default();
        v.apply(&watcher::Event::Apply(secret("a", "db", "1")));
        v.apply(&watcher::Event::Apply(secret("a", "db", "2")));
        v.apply(&watcher::Event::Apply(secret("b", "db", "3")));
        assert_eq!(v.get("a", "db").as_deref(), Some("2"));
        assert_eq!(v.get("b", "db").as_deref(), Some("3"));
        assert_eq!(v.get("a", "other"), None);
        v.apply(&watcher::Event::Delete(secret("a", "db", "2")));
        assert_eq!(v.get("a", "db"), None);
        assert_eq!(v.len(), 1);
    }

    #[test]
    fn a_relist_replaces_the_map_only_when_complete() {
        let v = SecretVersions::default();
        v.apply(&watcher::Event::Apply(secret("a", "kept", "1")));
        v.apply(&watcher::Event::Apply(secret(
            "a",
            "deleted-while-down",
            "1",
        )));
        v.apply(&watcher::Event::Init);
        v.apply(&watcher::Event::InitApply(secret("a", "kept", "5")));
        assert_eq!(
            v.get("a", "kept").as_deref(),
            Some("1"),
            "half a list is not visible"
        );
        assert!(v.get("a", "deleted-while-down").is_some());
        v.apply(&watcher::Event::InitDone);
        assert_eq!(v.get("a", "kept").as_deref(), Some("5"));
        assert_eq!(v.get("a", "deleted-while-down"), None);
        assert_eq!(v.len(), 1);
    }

    #[test]
    fn namespace_and_name_do_not_run_together() {
        let v = SecretVersions::default();
        v.apply(&watcher::Event::Apply(secret("ab", "c", "1")));
        assert_eq!(v.get("a", "bc"), None);
        assert_eq!(v.get("ab", "c").as_deref(), Some("1"));
    }
}
