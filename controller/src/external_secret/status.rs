//! Status conditions of ExternalSecrets and stores: upstream's reasons, our messages.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use sealkit_api::external_secret::ExternalSecretStatusCondition;

/// Ready=True, synced.
pub const REASON_SYNCED: &str = "SecretSynced";
/// Ready=False.
pub const REASON_SYNCED_ERROR: &str = "SecretSyncedError";
/// Ready=True, deleted by DeletionPolicy=Delete.
pub const REASON_DELETED: &str = "SecretDeleted";
/// Ready=True, Merge target missing.
pub const REASON_MISSING: &str = "SecretMissing";

/// Builds the Ready condition, keeping `lastTransitionTime` unless `status` flips.
pub fn ready_condition(
    previous: Option<&[ExternalSecretStatusCondition]>,
    ready: bool,
    reason: &str,
    message: &str,
) -> ExternalSecretStatusCondition {
    let status = if ready { "True" } else { "False" };
    let prev = previous.into_iter().flatten().find(|c| c.type_ == "Ready");
    let last_transition_time = match prev {
        Some(p) if p.status == status => p.last_transition_time.clone(),
        _ => Some(Time(k8s_openapi::jiff::Timestamp::now())),
    };
    ExternalSecretStatusCondition {
        type_: "Ready".to_owned(),
        status: status.to_owned(),
        reason: Some(reason.to_owned()),
        message: Some(message.to_owned()),
        last_transition_time,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_time_is_kept_while_status_does_not_flip() {
        let first = ready_condition(None, true, REASON_SYNCED, "secret synced");
        let same = ready_condition(
            Some(std::slice::from_ref(&first)),
            true,
            REASON_SYNCED,
            "secret synced",
        );
        assert_eq!(first.last_transition_time, same.last_transition_time);
        let old = ExternalSecretStatusCondition {
            last_transition_time: None,
            ..first
        };
        let flipped = ready_condition(Some(&[old]), false, REASON_SYNCED_ERROR, "x");
        assert!(flipped.last_transition_time.is_some());
        assert_eq!(flipped.status, "False");
    }
}
