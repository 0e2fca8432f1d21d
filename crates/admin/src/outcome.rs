//! Building what a command prints: messages, and a listing in every format
//! (a table, JSON, YAML), so the caller only chooses one. Serialization
//! happens here, at the API's edge; the control plane's types stay plain.

use oriel_rbac::document::Node;
use serde::Serialize;
use serde_json::Value;

use crate::proto::{Outcome, Row, Table};

impl Outcome {
    /// An outcome that only says `message`.
    pub fn message(message: impl Into<String>) -> Self {
        Self { messages: vec![message.into()], ..Self::default() }
    }

    /// A listing of `records` (a table with `headers`, one row each), as
    /// JSON and as YAML documents separated by `---`.
    pub fn records<T: Serialize>(headers: &[&str], rows: Vec<Vec<String>>, records: &[T]) -> Self {
        let yaml = records.iter().map(|record| yaml(&serde_json::to_value(record).expect("records serialize"), 0)).collect::<Vec<_>>().join("---\n");
        Self { table: Some(table(headers, rows)), json: serde_json::to_string_pretty(records).expect("records serialize"), yaml, ..Self::default() }
    }

    /// A listing of resources: a table with `headers`, or the documents
    /// themselves, in the Teleport shape that `create -f` reads back.
    pub fn documents(headers: &[&str], rows: Vec<Vec<String>>, documents: &[Node]) -> Self {
        Self {
            table: Some(table(headers, rows)),
            json: serde_json::to_string_pretty(documents).expect("documents serialize"),
            yaml: oriel_auth::resources::yaml::to_yaml(documents),
            ..Self::default()
        }
    }
}

/// Outcomes carry secrets (invite links, join tokens) in their messages:
/// `Debug` shows only how much there is.
impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outcome")
            .field("messages", &self.messages.len())
            .field("rows", &self.table.as_ref().map(|t| t.rows.len()))
            .field("exit_code", &self.exit_code)
            .finish_non_exhaustive()
    }
}

pub(crate) fn table(headers: &[&str], rows: Vec<Vec<String>>) -> Table {
    Table { headers: headers.iter().map(|h| (*h).to_owned()).collect(), rows: rows.into_iter().map(|cells| Row { cells }).collect() }
}

/// Block-style YAML for JSON-shaped data; strings are always quoted so no
/// value is misread (`no`, `1.0`, `*`).
pub(crate) fn yaml(value: &Value, indent: usize) -> String {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) if map.is_empty() => format!("{pad}{{}}\n"),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| match v {
                Value::Object(m) if !m.is_empty() => format!("{pad}{}:\n{}", scalar(&Value::String(k.clone())), yaml(v, indent + 2)),
                Value::Array(a) if !a.is_empty() => format!("{pad}{}:\n{}", scalar(&Value::String(k.clone())), yaml(v, indent)),
                _ => format!("{pad}{}: {}\n", scalar(&Value::String(k.clone())), inline(v)),
            })
            .collect(),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::Object(m) if !m.is_empty() => {
                    let nested = yaml(item, indent + 2);
                    format!("{pad}- {}", nested.trim_start())
                }
                _ => format!("{pad}- {}\n", inline(item)),
            })
            .collect(),
        other => format!("{pad}{}\n", inline(other)),
    }
}

fn inline(value: &Value) -> String {
    match value {
        Value::Array(a) if a.is_empty() => "[]".into(),
        Value::Object(m) if m.is_empty() => "{}".into(),
        Value::Array(_) | Value::Object(_) => serde_json::to_string(value).expect("json"),
        other => scalar(other),
    }
}

fn scalar(value: &Value) -> String {
    match value {
        // JSON strings are valid YAML double-quoted scalars.
        Value::String(_) | Value::Number(_) | Value::Bool(_) => serde_json::to_string(value).expect("json"),
        Value::Null => "null".into(),
        _ => unreachable!("scalars only"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_quotes_strings_and_separates_records() {
        let v = serde_json::json!({"name": "no", "labels": {"env": "prod"}, "logins": ["a", "b"], "ttl": 30});
        assert_eq!(yaml(&v, 0), "\"labels\":\n  \"env\": \"prod\"\n\"logins\":\n- \"a\"\n- \"b\"\n\"name\": \"no\"\n\"ttl\": 30\n");
        let two = Outcome::records(&["N"], vec![vec!["a".into()], vec!["b".into()]], &[serde_json::json!({"n": "a"}), serde_json::json!({"n": "b"})]);
        assert_eq!(two.yaml, "\"n\": \"a\"\n---\n\"n\": \"b\"\n");
        assert_eq!(two.table.unwrap().rows.len(), 2);
    }

    #[test]
    fn debug_leaves_secrets_out() {
        let outcome = Outcome::message("https://127.0.0.1:3080/web/invite/s3cr3t");
        assert!(!format!("{outcome:?}").contains("s3cr3t"));
    }
}
