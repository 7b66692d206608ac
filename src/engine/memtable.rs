//! Memtables: the newest version of each key since the last flush.
//!
//! The active memtable is a lock-free skip list, so readers never wait for the group-commit
//! leader, its only writer. Recovery produces a different, frozen kind: a sorted run of one
//! WAL segment's entries that points into the segment's bytes, which costs one sort instead
//! of a skip-list insert and two copies per entry. Both answer the same questions.

use std::ops::Bound;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crossbeam_skiplist::SkipMap;

/// A value or a tombstone, with the sequence that wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    pub seq: u64,
    pub value: Option<Vec<u8>>,
}

#[derive(Debug)]
pub struct Memtable {
    repr: Repr,
    approx_bytes: AtomicUsize,
    max_seq: AtomicU64,
    /// Cluster mode: the state machine's applied state as of this memtable's last entry,
    /// recorded in the manifest when it is flushed (opaque here).
    cluster_state: Mutex<Option<Vec<u8>>>,
}

#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "a handful of memtables exist at once, each behind an Arc"
)]
enum Repr {
    /// A key's newest version is replaced in place, under its own lock: SkipMap's insert of
    /// an existing key unlinks the old entry before it links the new one, and a reader in
    /// between would find no version at all.
    Skip(SkipMap<Vec<u8>, Mutex<Versioned>>),
    Sorted(SortedRun),
}

impl Default for Memtable {
    fn default() -> Self {
        Memtable::new()
    }
}

fn lock(v: &Mutex<Versioned>) -> std::sync::MutexGuard<'_, Versioned> {
    v.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Per-entry bookkeeping of the skip list, so the size estimate tracks real memory use.
const ENTRY_OVERHEAD: usize = 64;

impl Memtable {
    pub fn new() -> Memtable {
        Memtable {
            repr: Repr::Skip(SkipMap::new()),
            approx_bytes: AtomicUsize::new(0),
            max_seq: AtomicU64::new(0),
            cluster_state: Mutex::new(None),
        }
    }

    pub fn from_run(run: SortedRun) -> Memtable {
        let bytes = run.approx_bytes();
        let max = run.max_seq;
        Memtable {
            repr: Repr::Sorted(run),
            approx_bytes: AtomicUsize::new(bytes),
            max_seq: AtomicU64::new(max),
            cluster_state: Mutex::new(None),
        }
    }

    /// Only one thread inserts at a time (the commit leader or recovery), in sequence order,
    /// so a later insert is always the newer version. Only the active (skip list) memtable
    /// takes inserts; runs are frozen from birth.
    pub fn insert(&self, key: Vec<u8>, seq: u64, value: Option<Vec<u8>>) {
        let Repr::Skip(map) = &self.repr else {
            debug_assert!(false, "insert into a frozen run");
            return;
        };
        let bytes = key.len() + value.as_ref().map_or(0, Vec::len) + ENTRY_OVERHEAD;
        // One search: a new key is linked with its version; an existing one is updated.
        let mut version = Some(Versioned { seq, value });
        let entry = map.get_or_insert_with(key, || {
            Mutex::new(version.take().expect("the value closure runs at most once"))
        });
        if let Some(newer) = version {
            *lock(entry.value()) = newer;
        }
        self.approx_bytes.fetch_add(bytes, Ordering::Relaxed);
        self.note_seq(seq);
    }

    /// Records that entries up to `seq` are covered, also for entries that insert nothing
    /// (checkpoints), so the flush checkpoint moves past them.
    pub fn note_seq(&self, seq: u64) {
        self.max_seq.fetch_max(seq, Ordering::Relaxed);
    }

    pub fn set_cluster_state(&self, state: Vec<u8>) {
        *self
            .cluster_state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(state);
    }

    pub fn cluster_state(&self) -> Option<Vec<u8>> {
        self.cluster_state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub fn get(&self, key: &[u8]) -> Option<Versioned> {
        match &self.repr {
            Repr::Skip(map) => map.get(key).map(|e| lock(e.value()).clone()),
            Repr::Sorted(run) => run.get(key),
        }
    }

    pub fn approx_bytes(&self) -> usize {
        self.approx_bytes.load(Ordering::Relaxed)
    }

    pub fn max_seq(&self) -> u64 {
        self.max_seq.load(Ordering::Relaxed)
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Skip(map) => map.len(),
            Repr::Sorted(run) => run.entries.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Up to `limit` entries within `(lower, upper)`, in key order.
    pub fn chunk(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        limit: usize,
    ) -> Vec<(Vec<u8>, Versioned)> {
        match &self.repr {
            Repr::Skip(map) => map
                .range::<[u8], _>((lower, upper))
                .take(limit)
                .map(|e| (e.key().clone(), lock(e.value()).clone()))
                .collect(),
            Repr::Sorted(run) => run.chunk(lower, upper, limit),
        }
    }

    pub fn iter(&self) -> Box<dyn Iterator<Item = (Vec<u8>, Versioned)> + '_> {
        match &self.repr {
            Repr::Skip(map) => Box::new(
                map.iter()
                    .map(|e| (e.key().clone(), lock(e.value()).clone())),
            ),
            Repr::Sorted(run) => Box::new((0..run.entries.len()).map(|i| run.owned(i))),
        }
    }
}

/// Where a run's key or value lies: (in the overflow buffer?, start, length).
pub type Loc = (bool, usize, usize);

#[derive(Debug, Clone, Copy)]
pub struct RunEntry {
    pub key: Loc,
    /// None: a tombstone.
    pub value: Option<Loc>,
    pub seq: u64,
}

/// A frozen memtable built by recovery: entries sorted by key, newest version only, keys and
/// values left where they are in the WAL segment's bytes (or its overflow buffer, for entries
/// that were reassembled from fragments).
#[derive(Debug)]
pub struct SortedRun {
    bytes: Arc<Vec<u8>>,
    overflow: Arc<Vec<u8>>,
    entries: Vec<RunEntry>,
    max_seq: u64,
}

impl SortedRun {
    /// `items` in log order; sorts them and keeps the newest version of each key.
    /// `items` already sorted by key, each key once (a validated snapshot): no sort needed.
    pub fn from_sorted(bytes: Arc<Vec<u8>>, items: Vec<RunEntry>, max_seq: u64) -> SortedRun {
        SortedRun {
            bytes,
            overflow: Arc::new(Vec::new()),
            entries: items,
            max_seq,
        }
    }

    pub fn build(
        bytes: Arc<Vec<u8>>,
        overflow: Arc<Vec<u8>>,
        mut items: Vec<RunEntry>,
        max_seq: u64,
    ) -> SortedRun {
        let mut run = SortedRun {
            bytes,
            overflow,
            entries: Vec::new(),
            max_seq,
        };
        // Stable sort by key keeps log order among equal keys, so the last one is the newest.
        items.sort_by(|a, b| run.slice(a.key).cmp(run.slice(b.key)));
        let mut kept: Vec<RunEntry> = Vec::with_capacity(items.len());
        for e in items {
            match kept.last_mut() {
                Some(last) if run.slice(last.key) == run.slice(e.key) => *last = e,
                _ => kept.push(e),
            }
        }
        run.entries = kept;
        run
    }

    fn slice(&self, (overflow, start, len): Loc) -> &[u8] {
        let buf = if overflow {
            &self.overflow
        } else {
            &self.bytes
        };
        buf.get(start..start + len).unwrap_or(&[])
    }

    fn key(&self, i: usize) -> &[u8] {
        self.slice(self.entries[i].key)
    }

    fn owned(&self, i: usize) -> (Vec<u8>, Versioned) {
        let e = &self.entries[i];
        (
            self.key(i).to_vec(),
            Versioned {
                seq: e.seq,
                value: e.value.map(|v| self.slice(v).to_vec()),
            },
        )
    }

    fn approx_bytes(&self) -> usize {
        self.bytes.len()
            + self.overflow.len()
            + self.entries.len() * std::mem::size_of::<RunEntry>()
    }

    fn get(&self, key: &[u8]) -> Option<Versioned> {
        let i = self
            .entries
            .binary_search_by(|e| self.slice(e.key).cmp(key))
            .ok()?;
        Some(self.owned(i).1)
    }

    fn chunk(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        limit: usize,
    ) -> Vec<(Vec<u8>, Versioned)> {
        let start = match lower {
            Bound::Included(k) => self.entries.partition_point(|e| self.slice(e.key) < k),
            Bound::Excluded(k) => self.entries.partition_point(|e| self.slice(e.key) <= k),
            Bound::Unbounded => 0,
        };
        (start..self.entries.len())
            .take_while(|&i| match upper {
                Bound::Included(u) => self.key(i) <= u,
                Bound::Excluded(u) => self.key(i) < u,
                Bound::Unbounded => true,
            })
            .take(limit)
            .map(|i| self.owned(i))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_never_misses_a_key_while_it_is_overwritten() {
        // Found by the cluster fault harness: a GET concurrent with a SET of the same key
        // answered nil, because a skip-list insert removes the old entry before it links
        // the new one.
        let m = Arc::new(Memtable::new());
        m.insert(b"k".to_vec(), 1, Some(b"v".to_vec()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let (m, stop) = (Arc::clone(&m), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut misses = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    if m.get(b"k").is_none() {
                        misses += 1;
                    }
                }
                misses
            })
        };
        for seq in 2..200_000 {
            m.insert(b"k".to_vec(), seq, Some(b"v".to_vec()));
        }
        stop.store(true, Ordering::Relaxed);
        assert_eq!(
            reader.join().unwrap(),
            0,
            "reads that found no version at all"
        );
    }

    #[test]
    fn newest_insert_wins_and_chunks_are_ordered() {
        let m = Memtable::new();
        m.insert(b"b".to_vec(), 1, Some(b"1".to_vec()));
        m.insert(b"a".to_vec(), 2, Some(b"2".to_vec()));
        m.insert(b"b".to_vec(), 3, None);
        assert_eq!(
            m.get(b"b"),
            Some(Versioned {
                seq: 3,
                value: None
            })
        );
        assert_eq!(m.max_seq(), 3);
        let c = m.chunk(Bound::Unbounded, Bound::Unbounded, 10);
        assert_eq!(
            c.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
            vec![b"a".to_vec(), b"b".to_vec()]
        );
        let c = m.chunk(Bound::Excluded(b"a"), Bound::Unbounded, 10);
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn sorted_run_keeps_the_newest_version_and_answers_like_a_skip_list() {
        // bytes: "b" "1" "a" "2" "b" ; overflow: "c" "3"
        let bytes = Arc::new(b"b1a2b".to_vec());
        let overflow = Arc::new(b"c3".to_vec());
        let items = vec![
            RunEntry {
                key: (false, 0, 1),
                value: Some((false, 1, 1)),
                seq: 1,
            },
            RunEntry {
                key: (false, 2, 1),
                value: Some((false, 3, 1)),
                seq: 2,
            },
            RunEntry {
                key: (false, 4, 1),
                value: None,
                seq: 3,
            },
            RunEntry {
                key: (true, 0, 1),
                value: Some((true, 1, 1)),
                seq: 4,
            },
        ];
        let m = Memtable::from_run(SortedRun::build(bytes, overflow, items, 4));
        assert_eq!(m.len(), 3);
        assert_eq!(
            m.get(b"b"),
            Some(Versioned {
                seq: 3,
                value: None
            })
        );
        assert_eq!(
            m.get(b"c"),
            Some(Versioned {
                seq: 4,
                value: Some(b"3".to_vec())
            })
        );
        assert_eq!(m.get(b"z"), None);
        let keys: Vec<Vec<u8>> = m
            .chunk(Bound::Excluded(b"a"), Bound::Included(b"c"), 10)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, vec![b"b".to_vec(), b"c".to_vec()]);
        assert_eq!(m.iter().count(), 3);
        assert_eq!(m.max_seq(), 4);
    }
}
