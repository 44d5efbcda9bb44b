//! The dynamic values a template works on.
//!
//! Go strings are byte sequences, so [`Value::Str`] holds bytes: a secret value
//! that is not valid UTF-8 flows through the template unchanged and is written
//! out byte for byte. Functions that need text (case mapping, regular
//! expressions, JSON) see invalid sequences as U+FFFD, as Go's `strings`
//! package does.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::rc::Rc;

/// A template value (the role `reflect.Value` plays in Go).
#[derive(Clone)]
pub(crate) enum Value {
    /// Go's invalid value / untyped nil (a missing map entry, `nil`).
    Nil,
    /// `bool`.
    Bool(bool),
    /// `int` / `int64`.
    Int(i64),
    /// `float64`.
    Float(f64),
    /// `string` (bytes, as in Go).
    Str(Rc<[u8]>),
    /// `[]interface{}`.
    List(Rc<Vec<Value>>),
    /// `map[string]interface{}`.
    Map(Rc<BTreeMap<String, Value>>),
    /// `time.Time` (from `now`).
    Time(chrono::DateTime<chrono::FixedOffset>),
}

// Never print contents: values may be secrets.
impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Value::{}([REDACTED])", self.type_name())
    }
}

impl Value {
    pub(crate) fn str(s: impl AsRef<[u8]>) -> Value {
        Value::Str(Rc::from(s.as_ref()))
    }

    pub(crate) fn list(items: Vec<Value>) -> Value {
        Value::List(Rc::new(items))
    }

    pub(crate) fn map(entries: BTreeMap<String, Value>) -> Value {
        Value::Map(Rc::new(entries))
    }

    /// The Go type name, used in error messages (never the value itself).
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::List(_) => "[]interface {}",
            Value::Map(_) => "map[string]interface {}",
            Value::Time(_) => "time.Time",
        }
    }

    /// Go's `reflect.Kind` name, as Sprig's `kindOf` reports it.
    pub(crate) fn kind_name(&self) -> &'static str {
        match self {
            Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::List(_) => "slice",
            Value::Map(_) => "map",
            Value::Time(_) => "struct",
        }
    }

    /// Go template truthiness (`if`, `with`, `and`, `or`, `not`).
    pub(crate) fn is_true(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Time(_) => true,
        }
    }

    /// The bytes of a string value.
    pub(crate) fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Containment of a value built by a template: nesting depth (with
    /// shared sub-values visited once) compared against `max_depth`.
    pub(crate) fn nesting_exceeds(&self, max_depth: usize) -> bool {
        fn depth(
            v: &Value,
            seen: &mut std::collections::HashMap<usize, usize>,
            limit: usize,
        ) -> usize {
            let (key, children): (usize, Vec<&Value>) = match v {
                Value::List(l) => (Rc::as_ptr(l) as *const u8 as usize, l.iter().collect()),
                Value::Map(m) => (Rc::as_ptr(m) as *const u8 as usize, m.values().collect()),
                _ => return 0,
            };
            if let Some(d) = seen.get(&key) {
                return *d;
            }
            let mut max = 0;
            for child in children {
                let d = depth(child, seen, limit);
                max = max.max(d);
                if max > limit {
                    break;
                }
            }
            seen.insert(key, max + 1);
            max + 1
        }
        depth(self, &mut std::collections::HashMap::new(), max_depth) > max_depth
    }

    /// Go's `fmt.Sprint(v)` / `%v` rendering. Stops adding once `out` holds
    /// more than the output limit (the caller then reports the limit).
    pub(crate) fn write_go(&self, out: &mut Vec<u8>) {
        if out.len() > crate::execution::MAX_OUTPUT {
            return;
        }
        match self {
            Value::Nil => out.extend_from_slice(b"<nil>"),
            Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Value::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
            Value::Float(f) => out.extend_from_slice(format_float_v(*f).as_bytes()),
            Value::Str(s) => out.extend_from_slice(s),
            Value::List(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if out.len() > crate::execution::MAX_OUTPUT {
                        break;
                    }
                    if i > 0 {
                        out.push(b' ');
                    }
                    item.write_go(out);
                }
                out.push(b']');
            }
            Value::Map(entries) => {
                out.extend_from_slice(b"map[");
                for (i, (k, v)) in entries.iter().enumerate() {
                    if out.len() > crate::execution::MAX_OUTPUT {
                        break;
                    }
                    if i > 0 {
                        out.push(b' ');
                    }
                    out.extend_from_slice(k.as_bytes());
                    out.push(b':');
                    v.write_go(out);
                }
                out.push(b']');
            }
            Value::Time(t) => out.extend_from_slice(crate::date::go_string(t).as_bytes()),
        }
    }

    /// `fmt.Sprint(v)` as bytes.
    pub(crate) fn to_go_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_go(&mut out);
        out
    }

    /// Conversion from JSON as Go decodes into `interface{}` (numbers are float64).
    pub(crate) fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
            serde_json::Value::String(s) => Value::str(s),
            serde_json::Value::Array(items) => {
                Value::list(items.iter().map(Value::from_json).collect())
            }
            serde_json::Value::Object(entries) => Value::map(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }

    /// Go's `==` on template values (`eq`, `has`, `uniq`, `without`).
    pub(crate) fn deep_equal(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Time(a), Value::Time(b)) => a == b,
            (Value::List(a), Value::List(b)) => {
                a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| x.deep_equal(y))
            }
            (Value::Map(a), Value::Map(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b.iter())
                        .all(|((ka, va), (kb, vb))| ka == kb && va.deep_equal(vb))
            }
            _ => false,
        }
    }
}

/// Go's `%v` for a float64: shortest representation, `%e` form when the
/// decimal exponent is < -4 or >= 6 (`1e+06`, `123456`).
pub(crate) fn format_float_v(f: f64) -> String {
    format_float_g(f, None, false)
}

/// Go's `%g` / `%v` formatting for floats. `precision` None = shortest.
pub(crate) fn format_float_g(f: f64, precision: Option<usize>, upper: bool) -> String {
    if f.is_nan() {
        return "NaN".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".to_string()
        } else {
            "-Inf".to_string()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".to_string()
        } else {
            "0".to_string()
        };
    }
    // Digits and decimal exponent.
    let sci = match precision {
        None => format!("{f:e}"),
        Some(p) => format!("{:.*e}", p.max(1) - 1, f),
    };
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let digits = match precision {
        // %g with an explicit precision drops trailing zeros too.
        Some(_) => digits.trim_end_matches('0').to_string(),
        None => digits,
    };
    let digits = if digits.is_empty() {
        "0".to_string()
    } else {
        digits
    };
    // strconv's 'g': shortest uses an exponent threshold of 6, otherwise
    // the precision (or the digit count when that is smaller).
    let eprec: i32 = match precision {
        None => 6,
        Some(p) => {
            let p = p.max(1) as i32;
            let nd = digits.len() as i32;
            if p > nd && nd > exp { nd } else { p }
        }
    };
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if exp < -4 || exp >= eprec {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push(if upper { 'E' } else { 'e' });
        out.push(if exp < 0 { '-' } else { '+' });
        let _ = write!(out, "{:02}", exp.abs());
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let int_len = (exp + 1) as usize;
        if digits.len() <= int_len {
            out.push_str(&digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}
