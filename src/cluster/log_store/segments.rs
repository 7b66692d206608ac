//! The Raft log's segment files: what an index of them holds (where each entry starts, its
//! term and time), building it by scanning the files at open, and reading entries back.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use super::super::Entry;
use super::super::entry::decode_entry;
use crate::engine::recovery::list_segments;
use crate::error::{Error, IoContext, Result};
use crate::format::entry::{EntryRef, EntryType};
use crate::format::envelope::{self, Kind};
use crate::format::wal::{self, Event};

#[derive(Debug, Clone, Copy)]
pub(super) struct Slot {
    pub(super) offset: u64,
    pub(super) term: u64,
    pub(super) ts: i64,
}

#[derive(Debug)]
pub(super) struct Segment {
    pub(super) first: u64,
    pub(super) path: PathBuf,
    /// Entry `first + i` starts at `slots[i].offset`.
    pub(super) slots: Vec<Slot>,
    /// Just past the last entry (a seal, when there is one, starts here).
    pub(super) end: u64,
}

impl Segment {
    pub(super) fn last_index(&self) -> Option<u64> {
        (!self.slots.is_empty()).then(|| self.first + self.slots.len() as u64 - 1)
    }

    pub(super) fn contains(&self, index: u64) -> bool {
        index >= self.first && index < self.first + self.slots.len() as u64
    }

    pub(super) fn end_of(&self, i: usize) -> u64 {
        self.slots.get(i + 1).map_or(self.end, |s| s.offset)
    }
}

/// Indexes the segments of `wal_dir`, cutting a torn tail off the newest. Returns whether the
/// newest ends with a seal. Segments wholly at or below `purged` may have gaps before them
/// (purge runs ahead of deletion), others must follow on exactly.
pub(super) fn index_segments(wal_dir: &Path, purged: Option<u64>) -> Result<(Vec<Segment>, bool)> {
    let listed = list_segments(wal_dir)?;
    let mut segments: Vec<Segment> = Vec::with_capacity(listed.len());
    let mut sealed = false;
    let count = listed.len();
    for (n, (first, path)) in listed.into_iter().enumerate() {
        let newest = n + 1 == count;
        let bytes = fs::read(&path).at(&path)?;
        if newest && bytes.iter().all(|b| *b == 0) {
            // Created just before a crash, before its envelope reached the disk.
            fs::remove_file(&path).at(&path)?;
            continue;
        }
        envelope::decode(&path, &bytes, Kind::Wal)?;
        let mut seg = Segment {
            first,
            path: path.clone(),
            slots: Vec::new(),
            end: envelope::LEN as u64,
        };
        let mut problem: Option<Error> = None;
        let mut torn_at = None;
        let mut seal_seen = false;
        let mut seal_at = None;
        let end = wal::scan(&bytes, |ev| {
            match ev {
                Event::Entry { offset, entry } => {
                    if seal_seen {
                        problem = Some(Error::corruption(&path, offset, "entry after the seal"));
                        return false;
                    }
                    if entry.kind == EntryType::Seal {
                        seal_seen = true;
                        seal_at = Some(offset);
                        return true;
                    }
                    let want = first + seg.slots.len() as u64;
                    if entry.seq != want || entry.kind == EntryType::Checkpoint {
                        problem = Some(Error::corruption(
                            &path,
                            offset,
                            format!(
                                "Raft log entry {} ({}) where index {want} belongs",
                                entry.seq,
                                entry.kind.name()
                            ),
                        ));
                        return false;
                    }
                    seg.slots.push(Slot {
                        offset,
                        term: entry.term,
                        ts: entry.timestamp_ns,
                    });
                }
                Event::Damage { start, end, what } => {
                    if newest && end as usize >= wal::data_end(&bytes) as usize {
                        torn_at = Some(start);
                    } else {
                        problem = Some(Error::corruption(&path, start, what).with_hint(
                            "the Raft log is damaged inside written data: remove this node \
                             from the cluster, wipe its data dir and add it back (it catches up \
                             from the leader)",
                        ));
                    }
                    return false;
                }
            }
            true
        });
        if let Some(p) = problem {
            return Err(p);
        }
        seg.end = seal_at.or(torn_at).unwrap_or(end.valid_end);
        if seg.slots.is_empty() {
            // Created just before a crash, before its first entry landed.
            if newest {
                fs::remove_file(&path).at(&path)?;
                continue;
            }
            return Err(Error::corruption(
                &path,
                seg.end,
                "Raft log segment without entries",
            ));
        }
        if let Some(prev) = segments.last() {
            let next = prev.first + prev.slots.len() as u64;
            let gap_purged = purged.is_some_and(|p| first <= p + 1 && first > next);
            if first != next && !gap_purged {
                return Err(Error::corruption(
                    &path,
                    0,
                    format!(
                        "Raft log segment starts at index {first}, the previous one ends before {next}"
                    ),
                ));
            }
        }
        sealed = seal_seen;
        segments.push(seg);
    }
    Ok((segments, sealed))
}

/// Entries `from..=to` of `seg`, read from its file with one positioned read.
pub(super) fn read_segment_range(seg: &Segment, from: u64, to: u64) -> Result<Vec<Entry>> {
    let i = (from - seg.first) as usize;
    let j = (to - seg.first) as usize;
    let start = seg.slots[i].offset;
    let stop = seg.end_of(j);
    let file = File::open(&seg.path).at(&seg.path)?;
    let mut buf = vec![0u8; (stop - start) as usize];
    let n = crate::io::read_at(&file, &seg.path, &mut buf, start)?;
    if n < buf.len() {
        return Err(Error::corruption(
            &seg.path,
            start + n as u64,
            "Raft log segment is shorter than its indexed entries",
        ));
    }
    let payloads = wal::entries_in_range(&buf, start)
        .map_err(|(at, what)| Error::corruption(&seg.path, at, what))?;
    let mut out = Vec::with_capacity(payloads.len());
    for (k, p) in payloads.iter().enumerate() {
        let at = seg.slots.get(i + k).map_or(start, |s| s.offset);
        let e = EntryRef::decode(p).map_err(|e| Error::corruption(&seg.path, at, e.to_string()))?;
        if e.kind == EntryType::Seal {
            continue;
        }
        let entry = decode_entry(&e).map_err(|what| Error::corruption(&seg.path, at, what))?;
        if entry.log_id.index != from + out.len() as u64 {
            return Err(Error::corruption(
                &seg.path,
                at,
                format!(
                    "Raft log entry {} where index {} belongs",
                    entry.log_id.index,
                    from + out.len() as u64
                ),
            ));
        }
        out.push(entry);
    }
    if out.len() != j - i + 1 {
        return Err(Error::corruption(
            &seg.path,
            start,
            format!(
                "read {} Raft log entries where {} are indexed",
                out.len(),
                j - i + 1
            ),
        ));
    }
    Ok(out)
}
