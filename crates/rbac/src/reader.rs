//! Reading a loaded document field by field, for every resource kind: roles
//! here, users, locks, tokens, desktops and cluster settings in oriel-auth.
//! There is one reader so that every file reports a problem the same way,
//! `file:line:col: path: message`, and follows the same YAML rules.
//!
//! The rules, decided once for every kind:
//!
//! - A key of letters, digits and `_ - / * .` stands plainly in a path, so
//!   labels read as written (`metadata.labels.teleport.dev/origin`); any
//!   other key is quoted (`spec.traits["my key"]`).
//! - A flag is `true`, `false` or one of the words Teleport reads as a
//!   boolean (`yes`, `off`, `1`…, in any case): Teleport reads them for every
//!   boolean field, so a file written for it loads here whatever the kind.

use crate::error::{ParseError, Position};
use crate::node::{Entry, Node, Value};

/// A problem at one place of a document. The reader does not know the
/// source's name; [`Issue::into_error`] adds it, and a caller that reports
/// more (such as the document's index in a stream) reads the parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    position: Option<Position>,
    path: String,
    message: String,
}

impl Issue {
    /// An issue a caller found itself, such as one from another validator.
    pub fn new(
        position: Option<Position>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Issue {
        Issue {
            position,
            path: path.into(),
            message: message.into(),
        }
    }

    /// Where in the source, when the input had positions.
    pub fn position(&self) -> Option<Position> {
        self.position
    }

    /// The field's path, such as `spec.allow.linux_desktop_logins[1]`;
    /// empty for the document as a whole.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What is wrong, lowercase, without a final period.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The error to show, labelled with the source's name.
    pub fn into_error(self, source_name: &str) -> ParseError {
        ParseError {
            source_name: source_name.to_owned(),
            position: self.position,
            path: self.path,
            message: self.message,
        }
    }
}

/// A node of a document and the path that led to it: what every read
/// starts from, so that any issue points at the right line and field.
#[derive(Debug, Clone)]
pub struct At<'a> {
    node: &'a Node,
    path: String,
    /// Where the key of the entry holding this node was written; an issue
    /// about the key itself (an unknown field) points there.
    key_pos: Option<Position>,
}

impl<'a> At<'a> {
    /// A whole document, with the empty path.
    pub fn root(node: &'a Node) -> At<'a> {
        At {
            node,
            path: String::new(),
            key_pos: None,
        }
    }

    /// The node's value, for kinds of values the reader does not name.
    pub fn value(&self) -> &'a Value {
        &self.node.value
    }

    /// The path that led here; empty for the document.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Whether the node is null (`~`, `null` or nothing).
    pub fn is_null(&self) -> bool {
        matches!(self.node.value, Value::Null)
    }

    /// An issue about this node.
    pub fn issue(&self, message: impl Into<String>) -> Issue {
        Issue::new(self.node.pos, self.path.clone(), message)
    }

    /// An issue about the key this node is under (the value's place when
    /// the key's is unknown), for a field that should not be there at all.
    pub fn key_issue(&self, message: impl Into<String>) -> Issue {
        Issue::new(self.key_pos.or(self.node.pos), self.path.clone(), message)
    }

    /// "expected `what`, found" this node's type.
    pub fn expected(&self, what: &str) -> Issue {
        self.issue(format!(
            "expected {what}, found {}",
            self.node.value.type_name()
        ))
    }

    /// The entries of a mapping, in document order, each key with its
    /// value; null is an empty mapping (an empty section).
    pub fn entries(&self) -> Result<Vec<(&'a str, At<'a>)>, Issue> {
        Ok(self
            .mapping()?
            .iter()
            .map(|e| (e.key.as_str(), self.child(e)))
            .collect())
    }

    /// A field of this mapping as written, null included; `None` only when
    /// absent.
    pub fn entry(&self, key: &str) -> Result<Option<At<'a>>, Issue> {
        Ok(self
            .mapping()?
            .iter()
            .find(|e| e.key == key)
            .map(|e| self.child(e)))
    }

    /// A field of this mapping; absent and null both give `None`.
    pub fn field(&self, key: &str) -> Result<Option<At<'a>>, Issue> {
        Ok(self.entry(key)?.filter(|at| !at.is_null()))
    }

    /// A field that must be present and not null; when it is not, the
    /// issue names the field and points at this mapping.
    pub fn required(&self, key: &str) -> Result<At<'a>, Issue> {
        self.field(key)?
            .ok_or_else(|| Issue::new(self.node.pos, child_path(&self.path, key), "is required"))
    }

    /// The items of a list, each with its index in the path; null is an
    /// empty list. `expected` says what the list should hold, for the issue
    /// when this is not a list.
    pub fn items(&self, expected: &str) -> Result<Vec<At<'a>>, Issue> {
        let items = match &self.node.value {
            Value::Seq(items) => items.as_slice(),
            Value::Null => &[],
            _ => return Err(self.expected(expected)),
        };
        Ok(items
            .iter()
            .enumerate()
            .map(|(i, node)| At {
                node,
                path: format!("{}[{i}]", self.path),
                key_pos: None,
            })
            .collect())
    }

    /// A string.
    pub fn string(&self) -> Result<&'a str, Issue> {
        match &self.node.value {
            Value::Str(s) => Ok(s),
            _ => Err(self.expected("a string")),
        }
    }

    /// A string field of this mapping; `None` when absent, null or empty.
    pub fn optional_string(&self, key: &str) -> Result<Option<String>, Issue> {
        Ok(self
            .field(key)?
            .map(|at| at.string().map(str::to_owned))
            .transpose()?
            .filter(|s| !s.is_empty()))
    }

    /// A list of strings; null is an empty list.
    pub fn strings(&self) -> Result<Vec<String>, Issue> {
        self.items("a list of strings")?
            .iter()
            .map(|at| at.string().map(str::to_owned))
            .collect()
    }

    /// A boolean, or one of the words Teleport reads as one.
    pub fn flag(&self) -> Result<bool, Issue> {
        match &self.node.value {
            Value::Bool(b) => Ok(*b),
            Value::Str(s) => parse_bool_word(s)
                .ok_or_else(|| self.issue(format!("expected true or false, found {s:?}"))),
            _ => Err(self.expected("true or false")),
        }
    }

    fn mapping(&self) -> Result<&'a [Entry], Issue> {
        match &self.node.value {
            Value::Map(entries) => Ok(entries),
            Value::Null => Ok(&[]),
            _ => Err(self.expected("a mapping")),
        }
    }

    fn child(&self, entry: &'a Entry) -> At<'a> {
        At {
            node: &entry.value,
            path: child_path(&self.path, &entry.key),
            key_pos: entry.key_pos,
        }
    }
}

/// The words Teleport reads as booleans, case-insensitively.
pub(crate) fn parse_bool_word(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "yes" | "yeah" | "y" | "true" | "1" | "on" => Some(true),
        "no" | "nope" | "n" | "false" | "0" | "off" => Some(false),
        _ => None,
    }
}

fn child_path(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '/' | '*' | '.'));
    match (parent.is_empty(), plain) {
        (true, true) => key.to_owned(),
        (true, false) => format!("[{key:?}]"),
        (false, true) => format!("{parent}.{key}"),
        (false, false) => format!("{parent}[{key:?}]"),
    }
}

#[cfg(test)]
mod tests;
