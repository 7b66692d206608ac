//! DIR/raft/leader-contact: when a running cluster node last knew itself current with its
//! leader, so that a backup of the node's dir can say how far behind the leader it was
//! (`backup info`). Plain text so an operator can `cat` it.
//!
//! ```text
//!  drkit-leader-contact 1\n        format line (kind and version)
//!  leader 2\n                      the leader's node id (this node's own when it leads)
//!  term 7\n                        the leader's term
//!  at-unix-ms 1733540000123\n      a follower: when the leader's last append or heartbeat was
//!                                  accepted; the leader: its last acknowledgement from a quorum
//!  leader-committed 12345\n        the leader's commit index as of then
//!  crc32c 1a2b3c4d\n               masked crc32c of the four lines above (with their
//!                                  newlines), 8 lowercase hex digits
//! ```
//!
//! Advisory: rewritten (tmp → rename, no fsync) at most every 100 ms while it changes. A
//! crash can leave an old copy, which only makes the lag it implies larger; a file that does
//! not decode means "lag unknown", never a guess.

use std::path::Path;

use super::checked_text;
use crate::error::{Error, Result};

pub const FILE_NAME: &str = "leader-contact";
const KIND: &str = "drkit-leader-contact";
const VERSION: u16 = 1;
const FIELDS: [&str; 4] = ["leader", "term", "at-unix-ms", "leader-committed"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LeaderContact {
    pub leader: u64,
    pub term: u64,
    pub at_unix_ms: i64,
    pub leader_committed: u64,
}

pub fn encode(c: &LeaderContact) -> String {
    checked_text::encode(
        KIND,
        VERSION,
        &[
            ("leader", c.leader.to_string()),
            ("term", c.term.to_string()),
            ("at-unix-ms", c.at_unix_ms.to_string()),
            ("leader-committed", c.leader_committed.to_string()),
        ],
    )
}

pub fn decode(path: &Path, bytes: &[u8]) -> Result<LeaderContact> {
    let bad = |offset: usize, what: &str| Error::corruption(path, offset as u64, what.to_string());
    let fields = checked_text::decode(bytes, KIND, VERSION, &FIELDS)
        .map_err(|b| b.into_error(path, VERSION, bad))?;
    let mut values = [0u64; 4];
    for ((name, value), (text, offset)) in FIELDS.iter().zip(values.iter_mut()).zip(fields) {
        *value = checked_text::decimal(text)
            .ok_or_else(|| bad(offset, &format!("{name} is not a decimal number")))?;
    }
    let [leader, term, at_unix_ms, leader_committed] = values;
    Ok(LeaderContact {
        leader,
        term,
        at_unix_ms: i64::try_from(at_unix_ms).map_err(|_| bad(0, "at-unix-ms out of range"))?,
        leader_committed,
    })
}

/// The node's last recorded contact: None when it never recorded one; an error text when
/// the file cannot be read or trusted.
pub fn read(raft_dir: &Path) -> std::result::Result<Option<LeaderContact>, String> {
    let path = raft_dir.join(FILE_NAME);
    match std::fs::read(&path) {
        Ok(bytes) => decode(&path, &bytes).map(Some).map_err(|e| e.to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(&path, e).to_string()),
    }
}

/// Replaces the file without fsync (see the module doc).
pub fn write(raft_dir: &Path, c: &LeaderContact) -> std::io::Result<()> {
    let tmp = raft_dir.join(format!("{FILE_NAME}.tmp"));
    std::fs::write(&tmp, encode(c))?;
    std::fs::rename(&tmp, raft_dir.join(FILE_NAME))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_flipped_byte_is_caught() {
        let c = LeaderContact {
            leader: 2,
            term: 7,
            at_unix_ms: 1_733_540_000_123,
            leader_committed: 12_345,
        };
        let p = Path::new("leader-contact");
        let bytes = encode(&c).into_bytes();
        assert_eq!(decode(p, &bytes).unwrap(), c);
        for i in 0..bytes.len() {
            for bit in [0x01u8, 0x20] {
                let mut bad = bytes.clone();
                bad[i] ^= bit;
                assert!(
                    decode(p, &bad).is_err(),
                    "flip {bit:#x} at {i} not caught: {:?}",
                    String::from_utf8_lossy(&bad)
                );
            }
        }
        assert!(decode(p, &bytes[..bytes.len() - 1]).is_err());
    }
}
