//! Threat intel with a million IPv4 indicators, on one core: loading them
//! (a plain list and a Feodo Tracker CSV, through the transform's own load
//! path: read, parse, build), the live heap they take per indicator
//! (counted by a global allocator wrapper, so every hash table, metadata
//! table and interned string is in it), lookups per second (hits and
//! misses), and `ThreatIntel` records/s on ECS records, alone and behind
//! `Parse` and `Normalize` on raw syslog lines.
//!
//! `cargo bench -p rampart-security --bench intel` prints the figures.
//! Records are built and cloned into a batch beforehand and freed
//! afterwards; only the transforms are timed.

// Set-up that fails is the benchmark failing, as in a test.
#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::{Duration, Instant};

use rampart_core::data::Value;
use rampart_core::record::ConnectRecord;
use rampart_core::transform::{TransformPlugins, Transformation, TransformationChain};
use rampart_security::intel::{parse_feed, Format, Now, SetBuilder, ThreatIntel};

// The rampart binary uses mimalloc; measure with the allocator that ships,
// wrapped to count the bytes it has handed out.
#[global_allocator]
static GLOBAL: cap::Cap<mimalloc::MiMalloc> = cap::Cap::new(mimalloc::MiMalloc, usize::MAX);

const BATCH: usize = 256;
const ROUNDS: u32 = 5;

/// `cargo test --all-targets` runs this unoptimised: only check it works
/// there, the numbers would mean nothing.
fn scale() -> (usize, Duration) {
    if cfg!(debug_assertions) {
        (20_000, Duration::from_millis(50))
    } else {
        (1_000_000, Duration::from_millis(1500))
    }
}

/// xorshift64*: reproducible addresses without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn ip(&mut self) -> u32 {
        (self.next() >> 32) as u32
    }
}

const FAMILIES: [&str; 8] = [
    "QakBot",
    "Emotet",
    "Dridex",
    "TrickBot",
    "Pikabot",
    "BumbleBee",
    "IcedID",
    "BazarLoader",
];

fn write_feeds(dir: &Path, ips: &[u32]) {
    let mut plain = String::with_capacity(ips.len() * 16);
    plain.push_str("# a million random IPv4 indicators\n");
    let mut feodo = String::with_capacity(ips.len() * 80);
    feodo.push_str(
        "# abuse.ch Feodo Tracker Botnet C2 IP Blocklist (CSV)\n\
         # \"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n",
    );
    let mut rng = Rng(7);
    for (i, ip) in ips.iter().enumerate() {
        let ip = Ipv4Addr::from(*ip);
        writeln!(plain, "{ip}").unwrap();
        // Every row first seen at its own second, as real exports are.
        let r = rng.next();
        let day = 1 + (r % 28);
        let month = 1 + ((r >> 8) % 12);
        writeln!(
            feodo,
            "\"2023-{month:02}-{day:02} {:02}:{:02}:{:02}\",\"{ip}\",\"{}\",\"{}\",\"2024-06-01\",\"{}\"",
            (r >> 16) % 24,
            (r >> 24) % 60,
            (r >> 32) % 60,
            [443, 8080, 2222, 995][(r >> 40) as usize % 4],
            if i % 3 == 0 { "online" } else { "offline" },
            FAMILIES[(r >> 48) as usize % FAMILIES.len()],
        )
        .unwrap();
    }
    std::fs::write(dir.join("plain.txt"), plain).unwrap();
    std::fs::write(dir.join("feodo.csv"), feodo).unwrap();
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Builds the transform over one feed; prints the load time and the heap
/// it keeps.
fn load(path: &Path, format: &str, what: &str) -> ThreatIntel {
    let props = HashMap::from([
        ("sources".to_string(), format!("file:{}", path.display())),
        ("format".to_string(), format.to_string()),
    ]);
    let before = GLOBAL.allocated();
    let start = Instant::now();
    let t = ThreatIntel::new(&props).unwrap();
    let elapsed = start.elapsed();
    let heap = GLOBAL.allocated().saturating_sub(before);
    let n = t.indicators();
    println!(
        "  {what:<28} {n:>9} indicators  load {:>6.0} ms  heap {:>6.1} MiB = {:>5.1} bytes/indicator",
        elapsed.as_secs_f64() * 1000.0,
        mib(heap),
        heap as f64 / n as f64
    );
    t
}

/// Runs `apply` over batches of clones of `records` for the run time;
/// returns records/s over the best of `ROUNDS`.
fn measure(records: &[ConnectRecord], mut apply: impl FnMut(&mut ConnectRecord)) -> f64 {
    let (_, run_for) = scale();
    let mut best = 0.0f64;
    let mut next = 0;
    for _ in 0..ROUNDS {
        let mut timed = Duration::ZERO;
        let mut done = 0u64;
        while timed < run_for {
            let mut batch: Vec<ConnectRecord> = (0..BATCH)
                .map(|k| records[(next + k) % records.len()].clone())
                .collect();
            next = (next + BATCH) % records.len();
            let start = Instant::now();
            for record in &mut batch {
                apply(record);
            }
            timed += start.elapsed();
            done += BATCH as u64;
            drop(black_box(batch));
        }
        best = best.max(done as f64 / timed.as_secs_f64());
    }
    best
}

/// Raw syslog lines as a source hands them over: firewall drops and sshd
/// logins from random addresses, sudo without one. Every hundredth line
/// comes from a listed address.
fn raw_lines(listed: &[u32], rng: &mut Rng) -> Vec<ConnectRecord> {
    (0..4096)
        .map(|i| {
            let src = if i % 100 == 0 {
                Ipv4Addr::from(listed[(rng.next() as usize) % listed.len()])
            } else {
                Ipv4Addr::from(rng.ip())
            };
            let line = match i % 4 {
                0 | 1 => format!(
                    "Dec 7 10:00:01 gw kernel: [12345.678901] DROP IN=eth0 OUT= \
                     MAC=00:11:22:33:44:55:66:77:88:99:aa:bb:08:00 SRC={src} DST=10.0.0.5 LEN=60 \
                     TOS=0x00 PREC=0x00 TTL=49 ID=54321 DF PROTO=TCP SPT={} DPT=22 WINDOW=29200 \
                     RES=0x00 SYN URGP=0",
                    1024 + i
                ),
                2 => format!(
                    "Dec 10 07:07:38 LabSZ sshd[24206]: Failed password for invalid user test9 \
                     from {src} port {} ssh2",
                    1024 + i
                ),
                _ => "Dec 7 10:00:00 web01 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; \
                      USER=root ; COMMAND=/bin/cat /etc/shadow"
                    .to_string(),
            };
            ConnectRecord {
                topic: "syslog".to_string(),
                value: Value::String(line),
                ..Default::default()
            }
        })
        .collect()
}

fn chain(aliases: &str, feed: &Path) -> TransformationChain {
    let config = HashMap::from(
        [
            ("transforms", aliases.to_string()),
            (
                "transforms.p.type",
                "io.rampart.transforms.Parse".to_string(),
            ),
            (
                "transforms.ecs.type",
                "io.rampart.transforms.Normalize".to_string(),
            ),
            (
                "transforms.ti.type",
                "io.rampart.transforms.ThreatIntel".to_string(),
            ),
            ("transforms.ti.sources", format!("file:{}", feed.display())),
            ("transforms.ti.format", "plain".to_string()),
        ]
        .map(|(k, v)| (k.to_string(), v)),
    );
    let plugins = TransformPlugins::builtin().with(
        rampart_security::transforms(),
        rampart_security::predicates(),
    );
    TransformationChain::from_config_in(&config, &plugins).unwrap()
}

fn main() {
    let (n, _) = scale();
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let ips: Vec<u32> = (0..n).map(|_| rng.ip()).collect();
    write_feeds(dir.path(), &ips);
    let plain = dir.path().join("plain.txt");
    let feodo = dir.path().join("feodo.csv");
    println!("ThreatIntel, {n} random IPv4 indicators");

    // Loading and memory: the plain list's transform is kept for the
    // record benchmarks; the Feodo one is measured, then dropped.
    let intel = load(&plain, "plain", "plain list (transform)");
    drop(load(&feodo, "feodo", "Feodo Tracker CSV (transform)"));
    let body = std::fs::read(&plain).unwrap();
    let start = Instant::now();
    let mut builder = SetBuilder::new(0, 0, None);
    parse_feed(Format::Plain, &body, "plain", &mut builder).unwrap();
    let (set, _) = builder.finish();
    println!(
        "  plain list (parse + build only) {:>5} indicators  {:>6.0} ms",
        set.len(),
        start.elapsed().as_secs_f64() * 1000.0
    );
    drop(body);

    // Lookups, in random order over the whole table (cache misses included).
    let listed: HashSet<u32> = ips.iter().copied().collect();
    let hits: Vec<IpAddr> = (0..n)
        .map(|_| IpAddr::V4(ips[(rng.next() as usize) % ips.len()].into()))
        .collect();
    let misses: Vec<IpAddr> = std::iter::repeat_with(|| rng.ip())
        .filter(|ip| !listed.contains(ip))
        .take(n)
        .map(|ip| IpAddr::V4(ip.into()))
        .collect();
    let clock = rampart_security::intel::system_clock();
    for (what, keys, expect_hits) in [("hits", &hits, true), ("misses", &misses, false)] {
        let mut best = f64::MAX;
        for _ in 0..ROUNDS {
            let start = Instant::now();
            let mut found = 0usize;
            for ip in keys.iter() {
                let mut now = Now::new(&*clock);
                found += usize::from(set.lookup_ip(black_box(*ip), &mut now).is_some());
            }
            let ns = start.elapsed().as_secs_f64() * 1e9 / keys.len() as f64;
            assert_eq!(found == keys.len(), expect_hits);
            assert!(expect_hits || found == 0);
            best = best.min(ns);
        }
        println!(
            "  IPv4 lookup, {what:<6}             {:>10.0} lookups/s  {best:>6.1} ns/lookup",
            1e9 / best
        );
    }
    drop(set);

    // Records: what Parse and Normalize make of raw lines, then enriched.
    let raw = raw_lines(&ips, &mut rng);
    let parse_ecs = chain("p,ecs", &plain);
    let ecs: Vec<ConnectRecord> = raw
        .iter()
        .map(|r| parse_ecs.apply(r.clone()).unwrap().unwrap())
        .collect();
    let enriched = ecs
        .iter()
        .filter(|r| {
            let mut r = (*r).clone();
            intel.apply_in_place(&mut r).unwrap();
            rampart_security::fields::get(&r.value, "threat.enrichments").is_some()
        })
        .count();
    println!(
        "  records: {} ECS records (iptables, sshd, sudo), {:.1}% enriched",
        ecs.len(),
        100.0 * enriched as f64 / ecs.len() as f64
    );
    let misses_only: Vec<ConnectRecord> = ecs
        .iter()
        .filter(|r| {
            let mut r = (*r).clone();
            intel.apply_in_place(&mut r).unwrap();
            rampart_security::fields::get(&r.value, "threat.enrichments").is_none()
        })
        .cloned()
        .collect();
    let rate = measure(&misses_only, |r| {
        black_box(intel.apply_in_place(r).unwrap());
    });
    println!(
        "  ThreatIntel, no hits               {:>10.0} records/s  {:>6.0} ns/record",
        rate,
        1e9 / rate
    );
    // The same records against a one-line list: what reading the fields
    // costs, without the table's cache misses.
    let one = dir.path().join("one.txt");
    std::fs::write(&one, "192.0.2.1\n").unwrap();
    let small = ThreatIntel::new(&HashMap::from([(
        "sources".to_string(),
        format!("file:{}", one.display()),
    )]))
    .unwrap();
    let rate = measure(&misses_only, |r| {
        black_box(small.apply_in_place(r).unwrap());
    });
    println!(
        "  ThreatIntel, no hits, 1 indicator  {:>10.0} records/s  {:>6.0} ns/record",
        rate,
        1e9 / rate
    );
    let rate = measure(&ecs, |r| {
        black_box(intel.apply_in_place(r).unwrap());
    });
    println!(
        "  ThreatIntel, 1% of records hit     {:>10.0} records/s  {:>6.0} ns/record",
        rate,
        1e9 / rate
    );
    let base = measure(&raw, |r| {
        black_box(parse_ecs.apply_traced(std::mem::take(r)).unwrap());
    });
    println!(
        "  Parse → Normalize                  {:>10.0} records/s  {:>6.0} ns/record",
        base,
        1e9 / base
    );
    let full = chain("p,ecs,ti", &plain);
    let rate = measure(&raw, |r| {
        black_box(full.apply_traced(std::mem::take(r)).unwrap());
    });
    println!(
        "  Parse → Normalize → ThreatIntel    {:>10.0} records/s  {:>6.0} ns/record",
        rate,
        1e9 / rate
    );
}
