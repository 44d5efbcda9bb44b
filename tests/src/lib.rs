//! Shared support for sealkit end-to-end tests.
//!
//! The tests in `tests/tests/*.rs` run against the real kube-apiserver, etcd,
//! kube-controller-manager and moto that `scripts/testenv up` starts (`scripts/test` does
//! everything: build, up, test, down). Start with [`TestEnv::get`]; it **panics** with a message
//! naming the script when no environment is running, so a cluster test never passes silently.
//!
//! ```no_run
//! use k8s_openapi::api::core::v1::Secret;
//! use kube::api::{Api, PostParams};
//!
//! #[tokio::test]
//! async fn a_secret_can_be_created() {
//!     let env = sealkit_e2e::TestEnv::get();
//!     let ns = env.fresh_namespace("example").await; // deleted (best effort) on drop
//!     let secrets: Api<Secret> = Api::namespaced(env.client().await, ns.name());
//!     // ...
//! }
//! ```
//!
//! Conventions: each test uses its own namespace; a controller a test starts is restricted to
//! that namespace; AWS secret names start with the test's namespace name. Spawned processes go in
//! a [`ChildGuard`] so they die with the test. Our own binaries come from [`bin`] (`target/debug`,
//! built by `scripts/test`), peers (kubeseal, kubectl, helm, ...) from [`peer`].

#![forbid(unsafe_code)]

pub mod fault_proxy;
pub mod forward_proxy;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::{Api, ObjectMeta, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

/// Region used with moto.
pub const AWS_REGION: &str = "us-east-1";
/// Static AWS access key id used with moto.
pub const AWS_ACCESS_KEY_ID: &str = "testing";
/// Static AWS secret access key used with moto.
pub const AWS_SECRET_ACCESS_KEY: &str = "testing";
/// moto's default account id (ARNs are `arn:aws:...:123456789012:...`).
pub const MOTO_ACCOUNT_ID: &str = "123456789012";
/// Label put on every namespace made by [`TestEnv::fresh_namespace`].
pub const NAMESPACE_LABEL: &str = "sealkit.dev/e2e";

const HOW_TO_START: &str = "start it with `scripts/testenv up` (after `scripts/testenv build`), \
     or run the whole suite with `scripts/test`";

/// A running test environment, read from `$SEALKIT_TESTENV_DIR/env.json` (or the directory named
/// in `$SEALKIT_TESTENV_CACHE/current`, default `~/.cache/sealkit-testenv/current`).
#[derive(Debug, Clone)]
pub struct TestEnv {
    dir: PathBuf,
    env: BTreeMap<String, String>,
}

#[derive(serde::Deserialize)]
struct EnvFile {
    env: BTreeMap<String, String>,
}

impl TestEnv {
    /// The running environment. Panics, naming `scripts/testenv up` / `scripts/test`, if there is
    /// none or it is no longer running.
    pub fn get() -> &'static TestEnv {
        static ENV: OnceLock<Result<TestEnv, String>> = OnceLock::new();
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        match ENV.get_or_init(TestEnv::locate) {
            Ok(env) => env,
            Err(msg) => panic!("sealkit e2e: {msg}"),
        }
    }

    fn locate() -> Result<TestEnv, String> {
        if let Some(dir) = std::env::var_os("SEALKIT_TESTENV_DIR").filter(|d| !d.is_empty()) {
            return TestEnv::load(Path::new(&dir));
        }
        let pointer = cache_dir().join("current");
        match std::fs::read_to_string(&pointer) {
            Ok(dir) => TestEnv::load(Path::new(dir.trim())),
            Err(_) => Err(format!(
                "no test environment is running (SEALKIT_TESTENV_DIR is unset and {} does not \
                 exist); {HOW_TO_START}",
                pointer.display()
            )),
        }
    }

    /// Load the environment in `dir` and check that its kube-apiserver is still running.
    pub fn load(dir: &Path) -> Result<TestEnv, String> {
        let file = dir.join("env.json");
        let text = std::fs::read_to_string(&file).map_err(|e| {
            format!(
                "cannot read the test environment file {} ({e}); {HOW_TO_START}",
                file.display()
            )
        })?;
        let parsed: EnvFile = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a valid environment file ({e})", file.display()))?;
        let env = TestEnv {
            dir: dir.to_path_buf(),
            env: parsed.env,
        };
        if !process_alive(&dir.join("kube-apiserver.pid")) {
            return Err(format!(
                "the test environment in {} is not running any more; run `scripts/testenv down`, \
                 then `scripts/testenv up` (or use `scripts/test`)",
                dir.display()
            ));
        }
        Ok(env)
    }

    /// The environment's directory (logs, PKI, kubeconfigs).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The variables `scripts/testenv env` prints (KUBECONFIG, SEALKIT_*, AWS_* test values), e.g.
    /// for `Command::envs` when starting our binaries.
    pub fn env_vars(&self) -> &BTreeMap<String, String> {
        &self.env
    }

    fn var(&self, key: &str) -> &str {
        self.env.get(key).map(String::as_str).unwrap_or_else(|| {
            panic!(
                "sealkit e2e: {key} missing from {}/env.json",
                self.dir.display()
            )
        })
    }

    /// Admin (`system:masters`) kubeconfig.
    pub fn kubeconfig_path(&self) -> PathBuf {
        PathBuf::from(self.var("KUBECONFIG"))
    }

    /// Kubeconfig of the unprivileged user (no RBAC grants beyond `system:authenticated`).
    pub fn unprivileged_kubeconfig_path(&self) -> PathBuf {
        PathBuf::from(self.var("SEALKIT_UNPRIVILEGED_KUBECONFIG"))
    }

    /// User name of the unprivileged user (for RoleBinding subjects): `alice`.
    pub fn unprivileged_user(&self) -> &str {
        self.var("SEALKIT_UNPRIVILEGED_USER")
    }

    /// `https://127.0.0.1:<port>`; also the service-account token issuer.
    pub fn api_url(&self) -> &str {
        self.var("SEALKIT_KUBE_API")
    }

    /// The CA certificate (PEM) of the API server.
    pub fn ca_cert_path(&self) -> PathBuf {
        self.dir.join("pki/ca.crt")
    }

    /// `http://127.0.0.1:<port>` of moto (Secrets Manager, STS, ... on one endpoint).
    pub fn moto_endpoint(&self) -> &str {
        self.var("SEALKIT_MOTO_ENDPOINT")
    }

    /// A client with admin rights.
    pub async fn client(&self) -> Client {
        client_from_kubeconfig(&self.kubeconfig_path()).await
    }

    /// A client of the unprivileged user.
    pub async fn unprivileged_client(&self) -> Client {
        client_from_kubeconfig(&self.unprivileged_kubeconfig_path()).await
    }

    /// Create a namespace `<prefix>-<random>`; it is deleted (without waiting) when the returned
    /// value is dropped, unless `SEALKIT_E2E_KEEP_NAMESPACES=1`.
    pub async fn fresh_namespace(&self, prefix: &str) -> TestNamespace {
        let name = unique_name(prefix);
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                labels: Some(BTreeMap::from([(
                    NAMESPACE_LABEL.to_owned(),
                    "true".to_owned(),
                )])),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        Api::<Namespace>::all(self.client().await)
            .create(&PostParams::default(), &ns)
            .await
            .unwrap_or_else(|e| panic!("sealkit e2e: creating namespace {name} failed: {e}"));
        TestNamespace {
            name,
            kubeconfig: self.kubeconfig_path(),
            kubectl: peer("kubectl"),
        }
    }

    /// A token for ServiceAccount `ns/sa` from the TokenRequest API (valid 1 h), creating the
    /// ServiceAccount if it does not exist. `audience: None` gives a token for the API server;
    /// `Some("sts.amazonaws.com")` one for AssumeRoleWithWebIdentity.
    pub async fn service_account_token(
        &self,
        ns: &str,
        sa: &str,
        audience: Option<&str>,
    ) -> String {
        let api: Api<ServiceAccount> = Api::namespaced(self.client().await, ns);
        let account = ServiceAccount {
            metadata: ObjectMeta {
                name: Some(sa.to_owned()),
                ..ObjectMeta::default()
            },
            ..ServiceAccount::default()
        };
        match api.create(&PostParams::default(), &account).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => panic!("sealkit e2e: creating ServiceAccount {ns}/{sa} failed: {e}"),
        }
        let request = TokenRequest {
            spec: Some(TokenRequestSpec {
                audiences: audience.map(|a| vec![a.to_owned()]),
                expiration_seconds: Some(3600),
                ..TokenRequestSpec::default()
            }),
            ..TokenRequest::default()
        };
        let answer = api
            .create_token_request(sa, &PostParams::default(), &request)
            .await
            .unwrap_or_else(|e| panic!("sealkit e2e: TokenRequest for {ns}/{sa} failed: {e}"));
        answer
            .status
            .and_then(|s| s.token)
            .unwrap_or_else(|| panic!("sealkit e2e: TokenRequest for {ns}/{sa} returned no token"))
    }

    /// A kubeconfig file that authenticates as ServiceAccount `ns/sa` with a TokenRequest token
    /// (the same identity a pod would have); for starting a controller binary under test with
    /// exactly the RBAC its chart grants. The file lives in the environment's directory.
    pub async fn service_account_kubeconfig(&self, ns: &str, sa: &str) -> PathBuf {
        let token = self.service_account_token(ns, sa, None).await;
        let dir = self.dir.join("sa-kubeconfigs");
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("sealkit e2e: mkdir {}: {e}", dir.display()));
        let path = dir.join(format!("{}.kubeconfig", unique_name(&format!("{ns}-{sa}"))));
        let ca = self.ca_cert_path();
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: sealkit-testenv\n  cluster:\n    \
             server: {server}\n    certificate-authority: {ca}\nusers:\n- name: {sa}\n  user:\n    \
             token: {token}\ncontexts:\n- name: {sa}@sealkit-testenv\n  context:\n    cluster: \
             sealkit-testenv\n    user: {sa}\n    namespace: {ns}\ncurrent-context: \
             {sa}@sealkit-testenv\n",
            server = self.api_url(),
            ca = ca.display(),
        );
        write_private_file(&path, text.as_bytes());
        path
    }

    /// A client authenticated as ServiceAccount `ns/sa` (see [`Self::service_account_kubeconfig`]).
    pub async fn service_account_client(&self, ns: &str, sa: &str) -> Client {
        let path = self.service_account_kubeconfig(ns, sa).await;
        client_from_kubeconfig(&path).await
    }

    /// A `Command` that runs `program` as if in a pod of ServiceAccount `ns/sa`: for peers such as
    /// the sealed-secrets controller, which only knows `rest.InClusterConfig()`. It sets
    /// `KUBERNETES_SERVICE_HOST/PORT` and `POD_NAMESPACE`, and bind-mounts a directory holding
    /// `token` (TokenRequest), `ca.crt` and `namespace` over
    /// `/var/run/secrets/kubernetes.io/serviceaccount` in a private mount namespace
    /// (`unshare --mount`, needs root; the host's mount table is not touched). Add the program's
    /// own arguments with `.arg(..)`; wrap the spawned child in a [`ChildGuard`].
    pub async fn in_cluster_command(&self, ns: &str, sa: &str, program: &Path) -> Command {
        const MOUNT_POINT: &str = "/run/secrets/kubernetes.io/serviceaccount";
        let token = self.service_account_token(ns, sa, None).await;
        let dir = self
            .dir
            .join("in-cluster")
            .join(unique_name(&format!("{ns}-{sa}")));
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::create_dir_all(MOUNT_POINT))
            .unwrap_or_else(|e| panic!("sealkit e2e: preparing the in-cluster files: {e}"));
        write_private_file(&dir.join("token"), token.as_bytes());
        write_private_file(&dir.join("namespace"), ns.as_bytes());
        let ca = std::fs::read(self.ca_cert_path())
            .unwrap_or_else(|e| panic!("sealkit e2e: reading the CA certificate: {e}"));
        write_private_file(&dir.join("ca.crt"), &ca);
        let port = self
            .api_url()
            .rsplit_once(':')
            .map(|(_, p)| p.to_owned())
            .unwrap_or_default();
        let mut cmd = Command::new("unshare");
        cmd.args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg(format!(
                "mount --bind \"$1\" {MOUNT_POINT} && shift && exec \"$@\""
            ))
            .arg("sealkit-in-cluster")
            .arg(&dir)
            .arg(program)
            .env("KUBERNETES_SERVICE_HOST", "127.0.0.1")
            .env("KUBERNETES_SERVICE_PORT", port)
            .env("POD_NAMESPACE", ns);
        cmd
    }

    /// AWS SDK config for moto: endpoint override, static test credentials, region `us-east-1`,
    /// the SDK's default retry policy.
    pub async fn aws_sdk_config(&self) -> aws_config::SdkConfig {
        aws_sdk_config_for(self.moto_endpoint()).await
    }

    /// A Secrets Manager client talking to moto.
    pub async fn secrets_manager(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.aws_sdk_config().await)
    }

    /// An STS client talking to moto.
    pub async fn sts(&self) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::new(&self.aws_sdk_config().await)
    }
}

/// AWS SDK config for any endpoint (moto, or a [`fault_proxy::FaultProxy`] in front of it), with
/// the static test credentials and region.
pub async fn aws_sdk_config_for(endpoint: &str) -> aws_config::SdkConfig {
    let credentials = aws_credential_types::Credentials::new(
        AWS_ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY,
        None,
        None,
        "sealkit-e2e",
    );
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(AWS_REGION))
        .endpoint_url(endpoint)
        .credentials_provider(credentials)
        .load()
        .await
}

/// A kube client from a kubeconfig file.
pub async fn client_from_kubeconfig(path: &Path) -> Client {
    let kubeconfig = Kubeconfig::read_from(path)
        .unwrap_or_else(|e| panic!("sealkit e2e: reading kubeconfig {}: {e}", path.display()));
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap_or_else(|e| panic!("sealkit e2e: kubeconfig {}: {e}", path.display()));
    Client::try_from(config)
        .unwrap_or_else(|e| panic!("sealkit e2e: client from {}: {e}", path.display()))
}

/// A namespace made by [`TestEnv::fresh_namespace`]; deleted (best effort, not awaited) on drop.
#[derive(Debug)]
pub struct TestNamespace {
    name: String,
    kubeconfig: PathBuf,
    kubectl: PathBuf,
}

impl TestNamespace {
    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        if std::env::var("SEALKIT_E2E_KEEP_NAMESPACES").is_ok_and(|v| v == "1") {
            return;
        }
        // synchronous on purpose: Drop cannot await, and kubectl is always in the cache
        let _ = Command::new(&self.kubectl)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args([
                "delete",
                "namespace",
                &self.name,
                "--wait=false",
                "--ignore-not-found",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// `<prefix>-<8 random hex digits>`, lower-cased and cut to fit a DNS label.
pub fn unique_name(prefix: &str) -> String {
    let clean: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let clean = clean.trim_matches('-');
    let clean = &clean[..clean.len().min(50)];
    let suffix: u32 = rand::random();
    format!("{}-{suffix:08x}", clean.trim_end_matches('-'))
}

/// Creates Role `name` with `rules` in `ns` and binds it (RoleBinding of the same name) to
/// `subject`: the one way tests grant an identity exactly what it needs.
pub async fn grant_role(
    client: &Client,
    ns: &str,
    name: &str,
    rules: Vec<k8s_openapi::api::rbac::v1::PolicyRule>,
    subject: k8s_openapi::api::rbac::v1::Subject,
) {
    use k8s_openapi::api::rbac::v1::{Role, RoleBinding, RoleRef};
    let metadata = ObjectMeta {
        name: Some(name.to_owned()),
        ..ObjectMeta::default()
    };
    let role = Role {
        metadata: metadata.clone(),
        rules: Some(rules),
    };
    Api::<Role>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &role)
        .await
        .unwrap_or_else(|e| panic!("create Role {ns}/{name}: {e}"));
    let binding = RoleBinding {
        metadata,
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".into()),
            kind: "Role".into(),
            name: name.to_owned(),
        },
        subjects: Some(vec![subject]),
    };
    Api::<RoleBinding>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &binding)
        .await
        .unwrap_or_else(|e| panic!("create RoleBinding {ns}/{name}: {e}"));
}

/// Seals a one-item Secret (`password: value`) in `ns`/`name` with the `sealkit` CLI, using the
/// certificate served at `cert_url`; writes the input and the SealedSecret under `dir` and returns
/// the SealedSecret's path. Panics with sealkit's message when sealing fails.
pub fn seal_with_sealkit(ns: &str, name: &str, value: &str, cert_url: &str, dir: &Path) -> PathBuf {
    use base64::Engine as _;
    let secret = dir.join(format!("{ns}-{name}.secret.yaml"));
    let b64 = base64::engine::general_purpose::STANDARD.encode(value);
    std::fs::write(
        &secret,
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {ns}\ndata:\n  password: {b64}\n"
        ),
    )
    .expect("write the input Secret");
    let sealed = dir.join(format!("{ns}-{name}.sealed.yaml"));
    let out = std::process::Command::new(bin("sealkit"))
        .args(["--cert", cert_url, "-f"])
        .arg(&secret)
        .arg("-w")
        .arg(&sealed)
        .output()
        .expect("run sealkit");
    assert!(
        out.status.success(),
        "sealkit failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    sealed
}

/// Path of one of our binaries in `target/debug` (`sealkit`, `sealkit-controller`, ...). Panics
/// with the command to build it if missing. `scripts/test` builds all of them before the tests;
/// when running `cargo test -p sealkit-e2e` by hand, build them first or they may be stale.
pub fn bin(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = target.join("debug").join(name);
    if !path.is_file() {
        panic!(
            "sealkit e2e: binary {} not found; build it with `cargo build --workspace --bins` \
             (scripts/test does this)",
            path.display()
        );
    }
    path
}

/// Path of a peer binary in the test-environment cache (`kubeseal`, `sealed-secrets-controller`,
/// `kubectl`, `helm`, `etcd`, `kube-apiserver`, ...). Panics naming `scripts/testenv build` if
/// missing.
pub fn peer(name: &str) -> PathBuf {
    let path = cache_dir().join("bin").join(name);
    if !path.is_file() {
        panic!(
            "sealkit e2e: peer binary {} not found; run `scripts/testenv build`",
            path.display()
        );
    }
    path
}

/// The test-environment cache: `$SEALKIT_TESTENV_CACHE`, default `~/.cache/sealkit-testenv`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SEALKIT_TESTENV_CACHE").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
    home.join(".cache/sealkit-testenv")
}

/// A spawned process that is killed (SIGKILL) and reaped when dropped, so a failing test never
/// leaves a controller running.
#[derive(Debug)]
pub struct ChildGuard {
    name: String,
    child: Child,
}

impl ChildGuard {
    /// Spawn `cmd`; panics with `name` and the error if it cannot be started.
    pub fn spawn(name: &str, cmd: &mut Command) -> ChildGuard {
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("sealkit e2e: cannot start {name}: {e}"));
        ChildGuard {
            name: name.to_owned(),
            child,
        }
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The underlying child (for its pipes or `try_wait`).
    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Panics (with `name`) if the process has exited, e.g. after a readiness wait.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("sealkit e2e: {} exited unexpectedly: {status}", self.name);
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free TCP port on 127.0.0.1 (for a process's listen address).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// Poll `check` every 200 ms until it returns `Some`, or panic after `timeout` naming `what`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if start.elapsed() > timeout {
            panic!("sealkit e2e: timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn process_alive(pid_file: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(pid_file) else {
        return false;
    };
    let mut fields = text.split_whitespace();
    let (Some(pid), Some(start)) = (fields.next(), fields.next()) else {
        return false;
    };
    // field 22 of /proc/<pid>/stat is the start time; it tells a recycled PID apart
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let after_comm = stat.rsplit_once(')')?.1;
            after_comm.split_whitespace().nth(19).map(|s| s == start)
        })
        .unwrap_or(false)
}

fn write_private_file(path: &Path, bytes: &[u8]) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let result = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| f.write_all(bytes))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = result {
        panic!("sealkit e2e: writing {}: {e}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loading_a_missing_environment_names_the_script() {
        let err = TestEnv::load(Path::new("/nonexistent/sealkit-testenv.none")).unwrap_err();
        assert!(err.contains("scripts/testenv up"), "{err}");
        assert!(err.contains("scripts/test"), "{err}");
    }

    #[test]
    fn unique_names_are_dns_labels_with_the_prefix() {
        let a = unique_name("Sealed_Secrets.Interop");
        let b = unique_name("Sealed_Secrets.Interop");
        assert_ne!(a, b);
        assert!(a.starts_with("sealed-secrets-interop-"), "{a}");
        assert!(a.len() <= 63);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
        assert!(unique_name(&"x".repeat(100)).len() <= 63);
    }

    #[test]
    fn a_pid_file_of_a_dead_process_is_not_alive() {
        let dir = std::env::temp_dir().join(unique_name("pidfile"));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("x.pid");
        std::fs::write(&file, "999999999 12345\n").unwrap();
        assert!(!process_alive(&file));
        // our own process with a wrong start time is not "ours" either
        std::fs::write(&file, format!("{} 1\n", std::process::id())).unwrap();
        assert!(!process_alive(&file));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
