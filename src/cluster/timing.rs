//! Heartbeat and election timing, which the node, its election driver and its peer watch
//! all go by.

use std::time::Duration;

/// Heartbeat and election timing. Safety never depends on it; only how fast a dead leader
/// is replaced does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub heartbeat: Duration,
    pub election_min: Duration,
    pub election_max: Duration,
}

impl Timing {
    /// Heartbeat 500 ms, election timeout 1.5-2 s: a follower stands once its dead leader's
    /// lease (2 s) is over, plus a jitter of up to 0.5 s (see election.rs).
    pub const DEFAULT: Timing = Timing {
        heartbeat: Duration::from_millis(500),
        election_min: Duration::from_millis(1500),
        election_max: Duration::from_millis(2000),
    };
    /// For tests on loopback.
    pub const FAST: Timing = Timing {
        heartbeat: Duration::from_millis(50),
        election_min: Duration::from_millis(300),
        election_max: Duration::from_millis(600),
    };

    /// How long a write or read barrier waits for its quorum before the client is told: long
    /// enough for a leader change to finish (a new leader's first round commits it), short
    /// enough that a client of a leader cut off from its quorum is not left hanging.
    pub fn client_timeout(&self) -> Duration {
        self.election_max * 3
    }
}
