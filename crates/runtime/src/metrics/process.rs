//! Process metrics under the Prometheus client libraries' names
//! (`process_cpu_seconds_total`, `process_resident_memory_bytes`,
//! `process_open_fds`…), read from `/proc/self`. Where `/proc` is missing
//! (not Linux) the series are left out rather than reported as zero.

use super::exposition::{Exposition, Kind};

// Linux reports CPU times in USER_HZ ticks, fixed at 100 for userspace.
const TICKS_PER_SECOND: f64 = 100.0;

pub(super) fn render(out: &mut Exposition) {
    if let Some(stat) = read_stat() {
        out.sample(
            "process_cpu_seconds_total",
            Kind::Counter,
            &[],
            stat.cpu_ticks as f64 / TICKS_PER_SECOND,
        );
        out.sample(
            "process_virtual_memory_bytes",
            Kind::Gauge,
            &[],
            stat.virtual_bytes as f64,
        );
        if let Some(boot) = boot_time() {
            out.sample(
                "process_start_time_seconds",
                Kind::Gauge,
                &[],
                boot + stat.start_ticks as f64 / TICKS_PER_SECOND,
            );
        }
    }
    if let Some(rss) = resident_bytes() {
        out.sample(
            "process_resident_memory_bytes",
            Kind::Gauge,
            &[],
            rss as f64,
        );
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        out.sample("process_open_fds", Kind::Gauge, &[], fds.count() as f64);
    }
    if let Some(max) = max_fds() {
        out.sample("process_max_fds", Kind::Gauge, &[], max);
    }
}

struct Stat {
    cpu_ticks: u64,
    start_ticks: u64,
    virtual_bytes: u64,
}

fn read_stat() -> Option<Stat> {
    parse_stat(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

// The command name (field 2) may hold spaces and parentheses: fields are
// counted from the last `)`.
fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state); utime is field 14, stime 15,
    // starttime 22, vsize 23.
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(Stat {
        cpu_ticks: field(14)? + field(15)?,
        start_ticks: field(22)?,
        virtual_bytes: field(23)?,
    })
}

fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn boot_time() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("btime "))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn max_fds() -> Option<f64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_name_with_spaces_and_parentheses_is_skipped() {
        let text = "42 (rampart (w) 1) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 1234 987654 300 18446744073709551615";
        let stat = parse_stat(text).unwrap();
        assert_eq!(stat.cpu_ticks, 300);
        assert_eq!(stat.start_ticks, 1234);
        assert_eq!(stat.virtual_bytes, 987654);
    }

    #[test]
    fn this_process_reports_cpu_memory_and_descriptors() {
        let mut out = Exposition::default();
        render(&mut out);
        for name in [
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "process_open_fds",
        ] {
            assert!(out.has(name), "{name} missing");
        }
    }
}
