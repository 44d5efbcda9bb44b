//! The few DER structures we read by hand (PKCS#8 wrapper, RSAPublicKey); anything unexpected is
//! `None`, never a panic.

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const NULL: u8 = 0x05;
const OID: u8 = 0x06;

/// DER of OID 1.2.840.113549.1.1.1 (rsaEncryption).
const RSA_ENCRYPTION_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// Splits one TLV off `input`: `(tag, contents, rest)`.
fn read_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (len_bytes, after) = rest.split_at(count);
        rest = after;
        len_bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    if rest.len() < len {
        return None;
    }
    let (contents, rest) = rest.split_at(len);
    Some((tag, contents, rest))
}

fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (t, contents, rest) = read_tlv(input)?;
    (t == tag).then_some((contents, rest))
}

/// The PKCS#1 `RSAPrivateKey` inside a PKCS#8 `PrivateKeyInfo` for rsaEncryption.
pub(crate) fn pkcs1_from_pkcs8(pkcs8: &[u8]) -> Option<&[u8]> {
    let (info, _) = expect(pkcs8, SEQUENCE)?;
    let (_version, rest) = expect(info, INTEGER)?;
    let (algorithm, rest) = expect(rest, SEQUENCE)?;
    let (oid, _) = expect(algorithm, OID)?;
    if oid != RSA_ENCRYPTION_OID {
        return None;
    }
    let (key, _) = expect(rest, OCTET_STRING)?;
    Some(key)
}

/// Wraps a PKCS#1 `RSAPrivateKey` into a PKCS#8 v1 `PrivateKeyInfo`.
pub(crate) fn pkcs8_from_pkcs1(pkcs1: &[u8]) -> Vec<u8> {
    let mut algorithm = tlv(OID, RSA_ENCRYPTION_OID);
    algorithm.extend(tlv(NULL, &[]));
    let mut info = tlv(INTEGER, &[0]);
    info.extend(tlv(SEQUENCE, &algorithm));
    info.extend(tlv(OCTET_STRING, pkcs1));
    tlv(SEQUENCE, &info)
}

/// `(modulus, exponent)` of a PKCS#1 `RSAPublicKey`, without leading zero bytes.
pub(crate) fn rsa_public_key_parts(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (key, _) = expect(der, SEQUENCE)?;
    let (n, rest) = expect(key, INTEGER)?;
    let (e, _) = expect(rest, INTEGER)?;
    Some((strip_leading_zeros(n), strip_leading_zeros(e)))
}

fn strip_leading_zeros(mut bytes: &[u8]) -> &[u8] {
    while let [0, rest @ ..] = bytes {
        bytes = rest;
    }
    bytes
}

fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend(&bytes[skip..]);
    }
    out.extend(contents);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkcs8_wrapping_round_trips() {
        let pkcs1 = vec![0x30, 0x82, 0x01, 0x00]
            .into_iter()
            .chain(vec![7u8; 256])
            .collect::<Vec<_>>();
        let pkcs8 = pkcs8_from_pkcs1(&pkcs1);
        assert_eq!(pkcs1_from_pkcs8(&pkcs8), Some(pkcs1.as_slice()));
    }

    #[test]
    fn truncated_input_is_rejected() {
        let pkcs8 = pkcs8_from_pkcs1(&[1, 2, 3]);
        for cut in 0..pkcs8.len() {
            assert_eq!(pkcs1_from_pkcs8(&pkcs8[..cut]), None);
        }
        assert_eq!(read_tlv(&[0x30, 0x85, 1, 1, 1, 1, 1]), None);
    }

    #[test]
    fn public_key_parts_strip_sign_bytes() {
        // SEQUENCE { INTEGER 0x00ff01, INTEGER 0x010001 }
        let der = [
            0x30, 0x0a, 0x02, 0x03, 0x00, 0xff, 0x01, 0x02, 0x03, 0x01, 0x00, 0x01,
        ];
        assert_eq!(
            rsa_public_key_parts(&der),
            Some((&[0xff, 0x01][..], &[0x01, 0x00, 0x01][..]))
        );
    }
}
