//! Prometheus metrics of the ExternalSecrets controller. Labels are bounded enums (operation,
//! outcome, reason): no object names, no error texts, never a value.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of an AWS call.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    /// Operation (`GetSecretValue`, `BatchGetSecretValue`, `ListSecrets`, `DescribeSecret`, `AssumeRole`, …).
    pub call: String,
    /// `success` or `error`.
    pub status: String,
}

/// Labels of a sync outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SyncLabels {
    /// Condition reason or error reason.
    pub reason: String,
}

/// Labels of a cache lookup.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabels {
    /// `hit` or `miss`.
    pub result: String,
}

/// Metrics of the ExternalSecrets part.
pub struct Metrics {
    /// AWS API calls (HTTP attempts), by operation and outcome.
    pub aws_calls: Family<CallLabels, Counter>,
    /// Reconcile outcomes by reason.
    pub syncs: Family<SyncLabels, Counter>,
    /// Reconcile duration in seconds.
    pub reconcile_duration: Histogram,
    /// Value cache lookups.
    pub cache: Family<CacheLabels, Counter>,
    /// ExternalSecrets whose Ready condition is False.
    pub not_ready: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            aws_calls: Family::default(),
            syncs: Family::default(),
            reconcile_duration: Histogram::new(exponential_buckets(0.005, 2.0, 14)),
            cache: Family::default(),
            not_ready: Gauge::default(),
        }
    }
}

impl Metrics {
    /// Creates the metrics and registers them under `sealkit_externalsecret_*` / `sealkit_aws_*`.
    pub fn register(registry: &mut Registry) -> std::sync::Arc<Metrics> {
        let metrics = std::sync::Arc::new(Metrics::default());
        metrics.register_into(registry);
        metrics
    }

    /// Registers these metrics into `registry`.
    pub fn register_into(&self, registry: &mut Registry) {
        registry.register(
            "sealkit_aws_api_calls",
            "AWS API calls (HTTP attempts) by operation and status",
            self.aws_calls.clone(),
        );
        registry.register(
            "sealkit_externalsecret_syncs",
            "ExternalSecret reconcile outcomes by reason",
            self.syncs.clone(),
        );
        registry.register(
            "sealkit_externalsecret_reconcile_duration_seconds",
            "ExternalSecret reconcile duration",
            self.reconcile_duration.clone(),
        );
        registry.register(
            "sealkit_externalsecret_value_cache_lookups",
            "Shared value cache lookups by result",
            self.cache.clone(),
        );
        registry.register(
            "sealkit_externalsecret_not_ready",
            "ExternalSecrets with Ready=False",
            self.not_ready.clone(),
        );
    }

    /// Counts one AWS call.
    pub fn aws_call(&self, call: &str, status: &str) {
        self.aws_calls
            .get_or_create(&CallLabels {
                call: call.to_owned(),
                status: status.to_owned(),
            })
            .inc();
    }

    /// Total AWS calls so far (all operations and outcomes).
    pub fn aws_calls_total(&self) -> u64 {
        let mut registry = Registry::default();
        registry.register("c", "", self.aws_calls.clone());
        let mut text = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
        text.lines()
            .filter(|l| l.starts_with("c_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }

    /// Counts a sync outcome.
    pub fn sync(&self, reason: &str) {
        self.syncs
            .get_or_create(&SyncLabels {
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// Counts a cache lookup.
    pub fn cache_lookup(&self, hit: bool) {
        let result = if hit { "hit" } else { "miss" };
        self.cache
            .get_or_create(&CacheLabels {
                result: result.to_owned(),
            })
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_calls_are_summed_over_labels() {
        let m = Metrics::default();
        m.aws_call("GetSecretValue", "success");
        m.aws_call("GetSecretValue", "error");
        m.aws_call("ListSecrets", "success");
        assert_eq!(m.aws_calls_total(), 3);
    }
}
