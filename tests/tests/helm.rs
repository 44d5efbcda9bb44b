//! The Helm chart `charts/sealkit`: lint, render (every switch), its contracts with kubeseal and
//! the controller binary, and `helm install` into the real kube-apiserver.
//!
//! Rendering tests need only the helm binary from the test-environment cache
//! (`scripts/testenv build`); the install test needs a running environment.

use std::path::{Path, PathBuf};
use std::process::Command;

use sealkit_e2e::{TestEnv, bin, peer};
use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn chart() -> PathBuf {
    repo().join("charts/sealkit")
}

fn helm(args: &[&str]) -> std::process::Output {
    Command::new(peer("helm"))
        .args(args)
        .env(
            "HELM_CACHE_HOME",
            std::env::temp_dir().join("sealkit-helm-cache"),
        )
        .env(
            "HELM_CONFIG_HOME",
            std::env::temp_dir().join("sealkit-helm-config"),
        )
        .env(
            "HELM_DATA_HOME",
            std::env::temp_dir().join("sealkit-helm-data"),
        )
        .output()
        .expect("helm runs")
}

/// `helm template` in namespace kube-system with extra `--set`-style arguments; the documents.
fn render(extra: &[&str]) -> Vec<Value> {
    render_in("kube-system", extra)
}

fn render_in(namespace: &str, extra: &[&str]) -> Vec<Value> {
    let chart = chart();
    let mut args = vec![
        "template",
        "sealkit",
        chart.to_str().unwrap(),
        "--namespace",
        namespace,
    ];
    args.extend_from_slice(extra);
    let out = helm(&args);
    assert!(
        out.status.success(),
        "helm template {extra:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_documents(&String::from_utf8(out.stdout).unwrap())
}

fn render_error(extra: &[&str]) -> String {
    let chart = chart();
    let mut args = vec![
        "template",
        "sealkit",
        chart.to_str().unwrap(),
        "--namespace",
        "kube-system",
    ];
    args.extend_from_slice(extra);
    let out = helm(&args);
    assert!(
        !out.status.success(),
        "helm template {extra:?} should have failed"
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn parse_documents(text: &str) -> Vec<Value> {
    let docs: Vec<Option<Value>> = serde_saphyr::from_multiple(text).expect("helm output is YAML");
    docs.into_iter()
        .flatten()
        .filter(|d| !d.is_null())
        .collect()
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} rendered; kinds: {:?}", kinds(docs)))
}

fn all<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

fn kinds(docs: &[Value]) -> Vec<String> {
    docs.iter()
        .map(|d| {
            format!(
                "{}/{}",
                d["kind"].as_str().unwrap_or("?"),
                d["metadata"]["name"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

fn container(docs: &[Value]) -> &Value {
    &find(docs, "Deployment", "sealed-secrets-controller")["spec"]["template"]["spec"]["containers"]
        [0]
}

fn args_of(docs: &[Value]) -> Vec<String> {
    container(docs)["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect()
}

/// Every (apiGroup, resource, verb) a rule list grants, with resourceNames when restricted.
fn grants(rules: &Value) -> Vec<(String, String, String, Option<Vec<String>>)> {
    let mut out = Vec::new();
    for rule in rules.as_array().into_iter().flatten() {
        let names = rule["resourceNames"].as_array().map(|n| {
            n.iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        });
        for group in rule["apiGroups"].as_array().unwrap() {
            for resource in rule["resources"].as_array().unwrap() {
                for verb in rule["verbs"].as_array().unwrap() {
                    out.push((
                        group.as_str().unwrap().to_owned(),
                        resource.as_str().unwrap().to_owned(),
                        verb.as_str().unwrap().to_owned(),
                        names.clone(),
                    ));
                }
            }
        }
    }
    out
}

#[test]
fn chart_crds_are_byte_identical_to_deploy_crds() {
    let list = |dir: &Path| {
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect();
        files.sort();
        files
    };
    let deploy = list(&repo().join("deploy/crds"));
    let chart = list(&chart().join("crds"));
    assert!(
        !deploy.is_empty(),
        "deploy/crds has no CRDs (run `cargo run -p sealkit-api --bin crdgen`)"
    );
    let names = |v: &[(String, Vec<u8>)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&chart),
        names(&deploy),
        "charts/sealkit/crds differs from deploy/crds; fix: rm charts/sealkit/crds/*.yaml && cp deploy/crds/*.yaml charts/sealkit/crds/"
    );
    for ((name, a), (_, b)) in chart.iter().zip(&deploy) {
        assert!(
            a == b,
            "charts/sealkit/crds/{name} differs from deploy/crds/{name}; fix: cp deploy/crds/*.yaml charts/sealkit/crds/"
        );
    }
}

#[test]
fn helm_lint_is_clean_in_strict_mode() {
    let chart = chart();
    for extra in [
        &[][..],
        &["--set", "scope.mode=namespaces"][..],
        &[
            "--set",
            "scope.mode=namespaces",
            "--set",
            "scope.additionalNamespaces={team-a}",
            "--set",
            "externalSecrets.enabled=false",
        ][..],
        &[
            "--set",
            "metrics.serviceMonitor.enabled=true",
            "--set",
            "metrics.prometheusRule.enabled=true",
            "--set",
            "networkPolicy.enabled=true",
        ][..],
    ] {
        let mut args = vec!["lint", chart.to_str().unwrap(), "--strict"];
        args.extend_from_slice(extra);
        let out = helm(&args);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "helm lint {extra:?}:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !text.contains("[WARNING]") && !text.contains("[ERROR]"),
            "helm lint {extra:?}:\n{text}"
        );
    }
}

#[test]
fn default_install_names_the_services_like_kubeseal_expects() {
    let docs = render(&[]);
    let svc = find(&docs, "Service", "sealed-secrets-controller");
    assert_eq!(svc["metadata"]["namespace"], "kube-system");
    // kubeseal proxies to `http:<name>:<first port's name>`
    assert_eq!(svc["spec"]["ports"][0]["name"], "http");
    assert_eq!(svc["spec"]["ports"][0]["port"], 8080);
    let metrics = find(&docs, "Service", "sealed-secrets-controller-metrics");
    assert_eq!(metrics["spec"]["ports"][0]["port"], 8081);
    let args = args_of(&docs);
    assert!(
        args.contains(&"--controller-name=sealed-secrets-controller".to_owned()),
        "{args:?}"
    );
    assert!(args.contains(&"--listen-addr=:8080".to_owned()), "{args:?}");
    assert!(
        args.contains(&"--listen-metrics-addr=:8081".to_owned()),
        "{args:?}"
    );
}

#[test]
fn an_empty_fullname_override_names_everything_after_the_release() {
    let docs = render(&["--set", "fullnameOverride="]);
    let deploy = docs.iter().find(|d| d["kind"] == "Deployment").unwrap();
    assert_eq!(deploy["metadata"]["name"], "sealkit");
    assert!(
        docs.iter()
            .any(|d| d["kind"] == "Service" && d["metadata"]["name"] == "sealkit")
    );
}

#[test]
fn the_controller_pod_is_locked_down() {
    let docs = render(&[]);
    let deploy = find(&docs, "Deployment", "sealed-secrets-controller");
    let pod = &deploy["spec"]["template"]["spec"];
    let c = container(&docs);
    assert_eq!(deploy["spec"]["replicas"], 2);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let sc = &c["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
    assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault");
    assert_eq!(c["volumeMounts"][0]["mountPath"], "/tmp");
    assert!(pod["volumes"][0]["emptyDir"].is_object());
    assert_eq!(c["startupProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    for k in ["requests", "limits"] {
        assert!(
            c["resources"][k]["memory"].is_string(),
            "resources.{k}.memory missing"
        );
        assert!(
            c["resources"][k]["cpu"].is_string(),
            "resources.{k}.cpu missing"
        );
    }
    let env: Vec<&str> = c["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(
        env.contains(&"POD_NAME") && env.contains(&"POD_NAMESPACE"),
        "{env:?}"
    );
    let pdb = find(&docs, "PodDisruptionBudget", "sealed-secrets-controller");
    assert_eq!(pdb["spec"]["minAvailable"], 1);
    assert!(args_of(&docs).contains(&"--leader-elect=true".to_owned()));
}

#[test]
fn a_single_replica_gets_no_blocking_disruption_budget() {
    let docs = render(&["--set", "replicas=1"]);
    assert!(
        all(&docs, "PodDisruptionBudget").is_empty(),
        "minAvailable=1 with one replica would block drains"
    );
}

#[test]
fn several_replicas_without_leader_election_are_refused() {
    let err = render_error(&["--set", "leaderElection.enabled=false"]);
    assert!(err.contains("leaderElection.enabled=true"), "{err}");
    let docs = render(&[
        "--set",
        "leaderElection.enabled=false",
        "--set",
        "replicas=1",
    ]);
    assert!(args_of(&docs).contains(&"--leader-elect=false".to_owned()));
}

#[test]
fn the_values_schema_rejects_unknown_keys_and_bad_choices() {
    assert!(render_error(&["--set", "replica=3"]).contains("replica"));
    assert!(render_error(&["--set", "scope.mode=everything"]).contains("scope"));
    assert!(render_error(&["--set", "leaderElection.leaseDuration=ten"]).contains("leaseDuration"));
    assert!(render_error(&["--set", "fullnameOverride=Bad_Name"]).contains("fullnameOverride"));
}

#[test]
fn namespace_mode_creates_no_cluster_wide_rbac() {
    let docs = render_in(
        "ops",
        &[
            "--set",
            "scope.mode=namespaces",
            "--set",
            "scope.additionalNamespaces={team-a,team-b}",
            "--set",
            "externalSecrets.enabled=false",
        ],
    );
    assert!(
        all(&docs, "ClusterRole").is_empty() && all(&docs, "ClusterRoleBinding").is_empty(),
        "{:?}",
        kinds(&docs)
    );
    let mut namespaces: Vec<&str> = all(&docs, "Role")
        .iter()
        .filter(|r| r["metadata"]["name"] == "sealed-secrets-controller")
        .map(|r| r["metadata"]["namespace"].as_str().unwrap())
        .collect();
    namespaces.sort();
    assert_eq!(namespaces, ["ops", "team-a", "team-b"]);
    let args = args_of(&docs);
    assert!(
        args.contains(&"--all-namespaces=false".to_owned()),
        "{args:?}"
    );
    assert!(
        args.contains(&"--additional-namespaces=team-a,team-b".to_owned()),
        "{args:?}"
    );

    // with ExternalSecrets: one namespace, no ClusterSecretStores (they need a ClusterRole)
    let docs = render_in("ops", &["--set", "scope.mode=namespaces"]);
    assert!(all(&docs, "ClusterRole").is_empty());
    for role in all(&docs, "Role") {
        assert!(
            !grants(&role["rules"])
                .iter()
                .any(|g| g.1.starts_with("clustersecretstores") || g.1 == "namespaces")
        );
    }
    assert!(args_of(&docs).contains(&"--external-secrets-namespace=ops".to_owned()));
    let err = render_error(&[
        "--set",
        "scope.mode=namespaces",
        "--set",
        "scope.additionalNamespaces={team-a}",
    ]);
    assert!(
        err.contains("ExternalSecrets part watches only the release namespace"),
        "{err}"
    );
}

#[test]
fn the_public_keys_are_readable_by_every_authenticated_user_and_nothing_else_is() {
    let docs = render(&[]);
    let binding = find(
        &docs,
        "RoleBinding",
        "sealed-secrets-controller-public-keys-reader",
    );
    assert_eq!(binding["subjects"][0]["kind"], "Group");
    assert_eq!(binding["subjects"][0]["name"], "system:authenticated");
    let role = find(
        &docs,
        "Role",
        "sealed-secrets-controller-public-keys-reader",
    );
    assert_eq!(
        grants(&role["rules"]),
        vec![(
            String::new(),
            "configmaps".to_owned(),
            "get".to_owned(),
            Some(vec!["sealed-secrets-controller-public-keys".to_owned()])
        )]
    );
    // the service proxier (kubeseal --fetch-cert) reaches only the controller's Service
    let proxier = find(&docs, "Role", "sealed-secrets-controller-service-proxier");
    for g in grants(&proxier["rules"]) {
        assert!(g.3.is_some(), "unrestricted proxier grant {g:?}");
        assert_ne!(g.1, "secrets");
    }
}

#[test]
fn cluster_mode_grants_nothing_on_secrets_beyond_what_reconciling_needs() {
    let docs = render(&[]);
    let role = find(&docs, "ClusterRole", "sealed-secrets-controller");
    let secret_verbs: Vec<String> = grants(&role["rules"])
        .into_iter()
        .filter(|g| g.0.is_empty() && g.1 == "secrets")
        .map(|g| g.2)
        .collect();
    for verb in ["deletecollection", "*", "escalate", "impersonate"] {
        assert!(
            !secret_verbs.iter().any(|v| v == verb),
            "ClusterRole grants {verb} on secrets"
        );
    }
    // nothing else in the core group beyond secrets and events, cluster-wide
    for g in grants(&role["rules"]) {
        if g.0.is_empty() {
            let allowed = match g.1.as_str() {
                "secrets" | "serviceaccounts/token" => true,
                "configmaps" | "serviceaccounts" | "namespaces" => g.2 == "get",
                _ => false,
            };
            assert!(allowed, "unexpected cluster-wide grant {g:?}");
        }
    }
}

#[test]
fn minting_service_account_tokens_can_be_switched_off() {
    let on = render(&[]);
    let role = find(&on, "ClusterRole", "sealed-secrets-controller");
    assert!(
        grants(&role["rules"])
            .iter()
            .any(|g| g.1 == "serviceaccounts/token" && g.2 == "create")
    );
    let off = render(&["--set", "externalSecrets.serviceAccountTokens=false"]);
    let role = find(&off, "ClusterRole", "sealed-secrets-controller");
    assert!(
        !grants(&role["rules"])
            .iter()
            .any(|g| g.1 == "serviceaccounts/token")
    );
}

#[test]
fn switching_a_part_off_removes_its_rbac_and_disables_it() {
    let docs = render(&["--set", "externalSecrets.enabled=false"]);
    let role = find(&docs, "ClusterRole", "sealed-secrets-controller");
    assert!(
        !grants(&role["rules"])
            .iter()
            .any(|g| g.0 == "external-secrets.io")
    );
    assert!(args_of(&docs).contains(&"--external-secrets=false".to_owned()));

    let docs = render(&["--set", "sealedSecrets.enabled=false"]);
    let role = find(&docs, "ClusterRole", "sealed-secrets-controller");
    assert!(!grants(&role["rules"]).iter().any(|g| g.0 == "bitnami.com"));
    assert!(args_of(&docs).contains(&"--sealed-secrets=false".to_owned()));
    let own = find(&docs, "Role", "sealed-secrets-controller-self");
    assert!(
        !grants(&own["rules"])
            .iter()
            .any(|g| g.1 == "configmaps" || g.1 == "secrets")
    );
    assert!(
        !docs
            .iter()
            .any(|d| d["metadata"]["name"] == "sealed-secrets-controller-public-keys-reader")
    );

    let err = render_error(&[
        "--set",
        "sealedSecrets.enabled=false",
        "--set",
        "externalSecrets.enabled=false",
    ]);
    assert!(err.contains("enable at least one part"), "{err}");
}

#[test]
fn monitoring_uses_the_upstream_alert_and_metric_names() {
    let docs = render(&[
        "--set",
        "metrics.serviceMonitor.enabled=true",
        "--set",
        "metrics.prometheusRule.enabled=true",
    ]);
    let sm = find(&docs, "ServiceMonitor", "sealed-secrets-controller");
    assert_eq!(sm["spec"]["endpoints"][0]["port"], "metrics");
    let rule = find(&docs, "PrometheusRule", "sealed-secrets-controller");
    let rules = rule["spec"]["groups"][0]["rules"].as_array().unwrap();
    let unseal = rules
        .iter()
        .find(|r| r["alert"] == "SealedSecretsUnsealErrorHigh")
        .expect("unseal alert");
    assert_eq!(
        unseal["expr"],
        "sum by (reason, namespace) (rate(sealed_secrets_controller_unseal_errors_total[5m])) > 0"
    );
    assert!(
        rules
            .iter()
            .any(|r| r["alert"] == "ExternalSecretSyncErrorHigh")
    );
    // the metrics Service carries the label the ServiceMonitor selects
    let svc = find(&docs, "Service", "sealed-secrets-controller-metrics");
    for (k, v) in sm["spec"]["selector"]["matchLabels"].as_object().unwrap() {
        assert_eq!(&svc["metadata"]["labels"][k], v, "label {k}");
    }
}

#[test]
fn the_network_policy_limits_egress_to_dns_the_api_server_and_aws() {
    let docs = render(&[
        "--set",
        "networkPolicy.enabled=true",
        "--set",
        "networkPolicy.apiServerCIDRs={10.0.0.1/32}",
    ]);
    let np = find(&docs, "NetworkPolicy", "sealed-secrets-controller");
    let egress = np["spec"]["egress"].as_array().unwrap();
    let ports: Vec<i64> = egress
        .iter()
        .flat_map(|e| {
            e["ports"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["port"].as_i64().unwrap())
        })
        .collect();
    assert_eq!(ports, [53, 53, 443, 6443, 443]);
    assert_eq!(egress[1]["to"][0]["ipBlock"]["cidr"], "10.0.0.1/32");
    let ingress: Vec<&str> = np["spec"]["ingress"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["ports"][0]["port"].as_str().unwrap())
        .collect();
    assert_eq!(ingress, ["http", "metrics"]);
    // without ExternalSecrets, no AWS egress
    let docs = render(&[
        "--set",
        "networkPolicy.enabled=true",
        "--set",
        "externalSecrets.enabled=false",
    ]);
    let np = find(&docs, "NetworkPolicy", "sealed-secrets-controller");
    assert_eq!(np["spec"]["egress"].as_array().unwrap().len(), 2);
}

#[test]
fn irsa_annotations_land_on_the_service_account() {
    let docs = render(&[
        "--set",
        "serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::123456789012:role/sealkit",
    ]);
    let sa = find(&docs, "ServiceAccount", "sealed-secrets-controller");
    assert_eq!(
        sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        "arn:aws:iam::123456789012:role/sealkit"
    );
}

#[test]
fn the_helm_test_hook_checks_the_public_key_endpoints() {
    let docs = render(&[]);
    let pod = find(&docs, "Pod", "sealed-secrets-controller-test");
    assert_eq!(pod["metadata"]["annotations"]["helm.sh/hook"], "test");
    let script = pod["spec"]["containers"][0]["args"][0].as_str().unwrap();
    assert!(
        script.contains("http://sealed-secrets-controller.kube-system.svc:8080"),
        "{script}"
    );
    assert!(
        script.contains("/v1/cert.pem") && script.contains("/v1/recipients"),
        "{script}"
    );
    assert_eq!(
        pod["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"],
        true
    );
}

#[test]
fn notes_explain_how_to_fetch_the_key_and_seal_a_first_secret() {
    let chart = chart();
    let notes = |ns: &str| {
        let out = helm(&[
            "install",
            "sealkit",
            chart.to_str().unwrap(),
            "--dry-run=client",
            "--namespace",
            ns,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let default = notes("kube-system");
    assert!(default.contains("kubeseal --fetch-cert"), "{default}");
    assert!(default.contains("sealkit seal"), "{default}");
    assert!(
        default.contains("sealed-secrets-controller-public-keys"),
        "{default}"
    );
    // outside kube-system the notes name the flags the CLIs need
    let other = notes("ops");
    assert!(other.contains("--controller-namespace ops"), "{other}");
}

#[test]
fn every_flag_the_chart_passes_is_accepted_by_the_controller_binary() {
    for extra in [
        &[][..],
        &["--set", "scope.mode=namespaces"][..],
        &[
            "--set",
            "scope.mode=namespaces",
            "--set",
            "scope.additionalNamespaces={team-a}",
            "--set",
            "externalSecrets.enabled=false",
        ][..],
        &["--set", "externalSecrets.enabled=false"][..],
        &["--set", "sealedSecrets.enabled=false"][..],
        &[
            "--set",
            "leaderElection.enabled=false",
            "--set",
            "replicas=1",
        ][..],
    ] {
        let args = args_of(&render(extra));
        // clap validates each flag as it reads it; `--help` last then exits 0 only if all were valid
        let out = Command::new(bin("sealkit-controller"))
            .args(&args)
            .arg("--help")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "sealkit-controller refuses the chart's args {args:?} ({extra:?}):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(
            help.contains("--leader-elect") && help.contains("--controller-name"),
            "not the controller's help:\n{help}"
        );
    }
}

#[tokio::test]
async fn helm_install_into_the_real_api_server_is_accepted() {
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::{Service, ServiceAccount};
    use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
    use kube::Api;

    let env = TestEnv::get();
    let ns = env.fresh_namespace("helm-install").await;
    let chart = chart();
    let kubeconfig = env.kubeconfig_path();
    // namespace mode: nothing cluster-scoped, so parallel tests cannot collide
    let out = helm(&[
        "install",
        "sealkit",
        chart.to_str().unwrap(),
        "--namespace",
        ns.name(),
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--set",
        "scope.mode=namespaces",
        "--set",
        "podDisruptionBudget.enabled=true",
        "--set",
        "networkPolicy.enabled=true",
        "--skip-crds",
        "--timeout",
        "60s",
    ]);
    assert!(
        out.status.success(),
        "helm install failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let client = env.client().await;
    let deploy = Api::<Deployment>::namespaced(client.clone(), ns.name())
        .get("sealed-secrets-controller")
        .await
        .expect("the Deployment was created");
    assert_eq!(deploy.spec.replicas, Some(2));
    let svc = Api::<Service>::namespaced(client.clone(), ns.name())
        .get("sealed-secrets-controller")
        .await
        .unwrap();
    assert_eq!(
        svc.spec.unwrap().ports.unwrap()[0].name.as_deref(),
        Some("http")
    );
    Api::<ServiceAccount>::namespaced(client.clone(), ns.name())
        .get("sealed-secrets-controller")
        .await
        .unwrap();
    Api::<Role>::namespaced(client.clone(), ns.name())
        .get("sealed-secrets-controller")
        .await
        .unwrap();
    Api::<RoleBinding>::namespaced(client.clone(), ns.name())
        .get("sealed-secrets-controller-public-keys-reader")
        .await
        .unwrap();

    // the test hook is stored with the release, ready for `helm test`
    let hooks = helm(&[
        "get",
        "hooks",
        "sealkit",
        "--namespace",
        ns.name(),
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
    ]);
    let hooks = String::from_utf8_lossy(&hooks.stdout);
    assert!(
        hooks.contains("helm.sh/hook: test") && hooks.contains("sealed-secrets-controller-test"),
        "{hooks}"
    );

    let out = helm(&[
        "uninstall",
        "sealkit",
        "--namespace",
        ns.name(),
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "helm uninstall: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
