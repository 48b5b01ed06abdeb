//! Connector config files given on the command line: `.properties`, or the
//! JSON body of a POST (`{"name":…,"config":{…}}`) or of a PUT (flat map).

use std::collections::BTreeMap;
use std::path::Path;

use rampart_core::config::parse_properties;

/// A connector to create at startup.
pub struct ConnectorFile {
    /// Connector name.
    pub name: String,
    /// Its config.
    pub config: BTreeMap<String, String>,
}

fn scalar(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Reads one connector file.
pub fn read(path: &Path) -> Result<ConnectorFile, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read connector config {}: {e}", path.display()))?;
    let config: BTreeMap<String, String> = if path.extension().is_some_and(|e| e == "json") {
        let json: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("invalid JSON in {}: {e}", path.display()))?;
        let (map, name) = match json.get("config") {
            Some(c) => (
                c.clone(),
                json.get("name")
                    .and_then(|n| n.as_str())
                    .map(str::to_string),
            ),
            None => (json.clone(), None),
        };
        let obj = map
            .as_object()
            .ok_or_else(|| format!("{}: config must be a JSON object", path.display()))?;
        let mut config: BTreeMap<String, String> = obj
            .iter()
            .filter_map(|(k, v)| scalar(v).map(|s| (k.clone(), s)))
            .collect();
        if let Some(n) = name {
            config.entry("name".into()).or_insert(n);
        }
        config
    } else {
        parse_properties(&text)
            .map_err(|e| format!("invalid properties in {}: {e}", path.display()))?
            .into_iter()
            .collect()
    };
    let name = config
        .get("name")
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| format!("{}: connector config has no 'name'", path.display()))?;
    Ok(ConnectorFile { name, config })
}
