//! Crash-safe JSON files: write a temporary file, fsync, rename over the old
//! one, so a SIGKILL leaves either the old or the new content, never a mix.

use std::io::Write;
use std::path::Path;

use rampart_core::{ConnectError, ConnectResult};

pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> ConnectResult<()> {
    let tmp = path.with_extension("tmp");
    let fail =
        |e: std::io::Error| ConnectError::connect(format!("cannot write {}: {e}", path.display()));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let mut f = std::fs::File::create(&tmp).map_err(fail)?;
    f.write_all(bytes).map_err(fail)?;
    f.sync_all().map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Persist the rename itself.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

pub(crate) fn read_if_exists(path: &Path) -> ConnectResult<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ConnectError::connect(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

/// Writes `bytes` atomically on a blocking thread, so the runtime's worker
/// threads never wait on fsync.
pub(crate) async fn write_off_thread(path: &Path, bytes: Vec<u8>) -> ConnectResult<()> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || write_atomically(&path, &bytes))
        .await
        .map_err(|e| ConnectError::connect(e.to_string()))?
}
