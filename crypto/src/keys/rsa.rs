//! RSA keys (aws-lc-rs) for the compat format.

use std::fmt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{PrivateDecryptingKey, PublicEncryptingKey};
use zeroize::Zeroizing;

use super::{Fingerprint, KeyAlgorithm, KeyError, der, pem_encode};
use crate::SecretBytes;

/// An RSA public key (from a sealing certificate).
#[derive(Clone)]
pub struct RsaPublicKey {
    key: PublicEncryptingKey,
    fingerprint: Fingerprint,
}

impl RsaPublicKey {
    /// Parses a DER `SubjectPublicKeyInfo` (or a PKCS#1 `RSAPublicKey`).
    pub fn from_der(der: &[u8]) -> Result<Self, KeyError> {
        let parsed = aws_lc_rs::rsa::PublicKey::from_der(der)
            .map_err(|_| KeyError::InvalidRsaKey("not an RSA public key"))?;
        let spki = parsed
            .as_der()
            .map_err(|_| KeyError::InvalidRsaKey("cannot encode the public key"))?;
        let key = PublicEncryptingKey::from_der(spki.as_ref()).map_err(|_| {
            KeyError::InvalidRsaKey("unsupported RSA public key (2048 to 8192 bits)")
        })?;
        let fingerprint = ssh_fingerprint(parsed.as_ref())?;
        Ok(Self { key, fingerprint })
    }

    /// Parses a PEM `PUBLIC KEY` or `RSA PUBLIC KEY` block.
    pub fn from_pem(pem_text: &[u8]) -> Result<Self, KeyError> {
        let block = pem::parse(pem_text).map_err(KeyError::Pem)?;
        match block.tag() {
            "PUBLIC KEY" | "RSA PUBLIC KEY" => Self::from_der(block.contents()),
            other => Err(KeyError::unsupported_pem_block(other)),
        }
    }

    /// DER `SubjectPublicKeyInfo`.
    pub fn to_der(&self) -> Vec<u8> {
        self.key
            .as_der()
            .map(|der| der.as_ref().to_vec())
            .unwrap_or_default()
    }

    /// Key size in bits.
    pub fn bits(&self) -> usize {
        self.key.key_size_bits()
    }

    /// Fingerprint (`rsa:SHA256:…`).
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    pub(crate) fn encrypting_key(&self) -> &PublicEncryptingKey {
        &self.key
    }
}

impl fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RsaPublicKey({}, {} bits)",
            self.fingerprint,
            self.bits()
        )
    }
}

impl PartialEq for RsaPublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.fingerprint == other.fingerprint
    }
}

impl Eq for RsaPublicKey {}

/// An RSA private key. `Debug` shows only the fingerprint.
#[derive(Clone)]
pub struct RsaPrivateKey {
    key: PrivateDecryptingKey,
    public: RsaPublicKey,
}

impl RsaPrivateKey {
    /// Parses a DER PKCS#1 `RSAPrivateKey`.
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, KeyError> {
        let pkcs8 = Zeroizing::new(der::pkcs8_from_pkcs1(der));
        Self::from_pkcs8_der(&pkcs8)
    }

    /// Parses a DER PKCS#8 `PrivateKeyInfo` holding an RSA key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let key = PrivateDecryptingKey::from_pkcs8(der).map_err(|_| {
            KeyError::InvalidRsaKey("not a usable RSA private key (2048 to 8192 bits)")
        })?;
        let spki = key
            .public_key()
            .as_der()
            .map_err(|_| KeyError::InvalidRsaKey("cannot encode the public key"))?;
        let public = RsaPublicKey::from_der(spki.as_ref())?;
        Ok(Self { key, public })
    }

    /// Parses one PEM block: `RSA PRIVATE KEY` (PKCS#1) or `PRIVATE KEY` (PKCS#8).
    pub fn from_pem(pem_text: &[u8]) -> Result<Self, KeyError> {
        let block = pem::parse(pem_text).map_err(KeyError::Pem)?;
        let tag = block.tag().to_owned();
        let der = Zeroizing::new(block.into_contents());
        match tag.as_str() {
            "RSA PRIVATE KEY" => Self::from_pkcs1_der(&der),
            "PRIVATE KEY" => Self::from_pkcs8_der(&der),
            _ => Err(KeyError::unsupported_pem_block(&tag)),
        }
    }

    pub(crate) fn generate(size: aws_lc_rs::rsa::KeySize) -> Result<Self, KeyError> {
        let key = PrivateDecryptingKey::generate(size)
            .map_err(|_| KeyError::Generate("RSA key generation failed".into()))?;
        let pkcs8 = key
            .as_der()
            .map_err(|_| KeyError::Generate("cannot encode the RSA key".into()))?;
        Self::from_pkcs8_der(pkcs8.as_ref())
    }

    /// PKCS#8 DER (for certificate signing).
    pub(crate) fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        self.key
            .as_der()
            .map(|der| Zeroizing::new(der.as_ref().to_vec()))
            .map_err(|_| KeyError::InvalidRsaKey("cannot encode the private key"))
    }

    /// PEM `RSA PRIVATE KEY` (PKCS#1), as sealed-secrets stores it in `tls.key`.
    pub fn to_pkcs1_pem(&self) -> Result<SecretBytes, KeyError> {
        let pkcs8 = self.to_pkcs8_der()?;
        let pkcs1 = der::pkcs1_from_pkcs8(&pkcs8)
            .ok_or(KeyError::InvalidRsaKey("cannot encode the private key"))?;
        Ok(SecretBytes::from(pem_encode(
            "RSA PRIVATE KEY",
            pkcs1.to_vec(),
        )))
    }

    /// The public key.
    pub fn public_key(&self) -> &RsaPublicKey {
        &self.public
    }

    /// Fingerprint of the public key.
    pub fn fingerprint(&self) -> Fingerprint {
        self.public.fingerprint
    }

    pub(crate) fn decrypting_key(&self) -> &PrivateDecryptingKey {
        &self.key
    }
}

impl fmt::Debug for RsaPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RsaPrivateKey({}, [REDACTED])", self.public.fingerprint)
    }
}

/// SHA-256 of the SSH wire encoding (`string "ssh-rsa" || mpint e || mpint n`).
fn ssh_fingerprint(pkcs1_public: &[u8]) -> Result<Fingerprint, KeyError> {
    let (n, e) = der::rsa_public_key_parts(pkcs1_public)
        .ok_or(KeyError::InvalidRsaKey("malformed RSA public key"))?;
    let mut wire = Vec::with_capacity(n.len() + e.len() + 32);
    put_string(&mut wire, b"ssh-rsa");
    put_mpint(&mut wire, e);
    put_mpint(&mut wire, n);
    Ok(Fingerprint::new(KeyAlgorithm::Rsa, &wire))
}

fn put_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend((bytes.len() as u32).to_be_bytes());
    out.extend(bytes);
}

fn put_mpint(out: &mut Vec<u8>, magnitude: &[u8]) {
    if magnitude.first().is_some_and(|b| b & 0x80 != 0) {
        out.extend(((magnitude.len() + 1) as u32).to_be_bytes());
        out.push(0);
        out.extend(magnitude);
    } else {
        put_string(out, magnitude);
    }
}
