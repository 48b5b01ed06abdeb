//! The golden-test harness every crate shares: a directory of JSON files,
//! each holding inputs and the outputs expected of them. A run compares;
//! with `BLESS` set (to anything but `0`) it rewrites the expectations
//! instead, to be reviewed in the diff. The transforms
//! ([`crate::transform::golden`]), the syslog parsers and the threat
//! intelligence sets keep their own file formats on top of it.

use std::path::{Path, PathBuf};

use serde_json::Value as Json;

/// Whether this run rewrites expectations (`BLESS=1`) instead of checking
/// them.
pub fn bless() -> bool {
    std::env::var("BLESS").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Runs `check` over every `*.json` file of `dir`, in name order. `check`
/// gets the file's path and JSON and returns the file as it should be (the
/// expectations replaced by what was produced) and the mismatches, one
/// line each. Panics with every mismatch, or, when blessing, writes back
/// each file that changed.
// Test support: a missing or unreadable golden file is the test failing.
#[allow(clippy::expect_used)]
pub fn check_dir(dir: &Path, mut check: impl FnMut(&Path, &Json) -> (Json, Vec<String>)) {
    let bless = bless();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("golden directory {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no golden files in {}", dir.display());
    let mut report = Vec::new();
    for path in &paths {
        let text = std::fs::read_to_string(path).expect("golden file is readable");
        let file: Json = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", path.display()));
        let (actual, failures) = check(path, &file);
        if bless {
            let mut out = serde_json::to_string_pretty(&actual).expect("JSON serializes");
            out.push('\n');
            if out != text {
                std::fs::write(path, out).expect("golden file is writable");
            }
        } else if !failures.is_empty() {
            report.push(format!("{}:\n  {}", path.display(), failures.join("\n  ")));
        }
    }
    assert!(
        report.is_empty(),
        "golden mismatches (rerun with BLESS=1 after review):\n{}",
        report.join("\n")
    );
}
