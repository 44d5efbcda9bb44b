//! High availability: several `sealkit-controller` replicas against the real kube-apiserver,
//! leader election on a Lease, and what happens when the leader dies.
//!
//! Every replica serves the HTTP API; only the leader reconciles; after the leader is killed
//! (SIGKILL: no chance to release the Lease) a follower takes over with the default lease
//! settings, and after a graceful stop (SIGTERM) within about a second. The figures are printed
//! (`cargo test -p sealkit-e2e --test ha -- --nocapture`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use sealkit_e2e::{ChildGuard, TestEnv, TestNamespace, bin, free_port, peer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LEASE: &str = "sealed-secrets-controller-leader";

struct Replica {
    name: String,
    http: u16,
    metrics: u16,
    log: PathBuf,
    process: ChildGuard,
}

impl Replica {
    fn start(env: &TestEnv, ns: &str, name: &str, dir: &Path) -> Replica {
        let (http, metrics) = (free_port(), free_port());
        let log = dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(bin("sealkit-controller"));
        cmd.args([
            "--all-namespaces=false",
            "--external-secrets=false",
            "--key-size=2048",
            "--log-level=info,sealkit_controller::leader=debug",
            &format!("--listen-addr=127.0.0.1:{http}"),
            &format!("--listen-metrics-addr=127.0.0.1:{metrics}"),
        ])
        .env("KUBECONFIG", env.kubeconfig_path())
        .env("POD_NAME", name)
        .env("POD_NAMESPACE", ns)
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file);
        let process = ChildGuard::spawn(name, &mut cmd);
        Replica {
            name: name.to_owned(),
            http,
            metrics,
            log,
            process,
        }
    }

    fn logs(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(30)..].join("\n");
        format!("--- last log lines of {} ---\n{tail}", self.name)
    }

    /// A counter of the metrics endpoint (summed over label sets), 0 when absent.
    async fn counter(&self, sample_prefix: &str) -> f64 {
        let (_, text) = http_get(self.metrics, "/metrics").await.unwrap_or_default();
        text.lines()
            .filter(|l| l.starts_with(sample_prefix))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
}

/// Minimal HTTP/1.0 GET on loopback: (status, body).
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

/// Polls `check` every 100 ms; on timeout panics with the replicas' logs.
async fn wait_for<T, F, Fut>(
    what: &str,
    timeout: Duration,
    replicas: &[&Replica],
    mut check: F,
) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if start.elapsed() > timeout {
            let logs: Vec<String> = replicas.iter().map(|r| r.logs()).collect();
            panic!(
                "timed out after {timeout:?} waiting for {what}\n{}",
                logs.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn holder(leases: &Api<Lease>) -> Option<String> {
    leases
        .get_opt(LEASE)
        .await
        .ok()
        .flatten()?
        .spec?
        .holder_identity
}

/// Seals Secret `name` (key `password`) with the certificate a controller serves on `cert_port`.
fn seal(ns: &str, name: &str, value: &str, cert_port: u16, dir: &Path) -> PathBuf {
    let cert_url = format!("http://127.0.0.1:{cert_port}/v1/cert.pem");
    sealkit_e2e::seal_with_sealkit(ns, name, value, &cert_url, dir)
}

fn apply(env: &TestEnv, manifest: &Path) {
    let out = Command::new(peer("kubectl"))
        .arg("--kubeconfig")
        .arg(env.kubeconfig_path())
        .args(["apply", "-f"])
        .arg(manifest)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kubectl apply: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn secret_value(secrets: &Api<Secret>, name: &str) -> Option<(String, String)> {
    let s = secrets.get_opt(name).await.ok().flatten()?;
    let value = s.data?.get("password")?.0.clone();
    Some((String::from_utf8(value).ok()?, s.metadata.resource_version?))
}

/// What every test here starts with: a fresh namespace (deleted when `_namespace` drops), a
/// directory for the replicas' files, a client, and the namespace's Leases and Secrets.
struct Setup {
    env: &'static TestEnv,
    _namespace: TestNamespace,
    ns: String,
    dir: PathBuf,
    client: kube::Client,
    leases: Api<Lease>,
    secrets: Api<Secret>,
}

async fn setup(prefix: &str) -> Setup {
    let env = TestEnv::get();
    let namespace = env.fresh_namespace(prefix).await;
    let ns = namespace.name().to_owned();
    let dir = env.dir().join("ha").join(&ns);
    std::fs::create_dir_all(&dir).unwrap();
    let client = env.client().await;
    Setup {
        env,
        leases: Api::namespaced(client.clone(), &ns),
        secrets: Api::namespaced(client.clone(), &ns),
        _namespace: namespace,
        ns,
        dir,
        client,
    }
}

#[tokio::test]
async fn a_follower_takes_over_within_fifteen_seconds_after_the_leader_is_killed() {
    let Setup {
        env,
        _namespace,
        ns,
        dir,
        client,
        leases,
        secrets,
    } = setup("ha").await;

    let mut a = Replica::start(env, &ns, "replica-a", &dir);
    let mut b = Replica::start(env, &ns, "replica-b", &dir);

    // One leader; both replicas serve the same sealing certificate (the follower loaded the key
    // the leader generated instead of making its own).
    let leader = wait_for("a lease holder", Duration::from_secs(30), &[&a, &b], || {
        holder(&leases)
    })
    .await;
    let a_leads = leader.starts_with("replica-a_");
    let certs = wait_for(
        "both replicas to serve /v1/cert.pem",
        Duration::from_secs(60),
        &[&a, &b],
        || async {
            let (sa, ca) = http_get(a.http, "/v1/cert.pem").await?;
            let (sb, cb) = http_get(b.http, "/v1/cert.pem").await?;
            (sa == 200 && sb == 200).then_some((ca, cb))
        },
    )
    .await;
    assert!(certs.0.contains("BEGIN CERTIFICATE"));
    assert_eq!(
        certs.0, certs.1,
        "the replicas serve different sealing keys"
    );
    let key_secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let keys = key_secrets
        .list(
            &kube::api::ListParams::default()
                .labels("sealedsecrets.bitnami.com/sealed-secrets-key"),
        )
        .await
        .unwrap();
    assert_eq!(
        keys.items.len(),
        1,
        "exactly one key Secret must exist (only the leader generates)"
    );

    let (leader_r, follower_r) = if a_leads {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };

    // The leader unseals; the follower never writes.
    let first = seal(&ns, "first", "one", follower_r.http, &dir);
    let second = seal(&ns, "second", "two", follower_r.http, &dir);
    apply(env, &first);
    let (value, first_rv) = wait_for(
        "the leader to unseal `first`",
        Duration::from_secs(30),
        &[&*leader_r, &*follower_r],
        || secret_value(&secrets, "first"),
    )
    .await;
    assert_eq!(value, "one");
    assert_eq!(
        follower_r
            .counter("sealed_secrets_controller_writes_total")
            .await,
        0.0,
        "the follower wrote"
    );
    assert!(
        leader_r
            .counter("sealed_secrets_controller_writes_total")
            .await
            >= 1.0
    );

    // Kill the leader (no release), then ask for a new Secret at once.
    leader_r.process.child_mut().kill().unwrap();
    let _ = leader_r.process.child_mut().wait();
    let killed_at = Instant::now();
    apply(env, &second);
    let (value, _) = wait_for(
        "the follower to take over and unseal `second`",
        Duration::from_secs(30),
        &[&*follower_r],
        || secret_value(&secrets, "second"),
    )
    .await;
    let takeover = killed_at.elapsed();
    assert_eq!(value, "two");
    let new_holder = holder(&leases).await.unwrap_or_default();
    assert!(
        new_holder.starts_with(&format!("{}_", follower_r.name)),
        "lease held by {new_holder}, expected {}",
        follower_r.name
    );
    println!(
        "HA takeover: leader killed (SIGKILL) -> new SealedSecret unsealed by the other replica after {:.1} s \
         (lease duration 10 s, renew grace 3 s)",
        takeover.as_secs_f64()
    );
    assert!(
        takeover < Duration::from_secs(15),
        "takeover took {takeover:?}"
    );

    // No fighting: the new leader left `first` alone (same resourceVersion) and wrote only `second`.
    let (_, rv) = secret_value(&secrets, "first").await.unwrap();
    assert_eq!(rv, first_rv, "the new leader rewrote an up-to-date Secret");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (_, rv_later) = secret_value(&secrets, "second").await.unwrap();
    let (_, rv_now) = secret_value(&secrets, "second").await.unwrap();
    assert_eq!(rv_later, rv_now);
    assert_eq!(
        follower_r
            .counter("sealed_secrets_controller_writes_total{kind=\"secret\"}")
            .await,
        1.0
    );
}

#[tokio::test]
async fn a_graceful_stop_hands_the_lease_over_within_seconds_and_followers_keep_serving() {
    let Setup {
        env,
        _namespace,
        ns,
        dir,
        client: _,
        leases,
        secrets,
    } = setup("ha-graceful").await;

    let a = Replica::start(env, &ns, "replica-a", &dir);
    let leader = wait_for("replica-a to lead", Duration::from_secs(30), &[&a], || {
        holder(&leases)
    })
    .await;
    assert!(leader.starts_with("replica-a_"), "{leader}");
    let mut b = Replica::start(env, &ns, "replica-b", &dir);
    wait_for(
        "replica-b to serve /v1/cert.pem",
        Duration::from_secs(60),
        &[&a, &b],
        || async {
            let (status, _) = http_get(b.http, "/v1/cert.pem").await?;
            (status == 200).then_some(())
        },
    )
    .await;
    // followers answer the other endpoints too
    let (status, recipients) = http_get(b.http, "/v1/recipients").await.unwrap();
    assert_eq!(status, 200);
    assert!(recipients.starts_with("age1"), "{recipients}");
    assert_eq!(
        holder(&leases).await.unwrap_or_default(),
        leader,
        "the follower must not lead"
    );

    let sealed = seal(&ns, "handover", "three", b.http, &dir);
    let stop = Command::new("kill")
        .args(["-TERM", &a.process.id().to_string()])
        .status()
        .unwrap();
    assert!(stop.success());
    let stopped_at = Instant::now();
    apply(env, &sealed);
    wait_for(
        "replica-b to unseal after the hand-over",
        Duration::from_secs(30),
        &[&a, &b],
        || secret_value(&secrets, "handover"),
    )
    .await;
    let handover = stopped_at.elapsed();
    println!(
        "HA hand-over: leader stopped (SIGTERM, lease released) -> new SealedSecret unsealed after {:.1} s",
        handover.as_secs_f64()
    );
    assert!(
        handover < Duration::from_secs(8),
        "graceful hand-over took {handover:?}"
    );
    assert!(
        holder(&leases)
            .await
            .unwrap_or_default()
            .starts_with("replica-b_")
    );
    b.process.assert_running();
}

/// Bitnami's key Secret from the crypto test vectors (no `age.key`), in `ns`.
fn bitnami_key_secret(ns: &str) -> Secret {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crypto/tests/vectors/bitnami-key-1.yaml"
    );
    let text = std::fs::read_to_string(path).expect("read the Bitnami key vector");
    let mut secret: Secret = serde_saphyr::from_str(&text).expect("parse the Bitnami key vector");
    secret.metadata.namespace = Some(ns.to_owned());
    assert!(!secret.data.as_ref().unwrap().contains_key("age.key"));
    secret
}

#[tokio::test]
async fn adopted_bitnami_keys_get_exactly_one_age_key_even_when_the_leader_dies_at_once() {
    let Setup {
        env,
        _namespace,
        ns,
        dir,
        client: _,
        leases,
        secrets,
    } = setup("ha-adopt").await;
    secrets
        .create(&Default::default(), &bitnami_key_secret(&ns))
        .await
        .expect("create the Bitnami key Secret");
    let key_list = kube::api::ListParams::default()
        .labels("sealedsecrets.bitnami.com/sealed-secrets-key=active");

    let a = Replica::start(env, &ns, "replica-a", &dir);
    let b = Replica::start(env, &ns, "replica-b", &dir);
    let leader = wait_for("a leader", Duration::from_secs(30), &[&a, &b], || {
        holder(&leases)
    })
    .await;
    // SIGKILL the leader as soon as it leads: it may or may not have stored the age key yet
    let (leader_r, follower) = if leader.starts_with("replica-a_") {
        (a, b)
    } else {
        (b, a)
    };
    drop(leader_r);
    let follower_prefix = format!("{}_", follower.name);
    wait_for(
        "the follower to take the Lease",
        Duration::from_secs(30),
        &[&follower],
        || async {
            holder(&leases)
                .await
                .filter(|h| h.starts_with(&follower_prefix))
        },
    )
    .await;
    let (_, body) = wait_for(
        "an age recipient on the new leader",
        Duration::from_secs(30),
        &[&follower],
        || async {
            http_get(follower.http, "/v1/recipients")
                .await
                .filter(|(code, _)| *code == 200)
        },
    )
    .await;
    assert!(body.starts_with("age1"), "{body}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let keys = secrets.list(&key_list).await.unwrap().items;
    let with_age = keys
        .iter()
        .filter(|k| k.data.as_ref().is_some_and(|d| d.contains_key("age.key")))
        .count();
    assert_eq!(
        (keys.len(), with_age),
        (2, 1),
        "the Bitnami key plus exactly one age key\n{}",
        follower.logs()
    );
}
