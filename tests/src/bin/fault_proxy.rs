//! `sealkit-fault-proxy`: run the e2e fault proxy by hand in front of moto.
//!
//! ```text
//! sealkit-fault-proxy --upstream http://127.0.0.1:PORT [--throttle F/N | --server-error STATUS[:F/N] | --hang] [--operation OP]
//! ```
//! Prints the proxy endpoint, then serves until Ctrl-C, printing request counts per operation.

use std::time::Duration;

use sealkit_e2e::fault_proxy::{Fault, FaultProxy, FaultRule};

const USAGE: &str = "usage: sealkit-fault-proxy --upstream http://127.0.0.1:PORT \
    [--throttle F/N | --server-error STATUS[:F/N] | --hang] [--operation OP]";

fn ratio(s: &str) -> Result<(u32, u32), String> {
    let (f, n) = s
        .split_once('/')
        .ok_or_else(|| format!("expected F/N, got {s:?}"))?;
    let f = f.parse().map_err(|_| format!("bad number {f:?}"))?;
    let n = n.parse().map_err(|_| format!("bad number {n:?}"))?;
    if n == 0 || f > n {
        return Err(format!("need 0 < N and F <= N, got {s:?}"));
    }
    Ok((f, n))
}

fn parse(args: &[String]) -> Result<(String, Option<FaultRule>), String> {
    let mut upstream = None;
    let mut rule = None;
    let mut operation = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{arg} needs a value"))
        };
        match arg.as_str() {
            "--upstream" => upstream = Some(value()?),
            "--throttle" => {
                let (f, n) = ratio(&value()?)?;
                rule = Some(FaultRule::new(Fault::Throttle, f, n));
            }
            "--server-error" => {
                let v = value()?;
                let (status, share) = v
                    .split_once(':')
                    .map_or((v.as_str(), "1/1"), |(s, r)| (s, r));
                let status: u16 = status
                    .parse()
                    .map_err(|_| format!("bad status {status:?}"))?;
                let (f, n) = ratio(share)?;
                rule = Some(FaultRule::new(Fault::ServerError(status), f, n));
            }
            "--hang" => rule = Some(FaultRule::always(Fault::Hang)),
            "--operation" => operation = Some(value()?),
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let upstream = upstream.ok_or_else(|| format!("--upstream is required\n{USAGE}"))?;
    let rule = match (rule, operation) {
        (Some(r), Some(op)) => Some(r.only_for(&op)),
        (r, _) => r,
    };
    Ok((upstream, rule))
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (upstream, rule) = match parse(&args) {
        Ok(v) => v,
        Err(msg) => {
            eprintln!("error: {msg}");
            std::process::exit(1);
        }
    };
    let proxy = match FaultProxy::start(&upstream).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: cannot listen on 127.0.0.1: {e}");
            std::process::exit(2);
        }
    };
    if let Some(rule) = rule {
        proxy.set_rule(rule);
    }
    println!("{}", proxy.endpoint());
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = tick.tick() => eprintln!("requests {:?}, faults {}", proxy.request_counts(), proxy.total_faults()),
        }
    }
}
