//! JSON encoding as Go's `encoding/json` does it (`toJson` & co.): sorted
//! map keys, `<>&` escaped as `\u003c`..., invalid UTF-8 as `\ufffd`, Go's
//! float format.

use crate::value::Value;

/// Output layout.
#[derive(Clone, Copy)]
pub(crate) enum Style {
    /// `json.Marshal` (`escape_html: true`) or an Encoder with
    /// `SetEscapeHTML(false)`.
    Compact { escape_html: bool },
    /// `json.MarshalIndent(v, "", "  ")` (HTML escaped).
    Pretty,
}

const MAX_DEPTH: usize = 200;

/// Encode `v`; like Sprig, an unencodable value (NaN, infinity, nesting too
/// deep) gives an empty string.
pub(crate) fn encode(v: &Value, style: Style) -> Vec<u8> {
    let mut out = Vec::new();
    let escape_html = match style {
        Style::Compact { escape_html } => escape_html,
        Style::Pretty => true,
    };
    let indent = matches!(style, Style::Pretty);
    match write(&mut out, v, escape_html, indent, 0) {
        Ok(()) => out,
        Err(()) => Vec::new(),
    }
}

fn newline(out: &mut Vec<u8>, indent: bool, depth: usize) {
    if indent {
        out.push(b'\n');
        for _ in 0..depth {
            out.extend_from_slice(b"  ");
        }
    }
}

fn write(
    out: &mut Vec<u8>,
    v: &Value,
    escape_html: bool,
    indent: bool,
    depth: usize,
) -> Result<(), ()> {
    if depth > MAX_DEPTH || out.len() > crate::execution::MAX_OUTPUT {
        return Err(());
    }
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Value::Float(f) => out.extend_from_slice(float(*f)?.as_bytes()),
        Value::Str(s) => string(out, s, escape_html),
        // Go marshals time.Time as RFC 3339 with nanoseconds.
        Value::Time(t) => string(
            out,
            crate::date::format_go(t, "2006-01-02T15:04:05.999999999Z07:00").as_bytes(),
            escape_html,
        ),
        Value::List(items) => {
            if items.is_empty() {
                out.extend_from_slice(b"[]");
                return Ok(());
            }
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                newline(out, indent, depth + 1);
                write(out, item, escape_html, indent, depth + 1)?;
            }
            newline(out, indent, depth);
            out.push(b']');
        }
        Value::Map(entries) => {
            if entries.is_empty() {
                out.extend_from_slice(b"{}");
                return Ok(());
            }
            out.push(b'{');
            for (i, (k, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                newline(out, indent, depth + 1);
                string(out, k.as_bytes(), escape_html);
                out.push(b':');
                if indent {
                    out.push(b' ');
                }
                write(out, item, escape_html, indent, depth + 1)?;
            }
            newline(out, indent, depth);
            out.push(b'}');
        }
    }
    Ok(())
}

fn float(f: f64) -> Result<String, ()> {
    if !f.is_finite() {
        return Err(());
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format!("{f:e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let e: i32 = e.parse().unwrap_or(0);
        return Ok(if e < 0 {
            format!("{m}e-{}", -e)
        } else {
            format!("{m}e+{e:02}")
        });
    }
    Ok(format!("{f}"))
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Go's `encodeState.string`.
pub(crate) fn string(out: &mut Vec<u8>, s: &[u8], escape_html: bool) {
    out.push(b'"');
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if b < 0x80 {
            match b {
                b'"' | b'\\' => {
                    out.push(b'\\');
                    out.push(b);
                }
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                0x08 => out.extend_from_slice(b"\\b"),
                0x0c => out.extend_from_slice(b"\\f"),
                b'<' | b'>' | b'&' if escape_html => {
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[usize::from(b >> 4)]);
                    out.push(HEX[usize::from(b & 0xf)]);
                }
                b if b < 0x20 => {
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[usize::from(b >> 4)]);
                    out.push(HEX[usize::from(b & 0xf)]);
                }
                b => out.push(b),
            }
            i += 1;
            continue;
        }
        // Multi-byte: decode one UTF-8 sequence.
        let end = (i + 4).min(s.len());
        let chunk = &s[i..end];
        let (ch, len) = match std::str::from_utf8(chunk) {
            Ok(t) => (
                t.chars().next(),
                t.chars().next().map(char::len_utf8).unwrap_or(1),
            ),
            Err(e) if e.valid_up_to() > 0 => {
                let t = std::str::from_utf8(&chunk[..e.valid_up_to()]).unwrap_or_default();
                (
                    t.chars().next(),
                    t.chars().next().map(char::len_utf8).unwrap_or(1),
                )
            }
            Err(_) => (None, 1),
        };
        match ch {
            None => out.extend_from_slice(b"\\ufffd"),
            Some('\u{2028}') => out.extend_from_slice(b"\\u2028"),
            Some('\u{2029}') => out.extend_from_slice(b"\\u2029"),
            Some(_) => out.extend_from_slice(&s[i..i + len]),
        }
        i += len;
    }
    out.push(b'"');
}
