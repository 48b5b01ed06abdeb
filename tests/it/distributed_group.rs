//! Workers in one `connect` group on Apache Kafka's group coordinator:
//! the group client joins with the connect protocols' metadata, the leader
//! assigns with the incremental cooperative assignor, every member reads
//! its assignment, and a member that leaves makes the other rebalance.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rampart_core::herder::ConnectorTaskId;
use rampart_runtime::distributed::assignor::{
    ConfigSnapshot, ConnectorsAndTasks, IncrementalCooperativeAssignor,
};
use rampart_runtime::distributed::group::{
    GroupError, GroupMember, GroupMetrics, GroupSettings, Joined,
};
use rampart_runtime::distributed::group_security::GroupSecurity;
use rampart_runtime::distributed::protocol::{Assignment, WorkerState, NO_ERROR, PROTOCOLS};
use rampart_runtime::worker_config::WorkerConfig;

use crate::support::{bootstrap, eventually, kafka_certs, kafka_listener, unique};

fn settings(group: &str, n: usize) -> GroupSettings {
    GroupSettings {
        bootstrap: vec![bootstrap()],
        group_id: group.to_string(),
        protocol_type: "connect".into(),
        session_timeout: Duration::from_secs(10),
        rebalance_timeout: Duration::from_secs(20),
        request_timeout: Duration::from_secs(10),
        client_id: format!("rampart-test-{n}"),
        security: GroupSecurity::default(),
        metrics: GroupMetrics::default(),
    }
}

fn metadata(url: &str, held: &ConnectorsAndTasks) -> Vec<(&'static str, Vec<u8>)> {
    PROTOCOLS
        .iter()
        .map(|(name, version)| {
            // A member reports what it runs, as an assignment, from its
            // second join on.
            let allocation = (!held.is_empty()).then(|| Assignment {
                version: *version,
                error: NO_ERROR,
                leader: String::new(),
                leader_url: String::new(),
                config_offset: 7,
                assigned: held.clone(),
                revoked: ConnectorsAndTasks::default(),
                delay_ms: 0,
            });
            let state = WorkerState {
                url: url.to_string(),
                config_offset: 7,
                allocation,
            };
            (*name, state.encode(*version))
        })
        .collect()
}

/// The leader's part: decode the members' metadata, assign, encode.
fn assign(
    joined: &Joined,
    assignor: &mut IncrementalCooperativeAssignor,
) -> Vec<(String, Vec<u8>)> {
    let mut members: BTreeMap<String, ConnectorsAndTasks> = BTreeMap::new();
    let mut leader_url = String::new();
    for (id, bytes) in &joined.members {
        let state = WorkerState::decode(bytes).expect("members send valid metadata");
        if *id == joined.leader {
            leader_url = state.url.clone();
        }
        let held = state.allocation.map(|a| a.assigned).unwrap_or_default();
        members.insert(id.clone(), held);
    }
    let config = ConfigSnapshot {
        task_counts: [("c1".to_string(), 2), ("c2".to_string(), 1)].into(),
    };
    let result = assignor.perform_task_assignment(
        1_700_000_000_000,
        &config,
        joined.generation - 1,
        joined.generation,
        &members,
    );
    result
        .members
        .into_iter()
        .map(|(id, m)| {
            let a = Assignment {
                version: 2,
                error: NO_ERROR,
                leader: joined.leader.clone(),
                leader_url: leader_url.clone(),
                config_offset: 7,
                assigned: m.assigned,
                revoked: m.revoked,
                delay_ms: i32::try_from(result.delay_ms).unwrap_or(i32::MAX),
            };
            (id, a.encode())
        })
        .collect()
}

/// A worker of the test: what it runs and the generation it runs it in.
struct Worker {
    member: GroupMember,
    url: String,
    assignor: IncrementalCooperativeAssignor,
    held: ConnectorsAndTasks,
    generation: i32,
    leader: String,
}

impl Worker {
    fn new(group: &str, n: u16) -> Self {
        Worker {
            member: GroupMember::new(settings(group, n as usize)),
            url: format!("http://127.0.0.1:{}/", 18080 + n),
            assignor: IncrementalCooperativeAssignor::new(0),
            held: ConnectorsAndTasks::default(),
            generation: -1,
            leader: String::new(),
        }
    }

    /// One join and sync; applies the assignment. Returns whether anything
    /// was revoked, after which a worker rejoins at once (KIP-415).
    async fn round(&mut self) -> bool {
        let joined = self
            .member
            .join(&metadata(&self.url, &self.held))
            .await
            .expect("joins the group");
        assert_eq!(
            joined.protocol, "sessioned",
            "the most preferred protocol wins"
        );
        let assignments = if joined.is_leader() {
            assign(&joined, &mut self.assignor)
        } else {
            Vec::new()
        };
        let bytes = self.member.sync(assignments).await.expect("syncs");
        let a = Assignment::decode(&bytes).expect("a valid assignment");
        assert_eq!(a.leader, joined.leader);
        self.held
            .connectors
            .retain(|c| !a.revoked.connectors.contains(c));
        self.held.tasks.retain(|t| !a.revoked.tasks.contains(t));
        self.held
            .connectors
            .extend(a.assigned.connectors.iter().cloned());
        self.held.tasks.extend(a.assigned.tasks.iter().cloned());
        self.generation = joined.generation;
        self.leader = joined.leader;
        !a.revoked.is_empty()
    }

    /// Heartbeats; rejoins when the group rebalances or after a revocation.
    async fn step(&mut self, revoked: bool) -> bool {
        if revoked {
            return self.round().await;
        }
        match self.member.heartbeat().await {
            Ok(()) => false,
            Err(GroupError::Rebalance { .. }) => self.round().await,
            Err(e) => panic!("heartbeat failed: {e}"),
        }
    }
}

fn size(h: &ConnectorsAndTasks) -> usize {
    h.connectors.len() + h.tasks.len()
}

/// What each worker runs, and in which generation, as it last saw it.
type Views = Arc<Mutex<BTreeMap<u16, (i32, ConnectorsAndTasks)>>>;

/// Both in one generation, holding every connector and task once, balanced.
fn settled(views: &Views) -> bool {
    let v = views.lock().expect("views lock");
    let (Some((ga, a)), Some((gb, b))) = (v.get(&1), v.get(&2)) else {
        return false;
    };
    let mut connectors: Vec<&String> = a.connectors.iter().chain(&b.connectors).collect();
    connectors.sort();
    let mut tasks: Vec<&ConnectorTaskId> = a.tasks.iter().chain(&b.tasks).collect();
    tasks.sort();
    tasks.dedup();
    ga == gb
        && connectors == ["c1", "c2"]
        && tasks.len() == 3
        && size(a) + size(b) == 5
        && size(a).abs_diff(size(b)) <= 1
}

/// Runs a worker as its own loop, heartbeating and rejoining as a Connect
/// worker does, until told to stop at a quiet moment.
fn run(
    mut w: Worker,
    id: u16,
    first_round: bool,
    views: Views,
    stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<Worker> {
    tokio::spawn(async move {
        let mut revoked = if first_round { w.round().await } else { false };
        loop {
            views
                .lock()
                .expect("views lock")
                .insert(id, (w.generation, w.held.clone()));
            if *stop.borrow() && !revoked {
                return w;
            }
            revoked = w.step(revoked).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn workers_join_a_connect_group_share_the_work_and_rebalance_when_one_leaves() {
    let group = unique("connect-cluster");
    // The first worker alone runs everything.
    let mut a = Worker::new(&group, 1);
    assert!(!a.round().await);
    assert_eq!(size(&a.held), 5);
    let first_generation = a.generation;

    // A second joins: the first hears of the rebalance through its
    // heartbeat, gives up part of its work, and the two rounds of the
    // cooperative protocol balance it.
    let views: Views = Arc::default();
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let a_task = run(a, 1, false, views.clone(), stop.clone());
    let b_task = run(Worker::new(&group, 2), 2, true, views.clone(), stop);
    eventually(
        "a balanced assignment in one generation",
        Duration::from_secs(40),
        || {
            let views = views.clone();
            async move { settled(&views).then_some(()) }
        },
    )
    .await;
    stop_tx.send(true).expect("workers listen");
    let (mut a, mut b) = (
        a_task.await.expect("worker a"),
        b_task.await.expect("worker b"),
    );
    assert!(a.generation > first_generation);
    assert_eq!(a.leader, b.leader);
    let sizes = (size(&a.held), size(&b.held));
    assert!(sizes == (3, 2) || sizes == (2, 3), "{sizes:?}");

    // One leaves: the other hears of it and, the delay being 0, takes
    // everything back.
    b.member.leave().await.expect("leaves");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "no rebalance after the leave"
        );
        match a.member.heartbeat().await {
            Err(GroupError::Rebalance { .. }) => break,
            Ok(()) => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(e) => panic!("heartbeat failed: {e}"),
        }
    }
    while a.round().await {}
    assert_eq!(a.leader, a.member.member_id());
    assert_eq!(size(&a.held), 5);
    a.member.leave().await.expect("leaves");
}

/// The group client's security from Java worker settings, translated as
/// the data clients' are.
fn security(props: &[(&str, &str)]) -> GroupSecurity {
    let props = props
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let worker = WorkerConfig::from_props(props, std::iter::empty()).expect("worker settings");
    let client = rampart_runtime::kafka::admin_config(&worker, &Default::default(), "group")
        .expect("client settings");
    GroupSecurity::from_client_config(&client).expect("group security")
}

async fn join_alone(bootstrap: String, security: GroupSecurity) -> Result<Joined, GroupError> {
    let mut s = settings(&unique("secured-group"), 9);
    s.bootstrap = vec![bootstrap];
    s.security = security;
    let mut member = GroupMember::new(s);
    let joined = member
        .join(&metadata(
            "http://127.0.0.1:18089/",
            &ConnectorsAndTasks::default(),
        ))
        .await?;
    member.leave().await?;
    Ok(joined)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_group_client_joins_over_sasl_ssl_and_mutual_tls_and_refuses_a_wrong_password() {
    let ca = kafka_certs().join("ca.pem").display().to_string();
    let keystore = kafka_certs()
        .join("client-keystore.pem")
        .display()
        .to_string();
    for (mechanism, module) in [
        (
            "SCRAM-SHA-512",
            "org.apache.kafka.common.security.scram.ScramLoginModule",
        ),
        (
            "SCRAM-SHA-256",
            "org.apache.kafka.common.security.scram.ScramLoginModule",
        ),
        (
            "PLAIN",
            "org.apache.kafka.common.security.plain.PlainLoginModule",
        ),
    ] {
        let jaas = format!(r#"{module} required username="alice" password="alice-secret";"#);
        let s = security(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", mechanism),
            ("sasl.jaas.config", &jaas),
            ("ssl.truststore.type", "PEM"),
            ("ssl.truststore.location", &ca),
        ]);
        let joined = join_alone(kafka_listener(2), s)
            .await
            .unwrap_or_else(|e| panic!("{mechanism}: {e}"));
        assert!(joined.is_leader(), "{mechanism}");
    }

    let mtls = security(&[
        ("security.protocol", "SSL"),
        ("ssl.truststore.type", "PEM"),
        ("ssl.truststore.location", &ca),
        ("ssl.keystore.type", "PEM"),
        ("ssl.keystore.location", &keystore),
    ]);
    assert!(join_alone(kafka_listener(1), mtls)
        .await
        .expect("mutual TLS")
        .is_leader());

    let wrong = security(&[
        ("security.protocol", "SASL_SSL"),
        ("sasl.mechanism", "SCRAM-SHA-512"),
        (
            "sasl.jaas.config",
            r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="wrong";"#,
        ),
        ("ssl.truststore.type", "PEM"),
        ("ssl.truststore.location", &ca),
    ]);
    match join_alone(kafka_listener(2), wrong).await {
        Err(e @ GroupError::Authentication { .. }) => {
            assert!(e.to_string().contains("Authentication failed"), "{e}");
            assert!(!e.is_retriable());
        }
        other => panic!("a wrong password must fail authentication: {other:?}"),
    }
}
