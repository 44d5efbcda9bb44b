//! The desired target Secret, computed purely from the ExternalSecret, the fetched values, the
//! existing Secret and the template sources. This is the one place where fetched plaintext becomes
//! a Kubernetes `Secret` object.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use sealkit_api::external_secret::{
    CreationPolicy, ExternalSecret, ExternalSecretTemplate, TemplateMergePolicy, TemplateScope,
};
use sealkit_template::{Dialect, render};

use super::hash;
use super::key;

/// Label on every Secret the controller writes.
pub const LABEL_MANAGED: &str = "reconcile.external-secrets.io/managed";
/// Label naming the owning ExternalSecret (Owner policy only).
pub const LABEL_CREATED_BY: &str = "reconcile.external-secrets.io/created-by";
/// Annotation with ESO's data hash.
pub const ANNOTATION_DATA_HASH: &str = "reconcile.external-secrets.io/data-hash";
/// Never copied from the ExternalSecret.
const ANNOTATION_LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Why the desired Secret could not be computed. Never contains a value.
#[derive(Debug, thiserror::Error)]
pub enum DesiredError {
    /// A template failed.
    #[error("template for {what} failed")]
    Template {
        /// Which template (key name or metadata field).
        what: String,
        /// Cause (carries no value).
        #[source]
        source: sealkit_template::TemplateError,
    },
    /// A templateFrom source is missing a key or object.
    #[error("template source {what} not found")]
    TemplateSource {
        /// `ConfigMap ns/name key k`.
        what: String,
    },
    /// Rendered KeysAndValues/literal text is not a YAML map of strings.
    #[error("template {what} did not render a YAML map of strings")]
    TemplateMap {
        /// Which template.
        what: String,
    },
    /// templateFrom target other than Data, Annotations, Labels.
    #[error(
        "templateFrom target {0:?} is not supported for a Secret (use Data, Annotations or Labels)"
    )]
    TemplateTarget(String),
    /// Key handling.
    #[error(transparent)]
    Key(#[from] key::KeyError),
    /// Immutable Secret would change.
    #[error("could not update secret, target is immutable")]
    Immutable,
    /// Another ExternalSecret controls the Secret.
    #[error("target is owned by another ExternalSecret ({0})")]
    OwnedByAnother(String),
    /// Forbidden Secret type.
    #[error("template type {0:?} is not allowed")]
    ForbiddenType(String),
}

/// Data of ConfigMaps and Secrets referenced by `templateFrom`, by object name.
#[derive(Default)]
pub struct TemplateSources {
    /// ConfigMap name → key → text.
    pub config_maps: BTreeMap<String, BTreeMap<String, String>>,
    /// Secret name → key → bytes.
    pub secrets: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
}

/// Fields an earlier write of this ExternalSecret owns (from managedFields of its field manager).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct OwnedFields {
    /// `data` keys.
    pub data: BTreeSet<String>,
    /// Labels.
    pub labels: BTreeSet<String>,
    /// Annotations.
    pub annotations: BTreeSet<String>,
}

/// Reads managedFields of `manager` on `secret`.
pub fn owned_fields(secret: &Secret, manager: &str) -> OwnedFields {
    let mut owned = OwnedFields::default();
    for entry in secret.metadata.managed_fields.iter().flatten() {
        if entry.manager.as_deref() != Some(manager) {
            continue;
        }
        let Some(fields) = entry.fields_v1.as_ref().map(|f| &f.0) else {
            continue;
        };
        let keys = |v: Option<&serde_json::Value>| -> Vec<String> {
            v.and_then(|v| v.as_object())
                .map(|o| {
                    o.keys()
                        .filter_map(|k| k.strip_prefix("f:").map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        owned.data.extend(keys(fields.get("f:data")));
        let meta = fields.get("f:metadata");
        owned
            .labels
            .extend(keys(meta.and_then(|m| m.get("f:labels"))));
        owned
            .annotations
            .extend(keys(meta.and_then(|m| m.get("f:annotations"))));
    }
    owned
}

/// Effective creation policy.
pub fn creation_policy(es: &ExternalSecret) -> CreationPolicy {
    es.spec
        .target
        .as_ref()
        .and_then(|t| t.creation_policy)
        .unwrap_or(CreationPolicy::Owner)
}

/// Name of the target Secret.
pub fn target_name(es: &ExternalSecret) -> String {
    es.spec
        .target
        .as_ref()
        .and_then(|t| t.name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| es.metadata.name.clone().unwrap_or_default())
}

/// The controller ownerReference to `es`.
pub fn owner_reference(es: &ExternalSecret) -> OwnerReference {
    OwnerReference {
        api_version: "external-secrets.io/v1".to_owned(),
        kind: "ExternalSecret".to_owned(),
        name: es.metadata.name.clone().unwrap_or_default(),
        uid: es.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// Computes the Secret to write: `existing` updated (or a new Secret) with the data assembled as
/// ESO's `ApplyTemplate` does, the managed label, `created-by` (Owner), the data-hash annotation and
/// ownership. Foreign labels, annotations and (for Merge/CreateOrMerge) data keys are kept.
pub fn desired_secret(
    es: &ExternalSecret,
    fetched: &BTreeMap<String, Vec<u8>>,
    existing: Option<&Secret>,
    sources: &TemplateSources,
) -> Result<Secret, DesiredError> {
    let policy = creation_policy(es);
    let es_name = es.metadata.name.clone().unwrap_or_default();
    let namespace = es.metadata.namespace.clone().unwrap_or_default();
    let manager = hash::field_manager(&es_name);
    let owned = existing
        .map(|s| owned_fields(s, &manager))
        .unwrap_or_default();
    let template = es.spec.target.as_ref().and_then(|t| t.template.as_ref());

    let mut secret = existing.cloned().unwrap_or_else(|| Secret {
        metadata: ObjectMeta {
            name: Some(target_name(es)),
            namespace: Some(namespace.clone()),
            ..Default::default()
        },
        ..Default::default()
    });
    secret.metadata.managed_fields = None;

    // data
    let mut data: BTreeMap<String, Vec<u8>> = match (policy, existing) {
        (CreationPolicy::Merge | CreationPolicy::CreateOrMerge, Some(s)) => s
            .data
            .iter()
            .flatten()
            .filter(|(k, _)| !owned.data.contains(*k))
            .map(|(k, v)| (k.clone(), v.0.clone()))
            .collect(),
        _ => BTreeMap::new(),
    };
    let mut labels: BTreeMap<String, String> = secret
        .metadata
        .labels
        .take()
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| !owned.labels.contains(k))
        .collect();
    let mut annotations: BTreeMap<String, String> = secret
        .metadata
        .annotations
        .take()
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| !owned.annotations.contains(k))
        .collect();

    match template {
        None => {
            data.extend(fetched.iter().map(|(k, v)| (k.clone(), v.clone())));
            labels.extend(es.metadata.labels.clone().unwrap_or_default());
            annotations.extend(
                es.metadata
                    .annotations
                    .clone()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|(k, _)| k != ANNOTATION_LAST_APPLIED),
            );
        }
        Some(t) => apply_template(
            t,
            fetched,
            sources,
            &mut data,
            &mut labels,
            &mut annotations,
        )?,
    }

    labels.insert(LABEL_MANAGED.to_owned(), "true".to_owned());
    if policy == CreationPolicy::Owner {
        labels.insert(
            LABEL_CREATED_BY.to_owned(),
            hash::created_by(&namespace, &es_name),
        );
    } else {
        labels.remove(LABEL_CREATED_BY);
    }
    annotations.insert(ANNOTATION_DATA_HASH.to_owned(), hash::data_hash(&data));

    // ownership
    let mut refs = secret.metadata.owner_references.take().unwrap_or_default();
    let my_uid = es.metadata.uid.clone().unwrap_or_default();
    if let Some(other) = refs
        .iter()
        .find(|r| r.controller == Some(true) && r.kind == "ExternalSecret" && r.uid != my_uid)
        && policy == CreationPolicy::Owner
    {
        return Err(DesiredError::OwnedByAnother(other.name.clone()));
    }
    refs.retain(|r| r.uid != my_uid);
    if policy == CreationPolicy::Owner {
        refs.push(owner_reference(es));
    }
    secret.metadata.owner_references = (!refs.is_empty()).then_some(refs);

    if let Some(t) = template {
        if let Some(ty) = &t.type_ {
            if ty == "bootstrap.kubernetes.io/token" {
                return Err(DesiredError::ForbiddenType(ty.clone()));
            }
            secret.type_ = Some(ty.clone());
        }
        if let Some(fin) = t.metadata.as_ref().and_then(|m| m.finalizers.as_ref()) {
            let mut all = secret.metadata.finalizers.take().unwrap_or_default();
            for f in fin {
                if !all.contains(f) {
                    all.push(f.clone());
                }
            }
            secret.metadata.finalizers = Some(all);
        }
    }

    let immutable = es
        .spec
        .target
        .as_ref()
        .and_then(|t| t.immutable)
        .unwrap_or(false);
    if let Some(old) = existing
        && old.immutable == Some(true)
    {
        let old_data: BTreeMap<String, Vec<u8>> = old
            .data
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.0.clone()))
            .collect();
        if old_data != data {
            return Err(DesiredError::Immutable);
        }
    }
    if immutable {
        secret.immutable = Some(true);
    }

    secret.metadata.labels = Some(labels);
    secret.metadata.annotations = Some(annotations);
    secret.data = Some(data.into_iter().map(|(k, v)| (k, ByteString(v))).collect());
    secret.string_data = None;
    Ok(secret)
}

fn apply_template(
    t: &ExternalSecretTemplate,
    fetched: &BTreeMap<String, Vec<u8>>,
    sources: &TemplateSources,
    data: &mut BTreeMap<String, Vec<u8>>,
    labels: &mut BTreeMap<String, String>,
    annotations: &mut BTreeMap<String, String>,
) -> Result<(), DesiredError> {
    let has_data = t.data.as_ref().is_some_and(|d| !d.is_empty());
    let has_from = t.template_from.as_ref().is_some_and(|d| !d.is_empty());
    if t.merge_policy == Some(TemplateMergePolicy::Merge) || (!has_data && !has_from) {
        data.extend(fetched.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    let tpl = |what: &str, text: &str| -> Result<Vec<u8>, DesiredError> {
        render(text, fetched, Dialect::ExternalSecrets).map_err(|source| DesiredError::Template {
            what: what.to_owned(),
            source,
        })
    };

    for from in t.template_from.iter().flatten() {
        let target = from.target.clone().unwrap_or_else(|| "Data".to_owned());
        let mut rendered: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut render_items = |kind: &str,
                                name: &str,
                                items: &[sealkit_api::external_secret::TemplateRefItem],
                                get: &dyn Fn(&str) -> Option<String>|
         -> Result<(), DesiredError> {
            for item in items {
                let text = get(&item.key).ok_or_else(|| DesiredError::TemplateSource {
                    what: format!("{kind} {name} key {}", item.key),
                })?;
                let what = format!("{kind} {name} key {}", item.key);
                let out = tpl(&what, &text)?;
                match item.template_as.unwrap_or(TemplateScope::Values) {
                    TemplateScope::Values => {
                        rendered.insert(item.key.clone(), out);
                    }
                    TemplateScope::KeysAndValues => rendered.extend(yaml_map(&what, &out)?),
                }
            }
            Ok(())
        };
        if let Some(cm) = &from.config_map {
            let obj = sources.config_maps.get(&cm.name);
            render_items(
                "ConfigMap",
                &cm.name,
                cm.items.as_deref().unwrap_or_default(),
                &|k| obj.and_then(|o| o.get(k).cloned()),
            )?;
        }
        if let Some(sec) = &from.secret {
            let obj = sources.secrets.get(&sec.name);
            render_items(
                "Secret",
                &sec.name,
                sec.items.as_deref().unwrap_or_default(),
                &|k| {
                    obj.and_then(|o| o.get(k))
                        .map(|v| String::from_utf8_lossy(v).into_owned())
                },
            )?;
        }
        if let Some(literal) = &from.literal {
            let out = tpl("templateFrom literal", literal)?;
            rendered.extend(yaml_map("templateFrom literal", &out)?);
        }
        match target.as_str() {
            "Data" => {
                for (k, v) in rendered {
                    let v = key::decode(&k, v, from.values_decoding_strategy)?;
                    data.insert(k, v);
                }
            }
            "Labels" => labels.extend(rendered.into_iter().map(|(k, v)| (k, lossy(v)))),
            "Annotations" => annotations.extend(rendered.into_iter().map(|(k, v)| (k, lossy(v)))),
            other => return Err(DesiredError::TemplateTarget(other.to_owned())),
        }
    }
    for (k, text) in t.data.iter().flatten() {
        data.insert(k.clone(), tpl(k, text)?);
    }
    if let Some(meta) = &t.metadata {
        for (k, text) in meta.labels.iter().flatten() {
            labels.insert(k.clone(), lossy(tpl(&format!("label {k}"), text)?));
        }
        for (k, text) in meta.annotations.iter().flatten() {
            annotations.insert(k.clone(), lossy(tpl(&format!("annotation {k}"), text)?));
        }
    }
    Ok(())
}

fn lossy(v: Vec<u8>) -> String {
    String::from_utf8_lossy(&v).into_owned()
}

fn yaml_map(what: &str, text: &[u8]) -> Result<BTreeMap<String, Vec<u8>>, DesiredError> {
    let err = || DesiredError::TemplateMap {
        what: what.to_owned(),
    };
    let text = std::str::from_utf8(text).map_err(|_| err())?;
    if text.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    let map: BTreeMap<String, serde_json::Value> =
        serde_saphyr::from_str(text).map_err(|_| err())?;
    map.into_iter()
        .map(|(k, v)| {
            let s = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            };
            Ok((k, s.into_bytes()))
        })
        .collect()
}

/// True when writing `desired` over `existing` would change nothing the controller manages.
pub fn unchanged(existing: &Secret, desired: &Secret) -> bool {
    let norm_type = |s: &Secret| s.type_.clone().unwrap_or_else(|| "Opaque".to_owned());
    existing.data.clone().unwrap_or_default() == desired.data.clone().unwrap_or_default()
        && existing.metadata.labels.clone().unwrap_or_default()
            == desired.metadata.labels.clone().unwrap_or_default()
        && existing.metadata.annotations.clone().unwrap_or_default()
            == desired.metadata.annotations.clone().unwrap_or_default()
        && existing
            .metadata
            .owner_references
            .clone()
            .unwrap_or_default()
            == desired
                .metadata
                .owner_references
                .clone()
                .unwrap_or_default()
        && existing.metadata.finalizers.clone().unwrap_or_default()
            == desired.metadata.finalizers.clone().unwrap_or_default()
        && norm_type(existing) == norm_type(desired)
        && existing.immutable.unwrap_or(false) == desired.immutable.unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry};
    use sealkit_api::external_secret::{ExternalSecretSpec, ExternalSecretTarget};

    fn es(policy: Option<CreationPolicy>) -> ExternalSecret {
        let mut es = ExternalSecret::new(
            "app",
            ExternalSecretSpec {
                target: Some(ExternalSecretTarget {
                    creation_policy: policy,
                    ..Default::default()
                }),
                ..Default::default()
            },
        );
        es.metadata.namespace = Some("ns".into());
        es.metadata.uid = Some("uid-1".into());
        es.metadata.labels = Some(BTreeMap::from([("team".into(), "a".into())]));
        es
    }

    fn fetched() -> BTreeMap<String, Vec<u8>> {
        BTreeMap::from([("password".to_owned(), vec![0, 159, 146, 150])])
    }

    #[test]
    fn an_owner_secret_gets_eso_labels_hash_and_controller_reference() {
        let s = desired_secret(&es(None), &fetched(), None, &TemplateSources::default()).unwrap();
        let labels = s.metadata.labels.as_ref().unwrap();
        assert_eq!(labels[LABEL_MANAGED], "true");
        assert_eq!(labels[LABEL_CREATED_BY], hash::created_by("ns", "app"));
        assert_eq!(
            labels["team"], "a",
            "ES labels are copied without a template"
        );
        let ann = s.metadata.annotations.as_ref().unwrap();
        assert_eq!(ann[ANNOTATION_DATA_HASH], hash::data_hash(&fetched()));
        let owner = &s.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.controller),
            ("ExternalSecret", Some(true))
        );
        assert_eq!(s.data.unwrap()["password"].0, vec![0, 159, 146, 150]);
    }

    #[test]
    fn merge_keeps_foreign_keys_and_drops_keys_this_es_wrote_before() {
        let mut existing = Secret {
            metadata: ObjectMeta {
                name: Some("app".into()),
                namespace: Some("ns".into()),
                ..Default::default()
            },
            data: Some(BTreeMap::from([
                ("foreign".into(), ByteString(b"f".to_vec())),
                ("stale".into(), ByteString(b"s".to_vec())),
            ])),
            ..Default::default()
        };
        existing.metadata.managed_fields = Some(vec![ManagedFieldsEntry {
            manager: Some(hash::field_manager("app")),
            fields_v1: Some(FieldsV1(serde_json::json!({"f:data": {"f:stale": {}}}))),
            ..Default::default()
        }]);
        let s = desired_secret(
            &es(Some(CreationPolicy::Merge)),
            &fetched(),
            Some(&existing),
            &TemplateSources::default(),
        )
        .unwrap();
        let keys: Vec<_> = s.data.as_ref().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["foreign", "password"]);
        assert!(s.metadata.owner_references.is_none());
        assert!(!s.metadata.labels.unwrap().contains_key(LABEL_CREATED_BY));
    }

    #[test]
    fn another_external_secret_as_controller_is_refused() {
        let mut existing = Secret::default();
        existing.metadata.owner_references = Some(vec![OwnerReference {
            kind: "ExternalSecret".into(),
            name: "other".into(),
            uid: "uid-2".into(),
            controller: Some(true),
            ..Default::default()
        }]);
        let err = desired_secret(
            &es(None),
            &fetched(),
            Some(&existing),
            &TemplateSources::default(),
        )
        .unwrap_err();
        assert!(matches!(err, DesiredError::OwnedByAnother(_)));
    }

    #[test]
    fn an_immutable_secret_with_other_data_is_not_rewritten() {
        let existing = Secret {
            immutable: Some(true),
            data: Some(BTreeMap::from([(
                "password".into(),
                ByteString(b"old".to_vec()),
            )])),
            ..Default::default()
        };
        let err = desired_secret(
            &es(None),
            &fetched(),
            Some(&existing),
            &TemplateSources::default(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "could not update secret, target is immutable"
        );
    }

    #[test]
    fn rewriting_an_unchanged_secret_is_detected_as_unchanged() {
        let first =
            desired_secret(&es(None), &fetched(), None, &TemplateSources::default()).unwrap();
        let second = desired_secret(
            &es(None),
            &fetched(),
            Some(&first),
            &TemplateSources::default(),
        )
        .unwrap();
        assert!(unchanged(&first, &second));
    }

    #[test]
    fn rendered_key_value_yaml_becomes_a_map() {
        let m = yaml_map("t", b"a: x\nb: 2\n").unwrap();
        assert_eq!(m["a"], b"x");
        assert_eq!(m["b"], b"2");
        assert!(yaml_map("t", b"- a\n- b\n").is_err());
    }
}
