//! [`SpecError`]: the one error of loading and validating a spec.
//!
//! Validation code knows the dotted key and what is wrong, not where the
//! value was written; it builds the error with [`SpecError::at`] (or
//! [`SpecError::new`] when no key is to blame). The loader then fills in the
//! file and the origin from the key (see `spec::load`), so that every error,
//! whichever check found it, is reported the same way: `file:line:col: key
//! `dotted.key`: message`, or `file: in `--set ARG`: ...` for a command-line value.

use std::fmt;

/// Where a value was written.
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    /// In the spec file.
    File {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
    },
    /// On the command line, as this `--set` argument.
    Set(String),
    /// On the command line, as this other argument (e.g. `--profile paper`).
    Arg(String),
}

/// A spec error, reported before any run starts (exit code 2).
#[derive(Clone, Debug, PartialEq)]
pub struct SpecError {
    /// The spec file (empty until the loader locates the error).
    pub file: String,
    /// Where in it (or on the command line) the offending value is, if known.
    pub origin: Option<Origin>,
    /// The dotted key, if the error concerns one.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl SpecError {
    /// An error about no particular key, not yet located.
    pub fn new(message: impl Into<String>) -> Self {
        SpecError { file: String::new(), origin: None, key: None, message: message.into() }
    }

    /// An error about the dotted `key`, not yet located.
    pub fn at(key: impl Into<String>, message: impl Into<String>) -> Self {
        SpecError { key: Some(key.into()), ..SpecError::new(message) }
    }

    /// The same error with its key nested under `prefix`: `where` and
    /// `model.cell` give `where.model.cell`; an error without a key is about `prefix`.
    pub fn under(self, prefix: &str) -> Self {
        let key = match &self.key {
            Some(k) => format!("{prefix}.{k}"),
            None => prefix.to_string(),
        };
        SpecError { key: Some(key), ..self }
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Some(Origin::File { line, col }) => write!(f, "{}:{line}:{col}: ", self.file)?,
            Some(Origin::Set(arg)) => write!(f, "{}: in `--set {arg}`: ", self.file)?,
            Some(Origin::Arg(arg)) => write!(f, "{}: in `{arg}`: ", self.file)?,
            None if self.file.is_empty() => {}
            None => write!(f, "{}: ", self.file)?,
        }
        if let Some(key) = &self.key {
            write!(f, "key `{key}`: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for SpecError {}
