//! The whole security chain on one core: Parse → Normalize (ECS) →
//! ThreatIntel (1,000,000 loaded IPv4 indicators) → SigmaDetect (50
//! rules), over the loghub sshd and Linux syslog samples, cycled.
//!
//! `cargo bench -p rampart-security --bench chain` prints records/s and
//! bytes/s for each prefix of the chain, so each stage's cost shows as the
//! drop from the line before; the first line (Parse alone) is the baseline
//! the others are compared with. Records are built beforehand and only
//! the transforms are timed.

// Set-up that fails is the benchmark failing, as in a test.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use rampart_core::data::Value;
use rampart_core::record::ConnectRecord;
use rampart_core::transform::{TransformPlugins, TransformationChain};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCH: usize = 1024;
const INDICATORS: u32 = 1_000_000;

fn run_for() -> Duration {
    // `cargo test --all-targets` runs this unoptimised: only check it works.
    if cfg!(debug_assertions) {
        Duration::from_millis(50)
    } else {
        Duration::from_secs(3)
    }
}

fn loghub_lines() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/loghub");
    let mut lines = Vec::new();
    for f in ["OpenSSH_2k.log", "Linux_2k.log"] {
        let text = std::fs::read_to_string(dir.join(f)).unwrap();
        lines.extend(text.lines().map(str::to_string));
    }
    lines
}

/// 1,000,000 distinct IPv4 addresses, a few of them the sample's attackers.
fn indicator_file(dir: &Path) -> std::path::PathBuf {
    let mut text = String::with_capacity(INDICATORS as usize * 16);
    text.push_str("187.141.143.180\n112.95.230.3\n150.183.249.110\n");
    let mut x: u32 = 0x9e37_79b9;
    for _ in 3..INDICATORS {
        // xorshift: spread over the whole space, no repeats in this range.
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        text.push_str(&std::net::Ipv4Addr::from(x).to_string());
        text.push('\n');
    }
    let path = dir.join("indicators.txt");
    std::fs::write(&path, text).unwrap();
    path
}

fn chain(stages: &[&str], indicators: &Path, rules: &Path) -> TransformationChain {
    let mut config: HashMap<String, String> = HashMap::new();
    config.insert("transforms".into(), stages.join(","));
    let mut set = |k: &str, v: &str| {
        config.insert(k.to_string(), v.to_string());
    };
    set("transforms.parse.type", "io.rampart.transforms.Parse");
    set("transforms.ecs.type", "io.rampart.transforms.Normalize");
    set("transforms.intel.type", "io.rampart.transforms.ThreatIntel");
    set(
        "transforms.intel.sources",
        &format!("file:{}", indicators.display()),
    );
    set("transforms.sigma.type", "io.rampart.transforms.SigmaDetect");
    set("transforms.sigma.rules.dir", &rules.display().to_string());
    let plugins = TransformPlugins::builtin().with(
        rampart_security::transforms(),
        rampart_security::predicates(),
    );
    TransformationChain::from_config_in(&config, &plugins).unwrap()
}

fn records(lines: &[String]) -> Vec<ConnectRecord> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| ConnectRecord {
            topic: "raw".into(),
            value: Value::String(l.clone()),
            timestamp: Some(1_765_350_000_000 + i as i64),
            ..ConnectRecord::default()
        })
        .collect()
}

/// Records/s and input bytes/s through `chain`, best of three runs.
fn measure(chain: &TransformationChain, input: &[ConnectRecord], bytes_per: f64) -> (f64, f64) {
    let mut best = 0.0f64;
    for _ in 0..3 {
        let (mut n, mut spent) = (0u64, Duration::ZERO);
        let until = Instant::now() + run_for();
        let mut at = 0;
        while Instant::now() < until {
            let batch: Vec<ConnectRecord> = (0..BATCH)
                .map(|k| input[(at + k) % input.len()].clone())
                .collect();
            at = (at + BATCH) % input.len();
            let start = Instant::now();
            for r in batch {
                black_box(chain.apply(r).ok());
            }
            spent += start.elapsed();
            n += BATCH as u64;
        }
        best = best.max(n as f64 / spent.as_secs_f64());
    }
    (best, best * bytes_per)
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    common::fifty_rules(&rules);
    let indicators = indicator_file(dir.path());
    let lines = loghub_lines();
    let bytes_per = lines.iter().map(|l| l.len()).sum::<usize>() as f64 / lines.len() as f64;
    let input = records(&lines);

    let loading = Instant::now();
    let full = chain(&["parse", "ecs", "intel", "sigma"], &indicators, &rules);
    println!(
        "chain built in {:.2} s (1,000,000 indicators loaded, 50 rules compiled)",
        loading.elapsed().as_secs_f64()
    );
    let stages: [&[&str]; 4] = [
        &["parse"],
        &["parse", "ecs"],
        &["parse", "ecs", "intel"],
        &["parse", "ecs", "intel", "sigma"],
    ];
    let mut baseline = None;
    for s in stages {
        let c = if s.len() == 4 {
            None
        } else {
            Some(chain(s, &indicators, &rules))
        };
        let c = c.as_ref().unwrap_or(&full);
        let (rps, bps) = measure(c, &input, bytes_per);
        let base = *baseline.get_or_insert(rps);
        println!(
            "{:<28} {:>10.0} records/s  {:>6.1} MB/s  ({:.2} x parse alone)",
            s.join(" → "),
            rps,
            bps / 1e6,
            rps / base
        );
    }
}
