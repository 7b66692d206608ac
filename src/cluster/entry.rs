//! A Raft entry as a WAL entry (format/entry.rs): sequence = log index, term = the term of
//! the leader that created it. Client commands use the standalone entry types (1-5), so
//! `inspect wal` and the recovery tools read them as they read any WAL; a leader's blank
//! entry is type 8 and a membership change type 9 (its config as JSON).

use std::borrow::Cow;
use std::collections::HashMap;

use openraft::{CommittedLeaderId, EntryPayload, Membership};

use super::{ClusterNode, Command, Entry, LogId, NodeId, PutIfOutcome, Request, Response};
use crate::error::Result;
use crate::format::entry::{
    BatchWrite, EntryRef, EntryType, PutCondition, decode_batch, encode_batch,
};

/// A single command's WAL write: type, key, and value (a PutIf's with its condition first).
type SingleWrite<'a> = (EntryType, &'a [u8], Cow<'a, [u8]>);

/// A single (non-batch) command as a WAL write.
fn single(c: &Command) -> Option<SingleWrite<'_>> {
    let (kind, key, value): SingleWrite<'_> = match c {
        Command::Put { key, value } => (EntryType::Put, key, value.into()),
        Command::Delete { key } => (EntryType::Delete, key, (&[][..]).into()),
        Command::Order { key, value } => (EntryType::OrderInsert, key, value.into()),
        Command::Trade { key, value } => (EntryType::TradeExecuted, key, value.into()),
        Command::Account { key, value } => (EntryType::AccountUpdate, key, value.into()),
        Command::PutIf { key, value, when } => {
            (EntryType::PutIf, key, when.encode_value(value).into())
        }
        Command::Batch(_) => return None,
    };
    Some((kind, key, value))
}

fn command_of(kind: EntryType, key: &[u8], value: &[u8]) -> std::result::Result<Command, String> {
    let (key, owned) = (key.to_vec(), || value.to_vec());
    Ok(match kind {
        EntryType::Delete => Command::Delete { key },
        EntryType::OrderInsert => Command::Order {
            key,
            value: owned(),
        },
        EntryType::TradeExecuted => Command::Trade {
            key,
            value: owned(),
        },
        EntryType::AccountUpdate => Command::Account {
            key,
            value: owned(),
        },
        EntryType::PutIf => {
            let (when, value) = PutCondition::decode_value(value).map_err(|e| e.to_string())?;
            Command::PutIf {
                key,
                value: value.to_vec(),
                when,
            }
        }
        _ => Command::Put {
            key,
            value: owned(),
        },
    })
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
                let singles: Vec<_> = commands.iter().filter_map(single).collect();
                let writes: Vec<BatchWrite<'_>> = singles
                    .iter()
                    .map(|(kind, key, value)| BatchWrite {
                        kind: *kind,
                        key,
                        value,
                    })
                    .collect();
                let mut value = Vec::new();
                encode_batch(&writes, &mut value);
                (EntryType::Batch, &[], value, *timestamp_ns)
            }
            c => match single(c) {
                Some((kind, key, value)) => (kind, key, value.into_owned(), *timestamp_ns),
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
                .map(|w| command_of(w.kind, w.key, w.value))
                .collect::<std::result::Result<_, _>>()
                .map_err(|err| format!("batch entry {} does not decode: {err}", e.seq))?,
        ),
        EntryType::Put
        | EntryType::Delete
        | EntryType::OrderInsert
        | EntryType::TradeExecuted
        | EntryType::AccountUpdate
        | EntryType::PutIf => command_of(e.kind, e.key, e.value)
            .map_err(|err| format!("entry {} does not decode: {err}", e.seq))?,
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

/// Whether a WAL write of this kind changes a key (what a later lookup must see).
fn writes_key(kind: EntryType) -> bool {
    kind == EntryType::Delete || kind.is_data()
}

/// Turns Raft entries, in log order, into the writes they make to the key space (WAL entries
/// at their indexes; a batch gives several, blank and membership entries one that only moves
/// the sequence on), deciding each PutIf against the state where it stands in the log: the
/// writes of the entries before it over `base`, the state before the first.
///
/// Every reader of a cluster's log (the state machine, the offline views, exports and
/// restores) decides through this one type, so they all agree.
pub(super) struct Decider<'a, B> {
    base: B,
    /// Counting the deletes that find their key costs a lookup each: only the state
    /// machine, whose answers reach clients, asks for it.
    count_deletes: bool,
    out: Vec<EntryRef<'a>>,
    /// Key -> position in `out` of its newest write. Built at the first lookup: most runs of
    /// entries hold no PutIf and need none.
    newest: Option<HashMap<&'a [u8], usize>>,
}

impl<'a, B: FnMut(&[u8]) -> Result<Option<Vec<u8>>>> Decider<'a, B> {
    pub fn new(base: B, count_deletes: bool) -> Self {
        Decider {
            base,
            count_deletes,
            out: Vec::new(),
            newest: None,
        }
    }

    pub fn into_writes(self) -> Vec<EntryRef<'a>> {
        self.out
    }

    fn push(&mut self, w: EntryRef<'a>) {
        if let Some(newest) = &mut self.newest
            && writes_key(w.kind)
        {
            newest.insert(w.key, self.out.len());
        }
        self.out.push(w);
    }

    /// The value of `key` after every write pushed so far.
    fn lookup(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let out = &self.out;
        let newest = self.newest.get_or_insert_with(|| {
            out.iter()
                .enumerate()
                .filter(|(_, w)| writes_key(w.kind))
                .map(|(i, w)| (w.key, i))
                .collect()
        });
        match newest.get(key) {
            Some(&i) => {
                let w = &self.out[i];
                Ok((w.kind != EntryType::Delete).then(|| w.value.to_vec()))
            }
            None => (self.base)(key),
        }
    }

    /// Adds the writes of `e`, the entry after those added before; returns what applying it
    /// answers.
    pub fn entry(&mut self, e: &'a Entry) -> Result<Response> {
        let mut answer = Response {
            index: e.log_id.index,
            ..Response::default()
        };
        let at = |kind, key, value, ts| EntryRef {
            seq: e.log_id.index,
            term: e.log_id.leader_id.term,
            timestamp_ns: ts,
            kind,
            key,
            value,
        };
        let (commands, ts): (&'a [Command], i64) = match &e.payload {
            EntryPayload::Blank => {
                self.push(at(EntryType::Blank, &[], &[], 0));
                return Ok(answer);
            }
            EntryPayload::Membership(_) => {
                self.push(at(EntryType::Membership, &[], &[], 0));
                return Ok(answer);
            }
            EntryPayload::Normal(Request {
                timestamp_ns,
                command: Command::Batch(commands),
            }) => (commands, *timestamp_ns),
            EntryPayload::Normal(Request {
                timestamp_ns,
                command,
            }) => (std::slice::from_ref(command), *timestamp_ns),
        };
        let before = self.out.len();
        for c in commands {
            let (kind, key, value): (EntryType, &'a [u8], &'a [u8]) = match c {
                Command::Put { key, value } => (EntryType::Put, key, value),
                Command::Delete { key } => {
                    if self.count_deletes && self.lookup(key)?.is_some() {
                        answer.deleted += 1;
                    }
                    (EntryType::Delete, key, &[])
                }
                Command::Order { key, value } => (EntryType::OrderInsert, key, value),
                Command::Trade { key, value } => (EntryType::TradeExecuted, key, value),
                Command::Account { key, value } => (EntryType::AccountUpdate, key, value),
                Command::PutIf { key, value, when } => {
                    let old = self.lookup(key)?;
                    let written = when.holds(old.is_some());
                    answer.put_if = Some(PutIfOutcome { written, old });
                    if !written {
                        continue;
                    }
                    (EntryType::Put, key, value)
                }
                // Never nested: the leader builds batches of single commands only.
                Command::Batch(_) => continue,
            };
            self.push(at(kind, key, value, ts));
        }
        // An entry that wrote nothing (an empty batch, a PutIf whose condition failed) still
        // moves the applied sequence on.
        if self.out.len() == before {
            self.push(at(EntryType::Blank, &[], &[], ts));
        }
        Ok(answer)
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
            Command::PutIf {
                key: b"Kk".to_vec(),
                value: b"v".to_vec(),
                when: PutCondition::Absent,
            },
            Command::Batch(vec![
                Command::Put {
                    key: b"Ka".to_vec(),
                    value: b"1".to_vec(),
                },
                Command::PutIf {
                    key: b"Kb".to_vec(),
                    value: Vec::new(),
                    when: PutCondition::Present,
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

    #[test]
    fn a_put_if_with_an_unknown_condition_does_not_decode() {
        for value in [&[][..], &[7, b'v'][..]] {
            let mut out = Vec::new();
            EntryRef {
                seq: 3,
                term: 1,
                timestamp_ns: 0,
                kind: EntryType::PutIf,
                key: b"Kk",
                value,
            }
            .encode_into(&mut out);
            let err = decode_entry(&EntryRef::decode(&out).unwrap()).unwrap_err();
            assert!(
                err.contains("entry 3") && err.contains("condition"),
                "{err}"
            );
        }
    }
}
