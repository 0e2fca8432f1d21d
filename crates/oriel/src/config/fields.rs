//! Typed reads of a loaded YAML tree, each error naming the key's path and
//! where it is: the one way the config file is read, so unknown keys and
//! bad values are refused the same way everywhere.

use std::net::SocketAddr;
use std::time::Duration;

use oriel_rbac::document::{Entry, Node, Value};
use oriel_rbac::{ParseError, Position};

/// Where in the file a value is: the source name and the dotted key path.
#[derive(Clone)]
pub(crate) struct At<'a> {
    pub(crate) source: &'a str,
    pub(crate) path: String,
    pub(crate) pos: Option<Position>,
}

impl<'a> At<'a> {
    pub(crate) fn root(source: &'a str, node: &Node) -> Self {
        Self { source, path: String::new(), pos: node.pos }
    }

    /// The place of `entry`, a key under this one.
    pub(crate) fn key(&self, entry: &Entry) -> Self {
        let path = if self.path.is_empty() { entry.key.clone() } else { format!("{}.{}", self.path, entry.key) };
        Self { source: self.source, path, pos: entry.value.pos.or(entry.key_pos) }
    }

    /// The place of item `index` of a list at this place.
    pub(crate) fn item(&self, index: usize, node: &Node) -> Self {
        Self { source: self.source, path: format!("{}[{index}]", self.path), pos: node.pos.or(self.pos) }
    }

    pub(crate) fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError { source_name: self.source.to_owned(), position: self.pos, path: self.path.clone(), message: message.into() }
    }

    fn expected(&self, what: &str, node: &Node) -> ParseError {
        self.error(format!("expected {what}, found {}", node.value.type_name()))
    }
}

/// The entries of a mapping (an empty one for `null`, as an empty section
/// is written `auth_service:`), refusing keys not in `known`.
pub(crate) fn mapping<'n>(at: &At, node: &'n Node, known: &[&str]) -> Result<&'n [Entry], ParseError> {
    let entries = match &node.value {
        Value::Map(entries) => entries.as_slice(),
        Value::Null => &[],
        _ => return Err(at.expected("a mapping", node)),
    };
    for entry in entries {
        if !known.contains(&entry.key.as_str()) {
            let place = At { pos: entry.key_pos.or(entry.value.pos), ..at.key(entry) };
            return Err(place.error(format!("unknown key (expected one of: {})", known.join(", "))));
        }
    }
    Ok(entries)
}

pub(crate) fn string(at: &At, node: &Node) -> Result<String, ParseError> {
    match &node.value {
        Value::Str(s) if !s.trim().is_empty() => Ok(s.clone()),
        Value::Str(_) => Err(at.error("must not be empty")),
        // Numbers and booleans are fine where a string is expected (a label value of `3`).
        Value::Int(i) => Ok(i.to_string()),
        Value::Float(f) => Ok(f.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(at.expected("a string", node)),
    }
}

/// YAML 1.1's spellings too: Teleport's own samples write `enabled: yes`.
pub(crate) fn boolean(at: &At, node: &Node) -> Result<bool, ParseError> {
    match &node.value {
        Value::Bool(b) => Ok(*b),
        Value::Str(s) => match s.to_ascii_lowercase().as_str() {
            "yes" | "true" | "on" => Ok(true),
            "no" | "false" | "off" => Ok(false),
            _ => Err(at.error(format!("expected yes or no, found {s:?}"))),
        },
        _ => Err(at.expected("yes or no", node)),
    }
}

/// A whole number from `min` to `max`.
pub(crate) fn count(at: &At, node: &Node, min: usize, max: usize) -> Result<usize, ParseError> {
    match &node.value {
        Value::Int(n) => match usize::try_from(*n) {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(at.error(format!("{n} is out of range (from {min} to {max})"))),
        },
        _ => Err(at.expected("a whole number", node)),
    }
}

pub(crate) fn socket_addr(at: &At, node: &Node) -> Result<SocketAddr, ParseError> {
    let text = string(at, node)?;
    text.parse().map_err(|_| at.error(format!("{text:?} is not an address with a port, such as 0.0.0.0:3029 or [::1]:3025")))
}

/// `host:port`, where the host may be a name.
pub(crate) fn host_port(at: &At, node: &Node) -> Result<String, ParseError> {
    host_port_text(at, string(at, node)?)
}

/// `text` if it is `host:port`.
pub(crate) fn host_port_text(at: &At, text: String) -> Result<String, ParseError> {
    match text.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0) => Ok(text),
        _ => Err(at.error(format!("{text:?} is not host:port, such as proxy.example.com:3080"))),
    }
}

pub(crate) fn regex(at: &At, node: &Node) -> Result<regex::Regex, ParseError> {
    let text = string(at, node)?;
    regex::Regex::new(&text).map_err(|e| at.error(format!("not a regular expression: {}", summary(&e.to_string()))))
}

/// A Go-style duration (`1h0m0s`, `90s`) above zero.
pub(crate) fn period(at: &At, node: &Node) -> Result<Duration, ParseError> {
    let text = string(at, node)?;
    let duration = oriel_rbac::IdleTimeout::parse(&text).map_err(|e| at.error(e))?.duration();
    if duration.is_zero() {
        return Err(at.error("must be longer than zero"));
    }
    Ok(duration)
}

pub(crate) fn strings(at: &At, node: &Node) -> Result<Vec<String>, ParseError> {
    match &node.value {
        Value::Seq(items) => items.iter().enumerate().map(|(i, item)| string(&at.item(i, item), item)).collect(),
        _ => Err(at.expected("a list of strings", node)),
    }
}

/// The regex crate's message ends with the one line that says what is wrong.
fn summary(text: &str) -> &str {
    text.lines().last().unwrap_or(text).trim()
}
