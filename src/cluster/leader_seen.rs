//! When a running node last knew itself current with its leader, kept in
//! DIR/raft/leader-contact (format/leader_contact.rs) for backups of the node's dir: a backup
//! holds the node's committed state, which trails the leader by what the leader committed
//! since then.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use openraft::{Raft, ServerState};

use super::TypeConfig;
use crate::format::leader_contact::{self, LeaderContact};

/// How often the file is brought up to date: the lag a backup reports is this much coarse.
const WRITE_INTERVAL: Duration = Duration::from_millis(100);

/// A follower's last accepted append or heartbeat from its leader.
#[derive(Debug, Default)]
pub struct LeaderSeen {
    last: Mutex<Option<LeaderContact>>,
}

impl LeaderSeen {
    /// An append (or heartbeat) from `leader` of `term`, whose commit index was
    /// `leader_committed`, was accepted: this node holds the leader's log up to it.
    pub fn accepted(&self, leader: u64, term: u64, leader_committed: u64) {
        *self.lock() = Some(LeaderContact {
            leader,
            term,
            at_unix_ms: unix_ms(SystemTime::now()),
            leader_committed,
        });
    }

    fn last(&self) -> Option<LeaderContact> {
        *self.lock()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<LeaderContact>> {
        self.last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The contact to record now: a leader's last quorum acknowledgement (it is current as of
/// then: a leader deposed without knowing it is not), else a follower's last accepted append.
fn current(raft: &Raft<TypeConfig>, seen: &LeaderSeen) -> Option<LeaderContact> {
    let m = raft.metrics().borrow().clone();
    if m.state == ServerState::Leader {
        let acked = m.millis_since_quorum_ack?;
        let at = SystemTime::now().checked_sub(Duration::from_millis(acked))?;
        return Some(LeaderContact {
            leader: m.id,
            term: m.current_term,
            at_unix_ms: unix_ms(at),
            leader_committed: m.last_applied.map_or(0, |l| l.index),
        });
    }
    seen.last()
}

/// Writes DIR/raft/leader-contact each interval in which the contact moved on. Failures are
/// left to the next tick: the file is advisory, and the node's work must not wait on it.
pub async fn keep_file(raft: Raft<TypeConfig>, seen: Arc<LeaderSeen>, raft_dir: PathBuf) {
    let mut tick = tokio::time::interval(WRITE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut written: Option<LeaderContact> = None;
    loop {
        tick.tick().await;
        let Some(now) = current(&raft, &seen) else {
            continue;
        };
        if written == Some(now) {
            continue;
        }
        let dir = raft_dir.clone();
        let done = tokio::task::spawn_blocking(move || leader_contact::write(&dir, &now)).await;
        match done {
            Ok(Ok(())) => written = Some(now),
            Ok(Err(_)) => {}
            Err(_) => return,
        }
    }
}
