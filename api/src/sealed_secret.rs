//! `bitnami.com/v1alpha1` `SealedSecret`, read and written unchanged from Bitnami sealed-secrets.
//!
//! The schema is a superset of upstream's `schema-v1alpha1.yaml`: same required fields, same
//! printer columns, unknown fields preserved where upstream preserves them, plus optional status
//! fields that tell which key(s) unsealed the object ([`SealedSecretStatus::unsealing_keys`]).
//!
//! These types only hold ciphertext: `Debug` on them never prints a secret value.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

/// Annotation (value `"true"`) selecting the namespace-wide scope.
pub const ANNOTATION_NAMESPACE_WIDE: &str = "sealedsecrets.bitnami.com/namespace-wide";
/// Annotation (value `"true"`) selecting the cluster-wide scope (wins over namespace-wide).
pub const ANNOTATION_CLUSTER_WIDE: &str = "sealedsecrets.bitnami.com/cluster-wide";
/// Annotation (value `"true"`) on an existing Secret: the controller may take it over.
pub const ANNOTATION_MANAGED: &str = "sealedsecrets.bitnami.com/managed";
/// Annotation (value `"true"`) on an existing Secret: merge into it instead of replacing.
pub const ANNOTATION_PATCH: &str = "sealedsecrets.bitnami.com/patch";
/// Annotation (value `"true"`) in `spec.template.metadata`: do not set an ownerReference.
pub const ANNOTATION_SKIP_SET_OWNER_REFERENCES: &str =
    "sealedsecrets.bitnami.com/skip-set-owner-references";
/// Label on key Secrets; value `active` (Bitnami also uses `compromised`).
pub const LABEL_SEALED_SECRETS_KEY: &str = "sealedsecrets.bitnami.com/sealed-secrets-key";
/// The only condition type upstream sets.
pub const CONDITION_SYNCED: &str = "Synced";

/// Desired state of a SealedSecret: sealed values plus the template of the Secret to create.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "bitnami.com",
    version = "v1alpha1",
    kind = "SealedSecret",
    plural = "sealedsecrets",
    namespaced,
    status = "SealedSecretStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "SealedSecret is the K8s representation of a \"sealed Secret\" - a regular k8s Secret that has been sealed (encrypted) using the controller's key.",
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = ".status.conditions[0].message"
    ),
    printcolumn(
        name = "Synced",
        type_ = "string",
        json_path = ".status.conditions[0].status"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("required" = ["encryptedData"]))]
pub struct SealedSecretSpec {
    // Boxed (not a doc comment: those become the CRD's description): it holds a whole
    // `ObjectMeta`, and a SealedSecret without a template (the controller's cache keeps none) is
    // half the size.
    /// Template of the Secret the controller creates (metadata, type, immutable, templated data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<Box<SecretTemplateSpec>>,

    /// Item name → sealed value (standard padded base64 of a Bitnami hybrid blob or of a binary
    /// age file). Malformed JSON (a non-string value, `null`) never fails the whole object: a
    /// non-string value becomes an empty string, which fails unsealing with a clear message for
    /// that item only.
    #[serde(default, deserialize_with = "lenient_string_map")]
    #[schemars(schema_with = "encrypted_data_schema", transform = drop_default)]
    pub encrypted_data: BTreeMap<String, String>,

    /// Legacy (pre-v0.7) format: one sealed blob whose plaintext is a whole Secret as JSON
    /// (base64 in JSON). Deprecated; never produced by sealkit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "legacy_data_schema")]
    pub data: Option<String>,
}

/// `spec.template`: what the unsealed Secret looks like apart from the decrypted items.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretTemplateSpec {
    /// Copied as is into the Secret (name and namespace are forced to the SealedSecret's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "template_metadata_schema")]
    pub metadata: Option<ObjectMeta>,

    /// Secret type, e.g. `Opaque` or `kubernetes.io/tls`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,

    /// Whether the Secret is immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,

    /// Item name → Go text/template rendered over the decrypted items (plain strings, not base64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "nullable_string_map_schema")]
    pub data: Option<BTreeMap<String, String>>,
}

/// Observed state, written through the status subresource.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SealedSecretStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// Conditions; sealed-secrets sets exactly one, of type `Synced`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<SealedSecretCondition>>,

    /// sealkit extension: the key(s) that unsealed the items, so old keys can be retired safely.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsealing_keys: Option<Vec<UnsealingKey>>,

    /// sealkit extension: `metadata.resourceVersion` of the Secret as the controller last wrote or
    /// verified it for `observedGeneration`; a restarted controller compares it with its watch
    /// cache and skips unchanged Secrets (no decryption, no write).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_resource_version: Option<String>,
}

/// One condition of a SealedSecret (upstream `SealedSecretCondition`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SealedSecretCondition {
    /// Condition type, `Synced`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// Machine-readable reason (upstream never sets it; sealkit always does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable message (empty on success upstream).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Last time the condition was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update_time: Option<Time>,
    /// Last time the condition's status changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
}

/// A key that unsealed some items of a SealedSecret (sealkit extension).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnsealingKey {
    /// Fingerprint of the key (as printed by `sealkit` and in the key registry logs).
    pub fingerprint: String,
    /// Sealed format this key opened: `rsa` (Bitnami hybrid) or `age`.
    pub format: String,
    /// Item names of `spec.encryptedData` this key unsealed (names only, never values).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<String>,
}

impl SealedSecret {
    /// The `Synced` condition, if any.
    pub fn synced_condition(&self) -> Option<&SealedSecretCondition> {
        self.status
            .as_ref()?
            .conditions
            .as_ref()?
            .iter()
            .find(|c| c.type_ == CONDITION_SYNCED)
    }
}

/// Accepts a JSON object of strings; `null` gives an empty map and a non-string value an empty
/// string (upstream swallows such errors too, so one malformed object cannot stop a controller).
fn lenient_string_map<'de, D>(deserializer: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: Deserializer<'de>,
{
    let raw = Option::<BTreeMap<String, serde_json::Value>>::deserialize(deserializer)?;
    Ok(raw
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => (k, s),
            _ => (k, String::new()),
        })
        .collect())
}

/// Upstream's schema has no `default` for `encryptedData` (it is required instead).
fn drop_default(schema: &mut schemars::Schema) {
    schema.remove("default");
}

fn encrypted_data_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true
    })
}

fn legacy_data_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "string",
        "format": "byte",
        "x-kubernetes-preserve-unknown-fields": true
    })
}

fn template_metadata_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "nullable": true,
        "x-kubernetes-preserve-unknown-fields": true
    })
}

fn nullable_string_map_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "nullable": true,
        "additionalProperties": { "type": "string" }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::Resource;

    #[test]
    fn kubeseal_output_deserializes_with_template_metadata_kept() {
        let json = r#"{
          "kind": "SealedSecret",
          "apiVersion": "bitnami.com/v1alpha1",
          "metadata": {"name": "mysecret", "namespace": "ns1", "creationTimestamp": null,
                       "annotations": {"sealedsecrets.bitnami.com/namespace-wide": "true"}},
          "spec": {
            "template": {
              "metadata": {"name": "mysecret", "namespace": "ns1", "creationTimestamp": null,
                           "labels": {"app": "x"}, "finalizers": ["f"]},
              "type": "kubernetes.io/basic-auth",
              "immutable": true,
              "data": {"cfg": "{{ .user }}"}
            },
            "encryptedData": {"user": "AgBy3i4OJSWK+PiTySYZZA=="}
          }
        }"#;
        let ss: SealedSecret = serde_json::from_str(json).unwrap();
        let tpl = ss.spec.template.as_ref().unwrap();
        let meta = tpl.metadata.as_ref().unwrap();
        assert_eq!(meta.labels.as_ref().unwrap()["app"], "x");
        assert_eq!(meta.finalizers.as_ref().unwrap(), &vec!["f".to_string()]);
        assert_eq!(tpl.type_.as_deref(), Some("kubernetes.io/basic-auth"));
        assert_eq!(tpl.immutable, Some(true));
        assert_eq!(tpl.data.as_ref().unwrap()["cfg"], "{{ .user }}");
        assert_eq!(ss.spec.encrypted_data["user"], "AgBy3i4OJSWK+PiTySYZZA==");
    }

    #[test]
    fn non_string_encrypted_values_do_not_fail_the_object() {
        let json = r#"{"apiVersion":"bitnami.com/v1alpha1","kind":"SealedSecret",
            "metadata":{"name":"a"},"spec":{"encryptedData":{"a":1,"b":"x","c":null}}}"#;
        let ss: SealedSecret = serde_json::from_str(json).unwrap();
        assert_eq!(ss.spec.encrypted_data.len(), 3);
        assert_eq!(ss.spec.encrypted_data["a"], "");
        assert_eq!(ss.spec.encrypted_data["b"], "x");
        let null_map = r#"{"apiVersion":"bitnami.com/v1alpha1","kind":"SealedSecret",
            "metadata":{"name":"a"},"spec":{"encryptedData":null}}"#;
        let ss: SealedSecret = serde_json::from_str(null_map).unwrap();
        assert!(ss.spec.encrypted_data.is_empty());
    }

    #[test]
    fn status_round_trips_with_reason_and_unsealing_keys() {
        let json = r#"{"observedGeneration":3,"conditions":[{"type":"Synced","status":"False",
            "reason":"UnsealFailed","message":"m","lastUpdateTime":"2026-01-02T03:04:05Z",
            "lastTransitionTime":"2026-01-02T03:04:05Z"}],
            "unsealingKeys":[{"fingerprint":"abc","format":"rsa","items":["a"]}]}"#;
        let st: SealedSecretStatus = serde_json::from_str(json).unwrap();
        let back: serde_json::Value = serde_json::to_value(&st).unwrap();
        let orig: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(back, orig);
    }

    #[test]
    fn resource_identity_matches_upstream() {
        assert_eq!(SealedSecret::group(&()), "bitnami.com");
        assert_eq!(SealedSecret::version(&()), "v1alpha1");
        assert_eq!(SealedSecret::plural(&()), "sealedsecrets");
        assert_eq!(SealedSecret::api_version(&()), "bitnami.com/v1alpha1");
    }
}
