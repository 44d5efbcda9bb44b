//! Go `text/template` rendering with the Sprig function set, as Bitnami
//! sealed-secrets (`spec.template.data`) and the External Secrets Operator
//! (`spec.target.template`, engine v2) evaluate their templates.
//!
//! Start with [`render`]: the template text, the secret values (the template's
//! dot is a map of key to string, exactly like the Go controllers build it)
//! and a [`Dialect`] that picks the function set and the missing-key rule.
//!
//! ```
//! use std::collections::BTreeMap;
//! use sealkit_template::{render, Dialect, TemplateError};
//!
//! let mut values = BTreeMap::new();
//! values.insert("server1".to_string(), b"s3cr\"t".to_vec());
//! values.insert("db-user".to_string(), b"admin".to_vec());
//!
//! let out = render(
//!     r#"{"password": {{ toJson .server1 }}, "user": {{ index . "db-user" | quote }}}"#,
//!     &values,
//!     Dialect::SealedSecrets,
//! )?;
//! assert_eq!(out, br#"{"password": "s3cr\"t", "user": "admin"}"#);
//!
//! // External Secrets: a missing key is an error; the message names the key
//! // and the position, never a value.
//! let err = render("{{ .nope }}", &values, Dialect::ExternalSecrets).unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "template execution error at line 1, column 4: map has no entry for key \"nope\""
//! );
//! # Ok::<(), TemplateError>(())
//! ```
//!
//! Values are bytes: a value that is not valid UTF-8 is kept byte for byte
//! when it is printed or passed through byte-oriented functions (`b64enc`,
//! `sha256sum`, `trim`, `replace`, `index`...); text functions (`upper`,
//! `regex*`, `toJson`) see invalid sequences as U+FFFD, like Go's. See
//! `docs/templates.md` for the function list and the known differences.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod date;
mod eso;
mod execution;
mod function;
mod json;
mod printf;
mod sprig;
mod syntax;
mod url;
mod value;

use std::collections::BTreeMap;

use execution::MissingKey;

/// Which product's function set and missing-key semantics apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// Bitnami sealed-secrets: Sprig's generic function map minus
    /// `env`, `expandenv` and `getHostByName`; a missing key prints
    /// `<no value>` (Go's default).
    SealedSecrets,
    /// External Secrets Operator template engine v2: the same Sprig map plus
    /// ESO's functions, executed with `missingkey=error`.
    ExternalSecrets,
}

impl Dialect {
    fn missing_key(self) -> MissingKey {
        match self {
            Dialect::SealedSecrets => MissingKey::Invalid,
            Dialect::ExternalSecrets => MissingKey::Error,
        }
    }
}

/// A template failed to parse or to execute. Messages never contain a value:
/// only positions, function names and key names.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The template text is not valid (including a call to a function that
    /// does not exist or is not supported).
    #[error("template parse error at line {line}, column {column}: {message}")]
    Parse {
        /// 1-based line.
        line: usize,
        /// 1-based column (in characters).
        column: usize,
        /// What is wrong (never contains a value).
        message: String,
    },
    /// Execution failed (missing key, a function's error, type mismatch).
    #[error("template execution error at line {line}, column {column}: {message}")]
    Execute {
        /// 1-based line.
        line: usize,
        /// 1-based column (in characters).
        column: usize,
        /// What is wrong (never contains a value).
        message: String,
    },
}

/// Render `text` with `values` as the dot context.
///
/// The dot is a `map[string]string` of `values` (bytes kept as they are, as
/// Go's `string([]byte)` does). The output is the rendered bytes.
pub fn render(
    text: &str,
    values: &BTreeMap<String, Vec<u8>>,
    dialect: Dialect,
) -> Result<Vec<u8>, TemplateError> {
    let tree = syntax::parse(text, &|name| function::status(dialect, name)).map_err(|e| {
        let (line, column) = syntax::line_column(text, e.pos);
        TemplateError::Parse {
            line,
            column,
            message: e.message,
        }
    })?;
    execution::execute(
        &tree,
        execution::data_from(values),
        dialect,
        dialect.missing_key(),
    )
    .map_err(|e| {
        let (line, column) = syntax::line_column(text, e.pos);
        TemplateError::Execute {
            line,
            column,
            message: e.message,
        }
    })
}

/// Check that `text` parses for `dialect` (syntax, known functions,
/// declared variables) without executing it.
pub fn validate(text: &str, dialect: Dialect) -> Result<(), TemplateError> {
    syntax::parse(text, &|name| function::status(dialect, name))
        .map(|_| ())
        .map_err(|e| {
            let (line, column) = syntax::line_column(text, e.pos);
            TemplateError::Parse {
                line,
                column,
                message: e.message,
            }
        })
}

/// The names of every function a template can call in `dialect`, sorted.
pub fn functions(dialect: Dialect) -> Vec<&'static str> {
    function::names(dialect)
}

/// The names of the functions `dialect` defines (Sprig or ESO) that this
/// crate does not implement; a template calling one fails to parse with
/// "function X is not supported by sealkit". Sorted.
pub fn unsupported_functions(dialect: Dialect) -> Vec<&'static str> {
    function::unsupported_names(dialect)
}

#[cfg(test)]
mod tests;
