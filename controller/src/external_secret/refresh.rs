//! When an ExternalSecret is fetched again (ESO's `shouldRefresh` + `isSecretValid`, §2.3 of the
//! spec), and when the next reconcile is due.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sealkit_api::external_secret::{CreationPolicy, RefreshPolicy};

/// Default `refreshInterval` when unset.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(3600);

/// Converts a Kubernetes timestamp.
pub fn to_chrono(t: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time) -> DateTime<Utc> {
    DateTime::from_timestamp(t.0.as_second(), t.0.subsec_nanosecond().max(0) as u32)
        .unwrap_or_default()
}

/// Converts to a Kubernetes timestamp.
pub fn to_time(t: DateTime<Utc>) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::Time {
    let ts = k8s_openapi::jiff::Timestamp::new(t.timestamp(), t.timestamp_subsec_nanos() as i32)
        .unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH);
    k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(ts)
}

/// How early a periodic refresh may run, and how old a shared cached value it may use: a quarter
/// of the interval, at most 5 minutes. Refreshes are aligned to multiples of it, so ExternalSecrets
/// with the same interval refresh together and share one bulk AWS call.
pub fn tolerance(interval: Duration) -> Duration {
    (interval / 4).min(Duration::from_secs(300))
}

/// Facts the decision needs, all non-secret.
#[derive(Debug, Clone)]
pub struct RefreshFacts {
    /// `spec.refreshPolicy`.
    pub policy: Option<RefreshPolicy>,
    /// Parsed `spec.refreshInterval`.
    pub interval: Duration,
    /// `status.refreshTime`.
    pub refresh_time: Option<DateTime<Utc>>,
    /// `status.syncedResourceVersion`.
    pub synced_resource_version: Option<String>,
    /// What `syncedResourceVersion` would be now.
    pub current_resource_version: String,
    /// Now.
    pub now: DateTime<Utc>,
}

/// Why a fetch is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshReason {
    /// Never synced.
    NeverSynced,
    /// Spec, labels or annotations changed (force-sync included).
    Changed,
    /// The interval elapsed.
    Due,
}

/// ESO's `shouldRefresh`.
pub fn should_refresh(f: &RefreshFacts) -> Option<RefreshReason> {
    let never_synced = f
        .synced_resource_version
        .as_deref()
        .unwrap_or("")
        .is_empty()
        || f.refresh_time.is_none();
    let changed = f.synced_resource_version.as_deref() != Some(f.current_resource_version.as_str());
    match f.policy.unwrap_or(RefreshPolicy::Periodic) {
        RefreshPolicy::CreatedOnce => never_synced.then_some(RefreshReason::NeverSynced),
        RefreshPolicy::OnChange => {
            if never_synced {
                Some(RefreshReason::NeverSynced)
            } else if changed {
                Some(RefreshReason::Changed)
            } else {
                None
            }
        }
        RefreshPolicy::Periodic => {
            if never_synced {
                return Some(RefreshReason::NeverSynced);
            }
            if f.interval.is_zero() {
                return None;
            }
            if changed {
                return Some(RefreshReason::Changed);
            }
            let refresh_time = f.refresh_time?;
            if refresh_time > f.now {
                return Some(RefreshReason::Due);
            }
            let early = f.interval.saturating_sub(tolerance(f.interval));
            let next =
                refresh_time + chrono::Duration::from_std(early).unwrap_or(chrono::Duration::MAX);
            (next <= f.now).then_some(RefreshReason::Due)
        }
    }
}

/// Time until the next periodic refresh, or `None` when the policy never refreshes on time: the
/// first multiple of [`tolerance`] (since the Unix epoch) at or after `refreshTime + interval -
/// tolerance`, so the refresh happens within `[interval - tolerance, interval]` after the last one.
pub fn next_refresh_in(f: &RefreshFacts) -> Option<Duration> {
    if f.policy.unwrap_or(RefreshPolicy::Periodic) != RefreshPolicy::Periodic
        || f.interval.is_zero()
    {
        return None;
    }
    let Some(refresh_time) = f.refresh_time else {
        return Some(Duration::ZERO);
    };
    let tick = tolerance(f.interval).as_millis().max(1) as i64;
    let early = f.interval.saturating_sub(tolerance(f.interval));
    let earliest = (refresh_time
        + chrono::Duration::from_std(early).unwrap_or(chrono::Duration::MAX))
    .timestamp_millis();
    let aligned = earliest.div_euclid(tick) * tick
        + if earliest.rem_euclid(tick) == 0 {
            0
        } else {
            tick
        };
    let wait_ms = aligned - f.now.timestamp_millis();
    Some(Duration::from_millis(wait_ms.max(0) as u64))
}

/// State of the target Secret relevant to ESO's `isSecretValid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetState {
    /// Absent.
    Missing,
    /// Present; `managed` = carries the managed label, `hash_matches` = data-hash annotation equals
    /// the hash of its current data.
    Present {
        /// Managed label present.
        managed: bool,
        /// Annotation matches data.
        hash_matches: bool,
    },
}

/// ESO's `isSecretValid`.
pub fn secret_is_valid(policy: CreationPolicy, target: &TargetState) -> bool {
    if policy == CreationPolicy::Orphan {
        return true;
    }
    matches!(
        target,
        TargetState::Present {
            managed: true,
            hash_matches: true
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(
        policy: Option<RefreshPolicy>,
        interval: u64,
        synced_ago: Option<i64>,
        changed: bool,
    ) -> RefreshFacts {
        let now = DateTime::parse_from_rfc3339("2026-12-04T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        RefreshFacts {
            policy,
            interval: Duration::from_secs(interval),
            refresh_time: synced_ago.map(|s| now - chrono::Duration::seconds(s)),
            synced_resource_version: synced_ago.map(|_| "1-abc".to_owned()),
            current_resource_version: if changed {
                "2-abc".into()
            } else {
                "1-abc".into()
            },
            now,
        }
    }

    #[test]
    fn periodic_refreshes_when_due_or_changed() {
        assert_eq!(
            should_refresh(&facts(None, 60, None, false)),
            Some(RefreshReason::NeverSynced)
        );
        assert_eq!(should_refresh(&facts(None, 60, Some(30), false)), None);
        assert_eq!(
            should_refresh(&facts(None, 60, Some(60), false)),
            Some(RefreshReason::Due)
        );
        assert_eq!(
            should_refresh(&facts(None, 60, Some(30), true)),
            Some(RefreshReason::Changed)
        );
        let wait = next_refresh_in(&facts(None, 60, Some(45), false)).unwrap();
        assert!(wait <= Duration::from_secs(15), "{wait:?}");
        let at = facts(None, 60, Some(45), false).now + chrono::Duration::from_std(wait).unwrap();
        assert_eq!(
            at.timestamp_millis() % 15_000,
            0,
            "refreshes align to multiples of the tolerance"
        );
        assert_eq!(
            should_refresh(&facts(None, 60, Some(50), false)),
            Some(RefreshReason::Due),
            "early by up to 15 s"
        );
        assert_eq!(should_refresh(&facts(None, 60, Some(40), false)), None);
    }

    #[test]
    fn a_zero_interval_syncs_once_and_ignores_changes() {
        assert_eq!(
            should_refresh(&facts(None, 0, None, false)),
            Some(RefreshReason::NeverSynced)
        );
        assert_eq!(should_refresh(&facts(None, 0, Some(9999), true)), None);
        assert_eq!(next_refresh_in(&facts(None, 0, Some(1), false)), None);
    }

    #[test]
    fn a_refresh_time_in_the_future_refreshes() {
        assert_eq!(
            should_refresh(&facts(None, 60, Some(-30), false)),
            Some(RefreshReason::Due)
        );
    }

    #[test]
    fn created_once_and_on_change_follow_upstream() {
        let once = Some(RefreshPolicy::CreatedOnce);
        assert_eq!(
            should_refresh(&facts(once, 60, None, false)),
            Some(RefreshReason::NeverSynced)
        );
        assert_eq!(should_refresh(&facts(once, 60, Some(9999), true)), None);
        let on_change = Some(RefreshPolicy::OnChange);
        assert_eq!(
            should_refresh(&facts(on_change, 60, Some(9999), false)),
            None
        );
        assert_eq!(
            should_refresh(&facts(on_change, 60, Some(1), true)),
            Some(RefreshReason::Changed)
        );
    }

    #[test]
    fn only_orphan_ignores_a_tampered_or_missing_secret() {
        let tampered = TargetState::Present {
            managed: true,
            hash_matches: false,
        };
        assert!(!secret_is_valid(CreationPolicy::Owner, &tampered));
        assert!(!secret_is_valid(
            CreationPolicy::Owner,
            &TargetState::Missing
        ));
        assert!(secret_is_valid(
            CreationPolicy::Orphan,
            &TargetState::Missing
        ));
        let good = TargetState::Present {
            managed: true,
            hash_matches: true,
        };
        assert!(secret_is_valid(CreationPolicy::Merge, &good));
        let unlabelled = TargetState::Present {
            managed: false,
            hash_matches: true,
        };
        assert!(!secret_is_valid(CreationPolicy::Owner, &unlabelled));
    }
}
