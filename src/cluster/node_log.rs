//! A running node's log lines, through `tracing`: each carries the node id and the term the
//! node was in, so that after an incident one node's log lines up with the others'. The
//! subscriber (text or JSON, time stamps, filter) is the binary's choice.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::NodeId;

#[derive(Debug, Clone)]
pub struct NodeLog {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    node: NodeId,
    term: AtomicU64,
}

impl NodeLog {
    pub fn new(node: NodeId) -> NodeLog {
        NodeLog {
            inner: Arc::new(Inner {
                node,
                term: AtomicU64::new(0),
            }),
        }
    }

    /// The term later lines carry (the node's current one, from openraft's metrics).
    pub fn set_term(&self, term: u64) {
        self.inner.term.store(term, Ordering::Relaxed);
    }

    fn fields(&self) -> (NodeId, u64) {
        (self.inner.node, self.inner.term.load(Ordering::Relaxed))
    }

    /// Leadership, membership, snapshots: what an operator reads to know what happened.
    pub fn info(&self, msg: &str) {
        let (node, term) = self.fields();
        tracing::info!(node, term, "{msg}");
    }

    /// Something that needs attention but does not stop the node (a refused peer, a slow
    /// fsync, a failed write of advisory state).
    pub fn warn(&self, msg: &str) {
        let (node, term) = self.fields();
        tracing::warn!(node, term, "{msg}");
    }

    /// The node no longer does its part (Raft stopped) or a bug was caught.
    pub fn error(&self, msg: &str) {
        let (node, term) = self.fields();
        tracing::error!(node, term, "{msg}");
    }

    /// Noise by default: connections that closed during the handshake (port probes, health
    /// checks, tools finding out what listens).
    pub fn debug(&self, msg: &str) {
        let (node, term) = self.fields();
        tracing::debug!(node, term, "{msg}");
    }
}
