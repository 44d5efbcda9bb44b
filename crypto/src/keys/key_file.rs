//! Private keys from files: PEM, age identity files, Secret manifests and `List` backups.

use std::collections::BTreeMap;

use serde::Deserialize;
use zeroize::Zeroizing;

use super::{AGE_KEY, AgeIdentity, KeyError, PrivateKey, RsaPrivateKey, TLS_KEY};

/// Reads every private key in `input`, in order. Accepted (as `kubeseal --recovery-private-key`):
///
/// * PEM text: `RSA PRIVATE KEY` (PKCS#1) and `PRIVATE KEY` (PKCS#8) blocks; `CERTIFICATE` blocks are
///   skipped; `AGE-SECRET-KEY-1…` lines (an `age-keygen` file) are read too;
/// * a Secret (YAML or JSON) with `data` (or `stringData`) `tls.key` and/or `age.key`;
/// * a `List` of such Secrets (`kubectl get secret -l … -o yaml`), or several YAML documents.
///
/// Errors never quote the input.
pub fn parse_private_keys(input: &[u8]) -> Result<Vec<PrivateKey>, KeyError> {
    let keys = if looks_like_key_text(input) {
        parse_key_text(input)?
    } else {
        parse_manifests(input)?
    };
    if keys.is_empty() {
        return Err(KeyError::NoPrivateKey);
    }
    Ok(keys)
}

/// Whether the first meaningful line starts a PEM block or an age identity.
fn looks_like_key_text(input: &[u8]) -> bool {
    let text = String::from_utf8_lossy(input);
    text.lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'))
        .is_some_and(|line| line.starts_with("-----BEGIN ") || line.starts_with("AGE-SECRET-KEY-"))
}

fn parse_key_text(input: &[u8]) -> Result<Vec<PrivateKey>, KeyError> {
    let mut keys = Vec::new();
    let text = std::str::from_utf8(input).map_err(|_| KeyError::NoPrivateKey)?;
    for line in text.lines().map(str::trim) {
        if line.starts_with("AGE-SECRET-KEY-") {
            keys.push(PrivateKey::Age(AgeIdentity::parse(line.as_bytes())?));
        }
    }
    if text.contains("-----BEGIN ") {
        for block in pem::parse_many(input).map_err(KeyError::Pem)? {
            let tag = block.tag().to_owned();
            let der = Zeroizing::new(block.into_contents());
            match tag.as_str() {
                "RSA PRIVATE KEY" => {
                    keys.push(PrivateKey::Rsa(RsaPrivateKey::from_pkcs1_der(&der)?))
                }
                "PRIVATE KEY" => keys.push(PrivateKey::Rsa(RsaPrivateKey::from_pkcs8_der(&der)?)),
                "CERTIFICATE" => {}
                _ => return Err(KeyError::unsupported_pem_block(&tag)),
            }
        }
    }
    Ok(keys)
}

/// The parts of a Secret or List we read; everything else is ignored.
#[derive(Deserialize)]
struct Manifest {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    data: Option<BTreeMap<String, Option<String>>>,
    #[serde(default, rename = "stringData")]
    string_data: Option<BTreeMap<String, Option<String>>>,
    #[serde(default)]
    items: Option<Vec<Manifest>>,
}

fn parse_manifests(input: &[u8]) -> Result<Vec<PrivateKey>, KeyError> {
    let documents: Vec<Manifest> =
        serde_saphyr::from_slice_multiple(input).map_err(|e| KeyError::InvalidManifest {
            location: e
                .location()
                .map(|l| format!(" (error at line {} column {})", l.line(), l.column()))
                .unwrap_or_default(),
        })?;
    if documents.is_empty() {
        return Err(KeyError::InvalidManifest {
            location: String::new(),
        });
    }
    let mut keys = Vec::new();
    for document in &documents {
        collect_keys(document, &mut keys, 0)?;
    }
    Ok(keys)
}

fn collect_keys(
    manifest: &Manifest,
    keys: &mut Vec<PrivateKey>,
    depth: usize,
) -> Result<(), KeyError> {
    if let Some(items) = &manifest.items {
        if depth > 4 {
            return Err(KeyError::InvalidManifest {
                location: " (Lists nested too deeply)".into(),
            });
        }
        for item in items {
            collect_keys(item, keys, depth + 1)?;
        }
    }
    if manifest.kind.as_deref().is_some_and(|k| k != "Secret") {
        return Ok(());
    }
    if let Some(pem) = value(manifest, AGE_KEY)? {
        keys.push(PrivateKey::Age(AgeIdentity::parse(&pem)?));
    }
    if let Some(pem) = value(manifest, TLS_KEY)? {
        keys.push(PrivateKey::Rsa(RsaPrivateKey::from_pem(&pem)?));
    }
    Ok(())
}

/// A Secret value: `stringData` wins over `data` (as the API server does); `data` is base64.
fn value(manifest: &Manifest, key: &str) -> Result<Option<Zeroizing<Vec<u8>>>, KeyError> {
    if let Some(Some(text)) = manifest.string_data.as_ref().and_then(|d| d.get(key)) {
        return Ok(Some(Zeroizing::new(text.as_bytes().to_vec())));
    }
    match manifest.data.as_ref().and_then(|d| d.get(key)) {
        Some(Some(encoded)) => crate::base64::decode(encoded)
            .map(|bytes| Some(Zeroizing::new(bytes)))
            .map_err(|_| KeyError::InvalidSecretData(key.to_owned())),
        _ => Ok(None),
    }
}
