//! When a voter stands for election. openraft 0.9 draws one election timeout per process and
//! checks it once per tick (1.5 heartbeats), so two followers of a dead leader that started
//! together stand in the same tick, split the vote, and do it again with the same timeouts:
//! `bench cluster` saw a 15 s failover that way. Its timer is off (`enable_elect: false`) and
//! this task decides instead, with a fresh random delay for every attempt.
//!
//! Before standing, a pre-vote (Raft thesis §9.6): the node asks the other voters whether
//! they would vote for it, and stands only when a majority would. A node that cannot win (its
//! log is behind, or the others still hear from a leader: a leader that was paused and woke
//! up, a node that was cut off) would otherwise raise the term, make the leader step down
//! and cost the cluster an election, again and again.
//!
//! Timing only: a vote is still granted or refused by openraft, so an election started too
//! early is refused (a voter still in its leader's lease says no), never unsafe.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openraft::{Raft, ServerState};
use rand::Rng;

use super::network::Network;
use super::timing::Timing;
use super::{ClusterNode, LogStore, NodeId, NodeStats, TypeConfig};

/// When this node last heard from a leader it accepted, or granted a vote.
#[derive(Debug, Default)]
pub struct Contact {
    last: Mutex<Option<Instant>>,
}

impl Contact {
    pub fn touch(&self) {
        *self.lock() = Some(Instant::now());
    }

    pub fn last(&self) -> Option<Instant> {
        *self.lock()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// How often the task looks: fine next to the timeouts, so no tick rounds them off.
const POLL: Duration = Duration::from_millis(10);

/// How long to wait after `base` before standing. After contact with a leader, its lease
/// first (openraft's voters refuse while it lasts: the election timeout's maximum), plus a
/// jitter as wide as the timeout's range; after an attempt of this node's own, a full random
/// election timeout.
fn wait_after(timing: Timing, after_own_attempt: bool) -> Duration {
    let spread = timing.election_max.saturating_sub(timing.election_min);
    let jitter = Duration::from_micros(rand::rng().random_range(0..=spread.as_micros() as u64));
    if after_own_attempt {
        timing.election_min + jitter
    } else {
        timing.election_max + jitter
    }
}

/// Whether a majority of the voters, this node included, would vote for it now (see
/// [`PeerRequest::PreVote`](super::wire::PeerRequest::PreVote)).
async fn pre_vote_won(
    raft: &Raft<TypeConfig>,
    network: &Network,
    log: &LogStore,
    timing: Timing,
) -> bool {
    let me = network.me.node_id;
    let peers: Vec<(NodeId, ClusterNode)> = {
        let m = raft.metrics().borrow().clone();
        let membership = m.membership_config.membership();
        let voters: Vec<NodeId> = membership.voter_ids().collect();
        membership
            .nodes()
            .filter(|(id, _)| **id != me && voters.contains(id))
            .map(|(id, n)| (*id, n.clone()))
            .collect()
    };
    let last_log = log.last_log_id();
    let timeout = timing.election_min / 3;
    let mut asks = tokio::task::JoinSet::new();
    for (id, node) in peers.iter().cloned() {
        let network = network.clone();
        asks.spawn(async move { network.pre_vote(id, &node, last_log, timeout).await });
    }
    let voters = peers.len() + 1;
    let mut yes = 1;
    // Done once a majority said yes: a paused peer would hold the answer back by `timeout`.
    while yes * 2 <= voters {
        match asks.join_next().await {
            Some(granted) => yes += usize::from(granted.unwrap_or(false)),
            None => return false,
        }
    }
    true
}

pub async fn drive(
    raft: Raft<TypeConfig>,
    contact: Arc<Contact>,
    stats: Arc<NodeStats>,
    timing: Timing,
    network: Network,
    log: LogStore,
) {
    let me = network.me.node_id;
    let started = Instant::now();
    let mut last_attempt: Option<Instant> = None;
    // (the instant the wait counts from, when it is due)
    let mut due: Option<(Instant, Instant)> = None;
    loop {
        tokio::time::sleep(POLL).await;
        let (state, voters) = {
            let m = raft.metrics().borrow().clone();
            let voters: Vec<NodeId> = m.membership_config.membership().voter_ids().collect();
            (m.state, voters)
        };
        if state == ServerState::Leader || state == ServerState::Shutdown || !voters.contains(&me) {
            due = None;
            continue;
        }
        let last_contact = contact.last();
        let base = last_contact.max(last_attempt).unwrap_or(started);
        let own_attempt_last = last_attempt.is_some() && last_attempt >= last_contact;
        if voters.len() == 1 {
            // The only voter needs nobody's vote: stand at once (again if it did not take).
            if last_attempt.is_none_or(|t| t.elapsed() >= timing.election_min) {
                last_attempt = Some(Instant::now());
                stats.elections_started.fetch_add(1, Ordering::Relaxed);
                let _ = raft.trigger().elect().await;
            }
            continue;
        }
        let when = match due {
            Some((b, when)) if b == base => when,
            _ => {
                let when = base + wait_after(timing, own_attempt_last);
                due = Some((base, when));
                when
            }
        };
        if Instant::now() >= when {
            last_attempt = Some(Instant::now());
            due = None;
            let asked = Instant::now();
            if !pre_vote_won(&raft, &network, &log, timing).await {
                continue;
            }
            // Another node may have won while this one asked (the peers said yes before
            // it led): its first append would be here by now. Standing anyway would unseat it.
            if contact.last().is_some_and(|t| t >= asked) {
                continue;
            }
            stats.elections_started.fetch_add(1, Ordering::Relaxed);
            if raft.trigger().elect().await.is_err() {
                return;
            }
        }
    }
}

#[test]
fn waits_cover_the_lease_then_vary() {
    let t = Timing::DEFAULT;
    for _ in 0..100 {
        let after_leader = wait_after(t, false);
        assert!(
            after_leader >= t.election_max && after_leader <= t.election_max * 2 - t.election_min
        );
        let after_own = wait_after(t, true);
        assert!(after_own >= t.election_min && after_own <= t.election_max);
    }
    let draws: std::collections::BTreeSet<Duration> =
        (0..20).map(|_| wait_after(t, true)).collect();
    assert!(draws.len() > 10, "every attempt draws a new delay");
}
