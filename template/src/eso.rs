//! Functions the External Secrets Operator adds to Sprig in its template
//! engine v2.

use crate::function::{Call, FResult, Func, arity, ferr, string_arg};
use crate::value::Value;

/// ESO functions this crate does not implement: PKCS#12, JWK and RSA need
/// crypto dependencies this pure template crate does not carry; `toYaml`'s
/// exact go-yaml output style is not reproduced; certificate-chain helpers
/// need X.509 path building.
pub(crate) const UNSUPPORTED: &[&str] = &[
    "pkcs12key",
    "pkcs12keyPass",
    "pkcs12cert",
    "pkcs12certPass",
    "pemToPkcs12",
    "pemToPkcs12Pass",
    "fullPemToPkcs12",
    "fullPemToPkcs12Pass",
    "pemTruststoreToPKCS12",
    "pemTruststoreToPKCS12Pass",
    "filterCertChain",
    "certSANs",
    "jwkPublicKeyPem",
    "jwkPrivateKeyPem",
    "toYaml",
    "rsaDecrypt",
];

pub(crate) const FUNCTIONS: &[(&str, Func)] = &[("filterPEM", filter_pem), ("fromYaml", from_yaml)];

/// `filterPEM TYPE input`: the PEM blocks of the given type (case-insensitive),
/// re-encoded with 64-character lines.
fn filter_pem(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    let wanted = String::from_utf8_lossy(string_arg(args, 0)?).into_owned();
    let input = string_arg(args, 1)?;
    let Ok(blocks) = pem::parse_many(input) else {
        return ferr("invalid PEM data");
    };
    if blocks.is_empty() && input.iter().any(|b| !b.is_ascii_whitespace()) {
        return ferr("extra data found after PEM decoding");
    }
    let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
    let mut out = String::new();
    for block in blocks
        .iter()
        .filter(|b| b.tag().eq_ignore_ascii_case(&wanted))
    {
        out.push_str(&pem::encode_config(block, config));
    }
    Ok(Value::str(out))
}

/// `fromYaml`: a YAML map as a dict (numbers become float64, as with
/// sigs.k8s.io/yaml); on error, a dict with a single `Error` entry, as Helm's
/// and ESO's implementation do.
fn from_yaml(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    let text = String::from_utf8_lossy(string_arg(args, 0)?).into_owned();
    match serde_saphyr::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Object(map)) => Ok(Value::from_json(&serde_json::Value::Object(map))),
        Ok(serde_json::Value::Null) => Ok(Value::map(Default::default())),
        Ok(_) => Ok(error_map(
            "cannot unmarshal YAML that is not a map into a dict",
        )),
        Err(_) => Ok(error_map("invalid YAML")),
    }
}

fn error_map(message: &str) -> Value {
    Value::map(
        [("Error".to_string(), Value::str(message))]
            .into_iter()
            .collect(),
    )
}
