//! Recognising the format of a sealed value from its bytes.

use std::fmt;

/// The first bytes of every native (age) sealed value.
pub const AGE_MAGIC: &[u8] = b"age-encryption.org/v1\n";

/// The format of a sealed value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// sealkit native: a binary age file whose plaintext starts with a sealkit header
    /// (see `docs/format.md`).
    Native,
    /// Bitnami sealed-secrets v1 hybrid: `u16be len || RSA-OAEP || AES-256-GCM`.
    Hybrid,
}

impl Format {
    /// Recognises the format: age's header line means native; otherwise a 2-byte big-endian length
    /// that fits the blob means hybrid. `None` when neither fits.
    pub fn detect(bytes: &[u8]) -> Option<Format> {
        if bytes.starts_with(AGE_MAGIC) {
            return Some(Format::Native);
        }
        match bytes {
            [hi, lo, rest @ ..] => {
                let len = usize::from(u16::from_be_bytes([*hi, *lo]));
                (len > 0 && rest.len() >= len).then_some(Format::Hybrid)
            }
            _ => None,
        }
    }

    /// Lower-case name: `native` or `hybrid`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Native => "native",
            Format::Hybrid => "hybrid",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_header_means_native() {
        assert_eq!(
            Format::detect(b"age-encryption.org/v1\n-> X25519 abc"),
            Some(Format::Native)
        );
    }

    #[test]
    fn fitting_length_prefix_means_hybrid() {
        let mut blob = vec![0x02, 0x00];
        blob.extend([0u8; 512 + 16]);
        assert_eq!(Format::detect(&blob), Some(Format::Hybrid));
    }

    #[test]
    fn short_or_inconsistent_bytes_have_no_format() {
        assert_eq!(Format::detect(b""), None);
        assert_eq!(Format::detect(b"\x02"), None);
        assert_eq!(Format::detect(b"\x02\x00short"), None);
        assert_eq!(Format::detect(b"\x00\x00"), None);
    }
}
