//! The shipped image (`docker/Dockerfile`) and compose stack
//! (`docker/compose.yaml`), run for real with Podman. `scripts/containers
//! images` builds the image from the Dockerfile unchanged, and stand-ins for
//! the stack's images no registry here serves (Redpanda, OpenSearch, MinIO:
//! Apache Kafka, osmem-server and moto, through
//! `tests/containers/compose.ci.yaml`). `scripts/test` runs both.
//!
//! The standalone test reaches the broker `scripts/kafka` runs on the host
//! (host network); the stack test runs its own broker in the stack.

#![allow(clippy::unwrap_used)]

use rampart_tests::support;

use std::collections::{BTreeSet, HashSet};
use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{bootstrap, eventually, free_port, unique};

const IMAGE: &str = "localhost/rampart:latest";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn podman(args: &[&str]) -> Output {
    Command::new("podman")
        .env(
            "CONTAINERS_CONF",
            root().join("tests/containers/containers.conf"),
        )
        .args(args)
        .output()
        .expect("podman runs (scripts/containers install)")
}

/// Runs podman and returns its trimmed stdout, failing the test with its
/// stderr when it fails.
fn podman_ok(args: &[&str]) -> String {
    let out = podman(args);
    assert!(
        out.status.success(),
        "podman {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn inspect(container: &str, format: &str) -> String {
    podman_ok(&["inspect", "--format", format, container])
}

/// The uid the container's main process runs as, read from the host's /proc.
fn process_uid(container: &str) -> u32 {
    let pid = inspect(container, "{{.State.Pid}}");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap();
    uid.parse().unwrap()
}

/// Removes a container, a volume or a compose stack when a test ends,
/// passed or not.
struct Cleanup(Vec<Vec<String>>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for args in &self.0 {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            if args.first() == Some(&"compose") {
                let _ = compose(&args[1..], &[]);
            } else {
                let _ = podman(&args);
            }
        }
    }
}

async fn health(client: &reqwest::Client, url: &str) -> Option<(u16, String)> {
    let resp = client.get(format!("{url}/health")).send().await.ok()?;
    let code = resp.status().as_u16();
    Some((code, resp.text().await.unwrap_or_default()))
}

fn file_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn append(path: &Path, from: usize, to: usize) {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap();
    for i in from..to {
        writeln!(f, "line {i}").unwrap();
    }
}

#[tokio::test]
async fn the_image_is_small_runs_as_non_root_and_stops_cleanly_on_sigterm() {
    // The image itself, as built from docker/Dockerfile.
    let size: u64 = podman_ok(&["image", "inspect", "--format", "{{.Size}}", IMAGE])
        .parse()
        .unwrap();
    println!("image size: {:.1} MB", size as f64 / 1e6);
    assert!(size < 40_000_000, "the image is {size} bytes");
    let config: Value = serde_json::from_str(&podman_ok(&["image", "inspect", IMAGE])).unwrap();
    let config = &config[0];
    assert_eq!(config["Config"]["User"], "65532:65532");
    let healthcheck = config["Config"]["Healthcheck"]["Test"].to_string()
        + &config["Healthcheck"]["Test"].to_string();
    assert!(
        healthcheck.contains("/usr/local/bin/rampart") && healthcheck.contains("health"),
        "the image's healthcheck is `rampart health`: {healthcheck}"
    );

    // A standalone worker in a read-only container: FileStreamSource →
    // topic → FileStreamSink, with settings from CONNECT_* variables and
    // connector files mounted beside the data.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    // The container's user (65532) writes the sink's file here.
    std::fs::set_permissions(&data, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let topic = unique("image");
    std::fs::write(
        data.join("source.properties"),
        format!(
            "name=source\nconnector.class=FileStreamSource\nfile=/data/in.txt\ntopic={topic}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        data.join("sink.properties"),
        format!("name=sink\nconnector.class=FileStreamSink\nfile=/data/out.txt\ntopics={topic}\n"),
    )
    .unwrap();
    append(&data.join("in.txt"), 0, 1000);

    let name = unique("rampart-image");
    let volume = unique("rampart-state");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let _cleanup = Cleanup(vec![
        vec![
            "rm".into(),
            "-f".into(),
            "-t".into(),
            "0".into(),
            name.clone(),
        ],
        vec!["volume".into(), "rm".into(), "-f".into(), volume.clone()],
    ]);
    let mount = format!("{}:/data", data.display());
    let state = format!("{volume}:/var/lib/rampart");
    let bootstrap_env = format!("CONNECT_BOOTSTRAP_SERVERS={}", bootstrap());
    let listeners_env = format!("CONNECT_LISTENERS=http://127.0.0.1:{port}");
    podman_ok(&[
        "create",
        "--name",
        &name,
        "--network",
        "host",
        "--read-only",
        "-v",
        &mount,
        "-v",
        &state,
        "-e",
        &bootstrap_env,
        "-e",
        &listeners_env,
        "-e",
        "CONNECT_OFFSET_FLUSH_INTERVAL_MS=500",
        "-e",
        "CONNECT_REST_ADVERTISED_HOST_NAME=image-test",
        "-e",
        "CONNECT_VALUE_CONVERTER=org.apache.kafka.connect.storage.StringConverter",
        IMAGE,
        "standalone",
        "/etc/rampart/standalone.properties",
        "/data/source.properties",
        "/data/sink.properties",
    ]);

    let client = reqwest::Client::new();
    let started = Instant::now();
    podman_ok(&["start", &name]);
    eventually(
        "a healthy REST API in the container",
        Duration::from_secs(30),
        || {
            let (client, url) = (&client, &url);
            async move { (health(client, url).await?.0 == 200).then_some(()) }
        },
    )
    .await;
    println!(
        "container start to healthy REST API: {} ms",
        started.elapsed().as_millis()
    );
    // The image's own healthcheck command, run by the engine in the container.
    let check = podman(&["healthcheck", "run", &name]);
    assert!(
        check.status.success(),
        "healthcheck: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert_eq!(process_uid(&name), 65532, "the worker runs as non-root");
    assert_eq!(inspect(&name, "{{.HostConfig.ReadonlyRootfs}}"), "true");

    // The CONNECT_* settings took effect: the listener above, and the
    // advertised name in the statuses.
    let source = support::wait_for(&client, &url, "source", |s| {
        s["tasks"][0]["state"] == "RUNNING"
    })
    .await;
    assert_eq!(
        source["tasks"][0]["worker_id"],
        format!("image-test:{port}"),
        "{source}"
    );

    let out = data.join("out.txt");
    eventually(
        "1000 lines through the container",
        Duration::from_secs(60),
        || {
            let out = out.clone();
            async move { (file_lines(&out).len() == 1000).then_some(()) }
        },
    )
    .await;

    // SIGTERM: the worker commits its offsets and exits 0 within
    // task.shutdown.graceful.timeout.ms, not at the engine's kill deadline.
    let stopping = Instant::now();
    podman_ok(&["stop", "-t", "30", &name]);
    let stop_time = stopping.elapsed();
    println!("docker stop took {} ms", stop_time.as_millis());
    assert_eq!(inspect(&name, "{{.State.ExitCode}}"), "0");
    assert!(
        stop_time < Duration::from_secs(10),
        "stop took {stop_time:?}"
    );

    // Started again over the same volume, both connectors go on from their
    // committed offsets: each line exactly once.
    append(&data.join("in.txt"), 1000, 1500);
    podman_ok(&["start", &name]);
    eventually(
        "1500 lines after the restart",
        Duration::from_secs(60),
        || {
            let out = out.clone();
            async move { (file_lines(&out).len() >= 1500).then_some(()) }
        },
    )
    .await;
    let lines = file_lines(&out);
    let unique_lines: HashSet<&String> = lines.iter().collect();
    assert_eq!(lines.len(), 1500, "no line twice after a SIGTERM restart");
    assert_eq!(unique_lines.len(), 1500);
}

#[tokio::test]
async fn the_healthcheck_fails_with_the_reason_while_the_broker_cannot_be_reached() {
    let name = unique("rampart-unhealthy");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let _cleanup = Cleanup(vec![vec![
        "rm".into(),
        "-f".into(),
        "-t".into(),
        "0".into(),
        name.clone(),
    ]]);
    let listeners_env = format!("CONNECT_LISTENERS=http://127.0.0.1:{port}");
    podman_ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "--network",
        "host",
        "--read-only",
        "-e",
        // Nothing listens on port 9.
        "CONNECT_BOOTSTRAP_SERVERS=127.0.0.1:9",
        "-e",
        &listeners_env,
        IMAGE,
        "standalone",
        "/etc/rampart/standalone.properties",
    ]);
    let client = reqwest::Client::new();
    // 503 "starting" at once; the reason once the first attempt has failed.
    let (code, body) = eventually("/health to say why", Duration::from_secs(30), || {
        let (client, url) = (&client, &url);
        async move {
            health(client, url)
                .await
                .filter(|(_, body)| body.contains("cannot reach the Kafka cluster"))
        }
    })
    .await;
    assert_eq!(code, 503, "{body}");
    let check = podman(&["healthcheck", "run", &name]);
    assert!(!check.status.success(), "the healthcheck fails");
}

/// podman-compose with the shipped compose file and CI's override.
fn compose(args: &[&str], env: &[(&str, String)]) -> Output {
    let tools = std::env::var("RAMPART_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join(".tools"));
    let mut cmd = Command::new(tools.join("containers/compose/bin/podman-compose"));
    cmd.env(
        "CONTAINERS_CONF",
        root().join("tests/containers/containers.conf"),
    )
    .arg("-f")
    .arg(root().join("docker/compose.yaml"))
    .arg("-f")
    .arg(root().join("tests/containers/compose.ci.yaml"))
    .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output()
        .expect("podman-compose runs (scripts/containers install)")
}

async fn post_connector(client: &reqwest::Client, url: &str, file: &str) {
    let body: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("docker/connectors").join(file)).unwrap(),
    )
    .unwrap();
    // Forwarded to the leader when this worker is not it; retried while the
    // cluster still rebalances (409), as a script would.
    eventually(&format!("POST {file}"), Duration::from_secs(60), || {
        let body = body.clone();
        async move {
            let resp = client
                .post(format!("{url}/connectors"))
                .json(&body)
                .send()
                .await
                .ok()?;
            match resp.status().as_u16() {
                201 => Some(()),
                code => {
                    println!(
                        "POST {file}: {code} {}",
                        resp.text().await.unwrap_or_default()
                    );
                    None
                }
            }
        }
    })
    .await;
}

async fn status(client: &reqwest::Client, url: &str, name: &str) -> Value {
    support::status(client, url, name).await
}

fn running_workers(status: &Value) -> Option<Vec<String>> {
    let tasks = status["tasks"].as_array()?;
    tasks
        .iter()
        .map(|t| (t["state"] == "RUNNING").then(|| t["worker_id"].as_str().map(str::to_string)))
        .collect::<Option<Option<Vec<_>>>>()
        .flatten()
}

/// Documents in the OpenSearch stand-in's `syslog` index.
async fn indexed(client: &reqwest::Client) -> u64 {
    let Ok(resp) = client
        .get("http://127.0.0.1:9200/syslog/_count")
        .send()
        .await
    else {
        return 0;
    };
    let v: Value = resp.json().await.unwrap_or(Value::Null);
    v["count"].as_u64().unwrap_or(0)
}

/// Lines in every object of the S3 stand-in's bucket.
async fn archived(client: &reqwest::Client) -> usize {
    let Ok(resp) = client
        .get("http://127.0.0.1:9000/rampart-logs?list-type=2&max-keys=100000")
        .send()
        .await
    else {
        return 0;
    };
    let listing = resp.text().await.unwrap_or_default();
    let mut lines = 0;
    for key in listing.split("<Key>").skip(1) {
        let key = key.split("</Key>").next().unwrap_or_default();
        // moto refuses anonymous reads of objects but does not check
        // signatures: any SigV4-shaped header will do.
        let body = client
            .get(format!(
                "http://127.0.0.1:9000/rampart-logs/{}",
                key.replace('+', "%2B")
            ))
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=test/20261126/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=00",
            )
            .header("x-amz-date", "20261126T000000Z")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        lines += body.lines().filter(|l| !l.is_empty()).count();
    }
    lines
}

/// Waits until OpenSearch and S3 each hold exactly `expected` events.
async fn every_event_in_the_sinks(client: &reqwest::Client, expected: u64, when: &str) {
    eventually(
        &format!("every event{when} in OpenSearch"),
        Duration::from_secs(120),
        || async move { (indexed(client).await == expected).then_some(()) },
    )
    .await;
    eventually(
        &format!("every event{when} in S3"),
        Duration::from_secs(120),
        || async move { (archived(client).await as u64 == expected).then_some(()) },
    )
    .await;
}

/// Syslog frames over one TCP connection to a published port, closed when
/// sent: the peer's kernel has acknowledged every byte.
fn send_tcp(port: u16, lines: &[String]) {
    let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
    for l in lines {
        conn.write_all(format!("<38>{l}\n").as_bytes()).unwrap();
    }
    conn.flush().unwrap();
}

/// The metric names a PromQL expression reads: identifiers that are not
/// PromQL's own words.
fn metric_names(expr: &str) -> BTreeSet<String> {
    const PROMQL: &[&str] = &[
        "sum",
        "by",
        "rate",
        "increase",
        "irate",
        "avg",
        "max",
        "min",
        "count",
        "without",
        "on",
        "and",
        "or",
        "unless",
        "offset",
        "connector",
        "task",
        "instance",
        "job",
        "status",
    ];
    let mut names = BTreeSet::new();
    // Label matchers and ranges hold no metric names.
    let mut cleaned = String::new();
    let mut depth = 0;
    for c in expr.chars() {
        match c {
            '{' | '[' => depth += 1,
            '}' | ']' => depth -= 1,
            _ if depth == 0 => cleaned.push(c),
            _ => {}
        }
    }
    for word in cleaned.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')) {
        if word.is_empty() || word.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        if !PROMQL.contains(&word) {
            names.insert(word.to_string());
        }
    }
    names
}

/// Every metric name the shipped dashboard and alert rules query.
fn monitored_names() -> BTreeSet<String> {
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("docker/monitoring/grafana/dashboards/rampart.json"))
            .unwrap(),
    )
    .unwrap();
    let mut names = BTreeSet::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        // Rows hold no queries.
        let Some(targets) = panel["targets"].as_array() else {
            continue;
        };
        for target in targets {
            names.extend(metric_names(target["expr"].as_str().unwrap()));
        }
    }
    let alerts = std::fs::read_to_string(root().join("docker/monitoring/alerts.yml")).unwrap();
    for line in alerts.lines() {
        if let Some(expr) = line.trim().strip_prefix("expr:") {
            names.extend(metric_names(expr));
        }
    }
    // Prometheus itself makes `up` for every scrape target.
    names.remove("up");
    names
}

#[test]
fn the_monitored_names_are_read_from_the_dashboard_and_the_alerts() {
    let names = monitored_names();
    assert!(names.contains("kafka_connect_source_task_metrics_source_record_poll_rate"));
    assert!(names.contains("kafka_connect_connect_worker_metrics_connector_failed_task_count"));
    assert!(names.contains("rampart_connector_task_syslog_udp_dropped_total"));
    assert!(!names.contains("rate") && !names.contains("connector"));
    assert!(names.len() >= 15, "{names:?}");
}

#[tokio::test]
async fn the_compose_stack_carries_syslog_to_the_sinks_and_a_stopped_worker_loses_nothing() {
    let env = [("REDPANDA_PORT", free_port().to_string())];
    let services = [
        "redpanda",
        "opensearch",
        "minio",
        "connect-1",
        "connect-2",
        "connect-3",
    ];
    let _cleanup = Cleanup(vec![
        vec![
            "compose".into(),
            "down".into(),
            "-v".into(),
            "-t".into(),
            "2".into(),
        ],
        vec![
            "network".into(),
            "rm".into(),
            "-f".into(),
            "rampart_default".into(),
        ],
    ]);
    let mut up = vec!["up", "-d"];
    up.extend(services);
    let out = compose(&up, &env);
    assert!(
        out.status.success(),
        "compose up: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let workers: Vec<String> = (8083..=8085)
        .map(|p| format!("http://127.0.0.1:{p}"))
        .collect();
    for url in &workers {
        eventually(
            &format!("{url} healthy in the cluster"),
            Duration::from_secs(180),
            || {
                let client = &client;
                async move { (health(client, url).await?.0 == 200).then_some(()) }
            },
        )
        .await;
    }
    for i in 1..=3 {
        let container = format!("rampart_connect-{i}_1");
        assert_eq!(
            process_uid(&container),
            65532,
            "{container} runs as non-root"
        );
        assert_eq!(
            inspect(&container, "{{.HostConfig.ReadonlyRootfs}}"),
            "true"
        );
    }

    // The bucket, made with an S3 request as the README's curl line does.
    let made = client
        .put("http://127.0.0.1:9000/rampart-logs")
        .send()
        .await
        .unwrap();
    assert!(made.status().is_success(), "bucket: {}", made.status());

    // The shipped connector configs, POSTed unchanged through different
    // workers (forwarded to the leader).
    post_connector(&client, &workers[1], "syslog-tcp.json").await;
    post_connector(&client, &workers[2], "syslog-udp.json").await;
    post_connector(&client, &workers[0], "opensearch-sink.json").await;
    post_connector(&client, &workers[1], "s3-sink.json").await;
    // The HEC example needs a Splunk: it is validated, not run.
    let hec: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("docker/connectors/hec-sink.json")).unwrap(),
    )
    .unwrap();
    let validated: Value = client
        .put(format!(
            "{}/connector-plugins/SplunkSinkConnector/config/validate",
            workers[0]
        ))
        .json(&{
            let mut config = hec["config"].clone();
            config["name"] = hec["name"].clone();
            config
        })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(validated["error_count"], 0, "{validated}");

    // CONNECT_REST_ADVERTISED_HOST_NAME took effect: the three syslog
    // tasks run on the three workers, named as compose names them.
    let placed = eventually(
        "three syslog tasks on three workers",
        Duration::from_secs(90),
        || {
            let client = &client;
            let url = &workers[0];
            async move {
                let s = status(client, url, "syslog-tcp").await;
                let mut w = running_workers(&s)?;
                w.sort();
                (w.len() == 3).then_some(w)
            }
        },
    )
    .await;
    assert_eq!(
        placed,
        vec!["connect-1:8083", "connect-2:8083", "connect-3:8083"]
    );
    for name in ["syslog-udp", "opensearch-sink", "s3-sink"] {
        eventually(&format!("{name} running"), Duration::from_secs(90), || {
            let client = &client;
            let url = &workers[0];
            async move {
                let s = status(client, url, name).await;
                (s["connector"]["state"] == "RUNNING"
                    && running_workers(&s)?.len() as u64 == s["tasks"].as_array()?.len() as u64
                    && !s["tasks"].as_array()?.is_empty())
                .then_some(())
            }
        })
        .await;
    }

    // Real sshd logs to the three published syslog ports over TCP, and
    // util-linux logger over UDP and TCP.
    let sshd: Vec<String> = std::fs::read_to_string(root().join("testdata/loghub/OpenSSH_2k.log"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let third = sshd.len() / 3;
    send_tcp(5514, &sshd[..third]);
    send_tcp(5515, &sshd[third..2 * third]);
    send_tcp(5516, &sshd[2 * third..]);
    for (transport, port) in [("--udp", "5514"), ("--tcp", "5515"), ("--udp", "5516")] {
        let ok = Command::new("logger")
            .args([
                "--server",
                "127.0.0.1",
                "--port",
                port,
                transport,
                "--rfc5424",
                "-t",
                "sshd",
                "-p",
                "auth.warning",
                "Failed password for root from 203.0.113.9 port 22 ssh2",
            ])
            .status()
            .unwrap();
        assert!(ok.success());
    }
    let mut expected = sshd.len() as u64 + 3;
    let waited = Instant::now();
    every_event_in_the_sinks(&client, expected, "").await;
    println!(
        "{expected} events in OpenSearch and S3 {} ms after sending",
        waited.elapsed().as_millis()
    );

    // Every name the dashboard and the alert rules query is served.
    let mut served = BTreeSet::new();
    for url in &workers {
        let text = support::metrics_text(&client, url)
            .await
            .expect("the worker serves /metrics");
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap_or_default();
            served.insert(name.to_string());
        }
    }
    let missing: Vec<String> = monitored_names()
        .into_iter()
        .filter(|n| !served.contains(n))
        .collect();
    assert!(missing.is_empty(), "not served: {missing:?}");

    // `docker stop` of a worker right after it took 300 lines (its
    // received counter says so): its syslog task drains and commits them,
    // its other work moves, and nothing it took is lost.
    let received = |client: &reqwest::Client| {
        let client = client.clone();
        async move {
            let text = support::metrics_text(&client, "http://127.0.0.1:8085").await?;
            let prefix = "rampart_connector_task_syslog_received_total{connector=\"syslog-tcp\"";
            Some(
                text.lines()
                    .filter(|l| l.starts_with(prefix))
                    .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
                    .sum::<u64>(),
            )
        }
    };
    let before = received(&client).await.unwrap();
    let batch: Vec<String> = (0..300).map(|i| format!("stop test line {i}")).collect();
    send_tcp(5516, &batch);
    eventually(
        "connect-3 to take the 300 lines",
        Duration::from_secs(30),
        || {
            let received = &received;
            let client = &client;
            async move { (received(client).await? == before + 300).then_some(()) }
        },
    )
    .await;
    let stopping = Instant::now();
    podman_ok(&["stop", "-t", "30", "rampart_connect-3_1"]);
    println!(
        "docker stop of a worker took {} ms",
        stopping.elapsed().as_millis()
    );
    assert_eq!(inspect("rampart_connect-3_1", "{{.State.ExitCode}}"), "0");
    expected += batch.len() as u64;
    // And the stream goes on through the other two.
    let after: Vec<String> = (0..100).map(|i| format!("after stop line {i}")).collect();
    send_tcp(5514, &after);
    expected += after.len() as u64;
    every_event_in_the_sinks(&client, expected, " after the stop").await;

    // The worker comes back and takes a share again.
    podman_ok(&["start", "rampart_connect-3_1"]);
    eventually(
        "connect-3 back in the cluster",
        Duration::from_secs(90),
        || {
            let client = &client;
            let url = &workers[0];
            async move {
                let w = running_workers(&status(client, url, "syslog-tcp").await)?;
                w.iter().any(|w| w == "connect-3:8083").then_some(())
            }
        },
    )
    .await;
}
