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

/// Takes one row of a memtable: key, sequence, value (None: a tombstone).
pub type RowFn<'a, E> = dyn FnMut(&[u8], u64, Option<&[u8]>) -> Result<(), E> + 'a;

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

    /// Hands every entry to `f` in key order (key, sequence, value or None for a
    /// tombstone), stopping at its first error. A run's keys and values are lent from its
    /// buffers, not copied: a flush after recovery writes them straight from the WAL's bytes.
    pub fn try_for_each<E>(&self, f: &mut RowFn<'_, E>) -> Result<(), E> {
        match &self.repr {
            Repr::Skip(map) => map.iter().try_for_each(|e| {
                let v = lock(e.value());
                f(e.key(), v.seq, v.value.as_deref())
            }),
            Repr::Sorted(run) => (0..run.entries.len()).try_for_each(|i| {
                let (key, seq, value) = run.borrowed(i);
                f(key, seq, value)
            }),
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

const IN_OVERFLOW: u64 = 1 << 63;
/// `key_at` holds the value's distance past the key's end in these bits (a WAL entry's value
/// follows its key directly; a snapshot's comes after the key's sequence and kind).
const GAP_SHIFT: u32 = 56;
const MAX_GAP: usize = 0x7f;
const AT_MASK: u64 = (1 << GAP_SHIFT) - 1;
const TOMBSTONE: u32 = u32::MAX;

/// One entry of a run, packed into 40 bytes: a recovery of a gigabyte of small records
/// holds millions, and every byte of them is memory the kernel must hand out fresh.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunEntry {
    /// The key's first 16 bytes, big-endian and zero-padded (filled in by the run): most
    /// comparisons end here, without touching the key's bytes.
    prefix: (u64, u64),
    seq: u64,
    /// Start of the key (low 56 bits), the value's gap past the key's end (7 bits) and
    /// `IN_OVERFLOW` when both lie in the overflow buffer.
    key_at: u64,
    /// Keys are at most u32::MAX bytes long by the entry format.
    key_len: u32,
    /// `TOMBSTONE` for a delete.
    value_len: u32,
}

impl RunEntry {
    /// `value` None: a tombstone. None when the entry cannot be packed: the value is not
    /// in the key's buffer shortly after it, or a length does not fit. Copying key and value
    /// side by side into an overflow buffer always packs, up to values of 4 GiB (far past
    /// the 64 MiB an SST block holds).
    pub fn new(key: Loc, value: Option<Loc>, seq: u64) -> Option<RunEntry> {
        let (in_overflow, key_start, key_len) = key;
        let key_end = key_start.checked_add(key_len)?;
        let (gap, value_len) = match value {
            Some((o, start, len)) if o == in_overflow => {
                (start.checked_sub(key_end)?, u32::try_from(len).ok()?)
            }
            Some(_) => return None,
            None => (0, TOMBSTONE),
        };
        if gap > MAX_GAP || value_len == TOMBSTONE && value.is_some() {
            return None;
        }
        let start = u64::try_from(key_start).ok().filter(|&s| s <= AT_MASK)?;
        let flag = if in_overflow { IN_OVERFLOW } else { 0 };
        Some(RunEntry {
            prefix: (0, 0),
            seq,
            key_at: start | (gap as u64) << GAP_SHIFT | flag,
            key_len: u32::try_from(key_len).ok()?,
            value_len,
        })
    }

    fn key_loc(&self) -> (u64, u64) {
        (
            self.key_at & (AT_MASK | IN_OVERFLOW),
            u64::from(self.key_len),
        )
    }

    fn value_loc(&self) -> Option<(u64, u64)> {
        if self.value_len == TOMBSTONE {
            return None;
        }
        let gap = (self.key_at >> GAP_SHIFT) & MAX_GAP as u64;
        let (at, key_len) = self.key_loc();
        Some((at + key_len + gap, u64::from(self.value_len)))
    }
}

/// The first 16 bytes of `key` as two big-endian words, zero-padded: comparing them orders
/// keys as their bytes do, up to a tie.
fn prefix_of(key: &[u8]) -> (u64, u64) {
    let mut b = [0u8; 16];
    let n = key.len().min(16);
    b[..n].copy_from_slice(&key[..n]);
    let (hi, lo) = b.split_at(8);
    (
        u64::from_be_bytes(hi.try_into().unwrap_or_default()),
        u64::from_be_bytes(lo.try_into().unwrap_or_default()),
    )
}

/// `items` (prefixes filled in) grouped by the first byte of their key, in byte order,
/// each group in the order the items came: a stable counting sort on one byte.
fn group_by_first_byte(items: &[RunEntry]) -> Vec<RunEntry> {
    let mut counts = [0usize; 256];
    for e in items {
        counts[(e.prefix.0 >> 56) as usize] += 1;
    }
    if counts.iter().filter(|&&c| c > 0).count() <= 1 {
        return items.to_vec();
    }
    let mut next = [0usize; 256];
    let mut at = 0;
    for (n, c) in next.iter_mut().zip(counts) {
        *n = at;
        at += c;
    }
    let mut out = vec![RunEntry::default(); items.len()];
    for e in items {
        let slot = &mut next[(e.prefix.0 >> 56) as usize];
        out[*slot] = *e;
        *slot += 1;
    }
    out
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
    /// `items` already sorted by key, each key once (a validated snapshot): no sort needed.
    pub fn from_sorted(bytes: Arc<Vec<u8>>, items: Vec<RunEntry>, max_seq: u64) -> SortedRun {
        let mut run = SortedRun {
            bytes,
            overflow: Arc::new(Vec::new()),
            entries: items,
            max_seq,
        };
        run.fill_prefixes();
        run
    }

    /// `items` in log order; sorts them and keeps the newest version of each key.
    ///
    /// Keys are grouped by their first byte first, which is their record type in drkit (a
    /// counting pass, then a scatter into the run's own vector): several smaller sorts that
    /// stay closer in cache than one large one. A group already in strictly increasing
    /// order (one writer's time-ordered ids) is left as it is. `items` is the caller's
    /// scratch (its prefixes are filled in): the run keeps its own copy.
    pub fn build(
        bytes: Arc<Vec<u8>>,
        overflow: Arc<Vec<u8>>,
        items: &mut [RunEntry],
        max_seq: u64,
    ) -> SortedRun {
        let mut run = SortedRun {
            bytes,
            overflow,
            entries: Vec::new(),
            max_seq,
        };
        for e in items.iter_mut() {
            e.prefix = prefix_of(run.slice(e.key_loc()));
        }
        let mut entries = group_by_first_byte(items);
        let mut start = 0;
        while start < entries.len() {
            let first = entries[start].prefix.0 >> 56;
            let len = entries[start..]
                .iter()
                .position(|e| e.prefix.0 >> 56 != first)
                .unwrap_or(entries.len() - start);
            let group = &mut entries[start..start + len];
            if !group.is_sorted_by(|a, b| run.compare(a, b).is_lt()) {
                // Newest first among equal keys, so deduplicating in place keeps the newest:
                // no second vector of millions of entries to fault in.
                group.sort_unstable_by(|a, b| run.compare(a, b).then(b.seq.cmp(&a.seq)));
            }
            start += len;
        }
        entries.dedup_by(|later, kept| run.compare(later, kept).is_eq());
        run.entries = entries;
        run
    }

    fn fill_prefixes(&mut self) {
        let mut entries = std::mem::take(&mut self.entries);
        for e in &mut entries {
            e.prefix = prefix_of(self.slice(e.key_loc()));
        }
        self.entries = entries;
    }

    /// Orders two entries by key: the prefixes decide unless they tie, and two keys of at
    /// most 16 bytes with equal prefixes differ only in length (zero padding).
    fn compare(&self, a: &RunEntry, b: &RunEntry) -> std::cmp::Ordering {
        a.prefix.cmp(&b.prefix).then_with(|| {
            if a.key_len <= 16 && b.key_len <= 16 {
                a.key_len.cmp(&b.key_len)
            } else {
                self.slice(a.key_loc()).cmp(self.slice(b.key_loc()))
            }
        })
    }

    /// Orders an entry against a key being looked up.
    fn compare_key(&self, e: &RunEntry, key: &[u8], key_prefix: (u64, u64)) -> std::cmp::Ordering {
        e.prefix
            .cmp(&key_prefix)
            .then_with(|| self.slice(e.key_loc()).cmp(key))
    }

    fn slice(&self, (at, len): (u64, u64)) -> &[u8] {
        let buf: &[u8] = if at & IN_OVERFLOW != 0 {
            &self.overflow
        } else {
            &self.bytes
        };
        let start = (at & !IN_OVERFLOW) as usize;
        buf.get(start..start + len as usize).unwrap_or(&[])
    }

    fn key(&self, i: usize) -> &[u8] {
        self.slice(self.entries[i].key_loc())
    }

    /// Entry `i` borrowed from the run's buffers: key, sequence, value (None: tombstone).
    fn borrowed(&self, i: usize) -> (&[u8], u64, Option<&[u8]>) {
        let e = &self.entries[i];
        (self.key(i), e.seq, e.value_loc().map(|v| self.slice(v)))
    }

    /// Every entry in key order: key, sequence, value (None: a tombstone).
    pub fn rows(&self) -> impl Iterator<Item = (&[u8], u64, Option<&[u8]>)> {
        (0..self.entries.len()).map(|i| self.borrowed(i))
    }

    fn owned(&self, i: usize) -> (Vec<u8>, Versioned) {
        let (key, seq, value) = self.borrowed(i);
        (
            key.to_vec(),
            Versioned {
                seq,
                value: value.map(<[u8]>::to_vec),
            },
        )
    }

    fn approx_bytes(&self) -> usize {
        self.bytes.len()
            + self.overflow.len()
            + self.entries.len() * std::mem::size_of::<RunEntry>()
    }

    fn get(&self, key: &[u8]) -> Option<Versioned> {
        let p = prefix_of(key);
        let i = self
            .entries
            .binary_search_by(|e| self.compare_key(e, key, p))
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
            Bound::Included(k) => {
                let p = prefix_of(k);
                self.entries
                    .partition_point(|e| self.compare_key(e, k, p).is_lt())
            }
            Bound::Excluded(k) => {
                let p = prefix_of(k);
                self.entries
                    .partition_point(|e| self.compare_key(e, k, p).is_le())
            }
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
            RunEntry::new((false, 0, 1), Some((false, 1, 1)), 1),
            RunEntry::new((false, 2, 1), Some((false, 3, 1)), 2),
            RunEntry::new((false, 4, 1), None, 3),
            RunEntry::new((true, 0, 1), Some((true, 1, 1)), 4),
        ];
        let mut items: Vec<RunEntry> = items.into_iter().map(Option::unwrap).collect();
        let m = Memtable::from_run(SortedRun::build(bytes, overflow, &mut items, 4));
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

    #[test]
    fn a_run_entry_packs_into_40_bytes_and_refuses_what_it_cannot_hold() {
        assert_eq!(std::mem::size_of::<RunEntry>(), 40);
        // A snapshot's value starts after the key's sequence and kind: a gap.
        let bytes = Arc::new(b"key.........value".to_vec());
        let e = RunEntry::new((false, 0, 3), Some((false, 12, 5)), 7).unwrap();
        let run = SortedRun::build(bytes, Arc::new(Vec::new()), &mut [e], 7);
        assert_eq!(
            run.rows().collect::<Vec<_>>(),
            vec![(&b"key"[..], 7, Some(&b"value"[..]))]
        );
        // Value before the key, in another buffer, too far after it, or of 4 GiB.
        assert!(RunEntry::new((false, 10, 3), Some((false, 0, 5)), 1).is_none());
        assert!(RunEntry::new((false, 0, 3), Some((true, 3, 5)), 1).is_none());
        assert!(RunEntry::new((false, 0, 3), Some((false, 3 + 128, 5)), 1).is_none());
        assert!(RunEntry::new((false, 0, 3), Some((false, 3, 1 << 32)), 1).is_none());
        assert!(RunEntry::new((false, 0, 3), Some((false, 3, u32::MAX as usize)), 1).is_none());
        assert!(RunEntry::new((true, 1 << 56, 3), None, 1).is_none());
        assert!(RunEntry::new((false, 0, 3), Some((false, 3 + 127, 5)), 1).is_some());
    }

    proptest::proptest! {
        /// A run answers like a map that keeps each key's newest write, whatever the keys'
        /// first bytes, lengths (past the 16-byte prefix too) and order of arrival.
        #[test]
        fn a_run_keeps_the_newest_write_of_every_key(
            writes in proptest::collection::vec(
                (proptest::sample::select(vec![b'A', b'O', b'T', 0]),
                 proptest::collection::vec(proptest::sample::select(vec![0u8, b'x', b'y']), 0..20),
                 proptest::option::of(0u8..255)),
                0..200),
        ) {
            let mut bytes = Vec::new();
            let mut items = Vec::new();
            let mut model = std::collections::BTreeMap::new();
            for (seq, (first, rest, value)) in writes.iter().enumerate() {
                let seq = seq as u64 + 1;
                let mut key = vec![*first];
                key.extend(rest);
                let at = bytes.len();
                bytes.extend(&key);
                let value_loc = value.map(|v| {
                    bytes.push(v);
                    (false, at + key.len(), 1)
                });
                items.push(RunEntry::new((false, at, key.len()), value_loc, seq).unwrap());
                model.insert(key, (seq, value.map(|v| vec![v])));
            }
            let run = SortedRun::build(Arc::new(bytes), Arc::new(Vec::new()), &mut items, 0);
            let got: std::collections::BTreeMap<_, _> = run
                .rows()
                .map(|(k, s, v)| (k.to_vec(), (s, v.map(<[u8]>::to_vec))))
                .collect();
            proptest::prop_assert_eq!(got.len(), run.rows().count());
            let got: Vec<_> = got.into_iter().collect();
            let rows_in_order: Vec<Vec<u8>> = run.rows().map(|(k, _, _)| k.to_vec()).collect();
            proptest::prop_assert_eq!(&rows_in_order, &got.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>());
            let want: Vec<_> = model.into_iter().collect();
            proptest::prop_assert_eq!(got, want);
        }
    }
}
