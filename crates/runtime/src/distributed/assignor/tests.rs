//! Scenarios ported from Kafka's `IncrementalCooperativeAssignorTest`
//! (3.9): the same members, connectors, clock steps and assertions,
//! driven through a harness that mirrors the Java test's helpers.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use super::*;

const MAX_DELAY: u32 = 300_000;

fn task(connector: &str, task: u32) -> ConnectorTaskId {
    ConnectorTaskId {
        connector: connector.to_string(),
        task,
    }
}

/// The Java test's fixture: a generation counter, a mock clock, the
/// configured connectors, and what each member runs.
struct Harness {
    assignor: IncrementalCooperativeAssignor,
    now: u64,
    generation: i32,
    connectors: BTreeMap<String, u32>,
    members: BTreeMap<String, ConnectorsAndTasks>,
    returned: ClusterAssignment,
}

impl Harness {
    /// `connector1` and `connector2` with 4 tasks each, and `workers`.
    fn new(max_delay: u32, workers: &[&str]) -> Self {
        let mut h = Harness {
            assignor: IncrementalCooperativeAssignor::new(max_delay),
            now: 1_700_000_000_000,
            generation: 1000,
            connectors: [("connector1".to_string(), 4), ("connector2".to_string(), 4)].into(),
            members: BTreeMap::new(),
            returned: ClusterAssignment::default(),
        };
        h.assignor.set_previous_generation(h.generation);
        for w in workers {
            h.add_empty_worker(w);
        }
        h
    }

    /// A fresh leader: no memory of earlier rounds.
    fn new_leader(&mut self, max_delay: u32) {
        self.assignor = IncrementalCooperativeAssignor::new(max_delay);
        self.assignor.set_previous_generation(self.generation);
    }

    fn add_empty_worker(&mut self, w: &str) {
        assert!(self
            .members
            .insert(w.to_string(), ConnectorsAndTasks::default())
            .is_none());
    }

    fn add_worker(&mut self, w: &str, connectors: &[&str], tasks: &[ConnectorTaskId]) {
        let load = ConnectorsAndTasks {
            connectors: connectors.iter().map(|c| c.to_string()).collect(),
            tasks: tasks.iter().cloned().collect(),
        };
        assert!(self.members.insert(w.to_string(), load).is_none());
    }

    fn remove_worker(&mut self, w: &str) {
        assert!(self.members.remove(w).is_some());
    }

    fn sleep(&mut self, ms: u32) {
        self.now += u64::from(ms);
    }

    fn rebalance(&mut self) {
        self.perform(false, false);
    }

    fn failed_rebalance(&mut self) {
        self.perform(true, false);
    }

    fn rebalance_with_mismatched_generation(&mut self) {
        self.perform(false, true);
    }

    fn perform(&mut self, failure: bool, generation_mismatch: bool) {
        self.generation += 1;
        let last_completed = if generation_mismatch {
            self.generation - 2
        } else {
            self.generation - 1
        };
        let config = ConfigSnapshot {
            task_counts: self.connectors.clone(),
        };
        self.returned = self.assignor.perform_task_assignment(
            self.now,
            &config,
            last_completed,
            self.generation,
            &self.members,
        );
        self.assert_no_redundant_assignments();
        if !failure {
            self.apply();
        }
    }

    fn apply(&mut self) {
        for (w, a) in &self.returned.members {
            let m = self.members.entry(w.clone()).or_default();
            m.remove_all(&a.revoked);
            m.extend(&a.assigned);
            let held: BTreeSet<_> = m.connectors.iter().collect();
            assert_eq!(held, a.all.connectors.iter().collect::<BTreeSet<_>>());
            let held: BTreeSet<_> = m.tasks.iter().collect();
            assert_eq!(held, a.all.tasks.iter().collect::<BTreeSet<_>>());
        }
    }

    fn assert_no_redundant_assignments(&self) {
        let mut connectors = BTreeSet::new();
        let mut tasks = BTreeSet::new();
        for a in self.returned.members.values() {
            for c in &a.assigned.connectors {
                assert!(connectors.insert(c.clone()), "{c} assigned twice");
                assert!(
                    !self.members.values().any(|m| m.connectors.contains(c)),
                    "{c} assigned while held"
                );
            }
            for t in &a.assigned.tasks {
                assert!(tasks.insert(t.clone()), "{t:?} assigned twice");
                assert!(
                    !self.members.values().any(|m| m.tasks.contains(t)),
                    "{t:?} assigned while held"
                );
            }
        }
    }

    fn assert_connectors(&self, expected: &[usize]) {
        let mut counts: Vec<usize> = self.members.values().map(|m| m.connectors.len()).collect();
        counts.sort();
        assert_eq!(counts, expected, "connector allocation");
    }

    fn assert_tasks(&self, expected: &[usize]) {
        let mut counts: Vec<usize> = self.members.values().map(|m| m.tasks.len()).collect();
        counts.sort();
        assert_eq!(counts, expected, "task allocation");
    }

    fn assert_delay(&self, delay: u32) {
        assert_eq!(self.assignor.delay(), delay, "delay");
        assert_eq!(self.returned.delay_ms, delay, "delay sent");
    }

    fn assert_workers(&self, workers: &[&str]) {
        let got: Vec<&str> = self.returned.members.keys().map(String::as_str).collect();
        assert_eq!(got, workers);
    }

    fn assert_no_revocations(&self) {
        for (w, a) in &self.returned.members {
            assert!(a.revoked.is_empty(), "{w} had {:?} revoked", a.revoked);
        }
    }

    fn assert_empty_assignment(&self) {
        for (w, a) in &self.returned.members {
            assert!(a.assigned.is_empty() && a.revoked.is_empty(), "{w}: {a:?}");
        }
    }

    fn assert_balanced_and_complete(&self) {
        let spread = |counts: Vec<usize>| {
            counts.iter().max().unwrap_or(&0) - counts.iter().min().unwrap_or(&0)
        };
        assert!(spread(self.members.values().map(|m| m.connectors.len()).collect()) <= 1);
        assert!(spread(self.members.values().map(|m| m.tasks.len()).collect()) <= 1);
        let held: BTreeSet<&String> = self.members.values().flat_map(|m| &m.connectors).collect();
        assert_eq!(held, self.connectors.keys().collect::<BTreeSet<_>>());
        let tasks: BTreeSet<&ConnectorTaskId> =
            self.members.values().flat_map(|m| &m.tasks).collect();
        let configured: Vec<ConnectorTaskId> = self
            .connectors
            .iter()
            .flat_map(|(c, n)| (0..*n).map(move |i| task(c, i)))
            .collect();
        assert_eq!(tasks, configured.iter().collect::<BTreeSet<_>>());
    }
}

#[test]
fn task_assignment_when_worker_joins() {
    let mut h = Harness::new(MAX_DELAY, &["worker1"]);
    h.rebalance();
    h.assert_delay(0);
    h.assert_workers(&["worker1"]);
    h.assert_connectors(&[2]);
    h.assert_tasks(&[8]);
    h.assert_balanced_and_complete();

    h.add_empty_worker("worker2");
    h.rebalance();
    h.assert_delay(0);
    h.assert_workers(&["worker1", "worker2"]);
    h.assert_connectors(&[0, 1]);
    h.assert_tasks(&[0, 4]);

    h.rebalance();
    h.assert_no_revocations();
    h.assert_delay(0);
    h.assert_connectors(&[1, 1]);
    h.assert_tasks(&[4, 4]);
    h.assert_balanced_and_complete();

    h.rebalance();
    h.assert_delay(0);
    h.assert_empty_assignment();
}

#[test]
fn assignments_when_workers_join_after_revocations() {
    let mut h = Harness::new(MAX_DELAY, &["worker1"]);
    h.connectors.insert("connector3".into(), 4);
    h.rebalance();
    h.assert_connectors(&[3]);
    h.assert_tasks(&[12]);
    h.assert_balanced_and_complete();

    h.add_empty_worker("worker2");
    h.rebalance();
    h.assert_connectors(&[0, 2]);
    h.assert_tasks(&[0, 6]);

    // Revoking again right after a revoking round: back off instead.
    h.add_empty_worker("worker3");
    h.rebalance();
    assert_eq!(h.assignor.delay(), 40);
    h.assert_connectors(&[0, 1, 2]);
    h.assert_tasks(&[3, 3, 6]);

    let delay = h.assignor.delay();
    h.sleep(delay);
    h.add_empty_worker("worker4");
    h.rebalance();
    h.assert_connectors(&[0, 0, 1, 1]);
    h.assert_tasks(&[0, 3, 3, 3]);

    h.add_empty_worker("worker5");
    h.rebalance();
    assert_eq!(h.assignor.delay(), 1600, "the backoff grows 40 times");
    h.assert_connectors(&[0, 0, 1, 1, 1]);
    h.assert_tasks(&[1, 2, 3, 3, 3]);

    let delay = h.assignor.delay();
    h.sleep(delay);
    h.add_empty_worker("worker6");
    h.rebalance();
    h.assert_delay(0);
    h.assert_connectors(&[0, 0, 0, 1, 1, 1]);
    h.assert_tasks(&[0, 1, 2, 2, 2, 2]);

    h.rebalance();
    h.assert_connectors(&[0, 0, 0, 1, 1, 1]);
    h.assert_tasks(&[2, 2, 2, 2, 2, 2]);
    h.assert_balanced_and_complete();
}

#[test]
fn immediate_revocations_when_max_delay_is_0() {
    let mut h = Harness::new(0, &["worker1"]);
    h.connectors.insert("connector3".into(), 4);
    h.rebalance();
    h.assert_connectors(&[3]);
    h.assert_tasks(&[12]);
    h.add_empty_worker("worker2");
    h.rebalance();
    h.assert_connectors(&[0, 2]);
    h.assert_tasks(&[0, 6]);
    h.add_empty_worker("worker3");
    h.rebalance();
    h.assert_delay(0);
    h.assert_connectors(&[0, 1, 1]);
    h.assert_tasks(&[3, 3, 4]);
    h.rebalance();
    h.assert_no_revocations();
    h.assert_connectors(&[1, 1, 1]);
    h.assert_tasks(&[4, 4, 4]);
    h.assert_balanced_and_complete();
}

#[test]
fn successive_revocations_when_max_delay_equals_the_backoff_start() {
    let mut h = Harness::new(1, &["worker1"]);
    h.connectors.insert("connector3".into(), 4);
    h.rebalance();
    h.add_empty_worker("worker2");
    h.rebalance();
    h.assert_connectors(&[0, 2]);
    h.assert_tasks(&[0, 6]);
    h.add_empty_worker("worker3");
    h.rebalance();
    assert_eq!(h.assignor.delay(), 1);
    h.assert_connectors(&[0, 1, 2]);
    h.assert_tasks(&[3, 3, 6]);
}

#[test]
fn worker_joining_during_delayed_rebalance() {
    let mut h = Harness::new(MAX_DELAY, &["worker1"]);
    h.connectors.insert("connector3".into(), 4);
    h.rebalance();
    h.add_empty_worker("worker2");
    h.rebalance();
    h.assert_connectors(&[0, 2]);
    h.assert_tasks(&[0, 6]);

    h.add_empty_worker("worker3");
    h.rebalance();
    assert!(h.assignor.delay() > 0);
    h.assert_no_revocations();
    h.assert_connectors(&[0, 1, 2]);
    h.assert_tasks(&[3, 3, 6]);

    let half = h.assignor.delay() / 2;
    h.sleep(half);
    h.add_empty_worker("worker4");
    h.rebalance();
    assert!(h.assignor.delay() > 0);
    h.assert_no_revocations();
    h.assert_connectors(&[0, 0, 1, 2]);
    h.assert_tasks(&[0, 3, 3, 6]);

    let delay = h.assignor.delay();
    h.sleep(delay);
    h.add_empty_worker("worker5");
    h.rebalance();
    h.assert_delay(0);
    h.assert_connectors(&[0, 0, 0, 1, 1]);
    h.assert_tasks(&[0, 0, 2, 3, 3]);

    h.rebalance();
    h.assert_delay(0);
    h.assert_no_revocations();
    h.assert_connectors(&[0, 0, 1, 1, 1]);
    h.assert_tasks(&[2, 2, 2, 3, 3]);
    h.assert_balanced_and_complete();
}

#[test]
fn task_assignment_when_worker_leaves_permanently() {
    let mut h = Harness::new(MAX_DELAY, &["worker1", "worker2"]);
    h.rebalance();
    h.assert_connectors(&[1, 1]);
    h.assert_tasks(&[4, 4]);
    h.assert_balanced_and_complete();

    // Its work waits scheduled.rebalance.max.delay.ms for it to come back.
    h.remove_worker("worker2");
    h.rebalance();
    h.assert_delay(MAX_DELAY);
    h.assert_workers(&["worker1"]);
    h.assert_empty_assignment();

    h.sleep(MAX_DELAY / 2);
    h.rebalance();
    h.assert_delay(MAX_DELAY / 2);
    h.assert_empty_assignment();

    h.sleep(MAX_DELAY / 2 + 1);
    h.rebalance();
    h.assert_delay(0);
    h.assert_connectors(&[2]);
    h.assert_tasks(&[8]);
    h.assert_balanced_and_complete();
}

#[test]
fn task_assignment_when_worker_bounces() {
    let mut h = Harness::new(MAX_DELAY, &["worker1", "worker2"]);
    h.rebalance();
    h.remove_worker("worker2");
    h.rebalance();
    h.assert_delay(MAX_DELAY);
    h.assert_empty_assignment();

    h.sleep(MAX_DELAY / 2);
    h.rebalance();
    h.assert_delay(MAX_DELAY / 2);
    h.assert_empty_assignment();

    h.sleep(MAX_DELAY / 4);
    h.add_empty_worker("worker2");
    h.rebalance();
    h.assert_delay(MAX_DELAY / 4);
    h.assert_workers(&["worker1", "worker2"]);
    h.assert_empty_assignment();

    // The delay expires: the returning worker gets its work back.
    h.sleep(MAX_DELAY / 4);
    h.rebalance();
    h.assert_delay(0);
    h.assert_no_revocations();
    h.assert_connectors(&[1, 1]);
    h.assert_tasks(&[4, 4]);
    h.assert_balanced_and_complete();
}

#[test]
fn task_assignment_when_leader_leaves_permanently() {
    let mut h = Harness::new(MAX_DELAY, &["worker1", "worker2", "worker3"]);
    h.rebalance();
    h.assert_connectors(&[0, 1, 1]);
    h.assert_tasks(&[2, 3, 3]);
    h.assert_balanced_and_complete();

    h.remove_worker("worker1");
    h.new_leader(MAX_DELAY);
    h.rebalance();
    h.assert_delay(0);
    h.assert_workers(&["worker2", "worker3"]);
    h.assert_connectors(&[1, 1]);
    h.assert_tasks(&[4, 4]);
    h.assert_balanced_and_complete();

    h.rebalance();
    h.assert_delay(0);
    h.assert_empty_assignment();
}

#[test]
fn task_assignment_when_leader_bounces() {
    let mut h = Harness::new(MAX_DELAY, &["worker1", "worker2", "worker3"]);
    h.rebalance();
    h.remove_worker("worker1");
    h.new_leader(MAX_DELAY);
    h.rebalance();
    h.assert_connectors(&[1, 1]);
    h.assert_tasks(&[4, 4]);

    h.add_empty_worker("worker1");
    h.rebalance();
    h.assert_delay(0);
    h.assert_connectors(&[0, 1, 1]);
    h.assert_tasks(&[0, 3, 3]);

    h.rebalance();
    h.assert_delay(0);
    h.assert_no_revocations();
    h.assert_connectors(&[0, 1, 1]);
    h.assert_tasks(&[2, 3, 3]);
    h.assert_balanced_and_complete();
}

#[test]
fn task_assignment_when_first_assignment_attempt_fails() {
    let mut h = Harness::new(MAX_DELAY, &["worker1", "worker2"]);
    h.failed_rebalance();
    h.assert_delay(0);
    h.assert_connectors(&[0, 0]);
    h.assert_tasks(&[0, 0]);

    h.rebalance();
    h.assert_delay(0);
    h.assert_connectors(&[1, 1]);
    h.assert_tasks(&[4, 4]);
    h.assert_balanced_and_complete();
}

fn subsequent_attempt_fails(mismatch: bool) {
    let mut h = Harness::new(MAX_DELAY, &["worker1", "worker2"]);
    h.rebalance();
    h.assert_connectors(&[1, 1]);
    h.assert_tasks(&[4, 4]);

    h.add_empty_worker("worker3");
    h.failed_rebalance();
    h.assert_connectors(&[0, 1, 1]);
    h.assert_tasks(&[0, 4, 4]);

    if mismatch {
        h.rebalance_with_mismatched_generation();
    } else {
        h.rebalance();
    }
    assert!(h.assignor.delay() > 0);
    h.assert_connectors(&[0, 1, 1]);
    h.assert_tasks(&[0, 4, 4]);

    let delay = h.assignor.delay();
    h.sleep(delay);
    h.rebalance();
    if !mismatch {
        h.assert_delay(0);
    }
    h.assert_connectors(&[0, 1, 1]);
    h.assert_tasks(&[0, 3, 3]);

    h.rebalance();
    h.assert_connectors(&[0, 1, 1]);
    h.assert_tasks(&[2, 3, 3]);
    h.assert_balanced_and_complete();
}

#[test]
fn task_assignment_when_subsequent_assignment_attempt_fails() {
    subsequent_attempt_fails(false);
}

#[test]
fn task_assignment_when_subsequent_attempt_fails_outside_the_assignor() {
    subsequent_attempt_fails(true);
}

#[test]
fn task_assignment_when_connectors_are_deleted() {
    let mut h = Harness::new(MAX_DELAY, &["worker1", "worker2"]);
    h.connectors.insert("connector3".into(), 4);
    h.rebalance();
    h.assert_connectors(&[1, 2]);
    h.assert_tasks(&[6, 6]);
    h.assert_balanced_and_complete();

    h.connectors.remove("connector3");
    h.rebalance();
    h.assert_delay(0);
    h.assert_connectors(&[1, 1]);
    h.assert_tasks(&[4, 4]);
    h.assert_balanced_and_complete();
}

#[test]
fn scheduled_delay_is_disabled() {
    let mut h = Harness::new(0, &["worker1", "worker2"]);
    h.rebalance();
    h.assert_connectors(&[1, 1]);
    h.remove_worker("worker2");
    h.rebalance();
    h.assert_delay(0);
    h.assert_workers(&["worker1"]);
    h.assert_connectors(&[2]);
    h.assert_tasks(&[8]);
    h.assert_balanced_and_complete();
}

#[test]
fn tasks_duplicated_in_worker_assignment_are_revoked_from_every_holder() {
    let mut h = Harness::new(MAX_DELAY, &["worker1"]);
    h.rebalance();
    h.assert_connectors(&[2]);
    h.assert_tasks(&[8]);

    let dup: Vec<ConnectorTaskId> = (0..4).map(|i| task("connector1", i)).collect();
    h.add_worker("worker2", &["connector1"], &dup);
    h.rebalance();
    h.assert_delay(0);
    h.assert_connectors(&[0, 1]);
    h.assert_tasks(&[0, 4]);

    h.rebalance();
    h.assert_delay(0);
    h.assert_no_revocations();
    h.assert_connectors(&[1, 1]);
    h.assert_tasks(&[4, 4]);
    h.assert_balanced_and_complete();

    h.rebalance();
    h.assert_empty_assignment();
}

#[test]
fn duplicated_assignment_handled_when_the_duplicates_are_deleted() {
    let mut h = Harness::new(MAX_DELAY, &["worker1"]);
    h.rebalance();
    h.connectors.remove("connector1");
    let dup: Vec<ConnectorTaskId> = (0..4).map(|i| task("connector1", i)).collect();
    h.add_worker("worker2", &["connector1"], &dup);
    h.rebalance();
    h.assert_delay(0);
    h.assert_connectors(&[0, 1]);
    h.assert_tasks(&[0, 2]);

    h.rebalance();
    h.assert_delay(0);
    h.assert_no_revocations();
    h.assert_connectors(&[0, 1]);
    h.assert_tasks(&[2, 2]);
    h.assert_balanced_and_complete();

    h.rebalance();
    h.assert_empty_assignment();
}

fn load(worker: &str, c_start: u32, c_num: u32, t_start: u32, t_num: u32) -> WorkerLoad {
    WorkerLoad {
        worker: worker.to_string(),
        load: ConnectorsAndTasks {
            connectors: (c_start..c_start + c_num)
                .map(|i| format!("connector{i}"))
                .collect(),
            tasks: (t_start..t_start + t_num)
                .map(|i| task("task", i))
                .collect(),
        },
    }
}

#[test]
fn assign_connectors_and_tasks_when_balanced_keep_javas_order() {
    let mut workers: Vec<WorkerLoad> = (0..3)
        .map(|i| load(&format!("worker{i}"), 2 * i, 2, 2 * i, 2))
        .collect();
    let connectors: IndexSet<String> = (6..11).map(|i| format!("connector{i}")).collect();
    assign_connectors(&mut workers, &connectors);
    let tasks: IndexSet<ConnectorTaskId> = (6..11).map(|i| task("task", i)).collect();
    assign_tasks(&mut workers, &tasks);
    let added = |w: &WorkerLoad| -> (Vec<String>, Vec<u32>) {
        (
            w.load.connectors.iter().skip(2).cloned().collect(),
            w.load.tasks.iter().skip(2).map(|t| t.task).collect(),
        )
    };
    let names: Vec<&str> = workers.iter().map(|w| w.worker.as_str()).collect();
    assert_eq!(names, ["worker0", "worker1", "worker2"]);
    assert_eq!(
        added(&workers[0]),
        (vec!["connector6".into(), "connector9".into()], vec![6, 9])
    );
    assert_eq!(
        added(&workers[1]),
        (vec!["connector7".into(), "connector10".into()], vec![7, 10])
    );
    assert_eq!(added(&workers[2]), (vec!["connector8".into()], vec![8]));
}

#[test]
fn assign_connectors_and_tasks_when_imbalanced_fill_every_worker_to_six() {
    let mut workers = vec![
        load("worker0", 0, 2, 0, 2),
        load("worker1", 2, 3, 2, 3),
        load("worker2", 5, 4, 5, 4),
        load("worker3", 0, 0, 0, 0),
    ];
    assign_connectors(
        &mut workers,
        &(9..24).map(|i| format!("connector{i}")).collect(),
    );
    assign_tasks(&mut workers, &(9..24).map(|i| task("task", i)).collect());
    for w in &workers {
        assert_eq!(
            (w.load.connectors.len(), w.load.tasks.len()),
            (6, 6),
            "{}",
            w.worker
        );
    }
}

#[test]
fn placement_is_javas_water_fill_not_greedy() {
    // Loads w2:0, w3:0, w1:1 and four items: Java gives w2 and w3 two each.
    let mut workers = vec![
        load("w1", 0, 1, 0, 0),
        load("w2", 0, 0, 0, 0),
        load("w3", 0, 0, 0, 0),
    ];
    assign_connectors(
        &mut workers,
        &(10..14).map(|i| format!("connector{i}")).collect(),
    );
    let counts: BTreeMap<&str, usize> = workers
        .iter()
        .map(|w| (w.worker.as_str(), w.load.connectors.len()))
        .collect();
    assert_eq!(counts, BTreeMap::from([("w1", 1), ("w2", 2), ("w3", 2)]));
}

#[test]
fn backoff_grows_forty_times_up_to_the_maximum() {
    assert_eq!(
        (1..=5).map(|n| backoff(n, MAX_DELAY)).collect::<Vec<_>>(),
        [40, 1600, 64000, MAX_DELAY, MAX_DELAY]
    );
    assert_eq!(backoff(3, 1), 1);
    assert_eq!(backoff(3, 0), 0);
}

#[test]
fn eager_assignment_is_round_robin_with_tasks_continuing_after_connectors() {
    let config = ConfigSnapshot {
        task_counts: [("a".to_string(), 2), ("b".to_string(), 3)].into(),
    };
    let members: BTreeSet<String> = ["w1", "w2"].iter().map(|s| s.to_string()).collect();
    let got = eager_assignment(&config, &members);
    let show = |w: &str| -> (Vec<String>, Vec<String>) {
        let a = &got[w];
        (
            a.connectors.iter().cloned().collect(),
            a.tasks
                .iter()
                .map(|t| format!("{}-{}", t.connector, t.task))
                .collect(),
        )
    };
    assert_eq!(
        show("w1"),
        (
            vec!["a".into()],
            vec!["a-0".into(), "b-0".into(), "b-2".into()]
        )
    );
    assert_eq!(
        show("w2"),
        (vec!["b".into()], vec!["a-1".into(), "b-1".into()])
    );
}

/// The fixture of Kafka's `handleLostAssignments` tests: worker0, worker1
/// and worker2 with 2 connectors and 4 tasks each; worker1's work is lost.
struct LostFixture {
    assignor: IncrementalCooperativeAssignor,
    now: u64,
    workers: Vec<WorkerLoad>,
    lost: ConnectorsAndTasks,
}

impl LostFixture {
    fn new(max_delay: u32) -> Self {
        let workers = vec![
            load("worker0", 0, 2, 0, 4),
            load("worker1", 2, 2, 4, 4),
            load("worker2", 4, 2, 8, 4),
        ];
        let lost = workers[1].load.clone();
        let mut f = LostFixture {
            assignor: IncrementalCooperativeAssignor::new(max_delay),
            now: 1_700_000_000_000,
            workers,
            lost,
        };
        f.handle(&ConnectorsAndTasks::default());
        f.assert_state(&[], 0, 0);
        f
    }

    fn handle(&mut self, lost: &ConnectorsAndTasks) -> ConnectorsAndTasks {
        let mut to_reassign = ConnectorsAndTasks::default();
        self.assignor
            .handle_lost_assignments(self.now, lost, &mut to_reassign, &mut self.workers);
        to_reassign
    }

    fn previous_members(&mut self, members: &[&str]) {
        self.assignor.previous_members = members.iter().map(|m| m.to_string()).collect();
    }

    fn remove(&mut self, worker: &str) {
        self.workers.retain(|w| w.worker != worker);
    }

    fn put(&mut self, w: WorkerLoad) {
        self.remove(&w.worker.clone());
        self.workers.push(w);
    }

    fn worker(&self, name: &str) -> &ConnectorsAndTasks {
        &self.workers.iter().find(|w| w.worker == name).unwrap().load
    }

    fn assert_state(&self, candidates: &[&str], scheduled_in: u64, delay: u32) {
        let got: BTreeSet<&str> = self
            .assignor
            .candidates
            .iter()
            .map(String::as_str)
            .collect();
        assert_eq!(
            got,
            candidates.iter().copied().collect::<BTreeSet<_>>(),
            "candidates"
        );
        let expected = if scheduled_in == 0 {
            0
        } else {
            self.now + scheduled_in
        };
        assert_eq!(
            self.assignor.scheduled_rebalance, expected,
            "scheduled rebalance"
        );
        assert_eq!(self.assignor.delay, delay, "delay");
    }

    fn contains_lost(&self, held: &ConnectorsAndTasks) -> bool {
        self.lost
            .connectors
            .iter()
            .all(|c| held.connectors.contains(c))
            && self.lost.tasks.iter().all(|t| held.tasks.contains(t))
    }
}

#[test]
fn lost_assignment_handling_when_worker_bounces() {
    let mut f = LostFixture::new(MAX_DELAY);
    let lost = f.lost.clone();
    f.previous_members(&["worker0", "worker1", "worker2"]);
    f.remove("worker1");
    f.handle(&lost);
    f.assert_state(&[], u64::from(MAX_DELAY), MAX_DELAY);

    f.previous_members(&["worker0", "worker2"]);
    f.now += u64::from(MAX_DELAY / 2);
    f.put(load("worker1", 0, 0, 0, 0));
    f.handle(&lost);
    f.assert_state(&["worker1"], u64::from(MAX_DELAY / 2), MAX_DELAY / 2);

    f.previous_members(&["worker0", "worker1", "worker2"]);
    f.now += u64::from(MAX_DELAY / 2);
    f.handle(&lost);
    assert!(
        f.contains_lost(f.worker("worker1")),
        "the returning worker gets its work"
    );
    f.assert_state(&[], 0, 0);
}

#[test]
fn lost_assignment_handling_when_worker_leaves_permanently() {
    let mut f = LostFixture::new(MAX_DELAY);
    let lost = f.lost.clone();
    f.previous_members(&["worker0", "worker1", "worker2"]);
    f.remove("worker1");
    f.handle(&lost);
    f.assert_state(&[], u64::from(MAX_DELAY), MAX_DELAY);

    f.previous_members(&["worker1"]);
    f.now += u64::from(MAX_DELAY / 2);
    f.handle(&lost);
    f.assert_state(&[], u64::from(MAX_DELAY / 2), MAX_DELAY / 2);

    f.now += u64::from(MAX_DELAY / 2);
    let reassign = f.handle(&lost);
    assert!(
        f.contains_lost(&reassign),
        "no candidate: the lost work is new work"
    );
    f.assert_state(&[], 0, 0);
}

#[test]
fn lost_assignment_handling_with_more_than_one_candidate() {
    let mut f = LostFixture::new(MAX_DELAY);
    let lost = f.lost.clone();
    f.previous_members(&["worker0", "worker1", "worker2"]);
    f.remove("worker1");
    f.put(load("worker3", 0, 0, 0, 0));
    f.handle(&lost);
    f.assert_state(&["worker3"], u64::from(MAX_DELAY), MAX_DELAY);

    f.previous_members(&["worker0", "worker2", "worker3"]);
    f.now += u64::from(MAX_DELAY / 2);
    f.put(load("worker1", 0, 0, 0, 0));
    f.handle(&lost);
    f.assert_state(
        &["worker3", "worker1"],
        u64::from(MAX_DELAY / 2),
        MAX_DELAY / 2,
    );

    // Both candidates get a share, although they have work by now.
    f.previous_members(&["worker0", "worker1", "worker2", "worker3"]);
    f.now += u64::from(MAX_DELAY / 2);
    f.put(load("worker1", 6, 2, 8, 4));
    f.put(load("worker3", 8, 2, 12, 4));
    f.handle(&lost);
    let mut both = f.worker("worker1").clone();
    both.extend(f.worker("worker3"));
    assert!(f.contains_lost(&both));
    f.assert_state(&[], 0, 0);
}

#[test]
fn lost_assignment_handling_when_worker_bounces_back_but_finally_leaves() {
    let mut f = LostFixture::new(MAX_DELAY);
    let lost = f.lost.clone();
    f.previous_members(&["worker0", "worker1", "worker2"]);
    f.remove("worker1");
    f.handle(&lost);
    f.assert_state(&[], u64::from(MAX_DELAY), MAX_DELAY);

    f.previous_members(&["worker0", "worker2"]);
    f.now += u64::from(MAX_DELAY / 2);
    f.put(load("worker1", 0, 0, 0, 0));
    f.handle(&lost);
    f.assert_state(&["worker1"], u64::from(MAX_DELAY / 2), MAX_DELAY / 2);

    f.previous_members(&["worker0", "worker1", "worker2"]);
    f.now += u64::from(MAX_DELAY / 2);
    f.remove("worker1");
    let reassign = f.handle(&lost);
    assert!(
        f.contains_lost(&reassign),
        "the candidate left again: new work"
    );
    f.assert_state(&[], 0, 0);
}

#[test]
fn lost_assignment_handling_when_scheduled_delay_is_disabled() {
    let mut f = LostFixture::new(0);
    let lost = f.lost.clone();
    f.previous_members(&["worker0", "worker1", "worker2"]);
    f.remove("worker1");
    let reassign = f.handle(&lost);
    f.assert_state(&[], 0, 0);
    assert_eq!(reassign, lost);
}
