//! Taking over a Java Kafka Connect 3.9 cluster: Java's `ConnectDistributed`
//! runs connectors, stops; Rampart workers start on the same group and
//! internal topics and carry on from where Java stopped: same connectors,
//! configs and target states, the source from Java's offsets, the sink
//! from the group's committed offsets. Then Java takes over from Rampart.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::cluster::{append_lines, arrived, distributed_properties, Cluster};
use crate::support::{create_topic, eventually, JavaConnect};

/// `GET /connectors?expand=info&expand=status`, once every connector has
/// a status, as name → (config, connector state).
async fn connectors(c: &Cluster, url: &str, expected: usize) -> Vec<(String, Value, Value)> {
    eventually(
        &format!("{expected} connectors with statuses on {url}"),
        Duration::from_secs(90),
        || async {
            let (code, all) = c
                .send_to(
                    url,
                    Method::GET,
                    "/connectors?expand=info&expand=status",
                    None,
                )
                .await;
            let all = all.as_object()?.clone();
            let mut listed: Vec<(String, Value, Value)> = all
                .iter()
                .map(|(name, v)| {
                    (
                        name.clone(),
                        v["info"]["config"].clone(),
                        v["status"]["connector"]["state"].clone(),
                    )
                })
                .collect();
            listed.sort_by(|a, b| a.0.cmp(&b.0));
            let complete = code == 200
                && listed.len() == expected
                && listed
                    .iter()
                    .all(|(_, _, state)| state == "RUNNING" || state == "PAUSED");
            complete.then_some(listed)
        },
    )
    .await
}

/// A Java worker's port, URL and properties in slot `i` of the cluster:
/// the same group and topics as the Rampart workers.
fn java_slot(c: &Cluster, i: usize) -> (u16, String, std::path::PathBuf) {
    let props = c.dir.path().join(format!("java-{i}.properties"));
    let text = distributed_properties(&c.bootstrap, &c.group, c.port(i), &[]);
    std::fs::write(&props, text).unwrap();
    (c.port(i), c.url(i), props)
}

#[tokio::test(flavor = "multi_thread")]
async fn rampart_takes_over_a_java_cluster_and_java_takes_it_back() {
    let mut c = Cluster::new(
        "takeover",
        3,
        &[("scheduled.rebalance.max.delay.ms", "2000")],
    );
    let (java_port, java_url, java_props) = java_slot(&c, 2);
    let topic = crate::support::unique("takeover");
    let routed = format!("{topic}-routed");
    create_topic(&topic, 1).await;
    create_topic(&routed, 2).await;
    let input = c.dir.path().join("in.txt");
    let output = c.dir.path().join("out.txt");
    let second = c.dir.path().join("second.txt");
    std::fs::write(&input, "").unwrap();

    // Java runs a source with a transform chain, a sink, and a paused sink.
    let mut java = JavaConnect::distributed(c.dir.path(), &java_props, java_port).await;
    let src = json!({
        "connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
        "file": input.display().to_string(),
        "topic": topic,
        "tasks.max": "1",
        "transforms": "route,origin",
        "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
        "transforms.route.regex": "(.*)",
        "transforms.route.replacement": "$1-routed",
        "transforms.origin.type": "org.apache.kafka.connect.transforms.InsertHeader",
        "transforms.origin.header": "origin",
        "transforms.origin.value.literal": "file",
    });
    let sink = |file: &std::path::Path| {
        json!({
            "connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector",
            "file": file.display().to_string(),
            "topics": routed,
            "tasks.max": "2",
        })
    };
    for (name, config) in [
        ("src", src.clone()),
        ("sink", sink(&output)),
        ("idle", sink(&c.dir.path().join("idle.txt"))),
    ] {
        let (code, body) = c
            .send_to(
                &java_url,
                Method::PUT,
                &format!("/connectors/{name}/config"),
                Some(&config),
            )
            .await;
        assert_eq!(
            code,
            201,
            "java creates {name}: {body}\n{}",
            java.log_text()
        );
    }
    eventually(
        "java runs idle's two tasks",
        Duration::from_secs(60),
        || async {
            let (_, s) = c
                .send_to(&java_url, Method::GET, "/connectors/idle/status", None)
                .await;
            (s["tasks"].as_array()?.len() == 2).then_some(())
        },
    )
    .await;
    let (code, _) = c
        .send_to(&java_url, Method::PUT, "/connectors/idle/pause", None)
        .await;
    assert_eq!(code, 202);
    append_lines(&input, 0, 3000);
    assert_eq!(arrived(&output, 3000).await, 0);
    let by_java = connectors(&c, &java_url, 3).await;
    assert!(
        by_java.iter().any(|(n, _, s)| n == "idle" && s == "PAUSED"),
        "{by_java:?}"
    );
    java.terminate();

    // Rampart on the same group and topics.
    append_lines(&input, 3000, 6000);
    c.start_all(2).await;
    c.settled(&[("src", 1), ("sink", 2), ("idle", 2)]).await;
    let by_rampart = connectors(&c, &c.url(0), 3).await;
    assert_eq!(
        by_rampart, by_java,
        "the same connectors, configs and target states"
    );
    let dups = arrived(&output, 6000).await;
    assert_eq!(
        dups, 0,
        "the source went on from Java's offset and the sink from the group's"
    );
    // A connector Rampart creates, for Java to find later.
    c.create(1, "second", &sink(&second)).await;
    assert_eq!(arrived(&second, 6000).await, 0);
    let before_java = connectors(&c, &c.url(0), 4).await;
    for i in c.live() {
        assert!(c.workers[i].take().unwrap().terminate().success());
    }

    // Java takes it back.
    append_lines(&input, 6000, 9000);
    let java = JavaConnect::distributed(c.dir.path(), &java_props, java_port).await;
    let by_java = connectors(&c, &java_url, 4).await;
    assert_eq!(by_java, before_java, "Java lists what Rampart ran");
    let dups = arrived(&output, 9000).await;
    assert_eq!(
        dups,
        0,
        "Java went on from Rampart's offsets\n{}",
        java.log_text()
    );
    assert_eq!(arrived(&second, 9000).await, 0);
}

/// One Java worker and two Rampart workers in one group: requests are
/// forwarded between them, each runs what the leader assigned, and the
/// work moves when the Java worker leaves.
#[tokio::test(flavor = "multi_thread")]
async fn java_and_rampart_workers_share_one_group_under_a_java_leader() {
    mixed_group(true).await;
}

/// As above with a Rampart leader: Java's signed task configs reach it.
#[tokio::test(flavor = "multi_thread")]
async fn java_and_rampart_workers_share_one_group_under_a_rampart_leader() {
    mixed_group(false).await;
}

async fn mixed_group(java_leads: bool) {
    let mut c = Cluster::new("mixed", 3, &[("scheduled.rebalance.max.delay.ms", "2000")]);
    let (java_port, java_url, java_props) = java_slot(&c, 2);
    let topic = crate::support::unique("mixed");
    create_topic(&topic, 3).await;
    let input = c.dir.path().join("in.txt");
    let output = c.dir.path().join("out.txt");
    std::fs::write(&input, "").unwrap();

    // The first to join leads the group.
    if !java_leads {
        c.start_all(2).await;
    }
    let mut java = JavaConnect::distributed(c.dir.path(), &java_props, java_port).await;
    eventually("java joined", Duration::from_secs(60), || async {
        let (code, _) = c.send_to(&java_url, Method::GET, "/connectors", None).await;
        (code == 200).then_some(())
    })
    .await;
    if java_leads {
        c.start_all(2).await;
    }

    // Created through Rampart workers: forwarded to the Java leader.
    let src = json!({
        "connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
        "file": input.display().to_string(),
        "topic": topic,
    });
    c.create(0, "src", &src).await;
    let sink = json!({
        "connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector",
        "file": output.display().to_string(),
        "topics": topic,
        "tasks.max": "5",
    });
    c.create(1, "sink", &sink).await;
    // A third connector: balanced, every worker owns one, so connectors
    // owned by followers send their task configs, signed, to the leader.
    let second = c.dir.path().join("second.txt");
    let sink2 = json!({
        "connector.class": "FileStreamSink",
        "file": second.display().to_string(),
        "topics": topic,
        "tasks.max": "2",
    });
    let (code, body) = c
        .send_to(
            &java_url,
            Method::PUT,
            "/connectors/sink2/config",
            Some(&sink2),
        )
        .await;
    assert_eq!(code, 201, "{body}");
    let java_id = format!("127.0.0.1:{java_port}");
    // The cluster helper knows only Rampart workers: read Java's view.
    let placement = eventually(
        "src and sink running over three workers",
        Duration::from_secs(90),
        || async {
            let (_, all) = c
                .send_to(&java_url, Method::GET, "/connectors?expand=status", None)
                .await;
            let mut owners = Vec::new();
            for name in ["src", "sink"] {
                let st = &all[name]["status"];
                if st["connector"]["state"] != "RUNNING" {
                    return None;
                }
                for t in st["tasks"].as_array()? {
                    if t["state"] != "RUNNING" {
                        return None;
                    }
                    owners.push(t["worker_id"].as_str()?.to_string());
                }
            }
            (owners.len() == 6).then_some(owners)
        },
    )
    .await;
    let metrics = c.metrics(0).await;
    // The first to join leads: Java, or either Rampart worker.
    let leaders = if java_leads {
        vec![java_port]
    } else {
        vec![c.port(0), c.port(1)]
    };
    assert!(
        leaders
            .iter()
            .any(|p| metrics.contains(&format!("leader_name=\"http://127.0.0.1:{p}/\""))),
        "a worker on {leaders:?} leads: {metrics}"
    );
    let on_java = placement.iter().filter(|w| **w == java_id).count();
    assert!(
        (1..8).contains(&on_java),
        "the leader spread the tasks over Java and Rampart: {placement:?}"
    );
    append_lines(&input, 0, 2000);
    let dups = arrived(&output, 2000).await + arrived(&second, 2000).await;
    println!("mixed group (java leads: {java_leads}): 2000 lines arrived, {dups} duplicates");

    // The Java worker leaves; a Rampart worker leads and runs it all.
    java.terminate();
    c.settled(&[("src", 1), ("sink", 5), ("sink2", 2)]).await;
    append_lines(&input, 2000, 4000);
    let dups = arrived(&output, 4000).await;
    println!("mixed group after Java left: 4000 lines arrived, {dups} duplicates");
}
