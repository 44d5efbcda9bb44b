//! Kubernetes manifests as kubeseal reads and writes them.
//!
//! The structs below serialize their fields in the order of the Go types kubeseal uses
//! (`metav1.ObjectMeta`, `v1.Secret`, `SealedSecret`), so JSON output matches kubeseal's byte
//! for byte. Maps are `BTreeMap`s: Go's encoder sorts map keys the same way.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const SEALED_SECRET_API_VERSION: &str = "bitnami.com/v1alpha1";
pub const SEALED_SECRET_KIND: &str = "SealedSecret";
pub const SKIP_OWNER_REFERENCES_ANNOTATION: &str =
    "sealedsecrets.bitnami.com/skip-set-owner-references";
/// Annotations holding a full copy of the applied object (the cleartext), dropped when sealing.
pub const LAST_APPLIED_ANNOTATIONS: [&str; 2] = [
    "kubectl.kubernetes.io/last-applied-configuration",
    "kubecfg.ksonnet.io/last-applied-configuration",
];

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// `metav1.ObjectMeta`, fields in Go order. An unset `creationTimestamp` is omitted, as
/// kubeseal v0.36 (apimachinery 0.35, `omitzero`) does.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub generate_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub self_link: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resource_version: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub generation: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_timestamp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_grace_period_seconds: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "string_map"
    )]
    pub labels: BTreeMap<String, String>,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "string_map"
    )]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owner_references: Vec<OwnerReference>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finalizers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_fields: Vec<Value>,
}

impl ObjectMeta {
    /// Blank the read-only server-side fields, as kubeseal does before sealing.
    pub fn strip_server_fields(&mut self) {
        self.self_link.clear();
        self.uid.clear();
        self.resource_version.clear();
        self.generation = 0;
        self.creation_timestamp = None;
        self.deletion_timestamp = None;
        self.deletion_grace_period_seconds = None;
    }
}

/// `metav1.OwnerReference`, fields in Go order (`uid` is always written).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerReference {
    #[serde(default)]
    pub api_version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub uid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_owner_deletion: Option<bool>,
}

/// A `v1.Secret` as written by `--recovery-unseal` (Go field order). Values are base64.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretManifest {
    pub kind: &'static str,
    pub api_version: &'static str,
    pub metadata: ObjectMeta,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, String>,
    #[serde(rename = "type", skip_serializing_if = "String::is_empty")]
    pub secret_type: String,
}

/// A SealedSecret (`bitnami.com/v1alpha1`), fields in Go order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SealedSecretManifest {
    #[serde(default = "sealed_secret_kind")]
    pub kind: String,
    #[serde(default = "sealed_secret_api_version")]
    pub api_version: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: SealedSecretSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Value>,
}

fn sealed_secret_kind() -> String {
    SEALED_SECRET_KIND.to_owned()
}

fn sealed_secret_api_version() -> String {
    SEALED_SECRET_API_VERSION.to_owned()
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SealedSecretSpec {
    #[serde(default)]
    pub template: SecretTemplate,
    /// Deprecated v1 format: one blob holding the whole Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    #[serde(default, deserialize_with = "lenient_string_map")]
    pub encrypted_data: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretTemplate {
    #[serde(default, deserialize_with = "nullable_meta")]
    pub metadata: ObjectMeta,
    #[serde(rename = "type", default, skip_serializing_if = "String::is_empty")]
    pub secret_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "string_map"
    )]
    pub data: BTreeMap<String, String>,
}

/// A map of strings where YAML scalars that are not strings (`port: 5432`, `enabled: true`)
/// are taken as their text, as Kubernetes' YAML decoder does for string fields; `null` is empty.
fn string_map<'de, D>(deserializer: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let raw: Option<BTreeMap<String, Value>> = Option::deserialize(deserializer)?;
    let mut out = BTreeMap::new();
    for (key, value) in raw.unwrap_or_default() {
        let text = match value {
            Value::String(s) => s,
            Value::Null => String::new(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            Value::Array(_) | Value::Object(_) => {
                return Err(serde::de::Error::custom(format!(
                    "the value of {key:?} must be a string, not a list or map"
                )));
            }
        };
        out.insert(key, text);
    }
    Ok(out)
}

/// `SealedSecretEncryptedData.UnmarshalJSON` swallows malformed input and yields an empty map;
/// non-string values are dropped here the same way.
fn lenient_string_map<'de, D>(deserializer: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let raw: Value = Value::deserialize(deserializer)?;
    let mut out = BTreeMap::new();
    if let Value::Object(map) = raw {
        for (key, value) in map {
            if let Value::String(s) = value {
                out.insert(key, s);
            }
        }
    }
    Ok(out)
}

fn nullable_meta<'de, D>(deserializer: D) -> Result<ObjectMeta, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Ok(Option::<ObjectMeta>::deserialize(deserializer)?.unwrap_or_default())
}
