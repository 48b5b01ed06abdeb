//! A cluster of `rampart distributed` workers for the tests: one group and
//! three internal topics of its own on the shared broker, and helpers that
//! read what the workers say about connectors, tasks and their owners.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::support::{bootstrap, eventually, free_port_run, json, unique, WorkerProcess};

/// Worker processes sharing one group.
pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub group: String,
    pub bootstrap: String,
    first_port: u16,
    pub workers: Vec<Option<WorkerProcess>>,
    extra: Vec<(String, String)>,
    /// Environment variables of every worker (`CONNECT_*` settings).
    pub env: Vec<(String, String)>,
    pub client: reqwest::Client,
}

/// The properties every worker of a test cluster has, and Java's too.
pub fn distributed_properties(
    bootstrap: &str,
    group: &str,
    port: u16,
    extra: &[(String, String)],
) -> String {
    let mut text = format!(
        "bootstrap.servers={bootstrap}\n\
         group.id={group}\n\
         config.storage.topic={group}-configs\n\
         offset.storage.topic={group}-offsets\n\
         status.storage.topic={group}-status\n\
         config.storage.replication.factor=1\n\
         offset.storage.replication.factor=1\n\
         status.storage.replication.factor=1\n\
         offset.storage.partitions=5\n\
         status.storage.partitions=3\n\
         listeners=http://127.0.0.1:{port}\n\
         rest.advertised.host.name=127.0.0.1\n\
         rest.advertised.port={port}\n\
         key.converter=org.apache.kafka.connect.storage.StringConverter\n\
         value.converter=org.apache.kafka.connect.storage.StringConverter\n\
         session.timeout.ms=6000\n\
         heartbeat.interval.ms=1000\n\
         offset.flush.interval.ms=500\n\
         consumer.session.timeout.ms=6000\n\
         consumer.heartbeat.interval.ms=500\n\
         task.shutdown.graceful.timeout.ms=5000\n"
    );
    for (k, v) in extra {
        text.push_str(&format!("{k}={v}\n"));
    }
    text
}

impl Cluster {
    /// A cluster of up to `slots` workers (none started yet).
    pub fn new(prefix: &str, slots: u16, extra: &[(&str, &str)]) -> Self {
        Cluster {
            dir: tempfile::tempdir().expect("temp dir"),
            group: unique(prefix),
            bootstrap: bootstrap(),
            first_port: free_port_run(slots),
            workers: (0..slots).map(|_| None).collect(),
            extra: extra
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            env: Vec::new(),
            client: reqwest::Client::new(),
        }
    }

    /// The REST port of worker `i`.
    pub fn port(&self, i: usize) -> u16 {
        self.first_port + i as u16
    }

    /// The REST URL of worker `i`.
    pub fn url(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.port(i))
    }

    /// Worker `i`'s properties file.
    pub fn properties(&self, i: usize) -> PathBuf {
        let path = self.dir.path().join(format!("worker-{i}.properties"));
        let text = distributed_properties(&self.bootstrap, &self.group, self.port(i), &self.extra);
        std::fs::write(&path, text).expect("temp dir is writable");
        path
    }

    /// Starts worker `i` and waits until it is healthy.
    pub async fn start(&mut self, i: usize) {
        let props = self.properties(i);
        let mut w =
            WorkerProcess::distributed_with_env(self.dir.path(), &props, self.port(i), &self.env);
        w.wait_healthy().await;
        self.workers[i] = Some(w);
    }

    /// Starts workers `0..n` at once, and waits until all are healthy.
    pub async fn start_all(&mut self, n: usize) {
        let mut started: Vec<WorkerProcess> = (0..n)
            .map(|i| {
                WorkerProcess::distributed_with_env(
                    self.dir.path(),
                    &self.properties(i),
                    self.port(i),
                    &self.env,
                )
            })
            .collect();
        for w in &mut started {
            w.wait_healthy().await;
        }
        for (i, w) in started.into_iter().enumerate() {
            self.workers[i] = Some(w);
        }
    }

    /// The indexes of running workers.
    pub fn live(&self) -> Vec<usize> {
        (0..self.workers.len())
            .filter(|i| self.workers[*i].is_some())
            .collect()
    }

    /// The worker whose advertised id is `worker_id`.
    pub fn index_of(&self, worker_id: &str) -> Option<usize> {
        (0..self.workers.len()).find(|i| worker_id == format!("127.0.0.1:{}", self.port(*i)))
    }

    /// Every worker's log, for failure messages.
    pub fn logs(&self) -> String {
        self.workers
            .iter()
            .flatten()
            .map(|w| {
                let text = w.log_text();
                let tail: Vec<&str> = text.lines().rev().take(40).collect();
                format!(
                    "--- {}\n{}",
                    w.url,
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A request to worker `i`, retried while the cluster answers 409
    /// (rebalancing), as scripts against Java Connect retry.
    pub async fn send(
        &self,
        i: usize,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        self.send_to(&self.url(i), method, path, body).await
    }

    /// As [`Self::send`], to any worker's URL (a Java worker's too).
    pub async fn send_to(
        &self,
        url: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        eventually(
            &format!("{method} {url}{path} not answering 409"),
            Duration::from_secs(90),
            || async {
                let mut req = self.client.request(method.clone(), format!("{url}{path}"));
                if let Some(b) = body {
                    req = req.json(b);
                }
                let (code, value) = json(req.send().await.ok()?).await;
                let conflict = code == 409
                    && !value["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("already exists"));
                (!conflict).then_some((code, value))
            },
        )
        .await
    }

    /// Creates a connector through worker `i` (`PUT …/config`), checking
    /// it was created.
    pub async fn create(&self, i: usize, name: &str, config: &Value) {
        let (code, body) = self
            .send(
                i,
                reqwest::Method::PUT,
                &format!("/connectors/{name}/config"),
                Some(config),
            )
            .await;
        assert_eq!(code, 201, "creating {name} through worker {i}: {body}");
    }

    /// Worker `i`'s `/metrics` text.
    pub async fn metrics(&self, i: usize) -> String {
        self.client
            .get(format!("{}/metrics", self.url(i)))
            .send()
            .await
            .expect("worker answers")
            .text()
            .await
            .expect("metrics are text")
    }

    /// `GET /connectors?expand=status` from worker `i`.
    pub async fn statuses(&self, i: usize) -> Option<Value> {
        let resp = self
            .client
            .get(format!("{}/connectors?expand=status", self.url(i)))
            .send()
            .await
            .ok()?;
        let (code, value) = json(resp).await;
        (code == 200).then_some(value)
    }

    /// Waits until every live worker reports exactly `expected` (connector
    /// → task count), everything RUNNING (or PAUSED), on live workers, each task run
    /// once, and connectors and tasks each balanced (max − min < 2).
    /// Returns connector → (its worker, task → worker).
    pub async fn settled(&self, expected: &[(&str, u32)]) -> Placement {
        let deadline = std::time::Instant::now() + Duration::from_secs(90);
        loop {
            if let Some(p) = self.placement(expected).await {
                return p;
            }
            if std::time::Instant::now() > deadline {
                let mut seen = String::new();
                for i in self.live() {
                    seen.push_str(&format!("worker {i}: {:?}\n", self.statuses(i).await));
                }
                panic!(
                    "{expected:?} not running, unique and balanced in 90 s\n{seen}{}",
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn placement(&self, expected: &[(&str, u32)]) -> Option<Placement> {
        let live = self.live();
        let mut seen: Option<Value> = None;
        for i in &live {
            let s = self.statuses(*i).await?;
            if seen.as_ref().is_some_and(|v| *v != s) {
                return None;
            }
            seen = Some(s);
        }
        let seen = seen?;
        let names: Vec<&String> = seen.as_object()?.keys().collect();
        let mut want: Vec<&str> = expected.iter().map(|(n, _)| *n).collect();
        want.sort();
        if names.iter().map(|n| n.as_str()).collect::<Vec<_>>() != want {
            return None;
        }
        let live_ids: Vec<String> = live
            .iter()
            .map(|i| format!("127.0.0.1:{}", self.port(*i)))
            .collect();
        let mut placement = Placement::default();
        for (name, tasks) in expected {
            let st = &seen[*name]["status"];
            let owner = st["connector"]["worker_id"].as_str()?.to_string();
            let started = |s: &Value| s == "RUNNING" || s == "PAUSED";
            if !started(&st["connector"]["state"]) || !live_ids.contains(&owner) {
                return None;
            }
            let list = st["tasks"].as_array()?;
            if list.len() != *tasks as usize {
                return None;
            }
            let mut task_owners = BTreeMap::new();
            for t in list {
                let w = t["worker_id"].as_str()?.to_string();
                if !started(&t["state"]) || !live_ids.contains(&w) {
                    return None;
                }
                task_owners.insert(t["id"].as_u64()? as u32, w);
            }
            placement
                .connectors
                .insert(name.to_string(), (owner, task_owners));
        }
        // Each task runs once: the workers' own task counts add up.
        let mut running = 0;
        for i in &live {
            running += self.running_tasks(*i).await?;
        }
        let total: u32 = expected.iter().map(|(_, n)| n).sum();
        if running != u64::from(total) {
            return None;
        }
        // And each connector once: the workers' connector counts add up.
        let mut connectors_run = 0;
        for i in &live {
            connectors_run += self
                .worker_metric(*i, "kafka_connect_connect_worker_metrics_connector_count")
                .await?;
        }
        if connectors_run != expected.len() as u64 {
            return None;
        }
        let balanced = |counts: BTreeMap<&String, usize>| {
            let per: Vec<usize> = live_ids
                .iter()
                .map(|w| counts.get(w).copied().unwrap_or(0))
                .collect();
            per.iter().max().unwrap_or(&0) - per.iter().min().unwrap_or(&0) < 2
        };
        let mut connectors = BTreeMap::new();
        let mut tasks = BTreeMap::new();
        for (owner, task_owners) in placement.connectors.values() {
            *connectors.entry(owner).or_insert(0) += 1;
            for w in task_owners.values() {
                *tasks.entry(w).or_insert(0) += 1;
            }
        }
        (balanced(connectors) && balanced(tasks)).then_some(placement)
    }

    /// How many tasks worker `i` runs, by its own metrics.
    pub async fn running_tasks(&self, i: usize) -> Option<u64> {
        self.worker_metric(i, "kafka_connect_connect_worker_metrics_task_count")
            .await
    }

    /// A worker-level gauge of worker `i`'s `/metrics`.
    pub async fn worker_metric(&self, i: usize, name: &str) -> Option<u64> {
        let text = crate::support::metrics_text(&self.client, &self.url(i)).await?;
        // Confluent's rules label worker-wide values `connector="aggregate"`.
        let prefix = format!("{name}{{connector=\"aggregate\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .and_then(|v| v.trim().parse().ok())
    }
}

/// Where connectors and tasks run: connector → (worker id, task → worker id).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Placement {
    pub connectors: BTreeMap<String, (String, BTreeMap<u32, String>)>,
}

/// The lines of a file (none if it does not exist yet).
pub fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .map(|t| t.lines().map(str::to_string).collect())
        .unwrap_or_default()
}

/// Appends `line-<from>` … `line-<to - 1>` to a file.
pub fn append_lines(path: &Path, from: usize, to: usize) {
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("input file is writable");
    let mut text = String::with_capacity((to - from) * 12);
    for n in from..to {
        text.push_str(&format!("line-{n}\n"));
    }
    f.write_all(text.as_bytes())
        .expect("input file is writable");
}

/// How many of `line-0` … `line-<n - 1>` arrived, and how many arrived
/// more than once; lines outside that range fail the test.
pub fn arrivals(path: &Path, n: usize) -> (usize, usize) {
    let mut counts = vec![0u32; n];
    for l in lines(path) {
        let k: usize = l
            .strip_prefix("line-")
            .and_then(|k| k.parse().ok())
            .unwrap_or_else(|| panic!("unexpected line {l:?} in {}", path.display()));
        assert!(k < n, "line {l:?} was never written");
        counts[k] += 1;
    }
    let arrived = counts.iter().filter(|c| **c > 0).count();
    let duplicated = counts.iter().map(|c| c.saturating_sub(1) as usize).sum();
    (arrived, duplicated)
}

/// Waits until `line-0` … `line-<n - 1>` all arrived in `file`; returns
/// how many arrived more than once.
pub async fn arrived(file: &Path, n: usize) -> usize {
    eventually(
        &format!("{n} lines in {}", file.display()),
        Duration::from_secs(120),
        || async {
            let (got, dups) = arrivals(file, n);
            (got == n).then_some(dups)
        },
    )
    .await
}
