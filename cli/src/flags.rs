//! Command-line flags: kubeseal's flags with the same names, short options and
//! `SEALED_SECRETS_<FLAG>` environment variables, plus sealkit's additions.
//!
//! kubeseal reads every flag (its own and kubectl's client flags) from
//! `SEALED_SECRETS_<FLAG_IN_UPPER_SNAKE>` when it is not given on the command line
//! (`pkg/pflagenv`); the same mapping is used here.

use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Every flag can also be set with an environment variable SEALED_SECRETS_<FLAG>, the flag name in
upper case with dashes as underscores (SEALED_SECRETS_CERT, SEALED_SECRETS_CONTROLLER_NAME, ...);
the command line wins.

Examples:
  sealkit --cert cert.pem -f secret.yaml -w sealed.yaml      seal offline (Bitnami format)
  sealkit --recipient age1... < secret.yaml                   seal offline (native format)
  sealkit < secret.yaml > sealed.json                         seal with the cluster's public keys
  sealkit seal --in-place manifests/ --cert cert.pem          seal every Secret under a tree
  sealkit --recovery-unseal --recovery-private-key key.yaml -f sealed.yaml -w secret.yaml
  sealkit keygen -w sealed-secrets-key.yaml                   create a key pair offline

Exit status: 0 success, 1 user or input error, 2 internal error.";

/// Seal Kubernetes Secrets into SealedSecrets (kubeseal-compatible).
#[derive(Debug, Parser)]
#[command(
    name = "sealkit",
    version,
    about = "Seal Kubernetes Secrets into SealedSecrets: kubeseal's flags, offline-first, several clusters at once",
    after_help = AFTER_HELP,
    args_conflicts_with_subcommands = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub seal: SealArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Seal Secrets (the default action); with --in-place, every Secret manifest under a directory.
    Seal(Box<SealCommand>),
    /// Create a sealing key pair offline and write it as a controller key Secret.
    Keygen(KeygenArgs),
}

#[derive(Debug, Args)]
pub struct SealCommand {
    /// Seal every Secret manifest (.yaml, .yml, .json) under these directories or files in place;
    /// other documents are left untouched.
    #[arg(long, value_name = "PATH", env = "SEALED_SECRETS_IN_PLACE")]
    pub in_place: Vec<PathBuf>,

    #[command(flatten)]
    pub seal: SealArgs,
}

/// kubeseal's flags (same names, same defaults) and sealkit's additions.
#[derive(Debug, Args, Clone)]
pub struct SealArgs {
    /// Certificate / public key file or URL (http, https, file) to seal with (Bitnami format).
    /// Overrides --controller-*.
    #[arg(
        long,
        value_name = "FILE|URL",
        env = "SEALED_SECRETS_CERT",
        help_heading = "Public keys"
    )]
    pub cert: Vec<String>,

    /// age recipient (age1...) to seal for (native format); repeat it to seal for several
    /// clusters at once.
    #[arg(
        long,
        value_name = "AGE1...",
        env = "SEALED_SECRETS_RECIPIENT",
        help_heading = "Public keys"
    )]
    pub recipient: Vec<String>,

    /// File with one age recipient per line (# comments allowed), as served by /v1/recipients.
    #[arg(
        long,
        value_name = "FILE",
        env = "SEALED_SECRETS_RECIPIENTS_FILE",
        help_heading = "Public keys"
    )]
    pub recipients_file: Vec<PathBuf>,

    /// Sealing format: native (age) or bitnami (RSA-OAEP, readable by the Bitnami controller).
    /// auto: native when age recipients are known, bitnami for a single --cert.
    #[arg(long, value_enum, default_value_t = SealingFormat::Auto, env = "SEALED_SECRETS_SEALING_FORMAT", help_heading = "Public keys")]
    pub sealing_format: SealingFormat,

    /// Namespace of the sealed-secrets controller.
    #[arg(
        long,
        default_value = "kube-system",
        env = "SEALED_SECRETS_CONTROLLER_NAMESPACE",
        help_heading = "Public keys"
    )]
    pub controller_namespace: String,

    /// Name of the sealed-secrets controller.
    #[arg(
        long,
        default_value = "sealed-secrets-controller",
        env = "SEALED_SECRETS_CONTROLLER_NAME",
        help_heading = "Public keys"
    )]
    pub controller_name: String,

    /// Where to get the controller's public keys: the <controller-name>-public-keys ConfigMap,
    /// the API server's service proxy, or auto (ConfigMap first, then the proxy).
    #[arg(long, value_enum, default_value_t = KeySource::Auto, env = "SEALED_SECRETS_PUBLIC_KEYS_FROM", help_heading = "Public keys")]
    pub public_keys_from: KeySource,

    /// Write the certificate to stdout (from --cert or the controller) and exit.
    #[arg(long, env = "SEALED_SECRETS_FETCH_CERT", value_parser = BoolishValueParser::new(), help_heading = "Public keys")]
    pub fetch_cert: bool,

    /// Write the controller's age recipients to stdout, one per line, and exit.
    #[arg(long, env = "SEALED_SECRETS_FETCH_RECIPIENTS", value_parser = BoolishValueParser::new(), help_heading = "Public keys")]
    pub fetch_recipients: bool,

    /// Output format for sealed secret. Either json or yaml.
    #[arg(short = 'o', long, value_enum, ignore_case = true, default_value_t = OutputFormat::Json, env = "SEALED_SECRETS_FORMAT", help_heading = "Input and output")]
    pub format: OutputFormat,

    /// Sealed-secret (output) file; a .yaml/.yml name selects YAML. Written atomically, only on success.
    #[arg(
        short = 'w',
        long,
        value_name = "FILE",
        env = "SEALED_SECRETS_SEALED_SECRET_FILE",
        help_heading = "Input and output"
    )]
    pub sealed_secret_file: Option<PathBuf>,

    /// Secret (input) file; default: stdin.
    #[arg(
        short = 'f',
        long,
        value_name = "FILE",
        env = "SEALED_SECRETS_SECRET_FILE",
        help_heading = "Input and output"
    )]
    pub secret_file: Option<PathBuf>,

    /// Allow empty data in the secret object.
    #[arg(long, env = "SEALED_SECRETS_ALLOW_EMPTY_DATA", value_parser = BoolishValueParser::new(), help_heading = "Sealing")]
    pub allow_empty_data: bool,

    /// Set the scope of the sealed secret: strict, namespace-wide, cluster-wide (defaults to strict).
    /// Mandatory for --raw, otherwise the sealedsecrets.bitnami.com/cluster-wide and
    /// sealedsecrets.bitnami.com/namespace-wide annotations on the input secret select the scope.
    #[arg(
        long,
        value_enum,
        env = "SEALED_SECRETS_SCOPE",
        help_heading = "Sealing"
    )]
    pub scope: Option<ScopeArg>,

    /// Name of the sealed secret (required with --raw and strict scope); overrides the input's name.
    #[arg(long, env = "SEALED_SECRETS_NAME", help_heading = "Sealing")]
    pub name: Option<String>,

    /// Merge items from the secret into an existing sealed secret file, updating it in place.
    #[arg(
        long,
        value_name = "FILE",
        env = "SEALED_SECRETS_MERGE_INTO",
        help_heading = "Sealing"
    )]
    pub merge_into: Option<PathBuf>,

    /// Encrypt a raw value (from --from-file or stdin) instead of a whole Secret; prints base64.
    #[arg(long, env = "SEALED_SECRETS_RAW", value_parser = BoolishValueParser::new(), help_heading = "Sealing")]
    pub raw: bool,

    /// (only with --raw) Source of the value, kubectl syntax [key=]path; /dev/stdin reads a pipe.
    #[arg(
        long,
        value_name = "[KEY=]PATH",
        value_delimiter = ',',
        env = "SEALED_SECRETS_FROM_FILE",
        help_heading = "Sealing"
    )]
    pub from_file: Vec<String>,

    /// Validate that the sealed secret can be decrypted (by the controller, or offline with
    /// --recovery-private-key).
    #[arg(long, env = "SEALED_SECRETS_VALIDATE", value_parser = BoolishValueParser::new(), help_heading = "Existing SealedSecrets")]
    pub validate: bool,

    /// Re-encrypt the given sealed secret to use the latest cluster key (offline with
    /// --recovery-private-key and --cert/--recipient). With -f and no -w, rewrites the input file.
    #[arg(long, visible_alias = "rotate", env = "SEALED_SECRETS_RE_ENCRYPT", value_parser = BoolishValueParser::new(), help_heading = "Existing SealedSecrets")]
    pub re_encrypt: bool,

    /// Decrypt a sealed secrets file using the private keys passed with --recovery-private-key.
    /// Intended for disaster recovery; refuses to write plaintext to a terminal.
    #[arg(long, env = "SEALED_SECRETS_RECOVERY_UNSEAL", value_parser = BoolishValueParser::new(), help_heading = "Existing SealedSecrets")]
    pub recovery_unseal: bool,

    /// Private key files: PEM private keys, key Secrets (JSON/YAML) or a v1 List of them
    /// (a backup). Comma-separated or repeated.
    #[arg(
        long,
        value_name = "FILE",
        value_delimiter = ',',
        env = "SEALED_SECRETS_RECOVERY_PRIVATE_KEY",
        help_heading = "Existing SealedSecrets"
    )]
    pub recovery_private_key: Vec<PathBuf>,

    /// Let --recovery-unseal print plaintext to a terminal.
    #[arg(long, env = "SEALED_SECRETS_PLAINTEXT_TO_TERMINAL", value_parser = BoolishValueParser::new(), help_heading = "Existing SealedSecrets")]
    pub plaintext_to_terminal: bool,

    #[command(flatten)]
    pub kube: KubeArgs,
}

/// kubectl's client flags (kubeseal binds client-go's RecommendedConfigOverrideFlags).
#[derive(Debug, Args, Clone, Default)]
pub struct KubeArgs {
    /// Path to a kube config. Only required if out-of-cluster.
    #[arg(
        long,
        value_name = "FILE",
        env = "SEALED_SECRETS_KUBECONFIG",
        help_heading = "Cluster"
    )]
    pub kubeconfig: Option<PathBuf>,

    /// If present, the namespace scope for this CLI request.
    #[arg(
        short = 'n',
        long,
        env = "SEALED_SECRETS_NAMESPACE",
        help_heading = "Cluster"
    )]
    pub namespace: Option<String>,

    /// The name of the kubeconfig context to use.
    #[arg(long, env = "SEALED_SECRETS_CONTEXT", help_heading = "Cluster")]
    pub context: Option<String>,

    /// The name of the kubeconfig cluster to use.
    #[arg(long, env = "SEALED_SECRETS_CLUSTER", help_heading = "Cluster")]
    pub cluster: Option<String>,

    /// The name of the kubeconfig user to use.
    #[arg(long, env = "SEALED_SECRETS_USER", help_heading = "Cluster")]
    pub user: Option<String>,

    /// The address and port of the Kubernetes API server.
    #[arg(
        short = 's',
        long,
        env = "SEALED_SECRETS_SERVER",
        help_heading = "Cluster"
    )]
    pub server: Option<String>,

    /// Bearer token for authentication to the API server.
    #[arg(
        long,
        env = "SEALED_SECRETS_TOKEN",
        hide_env_values = true,
        help_heading = "Cluster"
    )]
    pub token: Option<String>,

    /// Username to impersonate for the operation.
    #[arg(long = "as", env = "SEALED_SECRETS_AS", help_heading = "Cluster")]
    pub as_user: Option<String>,

    /// Group to impersonate for the operation; repeatable.
    #[arg(
        long = "as-group",
        env = "SEALED_SECRETS_AS_GROUP",
        help_heading = "Cluster"
    )]
    pub as_group: Vec<String>,

    /// Path to a cert file for the certificate authority.
    #[arg(
        long,
        value_name = "FILE",
        env = "SEALED_SECRETS_CERTIFICATE_AUTHORITY",
        help_heading = "Cluster"
    )]
    pub certificate_authority: Option<PathBuf>,

    /// Path to a client certificate file for TLS.
    #[arg(
        long,
        value_name = "FILE",
        env = "SEALED_SECRETS_CLIENT_CERTIFICATE",
        help_heading = "Cluster"
    )]
    pub client_certificate: Option<PathBuf>,

    /// Path to a client key file for TLS.
    #[arg(
        long,
        value_name = "FILE",
        env = "SEALED_SECRETS_CLIENT_KEY",
        help_heading = "Cluster"
    )]
    pub client_key: Option<PathBuf>,

    /// If true, the server's certificate will not be checked for validity (insecure).
    #[arg(long, env = "SEALED_SECRETS_INSECURE_SKIP_TLS_VERIFY", value_parser = BoolishValueParser::new(), help_heading = "Cluster")]
    pub insecure_skip_tls_verify: bool,

    /// Server name to use for server certificate validation.
    #[arg(long, env = "SEALED_SECRETS_TLS_SERVER_NAME", help_heading = "Cluster")]
    pub tls_server_name: Option<String>,

    /// The length of time to wait before giving up on a single server request (e.g. 10s, 1m).
    #[arg(long, env = "SEALED_SECRETS_REQUEST_TIMEOUT", help_heading = "Cluster")]
    pub request_timeout: Option<String>,

    /// klog verbosity (accepted for compatibility with kubeseal; sealkit logs nothing).
    #[arg(short = 'v', long = "v", hide = true)]
    pub verbosity: Option<String>,
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// File to write the key Secret to (created 0600, atomically); refuses to overwrite.
    #[arg(short = 'w', long = "output", value_name = "FILE")]
    pub output: PathBuf,

    /// Namespace of the key Secret (the controller's namespace).
    #[arg(short = 'n', long, default_value = "kube-system")]
    pub namespace: String,

    /// metadata.generateName of the key Secret (the controller's --key-prefix).
    #[arg(long, default_value = "sealed-secrets-key")]
    pub key_prefix: String,

    /// Also write the certificate (PEM) to this file.
    #[arg(long, value_name = "FILE")]
    pub cert_out: Option<PathBuf>,

    /// Also write the age recipient to this file.
    #[arg(long, value_name = "FILE")]
    pub recipients_out: Option<PathBuf>,

    /// Output format of the key Secret (default: from the file name, else yaml).
    #[arg(short = 'o', long, value_enum, ignore_case = true)]
    pub format: Option<OutputFormat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Json,
    Yaml,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScopeArg {
    Strict,
    NamespaceWide,
    ClusterWide,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SealingFormat {
    Auto,
    Native,
    Bitnami,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeySource {
    Auto,
    ConfigMap,
    ServiceProxy,
}
