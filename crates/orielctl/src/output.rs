//! Printing an outcome: its messages, then its listing as a table, JSON or
//! YAML. oriel-admin renders JSON and YAML; the table is laid out here.

use oriel_admin::proto::{Outcome, Table};

use crate::cli::Format;

/// Prints `outcome` with its listing in `format`.
pub fn print(format: Format, outcome: &Outcome) {
    for message in &outcome.messages {
        println!("{message}");
    }
    match format {
        Format::Text => {
            if let Some(t) = &outcome.table {
                print!("{}", table(t));
            }
        }
        Format::Json if outcome.table.is_some() => println!("{}", outcome.json),
        Format::Json => {}
        Format::Yaml => print!("{}", outcome.yaml),
    }
}

fn table(table: &Table) -> String {
    let mut widths: Vec<usize> = table.headers.iter().map(|h| h.chars().count()).collect();
    for row in &table.rows {
        for (w, cell) in widths.iter_mut().zip(&row.cells) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect::<Vec<_>>().join(" ");
        out.truncate(out.trim_end().len());
        out + "\n"
    };
    let mut out = line(table.headers.iter().map(String::as_str).collect());
    let rules: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    out += &line(rules.iter().map(String::as_str).collect());
    for row in &table.rows {
        out += &line(row.cells.iter().map(String::as_str).collect());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use oriel_admin::proto::Row;

    #[test]
    fn tables_align() {
        let t = Table {
            headers: vec!["Name".into(), "Roles".into()],
            rows: vec![Row { cells: vec!["alice".into(), "access,dev".into()] }, Row { cells: vec!["bo".into(), "".into()] }],
        };
        assert_eq!(table(&t), "Name  Roles\n----- ----------\nalice access,dev\nbo\n");
    }
}
