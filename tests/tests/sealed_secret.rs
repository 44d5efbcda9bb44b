//! End-to-end tests of the SealedSecrets controller (`sealkit-controller`) against the real
//! kube-apiserver and kube-controller-manager of `scripts/testenv`.
//!
//! Each test makes its own namespace and starts its own controller restricted to it
//! (`--all-namespaces=false`, controller namespace = the test namespace, no leader election,
//! random ports), so tests run in parallel. SealedSecrets are sealed by the real `kubeseal`
//! (`--cert` from our `/v1/cert.pem`) and by `sealkit-crypto`.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Event, Secret};
use k8s_openapi::api::rbac::v1::{PolicyRule, Subject};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use sealkit_api::SealedSecret;
use sealkit_crypto::{Binding, Scope, SealingTarget};
use sealkit_e2e::{ChildGuard, TestEnv, TestNamespace, eventually, peer};

const WAIT: Duration = Duration::from_secs(60);
const KEY_LABEL: &str = "sealedsecrets.bitnami.com/sealed-secrets-key";

// ---------------------------------------------------------------------------------------------
// harness

/// Installs our CRD (server-side apply, idempotent across parallel tests).
async fn ensure_crd(client: &kube::Client) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/crds/bitnami.com_sealedsecrets.yaml"
    );
    let text = std::fs::read_to_string(path).expect("read the CRD");
    let crd: CustomResourceDefinition = serde_saphyr::from_str(&text).expect("parse the CRD");
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    api.patch(
        "sealedsecrets.bitnami.com",
        &PatchParams::apply("sealkit-e2e").force(),
        &Patch::Apply(&crd),
    )
    .await
    .expect("apply the SealedSecret CRD");
    eventually("the SealedSecret CRD to be established", WAIT, || async {
        let crd = api.get("sealedsecrets.bitnami.com").await.ok()?;
        crd.status?
            .conditions?
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True")
            .then_some(())
    })
    .await;
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A running `sealkit-controller` restricted to one namespace.
struct Controller {
    guard: ChildGuard,
    http: String,
    metrics: String,
    log: PathBuf,
}

impl Controller {
    /// A controller restricted to `ns` (its controller namespace).
    async fn start(env: &TestEnv, ns: &str, extra: &[&str]) -> Controller {
        Controller::start_scoped(env, ns, &["--all-namespaces=false"], extra).await
    }

    /// A controller with controller namespace `ns` and the namespace flags `scope`.
    async fn start_scoped(env: &TestEnv, ns: &str, scope: &[&str], extra: &[&str]) -> Controller {
        let (http_port, metrics_port) = (free_port(), free_port());
        let log = env.dir().join(format!("{}-controller-{http_port}.log", ns));
        let log_file = std::fs::File::create(&log).expect("create the controller log");
        let mut cmd = Command::new(sealkit_e2e::bin("sealkit-controller"));
        cmd.env("KUBECONFIG", env.kubeconfig_path())
            .args(scope)
            .args(["--controller-namespace", ns])
            .args(["--external-secrets=false", "--leader-elect=false"])
            .args(["--listen-addr", &format!("127.0.0.1:{http_port}")])
            .args([
                "--listen-metrics-addr",
                &format!("127.0.0.1:{metrics_port}"),
            ])
            .args(["--key-size", "2048"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log fd"))
            .stderr(log_file);
        let mut controller = Controller {
            guard: ChildGuard::spawn("sealkit-controller", &mut cmd),
            http: format!("http://127.0.0.1:{http_port}"),
            metrics: format!("http://127.0.0.1:{metrics_port}"),
            log,
        };
        controller.wait_ready().await;
        controller
    }

    async fn wait_ready(&mut self) {
        let url = format!("{}/readyz", self.http);
        let started = std::time::Instant::now();
        loop {
            self.guard.assert_running();
            if http_get(&url).await.is_some_and(|(code, _)| code == 200) {
                return;
            }
            if started.elapsed() > WAIT {
                panic!(
                    "controller not ready after {WAIT:?}; log:\n{}",
                    self.log_text()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn cert(&self) -> String {
        let (code, body) = http_get(&format!("{}/v1/cert.pem", self.http))
            .await
            .expect("GET cert.pem");
        assert_eq!(code, 200, "{body}");
        body
    }

    async fn recipients(&self) -> Vec<sealkit_crypto::AgeRecipient> {
        let (code, body) = http_get(&format!("{}/v1/recipients", self.http))
            .await
            .expect("GET recipients");
        assert_eq!(code, 200, "{body}");
        sealkit_crypto::keys::parse_recipients(&body).expect("recipients")
    }

    async fn metrics_text(&self) -> String {
        http_get(&format!("{}/metrics", self.metrics))
            .await
            .expect("GET metrics")
            .1
    }

    fn stop(self) -> String {
        let text = self.log_text();
        drop(self.guard);
        text
    }
}

/// Minimal HTTP/1.1 client (no extra dependency): `(status, body)`.
async fn http_request(method: &str, url: &str, body: &[u8]) -> Option<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}")))?;
    let mut stream = tokio::net::TcpStream::connect(host).await.ok()?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.ok()?;
    stream.write_all(body).await.ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.ok()?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let code = head.split_whitespace().nth(1)?.parse().ok()?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Some((code, body))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

async fn http_get(url: &str) -> Option<(u16, String)> {
    http_request("GET", url, b"").await
}

/// Runs the real kubeseal with `args`, `input` on stdin; returns stdout.
fn kubeseal(args: &[&str], input: &str) -> String {
    let mut child = Command::new(peer("kubeseal"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kubeseal");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().expect("kubeseal");
    assert!(
        out.status.success(),
        "kubeseal failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn write_temp(env: &TestEnv, name: &str, content: &str) -> PathBuf {
    let path = env.dir().join(sealkit_e2e::unique_name(name));
    std::fs::write(&path, content).unwrap();
    path
}

/// A Secret manifest as kubeseal input (JSON).
fn secret_json(
    ns: &str,
    name: &str,
    data: &[(&str, &str)],
    annotations: &[(&str, &str)],
) -> String {
    let data: BTreeMap<_, _> = data
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let annotations: BTreeMap<_, _> = annotations
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": ns, "annotations": annotations},
        "stringData": data,
    })
    .to_string()
}

/// Seals with kubeseal `--cert` and returns the SealedSecret.
async fn kubeseal_sealed(
    env: &TestEnv,
    controller: &Controller,
    secret: &str,
    extra: &[&str],
) -> SealedSecret {
    let cert = write_temp(env, "cert.pem", &controller.cert().await);
    let mut args = vec!["--cert", cert.to_str().unwrap(), "-o", "json"];
    args.extend_from_slice(extra);
    serde_json::from_str(&kubeseal(&args, secret)).expect("kubeseal output is a SealedSecret")
}

/// A SealedSecret built with sealkit-crypto: `items` sealed for `scope` in the given format.
/// The real kubeseal seals `{k: value}` as `ns/name` for `cert` (PEM); the SealedSecret is
/// created and the controller running in `ns` must unseal it into the Secret.
async fn kubeseal_for_cert_unseals(
    env: &TestEnv,
    client: &kube::Client,
    ns: &str,
    cert: &str,
    name: &str,
    value: &str,
) {
    let cert_file = write_temp(env, &format!("{name}.pem"), cert);
    let sealed = kubeseal(
        &["--cert", cert_file.to_str().unwrap(), "-o", "json"],
        &secret_json(ns, name, &[("k", value)], &[]),
    );
    let ss: SealedSecret = serde_json::from_str(&sealed).unwrap();
    create(client, ns, &ss).await;
    assert_eq!(secret_data(client, ns, name).await, pairs(&[("k", value)]));
}

/// Waits until the controller's public-key ConfigMap in `ns` has data that satisfies `ok`.
async fn public_keys_eventually(
    client: &kube::Client,
    ns: &str,
    what: &str,
    ok: impl Fn(&BTreeMap<String, String>) -> bool,
) {
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client.clone(), ns);
    eventually(what, WAIT, || async {
        let cm = cms
            .get("sealed-secrets-controller-public-keys")
            .await
            .ok()?;
        ok(&cm.data?).then_some(())
    })
    .await;
}

/// [`crypto_sealed`] with the default (strict) scope: bound to `ns/name`.
fn strict_sealed(
    ns: &str,
    name: &str,
    target: &SealingTarget,
    items: &[(&str, &[u8])],
) -> SealedSecret {
    let scope = Scope::Strict {
        namespace: ns.into(),
        name: name.into(),
    };
    crypto_sealed(ns, name, scope, target, items)
}

fn crypto_sealed(
    ns: &str,
    name: &str,
    scope: Scope,
    target: &SealingTarget,
    items: &[(&str, &[u8])],
) -> SealedSecret {
    let mut ss: SealedSecret = serde_json::from_value(serde_json::json!({
        "apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"encryptedData": {}, "template": {"metadata": {"name": name, "namespace": ns}}},
    }))
    .unwrap();
    let mut annotations = BTreeMap::new();
    scope.write_annotations(&mut annotations);
    if !annotations.is_empty() {
        ss.metadata.annotations = Some(annotations);
    }
    for (item, value) in items {
        let sealed = target
            .seal(&Binding::new(scope.clone(), *item), value)
            .expect("seal");
        ss.spec
            .encrypted_data
            .insert(item.to_string(), sealkit_crypto::base64::encode(&sealed));
    }
    ss
}

async fn create(client: &kube::Client, ns: &str, ss: &SealedSecret) -> SealedSecret {
    let api: Api<SealedSecret> = Api::namespaced(client.clone(), ns);
    let mut ss = ss.clone();
    ss.metadata.namespace = Some(ns.to_owned());
    ss.metadata.resource_version = None;
    ss.metadata.uid = None;
    ss.metadata.creation_timestamp = None;
    api.create(&PostParams::default(), &ss)
        .await
        .expect("create SealedSecret")
}

/// Waits for the Secret `name` and returns its data as strings.
async fn secret_data(client: &kube::Client, ns: &str, name: &str) -> BTreeMap<String, String> {
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    let secret = eventually(&format!("Secret {ns}/{name}"), WAIT, || async {
        api.get_opt(name).await.ok()?
    })
    .await;
    data_strings(&secret)
}

fn data_strings(secret: &Secret) -> BTreeMap<String, String> {
    secret
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), String::from_utf8_lossy(&v.0).into_owned()))
        .collect()
}

/// Waits until the SealedSecret has a `Synced` condition with `status` and returns the object.
async fn synced(client: &kube::Client, ns: &str, name: &str, status: &str) -> SealedSecret {
    let api: Api<SealedSecret> = Api::namespaced(client.clone(), ns);
    eventually(
        &format!("SealedSecret {ns}/{name} Synced={status}"),
        WAIT,
        || async {
            let ss = api.get(name).await.ok()?;
            let c = ss.synced_condition()?;
            (c.status == status
                && ss.status.as_ref()?.observed_generation == ss.metadata.generation)
                .then_some(ss)
        },
    )
    .await
}

fn condition_message(ss: &SealedSecret) -> String {
    ss.synced_condition()
        .and_then(|c| c.message.clone())
        .unwrap_or_default()
}

async fn events_of(client: &kube::Client, ns: &str, name: &str) -> Vec<Event> {
    let api: Api<Event> = Api::namespaced(client.clone(), ns);
    api.list(&ListParams::default())
        .await
        .expect("list events")
        .items
        .into_iter()
        .filter(|e| e.involved_object.name.as_deref() == Some(name))
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> BTreeMap<String, String> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn setup(prefix: &str) -> (&'static TestEnv, TestNamespace, kube::Client) {
    let env = TestEnv::get();
    let ns = env.fresh_namespace(prefix).await;
    let client = env.client().await;
    ensure_crd(&client).await;
    (env, ns, client)
}

// ---------------------------------------------------------------------------------------------
// tests

#[tokio::test]
async fn values_sealed_by_the_real_kubeseal_unseal_in_every_scope() {
    let (env, ns, client) = setup("ss-kubeseal").await;
    let ns = ns.name();
    let controller = Controller::start(env, ns, &[]).await;
    for (name, scope) in [
        ("strict", "strict"),
        ("nswide", "namespace-wide"),
        ("cluster", "cluster-wide"),
    ] {
        let input = secret_json(
            ns,
            name,
            &[("user", "admin"), ("password", &format!("pw-{scope}"))],
            &[],
        );
        let ss = kubeseal_sealed(env, &controller, &input, &["--scope", scope]).await;
        create(&client, ns, &ss).await;
    }
    for (name, scope) in [
        ("strict", "strict"),
        ("nswide", "namespace-wide"),
        ("cluster", "cluster-wide"),
    ] {
        let data = secret_data(&client, ns, name).await;
        assert_eq!(
            data,
            pairs(&[("user", "admin"), ("password", &format!("pw-{scope}"))])
        );
        let ss = synced(&client, ns, name, "True").await;
        let condition = ss.synced_condition().unwrap();
        assert_eq!(condition.reason.as_deref(), Some("Unsealed"));
        let keys = ss.status.as_ref().unwrap().unsealing_keys.clone().unwrap();
        assert_eq!(keys.len(), 1, "one key unsealed everything: {keys:?}");
        assert_eq!(keys[0].format, "rsa");
        assert!(keys[0].fingerprint.starts_with("rsa:SHA256:"));
        assert_eq!(
            keys[0].items,
            vec!["password".to_string(), "user".to_string()]
        );
    }
    // the Secret is owned by its SealedSecret through exactly one controller reference
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let owners = secrets
        .get("strict")
        .await
        .unwrap()
        .metadata
        .owner_references
        .unwrap();
    assert_eq!(owners.len(), 1);
    assert_eq!(
        (owners[0].kind.as_str(), owners[0].controller),
        ("SealedSecret", Some(true))
    );
    // one Unsealed event per SealedSecret
    let events = events_of(&client, ns, "strict").await;
    assert_eq!(
        events
            .iter()
            .filter(|e| e.reason.as_deref() == Some("Unsealed"))
            .count(),
        1,
        "{events:?}"
    );
    controller.stop();
}

#[tokio::test]
async fn values_sealed_by_sealkit_unseal_in_every_scope_mixed_with_bitnami_values() {
    let (env, ns, client) = setup("ss-native").await;
    let ns = ns.name();
    let controller = Controller::start(env, ns, &[]).await;
    let native = SealingTarget::Native(controller.recipients().await);
    let cert = sealkit_crypto::Certificate::from_pem(controller.cert().await.as_bytes()).unwrap();
    let hybrid = SealingTarget::from_certificate(&cert);
    let scopes = [
        (
            "strict",
            Scope::Strict {
                namespace: ns.into(),
                name: "strict".into(),
            },
        ),
        (
            "nswide",
            Scope::NamespaceWide {
                namespace: ns.into(),
            },
        ),
        ("cluster", Scope::ClusterWide),
    ];
    for (name, scope) in &scopes {
        let mut ss = crypto_sealed(
            ns,
            name,
            scope.clone(),
            &native,
            &[("age-item", b"from-age")],
        );
        let rsa = crypto_sealed(
            ns,
            name,
            scope.clone(),
            &hybrid,
            &[("rsa-item", b"from-rsa")],
        );
        ss.spec.encrypted_data.extend(rsa.spec.encrypted_data);
        create(&client, ns, &ss).await;
    }
    for (name, _) in &scopes {
        let data = secret_data(&client, ns, name).await;
        assert_eq!(
            data,
            pairs(&[("age-item", "from-age"), ("rsa-item", "from-rsa")])
        );
        let ss = synced(&client, ns, name, "True").await;
        let mut formats: Vec<String> = ss
            .status
            .unwrap()
            .unsealing_keys
            .unwrap()
            .into_iter()
            .map(|k| k.format)
            .collect();
        formats.sort();
        assert_eq!(formats, vec!["age".to_string(), "rsa".to_string()]);
    }
    controller.stop();
}

#[tokio::test]
async fn templates_render_over_the_unsealed_items_and_metadata_is_copied() {
    let (env, ns, client) = setup("ss-template").await;
    let ns = ns.name();
    let controller = Controller::start(env, ns, &[]).await;
    let input = secret_json(ns, "tpl", &[("user", "admin"), ("password", "s3cret")], &[]);
    let mut ss = kubeseal_sealed(env, &controller, &input, &[]).await;
    let template = ss.spec.template.get_or_insert_with(Default::default);
    template.type_ = Some("kubernetes.io/basic-auth".into());
    template.data = Some(pairs(&[
        (
            "config.json",
            "{\"user\": {{ toJson .user }}, \"password\": {{ .password | quote }}}",
        ),
        ("username", "{{ .user }}"),
    ]));
    let meta = template.metadata.get_or_insert_with(Default::default);
    meta.labels = Some(pairs(&[("app", "db")]));
    meta.annotations = Some(pairs(&[("team", "core")]));
    create(&client, ns, &ss).await;
    let data = secret_data(&client, ns, "tpl").await;
    assert_eq!(
        data["config.json"],
        "{\"user\": \"admin\", \"password\": \"s3cret\"}"
    );
    assert_eq!(data["username"], "admin");
    assert_eq!(
        data["password"], "s3cret",
        "encrypted items stay next to templated ones"
    );
    let secret = Api::<Secret>::namespaced(client.clone(), ns)
        .get("tpl")
        .await
        .unwrap();
    assert_eq!(secret.type_.as_deref(), Some("kubernetes.io/basic-auth"));
    assert_eq!(secret.metadata.labels.unwrap()["app"], "db");
    assert_eq!(secret.metadata.annotations.unwrap()["team"], "core");
    controller.stop();
}

#[tokio::test]
async fn an_unowned_secret_is_refused_and_managed_patch_and_skip_owner_behave_as_upstream() {
    let (env, ns, client) = setup("ss-owner").await;
    let ns = ns.name();
    let controller = Controller::start(env, ns, &[]).await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let plain = |name: &str, annotations: &[(&str, &str)]| Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            annotations: Some(pairs(annotations)),
            labels: Some(pairs(&[("keep", "me")])),
            ..Default::default()
        },
        data: Some(BTreeMap::from([(
            "old".to_string(),
            ByteString(b"1".to_vec()),
        )])),
        ..Default::default()
    };
    secrets
        .create(&PostParams::default(), &plain("unowned", &[]))
        .await
        .unwrap();
    secrets
        .create(
            &PostParams::default(),
            &plain("managed", &[("sealedsecrets.bitnami.com/managed", "true")]),
        )
        .await
        .unwrap();
    secrets
        .create(
            &PostParams::default(),
            &plain("patched", &[("sealedsecrets.bitnami.com/patch", "true")]),
        )
        .await
        .unwrap();
    for name in ["unowned", "managed", "patched"] {
        let ss = kubeseal_sealed(
            env,
            &controller,
            &secret_json(ns, name, &[("new", "2")], &[]),
            &[],
        )
        .await;
        create(&client, ns, &ss).await;
    }
    let skip = secret_json(
        ns,
        "skip",
        &[("new", "2")],
        &[(
            "sealedsecrets.bitnami.com/skip-set-owner-references",
            "true",
        )],
    );
    let ss = kubeseal_sealed(env, &controller, &skip, &[]).await;
    create(&client, ns, &ss).await;

    // unowned: refused, clear status, one Warning event, Secret untouched
    let refused = synced(&client, ns, "unowned", "False").await;
    assert_eq!(
        refused.synced_condition().unwrap().reason.as_deref(),
        Some("SecretNotOwned")
    );
    assert_eq!(
        condition_message(&refused),
        "Resource \"unowned\" already exists and is not managed by SealedSecret"
    );
    let untouched = secrets.get("unowned").await.unwrap();
    assert_eq!(data_strings(&untouched), pairs(&[("old", "1")]));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let warnings: Vec<_> = events_of(&client, ns, "unowned")
        .await
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("ErrUpdateFailed"))
        .collect();
    assert_eq!(
        warnings.len(),
        1,
        "exactly one warning, no retry storm: {warnings:?}"
    );
    assert_eq!(warnings[0].count.unwrap_or(1), 1);

    // managed: replaced, owned now
    synced(&client, ns, "managed", "True").await;
    let managed = secrets.get("managed").await.unwrap();
    assert_eq!(data_strings(&managed), pairs(&[("new", "2")]));
    assert!(
        !managed
            .metadata
            .labels
            .clone()
            .unwrap_or_default()
            .contains_key("keep")
    );
    assert_eq!(managed.metadata.owner_references.unwrap().len(), 1);

    // patch: merged, other keys and labels kept, owners not taken over
    synced(&client, ns, "patched", "True").await;
    let patched = secrets.get("patched").await.unwrap();
    assert_eq!(data_strings(&patched), pairs(&[("old", "1"), ("new", "2")]));
    assert_eq!(patched.metadata.labels.clone().unwrap()["keep"], "me");
    assert!(
        patched
            .metadata
            .owner_references
            .unwrap_or_default()
            .is_empty()
    );

    // skip-set-owner-references: created without an owner
    synced(&client, ns, "skip", "True").await;
    let skipped = secrets.get("skip").await.unwrap();
    assert_eq!(data_strings(&skipped), pairs(&[("new", "2")]));
    assert!(
        skipped
            .metadata
            .owner_references
            .unwrap_or_default()
            .is_empty()
    );
    controller.stop();
}

#[tokio::test]
async fn a_renamed_or_moved_sealed_secret_is_refused_with_a_precise_message() {
    let env = TestEnv::get();
    let home = env.fresh_namespace("ss-copy").await;
    let other = env.fresh_namespace("ss-copy-other").await;
    let client = env.client().await;
    ensure_crd(&client).await;
    let extra = format!("--additional-namespaces={}", other.name());
    let controller = Controller::start(env, home.name(), &[&extra]).await;
    let original = kubeseal_sealed(
        env,
        &controller,
        &secret_json(home.name(), "db", &[("password", "x")], &[]),
        &[],
    )
    .await;
    create(&client, home.name(), &original).await;
    synced(&client, home.name(), "db", "True").await;

    let mut renamed = original.clone();
    renamed.metadata.name = Some("db-copy".into());
    create(&client, home.name(), &renamed).await;
    let mut moved = original.clone();
    moved.metadata.namespace = Some(other.name().into());
    create(&client, other.name(), &moved).await;

    let renamed = synced(&client, home.name(), "db-copy", "False").await;
    let message = condition_message(&renamed);
    assert!(
        message.contains("renamed") && message.contains("`db`"),
        "{message}"
    );
    assert_eq!(
        renamed.synced_condition().unwrap().reason.as_deref(),
        Some("UnsealFailed")
    );
    let moved = synced(&client, other.name(), "db", "False").await;
    let message = condition_message(&moved);
    assert!(
        message.contains("moved or copied") && message.contains(&format!("`{}/db`", home.name())),
        "{message}"
    );
    let warnings = events_of(&client, other.name(), "db").await;
    assert!(
        warnings
            .iter()
            .any(|e| e.reason.as_deref() == Some("ErrUnsealFailed")),
        "{warnings:?}"
    );
    assert!(
        Api::<Secret>::namespaced(client.clone(), other.name())
            .get_opt("db")
            .await
            .unwrap()
            .is_none()
    );
    controller.stop();
}

/// Runs the real sealed-secrets controller in `ns` until it made its key Secret; returns the
/// Secret and the certificate it served.
async fn bitnami_made_key(env: &TestEnv, client: &kube::Client, ns: &str) -> (Secret, String) {
    // the real sealed-secrets controller, in-cluster as ServiceAccount ns/bitnami with a namespace Role
    namespace_admin_role(client, ns, "bitnami").await;
    let (p1, p2) = (free_port(), free_port());
    let mut cmd = env
        .in_cluster_command(ns, "bitnami", &peer("sealed-secrets-controller"))
        .await;
    cmd.args(["--all-namespaces=false", "--key-size=2048"])
        .arg(format!("--listen-addr=127.0.0.1:{p1}"))
        .arg(format!("--listen-metrics-addr=127.0.0.1:{p2}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let bitnami = ChildGuard::spawn("sealed-secrets-controller", &mut cmd);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let key_list = ListParams::default().labels(KEY_LABEL);
    let bitnami_key = eventually("a key Secret from the Bitnami controller", WAIT, || async {
        secrets.list(&key_list).await.ok()?.items.into_iter().next()
    })
    .await;
    let bitnami_cert = eventually("the Bitnami controller's cert.pem", WAIT, || async {
        http_get(&format!("http://127.0.0.1:{p1}/v1/cert.pem"))
            .await
            .filter(|(c, _)| *c == 200)
            .map(|(_, b)| b)
    })
    .await;
    drop(bitnami);
    assert!(!bitnami_key.data.as_ref().unwrap().contains_key("age.key"));
    (bitnami_key, bitnami_cert)
}

/// What the 503 answers of `/v1/cert.pem` and `/v1/recipients` advise: `sealkit keygen -w FILE`,
/// then `kubectl create -f FILE` (the Secret has `generateName`).
fn create_key_made_by_sealkit_keygen(env: &TestEnv, ns: &str) {
    let key_file = env.dir().join(sealkit_e2e::unique_name("keygen.yaml"));
    let keygen = Command::new(sealkit_e2e::bin("sealkit"))
        .args(["keygen", "-n", ns, "-w", key_file.to_str().unwrap()])
        .output()
        .expect("run sealkit keygen");
    assert!(keygen.status.success(), "{keygen:?}");
    let created = Command::new(peer("kubectl"))
        .env("KUBECONFIG", env.kubeconfig_path())
        .args(["create", "-f", key_file.to_str().unwrap()])
        .output()
        .expect("run kubectl create");
    assert!(created.status.success(), "{created:?}");
}

async fn key_secrets(client: &kube::Client, ns: &str) -> Vec<Secret> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    secrets
        .list(&ListParams::default().labels(KEY_LABEL))
        .await
        .expect("list key Secrets")
        .items
}

const NO_AGE_IDENTITY_LOG: &str =
    "no key has an age identity (adopted Bitnami keys); generating a new key";

#[tokio::test]
async fn a_key_secret_made_by_the_bitnami_controller_is_adopted_and_one_age_key_is_added() {
    let (env, ns, client) = setup("ss-adopt").await;
    let ns = ns.name();
    let (bitnami_key, bitnami_cert) = bitnami_made_key(env, &client, ns).await;
    let bitnami_name = bitnami_key.metadata.name.clone().unwrap();
    // certificate NotBefore has whole seconds: let the new key's be later than the Bitnami one's
    // (a real migration adopts keys days old)
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let controller = Controller::start(env, ns, &[]).await;
    // the adopted key has no age identity: one new key is generated at once (not in 30 days)
    let (_, body) = eventually("/v1/recipients to answer 200", WAIT, || async {
        http_get(&format!("{}/v1/recipients", controller.http))
            .await
            .filter(|(c, _)| *c == 200)
    })
    .await;
    assert!(body.starts_with("age1"), "{body}");
    let keys = key_secrets(&client, ns).await;
    assert_eq!(keys.len(), 2, "exactly one new key Secret");
    let adopted = keys
        .iter()
        .find(|k| k.metadata.name.as_deref() == Some(bitnami_name.as_str()))
        .expect("the Bitnami key Secret is kept");
    assert_eq!(
        adopted.metadata.resource_version, bitnami_key.metadata.resource_version,
        "the adopted key Secret is not modified"
    );
    let new_key = keys
        .iter()
        .find(|k| k.metadata.name.as_deref() != Some(bitnami_name.as_str()))
        .unwrap();
    assert!(
        new_key
            .metadata
            .name
            .as_deref()
            .unwrap()
            .starts_with("sealed-secrets-key")
    );
    assert_eq!(new_key.type_.as_deref(), Some("kubernetes.io/tls"));
    let new_data = new_key.data.as_ref().unwrap();
    for field in ["tls.crt", "tls.key", "age.key"] {
        assert!(new_data.contains_key(field), "new key Secret lacks {field}");
    }
    // the new key seals from now on, for kubeseal too (as after a renewal)
    assert_ne!(controller.cert().await.trim(), bitnami_cert.trim());
    let log = controller.log_text();
    assert_eq!(log.matches(NO_AGE_IDENTITY_LOG).count(), 1, "{log}");
    public_keys_eventually(
        &client,
        ns,
        "recipients.txt in the public-key ConfigMap",
        |data| {
            data.get("recipients.txt")
                .is_some_and(|r| r.starts_with("age1"))
        },
    )
    .await;

    // kubeseal with the Bitnami certificate still works: the adopted key unseals
    kubeseal_for_cert_unseals(env, &client, ns, &bitnami_cert, "legacy", "v").await;
    let ss = synced(&client, ns, "legacy", "True").await;
    let key = &ss.status.unwrap().unsealing_keys.unwrap()[0];
    assert_eq!(key.format, "rsa");

    // native sealing for the new recipient works
    let native = SealingTarget::Native(controller.recipients().await);
    create(
        &client,
        ns,
        &strict_sealed(ns, "native", &native, &[("k", b"age")]),
    )
    .await;
    assert_eq!(
        secret_data(&client, ns, "native").await,
        pairs(&[("k", "age")])
    );
    let ss = synced(&client, ns, "native", "True").await;
    assert_eq!(ss.status.unwrap().unsealing_keys.unwrap()[0].format, "age");
    controller.stop();

    // a restart generates nothing more
    let controller = Controller::start(env, ns, &[]).await;
    let (code, _) = http_get(&format!("{}/v1/recipients", controller.http))
        .await
        .unwrap();
    assert_eq!(code, 200);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        key_secrets(&client, ns).await.len(),
        2,
        "no key per restart"
    );
    let new_cert = controller.cert().await;
    let log = controller.stop();
    assert!(!log.contains("stored new key Secret"), "{log}");

    // rollback: the Bitnami controller loads the new key Secret too, seals and unseals with it
    let (bitnami, http) = start_bitnami(env, ns, &[]).await;
    let served = fetch_ok(&format!("{http}/v1/cert.pem")).await;
    assert_eq!(served.trim(), new_cert.trim(), "Bitnami picks the new key");
    kubeseal_for_cert_unseals(env, &client, ns, &new_cert, "rollback", "back").await;
    assert_eq!(key_secrets(&client, ns).await.len(), 2);
    drop(bitnami);
}

#[tokio::test]
async fn with_renewal_disabled_adopted_bitnami_keys_get_no_age_key_and_recipients_says_what_to_do()
{
    let (env, ns, client) = setup("ss-adopt-norenew").await;
    let ns = ns.name();
    let (_, bitnami_cert) = bitnami_made_key(env, &client, ns).await;
    let controller = Controller::start(env, ns, &["--key-renew-period=0"]).await;
    assert_eq!(controller.cert().await.trim(), bitnami_cert.trim());
    let (code, body) = http_get(&format!("{}/v1/recipients", controller.http))
        .await
        .unwrap();
    assert_eq!(code, 503, "{body}");
    for expected in [
        "--key-renew-period=0",
        &format!("sealkit keygen -n {ns} -w sealed-secrets-key.yaml"),
        "kubectl create -f sealed-secrets-key.yaml",
    ] {
        assert!(body.contains(expected), "{expected}: {body}");
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(key_secrets(&client, ns).await.len(), 1, "no key generated");

    // following the advice works without a restart
    create_key_made_by_sealkit_keygen(env, ns);
    let (_, body) = eventually("/v1/recipients to answer 200", WAIT, || async {
        http_get(&format!("{}/v1/recipients", controller.http))
            .await
            .filter(|(c, _)| *c == 200)
    })
    .await;
    assert!(body.starts_with("age1"), "{body}");
    assert_eq!(key_secrets(&client, ns).await.len(), 2);
    let log = controller.stop();
    assert!(!log.contains("stored new key Secret"), "{log}");
    assert_eq!(
        log.matches("no key has an age identity (adopted Bitnami keys) and --key-renew-period=0")
            .count(),
        1,
        "warned once: {log}"
    );
}

#[tokio::test]
async fn key_renewal_adds_a_key_and_old_sealed_secrets_keep_working() {
    let (env, ns, client) = setup("ss-renew").await;
    let ns = ns.name();
    let controller = Controller::start(env, ns, &["--key-renew-period=6s"]).await;
    let first_cert = controller.cert().await;
    let old = kubeseal_sealed(
        env,
        &controller,
        &secret_json(ns, "old", &[("k", "old")], &[]),
        &[],
    )
    .await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let key_list = ListParams::default().labels(KEY_LABEL);
    eventually("a second key Secret", WAIT, || async {
        (secrets.list(&key_list).await.ok()?.items.len() >= 2).then_some(())
    })
    .await;
    let second_cert = eventually("cert.pem to change", WAIT, || async {
        let c = controller.cert().await;
        (c != first_cert).then_some(c)
    })
    .await;
    assert_ne!(first_cert, second_cert);
    // a SealedSecret sealed with the first key still unseals
    create(&client, ns, &old).await;
    assert_eq!(
        secret_data(&client, ns, "old").await,
        pairs(&[("k", "old")])
    );
    // the public-key ConfigMap follows the current key
    public_keys_eventually(
        &client,
        ns,
        "the public-key ConfigMap to show a renewed key",
        |data| {
            data.get("cert.pem").is_some_and(|c| c != &first_cert)
                && data
                    .get("recipients.txt")
                    .is_some_and(|r| r.starts_with("age1"))
        },
    )
    .await;
    controller.stop();
}

#[tokio::test]
async fn deleting_the_sealed_secret_garbage_collects_the_secret_and_deleted_or_edited_secrets_are_repaired()
 {
    let (env, ns, client) = setup("ss-gc").await;
    let ns = ns.name();
    let controller = Controller::start(env, ns, &[]).await;
    let ss = kubeseal_sealed(
        env,
        &controller,
        &secret_json(ns, "app", &[("k", "v")], &[]),
        &[],
    )
    .await;
    create(&client, ns, &ss).await;
    assert_eq!(secret_data(&client, ns, "app").await, pairs(&[("k", "v")]));
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);

    // edited: drift is repaired
    let mut edited = secrets.get("app").await.unwrap();
    edited.data = Some(BTreeMap::from([(
        "k".to_string(),
        ByteString(b"tampered".to_vec()),
    )]));
    secrets
        .replace("app", &PostParams::default(), &edited)
        .await
        .unwrap();
    eventually("the edited Secret to be repaired", WAIT, || async {
        let s = secrets.get("app").await.ok()?;
        (data_strings(&s) == pairs(&[("k", "v")])).then_some(())
    })
    .await;

    // deleted: re-created
    secrets
        .delete("app", &DeleteParams::default())
        .await
        .unwrap();
    eventually("the deleted Secret to be re-created", WAIT, || async {
        let s = secrets.get_opt("app").await.ok()??;
        (s.metadata.deletion_timestamp.is_none() && data_strings(&s) == pairs(&[("k", "v")]))
            .then_some(())
    })
    .await;

    // SealedSecret deleted: kube-controller-manager garbage-collects the Secret
    Api::<SealedSecret>::namespaced(client.clone(), ns)
        .delete("app", &DeleteParams::background())
        .await
        .unwrap();
    eventually("the Secret to be garbage-collected", WAIT, || async {
        secrets.get_opt("app").await.ok()?.is_none().then_some(())
    })
    .await;
    controller.stop();
}

/// Label of the namespace-selector test; each run uses its own value, so a controller watching every
/// namespace acts only in this test's namespaces while other tests run on the same API server.
const SELECTOR_LABEL: &str = "sealkit.dev/e2e-sealed-secrets-selector";

async fn label_namespace(client: &kube::Client, ns: &str, value: &str) {
    let patch = serde_json::json!({ "metadata": { "labels": { SELECTOR_LABEL: value } } });
    Api::<k8s_openapi::api::core::v1::Namespace>::all(client.clone())
        .patch(ns, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("label the namespace");
}

#[tokio::test]
async fn a_namespace_selector_limits_unsealing_and_a_relabelled_namespace_is_picked_up_without_restart()
 {
    let (env, home, client) = setup("ss-nssel").await;
    let home = home.name();
    let value = sealkit_e2e::unique_name("sel");
    let selector = format!("{SELECTOR_LABEL}={value}");
    let inside = env.fresh_namespace("ss-nssel-in").await;
    let outside = env.fresh_namespace("ss-nssel-out").await;
    let (inside, outside) = (inside.name(), outside.name());
    label_namespace(&client, inside, &value).await;
    let controller = Controller::start_scoped(
        env,
        home,
        &["--all-namespaces=true", "--namespace-selector", &selector],
        &[],
    )
    .await;
    let target = SealingTarget::Native(controller.recipients().await);
    for ns in [inside, outside] {
        create(
            &client,
            ns,
            &strict_sealed(ns, "app", &target, &[("k", b"v")]),
        )
        .await;
    }
    assert_eq!(
        secret_data(&client, inside, "app").await,
        pairs(&[("k", "v")])
    );
    synced(&client, inside, "app", "True").await;

    // Outside the selector nothing is written: no Secret, no status, no event (both objects were
    // created together and the inside one is done).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let outside_secrets: Api<Secret> = Api::namespaced(client.clone(), outside);
    assert!(outside_secrets.get_opt("app").await.unwrap().is_none());
    let untouched = Api::<SealedSecret>::namespaced(client.clone(), outside)
        .get("app")
        .await
        .unwrap();
    assert!(untouched.status.is_none(), "{:?}", untouched.status);
    assert!(events_of(&client, outside, "app").await.is_empty());

    // Relabelled into the selector: unsealed without a restart.
    label_namespace(&client, outside, &value).await;
    assert_eq!(
        secret_data(&client, outside, "app").await,
        pairs(&[("k", "v")])
    );
    synced(&client, outside, "app", "True").await;
    let log = controller.stop();
    assert!(!log.contains("panicked"), "{log}");
}

#[tokio::test]
async fn bad_input_gets_a_clear_status_and_the_controller_keeps_serving() {
    let (env, ns, client) = setup("ss-bad").await;
    let ns = ns.name();
    let mut controller = Controller::start(env, ns, &[]).await;
    let good = kubeseal_sealed(
        env,
        &controller,
        &secret_json(
            ns,
            "good",
            &[("k", "v"), ("big", &"x".repeat(200_000))],
            &[],
        ),
        &[],
    )
    .await;
    let tamper = |v: &str| {
        let mut bytes = sealkit_crypto::base64::decode(v).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        sealkit_crypto::base64::encode(&bytes)
    };
    let truncate = |v: &str| {
        let bytes = sealkit_crypto::base64::decode(v).unwrap();
        sealkit_crypto::base64::encode(&bytes[..100])
    };
    let k = good.spec.encrypted_data["k"].clone();
    let cases: Vec<(&str, serde_json::Value, &str)> = vec![
        (
            "malformed",
            serde_json::json!({"k": "%%%not-base64"}),
            "not standard base64",
        ),
        (
            "tampered",
            serde_json::json!({"k": tamper(&k)}),
            "cannot unseal `k`",
        ),
        (
            "truncated",
            serde_json::json!({"k": truncate(&k)}),
            "neither a sealkit (age) nor a sealed-secrets sealed value",
        ),
        (
            "wrongtype",
            serde_json::json!({"k": 12}),
            "empty (or not a string)",
        ),
    ];
    let api: Api<SealedSecret> = Api::namespaced(client.clone(), ns);
    for (name, data, _) in &cases {
        let raw = serde_json::json!({
            "apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"encryptedData": data, "unknownField": {"x": 1}},
        });
        let dynamic: kube::api::DynamicObject = serde_json::from_value(raw).unwrap();
        let dapi: Api<kube::api::DynamicObject> = Api::namespaced_with(
            client.clone(),
            ns,
            &kube::api::ApiResource::erase::<SealedSecret>(&()),
        );
        dapi.create(&PostParams::default(), &dynamic).await.unwrap();
    }
    let empty: SealedSecret = serde_json::from_value(serde_json::json!({
        "apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
        "metadata": {"name": "empty", "namespace": ns}, "spec": {"encryptedData": {}},
    }))
    .unwrap();
    api.create(&PostParams::default(), &empty).await.unwrap();
    // a garbage key Secret is skipped, never fatal
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    secrets
        .create(&PostParams::default(), &Secret {
            metadata: ObjectMeta {
                name: Some("sealed-secrets-keygarbage".into()),
                labels: Some(pairs(&[(KEY_LABEL, "active")])),
                ..Default::default()
            },
            type_: Some("kubernetes.io/tls".into()),
            data: Some(BTreeMap::from([
                ("tls.crt".to_string(), ByteString(b"garbage".to_vec())),
                ("tls.key".to_string(), ByteString(b"-----BEGIN RSA PRIVATE KEY-----\nZ2FyYmFnZQ==\n-----END RSA PRIVATE KEY-----\n".to_vec())),
            ])),
            ..Default::default()
        })
        .await
        .unwrap();
    for (name, _, expected) in &cases {
        let ss = synced(&client, ns, name, "False").await;
        let message = condition_message(&ss);
        assert!(message.contains(expected), "{name}: {message}");
        assert_eq!(
            ss.synced_condition().unwrap().reason.as_deref(),
            Some("UnsealFailed")
        );
    }
    let empty = synced(&client, ns, "empty", "True").await;
    assert!(condition_message(&empty).contains("spec.encryptedData is empty"));
    // everything else still works, including a ~200 kB value
    create(&client, ns, &good).await;
    let data = secret_data(&client, ns, "good").await;
    assert_eq!(data["big"].len(), 200_000);
    controller.guard.assert_running();
    assert_eq!(
        http_get(&format!("{}/healthz", controller.http))
            .await
            .unwrap()
            .0,
        200
    );
    let log = controller.stop();
    assert!(
        log.contains("sealed-secrets-keygarbage"),
        "the garbage key Secret is named in the log"
    );
    assert!(!log.contains("panicked"), "{log}");
}

#[tokio::test]
async fn a_planted_plaintext_marker_appears_in_no_log_event_status_metric_or_http_response() {
    let (env, ns, client) = setup("ss-marker").await;
    let ns = ns.name();
    let marker = format!("MARKER-{}", sealkit_e2e::unique_name("plaintext"));
    let controller = Controller::start(env, ns, &["--log-level=debug", "--log-format=json"]).await;
    let ss = kubeseal_sealed(
        env,
        &controller,
        &secret_json(ns, "marked", &[("password", &marker)], &[]),
        &[],
    )
    .await;
    create(&client, ns, &ss).await;
    assert_eq!(secret_data(&client, ns, "marked").await["password"], marker);
    // a failing one too (renamed), and a template error
    let mut renamed = ss.clone();
    renamed.metadata.name = Some("marked-copy".into());
    create(&client, ns, &renamed).await;
    let mut bad_template = ss.clone();
    bad_template.metadata.name = Some("marked".into());
    let template = bad_template
        .spec
        .template
        .get_or_insert_with(Default::default);
    template.data = Some(pairs(&[("x", "{{ .password | nosuchfunction }}")]));
    let api: Api<SealedSecret> = Api::namespaced(client.clone(), ns);
    let mut current = api.get("marked").await.unwrap();
    current.spec.template = bad_template.spec.template.clone();
    api.replace("marked", &PostParams::default(), &current)
        .await
        .unwrap();
    synced(&client, ns, "marked-copy", "False").await;
    synced(&client, ns, "marked", "False").await;
    // HTTP answers
    let body = serde_json::to_vec(&ss).unwrap();
    let (code, verify) = http_request("POST", &format!("{}/v1/verify", controller.http), &body)
        .await
        .unwrap();
    assert_eq!(code, 200, "{verify}");
    let (code, rotate) = http_request("POST", &format!("{}/v1/rotate", controller.http), &body)
        .await
        .unwrap();
    assert_eq!(code, 200, "{rotate}");
    let rotated: SealedSecret = serde_json::from_str(&rotate).unwrap();
    assert_ne!(
        rotated.spec.encrypted_data["password"],
        ss.spec.encrypted_data["password"]
    );
    let mut seen = vec![verify, rotate, controller.metrics_text().await];
    for path in ["/healthz", "/readyz", "/v1/cert.pem", "/v1/recipients"] {
        seen.push(
            http_get(&format!("{}{path}", controller.http))
                .await
                .unwrap()
                .1,
        );
    }
    for name in ["marked", "marked-copy"] {
        seen.push(serde_json::to_string(&api.get(name).await.unwrap().status).unwrap());
        seen.push(serde_json::to_string(&events_of(&client, ns, name).await).unwrap());
    }
    seen.push(controller.stop());
    assert!(
        seen.last().unwrap().contains("\"level\":\"DEBUG\""),
        "debug logging was on"
    );
    for (i, text) in seen.iter().enumerate() {
        assert!(!text.contains(&marker), "marker leaked in output #{i}");
        let b64 = sealkit_crypto::base64::encode(marker.as_bytes());
        assert!(!text.contains(&b64), "base64 marker leaked in output #{i}");
    }
}

#[tokio::test]
async fn a_restarted_controller_writes_nothing_when_nothing_changed() {
    let (env, ns, client) = setup("ss-restart").await;
    let ns = ns.name();
    let controller = Controller::start(env, ns, &[]).await;
    for i in 0..5 {
        let name = format!("s{i}");
        let ss = kubeseal_sealed(
            env,
            &controller,
            &secret_json(ns, &name, &[("k", "v")], &[]),
            &[],
        )
        .await;
        create(&client, ns, &ss).await;
    }
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let mut before = BTreeMap::new();
    for i in 0..5 {
        let name = format!("s{i}");
        let ss = synced(&client, ns, &name, "True").await;
        let secret = secrets.get(&name).await.unwrap();
        before.insert(
            name,
            (
                ss.metadata.resource_version.clone(),
                secret.metadata.resource_version.clone(),
            ),
        );
    }
    // the Unsealed events of the first run are published right after the status
    eventually("5 Unsealed events", WAIT, || async {
        let events = Api::<Event>::namespaced(client.clone(), ns)
            .list(&ListParams::default())
            .await
            .ok()?;
        (events
            .items
            .iter()
            .filter(|e| e.reason.as_deref() == Some("Unsealed"))
            .count()
            >= 5)
            .then_some(())
    })
    .await;
    let events_before = Api::<Event>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .len();
    controller.stop();
    let controller = Controller::start(env, ns, &[]).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let metrics = controller.metrics_text().await;
    assert!(
        metrics.contains("sealed_secrets_controller_unseal_requests_total 0"),
        "no decryption after restart:\n{metrics}"
    );
    assert!(
        !metrics.contains("sealed_secrets_controller_writes_total{"),
        "no writes after restart:\n{metrics}"
    );
    for (name, (ss_rv, secret_rv)) in &before {
        let ss = Api::<SealedSecret>::namespaced(client.clone(), ns)
            .get(name)
            .await
            .unwrap();
        assert_eq!(
            &ss.metadata.resource_version, ss_rv,
            "{name}: status rewritten"
        );
        assert_eq!(
            &secrets.get(name).await.unwrap().metadata.resource_version,
            secret_rv,
            "{name}: Secret rewritten"
        );
    }
    let events_after = Api::<Event>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .len();
    assert_eq!(events_before, events_after, "no new events");
    // but a Secret edited while the controller was down is repaired
    let mut edited = secrets.get("s0").await.unwrap();
    edited.data = Some(BTreeMap::from([(
        "k".to_string(),
        ByteString(b"drift".to_vec()),
    )]));
    secrets
        .replace("s0", &PostParams::default(), &edited)
        .await
        .unwrap();
    eventually("s0 to be repaired", WAIT, || async {
        (data_strings(&secrets.get("s0").await.ok()?) == pairs(&[("k", "v")])).then_some(())
    })
    .await;
    controller.stop();
}

#[tokio::test]
async fn require_existing_key_waits_without_generating_a_key() {
    let (env, ns, client) = setup("ss-require").await;
    let ns = ns.name();
    let (http_port, metrics_port) = (free_port(), free_port());
    let mut cmd = Command::new(sealkit_e2e::bin("sealkit-controller"));
    cmd.env("KUBECONFIG", env.kubeconfig_path())
        .args([
            "--all-namespaces=false",
            "--controller-namespace",
            ns,
            "--external-secrets=false",
            "--leader-elect=false",
        ])
        .args([
            "--require-existing-key",
            "--listen-addr",
            &format!("127.0.0.1:{http_port}"),
        ])
        .args([
            "--listen-metrics-addr",
            &format!("127.0.0.1:{metrics_port}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut guard = ChildGuard::spawn("sealkit-controller", &mut cmd);
    let http = format!("http://127.0.0.1:{http_port}");
    // served from the first second, not ready, no key generated
    let (code, _) = eventually("healthz", WAIT, || async {
        http_get(&format!("{http}/healthz")).await
    })
    .await;
    assert_eq!(code, 200);
    tokio::time::sleep(Duration::from_secs(3)).await;
    guard.assert_running();
    let (code, body) = http_get(&format!("{http}/readyz")).await.unwrap();
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("sealed-secrets-key"), "{body}");
    // cert.pem and recipients say that a key Secret is awaited, and how to make one
    for (path, first_words) in [
        ("/v1/cert.pem", "no sealing key: "),
        ("/v1/recipients", "no age recipient: "),
    ] {
        let (code, body) = http_get(&format!("{http}{path}")).await.unwrap();
        assert_eq!(code, 503, "{path}: {body}");
        assert!(body.starts_with(first_words), "{path}: {body}");
        for expected in [
            "--require-existing-key",
            &format!("created in namespace `{ns}`"),
            "sealedsecrets.bitnami.com/sealed-secrets-key=active",
            "kubectl apply -f keys.backup.yaml",
            &format!("sealkit keygen -n {ns} -w sealed-secrets-key.yaml"),
            "kubectl create -f sealed-secrets-key.yaml",
        ] {
            assert!(body.contains(expected), "{path}: {expected}: {body}");
        }
    }
    assert!(key_secrets(&client, ns).await.is_empty());

    // following the advice works without a restart
    create_key_made_by_sealkit_keygen(env, ns);
    let cert = fetch_ok(&format!("{http}/v1/cert.pem")).await;
    assert!(cert.contains("BEGIN CERTIFICATE"), "{cert}");
    let (code, recipients) = http_get(&format!("{http}/v1/recipients")).await.unwrap();
    assert_eq!(code, 200, "{recipients}");
    assert!(recipients.starts_with("age1"), "{recipients}");
    guard.assert_running();
    assert_eq!(
        key_secrets(&client, ns).await.len(),
        1,
        "only the created key"
    );
}

#[tokio::test]
async fn verify_answers_409_for_foreign_values_and_is_rate_limited() {
    let (env, ns, client) = setup("ss-verify").await;
    let ns = ns.name();
    let _ = client;
    let controller =
        Controller::start(env, ns, &["--rate-limit=0.01", "--rate-limit-burst=3"]).await;
    let ss = kubeseal_sealed(
        env,
        &controller,
        &secret_json(ns, "v", &[("k", "v")], &[]),
        &[],
    )
    .await;
    let mut foreign = ss.clone();
    foreign.metadata.name = Some("elsewhere".into());
    let url = format!("{}/v1/verify", controller.http);
    let ok = http_request("POST", &url, &serde_json::to_vec(&ss).unwrap())
        .await
        .unwrap();
    assert_eq!(ok.0, 200);
    let conflict = http_request("POST", &url, &serde_json::to_vec(&foreign).unwrap())
        .await
        .unwrap();
    assert_eq!(conflict.0, 409);
    assert!(conflict.1.contains("renamed"), "{}", conflict.1);
    let yaml = serde_saphyr::to_string(&ss).unwrap();
    let ok_yaml = http_request("POST", &url, yaml.as_bytes()).await.unwrap();
    assert_eq!(ok_yaml.0, 200, "YAML bodies are accepted");
    let limited = http_request("POST", &url, &serde_json::to_vec(&ss).unwrap())
        .await
        .unwrap();
    assert_eq!(limited.0, 429, "the 4th request in the burst is limited");
    controller.stop();
}

// ---------------------------------------------------------------------------------------------
// faults

/// A TCP proxy in front of the API server that can "stop" it for one controller: while down, the
/// port refuses connections and every open connection (watches included) is cut.
struct ApiProxy {
    port: u16,
    up: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl ApiProxy {
    async fn start(target: String) -> ApiProxy {
        let port = free_port();
        let (up, rx) = tokio::sync::watch::channel(true);
        let task = tokio::spawn(async move {
            let mut rx = rx;
            loop {
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                    .await
                    .expect("bind proxy");
                let mut conns = tokio::task::JoinSet::new();
                loop {
                    tokio::select! {
                        accepted = listener.accept() => {
                            let Ok((mut inbound, _)) = accepted else { continue };
                            let target = target.clone();
                            conns.spawn(async move {
                                if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                                }
                            });
                        }
                        _ = rx.changed() => if !*rx.borrow() { break },
                    }
                }
                drop(listener);
                conns.abort_all();
                while !*rx.borrow() {
                    if rx.changed().await.is_err() {
                        return;
                    }
                }
            }
        });
        ApiProxy { port, up, task }
    }

    fn set_up(&self, up: bool) {
        self.up.send_replace(up);
    }
}

impl Drop for ApiProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A kubeconfig like the admin one, but pointing at `port` on 127.0.0.1.
fn kubeconfig_via(env: &TestEnv, port: u16) -> PathBuf {
    let text = std::fs::read_to_string(env.kubeconfig_path()).unwrap();
    let replaced = text.replace(env.api_url(), &format!("https://127.0.0.1:{port}"));
    assert_ne!(text, replaced, "the kubeconfig names the API server URL");
    write_temp(env, "via-proxy.kubeconfig", &replaced)
}

/// `bin` as a SealedSecrets-only controller restricted to `ns`, without leader election, HTTP
/// and metrics on free loopback ports; returns the command and the HTTP base URL.
fn namespaced_controller(
    bin: &std::path::Path,
    kubeconfig: &std::path::Path,
    ns: &str,
) -> (Command, String) {
    let (http_port, metrics_port) = (free_port(), free_port());
    let mut cmd = Command::new(bin);
    cmd.env("KUBECONFIG", kubeconfig)
        .args([
            "--all-namespaces=false",
            "--controller-namespace",
            ns,
            "--external-secrets=false",
            "--leader-elect=false",
        ])
        .args(["--listen-addr", &format!("127.0.0.1:{http_port}")])
        .args([
            "--listen-metrics-addr",
            &format!("127.0.0.1:{metrics_port}"),
        ]);
    (cmd, format!("http://127.0.0.1:{http_port}"))
}

async fn start_controller_with_kubeconfig(
    kubeconfig: &std::path::Path,
    ns: &str,
    log: &std::path::Path,
) -> (ChildGuard, String) {
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let (mut cmd, http) =
        namespaced_controller(&sealkit_e2e::bin("sealkit-controller"), kubeconfig, ns);
    cmd.args(["--key-size", "2048"])
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file);
    (ChildGuard::spawn("sealkit-controller", &mut cmd), http)
}

/// Every SealedSecret `s0000..` has its Secret with the right value, one owner, and Synced=True.
async fn all_unsealed(client: &kube::Client, ns: &str, n: usize) {
    eventually(
        &format!("{n} Secrets with the right values"),
        Duration::from_secs(240),
        || async {
            let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
            let list = secrets
                .list(&ListParams::default().labels("sealkit.dev/sealed-secret"))
                .await
                .ok()?;
            if list.items.len() < n {
                return None;
            }
            for s in &list.items {
                let name = s.metadata.name.clone()?;
                let index: usize = name.trim_start_matches('s').parse().ok()?;
                let got = data_strings(s).get("password").cloned()?;
                assert_eq!(got, format!("pw-{index}"), "{name}");
                assert_eq!(
                    s.metadata.owner_references.as_ref().map(Vec::len),
                    Some(1),
                    "{name}: exactly one owner"
                );
            }
            let sss: Api<SealedSecret> = Api::namespaced(client.clone(), ns);
            let all = sss.list(&ListParams::default()).await.ok()?;
            all.items
                .iter()
                .all(|ss| ss.synced_condition().is_some_and(|c| c.status == "True"))
                .then_some(())
        },
    )
    .await;
}

async fn create_sealed_batch(client: &kube::Client, ns: &str, n: usize, cert_pem: &str) {
    let cert = sealkit_crypto::Certificate::from_pem(cert_pem.as_bytes()).unwrap();
    let target = SealingTarget::from_certificate(&cert);
    let ns_owned = ns.to_owned();
    let batch = tokio::task::spawn_blocking(move || sealed_batch(&ns_owned, n, &target))
        .await
        .unwrap();
    let api: Api<SealedSecret> = Api::namespaced(client.clone(), ns);
    create_many(&api, batch, 16).await;
}

#[tokio::test]
async fn losing_the_api_server_mid_way_through_1000_sealed_secrets_loses_and_duplicates_nothing() {
    let (env, ns, client) = setup("ss-fault-api").await;
    let ns = ns.name();
    let n = bench_n("SEALKIT_FAULT_N", 1000);
    let target = env.api_url().trim_start_matches("https://").to_owned();
    let proxy = ApiProxy::start(target).await;
    let kubeconfig = kubeconfig_via(env, proxy.port);
    let log = env.dir().join(format!("{ns}-controller.log"));
    let (mut guard, http) = start_controller_with_kubeconfig(&kubeconfig, ns, &log).await;
    let cert = fetch_ok(&format!("{http}/v1/cert.pem")).await;
    create_sealed_batch(&client, ns, n, &cert).await;
    // cut the API server off while the controller is working
    eventually("some Secrets to exist", WAIT, || async {
        (count_secrets(&client, ns).await >= n / 10).then_some(())
    })
    .await;
    proxy.set_up(false);
    let during = count_secrets(&client, ns).await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    guard.assert_running();
    assert_eq!(
        http_get(&format!("{http}/healthz")).await.map(|r| r.0),
        Some(200),
        "HTTP keeps serving"
    );
    proxy.set_up(true);
    all_unsealed(&client, ns, n).await;
    guard.assert_running();
    eprintln!("{during} of {n} Secrets existed when the API server went away");
    drop(guard);
}

#[tokio::test]
async fn restarting_the_controller_mid_way_through_1000_sealed_secrets_loses_and_duplicates_nothing()
 {
    let (env, ns, client) = setup("ss-fault-restart").await;
    let ns = ns.name();
    let n = bench_n("SEALKIT_FAULT_N", 1000);
    let log = env.dir().join(format!("{ns}-controller.log"));
    let (guard, http) = start_controller_with_kubeconfig(&env.kubeconfig_path(), ns, &log).await;
    let cert = fetch_ok(&format!("{http}/v1/cert.pem")).await;
    create_sealed_batch(&client, ns, n, &cert).await;
    eventually("some Secrets to exist", WAIT, || async {
        (count_secrets(&client, ns).await >= n / 10).then_some(())
    })
    .await;
    drop(guard); // SIGKILL mid-way
    let (mut guard, _) = start_controller_with_kubeconfig(&env.kubeconfig_path(), ns, &log).await;
    all_unsealed(&client, ns, n).await;
    guard.assert_running();
    let keys = Api::<Secret>::namespaced(client.clone(), ns)
        .list(&ListParams::default().labels(KEY_LABEL))
        .await
        .unwrap();
    assert_eq!(
        keys.items.len(),
        1,
        "the restarted controller reuses the key"
    );
}

// ---------------------------------------------------------------------------------------------
// benchmark (run with `scripts/bench-sealed`, or
// `cargo test -p sealkit-e2e --test sealed_secret -- --ignored --nocapture benchmark`)

fn bench_n(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Our controller binary for the benchmark: `$SEALKIT_CONTROLLER_BIN`, else the release build.
fn bench_controller_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("SEALKIT_CONTROLLER_BIN") {
        return PathBuf::from(path);
    }
    let release = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../target/release/sealkit-controller"
    ));
    assert!(
        release.is_file(),
        "build it first: cargo build --release -p sealkit-controller"
    );
    release
}

/// Creates `objects` with at most `concurrency` requests in flight.
async fn create_many<K>(api: &Api<K>, objects: Vec<K>, concurrency: usize) -> Duration
where
    K: kube::Resource
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let started = std::time::Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for object in objects {
        if set.len() >= concurrency {
            set.join_next().await.unwrap().unwrap();
        }
        let api = api.clone();
        set.spawn(async move {
            let mut tries = 0;
            loop {
                match api.create(&PostParams::default(), &object).await {
                    Ok(_) => return,
                    Err(kube::Error::Api(s)) if s.code == 409 => return,
                    Err(e) if tries < 5 => {
                        tries += 1;
                        eprintln!("retrying create: {e}");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    Err(e) => panic!("create failed: {e}"),
                }
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    started.elapsed()
}

/// Number of Secrets in `ns` without the `sealed-secrets-key` label, cheaply enough to poll while
/// the API server is under load: a one-item page gives the total (`remainingItemCount`), a
/// label-selected list the key Secrets to leave out.
async fn count_secrets(client: &kube::Client, ns: &str) -> usize {
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    let Ok(page) = api.list_metadata(&ListParams::default().limit(1)).await else {
        return 0;
    };
    let remaining = page.metadata.remaining_item_count.unwrap_or(0);
    let total = page.items.len() + usize::try_from(remaining).unwrap_or(0);
    let Ok(keys) = api
        .list_metadata(&ListParams::default().labels(KEY_LABEL))
        .await
    else {
        return 0;
    };
    total.saturating_sub(keys.items.len())
}

/// Number of SealedSecrets in `ns` whose status is `Synced=True` for their current generation
/// (watch-cache list, like [`count_secrets`]).
async fn count_synced(client: &kube::Client, ns: &str) -> usize {
    let api: Api<SealedSecret> = Api::namespaced(client.clone(), ns);
    let Ok(list) = api.list(&ListParams::default().match_any()).await else {
        return 0;
    };
    list.items
        .iter()
        .filter(|ss| {
            ss.status
                .as_ref()
                .is_some_and(|s| s.observed_generation == ss.metadata.generation)
                && ss.synced_condition().is_some_and(|c| c.status == "True")
        })
        .count()
}

/// `(VmRSS, VmHWM)` of a process in MiB.
fn rss_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// CPU time (user + system) a process used so far, from `/proc/<pid>/stat` (clock ticks of 10 ms).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // fields after the `(comm)`: state is field 3, utime 14, stime 15
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Waits until `n` Secrets exist in `ns`; returns the time since `started`, sampling peak RSS.
async fn time_until_secrets(
    client: &kube::Client,
    ns: &str,
    n: usize,
    pid: u32,
    started: std::time::Instant,
    limit: Duration,
) -> (Option<Duration>, usize, f64) {
    let mut peak = 0.0f64;
    let mut samples = 0u32;
    loop {
        let count = count_secrets(client, ns).await;
        let (rss, hwm) = rss_mib(pid);
        peak = peak.max(hwm);
        if samples.is_multiple_of(8) {
            eprintln!(
                "bench:   t={:.1}s secrets={count} rss={rss:.1} MiB cpu={:.1}s",
                started.elapsed().as_secs_f64(),
                cpu_seconds(pid)
            );
        }
        samples += 1;
        if count >= n {
            return (Some(started.elapsed()), count, peak);
        }
        if started.elapsed() > limit {
            return (None, count, peak);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits until `n` SealedSecrets in `ns` report `Synced=True`; the time since `started`.
async fn time_until_synced(
    client: &kube::Client,
    ns: &str,
    n: usize,
    pid: u32,
    started: std::time::Instant,
    limit: Duration,
) -> Option<Duration> {
    loop {
        let synced = count_synced(client, ns).await;
        eprintln!(
            "bench:   t={:.1}s synced={synced} rss={:.1} MiB cpu={:.1}s",
            started.elapsed().as_secs_f64(),
            rss_mib(pid).0,
            cpu_seconds(pid)
        );
        if synced >= n {
            return Some(started.elapsed());
        }
        if started.elapsed() > limit {
            return None;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn namespace_admin_role(client: &kube::Client, ns: &str, sa: &str) {
    let everything = PolicyRule {
        api_groups: Some(vec!["*".into()]),
        resources: Some(vec!["*".into()]),
        verbs: vec!["*".into()],
        ..Default::default()
    };
    let subject = Subject {
        kind: "ServiceAccount".into(),
        name: sa.into(),
        namespace: Some(ns.into()),
        ..Default::default()
    };
    sealkit_e2e::grant_role(client, ns, sa, vec![everything], subject).await;
}

async fn start_bitnami(env: &TestEnv, ns: &str, extra: &[&str]) -> (ChildGuard, String) {
    let port = free_port();
    let mut cmd = env
        .in_cluster_command(ns, "bitnami", &peer("sealed-secrets-controller"))
        .await;
    cmd.arg("--all-namespaces=false")
        .arg(format!("--listen-addr=127.0.0.1:{port}"))
        .arg(format!("--listen-metrics-addr=127.0.0.1:{}", free_port()))
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    (
        ChildGuard::spawn("sealed-secrets-controller", &mut cmd),
        format!("http://127.0.0.1:{port}"),
    )
}

async fn start_sealkit(env: &TestEnv, ns: &str, extra: &[&str]) -> (ChildGuard, String) {
    let (mut cmd, http) =
        namespaced_controller(&bench_controller_bin(), &env.kubeconfig_path(), ns);
    cmd.args(extra).stdout(Stdio::null()).stderr(Stdio::null());
    (ChildGuard::spawn("sealkit-controller", &mut cmd), http)
}

async fn fetch_ok(url: &str) -> String {
    eventually(url, Duration::from_secs(120), || async {
        http_get(url)
            .await
            .filter(|(c, _)| *c == 200)
            .map(|(_, b)| b)
    })
    .await
}

fn sealed_batch(ns: &str, n: usize, target: &SealingTarget) -> Vec<SealedSecret> {
    (0..n)
        .map(|i| {
            let name = format!("s{i:05}");
            strict_sealed(
                ns,
                &name,
                target,
                &[
                    ("user", b"bench-user"),
                    ("password", format!("pw-{i}").as_bytes()),
                ],
            )
        })
        .collect()
}

struct Row {
    what: String,
    n: usize,
    time: Option<Duration>,
    done: usize,
    peak_mib: f64,
    /// Controller CPU time until every Secret existed.
    cpu_s: f64,
    /// Time until every SealedSecret reported `Synced=True`.
    synced: Option<Duration>,
}

/// Extra sealkit-controller flags for the benchmark runs (`SEALKIT_BENCH_SEALKIT_ARGS`,
/// whitespace-separated), for trying settings without a rebuild.
fn bench_sealkit_args() -> Vec<String> {
    std::env::var("SEALKIT_BENCH_SEALKIT_ARGS")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// Whether `SEALKIT_BENCH_SKIP_<what>=1` asks to leave a part of the benchmark out.
fn bench_skip(what: &str) -> bool {
    std::env::var(format!("SEALKIT_BENCH_SKIP_{what}")).is_ok_and(|v| v == "1")
}

/// One controller run: keys exist, `n` SealedSecrets are created while it is stopped, then it is
/// started and timed until all Secrets exist.
async fn bench_run(
    env: &TestEnv,
    client: &kube::Client,
    what: &str,
    n: usize,
    bitnami: Option<&[&str]>,
    native: bool,
    limit: Duration,
) -> Row {
    let ns_guard = env.fresh_namespace("bench").await;
    let ns = ns_guard.name().to_owned();
    if bitnami.is_some() {
        namespace_admin_role(client, &ns, "bitnami").await;
    }
    let extra = bench_sealkit_args();
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    // 1. a key
    let (guard, http) = match bitnami {
        Some(args) => start_bitnami(env, &ns, args).await,
        None => start_sealkit(env, &ns, &extra).await,
    };
    let target = if native {
        let text = fetch_ok(&format!("{http}/v1/recipients")).await;
        SealingTarget::Native(sealkit_crypto::keys::parse_recipients(&text).unwrap())
    } else {
        let pem = fetch_ok(&format!("{http}/v1/cert.pem")).await;
        SealingTarget::from_certificate(
            &sealkit_crypto::Certificate::from_pem(pem.as_bytes()).unwrap(),
        )
    };
    drop(guard);
    // 2. n SealedSecrets present before start
    let api: Api<SealedSecret> = Api::namespaced(client.clone(), &ns);
    let batch = tokio::task::spawn_blocking({
        let ns = ns.clone();
        move || sealed_batch(&ns, n, &target)
    })
    .await
    .unwrap();
    create_many(&api, batch, 32).await;
    // 3. start and time
    let started = std::time::Instant::now();
    let (guard, _) = match bitnami {
        Some(args) => start_bitnami(env, &ns, args).await,
        None => start_sealkit(env, &ns, &extra).await,
    };
    let (time, done, peak) = time_until_secrets(client, &ns, n, guard.id(), started, limit).await;
    let cpu_s = cpu_seconds(guard.id());
    let synced = match time {
        Some(_) => time_until_synced(client, &ns, n, guard.id(), started, limit).await,
        None => None,
    };
    let peak = peak.max(rss_mib(guard.id()).1);
    drop(guard);
    deleted(client, ns_guard).await;
    let row = Row {
        what: what.into(),
        n,
        time,
        done,
        peak_mib: peak,
        cpu_s,
        synced,
    };
    eprintln!(
        "bench: {} n={} time={:?} done={} peak={:.1} MiB cpu={:.1} s synced={:?}",
        row.what, row.n, row.time, row.done, row.peak_mib, row.cpu_s, row.synced
    );
    row
}

async fn idle_rss(env: &TestEnv, client: &kube::Client, n: usize, bitnami: bool) -> f64 {
    let ns_guard = env.fresh_namespace("bench-idle").await;
    let ns = ns_guard.name().to_owned();
    if bitnami {
        namespace_admin_role(client, &ns, "bitnami").await;
    }
    let api: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let secrets = (0..n)
        .map(|i| Secret {
            metadata: ObjectMeta {
                name: Some(format!("unrelated-{i:05}")),
                ..Default::default()
            },
            data: Some(BTreeMap::from([(
                "v".to_string(),
                ByteString(vec![b'x'; 256]),
            )])),
            ..Default::default()
        })
        .collect();
    create_many(&api, secrets, 32).await;
    let extra = bench_sealkit_args();
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let (guard, http) = if bitnami {
        start_bitnami(env, &ns, &[]).await
    } else {
        start_sealkit(env, &ns, &extra).await
    };
    fetch_ok(&format!("{http}/v1/cert.pem")).await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (rss, _) = rss_mib(guard.id());
    drop(guard);
    deleted(client, ns_guard).await;
    rss
}

/// Deletes a benchmark namespace and waits until it is gone: deleting its tens of thousands of
/// objects keeps the API server and etcd busy for minutes, which would slow down the next run.
async fn deleted(client: &kube::Client, ns: TestNamespace) {
    let name = ns.name().to_owned();
    drop(ns);
    let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(900) {
        if let Ok(None) = api.get_opt(&name).await {
            eprintln!("bench: namespace {name} deleted in {:?}", started.elapsed());
            return;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    eprintln!("bench: namespace {name} still terminating after 15 min");
}

#[tokio::test]
#[ignore = "benchmark: minutes of load on the shared API server; run scripts/bench-sealed"]
async fn benchmark_against_the_bitnami_controller() {
    let env = TestEnv::get();
    let client = env.client().await;
    ensure_crd(&client).await;
    let n = bench_n("SEALKIT_BENCH_N", 10_000);
    let n_defaults = bench_n("SEALKIT_BENCH_DEFAULTS_N", 300);
    let idle_n = bench_n("SEALKIT_BENCH_IDLE_N", 20_000);
    let limit = Duration::from_secs(bench_n("SEALKIT_BENCH_LIMIT_S", 900) as u64);

    // reference: a plain client creating n Secrets (32 in flight)
    let reference = if bench_skip("REFERENCE") {
        None
    } else {
        let ns = env.fresh_namespace("bench-ref").await;
        let api: Api<Secret> = Api::namespaced(client.clone(), ns.name());
        let secrets = (0..n)
            .map(|i| Secret {
                metadata: ObjectMeta {
                    name: Some(format!("s{i:05}")),
                    ..Default::default()
                },
                data: Some(BTreeMap::from([(
                    "password".to_string(),
                    ByteString(b"x".to_vec()),
                )])),
                ..Default::default()
            })
            .collect();
        let took = create_many(&api, secrets, 32).await;
        deleted(&client, ns).await;
        Some(took)
    };
    eprintln!("bench: reference create of {n} Secrets: {reference:?}");

    let mut rows = Vec::new();
    if !bench_skip("AGE") {
        rows.push(bench_run(env, &client, "sealkit, age format", n, None, true, limit).await);
    }
    if !bench_skip("RSA") {
        rows.push(bench_run(env, &client, "sealkit, RSA format", n, None, false, limit).await);
    }
    if !bench_skip("BITNAMI") {
        rows.push(
            bench_run(
                env,
                &client,
                "bitnami, client limits off",
                n,
                Some(&["--kubeclient-qps=-1", "--kubeclient-burst=-1"]),
                false,
                limit,
            )
            .await,
        );
        rows.push(
            bench_run(
                env,
                &client,
                "bitnami, defaults (qps 5)",
                n_defaults,
                Some(&[]),
                false,
                limit,
            )
            .await,
        );
    }
    let idle = if bench_skip("IDLE") {
        None
    } else {
        let sealkit = idle_rss(env, &client, idle_n, false).await;
        let bitnami = if bench_skip("BITNAMI") {
            None
        } else {
            Some(idle_rss(env, &client, idle_n, true).await)
        };
        Some((sealkit, bitnami))
    };

    let mut table = String::new();
    if let Some(reference) = reference {
        table.push_str(&format!(
            "reference: plain client creating {n} Secrets (32 in flight): {:.1} s ({:.0}/s)\n\n",
            reference.as_secs_f64(),
            n as f64 / reference.as_secs_f64()
        ));
    }
    table.push_str("| controller | SealedSecrets | time until all Secrets exist | rate | peak RSS | controller CPU | time until all statuses Synced |\n|---|---|---|---|---|---|---|\n");
    for r in &rows {
        let (time, rate) = match r.time {
            Some(t) => (
                format!("{:.1} s", t.as_secs_f64()),
                format!("{:.0}/s", r.n as f64 / t.as_secs_f64()),
            ),
            None => (
                format!("> {} s ({} done)", limit.as_secs(), r.done),
                "-".into(),
            ),
        };
        let synced = r
            .synced
            .map_or("-".to_owned(), |t| format!("{:.1} s", t.as_secs_f64()));
        table.push_str(&format!(
            "| {} | {} | {} | {} | {:.1} MiB | {:.1} s | {} |\n",
            r.what, r.n, time, rate, r.peak_mib, r.cpu_s, synced
        ));
    }
    if let Some((sealkit, bitnami)) = idle {
        let bitnami = bitnami.map_or("-".to_owned(), |b| format!("{b:.1} MiB"));
        table.push_str(&format!("\nidle RSS with {idle_n} unrelated Secrets in the namespace: sealkit {sealkit:.1} MiB, bitnami {bitnami}\n"));
    }
    println!("\n{table}");
    let out = env.dir().join("bench-sealed.md");
    std::fs::write(&out, &table).unwrap();
    println!("(written to {})", out.display());
}
