//! Interop between `sealkit` and the real `kubeseal` v0.36.6, both ways, offline (no cluster):
//! values sealed by one are opened by the other's `--recovery-unseal`, for each scope, for
//! `--merge-into` and `--raw`; both print the same manifest layout for the same input.
//!
//! Needs the kubeseal peer (`scripts/testenv build`) and our binaries (`cargo build --bins`);
//! missing binaries fail loudly.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use std::io::Write;

struct Keys {
    dir: PathBuf,
    key_secret: PathBuf,
    cert: PathBuf,
    recipient: String,
}

/// One RSA-4096 key pair for the whole run, made by `sealkit keygen` (so kubeseal reading our key
/// Secret and certificate is tested too).
fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = scratch("cli-interop-keys");
        let key_secret = dir.join("key.yaml");
        let cert = dir.join("cert.pem");
        let out = Command::new(sealkit_e2e::bin("sealkit"))
            .args(["keygen", "-w"])
            .arg(&key_secret)
            .arg("--cert-out")
            .arg(&cert)
            .arg("--recipients-out")
            .arg(dir.join("recipients.txt"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "sealkit keygen: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let recipient = std::fs::read_to_string(dir.join("recipients.txt"))
            .unwrap()
            .trim()
            .to_owned();
        assert!(recipient.starts_with("age1"), "{recipient}");
        Keys {
            dir,
            key_secret,
            cert,
            recipient,
        }
    })
}

fn scratch(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(sealkit_e2e::unique_name(prefix));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(program: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn ok(program: &str, out: Output) -> String {
    assert!(
        out.status.success(),
        "{program} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn sealkit(args: &[&str], stdin: &[u8]) -> String {
    ok("sealkit", run(&sealkit_e2e::bin("sealkit"), args, stdin))
}

fn kubeseal(args: &[&str], stdin: &[u8]) -> String {
    ok("kubeseal", run(&sealkit_e2e::peer("kubeseal"), args, stdin))
}

fn cert() -> &'static str {
    keys().cert.to_str().unwrap()
}

fn key() -> &'static str {
    keys().key_secret.to_str().unwrap()
}

fn secret(scope_annotation: Option<&str>) -> String {
    let annotations = scope_annotation
        .map(|a| format!("  annotations:\n    {a}: \"true\"\n"))
        .unwrap_or_default();
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: interop\n  namespace: shop\n{annotations}  labels:\n    app: shop\ntype: Opaque\nstringData:\n  password: \"p@ss: w0rd\\n\"\ndata:\n  blob: AAEC/w==\n"
    )
}

/// The unsealed Secret's `data` (base64 values).
fn data_of(unsealed_json: &str) -> serde_json::Value {
    let doc: serde_json::Value = serde_json::from_str(unsealed_json).unwrap();
    doc["data"].clone()
}

fn expected_data() -> serde_json::Value {
    // "p@ss: w0rd\n" and bytes 00 01 02 ff
    serde_json::json!({"password": "cEBzczogdzByZAo=", "blob": "AAEC/w=="})
}

const SCOPES: [(&str, Option<&str>); 3] = [
    ("strict", None),
    (
        "namespace-wide",
        Some("sealedsecrets.bitnami.com/namespace-wide"),
    ),
    (
        "cluster-wide",
        Some("sealedsecrets.bitnami.com/cluster-wide"),
    ),
];

#[test]
fn values_sealed_by_sealkit_are_opened_by_kubeseal_in_every_scope() {
    for (scope, annotation) in SCOPES {
        // once with --scope, once with the annotation on the input
        for input_args in [vec!["--scope", scope], vec![]] {
            let input = if input_args.is_empty() {
                secret(annotation)
            } else {
                secret(None)
            };
            let mut args = vec!["--cert", cert()];
            args.extend(&input_args);
            let sealed = sealkit(&args, input.as_bytes());
            let unsealed = kubeseal(
                &["--recovery-unseal", "--recovery-private-key", key()],
                sealed.as_bytes(),
            );
            assert_eq!(
                data_of(&unsealed),
                expected_data(),
                "scope {scope} {input_args:?}"
            );
        }
    }
}

#[test]
fn values_sealed_by_kubeseal_are_opened_by_sealkit_in_every_scope() {
    for (scope, annotation) in SCOPES {
        for input_args in [vec!["--scope", scope], vec![]] {
            let input = if input_args.is_empty() {
                secret(annotation)
            } else {
                secret(None)
            };
            let mut args = vec!["--cert", cert(), "-o", "yaml"];
            args.extend(&input_args);
            let sealed = kubeseal(&args, input.as_bytes());
            let unsealed = sealkit(
                &["--recovery-unseal", "--recovery-private-key", key()],
                sealed.as_bytes(),
            );
            assert_eq!(
                data_of(&unsealed),
                expected_data(),
                "scope {scope} {input_args:?}"
            );
        }
    }
}

#[test]
fn a_value_moved_to_another_namespace_is_refused_by_both() {
    let sealed = sealkit(&["--cert", cert()], secret(None).as_bytes());
    let moved = sealed.replace("\"namespace\": \"shop\"", "\"namespace\": \"other\"");
    let out = run(
        &sealkit_e2e::peer("kubeseal"),
        &["--recovery-unseal", "--recovery-private-key", key()],
        moved.as_bytes(),
    );
    assert!(!out.status.success());
    let out = run(
        &sealkit_e2e::bin("sealkit"),
        &["--recovery-unseal", "--recovery-private-key", key()],
        moved.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn both_print_the_same_manifest_for_the_same_input() {
    let redact = |text: &str| -> String {
        // sealed values differ (random session keys); replace them
        text.split('"')
            .map(|part| {
                if part.len() > 300 && part.starts_with("Ag") {
                    "[..]"
                } else {
                    part
                }
            })
            .collect::<Vec<_>>()
            .join("\"")
    };
    for (scope, _) in SCOPES {
        let input = secret(None);
        let ours = sealkit(&["--cert", cert(), "--scope", scope], input.as_bytes());
        let theirs = kubeseal(&["--cert", cert(), "--scope", scope], input.as_bytes());
        assert_eq!(redact(&ours), redact(&theirs), "JSON, scope {scope}");
        let ours = sealkit(
            &["--cert", cert(), "--scope", scope, "-o", "yaml"],
            input.as_bytes(),
        );
        let theirs = kubeseal(
            &["--cert", cert(), "--scope", scope, "-o", "yaml"],
            input.as_bytes(),
        );
        let redact_yaml = |t: &str| {
            t.lines()
                .map(|l| match l.split_once(": Ag") {
                    Some((k, _)) => format!("{k}: [..]"),
                    None => l.to_owned(),
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(
            redact_yaml(&ours),
            redact_yaml(&theirs),
            "YAML, scope {scope}"
        );
    }
}

#[test]
fn merge_into_works_across_the_two_tools() {
    let dir = scratch("cli-interop-merge");
    // kubeseal makes the file, sealkit merges an item into it, kubeseal opens both.
    let file = dir.join("sealed.json");
    std::fs::write(
        &file,
        kubeseal(&["--cert", cert()], secret(None).as_bytes()),
    )
    .unwrap();
    let update =
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\nstringData:\n  token: t0k3n\n";
    sealkit(
        &["--cert", cert(), "--merge-into", file.to_str().unwrap()],
        update.as_bytes(),
    );
    let unsealed = kubeseal(
        &["--recovery-unseal", "--recovery-private-key", key()],
        &std::fs::read(&file).unwrap(),
    );
    let data = data_of(&unsealed);
    assert_eq!(data["token"], "dDBrM24=");
    assert_eq!(data["password"], expected_data()["password"]);

    // sealkit makes the file, kubeseal merges an item into it, sealkit opens both.
    let file = dir.join("sealed2.json");
    std::fs::write(&file, sealkit(&["--cert", cert()], secret(None).as_bytes())).unwrap();
    kubeseal(
        &["--cert", cert(), "--merge-into", file.to_str().unwrap()],
        update.as_bytes(),
    );
    let unsealed = sealkit(
        &["--recovery-unseal", "--recovery-private-key", key()],
        &std::fs::read(&file).unwrap(),
    );
    let data = data_of(&unsealed);
    assert_eq!(data["token"], "dDBrM24=");
    assert_eq!(data["blob"], "AAEC/w==");
    let _ = std::fs::remove_dir_all(dir);
}

fn manifest_with(value: &str, scope_annotation: Option<&str>) -> String {
    let annotations = scope_annotation
        .map(|a| format!(",\"annotations\":{{\"{a}\":\"true\"}}"))
        .unwrap_or_default();
    format!(
        "{{\"apiVersion\":\"bitnami.com/v1alpha1\",\"kind\":\"SealedSecret\",\"metadata\":{{\"name\":\"interop\",\"namespace\":\"shop\"{annotations}}},\"spec\":{{\"template\":{{\"metadata\":{{\"name\":\"interop\",\"namespace\":\"shop\"}}}},\"encryptedData\":{{\"password\":\"{value}\"}}}}}}"
    )
}

#[test]
fn raw_values_work_across_the_two_tools() {
    let dir = scratch("cli-interop-raw");
    let value_file = dir.join("value");
    std::fs::write(&value_file, "p@ss: w0rd\n").unwrap();
    let from_file = format!("password={}", value_file.display());
    for (scope, annotation) in SCOPES {
        let args = [
            "--raw",
            "--cert",
            cert(),
            "--scope",
            scope,
            "-n",
            "shop",
            "--name",
            "interop",
            "--from-file",
            &from_file,
        ];
        let ours = sealkit(&args, b"");
        assert!(!ours.ends_with('\n'), "no newline after a raw value");
        let unsealed = kubeseal(
            &["--recovery-unseal", "--recovery-private-key", key()],
            manifest_with(&ours, annotation).as_bytes(),
        );
        assert_eq!(
            data_of(&unsealed)["password"],
            "cEBzczogdzByZAo=",
            "sealkit --raw, scope {scope}"
        );

        let theirs = kubeseal(&args, b"");
        let unsealed = sealkit(
            &["--recovery-unseal", "--recovery-private-key", key()],
            manifest_with(&theirs, annotation).as_bytes(),
        );
        assert_eq!(
            data_of(&unsealed)["password"],
            "cEBzczogdzByZAo=",
            "kubeseal --raw, scope {scope}"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn kubeseal_reads_the_certificate_and_key_secret_written_by_sealkit_keygen() {
    let fetched = kubeseal(&["--fetch-cert", "--cert", cert()], b"");
    assert!(fetched.starts_with("-----BEGIN CERTIFICATE-----"));
    let key_text = std::fs::read_to_string(&keys().key_secret).unwrap();
    assert!(key_text.contains("sealedsecrets.bitnami.com/sealed-secrets-key: active"));
    assert!(keys().dir.is_dir());
}

// ---------- cluster paths (need `scripts/testenv up`) ----------

mod cluster {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::{Api, ObjectMeta, PostParams};

    async fn publish(ns: &str, name: &str, cert: Option<&str>, recipients: Option<&str>) {
        let env = sealkit_e2e::TestEnv::get();
        let mut data = std::collections::BTreeMap::new();
        if let Some(c) = cert {
            data.insert("cert.pem".to_owned(), c.to_owned());
        }
        if let Some(r) = recipients {
            data.insert("recipients.txt".to_owned(), r.to_owned());
        }
        let cm = ConfigMap {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                ..ObjectMeta::default()
            },
            data: Some(data),
            ..ConfigMap::default()
        };
        Api::<ConfigMap>::namespaced(env.client().await, ns)
            .create(&PostParams::default(), &cm)
            .await
            .unwrap();
    }

    fn sealkit_in(ns: &str, args: &[&str], stdin: &[u8]) -> Output {
        let env = sealkit_e2e::TestEnv::get();
        let kubeconfig = env.kubeconfig_path().display().to_string();
        let mut all = vec![
            "--kubeconfig",
            kubeconfig.as_str(),
            "--controller-namespace",
            ns,
        ];
        all.extend(args);
        run(&sealkit_e2e::bin("sealkit"), &all, stdin)
    }

    #[tokio::test]
    async fn the_public_keys_config_map_is_used_and_native_sealing_is_the_default() {
        let env = sealkit_e2e::TestEnv::get();
        let ns = env.fresh_namespace("cli-keys-cm").await;
        let recipient = keys().recipient.clone();
        let cert_pem = std::fs::read_to_string(&keys().cert).unwrap();
        publish(
            ns.name(),
            "sealed-secrets-controller-public-keys",
            Some(&cert_pem),
            Some(&format!("{recipient}\n")),
        )
        .await;

        let fetched = ok("sealkit", sealkit_in(ns.name(), &["--fetch-cert"], b""));
        assert_eq!(fetched, cert_pem);
        let fetched = ok(
            "sealkit",
            sealkit_in(ns.name(), &["--fetch-recipients"], b""),
        );
        assert_eq!(fetched.trim(), recipient);

        let sealed = ok(
            "sealkit",
            sealkit_in(ns.name(), &[], secret(None).as_bytes()),
        );
        assert!(
            sealed.contains("\"password\": \"YWdlLWVuY3J5cHRpb24ub3JnL3YxCi"),
            "native when the controller offers recipients: {sealed}"
        );
        let unsealed = sealkit(
            &["--recovery-unseal", "--recovery-private-key", key()],
            sealed.as_bytes(),
        );
        assert_eq!(data_of(&unsealed), expected_data());

        // --sealing-format bitnami uses the published certificate; kubeseal opens it.
        let sealed = ok(
            "sealkit",
            sealkit_in(
                ns.name(),
                &["--sealing-format", "bitnami"],
                secret(None).as_bytes(),
            ),
        );
        let unsealed = kubeseal(
            &["--recovery-unseal", "--recovery-private-key", key()],
            sealed.as_bytes(),
        );
        assert_eq!(data_of(&unsealed), expected_data());
    }

    #[tokio::test]
    async fn a_config_map_named_after_the_controller_with_only_a_certificate_gives_the_bitnami_format()
     {
        let env = sealkit_e2e::TestEnv::get();
        let ns = env.fresh_namespace("cli-keys-cert").await;
        let cert_pem = std::fs::read_to_string(&keys().cert).unwrap();
        publish(
            ns.name(),
            "sealed-secrets-public-keys",
            Some(&cert_pem),
            None,
        )
        .await;
        let sealed = ok(
            "sealkit",
            sealkit_in(
                ns.name(),
                &["--controller-name", "sealed-secrets"],
                secret(None).as_bytes(),
            ),
        );
        let unsealed = kubeseal(
            &["--recovery-unseal", "--recovery-private-key", key()],
            sealed.as_bytes(),
        );
        assert_eq!(data_of(&unsealed), expected_data());
    }

    #[tokio::test]
    async fn a_missing_controller_is_reported_with_a_hint() {
        let env = sealkit_e2e::TestEnv::get();
        let ns = env.fresh_namespace("cli-keys-none").await;
        let out = sealkit_in(ns.name(), &[], secret(None).as_bytes());
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.starts_with(&format!(
                "error: cannot get sealed secret service {}/sealed-secrets-controller",
                ns.name()
            )),
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!(
                "also tried: ConfigMap {}/sealed-secrets-controller-public-keys not found",
                ns.name()
            )),
            "{stderr}"
        );
        assert!(
            stderr.contains("hint: use --controller-name and --controller-namespace"),
            "{stderr}"
        );
        assert!(out.stdout.is_empty());
    }

    /// A stand-in controller on the host's non-loopback address (Endpoints may not be loopback):
    /// GET /v1/cert.pem, 404 for /v1/recipients (like Bitnami's), POST /v1/verify answers 200
    /// for a SealedSecret named `good` and 409 otherwise, POST /v1/rotate echoes the body.
    fn fake_controller(cert_pem: String) -> (String, u16) {
        use std::io::Read;
        let out = Command::new("hostname").arg("-I").output().unwrap();
        let ip = String::from_utf8(out.stdout)
            .unwrap()
            .split_whitespace()
            .find(|a| {
                a.parse::<std::net::Ipv4Addr>()
                    .is_ok_and(|ip| !ip.is_loopback())
            })
            .expect("the host needs a non-loopback IPv4 address for the service-proxy test")
            .to_owned();
        let listener = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                let (head, mut body) = loop {
                    let n = stream.read(&mut chunk).unwrap_or(0);
                    if n == 0 {
                        break (String::new(), Vec::new());
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break (
                            String::from_utf8_lossy(&buf[..i]).into_owned(),
                            buf[i + 4..].to_vec(),
                        );
                    }
                };
                let length = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                    })
                    .unwrap_or(0);
                while body.len() < length {
                    let n = stream.read(&mut chunk).unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    body.extend_from_slice(&chunk[..n]);
                }
                let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
                let (status, answer): (&str, Vec<u8>) = match path.as_str() {
                    "/v1/cert.pem" => ("200 OK", cert_pem.clone().into_bytes()),
                    "/v1/verify" => {
                        let doc: serde_json::Value =
                            serde_json::from_slice(&body).unwrap_or_default();
                        if doc["metadata"]["name"] == "good" {
                            ("200 OK", Vec::new())
                        } else {
                            ("409 Conflict", Vec::new())
                        }
                    }
                    "/v1/rotate" => {
                        let mut doc: serde_json::Value =
                            serde_json::from_slice(&body).unwrap_or_default();
                        doc["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z".into();
                        doc["metadata"]["annotations"] = serde_json::json!({"rotated": "yes"});
                        ("200 OK", serde_json::to_vec(&doc).unwrap())
                    }
                    _ => ("404 Not Found", b"404 page not found\n".to_vec()),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    answer.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&answer);
            }
        });
        (ip, port)
    }

    /// `sealkit` with the proxy variables of a corporate network: `HTTPS_PROXY` and `HTTP_PROXY`
    /// name `proxy` (unless empty), nothing is exempt (`NO_PROXY` unset).
    fn sealkit_through(proxy: &str, args: &[&str]) -> Output {
        let mut cmd = Command::new(sealkit_e2e::bin("sealkit"));
        for var in [
            "NO_PROXY",
            "no_proxy",
            "https_proxy",
            "http_proxy",
            "ALL_PROXY",
            "all_proxy",
        ] {
            cmd.env_remove(var);
        }
        for var in ["HTTPS_PROXY", "HTTP_PROXY"] {
            if proxy.is_empty() {
                cmd.env_remove(var);
            } else {
                cmd.env(var, proxy);
            }
        }
        cmd.args(args).stdin(Stdio::null()).output().unwrap()
    }

    #[tokio::test]
    async fn the_api_server_and_cert_urls_are_reached_through_the_proxy_the_environment_names() {
        let env = sealkit_e2e::TestEnv::get();
        let ns = env.fresh_namespace("cli-proxy").await;
        let cert_pem = std::fs::read_to_string(&keys().cert).unwrap();
        publish(
            ns.name(),
            "sealed-secrets-controller-public-keys",
            Some(&cert_pem),
            None,
        )
        .await;
        let proxy = sealkit_e2e::forward_proxy::ForwardProxy::start();
        let kubeconfig = env.kubeconfig_path().display().to_string();

        // The kubeconfig's proxy-url: the API server (https) through a CONNECT tunnel.
        let via_proxy = scratch("cli-proxy").join("kubeconfig-with-proxy");
        let original = std::fs::read_to_string(env.kubeconfig_path()).unwrap();
        let mut doc: serde_json::Value = serde_saphyr::from_str(&original).unwrap();
        for cluster in doc["clusters"].as_array_mut().unwrap() {
            cluster["cluster"]["proxy-url"] = proxy.url().into();
        }
        std::fs::write(&via_proxy, serde_json::to_string(&doc).unwrap()).unwrap();
        let fetched = ok(
            "sealkit",
            sealkit_through(
                "",
                &[
                    "--kubeconfig",
                    via_proxy.to_str().unwrap(),
                    "--controller-namespace",
                    ns.name(),
                    "--fetch-cert",
                ],
            ),
        );
        assert_eq!(fetched, cert_pem);
        let api_authority = env
            .api_url()
            .trim_start_matches("https://")
            .trim_end_matches('/')
            .to_owned();
        let tunnel = format!("CONNECT {api_authority} HTTP/1.1");
        assert!(
            proxy.requests().contains(&tunnel),
            "expected {tunnel:?} among {:?}",
            proxy.requests()
        );

        // HTTPS_PROXY naming a dead proxy does not break a loopback API server: like kubectl,
        // loopback is never proxied (kube alone would refuse or use the proxy).
        let fetched = ok(
            "sealkit",
            sealkit_through(
                "http://127.0.0.1:1",
                &[
                    "--kubeconfig",
                    &kubeconfig,
                    "--controller-namespace",
                    ns.name(),
                    "--fetch-cert",
                ],
            ),
        );
        assert_eq!(fetched, cert_pem);

        // A plain-http --cert URL: sent to the proxy in absolute form.
        let (ip, port) = fake_controller(cert_pem.clone());
        let url = format!("http://{ip}:{port}/v1/cert.pem");
        let fetched = ok(
            "sealkit",
            sealkit_through(&proxy.url(), &["--cert", &url, "--fetch-cert"]),
        );
        assert_eq!(fetched, cert_pem);
        let forwarded = format!("GET {url} HTTP/1.1");
        assert!(
            proxy.requests().contains(&forwarded),
            "expected {forwarded:?} among {:?}",
            proxy.requests()
        );

        // An https --cert URL the proxy cannot reach: the error names the proxy (never its
        // credentials) and says how to bypass it.
        let with_credentials = proxy.url().replace("http://", "http://alice:s3cret@");
        let unreachable = format!("https://{ip}:1/v1/cert.pem");
        let out = sealkit_through(&with_credentials, &["--cert", &unreachable, "--fetch-cert"]);
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.starts_with(&format!(
                "error: cannot fetch {unreachable} through the proxy {}",
                proxy.url().trim_start_matches("http://")
            )),
            "{stderr}"
        );
        assert!(stderr.contains("NO_PROXY"), "{stderr}");
        assert!(!stderr.contains("s3cret"), "{stderr}");
        assert!(
            proxy
                .requests()
                .contains(&format!("CONNECT {ip}:1 HTTP/1.1")),
            "{:?}",
            proxy.requests()
        );
    }

    async fn expose(ns: &str, ip: &str, port: u16) {
        use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
        let env = sealkit_e2e::TestEnv::get();
        let client = env.client().await;
        let name = "sealed-secrets-controller";
        let svc = Service {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                ..ObjectMeta::default()
            },
            spec: Some(ServiceSpec {
                ports: Some(vec![ServicePort {
                    name: Some("http".to_owned()),
                    port: 8080,
                    target_port: Some(
                        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(i32::from(
                            port,
                        )),
                    ),
                    ..ServicePort::default()
                }]),
                ..ServiceSpec::default()
            }),
            ..Service::default()
        };
        Api::<Service>::namespaced(client.clone(), ns)
            .create(&PostParams::default(), &svc)
            .await
            .unwrap();
        // The API server proxies only to endpoint addresses that belong to a Pod with that IP:
        // make a Pod (never scheduled: there is no kubelet) and give it the host's IP.
        let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(client.clone(), ns);
        let pod: k8s_openapi::api::core::v1::Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "fake-controller"},
            "spec": {"automountServiceAccountToken": false, "containers": [{"name": "c", "image": "none"}]}
        }))
        .unwrap();
        let mut created = None;
        for _ in 0..50 {
            // the namespace's default ServiceAccount appears a moment after the namespace
            match pods.create(&PostParams::default(), &pod).await {
                Ok(p) => {
                    created = Some(p);
                    break;
                }
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
            }
        }
        created.expect("creating the stand-in Pod failed");
        let status = serde_json::json!({"status": {"podIP": ip, "podIPs": [{"ip": ip}]}});
        pods.patch_status(
            "fake-controller",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&status),
        )
        .await
        .unwrap();
        // kube-apiserver 1.37 finds proxy targets through EndpointSlices.
        use k8s_openapi::api::discovery::v1::{Endpoint, EndpointPort, EndpointSlice};
        let slice = EndpointSlice {
            metadata: ObjectMeta {
                name: Some(format!("{name}-manual")),
                labels: Some(std::collections::BTreeMap::from([(
                    "kubernetes.io/service-name".to_owned(),
                    name.to_owned(),
                )])),
                ..ObjectMeta::default()
            },
            address_type: "IPv4".to_owned(),
            endpoints: Some(vec![Endpoint {
                addresses: vec![ip.to_owned()],
                target_ref: Some(k8s_openapi::api::core::v1::ObjectReference {
                    kind: Some("Pod".to_owned()),
                    name: Some("fake-controller".to_owned()),
                    namespace: Some(ns.to_owned()),
                    ..Default::default()
                }),
                ..Default::default()
            }]),
            ports: Some(vec![EndpointPort {
                name: Some("http".to_owned()),
                port: Some(i32::from(port)),
                protocol: Some("TCP".to_owned()),
                ..Default::default()
            }]),
        };
        Api::<EndpointSlice>::namespaced(client, ns)
            .create(&PostParams::default(), &slice)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn the_service_proxy_serves_the_certificate_verify_and_rotate() {
        let env = sealkit_e2e::TestEnv::get();
        let ns = env.fresh_namespace("cli-proxy").await;
        let cert_pem = std::fs::read_to_string(&keys().cert).unwrap();
        let (ip, port) = fake_controller(cert_pem.clone());
        expose(ns.name(), &ip, port).await;
        let kubeconfig = env.kubeconfig_path().display().to_string();

        // kubeseal and sealkit fetch the same certificate through the API server.
        let theirs = kubeseal(
            &[
                "--kubeconfig",
                &kubeconfig,
                "--controller-namespace",
                ns.name(),
                "--fetch-cert",
            ],
            b"",
        );
        assert_eq!(theirs, cert_pem);
        let ours = ok("sealkit", sealkit_in(ns.name(), &["--fetch-cert"], b""));
        assert_eq!(ours, cert_pem);

        // No recipients (404): the Bitnami format, which kubeseal opens.
        let sealed = ok(
            "sealkit",
            sealkit_in(ns.name(), &[], secret(None).as_bytes()),
        );
        let unsealed = kubeseal(
            &["--recovery-unseal", "--recovery-private-key", key()],
            sealed.as_bytes(),
        );
        assert_eq!(data_of(&unsealed), expected_data());

        // --validate: 200 is success, 409 is kubeseal's error.
        let good = sealed.replace("\"name\": \"interop\"", "\"name\": \"good\"");
        ok(
            "sealkit",
            sealkit_in(ns.name(), &["--validate"], good.as_bytes()),
        );
        let out = sealkit_in(ns.name(), &["--validate"], sealed.as_bytes());
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.starts_with("error: unable to decrypt sealed secret: interop"),
            "{stderr}"
        );

        // --re-encrypt prints the controller's answer without creationTimestamp.
        let rotated = ok(
            "sealkit",
            sealkit_in(
                ns.name(),
                &["--re-encrypt", "-o", "yaml"],
                sealed.as_bytes(),
            ),
        );
        assert!(rotated.contains("    rotated: \"yes\"\n"), "{rotated}");
        assert!(!rotated.contains("creationTimestamp"), "{rotated}");
    }
}
