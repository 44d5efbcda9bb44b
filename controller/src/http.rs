//! The controller's HTTP servers, started before anything else so probes never kill a starting
//! controller (upstream issues #697, #1959).
//!
//! Main port (`--listen-addr`, default `:8080`, port name `http`):
//!
//! | path | method | answer |
//! |---|---|---|
//! | `/healthz` | GET | `200 ok` as soon as the process runs |
//! | `/readyz` | GET | `200 ok` when every readiness check passed (caches synced, a key exists), else `503` naming the checks still pending |
//! | `/v1/cert.pem` | GET | current sealing certificate (`application/x-pem-file`); `503` before the first key, saying why (loading, generating, or waiting for a key Secret under `--require-existing-key`, and then how to create one) |
//! | `/v1/recipients` | GET | age recipients, one per line, current first (`text/plain`); `503` with the reason and what to do when no key has an age identity |
//! | `/v1/verify` | POST | body = one SealedSecret (JSON or YAML): `200` decryptable, `409` not, `400` unreadable; rate-limited |
//! | `/v1/rotate` | POST | body = one SealedSecret: `200` + the SealedSecret re-sealed with the current key (JSON), `409` not decryptable; rate-limited |
//!
//! Metrics port (`--listen-metrics-addr`, default `:8081`): `/metrics`.
//!
//! No response ever contains a decrypted value.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use prometheus_client::registry::Registry;

use crate::metrics::{HttpDurationLabels, HttpLabels, Metrics};
use crate::sealed_secret::{self, key_registry::KeyRegistry};

/// Named readiness checks; `/readyz` is ready when all registered checks pass.
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Arc<Mutex<BTreeMap<&'static str, bool>>>,
}

impl Readiness {
    /// Registers `name` as not ready yet.
    pub fn register(&self, name: &'static str) {
        self.lock().entry(name).or_insert(false);
    }

    /// Marks `name` ready or not.
    pub fn set(&self, name: &'static str, ready: bool) {
        self.lock().insert(name, ready);
    }

    /// Checks that are not ready (empty when ready).
    pub fn pending(&self) -> Vec<&'static str> {
        self.lock()
            .iter()
            .filter(|(_, ready)| !**ready)
            .map(|(name, _)| *name)
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, bool>> {
        self.checks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Token-bucket limits of `/v1/verify` and `/v1/rotate` (upstream: 2 req/s, burst 2).
#[derive(Clone, Copy, Debug)]
pub struct RateLimit {
    /// Requests per second per client.
    pub per_second: f64,
    /// Burst size.
    pub burst: u32,
}

/// Shared state of the main HTTP server.
#[derive(Clone)]
pub struct AppState {
    /// The key registry (empty until keys are loaded).
    pub keys: Arc<KeyRegistry>,
    /// Readiness checks.
    pub readiness: Readiness,
    /// Metrics (HTTP counters and histograms).
    pub metrics: Metrics,
    limiter: Arc<Limiter>,
}

impl AppState {
    /// State for [`router`].
    pub fn new(
        keys: Arc<KeyRegistry>,
        readiness: Readiness,
        metrics: Metrics,
        limit: RateLimit,
    ) -> Self {
        Self {
            keys,
            readiness,
            metrics,
            limiter: Arc::new(Limiter::new(limit)),
        }
    }
}

/// The main server's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/v1/cert.pem", get(cert_pem))
        .route("/v1/recipients", get(recipients))
        .route("/v1/verify", post(verify))
        .route("/v1/rotate", post(rotate))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// The metrics server's routes.
pub fn metrics_router(registry: Arc<Registry>) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let registry = registry.clone();
            async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    crate::metrics::encode(&registry),
                )
            }
        }),
    )
}

/// Binds `addr` (Go-style `:8080` accepted) and serves `router` until `shutdown` resolves.
pub async fn serve(
    addr: &str,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let addr = parse_listen_addr(addr)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    tracing::info!(%addr, "http server listening");
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// Parses `:8080`, `0.0.0.0:8080` or `[::1]:8080`.
pub fn parse_listen_addr(addr: &str) -> anyhow::Result<SocketAddr> {
    let full = if addr.starts_with(':') {
        format!("0.0.0.0{addr}")
    } else {
        addr.to_owned()
    };
    full.parse().map_err(|_| {
        anyhow::anyhow!("invalid listen address `{addr}` (expected :PORT or HOST:PORT)")
    })
}

async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_owned();
    let path = match request.uri().path() {
        p @ ("/healthz" | "/readyz" | "/v1/cert.pem" | "/v1/recipients" | "/v1/verify"
        | "/v1/rotate") => p.to_owned(),
        _ => "other".to_owned(),
    };
    let start = Instant::now();
    let response = next.run(request).await;
    state
        .metrics
        .http_requests
        .get_or_create(&HttpLabels {
            path: path.clone(),
            code: response.status().as_u16().to_string(),
            method: method.clone(),
        })
        .inc();
    state
        .metrics
        .http_request_duration
        .get_or_create(&HttpDurationLabels { path, method })
        .observe(start.elapsed().as_secs_f64());
    response
}

async fn healthz() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "ok\n",
    )
}

async fn readyz(State(state): State<AppState>) -> Response {
    let pending = state.readiness.pending();
    if pending.is_empty() {
        (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "ok\n",
        )
            .into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {}\n", pending.join(", ")),
        )
            .into_response()
    }
}

async fn cert_pem(State(state): State<AppState>) -> Response {
    match state.keys.current() {
        Some(key) => (
            [(header::CONTENT_TYPE, "application/x-pem-file")],
            key.certificate_pem().to_owned(),
        )
            .into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            state.keys.no_key_message(),
        )
            .into_response(),
    }
}

async fn recipients(State(state): State<AppState>) -> Response {
    let recipients = state.keys.recipients();
    if recipients.is_empty() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            state.keys.no_recipient_message(),
        )
            .into_response();
    }
    let mut body = recipients.join("\n");
    body.push('\n');
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

async fn verify(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(limited) = state.limiter.check("/v1/verify", &headers) {
        return limited;
    }
    let ss = match parse_sealed_secret(&body) {
        Ok(ss) => ss,
        Err(response) => return response,
    };
    let keys = state.keys.clone();
    let outcome = tokio::task::spawn_blocking(move || sealed_secret::verify(&keys, &ss)).await;
    match outcome {
        Ok(Ok(())) => (StatusCode::OK, "ok\n").into_response(),
        Ok(Err(failure)) => (StatusCode::CONFLICT, format!("{failure}\n")).into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response(),
    }
}

async fn rotate(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(limited) = state.limiter.check("/v1/rotate", &headers) {
        return limited;
    }
    let ss = match parse_sealed_secret(&body) {
        Ok(ss) => ss,
        Err(response) => return response,
    };
    let keys = state.keys.clone();
    let outcome = tokio::task::spawn_blocking(move || sealed_secret::rotate(&keys, &ss)).await;
    match outcome {
        Ok(Ok(rotated)) => match serde_json::to_vec(&rotated) {
            Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
            Err(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot encode the result\n",
            )
                .into_response(),
        },
        Ok(Err(failure)) => (StatusCode::CONFLICT, format!("{failure}\n")).into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response(),
    }
}

/// One SealedSecret from a JSON or YAML body; errors never echo the body.
#[allow(clippy::result_large_err)] // a Response is the error on purpose: it is the HTTP answer
fn parse_sealed_secret(body: &[u8]) -> Result<sealkit_api::SealedSecret, Response> {
    let bad = |what: String| Err((StatusCode::BAD_REQUEST, format!("{what}\n")).into_response());
    let Ok(text) = std::str::from_utf8(body) else {
        return bad("the body is not UTF-8".into());
    };
    if text.trim_start().starts_with('{') {
        return serde_json::from_str(text).or_else(|e| {
            bad(format!(
                "the body is not a SealedSecret (JSON line {} column {})",
                e.line(),
                e.column()
            ))
        });
    }
    // Typed, not via `serde_json::Value`: untyped YAML would turn `namespace: n` into `false`.
    match serde_saphyr::from_multiple::<sealkit_api::SealedSecret>(text) {
        Ok(docs) if docs.len() == 1 => docs
            .into_iter()
            .next()
            .ok_or(())
            .or_else(|()| bad("the body is not a SealedSecret".into())),
        Ok(docs) => bad(format!(
            "expected exactly one SealedSecret document, found {}",
            docs.len()
        )),
        Err(_) => bad("the body is neither a JSON nor a YAML SealedSecret".into()),
    }
}

/// Token buckets keyed by path + `X-Forwarded-For` (as upstream), bounded in size.
struct Limiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl Limiter {
    const MAX_CLIENTS: usize = 10_000;

    fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(429 response)` when over the limit.
    fn check(&self, path: &str, headers: &HeaderMap) -> Option<Response> {
        let client = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let key = format!("{path}|{client}");
        let now = Instant::now();
        let burst = f64::from(self.limit.burst.max(1));
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > Self::MAX_CLIENTS {
            buckets.clear();
        }
        let (tokens, last) = buckets.entry(key).or_insert((burst, now));
        let refill = now.duration_since(*last).as_secs_f64() * self.limit.per_second.max(0.0);
        *tokens = (*tokens + refill).min(burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            return None;
        }
        let wait = if self.limit.per_second > 0.0 {
            ((1.0 - *tokens) / self.limit.per_second).ceil().max(1.0)
        } else {
            60.0
        };
        let mut response = (StatusCode::TOO_MANY_REQUESTS, "rate limit exceeded\n").into_response();
        if let Ok(value) =
            HeaderValue::from_str(&format!("{}", Duration::from_secs_f64(wait).as_secs()))
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        Some(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_style_listen_addresses_parse() {
        assert_eq!(parse_listen_addr(":8080").unwrap().port(), 8080);
        assert_eq!(
            parse_listen_addr("127.0.0.1:9").unwrap().to_string(),
            "127.0.0.1:9"
        );
        assert!(parse_listen_addr("8080").is_err());
    }

    #[test]
    fn limiter_allows_the_burst_then_refuses() {
        let limiter = Limiter::new(RateLimit {
            per_second: 0.001,
            burst: 2,
        });
        let headers = HeaderMap::new();
        assert!(limiter.check("/v1/verify", &headers).is_none());
        assert!(limiter.check("/v1/verify", &headers).is_none());
        let refused = limiter
            .check("/v1/verify", &headers)
            .expect("third request is limited");
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        // another path has its own bucket
        assert!(limiter.check("/v1/rotate", &headers).is_none());
    }

    #[test]
    fn readiness_lists_pending_checks() {
        let r = Readiness::default();
        r.register("keys");
        r.register("caches");
        assert_eq!(r.pending(), vec!["caches", "keys"]);
        r.set("keys", true);
        r.set("caches", true);
        assert!(r.pending().is_empty());
    }

    #[test]
    fn bodies_that_are_not_one_sealed_secret_are_rejected_without_echo() {
        let err = parse_sealed_secret(b"{\"kind\": 12, \"secret-marker\"").unwrap_err();
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        let two = b"apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: a}\nspec: {encryptedData: {}}\n---\napiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: b}\nspec: {encryptedData: {}}\n";
        assert_eq!(
            parse_sealed_secret(two).unwrap_err().status(),
            StatusCode::BAD_REQUEST
        );
        let one = b"apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: a, namespace: n}\nspec: {encryptedData: {x: AgA=}}\n";
        let ss = parse_sealed_secret(one).unwrap();
        assert_eq!(ss.spec.encrypted_data["x"], "AgA=");
        assert_eq!(
            ss.metadata.namespace.as_deref(),
            Some("n"),
            "YAML 1.1 booleans stay strings"
        );
    }
}
