//! What happens to fetched values and key names between AWS and the Secret: `decodingStrategy`,
//! `nullBytePolicy`, key conversion (`conversionStrategy`), `rewrite` and key validation.

use std::collections::BTreeMap;

use base64::Engine as _;
use sealkit_api::external_secret::{
    ConversionStrategy, DecodingStrategy, ExternalSecretRewrite, NullBytePolicy,
};

/// A key or value transformation failed. Never contains a value.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Decoding failed.
    #[error("value of {key:?} is not valid {strategy}")]
    Decode {
        /// Secret key.
        key: String,
        /// Strategy name.
        strategy: &'static str,
    },
    /// `nullBytePolicy: Fail`.
    #[error("value of {key:?} contains a NUL byte and nullBytePolicy is Fail")]
    NullByte {
        /// Secret key.
        key: String,
    },
    /// A key is not a valid Secret key.
    #[error(
        "key {key:?} is not a valid Secret key (allowed: letters, digits, '-', '.', '_'; at most 253)"
    )]
    InvalidKey {
        /// The key.
        key: String,
    },
    /// Bad rewrite regexp.
    #[error("rewrite regexp {source_text:?} is invalid")]
    Regexp {
        /// The regexp.
        source_text: String,
        /// Cause.
        #[source]
        source: regex::Error,
    },
    /// Transform template failed.
    #[error("rewrite transform template failed")]
    Transform(#[source] sealkit_template::TemplateError),
    /// Unsupported rewrite.
    #[error("rewrite.merge is not supported by sealkit")]
    MergeRewrite,
}

/// Applies `decodingStrategy` to one value.
pub fn decode(
    key: &str,
    value: Vec<u8>,
    strategy: Option<DecodingStrategy>,
) -> Result<Vec<u8>, KeyError> {
    let std = base64::engine::general_purpose::STANDARD;
    let url = base64::engine::general_purpose::URL_SAFE;
    let err = |strategy| KeyError::Decode {
        key: key.to_owned(),
        strategy,
    };
    match strategy.unwrap_or(DecodingStrategy::None) {
        DecodingStrategy::None => Ok(value),
        DecodingStrategy::Base64 => std.decode(&value).map_err(|_| err("base64")),
        DecodingStrategy::Base64Url => url.decode(&value).map_err(|_| err("base64url")),
        DecodingStrategy::Auto => Ok(std
            .decode(&value)
            .or_else(|_| url.decode(&value))
            .unwrap_or(value)),
    }
}

/// Applies `nullBytePolicy` to one value.
pub fn check_null_bytes(
    key: &str,
    value: &[u8],
    policy: Option<NullBytePolicy>,
) -> Result<(), KeyError> {
    if policy == Some(NullBytePolicy::Fail) && value.contains(&0) {
        return Err(KeyError::NullByte {
            key: key.to_owned(),
        });
    }
    Ok(())
}

/// Key conversion for `dataFrom` (`Default`: `_`; `Unicode`: `_UXXXX_`).
pub fn convert_key(key: &str, strategy: Option<ConversionStrategy>) -> String {
    let strategy = strategy.unwrap_or(ConversionStrategy::Default);
    key.chars()
        .map(|c| {
            if c.is_alphabetic() || c.is_numeric() || matches!(c, '-' | '.' | '_') {
                c.to_string()
            } else {
                match strategy {
                    ConversionStrategy::Default => "_".to_owned(),
                    ConversionStrategy::Unicode => format!("_U{:04x}_", c as u32),
                }
            }
        })
        .collect()
}

/// Applies `rewrite` rules in order to every key.
pub fn rewrite_keys(
    data: BTreeMap<String, Vec<u8>>,
    rules: &[ExternalSecretRewrite],
) -> Result<BTreeMap<String, Vec<u8>>, KeyError> {
    let mut data = data;
    for rule in rules {
        if let Some(re) = &rule.regexp {
            let compiled = regex::Regex::new(&re.source).map_err(|source| KeyError::Regexp {
                source_text: re.source.clone(),
                source,
            })?;
            data = data
                .into_iter()
                .map(|(k, v)| (compiled.replace_all(&k, re.target.as_str()).into_owned(), v))
                .collect();
        } else if let Some(transform) = &rule.transform {
            let mut out = BTreeMap::new();
            for (k, v) in data {
                let ctx = BTreeMap::from([("value".to_owned(), k.into_bytes())]);
                let rendered = sealkit_template::render(
                    &transform.template,
                    &ctx,
                    sealkit_template::Dialect::ExternalSecrets,
                )
                .map_err(KeyError::Transform)?;
                out.insert(String::from_utf8_lossy(&rendered).into_owned(), v);
            }
            data = out;
        } else if rule.merge.is_some() {
            return Err(KeyError::MergeRewrite);
        }
    }
    Ok(data)
}

/// Drops empty keys and rejects invalid ones, as ESO does after conversion.
pub fn validate_keys(
    data: BTreeMap<String, Vec<u8>>,
) -> Result<BTreeMap<String, Vec<u8>>, KeyError> {
    let mut out = BTreeMap::new();
    for (k, v) in data {
        if k.is_empty() {
            continue;
        }
        if !is_valid_secret_key(&k) {
            return Err(KeyError::InvalidKey { key: k });
        }
        out.insert(k, v);
    }
    Ok(out)
}

/// `^[-._a-zA-Z0-9]+$`, at most 253 characters.
pub fn is_valid_secret_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 253
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sealkit_api::external_secret::ExternalSecretRewriteRegexp;

    #[test]
    fn decoding_strategies_behave_like_eso() {
        assert_eq!(
            decode("k", b"aGk=".to_vec(), Some(DecodingStrategy::Base64)).unwrap(),
            b"hi"
        );
        assert_eq!(
            decode("k", b"-_8=".to_vec(), Some(DecodingStrategy::Base64Url)).unwrap(),
            [0xfb, 0xff]
        );
        assert_eq!(
            decode("k", b"-_8=".to_vec(), Some(DecodingStrategy::Auto)).unwrap(),
            [0xfb, 0xff]
        );
        assert_eq!(
            decode("k", b"not base64!".to_vec(), Some(DecodingStrategy::Auto)).unwrap(),
            b"not base64!"
        );
        assert_eq!(decode("k", b"aGk=".to_vec(), None).unwrap(), b"aGk=");
        let err = decode("k", b"%%%".to_vec(), Some(DecodingStrategy::Base64)).unwrap_err();
        assert_eq!(err.to_string(), "value of \"k\" is not valid base64");
    }

    #[test]
    fn null_bytes_fail_only_with_fail() {
        assert!(check_null_bytes("k", b"a\0b", None).is_ok());
        assert!(check_null_bytes("k", b"a\0b", Some(NullBytePolicy::Fail)).is_err());
        assert!(check_null_bytes("k", b"ab", Some(NullBytePolicy::Fail)).is_ok());
    }

    #[test]
    fn key_conversion_replaces_invalid_characters() {
        assert_eq!(convert_key("prod/db", None), "prod_db");
        assert_eq!(
            convert_key("prod/db", Some(ConversionStrategy::Unicode)),
            "prod_U002f_db"
        );
        assert_eq!(convert_key("a-b.c_d9", None), "a-b.c_d9");
    }

    #[test]
    fn regexp_rewrites_apply_in_order_with_group_references() {
        let data = BTreeMap::from([("prod/db/user".to_owned(), b"u".to_vec())]);
        let rules = vec![
            ExternalSecretRewrite {
                regexp: Some(ExternalSecretRewriteRegexp {
                    source: "^prod/".into(),
                    target: "".into(),
                }),
                ..Default::default()
            },
            ExternalSecretRewrite {
                regexp: Some(ExternalSecretRewriteRegexp {
                    source: "(.*)/(.*)".into(),
                    target: "${2}_$1".into(),
                }),
                ..Default::default()
            },
        ];
        let out = rewrite_keys(data, &rules).unwrap();
        assert_eq!(out.keys().collect::<Vec<_>>(), ["user_db"]);
    }

    #[test]
    fn invalid_keys_are_rejected_and_empty_keys_dropped() {
        let ok = validate_keys(BTreeMap::from([
            ("".to_owned(), vec![]),
            ("a".to_owned(), vec![]),
        ]))
        .unwrap();
        assert_eq!(ok.len(), 1);
        assert!(validate_keys(BTreeMap::from([("a/b".to_owned(), vec![])])).is_err());
        assert!(!is_valid_secret_key(&"x".repeat(254)));
    }
}
