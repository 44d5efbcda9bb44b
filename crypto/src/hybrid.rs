//! The Bitnami sealed-secrets v1 hybrid format, byte-exact:
//!
//! ```text
//! u16be(len(rsa)) || RSA-OAEP(SHA-256, MGF1-SHA-256, label = scope label)(session key)
//!                 || AES-256-GCM(session key, nonce = 12 zero bytes, no AAD)(plaintext) with tag
//! ```
//!
//! A fresh 32-byte session key per value justifies the zero nonce. The value is bound to its scope
//! (through the OAEP label), not to its item name.

use aws_lc_rs::rsa::{OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, OaepPublicEncryptingKey};
use ring::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::keys::{RsaPrivateKey, RsaPublicKey};
use crate::{Diagnosis, Format, Scope, SealError, SecretBytes, UnsealError};

const SESSION_KEY_LEN: usize = 32;
const GCM_TAG_LEN: usize = 16;

/// Seals `plaintext` for `key` in `scope` (Bitnami format).
pub fn seal(key: &RsaPublicKey, scope: &Scope, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
    let mut session_key = Zeroizing::new([0u8; SESSION_KEY_LEN]);
    SystemRandom::new()
        .fill(session_key.as_mut())
        .map_err(|_| SealError::Random)?;

    let oaep =
        OaepPublicEncryptingKey::new(key.encrypting_key().clone()).map_err(|_| SealError::Rsa)?;
    let mut wrapped = vec![0u8; oaep.ciphertext_size()];
    let label = scope.label();
    let wrapped_len = oaep
        .encrypt(
            &OAEP_SHA256_MGF1SHA256,
            session_key.as_ref(),
            &mut wrapped,
            Some(label.as_bytes()),
        )
        .map_err(|_| SealError::Rsa)?
        .len();
    wrapped.truncate(wrapped_len);
    let prefix = u16::try_from(wrapped_len).map_err(|_| SealError::Rsa)?;

    let aes = UnboundKey::new(&AES_256_GCM, session_key.as_ref()).map_err(|_| SealError::Aes)?;
    let mut sealed = Vec::with_capacity(2 + wrapped_len + plaintext.len() + GCM_TAG_LEN);
    sealed.extend(prefix.to_be_bytes());
    sealed.extend(&wrapped);
    let mut body = plaintext.to_vec();
    LessSafeKey::new(aes)
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key([0; 12]),
            Aad::empty(),
            &mut body,
        )
        .map_err(|_| SealError::Aes)?;
    sealed.extend(body);
    Ok(sealed)
}

/// Unseals a hybrid value with one key, for a value found in `scope`.
pub fn unseal(key: &RsaPrivateKey, scope: &Scope, blob: &[u8]) -> Result<SecretBytes, UnsealError> {
    let parts = split(blob).ok_or(UnsealError::new(Diagnosis::Malformed {
        format: Format::Hybrid,
    }))?;
    open(key, scope.label().as_bytes(), parts).ok_or(UnsealError::new(Diagnosis::NoKeyMatched {
        format: Format::Hybrid,
        keys_tried: 1,
    }))
}

/// The RSA and GCM parts of a hybrid value, if the lengths are consistent.
#[derive(Clone, Copy)]
pub(crate) struct Parts<'a> {
    wrapped_key: &'a [u8],
    body: &'a [u8],
}

pub(crate) fn split(blob: &[u8]) -> Option<Parts<'_>> {
    let [hi, lo, rest @ ..] = blob else {
        return None;
    };
    let len = usize::from(u16::from_be_bytes([*hi, *lo]));
    if len == 0 || rest.len() < len + GCM_TAG_LEN {
        return None;
    }
    let (wrapped_key, body) = rest.split_at(len);
    Some(Parts { wrapped_key, body })
}

/// Opens with one key and label; `None` for every failure.
pub(crate) fn open(key: &RsaPrivateKey, label: &[u8], parts: Parts<'_>) -> Option<SecretBytes> {
    let oaep = OaepPrivateDecryptingKey::new(key.decrypting_key().clone()).ok()?;
    if parts.wrapped_key.len() != oaep.key_size_bytes() {
        return None;
    }
    let mut session_key = Zeroizing::new(vec![0u8; oaep.min_output_size()]);
    let session_key_len = oaep
        .decrypt(
            &OAEP_SHA256_MGF1SHA256,
            parts.wrapped_key,
            &mut session_key,
            Some(label),
        )
        .ok()?
        .len();
    // sealed-secrets writes 32-byte keys; Go's AES also accepts 16 (we do) and 24 (ring cannot).
    let algorithm = match session_key_len {
        32 => &AES_256_GCM,
        16 => &AES_128_GCM,
        _ => return None,
    };
    let aes = LessSafeKey::new(UnboundKey::new(algorithm, &session_key[..session_key_len]).ok()?);
    let mut body = Zeroizing::new(parts.body.to_vec());
    let plaintext_len = aes
        .open_in_place(
            Nonce::assume_unique_for_key([0; 12]),
            Aad::empty(),
            &mut body,
        )
        .ok()?
        .len();
    Some(SecretBytes::from(&body[..plaintext_len]))
}
