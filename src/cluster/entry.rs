//! A Raft entry as a WAL entry (format/entry.rs): sequence = log index, term = the term of
//! the leader that created it. Client commands use the standalone entry types (1-5), so
//! `inspect wal` and the recovery tools read them as they read any WAL; a leader's blank
//! entry is type 8 and a membership change type 9 (its config as JSON).

use openraft::{CommittedLeaderId, EntryPayload, Membership};

use super::{ClusterNode, Command, Entry, LogId, NodeId, Request};
use crate::format::entry::{BatchWrite, EntryRef, EntryType, decode_batch, encode_batch};

/// A single (non-batch) command as a WAL write.
fn single(c: &Command) -> Option<BatchWrite<'_>> {
    let (kind, key, value): (EntryType, &[u8], &[u8]) = match c {
        Command::Put { key, value } => (EntryType::Put, key, value),
        Command::Delete { key } => (EntryType::Delete, key, &[]),
        Command::Order { key, value } => (EntryType::OrderInsert, key, value),
        Command::Trade { key, value } => (EntryType::TradeExecuted, key, value),
        Command::Account { key, value } => (EntryType::AccountUpdate, key, value),
        Command::Batch(_) => return None,
    };
    Some(BatchWrite { kind, key, value })
}

fn command_of(w: &BatchWrite<'_>) -> Command {
    let (key, value) = (w.key.to_vec(), w.value.to_vec());
    match w.kind {
        EntryType::Delete => Command::Delete { key },
        EntryType::OrderInsert => Command::Order { key, value },
        EntryType::TradeExecuted => Command::Trade { key, value },
        EntryType::AccountUpdate => Command::Account { key, value },
        _ => Command::Put { key, value },
    }
}

/// Encodes `e` as a WAL entry payload. Blank and membership entries carry no time of their
/// own: they take `prev_ts`, the time of the entry before them, which is the same on every
/// node that holds them (Raft's log matching), so the log stays byte-identical across nodes.
pub fn encode_entry(e: &Entry, prev_ts: i64, out: &mut Vec<u8>) -> i64 {
    let seq = e.log_id.index;
    let term = e.log_id.leader_id.term;
    let (kind, key, value, ts): (EntryType, &[u8], Vec<u8>, i64) = match &e.payload {
        EntryPayload::Blank => (EntryType::Blank, &[], Vec::new(), prev_ts),
        EntryPayload::Membership(m) => (
            EntryType::Membership,
            &[],
            serde_json::to_vec(m).unwrap_or_default(),
            prev_ts,
        ),
        EntryPayload::Normal(Request {
            timestamp_ns,
            command,
        }) => match command {
            Command::Batch(commands) => {
                let writes: Vec<BatchWrite<'_>> = commands.iter().filter_map(single).collect();
                let mut value = Vec::new();
                encode_batch(&writes, &mut value);
                (EntryType::Batch, &[], value, *timestamp_ns)
            }
            c => match single(c) {
                Some(w) => (w.kind, w.key, w.value.to_vec(), *timestamp_ns),
                None => (EntryType::Batch, &[], Vec::new(), *timestamp_ns),
            },
        },
    };
    EntryRef {
        seq,
        term,
        timestamp_ns: ts,
        kind,
        key,
        value: &value,
    }
    .encode_into(out);
    ts
}

/// The Raft entry a WAL entry holds; an error text for entries a Raft log cannot hold
/// (checkpoint, seal) or a membership that does not decode.
pub fn decode_entry(e: &EntryRef<'_>) -> Result<Entry, String> {
    let log_id = LogId {
        leader_id: CommittedLeaderId::new(e.term, NodeId::default()),
        index: e.seq,
    };
    let key = e.key.to_vec();
    let value = e.value.to_vec();
    let command = match e.kind {
        EntryType::Blank => {
            return Ok(Entry {
                log_id,
                payload: EntryPayload::Blank,
            });
        }
        EntryType::Membership => {
            let m: Membership<NodeId, ClusterNode> = serde_json::from_slice(e.value)
                .map_err(|err| format!("membership entry {} does not decode: {err}", e.seq))?;
            return Ok(Entry {
                log_id,
                payload: EntryPayload::Membership(m),
            });
        }
        EntryType::Batch => Command::Batch(
            decode_batch(e.value)
                .map_err(|err| format!("batch entry {} does not decode: {err}", e.seq))?
                .iter()
                .map(command_of)
                .collect(),
        ),
        EntryType::Put => Command::Put { key, value },
        EntryType::Delete => Command::Delete { key },
        EntryType::OrderInsert => Command::Order { key, value },
        EntryType::TradeExecuted => Command::Trade { key, value },
        EntryType::AccountUpdate => Command::Account { key, value },
        EntryType::Checkpoint | EntryType::Seal => {
            return Err(format!(
                "a {} entry at {} is not a Raft entry",
                e.kind.name(),
                e.seq
            ));
        }
    };
    Ok(Entry {
        log_id,
        payload: EntryPayload::Normal(Request {
            timestamp_ns: e.timestamp_ns,
            command,
        }),
    })
}

/// The writes a Raft entry makes to the key space, as WAL entries at its index (a batch
/// gives several, blank and membership entries one that only moves the sequence on).
pub(super) fn wal_writes<'a>(e: &'a Entry, out: &mut Vec<EntryRef<'a>>) {
    let at = |kind, key, value, ts| EntryRef {
        seq: e.log_id.index,
        term: e.log_id.leader_id.term,
        timestamp_ns: ts,
        kind,
        key,
        value,
    };
    match &e.payload {
        EntryPayload::Blank => out.push(at(EntryType::Blank, &[], &[], 0)),
        EntryPayload::Membership(_) => out.push(at(EntryType::Membership, &[], &[], 0)),
        EntryPayload::Normal(Request {
            timestamp_ns,
            command,
        }) => match command {
            Command::Batch(commands) => {
                for w in commands.iter().filter_map(single) {
                    out.push(at(w.kind, w.key, w.value, *timestamp_ns));
                }
                // An empty batch still moves the applied sequence on.
                if commands.is_empty() {
                    out.push(at(EntryType::Blank, &[], &[], *timestamp_ns));
                }
            }
            c => {
                if let Some(w) = single(c) {
                    out.push(at(w.kind, w.key, w.value, *timestamp_ns));
                }
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn round_trip(e: Entry) {
        let mut out = Vec::new();
        encode_entry(&e, 77, &mut out);
        let wal = EntryRef::decode(&out).unwrap();
        assert_eq!(wal.seq, e.log_id.index);
        assert_eq!(wal.term, e.log_id.leader_id.term);
        let back = decode_entry(&wal).unwrap();
        assert_eq!(back.log_id, e.log_id);
        assert_eq!(format!("{:?}", back.payload), format!("{:?}", e.payload));
    }

    #[test]
    fn every_payload_round_trips_through_a_wal_entry() {
        let id = |term, index| LogId {
            leader_id: CommittedLeaderId::new(term, 0),
            index,
        };
        round_trip(Entry {
            log_id: id(3, 9),
            payload: EntryPayload::Blank,
        });
        round_trip(Entry {
            log_id: id(1, 0),
            payload: EntryPayload::Membership(Membership::new(
                vec![BTreeSet::from([1, 2, 3])],
                None,
            )),
        });
        for command in [
            Command::Put {
                key: b"Kk".to_vec(),
                value: b"v".to_vec(),
            },
            Command::Delete {
                key: b"Kk".to_vec(),
            },
            Command::Order {
                key: b"O1".to_vec(),
                value: vec![1, 2],
            },
            Command::Trade {
                key: b"T1".to_vec(),
                value: vec![3],
            },
            Command::Account {
                key: b"A1".to_vec(),
                value: vec![4],
            },
            Command::Batch(vec![
                Command::Put {
                    key: b"Ka".to_vec(),
                    value: b"1".to_vec(),
                },
                Command::Delete {
                    key: b"Kb".to_vec(),
                },
                Command::Order {
                    key: b"O9".to_vec(),
                    value: vec![7],
                },
            ]),
        ] {
            round_trip(Entry {
                log_id: id(5, 12),
                payload: EntryPayload::Normal(Request {
                    timestamp_ns: 1234,
                    command,
                }),
            });
        }
    }

    #[test]
    fn blank_entries_take_the_previous_time() {
        let mut out = Vec::new();
        let e = Entry {
            log_id: LogId {
                leader_id: CommittedLeaderId::new(2, 0),
                index: 4,
            },
            payload: EntryPayload::Blank,
        };
        assert_eq!(encode_entry(&e, 99, &mut out), 99);
        assert_eq!(EntryRef::decode(&out).unwrap().timestamp_ns, 99);
    }

    #[test]
    fn checkpoint_and_seal_are_not_raft_entries() {
        let mut out = Vec::new();
        EntryRef {
            seq: 1,
            term: 0,
            timestamp_ns: 0,
            kind: EntryType::Seal,
            key: &[],
            value: &[],
        }
        .encode_into(&mut out);
        assert!(decode_entry(&EntryRef::decode(&out).unwrap()).is_err());
    }
}
