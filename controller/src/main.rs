//! `sealkit-controller`: unseals SealedSecrets and syncs ExternalSecrets.
//!
//! Start-up order (each step never blocks the ones before it):
//! 1. HTTP (`/healthz`, `/readyz`, `/v1/*`) and metrics servers — from the first second, on every replica;
//! 2. the key registry watch (every replica, so `/v1/cert.pem` works on all of them);
//! 3. once this replica leads (leader election on a Lease, `leader.rs`): the reconcilers, key
//!    generation/renewal and the public-key ConfigMap.
#![forbid(unsafe_code)]

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{ArgAction, Parser, ValueEnum};
use prometheus_client::registry::Registry;
use tracing_subscriber::EnvFilter;

use sealkit_controller::http::{self, AppState, RateLimit, Readiness};
use sealkit_controller::metrics::Metrics;
use sealkit_controller::sealed_secret::{self, key_registry::KeyRegistry};

/// Unseals Bitnami SealedSecrets (drop-in for the sealed-secrets controller) and syncs
/// ExternalSecrets from AWS Secrets Manager.
///
/// Every flag can also be set through the environment variable shown (upstream's
/// `SEALED_SECRETS_*` names where upstream has the flag). The command line wins.
#[derive(Parser, Debug)]
#[command(name = "sealkit-controller", version, max_term_width = 100)]
struct Cli {
    #[command(flatten)]
    runtime: RuntimeArgs,

    /// Run the SealedSecrets part (unsealing, keys, /v1 endpoints).
    #[arg(long, env = "SEALKIT_SEALED_SECRETS", default_value_t = true, action = ArgAction::Set, value_name = "BOOL")]
    sealed_secrets: bool,

    /// Run the ExternalSecrets part (AWS Secrets Manager sync).
    #[arg(long, env = "SEALKIT_EXTERNAL_SECRETS", default_value_t = true, action = ArgAction::Set, value_name = "BOOL")]
    external_secrets: bool,

    #[command(flatten, next_help_heading = "SealedSecrets")]
    sealed: sealed_secret::Args,

    #[command(flatten, next_help_heading = "Leader election")]
    leader: sealkit_controller::leader::LeaderElectionArgs,
    #[command(flatten, next_help_heading = "ExternalSecrets")]
    external: sealkit_controller::external_secret::Args,
}

#[derive(clap::Args, Debug)]
#[command(next_help_heading = "Runtime")]
struct RuntimeArgs {
    /// HTTP listen address (/healthz, /readyz, /v1/cert.pem, /v1/recipients, /v1/verify, /v1/rotate).
    #[arg(long, env = "SEALED_SECRETS_LISTEN_ADDR", default_value = ":8080")]
    listen_addr: String,

    /// Metrics listen address (/metrics).
    #[arg(
        long,
        env = "SEALED_SECRETS_LISTEN_METRICS_ADDR",
        default_value = ":8081"
    )]
    listen_metrics_addr: String,

    /// Controller name: names the public-key ConfigMap (`<name>-public-keys`) and the event source.
    #[arg(
        long,
        env = "SEALED_SECRETS_CONTROLLER_NAME",
        default_value = "sealed-secrets-controller"
    )]
    controller_name: String,

    /// Namespace of the controller (key Secrets, ConfigMap, leases). Default: $POD_NAMESPACE, else
    /// the service-account namespace, else `default`.
    #[arg(long, env = "POD_NAMESPACE")]
    controller_namespace: Option<String>,

    /// Client-side limit of Kubernetes API requests per second (none by default).
    #[arg(long, env = "SEALED_SECRETS_KUBECLIENT_QPS")]
    kubeclient_qps: Option<f64>,

    /// Burst of the client-side limit (only with --kubeclient-qps).
    #[arg(long, env = "SEALED_SECRETS_KUBECLIENT_BURST", default_value_t = 10)]
    kubeclient_burst: u32,

    /// Log level or filter (`info`, `debug`, `sealkit_controller=debug,kube=info`).
    #[arg(long, env = "SEALED_SECRETS_LOG_LEVEL", default_value = "info")]
    log_level: String,

    /// Log format.
    #[arg(long, env = "SEALED_SECRETS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // One rustls provider for the whole process (kube and the AWS SDK).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cli = Cli::parse();
    if let Err(e) = init_tracing(&cli.runtime) {
        eprintln!("error: {e:#}");
        return std::process::ExitCode::from(1);
    }
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "controller stopped");
            std::process::ExitCode::from(1)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let namespace = controller_namespace(cli.runtime.controller_namespace.as_deref());
    let mut registry = Registry::default();
    let metrics = Metrics::register(&mut registry);
    let es_metrics = sealkit_controller::external_secret::Metrics::register(&mut registry);
    let registry = Arc::new(registry);

    let keys = Arc::new(KeyRegistry::default());
    let readiness = Readiness::default();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };

    // 1. HTTP from the first second.
    let limit = RateLimit {
        per_second: cli.sealed.rate_limit,
        burst: cli.sealed.rate_limit_burst,
    };
    let app = http::router(AppState::new(
        keys.clone(),
        readiness.clone(),
        metrics.clone(),
        limit,
    ));
    let mut tasks = tokio::task::JoinSet::new();
    {
        let addr = cli.runtime.listen_addr.clone();
        let shutdown = stopped();
        tasks.spawn(async move {
            http::serve(&addr, app, shutdown)
                .await
                .context("http server")
        });
        let addr = cli.runtime.listen_metrics_addr.clone();
        let shutdown = stopped();
        let router = http::metrics_router(registry.clone());
        tasks.spawn(async move {
            http::serve(&addr, router, shutdown)
                .await
                .context("metrics server")
        });
    }

    let client = kube_client(cli.runtime.kubeclient_qps, cli.runtime.kubeclient_burst).await?;
    tracing::info!(controller_namespace = %namespace, "connected to the Kubernetes API");

    // 2. Every replica: key registry watch (serves /v1/cert.pem and /v1/verify everywhere).
    let sealed = if cli.sealed_secrets {
        let part = sealed_secret::Part::new(
            client.clone(),
            cli.sealed,
            sealed_secret::Identity {
                controller_name: cli.runtime.controller_name.clone(),
                namespace: namespace.clone(),
            },
            keys.clone(),
            metrics.clone(),
            readiness.clone(),
        )?;
        let watch = part.clone();
        tasks.spawn(async move { watch.watch_keys().await.context("key registry") });
        Some(part)
    } else {
        tracing::info!("SealedSecrets part disabled (--sealed-secrets=false)");
        None
    };
    let (external_secrets, external) = (cli.external_secrets, cli.external.clone());
    if !external_secrets {
        tracing::info!("ExternalSecrets part disabled (--external-secrets=false)");
    }

    // 3. Leader-only work: reconcilers, key generation/renewal, public-key ConfigMap.
    // Leader election (leader.rs): the work below runs only while this replica holds the Lease;
    // HTTP and the key watch above keep running on every replica. Losing the Lease ends the
    // process (exit 1) so the pod restarts as a follower.
    let election = cli
        .leader
        .election(&cli.runtime.controller_name, &namespace)?;
    let elector = sealkit_controller::leader::LeaderElector::connect(election).await?;
    let leader_shutdown = stopped();
    tasks.spawn(async move {
        let work = async move {
            let mut leading = tokio::task::JoinSet::new();
            if let Some(part) = sealed {
                leading.spawn(async move { part.run().await.context("sealed-secrets") });
            }
            if external_secrets {
                let (client, args, m) = (client.clone(), external, es_metrics);
                leading.spawn(async move {
                    sealkit_controller::external_secret::run(client, args, m)
                        .await
                        .context("external-secrets")
                });
            }
            while let Some(done) = leading.join_next().await {
                done.context("task panicked")??;
            }
            Ok(())
        };
        match elector.run(leader_shutdown, work).await? {
            Some(result) => result,
            None => Ok(()),
        }
    });

    let outcome = tokio::select! {
        _ = shutdown_signal() => {
            tracing::info!("shutting down");
            Ok(())
        }
        Some(done) = tasks.join_next() => match done {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e),
            Err(e) => Err(anyhow::anyhow!("task failed: {e}")),
        },
    };
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    outcome
}

fn init_tracing(args: &RuntimeArgs) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(&args.log_level)
        .with_context(|| format!("invalid --log-level `{}`", args.log_level))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match args.log_format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
    Ok(())
}

fn controller_namespace(flag: Option<&str>) -> String {
    if let Some(ns) = flag.filter(|n| !n.is_empty()) {
        return ns.to_owned();
    }
    std::fs::read_to_string("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "default".to_owned())
}

/// A kube client; with `qps`, requests are limited to `qps` per second with bursts of `burst`.
async fn kube_client(qps: Option<f64>, burst: u32) -> anyhow::Result<kube::Client> {
    let config = kube::Config::infer()
        .await
        .context("no Kubernetes configuration (in-cluster, $KUBECONFIG or ~/.kube/config)")?;
    let builder = kube::client::ClientBuilder::try_from(config)
        .context("cannot build the Kubernetes client")?;
    match qps.filter(|q| *q > 0.0) {
        None => Ok(builder.build()),
        Some(qps) => {
            let burst = u64::from(burst.max(1));
            let period = Duration::from_secs_f64(burst as f64 / qps);
            Ok(builder
                .with_layer(&tower::limit::RateLimitLayer::new(burst, period))
                .build())
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
