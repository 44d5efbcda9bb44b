//! The hashes External Secrets Operator writes, reproduced bit for bit so Secrets it manages are
//! adopted without a rewrite: sha3-224 over Go's `fmt "%+v"` rendering of the value.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sha3::{Digest, Sha3_224};

fn sha3_224_hex(text: &[u8]) -> String {
    hex::encode(Sha3_224::digest(text))
}

/// `reconcile.external-secrets.io/data-hash`: sha3-224 of Go `%+v` of `map[string][]byte`,
/// i.e. `map[k1:[1 2 3] k2:[]]` with keys in byte order.
pub fn data_hash(data: &BTreeMap<String, Vec<u8>>) -> String {
    let mut text = String::from("map[");
    for (i, (key, value)) in data.iter().enumerate() {
        if i > 0 {
            text.push(' ');
        }
        text.push_str(key);
        text.push_str(":[");
        for (j, byte) in value.iter().enumerate() {
            if j > 0 {
                text.push(' ');
            }
            let _ = write!(text, "{byte}");
        }
        text.push(']');
    }
    text.push(']');
    sha3_224_hex(text.as_bytes())
}

/// `reconcile.external-secrets.io/created-by`: sha3-224 of `"<namespace>/<name>"` of the ES.
pub fn created_by(namespace: &str, name: &str) -> String {
    sha3_224_hex(format!("{namespace}/{name}").as_bytes())
}

fn go_string_map(map: Option<&BTreeMap<String, String>>) -> String {
    let mut text = String::from("map[");
    if let Some(map) = map {
        for (i, (k, v)) in map.iter().enumerate() {
            if i > 0 {
                text.push(' ');
            }
            let _ = write!(text, "{k}:{v}");
        }
    }
    text.push(']');
    text
}

/// `status.syncedResourceVersion`: `"<generation>-<sha3-224 of {annotations:map[..] labels:map[..]}>"`.
pub fn synced_resource_version(
    generation: i64,
    labels: Option<&BTreeMap<String, String>>,
    annotations: Option<&BTreeMap<String, String>>,
) -> String {
    let text = format!(
        "{{annotations:{} labels:{}}}",
        go_string_map(annotations),
        go_string_map(labels)
    );
    format!("{generation}-{}", sha3_224_hex(text.as_bytes()))
}

/// ESO's field manager name for an ExternalSecret (`…/sha3/<hex>` when longer than 63 characters).
pub fn field_manager(es_name: &str) -> String {
    let prefix = "externalsecrets.external-secrets.io";
    if es_name.len() > 63 {
        format!("{prefix}/sha3/{}", sha3_224_hex(es_name.as_bytes()))
    } else {
        format!("{prefix}/{es_name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values computed with Python's hashlib.sha3_224 over the Go rendering; the first
    // is ESO's own vector from runtime/esutils/utils_test.go.
    #[test]
    fn data_hash_matches_the_eso_test_vector() {
        let data = BTreeMap::from([
            ("foo".to_owned(), b"value1".to_vec()),
            ("bar".to_owned(), b"value2".to_vec()),
        ]);
        assert_eq!(
            data_hash(&data),
            "1bed8bcbcb4547ffe19a19cd47d9078e84aa6598266d86b99f992d64"
        );
    }

    #[test]
    fn data_hash_of_empty_data_and_empty_values_match_go() {
        assert_eq!(
            data_hash(&BTreeMap::new()),
            "74a974446e359fb3e6baff9bd0058950e6edd0f040888d9989b0a11b"
        );
        let empty_value = BTreeMap::from([("e".to_owned(), Vec::new())]);
        assert_eq!(
            data_hash(&empty_value),
            "5e7900af0aeff55a15855b20a5b21d7b4716d3670ef8cf129d359e86"
        );
    }

    #[test]
    fn created_by_hashes_namespace_slash_name() {
        assert_eq!(
            created_by("ns", "app"),
            "167f89bed2a98a8e396edb2463d96fd47c9f917511cc1c2a3817e80e"
        );
    }

    #[test]
    fn synced_resource_version_hashes_annotations_then_labels() {
        let annotations = BTreeMap::from([("a".to_owned(), "b".to_owned())]);
        assert_eq!(
            synced_resource_version(3, None, Some(&annotations)),
            "3-bf2e191ffa050d7e5617bad52426046fb9b3f137ba45f6c09b8f320b"
        );
    }

    #[test]
    fn long_names_get_a_hashed_field_manager() {
        assert_eq!(
            field_manager("app"),
            "externalsecrets.external-secrets.io/app"
        );
        assert!(
            field_manager(&"x".repeat(64)).starts_with("externalsecrets.external-secrets.io/sha3/")
        );
    }
}
