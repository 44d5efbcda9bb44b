//! A small forwarding HTTP proxy on loopback, like the corporate proxies `HTTPS_PROXY` names:
//! `CONNECT host:port` opens a tunnel; `GET http://host/path` (absolute form) is forwarded to the
//! host in origin form. Every request line it saw is recorded, so a test can prove that a client
//! really went through the proxy.

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

/// A running proxy; it stops accepting when the process ends (tests are short-lived).
pub struct ForwardProxy {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
}

impl ForwardProxy {
    /// Starts the proxy on 127.0.0.1 (a free port).
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the forward proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let record = record.clone();
                thread::spawn(move || serve(client, &record));
            }
        });
        ForwardProxy { port, seen }
    }

    /// `http://127.0.0.1:<port>`, for `HTTPS_PROXY` / `HTTP_PROXY`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The request lines seen so far (`CONNECT 127.0.0.1:6443 HTTP/1.1`, ...).
    pub fn requests(&self) -> Vec<String> {
        self.seen.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

fn serve(client: TcpStream, seen: &Mutex<Vec<String>>) {
    let Ok(read_half) = client.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let request_line = request_line.trim_end().to_owned();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) if line == "\r\n" || line == "\n" => break,
            Ok(_) => headers.push(line),
        }
    }
    if let Ok(mut v) = seen.lock() {
        v.push(request_line.clone());
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let mut client = client;
    if method == "CONNECT" {
        let Ok(upstream) = TcpStream::connect(target) else {
            let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n");
            return;
        };
        let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
        pipe(reader, client, upstream);
        return;
    }
    // Absolute form: GET http://host:port/path HTTP/1.1
    let Some(rest) = target.strip_prefix("http://") else {
        let _ = client.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
        return;
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let authority = if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let Ok(mut upstream) = TcpStream::connect(&authority) else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n");
        return;
    };
    let path = if path.is_empty() { "/" } else { path };
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    for h in headers
        .iter()
        .filter(|h| !h.to_ascii_lowercase().starts_with("proxy-"))
    {
        head.push_str(h);
    }
    head.push_str("\r\n");
    if upstream.write_all(head.as_bytes()).is_err() {
        return;
    }
    pipe(reader, client, upstream);
}

/// Copies both ways until either side closes.
fn pipe(mut from_client: BufReader<TcpStream>, mut to_client: TcpStream, upstream: TcpStream) {
    let Ok(mut upstream_read) = upstream.try_clone() else {
        return;
    };
    let mut upstream_write = upstream;
    let up = thread::spawn(move || {
        let _ = std::io::copy(&mut from_client, &mut upstream_write);
        let _ = upstream_write.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut upstream_read, &mut to_client);
    let _ = to_client.shutdown(Shutdown::Write);
    let _ = up.join();
}
