//! Turning input Secrets into SealedSecrets, as kubeseal's `Seal` and `NewSealedSecret` do:
//! name and namespace rules, scope annotations, the template copied from the Secret's
//! metadata (without last-applied-configuration annotations, ownerReferences and server
//! fields), and every `data`/`stringData` item sealed separately.

use std::collections::BTreeMap;

use sealkit_crypto::{Binding, Scope, ScopeKind, SealingTarget};

use crate::cluster::NamespaceChoice;
use crate::document::{Document, InputSecret};
use crate::failure::{Failure, Outcome};
use crate::manifest::{
    LAST_APPLIED_ANNOTATIONS, ObjectMeta, SealedSecretManifest, SealedSecretSpec, SecretTemplate,
};

/// Seal one value found as item `data_key` of a SealedSecret in `scope`; returns base64.
pub fn seal_value(
    target: &SealingTarget,
    scope: &Scope,
    data_key: &str,
    plaintext: &[u8],
) -> Outcome<String> {
    let sealed = target
        .seal(&Binding::new(scope.clone(), data_key), plaintext)
        .map_err(|e| Failure::user(format!("cannot seal item {data_key:?}")).because(&e))?;
    Ok(sealkit_crypto::base64::encode(&sealed))
}

/// Options of one sealing run (kubeseal's `Seal` arguments).
#[derive(Debug, Clone)]
pub struct SealOptions {
    /// `--scope`; `None` = not given (strict, and the input's annotations decide).
    pub scope: Option<ScopeKind>,
    /// `--name` (overrides the input's name).
    pub name: Option<String>,
    /// Forced namespace (`--merge-into` uses the target file's).
    pub namespace_override: Option<String>,
    /// Where a missing namespace comes from.
    pub namespace: NamespaceChoice,
    pub allow_empty_data: bool,
}

/// Seal every document of an input stream; `source` names the input in messages.
pub fn seal_documents(
    docs: &[Document],
    source: &str,
    options: &SealOptions,
    target: &SealingTarget,
) -> Outcome<Vec<SealedSecretManifest>> {
    if docs.is_empty() {
        return Err(Failure::user(format!("{source}: no secrets found"))
            .hint("the input must hold Secret manifests (YAML or JSON, UTF-8 encoded)"));
    }
    docs.iter()
        .map(|doc| {
            check_is_secret(doc, source)?;
            let secret = InputSecret::from_document(doc, source)?;
            seal_secret(secret, options, target)
                .map_err(|f| f.context(format!("{source}: document {}", doc.index)))
        })
        .collect()
}

/// kubeseal decodes any document as a Secret; sealkit refuses other kinds (a ConfigMap sealed by
/// mistake would otherwise fail later with a confusing base64 error).
pub fn check_is_secret(doc: &Document, source: &str) -> Outcome<()> {
    let kind = doc.kind();
    if !kind.is_empty() && kind != "Secret" {
        return Err(Failure::user(format!(
            "{source}: document {} is a {kind}, not a Secret",
            doc.index
        ))
        .hint("pass Secret manifests (kind: Secret); to re-seal a SealedSecret use --re-encrypt"));
    }
    let api = doc.api_version();
    if !api.is_empty() && api != "v1" {
        return Err(Failure::user(format!(
            "{source}: document {} has apiVersion {api}, not v1",
            doc.index
        ))
        .hint("a Secret manifest has apiVersion: v1"));
    }
    Ok(())
}

/// Seal one Secret.
pub fn seal_secret(
    mut secret: InputSecret,
    options: &SealOptions,
    target: &SealingTarget,
) -> Outcome<SealedSecretManifest> {
    if secret.items.is_empty() && !options.allow_empty_data {
        return Err(Failure::user("the Secret has no data and no stringData")
            .hint("add items to data or stringData; to seal a Secret without items pass --allow-empty-data"));
    }
    if let Some(name) = options.name.as_deref().filter(|n| !n.is_empty()) {
        secret.metadata.name = name.to_owned();
    }
    if secret.metadata.name.is_empty() {
        return Err(Failure::user("missing metadata.name in input Secret")
            .hint("set metadata.name in the Secret, or pass --name NAME"));
    }
    if let Some(ns) = &options.namespace_override {
        secret.metadata.namespace = ns.clone();
    }
    if let Some(scope) = options.scope.filter(|s| *s != ScopeKind::Strict) {
        // kubeseal rewrites the annotations only for a non-default --scope.
        scope.write_annotations(&mut secret.metadata.annotations);
    }
    let scope_kind = ScopeKind::from_annotations(Some(&secret.metadata.annotations));
    if scope_kind != ScopeKind::ClusterWide {
        if let NamespaceChoice::Explicit(ns) = &options.namespace
            && !secret.metadata.namespace.is_empty()
            && &secret.metadata.namespace != ns
            && options.namespace_override.is_none()
        {
            return Err(Failure::user(format!(
                "namespace mismatch: input secret is in namespace {:?} but {:?} was specified",
                secret.metadata.namespace, ns
            ))
            .hint("drop -n/--namespace, or change metadata.namespace in the Secret"));
        }
        if secret.metadata.namespace.is_empty() {
            match options.namespace.name() {
                Some(ns) => secret.metadata.namespace = ns.to_owned(),
                None => {
                    return Err(Failure::user("input secret has no namespace and no kubeconfig says which to use")
                        .hint("set metadata.namespace in the Secret, pass -n NAMESPACE, or use --scope cluster-wide"));
                }
            }
        }
    }
    secret.metadata.strip_server_fields();

    let name = secret.metadata.name.clone();
    let namespace = secret.metadata.namespace.clone();
    let scope = Scope::new(scope_kind, Some(&namespace), Some(&name))
        .map_err(|e| Failure::user("the Secret's scope is incomplete").because(&e))?;

    let mut template_meta = secret.metadata.clone();
    for key in LAST_APPLIED_ANNOTATIONS {
        template_meta.annotations.remove(key);
    }
    template_meta.owner_references.clear();

    let mut encrypted_data = BTreeMap::new();
    for (key, value) in &secret.items {
        encrypted_data.insert(
            key.clone(),
            seal_value(target, &scope, key, value.expose_secret())?,
        );
    }

    let mut annotations = BTreeMap::new();
    scope_kind.write_annotations(&mut annotations);
    Ok(SealedSecretManifest {
        kind: crate::manifest::SEALED_SECRET_KIND.to_owned(),
        api_version: crate::manifest::SEALED_SECRET_API_VERSION.to_owned(),
        metadata: ObjectMeta {
            name,
            namespace,
            annotations,
            ..ObjectMeta::default()
        },
        spec: SealedSecretSpec {
            template: SecretTemplate {
                metadata: template_meta,
                secret_type: secret.secret_type.clone(),
                immutable: secret.immutable,
                data: BTreeMap::new(),
            },
            data: None,
            encrypted_data,
        },
        status: None,
    })
}
