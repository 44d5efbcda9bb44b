//! Sprig's `urlParse` and `urlJoin`, following Go's `net/url` parsing and
//! escaping rules. Errors never quote the URL (it may hold a password).

use std::collections::BTreeMap;

use crate::function::{Call, FResult, FuncError, arity, ferr, map_arg, strval, text_arg};
use crate::value::Value;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Path,
    Host,
    UserPassword,
    Fragment,
}

fn should_escape(c: u8, mode: Mode) -> bool {
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if mode == Mode::Host {
        return !matches!(
            c,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'['
                | b']'
                | b'<'
                | b'>'
                | b'"'
                | b'-'
                | b'_'
                | b'.'
                | b'~'
        );
    }
    match c {
        b'-' | b'_' | b'.' | b'~' => return false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => {
            return match mode {
                Mode::Path => c == b'?',
                Mode::UserPassword => matches!(c, b'@' | b'/' | b'?' | b':'),
                Mode::Fragment | Mode::Host => false,
            };
        }
        _ => {}
    }
    if mode == Mode::Fragment && matches!(c, b'!' | b'(' | b')' | b'*') {
        return false;
    }
    true
}

fn escape(s: &[u8], mode: Mode) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s {
        if should_escape(c, mode) {
            out.push_str(&format!("%{c:02X}"));
        } else {
            out.push(char::from(c));
        }
    }
    out
}

fn unhex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

fn unescape(s: &str, mode: Mode) -> Result<Vec<u8>, FuncError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let (Some(h), Some(l)) = (
                    b.get(i + 1).and_then(|c| unhex(*c)),
                    b.get(i + 2).and_then(|c| unhex(*c)),
                ) else {
                    return ferr("unable to parse url: invalid URL escape");
                };
                if mode == Mode::Host && h < 8 && &b[i..i + 3] != b"%25" {
                    return ferr("unable to parse url: invalid URL escape");
                }
                out.push(h << 4 | l);
                i += 3;
            }
            c => {
                if mode == Mode::Host && c < 0x80 && should_escape(c, mode) {
                    return ferr("unable to parse url: invalid character in host name");
                }
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

fn valid_optional_port(port: &str) -> bool {
    match port.strip_prefix(':') {
        None => port.is_empty(),
        Some(digits) => digits.bytes().all(|c| c.is_ascii_digit()),
    }
}

fn parse_host(host: &str) -> Result<String, FuncError> {
    if host.starts_with('[') {
        let Some(close) = host.rfind(']') else {
            return ferr("unable to parse url: missing ']' in host");
        };
        if !valid_optional_port(&host[close + 1..]) {
            return ferr("unable to parse url: invalid port after host");
        }
    } else if let Some(i) = host.rfind(':')
        && !valid_optional_port(&host[i..])
    {
        return ferr("unable to parse url: invalid port after host");
    }
    Ok(String::from_utf8_lossy(&unescape(host, Mode::Host)?).into_owned())
}

fn valid_userinfo(s: &str) -> bool {
    s.bytes().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.'
                    | b'_'
                    | b':'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b'%'
                    | b'@'
            )
    })
}

struct Url {
    scheme: String,
    opaque: String,
    user: Option<(Vec<u8>, Option<Vec<u8>>)>,
    host: String,
    path: Vec<u8>,
    raw_query: String,
    fragment: Vec<u8>,
}

fn parse(raw: &str) -> Result<Url, FuncError> {
    let (rest, fragment) = match raw.split_once('#') {
        Some((r, f)) => (r, unescape(f, Mode::Fragment)?),
        None => (raw, Vec::new()),
    };
    let mut url = Url {
        scheme: String::new(),
        opaque: String::new(),
        user: None,
        host: String::new(),
        path: Vec::new(),
        raw_query: String::new(),
        fragment,
    };
    let mut rest = rest;
    for (i, c) in rest.bytes().enumerate() {
        if c.is_ascii_alphabetic() {
            continue;
        }
        if (c.is_ascii_digit() || matches!(c, b'+' | b'-' | b'.')) && i > 0 {
            continue;
        }
        if c == b':' {
            if i == 0 {
                return ferr("unable to parse url: missing protocol scheme");
            }
            url.scheme = rest[..i].to_ascii_lowercase();
            rest = &rest[i + 1..];
        }
        break;
    }
    if rest.ends_with('?') && rest.matches('?').count() == 1 {
        rest = &rest[..rest.len() - 1];
    } else if let Some((r, q)) = rest.split_once('?') {
        url.raw_query = q.to_string();
        rest = r;
    }
    if !rest.starts_with('/') {
        if !url.scheme.is_empty() {
            url.opaque = rest.to_string();
            return Ok(url);
        }
        let first_segment = rest.split('/').next().unwrap_or("");
        if first_segment.contains(':') {
            return ferr("unable to parse url: first path segment in URL cannot contain colon");
        }
    }
    if (!url.scheme.is_empty() || !rest.starts_with("///")) && rest.starts_with("//") {
        let after = &rest[2..];
        let (authority, path) = match after.find('/') {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, ""),
        };
        match authority.rfind('@') {
            None => url.host = parse_host(authority)?,
            Some(i) => {
                url.host = parse_host(&authority[i + 1..])?;
                let info = &authority[..i];
                if !valid_userinfo(info) {
                    return ferr("unable to parse url: invalid userinfo");
                }
                url.user = Some(match info.split_once(':') {
                    None => (unescape(info, Mode::UserPassword)?, None),
                    Some((u, p)) => (
                        unescape(u, Mode::UserPassword)?,
                        Some(unescape(p, Mode::UserPassword)?),
                    ),
                });
            }
        }
        rest = path;
    }
    url.path = unescape(rest, Mode::Path)?;
    Ok(url)
}

fn userinfo_string(user: &(Vec<u8>, Option<Vec<u8>>)) -> String {
    let mut s = escape(&user.0, Mode::UserPassword);
    if let Some(p) = &user.1 {
        s.push(':');
        s.push_str(&escape(p, Mode::UserPassword));
    }
    s
}

fn hostname(host: &str) -> &str {
    let mut h = host;
    if let Some(colon) = host.rfind(':')
        && valid_optional_port(&host[colon..])
    {
        h = &host[..colon];
    }
    if h.starts_with('[') && h.ends_with(']') && h.len() >= 2 {
        h = &h[1..h.len() - 1];
    }
    h
}

pub(crate) fn url_parse(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    let url = parse(&text_arg(args, 0)?)?;
    let entries: BTreeMap<String, Value> = [
        ("scheme", Value::str(&url.scheme)),
        ("host", Value::str(&url.host)),
        ("hostname", Value::str(hostname(&url.host))),
        ("path", Value::str(&url.path)),
        ("query", Value::str(&url.raw_query)),
        ("opaque", Value::str(&url.opaque)),
        ("fragment", Value::str(&url.fragment)),
        (
            "userinfo",
            Value::str(url.user.as_ref().map(userinfo_string).unwrap_or_default()),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    Ok(Value::map(entries))
}

pub(crate) fn url_join(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    let dict = map_arg(args, 0)?;
    let get = |k: &str| {
        dict.get(k)
            .map(|v| String::from_utf8_lossy(&strval(v)).into_owned())
            .unwrap_or_default()
    };
    let userinfo = get("userinfo");
    let user = if userinfo.is_empty() {
        None
    } else {
        parse(&format!("proto://{userinfo}@host"))?.user
    };
    let (scheme, host, path, query, opaque, fragment) = (
        get("scheme"),
        get("host"),
        get("path"),
        get("query"),
        get("opaque"),
        get("fragment"),
    );
    let mut out = String::new();
    if !scheme.is_empty() {
        out.push_str(&scheme);
        out.push(':');
    }
    if !opaque.is_empty() {
        out.push_str(&opaque);
    } else {
        if !scheme.is_empty() || !host.is_empty() || user.is_some() {
            if !host.is_empty() || !path.is_empty() || user.is_some() {
                out.push_str("//");
            }
            if let Some(u) = &user {
                out.push_str(&userinfo_string(u));
                out.push('@');
            }
            out.push_str(&escape(host.as_bytes(), Mode::Host));
        }
        let escaped_path = escape(path.as_bytes(), Mode::Path);
        if !escaped_path.is_empty() && !escaped_path.starts_with('/') && !host.is_empty() {
            out.push('/');
        }
        if out.is_empty() && escaped_path.split('/').next().unwrap_or("").contains(':') {
            out.push_str("./");
        }
        out.push_str(&escaped_path);
    }
    if !query.is_empty() {
        out.push('?');
        out.push_str(&query);
    }
    if !fragment.is_empty() {
        out.push('#');
        out.push_str(&escape(fragment.as_bytes(), Mode::Fragment));
    }
    Ok(Value::str(out))
}
