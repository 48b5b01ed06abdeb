//! Rampart workers in distributed mode against Apache Kafka: connectors
//! managed through any worker, work shared evenly as workers come and go,
//! a killed worker's tasks moved, with every line of data accounted for.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::cluster::{append_lines, arrivals, arrived, Cluster};
use crate::support::{create_topic, eventually, json, unique, OwnBroker};

fn source(file: &std::path::Path, topic: &str) -> Value {
    json!({
        "connector.class": "FileStreamSource",
        "file": file.display().to_string(),
        "topic": topic,
        "tasks.max": "1",
    })
}

fn sink(file: &std::path::Path, topic: &str, tasks: u32) -> Value {
    json!({
        "connector.class": "FileStreamSink",
        "file": file.display().to_string(),
        "topics": topic,
        "tasks.max": tasks.to_string(),
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn connectors_managed_through_any_worker_reach_every_worker_and_the_work_stays_balanced() {
    let mut c = Cluster::new(
        "cluster-crud",
        4,
        &[("scheduled.rebalance.max.delay.ms", "2000")],
    );
    c.start_all(3).await;
    let topic = unique("cluster-lines");
    create_topic(&topic, 3).await;
    let input = c.dir.path().join("in.txt");
    let (out_a, out_b) = (c.dir.path().join("a.txt"), c.dir.path().join("b.txt"));
    std::fs::write(&input, "").unwrap();

    // Created through three different workers: two are not the leader, so
    // their requests are forwarded.
    let (code, body) = c
        .send(
            0,
            Method::POST,
            "/connectors",
            Some(&json!({"name": "src", "config": source(&input, &topic)})),
        )
        .await;
    assert_eq!(code, 201, "{body}");
    c.create(1, "sink-a", &sink(&out_a, &topic, 3)).await;
    let (code, body) = c
        .send(
            2,
            Method::POST,
            "/connectors",
            Some(&json!({"name": "sink-b", "config": sink(&out_b, &topic, 2)})),
        )
        .await;
    assert_eq!(code, 201, "{body}");
    let (code, _) = c
        .send(
            1,
            Method::POST,
            "/connectors",
            Some(&json!({"name": "src", "config": source(&input, &topic)})),
        )
        .await;
    assert_eq!(code, 409, "a second create is refused wherever it lands");
    c.settled(&[("src", 1), ("sink-a", 3), ("sink-b", 2)]).await;
    for i in c.live() {
        let (_, config) = c
            .send(i, Method::GET, "/connectors/sink-a/config", None)
            .await;
        assert_eq!(config["tasks.max"], "3", "worker {i} sees the config");
    }
    append_lines(&input, 0, 1000);
    assert_eq!(arrived(&out_a, 1000).await, 0);
    assert_eq!(arrived(&out_b, 1000).await, 0);

    // Updated through a follower: the new task count reaches every worker.
    let (code, body) = c
        .send(
            0,
            Method::PATCH,
            "/connectors/sink-b/config",
            Some(&json!({"tasks.max": "4"})),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    c.settled(&[("src", 1), ("sink-a", 3), ("sink-b", 4)]).await;

    // Paused through one worker: no data moves for it, while the other
    // sink goes on; resumed through another, it catches up.
    let (code, _) = c
        .send(1, Method::PUT, "/connectors/sink-a/pause", None)
        .await;
    assert_eq!(code, 202);
    eventually(
        "sink-a paused everywhere",
        Duration::from_secs(30),
        || async {
            let mut all = true;
            for i in c.live() {
                let s = c.statuses(i).await?;
                let tasks = s["sink-a"]["status"]["tasks"].as_array()?.clone();
                all &= s["sink-a"]["status"]["connector"]["state"] == "PAUSED"
                    && tasks.len() == 3
                    && tasks.iter().all(|t| t["state"] == "PAUSED");
            }
            all.then_some(())
        },
    )
    .await;
    append_lines(&input, 1000, 1500);
    assert_eq!(arrived(&out_b, 1500).await, 0);
    assert_eq!(
        arrivals(&out_a, 1500),
        (1000, 0),
        "a paused sink moves no data"
    );
    let (code, _) = c
        .send(2, Method::PUT, "/connectors/sink-a/resume", None)
        .await;
    assert_eq!(code, 202);
    assert_eq!(arrived(&out_a, 1500).await, 0);

    // Stopped through a follower (the leader writes it): no tasks anywhere.
    let (code, body) = c.send(0, Method::PUT, "/connectors/src/stop", None).await;
    assert_eq!(code, 204, "{body}");
    eventually(
        "src stopped everywhere",
        Duration::from_secs(30),
        || async {
            let mut all = true;
            for i in c.live() {
                let s = c.statuses(i).await?;
                let (_, tasks) = c.send(i, Method::GET, "/connectors/src/tasks", None).await;
                all &= s["src"]["status"]["connector"]["state"] == "STOPPED"
                    && s["src"]["status"]["tasks"] == json!([])
                    && tasks == json!([]);
            }
            all.then_some(())
        },
    )
    .await;
    let (code, _) = c.send(1, Method::PUT, "/connectors/src/resume", None).await;
    assert_eq!(code, 202);
    c.settled(&[("src", 1), ("sink-a", 3), ("sink-b", 4)]).await;
    // The source goes on from its committed offset: nothing read twice.
    append_lines(&input, 1500, 1600);
    assert_eq!(arrived(&out_a, 1600).await, 0);
    assert_eq!(arrived(&out_b, 1600).await, 0);

    // A fourth worker gets its share; one that leaves gives its share up.
    c.start(3).await;
    c.settled(&[("src", 1), ("sink-a", 3), ("sink-b", 4)]).await;
    let status = c.workers[1].take().unwrap().terminate();
    assert!(status.success(), "a worker exits cleanly on SIGTERM");
    c.settled(&[("src", 1), ("sink-a", 3), ("sink-b", 4)]).await;
    append_lines(&input, 1600, 1700);
    // Work moved twice just before: at-least-once allows duplicates.
    let dups = arrived(&out_b, 1700).await;
    println!("after a worker joined and one left: 1700 lines, {dups} duplicates");

    // Deleted through the newest worker: gone everywhere.
    let (code, body) = c.send(3, Method::DELETE, "/connectors/sink-b", None).await;
    assert_eq!(code, 204, "{body}");
    for i in c.live() {
        eventually(
            &format!("sink-b gone on worker {i}"),
            Duration::from_secs(30),
            || async {
                let (code, _) = c.send(i, Method::GET, "/connectors/sink-b", None).await;
                let (_, list) = c.send(i, Method::GET, "/connectors", None).await;
                (code == 404 && list == json!(["sink-a", "src"])).then_some(())
            },
        )
        .await;
    }
    c.settled(&[("src", 1), ("sink-a", 3)]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_workers_tasks_move_and_every_line_arrives_also_through_a_rolling_restart() {
    const LINES: usize = 100_000;
    let mut c = Cluster::new(
        "cluster-loss",
        3,
        &[("scheduled.rebalance.max.delay.ms", "3000")],
    );
    c.start_all(3).await;
    let topic = unique("cluster-loss");
    create_topic(&topic, 3).await;
    let input = c.dir.path().join("in.txt");
    let output = c.dir.path().join("out.txt");
    std::fs::write(&input, "").unwrap();
    c.create(0, "src", &source(&input, &topic)).await;
    c.create(1, "sink", &sink(&output, &topic, 3)).await;
    let placement = c.settled(&[("src", 1), ("sink", 3)]).await;

    // Lines keep coming while the worker running the source dies.
    let writer = {
        let input = input.clone();
        tokio::spawn(async move {
            for chunk in 0..100 {
                append_lines(&input, chunk * 1000, (chunk + 1) * 1000);
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
        })
    };
    eventually("the stream under way", Duration::from_secs(60), || async {
        (arrivals(&output, LINES).0 >= 10_000).then_some(())
    })
    .await;
    let victim = c.index_of(&placement.connectors["src"].1[&0]).unwrap();
    c.workers[victim].take().unwrap().kill9();
    let moved = c.settled(&[("src", 1), ("sink", 3)]).await;
    assert_ne!(
        c.index_of(&moved.connectors["src"].1[&0]),
        Some(victim),
        "the source task moved"
    );
    writer.await.unwrap();
    let dups = arrived(&output, LINES).await;
    println!("worker loss: {LINES} lines arrived, {dups} duplicates (at-least-once)");

    // A rolling restart: each worker in turn stops and comes back.
    c.start(victim).await;
    c.settled(&[("src", 1), ("sink", 3)]).await;
    let writer = {
        let input = input.clone();
        tokio::spawn(async move {
            for chunk in 100..200 {
                append_lines(&input, chunk * 1000, (chunk + 1) * 1000);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    for i in 0..3 {
        let status = c.workers[i].take().unwrap().terminate();
        assert!(status.success(), "worker {i} exits cleanly");
        c.start(i).await;
        c.settled(&[("src", 1), ("sink", 3)]).await;
    }
    writer.await.unwrap();
    let dups = arrived(&output, 2 * LINES).await;
    println!(
        "rolling restart: {} lines arrived, {dups} duplicates in all",
        2 * LINES
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn while_the_broker_is_down_health_says_why_and_the_same_workers_carry_on_after() {
    let mut broker = OwnBroker::listening().await;
    let mut c = Cluster::new(
        "cluster-outage",
        2,
        &[("scheduled.rebalance.max.delay.ms", "2000")],
    );
    c.bootstrap = broker.address.clone();
    c.start_all(2).await;
    let pids: Vec<u32> = c.workers.iter().flatten().map(|w| w.pid()).collect();
    let input = c.dir.path().join("in.txt");
    let output = c.dir.path().join("out.txt");
    std::fs::write(&input, "").unwrap();
    let topic = unique("outage");
    c.create(0, "src", &source(&input, &topic)).await;
    c.create(1, "sink", &sink(&output, &topic, 1)).await;
    c.settled(&[("src", 1), ("sink", 1)]).await;
    append_lines(&input, 0, 500);
    arrived(&output, 500).await;

    broker.stop().await;
    for i in c.live() {
        let url = format!("{}/health", c.url(i));
        let (code, body) = eventually(
            &format!("worker {i} unhealthy while the broker is down"),
            Duration::from_secs(60),
            || async {
                let (code, body) = json(c.client.get(&url).send().await.ok()?).await;
                (code == 500).then_some((code, body))
            },
        )
        .await;
        assert_eq!(code, 500);
        assert_eq!(body["status"], "unhealthy");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("cannot reach the group coordinator"),
            "health says why: {message}"
        );
    }
    // Written while the broker is away: delivered once it is back.
    append_lines(&input, 500, 1000);

    broker.resume().await;
    for i in c.live() {
        let url = format!("{}/health", c.url(i));
        eventually(
            &format!("worker {i} healthy again"),
            Duration::from_secs(90),
            || async { (c.client.get(&url).send().await.ok()?.status() == 200).then_some(()) },
        )
        .await;
    }
    c.settled(&[("src", 1), ("sink", 1)]).await;
    append_lines(&input, 1000, 1500);
    let dups = arrived(&output, 1500).await;
    println!("broker outage: 1500 lines arrived, {dups} duplicates");
    let after: Vec<u32> = c.workers.iter().flatten().map(|w| w.pid()).collect();
    assert_eq!(pids, after, "the same worker processes carried on");
}

#[tokio::test(flavor = "multi_thread")]
async fn eager_workers_share_the_work_and_take_over_a_leaving_workers_share() {
    let mut c = Cluster::new(
        "cluster-eager",
        2,
        &[
            ("connect.protocol", "eager"),
            ("scheduled.rebalance.max.delay.ms", "0"),
        ],
    );
    c.start_all(2).await;
    let topic = unique("eager");
    create_topic(&topic, 2).await;
    let input = c.dir.path().join("in.txt");
    let output = c.dir.path().join("out.txt");
    std::fs::write(&input, "").unwrap();
    c.create(1, "src", &source(&input, &topic)).await;
    c.create(0, "sink", &sink(&output, &topic, 2)).await;
    c.settled(&[("src", 1), ("sink", 2)]).await;
    let metrics = c.metrics(0).await;
    assert!(
        metrics.contains("connect_protocol=\"EAGER\""),
        "the group agreed on the eager protocol: {metrics}"
    );
    append_lines(&input, 0, 1000);
    assert_eq!(arrived(&output, 1000).await, 0);
    assert!(c.workers[1].take().unwrap().terminate().success());
    c.settled(&[("src", 1), ("sink", 2)]).await;
    append_lines(&input, 1000, 2000);
    let dups = arrived(&output, 2000).await;
    println!("eager: 2000 lines arrived, {dups} duplicates");
}

/// Each worker running a task of the syslog source listens on its port
/// (here both on one host, sharing it with SO_REUSEPORT as a load balancer
/// would spread senders over hosts); when a worker leaves, its task and
/// listener move to the other.
#[tokio::test(flavor = "multi_thread")]
async fn a_syslog_source_listens_on_every_worker_running_one_of_its_tasks() {
    let mut c = Cluster::new(
        "cluster-syslog",
        2,
        &[("scheduled.rebalance.max.delay.ms", "0")],
    );
    c.start_all(2).await;
    let topic = unique("cluster-syslog");
    let output = c.dir.path().join("events.jsonl");
    let port = crate::support::free_port();
    let syslog = json!({
        "connector.class": "io.confluent.connect.syslog.SyslogSourceConnector",
        "tasks.max": "2",
        "syslog.listener": "TCP",
        "syslog.listen.address": "127.0.0.1",
        "syslog.port": port,
        "topic": topic,
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
    });
    c.create(0, "syslog", &syslog).await;
    c.create(1, "events", &sink(&output, &topic, 1)).await;
    let placement = c.settled(&[("syslog", 2), ("events", 1)]).await;
    let owners: std::collections::BTreeSet<&String> =
        placement.connectors["syslog"].1.values().collect();
    assert_eq!(owners.len(), 2, "one syslog task on each worker");

    let send = |from: usize, to: usize| {
        for n in from..to {
            let out = std::process::Command::new("logger")
                .args([
                    "--server",
                    "127.0.0.1",
                    "--port",
                    &port.to_string(),
                    "--tcp",
                ])
                .args(["--rfc5424", "--tag", "sshd", &format!("cluster-msg-{n}")])
                .output()
                .expect("logger (util-linux) runs");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    };
    let delivered = |n: usize| {
        let output = output.clone();
        async move {
            eventually(
                &format!("{n} syslog messages"),
                Duration::from_secs(60),
                || async {
                    let text = std::fs::read_to_string(&output).unwrap_or_default();
                    let got: std::collections::BTreeSet<&str> = text
                        .lines()
                        .filter_map(|l| l.split("cluster-msg-").nth(1))
                        .filter_map(|rest| rest.split('"').next())
                        .collect();
                    (got.len() == n).then_some(())
                },
            )
            .await
        }
    };
    send(0, 40);
    delivered(40).await;
    // Every connection is a new one: the kernel spread them over both
    // workers' listeners.
    for i in c.live() {
        let text = c.metrics(i).await;
        let polled: u64 = text
            .lines()
            .filter(|l| {
                l.starts_with("kafka_connect_source_task_metrics_source_record_poll_total{connector=\"syslog\"")
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum();
        assert!(polled > 0, "worker {i} received syslog messages");
    }

    assert!(c.workers[1].take().unwrap().terminate().success());
    let placement = c.settled(&[("syslog", 2), ("events", 1)]).await;
    assert!(placement.connectors["syslog"]
        .1
        .values()
        .all(|w| *w == format!("127.0.0.1:{}", c.port(0))));
    send(40, 60);
    delivered(60).await;
}

/// Restarts run on the worker that owns the task, whichever worker is
/// asked: a failed task comes back once what failed it is mended.
#[tokio::test(flavor = "multi_thread")]
async fn restarts_asked_of_any_worker_run_on_the_owner() {
    let mut c = Cluster::new(
        "cluster-restart",
        2,
        &[("scheduled.rebalance.max.delay.ms", "0")],
    );
    c.start_all(2).await;
    let topic = unique("restart");
    create_topic(&topic, 2).await;
    // The sink's directory does not exist yet: both tasks fail to start.
    let missing = c.dir.path().join("later");
    let output = missing.join("out.txt");
    c.create(0, "broken", &sink(&output, &topic, 2)).await;
    let failed = eventually("both tasks FAILED", Duration::from_secs(60), || async {
        let (_, s) = c
            .send(1, Method::GET, "/connectors/broken/status", None)
            .await;
        let tasks = s["tasks"].as_array()?.clone();
        (tasks.len() == 2 && tasks.iter().all(|t| t["state"] == "FAILED")).then_some(tasks)
    })
    .await;
    assert!(
        failed[0]["trace"]
            .as_str()
            .is_some_and(|t| t.contains("Couldn't find or create file")),
        "{failed:?}"
    );
    std::fs::create_dir_all(&missing).unwrap();

    // Task 0, asked of the worker that does not run it.
    let owner = c
        .index_of(failed[0]["worker_id"].as_str().unwrap())
        .unwrap();
    let other = 1 - owner;
    let (code, body) = c
        .send(
            other,
            Method::POST,
            "/connectors/broken/tasks/0/restart",
            None,
        )
        .await;
    assert_eq!(code, 204, "{body}");
    eventually(
        "task 0 RUNNING, task 1 still FAILED",
        Duration::from_secs(60),
        || async {
            let (_, s) = c
                .send(other, Method::GET, "/connectors/broken/status", None)
                .await;
            (s["tasks"][0]["state"] == "RUNNING" && s["tasks"][1]["state"] == "FAILED")
                .then_some(())
        },
    )
    .await;

    // The failed rest, through the restart request the leader records,
    // asked of either worker.
    let (code, plan) = c
        .send(
            owner,
            Method::POST,
            "/connectors/broken/restart?includeTasks=true&onlyFailed=true",
            None,
        )
        .await;
    assert_eq!(code, 202, "{plan}");
    assert_eq!(plan["connector"]["state"], "RUNNING", "{plan}");
    assert_eq!(plan["tasks"][0]["state"], "RUNNING", "{plan}");
    assert_eq!(plan["tasks"][1]["state"], "RESTARTING", "{plan}");
    c.settled(&[("broken", 2)]).await;
    // Both tasks work: every record of both partitions lands in the file.
    let producer: rdkafka::producer::FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", crate::support::bootstrap())
        .create()
        .unwrap();
    let produce = |from: usize, to: usize| {
        let (producer, topic) = (producer.clone(), topic.clone());
        async move {
            for n in from..to {
                let line = format!("line-{n}");
                let record = rdkafka::producer::FutureRecord::<(), str>::to(&topic)
                    .payload(&line)
                    .partition((n % 2) as i32);
                producer
                    .send(record, Duration::from_secs(10))
                    .await
                    .unwrap();
            }
        }
    };
    produce(0, 200).await;
    // The restarts rebalance the sink's consumer group, which may deliver
    // a record twice (at-least-once).
    let dups = arrived(&output, 200).await;

    // A task restarted while paused stays paused: its new consumer's
    // partitions are paused as they are assigned. A witness sink shows
    // the records were there to be read.
    let witness = c.dir.path().join("witness.txt");
    c.create(1, "witness", &sink(&witness, &topic, 1)).await;
    let (code, _) = c
        .send(0, Method::PUT, "/connectors/broken/pause", None)
        .await;
    assert_eq!(code, 202);
    eventually("broken paused", Duration::from_secs(30), || async {
        let (_, s) = c
            .send(1, Method::GET, "/connectors/broken/status", None)
            .await;
        let tasks = s["tasks"].as_array()?.clone();
        (tasks.len() == 2 && tasks.iter().all(|t| t["state"] == "PAUSED")).then_some(())
    })
    .await;
    let (code, _) = c
        .send(
            other,
            Method::POST,
            "/connectors/broken/tasks/0/restart",
            None,
        )
        .await;
    assert_eq!(code, 204);
    c.settled(&[("broken", 2), ("witness", 1)]).await;
    produce(200, 300).await;
    arrived(&witness, 300).await;
    assert_eq!(
        crate::cluster::arrivals(&output, 300).0,
        200,
        "a paused sink moves no data, even restarted"
    );
    println!("restarted sink: 200 records arrived, {dups} duplicates");
}

/// A worker started before its Kafka cluster answers at once: `/health`
/// says why with a 503, requests are refused with a 503, and once the
/// cluster is there the worker joins and works, without a restart.
#[tokio::test(flavor = "multi_thread")]
async fn a_worker_started_before_the_cluster_answers_at_once_and_joins_when_it_comes() {
    let mut broker = OwnBroker::listening().await;
    broker.stop().await;
    let mut c = Cluster::new("cluster-early", 1, &[]);
    c.bootstrap = broker.address.clone();
    let props = c.properties(0);
    let worker = crate::support::WorkerProcess::distributed(c.dir.path(), &props, c.port(0));
    let health = format!("{}/health", c.url(0));
    let (code, body) = eventually("the REST API up", Duration::from_secs(30), || async {
        Some(json(c.client.get(&health).send().await.ok()?).await)
    })
    .await;
    assert_eq!(code, 503, "{body}");
    assert_eq!(body["status"], "starting");
    let resp = c
        .client
        .put(format!("{}/connectors/src/config", c.url(0)))
        .json(&json!({"connector.class": "FileStreamSource", "topic": "t"}))
        .send()
        .await
        .unwrap();
    let (code, body) = json(resp).await;
    assert_eq!(code, 503, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Worker is still starting up")),
        "{body}"
    );

    broker.resume().await;
    c.workers[0] = Some(worker);
    eventually(
        "healthy once the cluster is there",
        Duration::from_secs(120),
        || async { (c.client.get(&health).send().await.ok()?.status() == 200).then_some(()) },
    )
    .await;
    let input = c.dir.path().join("in.txt");
    let output = c.dir.path().join("out.txt");
    std::fs::write(&input, "").unwrap();
    let topic = unique("early");
    c.create(0, "src", &source(&input, &topic)).await;
    c.create(0, "sink", &sink(&output, &topic, 1)).await;
    c.settled(&[("src", 1), ("sink", 1)]).await;
    append_lines(&input, 0, 100);
    assert_eq!(arrived(&output, 100).await, 0);
}
