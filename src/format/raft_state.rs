//! DIR/raft/state: what a cluster node must remember across a crash besides its log and its
//! state machine: who it is, which cluster it belongs to, its vote, the committed log id and
//! the last purged log id.
//!
//! ```text
//!  0          16         24            40        41          49          57         58
//!  +----------+----------+-------------+---------+-----------+-----------+----------+
//!  | envelope | node id  | cluster id  | vote    | vote term | vote node | vote     |
//!  | 16 B     | u64 LE   | 16 B        | present | u64 LE    | u64 LE    | committed|
//!  |          |          | (0: none)   | u8 0/1  |           |           | u8 0/1   |
//!  +----------+----------+-------------+---------+-----------+-----------+----------+
//!  58                           75                           92        96
//!  +----------------------------+----------------------------+---------+
//!  | committed log id           | last purged log id         | crc32c  |
//!  | u8 present, u64 term,      | u8 present, u64 term,      | masked, |
//!  | u64 index                  | u64 index                  | of 16..92|
//!  +----------------------------+----------------------------+---------+
//! ```
//!
//! Rewritten whole (tmp → fsync → rename → fsync dir) on every change, so a crash leaves the
//! old or the new state, never a mix. A file that fails its checksum is refused, never
//! guessed at: a node that forgot its vote could vote twice in one term.

use std::path::Path;

use super::envelope::{self, Kind};
use super::{Cursor, masked_crc};
use crate::error::{Error, Result};

pub const FILE_NAME: &str = "state";
const BODY_LEN: usize = 8 + 16 + 1 + 8 + 8 + 1 + 17 + 17;
pub const LEN: usize = envelope::LEN + BODY_LEN + 4;

/// A Raft log id: (term of the leader that created the entry, index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogPos {
    pub term: u64,
    pub index: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Vote {
    pub term: u64,
    pub node_id: u64,
    pub committed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RaftState {
    pub node_id: u64,
    /// All zero until the node is initialised or joins a cluster.
    pub cluster_id: [u8; 16],
    pub vote: Option<Vote>,
    pub committed: Option<LogPos>,
    pub purged: Option<LogPos>,
}

fn put_pos(out: &mut Vec<u8>, pos: Option<LogPos>) {
    let p = pos.unwrap_or_default();
    out.push(u8::from(pos.is_some()));
    out.extend_from_slice(&p.term.to_le_bytes());
    out.extend_from_slice(&p.index.to_le_bytes());
}

fn flag(c: &mut Cursor<'_>) -> Option<bool> {
    match c.u8()? {
        0 => Some(false),
        1 => Some(true),
        _ => None,
    }
}

fn get_pos(c: &mut Cursor<'_>) -> Option<Option<LogPos>> {
    let present = flag(c)?;
    let term = c.u64()?;
    let index = c.u64()?;
    Some(present.then_some(LogPos { term, index }))
}

impl RaftState {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(LEN);
        out.extend_from_slice(&envelope::encode(Kind::RaftState));
        out.extend_from_slice(&self.node_id.to_le_bytes());
        out.extend_from_slice(&self.cluster_id);
        let v = self.vote.unwrap_or_default();
        out.push(u8::from(self.vote.is_some()));
        out.extend_from_slice(&v.term.to_le_bytes());
        out.extend_from_slice(&v.node_id.to_le_bytes());
        out.push(u8::from(v.committed));
        put_pos(&mut out, self.committed);
        put_pos(&mut out, self.purged);
        let crc = masked_crc(&[&out[envelope::LEN..]]);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    pub fn decode(path: &Path, bytes: &[u8]) -> Result<RaftState> {
        envelope::decode(path, bytes, Kind::RaftState)?;
        let damaged = |offset: usize, what: &str| {
            Error::corruption(path, offset as u64, what.to_string()).with_hint(
                "this node's vote cannot be trusted: remove the node from the cluster \
                 (`drkit cluster remove`), wipe its data dir and add it back as a new node",
            )
        };
        if bytes.len() != LEN {
            return Err(damaged(
                bytes.len().min(LEN),
                &format!("Raft state file is {} bytes, expected {LEN}", bytes.len()),
            ));
        }
        let body = &bytes[envelope::LEN..LEN - 4];
        let mut crc = Cursor::new(&bytes[LEN - 4..]);
        if crc.u32() != Some(masked_crc(&[body])) {
            return Err(damaged(LEN - 4, "Raft state checksum mismatch"));
        }
        let mut c = Cursor::new(body);
        let parse = |c: &mut Cursor<'_>| -> Option<RaftState> {
            let node_id = c.u64()?;
            let cluster_id: [u8; 16] = c.take(16)?.try_into().ok()?;
            let has_vote = flag(c)?;
            let term = c.u64()?;
            let voted_for = c.u64()?;
            let committed_vote = flag(c)?;
            let committed = get_pos(c)?;
            let purged = get_pos(c)?;
            Some(RaftState {
                node_id,
                cluster_id,
                vote: has_vote.then_some(Vote {
                    term,
                    node_id: voted_for,
                    committed: committed_vote,
                }),
                committed,
                purged,
            })
        };
        parse(&mut c).ok_or_else(|| {
            damaged(
                envelope::LEN + c.pos(),
                "Raft state holds a flag that is neither 0 nor 1",
            )
        })
    }

    /// Reads `raft_dir/state`; None when the node has never written one.
    pub fn load(raft_dir: &Path) -> Result<Option<RaftState>> {
        let path = raft_dir.join(FILE_NAME);
        match std::fs::read(&path) {
            Ok(bytes) => RaftState::decode(&path, &bytes).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    pub fn store(&self, raft_dir: &Path) -> Result<()> {
        crate::io::write_atomic(&raft_dir.join(FILE_NAME), &self.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_pos() -> impl Strategy<Value = Option<LogPos>> {
        any::<Option<(u64, u64)>>().prop_map(|p| p.map(|(term, index)| LogPos { term, index }))
    }

    proptest! {
        #[test]
        fn round_trip(node_id: u64, cluster_id: [u8; 16], vote: Option<(u64, u64, bool)>,
                      committed in arb_pos(), purged in arb_pos()) {
            let st = RaftState {
                node_id,
                cluster_id,
                vote: vote.map(|(term, node_id, committed)| Vote { term, node_id, committed }),
                committed,
                purged,
            };
            let bytes = st.encode();
            prop_assert_eq!(bytes.len(), LEN);
            prop_assert_eq!(RaftState::decode(Path::new("state"), &bytes).unwrap(), st);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes: Vec<u8>) {
            let _ = RaftState::decode(Path::new("state"), &bytes);
        }
    }

    #[test]
    fn every_flipped_byte_is_refused() {
        let st = RaftState {
            node_id: 3,
            cluster_id: [9; 16],
            vote: Some(Vote {
                term: 7,
                node_id: 2,
                committed: true,
            }),
            committed: Some(LogPos { term: 7, index: 40 }),
            purged: None,
        };
        let good = st.encode();
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x10;
            assert!(
                RaftState::decode(Path::new("state"), &bad).is_err(),
                "flip at {i} accepted"
            );
        }
        assert!(RaftState::decode(Path::new("state"), &good[..LEN - 1]).is_err());
    }

    #[test]
    fn store_and_load() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(RaftState::load(dir.path()).unwrap(), None);
        let st = RaftState {
            node_id: 1,
            ..Default::default()
        };
        st.store(dir.path()).unwrap();
        assert_eq!(RaftState::load(dir.path()).unwrap(), Some(st));
    }
}
