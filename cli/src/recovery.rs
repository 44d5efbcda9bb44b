//! Offline work with private keys: `--recovery-unseal`, and the offline forms of `--validate`
//! and `--re-encrypt` (kubeseal needs the cluster for both).
//!
//! Unsealing follows the controller: the scope comes from the SealedSecret's own top-level
//! metadata, every item is opened with any key, `spec.template.data` is rendered, name and
//! namespace are forced, and an ownerReference to the SealedSecret is set unless
//! `skip-set-owner-references` is `"true"`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use sealkit_crypto::{Binding, Diagnosis, KeyRing, Scope, ScopeKind, SealingTarget, SecretBytes};

use crate::failure::{Failure, Outcome};
use crate::manifest::{
    OwnerReference, SKIP_OWNER_REFERENCES_ANNOTATION, SealedSecretManifest, SecretManifest,
};

const BACKUP_HINT: &str = "pass the controller key that sealed it; a backup of all keys: kubectl get secret -n kube-system \
-l sealedsecrets.bitnami.com/sealed-secrets-key -o yaml > keys.yaml, then --recovery-private-key keys.yaml";

/// Read every key of every file (PEM, key Secret, List of Secrets, age identity).
pub fn read_key_ring(paths: &[PathBuf]) -> Outcome<KeyRing> {
    if paths.is_empty() {
        return Err(Failure::user("no private key given")
            .hint("pass --recovery-private-key FILE (PEM key, key Secret or a List backup); repeat it or separate files with commas"));
    }
    let mut ring = KeyRing::new();
    for path in paths {
        let bytes = std::fs::read(path).map_err(|e| {
            Failure::user(format!("cannot read private key file {}", path.display()))
                .because(&e)
                .hint("check the path given to --recovery-private-key")
        })?;
        let keys = sealkit_crypto::keys::parse_private_keys(&bytes).map_err(|e| {
            Failure::user(format!("{} holds no usable private key", path.display()))
                .because(&e)
                .hint("the file must be a PEM RSA private key, an age identity, a controller key Secret (data tls.key / age.key) or a List of them")
        })?;
        ring.extend(keys);
    }
    Ok(ring)
}

/// The scope a SealedSecret's values are unsealed in: from its top-level metadata.
pub fn scope_of(ss: &SealedSecretManifest) -> Scope {
    Scope::from_annotations(
        &ss.metadata.namespace,
        &ss.metadata.name,
        Some(&ss.metadata.annotations),
    )
}

/// Open every item; errors are collected per item (names only).
pub fn open_items(
    ss: &SealedSecretManifest,
    ring: &KeyRing,
) -> Outcome<BTreeMap<String, SecretBytes>> {
    if ss.spec.data.is_some() && ss.spec.encrypted_data.is_empty() {
        return Err(Failure::user("this SealedSecret uses the deprecated v1 format (spec.data), which sealkit does not unseal")
            .hint("re-seal the Secret with a current kubeseal or sealkit"));
    }
    let scope = scope_of(ss);
    let mut values = BTreeMap::new();
    let mut failures: Vec<(String, String)> = Vec::new();
    let mut scope_hint = None;
    for (key, encoded) in &ss.spec.encrypted_data {
        let blob = match sealkit_crypto::base64::decode(encoded) {
            Ok(b) => b,
            Err(_) => {
                failures.push((key.clone(), "the value is not valid base64".to_owned()));
                continue;
            }
        };
        match ring.unseal(&blob, &Binding::new(scope.clone(), key.clone())) {
            Ok(unsealed) => {
                values.insert(key.clone(), unsealed.value);
            }
            Err(e) => {
                if let Diagnosis::ScopeMismatch { sealed, .. } = e.diagnosis() {
                    scope_hint = Some(format!(
                        "the value was sealed for {sealed}: give the SealedSecret that name, namespace and scope annotation, or re-seal it"
                    ));
                }
                failures.push((key.clone(), e.diagnosis().to_string()));
            }
        }
    }
    if !failures.is_empty() {
        let names: Vec<&str> = failures.iter().map(|(k, _)| k.as_str()).collect();
        let mut failure = Failure::user(format!(
            "no key could decrypt {} of SealedSecret {}/{} ({})",
            if names.len() == 1 { "item" } else { "items" },
            ss.metadata.namespace,
            ss.metadata.name,
            names.join(", ")
        ));
        for (key, why) in &failures {
            failure = failure.cause(format!("{key}: {why}"));
        }
        failure = failure.cause(format!("unsealed as {scope}"));
        return Err(failure.hint(scope_hint.unwrap_or_else(|| BACKUP_HINT.to_owned())));
    }
    Ok(values)
}

/// The Secret the controller would create (`--recovery-unseal`).
pub fn unseal(ss: &SealedSecretManifest, ring: &KeyRing) -> Outcome<SecretManifest> {
    let values = open_items(ss, ring)?;
    let mut data: BTreeMap<String, Vec<u8>> = values
        .iter()
        .map(|(k, v)| (k.clone(), v.expose_secret().to_vec()))
        .collect();
    let template = &ss.spec.template;
    let mut rendered = BTreeMap::new();
    for (key, text) in &template.data {
        let out = sealkit_template::render(text, &data, sealkit_template::Dialect::SealedSecrets)
            .map_err(|e| {
            Failure::user(format!("cannot render template item {key:?}")).because(&e)
        })?;
        rendered.insert(key.clone(), out);
    }
    data.extend(rendered);

    let mut metadata = template.metadata.clone();
    metadata.namespace = ss.metadata.namespace.clone();
    metadata.name = ss.metadata.name.clone();
    if template
        .metadata
        .annotations
        .get(SKIP_OWNER_REFERENCES_ANNOTATION)
        .map(String::as_str)
        != Some("true")
    {
        metadata.owner_references = vec![OwnerReference {
            api_version: ss.api_version.clone(),
            kind: ss.kind.clone(),
            name: ss.metadata.name.clone(),
            uid: ss.metadata.uid.clone(),
            controller: Some(true),
            block_owner_deletion: None,
        }];
    }
    let encoded = data
        .into_iter()
        .map(|(k, mut v)| {
            let text = sealkit_crypto::base64::encode(&v);
            v.iter_mut().for_each(|b| *b = 0);
            (k, text)
        })
        .collect();
    Ok(SecretManifest {
        kind: "Secret",
        api_version: "v1",
        metadata,
        immutable: template.immutable,
        data: encoded,
        secret_type: template.secret_type.clone(),
    })
}

/// Re-seal every item for `target` (offline `--re-encrypt`), keeping metadata and template.
pub fn re_encrypt(
    ss: &SealedSecretManifest,
    ring: &KeyRing,
    target: &SealingTarget,
) -> Outcome<SealedSecretManifest> {
    let values = open_items(ss, ring)?;
    let scope = scope_of(ss);
    let mut out = ss.clone();
    // As the controller since v0.36.0: the scope comes from the top-level metadata; a template
    // that disagrees is overwritten so the scope cannot be widened through it.
    let kind = ScopeKind::from_annotations(Some(&ss.metadata.annotations));
    kind.write_annotations(&mut out.spec.template.metadata.annotations);
    for (key, value) in &values {
        let sealed = crate::sealing::seal_value(target, &scope, key, value.expose_secret())?;
        out.spec.encrypted_data.insert(key.clone(), sealed);
    }
    out.metadata.creation_timestamp = None;
    out.metadata.deletion_timestamp = None;
    out.metadata.generation = 0;
    Ok(out)
}
