//! Talking to the cluster: kubeconfig and kubectl flags, the controller's public keys (through
//! the API server's service proxy like kubeseal, or from the `<controller-name>-public-keys`
//! ConfigMap, which also works when the API server cannot reach the pod), and the controller's
//! `/v1/verify` and `/v1/rotate` endpoints.
//!
//! Nothing here runs unless a command needs the cluster: the tokio runtime and the kube client
//! are built on demand, so offline sealing starts fast.

use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Service};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};

use crate::failure::{Failure, Outcome};
use crate::flags::{KeySource, KubeArgs};

/// Where the namespace of an input Secret without one comes from (kubeseal's rules).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamespaceChoice {
    /// `-n/--namespace` (or `SEALED_SECRETS_NAMESPACE`): an input in another namespace is refused.
    Explicit(String),
    /// The kubeconfig context's namespace, `default` if it has none, or the in-cluster
    /// service-account namespace.
    Inferred(String),
    /// No kubeconfig and no in-cluster namespace.
    Unknown,
}

impl NamespaceChoice {
    pub fn name(&self) -> Option<&str> {
        match self {
            NamespaceChoice::Explicit(n) | NamespaceChoice::Inferred(n) => Some(n),
            NamespaceChoice::Unknown => None,
        }
    }
}

const IN_CLUSTER_NAMESPACE_FILE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/// Resolve the namespace without contacting the cluster (client-go's `Namespace()`).
pub fn namespace_choice(kube: &KubeArgs) -> NamespaceChoice {
    if let Some(ns) = kube.namespace.as_deref().filter(|n| !n.is_empty()) {
        return NamespaceChoice::Explicit(ns.to_owned());
    }
    if let Ok(config) = read_kubeconfig(kube.kubeconfig.as_deref()) {
        let context_name = kube.context.clone().or(config.current_context.clone());
        let ns = context_name
            .and_then(|name| config.contexts.iter().find(|c| c.name == name).cloned())
            .and_then(|c| c.context)
            .and_then(|c| c.namespace)
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "default".to_owned());
        return NamespaceChoice::Inferred(ns);
    }
    match std::fs::read_to_string(IN_CLUSTER_NAMESPACE_FILE) {
        Ok(ns) if !ns.trim().is_empty() => NamespaceChoice::Inferred(ns.trim().to_owned()),
        _ => NamespaceChoice::Unknown,
    }
}

fn read_kubeconfig(path: Option<&Path>) -> Result<Kubeconfig, kube::config::KubeconfigError> {
    match path {
        Some(p) => Kubeconfig::read_from(p),
        None => Kubeconfig::read(),
    }
}

/// A single-threaded runtime for the few requests a CLI run makes.
pub fn block_on<F: std::future::Future>(future: F) -> Outcome<F::Output> {
    // One TLS provider for kube and --cert URLs; harmless if already installed.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::internal("cannot start the async runtime").because(&e))?;
    Ok(runtime.block_on(future))
}

const NO_CLUSTER_HINT: &str = "pass --cert FILE|URL or --recipient age1... to seal offline, or point \
--kubeconfig/--context at the cluster";

/// A kube client from kubeconfig (or in-cluster config) plus kubectl's override flags.
pub async fn client(kube: &KubeArgs) -> Outcome<Client> {
    let mut config = if kube.kubeconfig.is_some()
        || std::env::var_os("KUBECONFIG").is_some()
        || kube.context.is_some()
    {
        let kubeconfig = read_kubeconfig(kube.kubeconfig.as_deref()).map_err(|e| {
            Failure::user("cannot read the kubeconfig")
                .because(&e)
                .hint(NO_CLUSTER_HINT)
        })?;
        let options = KubeConfigOptions {
            context: kube.context.clone(),
            cluster: kube.cluster.clone(),
            user: kube.user.clone(),
        };
        Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| {
                Failure::user("cannot load the cluster configuration from the kubeconfig")
                    .because(&e)
                    .hint(NO_CLUSTER_HINT)
            })?
    } else {
        Config::infer().await.map_err(|e| {
            Failure::user("no cluster configuration found (no kubeconfig, not in a pod)")
                .because(&e)
                .hint(NO_CLUSTER_HINT)
        })?
    };
    if let Some(server) = &kube.server {
        config.cluster_url = server.parse().map_err(|_| {
            Failure::user(format!("--server {server:?} is not a valid URL"))
                .hint("pass the API server address, e.g. https://10.0.0.1:6443")
        })?;
    }
    if let Some(ns) = &kube.namespace {
        config.default_namespace = ns.clone();
    }
    if let Some(token) = &kube.token {
        config.auth_info.token = Some(token.clone().into());
        config.auth_info.token_file = None;
    }
    if let Some(user) = &kube.as_user {
        config.auth_info.impersonate = Some(user.clone());
    }
    if !kube.as_group.is_empty() {
        config.auth_info.impersonate_groups = Some(kube.as_group.clone());
    }
    if let Some(ca) = &kube.certificate_authority {
        config.root_cert_file = Some(ca.clone());
    }
    if let Some(path) = &kube.client_certificate {
        config.auth_info.client_certificate = Some(path.display().to_string());
        config.auth_info.client_certificate_data = None;
    }
    if let Some(path) = &kube.client_key {
        config.auth_info.client_key = Some(path.display().to_string());
        config.auth_info.client_key_data = None;
    }
    if kube.insecure_skip_tls_verify {
        config.accept_invalid_certs = true;
    }
    if let Some(name) = &kube.tls_server_name {
        config.tls_server_name = Some(name.clone());
    }
    if let Some(timeout) = &kube.request_timeout {
        let parsed = parse_timeout(timeout)?;
        if let Some(d) = parsed {
            config.read_timeout = Some(d);
            config.connect_timeout = Some(d);
        }
    }
    apply_proxy_environment(&mut config);
    Client::try_from(config).map_err(|e| {
        Failure::user("cannot create the Kubernetes client")
            .because(&e)
            .hint(NO_CLUSTER_HINT)
    })
}

/// kube takes `HTTPS_PROXY` for every API server and checks `NO_PROXY` against the proxy's own
/// address; kubectl (Go) checks it against the API server, and never proxies loopback. A proxy
/// that came from the environment (not the kubeconfig's `proxy-url`) is dropped when Go would not
/// use it, so a local cluster keeps working behind a corporate proxy.
fn apply_proxy_environment(config: &mut Config) {
    let Some(proxy) = &config.proxy_url else {
        return;
    };
    let from_environment = ["HTTPS_PROXY", "https_proxy"].iter().any(|var| {
        std::env::var(var)
            .ok()
            .and_then(|v| v.parse::<http::Uri>().ok())
            .is_some_and(|env_proxy| &env_proxy == proxy)
    });
    if from_environment && crate::download::proxy_for(&config.cluster_url).is_none() {
        config.proxy_url = None;
    }
}

/// kubectl's `--request-timeout`: a bare number of seconds or a duration (`10s`, `1m`); `0` = none.
fn parse_timeout(text: &str) -> Outcome<Option<Duration>> {
    let bad = || {
        Failure::user(format!("--request-timeout {text:?} is not a duration"))
            .hint("use a number of seconds or a duration such as 10s, 1m or 1h")
    };
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(bad()),
    };
    Ok((secs > 0).then(|| Duration::from_secs(secs)))
}

/// Public keys as a controller publishes them.
#[derive(Debug, Clone, Default)]
pub struct PublishedKeys {
    /// PEM of the current sealing certificate.
    pub cert_pem: Option<Vec<u8>>,
    /// `recipients.txt`: one age recipient per line, current first.
    pub recipients: Option<String>,
    /// Where they came from, for messages.
    pub origin: String,
}

fn public_keys_config_map(controller_name: &str) -> String {
    format!("{controller_name}-public-keys")
}

/// Fetch the controller's public keys.
pub async fn fetch_public_keys(
    client: &Client,
    namespace: &str,
    controller_name: &str,
    source: KeySource,
) -> Outcome<PublishedKeys> {
    let mut config_map_failure = None;
    if matches!(source, KeySource::Auto | KeySource::ConfigMap) {
        match keys_from_config_map(client, namespace, controller_name).await {
            Ok(keys) => return Ok(keys),
            Err(f) if source == KeySource::ConfigMap => return Err(f),
            Err(f) => config_map_failure = Some(f),
        }
    }
    keys_from_service_proxy(client, namespace, controller_name)
        .await
        .map_err(|f| match config_map_failure {
            Some(cm) => f.cause(format!("also tried: {}", cm.message())),
            None => f,
        })
}

async fn keys_from_config_map(
    client: &Client,
    namespace: &str,
    controller_name: &str,
) -> Outcome<PublishedKeys> {
    let name = public_keys_config_map(controller_name);
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let cm = api.get_opt(&name).await.map_err(|e| {
        Failure::user(format!("cannot read ConfigMap {namespace}/{name}")).because(&e)
    })?;
    let cm = cm.ok_or_else(|| {
        Failure::user(format!("ConfigMap {namespace}/{name} not found"))
            .hint("check --controller-name and --controller-namespace")
    })?;
    let data = cm.data.unwrap_or_default();
    let cert_pem = data
        .get("cert.pem")
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.as_bytes().to_vec());
    let recipients = data
        .get("recipients.txt")
        .filter(|s| !s.trim().is_empty())
        .cloned();
    if cert_pem.is_none() && recipients.is_none() {
        return Err(Failure::user(format!(
            "ConfigMap {namespace}/{name} has neither cert.pem nor recipients.txt"
        )));
    }
    Ok(PublishedKeys {
        cert_pem,
        recipients,
        origin: format!("ConfigMap {namespace}/{name}"),
    })
}

/// `http:<service>:<first port name>`, as kubeseal builds the proxy path.
async fn proxy_base(client: &Client, namespace: &str, service: &str) -> Outcome<String> {
    let api: Api<Service> = Api::namespaced(client.clone(), namespace);
    let svc = api.get(service).await.map_err(|e| {
        Failure::user(format!("cannot get sealed secret service {namespace}/{service}"))
            .because(&e)
            .hint("use --controller-name and --controller-namespace to name the sealed-secrets controller's service (the Helm chart calls it sealed-secrets)")
    })?;
    let port = svc
        .spec
        .and_then(|s| s.ports)
        .and_then(|p| p.into_iter().next())
        .and_then(|p| p.name)
        .unwrap_or_default();
    Ok(format!(
        "/api/v1/namespaces/{namespace}/services/http:{service}:{port}/proxy"
    ))
}

async fn keys_from_service_proxy(
    client: &Client,
    namespace: &str,
    service: &str,
) -> Outcome<PublishedKeys> {
    let base = proxy_base(client, namespace, service).await?;
    let request = |path: &str| {
        http::Request::get(format!("{base}{path}"))
            .header(http::header::ACCEPT, "application/x-pem-file, */*")
            .body(Vec::new())
            .map_err(|e| Failure::internal("cannot build the request").because(&e))
    };
    let cert = client.request_text(request("/v1/cert.pem")?).await.map_err(|e| {
        Failure::user(format!("cannot fetch the certificate from service {namespace}/{service}"))
            .because(&e)
            .hint("the API server may not reach the controller pod (private clusters): publish the public-keys ConfigMap, or use --cert with a saved certificate (sealkit --fetch-cert > cert.pem)")
    })?;
    // A Bitnami controller has no /v1/recipients: that is not an error.
    let recipients = client
        .request_text(request("/v1/recipients")?)
        .await
        .ok()
        .filter(|r| r.lines().any(|l| l.trim_start().starts_with("age1")));
    Ok(PublishedKeys {
        cert_pem: Some(cert.into_bytes()),
        recipients,
        origin: format!("service {namespace}/{service} (API server proxy)"),
    })
}

/// Outcome of posting a SealedSecret to the controller.
pub enum ControllerAnswer {
    Ok(String),
    /// 409: the controller cannot decrypt it.
    Conflict,
}

/// POST a SealedSecret (JSON) to `/v1/verify` or `/v1/rotate` through the service proxy.
pub async fn post_to_controller(
    client: &Client,
    namespace: &str,
    service: &str,
    path: &str,
    body: Vec<u8>,
) -> Outcome<ControllerAnswer> {
    let base = proxy_base(client, namespace, service).await?;
    let request = http::Request::post(format!("{base}{path}"))
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body)
        .map_err(|e| Failure::internal("cannot build the request").because(&e))?;
    match client.request_text(request).await {
        Ok(text) => Ok(ControllerAnswer::Ok(text)),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(ControllerAnswer::Conflict),
        Err(e) => Err(Failure::user(format!("the controller request {path} failed")).because(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_timeouts_parse_like_kubectl() {
        assert_eq!(parse_timeout("10").unwrap(), Some(Duration::from_secs(10)));
        assert_eq!(parse_timeout("2m").unwrap(), Some(Duration::from_secs(120)));
        assert_eq!(parse_timeout("0").unwrap(), None);
        assert!(parse_timeout("soon").is_err());
    }
}
