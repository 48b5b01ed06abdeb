//! Golden tests of every transform here: `testdata/golden/*.json`, in the
//! format of `rampart-core`'s harness (its `golden` module says it), run
//! with these classes registered. `BLESS=1 cargo test -p rampart-security
//! golden` rewrites the expectations after a reviewed change.

use std::path::Path;

use rampart_core::transform::{golden, TransformPlugins};

#[test]
fn golden() {
    let plugins = TransformPlugins::builtin().with(crate::transforms(), crate::predicates());
    golden::run_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/golden"),
        &plugins,
    );
}
