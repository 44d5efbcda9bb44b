//! A loopback HTTP proxy in front of moto that injects AWS faults.
//!
//! moto has no throttling or fault injection, so reliability tests put this proxy between the
//! code under test and moto (`../shared/spec/external-secrets.md` §8.5). It forwards requests
//! unchanged, except for a chosen share that it answers itself with a [`Fault`]:
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use sealkit_e2e::fault_proxy::{Fault, FaultProxy, FaultRule};
//! let env = sealkit_e2e::TestEnv::get();
//! let proxy = FaultProxy::start(env.moto_endpoint()).await?;
//! // answer 1 of every 2 GetSecretValue calls with ThrottlingException, forward the rest
//! proxy.set_rule(FaultRule::new(Fault::Throttle, 1, 2).only_for("GetSecretValue"));
//! // point the SDK at proxy.endpoint() instead of moto ... then:
//! assert_eq!(proxy.faults("GetSecretValue"), 1);
//! # Ok(()) }
//! ```
//!
//! The choice is deterministic: of the requests a rule matches, number `i` (from 0) gets the fault
//! when `i % of < fail`, so `FaultRule::new(Fault::Throttle, 1, 2)` fails the 1st, 3rd, 5th, ...
//! Requests are counted per operation: the part of `X-Amz-Target` after the dot
//! (`secretsmanager.GetSecretValue` -> `GetSecretValue`), or the `Action=` of a query-protocol
//! body (STS: `AssumeRoleWithWebIdentity`); anything else counts as `unknown`.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the proxy answers instead of forwarding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 400 with `{"__type":"ThrottlingException","message":"Rate exceeded"}`, as AWS sends it;
    /// every AWS SDK treats it as retryable.
    Throttle,
    /// The given HTTP status (e.g. 500, 503) with a JSON AWS error body (`InternalFailure` for 500,
    /// `ServiceUnavailable` otherwise).
    ServerError(u16),
    /// No answer: the request is held until the rule is changed or cleared (then it is forwarded)
    /// or the proxy is dropped. Use it with a client-side timeout.
    Hang,
}

/// Which requests get a [`Fault`]: `fail` of every `of` matching requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    fault: Fault,
    fail: u32,
    of: u32,
    operation: Option<String>,
}

impl FaultRule {
    /// `fail` of every `of` requests get `fault`. Panics unless `0 < of` and `fail <= of`
    /// (a test bug, not a runtime condition).
    pub fn new(fault: Fault, fail: u32, of: u32) -> Self {
        assert!(
            of > 0 && fail <= of,
            "fault rule must satisfy 0 < of and fail <= of (got {fail} of {of})"
        );
        FaultRule {
            fault,
            fail,
            of,
            operation: None,
        }
    }

    /// Every matching request gets `fault`.
    pub fn always(fault: Fault) -> Self {
        FaultRule::new(fault, 1, 1)
    }

    /// Restrict the rule to one operation (e.g. `GetSecretValue`); other requests are forwarded.
    pub fn only_for(mut self, operation: &str) -> Self {
        self.operation = Some(operation.to_owned());
        self
    }

    fn matches(&self, operation: &str) -> bool {
        self.operation.as_deref().is_none_or(|op| op == operation)
    }
}

#[derive(Debug, Default)]
struct Counters {
    rule: Option<FaultRule>,
    matched: u64,
    requests: BTreeMap<String, u64>,
    faults: BTreeMap<String, u64>,
}

#[derive(Debug)]
struct Shared {
    upstream: String,
    counters: Mutex<Counters>,
    /// bumped on every rule change; hung requests wait for it (or for shutdown)
    generation: watch::Sender<u64>,
    shutdown: watch::Sender<bool>,
}

impl Shared {
    fn counters(&self) -> MutexGuard<'_, Counters> {
        // a panic while holding the lock cannot leave the counters inconsistent; keep going
        self.counters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A running fault proxy; stops (and releases hung requests) when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl FaultProxy {
    /// Listen on a free loopback port and forward to `upstream` (`http://127.0.0.1:<port>`).
    pub async fn start(upstream: &str) -> std::io::Result<FaultProxy> {
        let authority = upstream
            .strip_prefix("http://")
            .unwrap_or(upstream)
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (generation, _) = watch::channel(0);
        let (shutdown, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            upstream: authority,
            counters: Mutex::new(Counters::default()),
            generation,
            shutdown,
        });
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        Ok(FaultProxy {
            addr,
            shared,
            accept,
        })
    }

    /// The proxy's endpoint URL, `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The proxy's socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replace the fault rule (restarts its `i % of` sequence; releases hung requests).
    pub fn set_rule(&self, rule: FaultRule) {
        {
            let mut c = self.shared.counters();
            c.rule = Some(rule);
            c.matched = 0;
        }
        self.shared.generation.send_modify(|g| *g += 1);
    }

    /// Forward everything from now on (releases hung requests).
    pub fn clear_rule(&self) {
        self.shared.counters().rule = None;
        self.shared.generation.send_modify(|g| *g += 1);
    }

    /// Requests seen for `operation` (forwarded or faulted).
    pub fn requests(&self, operation: &str) -> u64 {
        self.shared
            .counters()
            .requests
            .get(operation)
            .copied()
            .unwrap_or(0)
    }

    /// Requests for `operation` that were answered with a fault.
    pub fn faults(&self, operation: &str) -> u64 {
        self.shared
            .counters()
            .faults
            .get(operation)
            .copied()
            .unwrap_or(0)
    }

    /// Requests seen, by operation.
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        self.shared.counters().requests.clone()
    }

    /// All requests seen.
    pub fn total_requests(&self) -> u64 {
        self.shared.counters().requests.values().sum()
    }

    /// All requests answered with a fault.
    pub fn total_faults(&self) -> u64 {
        self.shared.counters().faults.values().sum()
    }

    /// Zero the request and fault counters (the rule stays).
    pub fn reset_counts(&self) {
        let mut c = self.shared.counters();
        c.requests.clear();
        c.faults.clear();
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.shutdown.send_replace(true);
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
            _ = shutdown.changed() => return,
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(Arc::clone(&shared), req));
            // connection errors (client went away, hung request dropped) are expected here
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

enum Decision {
    Forward,
    Inject(Fault),
}

async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Ok(error_response(StatusCode::BAD_REQUEST, "ProxyError")),
    };
    let operation = operation_of(&parts.headers, &body);

    let decision = {
        let mut c = shared.counters();
        *c.requests.entry(operation.clone()).or_default() += 1;
        let inject = match c.rule.clone() {
            Some(rule) if rule.matches(&operation) => {
                let i = c.matched;
                c.matched += 1;
                (i % u64::from(rule.of) < u64::from(rule.fail)).then_some(rule.fault)
            }
            _ => None,
        };
        if inject.is_some() {
            *c.faults.entry(operation.clone()).or_default() += 1;
        }
        inject.map_or(Decision::Forward, Decision::Inject)
    };

    match decision {
        Decision::Inject(Fault::Throttle) => {
            let mut resp = Response::new(Full::new(Bytes::from_static(
                br#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
            )));
            *resp.status_mut() = StatusCode::BAD_REQUEST;
            set_aws_headers(&mut resp, "ThrottlingException");
            Ok(resp)
        }
        Decision::Inject(Fault::ServerError(status)) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let code = if status == StatusCode::INTERNAL_SERVER_ERROR {
                "InternalFailure"
            } else {
                "ServiceUnavailable"
            };
            Ok(error_response(status, code))
        }
        Decision::Inject(Fault::Hang) => {
            let mut generation = shared.generation.subscribe();
            let mut shutdown = shared.shutdown.subscribe();
            tokio::select! {
                _ = generation.changed() => forward(&shared, parts, body).await,
                _ = shutdown.changed() => Ok(error_response(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable")),
            }
        }
        Decision::Forward => forward(&shared, parts, body).await,
    }
}

async fn forward(
    shared: &Shared,
    parts: hyper::http::request::Parts,
    body: Bytes,
) -> Result<Response<Full<Bytes>>, Infallible> {
    match forward_inner(shared, parts, body).await {
        Ok(resp) => Ok(resp),
        Err(_) => Ok(error_response(
            StatusCode::BAD_GATEWAY,
            "ProxyUpstreamError",
        )),
    }
}

async fn forward_inner(
    shared: &Shared,
    parts: hyper::http::request::Parts,
    body: Bytes,
) -> Result<Response<Full<Bytes>>, Box<dyn std::error::Error + Send + Sync>> {
    let stream = TcpStream::connect(&shared.upstream).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let req = Request::from_parts(parts, Full::new(body));
    let resp = sender.send_request(req).await?;
    let (parts, body) = resp.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok(Response::from_parts(parts, Full::new(body)))
}

fn error_response(status: StatusCode, code: &str) -> Response<Full<Bytes>> {
    let body = format!(r#"{{"__type":"{code}","message":"injected by the sealkit fault proxy"}}"#);
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    set_aws_headers(&mut resp, code);
    resp
}

fn set_aws_headers(resp: &mut Response<Full<Bytes>>, code: &str) {
    let headers = resp.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    if let Ok(v) = hyper::header::HeaderValue::from_str(code) {
        headers.insert("x-amzn-errortype", v);
    }
    headers.insert(
        "x-amzn-requestid",
        hyper::header::HeaderValue::from_static("00000000-0000-0000-0000-000000000000"),
    );
}

/// The AWS operation of a request: `X-Amz-Target` suffix, or `Action=` of a form body.
fn operation_of(headers: &hyper::HeaderMap, body: &[u8]) -> String {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        return target
            .rsplit_once('.')
            .map_or(target, |(_, op)| op)
            .to_owned();
    }
    let form = String::from_utf8_lossy(body);
    form.split('&')
        .find_map(|pair| pair.strip_prefix("Action="))
        .map_or_else(|| "unknown".to_owned(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_comes_from_the_target_header_or_the_form_action() {
        let mut headers = hyper::HeaderMap::new();
        headers.insert(
            "x-amz-target",
            "secretsmanager.GetSecretValue".parse().unwrap(),
        );
        assert_eq!(operation_of(&headers, b""), "GetSecretValue");
        let empty = hyper::HeaderMap::new();
        assert_eq!(
            operation_of(
                &empty,
                b"Action=AssumeRoleWithWebIdentity&Version=2011-06-15"
            ),
            "AssumeRoleWithWebIdentity"
        );
        assert_eq!(operation_of(&empty, b"{}"), "unknown");
    }

    #[test]
    fn a_rule_only_for_one_operation_ignores_the_others() {
        let rule = FaultRule::always(Fault::Throttle).only_for("GetSecretValue");
        assert!(rule.matches("GetSecretValue"));
        assert!(!rule.matches("BatchGetSecretValue"));
        assert!(FaultRule::always(Fault::Hang).matches("anything"));
    }

    #[test]
    #[should_panic(expected = "fail <= of")]
    fn a_rule_failing_more_than_all_requests_is_a_test_bug() {
        let _ = FaultRule::new(Fault::Throttle, 3, 2);
    }
}
