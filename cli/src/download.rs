//! `GET` of a `--cert` URL: rustls (aws-lc-rs provider, the system's roots), through the proxy
//! that `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` name unless `NO_PROXY` covers the host — as
//! kubeseal (Go's `http.ProxyFromEnvironment`) and curl do.
//!
//! `https://` goes through a `CONNECT` tunnel; `http://` is sent to the proxy in absolute form
//! (`GET http://host/path`), which is what proxies that refuse `CONNECT` to port 80 expect.

use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::proxy::matcher::{Intercept, Matcher};
use hyper_util::rt::{TokioExecutor, TokioIo};

use crate::cluster;
use crate::failure::{Failure, Outcome};

const TIMEOUT: Duration = Duration::from_secs(30);

/// Fetches `url` (`http://` or `https://`) and returns the body of a `200 OK` answer.
pub fn fetch(url: &str) -> Outcome<Vec<u8>> {
    let uri: http::Uri = url.parse().map_err(|_| {
        Failure::user(format!("{url:?} is not a valid URL"))
            .hint("use http://, https:// or file:// URLs, or a file path")
    })?;
    let proxy = proxy_for(&uri);
    let via = proxy
        .as_ref()
        .map(|p| format!(" through the proxy {}", proxy_label(p.uri())))
        .unwrap_or_default();
    cluster::block_on(async move {
        let answer = tokio::time::timeout(TIMEOUT, get(uri, proxy.as_ref()))
            .await
            .map_err(|_| {
                Failure::user(format!(
                    "cannot fetch {url}{via}: timed out after {}s",
                    TIMEOUT.as_secs()
                ))
            })?;
        let response = answer.map_err(|e| {
            let failure = Failure::user(format!("cannot fetch {url}{via}")).because(&*e);
            if via.is_empty() {
                failure
            } else {
                failure.hint("check HTTPS_PROXY/HTTP_PROXY, or add the host to NO_PROXY")
            }
        })?;
        let status = response.status();
        if status != http::StatusCode::OK {
            return Err(
                Failure::user(format!("cannot fetch {url:?}{via}: {status}"))
                    .hint("check the URL; the controller serves its certificate at /v1/cert.pem"),
            );
        }
        let body =
            response.into_body().collect().await.map_err(|e| {
                Failure::user(format!("cannot read the answer from {url}")).because(&e)
            })?;
        Ok(body.to_bytes().to_vec())
    })?
}

/// The proxy the environment names for `uri`, as Go's `http.ProxyFromEnvironment`: none for
/// `localhost` and loopback addresses, none when `NO_PROXY` covers the host.
pub fn proxy_for(uri: &http::Uri) -> Option<Intercept> {
    let host = uri.host()?.trim_matches(['[', ']']);
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        return None;
    }
    Matcher::from_env().intercept(uri)
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn get(
    uri: http::Uri,
    proxy: Option<&Intercept>,
) -> Result<http::Response<hyper::body::Incoming>, BoxError> {
    match proxy {
        Some(proxy) if uri.scheme_str() == Some("http") => get_through_proxy(uri, proxy).await,
        Some(proxy) => {
            let mut tunnel = Tunnel::new(proxy.uri().clone(), HttpConnector::new());
            if let Some(auth) = proxy.basic_auth() {
                tunnel = tunnel.with_auth(auth.clone());
            }
            Ok(client(tunnel)?.get(uri).await?)
        }
        None => {
            let mut direct = HttpConnector::new();
            direct.enforce_http(false);
            Ok(client(direct)?.get(uri).await?)
        }
    }
}

/// An HTTP/1 client that speaks TLS for `https://` over `connector` (direct or tunnelled).
fn client<C>(
    connector: C,
) -> Result<Client<hyper_rustls::HttpsConnector<C>, Empty<bytes::Bytes>>, BoxError>
where
    C: tower_service::Service<http::Uri> + Clone + Send + Sync + 'static,
    C::Response: hyper::rt::Read
        + hyper::rt::Write
        + hyper_util::client::legacy::connect::Connection
        + Send
        + Unpin
        + 'static,
    C::Future: Send + 'static,
    C::Error: Into<BoxError>,
{
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|e| format!("cannot load the system's TLS root certificates: {e}"))?
        .https_or_http()
        .enable_http1()
        .wrap_connector(connector);
    Ok(Client::builder(TokioExecutor::new()).build(https))
}

/// Plain `http://` through a proxy: one connection to the proxy, request line in absolute form.
async fn get_through_proxy(
    uri: http::Uri,
    proxy: &Intercept,
) -> Result<http::Response<hyper::body::Incoming>, BoxError> {
    let proxy_uri = proxy.uri();
    let host = proxy_uri.host().ok_or("the proxy URL has no host")?;
    let port = proxy_uri.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host.trim_matches(['[', ']']), port)).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let authority = uri.authority().ok_or("the URL has no host")?.clone();
    let mut request = http::Request::get(uri).header(http::header::HOST, authority.as_str());
    if let Some(auth) = proxy.basic_auth() {
        request = request.header(http::header::PROXY_AUTHORIZATION, auth.clone());
    }
    Ok(sender
        .send_request(request.body(Empty::<bytes::Bytes>::new())?)
        .await?)
}

/// `host:port` of a proxy URL, without any credentials it carries.
fn proxy_label(uri: &http::Uri) -> String {
    match (uri.host(), uri.port_u16()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => "(unnamed)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_never_go_through_a_proxy() {
        for url in [
            "http://localhost:8080/v1/cert.pem",
            "https://127.0.0.1:6443/",
            "https://[::1]:6443/",
        ] {
            assert!(proxy_for(&url.parse().unwrap()).is_none(), "{url}");
        }
    }

    #[test]
    fn a_proxy_label_never_shows_credentials() {
        let uri: http::Uri = "http://alice:s3cret@proxy.example:3128".parse().unwrap();
        assert_eq!(proxy_label(&uri), "proxy.example:3128");
    }
}
