//! `external-secrets.io/v1` ExternalSecret, field-compatible with External Secrets Operator for the
//! AWS Secrets Manager subset.
//!
//! Every optional strategy field is an `Option` without a schema default: an unset field means the
//! upstream code default (see `docs/external-secrets.md`), so GitOps tools see no drift.
//! `v1beta1` is served with the same schema (see [`crds`]).

use std::collections::BTreeMap;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use kube::CustomResourceExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::secret_store::{ClusterSecretStore, SecretStore};

/// API group of ExternalSecret, SecretStore and ClusterSecretStore.
pub const GROUP: &str = "external-secrets.io";

/// Desired state of an ExternalSecret.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "external-secrets.io",
    version = "v1",
    kind = "ExternalSecret",
    namespaced,
    shortname = "es",
    category = "external-secrets",
    status = "ExternalSecretStatus",
    doc = "ExternalSecret keeps a Kubernetes Secret in step with values held by a secret store",
    printcolumn(
        name = "StoreType",
        type_ = "string",
        json_path = ".spec.secretStoreRef.kind"
    ),
    printcolumn(
        name = "Store",
        type_ = "string",
        json_path = ".spec.secretStoreRef.name"
    ),
    printcolumn(
        name = "Refresh Interval",
        type_ = "string",
        json_path = ".spec.refreshInterval"
    ),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(name = "Last Sync", type_ = "date", json_path = ".status.refreshTime"),
    selectable = ".spec.secretStoreRef.name",
    selectable = ".spec.secretStoreRef.kind",
    selectable = ".spec.target.name",
    selectable = ".spec.refreshInterval"
)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretSpec {
    /// The store every entry reads from unless it names its own `sourceRef.storeRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_store_ref: Option<SecretStoreRef>,
    /// The Secret to write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<ExternalSecretTarget>,
    /// `CreatedOnce`, `Periodic` (unset) or `OnChange`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_policy: Option<RefreshPolicy>,
    /// Go duration (`1h`, `30m`, `0s`); unset means 1h.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_interval: Option<String>,
    /// Single values, one per Secret key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Vec<ExternalSecretData>>,
    /// Whole secrets (`extract`) or sets of secrets (`find`), merged before `data`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_from: Option<Vec<ExternalSecretDataFromRemoteRef>>,
}

/// Reference to a SecretStore or ClusterSecretStore.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretStoreRef {
    /// Name of the store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `SecretStore` (unset) or `ClusterSecretStore`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<StoreKind>,
}

/// Kind of store an ExternalSecret refers to.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum StoreKind {
    /// Namespaced store in the ExternalSecret's namespace.
    SecretStore,
    /// Cluster-scoped store.
    ClusterSecretStore,
}

/// Refresh policy.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum RefreshPolicy {
    /// Sync once, never again.
    CreatedOnce,
    /// Sync every `refreshInterval` and on spec or metadata changes.
    Periodic,
    /// Sync only on spec or metadata changes.
    OnChange,
}

/// The Secret written by the controller.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretTarget {
    /// Secret name; defaults to the ExternalSecret's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `Owner` (unset), `Orphan`, `Merge`, `CreateOrMerge` or `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_policy: Option<CreationPolicy>,
    /// `Retain` (unset), `Delete` or `Merge`: what to do when the provider has no data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,
    /// Shape of the Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<ExternalSecretTemplate>,
    /// Make the Secret immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,
    /// Generic (non-Secret) targets: accepted, not supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::external_secret::preserve_unknown_object")]
    pub manifest: Option<serde_json::Value>,
}

/// How the target Secret is created.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum CreationPolicy {
    /// Create and own the Secret (controller ownerReference).
    Owner,
    /// Create the Secret without an ownerReference.
    Orphan,
    /// Merge into an existing Secret; never create.
    Merge,
    /// Create if missing, otherwise merge.
    CreateOrMerge,
    /// Write nothing.
    None,
}

/// What happens when the provider reports the data as missing.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum DeletionPolicy {
    /// Delete keys and, when none is left, the Secret.
    Delete,
    /// Remove missing keys and keep the Secret.
    Merge,
    /// Keep the Secret as it is.
    Retain,
}

/// Template of the target Secret.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretTemplate {
    /// Secret type.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Only `v2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_version: Option<String>,
    /// Labels, annotations and finalizers of the Secret (values are templates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ExternalSecretTemplateMetadata>,
    /// `Replace` (unset) or `Merge`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_policy: Option<TemplateMergePolicy>,
    /// Secret key to Go template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<BTreeMap<String, String>>,
    /// Templates read from ConfigMaps, Secrets or literals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_from: Option<Vec<TemplateFrom>>,
}

/// Templated Secret metadata.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretTemplateMetadata {
    /// Labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Finalizers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finalizers: Option<Vec<String>>,
}

/// Whether fetched keys are kept next to template output.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum TemplateMergePolicy {
    /// Only template output.
    Replace,
    /// Fetched keys too, below template keys.
    Merge,
}

/// A source of templates.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateFrom {
    /// Templates from a ConfigMap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<TemplateRef>,
    /// Templates from a Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<TemplateRef>,
    /// A literal template rendering a YAML map.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub literal: Option<String>,
    /// `Data` (unset), `Annotations` or `Labels`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Decoding applied to rendered values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_decoding_strategy: Option<DecodingStrategy>,
}

/// A ConfigMap or Secret holding templates.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateRef {
    /// Object name, in the ExternalSecret's namespace.
    pub name: String,
    /// Keys to use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<TemplateRefItem>>,
}

/// One template key.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateRefItem {
    /// Key in the ConfigMap or Secret.
    pub key: String,
    /// `Values` (unset) or `KeysAndValues`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_as: Option<TemplateScope>,
}

/// How a template source is applied.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum TemplateScope {
    /// The value is the template of the key of the same name.
    Values,
    /// The rendered text is a YAML map of keys to values.
    KeysAndValues,
}

/// One Secret key read from one remote value.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretData {
    /// Key in the Secret.
    pub secret_key: String,
    /// Where the value lives.
    pub remote_ref: ExternalSecretDataRemoteRef,
    /// Per-entry store override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<StoreSourceRef>,
}

/// A remote value.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretDataRemoteRef {
    /// AWS SecretId (name or ARN); the store prefix is prepended.
    pub key: String,
    /// gjson path into the JSON payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
    /// Version stage, or `uuid/<VersionId>`; unset means AWSCURRENT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `None` (unset) or `Fetch` (read tags instead of the value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_policy: Option<MetadataPolicy>,
    /// Decoding of the fetched value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoding_strategy: Option<DecodingStrategy>,
    /// Key conversion for `dataFrom`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversion_strategy: Option<ConversionStrategy>,
    /// `Ignore` (unset) or `Fail` on NUL bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub null_byte_policy: Option<NullBytePolicy>,
}

/// Whether to read the value or its metadata.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum MetadataPolicy {
    /// The value.
    None,
    /// The tags, as a JSON object.
    Fetch,
}

/// Decoding applied to a fetched value.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum DecodingStrategy {
    /// Try base64, then base64url, else keep.
    Auto,
    /// Standard base64.
    Base64,
    /// URL-safe base64.
    #[serde(rename = "Base64URL")]
    Base64Url,
    /// Keep as is.
    None,
}

/// Conversion of key names produced by `dataFrom`.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ConversionStrategy {
    /// Replace invalid characters by `_`.
    Default,
    /// Replace invalid characters by `_UXXXX_`.
    Unicode,
}

/// What to do with NUL bytes.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum NullBytePolicy {
    /// Keep them.
    Ignore,
    /// Fail the sync.
    Fail,
}

/// Per-entry source.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoreSourceRef {
    /// Store override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_ref: Option<SecretStoreRef>,
    /// Generators: accepted, not supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::external_secret::preserve_unknown_object")]
    pub generator_ref: Option<serde_json::Value>,
}

/// Whole secrets.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretDataFromRemoteRef {
    /// One secret whose payload is a JSON object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extract: Option<ExternalSecretDataRemoteRef>,
    /// Every secret matching name, tags or path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub find: Option<ExternalSecretFind>,
    /// Key rewrites, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewrite: Option<Vec<ExternalSecretRewrite>>,
    /// Per-entry store override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<StoreSourceRef>,
}

/// Selection of many secrets.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretFind {
    /// Name prefix (AWS `name` filter, case-sensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Name regexp (unanchored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<FindName>,
    /// Tag filters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    /// Key conversion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversion_strategy: Option<ConversionStrategy>,
    /// Decoding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoding_strategy: Option<DecodingStrategy>,
    /// NUL handling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub null_byte_policy: Option<NullBytePolicy>,
}

/// Name matcher.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FindName {
    /// RE2 regexp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regexp: Option<String>,
}

/// One key rewrite.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretRewrite {
    /// Regexp replacement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regexp: Option<ExternalSecretRewriteRegexp>,
    /// Template over `.value` (the key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform: Option<ExternalSecretRewriteTransform>,
    /// Merge rewrite: accepted, not supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::external_secret::preserve_unknown_object")]
    pub merge: Option<serde_json::Value>,
}

/// Regexp rewrite.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct ExternalSecretRewriteRegexp {
    /// Regexp.
    pub source: String,
    /// Replacement with `$1` references.
    pub target: String,
}

/// Template rewrite.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct ExternalSecretRewriteTransform {
    /// Template over `.value`.
    pub template: String,
}

/// Observed state of an ExternalSecret.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretStatus {
    /// Start of the last successful sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_time: Option<Time>,
    /// `<generation>-<hash of labels and annotations>` at the last sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_resource_version: Option<String>,
    /// `Ready` condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<ExternalSecretStatusCondition>>,
    /// Target Secret (servicebinding.io).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binding: Option<SecretBinding>,
}

/// One status condition.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretStatusCondition {
    /// `Ready`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// Machine-readable reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable message (never a value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When `status` last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
}

/// Name of the target Secret.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct SecretBinding {
    /// Secret name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The ExternalSecret, SecretStore and ClusterSecretStore CRDs, each serving `v1` (storage) and
/// `v1beta1` (same schema, deprecated) so manifests of either version apply unchanged.
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![
        with_v1beta1(ExternalSecret::crd()),
        with_v1beta1(SecretStore::crd()),
        with_v1beta1(ClusterSecretStore::crd()),
    ]
}

/// Schema of an object whose fields are kept as given (providers and features we accept but do not
/// implement are reported in the status, not rejected by the API server).
pub fn preserve_unknown_object(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "nullable": true,
        "x-kubernetes-preserve-unknown-fields": true
    })
}

/// Adds a served, non-storage, deprecated `v1beta1` version with the `v1` schema.
fn with_v1beta1(mut crd: CustomResourceDefinition) -> CustomResourceDefinition {
    if let Some(v1) = crd.spec.versions.first().cloned() {
        let mut beta = v1;
        beta.name = "v1beta1".to_owned();
        beta.storage = false;
        beta.served = true;
        beta.deprecated = Some(true);
        beta.deprecation_warning = Some(format!(
            "{GROUP}/v1beta1 is deprecated; use {GROUP}/v1 (same fields)"
        ));
        crd.spec.versions.push(beta);
    }
    crd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upstream_manifest_parses_with_every_aws_field() {
        let yaml = r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: app, namespace: ns}
spec:
  refreshInterval: 15m
  refreshPolicy: Periodic
  secretStoreRef: {name: aws, kind: ClusterSecretStore}
  target:
    name: app-secret
    creationPolicy: Merge
    deletionPolicy: Delete
    immutable: true
    template:
      type: kubernetes.io/dockerconfigjson
      engineVersion: v2
      mergePolicy: Merge
      metadata: {labels: {a: b}}
      data: {".dockerconfigjson": "{{ .x }}"}
      templateFrom:
      - configMap: {name: tpl, items: [{key: k, templateAs: KeysAndValues}]}
  data:
  - secretKey: password
    remoteRef: {key: prod/db, property: a.b, version: uuid/123, decodingStrategy: Base64URL, metadataPolicy: Fetch}
  dataFrom:
  - extract: {key: prod/app}
    rewrite: [{regexp: {source: "(.*)", target: "x_$1"}}, {transform: {template: "{{ .value | upper }}"}}]
  - find: {path: prod/, name: {regexp: "^prod"}, tags: {env: prod}, conversionStrategy: Unicode}
"#;
        let es: ExternalSecret = serde_saphyr::from_str(yaml).expect("parses");
        let target = es.spec.target.as_ref().expect("target");
        assert_eq!(target.creation_policy, Some(CreationPolicy::Merge));
        assert_eq!(target.deletion_policy, Some(DeletionPolicy::Delete));
        let data = es.spec.data.as_ref().expect("data");
        assert_eq!(
            data[0].remote_ref.decoding_strategy,
            Some(DecodingStrategy::Base64Url)
        );
        assert_eq!(
            data[0].remote_ref.metadata_policy,
            Some(MetadataPolicy::Fetch)
        );
        let from = es.spec.data_from.as_ref().expect("dataFrom");
        assert_eq!(
            from[1].find.as_ref().and_then(|f| f.conversion_strategy),
            Some(ConversionStrategy::Unicode)
        );
    }

    #[test]
    fn crds_serve_v1_as_storage_and_v1beta1_with_the_same_schema() {
        for crd in crds() {
            let versions = &crd.spec.versions;
            assert_eq!(versions.len(), 2, "{}", crd.spec.names.kind);
            assert_eq!(
                (versions[0].name.as_str(), versions[0].storage),
                ("v1", true)
            );
            assert_eq!(
                (versions[1].name.as_str(), versions[1].storage),
                ("v1beta1", false)
            );
            assert!(versions[1].served);
            assert_eq!(versions[0].schema, versions[1].schema);
        }
    }

    #[test]
    fn optional_strategy_fields_have_no_schema_default() {
        for crd in crds() {
            let text = serde_json::to_string(&crd).expect("json");
            assert!(
                !text.contains("\"default\""),
                "{}: no schema defaults",
                crd.spec.names.kind
            );
        }
    }
}
