//! The REST API against Java Kafka Connect 3.9 itself: the same scripted
//! requests (`testdata/differential/rest-script.json`) go to a Java
//! `ConnectStandalone` and to Rampart on the same Apache Kafka broker, and
//! their status codes and JSON bodies are compared after normalising what
//! must differ (ports, paths, versions, cluster ids).
//!
//! Every step must answer the same, except those listed with a reason in
//! `testdata/differential/rest-deliberate.txt`; a listed step that has
//! come to agree is reported too, so the list stays true.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{eventually, unique, JavaAndRampart};

fn testdata(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/differential")
        .join(name)
}

/// One worker under test, with the values that make its requests its own.
struct Side {
    url: String,
    dir: String,
    topic: String,
}

impl Side {
    fn fill(&self, text: &str) -> String {
        text.replace("{dir}", &self.dir)
            .replace("{topic}", &self.topic)
    }

    /// Puts the side's own values back into placeholders.
    fn normalise(&self, text: &str) -> String {
        text.replace(&self.dir, "{dir}")
            .replace(&self.topic, "{topic}")
            .replace(&self.url.replace("http://", ""), "{worker}")
    }
}

async fn send(client: &reqwest::Client, side: &Side, step: &Value) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(step["method"].as_str().unwrap_or("GET").as_bytes())
        .expect("the script names HTTP methods");
    let path = side.fill(step["path"].as_str().unwrap_or("/"));
    let mut req = client.request(method, format!("{}{path}", side.url));
    if let Some(raw) = step["raw"].as_str() {
        let ct = step["content_type"].as_str().unwrap_or("application/json");
        req = req
            .header("content-type", ct)
            .body(side.fill(raw).into_bytes());
    } else if !step["body"].is_null() {
        let body = side.fill(&step["body"].to_string());
        req = req.header("content-type", "application/json").body(body);
    }
    let resp = req.send().await.expect("worker answers");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    let text = side.normalise(&text);
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

async fn wait(client: &reqwest::Client, side: &Side, wait: &Value) {
    let Some(name) = wait["connector"].as_str() else {
        return;
    };
    let state = wait["state"].as_str().unwrap_or("RUNNING");
    let lines = wait["lines"].as_str().map(|f| side.fill(f));
    let offsets = wait["offsets"].as_bool().unwrap_or(false);
    eventually(
        &format!("{name} {state} on {}", side.url),
        Duration::from_secs(60),
        || async {
            let s: Value = client
                .get(format!("{}/connectors/{name}/status", side.url))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            let tasks_ok = state == "STOPPED"
                || s["tasks"]
                    .as_array()
                    .is_some_and(|t| !t.is_empty() && t.iter().all(|t| t["state"] == state));
            let written = lines
                .as_ref()
                .is_none_or(|f| std::fs::read(f).is_ok_and(|b| b.contains(&b'\n')));
            // Source offsets are flushed on the worker's schedule: wait
            // for them rather than compare a race.
            let flushed = !offsets || {
                let o: Value = client
                    .get(format!("{}/connectors/{name}/offsets", side.url))
                    .send()
                    .await
                    .ok()?
                    .json()
                    .await
                    .ok()?;
                o["offsets"].as_array().is_some_and(|a| !a.is_empty())
            };
            (s["connector"]["state"] == state && tasks_ok && written && flushed).then_some(())
        },
    )
    .await;
}

/// What is compared of a body, by the step's `compare` mode.
fn comparable(mode: &str, body: &Value) -> Value {
    match mode {
        "status" => Value::Null,
        "shape" => shape(body),
        "plugins" => {
            // Rampart has more plugins (syslog, Elasticsearch, …); compare
            // the ones Java has, which `compare_plugins` checks are present.
            body.clone()
        }
        "jackson" => jackson_message(body),
        _ => cut_plugin_list(&scrub(body)),
    }
}

/// A body Jackson could not bind, to the point where Java's message goes on
/// with the parser's token and source location and Rampart's with the key:
/// `Cannot deserialize value of type `X` from Y value`.
fn jackson_message(body: &Value) -> Value {
    let msg = body["message"].as_str().unwrap_or_default();
    let end = [" (token `", "\n at [Source", " for key \""]
        .iter()
        .filter_map(|cut| msg.find(cut))
        .min()
        .unwrap_or(msg.len());
    json!({"error_code": body["error_code"], "message": &msg[..end]})
}

// Java and Rampart have different plugins, so the list an "unknown
// connector class" message ends with differs by nature; the text before it
// must not.
fn cut_plugin_list(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = match (k.as_str(), v.as_str()) {
                        ("message", Some(msg)) => match msg.find("available connectors are: ") {
                            Some(i) => json!(format!("{}…", &msg[..i])),
                            None => v.clone(),
                        },
                        _ => v.clone(),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(a) => Value::Array(a.iter().take(1).map(shape).collect()),
        Value::String(_) => json!("string"),
        Value::Number(_) => json!("number"),
        Value::Bool(_) => json!("bool"),
        Value::Null => Value::Null,
    }
}

// Versions and stack traces differ by nature: Java's traces are JVM stacks.
// Rampart's own plugins (`io.rampart.*`) are offered among a class
// setting's recommended values; Java has no such classes to offer.
fn scrub(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = match k.as_str() {
                        "version" | "commit" | "kafka_cluster_id" => json!("{scrubbed}"),
                        "recommended_values" => Value::Array(
                            v.as_array()
                                .into_iter()
                                .flatten()
                                .filter(|c| {
                                    !c.as_str().is_some_and(|c| c.starts_with("io.rampart."))
                                })
                                .cloned()
                                .collect(),
                        ),
                        "trace" => json!(v
                            .as_str()
                            .and_then(|t| t.lines().next())
                            .unwrap_or_default()),
                        _ => scrub(v),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(scrub).collect()),
        other => other.clone(),
    }
}

/// Where two JSON values differ, as `path: java | rampart` lines.
fn diff_paths(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                diff_paths(
                    v,
                    y.get(k).unwrap_or(&Value::Null),
                    &format!("{path}.{k}"),
                    out,
                );
            }
            for (k, v) in y {
                if !x.contains_key(k) {
                    out.push(format!("{path}.{k}: (absent) | {v}"));
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            // Config lists are compared by name, not position.
            let named = |v: &Value| {
                v["definition"]["name"]
                    .as_str()
                    .or(v["name"].as_str())
                    .map(str::to_string)
            };
            for (i, v) in x.iter().enumerate() {
                let other = named(v)
                    .and_then(|n| y.iter().find(|w| named(w).as_deref() == Some(n.as_str())))
                    .unwrap_or(&y[i]);
                let label = named(v).unwrap_or_else(|| i.to_string());
                diff_paths(v, other, &format!("{path}[{label}]"), out);
            }
        }
        _ if a != b => out.push(format!("{path}: {a} | {b}")),
        _ => {}
    }
}

fn plugin_classes(body: &Value) -> Vec<(String, String)> {
    body.as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            (
                p["class"].as_str().unwrap_or_default().to_string(),
                p["type"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn step_key(i: usize, step: &Value) -> String {
    format!(
        "{i:02} {} {}",
        step["method"].as_str().unwrap_or_default(),
        step["path"].as_str().unwrap_or_default()
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn rest_answers_match_java_connect() {
    let script: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(testdata("rest-script.json")).expect("script is checked in"),
    )
    .expect("script is JSON");
    assert!(
        script.len() >= 60,
        "the issue asks for at least 60 requests"
    );

    let pair = JavaAndRampart::start().await;
    let (java, java_dir, rampart, rampart_dir) =
        (&pair.java, &pair.java_dir, &pair.rampart, &pair.rampart_dir);
    for d in [java_dir, rampart_dir] {
        std::fs::write(d.path().join("in.txt"), "first\nsecond\nthird\n").expect("writable");
    }

    let sides = [
        Side {
            url: java.url.clone(),
            dir: java_dir.path().display().to_string(),
            topic: unique("diff-java"),
        },
        Side {
            url: rampart.url.clone(),
            dir: rampart_dir.path().display().to_string(),
            topic: unique("diff-rampart"),
        },
    ];
    let client = reqwest::Client::new();
    let mut differing: BTreeMap<String, String> = BTreeMap::new();
    for (i, step) in script.iter().enumerate() {
        let mut answers = Vec::new();
        for side in &sides {
            wait(&client, side, &step["wait"]).await;
            answers.push(send(&client, side, step).await);
        }
        let mode = step["compare"].as_str().unwrap_or("full");
        let (java_answer, rampart_answer) = (&answers[0], &answers[1]);
        let mut problem = None;
        if java_answer.0 != rampart_answer.0 {
            problem = Some(format!("status {} vs {}", java_answer.0, rampart_answer.0));
        } else if mode == "plugins" {
            let ours = plugin_classes(&rampart_answer.1);
            let missing: Vec<_> = plugin_classes(&java_answer.1)
                .into_iter()
                .filter(|p| !ours.contains(p))
                .collect();
            if !missing.is_empty() {
                problem = Some(format!(
                    "plugins Java lists and Rampart does not: {missing:?}"
                ));
            }
        } else if comparable(mode, &java_answer.1) != comparable(mode, &rampart_answer.1) {
            problem = Some("bodies differ".to_string());
        }
        if let Some(p) = problem {
            let mut paths = Vec::new();
            diff_paths(
                &comparable(mode, &java_answer.1),
                &comparable(mode, &rampart_answer.1),
                "",
                &mut paths,
            );
            paths.truncate(8);
            differing.insert(
                step_key(i, step),
                format!("{p}\n    {}", paths.join("\n    ")),
            );
        }
    }

    let deliberate: BTreeMap<String, String> =
        std::fs::read_to_string(testdata("rest-deliberate.txt"))
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .filter_map(|l| {
                l.split_once(" -- ")
                    .map(|(k, why)| (k.trim().to_string(), why.trim().to_string()))
            })
            .collect();
    let unexpected: Vec<String> = differing
        .iter()
        .filter(|(k, _)| !deliberate.contains_key(*k))
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    let stale: Vec<&String> = deliberate
        .keys()
        .filter(|k| !differing.contains_key(*k))
        .collect();
    eprintln!(
        "REST differential: {} requests, {} differ, {} of them deliberate",
        script.len(),
        differing.len(),
        differing.len() - unexpected.len()
    );
    assert!(
        unexpected.is_empty() && stale.is_empty(),
        "differences from Java Connect not listed as deliberate:\n{}\n\nlisted as deliberate but now equal: {stale:?}",
        unexpected.join("\n")
    );
}
