//! The one error type of the parse-and-validate boundary.

use std::fmt;

/// Where a [`ParseError`] points in its source: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// Line number, starting at 1.
    pub line: usize,
    /// Column number in characters, starting at 1.
    pub column: usize,
}

/// A document that could not be loaded: a role, or any kind read through
/// [`document::At`](crate::document::At).
///
/// Its `Display` form is the one an admin sees, for example
/// `role.yaml:7:5: spec.allow.linux_desktop_labels.env: expected a string or a list of strings`:
/// source name, line, column (when the input had positions, as YAML does), the
/// field path, then what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    /// The name the caller gave the input, usually a file name.
    pub source_name: String,
    /// Where in the input, when known (YAML gives it, a serde value does not).
    pub position: Option<Position>,
    /// Dotted path of the offending field, such as `spec.allow.windows_desktop_logins[1]`.
    /// Empty for errors about the document as a whole, such as a YAML syntax error.
    pub path: String,
    /// What is wrong, lowercase, without a final period.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source_name)?;
        if let Some(p) = self.position {
            write!(f, ":{}:{}", p.line, p.column)?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}
