//! ExternalSecrets from AWS Secrets Manager, compatible with External Secrets Operator.
//!
//! An `ExternalSecret` (`external-secrets.io/v1`, also served as `v1beta1`) names a
//! `SecretStore`/`ClusterSecretStore` and remote keys; the controller keeps the target Secret in
//! step on each `refreshInterval`, writing exactly the labels, annotations (ESO's data hash) and
//! ownerReference ESO writes, so Secrets ESO manages today are adopted without a rewrite.
//!
//! Idempotency: a reconcile that finds the Secret valid and no refresh due makes no AWS call and
//! no write; a failed fetch never touches the Secret. AWS values are shared by all
//! ExternalSecrets through [`cache::ValueCache`] (bulk revalidation, ≤ 20-id batches, in-flight
//! de-duplication) and credentials are cached per store and role chain ([`store::Stores`]).
//!
//! Entry points: [`Args`], [`Metrics::register`], [`run`].

pub mod aws;
pub mod cache;
pub mod desired;
pub mod duration;
pub mod hash;
pub mod key;
pub mod metrics;
pub mod property;
pub mod reconciler;
pub mod refresh;
pub mod status;
pub mod store;
pub mod store_status;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::runtime::controller::{Config as ControllerConfig, Controller};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::{self, ObjectRef};

use kube::ResourceExt as _;
use kube::core::PartialObjectMeta;
use kube::runtime::watcher;
use sealkit_api::external_secret::{ExternalSecret, StoreKind};
use sealkit_api::secret_store::{ClusterSecretStore, SecretStore};

pub use metrics::Metrics;

/// Command-line flags of the ExternalSecrets controller (flatten into the binary's flags).
#[derive(clap::Args, Debug, Clone)]
#[group(id = "ExternalSecretsArgs")]
pub struct Args {
    /// Only watch ExternalSecrets and SecretStores in this namespace (default: all namespaces).
    #[arg(
        long = "external-secrets-namespace",
        env = "SEALKIT_EXTERNAL_SECRETS_NAMESPACE"
    )]
    pub namespace: Option<String>,
    /// Watch ClusterSecretStores (cluster-scoped). Turn off in namespace-only installs, whose Role
    /// cannot read cluster-scoped objects (like ESO's --enable-cluster-store-reconciler=false).
    #[arg(
        long = "external-secrets-cluster-stores",
        env = "SEALKIT_EXTERNAL_SECRETS_CLUSTER_STORES",
        default_value_t = true,
        action = clap::ArgAction::Set
    )]
    pub cluster_stores: bool,
    /// ExternalSecrets reconciled in parallel (never-synced ones are not held back by refreshes).
    #[arg(
        long = "external-secrets-concurrency",
        env = "SEALKIT_EXTERNAL_SECRETS_CONCURRENCY",
        default_value_t = 32
    )]
    pub concurrency: u16,
    /// Process only stores whose spec.controller is empty or equal to this.
    #[arg(
        long = "controller-class",
        env = "SEALKIT_CONTROLLER_CLASS",
        default_value = "default"
    )]
    pub controller_class: String,
    /// Client-side limit of AWS requests per second per account and region.
    #[arg(
        long = "aws-requests-per-second",
        env = "SEALKIT_AWS_REQUESTS_PER_SECOND",
        default_value_t = 50.0
    )]
    pub aws_rate: f64,
    /// Burst of the AWS rate limit.
    #[arg(long = "aws-burst", env = "SEALKIT_AWS_BURST", default_value_t = 100)]
    pub aws_burst: u32,
    /// Attempts per AWS call (with jittered exponential backoff between them).
    #[arg(
        long = "aws-max-attempts",
        env = "SEALKIT_AWS_MAX_ATTEMPTS",
        default_value_t = 3
    )]
    pub aws_attempts: u32,
    /// How long value requests are collected before AWS is called (Go duration).
    #[arg(long = "aws-batch-window", env = "SEALKIT_AWS_BATCH_WINDOW", default_value = "50ms", value_parser = parse_duration_arg)]
    pub batch_window: Duration,
    /// Secrets Manager endpoint (default: AWS_SECRETSMANAGER_ENDPOINT, AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL).
    #[arg(long = "aws-secretsmanager-endpoint")]
    pub secretsmanager_endpoint: Option<String>,
    /// STS endpoint (default: AWS_STS_ENDPOINT, AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL).
    #[arg(long = "aws-sts-endpoint")]
    pub sts_endpoint: Option<String>,
}

fn parse_duration_arg(s: &str) -> Result<Duration, String> {
    duration::parse_go_duration(s).map_err(|e| e.to_string())
}

impl Default for Args {
    fn default() -> Self {
        Args {
            namespace: None,
            cluster_stores: true,
            concurrency: 32,
            controller_class: "default".to_owned(),
            aws_rate: 50.0,
            aws_burst: 100,
            aws_attempts: 3,
            batch_window: Duration::from_millis(50),
            secretsmanager_endpoint: None,
            sts_endpoint: None,
        }
    }
}

/// Runs the ExternalSecrets controller until the process is asked to stop.
pub async fn run(client: kube::Client, args: Args, metrics: Arc<Metrics>) -> anyhow::Result<()> {
    let mut endpoints = aws::Endpoints::from_env();
    if args.secretsmanager_endpoint.is_some() {
        endpoints.secrets_manager = args.secretsmanager_endpoint.clone();
    }
    if args.sts_endpoint.is_some() {
        endpoints.sts = args.sts_endpoint.clone();
    }
    let settings = store::StoreSettings {
        endpoints,
        controller_class: args.controller_class.clone(),
        rate: args.aws_rate,
        burst: args.aws_burst,
        attempts: args.aws_attempts,
    };
    let (es_api, secret_api, ss_api): (
        Api<ExternalSecret>,
        Api<PartialObjectMeta<Secret>>,
        Api<SecretStore>,
    ) = match &args.namespace {
        Some(ns) => (
            Api::namespaced(client.clone(), ns),
            Api::namespaced(client.clone(), ns),
            Api::namespaced(client.clone(), ns),
        ),
        None => (
            Api::all(client.clone()),
            Api::all(client.clone()),
            Api::all(client.clone()),
        ),
    };
    let css_api: Api<ClusterSecretStore> = Api::all(client.clone());

    let concurrency = args.concurrency.max(2);
    let ctx = Arc::new(reconciler::Context {
        client: client.clone(),
        stores: store::Stores::new(client.clone(), settings, metrics.clone()),
        cache: cache::ValueCache::new(args.batch_window, metrics.clone()),
        metrics: metrics.clone(),
        recorder: Recorder::new(
            client.clone(),
            Reporter {
                controller: "external-secrets".to_owned(),
                instance: None,
            },
        ),
        refresh_permits: tokio::sync::Semaphore::new(usize::from(concurrency / 2)),
        failures: std::sync::Mutex::new(HashMap::new()),
    });

    // Status-only updates of ExternalSecrets also trigger a reconcile; it is a no-op (no AWS call,
    // no write) unless a refresh is due, and failures are gated by the backoff in `reconciler`.
    let controller = Controller::new(es_api, watcher::Config::default());
    let reader = controller.store();
    let by_target = reader.clone();
    let by_store = reader.clone();
    let by_cluster_store = reader;
    let (forget_ss, forget_css) = (ctx.clone(), ctx.clone());
    // Managed Secrets, metadata only, label-selected (never all Secrets).
    let secret_cfg =
        watcher::Config::default().labels("reconcile.external-secrets.io/managed=true");

    let secret_stores = Controller::new(ss_api.clone(), watcher::Config::default())
        .shutdown_on_signal()
        .run(
            store_status::reconcile,
            store_status::error_policy,
            ctx.clone(),
        )
        .for_each(|_| futures::future::ready(()));
    let watch_cluster_stores = args.cluster_stores;
    let (css_status_api, css_ctx) = (css_api.clone(), ctx.clone());
    let cluster_stores = async move {
        if watch_cluster_stores {
            Controller::new(css_status_api, watcher::Config::default())
                .shutdown_on_signal()
                .run(store_status::reconcile, store_status::error_policy, css_ctx)
                .for_each(|_| futures::future::ready(()))
                .await;
        }
    };

    let mut controller =
        controller.with_config(ControllerConfig::default().concurrency(concurrency));
    if watch_cluster_stores {
        controller = controller.watches(
            css_api,
            watcher::Config::default(),
            move |s: ClusterSecretStore| {
                forget_css
                    .stores
                    .forget_spec(StoreKind::ClusterSecretStore, None, &s.name_any());
                refs_using(
                    &by_cluster_store,
                    StoreKind::ClusterSecretStore,
                    None,
                    &s.name_any(),
                )
            },
        );
    }
    let external_secrets = controller
        .watches(
            secret_api,
            secret_cfg,
            move |s: PartialObjectMeta<Secret>| {
                let ns = s.namespace();
                let name = s.name_any();
                by_target
                    .state()
                    .into_iter()
                    .filter(|es| es.namespace() == ns && desired::target_name(es) == name)
                    .map(|es| ObjectRef::from_obj(&*es))
                    .collect::<Vec<_>>()
            },
        )
        .watches(ss_api, watcher::Config::default(), move |s: SecretStore| {
            forget_ss.stores.forget_spec(
                StoreKind::SecretStore,
                s.namespace().as_deref(),
                &s.name_any(),
            );
            refs_using(
                &by_store,
                StoreKind::SecretStore,
                s.namespace(),
                &s.name_any(),
            )
        })
        .shutdown_on_signal()
        .run(reconciler::reconcile, reconciler::error_policy, ctx)
        .for_each(|_| futures::future::ready(()));
    futures::join!(external_secrets, secret_stores, cluster_stores);
    Ok(())
}

fn refs_using(
    reader: &reflector::Store<ExternalSecret>,
    kind: StoreKind,
    namespace: Option<String>,
    name: &str,
) -> Vec<ObjectRef<ExternalSecret>> {
    reader
        .state()
        .into_iter()
        .filter(|es| namespace.is_none() || es.namespace() == namespace)
        .filter(|es| {
            let mut refs = es.spec.secret_store_ref.iter().cloned().collect::<Vec<_>>();
            refs.extend(
                es.spec
                    .data
                    .iter()
                    .flatten()
                    .filter_map(|d| d.source_ref.as_ref()?.store_ref.clone()),
            );
            refs.extend(
                es.spec
                    .data_from
                    .iter()
                    .flatten()
                    .filter_map(|d| d.source_ref.as_ref()?.store_ref.clone()),
            );
            refs.iter().any(|r| {
                r.kind.unwrap_or(StoreKind::SecretStore) == kind && r.name.as_deref() == Some(name)
            })
        })
        .map(|es| ObjectRef::from_obj(&*es))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory as _, Parser};

    #[derive(clap::Args, Debug)]
    struct Args2 {
        #[arg(long)]
        other: bool,
    }

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        external: Args,
        #[command(flatten)]
        other: Args2,
    }

    #[test]
    fn flags_flatten_next_to_another_args_struct_and_parse() {
        Cli::command().debug_assert();
        let cli = Cli::parse_from([
            "x",
            "--external-secrets-namespace",
            "team",
            "--aws-batch-window",
            "100ms",
            "--aws-secretsmanager-endpoint",
            "http://127.0.0.1:1",
        ]);
        assert_eq!(cli.external.namespace.as_deref(), Some("team"));
        assert_eq!(cli.external.batch_window, Duration::from_millis(100));
        assert_eq!(cli.external.concurrency, 32);
        assert!(!cli.other.other);
    }
}
