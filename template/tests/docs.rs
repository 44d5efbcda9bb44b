//! `docs/templates.md` lists exactly the functions this crate implements and
//! the ones it does not.

use sealkit_template::{Dialect, functions, unsupported_functions};

/// The backticked identifiers (function names; other code spans such as
/// `addf 0.1 0.2` are prose) between `<!-- begin NAME -->` and
/// `<!-- end NAME -->`.
fn listed(doc: &str, section: &str) -> Vec<String> {
    let begin = format!("<!-- begin {section} -->");
    let end = format!("<!-- end {section} -->");
    let start = doc
        .find(&begin)
        .unwrap_or_else(|| panic!("missing {begin}"))
        + begin.len();
    let stop = doc[start..]
        .find(&end)
        .unwrap_or_else(|| panic!("missing {end}"))
        + start;
    let is_identifier = |s: &&str| {
        s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let mut names: Vec<String> = doc[start..stop]
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(is_identifier)
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    names
}

fn owned(names: Vec<&'static str>) -> Vec<String> {
    names.into_iter().map(str::to_string).collect()
}

#[test]
fn templates_doc_lists_exactly_the_implemented_and_missing_functions() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/templates.md"))
        .expect("docs/templates.md exists");
    let sealed = owned(functions(Dialect::SealedSecrets));
    let external = owned(functions(Dialect::ExternalSecrets));
    let eso_only: Vec<String> = external
        .iter()
        .filter(|f| !sealed.contains(f))
        .cloned()
        .collect();
    assert_eq!(
        listed(&doc, "both-dialects"),
        sealed,
        "docs: functions of both dialects"
    );
    assert_eq!(
        listed(&doc, "eso-only"),
        eso_only,
        "docs: ESO-only functions"
    );
    let missing_sealed = owned(unsupported_functions(Dialect::SealedSecrets));
    let missing_external = owned(unsupported_functions(Dialect::ExternalSecrets));
    let missing_eso_only: Vec<String> = missing_external
        .iter()
        .filter(|f| !missing_sealed.contains(f))
        .cloned()
        .collect();
    assert_eq!(
        listed(&doc, "unsupported-sprig"),
        missing_sealed,
        "docs: unsupported Sprig functions"
    );
    assert_eq!(
        listed(&doc, "unsupported-eso"),
        missing_eso_only,
        "docs: unsupported ESO functions"
    );
}
