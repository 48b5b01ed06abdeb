//! A TCP proxy between the worker and a sink's peer that plays the peer's
//! failures: passing bytes both ways, refusing connections as a stopped
//! server does, or answering every HTTP request 503 as an overloaded one
//! (or a load balancer with no healthy backend) does. Each change of mode
//! cuts the connections open at the time, as a restart or failover does.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// What the peer does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Bytes go through to the real peer.
    Pass,
    /// Nothing listens: connections are refused.
    Refuse,
    /// Every request is answered `503 Service Unavailable`.
    Unavailable,
}

/// The proxy, running until dropped.
pub struct FaultProxy {
    /// Where the worker connects.
    pub url: String,
    mode: watch::Sender<Mode>,
    unavailable_answers: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
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
        }
    }

    /// Switches the mode, cutting open connections.
    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
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
    loop {
        let mode = *modes.borrow_and_update();
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
        // Dropped (aborting every connection) when the mode changes.
        let mut connections = JoinSet::new();
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
                        Mode::Pass => connections.spawn(splice(peer, upstream)),
                        _ => connections.spawn(answer_503(peer, answered.clone())),
                    };
                }
            }
        }
        if *modes.borrow() != Mode::Refuse {
            listener = Some(l);
        }
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

async fn splice(mut peer: TcpStream, upstream: SocketAddr) {
    if let Ok(mut up) = TcpStream::connect(upstream).await {
        let _ = tokio::io::copy_bidirectional(&mut peer, &mut up).await;
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
