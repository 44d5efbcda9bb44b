//! Smoke tests proving the test environment is real: a kube-apiserver with RBAC and TokenRequest,
//! a kube-controller-manager that garbage-collects, moto serving Secrets Manager and STS to the
//! Rust AWS SDK, and the fault proxy in front of moto.
//!
//! They need `scripts/testenv up` (or run everything with `scripts/test`).

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use aws_sdk_secretsmanager::primitives::Blob;
use base64::Engine;
use k8s_openapi::ByteString;
use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule, Subject};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, PostParams};
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use sealkit_e2e::fault_proxy::{Fault, FaultProxy, FaultRule};
use sealkit_e2e::{MOTO_ACCOUNT_ID, TestEnv, eventually, grant_role, unique_name};

const WAIT: Duration = Duration::from_secs(60);

fn is_status(err: &kube::Error, code: u16) -> bool {
    matches!(err, kube::Error::Api(s) if s.code == code)
}

#[tokio::test]
async fn a_custom_resource_definition_and_an_object_of_it_can_be_created() {
    let env = TestEnv::get();
    let ns = env.fresh_namespace("smoke-crd").await;
    let client = env.client().await;
    // a group unique to this run, so parallel or repeated runs never collide
    let group = format!("{}.e2e.sealkit.dev", unique_name("smoke"));
    let crd: CustomResourceDefinition = serde_json::from_value(serde_json::json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("widgets.{group}")},
        "spec": {
            "group": group,
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
            "scope": "Namespaced",
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}
                }}}
            }]
        }
    }))
    .unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(&PostParams::default(), &crd).await.unwrap();
    let crd_name = format!("widgets.{group}");
    eventually("the Widget CRD to be Established", WAIT, || async {
        let crd = crds.get(&crd_name).await.ok()?;
        let established = crd
            .status?
            .conditions?
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True");
        established.then_some(())
    })
    .await;

    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(&group, "v1", "Widget"),
        "widgets",
    );
    let widgets: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns.name(), &ar);
    let mut widget = DynamicObject::new("w1", &ar);
    widget.data = serde_json::json!({"spec": {"size": 3}});
    widgets
        .create(&PostParams::default(), &widget)
        .await
        .unwrap();
    let read = widgets.get("w1").await.unwrap();
    assert_eq!(read.data["spec"]["size"], 3);

    crds.delete(&crd_name, &DeleteParams::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_secret_round_trips_through_the_api_server() {
    let env = TestEnv::get();
    let ns = env.fresh_namespace("smoke-secret").await;
    let secrets: Api<Secret> = Api::namespaced(env.client().await, ns.name());
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some("s1".into()),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([(
            "k".to_owned(),
            ByteString(vec![0, 1, 2, 255]),
        )])),
        ..Secret::default()
    };
    secrets
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    let read = secrets.get("s1").await.unwrap();
    assert_eq!(read.data.unwrap()["k"].0, vec![0, 1, 2, 255]);
    assert_eq!(read.type_.as_deref(), Some("Opaque"));
}

#[tokio::test]
async fn a_token_request_token_authenticates_as_its_service_account_with_only_its_rights() {
    let env = TestEnv::get();
    let ns = env.fresh_namespace("smoke-sa").await;
    let sa_client = env.service_account_client(ns.name(), "robot").await;

    let review = Api::<SelfSubjectReview>::all(sa_client.clone())
        .create(&PostParams::default(), &SelfSubjectReview::default())
        .await
        .unwrap();
    let user = review.status.unwrap().user_info.unwrap();
    assert_eq!(
        user.username.as_deref(),
        Some(format!("system:serviceaccount:{}:robot", ns.name()).as_str())
    );
    assert!(
        user.groups
            .unwrap()
            .contains(&"system:serviceaccounts".to_owned())
    );

    let err = Api::<Secret>::namespaced(sa_client, ns.name())
        .list(&ListParams::default())
        .await
        .unwrap_err();
    assert!(is_status(&err, 403), "expected 403, got {err}");
}

#[tokio::test]
async fn the_unprivileged_user_is_denied_until_rbac_grants_access() {
    let env = TestEnv::get();
    let ns = env.fresh_namespace("smoke-rbac").await;
    let alice: Api<Secret> = Api::namespaced(env.unprivileged_client().await, ns.name());

    let err = alice.list(&ListParams::default()).await.unwrap_err();
    assert!(is_status(&err, 403), "expected 403, got {err}");

    let admin = env.client().await;
    let rule = PolicyRule {
        api_groups: Some(vec![String::new()]),
        resources: Some(vec!["secrets".into()]),
        verbs: vec!["list".into()],
        ..PolicyRule::default()
    };
    let subject = Subject {
        kind: "User".into(),
        name: env.unprivileged_user().into(),
        api_group: Some("rbac.authorization.k8s.io".into()),
        ..Subject::default()
    };
    grant_role(&admin, ns.name(), "read-secrets", vec![rule], subject).await;

    eventually("alice to be allowed to list secrets", WAIT, || async {
        alice.list(&ListParams::default()).await.ok()
    })
    .await;
    // the grant is exactly `list secrets`: reading ConfigMaps is still denied
    let err = Api::<ConfigMap>::namespaced(env.unprivileged_client().await, ns.name())
        .list(&ListParams::default())
        .await
        .unwrap_err();
    assert!(is_status(&err, 403), "expected 403, got {err}");
}

#[tokio::test]
async fn garbage_collection_deletes_a_secret_whose_owner_is_deleted() {
    let env = TestEnv::get();
    let ns = env.fresh_namespace("smoke-gc").await;
    let client = env.client().await;
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), ns.name());
    let secrets: Api<Secret> = Api::namespaced(client, ns.name());

    let owner = maps
        .create(
            &PostParams::default(),
            &ConfigMap {
                metadata: ObjectMeta {
                    name: Some("owner".into()),
                    ..ObjectMeta::default()
                },
                ..ConfigMap::default()
            },
        )
        .await
        .unwrap();
    let owned = |name: &str| Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            owner_references: Some(vec![OwnerReference {
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                name: "owner".into(),
                uid: owner.metadata.uid.clone().unwrap(),
                ..OwnerReference::default()
            }]),
            ..ObjectMeta::default()
        },
        ..Secret::default()
    };
    secrets
        .create(&PostParams::default(), &owned("dependent"))
        .await
        .unwrap();
    let bystander = Secret {
        metadata: ObjectMeta {
            name: Some("bystander".into()),
            ..ObjectMeta::default()
        },
        ..Secret::default()
    };
    secrets
        .create(&PostParams::default(), &bystander)
        .await
        .unwrap();

    maps.delete("owner", &DeleteParams::background())
        .await
        .unwrap();
    eventually(
        "the garbage collector to delete the dependent Secret",
        WAIT,
        || async {
            match secrets.get("dependent").await {
                Err(e) if is_status(&e, 404) => Some(()),
                _ => None,
            }
        },
    )
    .await;
    assert!(
        secrets.get("bystander").await.is_ok(),
        "GC must not touch unowned Secrets"
    );
}

#[tokio::test]
async fn kube_controller_manager_runs_the_namespace_serviceaccount_and_aggregation_controllers() {
    let env = TestEnv::get();
    let client = env.client().await;
    let ns = env.fresh_namespace("smoke-kcm").await;

    // serviceaccount-controller: every namespace gets `default`
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), ns.name());
    eventually("the default ServiceAccount", WAIT, || async {
        sas.get("default").await.ok()
    })
    .await;
    // root-ca-certificate-publisher
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), ns.name());
    eventually("kube-root-ca.crt", WAIT, || async {
        maps.get("kube-root-ca.crt").await.ok()
    })
    .await;
    // clusterrole-aggregation-controller: `view` is empty without it
    let view = Api::<ClusterRole>::all(client.clone())
        .get("view")
        .await
        .unwrap();
    assert!(
        !view.rules.unwrap_or_default().is_empty(),
        "aggregated ClusterRole view has no rules"
    );

    // namespace-controller: a deleted namespace with content goes away
    let doomed = unique_name("smoke-kcm-doomed");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &Namespace {
                metadata: ObjectMeta {
                    name: Some(doomed.clone()),
                    ..ObjectMeta::default()
                },
                ..Namespace::default()
            },
        )
        .await
        .unwrap();
    Api::<ConfigMap>::namespaced(client.clone(), &doomed)
        .create(
            &PostParams::default(),
            &ConfigMap {
                metadata: ObjectMeta {
                    name: Some("content".into()),
                    ..ObjectMeta::default()
                },
                ..ConfigMap::default()
            },
        )
        .await
        .unwrap();
    namespaces
        .delete(&doomed, &DeleteParams::default())
        .await
        .unwrap();
    eventually(
        "the namespace controller to finalize the namespace",
        WAIT,
        || async {
            match namespaces.get(&doomed).await {
                Err(e) if is_status(&e, 404) => Some(()),
                _ => None,
            }
        },
    )
    .await;
}

#[tokio::test]
async fn moto_serves_create_get_and_batch_get_secret_value_to_the_rust_sdk() {
    let env = TestEnv::get();
    let sm = env.secrets_manager().await;
    let prefix = unique_name("smoke-moto");
    let json_name = format!("{prefix}/db");
    let bin_name = format!("{prefix}/blob");
    let binary = vec![0u8, 159, 146, 150, 255];

    let created = sm
        .create_secret()
        .name(&json_name)
        .secret_string(r#"{"user":"app","password":"s3cr3t"}"#)
        .send()
        .await
        .unwrap();
    assert!(
        created.arn().unwrap().starts_with(&format!(
            "arn:aws:secretsmanager:us-east-1:{MOTO_ACCOUNT_ID}:secret:{json_name}-"
        )),
        "{:?}",
        created.arn()
    );
    sm.create_secret()
        .name(&bin_name)
        .secret_binary(Blob::new(binary.clone()))
        .send()
        .await
        .unwrap();

    let got = sm
        .get_secret_value()
        .secret_id(&json_name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.secret_string(),
        Some(r#"{"user":"app","password":"s3cr3t"}"#)
    );
    assert_eq!(got.version_stages(), ["AWSCURRENT"]);

    let missing = format!("{prefix}/missing");
    let batch = sm
        .batch_get_secret_value()
        .secret_id_list(&json_name)
        .secret_id_list(&bin_name)
        .secret_id_list(&missing)
        .send()
        .await
        .unwrap();
    let mut names: Vec<_> = batch
        .secret_values()
        .iter()
        .filter_map(|v| v.name())
        .collect();
    names.sort_unstable();
    assert_eq!(names, [bin_name.as_str(), json_name.as_str()]);
    let blob = batch
        .secret_values()
        .iter()
        .find(|v| v.name() == Some(bin_name.as_str()))
        .and_then(|v| v.secret_binary())
        .unwrap();
    assert_eq!(blob.as_ref(), binary.as_slice());
    let errors = batch.errors();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].secret_id(), Some(missing.as_str()));
    assert_eq!(errors[0].error_code(), Some("ResourceNotFoundException"));

    let err = sm
        .get_secret_value()
        .secret_id(&missing)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn moto_sts_assumes_a_role_with_a_token_request_web_identity_token() {
    let env = TestEnv::get();
    let ns = env.fresh_namespace("smoke-irsa").await;
    let token = env
        .service_account_token(ns.name(), "irsa", Some("sts.amazonaws.com"))
        .await;

    // the token is a JWT signed by our API server for the requested audience
    let payload = token.split('.').nth(1).expect("token is a JWT");
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["iss"], env.api_url());
    assert_eq!(claims["aud"], serde_json::json!(["sts.amazonaws.com"]));
    assert_eq!(
        claims["sub"],
        format!("system:serviceaccount:{}:irsa", ns.name())
    );

    let role_arn = format!("arn:aws:iam::{MOTO_ACCOUNT_ID}:role/sealkit-e2e");
    let assumed = env
        .sts()
        .await
        .assume_role_with_web_identity()
        .role_arn(&role_arn)
        .role_session_name("sealkit-e2e-session")
        .web_identity_token(&token)
        .duration_seconds(900)
        .send()
        .await
        .unwrap();
    let creds = assumed.credentials().unwrap();
    assert!(
        creds.access_key_id().starts_with("ASIA"),
        "{}",
        creds.access_key_id()
    );
    assert_eq!(
        assumed.assumed_role_user().unwrap().arn(),
        format!("arn:aws:sts::{MOTO_ACCOUNT_ID}:assumed-role/sealkit-e2e/sealkit-e2e-session")
    );

    // the temporary credentials work against Secrets Manager
    let temp = aws_credential_types::Credentials::new(
        creds.access_key_id(),
        creds.secret_access_key(),
        Some(creds.session_token().to_owned()),
        None,
        "web-identity",
    );
    let conf = aws_sdk_secretsmanager::config::Builder::from(&env.aws_sdk_config().await)
        .credentials_provider(temp)
        .build();
    let sm = aws_sdk_secretsmanager::Client::from_conf(conf);
    let name = format!("{}/irsa", ns.name());
    sm.create_secret()
        .name(&name)
        .secret_string("v")
        .send()
        .await
        .unwrap();
    let got = sm.get_secret_value().secret_id(&name).send().await.unwrap();
    assert_eq!(got.secret_string(), Some("v"));
}

async fn proxied_client(
    proxy: &FaultProxy,
    retry: aws_config::retry::RetryConfig,
) -> aws_sdk_secretsmanager::Client {
    let conf = aws_sdk_secretsmanager::config::Builder::from(
        &sealkit_e2e::aws_sdk_config_for(&proxy.endpoint()).await,
    )
    .retry_config(retry)
    .timeout_config(
        aws_config::timeout::TimeoutConfig::builder()
            .operation_timeout(Duration::from_secs(2))
            .build(),
    )
    .build();
    aws_sdk_secretsmanager::Client::from_conf(conf)
}

#[tokio::test]
async fn the_fault_proxy_throttles_the_chosen_share_of_one_operation() {
    let env = TestEnv::get();
    let name = format!("{}/throttled", unique_name("smoke-proxy"));
    env.secrets_manager()
        .await
        .create_secret()
        .name(&name)
        .secret_string("v")
        .send()
        .await
        .unwrap();

    let proxy = FaultProxy::start(env.moto_endpoint()).await.unwrap();
    proxy.set_rule(FaultRule::new(Fault::Throttle, 1, 2).only_for("GetSecretValue"));

    let no_retry = proxied_client(&proxy, aws_config::retry::RetryConfig::disabled()).await;
    let (mut ok, mut throttled) = (0, 0);
    for _ in 0..10 {
        match no_retry.get_secret_value().secret_id(&name).send().await {
            Ok(v) => {
                assert_eq!(v.secret_string(), Some("v"));
                ok += 1;
            }
            Err(e) => {
                assert_eq!(e.code(), Some("ThrottlingException"), "{e:?}");
                assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(400));
                throttled += 1;
            }
        }
    }
    assert_eq!((ok, throttled), (5, 5));
    assert_eq!(proxy.requests("GetSecretValue"), 10);
    assert_eq!(proxy.faults("GetSecretValue"), 5);

    // other operations pass untouched
    let batch = no_retry
        .batch_get_secret_value()
        .secret_id_list(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(batch.secret_values().len(), 1);
    assert_eq!(proxy.requests("BatchGetSecretValue"), 1);
    assert_eq!(proxy.faults("BatchGetSecretValue"), 0);

    // with the SDK's standard retries, every call gets through after one throttled attempt
    proxy.reset_counts();
    let retrying = proxied_client(
        &proxy,
        aws_config::retry::RetryConfig::standard().with_max_attempts(3),
    )
    .await;
    for _ in 0..3 {
        let v = retrying
            .get_secret_value()
            .secret_id(&name)
            .send()
            .await
            .unwrap();
        assert_eq!(v.secret_string(), Some("v"));
    }
    assert_eq!(proxy.requests("GetSecretValue"), 6);
    assert_eq!(proxy.faults("GetSecretValue"), 3);
}

#[tokio::test]
async fn the_fault_proxy_answers_server_errors_and_hangs_until_cleared() {
    let env = TestEnv::get();
    let name = format!("{}/faulty", unique_name("smoke-proxy"));
    env.secrets_manager()
        .await
        .create_secret()
        .name(&name)
        .secret_string("v")
        .send()
        .await
        .unwrap();
    let proxy = FaultProxy::start(env.moto_endpoint()).await.unwrap();
    let client = proxied_client(&proxy, aws_config::retry::RetryConfig::disabled()).await;

    proxy.set_rule(FaultRule::always(Fault::ServerError(503)));
    let err = client
        .get_secret_value()
        .secret_id(&name)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(503));

    proxy.set_rule(FaultRule::always(Fault::Hang));
    let started = std::time::Instant::now();
    let err = client
        .get_secret_value()
        .secret_id(&name)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            aws_sdk_secretsmanager::error::SdkError::TimeoutError(_)
        ),
        "expected a timeout, got {err:?}"
    );
    assert!(started.elapsed() >= Duration::from_secs(2));

    proxy.clear_rule();
    let v = client
        .get_secret_value()
        .secret_id(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(v.secret_string(), Some("v"));
    assert_eq!(proxy.faults("GetSecretValue"), 2);
    assert_eq!(proxy.requests("GetSecretValue"), 3);
}

#[tokio::test]
async fn a_peer_that_only_knows_in_cluster_config_reaches_the_api_server() {
    let env = TestEnv::get();
    let ns = env.fresh_namespace("smoke-incluster").await;
    let admin = env.client().await;
    // the identity gets exactly `list configmaps` in its namespace
    let rule = PolicyRule {
        api_groups: Some(vec![String::new()]),
        resources: Some(vec!["configmaps".into()]),
        verbs: vec!["list".into()],
        ..PolicyRule::default()
    };
    let subject = Subject {
        kind: "ServiceAccount".into(),
        name: "peer".into(),
        namespace: Some(ns.name().into()),
        ..Subject::default()
    };
    grant_role(&admin, ns.name(), "list-configmaps", vec![rule], subject).await;

    // kubectl with no kubeconfig falls back to the in-cluster config, like client-go programs
    let run = |resource: &'static str| {
        let ns_name = ns.name().to_owned();
        async move {
            let mut cmd = env
                .in_cluster_command(&ns_name, "peer", &sealkit_e2e::peer("kubectl"))
                .await;
            cmd.env_remove("KUBECONFIG")
                .env("HOME", env.dir())
                .args(["get", resource, "-n", &ns_name, "-o", "name"]);
            cmd.output().unwrap()
        }
    };
    // kube-root-ca.crt is published into every namespace by kube-controller-manager
    eventually(
        "the in-cluster identity to list configmaps",
        WAIT,
        || async {
            let out = run("configmaps").await;
            (out.status.success()
                && String::from_utf8_lossy(&out.stdout).contains("configmap/kube-root-ca.crt"))
            .then_some(())
        },
    )
    .await;
    let denied = run("secrets").await;
    assert!(!denied.status.success());
    let stderr = String::from_utf8_lossy(&denied.stderr);
    assert!(
        stderr.contains(&format!("system:serviceaccount:{}:peer", ns.name()))
            && stderr.contains("forbidden"),
        "{stderr}"
    );
}
