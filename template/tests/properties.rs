//! Property tests: arbitrary input never panics, values pass through intact.

use std::collections::BTreeMap;

use proptest::prelude::*;
use sealkit_template::{Dialect, TemplateError, render};

/// Template-like text: fragments of real syntax in random order, so the
/// parser and executor see many almost-valid programs.
fn template_text() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        Just("{{ ".to_string()),
        Just("{{- ".to_string()),
        Just(" }}".to_string()),
        Just(" -}}".to_string()),
        Just("{{/* c */}}".to_string()),
        Just("if ".to_string()),
        Just("else ".to_string()),
        Just("end".to_string()),
        Just("range ".to_string()),
        Just("with ".to_string()),
        Just("define \"t\"".to_string()),
        Just("template \"t\" ".to_string()),
        Just("break".to_string()),
        Just(".a".to_string()),
        Just(".b.c".to_string()),
        Just("$x := ".to_string()),
        Just("$x".to_string()),
        Just("$k, $v := ".to_string()),
        Just("$".to_string()),
        Just(" | ".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just("\"s\"".to_string()),
        Just("`raw`".to_string()),
        Just("'c'".to_string()),
        Just("-1.5e3".to_string()),
        Just("0x1F".to_string()),
        Just("nil".to_string()),
        Just("true".to_string()),
        Just(" ".to_string()),
        Just("\n".to_string()),
        Just("text".to_string()),
        Just("printf \"%s %d %v %q %x %5.2f %[2]s %*d\" ".to_string()),
        Just("index . \"a\" ".to_string()),
        Just("toJson ".to_string()),
        Just("fromJson ".to_string()),
        Just("b64dec ".to_string()),
        Just("list 1 \"a\" ".to_string()),
        Just("dict \"k\" ".to_string()),
        Just("until 3 ".to_string()),
        Just("default \"d\" ".to_string()),
        Just("eq ".to_string()),
        Just("and ".to_string()),
        Just("len ".to_string()),
        Just("slice ".to_string()),
        Just("regexReplaceAll \"a(\" ".to_string()),
        Just("substr 2 1 ".to_string()),
        "[a-z{}()|.$\"'` -]{0,4}".prop_map(|s| s),
    ];
    prop::collection::vec(fragment, 0..24).prop_map(|parts| parts.concat())
}

fn data(a: Vec<u8>, b: Vec<u8>) -> BTreeMap<String, Vec<u8>> {
    BTreeMap::from([("a".to_string(), a), ("b".to_string(), b)])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_templates_never_panic(text in template_text(), a in prop::collection::vec(any::<u8>(), 0..16)) {
        for dialect in [Dialect::SealedSecrets, Dialect::ExternalSecrets] {
            match render(&text, &data(a.clone(), b"{\"c\":[1]}".to_vec()), dialect) {
                Ok(_) | Err(TemplateError::Parse { .. }) | Err(TemplateError::Execute { .. }) => {}
                Err(other) => prop_assert!(false, "unexpected error variant {other:?}"),
            }
        }
    }

    #[test]
    fn arbitrary_unicode_text_never_panics(text in "\\PC{0,40}") {
        let _ = render(&text, &data(Vec::new(), Vec::new()), Dialect::SealedSecrets);
    }

    #[test]
    fn printing_a_value_returns_its_exact_bytes(v in prop::collection::vec(any::<u8>(), 0..256)) {
        let out = render("{{ .a }}", &data(v.clone(), Vec::new()), Dialect::ExternalSecrets).expect("renders");
        prop_assert_eq!(out, v);
    }

    #[test]
    fn b64enc_then_b64dec_returns_any_bytes(v in prop::collection::vec(any::<u8>(), 0..256)) {
        let out = render("{{ .a | b64enc | b64dec }}", &data(v.clone(), Vec::new()), Dialect::SealedSecrets)
            .expect("renders");
        prop_assert_eq!(out, v);
    }

    #[test]
    fn errors_never_contain_the_values(secret in "[A-Za-z0-9]{12,24}", text in template_text()) {
        let values = data(secret.clone().into_bytes(), secret.clone().into_bytes());
        for dialect in [Dialect::SealedSecrets, Dialect::ExternalSecrets] {
            if let Err(e) = render(&text, &values, dialect) {
                let shown = format!("{e} {e:?}");
                prop_assert!(!shown.contains(&secret), "value in error for {:?}: {}", text, shown);
            }
        }
    }
}
