//! A loaded document as a plain tree that remembers where each node was.
//!
//! Both front ends produce it: YAML text through saphyr (with positions) and
//! any serde `Deserializer`, such as `serde_json` (without). Validation walks
//! only this tree, through the one reader in `reader.rs` for every kind, so
//! there is one set of rules whatever the input format. The writers (`to_yaml`, `Serialize`) also go
//! through it.

use std::borrow::Cow;
use std::fmt;

use saphyr::{MarkedYaml, Scalar, Yaml, YamlData};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use crate::error::Position;

/// Deeper than any role needs; keeps the recursive walks bounded.
const MAX_DEPTH: usize = 64;

/// One node and, when the input had them, its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where the node starts; `None` for built nodes and serde input.
    pub pos: Option<Position>,
    /// What it holds.
    pub value: Value,
}

/// A mapping entry. Keys are always strings, as in Teleport's JSON form.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The key.
    pub key: String,
    /// Where the key starts, when known.
    pub key_pos: Option<Position>,
    /// The value.
    pub value: Node,
}

/// A node's value: YAML's core schema, with string keys.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`, `~` or nothing.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// In document order; duplicate keys were refused by the loader.
    Map(Vec<Entry>),
}

impl Value {
    /// A short name of the type, for "expected X, found Y" messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

impl Node {
    /// A node without a position.
    pub fn new(value: Value) -> Node {
        Node { pos: None, value }
    }

    /// A string node.
    pub fn str(s: impl Into<String>) -> Node {
        Node::new(Value::Str(s.into()))
    }

    /// A boolean node.
    pub fn bool(b: bool) -> Node {
        Node::new(Value::Bool(b))
    }

    /// A sequence of strings.
    pub fn strings<S: Into<String>>(items: impl IntoIterator<Item = S>) -> Node {
        Node::new(Value::Seq(items.into_iter().map(Node::str).collect()))
    }

    /// The value under `key`, when this is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| e.key == key).map(|e| &e.value),
            _ => None,
        }
    }

    /// A mapping, entries in the given order.
    pub fn map(entries: Vec<(&str, Node)>) -> Node {
        Node::new(Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| Entry {
                    key: k.to_owned(),
                    key_pos: None,
                    value: v,
                })
                .collect(),
        ))
    }
}

/// A YAML problem found while building the tree.
pub(crate) struct LoadIssue {
    pub(crate) pos: Option<Position>,
    pub(crate) message: String,
}

fn position(m: saphyr::Marker) -> Option<Position> {
    // saphyr lines are 1-based, columns 0-based; a default marker has line 0.
    (m.line() > 0).then(|| Position {
        line: m.line(),
        column: m.col() + 1,
    })
}

/// Parses every document of a YAML stream. Empty documents are skipped.
pub(crate) fn load_yaml(text: &str) -> Result<Vec<Node>, LoadIssue> {
    use saphyr::LoadableYamlNode;
    let docs = MarkedYaml::load_from_str(text).map_err(|e| LoadIssue {
        pos: position(*e.marker()),
        message: e.info().to_owned(),
    })?;
    let mut out = Vec::with_capacity(docs.len());
    for doc in &docs {
        match &doc.data {
            YamlData::BadValue | YamlData::Value(Scalar::Null) => continue,
            _ => out.push(from_marked(doc, 0)?),
        }
    }
    Ok(out)
}

fn from_marked(y: &MarkedYaml<'_>, depth: usize) -> Result<Node, LoadIssue> {
    let pos = position(y.span.start);
    if depth > MAX_DEPTH {
        return Err(LoadIssue {
            pos,
            message: format!("nested deeper than {MAX_DEPTH} levels"),
        });
    }
    let value = match &y.data {
        YamlData::Value(s) => scalar(s),
        // Only seen with lazy parsing, which we do not turn on; read as text.
        YamlData::Representation(s, _, _) => Value::Str(s.to_string()),
        // Teleport gives tags no meaning; the tagged node is read as is.
        YamlData::Tagged(_, inner) => {
            return from_marked(inner, depth + 1).map(|mut n| {
                n.pos = pos.or(n.pos);
                n
            });
        }
        YamlData::Sequence(items) => Value::Seq(
            items
                .iter()
                .map(|i| from_marked(i, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        YamlData::Mapping(map) => {
            let mut entries = Vec::with_capacity(map.len());
            for (k, v) in map {
                let key_pos = position(k.span.start);
                let key = match &k.data {
                    YamlData::Value(s) => scalar_key(s),
                    YamlData::Representation(s, _, _) => Some(s.to_string()),
                    _ => None,
                };
                let Some(key) = key else {
                    return Err(LoadIssue {
                        pos: key_pos,
                        message: "mapping keys must be strings".to_owned(),
                    });
                };
                entries.push(Entry {
                    key,
                    key_pos,
                    value: from_marked(v, depth + 1)?,
                });
            }
            Value::Map(entries)
        }
        YamlData::Alias(_) => {
            return Err(LoadIssue {
                pos,
                message: "unresolved alias".to_owned(),
            });
        }
        YamlData::BadValue => {
            return Err(LoadIssue {
                pos,
                message: "invalid value".to_owned(),
            });
        }
    };
    Ok(Node { pos, value })
}

fn scalar(s: &Scalar<'_>) -> Value {
    match s {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(*b),
        Scalar::Integer(i) => Value::Int(*i),
        Scalar::FloatingPoint(f) => Value::Float(f.into_inner()),
        Scalar::String(s) => Value::Str(s.to_string()),
    }
}

/// Scalar keys become their text, as they would once converted to JSON.
fn scalar_key(s: &Scalar<'_>) -> Option<String> {
    Some(match s {
        Scalar::Null => return None,
        Scalar::Boolean(b) => b.to_string(),
        Scalar::Integer(i) => i.to_string(),
        Scalar::FloatingPoint(f) => f.into_inner().to_string(),
        Scalar::String(s) => s.to_string(),
    })
}

/// Writes one YAML document, starting with `---`.
pub(crate) fn write_yaml(node: &Node, out: &mut String) {
    let yaml = to_saphyr(node);
    let mut emitter = saphyr::YamlEmitter::new(out);
    // Writing into a String cannot fail and every node is representable.
    emitter.dump(&yaml).expect("emitting yaml into a string");
    out.push('\n');
}

fn to_saphyr(node: &Node) -> Yaml<'static> {
    match &node.value {
        Value::Null => Yaml::Value(Scalar::Null),
        Value::Bool(b) => Yaml::Value(Scalar::Boolean(*b)),
        Value::Int(i) => Yaml::Value(Scalar::Integer(*i)),
        Value::Float(f) => Yaml::Value(Scalar::FloatingPoint((*f).into())),
        Value::Str(s) => Yaml::Value(Scalar::String(Cow::Owned(s.clone()))),
        Value::Seq(items) => Yaml::Sequence(items.iter().map(to_saphyr).collect()),
        Value::Map(entries) => {
            let mut m = saphyr::Mapping::new();
            for e in entries {
                m.insert(
                    Yaml::Value(Scalar::String(Cow::Owned(e.key.clone()))),
                    to_saphyr(&e.value),
                );
            }
            Yaml::Mapping(m)
        }
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.value {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(f) => s.serialize_f64(*f),
            Value::Str(v) => s.serialize_str(v),
            Value::Seq(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for i in items {
                    seq.serialize_element(i)?;
                }
                seq.end()
            }
            Value::Map(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for e in entries {
                    map.serialize_entry(&e.key, &e.value)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Node, D::Error> {
        d.deserialize_any(NodeVisitor { depth: 0 })
    }
}

struct NodeVisitor {
    depth: usize,
}

impl NodeVisitor {
    fn child(&self) -> NodeSeed {
        NodeSeed {
            depth: self.depth + 1,
        }
    }
}

struct NodeSeed {
    depth: usize,
}

impl<'de> de::DeserializeSeed<'de> for NodeSeed {
    type Value = Node;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        if self.depth > MAX_DEPTH {
            return Err(de::Error::custom(format!(
                "nested deeper than {MAX_DEPTH} levels"
            )));
        }
        d.deserialize_any(NodeVisitor { depth: self.depth })
    }
}

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a role document")
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::new(Value::Null))
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::new(Value::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::new(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::new(Value::Int(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        i64::try_from(v)
            .map(|i| Node::new(Value::Int(i)))
            .map_err(|_| E::custom("integer out of range"))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::new(Value::Float(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::str(v))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self.child())? {
            items.push(item);
        }
        Ok(Node::new(Value::Seq(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries: Vec<Entry> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if entries.iter().any(|e| e.key == key) {
                return Err(de::Error::custom(format!(
                    "duplicated key {key:?} in mapping"
                )));
            }
            let value = map.next_value_seed(self.child())?;
            entries.push(Entry {
                key,
                key_pos: None,
                value,
            });
        }
        Ok(Node::new(Value::Map(entries)))
    }
}
