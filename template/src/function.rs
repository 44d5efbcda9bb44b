//! The function tables: Go's builtins, Sprig, and ESO's additions.
//!
//! Function errors ([`FuncError`]) carry only static descriptions and type
//! names, never an argument's value.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::Dialect;
use crate::printf::sprintf;
use crate::syntax::FunctionStatus;
use crate::value::Value;

/// A function failed; the message never contains a value.
#[derive(Debug)]
pub(crate) struct FuncError(pub(crate) String);

pub(crate) type FResult = Result<Value, FuncError>;

/// Context of one call.
pub(crate) struct Call<'a> {
    pub(crate) name: &'a str,
    /// The template's data (the secret map, Go type `map[string]string`).
    pub(crate) root: &'a Value,
    #[allow(dead_code)] // kept for dialect-specific behaviour of shared functions
    pub(crate) dialect: Dialect,
}

pub(crate) type Func = fn(&Call<'_>, &[Value]) -> FResult;

pub(crate) fn ferr<T>(message: impl Into<String>) -> Result<T, FuncError> {
    Err(FuncError(message.into()))
}

/// The function for `name` in `dialect`.
pub(crate) fn lookup(dialect: Dialect, name: &str) -> Option<Func> {
    table(dialect).get(name).copied()
}

/// How the parser should treat `name`.
pub(crate) fn status(dialect: Dialect, name: &str) -> FunctionStatus {
    if table(dialect).contains_key(name) {
        FunctionStatus::Defined
    } else if crate::sprig::UNSUPPORTED.contains(&name)
        || (dialect == Dialect::ExternalSecrets && crate::eso::UNSUPPORTED.contains(&name))
    {
        FunctionStatus::Unsupported
    } else {
        FunctionStatus::Undefined
    }
}

fn table(dialect: Dialect) -> &'static HashMap<&'static str, Func> {
    static SEALED: OnceLock<HashMap<&'static str, Func>> = OnceLock::new();
    static EXTERNAL: OnceLock<HashMap<&'static str, Func>> = OnceLock::new();
    let build = |extra: &[(&'static str, Func)]| {
        let mut map: HashMap<&'static str, Func> = HashMap::new();
        map.extend(BUILTINS.iter().copied());
        // Sprig's functions override Go's builtins of the same name (`slice`),
        // as template.Funcs does.
        map.extend(crate::sprig::FUNCTIONS.iter().copied());
        map.extend(extra.iter().copied());
        map
    };
    match dialect {
        Dialect::SealedSecrets => SEALED.get_or_init(|| build(&[])),
        Dialect::ExternalSecrets => EXTERNAL.get_or_init(|| build(crate::eso::FUNCTIONS)),
    }
}

/// Names of the known functions of `dialect` that are not implemented, sorted.
pub(crate) fn unsupported_names(dialect: Dialect) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = crate::sprig::UNSUPPORTED.to_vec();
    if dialect == Dialect::ExternalSecrets {
        names.extend_from_slice(crate::eso::UNSUPPORTED);
    }
    names.sort_unstable();
    names
}

/// Names of every function implemented for `dialect`, sorted.
pub(crate) fn names(dialect: Dialect) -> Vec<&'static str> {
    let mut names: Vec<_> = table(dialect).keys().copied().collect();
    names.sort_unstable();
    names
}

// ---------------------------------------------------------------- argument helpers

pub(crate) fn arity(call: &Call<'_>, args: &[Value], n: usize) -> Result<(), FuncError> {
    if args.len() != n {
        return ferr(format!(
            "wrong number of args for {}: want {n} got {}",
            call.name,
            args.len()
        ));
    }
    Ok(())
}

pub(crate) fn arity_at_least(call: &Call<'_>, args: &[Value], n: usize) -> Result<(), FuncError> {
    if args.len() < n {
        return ferr(format!(
            "wrong number of args for {}: want at least {n} got {}",
            call.name,
            args.len()
        ));
    }
    Ok(())
}

/// A `string` parameter (Go rejects other types).
pub(crate) fn string_arg(args: &[Value], i: usize) -> Result<&[u8], FuncError> {
    match &args[i] {
        Value::Str(s) => Ok(s),
        Value::Nil => ferr("invalid value; expected string"),
        other => ferr(format!(
            "wrong type for value; expected string; got {}",
            other.type_name()
        )),
    }
}

/// A `string` parameter as text (invalid UTF-8 becomes U+FFFD).
pub(crate) fn text_arg(args: &[Value], i: usize) -> Result<String, FuncError> {
    Ok(String::from_utf8_lossy(string_arg(args, i)?).into_owned())
}

/// An `int` parameter.
pub(crate) fn int_arg(args: &[Value], i: usize) -> Result<i64, FuncError> {
    match &args[i] {
        Value::Int(v) => Ok(*v),
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(*f as i64),
        Value::Nil => ferr("invalid value; expected int"),
        other => ferr(format!(
            "wrong type for value; expected int; got {}",
            other.type_name()
        )),
    }
}

/// A `[]interface{}` parameter (Sprig's list functions).
pub(crate) fn list_arg(args: &[Value], i: usize) -> Result<&[Value], FuncError> {
    match &args[i] {
        Value::List(l) => Ok(l),
        other => ferr(format!(
            "cannot use a value of type {} as a list",
            other.type_name()
        )),
    }
}

/// A `map[string]interface{}` parameter.
pub(crate) fn map_arg(
    args: &[Value],
    i: usize,
) -> Result<&std::collections::BTreeMap<String, Value>, FuncError> {
    match &args[i] {
        Value::Map(m) => Ok(m),
        Value::Nil => ferr("invalid value; expected map[string]interface {}"),
        other => ferr(format!(
            "wrong type for value; expected map[string]interface {{}}; got {}",
            other.type_name()
        )),
    }
}

/// Sprig's `strval`: strings as is, everything else `fmt.Sprintf("%v")`.
pub(crate) fn strval(v: &Value) -> Vec<u8> {
    v.to_go_bytes()
}

/// `cast.ToInt64` as Sprig uses it (strings are parsed, failures give 0).
pub(crate) fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Float(f) => *f as i64,
        Value::Bool(b) => i64::from(*b),
        Value::Str(s) => parse_go_int(trim_zero_decimal(&String::from_utf8_lossy(s))).unwrap_or(0),
        _ => 0,
    }
}

/// cast's `trimZeroDecimal`: "1.0" -> "1", "1.5" unchanged.
fn trim_zero_decimal(s: &str) -> &str {
    match s.split_once('.') {
        Some((int, frac)) if !frac.is_empty() && frac.bytes().all(|b| b == b'0') => int,
        _ => s,
    }
}

/// `cast.ToFloat64`.
pub(crate) fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Str(s) => String::from_utf8_lossy(s).trim().parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// `strconv.ParseInt(s, 0, 64)`.
pub(crate) fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d, true)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d, true)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d, true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..], true)
    } else {
        (10, lower.as_str(), false)
    };
    let clean: String = if prefixed {
        digits.replace('_', "")
    } else {
        digits.to_string()
    };
    if clean.is_empty() || clean.starts_with(['+', '-']) {
        return None;
    }
    let m = u64::from_str_radix(&clean, radix).ok()?;
    if neg {
        if m > i64::MAX as u64 + 1 {
            None
        } else {
            Some((m as i128).wrapping_neg() as i64)
        }
    } else {
        i64::try_from(m).ok()
    }
}

// ---------------------------------------------------------------- Go builtins

const BUILTINS: &[(&str, Func)] = &[
    ("and", unreachable_logic),
    ("or", unreachable_logic),
    ("not", not),
    ("len", len),
    ("index", index),
    ("slice", go_slice),
    ("print", print),
    ("printf", printf),
    ("println", println),
    ("html", html),
    ("js", js),
    ("urlquery", urlquery),
    ("call", call),
    ("eq", eq),
    ("ne", ne),
    ("lt", lt),
    ("le", le),
    ("gt", gt),
    ("ge", ge),
];

/// `and`/`or` are evaluated by the executor (short-circuit).
fn unreachable_logic(call: &Call<'_>, _: &[Value]) -> FResult {
    ferr(format!("{} must be evaluated by the executor", call.name))
}

fn not(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    Ok(Value::Bool(!args[0].is_true()))
}

fn len(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    match &args[0] {
        Value::Str(s) => Ok(Value::Int(s.len() as i64)),
        Value::List(l) => Ok(Value::Int(l.len() as i64)),
        Value::Map(m) => Ok(Value::Int(m.len() as i64)),
        other => ferr(format!("len of type {}", other.type_name())),
    }
}

fn index(call: &Call<'_>, args: &[Value]) -> FResult {
    arity_at_least(call, args, 1)?;
    let mut item = args[0].clone();
    for key in &args[1..] {
        item = match (&item, key) {
            (Value::Map(m), Value::Str(k)) => match m.get(String::from_utf8_lossy(k).as_ref()) {
                Some(v) => v.clone(),
                // A missing key gives the zero value of the element type:
                // "" for the secret map (`map[string]string`), nil for
                // dicts (`map[string]interface{}`). `missingkey` does not apply.
                None if matches!(call.root, Value::Map(r) if std::rc::Rc::ptr_eq(r, m)) => {
                    Value::str("")
                }
                None => Value::Nil,
            },
            (Value::Map(_), other) => {
                return ferr(format!(
                    "value has type {}; should be string",
                    other.type_name()
                ));
            }
            (Value::List(l), k) => {
                let i = index_of(k)?;
                match usize::try_from(i).ok().and_then(|i| l.get(i)) {
                    Some(v) => v.clone(),
                    None => return ferr(INDEX_OUT_OF_RANGE),
                }
            }
            (Value::Str(s), k) => {
                let i = index_of(k)?;
                match usize::try_from(i).ok().and_then(|i| s.get(i)) {
                    Some(b) => Value::Int(i64::from(*b)),
                    None => return ferr(INDEX_OUT_OF_RANGE),
                }
            }
            (Value::Nil, _) => return ferr("index of untyped nil"),
            (other, _) => return ferr(format!("can't index item of type {}", other.type_name())),
        };
    }
    Ok(item)
}

/// Go adds the index; it is left out here because it may be derived from a
/// secret value (`index $list (atoi .pin)`).
const INDEX_OUT_OF_RANGE: &str = "index out of range";

fn index_of(v: &Value) -> Result<i64, FuncError> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Nil => ferr("cannot index slice/array with nil"),
        other => ferr(format!(
            "cannot index slice/array with type {}",
            other.type_name()
        )),
    }
}

/// Go's builtin `slice` (strings and lists); Sprig replaces it in both
/// dialects, but it stays reachable for completeness of the builtin table.
fn go_slice(call: &Call<'_>, args: &[Value]) -> FResult {
    arity_at_least(call, args, 1)?;
    if args.len() > 4 {
        return ferr("too many slice indexes");
    }
    let len = match &args[0] {
        Value::Str(s) => s.len(),
        Value::List(l) => l.len(),
        other => return ferr(format!("can't slice item of type {}", other.type_name())),
    };
    let mut idx = [0usize, len, len];
    for (n, a) in args[1..].iter().enumerate() {
        let i = index_of(a)?;
        idx[n] = usize::try_from(i)
            .ok()
            .filter(|i| *i <= len)
            .ok_or(FuncError(INDEX_OUT_OF_RANGE.to_string()))?;
    }
    if idx[0] > idx[1] || idx[1] > idx[2] {
        return ferr("invalid slice indexes");
    }
    match &args[0] {
        Value::Str(s) => {
            if args.len() == 4 {
                return ferr("cannot 3-index slice a string");
            }
            Ok(Value::str(&s[idx[0]..idx[1]]))
        }
        Value::List(l) => Ok(Value::list(l[idx[0]..idx[1]].to_vec())),
        _ => ferr("can't slice item"),
    }
}

/// `fmt.Sprint`: a space between operands when neither is a string.
pub(crate) fn sprint(args: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && !matches!(a, Value::Str(_)) && !matches!(args[i - 1], Value::Str(_)) {
            out.push(b' ');
        }
        a.write_go(&mut out);
    }
    out
}

fn print(_: &Call<'_>, args: &[Value]) -> FResult {
    Ok(Value::str(sprint(args)))
}

fn printf(call: &Call<'_>, args: &[Value]) -> FResult {
    arity_at_least(call, args, 1)?;
    let format = string_arg(args, 0)?;
    Ok(Value::str(sprintf(format, &args[1..])))
}

fn println(_: &Call<'_>, args: &[Value]) -> FResult {
    let mut out = Vec::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        a.write_go(&mut out);
    }
    out.push(b'\n');
    Ok(Value::str(out))
}

/// Go's builtins `html`/`js`/`urlquery` format a single string argument as
/// is, otherwise `fmt.Sprint(args...)`.
fn eval_args(args: &[Value]) -> Vec<u8> {
    if let [Value::Str(s)] = args {
        return s.to_vec();
    }
    // Go prints an invalid (missing) value as "<no value>" here.
    let printable: Vec<Value> = args
        .iter()
        .map(|a| {
            if let Value::Nil = a {
                Value::str("<no value>")
            } else {
                a.clone()
            }
        })
        .collect();
    sprint(&printable)
}

fn html(_: &Call<'_>, args: &[Value]) -> FResult {
    let s = eval_args(args);
    let text = String::from_utf8_lossy(&s);
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    Ok(Value::str(out))
}

fn js(_: &Call<'_>, args: &[Value]) -> FResult {
    let s = eval_args(args);
    let text = String::from_utf8_lossy(&s);
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 || (!c.is_ascii() && !crate::printf::is_go_printable(c)) => {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    Ok(Value::str(out))
}

/// `url.QueryEscape`.
pub(crate) fn query_escape(s: &[u8]) -> String {
    let mut out = String::new();
    for &b in s {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn urlquery(_: &Call<'_>, args: &[Value]) -> FResult {
    Ok(Value::str(query_escape(&eval_args(args))))
}

fn call(_: &Call<'_>, args: &[Value]) -> FResult {
    match args.first() {
        None => ferr("wrong number of args for call: want at least 1 got 0"),
        Some(Value::Nil) => ferr("call of nil"),
        Some(other) => ferr(format!("non-function of type {}", other.type_name())),
    }
}

// Comparisons, as Go's `eq`, `lt`, ... (basic kinds only).

#[derive(PartialEq, Eq, Clone, Copy)]
enum Kind {
    Bool,
    Int,
    Float,
    Str,
    Nil,
    Other,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::Str(_) => Kind::Str,
        Value::Nil => Kind::Nil,
        _ => Kind::Other,
    }
}

fn equal(a: &Value, b: &Value) -> Result<bool, FuncError> {
    match (kind(a), kind(b)) {
        (Kind::Other, _) | (_, Kind::Other) => {
            let t = if kind(a) == Kind::Other { a } else { b };
            ferr(format!("non-comparable type {}", t.type_name()))
        }
        (Kind::Nil, Kind::Nil) => Ok(true),
        (Kind::Nil, _) | (_, Kind::Nil) => Ok(false),
        (x, y) if x != y => ferr("incompatible types for comparison"),
        _ => Ok(a.deep_equal(b)),
    }
}

fn eq(call: &Call<'_>, args: &[Value]) -> FResult {
    arity_at_least(call, args, 2)?;
    for other in &args[1..] {
        if equal(&args[0], other)? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

fn ne(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    Ok(Value::Bool(!equal(&args[0], &args[1])?))
}

fn less(a: &Value, b: &Value) -> Result<bool, FuncError> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Ok(x < y),
        (Value::Float(x), Value::Float(y)) => Ok(x < y),
        (Value::Str(x), Value::Str(y)) => Ok(x < y),
        (Value::Bool(_), Value::Bool(_)) | (Value::Nil, _) | (_, Value::Nil) => {
            ferr("invalid type for comparison")
        }
        (Value::List(_) | Value::Map(_), _) | (_, Value::List(_) | Value::Map(_)) => {
            ferr("invalid type for comparison")
        }
        _ => ferr("incompatible types for comparison"),
    }
}

fn lt(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    Ok(Value::Bool(less(&args[0], &args[1])?))
}

fn le(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    Ok(Value::Bool(
        less(&args[0], &args[1])? || equal(&args[0], &args[1])?,
    ))
}

fn gt(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    Ok(Value::Bool(
        !(less(&args[0], &args[1])? || equal(&args[0], &args[1])?),
    ))
}

fn ge(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    Ok(Value::Bool(!less(&args[0], &args[1])?))
}
