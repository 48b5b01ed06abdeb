//! The REST API over a real socket against the `rampart` binary: failed
//! tasks and their restart, connectors surviving a worker restart, and bad
//! input that must never bring the worker down.

use std::time::Duration;

use serde_json::json;

use crate::support::{
    create_connector, eventually, free_port, json, rampart_bin, starve_accepts, unique, wait_for,
    worker_properties, WorkerProcess,
};

#[tokio::test(flavor = "multi_thread")]
async fn failed_task_shows_trace_and_restart_brings_it_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[]);
    worker.wait_healthy().await;
    let client = reqwest::Client::new();
    let out_dir = dir.path().join("not-yet");
    let out = out_dir.join("out.txt");
    let cfg = json!({"name": "snk", "config": {"connector.class": "FileStreamSink", "topics": unique("fail"), "file": out}});
    let (code, _) = json(
        client
            .post(format!("{}/connectors", worker.url))
            .json(&cfg)
            .send()
            .await
            .expect("answers"),
    )
    .await;
    assert_eq!(code, 201);

    let failed = wait_for(&client, &worker.url, "snk", |s| {
        s["tasks"][0]["state"] == "FAILED"
    })
    .await;
    let trace = failed["tasks"][0]["trace"]
        .as_str()
        .expect("a failed task has a trace");
    assert!(trace.contains("Couldn't find or create file"), "{trace}");
    assert_eq!(failed["connector"]["state"], "RUNNING");

    std::fs::create_dir_all(&out_dir).expect("temp dir is writable");
    let (code, body) = json(
        client
            .post(format!(
                "{}/connectors/snk/restart?includeTasks=true&onlyFailed=true",
                worker.url
            ))
            .send()
            .await
            .expect("answers"),
    )
    .await;
    assert_eq!(code, 202);
    assert_eq!(
        body["connector"]["state"], "RUNNING",
        "only failed instances restart"
    );
    assert_eq!(body["tasks"][0]["state"], "RESTARTING");
    let running = wait_for(&client, &worker.url, "snk", |s| {
        s["tasks"][0]["state"] == "RUNNING"
    })
    .await;
    assert!(running["tasks"][0].get("trace").is_none());
    assert_eq!(worker.terminate().code(), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn connector_created_over_rest_survives_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let client = reqwest::Client::new();
    let cfg = json!({"connector.class": "FileStreamSource", "topic": unique("persist"), "file": dir.path().join("in.txt"), "tasks.max": 1});
    {
        let mut worker = WorkerProcess::start(dir.path(), &props, port, &[]);
        worker.wait_healthy().await;
        create_connector(&client, &worker.url, "keeper", &cfg).await;
        let resp = client
            .post(format!("{}/connectors", worker.url))
            .json(&json!({"name": "runner", "config": cfg}))
            .send()
            .await
            .expect("answers");
        assert_eq!(resp.status(), 201);
        wait_for(&client, &worker.url, "runner", |s| {
            s["tasks"][0]["state"] == "RUNNING"
        })
        .await;
        let resp = client
            .put(format!("{}/connectors/keeper/pause", worker.url))
            .send()
            .await
            .expect("answers");
        assert_eq!(resp.status(), 202);
        wait_for(&client, &worker.url, "keeper", |s| {
            s["connector"]["state"] == "PAUSED"
        })
        .await;
        worker.kill9();
    }
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[]);
    worker.wait_healthy().await;
    let (code, names) = json(
        client
            .get(format!("{}/connectors", worker.url))
            .send()
            .await
            .expect("answers"),
    )
    .await;
    assert_eq!((code, names), (200, json!(["keeper", "runner"])));
    wait_for(&client, &worker.url, "runner", |s| {
        s["connector"]["state"] == "RUNNING" && s["tasks"][0]["state"] == "RUNNING"
    })
    .await;
    let (_, config) = json(
        client
            .get(format!("{}/connectors/keeper/config", worker.url))
            .send()
            .await
            .expect("answers"),
    )
    .await;
    let mut expected = cfg.clone();
    expected["name"] = json!("keeper");
    expected["tasks.max"] = json!("1");
    expected["file"] = json!(dir.path().join("in.txt"));
    assert_eq!(config, expected, "config echoed verbatim after restart");
    // The target state survives too; resuming brings it to RUNNING.
    wait_for(&client, &worker.url, "keeper", |s| {
        s["connector"]["state"] == "PAUSED" && s["tasks"][0]["state"] == "PAUSED"
    })
    .await;
    client
        .put(format!("{}/connectors/keeper/resume", worker.url))
        .send()
        .await
        .expect("answers");
    wait_for(&client, &worker.url, "keeper", |s| {
        s["connector"]["state"] == "RUNNING" && s["tasks"][0]["state"] == "RUNNING"
    })
    .await;
    assert_eq!(worker.terminate().code(), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_gets_clear_errors_not_crashes() {
    let dir = tempfile::tempdir().expect("temp dir");

    // A malformed properties file: clear message, non-zero exit.
    let bad = dir.path().join("bad.properties");
    std::fs::write(&bad, "listeners=http://127.0.0.1:1\nbroken=\\uZZZZ\n")
        .expect("temp dir is writable");
    let out = std::process::Command::new(rampart_bin())
        .arg("standalone")
        .arg(&bad)
        .output()
        .expect("binary runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("invalid worker config") && stderr.contains("line 2"),
        "{stderr}"
    );

    // An unreachable broker: the worker starts, answers, says why (in the
    // log and in /health, which is not healthy until it has the cluster),
    // keeps retrying.
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[("bootstrap.servers", "127.0.0.1:1")]);
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[]);
    let client = reqwest::Client::new();
    let (code, health) =
        crate::support::health_saying(&client, &worker.url, "cannot reach the Kafka cluster").await;
    assert_eq!(code, 503, "{health}");
    assert_eq!(health["status"], "starting");
    assert!(
        health["message"]
            .as_str()
            .unwrap_or_default()
            .contains("127.0.0.1:1"),
        "{health}"
    );
    let log = &worker.log;
    eventually(
        "a retry message in the log",
        Duration::from_secs(30),
        || async {
            std::fs::read_to_string(log)
                .ok()
                .filter(|l| l.contains("kafka cluster unreachable; retrying"))
                .map(|_| ())
        },
    )
    .await;
    let garbage = client
        .post(format!("{}/connectors", worker.url))
        .header("content-type", "application/json")
        .body("{\"name\": \"x\", \"config\": {")
        .send()
        .await
        .expect("answers");
    let (code, body) = json(garbage).await;
    assert_eq!((code, body["error_code"].clone()), (500, json!(500)));
    let unknown = client
        .post(format!("{}/connectors", worker.url))
        .json(&json!({"name": "x", "config": {"connector.class": "NoSuchConnector"}}))
        .send()
        .await
        .expect("answers");
    assert_eq!(unknown.status(), 500);
    let health = client
        .get(format!("{}/health", worker.url))
        .send()
        .await
        .expect("still alive");
    assert_eq!(health.status(), 503);
    assert_eq!(worker.terminate().code(), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn basic_auth_guards_every_endpoint() {
    let dir = tempfile::tempdir().expect("temp dir");
    let creds = dir.path().join("credentials");
    std::fs::write(&creds, "admin: s3cret\n").expect("temp dir is writable");
    let port = free_port();
    let props = worker_properties(
        dir.path(),
        port,
        &[(
            "rest.basic.auth.credentials.file",
            creds.to_str().expect("utf-8 path"),
        )],
    );
    let worker = WorkerProcess::start(dir.path(), &props, port, &[]);
    let client = reqwest::Client::new();
    let url = worker.url.clone();
    eventually("worker answering", Duration::from_secs(30), || async {
        client.get(format!("{url}/")).send().await.ok().map(|_| ())
    })
    .await;
    let denied = client
        .get(format!("{}/connectors", worker.url))
        .send()
        .await
        .expect("answers");
    assert_eq!(denied.status(), 401);
    let wrong = client
        .get(format!("{}/connectors", worker.url))
        .basic_auth("admin", Some("nope"))
        .send()
        .await
        .expect("answers");
    assert_eq!(wrong.status(), 401);
    let ok = client
        .get(format!("{}/connectors", worker.url))
        .basic_auth("admin", Some("s3cret"))
        .send()
        .await
        .expect("answers");
    assert_eq!(ok.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn https_listener_serves_the_api_with_a_pem_certificate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl runs");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let text = std::fs::read_to_string(&props).expect("written").replace(
        &format!("listeners=http://127.0.0.1:{port}"),
        &format!(
            "listeners=https://127.0.0.1:{port}\nlisteners.https.ssl.certificate.location={}\nlisteners.https.ssl.key.location={}",
            cert.display(),
            key.display()
        ),
    );
    std::fs::write(&props, text).expect("temp dir is writable");
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[]);
    let url = format!("https://127.0.0.1:{port}/health");
    let curl = |url: String, cacert: Option<std::path::PathBuf>| async move {
        let mut cmd = tokio::process::Command::new("curl");
        cmd.args(["-s", "-w", "\n%{http_code}"]);
        if let Some(c) = cacert {
            cmd.arg("--cacert").arg(c);
        }
        let out = cmd.arg(url).output().await.expect("curl runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let answering_over_tls = |what: &'static str| {
        let (url, cert, curl) = (&url, &cert, &curl);
        eventually(what, Duration::from_secs(30), move || {
            let (url, cert) = (url.clone(), cert.clone());
            async move {
                let (ok, body) = curl(url, Some(cert)).await;
                (ok && body.ends_with("200")).then_some(body)
            }
        })
    };
    let body = answering_over_tls("the worker answering over TLS").await;
    assert!(body.contains("\"status\":\"healthy\""), "{body}");
    let (ok, _) = curl(url.clone(), None).await;
    assert!(!ok, "an untrusted certificate is refused by the client");
    let (ok, plain) = curl(format!("http://127.0.0.1:{port}/health"), None).await;
    assert!(
        !(ok && plain.ends_with("200")),
        "plain HTTP is not served on an https listener: {plain}"
    );

    // Out of descriptors, the TLS accept loop waits between accepts, and
    // serves again once the connections go.
    let mut starved = starve_accepts(&worker, port).await;
    drop(std::mem::take(&mut starved.held));
    answering_over_tls("the worker answering over TLS again").await;
    eprintln!("REST HTTPS listener {starved}; serving again once they went");
    starved.assert_backed_off();
    assert_eq!(worker.terminate().code(), Some(0));
}
