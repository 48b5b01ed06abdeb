//! The worker's life in the group (`WorkerCoordinator` and the
//! membership half of `DistributedHerder.tick`): join, let the leader
//! assign, apply the assignment, then heartbeat and react to config
//! changes until something calls for the next rebalance.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;
use tracing::{error, info, warn};

use super::DistributedHerder;
use crate::distributed::assignor::{
    eager_assignment, ConnectorsAndTasks, IncrementalCooperativeAssignor,
};
use crate::distributed::group::{GroupError, GroupMember, Joined};
use crate::distributed::protocol::{Assignment, WorkerState, CONFIG_MISMATCH, NO_ERROR};

/// When to rejoin after applying an assignment.
pub(super) enum Next {
    /// Stay until something changes.
    Stay,
    /// Rejoin at once.
    Rejoin,
    /// Rejoin at this time (the leader's scheduled rebalance).
    RejoinAt(tokio::time::Instant),
}

/// What the leader keeps between rebalances.
struct Leadership {
    assignor: IncrementalCooperativeAssignor,
    last_completed_generation: i32,
}

/// Runs until shutdown: the group membership of one worker.
pub(super) async fn run(
    herder: Arc<DistributedHerder>,
    mut member: GroupMember,
    mut shutdown: watch::Receiver<bool>,
) {
    let max_delay = u32::try_from(herder.settings.scheduled_rebalance_max_delay.as_millis())
        .unwrap_or(u32::MAX);
    let mut leadership = Leadership {
        assignor: IncrementalCooperativeAssignor::new(max_delay),
        last_completed_generation: -1,
    };
    let mut changes = herder.configs.changes();
    let mut seen = herder.configs.state();
    let mut restarts_seen = seen.offset;
    let mut backoff = Duration::from_millis(100);
    'membership: while !*shutdown.borrow() {
        herder.rebalancing.send_replace(true);
        let next = match rebalance(&herder, &mut member, &mut leadership).await {
            Ok(next) => {
                backoff = Duration::from_millis(100);
                next
            }
            Err(e) => {
                lost_contact(&herder, &e).await;
                herder.rebalancing.send_replace(false);
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.changed() => {}
                }
                backoff = (backoff * 2).min(
                    herder
                        .settings
                        .heartbeat_interval
                        .max(Duration::from_secs(1)),
                );
                continue;
            }
        };
        herder.rebalancing.send_replace(false);
        let rejoin_at = match next {
            Next::Rejoin => continue,
            Next::RejoinAt(at) => Some(at),
            Next::Stay => None,
        };
        // Between rebalances: heartbeat, follow the config topic. The next
        // heartbeat is due at a fixed time, however often the config moves.
        let mut last_heartbeat = Instant::now();
        let mut next_heartbeat = tokio::time::Instant::now() + herder.settings.heartbeat_interval;
        loop {
            let heartbeat = tokio::time::sleep_until(next_heartbeat);
            let scheduled = async {
                match rejoin_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = shutdown.changed() => break 'membership,
                _ = herder.rejoin.notified() => continue 'membership,
                _ = scheduled => continue 'membership,
                _ = heartbeat => {
                    next_heartbeat = tokio::time::Instant::now() + herder.settings.heartbeat_interval;
                    match member.heartbeat().await {
                        Ok(()) => {
                            last_heartbeat = Instant::now();
                            herder.update_view(|v| v.problem = None);
                        }
                        Err(GroupError::Rebalance { .. }) => continue 'membership,
                        Err(e) => {
                            warn!(error = %e, "heartbeat failed");
                            // Past the session timeout the group has moved this
                            // worker's work elsewhere: stop it, as Java does.
                            if last_heartbeat.elapsed() >= herder.settings.session_timeout {
                                lost_contact(&herder, &e).await;
                                continue 'membership;
                            }
                        }
                    }
                }
                changed = changes.changed() => {
                    if changed.is_err() {
                        error!("the config topic reader stopped; leaving the group");
                        break 'membership;
                    }
                    let now = herder.configs.state();
                    let rebalance = while_heartbeating(
                        &mut member,
                        herder.settings.heartbeat_interval,
                        herder.on_config_change(&seen, &now, &mut restarts_seen),
                    )
                    .await;
                    seen = now;
                    if rebalance {
                        continue 'membership;
                    }
                }
            }
        }
    }
    info!("leaving the group");
    herder.worker.stop_all().await;
    if let Err(e) = member.leave().await {
        warn!(error = %e, "could not leave the group; the others wait for the session timeout");
    }
    herder.stopped.notify_waiters();
}

/// The group cannot be reached: keep the REST API honest, and stop the
/// work once the session is surely over, since others may run it now.
async fn lost_contact(herder: &DistributedHerder, e: &GroupError) {
    error!(error = %e, "cannot reach the group coordinator");
    let view = herder.view();
    herder.update_view(|v| {
        v.problem = Some(format!("cannot reach the group coordinator: {e}"));
        v.leader_url = None;
    });
    if !view.owned.is_empty() {
        let _guard = herder.work.lock().await;
        herder.stop_owned(&view.owned).await;
        herder.update_view(|v| v.owned = ConnectorsAndTasks::default());
    }
}

/// One join and sync; applies the assignment.
async fn rebalance(
    herder: &Arc<DistributedHerder>,
    member: &mut GroupMember,
    leadership: &mut Leadership,
) -> Result<Next, GroupError> {
    let view = herder.view();
    // Eager: everything stops before every rebalance.
    if herder.settings.protocol == crate::distributed::config::ConnectProtocol::Eager
        && !view.owned.is_empty()
    {
        let _guard = herder.work.lock().await;
        herder.stop_owned(&view.owned).await;
        herder.update_view(|v| v.owned = ConnectorsAndTasks::default());
    }
    let config_offset = herder.configs.state().offset;
    let owned = herder.view().owned;
    let protocols: Vec<(&str, Vec<u8>)> = herder
        .settings
        .protocol
        .offered()
        .iter()
        .map(|(name, version)| {
            let allocation = (*version >= 1 && view.joined).then(|| Assignment {
                version: *version,
                error: NO_ERROR,
                leader: view.leader_id.clone(),
                leader_url: String::new(),
                config_offset,
                assigned: owned.clone(),
                revoked: ConnectorsAndTasks::default(),
                delay_ms: 0,
            });
            let state = WorkerState {
                url: herder.url.clone(),
                config_offset,
                allocation,
            };
            (*name, state.encode(*version))
        })
        .collect();
    let joined = member.join(&protocols).await?;
    let version = protocol_version(&joined.protocol);
    let assignments = if joined.is_leader() {
        lead(herder, &joined, version, leadership).await
    } else {
        Vec::new()
    };
    let bytes = member.sync(assignments).await?;
    let assignment = Assignment::decode(&bytes).map_err(|e| GroupError::Protocol {
        api: "SyncGroup",
        reason: e.to_string(),
    })?;
    leadership.last_completed_generation = joined.generation;
    info!(
        generation = joined.generation,
        leader = %assignment.leader,
        protocol = %joined.protocol,
        assigned = ?assignment.assigned,
        revoked = ?assignment.revoked,
        "joined the group"
    );
    // Java times a rebalance from the assignment's arrival to the work
    // started (`rebalanceStarted` in `onAssigned`).
    herder.metrics.begin();
    let next = while_heartbeating(
        member,
        herder.settings.heartbeat_interval,
        herder.apply_assignment(&joined, version, assignment),
    )
    .await;
    herder.metrics.complete(
        joined.generation,
        &herder.view().leader_url.unwrap_or_default(),
        &joined.protocol,
    );
    Ok(next)
}

fn protocol_version(name: &str) -> i16 {
    match name {
        "sessioned" => 2,
        "compatible" => 1,
        _ => 0,
    }
}

/// The leader's part: read the config to where the members are, assign,
/// and encode each member's assignment.
async fn lead(
    herder: &DistributedHerder,
    joined: &Joined,
    version: i16,
    leadership: &mut Leadership,
) -> Vec<(String, Vec<u8>)> {
    let mut members: BTreeMap<String, (String, ConnectorsAndTasks)> = BTreeMap::new();
    let mut max_offset = -1;
    for (id, bytes) in &joined.members {
        match WorkerState::decode(bytes) {
            Ok(state) => {
                max_offset = max_offset.max(state.config_offset);
                let held = state.allocation.map(|a| a.assigned).unwrap_or_default();
                members.insert(id.clone(), (state.url, held));
            }
            Err(e) => {
                warn!(member = %id, error = %e, "unreadable member metadata; assigning it nothing")
            }
        }
    }
    let leader_url = members
        .get(&joined.member_id)
        .map(|(url, _)| url.clone())
        .unwrap_or_else(|| herder.url.clone());
    let state = match herder.configs.read_to_end().await {
        Ok(s) => s,
        Err(e) => {
            warn!(error = %e, "cannot read the config topic to its end");
            herder.configs.state()
        }
    };
    let encode = |assigned, revoked, delay_ms, error| Assignment {
        version,
        error,
        leader: joined.member_id.clone(),
        leader_url: leader_url.clone(),
        config_offset: state.offset,
        assigned,
        revoked,
        delay_ms,
    };
    if state.offset < max_offset {
        warn!(
            ours = state.offset,
            theirs = max_offset,
            "the config topic read is behind a member's; every member rejoins"
        );
        return members
            .keys()
            .map(|id| {
                let a = encode(
                    ConnectorsAndTasks::default(),
                    ConnectorsAndTasks::default(),
                    0,
                    CONFIG_MISMATCH,
                );
                (id.clone(), a.encode())
            })
            .collect();
    }
    let snapshot = state.snapshot();
    let mut out = Vec::new();
    let mut full: BTreeMap<String, (String, ConnectorsAndTasks)> = BTreeMap::new();
    if version == 0 {
        let ids: BTreeSet<String> = members.keys().cloned().collect();
        let mut all = eager_assignment(&snapshot, &ids);
        for (id, (url, _)) in &members {
            let mine = all.remove(id).unwrap_or_default();
            full.insert(id.clone(), (url.clone(), mine.clone()));
            out.push((
                id.clone(),
                encode(mine, ConnectorsAndTasks::default(), 0, NO_ERROR).encode(),
            ));
        }
    } else {
        let held: BTreeMap<String, ConnectorsAndTasks> = members
            .iter()
            .map(|(id, (_, h))| (id.clone(), h.clone()))
            .collect();
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or_default();
        let result = leadership.assignor.perform_task_assignment(
            now_ms,
            &snapshot,
            leadership.last_completed_generation,
            joined.generation,
            &held,
        );
        let delay = i32::try_from(result.delay_ms).unwrap_or(i32::MAX);
        for (id, (url, _)) in &members {
            let m = result.members.get(id).cloned().unwrap_or_default();
            full.insert(id.clone(), (url.clone(), m.all.clone()));
            out.push((
                id.clone(),
                encode(m.assigned, m.revoked, delay, NO_ERROR).encode(),
            ));
        }
    }
    herder.update_view(|v| v.members = full);
    out
}

/// Runs `work` while heartbeating, so a slow stop or start does not cost
/// this worker its place in the group. Heartbeats stop once the group is
/// found rebalancing: the next join follows anyway.
pub(super) async fn while_heartbeating<F: Future>(
    member: &mut GroupMember,
    interval: Duration,
    work: F,
) -> F::Output {
    tokio::pin!(work);
    let mut rebalancing = false;
    loop {
        tokio::select! {
            out = &mut work => return out,
            _ = tokio::time::sleep(interval), if !rebalancing => {
                if let Err(GroupError::Rebalance { .. }) = member.heartbeat().await {
                    rebalancing = true;
                }
            }
        }
    }
}
