//! Distributed mode against Java Kafka Connect 3.9, in one run on the same
//! Apache Kafka broker: three workers of one kind, 50 FileStreamSource
//! connectors (50 connectors and 50 tasks), `scheduled.rebalance.max.delay.ms=0`,
//! `session.timeout.ms=6000`. Measured for each kind:
//! - failover: SIGKILL of a worker that is not the leader, until every
//!   connector and task runs on the two others;
//! - a new worker's share: from starting its process until it runs its
//!   share (a third of the connectors and of the tasks, rounded down).
//!
//! Java runs with Kafka's own JVM options, as `connect-distributed.sh`.
//! Run with `scripts/bench` (release binary, broker, Java Connect jars).

use rampart_tests::cluster;
use rampart_tests::support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{bootstrap, free_port_run, unique, JavaConnect, WorkerProcess};

const CONNECTORS: usize = 50;
const WORKERS: usize = 3;

enum Member {
    Java(JavaConnect),
    Rampart(WorkerProcess),
}

impl Member {
    async fn start(java: bool, dir: &Path, props: &Path, port: u16) -> Self {
        if java {
            Member::Java(JavaConnect::run("distributed", dir, props, port, None).await)
        } else {
            let mut w = WorkerProcess::distributed(dir, props, port);
            w.wait_healthy().await;
            Member::Rampart(w)
        }
    }

    fn kill9(self) {
        match self {
            // Dropping a Java worker SIGKILLs it.
            Member::Java(j) => drop(j),
            Member::Rampart(mut r) => r.kill9(),
        }
    }
}

/// Where each connector and task runs, as worker 0 reports it, if all of
/// them are RUNNING.
async fn placement(client: &reqwest::Client, url: &str) -> Option<Vec<String>> {
    let resp = client
        .get(format!("{url}/connectors?expand=status"))
        .send()
        .await
        .ok()?;
    let all: Value = resp.json().await.ok()?;
    let all = all.as_object()?;
    if all.len() != CONNECTORS {
        return None;
    }
    let mut owners = Vec::with_capacity(2 * CONNECTORS);
    for v in all.values() {
        let st = &v["status"];
        let tasks = st["tasks"].as_array()?;
        if st["connector"]["state"] != "RUNNING" || tasks.len() != 1 {
            return None;
        }
        owners.push(st["connector"]["worker_id"].as_str()?.to_string());
        for t in tasks {
            if t["state"] != "RUNNING" {
                return None;
            }
            owners.push(format!("task@{}", t["worker_id"].as_str()?));
        }
    }
    Some(owners)
}

async fn until(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) -> Duration {
    let t0 = Instant::now();
    while !check().await {
        assert!(t0.elapsed() < limit, "{what} not done in {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    t0.elapsed()
}

struct Figures {
    failover: Duration,
    share: Duration,
}

async fn run(java: bool) -> Figures {
    let dir = tempfile::tempdir().expect("temp dir");
    let group = unique(if java { "bench-java" } else { "bench-rampart" });
    let first = free_port_run(WORKERS as u16);
    let extra = [
        (
            "scheduled.rebalance.max.delay.ms".to_string(),
            "0".to_string(),
        ),
        ("heartbeat.interval.ms".to_string(), "2000".to_string()),
    ];
    let props: Vec<_> = (0..WORKERS)
        .map(|i| {
            let port = first + i as u16;
            let path = dir.path().join(format!("w{i}.properties"));
            std::fs::write(
                &path,
                cluster::distributed_properties(&bootstrap(), &group, port, &extra),
            )
            .expect("writable");
            (path, port)
        })
        .collect();
    let mut members = Vec::new();
    for (path, port) in &props {
        members.push(Some(Member::start(java, dir.path(), path, *port).await));
    }
    let client = reqwest::Client::new();
    let url0 = format!("http://127.0.0.1:{first}");
    let input = dir.path().join("in.txt");
    std::fs::write(&input, "one line\n").expect("writable");
    let topic = unique("bench-dist");
    for n in 0..CONNECTORS {
        let config = json!({
            "connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
            "file": input, "topic": topic,
        });
        until("connector created", Duration::from_secs(120), async || {
            client
                .put(format!("{url0}/connectors/c{n:02}/config"))
                .json(&config)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await;
    }
    until("everything running", Duration::from_secs(300), async || {
        placement(&client, &url0).await.is_some()
    })
    .await;

    // Failover: the third worker (not the leader, which joined first) dies.
    let victim = format!("127.0.0.1:{}", props[2].1);
    members[2].take().expect("started").kill9();
    let failover = until("failover", Duration::from_secs(300), async || {
        placement(&client, &url0)
            .await
            .is_some_and(|owners| owners.iter().all(|o| !o.ends_with(&victim)))
    })
    .await;

    // A new worker (the same slot, started afresh) gets its share.
    let t0 = Instant::now();
    let (path, port) = &props[2];
    let newcomer = Member::start(java, dir.path(), path, *port).await;
    let share = CONNECTORS / WORKERS;
    until(
        "the new worker's share",
        Duration::from_secs(300),
        async || {
            placement(&client, &url0).await.is_some_and(|owners| {
                let connectors = owners.iter().filter(|o| **o == victim).count();
                let tasks = owners
                    .iter()
                    .filter(|o| **o == format!("task@{victim}"))
                    .count();
                connectors >= share && tasks >= share
            })
        },
    )
    .await;
    let share_time = t0.elapsed();
    drop(newcomer);
    drop(members);
    Figures {
        failover,
        share: share_time,
    }
}

#[tokio::main]
async fn main() {
    println!("distributed mode: {WORKERS} workers, {CONNECTORS} connectors + {CONNECTORS} tasks, delay 0, session timeout 6 s");
    let java = run(true).await;
    let rampart = run(false).await;
    let row = |what: &str, r: Duration, j: Duration| {
        println!(
            "  {what:<44} rampart {:>7.2} s   java {:>7.2} s   ratio {:.2}",
            r.as_secs_f64(),
            j.as_secs_f64(),
            r.as_secs_f64() / j.as_secs_f64()
        );
    };
    row(
        "SIGKILL -> all tasks RUNNING elsewhere",
        rampart.failover,
        java.failover,
    );
    row(
        "new worker start -> its share RUNNING",
        rampart.share,
        java.share,
    );
}
