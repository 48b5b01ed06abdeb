//! The group leader's assignment of connectors and tasks to workers: Kafka
//! Connect's incremental cooperative assignor (KIP-415, `connect.protocol`
//! `compatible` and `sessioned`) and the eager assignor (`default`).
//!
//! Pure functions over the config snapshot and the members' current
//! assignments: no I/O, and the clock is an argument, so every rebalance
//! scenario of Kafka's `IncrementalCooperativeAssignorTest` runs as a unit
//! test. The algorithm follows `IncrementalCooperativeAssignor.java` step by
//! step, including its placement order (a water-fill over workers sorted
//! once) and backoff. One deliberate difference: workers are visited in
//! member-id order, where Java visits them in `HashMap` order; that only
//! decides which over-loaded workers keep one extra item, and no count the
//! Java tests assert depends on it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use indexmap::IndexSet;
use rampart_core::herder::ConnectorTaskId;

/// Connectors and tasks, each in insertion order (Java's `LinkedHashSet`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectorsAndTasks {
    /// Connector names.
    pub connectors: IndexSet<String>,
    /// Task ids.
    pub tasks: IndexSet<ConnectorTaskId>,
}

impl ConnectorsAndTasks {
    /// Whether there are neither connectors nor tasks.
    pub fn is_empty(&self) -> bool {
        self.connectors.is_empty() && self.tasks.is_empty()
    }

    pub(crate) fn extend(&mut self, other: &ConnectorsAndTasks) {
        self.connectors.extend(other.connectors.iter().cloned());
        self.tasks.extend(other.tasks.iter().cloned());
    }

    pub(crate) fn remove_all(&mut self, other: &ConnectorsAndTasks) {
        self.connectors.retain(|c| !other.connectors.contains(c));
        self.tasks.retain(|t| !other.tasks.contains(t));
    }

    /// `self` minus every `others`, sorted (Java's `diff`, built on TreeSets).
    fn diff(&self, others: &[&ConnectorsAndTasks]) -> ConnectorsAndTasks {
        let mut connectors: BTreeSet<&String> = self.connectors.iter().collect();
        let mut tasks: BTreeSet<&ConnectorTaskId> = self.tasks.iter().collect();
        for o in others {
            connectors.retain(|c| !o.connectors.contains(*c));
            tasks.retain(|t| !o.tasks.contains(*t));
        }
        ConnectorsAndTasks {
            connectors: connectors.into_iter().cloned().collect(),
            tasks: tasks.into_iter().cloned().collect(),
        }
    }

    fn intersection(&self, other: &ConnectorsAndTasks) -> ConnectorsAndTasks {
        ConnectorsAndTasks {
            connectors: self
                .connectors
                .iter()
                .filter(|c| other.connectors.contains(*c))
                .cloned()
                .collect(),
            tasks: self
                .tasks
                .iter()
                .filter(|t| other.tasks.contains(*t))
                .cloned()
                .collect(),
        }
    }
}

/// The connectors and their task counts in the config topic, as the
/// leader read it (`ClusterConfigState`).
#[derive(Debug, Clone, Default)]
pub struct ConfigSnapshot {
    /// Connector name to task count; a connector whose task configs are
    /// inconsistent has no tasks here.
    pub task_counts: BTreeMap<String, u32>,
}

impl ConfigSnapshot {
    fn configured(&self) -> ConnectorsAndTasks {
        let mut out = ConnectorsAndTasks::default();
        for (c, n) in &self.task_counts {
            out.connectors.insert(c.clone());
            for task in 0..*n {
                out.tasks.insert(ConnectorTaskId {
                    connector: c.clone(),
                    task,
                });
            }
        }
        out
    }
}

/// What one member is told: what to start, what to stop, and everything
/// it runs once it has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberAssignment {
    /// Newly assigned: start these.
    pub assigned: ConnectorsAndTasks,
    /// Revoked: stop these.
    pub revoked: ConnectorsAndTasks,
    /// Everything the member runs after applying both.
    pub all: ConnectorsAndTasks,
}

/// The result of one rebalance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterAssignment {
    /// Per member id.
    pub members: BTreeMap<String, MemberAssignment>,
    /// Milliseconds after which every member rejoins (0: none); sent to all.
    pub delay_ms: u32,
}

/// One worker's load while the leader builds the assignment.
#[derive(Debug, Clone)]
struct WorkerLoad {
    worker: String,
    load: ConnectorsAndTasks,
}

/// The incremental cooperative assignor and the state it keeps between
/// rebalances while its worker leads the group.
#[derive(Debug, Clone)]
pub struct IncrementalCooperativeAssignor {
    max_delay: u32,
    previous_assignment: ConnectorsAndTasks,
    previous_revocation: ConnectorsAndTasks,
    revoked_in_previous: bool,
    candidates: IndexSet<String>,
    /// Absolute time (ms) of the scheduled rebalance; 0 when none.
    scheduled_rebalance: u64,
    delay: u32,
    previous_generation: i32,
    previous_members: BTreeSet<String>,
    successive_revoking_rebalances: u32,
}

impl IncrementalCooperativeAssignor {
    /// An assignor with `scheduled.rebalance.max.delay.ms`.
    pub fn new(max_delay_ms: u32) -> Self {
        IncrementalCooperativeAssignor {
            max_delay: max_delay_ms,
            previous_assignment: ConnectorsAndTasks::default(),
            previous_revocation: ConnectorsAndTasks::default(),
            revoked_in_previous: false,
            candidates: IndexSet::new(),
            scheduled_rebalance: 0,
            delay: 0,
            previous_generation: -1,
            previous_members: BTreeSet::new(),
            successive_revoking_rebalances: 0,
        }
    }

    /// The delay sent with the last assignment.
    pub fn delay(&self) -> u32 {
        self.delay
    }

    /// Sets the generation the assignor believes it last completed (a new
    /// leader starts from the current one).
    pub fn set_previous_generation(&mut self, generation: i32) {
        self.previous_generation = generation;
    }

    /// One rebalance: `members` maps each member id to what it runs now.
    /// `now_ms` is the wall clock, which the delays are measured against.
    pub fn perform_task_assignment(
        &mut self,
        now_ms: u64,
        config: &ConfigSnapshot,
        last_completed_generation: i32,
        current_generation: i32,
        members: &BTreeMap<String, ConnectorsAndTasks>,
    ) -> ClusterAssignment {
        // A failed sync on the leader's side leaves its view of the
        // previous round unreliable.
        if self.previous_generation != last_completed_generation {
            self.previous_assignment = ConnectorsAndTasks::default();
        }
        let configured = config.configured();
        let mut active = ConnectorsAndTasks::default();
        for m in members.values() {
            active.extend(m);
        }
        // A revocation sent last round that members still hold was not
        // applied: trust what they report.
        if !self.previous_revocation.is_empty() {
            let unapplied = self
                .previous_revocation
                .connectors
                .iter()
                .any(|c| active.connectors.contains(c))
                || self
                    .previous_revocation
                    .tasks
                    .iter()
                    .any(|t| active.tasks.contains(t));
            if unapplied {
                self.previous_assignment = active.clone();
            }
            self.previous_revocation = ConnectorsAndTasks::default();
        }
        let deleted = self.previous_assignment.diff(&[&configured]);
        let duplicated = duplicated(members);
        let lost = self.previous_assignment.diff(&[&active, &deleted]);
        let created = configured.diff(&[&self.previous_assignment, &active]);

        let current: BTreeMap<&String, ConnectorsAndTasks> = members
            .iter()
            .map(|(w, m)| {
                let mut m = m.clone();
                m.remove_all(&deleted);
                (w, m)
            })
            .collect();

        let mut to_revoke: BTreeMap<String, ConnectorsAndTasks> = BTreeMap::new();
        let mut next: Vec<WorkerLoad> = Vec::with_capacity(members.len());
        for (w, m) in members {
            let mut revoke = m.intersection(&deleted);
            revoke.extend(&m.intersection(&duplicated));
            let mut load = m.clone();
            load.remove_all(&revoke);
            to_revoke.insert(w.clone(), revoke);
            next.push(WorkerLoad {
                worker: w.clone(),
                load,
            });
        }

        let mut lost_to_reassign = ConnectorsAndTasks::default();
        self.handle_lost_assignments(now_ms, &lost, &mut lost_to_reassign, &mut next);

        if self.delay == 0 {
            let balancing = load_balancing_revocations(&configured, &next);
            if self.revoked_in_previous && !balancing.is_empty() {
                // Revoking twice in a row means workers keep joining: back
                // off before moving work again.
                self.successive_revoking_rebalances += 1;
                self.delay = backoff(self.successive_revoking_rebalances, self.max_delay);
                if self.delay != 0 {
                    self.scheduled_rebalance = now_ms + u64::from(self.delay);
                } else {
                    apply_revocations(&mut to_revoke, &mut next, &balancing);
                }
            } else if !balancing.is_empty() {
                apply_revocations(&mut to_revoke, &mut next, &balancing);
                self.revoked_in_previous = true;
            } else if self.revoked_in_previous {
                self.revoked_in_previous = false;
                self.successive_revoking_rebalances = 0;
            }
        } else {
            self.revoked_in_previous = false;
        }

        let mut to_assign = created;
        to_assign.extend(&lost_to_reassign);
        assign_connectors(&mut next, &to_assign.connectors);
        assign_tasks(&mut next, &to_assign.tasks);

        let mut out = ClusterAssignment {
            members: BTreeMap::new(),
            delay_ms: self.delay,
        };
        let mut previous = ConnectorsAndTasks::default();
        for w in &next {
            previous.extend(&w.load);
        }
        for w in next {
            let empty = ConnectorsAndTasks::default();
            let held = current.get(&w.worker).unwrap_or(&empty);
            let assigned = ConnectorsAndTasks {
                connectors: w
                    .load
                    .connectors
                    .iter()
                    .filter(|c| !held.connectors.contains(*c))
                    .cloned()
                    .collect(),
                tasks: w
                    .load
                    .tasks
                    .iter()
                    .filter(|t| !held.tasks.contains(*t))
                    .cloned()
                    .collect(),
            };
            let revoked = to_revoke.remove(&w.worker).unwrap_or_default();
            let mut all = w.load;
            all.remove_all(&revoked);
            out.members.insert(
                w.worker,
                MemberAssignment {
                    assigned,
                    revoked,
                    all,
                },
            );
        }
        for r in out.members.values() {
            previous.remove_all(&r.revoked);
            self.previous_revocation.extend(&r.revoked);
        }
        // Lost work held back by the delay stays lost, not created, until
        // it is reassigned or deleted.
        previous.extend(&lost);
        self.previous_assignment = previous;
        self.previous_generation = current_generation;
        self.previous_members = members.keys().cloned().collect();
        out
    }

    fn reset_delay(&mut self) {
        self.candidates.clear();
        self.scheduled_rebalance = 0;
        self.delay = 0;
    }

    // Work whose worker left: reassigned at once when nobody left (the
    // assignment just never reached them), or after the delay, to workers
    // that came back empty meanwhile (KIP-415's scheduled rebalance).
    fn handle_lost_assignments(
        &mut self,
        now: u64,
        lost: &ConnectorsAndTasks,
        to_reassign: &mut ConnectorsAndTasks,
        next: &mut [WorkerLoad],
    ) {
        if lost.is_empty() && !self.revoked_in_previous {
            self.reset_delay();
            return;
        }
        let all_back = self
            .previous_members
            .iter()
            .all(|p| next.iter().any(|w| &w.worker == p));
        if (self.scheduled_rebalance == 0 && all_back) || self.max_delay == 0 {
            to_reassign.extend(lost);
            return;
        }
        if self.scheduled_rebalance > 0 && now >= self.scheduled_rebalance {
            let candidates: Vec<usize> = self
                .candidates
                .iter()
                .filter_map(|c| next.iter().position(|w| &w.worker == c))
                .collect();
            if candidates.is_empty() {
                to_reassign.extend(lost);
            } else {
                for (i, c) in lost.connectors.iter().enumerate() {
                    next[candidates[i % candidates.len()]]
                        .load
                        .connectors
                        .insert(c.clone());
                }
                for (i, t) in lost.tasks.iter().enumerate() {
                    next[candidates[i % candidates.len()]]
                        .load
                        .tasks
                        .insert(t.clone());
                }
            }
            self.reset_delay();
            self.revoked_in_previous = false;
        } else {
            for w in next.iter().filter(|w| w.load.is_empty()) {
                self.candidates.insert(w.worker.clone());
            }
            self.delay = if now < self.scheduled_rebalance {
                let remaining = self.scheduled_rebalance - now;
                u32::try_from(remaining)
                    .unwrap_or(u32::MAX)
                    .min(self.max_delay)
            } else {
                self.max_delay
            };
            self.scheduled_rebalance = now + u64::from(self.delay);
        }
    }
}

/// Connectors and tasks held by more than one member.
fn duplicated(members: &BTreeMap<String, ConnectorsAndTasks>) -> ConnectorsAndTasks {
    let mut connectors: HashMap<&String, u32> = HashMap::new();
    let mut tasks: HashMap<&ConnectorTaskId, u32> = HashMap::new();
    for m in members.values() {
        for c in &m.connectors {
            *connectors.entry(c).or_default() += 1;
        }
        for t in &m.tasks {
            *tasks.entry(t).or_default() += 1;
        }
    }
    let mut out = ConnectorsAndTasks::default();
    let mut dup_connectors: Vec<&String> = connectors
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(c, _)| c)
        .collect();
    dup_connectors.sort();
    let mut dup_tasks: Vec<&ConnectorTaskId> = tasks
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(t, _)| t)
        .collect();
    dup_tasks.sort();
    out.connectors = dup_connectors.into_iter().cloned().collect();
    out.tasks = dup_tasks.into_iter().cloned().collect();
    out
}

/// Java's `ExponentialBackoff(1, 40, maxDelay, 0)` for the `attempts`-th
/// successive revoking rebalance (40 ms, 1.6 s, 64 s, then the maximum).
fn backoff(attempts: u32, max_delay: u32) -> u32 {
    let initial = u32::from(max_delay != 0);
    let exp_max = if max_delay > initial {
        (f64::from(max_delay) / f64::from(initial.max(1))).ln() / 40f64.ln()
    } else {
        0.0
    };
    if exp_max == 0.0 {
        return initial;
    }
    let exp = f64::from(attempts).min(exp_max);
    let term = f64::from(initial) * 40f64.powf(exp);
    (term as u64).min(u64::from(max_delay)) as u32
}

/// Per worker, what to revoke so that no worker holds more than its share
/// of the configured connectors and, separately, tasks.
fn load_balancing_revocations(
    configured: &ConnectorsAndTasks,
    workers: &[WorkerLoad],
) -> BTreeMap<String, ConnectorsAndTasks> {
    let mut out: BTreeMap<String, ConnectorsAndTasks> = BTreeMap::new();
    if workers.iter().all(|w| w.load.is_empty()) || configured.is_empty() {
        return out;
    }
    for (worker, surplus) in surplus(configured.connectors.len(), workers, |w| &w.load.connectors) {
        out.entry(worker).or_default().connectors = surplus;
    }
    for (worker, surplus) in surplus(configured.tasks.len(), workers, |w| &w.load.tasks) {
        out.entry(worker).or_default().tasks = surplus;
    }
    out
}

// Each worker may keep floor(total/n) items, and total mod n of them one
// more: the first over-floor workers met keep the extra slots. Revoked are
// the first items of a worker's own order.
fn surplus<T: Clone + std::hash::Hash + Eq>(
    total: usize,
    workers: &[WorkerLoad],
    items: impl Fn(&WorkerLoad) -> &IndexSet<T>,
) -> Vec<(String, IndexSet<T>)> {
    let n = workers.len();
    let min = total / n;
    let extra = total % n;
    let at_min = workers.iter().filter(|w| items(w).len() == min).count();
    let at_extra = workers.iter().filter(|w| items(w).len() == min + 1).count();
    if at_extra == extra && at_min + at_extra == n {
        return Vec::new();
    }
    let mut allocated_extras = 0;
    let mut out = Vec::new();
    for w in workers {
        let held = items(w);
        if held.len() <= min {
            continue;
        }
        let max = if allocated_extras < extra {
            allocated_extras += 1;
            if held.len() == min + 1 {
                continue;
            }
            min + 1
        } else {
            min
        };
        out.push((
            w.worker.clone(),
            held.iter().take(held.len() - max).cloned().collect(),
        ));
    }
    out
}

fn apply_revocations(
    to_revoke: &mut BTreeMap<String, ConnectorsAndTasks>,
    next: &mut [WorkerLoad],
    revocations: &BTreeMap<String, ConnectorsAndTasks>,
) {
    for (worker, r) in revocations {
        to_revoke.entry(worker.clone()).or_default().extend(r);
        if let Some(w) = next.iter_mut().find(|w| &w.worker == worker) {
            w.load.remove_all(r);
        }
    }
}

fn assign_connectors(workers: &mut [WorkerLoad], connectors: &IndexSet<String>) {
    workers.sort_by(|a, b| {
        (a.load.connectors.len(), &a.worker).cmp(&(b.load.connectors.len(), &b.worker))
    });
    water_fill(workers, connectors, |w| &mut w.load.connectors);
}

fn assign_tasks(workers: &mut [WorkerLoad], tasks: &IndexSet<ConnectorTaskId>) {
    workers.sort_by(|a, b| (a.load.tasks.len(), &a.worker).cmp(&(b.load.tasks.len(), &b.worker)));
    water_fill(workers, tasks, |w| &mut w.load.tasks);
}

// Java's placement: with the workers sorted once, each pass gives one item
// to every worker in the prefix no fuller than the first; ties keep their
// first order, they are not re-sorted between passes.
fn water_fill<T: Clone + std::hash::Hash + Eq>(
    workers: &mut [WorkerLoad],
    items: &IndexSet<T>,
    held: impl Fn(&mut WorkerLoad) -> &mut IndexSet<T>,
) {
    if workers.is_empty() {
        return;
    }
    let mut items = items.iter().peekable();
    while items.peek().is_some() {
        let first = held(&mut workers[0]).len();
        let up_to = (0..workers.len())
            .find(|i| held(&mut workers[*i]).len() > first)
            .unwrap_or(workers.len());
        for w in workers[..up_to].iter_mut() {
            let Some(item) = items.next() else { break };
            held(w).insert(item.clone());
        }
    }
}

/// The eager assignor (`connect.protocol=default`): every rebalance assigns
/// everything afresh, connectors then tasks round-robin over the members
/// sorted by id, the tasks continuing where the connectors stopped.
pub fn eager_assignment(
    config: &ConfigSnapshot,
    members: &BTreeSet<String>,
) -> BTreeMap<String, ConnectorsAndTasks> {
    let mut out: BTreeMap<String, ConnectorsAndTasks> = BTreeMap::new();
    let order: Vec<&String> = members.iter().collect();
    if order.is_empty() {
        return out;
    }
    let mut next = order.iter().cycle();
    for c in config.task_counts.keys() {
        if let Some(m) = next.next() {
            out.entry((*m).clone())
                .or_default()
                .connectors
                .insert(c.clone());
        }
    }
    for (c, n) in &config.task_counts {
        for task in 0..*n {
            if let Some(m) = next.next() {
                out.entry((*m).clone())
                    .or_default()
                    .tasks
                    .insert(ConnectorTaskId {
                        connector: c.clone(),
                        task,
                    });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
