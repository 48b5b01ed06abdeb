//! The wait after a failed `accept`, shared by every listener (syslog, REST
//! over TLS). The usual causes (out of file descriptors, out of memory)
//! last a while, and the listening socket stays readable while they do:
//! retrying at once would spin a core and flood the log.

use std::time::Duration;

/// The first wait after a failure.
pub const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
/// The longest wait: a listener takes connections again within a second
/// of the cause going away.
pub const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Doubling waits between failed accepts, reset by a successful one.
#[derive(Debug, Default)]
pub struct AcceptBackoff {
    delay: Duration,
}

impl AcceptBackoff {
    /// An accept succeeded: the next failure waits the least again.
    pub fn accepted(&mut self) {
        self.delay = Duration::ZERO;
    }

    /// An accept failed: how long to wait before the next.
    pub fn failed(&mut self) -> Duration {
        self.delay = (self.delay * 2).clamp(ACCEPT_BACKOFF_MIN, ACCEPT_BACKOFF_MAX);
        self.delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_a_second_and_reset_on_success() {
        let mut b = AcceptBackoff::default();
        let waits: Vec<u64> = (0..9).map(|_| b.failed().as_millis() as u64).collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        b.accepted();
        assert_eq!(b.failed(), ACCEPT_BACKOFF_MIN);
    }
}
