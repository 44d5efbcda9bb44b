//! Base64 as sealed values appear in manifests: standard alphabet, padded, strict.

use ::base64::Engine as _;
use ::base64::engine::general_purpose::STANDARD;

/// A manifest value is not valid standard base64.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid base64 (expected standard padded base64)")]
pub struct Base64Error(#[source] ::base64::DecodeError);

/// Encodes bytes as standard padded base64 (`+/`, `=`), as sealed-secrets writes them.
pub fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes standard padded base64 strictly (non-canonical padding or trailing bits are errors).
///
/// Like Go's `base64.StdEncoding`, which sealed-secrets uses, `\r` and `\n` are ignored.
pub fn decode(text: &str) -> Result<Vec<u8>, Base64Error> {
    if text.contains(['\r', '\n']) {
        let joined: String = text.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
        STANDARD.decode(joined).map_err(Base64Error)
    } else {
        STANDARD.decode(text).map_err(Base64Error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_padding() {
        assert_eq!(encode(b"ab"), "YWI=");
        assert_eq!(decode("YWI=").unwrap(), b"ab");
    }

    #[test]
    fn url_safe_and_unpadded_input_is_rejected() {
        assert!(decode("YWI").is_err());
        assert!(decode("-_8=").is_err());
        assert!(decode("YWJ=").is_err(), "non-canonical trailing bits");
    }

    #[test]
    fn line_breaks_are_ignored_like_go() {
        assert_eq!(decode("YW\r\nI=\n").unwrap(), b"ab");
    }
}
