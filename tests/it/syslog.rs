//! The syslog source end to end: real `logger` senders over UDP and TCP →
//! rampart → the broker → a FileStream sink, with Confluent's field names.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{
    create_connector, eventually, free_port, json, metric, pause, unique, wait_for,
    worker_properties, OwnBroker, WorkerProcess,
};

fn logger(args: &[&str]) {
    let out = std::process::Command::new("logger")
        .args(args)
        .output()
        .expect("logger (util-linux) runs");
    assert!(
        out.status.success(),
        "logger {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub(crate) async fn running(client: &reqwest::Client, url: &str, name: &str, tasks: usize) {
    wait_for(client, url, name, |s| {
        let states: Vec<&str> = s["tasks"]
            .as_array()
            .map(|t| t.iter().filter_map(|t| t["state"].as_str()).collect())
            .unwrap_or_default();
        states.len() == tasks && states.iter().all(|s| *s == "RUNNING")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn logger_messages_over_udp_and_tcp_arrive_parsed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[]);
    worker.wait_healthy().await;
    let client = reqwest::Client::new();
    let topic = unique("syslog");
    let out = dir.path().join("events.jsonl");
    let (udp_port, tcp_port) = (free_port(), free_port());
    let source = |listener: &str, p: u16, tasks: u32| {
        json!({
            "connector.class": "io.confluent.connect.syslog.SyslogSourceConnector",
            "tasks.max": tasks,
            "syslog.listener": listener,
            "syslog.listen.address": "127.0.0.1",
            "syslog.port": p,
            "topic": topic,
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter.schemas.enable": "false",
        })
    };
    for (name, cfg) in [
        // Two tasks share the UDP port (SO_REUSEPORT).
        ("syslog-udp", source("UDP", udp_port, 2)),
        ("syslog-tcp", source("TCP", tcp_port, 1)),
        (
            "events-sink",
            json!({"connector.class": "FileStreamSink", "topics": topic, "file": out, "value.converter": "org.apache.kafka.connect.storage.StringConverter"}),
        ),
    ] {
        create_connector(&client, &worker.url, name, &cfg).await;
    }
    running(&client, &worker.url, "syslog-udp", 2).await;
    running(&client, &worker.url, "syslog-tcp", 1).await;

    let (udp, tcp) = (udp_port.to_string(), tcp_port.to_string());
    logger(&[
        "--server",
        "127.0.0.1",
        "--port",
        &udp,
        "--udp",
        "--rfc5424",
        "-t",
        "sshd",
        "--msgid",
        "ID47",
        "-p",
        "auth.warning",
        "Failed password for root from 203.0.113.9 port 22 ssh2",
    ]);
    logger(&[
        "--server",
        "127.0.0.1",
        "--port",
        &tcp,
        "--tcp",
        "--rfc3164",
        "-t",
        "su",
        "-p",
        "auth.crit",
        "BAD SU to root on /dev/pts/1",
    ]);
    logger(&[
        "--server",
        "127.0.0.1",
        "--port",
        &tcp,
        "--tcp",
        "--octet-count",
        "--rfc5424",
        "-t",
        "kernel",
        "-p",
        "kern.err",
        "eth0: link down",
    ]);

    let out_ref = &out;
    let events: Vec<Value> = eventually(
        "three events in the sink",
        Duration::from_secs(60),
        || async move {
            let text = std::fs::read_to_string(out_ref).unwrap_or_default();
            let events: Vec<Value> = text
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect();
            (events.len() >= 3).then_some(events)
        },
    )
    .await;
    let find = |app: &str| {
        events
            .iter()
            .find(|e| e["appName"] == app)
            .cloned()
            .unwrap_or_else(|| panic!("no {app} event in {events:?}"))
    };

    let sshd = find("sshd");
    assert_eq!(sshd["type"], "RFC5424");
    assert_eq!(sshd["messageId"], "ID47");
    assert_eq!(sshd["facility"], 4, "auth");
    assert_eq!(sshd["level"], 4, "warning");
    assert_eq!(
        sshd["message"],
        "Failed password for root from 203.0.113.9 port 22 ssh2"
    );
    assert_eq!(sshd["remoteAddress"], "127.0.0.1");
    assert!(
        sshd["date"].is_i64(),
        "timestamps are Connect Timestamps (epoch ms): {sshd}"
    );
    assert!(
        sshd["rawMessage"]
            .as_str()
            .is_some_and(|r| r.starts_with("<36>1 ")),
        "{sshd}"
    );

    let su = find("su");
    assert_eq!(su["type"], "RFC3164");
    assert_eq!(
        (su["facility"].clone(), su["level"].clone()),
        (json!(4), json!(2))
    );
    assert_eq!(su["message"], "BAD SU to root on /dev/pts/1");

    let kernel = find("kernel");
    assert_eq!(kernel["type"], "RFC5424", "octet-counted TCP frame");
    assert_eq!(kernel["message"], "eth0: link down");
    assert_eq!(kernel["level"], 3);
    assert_eq!(worker.terminate().code(), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_accepted_before_a_graceful_stop_reach_kafka() {
    use tokio::io::AsyncWriteExt;
    const N: usize = 300;
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[]);
    worker.wait_healthy().await;
    let client = reqwest::Client::new();
    let topic = unique("drain");
    let out = dir.path().join("drained.txt");
    let syslog_port = free_port();
    for (name, cfg) in [
        (
            "syslog-tcp",
            json!({"connector.class": "SyslogSource", "syslog.listener": "TCP", "syslog.listen.address": "127.0.0.1", "syslog.port": syslog_port, "topic": topic, "syslog.output.format": "ecs", "value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false"}),
        ),
        (
            "drain-sink",
            json!({"connector.class": "FileStreamSink", "topics": topic, "file": out}),
        ),
    ] {
        create_connector(&client, &worker.url, name, &cfg).await;
    }
    running(&client, &worker.url, "syslog-tcp", 1).await;
    // Paused, the task polls nothing: accepted messages wait in its buffer.
    let url = worker.url.clone();
    let client_ref = &client;
    pause(&client, &worker.url, "syslog-tcp").await;

    let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", syslog_port))
        .await
        .expect("listener accepts");
    let mut payload = String::new();
    for i in 0..N {
        payload.push_str(&format!(
            "<13>1 2026-11-26T12:00:00Z fw01 app - - - drained message {i}\n"
        ));
    }
    conn.write_all(payload.as_bytes()).await.expect("sent");
    conn.shutdown().await.expect("closed");
    let metric = format!(
        "rampart_connector_task_syslog_received_total{{connector=\"syslog-tcp\",task=\"0\"}} {N}\n"
    );
    eventually(
        "every message accepted by the listener",
        Duration::from_secs(30),
        || {
            let url = url.clone();
            let metric = metric.clone();
            async move {
                crate::support::metrics_text(client_ref, &url)
                    .await?
                    .contains(&metric)
                    .then_some(())
            }
        },
    )
    .await;

    // A graceful stop flushes them to Kafka before the socket closes.
    assert_eq!(worker.terminate().code(), Some(0), "{}", worker.log_text());
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[]);
    worker.wait_healthy().await;
    let out_ref = &out;
    let lines = eventually(
        "drained messages in the sink",
        Duration::from_secs(60),
        || async move {
            let text = std::fs::read_to_string(out_ref).unwrap_or_default();
            let lines: Vec<Value> = text
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect();
            (lines.len() >= N).then_some(lines)
        },
    )
    .await;
    let mut messages: Vec<String> = lines
        .iter()
        .filter_map(|l| l["message"].as_str().map(str::to_string))
        .collect();
    messages.sort();
    messages.dedup();
    assert_eq!(messages.len(), N, "every accepted message, once");
    assert_eq!(lines[0]["host"]["name"], "fw01", "ECS layout");
    assert_eq!(worker.terminate().code(), Some(0));
}

fn openssl(args: &[&std::ffi::OsStr]) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A certificate signed by `ca` (or a CA certificate when `ca` is None).
pub(crate) fn certificate(
    dir: &std::path::Path,
    name: &str,
    ca: Option<(&std::path::Path, &std::path::Path)>,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key, csr, ext) = (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
        dir.join(format!("{name}.csr")),
        dir.join(format!("{name}.ext")),
    );
    let subject = format!("/CN={name}");
    let o = |s: &str| std::ffi::OsString::from(s);
    match ca {
        None => openssl(&[
            &o("req"),
            &o("-x509"),
            &o("-newkey"),
            &o("rsa:2048"),
            &o("-nodes"),
            &o("-days"),
            &o("1"),
            &o("-subj"),
            &o(&subject),
            &o("-keyout"),
            key.as_os_str(),
            &o("-out"),
            cert.as_os_str(),
        ]),
        Some((ca_cert, ca_key)) => {
            std::fs::write(&ext, "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n").expect("temp dir");
            openssl(&[
                &o("req"),
                &o("-newkey"),
                &o("rsa:2048"),
                &o("-nodes"),
                &o("-subj"),
                &o(&subject),
                &o("-keyout"),
                key.as_os_str(),
                &o("-out"),
                csr.as_os_str(),
            ]);
            openssl(&[
                &o("x509"),
                &o("-req"),
                &o("-in"),
                csr.as_os_str(),
                &o("-CA"),
                ca_cert.as_os_str(),
                &o("-CAkey"),
                ca_key.as_os_str(),
                &o("-CAcreateserial"),
                &o("-days"),
                &o("1"),
                &o("-extfile"),
                ext.as_os_str(),
                &o("-out"),
                cert.as_os_str(),
            ]);
        }
    }
    (cert, key)
}

/// Sends lines over TLS with `openssl s_client`, optionally with a client
/// certificate; returns whether the session went through.
pub(crate) fn send_tls(
    port: u16,
    ca: &std::path::Path,
    client: Option<(&std::path::Path, &std::path::Path)>,
    lines: &str,
) -> bool {
    use std::io::Write;
    let mut cmd = std::process::Command::new("openssl");
    cmd.args([
        "s_client",
        "-quiet",
        "-no_ign_eof",
        "-verify_return_error",
        "-connect",
        &format!("127.0.0.1:{port}"),
        "-CAfile",
    ])
    .arg(ca);
    if let Some((cert, key)) = client {
        cmd.arg("-cert").arg(cert).arg("-key").arg(key);
    }
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("openssl runs");
    let _ = child
        .stdin
        .take()
        .expect("piped")
        .write_all(lines.as_bytes());
    child.wait().is_ok_and(|s| s.success())
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_listener_with_client_certificates() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (ca_cert, ca_key) = certificate(dir.path(), "ca", None);
    let ca = Some((ca_cert.as_path(), ca_key.as_path()));
    let (server_cert, server_key) = certificate(dir.path(), "server", ca);
    let (client_cert, client_key) = certificate(dir.path(), "client", ca);
    let (other_ca, other_key) = certificate(dir.path(), "other-ca", None);
    let (stranger_cert, stranger_key) = certificate(
        dir.path(),
        "stranger",
        Some((other_ca.as_path(), other_key.as_path())),
    );
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[]);
    worker.wait_healthy().await;
    let client = reqwest::Client::new();
    let topic = unique("tls");
    let out = dir.path().join("tls.jsonl");
    let syslog_port = free_port();
    for (name, cfg) in [
        (
            "syslog-tls",
            json!({
            "connector.class": "SyslogSource", "syslog.listener": "TCPSSL", "syslog.listen.address": "127.0.0.1",
            "syslog.port": syslog_port, "topic": topic,
            "syslog.ssl.cert.chain.path": server_cert, "syslog.ssl.key.path": server_key, "syslog.ssl.client.ca.path": ca_cert,
            "value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false"}),
        ),
        (
            "tls-sink",
            json!({"connector.class": "FileStreamSink", "topics": topic, "file": out}),
        ),
    ] {
        create_connector(&client, &worker.url, name, &cfg).await;
    }
    running(&client, &worker.url, "syslog-tls", 1).await;

    let (sc, sk) = (stranger_cert.clone(), stranger_key.clone());
    let ca = ca_cert.clone();
    let refused = tokio::task::spawn_blocking(move || {
        send_tls(
            syslog_port,
            &ca,
            Some((&sc, &sk)),
            "<13>1 - fw01 app - - - from a stranger\n",
        )
    })
    .await
    .expect("joined");
    let ca = ca_cert.clone();
    let accepted = tokio::task::spawn_blocking(move || {
        send_tls(
            syslog_port,
            &ca,
            Some((&client_cert, &client_key)),
            "<13>1 - fw01 app - - - over tls\n<13>1 - fw01 app - - - second\n",
        )
    })
    .await
    .expect("joined");
    assert!(accepted, "a trusted client certificate is accepted");
    let out_ref = &out;
    let events: Vec<Value> = eventually(
        "TLS events in the sink",
        Duration::from_secs(60),
        || async move {
            let text = std::fs::read_to_string(out_ref).unwrap_or_default();
            let events: Vec<Value> = text
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect();
            (events.len() >= 2).then_some(events)
        },
    )
    .await;
    // The topic has several partitions, so arrival order is not fixed.
    let mut messages: Vec<&str> = events
        .iter()
        .filter_map(|e| e["message"].as_str())
        .collect();
    messages.sort();
    assert_eq!(
        messages,
        vec!["over tls", "second"],
        "the stranger's message never arrives (its client saw success: {refused})"
    );
    assert_eq!(worker.terminate().code(), Some(0));
}

/// rsyslog as the sender, the way it is deployed in front of a collector:
/// it receives over TCP and forwards with octet counting, and over TLS.
/// rsyslogd's path (`scripts/test` installs rsyslog with its TLS and RELP
/// modules).
pub(crate) fn rsyslogd() -> &'static str {
    ["/usr/sbin/rsyslogd", "/sbin/rsyslogd"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("rsyslogd is installed (scripts/test installs rsyslog, rsyslog-gnutls and rsyslog-relp)")
}

#[tokio::test(flavor = "multi_thread")]
async fn rsyslog_forwards_octet_counted_and_over_tls() {
    let rsyslogd = rsyslogd();
    let dir = tempfile::tempdir().expect("temp dir");
    let (ca_cert, ca_key) = certificate(dir.path(), "ca", None);
    let (server_cert, server_key) = certificate(
        dir.path(),
        "server",
        Some((ca_cert.as_path(), ca_key.as_path())),
    );
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[]);
    worker.wait_healthy().await;
    let client = reqwest::Client::new();
    let topic = unique("rsyslog");
    let out = dir.path().join("rsyslog.jsonl");
    let (tcp_port, tls_port, input_port) = (free_port(), free_port(), free_port());
    let source = |name: &str, listener: &str, p: u16| {
        let mut c = json!({
            "connector.class": "SyslogSource", "syslog.listener": listener, "syslog.listen.address": "127.0.0.1",
            "syslog.port": p, "topic": topic, "transforms": "path", "transforms.path.type": "org.apache.kafka.connect.transforms.InsertField$Value",
            "transforms.path.static.field": "path", "transforms.path.static.value": name,
            "value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false"});
        if listener == "TCPSSL" {
            c["syslog.ssl.cert.chain.path"] = json!(server_cert);
            c["syslog.ssl.key.path"] = json!(server_key);
        }
        c
    };
    for (name, cfg) in [
        ("from-rsyslog-tcp", source("tcp", "TCP", tcp_port)),
        ("from-rsyslog-tls", source("tls", "TCPSSL", tls_port)),
        (
            "rsyslog-sink",
            json!({"connector.class": "FileStreamSink", "topics": topic, "file": out}),
        ),
    ] {
        create_connector(&client, &worker.url, name, &cfg).await;
    }
    running(&client, &worker.url, "from-rsyslog-tcp", 1).await;
    running(&client, &worker.url, "from-rsyslog-tls", 1).await;

    let work = dir.path().join("rsyslog-work");
    std::fs::create_dir_all(&work).expect("temp dir");
    let conf = dir.path().join("rsyslog.conf");
    std::fs::write(
        &conf,
        format!(
            r#"global(workDirectory="{work}" defaultNetstreamDriverCAFile="{ca}")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="{input_port}" ruleset="forward")
ruleset(name="forward") {{
  action(type="omfwd" target="127.0.0.1" port="{tcp_port}" protocol="tcp" TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
  action(type="omfwd" target="127.0.0.1" port="{tls_port}" protocol="tcp" StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/certvalid" template="RSYSLOG_SyslogProtocol23Format")
}}
"#,
            work = work.display(),
            ca = ca_cert.display()
        ),
    )
    .expect("temp dir");
    let pid = dir.path().join("rsyslog.pid");
    let mut rsyslog = std::process::Command::new(rsyslogd)
        .arg("-n")
        .arg("-f")
        .arg(&conf)
        .arg("-i")
        .arg(&pid)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("rsyslog.log")).expect("temp dir"))
        .spawn()
        .expect("rsyslogd starts");
    eventually("rsyslog listening", Duration::from_secs(30), || async {
        tokio::net::TcpStream::connect(("127.0.0.1", input_port))
            .await
            .ok()
            .map(|_| ())
    })
    .await;
    logger(&[
        "--server",
        "127.0.0.1",
        "--port",
        &input_port.to_string(),
        "--tcp",
        "--rfc5424",
        "-t",
        "sshd",
        "--msgid",
        "AUTH",
        "-p",
        "auth.notice",
        "Accepted publickey for deploy from 198.51.100.7",
    ]);

    let out_ref = &out;
    let events: Vec<Value> = eventually(
        "the message through both paths",
        Duration::from_secs(60),
        || async move {
            let text = std::fs::read_to_string(out_ref).unwrap_or_default();
            let events: Vec<Value> = text
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect();
            (events.len() >= 2).then_some(events)
        },
    )
    .await;
    let _ = rsyslog.kill();
    let _ = rsyslog.wait();
    let mut paths: Vec<&str> = events.iter().filter_map(|e| e["path"].as_str()).collect();
    paths.sort();
    assert_eq!(paths, vec!["tcp", "tls"]);
    for e in &events {
        assert_eq!(e["type"], "RFC5424", "{e}");
        assert_eq!(e["appName"], "sshd");
        assert_eq!(e["messageId"], "AUTH");
        assert_eq!(
            (e["facility"].clone(), e["level"].clone()),
            (json!(4), json!(5))
        );
        assert_eq!(
            e["message"],
            "Accepted publickey for deploy from 198.51.100.7"
        );
    }
    assert_eq!(worker.terminate().code(), Some(0));
}

/// Messages accepted over TCP while the broker is frozen (SIGSTOP) are all
/// delivered once it comes back: nothing is dropped, and the source's small
/// buffer (`syslog.queue.max.size=50`) pushes back instead of growing.
#[tokio::test(flavor = "multi_thread")]
async fn nothing_accepted_over_tcp_is_lost_while_the_broker_is_frozen() {
    use tokio::io::AsyncWriteExt;
    const N: usize = 2000;
    let broker = OwnBroker::listening().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let props = worker_properties(
        dir.path(),
        port,
        &[("bootstrap.servers", broker.address.as_str())],
    );
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[]);
    worker.wait_healthy().await;
    let client = reqwest::Client::new();
    let topic = unique("frozen");
    let syslog_port = free_port();
    let cfg = json!({
        "connector.class": "SyslogSource", "syslog.listener": "TCP", "syslog.listen.address": "127.0.0.1",
        "syslog.port": syslog_port, "topic": topic, "syslog.queue.max.size": 50,
        "topic.creation.default.partitions": 1, "topic.creation.default.replication.factor": 1,
        "producer.override.queue.buffering.max.messages": 200,
    });
    create_connector(&client, &worker.url, "frozen", &cfg).await;
    running(&client, &worker.url, "frozen", 1).await;
    // One message through first, so the topic exists before the freeze.
    let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", syslog_port))
        .await
        .expect("listener accepts");
    conn.write_all(b"<13>1 - fw01 app - - - warm-up\n")
        .await
        .expect("sent");
    let url = worker.url.clone();
    let client_ref = &client;
    let counter = |name: &'static str, n: u64| {
        let url = url.clone();
        move || {
            let url = url.clone();
            async move {
                let value = metric(client_ref, &url, name, "frozen").await?;
                (value >= n).then_some(value)
            }
        }
    };
    let received = |n| counter("rampart_connector_task_syslog_received_total", n);
    // Acknowledged by the broker, so the topic's metadata is known and the
    // freeze only stalls produce requests.
    eventually(
        "warm-up written",
        Duration::from_secs(30),
        counter(
            "kafka_connect_source_task_metrics_source_record_write_total",
            1,
        ),
    )
    .await;

    broker.signal("-STOP");
    let sender = tokio::spawn(async move {
        for i in 0..N {
            conn.write_all(format!("<13>1 - fw01 app - - - frozen {i:05}\n").as_bytes())
                .await
                .expect("sent");
        }
        conn.shutdown().await.expect("closed");
    });
    // Some of it is accepted while the broker is frozen, then the small
    // buffers fill and reads stop.
    eventually(
        "messages accepted during the freeze",
        Duration::from_secs(30),
        received(101),
    )
    .await;
    broker.signal("-CONT");
    sender.await.expect("sender finished");

    let topic_ref = topic.clone();
    let address = broker.address.clone();
    let values = tokio::task::spawn_blocking(move || read_all(&address, &topic_ref, N + 1))
        .await
        .expect("reader");
    let mut frozen: Vec<&str> = values
        .iter()
        .filter_map(|v| v.split("frozen ").nth(1))
        .collect();
    frozen.sort();
    frozen.dedup();
    assert_eq!(
        frozen.len(),
        N,
        "every message accepted over TCP reached the topic"
    );
    assert_eq!(worker.terminate().code(), Some(0));
}

pub(crate) fn read_all(bootstrap: &str, topic: &str, expected: usize) -> Vec<String> {
    crate::errors_dlq::read_partition0(bootstrap, topic, expected)
        .into_iter()
        .map(|(_, value, _)| value)
        .collect()
}

/// UDP datagrams dropped under overload are counted in `/metrics` and shown
/// in the task's status, never lost silently.
#[tokio::test(flavor = "multi_thread")]
async fn udp_drops_show_in_metrics_and_task_status() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[]);
    worker.wait_healthy().await;
    let client = reqwest::Client::new();
    let udp_port = free_port();
    let cfg = json!({
        "connector.class": "SyslogSource", "syslog.listener": "UDP", "syslog.listen.address": "127.0.0.1",
        "syslog.port": udp_port, "topic": unique("udp-drops"), "syslog.queue.max.size": 5,
    });
    create_connector(&client, &worker.url, "udp", &cfg).await;
    running(&client, &worker.url, "udp", 1).await;
    // Paused, the task drains nothing: a 5-message buffer overflows.
    let url = worker.url.clone();
    let client_ref = &client;
    pause(&client, &worker.url, "udp").await;
    let sender = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("bind");
    for i in 0..50 {
        sender
            .send_to(
                format!("<13>1 - fw01 app - - - datagram {i}").as_bytes(),
                ("127.0.0.1", udp_port),
            )
            .await
            .expect("sent");
    }
    let counter = |text: &str, name: &str| -> Option<u64> {
        let prefix =
            format!("rampart_connector_task_syslog_{name}{{connector=\"udp\",task=\"0\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))?
            .trim()
            .parse()
            .ok()
    };
    let dropped = eventually(
        "every datagram kept or counted as dropped",
        Duration::from_secs(30),
        || {
            let url = url.clone();
            async move {
                let text = crate::support::metrics_text(client_ref, &url).await?;
                let (dropped, received) = (
                    counter(&text, "udp_dropped_total")?,
                    counter(&text, "received_total")?,
                );
                (dropped + received == 50).then_some(dropped)
            }
        },
    )
    .await;
    assert!(dropped > 0, "a 5-message buffer cannot hold 50 datagrams");
    let expected = format!(
        "{dropped} UDP datagrams dropped because the buffer (syslog.queue.max.size) was full"
    );
    let expected_ref = &expected;
    eventually(
        "the drops in the task status",
        Duration::from_secs(30),
        || {
            let url = url.clone();
            async move {
                let (_, s) = json(
                    client_ref
                        .get(format!("{url}/connectors/udp/status"))
                        .send()
                        .await
                        .ok()?,
                )
                .await;
                let trace = s["tasks"][0]["trace"].as_str()?;
                (s["tasks"][0]["state"] == "PAUSED" && trace.contains(expected_ref.as_str()))
                    .then_some(())
            }
        },
    )
    .await;
    assert_eq!(worker.terminate().code(), Some(0));
}

/// Strict parsing never drops silently: without tolerance a non-conformant
/// line fails the task with the reason; with `errors.tolerance=all` it is
/// skipped and counted while good lines flow.
#[tokio::test(flavor = "multi_thread")]
async fn strict_rejects_follow_errors_tolerance() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[]);
    worker.wait_healthy().await;
    let client = reqwest::Client::new();
    let (strict_port, tolerant_port) = (free_port(), free_port());
    let topic = unique("strict");
    let out = dir.path().join("strict.jsonl");
    let source = |p: u16, tolerance: &str| {
        json!({"connector.class": "SyslogSource", "syslog.listener": "TCP", "syslog.listen.address": "127.0.0.1",
               "syslog.port": p, "topic": topic, "syslog.parse.strict": true, "errors.tolerance": tolerance,
               "value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false"})
    };
    for (name, cfg) in [
        ("strict", source(strict_port, "none")),
        ("tolerant", source(tolerant_port, "all")),
        (
            "strict-sink",
            json!({"connector.class": "FileStreamSink", "topics": topic, "file": out}),
        ),
    ] {
        create_connector(&client, &worker.url, name, &cfg).await;
    }
    running(&client, &worker.url, "strict", 1).await;
    running(&client, &worker.url, "tolerant", 1).await;
    for p in [strict_port, tolerant_port] {
        let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", p))
            .await
            .expect("listener accepts");
        conn.write_all(
            b"this is not syslog\n<13>1 2026-11-26T12:00:00Z fw01 app - - - conformant\n",
        )
        .await
        .expect("sent");
        conn.shutdown().await.expect("closed");
    }
    let failed = wait_for(&client, &worker.url, "strict", |s| {
        s["tasks"][0]["state"] == "FAILED"
    })
    .await;
    let trace = failed["tasks"][0]["trace"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(trace.contains("rejected by strict parsing"), "{trace}");
    let out_ref = &out;
    let events: Vec<Value> = eventually(
        "the tolerant source's good line",
        Duration::from_secs(30),
        || async move {
            let text = std::fs::read_to_string(out_ref).unwrap_or_default();
            let events: Vec<Value> = text
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect();
            (!events.is_empty()).then_some(events)
        },
    )
    .await;
    assert_eq!(events[0]["message"], "conformant");
    let (_, tolerant) = json(
        client
            .get(format!("{}/connectors/tolerant/status", worker.url))
            .send()
            .await
            .expect("answers"),
    )
    .await;
    assert_eq!(tolerant["tasks"][0]["state"], "RUNNING");
    let metrics = client
        .get(format!("{}/metrics", worker.url))
        .send()
        .await
        .expect("answers")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains("rampart_connector_task_syslog_parse_rejected_total{connector=\"tolerant\",task=\"0\"} 1\n"), "{metrics}");
    assert_eq!(worker.terminate().code(), Some(0));
}
