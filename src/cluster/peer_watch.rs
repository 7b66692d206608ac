//! Tells the operator when a peer stops answering the leader and when it answers again: one
//! line each, in place of a line per failed call (openraft logs every failed heartbeat, 20 a
//! second on the fast timing; its log target is off by default).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openraft::{Raft, ServerState};

use super::node_log::NodeLog;
use super::timing::Timing;
use super::{NodeId, NodeStats, TypeConfig};

const POLL: Duration = Duration::from_millis(250);

/// Watches the peers' replies while this node leads (only a leader calls every peer all
/// the time). A peer is silent once it has not answered for an election timeout.
pub async fn watch(raft: Raft<TypeConfig>, stats: Arc<NodeStats>, timing: Timing, lines: NodeLog) {
    let mut silent: BTreeSet<NodeId> = BTreeSet::new();
    let mut leading_since: Option<Instant> = None;
    loop {
        tokio::time::sleep(POLL).await;
        let (state, me, peers) = {
            let m = raft.metrics().borrow().clone();
            let peers: Vec<NodeId> = m
                .membership_config
                .membership()
                .nodes()
                .map(|(id, _)| *id)
                .filter(|id| *id != m.id)
                .collect();
            (m.state, m.id, peers)
        };
        if state == ServerState::Shutdown {
            return;
        }
        if state != ServerState::Leader {
            silent.clear();
            leading_since = None;
            continue;
        }
        let leading_for = leading_since.get_or_insert_with(Instant::now).elapsed();
        for peer in peers {
            // Replies to an earlier leadership of this node do not count.
            let quiet_for = stats
                .since_reply(peer)
                .unwrap_or(leading_for)
                .min(leading_for);
            match (quiet_for >= timing.election_min, silent.contains(&peer)) {
                (true, false) => {
                    silent.insert(peer);
                    lines.warn(&format!(
                        "node {peer} does not answer node {me}, the leader ({:.1} s without a reply)",
                        quiet_for.as_secs_f64()
                    ));
                }
                (false, true) => {
                    silent.remove(&peer);
                    lines.info(&format!("node {peer} answers the leader again"));
                }
                _ => {}
            }
        }
    }
}
