//! Samples and the markdown tables every benchmark prints.

use std::fmt::Write as _;
use std::time::Duration;

/// Measurements of one quantity, in milliseconds.
#[derive(Debug, Default, Clone)]
pub struct Samples(Vec<f64>);

impl Samples {
    /// Adds one measurement.
    pub fn push(&mut self, value: Duration) {
        self.0.push(value.as_secs_f64() * 1e3);
    }

    /// Adds a value that is already a number (bytes, counts).
    pub fn push_value(&mut self, value: f64) {
        self.0.push(value);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The `q` quantile (0.0..=1.0), nearest rank; NaN when empty.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        let mut sorted = self.0.clone();
        sorted.sort_by(f64::total_cmp);
        let rank = (q * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }

    pub fn median(&self) -> f64 {
        self.quantile(0.5)
    }

    pub fn p90(&self) -> f64 {
        self.quantile(0.9)
    }

    pub fn max(&self) -> f64 {
        self.quantile(1.0)
    }
}

/// A markdown table built row by row.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Self { header: header.iter().map(|h| (*h).to_owned()).collect(), rows: Vec::new() }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.header.len());
        self.rows.push(cells);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let line = |out: &mut String, cells: &[String]| {
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        };
        line(&mut out, &self.header);
        let rule: Vec<String> = self.header.iter().map(|_| "---".to_owned()).collect();
        line(&mut out, &rule);
        for row in &self.rows {
            line(&mut out, row);
        }
        out
    }
}

/// A number with `digits` decimals.
pub fn num(value: f64, digits: usize) -> String {
    if value.is_nan() { "n/a".into() } else { format!("{value:.digits$}") }
}

/// Bytes as KB (1000 bytes) with one decimal.
pub fn kb(bytes: f64) -> String {
    num(bytes / 1e3, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_use_the_nearest_rank() {
        let mut s = Samples::default();
        for v in 1..=10 {
            s.push_value(f64::from(v));
        }
        assert_eq!(s.median(), 5.0);
        assert_eq!(s.p90(), 9.0);
        assert_eq!(s.quantile(0.99), 10.0);
        assert_eq!(s.max(), 10.0);
    }
}
