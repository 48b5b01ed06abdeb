//! The README's configuration reference is generated, never hand-kept: this
//! test fails when it is stale, and `BLESS=1` rewrites it.

use crate::support::rampart_bin;

const START: &str = "<!-- config-reference:start -->\n";
const END: &str = "<!-- config-reference:end -->";

#[test]
fn readme_config_reference_is_current() {
    let out = std::process::Command::new(rampart_bin())
        .arg("config-reference")
        .output()
        .expect("binary runs");
    assert!(out.status.success());
    let generated = String::from_utf8(out.stdout).expect("utf-8");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md exists");
    let start = readme.find(START).expect("start marker") + START.len();
    let end = readme.find(END).expect("end marker");
    if readme[start..end] == generated {
        return;
    }
    if rampart_core::golden::bless() {
        let updated = format!("{}{}{}", &readme[..start], generated, &readme[end..]);
        std::fs::write(&path, updated).expect("README.md is writable");
        return;
    }
    panic!("README.md's configuration reference is stale: run `BLESS=1 scripts/test`");
}
