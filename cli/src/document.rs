//! Reading manifests: a YAML stream with `---` separators or concatenated JSON objects, like
//! Kubernetes' `YAMLOrJSONDecoder` (JSON when the first non-blank character is `{`).
//!
//! Error messages name the document and the field, never a value: parse errors from
//! serde are stripped of quoted text because they can quote the offending value.

use std::collections::BTreeMap;

use base64::Engine as _;
use sealkit_crypto::SecretBytes;
use serde::Deserialize;
use serde_json::Value;

use crate::failure::{Failure, Outcome};
use crate::manifest::{ObjectMeta, SealedSecretManifest};

/// One non-empty document of an input stream, with its 1-based position.
#[derive(Debug, Clone)]
pub struct Document {
    pub index: usize,
    pub value: Value,
}

impl Document {
    pub fn kind(&self) -> &str {
        self.value.get("kind").and_then(Value::as_str).unwrap_or("")
    }

    pub fn api_version(&self) -> &str {
        self.value
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
}

/// Parse every document of `input`; empty documents are skipped.
pub fn parse_documents(input: &[u8], source: &str) -> Outcome<Vec<Document>> {
    let first = input.iter().find(|b| !b.is_ascii_whitespace());
    let values: Vec<Value> = if first == Some(&b'{') {
        let mut out = Vec::new();
        for (i, item) in serde_json::Deserializer::from_slice(input)
            .into_iter::<Value>()
            .enumerate()
        {
            let value = item.map_err(|e| {
                Failure::user(format!("{source}: document {} is not valid JSON", i + 1))
                    .cause(redact(&e.to_string()))
                    .hint("the input must be Kubernetes manifests in YAML (documents separated by ---) or JSON")
            })?;
            out.push(value);
        }
        out
    } else {
        let text = std::str::from_utf8(input).map_err(|_| {
            Failure::user(format!("{source}: the input is not UTF-8 text"))
                .hint("the input must be Kubernetes manifests in YAML or JSON, UTF-8 encoded")
        })?;
        let options = serde_saphyr::options! { with_snippet: false };
        serde_saphyr::from_multiple_with_options::<Value>(text, options).map_err(|e| {
            Failure::user(format!("{source}: the input is not valid YAML"))
                .cause(redact(&e.to_string()))
                .hint("the input must be Kubernetes manifests in YAML (documents separated by ---) or JSON")
        })?
    };
    Ok(values
        .into_iter()
        .filter(|v| !v.is_null())
        .enumerate()
        .map(|(i, value)| Document {
            index: i + 1,
            value,
        })
        .collect())
}

/// Remove quoted text from a parser message: serde quotes the unexpected value.
pub fn redact(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut in_quote = false;
    for c in message.chars() {
        if c == '"' || c == '`' {
            if !in_quote {
                out.push_str("\"…\"");
            }
            in_quote = !in_quote;
            continue;
        }
        if !in_quote {
            out.push(c);
        }
    }
    out.lines().next().unwrap_or("").to_owned()
}

/// An input `v1.Secret`: metadata, type, immutable, and the decoded items (`stringData` wins
/// over `data` for the same key, as in kubeseal).
#[derive(Debug)]
pub struct InputSecret {
    pub metadata: ObjectMeta,
    pub secret_type: String,
    pub immutable: Option<bool>,
    pub items: BTreeMap<String, SecretBytes>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SecretShape {
    #[serde(default)]
    metadata: Option<ObjectMeta>,
    #[serde(rename = "type", default)]
    secret_type: Option<String>,
    #[serde(default)]
    immutable: Option<bool>,
}

impl InputSecret {
    /// Read a document as a `v1.Secret`. Like kubeseal, the kind is not checked here (callers
    /// decide); values are decoded and kept out of every error message.
    pub fn from_document(doc: &Document, source: &str) -> Outcome<Self> {
        let at = || format!("{source}: document {}", doc.index);
        let Value::Object(map) = &doc.value else {
            return Err(Failure::user(format!("{}: not a Kubernetes object", at()))
                .hint("each document must be a Secret manifest (a YAML or JSON map)"));
        };
        let shape: SecretShape = serde_json::from_value(doc.value.clone()).map_err(|e| {
            Failure::user(format!("{}: not a valid Secret", at())).cause(redact(&e.to_string()))
        })?;
        let mut items = BTreeMap::new();
        if let Some(data) = map.get("data") {
            match data {
                Value::Null => {}
                Value::Object(data) => {
                    for (key, value) in data {
                        let encoded = match value {
                            Value::String(s) => s.as_str(),
                            Value::Null => "",
                            _ => {
                                return Err(Failure::user(format!(
                                    "{}: data.{key} is not a base64 string",
                                    at()
                                ))
                                .hint(
                                    "put base64 values under data, or plain text under stringData",
                                ));
                            }
                        };
                        let cleaned: String = encoded
                            .chars()
                            .filter(|c| *c != '\n' && *c != '\r')
                            .collect();
                        let bytes = base64::engine::general_purpose::STANDARD
                            .decode(cleaned.as_bytes())
                            .map_err(|_| {
                                Failure::user(format!("{}: data.{key} is not valid base64", at()))
                                    .hint("values under data must be base64-encoded; put plain text under stringData")
                            })?;
                        items.insert(key.clone(), SecretBytes::new(bytes));
                    }
                }
                _ => {
                    return Err(Failure::user(format!("{}: data is not a map", at()))
                        .hint("data must map item names to base64 values"));
                }
            }
        }
        if let Some(string_data) = map.get("stringData") {
            match string_data {
                Value::Null => {}
                Value::Object(string_data) => {
                    for (key, value) in string_data {
                        let text = match value {
                            Value::String(s) => s.clone(),
                            Value::Null => String::new(),
                            Value::Bool(b) => b.to_string(),
                            Value::Number(n) => n.to_string(),
                            _ => {
                                return Err(Failure::user(format!(
                                    "{}: stringData.{key} is not a string",
                                    at()
                                ))
                                .hint("quote the value, or use a YAML block scalar (|) for multi-line text"));
                            }
                        };
                        items.insert(key.clone(), SecretBytes::from(text));
                    }
                }
                _ => {
                    return Err(Failure::user(format!("{}: stringData is not a map", at()))
                        .hint("stringData must map item names to text values"));
                }
            }
        }
        Ok(InputSecret {
            metadata: shape.metadata.unwrap_or_default(),
            secret_type: shape.secret_type.unwrap_or_default(),
            immutable: shape.immutable,
            items,
        })
    }
}

/// Read a document as a SealedSecret.
pub fn sealed_secret_from_document(doc: &Document, source: &str) -> Outcome<SealedSecretManifest> {
    let kind = doc.kind();
    if kind != "SealedSecret" {
        let what = if kind.is_empty() {
            "an object without kind".to_owned()
        } else {
            format!("a {kind}")
        };
        return Err(Failure::user(format!(
            "{source}: document {} is {what}, not a SealedSecret",
            doc.index
        ))
        .hint(
            "pass SealedSecret manifests (kind: SealedSecret, apiVersion: bitnami.com/v1alpha1)",
        ));
    }
    serde_json::from_value(doc.value.clone()).map_err(|e| {
        Failure::user(format!(
            "{source}: document {} is not a valid SealedSecret",
            doc.index
        ))
        .cause(redact(&e.to_string()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_streams_skip_empty_documents() {
        let docs = parse_documents(b"---\n# c\n---\na: 1\n---\n\n---\nb: 2\n", "stdin").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].index, 2);
    }

    #[test]
    fn concatenated_json_objects_are_separate_documents() {
        let docs = parse_documents(b" {\"a\":1}\n{\"b\":2}{\"c\":3}", "stdin").unwrap();
        assert_eq!(docs.len(), 3);
    }

    #[test]
    fn string_data_overrides_data_of_the_same_name() {
        let docs = parse_documents(
            b"kind: Secret\nmetadata: {name: a}\ndata: {k: YQ==, o: Yg==}\nstringData: {k: c}\n",
            "stdin",
        )
        .unwrap();
        let s = InputSecret::from_document(&docs[0], "stdin").unwrap();
        assert_eq!(s.items["k"].expose_secret(), b"c");
        assert_eq!(s.items["o"].expose_secret(), b"b");
    }

    #[test]
    fn a_bad_base64_value_is_reported_without_the_value() {
        let docs = parse_documents(b"kind: Secret\ndata: {k: 'hunter2!!'}\n", "stdin").unwrap();
        let err = InputSecret::from_document(&docs[0], "stdin")
            .unwrap_err()
            .to_string();
        assert!(err.contains("data.k is not valid base64"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn redaction_removes_quoted_values() {
        assert_eq!(
            redact("invalid type: string \"s3cr3t\", expected a map"),
            "invalid type: string \"…\", expected a map"
        );
    }
}
