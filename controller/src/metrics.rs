//! Prometheus metrics of the sealed-secrets part, with upstream's names
//! (`sealed_secrets_controller_*`) so existing dashboards and the `SealedSecretsUnsealErrorHigh`
//! alert keep working, plus unseal latency histograms.
//!
//! Labels are bounded: error reasons come from `reason()` (a fixed set), namespaces and names are
//! those of objects the controller watches; never error text, never values.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Prefix of every metric of the sealed-secrets part (upstream's).
pub const PREFIX: &str = "sealed_secrets_controller";

/// `unseal_errors_total` labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// `fetch`, `unseal`, `update`, `unmanaged` or `status` (upstream's set).
    pub reason: String,
    /// Namespace of the SealedSecret.
    pub namespace: String,
}

/// `condition_info` labels (upstream's).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConditionLabels {
    /// Namespace of the SealedSecret.
    pub namespace: String,
    /// Name of the SealedSecret.
    pub name: String,
    /// Condition type (`Synced`).
    pub condition: &'static str,
    /// Value of the SealedSecret's `app.kubernetes.io/instance` label.
    pub ss_app_kubernetes_io_instance: String,
}

/// `http_requests_total` labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// Route path (a fixed set; unknown paths are reported as `other`).
    pub path: String,
    /// Status code.
    pub code: String,
    /// Method.
    pub method: String,
}

/// `http_request_duration_seconds` labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpDurationLabels {
    /// Route path.
    pub path: String,
    /// Method.
    pub method: String,
}

/// `unseal_duration_seconds` labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FormatLabels {
    /// `hybrid` (Bitnami RSA) or `native` (age).
    pub format: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Metrics of the sealed-secrets part.
#[derive(Clone)]
pub struct Metrics {
    /// `build_info{revision}`.
    pub build_info: Family<Vec<(String, String)>, Gauge>,
    /// `unseal_requests_total`: reconciles that had to unseal.
    pub unseal_requests: Counter,
    /// `unseal_errors_total{reason,namespace}`.
    pub unseal_errors: Family<ErrorLabels, Counter>,
    /// `condition_info{namespace,name,condition,ss_app_kubernetes_io_instance}`: −1 false, 0
    /// unknown, 1 true; removed when the SealedSecret is deleted.
    pub condition_info: Family<ConditionLabels, Gauge<i64, AtomicI64Compat>>,
    /// `http_requests_total{path,code,method}`.
    pub http_requests: Family<HttpLabels, Counter>,
    /// `http_request_duration_seconds{path,method}`.
    pub http_request_duration: HistogramFamily<HttpDurationLabels>,
    /// `unseal_duration_seconds{format}`: time to unseal one value (sealkit addition).
    pub unseal_value_duration: HistogramFamily<FormatLabels>,
    /// `reconcile_duration_seconds`: time of one reconcile, all paths (sealkit addition).
    pub reconcile_duration: Histogram,
    /// `keys`: number of registered keys (sealkit addition).
    pub keys: Gauge,
    /// `writes_total{kind}`: API writes (secret, status, event) — should stay flat when nothing
    /// changes (sealkit addition).
    pub writes: Family<Vec<(String, String)>, Counter<u64, AtomicU64>>,
}

/// The atomic behind `condition_info` (an `i64` gauge).
pub type AtomicI64Compat = std::sync::atomic::AtomicI64;

fn http_histogram() -> Histogram {
    // Prometheus' default buckets, as upstream (client_golang DefBuckets).
    Histogram::new([
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ])
}

fn unseal_histogram() -> Histogram {
    // 50 µs … ~0.8 s.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 15))
}

impl Metrics {
    /// Creates the metrics and registers them under [`PREFIX`] in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            build_info: Family::default(),
            unseal_requests: Counter::default(),
            unseal_errors: Family::default(),
            condition_info: Family::default(),
            http_requests: Family::default(),
            http_request_duration: Family::new_with_constructor(http_histogram),
            unseal_value_duration: Family::new_with_constructor(unseal_histogram),
            reconcile_duration: unseal_histogram(),
            keys: Gauge::default(),
            writes: Family::default(),
        };
        let sub = registry.sub_registry_with_prefix(PREFIX);
        sub.register(
            "build_info",
            "Build information",
            metrics.build_info.clone(),
        );
        sub.register(
            "unseal_requests",
            "SealedSecrets unsealed (reconciles that decrypted)",
            metrics.unseal_requests.clone(),
        );
        sub.register(
            "unseal_errors",
            "Errors while unsealing, by reason",
            metrics.unseal_errors.clone(),
        );
        sub.register(
            "condition_info",
            "Current SealedSecret condition status (-1 false, 0 unknown, 1 true)",
            metrics.condition_info.clone(),
        );
        sub.register(
            "http_requests",
            "HTTP requests by path, code and method",
            metrics.http_requests.clone(),
        );
        sub.register(
            "http_request_duration_seconds",
            "HTTP request latency by path and method",
            metrics.http_request_duration.clone(),
        );
        sub.register(
            "unseal_duration_seconds",
            "Time to unseal one value, by format",
            metrics.unseal_value_duration.clone(),
        );
        sub.register(
            "reconcile_duration_seconds",
            "Time of one SealedSecret reconcile",
            metrics.reconcile_duration.clone(),
        );
        sub.register("keys", "Registered unsealing keys", metrics.keys.clone());
        sub.register(
            "writes",
            "API writes by kind (secret, status, event)",
            metrics.writes.clone(),
        );
        metrics
            .build_info
            .get_or_create(&vec![(
                "revision".to_owned(),
                env!("CARGO_PKG_VERSION").to_owned(),
            )])
            .set(1);
        metrics
    }

    /// Counts one unseal error of `reason` in `namespace`.
    pub fn unseal_error(&self, reason: &str, namespace: &str) {
        self.unseal_errors
            .get_or_create(&ErrorLabels {
                reason: reason.to_owned(),
                namespace: namespace.to_owned(),
            })
            .inc();
    }

    /// Counts one API write of `kind` (`secret`, `status`, `event`).
    pub fn write(&self, kind: &str) {
        self.writes
            .get_or_create(&vec![("kind".to_owned(), kind.to_owned())])
            .inc();
    }
}

/// Encodes `registry` in the Prometheus text format.
pub fn encode(registry: &Registry) -> String {
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, registry).is_err() {
        out.clear();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_match_upstream() {
        let mut registry = Registry::default();
        let m = Metrics::register(&mut registry);
        m.unseal_requests.inc();
        m.unseal_error("unseal", "ns1");
        m.http_requests
            .get_or_create(&HttpLabels {
                path: "/v1/cert.pem".into(),
                code: "200".into(),
                method: "GET".into(),
            })
            .inc();
        let text = encode(&registry);
        for name in [
            "sealed_secrets_controller_build_info{revision=",
            "sealed_secrets_controller_unseal_requests_total 1",
            "sealed_secrets_controller_unseal_errors_total{reason=\"unseal\",namespace=\"ns1\"} 1",
            "sealed_secrets_controller_http_requests_total{path=\"/v1/cert.pem\",code=\"200\",method=\"GET\"} 1",
        ] {
            assert!(text.contains(name), "missing {name} in\n{text}");
        }
    }
}
