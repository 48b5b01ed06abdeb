//! Parsing throughput on one core: loghub RFC 3164 lines and RFC 5424 lines,
//! each set parsed in a loop for about a second.
//!
//! `cargo bench -p rampart-connector-syslog --bench parse`

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use rampart_connector_syslog::parse::framing::{FrameDecoder, FramingConfig};
use rampart_connector_syslog::parse::{parse, ParseOptions};
use rampart_connector_syslog::record::{to_struct, Received};

fn lines(file: &str) -> Vec<Vec<u8>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/loghub")
        .join(file);
    let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// ~200-byte RFC 5424 lines: the loghub OpenSSH lines re-wrapped with a
/// full header and structured data.
fn rfc5424_lines() -> Vec<Vec<u8>> {
    lines("OpenSSH_200.log")
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let msg = l.splitn(5, |&b| b == b' ').nth(4).unwrap_or_default();
            let mut out = format!(
                "<38>1 2026-11-26T12:{:02}:{:02}.{:06}+01:00 labsz.example.com sshd {} - [origin ip=\"10.0.0.{}\" software=\"openssh\"] ",
                i % 60,
                (i * 7) % 60,
                i * 1013,
                24000 + i,
                i % 250
            )
            .into_bytes();
            out.extend_from_slice(msg);
            out
        })
        .collect()
}

/// Runs `f` over `lines` until the time budget is spent; `per_line` is the
/// number of messages one call handles.
fn measure(name: &str, lines: &[Vec<u8>], per_line: usize, mut f: impl FnMut(&[u8])) {
    let budget = if cfg!(debug_assertions) {
        Duration::from_millis(100)
    } else {
        Duration::from_millis(1500)
    };
    let bytes_per_round: usize = lines.iter().map(Vec::len).sum();
    let start = Instant::now();
    let mut rounds = 0u64;
    while start.elapsed() < budget {
        for l in lines {
            f(l);
        }
        rounds += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    let messages = rounds as f64 * (lines.len() * per_line) as f64;
    let mb = rounds as f64 * bytes_per_round as f64 / 1e6;
    println!(
        "{name:<34} {:>12.0} msgs/s {:>8.1} MB/s  (avg {} bytes/line)",
        messages / secs,
        mb / secs,
        bytes_per_round / (lines.len() * per_line).max(1)
    );
}

fn main() {
    let received = Utc
        .with_ymd_and_hms(2026, 11, 26, 12, 0, 0)
        .single()
        .unwrap_or_default();
    let options = ParseOptions::default();
    let ssh = lines("OpenSSH_200.log");
    let linux = lines("Linux_200.log");
    let rfc5424 = rfc5424_lines();

    for (name, set) in [
        ("parse rfc3164 (loghub OpenSSH)", &ssh),
        ("parse rfc3164 (loghub Linux)", &linux),
        ("parse rfc5424", &rfc5424),
    ] {
        measure(name, set, 1, |l| {
            let _ = black_box(parse(black_box(l), received, &options));
        });
    }

    let ctx = Received {
        at: received,
        remote: "10.0.0.1:514".parse().ok(),
    };
    measure("parse + Connect struct rfc5424", &rfc5424, 1, |l| {
        if let Ok(m) = parse(black_box(l), received, &options) {
            black_box(to_struct(&m, &ctx));
        }
    });

    let json = rampart_core::converter::converter_for(
        "org.apache.kafka.connect.json.JsonConverter",
        &[("schemas.enable".to_string(), "false".to_string())].into(),
        false,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let schema = Some(rampart_connector_syslog::record::value_schema());
    for (name, set) in [
        ("parse + struct + JSON rfc3164", &ssh),
        ("parse + struct + JSON rfc5424", &rfc5424),
    ] {
        measure(name, set, 1, |l| {
            if let Ok(m) = parse(black_box(l), received, &options) {
                let v = rampart_core::data::Value::Struct(to_struct(&m, &ctx));
                black_box(json.from_connect("t", schema.as_ref(), &v).ok());
            }
        });
    }

    // Framing: the RFC 5424 lines in one stream, octet-counted and LF-ended.
    let mut stream = Vec::new();
    let mut lf_stream = Vec::new();
    for l in &rfc5424 {
        stream.extend_from_slice(format!("{} ", l.len()).as_bytes());
        stream.extend_from_slice(l);
        lf_stream.extend_from_slice(l);
        lf_stream.push(b'\n');
    }
    measure("frame LF", &[lf_stream], rfc5424.len(), |buf| {
        let mut d = FrameDecoder::new(FramingConfig::default());
        black_box(d.decode_all(buf, |_, m| {
            black_box(m);
        }));
    });
    measure("frame octet-counted", &[stream], rfc5424.len(), |buf| {
        let mut d = FrameDecoder::new(FramingConfig::default());
        black_box(d.decode_all(buf, |_, m| {
            black_box(m);
        }));
    });
}
