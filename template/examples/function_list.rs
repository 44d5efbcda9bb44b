//! Prints the implemented and unsupported functions per dialect (used to
//! keep `docs/templates.md` in sync).

use sealkit_template::{Dialect, functions, unsupported_functions};

fn main() {
    for dialect in [Dialect::SealedSecrets, Dialect::ExternalSecrets] {
        println!("{dialect:?} implemented: {}", functions(dialect).join(" "));
        println!(
            "{dialect:?} unsupported: {}",
            unsupported_functions(dialect).join(" ")
        );
    }
}
