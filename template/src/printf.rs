//! Go's `fmt.Sprintf` for template values (the verbs templates use).

use crate::value::{Value, format_float_g};

#[derive(Default, Clone, Copy)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    zero: bool,
    space: bool,
    width: Option<usize>,
    precision: Option<usize>,
}

/// `fmt.Sprintf(format, args...)`.
pub(crate) fn sprintf(format: &[u8], args: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut arg_index = 0;
    let mut i = 0;
    let mut reordered = false;
    while i < format.len() {
        if out.len() > crate::execution::MAX_OUTPUT {
            break;
        }
        let c = format[i];
        if c != b'%' {
            out.push(c);
            i += 1;
            continue;
        }
        i += 1;
        let mut spec = Spec::default();
        // Flags.
        while i < format.len() {
            match format[i] {
                b'-' => spec.minus = true,
                b'+' => spec.plus = true,
                b'#' => spec.sharp = true,
                b'0' => spec.zero = true,
                b' ' => spec.space = true,
                _ => break,
            }
            i += 1;
        }
        // Argument index [n].
        let mut explicit_index = |i: &mut usize, arg_index: &mut usize| -> bool {
            if format.get(*i) == Some(&b'[')
                && let Some(close) = format[*i..].iter().position(|b| *b == b']')
            {
                let n = std::str::from_utf8(&format[*i + 1..*i + close])
                    .ok()
                    .and_then(|s| s.parse::<usize>().ok());
                *i += close + 1;
                reordered = true;
                match n {
                    Some(n) if n >= 1 => *arg_index = n - 1,
                    _ => *arg_index = usize::MAX,
                }
                return true;
            }
            false
        };
        explicit_index(&mut i, &mut arg_index);
        // Width.
        if format.get(i) == Some(&b'*') {
            i += 1;
            match args.get(arg_index) {
                Some(Value::Int(w)) => {
                    if *w < 0 {
                        spec.minus = true;
                    }
                    spec.width = Some(w.unsigned_abs() as usize);
                }
                _ => out.extend_from_slice(b"%!(BADWIDTH)"),
            }
            arg_index = arg_index.saturating_add(1);
        } else {
            let start = i;
            while i < format.len() && format[i].is_ascii_digit() {
                i += 1;
            }
            if i > start {
                spec.width = std::str::from_utf8(&format[start..i])
                    .ok()
                    .and_then(|s| s.parse().ok());
            }
        }
        // Precision.
        if format.get(i) == Some(&b'.') {
            i += 1;
            explicit_index(&mut i, &mut arg_index);
            if format.get(i) == Some(&b'*') {
                i += 1;
                match args.get(arg_index) {
                    Some(Value::Int(p)) if *p >= 0 => spec.precision = Some(*p as usize),
                    _ => out.extend_from_slice(b"%!(BADPREC)"),
                }
                arg_index = arg_index.saturating_add(1);
            } else {
                let start = i;
                while i < format.len() && format[i].is_ascii_digit() {
                    i += 1;
                }
                spec.precision = Some(
                    std::str::from_utf8(&format[start..i])
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0),
                );
            }
        }
        explicit_index(&mut i, &mut arg_index);
        let Some(verb) = std::str::from_utf8(&format[i..])
            .ok()
            .and_then(|s| s.chars().next())
            .or_else(|| {
                // Invalid UTF-8 after '%': treat the byte as the verb.
                format.get(i).map(|b| char::from(*b))
            })
        else {
            out.extend_from_slice(b"%!(NOVERB)");
            break;
        };
        i += verb.len_utf8();
        if verb == '%' {
            out.push(b'%');
            continue;
        }
        let Some(arg) = args.get(arg_index) else {
            out.extend_from_slice(format!("%!{verb}(MISSING)").as_bytes());
            continue;
        };
        arg_index += 1;
        format_one(&mut out, verb, spec, arg);
    }
    if !reordered && arg_index < args.len() {
        out.extend_from_slice(b"%!(EXTRA ");
        for (n, a) in args[arg_index..].iter().enumerate() {
            if n > 0 {
                out.extend_from_slice(b", ");
            }
            out.extend_from_slice(a.type_name().as_bytes());
            out.push(b'=');
            a.write_go(&mut out);
        }
        out.push(b')');
    }
    out
}

fn pad(out: &mut Vec<u8>, body: &[u8], spec: Spec, numeric: bool) {
    let len = String::from_utf8_lossy(body).chars().count();
    let width = spec.width.unwrap_or(0);
    if len >= width {
        out.extend_from_slice(body);
        return;
    }
    let fill = width - len;
    if spec.minus {
        out.extend_from_slice(body);
        out.extend(std::iter::repeat_n(b' ', fill));
    } else if spec.zero && numeric {
        // Zero padding goes after the sign.
        let (sign, digits) = match body.first() {
            Some(b'-' | b'+' | b' ') => body.split_at(1),
            _ => (&body[..0], body),
        };
        out.extend_from_slice(sign);
        out.extend(std::iter::repeat_n(b'0', fill));
        out.extend_from_slice(digits);
    } else if spec.zero && !numeric {
        out.extend(std::iter::repeat_n(b'0', fill));
        out.extend_from_slice(body);
    } else {
        out.extend(std::iter::repeat_n(b' ', fill));
        out.extend_from_slice(body);
    }
}

fn bad_verb(out: &mut Vec<u8>, verb: char, arg: &Value) {
    out.extend_from_slice(format!("%!{verb}(").as_bytes());
    if let Value::Nil = arg {
        out.extend_from_slice(b"<nil>");
    } else {
        out.extend_from_slice(arg.type_name().as_bytes());
        out.push(b'=');
        arg.write_go(out);
    }
    out.push(b')');
}

fn format_one(out: &mut Vec<u8>, verb: char, spec: Spec, arg: &Value) {
    match (verb, arg) {
        ('T', Value::Nil) => pad(out, b"<nil>", spec, false),
        ('T', _) => pad(out, arg.type_name().as_bytes(), spec, false),
        ('v', Value::Str(_)) | ('s', Value::Str(_)) => {
            let s = arg.as_bytes().unwrap_or_default();
            let body = match spec.precision {
                Some(p) => truncate_runes(s, p),
                None => s.to_vec(),
            };
            pad(out, &body, spec, false);
        }
        ('q', Value::Str(s)) => {
            let q = if spec.sharp && !s.contains(&b'`') && std::str::from_utf8(s).is_ok() {
                let mut v = b"`".to_vec();
                v.extend_from_slice(s);
                v.push(b'`');
                v
            } else {
                go_quote(s, spec.plus).into_bytes()
            };
            pad(out, &q, spec, false);
        }
        ('x' | 'X', Value::Str(s)) => {
            let mut body = String::new();
            for (n, b) in s.iter().enumerate() {
                if spec.space && n > 0 {
                    body.push(' ');
                }
                if spec.sharp && (spec.space || n == 0) {
                    body.push_str(if verb == 'x' { "0x" } else { "0X" });
                }
                if verb == 'x' {
                    body.push_str(&format!("{b:02x}"));
                } else {
                    body.push_str(&format!("{b:02X}"));
                }
            }
            pad(out, body.as_bytes(), spec, false);
        }
        ('v' | 'd', Value::Int(i)) => {
            pad(out, int_body(*i, 10, spec, false).as_bytes(), spec, true)
        }
        ('b', Value::Int(i)) => pad(out, int_body(*i, 2, spec, false).as_bytes(), spec, true),
        ('o' | 'O', Value::Int(i)) => pad(
            out,
            int_body(*i, 8, spec, verb == 'O').as_bytes(),
            spec,
            true,
        ),
        ('x', Value::Int(i)) => pad(out, int_body(*i, 16, spec, false).as_bytes(), spec, true),
        ('X', Value::Int(i)) => pad(
            out,
            int_body(*i, 16, spec, false).to_uppercase().as_bytes(),
            spec,
            true,
        ),
        ('c', Value::Int(i)) => {
            let ch = u32::try_from(*i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{FFFD}');
            pad(out, ch.to_string().as_bytes(), spec, false);
        }
        ('q', Value::Int(i)) => {
            let ch = u32::try_from(*i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{FFFD}');
            let q = format!("'{}'", go_escape_char(ch, '\''));
            pad(out, q.as_bytes(), spec, false);
        }
        ('U', Value::Int(i)) => {
            let body = format!("U+{:04X}", i);
            pad(out, body.as_bytes(), spec, false);
        }
        ('v' | 'g' | 'G', Value::Float(f)) => {
            let body = sign(format_float_g(*f, spec.precision, verb == 'G'), spec);
            pad(out, body.as_bytes(), spec, true);
        }
        ('f' | 'F', Value::Float(f)) => {
            let body = if f.is_finite() {
                format!("{:.*}", spec.precision.unwrap_or(6), f)
            } else {
                format_float_g(*f, None, false)
            };
            pad(out, sign(body, spec).as_bytes(), spec, true);
        }
        ('e' | 'E', Value::Float(f)) => {
            let body = if f.is_finite() {
                let s = format!("{:.*e}", spec.precision.unwrap_or(6), f);
                let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
                let e: i32 = e.parse().unwrap_or(0);
                let letter = if verb == 'e' { 'e' } else { 'E' };
                format!("{m}{letter}{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
            } else {
                format_float_g(*f, None, false)
            };
            pad(out, sign(body, spec).as_bytes(), spec, true);
        }
        ('v' | 't', Value::Bool(b)) => pad(out, if *b { b"true" } else { b"false" }, spec, false),
        ('v', Value::Nil) => pad(out, b"<nil>", spec, false),
        // Lists and maps apply the verb (and width) to each element, as Go does.
        (_, Value::List(items)) => {
            out.push(b'[');
            for (n, item) in items.iter().enumerate() {
                if out.len() > crate::execution::MAX_OUTPUT {
                    break;
                }
                if n > 0 {
                    out.push(b' ');
                }
                format_one(out, verb, spec, item);
            }
            out.push(b']');
        }
        (_, Value::Map(entries)) => {
            out.extend_from_slice(b"map[");
            for (n, (k, v)) in entries.iter().enumerate() {
                if out.len() > crate::execution::MAX_OUTPUT {
                    break;
                }
                if n > 0 {
                    out.push(b' ');
                }
                format_one(out, verb, spec, &Value::str(k));
                out.push(b':');
                format_one(out, verb, spec, v);
            }
            out.push(b']');
        }
        ('v' | 's', Value::Time(t)) => pad(out, crate::date::go_string(t).as_bytes(), spec, false),
        _ => bad_verb(out, verb, arg),
    }
}

fn sign(body: String, spec: Spec) -> String {
    if body.starts_with('-') || body.starts_with('+') {
        return body;
    }
    if spec.plus {
        format!("+{body}")
    } else if spec.space {
        format!(" {body}")
    } else {
        body
    }
}

fn int_body(i: i64, radix: u32, spec: Spec, o_prefix: bool) -> String {
    let magnitude = i.unsigned_abs();
    let mut digits = match radix {
        2 => format!("{magnitude:b}"),
        8 => format!("{magnitude:o}"),
        16 => format!("{magnitude:x}"),
        _ => magnitude.to_string(),
    };
    if let Some(p) = spec.precision {
        if p == 0 && magnitude == 0 {
            digits.clear();
        }
        while digits.len() < p {
            digits.insert(0, '0');
        }
    }
    let prefix = match (radix, spec.sharp, o_prefix) {
        (8, _, true) => "0o",
        (2, true, _) => "0b",
        (8, true, _) if !digits.starts_with('0') => "0",
        (16, true, _) => "0x",
        _ => "",
    };
    let sign = if i < 0 {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    format!("{sign}{prefix}{digits}")
}

fn truncate_runes(s: &[u8], n: usize) -> Vec<u8> {
    let text = String::from_utf8_lossy(s);
    if text.chars().count() <= n {
        return s.to_vec();
    }
    text.chars().take(n).collect::<String>().into_bytes()
}

/// Go's `strconv.Quote` (`plus` = `QuoteToASCII`).
pub(crate) fn go_quote(s: &[u8], ascii_only: bool) -> String {
    let mut out = String::from("\"");
    let mut rest = s;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                push_escaped(&mut out, valid, ascii_only);
                rest = &[];
            }
            Err(e) => {
                let (valid, bad) = rest.split_at(e.valid_up_to());
                push_escaped(
                    &mut out,
                    std::str::from_utf8(valid).unwrap_or_default(),
                    ascii_only,
                );
                let bad_len = e.error_len().unwrap_or(bad.len()).max(1);
                for b in &bad[..bad_len] {
                    out.push_str(&format!("\\x{b:02x}"));
                }
                rest = &bad[bad_len..];
            }
        }
    }
    out.push('"');
    out
}

fn push_escaped(out: &mut String, s: &str, ascii_only: bool) {
    for ch in s.chars() {
        if ascii_only && !ch.is_ascii() {
            let v = ch as u32;
            if v < 0x10000 {
                out.push_str(&format!("\\u{v:04x}"));
            } else {
                out.push_str(&format!("\\U{v:08x}"));
            }
        } else {
            out.push_str(&go_escape_char(ch, '"'));
        }
    }
}

fn go_escape_char(ch: char, quote: char) -> String {
    match ch {
        '\x07' => "\\a".into(),
        '\x08' => "\\b".into(),
        '\x0c' => "\\f".into(),
        '\n' => "\\n".into(),
        '\r' => "\\r".into(),
        '\t' => "\\t".into(),
        '\x0b' => "\\v".into(),
        '\\' => "\\\\".into(),
        c if c == quote => format!("\\{c}"),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => format!("\\x{:02x}", c as u32),
        c if is_go_printable(c) => c.to_string(),
        c if (c as u32) < 0x10000 => format!("\\u{:04x}", c as u32),
        c => format!("\\U{:08x}", c as u32),
    }
}

/// Approximation of Go's `strconv.IsPrint`: control and format characters
/// and non-ASCII spaces other than U+0020 are escaped.
pub(crate) fn is_go_printable(c: char) -> bool {
    !(c.is_control()
        || matches!(c, '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
        || (c.is_whitespace() && c != ' '))
}
