//! Which record field a Sigma rule's field name reads. SigmaHQ's rules name
//! fields as the log sources spell them (Sysmon's `CommandLine`, Zeek's
//! `src_ip`); our records are ECS. The mapping becomes an rsigma
//! `field_name_mapping` pipeline, so it renames the fields of detections
//! and of correlations' `group-by` alike, once, when the rules load.

use std::collections::HashMap;
use std::path::Path;

use rsigma_eval::pipeline::Transformation;
use rsigma_eval::{Pipeline, TransformationItem};

/// The built-in names: SigmaHQ's generic log source fields (process
/// creation, network, file, web server, DNS) onto their ECS fields. A
/// name missing here is looked up as written, so rules written against
/// ECS need no mapping at all.
const DEFAULTS: &[(&str, &str)] = &[
    // Process creation (Sysmon event 1, Windows 4688, auditd EXECVE).
    ("Image", "process.executable"),
    ("CommandLine", "process.command_line"),
    ("ProcessId", "process.pid"),
    ("CurrentDirectory", "process.working_directory"),
    ("OriginalFileName", "process.pe.original_file_name"),
    ("ParentImage", "process.parent.executable"),
    ("ParentCommandLine", "process.parent.command_line"),
    ("ParentProcessId", "process.parent.pid"),
    ("User", "user.name"),
    ("LogonId", "winlog.logon.id"),
    // Hosts.
    ("Hostname", "host.name"),
    ("ComputerName", "host.name"),
    ("Computer", "host.name"),
    // Network connections (Sysmon event 3, firewall and Zeek logs).
    ("SourceIp", "source.ip"),
    ("SourcePort", "source.port"),
    ("SourceHostname", "source.domain"),
    ("DestinationIp", "destination.ip"),
    ("DestinationPort", "destination.port"),
    ("DestinationHostname", "destination.domain"),
    ("IpAddress", "source.ip"),
    ("src_ip", "source.ip"),
    ("src_port", "source.port"),
    ("dst_ip", "destination.ip"),
    ("dst_port", "destination.port"),
    ("Protocol", "network.transport"),
    // Files.
    ("TargetFilename", "file.path"),
    // DNS.
    ("QueryName", "dns.question.name"),
    ("query", "dns.question.name"),
    // Web servers (SigmaHQ's `category: webserver`, W3C names).
    ("c-ip", "source.ip"),
    ("c-uri", "url.original"),
    ("c-uri-query", "url.query"),
    ("c-useragent", "user_agent.original"),
    ("cs-method", "http.request.method"),
    ("cs-host", "url.domain"),
    ("cs-referrer", "http.request.referrer"),
    ("sc-status", "http.response.status_code"),
    // Windows event identity.
    ("EventID", "event.code"),
    ("Provider_Name", "event.provider"),
];

/// Sigma field names and the record paths they read; a name may map to
/// several paths, matched as alternatives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldMapping(HashMap<String, Vec<String>>);

impl FieldMapping {
    /// The built-in names only.
    pub(crate) fn defaults() -> Self {
        FieldMapping(
            DEFAULTS
                .iter()
                .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
                .collect(),
        )
    }

    /// The built-in names with a `field.mapping` file's over them. The file
    /// holds Java properties lines, `SigmaName=record.path`, where a
    /// comma-separated list of paths matches any of them.
    pub(crate) fn with_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let entries = rampart_core::config::parse_properties(&text)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let mut mapping = Self::defaults();
        for (name, targets) in entries {
            let targets: Vec<String> = targets
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect();
            if name.is_empty() || targets.is_empty() {
                return Err(format!(
                    "{}: \"{name}\" maps to no field (write SigmaName=record.path)",
                    path.display()
                ));
            }
            mapping.0.insert(name, targets);
        }
        Ok(mapping)
    }

    /// The rsigma pipeline that renames the fields.
    pub(crate) fn pipeline(&self) -> Pipeline {
        Pipeline {
            name: "rampart field.mapping".to_string(),
            priority: 0,
            vars: HashMap::new(),
            transformations: vec![TransformationItem {
                id: None,
                transformation: Transformation::FieldNameMapping {
                    mapping: self.0.clone(),
                },
                rule_conditions: Vec::new(),
                rule_cond_expr: None,
                detection_item_conditions: Vec::new(),
                field_name_conditions: Vec::new(),
                field_name_cond_not: false,
            }],
            finalizers: Vec::new(),
            source_refs: Vec::new(),
        }
    }
}
