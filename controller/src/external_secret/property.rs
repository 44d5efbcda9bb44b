//! Reading values out of a JSON payload the way ESO does with gjson: `property` tries the whole
//! string as a literal key first, then as a dotted path (`a.b`, `list.1.name`, `\.` escapes a dot,
//! `list.#` is the length). Strings come out unquoted; other values as their raw JSON text.

use std::collections::{BTreeMap, HashMap};

use serde_json::value::RawValue;

/// Why a property could not be read. Never contains a value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PropertyError {
    /// The payload is not JSON (or not an object for `extract`).
    #[error("secret payload is not a JSON object")]
    NotJsonObject,
    /// No value at that path.
    #[error("key {property:?} does not exist in secret")]
    Missing {
        /// The property asked for.
        property: String,
    },
}

/// Value of `property` in `payload` (gjson `String()` semantics).
pub fn lookup(payload: &[u8], property: &str) -> Result<Vec<u8>, PropertyError> {
    let missing = || PropertyError::Missing {
        property: property.to_owned(),
    };
    let root: &RawValue = serde_json::from_slice(payload).map_err(|_| missing())?;
    if property.contains('.')
        && let Some(raw) = child(root, property)
    {
        return Ok(to_text(raw));
    }
    let mut current = root;
    let mut text_out: Option<Vec<u8>> = None;
    for segment in split_path(property) {
        if segment == "#" {
            let items: Vec<&RawValue> =
                serde_json::from_str(current.get()).map_err(|_| missing())?;
            text_out = Some(items.len().to_string().into_bytes());
            continue;
        }
        if text_out.is_some() {
            return Err(missing());
        }
        current = child(current, &segment).ok_or_else(missing)?;
    }
    Ok(text_out.unwrap_or_else(|| to_text(current)))
}

/// The top-level keys of a JSON object payload (`dataFrom.extract`): strings unquoted, any other
/// value as raw JSON.
pub fn extract(payload: &[u8]) -> Result<BTreeMap<String, Vec<u8>>, PropertyError> {
    let map: HashMap<String, &RawValue> =
        serde_json::from_slice(payload).map_err(|_| PropertyError::NotJsonObject)?;
    Ok(map.into_iter().map(|(k, v)| (k, to_text(v))).collect())
}

fn child<'a>(parent: &'a RawValue, key: &str) -> Option<&'a RawValue> {
    let text = parent.get().trim_start();
    if text.starts_with('{') {
        let map: HashMap<String, &RawValue> = serde_json::from_str(parent.get()).ok()?;
        map.get(key).copied()
    } else if text.starts_with('[') {
        let index: usize = key.parse().ok()?;
        let items: Vec<&RawValue> = serde_json::from_str(parent.get()).ok()?;
        items.get(index).copied()
    } else {
        None
    }
}

fn split_path(path: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(next), Some(last)) = (chars.next(), out.last_mut()) {
                    last.push(next);
                }
            }
            '.' => out.push(String::new()),
            c => {
                if let Some(last) = out.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    out
}

fn to_text(raw: &RawValue) -> Vec<u8> {
    let text = raw.get().trim();
    if text.starts_with('"') {
        match serde_json::from_str::<String>(text) {
            Ok(s) => s.into_bytes(),
            Err(_) => text.as_bytes().to_vec(),
        }
    } else {
        text.as_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &[u8] =
        br#"{"user":"admin","pass":"p\"w","port":5432,"tls":true,"a":{"b":{"c":"deep"}},
        "a.b":"literal","friends":[{"first":"Dale"},{"first":"Roger"}],"obj":{"x": 1},"n":null}"#;

    #[test]
    fn strings_are_unquoted_and_other_values_raw() {
        assert_eq!(lookup(DOC, "user").unwrap(), b"admin");
        assert_eq!(lookup(DOC, "pass").unwrap(), b"p\"w");
        assert_eq!(lookup(DOC, "port").unwrap(), b"5432");
        assert_eq!(lookup(DOC, "tls").unwrap(), b"true");
        assert_eq!(lookup(DOC, "obj").unwrap(), br#"{"x": 1}"#);
    }

    #[test]
    fn a_literal_dotted_key_wins_over_the_path() {
        assert_eq!(lookup(DOC, "a.b").unwrap(), b"literal");
        assert_eq!(lookup(DOC, "a.b.c").unwrap(), b"deep");
    }

    #[test]
    fn arrays_index_and_count() {
        assert_eq!(lookup(DOC, "friends.1.first").unwrap(), b"Roger");
        assert_eq!(lookup(DOC, "friends.#").unwrap(), b"2");
    }

    #[test]
    fn escaped_dots_address_keys_with_dots() {
        let doc = br#"{"tls.crt":"CERT"}"#;
        assert_eq!(lookup(doc, r"tls\.crt").unwrap(), b"CERT");
    }

    #[test]
    fn a_missing_property_names_the_property_not_the_payload() {
        let err = lookup(DOC, "nope").unwrap_err();
        assert_eq!(err.to_string(), "key \"nope\" does not exist in secret");
        assert!(lookup(b"not json at all", "x").is_err());
    }

    #[test]
    fn extract_needs_an_object_and_keeps_raw_json_for_non_strings() {
        let map = extract(br#"{"u":"x","n":1,"o":{"a":[1,2]},"z":null}"#).unwrap();
        assert_eq!(map["u"], b"x");
        assert_eq!(map["n"], b"1");
        assert_eq!(map["o"], br#"{"a":[1,2]}"#);
        assert_eq!(map["z"], b"null");
        assert_eq!(extract(b"[1,2]"), Err(PropertyError::NotJsonObject));
        assert_eq!(extract(b"plain"), Err(PropertyError::NotJsonObject));
    }
}
