//! Go `text/template` rendering with the Sprig function subset used by
//! sealed-secrets and External Secrets Operator templates.
//!
//! Start with [`render`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::collections::BTreeMap;

/// Which product's function set and missing-key semantics apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Bitnami sealed-secrets: Sprig's generic function map minus
    /// `env`, `expandenv` and `getHostByName`.
    SealedSecrets,
    /// External Secrets Operator template engine v2 (`missingkey=error`).
    ExternalSecrets,
}

/// A template failed to parse or to execute. Messages never contain a value:
/// only positions, function names and key names.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The template text is not valid.
    #[error("template parse error at line {line}, column {column}: {message}")]
    Parse {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong (never contains a value).
        message: String,
    },
    /// Execution failed.
    #[error("template execution error at line {line}, column {column}: {message}")]
    Execute {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong (never contains a value).
        message: String,
    },
}

/// Render `text` with `values` as the dot context.
pub fn render(
    text: &str,
    values: &BTreeMap<String, Vec<u8>>,
    dialect: Dialect,
) -> Result<Vec<u8>, TemplateError> {
    let _ = (values, dialect);
    Err(TemplateError::Parse {
        line: 1,
        column: 1,
        message: format!("template engine not implemented yet ({} bytes of text)", text.len()),
    })
}
