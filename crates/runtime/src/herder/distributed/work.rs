//! What a worker runs: applying an assignment, and following config
//! changes for the connectors and tasks it owns (`DistributedHerder`'s
//! `handleRebalanceCompleted`, `startWork` and config update listener).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rampart_core::herder::{ConnectorConfig, ConnectorTaskId, State, TargetState};
use rampart_core::{ConnectError, ConnectResult};
use tracing::{error, info, warn};

use super::member::Next;
use super::DistributedHerder;
use crate::distributed::assignor::ConnectorsAndTasks;
use crate::distributed::config_state::ClusterConfigState;
use crate::distributed::group::Joined;
use crate::distributed::protocol::{Assignment, NO_ERROR};
use crate::distributed::signature;
use crate::herder::common;
use crate::herder::validation::reverse_transform;

impl DistributedHerder {
    /// Applies what the leader handed out in this generation.
    pub(super) async fn apply_assignment(
        &self,
        joined: &Joined,
        version: i16,
        assignment: Assignment,
    ) -> Next {
        if assignment.error != NO_ERROR {
            warn!("the leader's config was behind ours; reading the config topic and rejoining");
            let _ = self.configs.read_to_end().await;
            return Next::Rejoin;
        }
        let mut state = self.configs.state();
        if state.offset < assignment.config_offset {
            let sync = tokio::time::timeout(
                self.settings.worker_sync_timeout,
                self.configs.read_to_end(),
            )
            .await;
            match sync {
                Ok(Ok(s)) if s.offset >= assignment.config_offset => state = s,
                _ => {
                    warn!(
                        ours = state.offset,
                        leader = assignment.config_offset,
                        "could not read the config topic as far as the leader; rejoining"
                    );
                    return Next::Rejoin;
                }
            }
        }
        let _guard = self.work.lock().await;
        let previous = self.view().owned;
        let mut owned = previous.clone();
        if version >= 1 {
            self.stop_owned(&assignment.revoked).await;
            owned.remove_all(&assignment.revoked);
            owned.extend(&assignment.assigned);
        } else {
            owned = assignment.assigned.clone();
        }
        self.statuses.set_generation(joined.generation);
        self.worker
            .clients
            .coordinator(&self.group_client_id)
            .assigned(owned.connectors.len(), owned.tasks.len());
        self.update_view(|v| {
            v.joined = true;
            v.generation = joined.generation;
            v.member_id = joined.member_id.clone();
            v.leader_id = assignment.leader.clone();
            v.leader_url = Some(assignment.leader_url.clone());
            v.protocol_version = version;
            v.owned = owned.clone();
            v.problem = None;
            if !joined.is_leader() {
                v.members.clear();
            }
        });
        if joined.is_leader() && version >= 2 {
            self.refresh_session_key(&state).await;
        }
        // Sources continue from what the previous owner committed.
        if !assignment.assigned.tasks.is_empty() {
            if let Err(e) = self.offsets.read_to_end().await {
                warn!(error = %e, "cannot read the offsets topic to its end; tasks start from what was read");
            }
        }
        for name in &assignment.assigned.connectors {
            self.start_owned_connector(name, &state);
        }
        for id in &assignment.assigned.tasks {
            self.start_owned_task(id, &state);
        }
        if !assignment.revoked.is_empty() {
            return Next::Rejoin;
        }
        match u64::try_from(assignment.delay_ms) {
            Ok(ms) if ms > 0 => {
                Next::RejoinAt(tokio::time::Instant::now() + Duration::from_millis(ms))
            }
            _ => Next::Stay,
        }
    }

    /// Stops connectors and tasks (revoked, or on losing the group).
    pub(super) async fn stop_owned(&self, what: &ConnectorsAndTasks) {
        let tasks: Vec<ConnectorTaskId> = what.tasks.iter().cloned().collect();
        self.worker.stop_tasks(&tasks).await;
        for name in &what.connectors {
            self.worker.stop_connector(name);
        }
    }

    /// Starts an owned connector in its target state, and publishes its
    /// task configs if they changed.
    pub(super) fn start_owned_connector(&self, name: &str, state: &ClusterConfigState) {
        let Some(config) = state.connectors.get(name) else {
            warn!(connector = %name, "assigned a connector with no config; skipping");
            return;
        };
        let target = state.target_state(name);
        let resolved = common::resolve(&self.worker, config);
        let generated = self.worker.start_connector(name, &resolved, target);
        let failed = self.worker.status.connector(name).is_some_and(|s| {
            s.state == State::Failed && s.worker_id == self.worker.config.worker_id
        });
        if target == TargetState::Stopped || failed {
            return;
        }
        let tasks: Vec<ConnectorConfig> = generated
            .into_iter()
            .map(|t| reverse_transform(config, &resolved, t))
            .collect();
        let committed: Vec<Option<&ConnectorConfig>> =
            (0..state.task_counts.get(name).copied().unwrap_or(0))
                .map(|task| {
                    state.task_configs.get(&ConnectorTaskId {
                        connector: name.to_string(),
                        task,
                    })
                })
                .collect();
        let unchanged = committed.len() == tasks.len()
            && committed
                .iter()
                .zip(&tasks)
                .all(|(c, t)| c.is_some_and(|c| c == t));
        if unchanged && !state.inconsistent.contains(name) {
            return;
        }
        self.publish_task_configs(name.to_string(), tasks);
    }

    /// Starts an owned task with its committed config.
    pub(super) fn start_owned_task(&self, id: &ConnectorTaskId, state: &ClusterConfigState) {
        let (Some(config), Some(task_config)) = (
            state.connectors.get(&id.connector),
            state.task_configs.get(id),
        ) else {
            warn!(task = %id, "assigned a task with no config; skipping");
            return;
        };
        let resolved = common::resolve(&self.worker, config);
        let task_config = common::resolve(&self.worker, task_config);
        self.worker.start_task(
            id.clone(),
            &resolved,
            task_config,
            state.target_state(&id.connector),
        );
    }

    /// Sends new task configs to the config topic: directly on the leader,
    /// otherwise signed to the leader's internal endpoint, retried until it
    /// takes them or the connector moves away.
    fn publish_task_configs(&self, name: String, tasks: Vec<ConnectorConfig>) {
        let Some(herder) = self.me() else { return };
        tokio::spawn(async move {
            let mut pause = Duration::from_millis(250);
            loop {
                let owned = herder.view().owned.connectors.contains(&name);
                if !owned || *herder.shutdown.borrow() {
                    return;
                }
                match herder.try_publish(&name, &tasks).await {
                    Ok(()) => {
                        info!(connector = %name, tasks = tasks.len(), "task configs published");
                        return;
                    }
                    Err(e) => {
                        warn!(connector = %name, error = %e, "cannot publish task configs; retrying")
                    }
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(10));
            }
        });
    }

    async fn try_publish(&self, name: &str, tasks: &[ConnectorConfig]) -> ConnectResult<()> {
        let view = self.view();
        if view.is_leader() {
            return self.write_task_configs(name, tasks.to_vec()).await;
        }
        let Some(leader) = view.leader_url.filter(|u| !u.is_empty()) else {
            return Err(ConnectError::retriable("no leader known yet"));
        };
        let url = format!("{}/connectors/{name}/tasks", leader.trim_end_matches('/'));
        let body = serde_json::to_vec(tasks).map_err(|e| ConnectError::connect(e.to_string()))?;
        let mut request = self
            .http
            .post(&url)
            .header("Content-Type", "application/json");
        if view.protocol_version >= 2 {
            let Some((key, algorithm, _)) = self.session_key() else {
                return Err(ConnectError::retriable("no session key read yet"));
            };
            request = request
                .header("X-Connect-Authorization", signature::sign(&key, &body))
                .header("X-Connect-Request-Signature-Algorithm", algorithm);
        }
        let response = request
            .body(body)
            .send()
            .await
            .map_err(|e| ConnectError::retriable(format!("POST {url}: {e}")))?;
        if response.status().is_success() {
            return Ok(());
        }
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        Err(ConnectError::retriable(format!(
            "POST {url}: {status}: {text}"
        )))
    }

    /// The leader's write of a connector's task configs, read back.
    pub(super) async fn write_task_configs(
        &self,
        name: &str,
        tasks: Vec<ConnectorConfig>,
    ) -> ConnectResult<()> {
        let _writes = self.writes.lock().await;
        if !tasks.is_empty() && self.target_state(name) == TargetState::Stopped {
            return Err(ConnectError::BadRequest(format!(
                "Cannot submit non-empty set of task configs for stopped connector {name}"
            )));
        }
        self.configs.put_task_configs(name, tasks).await?;
        self.configs.read_to_end().await?;
        Ok(())
    }

    /// The leader writes a session key when there is none, or it expired.
    async fn refresh_session_key(&self, state: &ClusterConfigState) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default();
        let ttl = self.settings.inter_worker_key_ttl.as_millis() as i64;
        let fresh = state
            .session_key
            .as_ref()
            .is_some_and(|(key, alg, created)| {
                alg == signature::ALGORITHM && key.len() == 32 && now - created < ttl
            });
        if fresh {
            return;
        }
        let _writes = self.writes.lock().await;
        let written = match signature::new_key() {
            Ok(key) => {
                self.configs
                    .put_session_key(key, signature::ALGORITHM, now)
                    .await
            }
            Err(e) => Err(e),
        };
        match written {
            Ok(()) => info!("wrote a new session key"),
            Err(e) => {
                error!(error = %e, "cannot write a session key; internal requests cannot be verified")
            }
        }
    }

    /// Follows a change of the config topic: restarts what this worker
    /// owns and changed, applies target states and restart requests.
    /// Returns whether the group must rebalance (connectors or task counts
    /// changed).
    pub(super) async fn on_config_change(
        &self,
        before: &ClusterConfigState,
        now: &ClusterConfigState,
        restarts_seen: &mut i64,
    ) -> bool {
        let _guard = self.work.lock().await;
        let owned = self.view().owned;
        for name in &owned.connectors {
            let was = before.connectors.get(name);
            let is = now.connectors.get(name);
            match (was, is) {
                (Some(_), None) => {
                    // Deleted: its owner stops it and clears its statuses.
                    let tasks = self.worker.task_ids(name);
                    self.worker.stop_tasks(&tasks).await;
                    self.worker.stop_connector(name);
                    self.worker.status.remove_connector(name);
                    self.worker.topics.reset(name);
                    continue;
                }
                (Some(a), Some(b)) if a != b => {
                    info!(connector = %name, "connector config changed; restarting it");
                    self.worker.stop_connector(name);
                    self.start_owned_connector(name, now);
                    continue;
                }
                _ => {}
            }
            let (from, to) = (before.target_state(name), now.target_state(name));
            if from == to || is.is_none() {
                continue;
            }
            match (from, to) {
                (_, TargetState::Stopped) => {
                    self.worker.stop_connector(name);
                    self.worker
                        .start_connector(name, &Default::default(), TargetState::Stopped);
                }
                (TargetState::Stopped, _) => self.start_owned_connector(name, now),
                (_, target) => self.worker.set_connector_target(name, target),
            }
        }
        let mut restart_tasks = Vec::new();
        let mut stop_tasks = Vec::new();
        for id in &owned.tasks {
            match (before.task_configs.get(id), now.task_configs.get(id)) {
                (_, None) => stop_tasks.push(id.clone()),
                (Some(a), Some(b)) if a != b => restart_tasks.push(id.clone()),
                _ => {
                    let (from, to) = (
                        before.target_state(&id.connector),
                        now.target_state(&id.connector),
                    );
                    if from != to {
                        match to {
                            TargetState::Stopped => stop_tasks.push(id.clone()),
                            target => self.worker.set_task_target(id, target),
                        }
                    }
                }
            }
        }
        self.worker.stop_tasks(&stop_tasks).await;
        self.worker.stop_tasks(&restart_tasks).await;
        for id in &restart_tasks {
            info!(task = %id, "task config changed; restarting it");
            self.start_owned_task(id, now);
        }
        self.process_restart_requests(now, &owned, restarts_seen)
            .await;
        before.snapshot().task_counts != now.snapshot().task_counts
    }

    /// Restarts what this worker owns of each restart request read since
    /// the last time (`processRestartRequests`).
    async fn process_restart_requests(
        &self,
        now: &ClusterConfigState,
        owned: &ConnectorsAndTasks,
        seen: &mut i64,
    ) {
        let fresh: Vec<(String, bool, bool)> = now
            .restart_requests
            .iter()
            .filter(|(_, (offset, _, _))| *offset >= *seen)
            .map(|(c, (_, tasks, failed))| (c.clone(), *tasks, *failed))
            .collect();
        *seen = now.offset;
        for (name, include_tasks, only_failed) in fresh {
            let Ok(status) = self.status_of(&name) else {
                continue;
            };
            let (_, connector, tasks) = common::restart_plan(status, include_tasks, only_failed);
            if connector && owned.connectors.contains(&name) {
                info!(connector = %name, "restarting connector as requested");
                self.worker.stop_connector(&name);
                self.start_owned_connector(&name, now);
            }
            let ids: Vec<ConnectorTaskId> = tasks
                .into_iter()
                .map(|task| ConnectorTaskId {
                    connector: name.clone(),
                    task,
                })
                .filter(|id| owned.tasks.contains(id))
                .collect();
            self.worker.stop_tasks(&ids).await;
            for id in &ids {
                info!(task = %id, "restarting task as requested");
                self.start_owned_task(id, now);
            }
        }
    }
}
