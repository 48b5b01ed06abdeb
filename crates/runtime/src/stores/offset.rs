//! Source offsets (`OffsetBackingStore`): per connector, source partition →
//! last committed source offset.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use rampart_core::connector::OffsetStorageReader;
use rampart_core::record::SourceMap;
use rampart_core::{ConnectError, ConnectResult};
use serde_json::Value as Json;

use super::file::{read_if_exists, write_off_thread};

/// Where source offsets are kept.
#[async_trait]
pub trait OffsetBackingStore: Send + Sync {
    /// The committed offset of one source partition.
    fn get(&self, connector: &str, partition: &SourceMap) -> Option<SourceMap>;
    /// Every committed offset of a connector.
    fn connector_offsets(&self, connector: &str) -> Vec<(SourceMap, SourceMap)>;
    /// Writes offsets durably; `None` removes a partition's offset.
    async fn put(
        &self,
        connector: &str,
        entries: Vec<(SourceMap, Option<SourceMap>)>,
    ) -> ConnectResult<()>;
    /// Removes every offset of a connector.
    async fn clear(&self, connector: &str) -> ConnectResult<()>;
}

// Keyed like the offsets topic of distributed mode: `["<connector>",{partition}]`.
type Key = String;

fn key(connector: &str, partition: &SourceMap) -> Key {
    Json::Array(vec![
        Json::String(connector.to_string()),
        Json::Object(partition.clone()),
    ])
    .to_string()
}

/// `offset.storage.file.filename`: offsets in a JSON file, rewritten
/// atomically on every commit. Without a file name, offsets live in memory.
#[derive(Debug)]
pub struct FileOffsetBackingStore {
    path: Option<PathBuf>,
    data: RwLock<BTreeMap<Key, (String, SourceMap, SourceMap)>>,
    // Serialises file rewrites so a slow writer cannot overwrite a newer file.
    write_lock: tokio::sync::Mutex<()>,
}

impl FileOffsetBackingStore {
    /// Opens (or creates) the store.
    pub fn open(path: Option<PathBuf>) -> ConnectResult<Self> {
        let mut data = BTreeMap::new();
        if let Some(p) = &path {
            if let Some(bytes) = read_if_exists(p)? {
                let entries: Vec<(Json, Json)> = serde_json::from_slice(&bytes).map_err(|e| {
                    ConnectError::connect(format!("offset file {} is corrupt: {e}", p.display()))
                })?;
                for (k, v) in entries {
                    if let (Json::Array(parts), Json::Object(offset)) = (k, v) {
                        if let [Json::String(conn), Json::Object(partition)] = parts.as_slice() {
                            data.insert(
                                key(conn, partition),
                                (conn.clone(), partition.clone(), offset),
                            );
                        }
                    }
                }
            }
        }
        Ok(FileOffsetBackingStore {
            path,
            data: RwLock::new(data),
            write_lock: tokio::sync::Mutex::new(()),
        })
    }

    async fn persist(&self) -> ConnectResult<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let _guard = self.write_lock.lock().await;
        let bytes = {
            let data = self
                .data
                .read()
                .map_err(|_| ConnectError::connect("offset store lock poisoned"))?;
            let entries: Vec<(Json, Json)> = data
                .values()
                .map(|(c, p, o)| {
                    (
                        Json::Array(vec![Json::String(c.clone()), Json::Object(p.clone())]),
                        Json::Object(o.clone()),
                    )
                })
                .collect();
            serde_json::to_vec(&entries).map_err(|e| ConnectError::connect(e.to_string()))?
        };
        write_off_thread(path, bytes).await
    }
}

#[async_trait]
impl OffsetBackingStore for FileOffsetBackingStore {
    fn get(&self, connector: &str, partition: &SourceMap) -> Option<SourceMap> {
        self.data
            .read()
            .ok()?
            .get(&key(connector, partition))
            .map(|(_, _, o)| o.clone())
    }

    fn connector_offsets(&self, connector: &str) -> Vec<(SourceMap, SourceMap)> {
        self.data
            .read()
            .map(|d| {
                d.values()
                    .filter(|(c, _, _)| c == connector)
                    .map(|(_, p, o)| (p.clone(), o.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    async fn put(
        &self,
        connector: &str,
        entries: Vec<(SourceMap, Option<SourceMap>)>,
    ) -> ConnectResult<()> {
        {
            let mut data = self
                .data
                .write()
                .map_err(|_| ConnectError::connect("offset store lock poisoned"))?;
            for (partition, offset) in entries {
                let k = key(connector, &partition);
                match offset {
                    Some(o) => {
                        data.insert(k, (connector.to_string(), partition, o));
                    }
                    None => {
                        data.remove(&k);
                    }
                }
            }
        }
        self.persist().await
    }

    async fn clear(&self, connector: &str) -> ConnectResult<()> {
        {
            let mut data = self
                .data
                .write()
                .map_err(|_| ConnectError::connect("offset store lock poisoned"))?;
            data.retain(|_, (c, _, _)| c != connector);
        }
        self.persist().await
    }
}

/// A connector's view of the store, handed to its source tasks.
pub(crate) struct ConnectorOffsetReader {
    pub(crate) store: Arc<dyn OffsetBackingStore>,
    pub(crate) connector: String,
}

impl OffsetStorageReader for ConnectorOffsetReader {
    fn offset(&self, partition: &SourceMap) -> Option<SourceMap> {
        self.store.get(&self.connector, partition)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(k: &str, v: Json) -> SourceMap {
        let mut m = SourceMap::new();
        m.insert(k.to_string(), v);
        m
    }

    #[tokio::test]
    async fn offsets_survive_reopen_and_clear_is_per_connector() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("offsets");
        let store = FileOffsetBackingStore::open(Some(path.clone())).unwrap();
        let p = map("filename", "a.txt".into());
        store
            .put("c1", vec![(p.clone(), Some(map("position", 30.into())))])
            .await
            .unwrap();
        store
            .put("c2", vec![(p.clone(), Some(map("position", 7.into())))])
            .await
            .unwrap();
        let reopened = FileOffsetBackingStore::open(Some(path.clone())).unwrap();
        assert_eq!(reopened.get("c1", &p), Some(map("position", 30.into())));
        reopened.clear("c1").await.unwrap();
        let again = FileOffsetBackingStore::open(Some(path)).unwrap();
        assert_eq!(again.get("c1", &p), None);
        assert_eq!(again.connector_offsets("c2").len(), 1);
    }

    #[test]
    fn corrupt_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("offsets");
        std::fs::write(&path, b"garbage").unwrap();
        let err = FileOffsetBackingStore::open(Some(path)).unwrap_err();
        assert!(err.to_string().contains("corrupt"));
    }
}
