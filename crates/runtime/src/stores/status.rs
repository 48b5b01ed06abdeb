//! Connector and task statuses (`StatusBackingStore`).

use dashmap::DashMap;
use rampart_core::herder::{ConnectorState, ConnectorTaskId, TaskState};

/// Where statuses are kept.
pub trait StatusBackingStore: Send + Sync {
    /// Records a connector's status.
    fn put_connector(&self, name: &str, state: ConnectorState);
    /// Records a task's status.
    fn put_task(&self, id: &ConnectorTaskId, state: TaskState);
    /// A connector's status.
    fn connector(&self, name: &str) -> Option<ConnectorState>;
    /// A task's status.
    fn task(&self, id: &ConnectorTaskId) -> Option<TaskState>;
    /// Every task status of a connector, by task number.
    fn tasks(&self, name: &str) -> Vec<TaskState>;
    /// Forgets a connector and its tasks.
    fn remove_connector(&self, name: &str);
    /// Forgets one task.
    fn remove_task(&self, id: &ConnectorTaskId);
}

/// Statuses in memory: standalone mode has a single writer and reader.
#[derive(Debug, Default)]
pub struct MemoryStatusBackingStore {
    connectors: DashMap<String, ConnectorState>,
    tasks: DashMap<ConnectorTaskId, TaskState>,
}

impl StatusBackingStore for MemoryStatusBackingStore {
    fn put_connector(&self, name: &str, state: ConnectorState) {
        self.connectors.insert(name.to_string(), state);
    }

    fn put_task(&self, id: &ConnectorTaskId, state: TaskState) {
        self.tasks.insert(id.clone(), state);
    }

    fn connector(&self, name: &str) -> Option<ConnectorState> {
        self.connectors.get(name).map(|s| s.clone())
    }

    fn task(&self, id: &ConnectorTaskId) -> Option<TaskState> {
        self.tasks.get(id).map(|s| s.clone())
    }

    fn tasks(&self, name: &str) -> Vec<TaskState> {
        let mut v: Vec<TaskState> = self
            .tasks
            .iter()
            .filter(|e| e.key().connector == name)
            .map(|e| e.value().clone())
            .collect();
        v.sort_by_key(|t| t.id);
        v
    }

    fn remove_connector(&self, name: &str) {
        self.connectors.remove(name);
        self.tasks.retain(|k, _| k.connector != name);
    }

    fn remove_task(&self, id: &ConnectorTaskId) {
        self.tasks.remove(id);
    }
}
