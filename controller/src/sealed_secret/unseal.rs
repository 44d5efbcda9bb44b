//! Unsealing one SealedSecret: every item of `spec.encryptedData` (either format, recognised from
//! its bytes) with the scope taken from the SealedSecret's **own** metadata, or the legacy
//! `spec.data` blob.
//!
//! When items cannot be unsealed, [`UnsealFailure`] says which, and why as far as non-secret facts
//! tell: for Bitnami values the same ciphertext is retried under the other scopes of this object
//! and under the namespace/name kept in `spec.template.metadata` (kubeseal copies the original
//! Secret's metadata there) — so "wrong scope", "renamed", "moved" and "unknown key" are told
//! apart. Messages name items, scopes and key fingerprints, never values.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Instant;

use sealkit_api::SealedSecret;
use sealkit_api::sealed_secret::UnsealingKey;
use sealkit_crypto::{Binding, Diagnosis, Format, Scope, SecretBytes};

use super::key_registry::KeySet;
use crate::metrics::{FormatLabels, Metrics};

/// The plaintext of a SealedSecret, and which keys opened it.
pub struct UnsealedItems {
    /// Item name → plaintext.
    pub values: BTreeMap<String, SecretBytes>,
    /// Item name → format it was sealed in.
    pub formats: BTreeMap<String, Format>,
    /// Keys that opened items (sorted by fingerprint), for `status.unsealingKeys`.
    pub keys: Vec<UnsealingKey>,
}

impl fmt::Debug for UnsealedItems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnsealedItems")
            .field("items", &self.values.keys().collect::<Vec<_>>())
            .field("keys", &self.keys)
            .finish()
    }
}

/// Why a SealedSecret could not be unsealed. Never contains a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnsealFailure {
    /// No key is registered.
    #[error(
        "no key registered: the controller has no sealing key yet (or --require-existing-key waits for one)"
    )]
    NoKey,
    /// Both `spec.data` and `spec.encryptedData`.
    #[error("spec.data (legacy format) and spec.encryptedData cannot both be set")]
    LegacyAndItems,
    /// Legacy format refused by flag.
    #[error("spec.data uses the deprecated v1 format and --accept-deprecated-v1-data is false")]
    LegacyRefused,
    /// The legacy blob opened but is not a Secret.
    #[error("spec.data decrypted, but its content is not a Secret in JSON")]
    LegacyNotSecret,
    /// Some items failed.
    #[error("{}", describe_items(.0))]
    Items(Vec<ItemFailure>),
}

/// One item that failed, with its diagnosis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemFailure {
    /// Item name (`spec.encryptedData` key; empty for the legacy `spec.data`).
    pub item: String,
    /// What probably went wrong.
    pub cause: ItemCause,
}

/// What probably went wrong with one item (from non-secret facts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemCause {
    /// Empty string (or a non-string JSON value).
    Empty,
    /// Not standard base64.
    NotBase64,
    /// Decrypts under another scope of the same object: the scope annotations are wrong.
    WrongScope {
        /// Scope it was sealed for.
        sealed: Scope,
        /// Scope the SealedSecret's metadata selects.
        found: Scope,
    },
    /// Sealed (strict) for another name in the same namespace.
    Renamed {
        /// Name it was sealed for.
        sealed_name: String,
    },
    /// Sealed for another namespace.
    Moved {
        /// Namespace it was sealed for.
        sealed_namespace: String,
        /// Name it was sealed for, when strict.
        sealed_name: Option<String>,
    },
    /// The crypto crate's diagnosis (unknown key, malformed, item renamed, …).
    Crypto(Diagnosis),
}

fn describe_items(items: &[ItemFailure]) -> String {
    // Group items with the same cause: "cannot unseal `a`, `b`: <cause>".
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for failure in items {
        let cause = failure.cause.to_string();
        match groups.iter_mut().find(|(c, _)| *c == cause) {
            Some((_, names)) => names.push(&failure.item),
            None => groups.push((cause, vec![&failure.item])),
        }
    }
    groups
        .into_iter()
        .map(|(cause, names)| {
            let names: Vec<String> = names
                .iter()
                .map(|n| format!("`{}`", n.escape_debug()))
                .collect();
            format!("cannot unseal {}: {cause}", names.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl fmt::Display for ItemCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ItemCause::Empty => f.write_str("the value is empty (or not a string)"),
            ItemCause::NotBase64 => f.write_str("the value is not standard base64"),
            ItemCause::WrongScope { sealed, found } => write!(
                f,
                "wrong scope: it was sealed for {sealed}, but this SealedSecret's metadata selects {found}; \
                 set the scope annotation on the SealedSecret's own metadata (not only in spec.template.metadata) \
                 or reseal with the matching --scope"
            ),
            ItemCause::Renamed { sealed_name } => write!(
                f,
                "renamed: it was sealed (strict scope) for the name `{}` in this namespace; reseal it for this name, \
                 or seal it namespace-wide",
                sealed_name.escape_debug()
            ),
            ItemCause::Moved {
                sealed_namespace,
                sealed_name: Some(name),
            } => write!(
                f,
                "moved or copied: it was sealed (strict scope) for `{}/{}`; reseal it for this namespace and name",
                sealed_namespace.escape_debug(),
                name.escape_debug()
            ),
            ItemCause::Moved {
                sealed_namespace,
                sealed_name: None,
            } => write!(
                f,
                "moved or copied: it was sealed (namespace-wide) for namespace `{}`; reseal it for this namespace",
                sealed_namespace.escape_debug()
            ),
            ItemCause::Crypto(Diagnosis::NoKeyMatched {
                format: Format::Hybrid,
                keys_tried,
            }) => write!(
                f,
                "unknown key: none of the {keys_tried} registered keys decrypts it under this or any related \
                 scope/name/namespace; it was sealed with another controller's certificate (fetch this \
                 cluster's with `kubeseal --fetch-cert`) or modified"
            ),
            ItemCause::Crypto(diagnosis) => fmt::Display::fmt(diagnosis, f),
        }
    }
}

/// The scope of a SealedSecret, from its own namespace, name and annotations (as upstream's
/// `Unseal`; never from the template).
pub fn scope_of(ss: &SealedSecret) -> Scope {
    Scope::from_annotations(
        ss.metadata.namespace.as_deref().unwrap_or_default(),
        ss.metadata.name.as_deref().unwrap_or_default(),
        ss.metadata.annotations.as_ref(),
    )
}

/// Unseals every item of `ss` with `keys`.
pub fn unseal(
    keys: &KeySet,
    ss: &SealedSecret,
    accept_v1: bool,
    metrics: Option<&Metrics>,
) -> Result<UnsealedItems, UnsealFailure> {
    if keys.ring.is_empty() {
        return Err(UnsealFailure::NoKey);
    }
    let scope = scope_of(ss);
    if let Some(legacy) = ss.spec.data.as_deref().filter(|d| !d.is_empty()) {
        if !ss.spec.encrypted_data.is_empty() {
            return Err(UnsealFailure::LegacyAndItems);
        }
        if !accept_v1 {
            return Err(UnsealFailure::LegacyRefused);
        }
        return unseal_legacy(keys, ss, &scope, legacy);
    }
    let mut values = BTreeMap::new();
    let mut formats = BTreeMap::new();
    let mut used: BTreeMap<(String, &'static str), Vec<String>> = BTreeMap::new();
    let mut failures = Vec::new();
    for (item, text) in &ss.spec.encrypted_data {
        if text.trim().is_empty() {
            failures.push(ItemFailure {
                item: item.clone(),
                cause: ItemCause::Empty,
            });
            continue;
        }
        let Ok(blob) = sealkit_crypto::base64::decode(text) else {
            failures.push(ItemFailure {
                item: item.clone(),
                cause: ItemCause::NotBase64,
            });
            continue;
        };
        let started = Instant::now();
        let binding = Binding::new(scope.clone(), item.clone());
        match keys.ring.unseal(&blob, &binding) {
            Ok(unsealed) => {
                if let Some(m) = metrics {
                    m.unseal_value_duration
                        .get_or_create(&FormatLabels {
                            format: unsealed.format.as_str().to_owned(),
                        })
                        .observe(started.elapsed().as_secs_f64());
                }
                let format = format_name(unsealed.format);
                used.entry((unsealed.key.to_string(), format))
                    .or_default()
                    .push(item.clone());
                formats.insert(item.clone(), unsealed.format);
                values.insert(item.clone(), unsealed.value);
            }
            Err(e) => failures.push(ItemFailure {
                item: item.clone(),
                cause: diagnose(keys, ss, &scope, item, &blob, e.diagnosis()),
            }),
        }
    }
    if !failures.is_empty() {
        return Err(UnsealFailure::Items(failures));
    }
    let keys = used
        .into_iter()
        .map(|((fingerprint, format), items)| UnsealingKey {
            fingerprint,
            format: format.to_owned(),
            items,
        })
        .collect();
    Ok(UnsealedItems {
        values,
        formats,
        keys,
    })
}

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Hybrid => "rsa",
        Format::Native => "age",
    }
}

fn unseal_legacy(
    keys: &KeySet,
    ss: &SealedSecret,
    scope: &Scope,
    legacy: &str,
) -> Result<UnsealedItems, UnsealFailure> {
    let item_failure = |cause| {
        UnsealFailure::Items(vec![ItemFailure {
            item: String::new(),
            cause,
        }])
    };
    let blob =
        sealkit_crypto::base64::decode(legacy).map_err(|_| item_failure(ItemCause::NotBase64))?;
    let binding = Binding::new(scope.clone(), String::new());
    let unsealed = keys
        .ring
        .unseal(&blob, &binding)
        .map_err(|e| item_failure(diagnose(keys, ss, scope, "", &blob, e.diagnosis())))?;
    // The plaintext is a whole Secret as JSON; only its data is used (as upstream).
    let secret: k8s_openapi::api::core::v1::Secret =
        serde_json::from_slice(unsealed.value.expose_secret())
            .map_err(|_| UnsealFailure::LegacyNotSecret)?;
    let mut values = BTreeMap::new();
    let mut formats = BTreeMap::new();
    for (k, v) in secret.data.unwrap_or_default() {
        formats.insert(k.clone(), unsealed.format);
        values.insert(k, SecretBytes::new(v.0));
    }
    let items = values.keys().cloned().collect();
    Ok(UnsealedItems {
        values,
        formats,
        keys: vec![UnsealingKey {
            fingerprint: unsealed.key.to_string(),
            format: format_name(unsealed.format).to_owned(),
            items,
        }],
    })
}

/// Tells wrong scope / renamed / moved / unknown key apart for a value that did not open.
fn diagnose(
    keys: &KeySet,
    ss: &SealedSecret,
    found: &Scope,
    item: &str,
    blob: &[u8],
    diagnosis: &Diagnosis,
) -> ItemCause {
    match diagnosis {
        Diagnosis::NoKeyMatched {
            format: Format::Hybrid,
            ..
        } => {}
        Diagnosis::ScopeMismatch { sealed, found } => return classify(sealed, found),
        other => return ItemCause::Crypto(other.clone()),
    }
    // Bitnami values: retry under related scopes (facts: this object's namespace/name and the
    // namespace/name kept in its template). A success proves which one it was sealed for.
    let namespace = ss.metadata.namespace.clone().unwrap_or_default();
    let name = ss.metadata.name.clone().unwrap_or_default();
    let template_meta = ss.spec.template.as_ref().and_then(|t| t.metadata.as_ref());
    let t_namespace = template_meta
        .and_then(|m| m.namespace.clone())
        .filter(|n| !n.is_empty());
    let t_name = template_meta
        .and_then(|m| m.name.clone())
        .filter(|n| !n.is_empty());
    let mut candidates = vec![
        Scope::Strict {
            namespace: namespace.clone(),
            name: name.clone(),
        },
        Scope::NamespaceWide {
            namespace: namespace.clone(),
        },
        Scope::ClusterWide,
    ];
    let other_ns = t_namespace.clone().unwrap_or_else(|| namespace.clone());
    let other_name = t_name.clone().unwrap_or_else(|| name.clone());
    candidates.push(Scope::Strict {
        namespace: other_ns.clone(),
        name: other_name,
    });
    candidates.push(Scope::NamespaceWide {
        namespace: other_ns,
    });
    let mut tried = std::collections::BTreeSet::new();
    for candidate in candidates {
        if &candidate == found || !tried.insert(candidate.label()) {
            continue;
        }
        if keys
            .ring
            .unseal(blob, &Binding::new(candidate.clone(), item.to_owned()))
            .is_ok()
        {
            return classify(&candidate, found);
        }
    }
    ItemCause::Crypto(diagnosis.clone())
}

fn classify(sealed: &Scope, found: &Scope) -> ItemCause {
    let found_ns = match found {
        Scope::Strict { namespace, .. } | Scope::NamespaceWide { namespace } => {
            Some(namespace.as_str())
        }
        Scope::ClusterWide => None,
    };
    match (sealed, found) {
        (
            Scope::Strict { namespace, name },
            Scope::Strict {
                namespace: fns,
                name: fname,
            },
        ) if namespace == fns && name != fname => ItemCause::Renamed {
            sealed_name: name.clone(),
        },
        (Scope::Strict { namespace, name }, _)
            if Some(namespace.as_str()) != found_ns && found_ns.is_some() =>
        {
            ItemCause::Moved {
                sealed_namespace: namespace.clone(),
                sealed_name: Some(name.clone()),
            }
        }
        (Scope::NamespaceWide { namespace }, _)
            if Some(namespace.as_str()) != found_ns && found_ns.is_some() =>
        {
            ItemCause::Moved {
                sealed_namespace: namespace.clone(),
                sealed_name: None,
            }
        }
        _ => ItemCause::WrongScope {
            sealed: sealed.clone(),
            found: found.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use sealkit_api::sealed_secret::{SealedSecretSpec, SecretTemplateSpec};
    use sealkit_crypto::{KeyPair, SealingTarget};
    use std::sync::{Arc, OnceLock};

    fn key_pair() -> &'static KeyPair {
        static KEY: OnceLock<KeyPair> = OnceLock::new();
        KEY.get_or_init(|| {
            sealkit_crypto::keys::generate(&sealkit_crypto::keys::KeyGenOptions {
                rsa_size: sealkit_crypto::keys::RsaKeySize::Rsa2048,
                ..Default::default()
            })
            .unwrap()
        })
    }

    fn key_set() -> KeySet {
        let mut ring = sealkit_crypto::KeyRing::new();
        ring.add_key_pair(key_pair());
        KeySet {
            keys: Vec::<Arc<_>>::new(),
            ring,
        }
    }

    fn sealed_secret(
        ns: &str,
        name: &str,
        annotations: &[(&str, &str)],
        items: BTreeMap<String, String>,
        template: Option<(&str, &str)>,
    ) -> SealedSecret {
        let mut ss = SealedSecret::new(
            name,
            SealedSecretSpec {
                encrypted_data: items,
                ..Default::default()
            },
        );
        ss.metadata.namespace = Some(ns.into());
        if !annotations.is_empty() {
            ss.metadata.annotations = Some(
                annotations
                    .iter()
                    .map(|(k, v)| ((*k).into(), (*v).into()))
                    .collect(),
            );
        }
        if let Some((tns, tname)) = template {
            ss.spec.template = Some(Box::new(SecretTemplateSpec {
                metadata: Some(ObjectMeta {
                    namespace: Some(tns.into()),
                    name: Some(tname.into()),
                    ..Default::default()
                }),
                ..Default::default()
            }));
        }
        ss
    }

    fn seal(target: &SealingTarget, scope: Scope, item: &str, value: &[u8]) -> String {
        sealkit_crypto::base64::encode(&target.seal(&Binding::new(scope, item), value).unwrap())
    }

    fn hybrid() -> SealingTarget {
        SealingTarget::from_certificate(key_pair().certificate())
    }

    fn strict(ns: &str, name: &str) -> Scope {
        Scope::Strict {
            namespace: ns.into(),
            name: name.into(),
        }
    }

    #[test]
    fn both_formats_unseal_and_report_their_keys() {
        let native = SealingTarget::Native(vec![key_pair().age().unwrap().recipient().clone()]);
        let items = BTreeMap::from([
            (
                "a".to_owned(),
                seal(&hybrid(), strict("ns", "s"), "a", b"one"),
            ),
            (
                "b".to_owned(),
                seal(&native, strict("ns", "s"), "b", b"two"),
            ),
        ]);
        let out = unseal(
            &key_set(),
            &sealed_secret("ns", "s", &[], items, None),
            true,
            None,
        )
        .unwrap();
        assert_eq!(out.values["a"].expose_secret(), b"one");
        assert_eq!(out.values["b"].expose_secret(), b"two");
        let formats: Vec<&str> = out.keys.iter().map(|k| k.format.as_str()).collect();
        assert_eq!(formats.len(), 2);
        assert!(formats.contains(&"rsa") && formats.contains(&"age"));
        assert!(
            out.keys
                .iter()
                .any(|k| k.fingerprint == key_pair().rsa().fingerprint().to_string())
        );
    }

    #[test]
    fn a_copied_sealed_secret_is_diagnosed_as_moved() {
        let items = BTreeMap::from([(
            "p".to_owned(),
            seal(&hybrid(), strict("prod", "db"), "p", b"x"),
        )]);
        let ss = sealed_secret("dev", "db", &[], items, Some(("prod", "db")));
        let err = unseal(&key_set(), &ss, true, None).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("moved or copied") && message.contains("`prod/db`"),
            "{message}"
        );
    }

    #[test]
    fn a_renamed_sealed_secret_is_diagnosed_as_renamed() {
        let items = BTreeMap::from([(
            "p".to_owned(),
            seal(&hybrid(), strict("ns", "old"), "p", b"x"),
        )]);
        let ss = sealed_secret("ns", "new", &[], items, Some(("ns", "old")));
        let message = unseal(&key_set(), &ss, true, None).unwrap_err().to_string();
        assert!(
            message.contains("renamed") && message.contains("`old`"),
            "{message}"
        );
    }

    #[test]
    fn a_missing_scope_annotation_is_diagnosed_as_wrong_scope() {
        let items = BTreeMap::from([(
            "p".to_owned(),
            seal(&hybrid(), Scope::ClusterWide, "p", b"x"),
        )]);
        let ss = sealed_secret("ns", "s", &[], items, None);
        let message = unseal(&key_set(), &ss, true, None).unwrap_err().to_string();
        assert!(
            message.contains("wrong scope") && message.contains("cluster-wide"),
            "{message}"
        );
    }

    #[test]
    fn an_unknown_key_is_diagnosed_and_bad_input_is_named_per_item() {
        let other = sealkit_crypto::keys::generate(&sealkit_crypto::keys::KeyGenOptions {
            rsa_size: sealkit_crypto::keys::RsaKeySize::Rsa2048,
            ..Default::default()
        })
        .unwrap();
        let foreign = SealingTarget::from_certificate(other.certificate());
        let items = BTreeMap::from([
            (
                "foreign".to_owned(),
                seal(&foreign, strict("ns", "s"), "foreign", b"x"),
            ),
            ("b64".to_owned(), "%%%not base64".to_owned()),
            ("empty".to_owned(), String::new()),
            ("junk".to_owned(), sealkit_crypto::base64::encode(b"\x00")),
        ]);
        let message = unseal(
            &key_set(),
            &sealed_secret("ns", "s", &[], items, None),
            true,
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(message.contains("`foreign`: unknown key"), "{message}");
        assert!(
            message.contains("`b64`: the value is not standard base64"),
            "{message}"
        );
        assert!(message.contains("`empty`: the value is empty"), "{message}");
        assert!(message.contains("`junk`"), "{message}");
        assert!(!message.contains("%%%"), "{message}");
    }

    #[test]
    fn no_key_is_reported_as_such() {
        let err = unseal(
            &KeySet::default(),
            &sealed_secret("ns", "s", &[], BTreeMap::new(), None),
            true,
            None,
        )
        .unwrap_err();
        assert_eq!(err, UnsealFailure::NoKey);
    }
}
