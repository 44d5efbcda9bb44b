//! Frozen vectors produced by other implementations: the real `kubeseal` v0.36.6 and sealed-secrets'
//! Go key code (hybrid), and an independent Go implementation of docs/format.md on filippo.io/age
//! (native). Regenerate with `scripts/crypto-vectors`.

mod common;

use std::collections::BTreeMap;

use common::{age1, age2, read_json, read_vector, rsa1, rsa2};
use sealkit_crypto::keys::parse_private_keys;
use sealkit_crypto::{Binding, Diagnosis, Format, KeyRing, PrivateKey, Scope, ScopeKind, base64};

fn ring_from_file(name: &str) -> KeyRing {
    parse_private_keys(&read_vector(name))
        .unwrap()
        .into_iter()
        .collect()
}

fn str_field<'a>(value: &'a serde_json::Value, field: &str) -> &'a str {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("missing {field}"))
}

#[test]
fn kubeseal_raw_values_unseal_with_our_code() {
    let cases = read_json("kubeseal-raw.json");
    let cases = cases.as_array().unwrap();
    assert_eq!(cases.len(), 12);
    for case in cases {
        let ring = ring_from_file(str_field(case, "key"));
        let kind: ScopeKind = str_field(case, "scope").parse().unwrap();
        let scope = Scope::new(
            kind,
            Some(str_field(case, "namespace")),
            Some(str_field(case, "name")),
        )
        .unwrap();
        let blob = base64::decode(str_field(case, "sealed_b64")).unwrap();
        assert_eq!(Format::detect(&blob), Some(Format::Hybrid));
        let unsealed = ring
            .unseal(&blob, &Binding::new(scope, "any-item"))
            .unwrap_or_else(|e| panic!("{kind}: {e}: {}", e.diagnosis()));
        assert_eq!(
            unsealed.value.expose_secret(),
            base64::decode(str_field(case, "plaintext_b64")).unwrap()
        );
        assert_eq!(unsealed.key, rsa1().fingerprint());
    }
}

#[test]
fn kubeseal_sealed_secrets_unseal_in_every_scope() {
    let ring: KeyRing = [
        PrivateKey::Rsa(rsa1().clone()),
        PrivateKey::Rsa(rsa2().clone()),
    ]
    .into_iter()
    .collect();
    for scope_name in ["strict", "namespace-wide", "cluster-wide"] {
        let input = read_json(&format!("kubeseal-input-{scope_name}.json"));
        let sealed = read_json(&format!("kubeseal-sealedsecret-{scope_name}.json"));
        let metadata = &sealed["metadata"];
        let annotations: Option<BTreeMap<String, String>> =
            serde_json::from_value(metadata["annotations"].clone()).ok();
        let scope = Scope::from_annotations(
            str_field(metadata, "namespace"),
            str_field(metadata, "name"),
            annotations.as_ref(),
        );
        assert_eq!(
            scope.kind().as_str(),
            scope_name,
            "kubeseal wrote the scope annotation"
        );
        let expected = input["data"].as_object().unwrap();
        let encrypted = sealed["spec"]["encryptedData"].as_object().unwrap();
        assert_eq!(encrypted.len(), expected.len());
        for (item, value) in encrypted {
            let blob = base64::decode(value.as_str().unwrap()).unwrap();
            let unsealed = ring
                .unseal(&blob, &Binding::new(scope.clone(), item))
                .unwrap_or_else(|e| panic!("{scope_name}/{item}: {}", e.diagnosis()));
            assert_eq!(
                unsealed.value.expose_secret(),
                base64::decode(expected[item].as_str().unwrap()).unwrap(),
                "{scope_name}/{item}"
            );
            assert_eq!(unsealed.key, rsa2().fingerprint());
        }
    }
}

#[test]
fn kubeseal_values_are_refused_elsewhere_with_one_error() {
    let cases = read_json("kubeseal-raw.json");
    let strict = &cases.as_array().unwrap()[0];
    assert_eq!(str_field(strict, "scope"), "strict");
    let blob = base64::decode(str_field(strict, "sealed_b64")).unwrap();
    let ring: KeyRing = [PrivateKey::Rsa(rsa1().clone())].into_iter().collect();
    let elsewhere = [
        Scope::Strict {
            namespace: "team-b".into(),
            name: "db-credentials".into(),
        },
        Scope::Strict {
            namespace: "team-a".into(),
            name: "other".into(),
        },
        Scope::NamespaceWide {
            namespace: "team-a".into(),
        },
        Scope::ClusterWide,
    ];
    for scope in elsewhere {
        let err = ring.unseal(&blob, &Binding::new(scope, "x")).unwrap_err();
        assert_eq!(
            err.diagnosis(),
            &Diagnosis::NoKeyMatched {
                format: Format::Hybrid,
                keys_tried: 1
            }
        );
    }
    let wrong_key: KeyRing = [PrivateKey::Rsa(rsa2().clone())].into_iter().collect();
    let scope = Scope::Strict {
        namespace: "team-a".into(),
        name: "db-credentials".into(),
    };
    let err = wrong_key
        .unseal(&blob, &Binding::new(scope, "x"))
        .unwrap_err();
    assert_eq!(
        err.diagnosis(),
        &Diagnosis::NoKeyMatched {
            format: Format::Hybrid,
            keys_tried: 1
        }
    );
}

#[test]
fn native_vectors_from_an_independent_implementation_behave_as_recorded() {
    let cases = read_json("native-go.json");
    let cases = cases.as_array().unwrap();
    assert!(cases.len() >= 20);
    let ring: KeyRing = [PrivateKey::Age(age1().clone())].into_iter().collect();
    for case in cases {
        let description = str_field(case, "description");
        let kind: ScopeKind = str_field(case, "found_scope").parse().unwrap();
        let scope = Scope::new(
            kind,
            Some(str_field(case, "found_namespace")),
            Some(str_field(case, "found_name")),
        )
        .unwrap();
        let binding = Binding::new(scope, str_field(case, "found_data_key"));
        let blob = base64::decode(str_field(case, "sealed_b64")).unwrap();
        assert_eq!(Format::detect(&blob), Some(Format::Native), "{description}");
        let result = ring.unseal(&blob, &binding);
        match str_field(case, "expect") {
            "ok" => {
                let unsealed =
                    result.unwrap_or_else(|e| panic!("{description}: {}", e.diagnosis()));
                assert_eq!(
                    unsealed.value.expose_secret(),
                    base64::decode(str_field(case, "plaintext_b64")).unwrap(),
                    "{description}"
                );
                assert_eq!(unsealed.key, age1().fingerprint());
            }
            expect => {
                let err = result.expect_err(description);
                assert_eq!(err.to_string(), "cannot unseal the value");
                let matches = match expect {
                    "scope-mismatch" => matches!(err.diagnosis(), Diagnosis::ScopeMismatch { .. }),
                    "data-key-mismatch" => {
                        matches!(err.diagnosis(), Diagnosis::DataKeyMismatch { .. })
                    }
                    "no-key" => {
                        err.diagnosis()
                            == &Diagnosis::NoKeyMatched {
                                format: Format::Native,
                                keys_tried: 1,
                            }
                    }
                    "unsupported-header" => err.diagnosis() == &Diagnosis::UnsupportedHeader,
                    other => panic!("unknown expectation {other}"),
                };
                assert!(matches, "{description}: got {:?}", err.diagnosis());
            }
        }
    }
}

#[test]
fn native_vector_diagnosis_names_both_namespaces() {
    let cases = read_json("native-go.json");
    let case = cases
        .as_array()
        .unwrap()
        .iter()
        .find(|c| str_field(c, "description") == "found in another namespace")
        .unwrap();
    let ring: KeyRing = [PrivateKey::Age(age1().clone())].into_iter().collect();
    let blob = base64::decode(str_field(case, "sealed_b64")).unwrap();
    let found = Binding::new(
        Scope::Strict {
            namespace: "team-b".into(),
            name: "db".into(),
        },
        "password",
    );
    let err = ring.unseal(&blob, &found).unwrap_err();
    assert_eq!(
        err.diagnosis().to_string(),
        "sealed for `team-a/db` (strict), but found in `team-b/db` (strict)"
    );
}

#[test]
fn the_second_identity_opens_a_value_sealed_for_two() {
    let cases = read_json("native-go.json");
    let case = cases
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["recipients"].as_array().unwrap().len() == 2)
        .unwrap();
    let blob = base64::decode(str_field(case, "sealed_b64")).unwrap();
    let binding = Binding::new(
        Scope::Strict {
            namespace: "team-a".into(),
            name: "db".into(),
        },
        "password",
    );
    for identity in [age1(), age2()] {
        let ring: KeyRing = [PrivateKey::Age(identity.clone())].into_iter().collect();
        let unsealed = ring.unseal(&blob, &binding).unwrap();
        assert_eq!(unsealed.value.expose_secret(), b"s3cret");
        assert_eq!(unsealed.key, identity.fingerprint());
    }
}

#[test]
fn our_hybrid_values_were_opened_by_kubeseal_recovery_unseal() {
    let record = String::from_utf8(read_vector("kubeseal-recovery-unseal.txt")).unwrap();
    for key_file in [
        "bitnami-key-1.yaml",
        "bitnami-keys-list.yaml",
        "bitnami-key-1.pkcs1.pem",
        "bitnami-key-1.pkcs8.pem",
    ] {
        assert!(
            record
                .lines()
                .any(|l| l.starts_with(&format!("{key_file}: ok"))),
            "kubeseal --recovery-unseal with {key_file} not recorded as ok"
        );
    }
    // And the recorded file still unseals with our code.
    let sealed = read_json("ours-hybrid-sealedsecret.json");
    let input = read_json("kubeseal-input-strict.json");
    let scope = Scope::Strict {
        namespace: "team-a".into(),
        name: "db-credentials".into(),
    };
    let ring: KeyRing = [PrivateKey::Rsa(rsa1().clone())].into_iter().collect();
    for (item, value) in sealed["spec"]["encryptedData"].as_object().unwrap() {
        let blob = base64::decode(value.as_str().unwrap()).unwrap();
        let unsealed = ring
            .unseal(&blob, &Binding::new(scope.clone(), item))
            .unwrap();
        assert_eq!(
            unsealed.value.expose_secret(),
            base64::decode(input["data"][item].as_str().unwrap()).unwrap()
        );
    }
}

#[test]
fn bitnami_key_files_parse_in_every_format_with_go_fingerprints() {
    for n in [1, 2] {
        let go_fingerprint =
            String::from_utf8(read_vector(&format!("bitnami-key-{n}.fingerprint"))).unwrap();
        let expected = format!("rsa:{}", go_fingerprint.trim());
        for file in [
            format!("bitnami-key-{n}.yaml"),
            format!("bitnami-key-{n}.pkcs1.pem"),
            format!("bitnami-key-{n}.pkcs8.pem"),
        ] {
            let keys = parse_private_keys(&read_vector(&file)).unwrap();
            let fingerprints: Vec<String> =
                keys.iter().map(|k| k.fingerprint().to_string()).collect();
            assert_eq!(fingerprints, vec![expected.clone()], "{file}");
        }
    }
    let list = parse_private_keys(&read_vector("bitnami-keys-list.yaml")).unwrap();
    assert_eq!(
        list.iter().map(PrivateKey::fingerprint).collect::<Vec<_>>(),
        vec![rsa1().fingerprint(), rsa2().fingerprint()]
    );
}

#[test]
fn bitnami_certificates_parse_leniently() {
    use sealkit_crypto::Certificate;
    use std::time::Duration;
    for (n, key) in [(1, rsa1()), (2, rsa2())] {
        let cert = Certificate::from_pem(&read_vector(&format!("bitnami-cert-{n}.pem"))).unwrap();
        assert_eq!(cert.public_key(), key.public_key());
        assert_eq!(cert.public_key().bits(), 4096);
        let validity = cert.not_after().duration_since(cert.not_before()).unwrap();
        assert_eq!(validity, Duration::from_secs(87_600 * 3600));
    }
}

#[test]
fn bitnami_key_secret_reads_as_a_key_pair() {
    use sealkit_crypto::KeyPair;
    let secret: serde_json::Value = {
        let text = String::from_utf8(read_vector("bitnami-key-1.yaml")).unwrap();
        // The Secret is YAML; its data lines are `  tls.crt: <base64>`.
        let field = |key: &str| {
            let line = text
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("{key}:")))
                .unwrap();
            serde_json::Value::String(line.split_once(": ").unwrap().1.trim().to_owned())
        };
        serde_json::json!({ "crt": field("tls.crt"), "key": field("tls.key") })
    };
    let crt = base64::decode(secret["crt"].as_str().unwrap()).unwrap();
    let key = base64::decode(secret["key"].as_str().unwrap()).unwrap();
    let pair = KeyPair::from_secret_fields(&crt, &key, None).unwrap();
    assert_eq!(pair.rsa().fingerprint(), rsa1().fingerprint());
    assert!(pair.age().is_none());
    let mismatched = read_vector("bitnami-cert-2.pem");
    assert!(KeyPair::from_secret_fields(&mismatched, &key, None).is_err());
}
