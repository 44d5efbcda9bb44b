//! Sprig v3's generic function map (`sprig.TxtFuncMap()`), minus `env`,
//! `expandenv` and `getHostByName`, re-implemented from Sprig's documented
//! behaviour.
//!
//! Functions that panic in Go (and so fail the template) return an error
//! here. Functions that swallow errors in Sprig (`b64dec`, `fromJson`,
//! `atoi`, `regexMatch`, ...) swallow them here too; their `must*` variants
//! return the error.

use std::collections::BTreeMap;

use base64::Engine as _;
use rand::Rng as _;
use sha2::Digest as _;

use crate::function::{
    Call, FResult, Func, FuncError, arity, arity_at_least, ferr, int_arg, list_arg, map_arg,
    string_arg, strval, text_arg, to_float64, to_int64,
};
use crate::json;
use crate::value::Value;

/// Largest list or string a generating function (`until`, `repeat`,
/// `randAlphaNum`, ...) may produce.
const MAX_GENERATED: i64 = 1 << 20;

/// Sprig functions this crate does not implement (a template using one gets
/// "function X is not supported by sealkit" at parse time).
pub(crate) const UNSUPPORTED: &[&str] = &[
    // strings whose exact Go behaviour (xstrings/goutils) is not reproduced
    "snakecase",
    "camelcase",
    "kebabcase",
    "wrap",
    "wrapWith",
    // dates beyond now/date/dateInZone/unixEpoch/htmlDate
    "ago",
    "date_modify",
    "dateModify",
    "must_date_modify",
    "mustDateModify",
    "toDate",
    "mustToDate",
    "durationRound",
    "duration",
    // crypto: needs bcrypt/x509/AES dependencies not in the tree
    "genPrivateKey",
    "derivePassword",
    "buildCustomCert",
    "genCA",
    "genCAWithKey",
    "genSelfSignedCert",
    "genSelfSignedCertWithKey",
    "genSignedCert",
    "genSignedCertWithKey",
    "encryptAES",
    "decryptAES",
    // semver
    "semver",
    "semverCompare",
];

pub(crate) const FUNCTIONS: &[(&str, Func)] = &[
    ("hello", hello),
    // strings
    ("upper", upper),
    ("swapcase", swapcase),
    ("untitle", untitle),
    ("lower", lower),
    ("title", title),
    ("substr", substr),
    ("repeat", repeat),
    ("trim", trim),
    ("trimAll", trim_all),
    ("trimall", trim_all),
    ("trimSuffix", trim_suffix),
    ("trimPrefix", trim_prefix),
    ("nospace", nospace),
    ("initials", initials),
    ("randAlphaNum", rand_alpha_num),
    ("randAlpha", rand_alpha),
    ("randAscii", rand_ascii),
    ("randNumeric", rand_numeric),
    ("shuffle", shuffle),
    ("contains", contains),
    ("hasPrefix", has_prefix),
    ("hasSuffix", has_suffix),
    ("quote", quote),
    ("squote", squote),
    ("cat", cat),
    ("indent", indent),
    ("nindent", nindent),
    ("replace", replace),
    ("plural", plural),
    ("sha1sum", sha1sum),
    ("sha256sum", sha256sum),
    ("adler32sum", adler32sum),
    ("toString", to_string),
    ("trunc", trunc),
    ("abbrev", abbrev),
    ("abbrevboth", abbrevboth),
    // conversions
    ("atoi", atoi),
    ("int", int),
    ("int64", int),
    ("float64", float64),
    ("seq", seq),
    ("toDecimal", to_decimal),
    ("split", split),
    ("splitList", split_list),
    ("splitn", splitn),
    ("toStrings", to_strings),
    ("until", until),
    ("untilStep", until_step),
    ("join", join),
    ("sortAlpha", sort_alpha),
    // math
    ("add1", add1),
    ("add", add),
    ("sub", sub),
    ("div", div),
    ("mod", modulo),
    ("mul", mul),
    ("randInt", rand_int),
    ("biggest", max),
    ("max", max),
    ("min", min),
    ("add1f", add1f),
    ("addf", addf),
    ("subf", subf),
    ("divf", divf),
    ("mulf", mulf),
    ("maxf", maxf),
    ("minf", minf),
    ("ceil", ceil),
    ("floor", floor),
    ("round", round),
    // defaults and flow
    ("default", default),
    ("empty", empty),
    ("coalesce", coalesce),
    ("all", all),
    ("any", any),
    ("compact", compact),
    ("mustCompact", compact),
    ("ternary", ternary),
    ("fail", fail),
    // JSON
    ("fromJson", from_json),
    ("mustFromJson", must_from_json),
    ("toJson", to_json),
    ("mustToJson", to_json),
    ("toPrettyJson", to_pretty_json),
    ("mustToPrettyJson", to_pretty_json),
    ("toRawJson", to_raw_json),
    ("mustToRawJson", to_raw_json),
    // reflection
    ("deepCopy", deep_copy),
    ("mustDeepCopy", deep_copy),
    ("typeOf", type_of),
    ("typeIs", type_is),
    ("typeIsLike", type_is_like),
    ("kindOf", kind_of),
    ("kindIs", kind_is),
    ("deepEqual", deep_equal),
    // paths
    ("base", base),
    ("dir", dir),
    ("clean", clean),
    ("ext", ext),
    ("isAbs", is_abs),
    ("osBase", base),
    ("osDir", dir),
    ("osClean", clean),
    ("osExt", ext),
    ("osIsAbs", is_abs),
    // encodings
    ("b64enc", b64enc),
    ("b64dec", b64dec),
    ("b32enc", b32enc),
    ("b32dec", b32dec),
    // lists and dicts
    ("tuple", list),
    ("list", list),
    ("dict", dict),
    ("get", get),
    ("set", set),
    ("unset", unset),
    ("hasKey", has_key),
    ("pluck", pluck),
    ("keys", keys),
    ("pick", pick),
    ("omit", omit),
    ("merge", merge),
    ("mustMerge", merge),
    ("mergeOverwrite", merge_overwrite),
    ("mustMergeOverwrite", merge_overwrite),
    ("values", values),
    ("append", append),
    ("push", append),
    ("mustAppend", append),
    ("mustPush", append),
    ("prepend", prepend),
    ("mustPrepend", prepend),
    ("first", first),
    ("mustFirst", first),
    ("rest", rest),
    ("mustRest", rest),
    ("last", last),
    ("mustLast", last),
    ("initial", initial),
    ("mustInitial", initial),
    ("reverse", reverse),
    ("mustReverse", reverse),
    ("uniq", uniq),
    ("mustUniq", uniq),
    ("without", without),
    ("mustWithout", without),
    ("has", has),
    ("mustHas", has),
    ("slice", slice),
    ("mustSlice", slice),
    ("concat", concat),
    ("dig", dig),
    ("chunk", chunk),
    ("mustChunk", chunk),
    // random, ids
    ("uuidv4", uuidv4),
    ("urlParse", crate::url::url_parse),
    ("urlJoin", crate::url::url_join),
    ("bcrypt", bcrypt_hash),
    ("htpasswd", htpasswd),
    ("randBytes", rand_bytes),
    // regular expressions
    ("regexMatch", regex_match),
    ("mustRegexMatch", must_regex_match),
    ("regexFindAll", regex_find_all),
    ("mustRegexFindAll", regex_find_all),
    ("regexFind", regex_find),
    ("mustRegexFind", regex_find),
    ("regexReplaceAll", regex_replace_all),
    ("mustRegexReplaceAll", regex_replace_all),
    ("regexReplaceAllLiteral", regex_replace_all_literal),
    ("mustRegexReplaceAllLiteral", regex_replace_all_literal),
    ("regexSplit", regex_split),
    ("mustRegexSplit", regex_split),
    ("regexQuoteMeta", regex_quote_meta),
    // dates
    ("now", crate::date::now),
    ("date", crate::date::date),
    ("dateInZone", crate::date::date_in_zone),
    ("date_in_zone", crate::date::date_in_zone),
    ("htmlDate", crate::date::html_date),
    ("htmlDateInZone", crate::date::html_date_in_zone),
    ("unixEpoch", crate::date::unix_epoch),
];

fn s(v: impl AsRef<[u8]>) -> FResult {
    Ok(Value::str(v))
}

fn hello(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 0)?;
    s("Hello!")
}

// ---------------------------------------------------------------- strings

/// Go's `unicode.ToUpper`: one rune to one rune (`ß` stays `ß`).
fn rune_upper(c: char) -> char {
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// Go's `unicode.ToTitle`: like upper case except for the Latin digraphs.
fn rune_title(c: char) -> char {
    match c {
        '\u{01C4}'..='\u{01C6}' => '\u{01C5}',
        '\u{01C7}'..='\u{01C9}' => '\u{01C8}',
        '\u{01CA}'..='\u{01CC}' => '\u{01CB}',
        '\u{01F1}'..='\u{01F3}' => '\u{01F2}',
        c => rune_upper(c),
    }
}

/// Go's `unicode.ToLower` (`İ` becomes `i`; no context-dependent final sigma).
fn rune_lower(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

/// Go's `strings.ToUpper` (ASCII input is mapped byte-wise, so invalid
/// UTF-8 only changes when there is non-ASCII text).
fn upper(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    let bytes = string_arg(args, 0)?;
    if bytes.is_ascii() {
        return s(bytes.to_ascii_uppercase());
    }
    s(text_arg(args, 0)?
        .chars()
        .map(rune_upper)
        .collect::<String>())
}

fn lower(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    let bytes = string_arg(args, 0)?;
    if bytes.is_ascii() {
        return s(bytes.to_ascii_lowercase());
    }
    s(text_arg(args, 0)?
        .chars()
        .map(rune_lower)
        .collect::<String>())
}

/// goutils `SwapCase`.
fn swapcase(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    let out: String = text_arg(args, 0)?
        .chars()
        .map(|c| {
            if c.is_uppercase() || is_title_case(c) {
                rune_lower(c)
            } else if c.is_lowercase() {
                rune_upper(c)
            } else {
                c
            }
        })
        .collect();
    s(out)
}

/// The Unicode title-case letters (category Lt).
fn is_title_case(c: char) -> bool {
    matches!(c, '\u{01C5}' | '\u{01C8}' | '\u{01CB}' | '\u{01F2}' | '\u{1F88}'..='\u{1F8F}' | '\u{1F98}'..='\u{1F9F}' | '\u{1FA8}'..='\u{1FAF}' | '\u{1FBC}' | '\u{1FCC}' | '\u{1FFC}')
}

/// Sprig's `untitle`: lower-case the first letter of each space-separated word.
fn untitle(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    let mut out = String::new();
    let mut at_word_start = true;
    for c in text_arg(args, 0)?.chars() {
        if at_word_start && !is_go_space(c) {
            out.push(rune_lower(c));
            at_word_start = false;
        } else {
            out.push(c);
        }
        if is_go_space(c) {
            at_word_start = true;
        }
    }
    s(out)
}

/// Go's `strings.Title`: upper-case the first letter of each word.
fn title(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    let text = text_arg(args, 0)?;
    let is_separator = |c: char| {
        if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else if c.is_alphanumeric() {
            false
        } else {
            c.is_whitespace()
        }
    };
    let mut out = String::with_capacity(text.len());
    let mut prev_sep = true;
    for c in text.chars() {
        if prev_sep {
            out.push(rune_title(c));
        } else {
            out.push(c);
        }
        prev_sep = is_separator(c);
    }
    s(out)
}

fn substr(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 3)?;
    let (start, end, text) = (int_arg(args, 0)?, int_arg(args, 1)?, string_arg(args, 2)?);
    let len = text.len() as i64;
    let (from, to) = if start < 0 {
        (0, end)
    } else if end < 0 || end > len {
        (start, len)
    } else {
        (start, end)
    };
    if from < 0 || to < from || to > len {
        return ferr("slice bounds out of range");
    }
    s(&text[from as usize..to as usize])
}

fn repeat(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    let (count, text) = (int_arg(args, 0)?, string_arg(args, 1)?);
    if count < 0 {
        return ferr("negative repeat count");
    }
    if (text.len() as i64).saturating_mul(count) > MAX_GENERATED {
        return ferr(format!("result would exceed {MAX_GENERATED} bytes"));
    }
    s(text.repeat(count as usize))
}

fn is_go_space(c: char) -> bool {
    c.is_whitespace() || c == '\u{85}' || c == '\u{A0}'
}

fn trim(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    let text = string_arg(args, 0)?;
    // Byte-exact for ASCII whitespace; invalid UTF-8 inside is preserved.
    let is_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c);
    let start = text.iter().position(|b| !is_space(b)).unwrap_or(text.len());
    let end = text
        .iter()
        .rposition(|b| !is_space(b))
        .map(|i| i + 1)
        .unwrap_or(start);
    let trimmed = &text[start..end.max(start)];
    match std::str::from_utf8(trimmed) {
        Ok(t) => s(t.trim_matches(is_go_space)),
        Err(_) => s(trimmed),
    }
}

fn trim_all(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    let cutset: Vec<char> = text_arg(args, 0)?.chars().collect();
    let text = text_arg(args, 1)?;
    s(text.trim_matches(|c| cutset.contains(&c)))
}

fn trim_suffix(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    let (suffix, text) = (string_arg(args, 0)?, string_arg(args, 1)?);
    s(text.strip_suffix(suffix).unwrap_or(text))
}

fn trim_prefix(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    let (prefix, text) = (string_arg(args, 0)?, string_arg(args, 1)?);
    s(text.strip_prefix(prefix).unwrap_or(text))
}

fn nospace(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    s(text_arg(args, 0)?
        .chars()
        .filter(|c| !is_go_space(*c))
        .collect::<String>())
}

fn initials(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    let text = text_arg(args, 0)?;
    s(text
        .split(is_go_space)
        .filter_map(|w| w.chars().next())
        .collect::<String>())
}

fn random_from(call: &Call<'_>, args: &[Value], alphabet: &[u8]) -> FResult {
    arity(call, args, 1)?;
    let count = int_arg(args, 0)?;
    if !(0..=MAX_GENERATED).contains(&count) {
        return ferr("count out of range");
    }
    let mut rng = rand::rng();
    let out: Vec<u8> = (0..count)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())])
        .collect();
    s(out)
}

const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const DIGITS: &[u8] = b"0123456789";

fn rand_alpha_num(call: &Call<'_>, args: &[Value]) -> FResult {
    random_from(call, args, ALNUM)
}

fn rand_alpha(call: &Call<'_>, args: &[Value]) -> FResult {
    random_from(call, args, ALPHA)
}

fn rand_numeric(call: &Call<'_>, args: &[Value]) -> FResult {
    random_from(call, args, DIGITS)
}

fn rand_ascii(call: &Call<'_>, args: &[Value]) -> FResult {
    let printable: Vec<u8> = (32u8..=126).collect();
    random_from(call, args, &printable)
}

fn shuffle(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    let mut chars: Vec<char> = text_arg(args, 0)?.chars().collect();
    let mut rng = rand::rng();
    for i in (1..chars.len()).rev() {
        let j = rng.random_range(0..=i);
        chars.swap(i, j);
    }
    s(chars.into_iter().collect::<String>())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn contains(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    Ok(Value::Bool(
        find(string_arg(args, 1)?, string_arg(args, 0)?).is_some(),
    ))
}

fn has_prefix(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    Ok(Value::Bool(
        string_arg(args, 1)?.starts_with(string_arg(args, 0)?),
    ))
}

fn has_suffix(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    Ok(Value::Bool(
        string_arg(args, 1)?.ends_with(string_arg(args, 0)?),
    ))
}

fn join_bytes(parts: impl IntoIterator<Item = Vec<u8>>, sep: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, p) in parts.into_iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(sep);
        }
        out.extend_from_slice(&p);
    }
    out
}

fn quote(_: &Call<'_>, args: &[Value]) -> FResult {
    let parts = args
        .iter()
        .filter(|a| !matches!(a, Value::Nil))
        .map(|a| crate::printf::go_quote(&strval(a), false).into_bytes());
    s(join_bytes(parts, b" "))
}

fn squote(_: &Call<'_>, args: &[Value]) -> FResult {
    let parts = args.iter().filter(|a| !matches!(a, Value::Nil)).map(|a| {
        let mut v = b"'".to_vec();
        v.extend_from_slice(&strval(a));
        v.push(b'\'');
        v
    });
    s(join_bytes(parts, b" "))
}

fn cat(_: &Call<'_>, args: &[Value]) -> FResult {
    let parts = args.iter().filter(|a| !matches!(a, Value::Nil)).map(strval);
    s(join_bytes(parts, b" "))
}

fn replace_all(text: &[u8], old: &[u8], new: &[u8]) -> Vec<u8> {
    if old.is_empty() {
        // Go inserts `new` before every rune and at the end.
        let t = String::from_utf8_lossy(text);
        let mut out = Vec::new();
        for c in t.chars() {
            out.extend_from_slice(new);
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
        out.extend_from_slice(new);
        return out;
    }
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = find(rest, old) {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(new);
        rest = &rest[i + old.len()..];
    }
    out.extend_from_slice(rest);
    out
}

fn indent_bytes(spaces: i64, text: &[u8]) -> Result<Vec<u8>, FuncError> {
    if !(0..=MAX_GENERATED).contains(&spaces) {
        return ferr("indent out of range");
    }
    let pad = vec![b' '; spaces as usize];
    let mut nl_pad = b"\n".to_vec();
    nl_pad.extend_from_slice(&pad);
    let mut out = pad;
    out.extend_from_slice(&replace_all(text, b"\n", &nl_pad));
    Ok(out)
}

fn indent(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    s(indent_bytes(int_arg(args, 0)?, string_arg(args, 1)?)?)
}

fn nindent(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    let mut out = b"\n".to_vec();
    out.extend_from_slice(&indent_bytes(int_arg(args, 0)?, string_arg(args, 1)?)?);
    s(out)
}

fn replace(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 3)?;
    s(replace_all(
        string_arg(args, 2)?,
        string_arg(args, 0)?,
        string_arg(args, 1)?,
    ))
}

fn plural(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 3)?;
    let (one, many, count) = (
        string_arg(args, 0)?,
        string_arg(args, 1)?,
        int_arg(args, 2)?,
    );
    s(if count == 1 { one } else { many })
}

fn sha1sum(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    s(hex::encode(sha1::Sha1::digest(string_arg(args, 0)?)))
}

fn sha256sum(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    s(hex::encode(sha2::Sha256::digest(string_arg(args, 0)?)))
}

fn adler32sum(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    let (mut a, mut b) = (1u32, 0u32);
    for byte in string_arg(args, 0)? {
        a = (a + u32::from(*byte)) % 65521;
        b = (b + a) % 65521;
    }
    s(((b << 16) | a).to_string())
}

fn to_string(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    s(strval(&args[0]))
}

fn trunc(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    let (c, text) = (int_arg(args, 0)?, string_arg(args, 1)?);
    let len = text.len() as i64;
    if c < 0 && len + c > 0 {
        return s(&text[(len + c) as usize..]);
    }
    if c >= 0 && len > c {
        return s(&text[..c as usize]);
    }
    s(text)
}

fn abbreviate(text: &[u8], max_width: i64) -> Vec<u8> {
    if text.len() as i64 <= max_width {
        return text.to_vec();
    }
    let mut out = text[..(max_width - 3).max(0) as usize].to_vec();
    out.extend_from_slice(b"...");
    out
}

fn abbrev(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    let (width, text) = (int_arg(args, 0)?, string_arg(args, 1)?);
    if width < 4 {
        return s(text);
    }
    s(abbreviate(text, width))
}

fn abbrevboth(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 3)?;
    let (left, right, text) = (int_arg(args, 0)?, int_arg(args, 1)?, string_arg(args, 2)?);
    if right < 4 || (left > 0 && right < 7) {
        return s(text);
    }
    let len = text.len() as i64;
    if text.is_empty() || len <= right {
        return s(text);
    }
    let mut offset = left.min(len);
    if len - offset < right - 3 {
        offset = len - (right - 3);
    }
    if offset <= 4 {
        let mut out = text[..(right - 3) as usize].to_vec();
        out.extend_from_slice(b"...");
        return s(out);
    }
    let mut out = b"...".to_vec();
    if offset + right - 3 < len {
        out.extend_from_slice(&abbreviate(&text[offset as usize..], right - 3));
    } else {
        out.extend_from_slice(&text[(len - (right - 3)) as usize..]);
    }
    s(out)
}

// ---------------------------------------------------------------- conversions

fn atoi(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    let text = text_arg(args, 0)?;
    let digits = text.strip_prefix(['+', '-']).unwrap_or(&text);
    let valid = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    Ok(Value::Int(if valid {
        text.parse().unwrap_or(0)
    } else {
        0
    }))
}

fn int(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    Ok(Value::Int(to_int64(&args[0])))
}

fn float64(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    Ok(Value::Float(to_float64(&args[0])))
}

fn ints_to_string(items: &[i64]) -> FResult {
    s(items
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(" "))
}

fn seq(_: &Call<'_>, args: &[Value]) -> FResult {
    let params: Vec<i64> = (0..args.len())
        .map(|i| int_arg(args, i))
        .collect::<Result<_, _>>()?;
    match params.as_slice() {
        [end] => {
            let inc = if *end < 1 { -1 } else { 1 };
            ints_to_string(&until_step_values(1, end + inc, inc)?)
        }
        [start, end] => {
            let step = if end < start { -1 } else { 1 };
            ints_to_string(&until_step_values(*start, end + step, step)?)
        }
        [start, step, end] => {
            let mut inc = 1;
            if end < start {
                inc = -1;
                if *step > 0 {
                    return s("");
                }
            }
            ints_to_string(&until_step_values(*start, end + inc, *step)?)
        }
        _ => s(""),
    }
}

fn to_decimal(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    let text = String::from_utf8_lossy(&strval(&args[0])).into_owned();
    Ok(Value::Int(i64::from_str_radix(&text, 8).unwrap_or(0)))
}

fn split_bytes<'t>(text: &'t [u8], sep: &[u8], limit: Option<usize>) -> Vec<&'t [u8]> {
    if sep.is_empty() {
        // Go splits into UTF-8 sequences.
        let t = std::str::from_utf8(text);
        return match t {
            Ok(t) => t
                .char_indices()
                .map(|(i, c)| &text[i..i + c.len_utf8()])
                .collect(),
            Err(_) => text.chunks(1).collect(),
        };
    }
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(i) = find(rest, sep) {
        if limit.is_some_and(|n| parts.len() + 1 >= n) {
            break;
        }
        parts.push(&rest[..i]);
        rest = &rest[i + sep.len()..];
    }
    parts.push(rest);
    parts
}

fn split(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    let parts = split_bytes(string_arg(args, 1)?, string_arg(args, 0)?, None);
    Ok(Value::map(
        parts
            .into_iter()
            .enumerate()
            .map(|(i, p)| (format!("_{i}"), Value::str(p)))
            .collect(),
    ))
}

fn splitn(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 3)?;
    let n = int_arg(args, 1)?;
    if n == 0 {
        return Ok(Value::map(BTreeMap::new()));
    }
    let limit = if n < 0 { None } else { Some(n as usize) };
    let parts = split_bytes(string_arg(args, 2)?, string_arg(args, 0)?, limit);
    Ok(Value::map(
        parts
            .into_iter()
            .enumerate()
            .map(|(i, p)| (format!("_{i}"), Value::str(p)))
            .collect(),
    ))
}

fn split_list(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    let parts = split_bytes(string_arg(args, 1)?, string_arg(args, 0)?, None);
    Ok(Value::list(parts.into_iter().map(Value::str).collect()))
}

/// Sprig's `strslice`.
fn strslice(v: &Value) -> Vec<Vec<u8>> {
    match v {
        Value::List(items) => items
            .iter()
            .filter(|i| !matches!(i, Value::Nil))
            .map(strval)
            .collect(),
        Value::Nil => Vec::new(),
        other => vec![strval(other)],
    }
}

fn to_strings(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    Ok(Value::list(
        strslice(&args[0]).into_iter().map(Value::str).collect(),
    ))
}

fn until_step_values(start: i64, stop: i64, step: i64) -> Result<Vec<i64>, FuncError> {
    let mut v = Vec::new();
    if step == 0 || (stop < start && step > 0) || (stop > start && step < 0) {
        return Ok(v);
    }
    let count = ((stop as i128 - start as i128) / step as i128).unsigned_abs();
    if count > MAX_GENERATED as u128 {
        return ferr(format!("result would exceed {MAX_GENERATED} elements"));
    }
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        v.push(i);
        i += step;
    }
    Ok(v)
}

fn until(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    let count = int_arg(args, 0)?;
    let step = if count < 0 { -1 } else { 1 };
    Ok(Value::list(
        until_step_values(0, count, step)?
            .into_iter()
            .map(Value::Int)
            .collect(),
    ))
}

fn until_step(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 3)?;
    let v = until_step_values(int_arg(args, 0)?, int_arg(args, 1)?, int_arg(args, 2)?)?;
    Ok(Value::list(v.into_iter().map(Value::Int).collect()))
}

fn join(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    let sep = string_arg(args, 0)?;
    s(join_bytes(strslice(&args[1]), sep))
}

fn sort_alpha(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    let mut items = match &args[0] {
        Value::List(_) => strslice(&args[0]),
        other => vec![strval(other)],
    };
    items.sort();
    Ok(Value::list(items.into_iter().map(Value::str).collect()))
}

// ---------------------------------------------------------------- math

fn add1(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    Ok(Value::Int(to_int64(&args[0]).wrapping_add(1)))
}

fn add(_: &Call<'_>, args: &[Value]) -> FResult {
    Ok(Value::Int(
        args.iter().map(to_int64).fold(0i64, i64::wrapping_add),
    ))
}

fn sub(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    Ok(Value::Int(
        to_int64(&args[0]).wrapping_sub(to_int64(&args[1])),
    ))
}

fn div(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    let (a, b) = (to_int64(&args[0]), to_int64(&args[1]));
    if b == 0 {
        return ferr("integer divide by zero");
    }
    Ok(Value::Int(a.wrapping_div(b)))
}

fn modulo(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    let (a, b) = (to_int64(&args[0]), to_int64(&args[1]));
    if b == 0 {
        return ferr("integer divide by zero");
    }
    Ok(Value::Int(a.wrapping_rem(b)))
}

fn mul(call: &Call<'_>, args: &[Value]) -> FResult {
    arity_at_least(call, args, 1)?;
    Ok(Value::Int(
        args.iter().map(to_int64).fold(1i64, i64::wrapping_mul),
    ))
}

fn rand_int(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    let (min, max) = (to_int64(&args[0]), to_int64(&args[1]));
    if max <= min {
        return ferr("invalid argument to Intn");
    }
    Ok(Value::Int(rand::rng().random_range(min..max)))
}

fn max(call: &Call<'_>, args: &[Value]) -> FResult {
    arity_at_least(call, args, 1)?;
    Ok(Value::Int(args.iter().map(to_int64).max().unwrap_or(0)))
}

fn min(call: &Call<'_>, args: &[Value]) -> FResult {
    arity_at_least(call, args, 1)?;
    Ok(Value::Int(args.iter().map(to_int64).min().unwrap_or(0)))
}

/// A decimal `m * 10^e`: Sprig's float functions compute with
/// shopspring/decimal (so `addf 0.1 0.2` is `0.3`, not `0.30000000000000004`).
#[derive(Clone, Copy)]
struct Decimal {
    m: i128,
    e: i32,
}

impl Decimal {
    /// `decimal.NewFromFloat`: the shortest decimal that round-trips.
    fn from_f64(f: f64) -> Option<Decimal> {
        if !f.is_finite() {
            return None;
        }
        let text = format!("{f:e}");
        let (mantissa, exp) = text.split_once('e')?;
        let exp: i32 = exp.parse().ok()?;
        let negative = mantissa.starts_with('-');
        let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
        let m: i128 = digits.parse().ok()?;
        Some(Decimal {
            m: if negative { -m } else { m },
            e: exp - (digits.len() as i32 - 1),
        })
    }

    fn to_f64(self) -> f64 {
        format!("{}e{}", self.m, self.e).parse().unwrap_or(f64::NAN)
    }

    fn pow10(n: i32) -> Option<i128> {
        10i128.checked_pow(u32::try_from(n).ok()?)
    }

    fn aligned(self, other: Decimal) -> Option<(i128, i128, i32)> {
        let e = self.e.min(other.e);
        let a = self.m.checked_mul(Self::pow10(self.e - e)?)?;
        let b = other.m.checked_mul(Self::pow10(other.e - e)?)?;
        Some((a, b, e))
    }

    fn add(self, other: Decimal) -> Option<Decimal> {
        let (a, b, e) = self.aligned(other)?;
        Some(Decimal {
            m: a.checked_add(b)?,
            e,
        })
    }

    fn sub(self, other: Decimal) -> Option<Decimal> {
        let (a, b, e) = self.aligned(other)?;
        Some(Decimal {
            m: a.checked_sub(b)?,
            e,
        })
    }

    fn mul(self, other: Decimal) -> Option<Decimal> {
        Some(Decimal {
            m: self.m.checked_mul(other.m)?,
            e: self.e.checked_add(other.e)?,
        })
    }

    /// `Div`: rounded (half away from zero) to 16 decimal places.
    fn div(self, other: Decimal) -> Option<Decimal> {
        if other.m == 0 {
            return None;
        }
        let k = self.e - other.e + 16;
        let (num, den) = if k >= 0 {
            (self.m.checked_mul(Self::pow10(k)?)?, other.m)
        } else {
            (self.m, other.m.checked_mul(Self::pow10(-k)?)?)
        };
        let q = num / den;
        let r = num % den;
        let round_away = r.checked_mul(2)?.abs() >= den.abs();
        let q = if round_away {
            if (num < 0) != (den < 0) { q - 1 } else { q + 1 }
        } else {
            q
        };
        Some(Decimal { m: q, e: -16 })
    }
}

/// Fold `args` with decimal arithmetic, falling back to f64 on overflow.
fn decimal_fold(
    args: &[Value],
    decimal: fn(Decimal, Decimal) -> Option<Decimal>,
    float: fn(f64, f64) -> f64,
) -> f64 {
    let values: Vec<f64> = args.iter().map(to_float64).collect();
    let exact = values
        .iter()
        .map(|f| Decimal::from_f64(*f))
        .collect::<Option<Vec<_>>>()
        .and_then(|ds| {
            let mut acc = ds[0];
            for d in &ds[1..] {
                acc = decimal(acc, *d)?;
            }
            Some(acc.to_f64())
        });
    exact.unwrap_or_else(|| values[1..].iter().fold(values[0], |a, b| float(a, *b)))
}

fn add1f(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    Ok(Value::Float(decimal_fold(
        &[args[0].clone(), Value::Float(1.0)],
        Decimal::add,
        |a, b| a + b,
    )))
}

fn addf(_: &Call<'_>, args: &[Value]) -> FResult {
    if args.is_empty() {
        return Ok(Value::Float(0.0));
    }
    Ok(Value::Float(decimal_fold(args, Decimal::add, |a, b| a + b)))
}

fn subf(call: &Call<'_>, args: &[Value]) -> FResult {
    arity_at_least(call, args, 1)?;
    Ok(Value::Float(decimal_fold(args, Decimal::sub, |a, b| a - b)))
}

fn divf(call: &Call<'_>, args: &[Value]) -> FResult {
    arity_at_least(call, args, 1)?;
    if args[1..].iter().any(|a| to_float64(a) == 0.0) {
        return ferr("division by zero");
    }
    Ok(Value::Float(decimal_fold(args, Decimal::div, |a, b| a / b)))
}

fn mulf(call: &Call<'_>, args: &[Value]) -> FResult {
    arity_at_least(call, args, 1)?;
    Ok(Value::Float(decimal_fold(args, Decimal::mul, |a, b| a * b)))
}

fn maxf(call: &Call<'_>, args: &[Value]) -> FResult {
    arity_at_least(call, args, 1)?;
    Ok(Value::Float(
        args.iter()
            .map(to_float64)
            .fold(f64::NEG_INFINITY, f64::max),
    ))
}

fn minf(call: &Call<'_>, args: &[Value]) -> FResult {
    arity_at_least(call, args, 1)?;
    Ok(Value::Float(
        args.iter().map(to_float64).fold(f64::INFINITY, f64::min),
    ))
}

fn ceil(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    Ok(Value::Float(to_float64(&args[0]).ceil()))
}

fn floor(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    Ok(Value::Float(to_float64(&args[0]).floor()))
}

fn round(call: &Call<'_>, args: &[Value]) -> FResult {
    arity_at_least(call, args, 2)?;
    if args.len() > 3 {
        return ferr(format!(
            "wrong number of args for {}: want at most 3 got {}",
            call.name,
            args.len()
        ));
    }
    let round_on = args.get(2).map(to_float64).unwrap_or(0.5);
    let value = to_float64(&args[0]);
    let pow = 10f64.powf(int_arg(args, 1)? as f64);
    let digit = pow * value;
    let fraction = digit.fract();
    let rounded = if fraction >= round_on {
        digit.ceil()
    } else {
        digit.floor()
    };
    Ok(Value::Float(rounded / pow))
}

// ---------------------------------------------------------------- defaults

/// Sprig's `empty`.
pub(crate) fn is_empty(v: &Value) -> bool {
    !v.is_true()
}

fn default(call: &Call<'_>, args: &[Value]) -> FResult {
    arity_at_least(call, args, 1)?;
    match args.get(1) {
        Some(given) if !is_empty(given) => Ok(given.clone()),
        _ => Ok(args[0].clone()),
    }
}

fn empty(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    Ok(Value::Bool(is_empty(&args[0])))
}

fn coalesce(_: &Call<'_>, args: &[Value]) -> FResult {
    Ok(args
        .iter()
        .find(|a| !is_empty(a))
        .cloned()
        .unwrap_or(Value::Nil))
}

fn all(_: &Call<'_>, args: &[Value]) -> FResult {
    Ok(Value::Bool(args.iter().all(|a| !is_empty(a))))
}

fn any(_: &Call<'_>, args: &[Value]) -> FResult {
    Ok(Value::Bool(args.iter().any(|a| !is_empty(a))))
}

fn compact(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    Ok(Value::list(
        list_arg(args, 0)?
            .iter()
            .filter(|a| !is_empty(a))
            .cloned()
            .collect(),
    ))
}

fn ternary(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 3)?;
    match &args[2] {
        Value::Bool(true) => Ok(args[0].clone()),
        Value::Bool(false) => Ok(args[1].clone()),
        other => ferr(format!(
            "wrong type for value; expected bool; got {}",
            other.type_name()
        )),
    }
}

fn fail(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    string_arg(args, 0)?;
    // The message is not repeated: it may be built from secret values.
    ferr("the template called fail (message withheld because it may contain secret values)")
}

// ---------------------------------------------------------------- JSON

fn parse_json(text: &[u8]) -> Result<Value, FuncError> {
    match serde_json::from_slice::<serde_json::Value>(text) {
        Ok(v) => Ok(Value::from_json(&v)),
        Err(e) => ferr(format!(
            "invalid JSON at line {}, column {}",
            e.line(),
            e.column()
        )),
    }
}

fn from_json(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    Ok(parse_json(string_arg(args, 0)?).unwrap_or(Value::Nil))
}

fn must_from_json(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    parse_json(string_arg(args, 0)?)
}

fn to_json(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    s(json::encode(
        &args[0],
        json::Style::Compact { escape_html: true },
    ))
}

fn to_raw_json(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    s(json::encode(
        &args[0],
        json::Style::Compact { escape_html: false },
    ))
}

fn to_pretty_json(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    s(json::encode(&args[0], json::Style::Pretty))
}

// ---------------------------------------------------------------- reflection

fn deep_copy(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    Ok(args[0].clone())
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "<nil>",
        other => other.type_name(),
    }
}

fn type_of(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    s(type_name(&args[0]))
}

fn type_is(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    Ok(Value::Bool(
        string_arg(args, 0)? == type_name(&args[1]).as_bytes(),
    ))
}

fn type_is_like(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    let target = string_arg(args, 0)?;
    let t = type_name(&args[1]).as_bytes();
    Ok(Value::Bool(
        target == t || [b"*".as_slice(), target].concat() == t,
    ))
}

fn kind_of(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    s(args[0].kind_name())
}

fn kind_is(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    Ok(Value::Bool(
        string_arg(args, 0)? == args[1].kind_name().as_bytes(),
    ))
}

fn deep_equal(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    Ok(Value::Bool(args[0].deep_equal(&args[1])))
}

// ---------------------------------------------------------------- paths (Go's `path`)

/// Go's `path.Clean`.
fn clean_path(p: &str) -> String {
    if p.is_empty() {
        return ".".to_string();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

fn base(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    let p = text_arg(args, 0)?;
    if p.is_empty() {
        return s(".");
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return s("/");
    }
    s(trimmed.rsplit('/').next().unwrap_or(trimmed))
}

fn dir(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    let p = text_arg(args, 0)?;
    let d = match p.rfind('/') {
        Some(i) => &p[..=i],
        None => "",
    };
    s(clean_path(d))
}

fn clean(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    s(clean_path(&text_arg(args, 0)?))
}

fn ext(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    let p = text_arg(args, 0)?;
    for (i, c) in p.char_indices().rev() {
        if c == '/' {
            break;
        }
        if c == '.' {
            return s(&p[i..]);
        }
    }
    s("")
}

fn is_abs(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    Ok(Value::Bool(string_arg(args, 0)?.starts_with(b"/")))
}

// ---------------------------------------------------------------- encodings

fn b64enc(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    s(base64::engine::general_purpose::STANDARD.encode(string_arg(args, 0)?))
}

/// Go's `base64.StdEncoding.DecodeString`: `\r` and `\n` are ignored.
pub(crate) fn go_b64_decode(text: &[u8]) -> Result<Vec<u8>, usize> {
    let cleaned: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| *b != b'\r' && *b != b'\n')
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(&cleaned)
        .map_err(|e| match e {
            base64::DecodeError::InvalidByte(i, _) => i,
            base64::DecodeError::InvalidLastSymbol(i, _) => i,
            _ => cleaned.len() - cleaned.len() % 4,
        })
}

fn b64dec(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    match go_b64_decode(string_arg(args, 0)?) {
        Ok(bytes) => s(bytes),
        // Sprig returns the error text as the result.
        Err(offset) => s(format!("illegal base64 data at input byte {offset}")),
    }
}

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn b32enc(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    let data = string_arg(args, 0)?;
    let mut out = Vec::with_capacity(data.len().div_ceil(5) * 8);
    for chunk in data.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let n = u64::from_be_bytes([0, 0, 0, buf[0], buf[1], buf[2], buf[3], buf[4]]);
        let chars = match chunk.len() {
            1 => 2,
            2 => 4,
            3 => 5,
            4 => 7,
            _ => 8,
        };
        for i in 0..8 {
            if i < chars {
                out.push(B32[((n >> (35 - 5 * i)) & 31) as usize]);
            } else {
                out.push(b'=');
            }
        }
    }
    s(out)
}

fn b32dec(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    let text: Vec<u8> = string_arg(args, 0)?
        .iter()
        .copied()
        .filter(|b| *b != b'\r' && *b != b'\n')
        .collect();
    let bad = |offset: usize| s(format!("illegal base32 data at input byte {offset}"));
    if !text.len().is_multiple_of(8) {
        return bad(text.len() - text.len() % 8);
    }
    let mut out = Vec::new();
    for (block, chunk) in text.chunks(8).enumerate() {
        let pad = chunk.iter().rev().take_while(|b| **b == b'=').count();
        let valid_lengths = [0usize, 1, 3, 4, 6];
        if !valid_lengths.contains(&pad) || (pad > 0 && block + 1 != text.len() / 8) {
            return bad(block * 8 + 8 - pad);
        }
        let mut n = 0u64;
        for (i, c) in chunk[..8 - pad].iter().enumerate() {
            let Some(v) = B32.iter().position(|x| x == c) else {
                return bad(block * 8 + i);
            };
            n |= (v as u64) << (35 - 5 * i);
        }
        let bytes = n.to_be_bytes();
        let keep = match pad {
            0 => 5,
            1 => 4,
            3 => 3,
            4 => 2,
            _ => 1,
        };
        out.extend_from_slice(&bytes[3..3 + keep]);
    }
    s(out)
}

// ---------------------------------------------------------------- lists and dicts

fn list(_: &Call<'_>, args: &[Value]) -> FResult {
    Ok(Value::list(args.to_vec()))
}

fn key_of(v: &Value) -> String {
    String::from_utf8_lossy(&strval(v)).into_owned()
}

fn dict(_: &Call<'_>, args: &[Value]) -> FResult {
    let mut map = BTreeMap::new();
    for pair in args.chunks(2) {
        let value = pair.get(1).cloned().unwrap_or_else(|| Value::str(""));
        map.insert(key_of(&pair[0]), value);
    }
    Ok(Value::map(map))
}

fn get(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    let map = map_arg(args, 0)?;
    Ok(map
        .get(&text_arg(args, 1)?)
        .cloned()
        .unwrap_or_else(|| Value::str("")))
}

/// `set` returns the updated dict. Go mutates the dict in place; here dicts
/// are values, so only the returned dict has the new entry.
fn set(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 3)?;
    let mut map = map_arg(args, 0)?.clone();
    map.insert(text_arg(args, 1)?, args[2].clone());
    Ok(Value::map(map))
}

fn unset(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    let mut map = map_arg(args, 0)?.clone();
    map.remove(&text_arg(args, 1)?);
    Ok(Value::map(map))
}

fn has_key(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    Ok(Value::Bool(
        map_arg(args, 0)?.contains_key(&text_arg(args, 1)?),
    ))
}

fn pluck(call: &Call<'_>, args: &[Value]) -> FResult {
    arity_at_least(call, args, 1)?;
    let key = text_arg(args, 0)?;
    let mut out = Vec::new();
    for i in 1..args.len() {
        if let Some(v) = map_arg(args, i)?.get(&key) {
            out.push(v.clone());
        }
    }
    Ok(Value::list(out))
}

/// Go returns map keys in random order; here they are sorted.
fn keys(_: &Call<'_>, args: &[Value]) -> FResult {
    let mut out = Vec::new();
    for i in 0..args.len() {
        out.extend(map_arg(args, i)?.keys().map(Value::str));
    }
    Ok(Value::list(out))
}

fn pick(call: &Call<'_>, args: &[Value]) -> FResult {
    arity_at_least(call, args, 1)?;
    let map = map_arg(args, 0)?;
    let mut out = BTreeMap::new();
    for i in 1..args.len() {
        let k = text_arg(args, i)?;
        if let Some(v) = map.get(&k) {
            out.insert(k, v.clone());
        }
    }
    Ok(Value::map(out))
}

fn omit(call: &Call<'_>, args: &[Value]) -> FResult {
    arity_at_least(call, args, 1)?;
    let mut map = map_arg(args, 0)?.clone();
    for i in 1..args.len() {
        map.remove(&text_arg(args, i)?);
    }
    Ok(Value::map(map))
}

fn merge_into(dst: &mut BTreeMap<String, Value>, src: &BTreeMap<String, Value>, overwrite: bool) {
    for (k, v) in src {
        match (dst.get(k), v) {
            (Some(Value::Map(d)), Value::Map(s)) => {
                let mut merged = (**d).clone();
                merge_into(&mut merged, s, overwrite);
                dst.insert(k.clone(), Value::map(merged));
            }
            (Some(existing), _) if !overwrite && !is_empty(existing) => {}
            (Some(_), _) if overwrite && is_empty(v) => {}
            _ => {
                dst.insert(k.clone(), v.clone());
            }
        }
    }
}

/// `merge` returns the merged dict (Go also mutates the first argument).
fn merge(call: &Call<'_>, args: &[Value]) -> FResult {
    arity_at_least(call, args, 1)?;
    let mut dst = map_arg(args, 0)?.clone();
    for i in 1..args.len() {
        merge_into(&mut dst, map_arg(args, i)?, false);
    }
    Ok(Value::map(dst))
}

fn merge_overwrite(call: &Call<'_>, args: &[Value]) -> FResult {
    arity_at_least(call, args, 1)?;
    let mut dst = map_arg(args, 0)?.clone();
    for i in 1..args.len() {
        merge_into(&mut dst, map_arg(args, i)?, true);
    }
    Ok(Value::map(dst))
}

/// Go returns values in random order; here they are in key order.
fn values(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    Ok(Value::list(map_arg(args, 0)?.values().cloned().collect()))
}

fn list_of<'v>(call: &Call<'_>, args: &'v [Value], i: usize) -> Result<&'v [Value], FuncError> {
    match &args[i] {
        Value::List(l) => Ok(l),
        other => ferr(format!(
            "cannot use {} on type {}",
            call.name,
            other.type_name()
        )),
    }
}

fn append(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    let mut l = list_of(call, args, 0)?.to_vec();
    l.push(args[1].clone());
    Ok(Value::list(l))
}

fn prepend(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    let mut l = vec![args[1].clone()];
    l.extend_from_slice(list_of(call, args, 0)?);
    Ok(Value::list(l))
}

fn first(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    Ok(list_of(call, args, 0)?
        .first()
        .cloned()
        .unwrap_or(Value::Nil))
}

fn last(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    Ok(list_of(call, args, 0)?
        .last()
        .cloned()
        .unwrap_or(Value::Nil))
}

fn rest(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    let l = list_of(call, args, 0)?;
    if l.is_empty() {
        return Ok(Value::Nil);
    }
    Ok(Value::list(l[1..].to_vec()))
}

fn initial(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    let l = list_of(call, args, 0)?;
    if l.is_empty() {
        return Ok(Value::Nil);
    }
    Ok(Value::list(l[..l.len() - 1].to_vec()))
}

fn reverse(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    Ok(Value::list(
        list_of(call, args, 0)?.iter().rev().cloned().collect(),
    ))
}

fn uniq(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    let mut out: Vec<Value> = Vec::new();
    for v in list_of(call, args, 0)? {
        if !out.iter().any(|o| o.deep_equal(v)) {
            out.push(v.clone());
        }
    }
    Ok(Value::list(out))
}

fn without(call: &Call<'_>, args: &[Value]) -> FResult {
    arity_at_least(call, args, 1)?;
    let omit = &args[1..];
    let out = list_of(call, args, 0)?
        .iter()
        .filter(|v| !omit.iter().any(|o| o.deep_equal(v)))
        .cloned()
        .collect();
    Ok(Value::list(out))
}

fn has(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    match &args[1] {
        Value::List(l) => Ok(Value::Bool(l.iter().any(|v| v.deep_equal(&args[0])))),
        Value::Nil => Ok(Value::Bool(false)),
        other => ferr(format!("cannot find has on type {}", other.type_name())),
    }
}

/// Sprig's `slice` (lists only; it replaces Go's builtin).
fn slice(call: &Call<'_>, args: &[Value]) -> FResult {
    arity_at_least(call, args, 1)?;
    let l = list_of(call, args, 0)?;
    let idx: Vec<i64> = args[1..].iter().map(to_int64).collect();
    let (start, end) = match idx.as_slice() {
        [] => (0, l.len() as i64),
        [a] => (*a, l.len() as i64),
        [a, b, ..] => (*a, *b),
    };
    if start < 0 || end < start || end > l.len() as i64 {
        return ferr("slice bounds out of range");
    }
    Ok(Value::list(l[start as usize..end as usize].to_vec()))
}

fn concat(_: &Call<'_>, args: &[Value]) -> FResult {
    let mut out = Vec::new();
    for a in args {
        match a {
            Value::List(l) => out.extend(l.iter().cloned()),
            other => return ferr(format!("cannot concat type {} as list", other.type_name())),
        }
    }
    Ok(Value::list(out))
}

fn dig(call: &Call<'_>, args: &[Value]) -> FResult {
    arity_at_least(call, args, 3)?;
    let map = map_arg(args, args.len() - 1)?;
    let default = &args[args.len() - 2];
    let keys: Vec<String> = (0..args.len() - 2)
        .map(|i| text_arg(args, i))
        .collect::<Result<_, _>>()?;
    let mut current = map.clone();
    for (i, k) in keys.iter().enumerate() {
        match current.get(k) {
            None => return Ok(default.clone()),
            Some(v) if i + 1 == keys.len() => return Ok(v.clone()),
            Some(Value::Map(m)) => current = (**m).clone(),
            Some(other) => {
                return ferr(format!(
                    "cannot dig into a value of type {}",
                    other.type_name()
                ));
            }
        }
    }
    Ok(default.clone())
}

fn chunk(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    let size = int_arg(args, 0)?;
    if size <= 0 {
        return ferr("chunk size must be positive");
    }
    let l = list_of(call, args, 1)?;
    Ok(Value::list(
        l.chunks(size as usize)
            .map(|c| Value::list(c.to_vec()))
            .collect(),
    ))
}

// ---------------------------------------------------------------- random

/// Sprig's `bcrypt`: `$2a$`, cost 10, random salt; Go's errors are returned
/// as the result text, as Sprig does.
fn bcrypt_text(password: &[u8]) -> Vec<u8> {
    // Go's x/crypto refuses more than 72 bytes (72 itself is accepted).
    if password.len() > 72 {
        return b"failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes"
            .to_vec();
    }
    match bcrypt::hash_with_result(password, 10) {
        Ok(parts) => parts.format_for_version(bcrypt::Version::TwoA).into_bytes(),
        Err(_) => b"failed to encrypt string with bcrypt".to_vec(),
    }
}

fn bcrypt_hash(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    s(bcrypt_text(string_arg(args, 0)?))
}

fn htpasswd(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    let (user, password) = (string_arg(args, 0)?, string_arg(args, 1)?);
    if user.contains(&b':') {
        let mut out = b"invalid username: ".to_vec();
        out.extend_from_slice(user);
        return s(out);
    }
    let mut out = user.to_vec();
    out.push(b':');
    out.extend_from_slice(&bcrypt_text(password));
    s(out)
}

fn uuidv4(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 0)?;
    let mut b: [u8; 16] = rand::rng().random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    s(format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    ))
}

fn rand_bytes(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    let count = int_arg(args, 0)?;
    if !(0..=MAX_GENERATED).contains(&count) {
        return ferr("count out of range");
    }
    let mut rng = rand::rng();
    let bytes: Vec<u8> = (0..count).map(|_| rng.random()).collect();
    s(base64::engine::general_purpose::STANDARD.encode(bytes))
}

// ---------------------------------------------------------------- regular expressions

fn compile(pattern: &str) -> Result<regex::Regex, FuncError> {
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|_| FuncError("invalid regular expression".to_string()))
}

fn regex_match(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    let text = text_arg(args, 1)?;
    Ok(Value::Bool(
        compile(&text_arg(args, 0)?)
            .map(|re| re.is_match(&text))
            .unwrap_or(false),
    ))
}

fn must_regex_match(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    let text = text_arg(args, 1)?;
    Ok(Value::Bool(compile(&text_arg(args, 0)?)?.is_match(&text)))
}

fn regex_find_all(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 3)?;
    let re = compile(&text_arg(args, 0)?)?;
    let text = text_arg(args, 1)?;
    let n = int_arg(args, 2)?;
    let limit = if n < 0 { usize::MAX } else { n as usize };
    Ok(Value::list(
        re.find_iter(&text)
            .take(limit)
            .map(|m| Value::str(m.as_str()))
            .collect(),
    ))
}

fn regex_find(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    let re = compile(&text_arg(args, 0)?)?;
    let text = text_arg(args, 1)?;
    s(re.find(&text).map(|m| m.as_str()).unwrap_or(""))
}

fn regex_replace_all(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 3)?;
    let re = compile(&text_arg(args, 0)?)?;
    let (text, repl) = (text_arg(args, 1)?, text_arg(args, 2)?);
    s(re.replace_all(&text, repl.as_str()).into_owned())
}

fn regex_replace_all_literal(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 3)?;
    let re = compile(&text_arg(args, 0)?)?;
    let (text, repl) = (text_arg(args, 1)?, text_arg(args, 2)?);
    s(re.replace_all(&text, regex::NoExpand(&repl)).into_owned())
}

fn regex_split(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 3)?;
    let re = compile(&text_arg(args, 0)?)?;
    let text = text_arg(args, 1)?;
    let n = int_arg(args, 2)?;
    let parts: Vec<Value> = match n {
        0 => Vec::new(),
        n if n < 0 => re.split(&text).map(Value::str).collect(),
        n => re.splitn(&text, n as usize).map(Value::str).collect(),
    };
    Ok(Value::list(parts))
}

fn regex_quote_meta(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    let text = text_arg(args, 0)?;
    let mut out = String::new();
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    s(out)
}
