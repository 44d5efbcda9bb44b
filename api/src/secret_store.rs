//! `external-secrets.io/v1` SecretStore (namespaced) and ClusterSecretStore (cluster-scoped).
//!
//! Both kinds share one spec. Only the `aws` provider with `service: SecretsManager` is
//! implemented; other providers are accepted by the schema (`x-kubernetes-preserve-unknown-fields`)
//! and reported as not supported in the store's and the ExternalSecret's status.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

macro_rules! store_spec {
    ($(#[$meta:meta])* $name:ident) => {
        #[derive(CustomResource, Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
        $(#[$meta])*
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            /// Controller class; empty or `default` is processed by sealkit.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub controller: Option<String>,
            /// Exactly one provider; only `aws` is supported.
            pub provider: SecretStoreProvider,
            /// SDK retry settings.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub retry_settings: Option<SecretStoreRetrySettings>,
            /// Store revalidation interval (seconds or Go duration).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub refresh_interval: Option<IntOrString>,
            /// ClusterSecretStore only: namespaces allowed to use the store (any condition matches).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub conditions: Option<Vec<ClusterSecretStoreCondition>>,
        }

        impl From<$name> for StoreSpec {
            fn from(s: $name) -> StoreSpec {
                StoreSpec {
                    controller: s.controller,
                    provider: s.provider,
                    retry_settings: s.retry_settings,
                    refresh_interval: s.refresh_interval,
                    conditions: s.conditions,
                }
            }
        }
    };
}

store_spec!(
    /// Desired state of a namespaced SecretStore.
    #[kube(
        group = "external-secrets.io",
        version = "v1",
        kind = "SecretStore",
        namespaced,
        shortname = "ss",
        category = "external-secrets",
        status = "SecretStoreStatus",
        doc = "SecretStore describes how to reach a secret provider from one namespace",
        printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
        printcolumn(
            name = "Status",
            type_ = "string",
            json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
        ),
        printcolumn(name = "Capabilities", type_ = "string", json_path = ".status.capabilities"),
        printcolumn(
            name = "Ready",
            type_ = "string",
            json_path = ".status.conditions[?(@.type==\"Ready\")].status"
        )
    )]
    SecretStoreSpec
);

store_spec!(
    /// Desired state of a cluster-scoped ClusterSecretStore.
    #[kube(
        group = "external-secrets.io",
        version = "v1",
        kind = "ClusterSecretStore",
        shortname = "css",
        category = "external-secrets",
        status = "SecretStoreStatus",
        doc = "ClusterSecretStore describes how to reach a secret provider from many namespaces",
        printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
        printcolumn(
            name = "Status",
            type_ = "string",
            json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
        ),
        printcolumn(name = "Capabilities", type_ = "string", json_path = ".status.capabilities"),
        printcolumn(
            name = "Ready",
            type_ = "string",
            json_path = ".status.conditions[?(@.type==\"Ready\")].status"
        )
    )]
    ClusterSecretStoreSpec
);

/// The spec shared by both store kinds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoreSpec {
    /// Controller class.
    pub controller: Option<String>,
    /// Provider.
    pub provider: SecretStoreProvider,
    /// SDK retry settings.
    pub retry_settings: Option<SecretStoreRetrySettings>,
    /// Store revalidation interval.
    pub refresh_interval: Option<IntOrString>,
    /// Namespace conditions (ClusterSecretStore).
    pub conditions: Option<Vec<ClusterSecretStoreCondition>>,
}

/// Provider block. Unknown providers are kept in `other` so they can be reported.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[schemars(schema_with = "provider_schema")]
pub struct SecretStoreProvider {
    /// AWS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<AwsProvider>,
    /// Any other provider (not supported by sealkit).
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

fn provider_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let aws = generator.subschema_for::<AwsProvider>();
    schemars::json_schema!({
        "description": "Exactly one provider; sealkit implements `aws` with service SecretsManager.",
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
        "properties": { "aws": aws }
    })
}

/// AWS provider.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AwsProvider {
    /// `SecretsManager` (supported), `ParameterStore`, `CertificateManager`.
    pub service: String,
    /// AWS region.
    pub region: String,
    /// Role assumed last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Roles assumed in order before `role`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_roles: Option<Vec<String>>,
    /// External ID of the `role` hop.
    #[serde(
        default,
        rename = "externalID",
        skip_serializing_if = "Option::is_none"
    )]
    pub external_id: Option<String>,
    /// Session tags of the `role` hop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_tags: Option<Vec<AwsTag>>,
    /// Transitive tag keys of the `role` hop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transitive_tag_keys: Option<Vec<String>>,
    /// `None` (unset), `Simple` or `Custom`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_tags_policy: Option<String>,
    /// Custom session tags (with `sessionTagsPolicy: Custom`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_session_tags: Option<BTreeMap<String, String>>,
    /// Prepended to every remote key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// PushSecret settings (unused by sealkit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets_manager: Option<AwsSecretsManagerSettings>,
    /// Credentials; unset means the SDK default chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AwsAuth>,
}

/// Session tag.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub struct AwsTag {
    /// Tag key.
    pub key: String,
    /// Tag value.
    pub value: String,
}

/// PushSecret settings.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AwsSecretsManagerSettings {
    /// Force deletion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_delete_without_recovery: Option<bool>,
    /// Recovery window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_window_in_days: Option<i64>,
}

/// AWS credentials source.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AwsAuth {
    /// Static keys from a Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<AwsAuthSecretRef>,
    /// Web identity from a ServiceAccount token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt: Option<AwsJwtAuth>,
}

/// Static keys.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AwsAuthSecretRef {
    /// Access key ID.
    #[serde(
        default,
        rename = "accessKeyIDSecretRef",
        skip_serializing_if = "Option::is_none"
    )]
    pub access_key_id_secret_ref: Option<SecretKeySelector>,
    /// Secret access key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_access_key_secret_ref: Option<SecretKeySelector>,
    /// Session token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token_secret_ref: Option<SecretKeySelector>,
}

/// Key of a Secret.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub struct SecretKeySelector {
    /// Secret name.
    pub name: String,
    /// Key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Namespace (ClusterSecretStore only; unset means the ExternalSecret's namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Web identity.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AwsJwtAuth {
    /// ServiceAccount whose token is exchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_ref: Option<ServiceAccountSelector>,
}

/// A ServiceAccount.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub struct ServiceAccountSelector {
    /// Name.
    pub name: String,
    /// Namespace (ClusterSecretStore only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Extra audiences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audiences: Option<Vec<String>>,
}

/// SDK retry settings.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretStoreRetrySettings {
    /// Attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<i32>,
    /// Fixed delay (Go duration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_interval: Option<String>,
}

/// Which namespaces may use a ClusterSecretStore.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSecretStoreCondition {
    /// Namespace label selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
    /// Namespace names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<Vec<String>>,
    /// Namespace regexps (unanchored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_regexes: Option<Vec<String>>,
}

/// Observed state of a store.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretStoreStatus {
    /// `Ready` condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<SecretStoreStatusCondition>>,
    /// `ReadOnly`, `WriteOnly` or `ReadWrite`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<String>,
}

/// One store condition.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretStoreStatusCondition {
    /// `Ready`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True` or `False`.
    pub status: String,
    /// Reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When `status` last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_with_an_unknown_provider_parses_and_keeps_it() {
        let yaml = r#"
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: vault, namespace: ns}
spec:
  provider:
    vault: {server: "https://vault:8200"}
"#;
        let store: SecretStore = serde_saphyr::from_str(yaml).expect("parses");
        assert!(store.spec.provider.aws.is_none());
        assert!(store.spec.provider.other.contains_key("vault"));
    }

    #[test]
    fn an_aws_cluster_store_parses_with_auth_roles_and_conditions() {
        let yaml = r#"
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {name: aws}
spec:
  conditions:
  - namespaces: [team-a]
    namespaceRegexes: ["^team-"]
    namespaceSelector: {matchLabels: {aws: "yes"}}
  provider:
    aws:
      service: SecretsManager
      region: eu-west-1
      role: arn:aws:iam::1:role/r
      additionalRoles: [arn:aws:iam::1:role/a]
      externalID: xid
      sessionTags: [{key: k, value: v}]
      prefix: prod/
      auth:
        secretRef:
          accessKeyIDSecretRef: {name: creds, key: id}
          secretAccessKeySecretRef: {name: creds, key: secret, namespace: ops}
"#;
        let store: ClusterSecretStore = serde_saphyr::from_str(yaml).expect("parses");
        let aws = store.spec.provider.aws.as_ref().expect("aws");
        assert_eq!(aws.external_id.as_deref(), Some("xid"));
        let keys = aws
            .auth
            .as_ref()
            .and_then(|a| a.secret_ref.as_ref())
            .expect("secretRef");
        assert_eq!(
            keys.access_key_id_secret_ref
                .as_ref()
                .map(|s| s.name.as_str()),
            Some("creds")
        );
        assert_eq!(store.spec.conditions.as_ref().map(Vec::len), Some(1));
    }
}
