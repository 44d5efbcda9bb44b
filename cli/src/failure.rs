//! The CLI's error: one line saying what is wrong, the cause chain, a hint saying what to do,
//! and the exit code (1 for user or input errors, 2 for internal errors).
//!
//! Messages are built from facts that are not secret (file names, key names, document
//! numbers); no secret value is ever put into one.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Bad input, bad flags, missing files, a cluster that says no: exit code 1.
    User,
    /// A bug or an environment failure sealkit cannot blame on the input: exit code 2.
    Internal,
}

#[derive(Debug)]
pub struct Failure {
    message: String,
    causes: Vec<String>,
    hint: Option<String>,
    severity: Severity,
}

pub type Outcome<T> = Result<T, Failure>;

impl Failure {
    pub fn user(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            causes: Vec::new(),
            hint: None,
            severity: Severity::User,
        }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            causes: Vec::new(),
            hint: None,
            severity: Severity::Internal,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn hint_if_none(mut self, hint: impl Into<String>) -> Self {
        if self.hint.is_none() {
            self.hint = Some(hint.into());
        }
        self
    }

    /// Append an error and its `source()` chain as causes.
    pub fn because(mut self, err: &(dyn std::error::Error + 'static)) -> Self {
        let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
        while let Some(e) = current {
            let text = e.to_string();
            // Many errors repeat their source's text; keep the chain short.
            if !self.causes.iter().any(|c| c == &text) && text != self.message {
                self.causes.push(text);
            }
            current = e.source();
        }
        self
    }

    pub fn cause(mut self, text: impl Into<String>) -> Self {
        self.causes.push(text.into());
        self
    }

    /// Prefix the message with context, e.g. the file being processed.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn exit_code(&self) -> i32 {
        match self.severity {
            Severity::User => 1,
            Severity::Internal => 2,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        for cause in &self.causes {
            writeln!(f, "  caused by: {cause}")?;
        }
        if let Some(hint) = &self.hint {
            writeln!(f, "hint: {hint}")?;
        }
        Ok(())
    }
}

impl From<std::io::Error> for Failure {
    fn from(err: std::io::Error) -> Self {
        Failure::user("input/output error").because(&err)
    }
}
