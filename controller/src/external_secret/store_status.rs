//! Status of SecretStores and ClusterSecretStores: a `Ready` condition with upstream's reasons
//! (`Valid`, `InvalidProviderConfig`, `ValidationFailed`, `ValidationUnknown`) and
//! `capabilities: ReadWrite`, revalidated every 5 minutes. Validation resolves credentials through
//! the shared credential cache, so it costs no STS call while they are valid.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, Patch, PatchParams};
use kube::core::object::{HasSpec, HasStatus};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::{Resource, ResourceExt};
use sealkit_api::external_secret::StoreKind;
use sealkit_api::secret_store::{
    ClusterSecretStore, SecretStore, SecretStoreStatus, SecretStoreStatusCondition, StoreSpec,
};
use serde::de::DeserializeOwned;

use super::reconciler::Context;
use super::store::StoreError;

/// Revalidation interval (ESO's `--store-requeue-interval` default).
pub const STORE_REQUEUE: Duration = Duration::from_secs(300);

/// Store status failure (only Kubernetes API errors; validation results go into the status).
#[derive(Debug, thiserror::Error)]
#[error("store status: {0}")]
pub struct StoreStatusError(#[source] kube::Error);

/// `(ready, reason, message)` for a validation result.
pub fn store_condition(result: &Result<bool, StoreError>) -> (bool, &'static str, String) {
    match result {
        Ok(true) => (true, "Valid", "store validated".to_owned()),
        Ok(false) => (
            true,
            "ValidationUnknown",
            "store validation is unknown: credentials are read from each ExternalSecret's namespace".to_owned(),
        ),
        Err(e @ (StoreError::ProviderNotSupported(_) | StoreError::Invalid(_) | StoreError::NoStoreRef)) => {
            (false, "InvalidProviderConfig", e.to_string())
        }
        Err(e) => (false, "ValidationFailed", e.to_string()),
    }
}

async fn validate(
    ctx: &Context,
    namespace: &str,
    kind: StoreKind,
    name: &str,
    spec: &StoreSpec,
) -> Option<Result<bool, StoreError>> {
    match ctx.stores.validate(namespace, kind, name, spec).await {
        Err(StoreError::ControllerClass { .. }) => None,
        Ok(resolved) => Some(Ok(resolved.is_some())),
        Err(e) => Some(Err(e)),
    }
}

fn status_for(
    previous: Option<&SecretStoreStatus>,
    result: &Result<bool, StoreError>,
) -> SecretStoreStatus {
    let (ready, reason, message) = store_condition(result);
    let status = if ready { "True" } else { "False" };
    let prev = previous
        .and_then(|p| p.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"));
    let last_transition_time = match prev {
        Some(p) if p.status == status => p.last_transition_time.clone(),
        _ => Some(Time(k8s_openapi::jiff::Timestamp::now())),
    };
    SecretStoreStatus {
        conditions: Some(vec![SecretStoreStatusCondition {
            type_: "Ready".to_owned(),
            status: status.to_owned(),
            reason: Some(reason.to_owned()),
            message: Some(message),
            last_transition_time,
        }]),
        capabilities: Some("ReadWrite".to_owned()),
    }
}

async fn event_on_change<K: Resource<DynamicType = ()>>(
    ctx: &Context,
    obj: &K,
    old: Option<&SecretStoreStatus>,
    new: &SecretStoreStatus,
) {
    let reason_of = |s: Option<&SecretStoreStatus>| {
        s.and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.first())
            .and_then(|c| c.reason.clone())
    };
    if reason_of(old) == reason_of(Some(new)) {
        return;
    }
    let cond = new.conditions.as_ref().and_then(|c| c.first());
    let ok = cond.is_some_and(|c| c.status == "True");
    let ev = Event {
        type_: if ok {
            EventType::Normal
        } else {
            EventType::Warning
        },
        reason: cond.and_then(|c| c.reason.clone()).unwrap_or_default(),
        note: cond.and_then(|c| c.message.clone()),
        action: "Validate".to_owned(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&ev, &obj.object_ref(&())).await {
        tracing::debug!(error = %e, "store event not published");
    }
}

/// A SecretStore or a ClusterSecretStore: one spec, one status; they differ only in their scope.
pub trait Store:
    Resource<DynamicType = ()>
    + HasSpec<Spec: Clone + Into<StoreSpec>>
    + HasStatus<Status = SecretStoreStatus>
    + Clone
    + DeserializeOwned
    + Debug
    + Send
    + Sync
    + 'static
{
    /// The kind, as an ExternalSecret's `storeRef.kind` names it.
    const KIND: StoreKind;

    /// The API that writes the status of a store of this kind in `namespace` (`""` for a
    /// ClusterSecretStore).
    fn api(client: kube::Client, namespace: &str) -> Api<Self>;
}

impl Store for SecretStore {
    const KIND: StoreKind = StoreKind::SecretStore;

    fn api(client: kube::Client, namespace: &str) -> Api<Self> {
        Api::namespaced(client, namespace)
    }
}

impl Store for ClusterSecretStore {
    const KIND: StoreKind = StoreKind::ClusterSecretStore;

    fn api(client: kube::Client, _: &str) -> Api<Self> {
        Api::all(client)
    }
}

/// Reconciles a SecretStore's or a ClusterSecretStore's status: validates it, writes the status
/// only when it changed, and publishes an event when the condition's reason changed.
pub async fn reconcile<K: Store>(
    store: Arc<K>,
    ctx: Arc<Context>,
) -> Result<Action, StoreStatusError> {
    // "" for a ClusterSecretStore: it has no namespace
    let ns = store.namespace().unwrap_or_default();
    let name = store.name_any();
    let spec: StoreSpec = store.spec().clone().into();
    let Some(result) = validate(&ctx, &ns, K::KIND, &name, &spec).await else {
        return Ok(Action::await_change());
    };
    let status = status_for(store.status(), &result);
    if store.status() != Some(&status) {
        let patch = serde_json::json!({ "status": status });
        K::api(ctx.client.clone(), &ns)
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(StoreStatusError)?;
        event_on_change(&ctx, &*store, store.status(), &status).await;
    }
    Ok(Action::requeue(STORE_REQUEUE))
}

/// Retry after a Kubernetes error.
pub fn error_policy<K>(_: Arc<K>, _: &StoreStatusError, _: Arc<Context>) -> Action {
    Action::requeue(Duration::from_secs(30))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_conditions_use_upstream_reasons() {
        assert_eq!(store_condition(&Ok(true)).1, "Valid");
        assert_eq!(store_condition(&Ok(false)).1, "ValidationUnknown");
        let unsupported = Err(StoreError::ProviderNotSupported("vault".into()));
        assert_eq!(store_condition(&unsupported).1, "InvalidProviderConfig");
        assert!(!store_condition(&unsupported).0);
        let auth = Err(StoreError::Auth("credentials Secret ns/x not found".into()));
        let (ready, reason, message) = store_condition(&auth);
        assert_eq!((ready, reason), (false, "ValidationFailed"));
        assert_eq!(message, "auth: credentials Secret ns/x not found");
    }

    #[test]
    fn transition_time_is_kept_when_the_result_does_not_flip() {
        let first = status_for(None, &Ok(true));
        let again = status_for(Some(&first), &Ok(true));
        assert_eq!(first, again);
    }
}
