//! The sealkit native format: an age file (X25519 recipients, one or several) whose plaintext is a
//! small versioned header followed by the value. The header binds the value to its scope and item
//! name; age authenticates header and value together. Layout in `docs/format.md`:
//!
//! ```text
//! "sealkit" | 0x01 | kind u8 | u16be len | namespace | u16be len | name | u16be len | data key | value
//! ```

use std::io::{Read, Write};

use zeroize::Zeroizing;

use crate::keys::{AgeIdentity, AgeRecipient};
use crate::{Binding, Diagnosis, Format, Scope, SealError, SecretBytes, UnsealError};

/// First bytes of the sealed header.
pub const HEADER_MAGIC: &[u8; 7] = b"sealkit";
/// Header version written by this crate.
pub const HEADER_VERSION: u8 = 1;
/// Longest namespace, name or item name (bytes) a header may carry (Kubernetes' name limit).
pub const MAX_FIELD_LEN: usize = 253;

const KIND_STRICT: u8 = 0;
const KIND_NAMESPACE_WIDE: u8 = 1;
const KIND_CLUSTER_WIDE: u8 = 2;

/// Seals `plaintext` for every recipient (any one of their identities can unseal it), bound to
/// `binding`.
pub fn seal(
    recipients: &[AgeRecipient],
    binding: &Binding,
    plaintext: &[u8],
) -> Result<Vec<u8>, SealError> {
    if recipients.is_empty() {
        return Err(SealError::NoRecipients);
    }
    let mut inner = Zeroizing::new(encode_header(binding)?);
    inner.extend_from_slice(plaintext);

    let encryptor = age::Encryptor::with_recipients(
        recipients.iter().map(|r| r.inner() as &dyn age::Recipient),
    )
    .map_err(|e| SealError::Age(std::io::Error::other(e.to_string())))?;
    let mut sealed = Vec::with_capacity(inner.len() + 128 + 100 * recipients.len());
    let mut writer = encryptor.wrap_output(&mut sealed).map_err(SealError::Age)?;
    writer.write_all(&inner).map_err(SealError::Age)?;
    writer.finish().map_err(SealError::Age)?;
    Ok(sealed)
}

/// Unseals a native value with any of `identities`, checking that it was sealed for `binding`.
pub fn unseal(
    identities: &[AgeIdentity],
    binding: &Binding,
    blob: &[u8],
) -> Result<SecretBytes, UnsealError> {
    let order: Vec<usize> = (0..identities.len()).collect();
    unseal_in_order(identities, &order, binding, blob).map(|(value, _)| value)
}

/// Tries identities in `order`; returns the value and the index of the identity that opened it.
pub(crate) fn unseal_in_order(
    identities: &[AgeIdentity],
    order: &[usize],
    binding: &Binding,
    blob: &[u8],
) -> Result<(SecretBytes, usize), UnsealError> {
    let malformed = || {
        UnsealError::new(Diagnosis::Malformed {
            format: Format::Native,
        })
    };
    // Parse once up front so that garbage is reported as such, not as a key mismatch.
    age::Decryptor::new_buffered(blob).map_err(|_| malformed())?;
    for &index in order {
        let Some(identity) = identities.get(index) else {
            continue;
        };
        if let Some(inner) = open(identity, blob) {
            return check_header(&inner, binding)
                .map(|value| (value, index))
                .map_err(UnsealError::new);
        }
    }
    Err(UnsealError::new(Diagnosis::NoKeyMatched {
        format: Format::Native,
        keys_tried: identities.len(),
    }))
}

/// Decrypts with one identity; `None` for every failure.
fn open(identity: &AgeIdentity, blob: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let decryptor = age::Decryptor::new_buffered(blob).ok()?;
    let mut reader = decryptor
        .decrypt(std::iter::once(identity.inner() as &dyn age::Identity))
        .ok()?;
    let mut inner = Zeroizing::new(Vec::with_capacity(blob.len()));
    reader.read_to_end(&mut inner).ok()?;
    Some(inner)
}

fn encode_header(binding: &Binding) -> Result<Vec<u8>, SealError> {
    let (kind, namespace, name) = match &binding.scope {
        Scope::Strict { namespace, name } => (KIND_STRICT, namespace.as_str(), name.as_str()),
        Scope::NamespaceWide { namespace } => (KIND_NAMESPACE_WIDE, namespace.as_str(), ""),
        Scope::ClusterWide => (KIND_CLUSTER_WIDE, "", ""),
    };
    let mut header = Vec::with_capacity(16 + namespace.len() + name.len() + binding.data_key.len());
    header.extend_from_slice(HEADER_MAGIC);
    header.push(HEADER_VERSION);
    header.push(kind);
    for (field, value) in [
        ("namespace", namespace),
        ("name", name),
        ("data key", binding.data_key.as_str()),
    ] {
        if value.len() > MAX_FIELD_LEN {
            return Err(SealError::FieldTooLong {
                field,
                len: value.len(),
                max: MAX_FIELD_LEN,
            });
        }
        header.extend((value.len() as u16).to_be_bytes());
        header.extend_from_slice(value.as_bytes());
    }
    Ok(header)
}

/// The binding a header declares, and the value after it.
fn decode_header(inner: &[u8]) -> Option<(Binding, &[u8])> {
    let rest = inner.strip_prefix(HEADER_MAGIC.as_slice())?;
    let [version, kind, rest @ ..] = rest else {
        return None;
    };
    if *version != HEADER_VERSION {
        return None;
    }
    let (namespace, rest) = read_field(rest)?;
    let (name, rest) = read_field(rest)?;
    let (data_key, value) = read_field(rest)?;
    let scope = match (*kind, namespace.is_empty(), name.is_empty()) {
        (KIND_STRICT, false, false) => Scope::Strict {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        },
        (KIND_NAMESPACE_WIDE, false, true) => Scope::NamespaceWide {
            namespace: namespace.to_owned(),
        },
        (KIND_CLUSTER_WIDE, true, true) => Scope::ClusterWide,
        _ => return None,
    };
    Some((Binding::new(scope, data_key), value))
}

fn read_field(input: &[u8]) -> Option<(&str, &[u8])> {
    let [hi, lo, rest @ ..] = input else {
        return None;
    };
    let len = usize::from(u16::from_be_bytes([*hi, *lo]));
    if len > MAX_FIELD_LEN || rest.len() < len {
        return None;
    }
    let (field, rest) = rest.split_at(len);
    Some((std::str::from_utf8(field).ok()?, rest))
}

fn check_header(inner: &[u8], found: &Binding) -> Result<SecretBytes, Diagnosis> {
    let (sealed, value) = decode_header(inner).ok_or(Diagnosis::UnsupportedHeader)?;
    if sealed.scope != found.scope {
        return Err(Diagnosis::ScopeMismatch {
            sealed: sealed.scope,
            found: found.scope.clone(),
        });
    }
    if sealed.data_key != found.data_key {
        return Err(Diagnosis::DataKeyMismatch {
            sealed: sealed.data_key,
            found: found.data_key.clone(),
        });
    }
    Ok(SecretBytes::from(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_for_every_scope() {
        for scope in [
            Scope::Strict {
                namespace: "ns".into(),
                name: "db".into(),
            },
            Scope::NamespaceWide {
                namespace: "ns".into(),
            },
            Scope::ClusterWide,
        ] {
            let binding = Binding::new(scope, "password");
            let mut inner = encode_header(&binding).unwrap();
            inner.extend(b"value");
            let (decoded, value) = decode_header(&inner).unwrap();
            assert_eq!(decoded, binding);
            assert_eq!(value, b"value");
        }
    }

    #[test]
    fn header_layout_is_the_documented_one() {
        let binding = Binding::new(
            Scope::Strict {
                namespace: "ns".into(),
                name: "db".into(),
            },
            "pw",
        );
        assert_eq!(
            encode_header(&binding).unwrap(),
            b"sealkit\x01\x00\x00\x02ns\x00\x02db\x00\x02pw".to_vec()
        );
    }

    #[test]
    fn header_vectors_in_docs_format_md_hold() {
        let hex = |s: &str| -> Vec<u8> {
            s.split_whitespace()
                .map(|b| u8::from_str_radix(b, 16).unwrap())
                .collect()
        };
        let namespace_wide = Binding::new(
            Scope::NamespaceWide {
                namespace: "team-a".into(),
            },
            "token",
        );
        assert_eq!(
            encode_header(&namespace_wide).unwrap(),
            hex("73 65 61 6c 6b 69 74 01 01 00 06 74 65 61 6d 2d 61 00 00 00 05 74 6f 6b 65 6e")
        );
        let cluster_wide = Binding::new(Scope::ClusterWide, "k");
        assert_eq!(
            encode_header(&cluster_wide).unwrap(),
            hex("73 65 61 6c 6b 69 74 01 02 00 00 00 00 00 01 6b")
        );
    }

    #[test]
    fn inconsistent_headers_are_refused() {
        // namespace-wide with a name
        assert!(decode_header(b"sealkit\x01\x01\x00\x02ns\x00\x02db\x00\x00").is_none());
        // cluster-wide with a namespace
        assert!(decode_header(b"sealkit\x01\x02\x00\x02ns\x00\x00\x00\x00").is_none());
        // unknown kind, unknown version, truncated
        assert!(decode_header(b"sealkit\x01\x03\x00\x00\x00\x00\x00\x00").is_none());
        assert!(decode_header(b"sealkit\x02\x02\x00\x00\x00\x00\x00\x00").is_none());
        assert!(decode_header(b"sealkit\x01\x02\x00\x00\x00\x00\x00").is_none());
    }

    #[test]
    fn overlong_fields_are_refused_when_sealing() {
        let binding = Binding::new(Scope::ClusterWide, "k".repeat(MAX_FIELD_LEN + 1));
        assert!(matches!(
            encode_header(&binding),
            Err(SealError::FieldTooLong {
                field: "data key",
                ..
            })
        ));
    }
}
