//! Prometheus text format 0.0.4: samples grouped into families, each
//! family once with its `# TYPE` line, a name and label set at most once.

use std::collections::HashSet;
use std::fmt::Write as _;

use indexmap::IndexMap;

/// The `# TYPE` of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A value that goes up and down (rates, counts of tasks).
    Gauge,
    /// A monotonically increasing total.
    Counter,
    /// What the JMX exporter calls UNTYPED (info-style series).
    Untyped,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
            Kind::Untyped => "untyped",
        }
    }
}

#[derive(Debug)]
struct Family {
    kind: Kind,
    rows: Vec<(String, f64)>,
    labels_seen: HashSet<String>,
}

/// Samples being collected for one scrape.
#[derive(Debug, Default)]
pub struct Exposition {
    families: IndexMap<String, Family>,
}

impl Exposition {
    /// Adds a sample. A second sample with the same name and labels is
    /// dropped, as the JMX exporter drops duplicates.
    pub fn sample(&mut self, name: &str, kind: Kind, labels: &[(&str, &str)], value: f64) {
        let mut rendered = String::new();
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                rendered.push(',');
            }
            let _ = write!(rendered, "{k}=\"{}\"", escape(v));
        }
        let family = self
            .families
            .entry(name.to_string())
            .or_insert_with(|| Family {
                kind,
                rows: Vec::new(),
                labels_seen: HashSet::new(),
            });
        if family.labels_seen.insert(rendered.clone()) {
            family.rows.push((rendered, value));
        }
    }

    /// Whether a family of this name has samples.
    pub fn has(&self, name: &str) -> bool {
        self.families.contains_key(name)
    }

    /// The text exposition.
    pub fn finish(self) -> String {
        let mut out = String::new();
        for (name, family) in self.families {
            let _ = writeln!(out, "# TYPE {name} {}", family.kind.as_str());
            for (labels, value) in family.rows {
                if labels.is_empty() {
                    let _ = writeln!(out, "{name} {}", number(value));
                } else {
                    let _ = writeln!(out, "{name}{{{labels}}} {}", number(value));
                }
            }
        }
        out
    }
}

fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v == f64::INFINITY {
        "+Inf".to_string()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        format!("{v}")
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_grouped_typed_once_and_deduplicated() {
        let mut e = Exposition::default();
        e.sample("a", Kind::Gauge, &[("connector", "x\"y")], 1.0);
        e.sample("b", Kind::Counter, &[], 2.5);
        e.sample("a", Kind::Gauge, &[("connector", "z")], f64::NAN);
        e.sample("a", Kind::Gauge, &[("connector", "z")], 9.0);
        assert_eq!(
            e.finish(),
            "# TYPE a gauge\na{connector=\"x\\\"y\"} 1\na{connector=\"z\"} NaN\n# TYPE b counter\nb 2.5\n"
        );
    }
}
