//! What the detect and chain benchmarks share: the 50 Sigma rules.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Writes 50 rules into `dir`: the 8 of `testdata/sigma/rules` (the
/// brute-force correlation among them) and 42 generated ones.
pub fn fifty_rules(dir: &Path) {
    let ours = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/sigma/rules");
    for entry in walk(&ours) {
        let name = entry.file_name().unwrap();
        std::fs::copy(&entry, dir.join(name)).unwrap();
    }
    generated_rules(dir);
}

/// 42 rules over the fields the records carry, none of which the records
/// below match: most rules, most of the time, do not.
fn generated_rules(dir: &Path) {
    let tools = [
        "mimikatz",
        "lazagne",
        "procdump",
        "rubeus",
        "sharphound",
        "bloodhound",
        "nc -e",
        "socat exec",
        "chisel",
        "ngrok",
    ];
    let mut n = 0;
    let mut write = |title: String, detection: String, level: &str| {
        n += 1;
        let yaml = format!(
            "title: {title}\nid: 00000000-0000-4000-8000-{n:012}\nstatus: test\n\
             logsource:\n    product: linux\ndetection:\n{detection}level: {level}\n\
             tags:\n    - attack.execution\n"
        );
        std::fs::write(dir.join(format!("generated_{n:02}.yml")), yaml).unwrap();
    };
    for tool in tools {
        write(
            format!("Tool {tool} on a command line"),
            format!(
                "    selection:\n        process.command_line|contains: '{tool}'\n    \
                 condition: selection\n"
            ),
            "high",
        );
    }
    for (i, prefix) in [
        "Accepted keyboard-interactive",
        "Received disconnect",
        "error: kex_exchange",
        "Bad protocol version",
        "Unable to negotiate",
        "maximum authentication attempts",
        "PAM service(sshd) ignoring",
        "Disconnecting invalid user",
    ]
    .iter()
    .enumerate()
    {
        write(
            format!("sshd message {i}"),
            format!(
                "    selection:\n        process.name: sshd\n        message|startswith: '{prefix}'\n    \
                 condition: selection\n"
            ),
            "low",
        );
    }
    for (i, suffix) in [
        "/nmap",
        "/masscan",
        "/hydra",
        "/john",
        "/hashcat",
        "/tcpdump",
        "/xmrig",
        "/kworkerds",
    ]
    .iter()
    .enumerate()
    {
        write(
            format!("Executable {i}"),
            format!(
                "    selection:\n        process.executable|endswith: '{suffix}'\n    \
                 filter:\n        user.name: root\n    condition: selection and not filter\n"
            ),
            "medium",
        );
    }
    for (i, pattern) in [
        r"(?:/dev/tcp|/dev/udp)/\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}/\d+",
        r"chmod\s+[0-7]*[1357]\s+/tmp/",
        r"crontab\s+-r",
        r"history\s+-c",
        r"rm\s+-rf\s+/var/log",
        r"python[23]?\s+-c\s+.import\s+pty",
        r"useradd\s+.*-o\s+-u\s*0",
        r"iptables\s+-F",
    ]
    .iter()
    .enumerate()
    {
        write(
            format!("Command pattern {i}"),
            format!(
                "    selection:\n        process.command_line|re: '{pattern}'\n    \
                 condition: selection\n"
            ),
            "high",
        );
    }
    for (i, net) in [
        "185.220.100.0/22",
        "45.155.205.0/24",
        "193.32.162.0/24",
        "91.240.118.0/24",
        "2a0e:fd87::/32",
        "5.188.206.0/24",
        "141.98.10.0/24",
        "198.51.100.0/24",
    ]
    .iter()
    .enumerate()
    {
        let mut detection = String::new();
        let _ = write!(
            detection,
            "    selection:\n        event.category: authentication\n        \
             source.ip|cidr: '{net}'\n    condition: selection\n"
        );
        write(
            format!("Login from listed network {i}"),
            detection,
            "medium",
        );
    }
    assert_eq!(n, 42);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
