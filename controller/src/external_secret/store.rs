//! Stores and credentials: which store an entry reads from, whether the ExternalSecret's namespace
//! may use it, and a Secrets Manager client with credentials resolved from `auth.secretRef`,
//! `auth.jwt.serviceAccountRef` (TokenRequest → AssumeRoleWithWebIdentity) or the SDK default
//! chain, then `additionalRoles` and `role`. Clients are cached per store identity and role chain
//! until shortly before their credentials expire (ESO calls STS on every reconcile).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials as _;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::{Api, PostParams};
use sealkit_api::external_secret::{ExternalSecret, SecretStoreRef, StoreKind};
use sealkit_api::secret_store::{
    AwsProvider, ClusterSecretStore, ClusterSecretStoreCondition, SecretKeySelector, SecretStore,
    StoreSpec,
};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use super::aws::{
    AwsError, Endpoints, RateLimiters, ResolvedCredentials, RoleHop, SecretsManager, Sts,
};
use super::metrics::Metrics;

/// Credentials are renewed this long before they expire.
const RENEW_BEFORE: Duration = Duration::from_secs(300);
/// Static keys are re-read from their Secret this often.
const STATIC_TTL: Duration = Duration::from_secs(300);

/// Why a store cannot be used. Never contains a credential.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No store reference.
    #[error("no secretStoreRef (spec.secretStoreRef.name or sourceRef.storeRef)")]
    NoStoreRef,
    /// Store missing.
    #[error("{kind} {name:?} not found")]
    NotFound {
        /// Kind.
        kind: &'static str,
        /// Name.
        name: String,
    },
    /// Provider other than aws/SecretsManager.
    #[error("provider not supported: {0} (sealkit implements aws with service SecretsManager)")]
    ProviderNotSupported(String),
    /// Namespace refused by ClusterSecretStore conditions.
    #[error("using cluster store {store:?} is not allowed from namespace {namespace:?}")]
    NotAllowed {
        /// Store.
        store: String,
        /// Namespace.
        namespace: String,
    },
    /// Store handled by another controller class.
    #[error("store {store:?} belongs to controller class {class:?}")]
    ControllerClass {
        /// Store.
        store: String,
        /// Class.
        class: String,
    },
    /// Bad configuration.
    #[error("invalid store configuration: {0}")]
    Invalid(String),
    /// The credentials Secret or ServiceAccount is missing or incomplete.
    #[error("auth: {0}")]
    Auth(String),
    /// STS or credential chain failed.
    #[error("credentials: {0}")]
    Credentials(#[source] AwsError),
    /// Kubernetes API error.
    #[error("kubernetes API: {0}")]
    Kube(#[source] kube::Error),
}

impl StoreError {
    /// Transient (worth a backed-off retry) vs. needing a user fix.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Credentials(e) => e.is_transient(),
            StoreError::Kube(_) => true,
            _ => false,
        }
    }
}

/// Whether ClusterSecretStore namespace conditions are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conditions {
    Check,
    Skip,
}

/// True when a ClusterSecretStore reads credentials from the ExternalSecret's namespace.
fn is_referent(aws: &AwsProvider) -> bool {
    let Some(auth) = &aws.auth else { return false };
    if let Some(keys) = &auth.secret_ref {
        return [
            &keys.access_key_id_secret_ref,
            &keys.secret_access_key_secret_ref,
            &keys.session_token_secret_ref,
        ]
        .into_iter()
        .flatten()
        .any(|s| s.namespace.is_none());
    }
    auth.jwt
        .as_ref()
        .and_then(|j| j.service_account_ref.as_ref())
        .is_some_and(|s| s.namespace.is_none())
}

/// A usable store: a client and the cache identity.
#[derive(Clone)]
pub struct ResolvedStore {
    /// Cache identity: region, endpoint, auth source and role chain (no credential material).
    pub identity: String,
    /// Secrets Manager client.
    pub client: Arc<SecretsManager>,
    /// Prefix prepended to `data[].remoteRef.key` and `extract.key`.
    pub prefix: String,
}

/// Settings of the store resolver.
#[derive(Clone, Debug)]
pub struct StoreSettings {
    /// Endpoint overrides.
    pub endpoints: Endpoints,
    /// Only stores with this class (or none) are processed.
    pub controller_class: String,
    /// Requests per second per account and region.
    pub rate: f64,
    /// Burst.
    pub burst: u32,
    /// Attempts per AWS call.
    pub attempts: u32,
}

struct CachedClient {
    store: ResolvedStore,
    valid_until: SystemTime,
}

/// Resolves stores to clients, caching credentials.
pub struct Stores {
    client: kube::Client,
    settings: StoreSettings,
    metrics: Arc<Metrics>,
    limiters: RateLimiters,
    clients: Mutex<HashMap<String, Arc<Mutex<Option<CachedClient>>>>>,
    /// Store specs read recently, by (kind, namespace, name); dropped when the store changes
    /// (see [`Stores::forget_spec`]) or after [`SPEC_TTL`].
    specs: std::sync::Mutex<SpecCache>,
}

type SpecCache = HashMap<(StoreKind, String, String), (StoreSpec, std::time::Instant)>;

/// How long a store spec is reused without a watch event.
const SPEC_TTL: Duration = Duration::from_secs(30);

/// The auth source of a store for one ExternalSecret namespace (no secret material).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum AuthSource {
    Static {
        access_key: (String, String, String),
        secret_key: (String, String, String),
        token: Option<(String, String, String)>,
    },
    WebIdentity {
        namespace: String,
        service_account: String,
        audiences: Vec<String>,
    },
    DefaultChain,
}

impl Stores {
    /// New resolver.
    pub fn new(client: kube::Client, settings: StoreSettings, metrics: Arc<Metrics>) -> Self {
        Stores {
            client,
            settings,
            metrics,
            limiters: RateLimiters::default(),
            clients: Mutex::new(HashMap::new()),
            specs: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Forgets the cached spec of a store (called when the store changes).
    pub fn forget_spec(&self, kind: StoreKind, namespace: Option<&str>, name: &str) {
        let ns = if kind == StoreKind::SecretStore {
            namespace.unwrap_or_default()
        } else {
            ""
        };
        self.specs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(kind, ns.to_owned(), name.to_owned()));
    }

    /// The store an entry reads from: its own `sourceRef.storeRef`, else the ES's.
    pub fn store_ref<'a>(
        es: &'a ExternalSecret,
        entry: Option<&'a SecretStoreRef>,
    ) -> Result<(StoreKind, String), StoreError> {
        let r = entry
            .or(es.spec.secret_store_ref.as_ref())
            .ok_or(StoreError::NoStoreRef)?;
        let name = r
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .ok_or(StoreError::NoStoreRef)?;
        Ok((r.kind.unwrap_or(StoreKind::SecretStore), name))
    }

    /// Resolves a store for an ExternalSecret in `namespace`.
    pub async fn resolve(
        &self,
        namespace: &str,
        kind: StoreKind,
        name: &str,
    ) -> Result<ResolvedStore, StoreError> {
        let key = (
            kind,
            if kind == StoreKind::SecretStore {
                namespace.to_owned()
            } else {
                String::new()
            },
            name.to_owned(),
        );
        let cached = self
            .specs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .filter(|(_, at)| at.elapsed() < SPEC_TTL)
            .map(|(spec, _)| spec.clone());
        let spec: StoreSpec = match (cached, kind) {
            (Some(spec), _) => spec,
            (None, StoreKind::SecretStore) => {
                Api::<SecretStore>::namespaced(self.client.clone(), namespace)
                    .get_opt(name)
                    .await
                    .map_err(StoreError::Kube)?
                    .ok_or_else(|| StoreError::NotFound {
                        kind: "SecretStore",
                        name: name.to_owned(),
                    })?
                    .spec
                    .into()
            }
            (None, StoreKind::ClusterSecretStore) => {
                Api::<ClusterSecretStore>::all(self.client.clone())
                    .get_opt(name)
                    .await
                    .map_err(StoreError::Kube)?
                    .ok_or_else(|| StoreError::NotFound {
                        kind: "ClusterSecretStore",
                        name: name.to_owned(),
                    })?
                    .spec
                    .into()
            }
        };
        self.specs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, (spec.clone(), std::time::Instant::now()));
        self.resolve_spec(namespace, kind, name, &spec, Conditions::Check)
            .await
    }

    /// Validates a store for its own status: `Ok(None)` when the result depends on the namespace
    /// of the ExternalSecret (ClusterSecretStore with referent auth).
    pub async fn validate(
        &self,
        namespace: &str,
        kind: StoreKind,
        name: &str,
        spec: &StoreSpec,
    ) -> Result<Option<ResolvedStore>, StoreError> {
        let aws = supported_provider(spec)?;
        if kind == StoreKind::ClusterSecretStore && is_referent(aws) {
            return Ok(None);
        }
        self.resolve_spec(namespace, kind, name, spec, Conditions::Skip)
            .await
            .map(Some)
    }

    async fn resolve_spec(
        &self,
        namespace: &str,
        kind: StoreKind,
        name: &str,
        spec: &StoreSpec,
        conditions: Conditions,
    ) -> Result<ResolvedStore, StoreError> {
        if let Some(class) = spec.controller.as_deref().filter(|c| !c.is_empty())
            && class != self.settings.controller_class
        {
            return Err(StoreError::ControllerClass {
                store: name.to_owned(),
                class: class.to_owned(),
            });
        }
        let aws = supported_provider(spec)?;
        if kind == StoreKind::ClusterSecretStore && conditions == Conditions::Check {
            self.check_conditions(
                name,
                namespace,
                spec.conditions.as_deref().unwrap_or_default(),
            )
            .await?;
        }
        let auth = auth_source(kind, namespace, aws)?;
        let hops = role_chain(aws, kind, name, namespace);
        let identity = identity(aws, &self.settings.endpoints, &auth, &hops);

        let slot = {
            let mut clients = self.clients.lock().await;
            clients.entry(identity.clone()).or_default().clone()
        };
        // One resolution per identity at a time: 1000 ExternalSecrets share one STS exchange.
        let mut slot = slot.lock().await;
        if let Some(c) = slot.as_ref()
            && SystemTime::now() < c.valid_until
        {
            return Ok(c.store.clone());
        }
        let (creds, valid_until) = self.credentials(aws, &auth, &hops).await?;
        let limiter_key = format!(
            "{}/{}",
            aws.region,
            hops.last()
                .and_then(|h| arn_account(&h.role_arn))
                .unwrap_or_else(|| identity[..12].to_owned())
        );
        let limiter = self
            .limiters
            .get(&limiter_key, self.settings.rate, self.settings.burst);
        let sm = SecretsManager::new(
            &aws.region,
            self.settings.endpoints.secrets_manager.as_deref(),
            creds.credentials,
            limiter,
            self.metrics.clone(),
            self.settings.attempts,
        );
        let store = ResolvedStore {
            identity,
            client: Arc::new(sm),
            prefix: aws.prefix.clone().unwrap_or_default(),
        };
        *slot = Some(CachedClient {
            store: store.clone(),
            valid_until,
        });
        Ok(store)
    }

    /// Forgets cached credentials of `identity` (after an access denial).
    pub async fn invalidate(&self, identity: &str) {
        let slot = self.clients.lock().await.get(identity).cloned();
        if let Some(slot) = slot {
            *slot.lock().await = None;
        }
    }

    async fn credentials(
        &self,
        aws: &AwsProvider,
        auth: &AuthSource,
        hops: &[RoleHop],
    ) -> Result<(ResolvedCredentials, SystemTime), StoreError> {
        let limiter = self.limiters.get(
            &format!("sts/{}", aws.region),
            self.settings.rate,
            self.settings.burst,
        );
        let sts = Sts::new(
            &aws.region,
            self.settings.endpoints.sts.as_deref(),
            self.metrics.clone(),
            limiter,
        );
        let mut creds = match auth {
            AuthSource::Static {
                access_key,
                secret_key,
                token,
            } => {
                let id = self.secret_key(access_key).await?;
                let secret = self.secret_key(secret_key).await?;
                let token = match token {
                    Some(t) => Some(self.secret_key(t).await?),
                    None => None,
                };
                ResolvedCredentials {
                    credentials: Credentials::new(
                        id.trim(),
                        secret.trim(),
                        token.map(|t| t.trim().to_owned()),
                        None,
                        "sealkit-secret-ref",
                    ),
                    expires: None,
                }
            }
            AuthSource::WebIdentity {
                namespace,
                service_account,
                audiences,
            } => {
                let sa_api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), namespace);
                let sa = sa_api
                    .get_opt(service_account)
                    .await
                    .map_err(StoreError::Kube)?
                    .ok_or_else(|| {
                        StoreError::Auth(format!(
                            "ServiceAccount {namespace}/{service_account} not found"
                        ))
                    })?;
                let ann = sa.metadata.annotations.unwrap_or_default();
                let role = ann.get("eks.amazonaws.com/role-arn").cloned().ok_or_else(|| {
                    StoreError::Auth(format!(
                        "ServiceAccount {namespace}/{service_account} has no eks.amazonaws.com/role-arn annotation"
                    ))
                })?;
                let mut auds = vec![
                    ann.get("eks.amazonaws.com/audience")
                        .cloned()
                        .unwrap_or_else(|| "sts.amazonaws.com".to_owned()),
                ];
                auds.extend(audiences.iter().cloned());
                let tr = TokenRequest {
                    spec: Some(TokenRequestSpec {
                        audiences: Some(auds),
                        expiration_seconds: Some(600),
                        ..Default::default()
                    }),
                    ..Default::default()
                };
                let token = sa_api
                    .create_token_request(service_account, &PostParams::default(), &tr)
                    .await
                    .map_err(StoreError::Kube)?
                    .status
                    .and_then(|s| s.token)
                    .map(zeroize::Zeroizing::new)
                    .ok_or_else(|| StoreError::Auth("TokenRequest returned no token".to_owned()))?;
                sts.assume_role_with_web_identity(&role, &token)
                    .await
                    .map_err(StoreError::Credentials)?
            }
            AuthSource::DefaultChain => {
                let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .region(aws_config::Region::new(aws.region.clone()))
                    .http_client(crate::external_secret::aws::http_client())
                    .load()
                    .await;
                let provider = conf.credentials_provider().ok_or_else(|| {
                    StoreError::Auth(
                        "the AWS default credential chain found no provider".to_owned(),
                    )
                })?;
                let c = provider.provide_credentials().await.map_err(|e| {
                    StoreError::Credentials(AwsError::Credentials(format!(
                        "default chain: {}",
                        first_line(&e.to_string())
                    )))
                })?;
                ResolvedCredentials {
                    expires: c.expiry(),
                    credentials: c,
                }
            }
        };
        for hop in hops {
            creds = sts
                .assume_role(&creds, hop)
                .await
                .map_err(StoreError::Credentials)?;
        }
        let valid_until = match creds.expires {
            Some(exp) => exp
                .checked_sub(RENEW_BEFORE)
                .unwrap_or(SystemTime::now())
                .min(SystemTime::now() + Duration::from_secs(3600)),
            None => SystemTime::now() + STATIC_TTL,
        };
        Ok((creds, valid_until))
    }

    async fn secret_key(
        &self,
        (ns, name, key): &(String, String, String),
    ) -> Result<String, StoreError> {
        let secret = Api::<Secret>::namespaced(self.client.clone(), ns)
            .get_opt(name)
            .await
            .map_err(StoreError::Kube)?
            .ok_or_else(|| StoreError::Auth(format!("credentials Secret {ns}/{name} not found")))?;
        let bytes = secret.data.and_then(|mut d| d.remove(key)).ok_or_else(|| {
            StoreError::Auth(format!("credentials Secret {ns}/{name} has no key {key:?}"))
        })?;
        String::from_utf8(bytes.0).map_err(|_| {
            StoreError::Auth(format!("key {key:?} of Secret {ns}/{name} is not UTF-8"))
        })
    }

    async fn check_conditions(
        &self,
        store: &str,
        namespace: &str,
        conditions: &[ClusterSecretStoreCondition],
    ) -> Result<(), StoreError> {
        if conditions.is_empty() {
            return Ok(());
        }
        let needs_labels = conditions.iter().any(|c| c.namespace_selector.is_some());
        let labels = if needs_labels {
            Api::<Namespace>::all(self.client.clone())
                .get_opt(namespace)
                .await
                .map_err(StoreError::Kube)?
                .and_then(|n| n.metadata.labels)
                .unwrap_or_default()
        } else {
            BTreeMap::new()
        };
        if namespace_allowed(namespace, &labels, conditions) {
            Ok(())
        } else {
            Err(StoreError::NotAllowed {
                store: store.to_owned(),
                namespace: namespace.to_owned(),
            })
        }
    }
}

fn first_line(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect()
}

/// The AWS provider, if this store uses aws/SecretsManager.
pub fn supported_provider(spec: &StoreSpec) -> Result<&AwsProvider, StoreError> {
    match &spec.provider.aws {
        Some(aws) if aws.service == "SecretsManager" => {
            if aws.region.is_empty() {
                return Err(StoreError::Invalid(
                    "provider.aws.region is empty".to_owned(),
                ));
            }
            Ok(aws)
        }
        Some(aws) => Err(StoreError::ProviderNotSupported(format!(
            "aws service {}",
            aws.service
        ))),
        None => Err(StoreError::ProviderNotSupported(
            spec.provider
                .other
                .keys()
                .next()
                .cloned()
                .unwrap_or_else(|| "none".to_owned()),
        )),
    }
}

fn selector(
    sel: &SecretKeySelector,
    default_key: &str,
    kind: StoreKind,
    es_namespace: &str,
) -> (String, String, String) {
    let ns = match kind {
        StoreKind::ClusterSecretStore => sel
            .namespace
            .clone()
            .unwrap_or_else(|| es_namespace.to_owned()),
        StoreKind::SecretStore => es_namespace.to_owned(),
    };
    (
        ns,
        sel.name.clone(),
        sel.key.clone().unwrap_or_else(|| default_key.to_owned()),
    )
}

fn auth_source(
    kind: StoreKind,
    es_namespace: &str,
    aws: &AwsProvider,
) -> Result<AuthSource, StoreError> {
    let Some(auth) = &aws.auth else {
        return Ok(AuthSource::DefaultChain);
    };
    if let Some(keys) = &auth.secret_ref {
        let id = keys.access_key_id_secret_ref.as_ref().ok_or_else(|| {
            StoreError::Invalid("auth.secretRef.accessKeyIDSecretRef is required".to_owned())
        })?;
        let secret = keys.secret_access_key_secret_ref.as_ref().ok_or_else(|| {
            StoreError::Invalid("auth.secretRef.secretAccessKeySecretRef is required".to_owned())
        })?;
        return Ok(AuthSource::Static {
            access_key: selector(id, "access-key", kind, es_namespace),
            secret_key: selector(secret, "secret-access-key", kind, es_namespace),
            token: keys
                .session_token_secret_ref
                .as_ref()
                .map(|t| selector(t, "session-token", kind, es_namespace)),
        });
    }
    if let Some(sa) = auth
        .jwt
        .as_ref()
        .and_then(|j| j.service_account_ref.as_ref())
    {
        let namespace = match kind {
            StoreKind::ClusterSecretStore => sa
                .namespace
                .clone()
                .unwrap_or_else(|| es_namespace.to_owned()),
            StoreKind::SecretStore => es_namespace.to_owned(),
        };
        return Ok(AuthSource::WebIdentity {
            namespace,
            service_account: sa.name.clone(),
            audiences: sa.audiences.clone().unwrap_or_default(),
        });
    }
    Ok(AuthSource::DefaultChain)
}

/// `additionalRoles` in order, then `role` with externalID, session tags and transitive keys.
fn role_chain(
    aws: &AwsProvider,
    kind: StoreKind,
    store_name: &str,
    es_namespace: &str,
) -> Vec<RoleHop> {
    let mut hops: Vec<RoleHop> = aws
        .additional_roles
        .iter()
        .flatten()
        .map(|r| RoleHop {
            role_arn: r.clone(),
            ..Default::default()
        })
        .collect();
    if let Some(role) = aws.role.as_ref().filter(|r| !r.is_empty()) {
        let mut tags: Vec<(String, String)> = aws
            .session_tags
            .iter()
            .flatten()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect();
        match aws.session_tags_policy.as_deref() {
            Some("Simple") | Some("Custom") => {
                let kind = match kind {
                    StoreKind::SecretStore => "SecretStore",
                    StoreKind::ClusterSecretStore => "ClusterSecretStore",
                };
                tags = vec![
                    ("esoNamespace".to_owned(), es_namespace.to_owned()),
                    ("esoStoreName".to_owned(), store_name.to_owned()),
                    ("esoStoreKind".to_owned(), kind.to_owned()),
                ];
                if aws.session_tags_policy.as_deref() == Some("Custom") {
                    tags.extend(
                        aws.custom_session_tags
                            .iter()
                            .flatten()
                            .map(|(k, v)| (k.clone(), v.clone())),
                    );
                }
            }
            _ => {}
        }
        hops.push(RoleHop {
            role_arn: role.clone(),
            external_id: aws.external_id.clone(),
            session_tags: tags,
            transitive_tag_keys: aws.transitive_tag_keys.clone().unwrap_or_default(),
        });
    }
    hops
}

fn identity(
    aws: &AwsProvider,
    endpoints: &Endpoints,
    auth: &AuthSource,
    hops: &[RoleHop],
) -> String {
    let text = format!(
        "{}|{:?}|{:?}|{:?}",
        aws.region, endpoints.secrets_manager, auth, hops
    );
    hex::encode(&Sha256::digest(text.as_bytes())[..16])
}

fn arn_account(arn: &str) -> Option<String> {
    arn.split(':')
        .nth(4)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
}

/// ESO's `shouldProcessSecret`: any condition matching (by selector, name or unanchored regexp).
pub fn namespace_allowed(
    namespace: &str,
    labels: &BTreeMap<String, String>,
    conditions: &[ClusterSecretStoreCondition],
) -> bool {
    if conditions.is_empty() {
        return true;
    }
    conditions.iter().any(|c| {
        c.namespace_selector
            .as_ref()
            .is_some_and(|s| selector_matches(s, labels))
            || c.namespaces.iter().flatten().any(|n| n == namespace)
            || c.namespace_regexes.iter().flatten().any(|r| {
                regex::Regex::new(r)
                    .map(|re| re.is_match(namespace))
                    .unwrap_or(false)
            })
    })
}

/// Kubernetes label selector semantics (matchLabels and matchExpressions).
pub fn selector_matches(sel: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let labels_ok = sel
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let exprs_ok = sel.match_expressions.iter().flatten().all(|e| {
        let values = e.values.clone().unwrap_or_default();
        match e.operator.as_str() {
            "In" => labels.get(&e.key).is_some_and(|v| values.contains(v)),
            "NotIn" => labels.get(&e.key).is_none_or(|v| !values.contains(v)),
            "Exists" => labels.contains_key(&e.key),
            "DoesNotExist" => !labels.contains_key(&e.key),
            _ => false,
        }
    });
    labels_ok && exprs_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;
    use sealkit_api::secret_store::{AwsAuth, AwsAuthSecretRef, AwsTag, SecretStoreProvider};

    fn cond(
        names: &[&str],
        regexes: &[&str],
        labels: &[(&str, &str)],
    ) -> ClusterSecretStoreCondition {
        ClusterSecretStoreCondition {
            namespaces: (!names.is_empty()).then(|| names.iter().map(|s| s.to_string()).collect()),
            namespace_regexes: (!regexes.is_empty())
                .then(|| regexes.iter().map(|s| s.to_string()).collect()),
            namespace_selector: (!labels.is_empty()).then(|| LabelSelector {
                match_labels: Some(
                    labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn cluster_store_conditions_allow_by_name_regex_or_labels() {
        let labels = BTreeMap::from([("team".to_owned(), "a".to_owned())]);
        assert!(namespace_allowed("x", &labels, &[]));
        assert!(namespace_allowed(
            "prod",
            &BTreeMap::new(),
            &[cond(&["prod"], &[], &[])]
        ));
        assert!(namespace_allowed(
            "team-b-dev",
            &BTreeMap::new(),
            &[cond(&[], &["team-b"], &[])]
        ));
        assert!(namespace_allowed(
            "x",
            &labels,
            &[cond(&["prod"], &[], &[]), cond(&[], &[], &[("team", "a")])]
        ));
        assert!(!namespace_allowed(
            "x",
            &BTreeMap::new(),
            &[cond(&["prod"], &["^team-"], &[("team", "a")])]
        ));
    }

    #[test]
    fn match_expressions_follow_kubernetes() {
        let labels = BTreeMap::from([("env".to_owned(), "prod".to_owned())]);
        let sel = |op: &str, vals: &[&str]| LabelSelector {
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "env".into(),
                operator: op.into(),
                values: Some(vals.iter().map(|s| s.to_string()).collect()),
            }]),
            ..Default::default()
        };
        assert!(selector_matches(&sel("In", &["prod"]), &labels));
        assert!(!selector_matches(&sel("NotIn", &["prod"]), &labels));
        assert!(selector_matches(&sel("Exists", &[]), &labels));
        assert!(!selector_matches(&sel("DoesNotExist", &[]), &labels));
    }

    fn aws() -> AwsProvider {
        AwsProvider {
            service: "SecretsManager".into(),
            region: "us-east-1".into(),
            role: Some("arn:aws:iam::222222222222:role/last".into()),
            additional_roles: Some(vec!["arn:aws:iam::111111111111:role/first".into()]),
            external_id: Some("xid".into()),
            session_tags: Some(vec![AwsTag {
                key: "k".into(),
                value: "v".into(),
            }]),
            ..Default::default()
        }
    }

    #[test]
    fn additional_roles_come_first_and_only_the_last_hop_has_external_id_and_tags() {
        let hops = role_chain(&aws(), StoreKind::SecretStore, "s", "ns");
        assert_eq!(hops.len(), 2);
        assert_eq!(hops[0].external_id, None);
        assert!(hops[0].session_tags.is_empty());
        assert_eq!(hops[1].external_id.as_deref(), Some("xid"));
        assert_eq!(hops[1].session_tags, [("k".to_owned(), "v".to_owned())]);
        assert_eq!(
            arn_account(&hops[1].role_arn).as_deref(),
            Some("222222222222")
        );
    }

    #[test]
    fn referent_auth_uses_the_external_secret_namespace_for_cluster_stores_only_without_namespace()
    {
        let mut p = aws();
        p.auth = Some(AwsAuth {
            secret_ref: Some(AwsAuthSecretRef {
                access_key_id_secret_ref: Some(SecretKeySelector {
                    name: "c".into(),
                    key: Some("id".into()),
                    namespace: None,
                }),
                secret_access_key_secret_ref: Some(SecretKeySelector {
                    name: "c".into(),
                    key: Some("sk".into()),
                    namespace: Some("ops".into()),
                }),
                session_token_secret_ref: None,
            }),
            jwt: None,
        });
        let AuthSource::Static {
            access_key,
            secret_key,
            ..
        } = auth_source(StoreKind::ClusterSecretStore, "team", &p).unwrap()
        else {
            panic!("static expected")
        };
        assert_eq!(access_key.0, "team");
        assert_eq!(secret_key.0, "ops");
        let AuthSource::Static { secret_key, .. } =
            auth_source(StoreKind::SecretStore, "team", &p).unwrap()
        else {
            panic!("static expected")
        };
        assert_eq!(
            secret_key.0, "team",
            "a namespaced store never reads another namespace"
        );
    }

    #[test]
    fn unsupported_providers_are_named() {
        let spec = StoreSpec {
            provider: SecretStoreProvider {
                aws: None,
                other: BTreeMap::from([("vault".to_owned(), serde_json::json!({}))]),
            },
            ..Default::default()
        };
        assert_eq!(
            supported_provider(&spec).unwrap_err().to_string(),
            "provider not supported: vault (sealkit implements aws with service SecretsManager)"
        );
    }
}
