//! Property tests: both formats round-trip over arbitrary values, names and scopes; every way of
//! finding a value in the wrong place, opening it with the wrong key, or flipping one bit fails
//! with the one `UnsealError`.

mod common;

use common::{age1, age2, rsa1, rsa2};
use proptest::prelude::*;
use sealkit_crypto::{
    AgeRecipient, Binding, Diagnosis, Format, KeyRing, PrivateKey, Scope, SealingTarget,
    UnsealError,
};

const MESSAGE: &str = "cannot unseal the value";

fn name() -> impl Strategy<Value = String> {
    // Kubernetes names (no `/`, so every scope has a distinct Bitnami label).
    "[a-z0-9]([a-z0-9.-]{0,30}[a-z0-9])?"
}

fn scope() -> impl Strategy<Value = Scope> {
    prop_oneof![
        (name(), name()).prop_map(|(namespace, name)| Scope::Strict { namespace, name }),
        name().prop_map(|namespace| Scope::NamespaceWide { namespace }),
        Just(Scope::ClusterWide),
    ]
}

fn binding() -> impl Strategy<Value = Binding> {
    (scope(), "[-._a-zA-Z0-9]{1,40}").prop_map(|(scope, key)| Binding::new(scope, key))
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..2048)
}

/// Another scope that differs from `scope` in exactly one visible way.
fn moved(scope: &Scope, other: &str) -> Vec<Scope> {
    let mut out = vec![];
    match scope {
        Scope::Strict { namespace, name } => {
            out.push(Scope::Strict {
                namespace: format!("{namespace}{other}"),
                name: name.clone(),
            });
            out.push(Scope::Strict {
                namespace: namespace.clone(),
                name: format!("{name}{other}"),
            });
            out.push(Scope::NamespaceWide {
                namespace: namespace.clone(),
            });
            out.push(Scope::ClusterWide);
        }
        Scope::NamespaceWide { namespace } => {
            out.push(Scope::NamespaceWide {
                namespace: format!("{namespace}{other}"),
            });
            out.push(Scope::Strict {
                namespace: namespace.clone(),
                name: other.to_owned(),
            });
            out.push(Scope::ClusterWide);
        }
        Scope::ClusterWide => {
            out.push(Scope::NamespaceWide {
                namespace: other.to_owned(),
            });
            out.push(Scope::Strict {
                namespace: other.to_owned(),
                name: other.to_owned(),
            });
        }
    }
    out
}

fn ring(keys: &[PrivateKey]) -> KeyRing {
    keys.iter().cloned().collect()
}

fn native_target() -> SealingTarget {
    SealingTarget::Native(vec![age1().recipient().clone()])
}

fn hybrid_target() -> SealingTarget {
    SealingTarget::Hybrid(rsa1().public_key().clone())
}

fn full_ring() -> KeyRing {
    ring(&[
        PrivateKey::Age(age1().clone()),
        PrivateKey::Rsa(rsa1().clone()),
    ])
}

/// The failures that need no key at all to be told apart (anyone can parse the framing).
fn is_keyless_diagnosis(err: &UnsealError, format: Format) -> bool {
    matches!(err.diagnosis(), Diagnosis::UnknownFormat)
        || err.diagnosis() == &Diagnosis::Malformed { format }
        || matches!(err.diagnosis(), Diagnosis::NoKeyMatched { format: f, .. } if *f == format)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn native_values_round_trip(binding in binding(), value in value()) {
        let sealed = native_target().seal(&binding, &value).unwrap();
        prop_assert_eq!(Format::detect(&sealed), Some(Format::Native));
        let unsealed = full_ring().unseal(&sealed, &binding).unwrap();
        prop_assert_eq!(unsealed.value.expose_secret(), value.as_slice());
        prop_assert_eq!(unsealed.key, age1().fingerprint());
        prop_assert_eq!(unsealed.format, Format::Native);
    }

    #[test]
    fn native_values_for_several_recipients_open_with_each(binding in binding(), value in value()) {
        let extra: AgeRecipient = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p".parse().unwrap();
        let target = SealingTarget::Native(vec![age1().recipient().clone(), extra, age2().recipient().clone()]);
        let sealed = target.seal(&binding, &value).unwrap();
        for identity in [age1(), age2()] {
            let unsealed = ring(&[PrivateKey::Age(identity.clone())]).unseal(&sealed, &binding).unwrap();
            prop_assert_eq!(unsealed.value.expose_secret(), value.as_slice());
            prop_assert_eq!(unsealed.key, identity.fingerprint());
        }
    }

    #[test]
    fn hybrid_values_round_trip(binding in binding(), value in value()) {
        let sealed = hybrid_target().seal(&binding, &value).unwrap();
        prop_assert_eq!(Format::detect(&sealed), Some(Format::Hybrid));
        prop_assert_eq!(sealed.len(), 2 + 512 + value.len() + 16);
        prop_assert_eq!(&sealed[..2], &[0x02, 0x00]);
        let unsealed = full_ring().unseal(&sealed, &binding).unwrap();
        prop_assert_eq!(unsealed.value.expose_secret(), value.as_slice());
        prop_assert_eq!(unsealed.key, rsa1().fingerprint());
    }

    #[test]
    fn native_values_found_elsewhere_are_refused(binding in binding(), value in value(), other in name()) {
        let sealed = native_target().seal(&binding, &value).unwrap();
        for scope in moved(&binding.scope, &other) {
            let found = Binding::new(scope.clone(), binding.data_key.clone());
            let err = full_ring().unseal(&sealed, &found).unwrap_err();
            prop_assert_eq!(err.to_string(), MESSAGE);
            prop_assert_eq!(
                err.diagnosis(),
                &Diagnosis::ScopeMismatch { sealed: binding.scope.clone(), found: scope }
            );
        }
        let renamed = Binding::new(binding.scope.clone(), format!("{}x", binding.data_key));
        let err = full_ring().unseal(&sealed, &renamed).unwrap_err();
        prop_assert_eq!(err.to_string(), MESSAGE);
        prop_assert_eq!(
            err.diagnosis(),
            &Diagnosis::DataKeyMismatch { sealed: binding.data_key.clone(), found: renamed.data_key.clone() }
        );
    }

    #[test]
    fn hybrid_failures_are_indistinguishable(binding in binding(), value in value(), other in name()) {
        let sealed = hybrid_target().seal(&binding, &value).unwrap();
        let ring = full_ring();
        let expected = Diagnosis::NoKeyMatched { format: Format::Hybrid, keys_tried: 1 };
        for scope in moved(&binding.scope, &other) {
            let err = ring.unseal(&sealed, &Binding::new(scope, binding.data_key.clone())).unwrap_err();
            prop_assert_eq!(err.diagnosis(), &expected);
        }
        let wrong_key = ring_of_rsa2();
        let err = wrong_key.unseal(&sealed, &binding).unwrap_err();
        prop_assert_eq!(err.diagnosis(), &expected);
        // Body flips (after the length prefix) fail exactly like a wrong key or a wrong scope.
        for bit in [16usize, 8 * 100 + 3, 8 * 514 + 1, 8 * sealed.len() - 1] {
            let mut flipped = sealed.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            let err = ring.unseal(&flipped, &binding).unwrap_err();
            prop_assert_eq!(err.diagnosis(), &expected);
        }
    }

    #[test]
    fn native_values_for_another_key_are_refused(binding in binding(), value in value()) {
        let sealed = SealingTarget::Native(vec![age2().recipient().clone()]).seal(&binding, &value).unwrap();
        let err = full_ring().unseal(&sealed, &binding).unwrap_err();
        prop_assert_eq!(err.to_string(), MESSAGE);
        prop_assert_eq!(err.diagnosis(), &Diagnosis::NoKeyMatched { format: Format::Native, keys_tried: 1 });
    }

    #[test]
    fn one_flipped_bit_always_fails_the_same_way(
        binding in binding(),
        value in prop::collection::vec(any::<u8>(), 0..256),
        position in any::<prop::sample::Index>(),
    ) {
        let ring = full_ring();
        for (target, format) in [(native_target(), Format::Native), (hybrid_target(), Format::Hybrid)] {
            let sealed = target.seal(&binding, &value).unwrap();
            let bit = position.index(sealed.len() * 8);
            let mut flipped = sealed.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            let err = ring.unseal(&flipped, &binding).unwrap_err();
            prop_assert_eq!(err.to_string(), MESSAGE);
            prop_assert!(is_keyless_diagnosis(&err, format), "bit {} gave {:?}", bit, err.diagnosis());
        }
    }

    #[test]
    fn truncated_values_always_fail_the_same_way(binding in binding(), cut in any::<prop::sample::Index>()) {
        let ring = full_ring();
        for (target, format) in [(native_target(), Format::Native), (hybrid_target(), Format::Hybrid)] {
            let sealed = target.seal(&binding, b"value").unwrap();
            let truncated = &sealed[..cut.index(sealed.len())];
            let err = ring.unseal(truncated, &binding).unwrap_err();
            prop_assert_eq!(err.to_string(), MESSAGE);
            prop_assert!(is_keyless_diagnosis(&err, format), "cut gave {:?}", err.diagnosis());
        }
    }

    #[test]
    fn arbitrary_bytes_never_unseal(bytes in prop::collection::vec(any::<u8>(), 0..1024), binding in binding()) {
        let err = full_ring().unseal(&bytes, &binding).unwrap_err();
        prop_assert_eq!(err.to_string(), MESSAGE);
    }
}

fn ring_of_rsa2() -> KeyRing {
    ring(&[PrivateKey::Rsa(rsa2().clone())])
}

#[test]
fn hybrid_values_may_be_renamed_like_bitnami() {
    // The Bitnami format does not bind the item name; only native values do.
    let scope = Scope::Strict {
        namespace: "ns".into(),
        name: "db".into(),
    };
    let sealed = hybrid_target()
        .seal(&Binding::new(scope.clone(), "password"), b"v")
        .unwrap();
    let unsealed = full_ring()
        .unseal(&sealed, &Binding::new(scope, "renamed"))
        .unwrap();
    assert_eq!(unsealed.value.expose_secret(), b"v");
}

#[test]
fn a_ring_reports_the_key_that_opened_each_value() {
    let ring = ring(&[
        PrivateKey::Rsa(rsa2().clone()),
        PrivateKey::Rsa(rsa1().clone()),
        PrivateKey::Age(age2().clone()),
        PrivateKey::Age(age1().clone()),
    ]);
    let binding = Binding::new(Scope::ClusterWide, "k");
    for (target, key) in [
        (
            SealingTarget::Hybrid(rsa1().public_key().clone()),
            rsa1().fingerprint(),
        ),
        (
            SealingTarget::Hybrid(rsa2().public_key().clone()),
            rsa2().fingerprint(),
        ),
        (
            SealingTarget::Native(vec![age1().recipient().clone()]),
            age1().fingerprint(),
        ),
        (
            SealingTarget::Native(vec![age2().recipient().clone()]),
            age2().fingerprint(),
        ),
    ] {
        let sealed = target.seal(&binding, b"v").unwrap();
        // Twice: the second time the last successful key goes first.
        for _ in 0..2 {
            assert_eq!(ring.unseal(&sealed, &binding).unwrap().key, key);
        }
    }
}

#[test]
fn an_empty_ring_unseals_nothing() {
    let binding = Binding::new(Scope::ClusterWide, "k");
    let sealed = native_target().seal(&binding, b"v").unwrap();
    let err = KeyRing::new().unseal(&sealed, &binding).unwrap_err();
    assert_eq!(
        err.diagnosis(),
        &Diagnosis::NoKeyMatched {
            format: Format::Native,
            keys_tried: 0
        }
    );
}

#[test]
fn native_sealing_needs_a_recipient() {
    let binding = Binding::new(Scope::ClusterWide, "k");
    assert!(SealingTarget::Native(vec![]).seal(&binding, b"v").is_err());
}

#[test]
fn hybrid_values_in_a_sealed_secret_missing_its_scope_annotation_are_explained() {
    let ring = full_ring();
    let sealed = hybrid_target()
        .seal(&Binding::new(Scope::ClusterWide, "k"), b"v")
        .unwrap();
    let found = Binding::new(Scope::from_annotations("ns", "db", None), "k");
    let plain = ring.unseal(&sealed, &found).unwrap_err();
    assert!(matches!(plain.diagnosis(), Diagnosis::NoKeyMatched { .. }));
    let explained = ring
        .unseal_explained(&sealed, &found, "ns", "db")
        .unwrap_err();
    assert_eq!(explained.to_string(), plain.to_string());
    assert_eq!(
        explained.diagnosis(),
        &Diagnosis::ScopeMismatch {
            sealed: Scope::ClusterWide,
            found: found.scope.clone()
        }
    );
    assert_eq!(
        explained.diagnosis().to_string(),
        "sealed for any namespace (cluster-wide), but found in `ns/db` (strict); annotate the \
         SealedSecret's metadata (not the template) with `sealedsecrets.bitnami.com/cluster-wide: \"true\"`"
    );
    // A value for another key stays unexplained.
    let foreign = SealingTarget::Hybrid(rsa2().public_key().clone())
        .seal(&Binding::new(Scope::ClusterWide, "k"), b"v")
        .unwrap();
    let err = ring
        .unseal_explained(&foreign, &found, "ns", "db")
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
fn removed_keys_no_longer_unseal() {
    let mut ring = full_ring();
    let binding = Binding::new(Scope::ClusterWide, "k");
    let sealed = hybrid_target().seal(&binding, b"v").unwrap();
    assert!(ring.unseal(&sealed, &binding).is_ok());
    assert!(ring.remove(&rsa1().fingerprint()));
    assert!(!ring.remove(&rsa1().fingerprint()));
    assert_eq!(ring.len(), 1);
    assert!(ring.unseal(&sealed, &binding).is_err());
}
