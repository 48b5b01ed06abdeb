//! Helpers: the broker address, worker processes, polling with deadlines.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::message::ToBytes;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::ClientConfig;

/// The broker every test talks to; `.ci/run` and `scripts/test` start it.
pub fn bootstrap() -> String {
    std::env::var("RAMPART_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:19092".to_string())
}

/// A name unique to this test run, for topics and connectors.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{nanos}", std::process::id())
}

// Ports are handed out below Linux's ephemeral range (32768–60999): a port
// taken from that range and bound only later (a worker restarted on its old
// port, a fourth worker joining) can meanwhile become the local end of some
// outgoing connection. Below it only listeners take ports, and this process
// never hands out the same one twice.
const PORTS: std::ops::Range<u16> = 20_000..32_000;

static NEXT_PORT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);

fn next_port() -> u16 {
    let span = PORTS.end - PORTS.start;
    // Each test binary starts somewhere else, so binaries run one after
    // another do not wait on each other's lingering sockets.
    let _ = NEXT_PORT.compare_exchange(
        0,
        (std::process::id() % u32::from(span)) as u16 + 1,
        std::sync::atomic::Ordering::SeqCst,
        std::sync::atomic::Ordering::SeqCst,
    );
    let n = NEXT_PORT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    PORTS.start + n % span
}

/// A free loopback port that no other test of this process was given.
pub fn free_port() -> u16 {
    loop {
        let port = next_port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// The first of `n` consecutive free loopback ports (a broker of a test's
/// own needs one per listener).
pub fn free_port_run(n: u16) -> u16 {
    loop {
        let first = free_port();
        if first.checked_add(n).is_none_or(|end| end > PORTS.end) {
            continue;
        }
        let all_free =
            (first..first + n).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok());
        if all_free {
            // Skip past the run, so no later caller gets a port inside it.
            for _ in 1..n {
                next_port();
            }
            return first;
        }
    }
}

/// Where `scripts/kafka` keeps the shared broker's certificates.
pub fn kafka_certs() -> PathBuf {
    std::env::var("RAMPART_KAFKA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/kafka/run"))
        .join("certs")
}

/// The shared broker's listener `offset` ports above its PLAINTEXT one
/// (`scripts/kafka`: +1 SSL with client certificates, +2 SASL_SSL, +4 SSL
/// with a certificate for another host name).
pub fn kafka_listener(offset: u16) -> String {
    let plain = bootstrap();
    let (host, port) = plain.rsplit_once(':').expect("bootstrap is host:port");
    let port: u16 = port.parse().expect("bootstrap port is a number");
    format!("{host}:{}", port + offset)
}

/// The `rampart` binary built beside this test binary (`scripts/test`
/// builds it first).
pub fn rampart_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary has a path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary lives in target/<profile>/deps");
    let bin = dir.join("rampart");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p rampart` first (scripts/test does)",
        bin.display()
    );
    bin
}

/// Worker settings suited to tests: fast group joins and offset flushes.
pub fn worker_properties(dir: &Path, port: u16, extra: &[(&str, &str)]) -> PathBuf {
    let mut text = format!(
        "bootstrap.servers={}\nlisteners=http://127.0.0.1:{port}\noffset.storage.file.filename={}\noffset.flush.interval.ms=500\nkey.converter=org.apache.kafka.connect.storage.StringConverter\nvalue.converter=org.apache.kafka.connect.storage.StringConverter\nconsumer.session.timeout.ms=6000\nconsumer.heartbeat.interval.ms=500\ntask.shutdown.graceful.timeout.ms=5000\n",
        bootstrap(),
        dir.join("offsets").display()
    );
    for (k, v) in extra {
        text.push_str(&format!("{k}={v}\n"));
    }
    let path = dir.join("worker.properties");
    std::fs::write(&path, text).expect("temp dir is writable");
    path
}

/// A `rampart standalone` process.
pub struct WorkerProcess {
    child: Child,
    /// REST base URL.
    pub url: String,
    /// Where its stderr goes.
    pub log: PathBuf,
}

impl WorkerProcess {
    /// Starts a worker with the given properties file and connector files.
    pub fn start(dir: &Path, properties: &Path, port: u16, connectors: &[PathBuf]) -> Self {
        let mut args = vec![properties.to_path_buf()];
        args.extend(connectors.iter().cloned());
        Self::spawn(dir, "standalone", &args, port, &[])
    }

    /// Starts `rampart distributed` with the given properties file.
    pub fn distributed(dir: &Path, properties: &Path, port: u16) -> Self {
        Self::spawn(dir, "distributed", &[properties.to_path_buf()], port, &[])
    }

    /// As [`Self::distributed`], with environment variables (`CONNECT_*`).
    pub fn distributed_with_env(
        dir: &Path,
        properties: &Path,
        port: u16,
        env: &[(String, String)],
    ) -> Self {
        Self::spawn(dir, "distributed", &[properties.to_path_buf()], port, env)
    }

    fn spawn(
        dir: &Path,
        mode: &str,
        args: &[PathBuf],
        port: u16,
        env: &[(String, String)],
    ) -> Self {
        let log = unique_log(&dir.join(format!("worker-{port}")));
        let file = std::fs::File::create(&log).expect("temp dir is writable");
        let child = Command::new(rampart_bin())
            .arg(mode)
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            // `RAMPART_TEST_LOG=rampart_runtime=debug,info` to look closer.
            .env(
                "RUST_LOG",
                std::env::var("RAMPART_TEST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("rampart binary starts");
        WorkerProcess {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    /// Waits until `/health` answers 200.
    pub async fn wait_healthy(&mut self) {
        let client = reqwest::Client::new();
        let url = format!("{}/health", self.url);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("worker exited with {status}; log:\n{}", self.log_text());
            }
            if let Ok(r) = client.get(&url).send().await {
                if r.status() == 200 {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "worker not healthy in 30 s; log:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The process id (the benchmark reads its RSS).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        self.child.wait().expect("worker can be waited on")
    }

    /// The worker's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn unique_log(base: &Path) -> PathBuf {
    let mut n = 0;
    loop {
        let p = base.with_extension(format!("{n}.log"));
        if !p.exists() {
            return p;
        }
        n += 1;
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Java Kafka Connect (`scripts/connect`), the oracle the differential
/// tests compare Rampart with.
pub struct JavaConnect {
    child: Child,
    /// REST base URL.
    pub url: String,
    /// Where its output goes.
    pub log: PathBuf,
}

impl JavaConnect {
    /// Starts `ConnectStandalone` with a properties file, and waits until
    /// its REST API answers. A small heap and the serial collector suit
    /// two cores in tests.
    pub async fn standalone(dir: &Path, properties: &Path, port: u16) -> Self {
        Self::start(
            dir,
            properties,
            port,
            Some("-Xms128m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1"),
        )
        .await
    }

    /// As [`Self::standalone`], with the JVM options given, or Kafka's own
    /// (those of `connect-standalone.sh`) when `None`.
    pub async fn start(dir: &Path, properties: &Path, port: u16, jvm: Option<&str>) -> Self {
        Self::run("standalone", dir, properties, port, jvm).await
    }

    /// `ConnectDistributed` with a small heap, once its REST API answers.
    pub async fn distributed(dir: &Path, properties: &Path, port: u16) -> Self {
        Self::run(
            "distributed",
            dir,
            properties,
            port,
            Some("-Xms128m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1"),
        )
        .await
    }

    /// `scripts/connect <mode>` with the JVM options given, or Kafka's own
    /// when `None`, once its REST API answers.
    pub async fn run(
        mode: &str,
        dir: &Path,
        properties: &Path,
        port: u16,
        jvm: Option<&str>,
    ) -> Self {
        let log = unique_log(&dir.join(format!("java-connect-{port}")));
        let file = std::fs::File::create(&log).expect("temp dir is writable");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/connect");
        let mut command = Command::new(script);
        command.arg(mode).arg(properties);
        if let Some(opts) = jvm {
            command.env("RAMPART_CONNECT_JVM_OPTS", opts);
        }
        let child = command
            .stdout(file.try_clone().expect("log file handle"))
            .stderr(file)
            .spawn()
            .expect("scripts/connect starts");
        let mut java = JavaConnect {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Ok(Some(status)) = java.child.try_wait() {
                panic!(
                    "java connect exited with {status}; log:\n{}",
                    std::fs::read_to_string(&java.log).unwrap_or_default()
                );
            }
            if let Ok(r) = client.get(format!("{}/", java.url)).send().await {
                if r.status() == 200 {
                    return java;
                }
            }
            assert!(
                Instant::now() < deadline,
                "java connect not answering in 90 s; log:\n{}",
                std::fs::read_to_string(&java.log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl JavaConnect {
    /// The JVM's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM and wait: Java stops its tasks, commits, leaves the group.
    pub fn terminate(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }

    /// The JVM's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for JavaConnect {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Java worker and a Rampart worker on the same broker, each with a
/// directory of its own: the two sides of a differential test.
pub struct JavaAndRampart {
    /// Java Kafka Connect.
    pub java: JavaConnect,
    /// Its directory.
    pub java_dir: tempfile::TempDir,
    /// Rampart.
    pub rampart: WorkerProcess,
    /// Its directory.
    pub rampart_dir: tempfile::TempDir,
}

impl JavaAndRampart {
    /// Both started with the tests' worker settings, and answering.
    pub async fn start() -> Self {
        let java_dir = tempfile::tempdir().expect("temp dir");
        let rampart_dir = tempfile::tempdir().expect("temp dir");
        let (java_port, rampart_port) = (free_port(), free_port());
        let java_props = worker_properties(java_dir.path(), java_port, &[]);
        let rampart_props = worker_properties(rampart_dir.path(), rampart_port, &[]);
        let java = JavaConnect::standalone(java_dir.path(), &java_props, java_port).await;
        let mut rampart =
            WorkerProcess::start(rampart_dir.path(), &rampart_props, rampart_port, &[]);
        rampart.wait_healthy().await;
        JavaAndRampart {
            java,
            java_dir,
            rampart,
            rampart_dir,
        }
    }
}

/// Polls `/health` until its message contains `needle`; the status code
/// and body then.
pub async fn health_saying(
    client: &reqwest::Client,
    url: &str,
    needle: &str,
) -> (u16, serde_json::Value) {
    eventually(
        &format!("/health saying {needle}"),
        Duration::from_secs(30),
        || async {
            let resp = client.get(format!("{url}/health")).send().await.ok()?;
            let (code, body) = json(resp).await;
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains(needle))
                .then_some((code, body))
        },
    )
    .await
}

/// Polls `check` until it returns `Some`, or fails after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Reads a JSON response.
pub async fn json(resp: reqwest::Response) -> (u16, serde_json::Value) {
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap_or_default();
    let value = serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body));
    (status, value)
}

/// A connector's status (`GET /connectors/{name}/status`); `Null` while the
/// worker does not answer.
pub async fn status(client: &reqwest::Client, url: &str, name: &str) -> serde_json::Value {
    match client
        .get(format!("{url}/connectors/{name}/status"))
        .send()
        .await
    {
        Ok(resp) => json(resp).await.1,
        Err(_) => serde_json::Value::Null,
    }
}

/// Polls a connector's status until `pred` holds, and returns it.
pub async fn wait_for(
    client: &reqwest::Client,
    url: &str,
    name: &str,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    eventually(
        &format!("status of {name}"),
        Duration::from_secs(40),
        || async {
            let s = status(client, url, name).await;
            pred(&s).then_some(s)
        },
    )
    .await
}

/// Queues one record on `producer`; while librdkafka's local queue is full,
/// waits for the oldest delivery in `pending` first.
pub async fn send_queued<K, P>(
    producer: &FutureProducer,
    mut record: FutureRecord<'_, K, P>,
    pending: &mut VecDeque<DeliveryFuture>,
) where
    K: ToBytes + ?Sized,
    P: ToBytes + ?Sized,
{
    loop {
        match producer.send_result(record) {
            Ok(f) => {
                pending.push_back(f);
                return;
            }
            Err((_, back)) => {
                record = back;
                if let Some(f) = pending.pop_front() {
                    f.await.expect("delivery").expect("produced");
                }
            }
        }
    }
}

/// Waits until the broker acknowledged every queued record.
pub async fn await_deliveries(pending: VecDeque<DeliveryFuture>) {
    for f in pending {
        f.await.expect("delivery").expect("produced");
    }
}

/// A field of `/proc/<pid>/status` in kB (0 once the process has exited).
pub fn proc_status_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|l| l.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// A process's resident memory now, in MB (0 once it has exited).
pub fn rss_mb(pid: u32) -> f64 {
    proc_status_kb(pid, "VmRSS:") as f64 / 1024.0
}

/// A task-0 metric of a connector from the worker's `/metrics`.
pub async fn metric(
    client: &reqwest::Client,
    url: &str,
    name: &str,
    connector: &str,
) -> Option<u64> {
    let text = metrics_text(client, url).await?;
    let prefix = format!("{name}{{connector=\"{connector}\",task=\"0\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
}

/// The sum of a sink connector's committed offsets over its partitions
/// (`GET /connectors/{name}/offsets`).
pub async fn committed_sum(client: &reqwest::Client, url: &str, name: &str) -> Option<i64> {
    let resp = client
        .get(format!("{url}/connectors/{name}/offsets"))
        .send()
        .await
        .ok()?;
    let (_, body) = json(resp).await;
    Some(
        body["offsets"]
            .as_array()?
            .iter()
            .filter_map(|o| o["offset"]["kafka_offset"].as_i64())
            .sum(),
    )
}

/// Creates `topic` with `partitions` partitions (replication 1).
pub async fn create_topic(topic: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .expect("admin client");
    let results = admin
        .create_topics(
            &[NewTopic::new(topic, partitions, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .expect("create topics answers");
    for r in results {
        r.expect("topic created");
    }
}

/// Creates (or replaces) a connector over REST and checks it was created.
pub async fn create_connector(
    client: &reqwest::Client,
    url: &str,
    name: &str,
    config: &serde_json::Value,
) {
    let resp = client
        .put(format!("{url}/connectors/{name}/config"))
        .json(config)
        .send()
        .await
        .expect("worker answers");
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap_or_default();
    assert_eq!(status, 201, "creating {name}: {body}");
}

/// Pauses a connector over REST and waits until its tasks are PAUSED.
pub async fn pause(client: &reqwest::Client, url: &str, name: &str) {
    let resp = client
        .put(format!("{url}/connectors/{name}/pause"))
        .send()
        .await
        .expect("worker answers");
    assert_eq!(resp.status(), 202, "pausing {name}");
    wait_for(client, url, name, |s| s["tasks"][0]["state"] == "PAUSED").await;
}

/// An Apache Kafka broker of the test's own (`scripts/kafka` with its own
/// directory and ports), so freezing it disturbs no other test.
pub struct OwnBroker {
    dir: tempfile::TempDir,
    pid: u32,
    pub address: String,
}

impl OwnBroker {
    /// Started, and accepting connections.
    pub async fn listening() -> Self {
        tokio::task::spawn_blocking(OwnBroker::start)
            .await
            .expect("own broker start does not panic")
    }

    fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port_run(5);
        kafka_script(dir.path(), port, "start");
        let pid = std::fs::read_to_string(dir.path().join("kafka.pid"))
            .ok()
            .and_then(|p| p.trim().parse().ok())
            .expect("scripts/kafka writes the broker's pid");
        OwnBroker {
            dir,
            pid,
            address: format!("127.0.0.1:{port}"),
        }
    }

    fn script(&self, command: &str) {
        let port: u16 = self
            .address
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        kafka_script(self.dir.path(), port, command);
    }

    /// Stops the broker: an outage.
    pub async fn stop(&mut self) {
        let me = &*self;
        tokio::task::block_in_place(|| me.script("stop"));
    }

    /// Starts the stopped broker again over its data.
    pub async fn resume(&mut self) {
        tokio::task::block_in_place(|| self.script("resume"));
        self.pid = std::fs::read_to_string(self.dir.path().join("kafka.pid"))
            .ok()
            .and_then(|p| p.trim().parse().ok())
            .expect("scripts/kafka writes the broker's pid");
    }

    pub fn signal(&self, sig: &str) {
        let ok = std::process::Command::new("kill")
            .arg(sig)
            .arg(self.pid.to_string())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill {sig}");
    }
}

impl Drop for OwnBroker {
    fn drop(&mut self) {
        // Its data dies with the test: no clean shutdown needed.
        let _ = std::process::Command::new("kill")
            .args(["-9", &self.pid.to_string()])
            .status();
        let _ = &self.dir;
    }
}

/// `scripts/kafka <command>` for a broker of a test's own.
fn kafka_script(dir: &Path, port: u16, command: &str) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/kafka");
    let out = Command::new(&script)
        .arg(command)
        .env("RAMPART_KAFKA_DIR", dir)
        .env("RAMPART_KAFKA_PORT", port.to_string())
        .env("RAMPART_KAFKA_HEAP", "256m")
        .output()
        .expect("scripts/kafka runs");
    assert!(
        out.status.success(),
        "scripts/kafka {command}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A live process's state letter and CPU time in clock ticks (`utime +
/// stime`), from `/proc/<pid>/stat`.
pub fn cpu_ticks(pid: u32) -> (char, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/<pid>/stat");
    // Fields after the command name, which may hold spaces: the state is
    // the first, utime and stime the 12th and 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| -> u64 { fields[i].parse().expect("a tick count") };
    let state = fields[0].chars().next().expect("a state");
    (state, tick(11) + tick(12))
}

/// How many times a worker has logged `text`.
pub fn logged(worker: &WorkerProcess, text: &str) -> usize {
    std::fs::read_to_string(&worker.log)
        .expect("the worker's log")
        .matches(text)
        .count()
}

/// What a listener did while out of descriptors.
pub struct Starved {
    /// The soft descriptor limit set.
    pub soft: usize,
    /// Descriptors the worker had open before.
    pub open: usize,
    /// Failed accepts logged during the window.
    pub failures: usize,
    /// CPU ticks the worker used during the window.
    pub ticks: u64,
    /// The connections made, still open.
    pub held: Vec<tokio::net::TcpStream>,
}

/// How long [`starve_accepts`] measures: a length of time, not a
/// synchronisation.
pub const STARVED_WINDOW: Duration = Duration::from_secs(3);

impl std::fmt::Display for Starved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "out of descriptors (soft limit {}, {} open before): {} failed accepts logged and {} CPU ticks used in {:?}",
            self.soft, self.open, self.failures, self.ticks, STARVED_WINDOW
        )
    }
}

impl Starved {
    /// Doubling from 10 ms to 1 s, about eight waits fit in the window; a
    /// listener retrying at once logs thousands and takes a core (300
    /// ticks).
    pub fn assert_backed_off(&self) {
        assert!(self.failures <= 12, "{self}");
        assert!(self.ticks < 60, "{self}");
    }
}

/// Out of file descriptors, `accept` fails (EMFILE) for as long as
/// connections wait in the kernel's queue, and the listening socket stays
/// readable, so a listener that retries at once spins. This lowers the
/// worker's soft descriptor limit to a few above what it has open (with
/// util-linux's `prlimit`), connects to `port` until accepts fail, and
/// counts failures and CPU over [`STARVED_WINDOW`].
pub async fn starve_accepts(worker: &WorkerProcess, port: u16) -> Starved {
    const CONNECTIONS: usize = 40;
    let pid = worker.pid();
    let open = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count());
    let soft = open + 6;
    let lowered = Command::new("prlimit")
        .args(["--pid", &pid.to_string(), &format!("--nofile={soft}:")])
        .status()
        .is_ok_and(|s| s.success());
    assert!(lowered, "prlimit lowers the worker's descriptor limit");
    let mut held = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        held.push(
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("the kernel completes the connection"),
        );
    }
    eventually(
        "accepts to fail for want of descriptors",
        Duration::from_secs(30),
        || async { (logged(worker, "accept failed") > 0).then_some(()) },
    )
    .await;
    let (failures, (_, ticks)) = (logged(worker, "accept failed"), cpu_ticks(pid));
    tokio::time::sleep(STARVED_WINDOW).await;
    let (state, ticks_after) = cpu_ticks(pid);
    // A crashed worker's frozen figures would pass for a calm one.
    assert!(
        !matches!(state, 'Z' | 'X'),
        "the worker died while out of descriptors"
    );
    Starved {
        soft,
        open,
        failures: logged(worker, "accept failed").saturating_sub(failures),
        ticks: ticks_after.saturating_sub(ticks),
        held,
    }
}

/// A worker's `/metrics` page, or `None` while it does not answer.
pub async fn metrics_text(client: &reqwest::Client, url: &str) -> Option<String> {
    client
        .get(format!("{url}/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()
}
