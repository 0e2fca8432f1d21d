//! Printing resources as a table, JSON or YAML. The only place that knows
//! these formats.

use oriel_rbac::document::Node;
use serde::Serialize;
use serde_json::Value;

use crate::cli::Format;

/// Prints `rows` as `format`: a table with `headers` (each row's cells in
/// order), or the serialized `records`.
pub fn print<T: Serialize>(format: Format, headers: &[&str], rows: Vec<Vec<String>>, records: &[T]) {
    match format {
        Format::Text => print!("{}", table(headers, &rows)),
        Format::Json => println!("{}", serde_json::to_string_pretty(records).expect("records serialize")),
        Format::Yaml => {
            for (i, record) in records.iter().enumerate() {
                if i > 0 {
                    println!("---");
                }
                print!("{}", yaml(&serde_json::to_value(record).expect("records serialize"), 0));
            }
        }
    }
}

/// Prints resources as `format`: a table with `headers`, or the documents
/// themselves, in the Teleport shape that `create -f` reads back.
pub fn print_documents(format: Format, headers: &[&str], rows: Vec<Vec<String>>, documents: &[Node]) {
    match format {
        Format::Text => print!("{}", table(headers, &rows)),
        Format::Json => println!("{}", serde_json::to_string_pretty(documents).expect("documents serialize")),
        Format::Yaml => print!("{}", oriel_auth::resources::yaml::to_yaml(documents)),
    }
}

fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect::<Vec<_>>().join(" ");
        out.truncate(out.trim_end().len());
        out + "\n"
    };
    let mut out = line(headers.to_vec());
    out += &line(widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().iter().map(String::as_str).collect());
    for row in rows {
        out += &line(row.iter().map(String::as_str).collect());
    }
    out
}

/// Block-style YAML for JSON-shaped data; strings are always quoted so no
/// value is misread (`no`, `1.0`, `*`).
fn yaml(value: &Value, indent: usize) -> String {
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
    fn tables_align_and_yaml_quotes_strings() {
        let t = table(&["Name", "Roles"], &[vec!["alice".into(), "access,dev".into()], vec!["bo".into(), "".into()]]);
        assert_eq!(t, "Name  Roles\n----- ----------\nalice access,dev\nbo\n");
        let v = serde_json::json!({"name": "no", "labels": {"env": "prod"}, "logins": ["a", "b"], "ttl": 30});
        assert_eq!(yaml(&v, 0), "\"labels\":\n  \"env\": \"prod\"\n\"logins\":\n- \"a\"\n- \"b\"\n\"name\": \"no\"\n\"ttl\": 30\n");
    }
}
