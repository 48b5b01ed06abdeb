//! A TCP proxy between the worker and a sink's peer that plays the peer's
//! failures and the network's: passing bytes both ways, refusing
//! connections as a stopped server does, answering every HTTP request 503
//! as an overloaded one (or a load balancer with no healthy backend) does,
//! a slow and lossy path, and a partition.
//!
//! Loss and partitions are the kernel's where it lets us: iptables rules on
//! the proxy's port drop a random 5% of the segments (`statistic`), or all
//! of them, so TCP itself retransmits and backs off. `tc netem` cannot run
//! on this kernel (no `sch_netem`), so the delay is always played here, and
//! so are loss and partitions where iptables cannot be used (not root, no
//! netfilter): a lost segment then waits Linux's least retransmission
//! timeout. [`FaultProxy::network`] says which.
//!
//! Refusing and 503s cut the connections open at the time, as a restart or
//! failover does; slowness and a partition leave them open, and a healed
//! partition lets their bytes through again.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// What the peer, or the network before it, does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Bytes go through to the real peer.
    Pass,
    /// Nothing listens: connections are refused.
    Refuse,
    /// Every request is answered `503 Service Unavailable`.
    Unavailable,
    /// Every chunk waits `delay`; `loss_percent` of them also wait a
    /// retransmission timeout (200 ms, Linux's least), as a lost segment does.
    Slow {
        /// One-way delay per chunk.
        delay: Duration,
        /// Chunks lost and sent again, in percent.
        loss_percent: u32,
    },
    /// Nothing gets through either way; connections stay open.
    Partition,
}

impl Mode {
    /// Whether connections survive the switch to this mode.
    fn keeps_connections(self) -> bool {
        matches!(self, Mode::Pass | Mode::Slow { .. } | Mode::Partition)
    }
}

/// Linux's minimum retransmission timeout.
const RTO: Duration = Duration::from_millis(200);

/// The proxy, running until dropped.
pub struct FaultProxy {
    /// Where the worker connects.
    pub url: String,
    mode: watch::Sender<Mode>,
    unavailable_answers: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
    netfilter: Option<Netfilter>,
}

/// iptables rules dropping segments to and from one loopback port, in
/// place of `tc netem`'s loss.
struct Netfilter {
    port: u16,
    installed: std::sync::Mutex<Vec<Vec<String>>>,
}

fn iptables(action: &str, rule: &[String]) -> bool {
    std::process::Command::new("iptables")
        .arg("-w")
        .arg(action)
        .args(rule)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Netfilter {
    /// Rules on `port`, if this process may add them.
    fn usable(port: u16) -> Option<Netfilter> {
        let n = Netfilter {
            port,
            installed: std::sync::Mutex::default(),
        };
        // A rule that matches nothing, added and removed: proves root,
        // the binary and the kernel's `statistic` match all work.
        let probe = n.rules(Some(0));
        if !probe.iter().all(|r| iptables("-I", r)) {
            return None;
        }
        probe.iter().all(|r| iptables("-D", r)).then_some(n)
    }

    /// The rules dropping `percent` of the segments either way (all of
    /// them for `None`).
    fn rules(&self, percent: Option<u32>) -> Vec<Vec<String>> {
        ["--dport", "--sport"]
            .iter()
            .map(|side| {
                let mut rule: Vec<String> = ["INPUT", "-i", "lo", "-p", "tcp", side]
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
                rule.push(self.port.to_string());
                if let Some(p) = percent {
                    rule.extend(
                        ["-m", "statistic", "--mode", "random", "--probability"]
                            .iter()
                            .map(|s| s.to_string()),
                    );
                    rule.push(format!("{:.2}", f64::from(p) / 100.0));
                }
                rule.extend(["-j", "DROP"].iter().map(|s| s.to_string()));
                rule
            })
            .collect()
    }

    /// Replaces the installed rules with `rules`.
    fn set(&self, rules: Vec<Vec<String>>) {
        let mut installed = self.installed.lock().expect("rules");
        for r in installed.drain(..) {
            assert!(iptables("-D", &r), "iptables removes {r:?}");
        }
        for r in rules {
            assert!(iptables("-I", &r), "iptables adds {r:?}");
            installed.push(r);
        }
    }
}

impl Drop for Netfilter {
    fn drop(&mut self) {
        if let Ok(mut installed) = self.installed.lock() {
            for r in installed.drain(..) {
                iptables("-D", &r);
            }
        }
    }
}

impl FaultProxy {
    /// A proxy in [`Mode::Pass`] in front of `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> FaultProxy {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .expect("upstream is http://ip:port");
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("loopback bind");
        let port = listener.local_addr().expect("bound").port();
        let (mode, modes) = watch::channel(Mode::Pass);
        let unavailable_answers = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(run(
            listener,
            port,
            upstream,
            modes,
            unavailable_answers.clone(),
        ));
        FaultProxy {
            url: format!("http://127.0.0.1:{port}"),
            mode,
            unavailable_answers,
            task,
            netfilter: Netfilter::usable(port),
        }
    }

    /// Who drops segments for [`Mode::Slow`]'s loss and [`Mode::Partition`].
    pub fn network(&self) -> &'static str {
        if self.netfilter.is_some() {
            "loss and partition by the kernel (iptables)"
        } else {
            "loss and partition played in user space"
        }
    }

    /// Switches the mode, cutting open connections.
    pub fn set(&self, mode: Mode) {
        let played = match &self.netfilter {
            None => mode,
            Some(kernel) => match mode {
                Mode::Slow {
                    delay,
                    loss_percent,
                } => {
                    kernel.set(kernel.rules(Some(loss_percent)));
                    Mode::Slow {
                        delay,
                        loss_percent: 0,
                    }
                }
                Mode::Partition => {
                    kernel.set(kernel.rules(None));
                    Mode::Pass
                }
                other => {
                    kernel.set(Vec::new());
                    other
                }
            },
        };
        self.mode.send_replace(played);
    }

    /// Requests answered 503 so far.
    pub fn unavailable_answers(&self) -> u64 {
        self.unavailable_answers.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run(
    first: TcpListener,
    port: u16,
    upstream: SocketAddr,
    mut modes: watch::Receiver<Mode>,
    answered: Arc<AtomicU64>,
) {
    let mut listener = Some(first);
    let mut connections = JoinSet::new();
    let mut was = Mode::Pass;
    loop {
        let mode = *modes.borrow_and_update();
        if !(mode.keeps_connections() && was.keeps_connections()) {
            // Dropping the set aborts every connection.
            connections = JoinSet::new();
        }
        was = mode;
        if mode == Mode::Refuse {
            // Closing the listener is what makes the kernel refuse.
            listener = None;
            if modes.changed().await.is_err() {
                return;
            }
            continue;
        }
        let l = match listener.take() {
            Some(l) => l,
            None => rebind(port).await,
        };
        loop {
            tokio::select! {
                changed = modes.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    break;
                }
                accepted = l.accept() => {
                    let Ok((peer, _)) = accepted else { continue };
                    match mode {
                        Mode::Unavailable => connections.spawn(answer_503(peer, answered.clone())),
                        _ => connections.spawn(splice(peer, upstream, modes.clone())),
                    };
                }
            }
        }
        listener = Some(l);
    }
}

/// Binds the proxy's port again after an outage. The port was this
/// proxy's, so only lingering sockets can hold it, briefly.
async fn rebind(port: u16) -> TcpListener {
    let mut delay = tokio::time::interval(Duration::from_millis(20));
    loop {
        if let Ok(l) = TcpListener::bind(("127.0.0.1", port)).await {
            return l;
        }
        delay.tick().await;
    }
}

async fn splice(peer: TcpStream, upstream: SocketAddr, modes: watch::Receiver<Mode>) {
    // A connection made during a partition gets nowhere until it heals.
    if !wait_out_partition(&mut modes.clone()).await {
        return;
    }
    let Ok(up) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut up_read, mut up_write) = up.into_split();
    let (mut peer_read, mut peer_write) = peer.into_split();
    tokio::select! {
        _ = pump(&mut peer_read, &mut up_write, modes.clone()) => {}
        _ = pump(&mut up_read, &mut peer_write, modes) => {}
    }
}

/// Waits while the mode is a partition; false if the proxy is gone or the
/// mode cuts connections.
async fn wait_out_partition(modes: &mut watch::Receiver<Mode>) -> bool {
    loop {
        let mode = *modes.borrow_and_update();
        if mode != Mode::Partition {
            return mode.keeps_connections();
        }
        if modes.changed().await.is_err() {
            return false;
        }
    }
}

/// Copies one direction chunk by chunk, each as the mode lets it through.
async fn pump(
    from: &mut tokio::net::tcp::OwnedReadHalf,
    to: &mut tokio::net::tcp::OwnedWriteHalf,
    mut modes: watch::Receiver<Mode>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut rng = fastrand::Rng::new();
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if !wait_out_partition(&mut modes).await {
            return;
        }
        let mode = *modes.borrow();
        if let Mode::Slow {
            delay,
            loss_percent,
        } = mode
        {
            let lost = rng.u32(0..100) < loss_percent;
            tokio::time::sleep(if lost { delay + RTO } else { delay }).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Reads one request (head and body), answers 503 and closes.
async fn answer_503(mut peer: TcpStream, answered: Arc<AtomicU64>) {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 1 << 20 {
            return;
        }
        match peer.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
    };
    // A client waiting for "100 Continue" sends no body: answer at once.
    let expects_continue = header("expect:").is_some_and(|v| v == "100-continue");
    if !expects_continue {
        let mut body = buf.len() - head_end;
        if let Some(length) = header("content-length:").and_then(|v| v.parse::<usize>().ok()) {
            while body < length {
                match peer.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => body += n,
                }
            }
        } else if header("transfer-encoding:").is_some_and(|v| v.contains("chunked")) {
            let mut tail = buf[head_end..].to_vec();
            while find(&tail, b"0\r\n\r\n").is_none() {
                match peer.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        tail.extend_from_slice(&chunk[..n]);
                        let keep = tail.len().saturating_sub(8);
                        tail.drain(..keep);
                    }
                }
            }
        }
    }
    answered.fetch_add(1, Ordering::SeqCst);
    let _ = peer
        .write_all(
            b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        )
        .await;
    let _ = peer.shutdown().await;
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
