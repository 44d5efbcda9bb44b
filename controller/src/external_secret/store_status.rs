//! Status of SecretStores and ClusterSecretStores: a `Ready` condition with upstream's reasons
//! (`Valid`, `InvalidProviderConfig`, `ValidationFailed`, `ValidationUnknown`) and
//! `capabilities: ReadWrite`, revalidated every 5 minutes. Validation resolves credentials through
//! the shared credential cache, so it costs no STS call while they are valid.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::{Resource, ResourceExt};
use sealkit_api::external_secret::StoreKind;
use sealkit_api::secret_store::{
    ClusterSecretStore, SecretStore, SecretStoreStatus, SecretStoreStatusCondition, StoreSpec,
};

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

/// Reconciles a SecretStore's status.
pub async fn reconcile_secret_store(
    store: Arc<SecretStore>,
    ctx: Arc<Context>,
) -> Result<Action, StoreStatusError> {
    let ns = store.namespace().unwrap_or_default();
    let spec: StoreSpec = store.spec.clone().into();
    let Some(result) = validate(&ctx, &ns, StoreKind::SecretStore, &store.name_any(), &spec).await
    else {
        return Ok(Action::await_change());
    };
    let status = status_for(store.status.as_ref(), &result);
    if store.status.as_ref() != Some(&status) {
        let api: Api<SecretStore> = Api::namespaced(ctx.client.clone(), &ns);
        let patch = serde_json::json!({ "status": status });
        api.patch_status(
            &store.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .map_err(StoreStatusError)?;
        event_on_change(&ctx, &*store, store.status.as_ref(), &status).await;
    }
    Ok(Action::requeue(STORE_REQUEUE))
}

/// Reconciles a ClusterSecretStore's status.
pub async fn reconcile_cluster_store(
    store: Arc<ClusterSecretStore>,
    ctx: Arc<Context>,
) -> Result<Action, StoreStatusError> {
    let spec: StoreSpec = store.spec.clone().into();
    let Some(result) = validate(
        &ctx,
        "",
        StoreKind::ClusterSecretStore,
        &store.name_any(),
        &spec,
    )
    .await
    else {
        return Ok(Action::await_change());
    };
    let status = status_for(store.status.as_ref(), &result);
    if store.status.as_ref() != Some(&status) {
        let api: Api<ClusterSecretStore> = Api::all(ctx.client.clone());
        let patch = serde_json::json!({ "status": status });
        api.patch_status(
            &store.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .map_err(StoreStatusError)?;
        event_on_change(&ctx, &*store, store.status.as_ref(), &status).await;
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
