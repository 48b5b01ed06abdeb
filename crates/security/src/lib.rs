//! Rampart's security transforms: what a SOC puts between Kafka and the
//! SIEM. They parse raw lines (syslog, CEF, LEEF, key=value, JSON),
//! normalise them onto the Elastic Common Schema, cut noise (dedupe,
//! sampling, rate limits, drops), enrich with threat intelligence, match
//! Sigma rules and flag rate anomalies.
//!
//! They are ordinary Kafka Connect transforms and predicates
//! (`transforms.x.type=io.rampart.transforms.…`), synchronous over records
//! like Kafka's own. The crate depends on `rampart-core`'s transform API
//! and on the syslog connector's parsers and record shape (so a line parsed
//! here reads as one the syslog source received); it never depends on the
//! runtime, which receives these classes from the binary's explicit list.

#![warn(missing_docs)]
// Tests unwrap freely; outside tests record data must never panic.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod anomaly;
pub mod denoise;
pub mod detect;
pub mod ecs;
pub mod fields;
pub mod intel;
pub mod keyed;
pub mod matcher;
pub mod parse;

#[cfg(test)]
mod golden;

use rampart_core::transform::{Predicate, PredicatePlugin, TransformPlugin, Transformation};

/// The package every class here lives in.
pub const PACKAGE: &str = "io.rampart.transforms";

/// Every security transform class, for the binary's plugin list.
pub fn transforms() -> Vec<TransformPlugin> {
    vec![
        TransformPlugin {
            class: "io.rampart.transforms.Parse",
            build: |p| parse::Parse::new(p).map(|t| Box::new(t) as Box<dyn Transformation>),
            def: parse::config_def,
        },
        TransformPlugin {
            class: "io.rampart.transforms.Normalize",
            build: |p| ecs::Normalize::new(p).map(|t| Box::new(t) as Box<dyn Transformation>),
            def: ecs::config_def,
        },
        TransformPlugin {
            class: "io.rampart.transforms.Dedupe",
            build: |p| denoise::Dedupe::new(p).map(|t| Box::new(t) as Box<dyn Transformation>),
            def: denoise::dedupe_def,
        },
        TransformPlugin {
            class: "io.rampart.transforms.Sample",
            build: |p| denoise::Sample::new(p).map(|t| Box::new(t) as Box<dyn Transformation>),
            def: denoise::sample_def,
        },
        TransformPlugin {
            class: "io.rampart.transforms.RateLimit",
            build: |p| denoise::RateLimit::new(p).map(|t| Box::new(t) as Box<dyn Transformation>),
            def: denoise::rate_limit_def,
        },
        TransformPlugin {
            class: "io.rampart.transforms.Drop",
            build: |p| denoise::DropRecords::new(p).map(|t| Box::new(t) as Box<dyn Transformation>),
            def: denoise::drop_def,
        },
        TransformPlugin {
            class: "io.rampart.transforms.RateAnomaly",
            build: |p| anomaly::RateAnomaly::new(p).map(|t| Box::new(t) as Box<dyn Transformation>),
            def: anomaly::config_def,
        },
        TransformPlugin {
            class: "io.rampart.transforms.SigmaDetect",
            build: |p| detect::SigmaDetect::new(p).map(|t| Box::new(t) as Box<dyn Transformation>),
            def: detect::config_def,
        },
        TransformPlugin {
            class: "io.rampart.transforms.ThreatIntel",
            build: |p| intel::ThreatIntel::new(p).map(|t| Box::new(t) as Box<dyn Transformation>),
            def: intel::config_def,
        },
    ]
}

/// Every security predicate class.
pub fn predicates() -> Vec<PredicatePlugin> {
    vec![
        PredicatePlugin {
            class: "io.rampart.transforms.predicates.FieldMatches",
            build: |p| denoise::FieldMatches::new(p).map(|t| Box::new(t) as Box<dyn Predicate>),
            def: denoise::field_matches_def,
        },
        PredicatePlugin {
            class: "io.rampart.transforms.predicates.HasDetection",
            build: |p| detect::HasDetection::new(p).map(|t| Box::new(t) as Box<dyn Predicate>),
            def: detect::has_detection_config_def,
        },
    ]
}
