//! Loading a rules directory: parse every file, refuse what rampart would
//! not evaluate as its author meant, compile the rest. Every refusal names
//! its file, and all of them are reported at once, so one `validate` call
//! lists everything a rule set needs fixed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use rampart_core::data::Value;
use regex::Regex;
use rsigma_eval::{CorrelationConfig, CorrelationEngine, Engine};
use rsigma_parser::{
    CorrelationCondition, CorrelationRule, CorrelationType, Detection, Level, Modifier,
    SigmaCollection, SigmaRule,
};

use super::mapping::FieldMapping;

/// The most events a correlation window keeps per group. An `event_count`
/// window keeps one more than its largest threshold, which is all its
/// condition can tell apart, so a larger threshold is refused rather than
/// left unable to fire.
pub(crate) const MAX_WINDOW_EVENTS: u64 = 10_000;

/// Events kept per group by the correlation types whose condition is not a
/// plain count (`value_count`, `temporal`): the newest ones win.
const OTHER_WINDOW_EVENTS: u64 = 1_000;

/// rsigma's own rule attributes that steer its engine. Rampart sets the
/// engine up itself (event time, state bounds, output), so a rule asking
/// for one of these would not get it: it is refused.
const ENGINE_ATTRIBUTES: &[&str] = &[
    "rsigma.action",
    "rsigma.correlation_event_mode",
    "rsigma.include_event",
    "rsigma.max_correlation_events",
    "rsigma.max_group_entries",
    "rsigma.suppress",
    "rsigma.timestamp_field",
];

/// A loaded rule or correlation, as detections report it.
#[derive(Debug)]
pub(crate) struct LoadedRule {
    /// The rule's `id`.
    pub(crate) id: String,
    /// `{id, title, level, tags}`, appended to matching records.
    pub(crate) tag: Value,
    /// A correlation refers to it, so its matches feed correlation state.
    pub(crate) feeds_correlation: bool,
    /// Its own matches are tagged: false when only correlations with
    /// `generate: false` (Sigma's default) refer to it.
    pub(crate) tagged: bool,
}

/// Compiled rules, ready to evaluate.
pub(crate) struct RuleSet {
    /// The detection rules.
    pub(crate) engine: Engine,
    /// The correlations, with the detection rules they refer to; `None`
    /// when there is no correlation.
    pub(crate) correlation: Option<CorrelationEngine>,
    /// Detection rules, then correlations.
    pub(crate) rules: Vec<LoadedRule>,
    /// Index into `rules` by id.
    pub(crate) by_id: HashMap<String, usize>,
}

/// Loads every `.yml` / `.yaml` file under `dir`. On failure, returns one
/// `<file>: <reason>` line per problem.
pub(crate) fn load(
    dir: &Path,
    mapping: &FieldMapping,
    max_groups: usize,
) -> Result<RuleSet, Vec<String>> {
    let files = rule_files(dir).map_err(|e| vec![e])?;
    if files.is_empty() {
        return Err(vec![format!(
            "no .yml or .yaml rule files in {}",
            dir.display()
        )]);
    }

    let mut problems = Vec::new();
    let mut rules: Vec<(String, SigmaRule)> = Vec::new();
    let mut correlations: Vec<(String, CorrelationRule)> = Vec::new();
    for path in &files {
        let name = path.strip_prefix(dir).unwrap_or(path).display().to_string();
        let before = problems.len();
        let parsed = match std::fs::read_to_string(path) {
            Ok(text) => parse_file(&name, &text, &mut problems),
            Err(e) => {
                problems.push(problem(&name, format!("cannot read: {e}")));
                continue;
            }
        };
        // A file with any problem contributes nothing: half a file's rules
        // would be a rule set nobody reviewed.
        if problems.len() == before {
            let (r, c) = parsed;
            rules.extend(r.into_iter().map(|r| (name.clone(), r)));
            correlations.extend(c.into_iter().map(|c| (name.clone(), c)));
        }
    }
    check_ids(&rules, &correlations, &mut problems);
    check_references(&rules, &correlations, &mut problems);

    let pipeline = mapping.pipeline();
    let mut engine = Engine::new();
    engine.add_pipeline(pipeline.clone());
    for (i, error) in engine.add_rules(rules.iter().map(|(_, r)| r)) {
        if let Some((file, rule)) = rules.get(i) {
            problems.push(problem(file, format!("rule \"{}\": {error}", rule.title)));
        }
    }
    // Each correlation alone, to name the file of one that does not
    // compile; the engine that keeps them is built from them all below.
    let mut scratch = CorrelationEngine::new(CorrelationConfig::default());
    scratch.add_pipeline(pipeline.clone());
    for (file, corr) in &correlations {
        if let Err(error) = scratch.add_correlation(corr) {
            problems.push(problem(
                file,
                format!("correlation \"{}\": {error}", corr.title),
            ));
        }
    }
    if !problems.is_empty() {
        // By file, whichever check found them.
        problems.sort();
        return Err(problems);
    }

    let referrers = referrers(&correlations);
    let referred = |rule: &SigmaRule| -> Vec<bool> {
        [rule.id.as_deref(), rule.name.as_deref()]
            .into_iter()
            .flatten()
            .flat_map(|key| referrers.get(key).into_iter().flatten().copied())
            .collect()
    };

    let correlation = if correlations.is_empty() {
        None
    } else {
        let window = correlations
            .iter()
            .map(|(_, c)| window_events(c))
            .max()
            .unwrap_or(OTHER_WINDOW_EVENTS);
        let config = CorrelationConfig {
            max_state_entries: max_groups,
            max_group_entries: usize::try_from(window).ok(),
            ..CorrelationConfig::default()
        };
        let mut engine = CorrelationEngine::new(config);
        engine.add_pipeline(pipeline);
        let mut collection = SigmaCollection::new();
        collection.rules = rules
            .iter()
            .filter(|(_, r)| !referred(r).is_empty())
            .map(|(_, r)| r.clone())
            .collect();
        collection.correlations = correlations.iter().map(|(_, c)| c.clone()).collect();
        // Rule references were checked above: what is left is a cycle.
        engine
            .add_collection(&collection)
            .map_err(|e| vec![lowercase_first(&e.to_string())])?;
        Some(engine)
    };

    let mut loaded = Vec::with_capacity(rules.len() + correlations.len());
    for (_, rule) in &rules {
        let generate = referred(rule);
        loaded.push(LoadedRule {
            id: rule.id.clone().unwrap_or_default(),
            tag: tag(rule.id.as_deref(), &rule.title, rule.level, &rule.tags),
            feeds_correlation: !generate.is_empty(),
            tagged: generate.is_empty() || generate.contains(&true),
        });
    }
    for (_, corr) in &correlations {
        loaded.push(LoadedRule {
            id: corr.id.clone().unwrap_or_default(),
            tag: tag(corr.id.as_deref(), &corr.title, corr.level, &corr.tags),
            feeds_correlation: false,
            tagged: true,
        });
    }
    let by_id = loaded
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.clone(), i))
        .collect();
    Ok(RuleSet {
        engine,
        correlation,
        rules: loaded,
        by_id,
    })
}

/// The rule files under `dir`, recursively, in name order. Hidden entries
/// are skipped: a Kubernetes ConfigMap mount keeps a second copy of every
/// file under `..data/`.
fn rule_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = std::fs::read_dir(&current)
            .map_err(|e| format!("cannot read directory {}: {e}", current.display()))?;
        for entry in entries {
            let entry =
                entry.map_err(|e| format!("cannot read directory {}: {e}", current.display()))?;
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let path = entry.path();
            // Symbolic links to files are followed, to directories not:
            // a link loop would never end.
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                pending.push(path);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yml" | "yaml")
            ) && path.is_file()
            {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Parses one file and checks what rampart supports; problems go to
/// `problems`.
fn parse_file(
    file: &str,
    text: &str,
    problems: &mut Vec<String>,
) -> (Vec<SigmaRule>, Vec<CorrelationRule>) {
    let collection = match rsigma_parser::parse_sigma_yaml(text) {
        Ok(c) => c,
        Err(e) => {
            problems.push(problem(file, e));
            return (Vec::new(), Vec::new());
        }
    };
    // rsigma collects what it could not parse (and values it dropped, such
    // as an unknown `level`) rather than failing: each is a refusal here.
    for error in &collection.errors {
        if error.starts_with("Condition parse error") && aggregation().is_match(text) {
            // The parser's message would point at the `|` and stop there.
            problems.push(problem(
                file,
                "the deprecated aggregation syntax (condition: … | count() …) is not \
                 supported: write a correlation rule",
            ));
        } else {
            problems.push(problem(file, error));
        }
    }
    for filter in &collection.filters {
        problems.push(problem(
            file,
            format!(
                "filter \"{}\": Sigma filter documents are not supported",
                filter.title
            ),
        ));
    }
    if collection.rules.is_empty()
        && collection.correlations.is_empty()
        && collection.filters.is_empty()
        && collection.errors.is_empty()
    {
        problems.push(problem(file, "holds no Sigma rule"));
    }
    for rule in &collection.rules {
        for reason in check_rule(rule) {
            problems.push(problem(file, format!("rule \"{}\": {reason}", rule.title)));
        }
    }
    for corr in &collection.correlations {
        for reason in check_correlation(corr) {
            problems.push(problem(
                file,
                format!("correlation \"{}\": {reason}", corr.title),
            ));
        }
    }
    (collection.rules, collection.correlations)
}

/// A Sigma 1 aggregation (`| count() by x > 5`, `| near …`), looked for
/// only once a condition failed to parse.
fn aggregation() -> &'static Regex {
    static AGGREGATION: OnceLock<Regex> = OnceLock::new();
    AGGREGATION.get_or_init(|| {
        Regex::new(r"\|\s*((count|min|max|avg|sum)\s*\(|near\s)")
            .expect("the aggregation pattern is valid")
    })
}

fn check_rule(rule: &SigmaRule) -> Vec<String> {
    let mut reasons = Vec::new();
    if rule.id.is_none() {
        reasons.push("has no id, which its detections are tagged with".to_string());
    }
    if let Some(timeframe) = &rule.detection.timeframe {
        reasons.push(format!(
            "timeframe ({timeframe}) belongs to the deprecated aggregation syntax, \
             which is not supported: write a correlation rule"
        ));
    }
    let mut modifiers = Vec::new();
    for detection in rule.detection.named.values() {
        collect_modifiers(detection, &mut modifiers);
    }
    if modifiers.contains(&Modifier::Expand) {
        reasons.push(
            "the expand modifier is not supported: its placeholders need values \
             rampart does not provide"
                .to_string(),
        );
    }
    reasons.extend(engine_attributes(&rule.custom_attributes));
    reasons
}

fn collect_modifiers(detection: &Detection, out: &mut Vec<Modifier>) {
    match detection {
        Detection::AllOf(items) => {
            for item in items {
                out.extend(item.field.modifiers.iter().copied());
            }
        }
        Detection::AnyOf(subs) | Detection::And(subs) => {
            for sub in subs {
                collect_modifiers(sub, out);
            }
        }
        Detection::ArrayMatch { body, .. } => collect_modifiers(body, out),
        Detection::Conditional { named, .. } => {
            for sub in named.values() {
                collect_modifiers(sub, out);
            }
        }
        Detection::Keywords(_) => {}
    }
}

fn check_correlation(corr: &CorrelationRule) -> Vec<String> {
    let mut reasons = Vec::new();
    if corr.id.is_none() {
        reasons.push("has no id, which its detections are tagged with".to_string());
    }
    match corr.correlation_type {
        CorrelationType::ValueSum
        | CorrelationType::ValueAvg
        | CorrelationType::ValuePercentile
        | CorrelationType::ValueMedian => reasons.push(format!(
            "type {} is not supported: its window would have to keep every value \
             of the time span, which rampart bounds",
            corr.correlation_type.as_str()
        )),
        CorrelationType::EventCount
        | CorrelationType::ValueCount
        | CorrelationType::Temporal
        | CorrelationType::TemporalOrdered => {}
    }
    if window_events(corr) > MAX_WINDOW_EVENTS {
        reasons.push(format!(
            "a threshold of {} is above the {MAX_WINDOW_EVENTS} events a window keeps per group",
            window_events(corr) - 1
        ));
    }
    reasons.extend(engine_attributes(&corr.custom_attributes));
    reasons
}

/// How many events per group the correlation's window must keep to decide
/// its condition.
fn window_events(corr: &CorrelationRule) -> u64 {
    let top = match &corr.condition {
        CorrelationCondition::Threshold { predicates, .. } => {
            predicates.iter().map(|(_, n)| *n).max().unwrap_or(0)
        }
        CorrelationCondition::Extended(_) => 0,
    };
    match corr.correlation_type {
        CorrelationType::EventCount => top.saturating_add(1),
        CorrelationType::ValueCount => top.saturating_add(1).max(OTHER_WINDOW_EVENTS),
        _ => OTHER_WINDOW_EVENTS,
    }
}

fn engine_attributes<V>(attributes: &HashMap<String, V>) -> Vec<String> {
    let mut names: Vec<&str> = attributes
        .keys()
        .map(String::as_str)
        .filter(|k| ENGINE_ATTRIBUTES.contains(k))
        .collect();
    names.sort_unstable();
    names
        .into_iter()
        .map(|k| format!("{k} is an rsigma engine setting rampart does not honour"))
        .collect()
}

/// Ids are what detections are tagged and counted by, so each names one
/// rule.
fn check_ids(
    rules: &[(String, SigmaRule)],
    correlations: &[(String, CorrelationRule)],
    problems: &mut Vec<String>,
) {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    let ids = rules
        .iter()
        .map(|(f, r)| (f, r.id.as_deref()))
        .chain(correlations.iter().map(|(f, c)| (f, c.id.as_deref())));
    for (file, id) in ids {
        let Some(id) = id else { continue };
        if let Some(first) = seen.insert(id, file) {
            problems.push(problem(
                file,
                format!("id {id} is already the id of a rule in {first}"),
            ));
        }
    }
}

fn check_references(
    rules: &[(String, SigmaRule)],
    correlations: &[(String, CorrelationRule)],
    problems: &mut Vec<String>,
) {
    let known: Vec<&str> = rules
        .iter()
        .flat_map(|(_, r)| [r.id.as_deref(), r.name.as_deref()])
        .chain(
            correlations
                .iter()
                .flat_map(|(_, c)| [c.id.as_deref(), c.name.as_deref()]),
        )
        .flatten()
        .collect();
    for (file, corr) in correlations {
        for reference in &corr.rules {
            if !known.contains(&reference.as_str()) {
                problems.push(problem(
                    file,
                    format!(
                        "correlation \"{}\" refers to rule {reference}, which is not loaded",
                        corr.title
                    ),
                ));
            }
        }
    }
}

/// For every id or name a correlation refers to, the `generate` flags of
/// the correlations referring to it.
fn referrers(correlations: &[(String, CorrelationRule)]) -> HashMap<&str, Vec<bool>> {
    let mut out: HashMap<&str, Vec<bool>> = HashMap::new();
    for (_, corr) in correlations {
        for reference in &corr.rules {
            out.entry(reference.as_str())
                .or_default()
                .push(corr.generate);
        }
    }
    out
}

/// `{id, title, level, tags}`; no `level` when the rule has none.
fn tag(id: Option<&str>, title: &str, level: Option<Level>, tags: &[String]) -> Value {
    let mut entries = vec![
        (Value::string("id"), Value::string(id.unwrap_or_default())),
        (Value::string("title"), Value::string(title)),
    ];
    if let Some(level) = level {
        entries.push((Value::string("level"), Value::string(level.as_str())));
    }
    entries.push((
        Value::string("tags"),
        Value::Array(tags.iter().map(Value::string).collect()),
    ));
    Value::Map(entries)
}

fn problem(file: &str, reason: impl std::fmt::Display) -> String {
    format!("{file}: {}", lowercase_first(&reason.to_string()))
}

/// rsigma's messages start with a capital ("Unknown modifier"); ours are
/// lowercase. An acronym ("YAML") keeps its case.
fn lowercase_first(message: &str) -> String {
    let mut chars = message.chars();
    match (chars.next(), chars.next()) {
        (Some(first), second) if second.is_none_or(char::is_lowercase) => first
            .to_lowercase()
            .chain(message[first.len_utf8()..].chars())
            .collect(),
        _ => message.to_string(),
    }
}
