//! Calls to AWS Secrets Manager and STS: one client per store identity, a client-side token
//! bucket per account and region, our own retries (the SDK's are off so every HTTP call is counted
//! and backed off with jitter, honouring `ThrottlingException`), and error classification that
//! never carries an AWS message text (they can echo input).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use aws_credential_types::Credentials;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType};
use aws_smithy_types::retry::RetryConfig;
use rand::Rng as _;
use sealkit_crypto::SecretBytes;

use super::metrics::Metrics;

/// `RoleSessionName` used for STS, as ESO.
pub const ROLE_SESSION_NAME: &str = "external-secrets-provider-aws";

/// Endpoint overrides (ESO's variables, then the SDK's standard ones).
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    /// Secrets Manager endpoint.
    pub secrets_manager: Option<String>,
    /// STS endpoint.
    pub sts: Option<String>,
}

impl Endpoints {
    /// Reads `AWS_SECRETSMANAGER_ENDPOINT`, `AWS_ENDPOINT_URL_SECRETS_MANAGER`, `AWS_STS_ENDPOINT`,
    /// `AWS_ENDPOINT_URL_STS` and `AWS_ENDPOINT_URL`, first set wins.
    pub fn from_env() -> Self {
        let var = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
        };
        Endpoints {
            secrets_manager: var(&[
                "AWS_SECRETSMANAGER_ENDPOINT",
                "AWS_ENDPOINT_URL_SECRETS_MANAGER",
                "AWS_ENDPOINT_URL",
            ]),
            sts: var(&[
                "AWS_STS_ENDPOINT",
                "AWS_ENDPOINT_URL_STS",
                "AWS_ENDPOINT_URL",
            ]),
        }
    }
}

/// Secret bytes fetched from AWS: zeroized on drop, never printed.
pub type Payload = SecretBytes;

/// One secret version as AWS returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteValue {
    /// `SecretString` bytes, when present.
    pub string: Option<Payload>,
    /// `SecretBinary` bytes (already base64-decoded by the SDK), when present.
    pub binary: Option<Payload>,
    /// VersionId.
    pub version_id: Option<String>,
    /// Secret name.
    pub name: Option<String>,
    /// Secret ARN.
    pub arn: Option<String>,
}

impl RemoteValue {
    /// Payload without `property`: SecretString if present, else SecretBinary.
    pub fn payload(&self) -> Option<&[u8]> {
        self.string
            .as_ref()
            .or(self.binary.as_ref())
            .map(Payload::expose_secret)
    }
    /// Payload for `property`/`find`: SecretBinary preferred (as ESO).
    pub fn payload_binary_first(&self) -> Option<&[u8]> {
        self.binary
            .as_ref()
            .or(self.string.as_ref())
            .map(Payload::expose_secret)
    }
}

/// A failed AWS call, classified. Carries codes and operation names only.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum AwsError {
    /// `ResourceNotFoundException`, or `InvalidRequestException` for a secret scheduled for deletion.
    #[error("secret does not exist (or is scheduled for deletion)")]
    NotFound,
    /// Throttled after our retries.
    #[error("{operation}: throttled by AWS (ThrottlingException) after {attempts} attempts")]
    Throttled {
        /// Operation.
        operation: &'static str,
        /// Attempts made.
        attempts: u32,
    },
    /// Not allowed.
    #[error("{operation}: access denied (check the IAM policy of the store's credentials)")]
    AccessDenied {
        /// Operation.
        operation: &'static str,
    },
    /// Could not reach the endpoint.
    #[error("{operation}: cannot reach AWS ({kind})")]
    Transport {
        /// Operation.
        operation: &'static str,
        /// `timeout`, `dispatch`, `response`.
        kind: &'static str,
    },
    /// Any other service error.
    #[error("{operation}: AWS error {code} (HTTP {status})")]
    Service {
        /// Operation.
        operation: &'static str,
        /// Error code.
        code: String,
        /// HTTP status.
        status: u16,
    },
    /// Credentials could not be obtained.
    #[error("credentials: {0}")]
    Credentials(String),
}

impl AwsError {
    /// Worth retrying later.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            AwsError::Throttled { .. } | AwsError::Transport { .. }
        ) || matches!(self, AwsError::Service { status, .. } if *status >= 500)
    }
}

fn classify<E, R>(operation: &'static str, err: &SdkError<E, R>) -> AwsError
where
    E: ProvideErrorMetadata,
    R: HttpStatus,
{
    match err {
        SdkError::TimeoutError(_) => AwsError::Transport {
            operation,
            kind: "timeout",
        },
        SdkError::DispatchFailure(_) => AwsError::Transport {
            operation,
            kind: "dispatch",
        },
        SdkError::ResponseError(ctx) => {
            let status = ctx.raw().status();
            if status == 429 {
                return AwsError::Throttled {
                    operation,
                    attempts: 1,
                };
            }
            if status == 403 {
                return AwsError::AccessDenied { operation };
            }
            AwsError::Transport {
                operation,
                kind: "response",
            }
        }
        SdkError::ServiceError(ctx) => {
            let status = ctx.raw().status();
            let code = ctx.err().code().unwrap_or("").to_owned();
            let message = ctx.err().message().unwrap_or("").to_ascii_lowercase();
            classify_code(operation, &code, &message, status)
        }
        _ => AwsError::Transport {
            operation,
            kind: "request",
        },
    }
}

/// Maps an error code (and, only to recognise deletion, the message) to an [`AwsError`].
pub fn classify_code(
    operation: &'static str,
    code: &str,
    message_lower: &str,
    status: u16,
) -> AwsError {
    if status == 403 {
        // HTTP 403 is an authorization failure whatever the body says (IAM answers in XML)
        return AwsError::AccessDenied { operation };
    }
    match code {
        "ResourceNotFoundException" => AwsError::NotFound,
        "InvalidRequestException" if message_lower.contains("delet") => AwsError::NotFound,
        "ThrottlingException"
        | "Throttling"
        | "TooManyRequestsException"
        | "RequestLimitExceeded" => AwsError::Throttled {
            operation,
            attempts: 1,
        },
        "AccessDeniedException"
        | "AccessDenied"
        | "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "ExpiredTokenException"
        | "ExpiredToken"
        | "SignatureDoesNotMatch" => AwsError::AccessDenied { operation },
        "" if status == 403 => AwsError::AccessDenied { operation },
        "" if status == 429 => AwsError::Throttled {
            operation,
            attempts: 1,
        },
        "" => AwsError::Service {
            operation,
            code: "unknown".to_owned(),
            status,
        },
        other => AwsError::Service {
            operation,
            code: other
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .take(64)
                .collect(),
            status,
        },
    }
}

/// HTTP status of a raw response (lets [`classify`] work for both SDKs).
pub trait HttpStatus {
    /// Status code.
    fn status(&self) -> u16;
}

impl HttpStatus for aws_sdk_secretsmanager::config::http::HttpResponse {
    fn status(&self) -> u16 {
        self.status().as_u16()
    }
}

/// Client-side token bucket for one account and region, with a shared pause after throttling.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    state: Mutex<BucketState>,
}

struct BucketState {
    tokens: f64,
    last: Instant,
    paused_until: Instant,
}

impl RateLimiter {
    /// `rate` requests per second, bursts of `burst`.
    pub fn new(rate: f64, burst: u32) -> Self {
        let now = Instant::now();
        RateLimiter {
            rate: rate.max(0.1),
            burst: f64::from(burst.max(1)),
            state: Mutex::new(BucketState {
                tokens: f64::from(burst.max(1)),
                last: now,
                paused_until: now,
            }),
        }
    }

    /// Waits for a token.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                if now < s.paused_until {
                    s.paused_until - now
                } else {
                    s.tokens = (s.tokens + now.duration_since(s.last).as_secs_f64() * self.rate)
                        .min(self.burst);
                    s.last = now;
                    if s.tokens >= 1.0 {
                        s.tokens -= 1.0;
                        return;
                    }
                    Duration::from_secs_f64((1.0 - s.tokens) / self.rate)
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// AWS throttled us: every caller of this account and region pauses for `pause`.
    pub fn throttled(&self, pause: Duration) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let until = Instant::now() + pause;
        if until > s.paused_until {
            s.paused_until = until;
        }
        s.tokens = 0.0;
    }
}

/// Exponential backoff with full jitter: `base * 2^attempt`, capped, times a random factor in [0.5, 1].
pub fn backoff(attempt: u32, base: Duration, cap: Duration) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.min(16)).min(cap);
    let factor: f64 = rand::rng().random_range(0.5..=1.0);
    exp.mul_f64(factor)
}

/// Rate limiters shared by all stores, keyed by account and region.
#[derive(Default)]
pub struct RateLimiters {
    map: Mutex<HashMap<String, Arc<RateLimiter>>>,
}

impl RateLimiters {
    /// The limiter for `key`.
    pub fn get(&self, key: &str, rate: f64, burst: u32) -> Arc<RateLimiter> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(key.to_owned())
            .or_insert_with(|| Arc::new(RateLimiter::new(rate, burst)))
            .clone()
    }
}

/// One entry of `ListSecrets`.
#[derive(Debug, Clone)]
pub struct ListedSecret {
    /// Name.
    pub name: String,
    /// ARN.
    pub arn: String,
    /// VersionId carrying AWSCURRENT.
    pub current_version: Option<String>,
    /// Tags.
    pub tags: Vec<(String, String)>,
}

/// Filters of a `find`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ListFilter {
    /// Name prefix.
    pub name_prefix: Option<String>,
    /// Tag pairs (sent as loose tag-key/tag-value filters, paired exactly client-side).
    pub tags: Vec<(String, String)>,
}

/// Secrets Manager client of one store identity.
pub struct SecretsManager {
    client: aws_sdk_secretsmanager::Client,
    limiter: Arc<RateLimiter>,
    metrics: Arc<Metrics>,
    max_attempts: u32,
    batch_allowed: AtomicBool,
}

/// The HTTP client of every AWS call: the SDK's default (hyper, rustls with aws-lc-rs), plus the
/// proxy the environment names — `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY`, except hosts in
/// `NO_PROXY` — as ESO's Go SDK does; the SDK's default client ignores these variables, which
/// breaks clusters whose egress goes through a proxy. One client for the process: connections are
/// pooled across SecretStores.
pub(crate) fn http_client() -> aws_sdk_secretsmanager::config::SharedHttpClient {
    use aws_smithy_http_client::{Builder, Connector, proxy::ProxyConfig, tls};
    static CLIENT: std::sync::OnceLock<aws_sdk_secretsmanager::config::SharedHttpClient> =
        std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            Builder::new().build_with_connector_fn(|settings, components| {
                let mut builder = Connector::builder().proxy_config(ProxyConfig::from_env());
                builder.set_connector_settings(settings.cloned());
                if let Some(components) = components {
                    builder.set_sleep_impl(components.sleep_impl());
                }
                builder
                    .tls_provider(tls::Provider::Rustls(
                        tls::rustls_provider::CryptoMode::AwsLc,
                    ))
                    .build()
            })
        })
        .clone()
}

/// How many retries our calls make (first try included).
pub const DEFAULT_ATTEMPTS: u32 = 3;

impl SecretsManager {
    /// Builds a client with fixed credentials (SDK retries disabled: we retry and count ourselves).
    pub fn new(
        region: &str,
        endpoint: Option<&str>,
        credentials: Credentials,
        limiter: Arc<RateLimiter>,
        metrics: Arc<Metrics>,
        max_attempts: u32,
    ) -> Self {
        let mut conf = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
            .http_client(http_client())
            .region(aws_sdk_secretsmanager::config::Region::new(
                region.to_owned(),
            ))
            .credentials_provider(credentials)
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                aws_smithy_types::timeout::TimeoutConfig::builder()
                    .operation_attempt_timeout(Duration::from_secs(10))
                    .connect_timeout(Duration::from_secs(5))
                    .build(),
            );
        if let Some(url) = endpoint {
            conf = conf.endpoint_url(url);
        }
        SecretsManager {
            client: aws_sdk_secretsmanager::Client::from_conf(conf.build()),
            limiter,
            metrics,
            max_attempts: max_attempts.max(1),
            batch_allowed: AtomicBool::new(true),
        }
    }

    async fn call<T, F, Fut, E>(&self, operation: &'static str, f: F) -> Result<T, AwsError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<
                Output = Result<T, SdkError<E, aws_sdk_secretsmanager::config::http::HttpResponse>>,
            >,
        E: ProvideErrorMetadata,
    {
        let mut attempt = 0;
        loop {
            self.limiter.acquire().await;
            let result = f().await;
            attempt += 1;
            match result {
                Ok(v) => {
                    self.metrics.aws_call(operation, "success");
                    return Ok(v);
                }
                Err(e) => {
                    let err = classify(operation, &e);
                    self.metrics.aws_call(operation, "error");
                    let retry = err.is_transient() && attempt < self.max_attempts;
                    if let AwsError::Throttled { .. } = err {
                        self.limiter.throttled(backoff(
                            attempt,
                            Duration::from_millis(500),
                            Duration::from_secs(20),
                        ));
                    }
                    tracing::debug!(operation, attempt, error = %err, "aws call failed");
                    if !retry {
                        return Err(match err {
                            AwsError::Throttled { operation, .. } => AwsError::Throttled {
                                operation,
                                attempts: attempt,
                            },
                            other => other,
                        });
                    }
                    tokio::time::sleep(backoff(
                        attempt,
                        Duration::from_millis(200),
                        Duration::from_secs(10),
                    ))
                    .await;
                }
            }
        }
    }

    /// `GetSecretValue` by stage (default AWSCURRENT) or, with `uuid/…`, by VersionId.
    pub async fn get_secret_value(
        &self,
        id: &str,
        version: Option<&str>,
    ) -> Result<RemoteValue, AwsError> {
        let out = self
            .call("GetSecretValue", || {
                let mut req = self.client.get_secret_value().secret_id(id);
                match version {
                    Some(v) if v.starts_with("uuid/") => req = req.version_id(&v[5..]),
                    Some(v) if !v.is_empty() => req = req.version_stage(v),
                    _ => req = req.version_stage("AWSCURRENT"),
                }
                req.send()
            })
            .await?;
        Ok(RemoteValue {
            string: out
                .secret_string()
                .map(|s| Payload::new(s.as_bytes().to_vec())),
            binary: out
                .secret_binary()
                .map(|b| Payload::new(b.as_ref().to_vec())),
            version_id: out.version_id().map(str::to_owned),
            name: out.name().map(str::to_owned),
            arn: out.arn().map(str::to_owned),
        })
    }

    /// `BatchGetSecretValue` by id list (≤ 20, enforced). Returns per-id results; ids AWS reports
    /// with an error other than not-found are returned as `Err(None)` so the caller falls back to
    /// `GetSecretValue`. `Err(Some(_))` for the whole call means the call failed.
    pub async fn batch_get(
        &self,
        ids: &[String],
    ) -> Result<Vec<(String, Result<RemoteValue, AwsError>)>, AwsError> {
        assert!(ids.len() <= 20, "BatchGetSecretValue takes at most 20 ids");
        let out = self
            .call("BatchGetSecretValue", || {
                self.client
                    .batch_get_secret_value()
                    .set_secret_id_list(Some(ids.to_vec()))
                    .send()
            })
            .await;
        let out = match out {
            Err(AwsError::AccessDenied { .. }) => {
                self.batch_allowed.store(false, Ordering::Relaxed);
                return Err(AwsError::AccessDenied {
                    operation: "BatchGetSecretValue",
                });
            }
            other => other?,
        };
        let mut results = Vec::new();
        for entry in out.secret_values() {
            let value = RemoteValue {
                string: entry
                    .secret_string()
                    .map(|s| Payload::new(s.as_bytes().to_vec())),
                binary: entry
                    .secret_binary()
                    .map(|b| Payload::new(b.as_ref().to_vec())),
                version_id: entry.version_id().map(str::to_owned),
                name: entry.name().map(str::to_owned),
                arn: entry.arn().map(str::to_owned),
            };
            let id = ids
                .iter()
                .find(|id| Some(id.as_str()) == entry.name() || Some(id.as_str()) == entry.arn())
                .cloned();
            if let Some(id) = id {
                results.push((id, Ok(value)));
            }
        }
        for e in out.errors() {
            let Some(id) = e.secret_id() else { continue };
            let code = e.error_code().unwrap_or("");
            let msg = e.message().unwrap_or("").to_ascii_lowercase();
            let err = classify_code("BatchGetSecretValue", code, &msg, 400);
            results.push((id.to_owned(), Err(err)));
        }
        Ok(results)
    }

    /// Whether `BatchGetSecretValue` is permitted (false after an access denial).
    pub fn batch_allowed(&self) -> bool {
        self.batch_allowed.load(Ordering::Relaxed)
    }

    /// `ListSecrets` over all pages with the given filters (100 per page).
    pub async fn list_secrets(&self, filter: &ListFilter) -> Result<Vec<ListedSecret>, AwsError> {
        let mut filters = Vec::new();
        if let Some(prefix) = &filter.name_prefix {
            filters.push(
                Filter::builder()
                    .key(FilterNameStringType::Name)
                    .values(prefix)
                    .build(),
            );
        }
        for (k, v) in &filter.tags {
            filters.push(
                Filter::builder()
                    .key(FilterNameStringType::TagKey)
                    .values(k)
                    .build(),
            );
            filters.push(
                Filter::builder()
                    .key(FilterNameStringType::TagValue)
                    .values(v)
                    .build(),
            );
        }
        let mut token: Option<String> = None;
        let mut out = Vec::new();
        loop {
            let page = self
                .call("ListSecrets", || {
                    self.client
                        .list_secrets()
                        .max_results(100)
                        .set_filters((!filters.is_empty()).then(|| filters.clone()))
                        .set_next_token(token.clone())
                        .send()
                })
                .await?;
            for s in page.secret_list() {
                let current_version = s.secret_versions_to_stages().and_then(|m| {
                    m.iter()
                        .find(|(_, stages)| stages.iter().any(|st| st == "AWSCURRENT"))
                        .map(|(v, _)| v.clone())
                });
                out.push(ListedSecret {
                    name: s.name().unwrap_or_default().to_owned(),
                    arn: s.arn().unwrap_or_default().to_owned(),
                    current_version,
                    tags: s
                        .tags()
                        .iter()
                        .map(|t| {
                            (
                                t.key().unwrap_or_default().to_owned(),
                                t.value().unwrap_or_default().to_owned(),
                            )
                        })
                        .collect(),
                });
            }
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    /// `DescribeSecret` tags, as a JSON object (metadataPolicy: Fetch).
    pub async fn describe_tags(&self, id: &str) -> Result<Vec<(String, String)>, AwsError> {
        let out = self
            .call("DescribeSecret", || {
                self.client.describe_secret().secret_id(id).send()
            })
            .await?;
        Ok(out
            .tags()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or_default().to_owned(),
                    t.value().unwrap_or_default().to_owned(),
                )
            })
            .collect())
    }
}

/// Temporary or static credentials with their expiry.
#[derive(Clone)]
pub struct ResolvedCredentials {
    /// SDK credentials.
    pub credentials: Credentials,
    /// Expiry, when temporary.
    pub expires: Option<SystemTime>,
}

/// STS calls for web identity and role chaining.
pub struct Sts {
    region: String,
    endpoint: Option<String>,
    metrics: Arc<Metrics>,
    limiter: Arc<RateLimiter>,
}

/// One AssumeRole hop.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RoleHop {
    /// Role ARN.
    pub role_arn: String,
    /// External ID.
    pub external_id: Option<String>,
    /// Session tags.
    pub session_tags: Vec<(String, String)>,
    /// Transitive tag keys.
    pub transitive_tag_keys: Vec<String>,
}

impl Sts {
    /// STS for a region.
    pub fn new(
        region: &str,
        endpoint: Option<&str>,
        metrics: Arc<Metrics>,
        limiter: Arc<RateLimiter>,
    ) -> Self {
        Sts {
            region: region.to_owned(),
            endpoint: endpoint.map(str::to_owned),
            metrics,
            limiter,
        }
    }

    fn client(&self, credentials: Option<Credentials>) -> aws_sdk_sts::Client {
        let mut conf = aws_sdk_sts::Config::builder()
            .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
            .http_client(http_client())
            .region(aws_sdk_sts::config::Region::new(self.region.clone()))
            .retry_config(RetryConfig::disabled());
        if let Some(c) = credentials {
            conf = conf.credentials_provider(c);
        }
        if let Some(url) = &self.endpoint {
            conf = conf.endpoint_url(url);
        }
        aws_sdk_sts::Client::from_conf(conf.build())
    }

    fn convert(
        operation: &'static str,
        creds: Option<&aws_sdk_sts::types::Credentials>,
    ) -> Result<ResolvedCredentials, AwsError> {
        let c = creds
            .ok_or_else(|| AwsError::Credentials(format!("{operation} returned no credentials")))?;
        let expires = SystemTime::try_from(*c.expiration()).ok();
        Ok(ResolvedCredentials {
            credentials: Credentials::new(
                c.access_key_id(),
                c.secret_access_key(),
                Some(c.session_token().to_owned()),
                expires,
                "sealkit-sts",
            ),
            expires,
        })
    }

    async fn with_retry<T, F, Fut, E>(&self, operation: &'static str, f: F) -> Result<T, AwsError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<
                Output = Result<T, SdkError<E, aws_sdk_secretsmanager::config::http::HttpResponse>>,
            >,
        E: ProvideErrorMetadata,
    {
        let mut attempt = 0;
        loop {
            self.limiter.acquire().await;
            attempt += 1;
            match f().await {
                Ok(v) => {
                    self.metrics.aws_call(operation, "success");
                    return Ok(v);
                }
                Err(e) => {
                    self.metrics.aws_call(operation, "error");
                    let err = classify(operation, &e);
                    if !err.is_transient() || attempt >= DEFAULT_ATTEMPTS {
                        return Err(err);
                    }
                    tokio::time::sleep(backoff(
                        attempt,
                        Duration::from_millis(200),
                        Duration::from_secs(10),
                    ))
                    .await;
                }
            }
        }
    }

    /// `AssumeRoleWithWebIdentity` with a ServiceAccount token.
    pub async fn assume_role_with_web_identity(
        &self,
        role_arn: &str,
        token: &str,
    ) -> Result<ResolvedCredentials, AwsError> {
        let client = self.client(None);
        let out = self
            .with_retry("AssumeRoleWithWebIdentity", || {
                client
                    .assume_role_with_web_identity()
                    .role_arn(role_arn)
                    .role_session_name(ROLE_SESSION_NAME)
                    .web_identity_token(token)
                    .send()
            })
            .await?;
        Self::convert("AssumeRoleWithWebIdentity", out.credentials())
    }

    /// `AssumeRole` from `base`.
    pub async fn assume_role(
        &self,
        base: &ResolvedCredentials,
        hop: &RoleHop,
    ) -> Result<ResolvedCredentials, AwsError> {
        let client = self.client(Some(base.credentials.clone()));
        let out = self
            .with_retry("AssumeRole", || {
                let mut req = client
                    .assume_role()
                    .role_arn(&hop.role_arn)
                    .role_session_name(ROLE_SESSION_NAME);
                if let Some(x) = &hop.external_id {
                    req = req.external_id(x);
                }
                for (k, v) in &hop.session_tags {
                    req = req.tags(
                        aws_sdk_sts::types::Tag::builder()
                            .key(k)
                            .value(v)
                            .build()
                            .expect("key and value set"),
                    );
                }
                for k in &hop.transitive_tag_keys {
                    req = req.transitive_tag_keys(k);
                }
                req.send()
            })
            .await?;
        Self::convert("AssumeRole", out.credentials())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deletion_and_not_found_map_to_not_found_and_other_invalid_requests_do_not() {
        assert_eq!(
            classify_code("GetSecretValue", "ResourceNotFoundException", "", 400),
            AwsError::NotFound
        );
        let deleted =
            "you can't perform this operation on the secret because it was marked for deletion.";
        assert_eq!(
            classify_code("GetSecretValue", "InvalidRequestException", deleted, 400),
            AwsError::NotFound
        );
        assert_eq!(
            classify_code(
                "GetSecretValue",
                "InvalidRequestException",
                "currently marked deleted",
                400
            ),
            AwsError::NotFound
        );
        assert!(matches!(
            classify_code(
                "GetSecretValue",
                "InvalidRequestException",
                "version mismatch",
                400
            ),
            AwsError::Service { .. }
        ));
    }

    #[test]
    fn throttling_is_transient_and_access_denied_is_not() {
        let t = classify_code(
            "GetSecretValue",
            "ThrottlingException",
            "rate exceeded",
            400,
        );
        assert!(t.is_transient());
        let d = classify_code("GetSecretValue", "", "", 403);
        assert_eq!(
            d,
            AwsError::AccessDenied {
                operation: "GetSecretValue"
            }
        );
        assert!(!d.is_transient());
    }

    #[test]
    fn service_error_text_keeps_only_a_sanitized_code() {
        let e = classify_code("GetSecretValue", "Weird code: s3cr3t value", "", 400);
        assert_eq!(
            e.to_string(),
            "GetSecretValue: AWS error Weirdcodes3cr3tvalue (HTTP 400)"
        );
    }

    #[test]
    fn remote_value_debug_never_prints_bytes() {
        let v = RemoteValue {
            string: Some(Payload::new(b"hunter2".to_vec())),
            binary: None,
            version_id: Some("v1".into()),
            name: None,
            arn: None,
        };
        let debug = format!("{v:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("[REDACTED]"), "{debug}");
    }

    #[test]
    fn backoff_grows_and_is_capped_with_jitter() {
        let b = backoff(3, Duration::from_millis(100), Duration::from_secs(10));
        assert!(
            b >= Duration::from_millis(400) && b <= Duration::from_millis(800),
            "{b:?}"
        );
        let capped = backoff(20, Duration::from_millis(100), Duration::from_secs(1));
        assert!(capped <= Duration::from_secs(1));
    }

    #[tokio::test]
    async fn the_token_bucket_limits_the_rate_and_pauses_after_throttling() {
        let limiter = RateLimiter::new(100.0, 1);
        let start = Instant::now();
        for _ in 0..11 {
            limiter.acquire().await;
        }
        assert!(
            start.elapsed() >= Duration::from_millis(90),
            "{:?}",
            start.elapsed()
        );
        limiter.throttled(Duration::from_millis(200));
        let paused = Instant::now();
        limiter.acquire().await;
        assert!(
            paused.elapsed() >= Duration::from_millis(190),
            "{:?}",
            paused.elapsed()
        );
    }
}
