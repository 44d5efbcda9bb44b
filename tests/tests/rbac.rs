//! Least privilege, proven on the real kube-apiserver: render the chart, apply exactly its
//! ServiceAccount and RBAC, mint a TokenRequest token for that ServiceAccount, run the controller
//! binary with that identity and the chart's own flags, and check that it does its work without a
//! single `forbidden`, while the same identity is refused everything it does not need.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::api::rbac::v1::Role;
use kube::api::{ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use sealkit_e2e::{ChildGuard, TestEnv, bin, free_port, peer};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SA: &str = "sealed-secrets-controller";

fn chart() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../charts/sealkit")
}

fn helm_template(namespace: &str, set: &[&str], show_only: &[&str]) -> String {
    let chart = chart();
    let mut args = vec![
        "template",
        "sealkit",
        chart.to_str().unwrap(),
        "--namespace",
        namespace,
    ];
    for s in set {
        args.extend(["--set", s]);
    }
    for s in show_only {
        args.extend(["--show-only", s]);
    }
    let out = Command::new(peer("helm")).args(&args).output().unwrap();
    assert!(
        out.status.success(),
        "helm template: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The chart's controller flags for these values.
fn chart_args(namespace: &str, set: &[&str]) -> Vec<String> {
    let yaml = helm_template(namespace, set, &["templates/deployment.yaml"]);
    let deploy: Value = serde_saphyr::from_str(&yaml).unwrap();
    deploy["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect()
}

fn kubectl_apply_stdin(env: &TestEnv, manifests: &str) {
    use std::io::Write;
    let mut child = Command::new(peer("kubectl"))
        .arg("--kubeconfig")
        .arg(env.kubeconfig_path())
        .args(["apply", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(manifests.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "kubectl apply: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut raw))
        .await
        .ok()?
        .ok()?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}

/// The controller binary running as the chart's ServiceAccount with the chart's flags.
struct Controller {
    http: u16,
    metrics: u16,
    log: PathBuf,
    process: ChildGuard,
}

impl Controller {
    /// Starts the binary as ServiceAccount `ns/sa` (a TokenRequest token, as in a pod).
    async fn start(env: &TestEnv, ns: &str, sa: &str, args: Vec<String>, dir: &Path) -> Controller {
        let kubeconfig = env.service_account_kubeconfig(ns, sa).await;
        let (http, metrics) = (free_port(), free_port());
        let args: Vec<String> = args
            .into_iter()
            .map(|a| {
                if a.starts_with("--listen-addr=") {
                    format!("--listen-addr=127.0.0.1:{http}")
                } else if a.starts_with("--listen-metrics-addr=") {
                    format!("--listen-metrics-addr=127.0.0.1:{metrics}")
                } else if a.starts_with("--log-format=") {
                    "--log-format=text".to_owned()
                } else {
                    a
                }
            })
            .chain(["--key-size=2048".to_owned()]) // test speed; size does not change any permission
            .collect();
        let log = dir.join("controller.log");
        let file = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(bin("sealkit-controller"));
        cmd.args(&args)
            .env("KUBECONFIG", &kubeconfig)
            .env("POD_NAME", "rbac-0")
            .env("POD_NAMESPACE", ns)
            .env("AWS_ENDPOINT_URL", env.moto_endpoint())
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file);
        let process = ChildGuard::spawn("sealkit-controller (chart RBAC)", &mut cmd);
        Controller {
            http,
            metrics,
            log,
            process,
        }
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Log lines reporting a refused API call, except the documented, optional self-grant of the
    /// public-key reader Role (the chart ships that Role; the controller may not create Roles).
    fn forbidden_lines(&self) -> Vec<String> {
        self.logs()
            .lines()
            .filter(|l| {
                let l = l.to_ascii_lowercase();
                (l.contains("forbidden") || l.contains(" 403")) && !l.contains("public-keys-reader")
            })
            .map(str::to_owned)
            .collect()
    }

    async fn wait<T, F, Fut>(&mut self, what: &str, timeout: Duration, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let start = Instant::now();
        loop {
            if let Some(v) = check().await {
                return v;
            }
            if start.elapsed() > timeout || !self.process.is_running() {
                panic!(
                    "timed out waiting for {what}; controller log:\n{}",
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Seals Secret `name` (key `password`) with the certificate a controller serves on `cert_port`.
fn seal(ns: &str, name: &str, value: &str, cert_port: u16, dir: &Path) -> PathBuf {
    let cert_url = format!("http://127.0.0.1:{cert_port}/v1/cert.pem");
    sealkit_e2e::seal_with_sealkit(ns, name, value, &cert_url, dir)
}

fn apply_file(env: &TestEnv, path: &Path) {
    kubectl_apply_stdin(env, &std::fs::read_to_string(path).unwrap());
}

async fn secret_value(secrets: &Api<Secret>, name: &str) -> Option<String> {
    let s = secrets.get_opt(name).await.ok().flatten()?;
    String::from_utf8(s.data?.get("password")?.0.clone()).ok()
}

fn is_forbidden<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> bool {
    matches!(result, Err(kube::Error::Api(ref s)) if s.code == 403)
}

fn secret_named(name: &str) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            ..ObjectMeta::default()
        },
        string_data: Some([("k".to_owned(), "v".to_owned())].into()),
        ..Secret::default()
    }
}

/// What the ServiceAccount must not be able to do in any mode.
async fn assert_no_escalation(sa: &Client, ns: &str, other_ns: &str) {
    let roles: Api<Role> = Api::namespaced(sa.clone(), ns);
    let role = Role {
        metadata: ObjectMeta {
            name: Some("escalate".to_owned()),
            ..ObjectMeta::default()
        },
        rules: None,
    };
    assert!(
        is_forbidden(roles.create(&PostParams::default(), &role).await),
        "may create Roles"
    );
    let cms: Api<ConfigMap> = Api::namespaced(sa.clone(), other_ns);
    assert!(
        is_forbidden(cms.list(&ListParams::default()).await),
        "may list ConfigMaps elsewhere"
    );
    let leases: Api<k8s_openapi::api::coordination::v1::Lease> = Api::namespaced(sa.clone(), ns);
    assert!(
        is_forbidden(
            leases
                .patch(
                    "someone-elses-lease",
                    &PatchParams::default(),
                    &Patch::Merge(serde_json::json!({}))
                )
                .await
        ),
        "may patch other Leases"
    );
    let keys: Api<Secret> = Api::namespaced(sa.clone(), other_ns);
    assert!(
        is_forbidden(
            keys.delete_collection(&Default::default(), &ListParams::default())
                .await
        ),
        "may deletecollection Secrets"
    );
}

#[tokio::test]
async fn namespace_mode_rbac_is_enough_to_unseal_and_sync_and_refuses_everything_else() {
    let env = TestEnv::get();
    let namespace = env.fresh_namespace("rbac-ns").await;
    let other = env.fresh_namespace("rbac-ns-other").await;
    let (ns, other_ns) = (namespace.name().to_owned(), other.name().to_owned());
    let dir = env.dir().join("rbac").join(&ns);
    std::fs::create_dir_all(&dir).unwrap();
    let admin = env.client().await;

    // Exactly the chart's ServiceAccount and RBAC (default names, namespace-only mode).
    let set = ["scope.mode=namespaces"];
    let rbac = helm_template(
        &ns,
        &set,
        &["templates/serviceaccount.yaml", "templates/rbac.yaml"],
    );
    assert!(
        !rbac.contains("kind: ClusterRole"),
        "namespace mode rendered cluster-wide RBAC"
    );
    kubectl_apply_stdin(env, &rbac);

    let mut controller = Controller::start(env, &ns, SA, chart_args(&ns, &set), &dir).await;
    let port = controller.http;
    let cert = controller
        .wait("/v1/cert.pem", Duration::from_secs(60), || async move {
            let (status, body) = http_get(port, "/v1/cert.pem").await?;
            (status == 200).then_some(body)
        })
        .await;
    assert!(cert.contains("BEGIN CERTIFICATE"));

    // Contract 2 with the chart's RBAC: the controller published the public keys, and any
    // authenticated user (alice, no grants of her own) can read them but no Secret.
    let alice = env.unprivileged_client().await;
    let published = controller
        .wait("the public-key ConfigMap", Duration::from_secs(30), || {
            let cms: Api<ConfigMap> = Api::namespaced(alice.clone(), &ns);
            async move {
                cms.get_opt("sealed-secrets-controller-public-keys")
                    .await
                    .ok()
                    .flatten()
            }
        })
        .await;
    let data = published.data.unwrap_or_default();
    assert!(data["cert.pem"].contains("BEGIN CERTIFICATE"));
    assert!(data["recipients.txt"].starts_with("age1"));
    assert!(is_forbidden(
        Api::<Secret>::namespaced(alice.clone(), &ns)
            .list(&ListParams::default())
            .await
    ));

    // The work: unseal a SealedSecret in the watched namespace.
    let sealed = seal(&ns, "app", "in-scope", port, &dir);
    apply_file(env, &sealed);
    let secrets: Api<Secret> = Api::namespaced(admin.clone(), &ns);
    let value = controller
        .wait("the Secret", Duration::from_secs(30), || {
            secret_value(&secrets, "app")
        })
        .await;
    assert_eq!(value, "in-scope");

    // The other work: sync an ExternalSecret from AWS Secrets Manager (moto).
    let aws_name = format!("{ns}/db");
    env.secrets_manager()
        .await
        .create_secret()
        .name(&aws_name)
        .secret_string(r#"{"password":"from-aws"}"#)
        .send()
        .await
        .unwrap();
    let es = serde_json::json!([
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "aws-credentials", "namespace": ns},
         "stringData": {"id": sealkit_e2e::AWS_ACCESS_KEY_ID, "secret": sealkit_e2e::AWS_SECRET_ACCESS_KEY}},
        {"apiVersion": "external-secrets.io/v1", "kind": "SecretStore", "metadata": {"name": "aws", "namespace": ns},
         "spec": {"provider": {"aws": {"service": "SecretsManager", "region": sealkit_e2e::AWS_REGION,
            "auth": {"secretRef": {"accessKeyIDSecretRef": {"name": "aws-credentials", "key": "id"},
                                   "secretAccessKeySecretRef": {"name": "aws-credentials", "key": "secret"}}}}}}},
        {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": {"name": "db", "namespace": ns},
         "spec": {"refreshInterval": "1h", "secretStoreRef": {"name": "aws", "kind": "SecretStore"},
                  "target": {"name": "db-from-aws"},
                  "data": [{"secretKey": "password", "remoteRef": {"key": aws_name, "property": "password"}}]}},
    ]);
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": es});
    kubectl_apply_stdin(env, &list.to_string());
    let synced = controller
        .wait(
            "the ExternalSecret's Secret",
            Duration::from_secs(60),
            || secret_value(&secrets, "db-from-aws"),
        )
        .await;
    assert_eq!(synced, "from-aws");

    // Out of scope: a SealedSecret in another namespace is invisible to it, and the identity is
    // refused Secrets there and cluster-wide.
    let outside = seal(&other_ns, "app", "out-of-scope", port, &dir);
    apply_file(env, &outside);
    let sa = env.service_account_client(&ns, SA).await;
    let theirs: Api<Secret> = Api::namespaced(admin.clone(), &other_ns);
    theirs
        .create(&PostParams::default(), &secret_named("not-yours"))
        .await
        .unwrap();
    assert!(is_forbidden(
        Api::<Secret>::namespaced(sa.clone(), &other_ns)
            .get("not-yours")
            .await
    ));
    assert!(is_forbidden(
        Api::<Secret>::all(sa.clone())
            .list(&ListParams::default())
            .await
    ));
    assert!(is_forbidden(
        Api::<Secret>::namespaced(sa.clone(), &other_ns)
            .create(&PostParams::default(), &secret_named("planted"))
            .await
    ));
    assert_no_escalation(&sa, &ns, &other_ns).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        secret_value(&theirs, "app").await.is_none(),
        "a SealedSecret outside the scope was unsealed"
    );

    // The failure path (status, event, metric) works with the same permissions.
    assert_alerted_metric_counts_failures(env, &ns, &mut controller).await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    controller.process.assert_running();
    let refused = controller.forbidden_lines();
    assert!(
        refused.is_empty(),
        "the controller hit missing permissions:\n{}",
        refused.join("\n")
    );
}

/// The metric the chart's PrometheusRule alerts on is really exported by the binary, with the
/// labels the alert groups by, once an unseal fails.
async fn assert_alerted_metric_counts_failures(
    env: &TestEnv,
    ns: &str,
    controller: &mut Controller,
) {
    let rule = helm_template(
        "x",
        &["metrics.prometheusRule.enabled=true"],
        &["templates/prometheusrule.yaml"],
    );
    assert!(rule.contains(
        "sum by (reason, namespace) (rate(sealed_secrets_controller_unseal_errors_total[5m])) > 0"
    ));
    let broken = serde_json::json!({
        "apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
        "metadata": {"name": "broken", "namespace": ns},
        "spec": {"encryptedData": {"password": "bm90IGEgc2VhbGVkIHZhbHVl"}},
    });
    kubectl_apply_stdin(env, &broken.to_string());
    let port = controller.metrics;
    let sample = format!(
        "sealed_secrets_controller_unseal_errors_total{{reason=\"unseal\",namespace=\"{ns}\"}}"
    );
    controller
        .wait("the unseal-error counter", Duration::from_secs(30), || {
            let sample = sample.clone();
            async move {
                let (_, text) = http_get(port, "/metrics").await?;
                text.lines().any(|l| l.starts_with(&sample)).then_some(())
            }
        })
        .await;
}

/// Adds `key=value` from `selector` to the SealedSecret's labels; JSON out (kubectl reads it).
fn label_manifest(yaml: &str, selector: &str) -> String {
    let mut doc: Value = serde_saphyr::from_str(yaml).unwrap();
    let (key, value) = selector.split_once('=').unwrap();
    let meta = doc["metadata"].as_object_mut().unwrap();
    let labels = meta
        .entry("labels")
        .or_insert_with(|| serde_json::json!({}));
    labels[key] = Value::String(value.to_owned());
    serde_json::to_string(&doc).unwrap()
}

#[tokio::test]
async fn cluster_mode_rbac_is_enough_to_unseal_in_any_namespace_and_refuses_the_rest() {
    let env = TestEnv::get();
    let namespace = env.fresh_namespace("rbac-cl").await;
    let second = env.fresh_namespace("rbac-cl-second").await;
    let (ns, second_ns) = (namespace.name().to_owned(), second.name().to_owned());
    let dir = env.dir().join("rbac").join(&ns);
    std::fs::create_dir_all(&dir).unwrap();
    let admin = env.client().await;

    // Cluster-scoped names must not collide with parallel tests: name the release after the
    // namespace. A label selector keeps this cluster-wide controller off other tests' objects.
    let fullname = format!("fullnameOverride={ns}");
    let selector = format!("sealkit-e2e/rbac={ns}");
    let extra = format!("sealedSecrets.extraArgs={{--label-selector={selector}}}");
    let set = [
        fullname.as_str(),
        "externalSecrets.enabled=false",
        extra.as_str(),
    ];
    let rbac = helm_template(
        &ns,
        &set,
        &["templates/serviceaccount.yaml", "templates/rbac.yaml"],
    );
    assert!(rbac.contains("kind: ClusterRole"));
    kubectl_apply_stdin(env, &rbac);
    let args = chart_args(&ns, &set);
    assert!(
        args.contains(&"--all-namespaces=true".to_owned()),
        "{args:?}"
    );

    let sa_name = ns.clone(); // the chart names the ServiceAccount after the fullname
    let mut controller = Controller::start(env, &ns, &sa_name, args, &dir).await;
    let port = controller.http;
    controller
        .wait("/v1/cert.pem", Duration::from_secs(60), || async move {
            let (status, _) = http_get(port, "/v1/cert.pem").await?;
            (status == 200).then_some(())
        })
        .await;

    // Unseals in a namespace other than its own (cluster-wide RBAC at work).
    let sealed = seal(&second_ns, "app", "anywhere", port, &dir);
    let text = std::fs::read_to_string(&sealed).unwrap();
    let labelled = label_manifest(&text, &selector);
    kubectl_apply_stdin(env, &labelled);
    let secrets: Api<Secret> = Api::namespaced(admin.clone(), &second_ns);
    let value = controller
        .wait(
            "the Secret in the second namespace",
            Duration::from_secs(30),
            || secret_value(&secrets, "app"),
        )
        .await;
    assert_eq!(value, "anywhere");

    let sa = env.service_account_client(&ns, &sa_name).await;
    assert_no_escalation(&sa, &ns, &second_ns).await;
    // Its own namespace's ConfigMaps other than the public keys: not writable.
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some("planted".to_owned()),
            ..Default::default()
        },
        ..Default::default()
    };
    assert!(is_forbidden(
        Api::<ConfigMap>::namespaced(sa.clone(), &second_ns)
            .create(&PostParams::default(), &cm)
            .await
    ));

    controller.process.assert_running();
    let refused = controller.forbidden_lines();
    assert!(
        refused.is_empty(),
        "the controller hit missing permissions:\n{}",
        refused.join("\n")
    );
}
