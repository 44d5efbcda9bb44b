//! End-to-end tests of the ExternalSecrets controller: real kube-apiserver + moto through the real
//! AWS SDK. Each test runs its own in-process controller restricted to its namespace, with the
//! AWS endpoints pointed at moto (or at a fault proxy in front of it); AWS secret names start with
//! the namespace name.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aws_sdk_secretsmanager::primitives::Blob;
use aws_sdk_secretsmanager::types::Tag;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Event, Secret, ServiceAccount};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::core::object::HasStatus;
use kube::core::{DynamicObject, GroupVersionKind};
use kube::discovery::ApiResource;
use kube::{Client, ResourceExt};
use sealkit_api::external_secret::ExternalSecret;
use sealkit_api::secret_store::{ClusterSecretStore, SecretStore, SecretStoreStatus};
use sealkit_controller::external_secret::{self as es, Args, Metrics, hash};
use sealkit_e2e::fault_proxy::{Fault, FaultProxy, FaultRule};
use sealkit_e2e::{TestEnv, TestNamespace, eventually};

const WAIT: Duration = Duration::from_secs(60);

/// An in-process controller, stopped on drop.
struct Controller {
    handle: tokio::task::JoinHandle<()>,
    metrics: Arc<Metrics>,
}

impl Drop for Controller {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

fn start_controller(client: Client, ns: &str, endpoint: &str) -> Controller {
    let args = Args {
        namespace: Some(ns.to_owned()),
        secretsmanager_endpoint: Some(endpoint.to_owned()),
        sts_endpoint: Some(endpoint.to_owned()),
        batch_window: Duration::from_millis(20),
        ..Args::default()
    };
    let metrics = Arc::new(Metrics::default());
    let m = metrics.clone();
    let handle = tokio::spawn(async move {
        if let Err(e) = es::run(client, args, m).await {
            panic!("controller failed: {e:#}");
        }
    });
    Controller { handle, metrics }
}

fn aws_calls(m: &Metrics, call: &str) -> u64 {
    let mut registry = prometheus_client::registry::Registry::default();
    m.register_into(&mut registry);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).expect("encode");
    text.lines()
        .filter(|l| {
            l.starts_with("sealkit_aws_api_calls_total{") && l.contains(&format!("call=\"{call}\""))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

fn metrics_text(m: &Metrics) -> String {
    let mut registry = prometheus_client::registry::Registry::default();
    m.register_into(&mut registry);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).expect("encode");
    text
}

async fn create_string(
    sm: &aws_sdk_secretsmanager::Client,
    name: &str,
    value: &str,
    tags: &[(&str, &str)],
) -> String {
    let mut req = sm.create_secret().name(name).secret_string(value);
    for (k, v) in tags {
        req = req.tags(Tag::builder().key(*k).value(*v).build());
    }
    req.send()
        .await
        .unwrap_or_else(|e| panic!("create {name}: {e}"))
        .version_id()
        .unwrap_or_default()
        .to_owned()
}

async fn put_string(sm: &aws_sdk_secretsmanager::Client, name: &str, value: &str) -> String {
    sm.put_secret_value()
        .secret_id(name)
        .secret_string(value)
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {name}: {e}"))
        .version_id()
        .unwrap_or_default()
        .to_owned()
}

async fn apply<K>(client: &Client, ns: Option<&str>, yaml: &str) -> K
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope>,
{
    let obj: K =
        serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("bad test yaml: {e}\n{yaml}"));
    let api: Api<K> = Api::namespaced(client.clone(), ns.unwrap_or("default"));
    api.create(&PostParams::default(), &obj)
        .await
        .unwrap_or_else(|e| panic!("create: {e}\n{yaml}"))
}

async fn apply_cluster_store(client: &Client, yaml: &str) -> ClusterSecretStore {
    let obj: ClusterSecretStore = serde_saphyr::from_str(yaml).expect("cluster store yaml");
    Api::<ClusterSecretStore>::all(client.clone())
        .create(&PostParams::default(), &obj)
        .await
        .expect("create css")
}

async fn static_store(client: &Client, ns: &str) {
    let creds = Secret {
        metadata: kube::api::ObjectMeta {
            name: Some("aws-creds".into()),
            ..Default::default()
        },
        string_data: Some(BTreeMap::from([
            (
                "access-key".to_owned(),
                sealkit_e2e::AWS_ACCESS_KEY_ID.to_owned(),
            ),
            (
                "secret-access-key".to_owned(),
                sealkit_e2e::AWS_SECRET_ACCESS_KEY.to_owned(),
            ),
        ])),
        ..Default::default()
    };
    Api::<Secret>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &creds)
        .await
        .expect("creds");
    let _: SecretStore = apply(
        client,
        Some(ns),
        r#"
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: aws}
spec:
  provider:
    aws:
      service: SecretsManager
      region: us-east-1
      auth:
        secretRef:
          accessKeyIDSecretRef: {name: aws-creds, key: access-key}
          secretAccessKeySecretRef: {name: aws-creds, key: secret-access-key}
"#,
    )
    .await;
}

async fn secret_data(client: &Client, ns: &str, name: &str) -> Option<BTreeMap<String, Vec<u8>>> {
    let s = Api::<Secret>::namespaced(client.clone(), ns)
        .get_opt(name)
        .await
        .expect("get secret")?;
    Some(
        s.data
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect(),
    )
}

async fn wait_data(
    client: &Client,
    ns: &str,
    name: &str,
    what: &str,
    pred: impl Fn(&BTreeMap<String, Vec<u8>>) -> bool,
) -> Secret {
    eventually(what, WAIT, || async {
        let s = Api::<Secret>::namespaced(client.clone(), ns)
            .get_opt(name)
            .await
            .ok()??;
        let data: BTreeMap<String, Vec<u8>> = s
            .data
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect();
        pred(&data).then_some(s)
    })
    .await
}

async fn wait_condition(
    client: &Client,
    ns: &str,
    name: &str,
    status: &str,
    reason: &str,
) -> ExternalSecret {
    eventually(
        &format!("ExternalSecret {name} Ready={status} {reason}"),
        WAIT,
        || async {
            let e = Api::<ExternalSecret>::namespaced(client.clone(), ns)
                .get(name)
                .await
                .ok()?;
            let c = e
                .status
                .as_ref()?
                .conditions
                .as_ref()?
                .iter()
                .find(|c| c.type_ == "Ready")?
                .clone();
            (c.status == status && c.reason.as_deref() == Some(reason)).then_some(e)
        },
    )
    .await
}

/// Waits until the store `name` (a SecretStore or a ClusterSecretStore) has the condition
/// `Ready=status reason` and `capabilities: ReadWrite`.
async fn wait_store_condition<K>(api: &Api<K>, name: &str, status: &str, reason: &str)
where
    K: kube::Resource<DynamicType = ()>
        + HasStatus<Status = SecretStoreStatus>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    eventually(
        &format!("{} {name} Ready={status} {reason}", K::kind(&())),
        WAIT,
        || async {
            let store = api.get(name).await.ok()?;
            let st = store.status()?;
            let c = st
                .conditions
                .as_ref()?
                .iter()
                .find(|c| c.type_ == "Ready")?;
            (c.status == status
                && c.reason.as_deref() == Some(reason)
                && st.capabilities.as_deref() == Some("ReadWrite"))
            .then_some(())
        },
    )
    .await;
}

fn ready_message(e: &ExternalSecret) -> String {
    e.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .and_then(|c| c.message.clone())
        .unwrap_or_default()
}

struct Setup {
    env: &'static TestEnv,
    ns: TestNamespace,
    client: Client,
    sm: aws_sdk_secretsmanager::Client,
}

async fn setup(prefix: &str) -> Setup {
    let env = TestEnv::get();
    let ns = env.fresh_namespace(prefix).await;
    let client = env.client().await;
    let sm = env.secrets_manager().await;
    Setup {
        env,
        ns,
        client,
        sm,
    }
}

#[tokio::test]
async fn data_and_data_from_fields_sync_with_eso_labels_hash_and_owner() {
    let Setup {
        env,
        ns,
        client,
        sm,
    } = setup("es-fields").await;
    let n = ns.name();
    static_store(&client, n).await;
    create_string(
        &sm,
        &format!("{n}/db"),
        r#"{"user":"admin","pass":"p4ss","nested":{"host":"db.local"},"a.b":"dotted","b64":"aGVsbG8=","port":5432}"#,
        &[("env", "prod")],
    )
    .await;
    create_string(
        &sm,
        &format!("{n}/app"),
        r#"{"API_KEY":"k-123","count":3}"#,
        &[],
    )
    .await;
    let binary: Vec<u8> = (0..=255u8).rev().collect();
    sm.create_secret()
        .name(format!("{n}/bin"))
        .secret_binary(Blob::new(binary.clone()))
        .send()
        .await
        .expect("binary");
    let v1 = create_string(&sm, &format!("{n}/ver"), "one", &[]).await;
    put_string(&sm, &format!("{n}/ver"), "two").await;
    let _ctl = start_controller(client.clone(), n, env.moto_endpoint());

    let yaml = format!(
        r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: app, labels: {{team: blue}}, annotations: {{note: copied}}}}
spec:
  refreshInterval: 1h
  secretStoreRef: {{name: aws, kind: SecretStore}}
  target: {{name: app-secret}}
  dataFrom:
  - extract: {{key: {n}/app}}
  data:
  - {{secretKey: user, remoteRef: {{key: {n}/db, property: user}}}}
  - {{secretKey: host, remoteRef: {{key: {n}/db, property: nested.host}}}}
  - {{secretKey: dotted, remoteRef: {{key: {n}/db, property: a.b}}}}
  - {{secretKey: port, remoteRef: {{key: {n}/db, property: port}}}}
  - {{secretKey: decoded, remoteRef: {{key: {n}/db, property: b64, decodingStrategy: Base64}}}}
  - {{secretKey: bin, remoteRef: {{key: {n}/bin}}}}
  - {{secretKey: previous, remoteRef: {{key: {n}/ver, version: AWSPREVIOUS}}}}
  - {{secretKey: first, remoteRef: {{key: {n}/ver, version: "uuid/{v1}"}}}}
  - {{secretKey: current, remoteRef: {{key: {n}/ver}}}}
  - {{secretKey: env-tag, remoteRef: {{key: {n}/db, metadataPolicy: Fetch, property: env}}}}
"#
    );
    let created: ExternalSecret = apply(&client, Some(n), &yaml).await;
    let secret = wait_data(&client, n, "app-secret", "app-secret synced", |d| {
        d.contains_key("current")
    })
    .await;
    let data: BTreeMap<String, Vec<u8>> = secret
        .data
        .clone()
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect();
    let s = |k: &str| String::from_utf8_lossy(&data[k]).into_owned();
    assert_eq!(s("API_KEY"), "k-123");
    assert_eq!(s("count"), "3");
    assert_eq!(s("user"), "admin");
    assert_eq!(s("host"), "db.local");
    assert_eq!(s("dotted"), "dotted");
    assert_eq!(s("port"), "5432");
    assert_eq!(s("decoded"), "hello");
    assert_eq!(data["bin"], binary, "binary secrets are byte-exact");
    assert_eq!(s("previous"), "one");
    assert_eq!(s("first"), "one");
    assert_eq!(s("current"), "two");
    assert_eq!(s("env-tag"), "prod");

    let labels = secret.labels();
    assert_eq!(labels["reconcile.external-secrets.io/managed"], "true");
    assert_eq!(
        labels["reconcile.external-secrets.io/created-by"],
        hash::created_by(n, "app")
    );
    assert_eq!(
        labels["team"], "blue",
        "ES labels are copied when there is no template"
    );
    assert_eq!(secret.annotations()["note"], "copied");
    assert_eq!(
        secret.annotations()["reconcile.external-secrets.io/data-hash"],
        hash::data_hash(&data)
    );
    let owner = &secret.owner_references()[0];
    assert_eq!(owner.kind, "ExternalSecret");
    assert_eq!(Some(&owner.uid), created.metadata.uid.as_ref());
    assert_eq!(owner.controller, Some(true));

    let e = wait_condition(&client, n, "app", "True", "SecretSynced").await;
    let st = e.status.unwrap();
    assert_eq!(st.binding.unwrap().name.as_deref(), Some("app-secret"));
    assert!(st.refresh_time.is_some());
    assert!(st.synced_resource_version.unwrap().starts_with("1-"));

    // force-sync: a new AWS version is picked up when an annotation changes
    put_string(&sm, &format!("{n}/ver"), "three").await;
    let api: Api<ExternalSecret> = Api::namespaced(client.clone(), n);
    let patch = serde_json::json!({"metadata": {"annotations": {"force-sync": "1"}}});
    api.patch("app", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("annotate");
    wait_data(
        &client,
        n,
        "app-secret",
        "force-sync picks up the new version",
        |d| {
            d.get("current").map(Vec::as_slice) == Some(b"three")
                && d.get("previous").map(Vec::as_slice) == Some(b"two")
        },
    )
    .await;

    // tampering is repaired (the hash no longer matches the data)
    let secrets: Api<Secret> = Api::namespaced(client.clone(), n);
    let tamper = serde_json::json!({"data": {"user": "aGFja2Vk"}});
    secrets
        .patch(
            "app-secret",
            &PatchParams::default(),
            &Patch::Merge(&tamper),
        )
        .await
        .expect("tamper");
    wait_data(&client, n, "app-secret", "tampered value repaired", |d| {
        d.get("user").map(Vec::as_slice) == Some(b"admin")
    })
    .await;
}

#[tokio::test]
async fn find_by_tags_pairs_exactly_and_find_by_regexp_rewrites_keys() {
    let Setup {
        env,
        ns,
        client,
        sm,
    } = setup("es-find").await;
    let n = ns.name();
    static_store(&client, n).await;
    create_string(&sm, &format!("{n}/find/a"), "A", &[("team", "x")]).await;
    create_string(
        &sm,
        &format!("{n}/find/b"),
        "B",
        &[("team", "x"), ("other", "y")],
    )
    .await;
    // AWS tag filters are loose prefix matches: team=xx and team=y,other=x must not match team=x
    create_string(&sm, &format!("{n}/find/d"), "D", &[("team", "xx")]).await;
    create_string(
        &sm,
        &format!("{n}/other/c"),
        "C",
        &[("team", "y"), ("x", "team")],
    )
    .await;
    let _ctl = start_controller(client.clone(), n, env.moto_endpoint());

    let _: ExternalSecret = apply(
        &client,
        Some(n),
        &format!(
            r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: by-tags}}
spec:
  secretStoreRef: {{name: aws}}
  dataFrom:
  - find: {{path: {n}/, tags: {{team: x}}}}
"#
        ),
    )
    .await;
    let _: ExternalSecret = apply(
        &client,
        Some(n),
        &format!(
            r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: by-name}}
spec:
  secretStoreRef: {{name: aws}}
  dataFrom:
  - find: {{name: {{regexp: "^{n}/find/"}}}}
    rewrite:
    - regexp: {{source: "^{n}/find/(.*)", target: "key-$1"}}
  - find: {{path: "{n}/other/", conversionStrategy: Unicode}}
"#
        ),
    )
    .await;
    let by_tags = wait_data(&client, n, "by-tags", "find by tags", |d| !d.is_empty()).await;
    let keys: Vec<String> = by_tags.data.unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        [format!("{n}_find_a"), format!("{n}_find_b")],
        "default conversion, exact tag pairing"
    );
    let by_name = wait_data(&client, n, "by-name", "find by name", |d| !d.is_empty()).await;
    let data = by_name.data.unwrap();
    let keys: Vec<&String> = data.keys().collect();
    let unicode = format!("{n}_U002f_other_U002f_c");
    assert_eq!(keys, [unicode.as_str(), "key-a", "key-b", "key-d"]);
    assert_eq!(data["key-b"].0, b"B");
}

#[tokio::test]
async fn every_creation_policy_behaves_like_eso() {
    let Setup {
        env,
        ns,
        client,
        sm,
    } = setup("es-create").await;
    let n = ns.name();
    static_store(&client, n).await;
    create_string(&sm, &format!("{n}/v"), "value", &[]).await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), n);
    let existing = Secret {
        metadata: kube::api::ObjectMeta {
            name: Some("merge-target".into()),
            labels: Some(BTreeMap::from([("foreign".to_owned(), "label".to_owned())])),
            ..Default::default()
        },
        data: Some(BTreeMap::from([(
            "foreign".to_owned(),
            ByteString(b"kept".to_vec()),
        )])),
        ..Default::default()
    };
    secrets
        .create(&PostParams::default(), &existing)
        .await
        .expect("merge target");
    let _ctl = start_controller(client.clone(), n, env.moto_endpoint());
    for (name, target, policy) in [
        ("merge", "merge-target", "Merge"),
        ("merge-missing", "absent", "Merge"),
        ("orphan", "orphan-target", "Orphan"),
        ("none", "none-target", "None"),
        ("create-or-merge", "com-target", "CreateOrMerge"),
    ] {
        let _: ExternalSecret = apply(
            &client,
            Some(n),
            &format!(
                r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: {name}}}
spec:
  secretStoreRef: {{name: aws}}
  target: {{name: {target}, creationPolicy: {policy}}}
  data:
  - {{secretKey: synced, remoteRef: {{key: {n}/v}}}}
"#
            ),
        )
        .await;
    }
    let merged = wait_data(&client, n, "merge-target", "merge", |d| {
        d.contains_key("synced")
    })
    .await;
    assert_eq!(merged.data.as_ref().unwrap()["foreign"].0, b"kept");
    assert_eq!(merged.labels()["foreign"], "label");
    assert!(merged.owner_references().is_empty(), "Merge never owns");
    assert!(
        !merged
            .labels()
            .contains_key("reconcile.external-secrets.io/created-by")
    );

    let missing = wait_condition(&client, n, "merge-missing", "True", "SecretMissing").await;
    assert_eq!(
        ready_message(&missing),
        "secret will not be created due to CreationPolicy=Merge"
    );
    assert!(secret_data(&client, n, "absent").await.is_none());

    let orphan = wait_data(&client, n, "orphan-target", "orphan", |d| {
        d.contains_key("synced")
    })
    .await;
    assert!(orphan.owner_references().is_empty());

    wait_condition(&client, n, "none", "True", "SecretSynced").await;
    assert!(
        secret_data(&client, n, "none-target").await.is_none(),
        "None writes nothing"
    );

    let com = wait_data(&client, n, "com-target", "create-or-merge", |d| {
        d.contains_key("synced")
    })
    .await;
    assert!(com.owner_references().is_empty());
}

#[tokio::test]
async fn deletion_policies_apply_when_the_aws_secret_disappears() {
    let Setup {
        env,
        ns,
        client,
        sm,
    } = setup("es-delete").await;
    let n = ns.name();
    static_store(&client, n).await;
    for s in ["del", "merge", "keep", "retain"] {
        create_string(&sm, &format!("{n}/{s}"), s, &[]).await;
    }
    let _ctl = start_controller(client.clone(), n, env.moto_endpoint());
    for (name, policy, extra) in [
        ("del", "Delete", String::new()),
        (
            "merge",
            "Merge",
            format!("\n  - {{secretKey: keep, remoteRef: {{key: {n}/keep}}}}"),
        ),
        ("retain", "Retain", String::new()),
    ] {
        let _: ExternalSecret = apply(
            &client,
            Some(n),
            &format!(
                r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: {name}}}
spec:
  refreshInterval: 2s
  secretStoreRef: {{name: aws}}
  target: {{deletionPolicy: {policy}}}
  data:
  - {{secretKey: value, remoteRef: {{key: {n}/{name}}}}}{extra}
"#
            ),
        )
        .await;
    }
    for name in ["del", "merge", "retain"] {
        wait_data(&client, n, name, "initial sync", |d| {
            d.contains_key("value")
        })
        .await;
    }
    let retained_before = Api::<Secret>::namespaced(client.clone(), n)
        .get("retain")
        .await
        .unwrap();
    // scheduled deletion (InvalidRequestException) counts as not found, like a hard delete
    sm.delete_secret()
        .secret_id(format!("{n}/del"))
        .recovery_window_in_days(7)
        .send()
        .await
        .expect("schedule");
    for s in ["merge", "retain"] {
        sm.delete_secret()
            .secret_id(format!("{n}/{s}"))
            .force_delete_without_recovery(true)
            .send()
            .await
            .expect("delete");
    }
    let deleted = wait_condition(&client, n, "del", "True", "SecretDeleted").await;
    assert_eq!(
        ready_message(&deleted),
        "secret deleted due to DeletionPolicy=Delete"
    );
    assert!(secret_data(&client, n, "del").await.is_none());
    let merged = wait_data(&client, n, "merge", "Merge drops the missing key", |d| {
        !d.contains_key("value")
    })
    .await;
    assert_eq!(merged.data.unwrap()["keep"].0, b"keep");
    let retained = wait_condition(&client, n, "retain", "False", "SecretSyncedError").await;
    assert!(
        ready_message(&retained).contains("does not exist"),
        "{}",
        ready_message(&retained)
    );
    let after = Api::<Secret>::namespaced(client.clone(), n)
        .get("retain")
        .await
        .unwrap();
    assert_eq!(
        after.resource_version(),
        retained_before.resource_version(),
        "Retain leaves the Secret as it was"
    );
}

#[tokio::test]
async fn a_cluster_store_with_service_account_jwt_and_role_chain_syncs_and_refuses_other_namespaces()
 {
    let Setup {
        env,
        ns,
        client,
        sm,
    } = setup("es-jwt").await;
    let n = ns.name();
    let other = env.fresh_namespace("es-jwt-refused").await;
    create_string(&sm, &format!("{n}/irsa"), r#"{"token":"t0k"}"#, &[]).await;
    let sa = ServiceAccount {
        metadata: kube::api::ObjectMeta {
            name: Some("eso-irsa".into()),
            annotations: Some(BTreeMap::from([(
                "eks.amazonaws.com/role-arn".to_owned(),
                "arn:aws:iam::123456789012:role/eso-irsa".to_owned(),
            )])),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<ServiceAccount>::namespaced(client.clone(), n)
        .create(&PostParams::default(), &sa)
        .await
        .expect("sa");
    apply_cluster_store(
        &client,
        &format!(
            r#"
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {{name: {n}}}
spec:
  conditions:
  - namespaces: [{n}]
  provider:
    aws:
      service: SecretsManager
      region: us-east-1
      additionalRoles: ["arn:aws:iam::123456789012:role/hop-1"]
      role: arn:aws:iam::123456789012:role/last-hop
      externalID: ext-123
      sessionTags: [{{key: team, value: blue}}]
      auth:
        jwt:
          serviceAccountRef: {{name: eso-irsa, namespace: {n}}}
"#
        ),
    )
    .await;
    let ctl = start_controller(client.clone(), n, env.moto_endpoint());
    let refused_ctl = start_controller(client.clone(), other.name(), env.moto_endpoint());
    for i in 0..3 {
        let _: ExternalSecret = apply(
            &client,
            Some(n),
            &format!(
                r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: irsa-{i}}}
spec:
  secretStoreRef: {{name: {n}, kind: ClusterSecretStore}}
  data:
  - {{secretKey: token, remoteRef: {{key: {n}/irsa, property: token}}}}
"#
            ),
        )
        .await;
    }
    let _: ExternalSecret = apply(
        &client,
        Some(other.name()),
        &format!(
            r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: refused}}
spec:
  secretStoreRef: {{name: {n}, kind: ClusterSecretStore}}
  data:
  - {{secretKey: token, remoteRef: {{key: {n}/irsa, property: token}}}}
"#
        ),
    )
    .await;
    for i in 0..3 {
        wait_data(&client, n, &format!("irsa-{i}"), "jwt sync", |d| {
            d.get("token").map(Vec::as_slice) == Some(b"t0k")
        })
        .await;
    }
    assert_eq!(
        aws_calls(&ctl.metrics, "AssumeRoleWithWebIdentity"),
        1,
        "credentials are cached per store and role chain"
    );
    assert_eq!(
        aws_calls(&ctl.metrics, "AssumeRole"),
        2,
        "additionalRoles then role, once"
    );
    let refused = wait_condition(
        &client,
        other.name(),
        "refused",
        "False",
        "SecretSyncedError",
    )
    .await;
    assert!(
        ready_message(&refused).contains(&format!(
            "is not allowed from namespace \"{}\"",
            other.name()
        )),
        "{}",
        ready_message(&refused)
    );
    assert!(
        secret_data(&client, other.name(), "refused")
            .await
            .is_none()
    );
    assert_eq!(
        aws_calls(&refused_ctl.metrics, "GetSecretValue")
            + aws_calls(&refused_ctl.metrics, "BatchGetSecretValue"),
        0
    );
    let cluster_stores = Api::<ClusterSecretStore>::all(client.clone());
    wait_store_condition(&cluster_stores, n, "True", "Valid").await;
    cluster_stores
        .delete(n, &DeleteParams::default())
        .await
        .expect("cleanup");
}

#[tokio::test]
async fn referent_auth_reads_static_keys_from_the_external_secret_namespace() {
    let Setup {
        env,
        ns,
        client,
        sm,
    } = setup("es-referent").await;
    let n = ns.name();
    let empty = env.fresh_namespace("es-referent-nokeys").await;
    create_string(&sm, &format!("{n}/ref"), "referent", &[]).await;
    let creds = Secret {
        metadata: kube::api::ObjectMeta {
            name: Some("team-creds".into()),
            ..Default::default()
        },
        string_data: Some(BTreeMap::from([
            ("id".to_owned(), sealkit_e2e::AWS_ACCESS_KEY_ID.to_owned()),
            (
                "key".to_owned(),
                sealkit_e2e::AWS_SECRET_ACCESS_KEY.to_owned(),
            ),
        ])),
        ..Default::default()
    };
    Api::<Secret>::namespaced(client.clone(), n)
        .create(&PostParams::default(), &creds)
        .await
        .expect("creds");
    let store = format!("{n}-referent");
    apply_cluster_store(
        &client,
        &format!(
            r#"
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {{name: {store}}}
spec:
  provider:
    aws:
      service: SecretsManager
      region: us-east-1
      auth:
        secretRef:
          accessKeyIDSecretRef: {{name: team-creds, key: id}}
          secretAccessKeySecretRef: {{name: team-creds, key: key}}
"#
        ),
    )
    .await;
    let _ctl = start_controller(client.clone(), n, env.moto_endpoint());
    let _ctl2 = start_controller(client.clone(), empty.name(), env.moto_endpoint());
    for target_ns in [n, empty.name()] {
        let _: ExternalSecret = apply(
            &client,
            Some(target_ns),
            &format!(
                r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: ref}}
spec:
  secretStoreRef: {{name: {store}, kind: ClusterSecretStore}}
  data:
  - {{secretKey: v, remoteRef: {{key: {n}/ref}}}}
"#
            ),
        )
        .await;
    }
    wait_data(&client, n, "ref", "referent auth sync", |d| {
        d.get("v").map(Vec::as_slice) == Some(b"referent")
    })
    .await;
    let failed = wait_condition(&client, empty.name(), "ref", "False", "SecretSyncedError").await;
    assert!(
        ready_message(&failed).contains(&format!(
            "credentials Secret {}/team-creds not found",
            empty.name()
        )),
        "{}",
        ready_message(&failed)
    );
    // credentials come from each ExternalSecret's namespace: the store cannot be validated alone
    let cluster_stores = Api::<ClusterSecretStore>::all(client.clone());
    wait_store_condition(&cluster_stores, &store, "True", "ValidationUnknown").await;
    cluster_stores
        .delete(&store, &DeleteParams::default())
        .await
        .expect("cleanup");
}

#[tokio::test]
async fn a_secret_managed_by_eso_is_adopted_without_a_rewrite() {
    let Setup {
        env,
        ns,
        client,
        sm,
    } = setup("es-adopt").await;
    let n = ns.name();
    static_store(&client, n).await;
    create_string(&sm, &format!("{n}/db"), r#"{"password":"s3cret"}"#, &[]).await;
    // the ExternalSecret exists, ESO wrote its Secret (same labels, hash, owner, field manager)
    let created: ExternalSecret = apply(
        &client,
        Some(n),
        &format!(
            r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: adopted}}
spec:
  secretStoreRef: {{name: aws}}
  data:
  - {{secretKey: password, remoteRef: {{key: {n}/db, property: password}}}}
"#
        ),
    )
    .await;
    let data = BTreeMap::from([("password".to_owned(), b"s3cret".to_vec())]);
    let eso_secret = Secret {
        metadata: kube::api::ObjectMeta {
            name: Some("adopted".into()),
            labels: Some(BTreeMap::from([
                (
                    "reconcile.external-secrets.io/managed".to_owned(),
                    "true".to_owned(),
                ),
                (
                    "reconcile.external-secrets.io/created-by".to_owned(),
                    hash::created_by(n, "adopted"),
                ),
            ])),
            // ESO's vector for this data (sha3-224 of Go's %+v of map[password:[115 51 99 114 101 116]])
            annotations: Some(BTreeMap::from([(
                "reconcile.external-secrets.io/data-hash".to_owned(),
                hash::data_hash(&data),
            )])),
            owner_references: Some(vec![es::desired::owner_reference(&created)]),
            ..Default::default()
        },
        data: Some(
            data.iter()
                .map(|(k, v)| (k.clone(), ByteString(v.clone())))
                .collect(),
        ),
        ..Default::default()
    };
    let pp = PostParams {
        field_manager: Some("externalsecrets.external-secrets.io/adopted".into()),
        ..Default::default()
    };
    let before = Api::<Secret>::namespaced(client.clone(), n)
        .create(&pp, &eso_secret)
        .await
        .expect("eso secret");
    let _ctl = start_controller(client.clone(), n, env.moto_endpoint());
    wait_condition(&client, n, "adopted", "True", "SecretSynced").await;
    let after = Api::<Secret>::namespaced(client.clone(), n)
        .get("adopted")
        .await
        .unwrap();
    assert_eq!(
        after.resource_version(),
        before.resource_version(),
        "adoption must not rewrite the Secret"
    );
}

#[tokio::test]
async fn templates_render_data_metadata_and_template_from() {
    let Setup {
        env,
        ns,
        client,
        sm,
    } = setup("es-template").await;
    let n = ns.name();
    static_store(&client, n).await;
    create_string(
        &sm,
        &format!("{n}/db"),
        r#"{"user":"app","pass":"pw"}"#,
        &[],
    )
    .await;
    let cm = ConfigMap {
        metadata: kube::api::ObjectMeta {
            name: Some("tpl".into()),
            ..Default::default()
        },
        data: Some(BTreeMap::from([(
            "extra".to_owned(),
            "EXTRA_USER: \"{{ .user | upper }}\"\n".to_owned(),
        )])),
        ..Default::default()
    };
    Api::<ConfigMap>::namespaced(client.clone(), n)
        .create(&PostParams::default(), &cm)
        .await
        .expect("cm");
    let _ctl = start_controller(client.clone(), n, env.moto_endpoint());
    let _: ExternalSecret = apply(
        &client,
        Some(n),
        &format!(
            r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: tpl, labels: {{not: copied}}}}
spec:
  secretStoreRef: {{name: aws}}
  target:
    template:
      type: Opaque
      metadata:
        labels: {{db-user: "{{{{ .user }}}}"}}
      data:
        url: "postgresql://{{{{ .user }}}}:{{{{ .pass }}}}@db/app"
      templateFrom:
      - configMap: {{name: tpl, items: [{{key: extra, templateAs: KeysAndValues}}]}}
  dataFrom:
  - extract: {{key: {n}/db}}
"#
        ),
    )
    .await;
    let s = wait_data(&client, n, "tpl", "templated secret", |d| {
        d.contains_key("url")
    })
    .await;
    let data = s.data.clone().unwrap();
    assert_eq!(data["url"].0, b"postgresql://app:pw@db/app");
    assert_eq!(data["EXTRA_USER"].0, b"APP");
    assert!(
        !data.contains_key("user"),
        "mergePolicy Replace keeps only template output"
    );
    assert_eq!(s.labels()["db-user"], "app");
    assert!(
        !s.labels().contains_key("not"),
        "with a template only template metadata is used"
    );
}

#[tokio::test]
async fn v1beta1_manifests_sync_unsupported_providers_are_reported_and_stores_get_ready_conditions()
{
    let Setup {
        env,
        ns,
        client,
        sm,
    } = setup("es-compat").await;
    let n = ns.name();
    static_store(&client, n).await;
    create_string(&sm, &format!("{n}/beta"), "beta-value", &[]).await;
    let _: SecretStore = apply(
        &client,
        Some(n),
        "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: vault}\nspec:\n  provider:\n    vault: {server: \"https://vault:8200\", path: secret}\n",
    )
    .await;
    let _ctl = start_controller(client.clone(), n, env.moto_endpoint());
    let gvk = GroupVersionKind::gvk("external-secrets.io", "v1beta1", "ExternalSecret");
    let ar = ApiResource::from_gvk_with_plural(&gvk, "externalsecrets");
    let beta: DynamicObject = serde_json::from_value(serde_json::json!({
        "apiVersion": "external-secrets.io/v1beta1",
        "kind": "ExternalSecret",
        "metadata": {"name": "beta"},
        "spec": {
            "secretStoreRef": {"name": "aws", "kind": "SecretStore"},
            "data": [{"secretKey": "v", "remoteRef": {"key": format!("{n}/beta")}}]
        }
    }))
    .unwrap();
    Api::<DynamicObject>::namespaced_with(client.clone(), n, &ar)
        .create(&PostParams::default(), &beta)
        .await
        .expect("v1beta1 create");
    wait_data(&client, n, "beta", "v1beta1 sync", |d| {
        d.get("v").map(Vec::as_slice) == Some(b"beta-value")
    })
    .await;

    let _: ExternalSecret = apply(
        &client,
        Some(n),
        "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: from-vault}\nspec:\n  secretStoreRef: {name: vault}\n  data:\n  - {secretKey: v, remoteRef: {key: x}}\n",
    )
    .await;
    let e = wait_condition(&client, n, "from-vault", "False", "SecretSyncedError").await;
    assert!(
        ready_message(&e).contains("provider not supported: vault"),
        "{}",
        ready_message(&e)
    );

    // store status: upstream reasons
    let stores: Api<SecretStore> = Api::namespaced(client.clone(), n);
    wait_store_condition(&stores, "aws", "True", "Valid").await;
    wait_store_condition(&stores, "vault", "False", "InvalidProviderConfig").await;
}

#[tokio::test]
async fn with_half_of_aws_calls_failing_nothing_is_lost_there_is_no_hot_loop_and_all_converge() {
    let Setup {
        env,
        ns,
        client,
        sm,
    } = setup("es-faults").await;
    let n = ns.name();
    static_store(&client, n).await;
    let count = 20;
    for i in 0..count {
        create_string(&sm, &format!("{n}/s{i}"), &format!("v1-{i}"), &[]).await;
    }
    let proxy = FaultProxy::start(env.moto_endpoint()).await.expect("proxy");
    let _ctl = start_controller(client.clone(), n, &proxy.endpoint());
    for i in 0..count {
        let _: ExternalSecret = apply(
            &client,
            Some(n),
            &format!(
                "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {{name: s{i}}}\nspec:\n  refreshInterval: 3s\n  secretStoreRef: {{name: aws}}\n  target: {{deletionPolicy: Delete}}\n  data:\n  - {{secretKey: v, remoteRef: {{key: {n}/s{i}}}}}\n"
            ),
        )
        .await;
    }
    for i in 0..count {
        wait_data(&client, n, &format!("s{i}"), "initial sync", |d| {
            d.contains_key("v")
        })
        .await;
    }
    let secrets: Api<Secret> = Api::namespaced(client.clone(), n);
    let before: BTreeMap<String, String> = secrets
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|s| s.name_any().starts_with('s'))
        .map(|s| (s.name_any(), s.resource_version().unwrap_or_default()))
        .collect();
    assert_eq!(before.len(), count);

    // 50% of AWS calls fail (throttling and 500s alternate) for 40 s; AWS values change meanwhile
    proxy.reset_counts();
    proxy.set_rule(FaultRule::new(Fault::Throttle, 1, 2));
    for i in 0..count {
        put_string(&sm, &format!("{n}/s{i}"), &format!("v2-{i}")).await;
    }
    let failing = Duration::from_secs(40);
    let start = std::time::Instant::now();
    while start.elapsed() < failing {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let now = secrets.list(&ListParams::default()).await.unwrap().items;
        for s in &now {
            if let Some(rv) = before.get(&s.name_any()) {
                // a Secret may only change to the new AWS value (a forwarded call), never lose data
                let v = s
                    .data
                    .as_ref()
                    .and_then(|d| d.get("v"))
                    .map(|v| v.0.clone())
                    .unwrap_or_default();
                assert!(
                    s.resource_version().as_deref() == Some(rv.as_str()) || v.starts_with(b"v2-"),
                    "{} changed wrongly",
                    s.name_any()
                );
            }
        }
        assert_eq!(
            now.iter()
                .filter(|s| before.contains_key(&s.name_any()))
                .count(),
            count,
            "no Secret deleted while failing"
        );
        if start.elapsed() > Duration::from_secs(20) {
            proxy.set_rule(FaultRule::new(Fault::ServerError(500), 1, 2));
        }
    }
    let calls_while_failing = proxy.total_requests();
    // 20 ExternalSecrets refreshing every 3 s for 40 s, one call each per refresh, would be ~270
    // calls; with batching and backoff it must stay well below (no hot loop).
    assert!(
        calls_while_failing < 200,
        "hot loop: {calls_while_failing} AWS calls in 40 s: {:?}",
        proxy.request_counts()
    );
    proxy.clear_rule();
    for i in 0..count {
        wait_data(
            &client,
            n,
            &format!("s{i}"),
            "convergence after recovery",
            |d| d.get("v").map(Vec::as_slice) == Some(format!("v2-{i}").as_bytes()),
        )
        .await;
    }
    eprintln!(
        "fault test: {calls_while_failing} AWS calls in 40 s of 50% failures: {:?}",
        proxy.request_counts()
    );
}

fn log_buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUF: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUF.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter("debug,hyper=info,h2=info,rustls=info,tower=info")
            .with_writer(move || LogWriter(writer.clone()))
            .finish();
        let _ = tracing_subscriber::util::SubscriberInitExt::try_init(subscriber);
        buf
    })
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_planted_secret_value_reaches_no_log_event_status_metric_or_error() {
    let logs = log_buffer().clone();
    let Setup {
        env,
        ns,
        client,
        sm,
    } = setup("es-leak").await;
    let n = ns.name();
    static_store(&client, n).await;
    let planted = "PLANTED-c4n4ry-9f8e7d";
    create_string(
        &sm,
        &format!("{n}/ok"),
        &format!(r#"{{"p":"{planted}"}}"#),
        &[],
    )
    .await;
    // a value that fails base64 decoding, a JSON payload without the property, a non-object extract
    create_string(&sm, &format!("{n}/bad"), planted, &[]).await;
    let proxy = FaultProxy::start(env.moto_endpoint()).await.expect("proxy");
    let ctl = start_controller(client.clone(), n, &proxy.endpoint());
    for (name, entry) in [
        (
            "ok",
            format!("data:\n  - {{secretKey: v, remoteRef: {{key: {n}/ok, property: p}}}}"),
        ),
        (
            "decode",
            format!(
                "data:\n  - {{secretKey: v, remoteRef: {{key: {n}/bad, decodingStrategy: Base64}}}}"
            ),
        ),
        (
            "property",
            format!("data:\n  - {{secretKey: v, remoteRef: {{key: {n}/ok, property: nope}}}}"),
        ),
        (
            "extract",
            format!("dataFrom:\n  - extract: {{key: {n}/bad}}"),
        ),
        (
            "throttled",
            format!(
                "data:\n  - {{secretKey: v, remoteRef: {{key: {n}/ok, version: AWSPREVIOUS}}}}"
            ),
        ),
    ] {
        let _: ExternalSecret = apply(
            &client,
            Some(n),
            &format!("apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {{name: {name}}}\nspec:\n  secretStoreRef: {{name: aws}}\n  {entry}\n"),
        )
        .await;
    }
    wait_data(&client, n, "ok", "ok sync", |d| d.contains_key("v")).await;
    for name in ["decode", "property", "extract", "throttled"] {
        wait_condition(&client, n, name, "False", "SecretSyncedError").await;
    }
    proxy.set_rule(FaultRule::always(Fault::Throttle));
    let api: Api<ExternalSecret> = Api::namespaced(client.clone(), n);
    let patch = serde_json::json!({"metadata": {"annotations": {"force-sync": "now"}}});
    api.patch("ok", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("annotate");
    wait_condition(&client, n, "ok", "False", "SecretSyncedError").await;
    proxy.clear_rule();

    let mut seen = Vec::new();
    for e in api.list(&ListParams::default()).await.unwrap().items {
        seen.push(serde_json::to_string(&e.status).unwrap());
    }
    for e in Api::<Event>::namespaced(client.clone(), n)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
    {
        seen.push(format!("{:?} {:?}", e.reason, e.message));
    }
    let logs = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(logs.contains("sync failed"), "debug logs were captured");
    seen.push(logs);
    seen.push(metrics_text(&ctl.metrics));
    for text in &seen {
        assert!(
            !text.contains(planted),
            "planted value leaked into: {}",
            &text[..text.len().min(300)]
        );
        assert!(!text.contains("c4n4ry"), "part of the planted value leaked");
    }
}

/// A controller the benchmark measures. Both run as processes with their defaults, restricted to
/// the run's namespace, with the AWS endpoints pointed at a counting proxy in front of moto.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Contender {
    /// Our `sealkit-controller` binary (`SEALKIT_BENCH_CONTROLLER`, default `target/debug`).
    Sealkit,
    /// The real ESO v0.16.2 controller built by `TESTENV_ESO=1 scripts/testenv build`.
    Eso,
}

impl Contender {
    fn label(self) -> &'static str {
        match self {
            Contender::Sealkit => "sealkit",
            Contender::Eso => "ESO v0.16.2",
        }
    }
}

/// Whether the benchmark runs ESO next to sealkit: `SEALKIT_BENCH_ESO=run` (default) or `skip`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum EsoPart {
    Run { binary: std::path::PathBuf },
    Skip,
}

/// Reads `SEALKIT_BENCH_ESO`; with `run`, a missing ESO binary is a loud failure, not a skip.
fn eso_part() -> EsoPart {
    let binary = sealkit_e2e::cache_dir().join("bin/external-secrets");
    match std::env::var("SEALKIT_BENCH_ESO").as_deref() {
        Ok("skip") => EsoPart::Skip,
        Ok("run") | Err(std::env::VarError::NotPresent) => {
            assert!(
                binary.is_file(),
                "the ESO binary {} is missing: build it with `TESTENV_ESO=1 scripts/testenv build` \
                 (about 10 minutes), or set SEALKIT_BENCH_ESO=skip to measure sealkit alone",
                binary.display()
            );
            let crd = eso_generator_state_crd();
            assert!(
                crd.is_file(),
                "ESO's CRD files are missing ({}): run `TESTENV_ESO=1 scripts/testenv build`, or set \
                 SEALKIT_BENCH_ESO=skip",
                crd.display()
            );
            EsoPart::Run { binary }
        }
        other => panic!("SEALKIT_BENCH_ESO must be `run` (the default) or `skip`, not {other:?}"),
    }
}

/// ESO v0.16.2 always starts a GeneratorState controller (no flag turns it off) and exits after
/// two minutes when that kind is unknown. It is ESO's only extra kind the benchmark needs; its
/// group (`generators.external-secrets.io`) is not ours, so installing it changes nothing for
/// the other tests. ESO's `external-secrets.io` CRDs are never installed: ESO runs on ours.
fn eso_generator_state_crd() -> std::path::PathBuf {
    sealkit_e2e::cache_dir().join("eso-crds/generators.external-secrets.io_generatorstates.yaml")
}

fn install_eso_generator_state_crd(env: &TestEnv) {
    let kubectl = sealkit_e2e::peer("kubectl");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(&kubectl)
            .arg("--kubeconfig")
            .arg(env.kubeconfig_path())
            .args(args)
            .output()
            .expect("run kubectl");
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let crd = eso_generator_state_crd();
    run(&["apply", "-f", &crd.to_string_lossy()]);
    run(&[
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd/generatorstates.generators.external-secrets.io",
    ]);
}

/// Path of the sealkit controller binary the benchmark runs: `SEALKIT_BENCH_CONTROLLER`
/// (`scripts/bench-external` sets it to the release build), else `target/debug`.
fn bench_controller_binary() -> std::path::PathBuf {
    match std::env::var_os("SEALKIT_BENCH_CONTROLLER").filter(|p| !p.is_empty()) {
        Some(path) => {
            let path = std::path::PathBuf::from(path);
            assert!(
                path.is_file(),
                "SEALKIT_BENCH_CONTROLLER={} does not exist; build it with `cargo build --release \
                 -p sealkit-controller --bin sealkit-controller`",
                path.display()
            );
            path
        }
        None => sealkit_e2e::bin("sealkit-controller"),
    }
}

/// Starts `who` for namespace `ns` with AWS calls going to `aws_endpoint`; output to `log`.
fn spawn_contender(
    who: Contender,
    program: &std::path::Path,
    env: &TestEnv,
    ns: &str,
    aws_endpoint: &str,
    log: &std::path::Path,
) -> sealkit_e2e::ChildGuard {
    let file = std::fs::File::create(log).expect("create the controller log");
    let mut cmd = std::process::Command::new(program);
    for var in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
        "AWS_ENDPOINT_URL",
    ] {
        cmd.env_remove(var);
    }
    let metrics = format!("127.0.0.1:{}", sealkit_e2e::free_port());
    match who {
        Contender::Sealkit => {
            cmd.args([
                "--sealed-secrets=false",
                "--leader-elect=false",
                "--external-secrets-cluster-stores=false",
                &format!("--external-secrets-namespace={ns}"),
                &format!("--listen-addr=127.0.0.1:{}", sealkit_e2e::free_port()),
                &format!("--listen-metrics-addr={metrics}"),
            ])
            .env("POD_NAMESPACE", ns);
        }
        Contender::Eso => {
            let concurrent =
                std::env::var("SEALKIT_BENCH_ESO_CONCURRENT").unwrap_or_else(|_| "1".to_owned());
            cmd.args([
                &format!("--namespace={ns}"),
                &format!("--metrics-addr={metrics}"),
                &format!("--concurrent={concurrent}"),
                "--enable-cluster-store-reconciler=false",
                "--enable-cluster-external-secret-reconciler=false",
                "--enable-push-secret-reconciler=false",
                "--enable-cluster-push-secret-reconciler=false",
            ]);
        }
    }
    cmd.env("KUBECONFIG", env.kubeconfig_path())
        .env("AWS_SECRETSMANAGER_ENDPOINT", aws_endpoint)
        .env("AWS_STS_ENDPOINT", aws_endpoint)
        .stdin(std::process::Stdio::null())
        .stdout(file.try_clone().expect("clone the log handle"))
        .stderr(file);
    sealkit_e2e::ChildGuard::spawn(who.label(), &mut cmd)
}

/// Peak resident set size (`VmHWM`) of a running process, in MiB.
fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

fn log_tail(log: &std::path::Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

struct BenchRow {
    scenario: &'static str,
    who: Contender,
    externalsecrets: usize,
    aws_secrets: usize,
    created: Duration,
    first_sync: Duration,
    first_sync_calls: u64,
    first_sync_detail: BTreeMap<String, u64>,
    cycle: Duration,
    cycle_calls: u64,
    cycle_detail: BTreeMap<String, u64>,
    peak_rss_mib: Option<f64>,
}

/// One benchmark run: `who` alone in a fresh namespace with `es_count` ExternalSecrets
/// (refreshInterval 1m) over `secret_count` AWS secrets. Measures the time from the first create
/// until every ExternalSecret is Ready and every target Secret exists, the AWS requests the proxy
/// saw until then, and the AWS requests of one full refresh cycle (from the end of the first sync
/// until every ExternalSecret's `refreshTime` has moved once more). The namespace and the AWS
/// secrets are deleted afterwards, so runs do not see each other's objects.
async fn bench_run(
    who: Contender,
    program: &std::path::Path,
    scenario: &'static str,
    es_count: usize,
    secret_count: usize,
) -> BenchRow {
    let Setup {
        env,
        ns,
        client,
        sm,
    } = setup("es-bench").await;
    let n = ns.name().to_owned();
    eprintln!("bench: {scenario}, {}: namespace {n}", who.label());
    static_store(&client, &n).await;
    let mut tasks = tokio::task::JoinSet::new();
    let limit = Arc::new(tokio::sync::Semaphore::new(16));
    for i in 0..secret_count {
        let (sm, n, limit) = (sm.clone(), n.clone(), limit.clone());
        tasks.spawn(async move {
            let _p = limit.acquire().await;
            create_string(
                &sm,
                &format!("{n}/b{i}"),
                &format!(r#"{{"v":"value-{i}"}}"#),
                &[],
            )
            .await;
        });
    }
    while tasks.join_next().await.is_some() {}

    let proxy = FaultProxy::start(env.moto_endpoint()).await.expect("proxy");
    let log = env.dir().join(format!("{n}-{who:?}.log").to_lowercase());
    let mut child = spawn_contender(who, program, env, &n, &proxy.endpoint(), &log);
    // both controllers mark the store Ready once they run; ExternalSecrets created before that
    // would only measure start-up (and ESO's flood gate backs them off)
    let stores: Api<SecretStore> = Api::namespaced(client.clone(), &n);
    eventually(
        &format!("{} to mark SecretStore aws Ready", who.label()),
        Duration::from_secs(120),
        || async {
            let s = stores.get("aws").await.ok()?;
            s.status?
                .conditions?
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
                .then_some(())
        },
    )
    .await;

    let t0 = std::time::Instant::now();
    for i in 0..es_count {
        let (client, n, limit) = (client.clone(), n.clone(), limit.clone());
        // ESO's own CRDs default these fields server-side, ours do not (issue #6: no server-side
        // defaults); ESO's Go code needs them spelled out (an empty creationPolicy writes no
        // Secret at all), sealkit reads them the same either way
        tasks.spawn(async move {
            let _p = limit.acquire().await;
            let yaml = format!(
                "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {{name: e{i}}}\nspec:\n  refreshInterval: 1m\n  secretStoreRef: {{name: aws, kind: SecretStore}}\n  target: {{creationPolicy: Owner, deletionPolicy: Retain}}\n  data:\n  - {{secretKey: v, remoteRef: {{key: {n}/b{}, property: v, conversionStrategy: Default, decodingStrategy: None, metadataPolicy: None}}}}\n",
                i % secret_count
            );
            let _: ExternalSecret = apply(&client, Some(&n), &yaml).await;
        });
    }
    while tasks.join_next().await.is_some() {}
    let created = t0.elapsed();
    let api: Api<ExternalSecret> = Api::namespaced(client.clone(), &n);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &n);
    let ready = |e: &ExternalSecret| {
        e.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
    };
    let refresh_time = |e: &ExternalSecret| {
        format!(
            "{:?}",
            e.status.as_ref().and_then(|s| s.refresh_time.clone())
        )
    };
    // poll once a second (listing 1,000 objects is not free for the API server)
    let first: BTreeMap<String, String> = loop {
        let items = api.list(&ListParams::default()).await.expect("list").items;
        if items.len() == es_count && items.iter().all(ready) {
            let targets: std::collections::BTreeSet<String> = secrets
                .list_metadata(&ListParams::default())
                .await
                .expect("list secrets")
                .items
                .into_iter()
                .filter_map(|s| s.metadata.name)
                .collect();
            if items.iter().all(|e| targets.contains(&e.name_any())) {
                break items
                    .iter()
                    .map(|e| (e.name_any(), refresh_time(e)))
                    .collect();
            }
        }
        child.assert_running();
        assert!(
            t0.elapsed() < Duration::from_secs(600),
            "{}: first full sync took more than 600 s; log {}:\n{}",
            who.label(),
            log.display(),
            log_tail(&log)
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let first_sync = t0.elapsed();
    let first_sync_calls = proxy.total_requests();
    let first_sync_detail = proxy.request_counts();
    proxy.reset_counts();
    let cycle_start = std::time::Instant::now();
    loop {
        let items = api.list(&ListParams::default()).await.expect("list").items;
        if items
            .iter()
            .all(|e| first.get(&e.name_any()) != Some(&refresh_time(e)))
        {
            break;
        }
        child.assert_running();
        assert!(
            cycle_start.elapsed() < Duration::from_secs(600),
            "{}: no full refresh cycle within 600 s; log {}:\n{}",
            who.label(),
            log.display(),
            log_tail(&log)
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let cycle = cycle_start.elapsed();
    let cycle_calls = proxy.total_requests();
    let cycle_detail = proxy.request_counts();
    child.assert_running();
    let peak_rss_mib = peak_rss_mib(child.id());
    drop(child);

    // clean up before the next run: its controller must see neither these objects nor the API
    // server busy deleting them
    for i in 0..secret_count {
        let (sm, n, limit) = (sm.clone(), n.clone(), limit.clone());
        tasks.spawn(async move {
            let _p = limit.acquire().await;
            let _ = sm
                .delete_secret()
                .secret_id(format!("{n}/b{i}"))
                .force_delete_without_recovery(true)
                .send()
                .await;
        });
    }
    while tasks.join_next().await.is_some() {}
    drop(ns);
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let gone = std::time::Instant::now();
    while namespaces.get_opt(&n).await.ok().flatten().is_some() {
        if gone.elapsed() > Duration::from_secs(180) {
            eprintln!("bench: namespace {n} still terminating after 180 s; going on");
            break;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    BenchRow {
        scenario,
        who,
        externalsecrets: es_count,
        aws_secrets: secret_count,
        created,
        first_sync,
        first_sync_calls,
        first_sync_detail,
        cycle,
        cycle_calls,
        cycle_detail,
        peak_rss_mib,
    }
}

fn calls_by_operation(detail: &BTreeMap<String, u64>) -> String {
    detail
        .iter()
        .map(|(op, n)| format!("{op} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `scripts/bench-external`: 1,000 ExternalSecrets (refreshInterval 1m) over 1,000 AWS secrets and
/// over 50 shared secrets, run by sealkit and then by the real ESO v0.16.2 (one at a time, each in
/// its own namespace); AWS requests counted per operation by a pass-through proxy in front of
/// moto. `SEALKIT_BENCH_ESO=skip` measures sealkit alone; otherwise a missing ESO binary fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark; run scripts/bench-external"]
async fn benchmark_aws_calls_and_first_sync_of_many_external_secrets() {
    let es_count: usize = std::env::var("SEALKIT_BENCH_ES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let shared: usize = std::env::var("SEALKIT_BENCH_SHARED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let eso = eso_part();
    let sealkit = bench_controller_binary();
    let env = TestEnv::get();
    if matches!(eso, EsoPart::Run { .. }) {
        install_eso_generator_state_crd(env);
    }
    let mut rows = Vec::new();
    for (scenario, secrets) in [
        ("one AWS secret per ES", es_count),
        ("ESs share AWS secrets", shared),
    ] {
        rows.push(bench_run(Contender::Sealkit, &sealkit, scenario, es_count, secrets).await);
        if let EsoPart::Run { binary } = &eso {
            rows.push(bench_run(Contender::Eso, binary, scenario, es_count, secrets).await);
        }
    }
    println!();
    println!("sealkit controller: {}", sealkit.display());
    println!(
        "| scenario | controller | ExternalSecrets | AWS secrets | created in | first full sync (from first create) | AWS calls, first sync | AWS calls per 1m refresh cycle | cycle took | peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {:.1} s | {:.1} s | {} ({}) | {} ({}) | {:.0} s | {} |",
            r.scenario,
            r.who.label(),
            r.externalsecrets,
            r.aws_secrets,
            r.created.as_secs_f64(),
            r.first_sync.as_secs_f64(),
            r.first_sync_calls,
            calls_by_operation(&r.first_sync_detail),
            r.cycle_calls,
            calls_by_operation(&r.cycle_detail),
            r.cycle.as_secs_f64(),
            r.peak_rss_mib
                .map_or_else(|| "n/a".to_owned(), |m| format!("{m:.0} MiB")),
        );
    }
    println!();
    println!(
        "| scenario | first full sync sealkit / ESO | AWS calls per cycle sealkit / ESO (ESO's model: 1 per ES) | fewer calls (measured) | peak RSS sealkit / ESO |"
    );
    println!("|---|---|---|---|---|");
    for pair in rows.chunks(2) {
        let [ours, theirs] = pair else { continue };
        println!(
            "| {} | {:.1} s / {:.1} s | {} / {} ({}) | {:.0}x | {} / {} |",
            ours.scenario,
            ours.first_sync.as_secs_f64(),
            theirs.first_sync.as_secs_f64(),
            ours.cycle_calls,
            theirs.cycle_calls,
            ours.externalsecrets,
            theirs.cycle_calls as f64 / ours.cycle_calls.max(1) as f64,
            ours.peak_rss_mib
                .map_or_else(|| "n/a".to_owned(), |m| format!("{m:.0} MiB")),
            theirs
                .peak_rss_mib
                .map_or_else(|| "n/a".to_owned(), |m| format!("{m:.0} MiB")),
        );
    }
}

#[tokio::test]
async fn without_batch_and_list_permissions_values_are_read_one_by_one() {
    let Setup {
        env,
        ns,
        client,
        sm,
    } = setup("es-perms").await;
    let n = ns.name();
    static_store(&client, n).await;
    for i in 0..3 {
        create_string(&sm, &format!("{n}/p{i}"), &format!("v{i}"), &[]).await;
    }
    let proxy = FaultProxy::start(env.moto_endpoint()).await.expect("proxy");
    // IAM denies BatchGetSecretValue (HTTP 403); everything else is allowed
    proxy.set_rule(FaultRule::always(Fault::ServerError(403)).only_for("BatchGetSecretValue"));
    let _ctl = start_controller(client.clone(), n, &proxy.endpoint());
    let entries: String = (0..3)
        .map(|i| format!("\n  - {{secretKey: k{i}, remoteRef: {{key: {n}/p{i}}}}}"))
        .collect();
    let _: ExternalSecret = apply(
        &client,
        Some(n),
        &format!("apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {{name: perms}}\nspec:\n  secretStoreRef: {{name: aws}}\n  data:{entries}\n"),
    )
    .await;
    wait_data(&client, n, "perms", "per-secret fallback", |d| {
        d.len() == 3 && d["k2"] == b"v2"
    })
    .await;
    assert_eq!(
        proxy.requests("BatchGetSecretValue"),
        1,
        "a denied batch is not retried"
    );
    assert_eq!(proxy.requests("GetSecretValue"), 3);
}

/// In a cluster whose egress goes through a proxy, the controller reaches AWS through the proxy
/// the environment names (as ESO's Go SDK does; the Rust SDK's default client ignores it). The
/// controller binary runs as a process with `HTTP_PROXY` set (moto speaks plain http).
#[tokio::test]
async fn aws_calls_go_through_the_proxy_the_environment_names() {
    let Setup {
        env,
        ns,
        client,
        sm,
    } = setup("es-proxy").await;
    let n = ns.name();
    static_store(&client, n).await;
    create_string(&sm, &format!("{n}/db"), r#"{"user":"admin"}"#, &[]).await;
    let proxy = sealkit_e2e::forward_proxy::ForwardProxy::start();

    let log = std::env::temp_dir().join(format!("{n}-controller.log"));
    let file = std::fs::File::create(&log).unwrap();
    let mut cmd = std::process::Command::new(sealkit_e2e::bin("sealkit-controller"));
    for var in [
        "HTTPS_PROXY",
        "https_proxy",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        cmd.env_remove(var);
    }
    cmd.args([
        "--sealed-secrets=false",
        "--leader-elect=false",
        &format!("--external-secrets-namespace={n}"),
        &format!("--listen-addr=127.0.0.1:{}", sealkit_e2e::free_port()),
        &format!(
            "--listen-metrics-addr=127.0.0.1:{}",
            sealkit_e2e::free_port()
        ),
        &format!("--aws-secretsmanager-endpoint={}", env.moto_endpoint()),
        &format!("--aws-sts-endpoint={}", env.moto_endpoint()),
    ])
    .env("KUBECONFIG", env.kubeconfig_path())
    .env("POD_NAMESPACE", n)
    .env("HTTP_PROXY", proxy.url())
    .stdin(std::process::Stdio::null())
    .stdout(file.try_clone().unwrap())
    .stderr(file);
    let _controller = sealkit_e2e::ChildGuard::spawn("sealkit-controller (proxy)", &mut cmd);

    let _: ExternalSecret = apply(
        &client,
        Some(n),
        &format!(
            r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: app}}
spec:
  refreshInterval: 1h
  secretStoreRef: {{name: aws, kind: SecretStore}}
  target: {{name: app-secret}}
  data:
  - {{secretKey: user, remoteRef: {{key: {n}/db, property: user}}}}
"#
        ),
    )
    .await;
    let synced = eventually("the Secret synced through the proxy", WAIT, || async {
        secret_data(&client, n, "app-secret").await
    })
    .await;
    assert_eq!(
        synced.get("user").map(Vec::as_slice),
        Some(b"admin".as_slice()),
        "controller log:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let moto = env.moto_endpoint().trim_end_matches('/');
    assert!(
        proxy
            .requests()
            .iter()
            .any(|r| r.starts_with(&format!("POST {moto}/ "))),
        "no AWS call went through the proxy: {:?}",
        proxy.requests()
    );
}
