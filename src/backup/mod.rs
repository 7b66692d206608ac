//! Backups of a data dir into a repository, and restore from it.
//!
//! Full and incremental backups of a stopped, crashed or running dir (see [`create`] and
//! [`point`]).
//!
//! Every file is stored zstd-compressed with the blake3 of its original bytes; the manifest
//! also records a logical digest of all live records, so a restore is checked both file by
//! file and as a whole.

pub mod archive;
pub mod codec;
pub mod copy;
pub mod create;
pub mod expire;
pub mod manifest;
mod pipeline;
pub mod pitr;
pub mod point;
pub mod repo;
pub mod restore;
pub mod sealed;
pub mod store;
pub mod unlock;
pub mod verify;

use std::ops::Bound;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

pub use create::{BackupKind, CreateOptions, CreateReport, create};
pub use manifest::{BackupFile, BackupManifest};
pub use repo::{Listed, Repo};
pub use restore::{RestoreOptions, RestorePlan, RestoreReport, TargetState};
pub use verify::{BackupCheck, Problem, VerifyReport};

use crate::engine::ReadOnly;
use crate::error::{Error, Result};

/// Called with the number of original bytes just processed (for a progress bar).
pub type Progress<'a> = &'a (dyn Fn(u64) + Sync);

/// Chunk for streaming copies: large enough that zstd and blake3 run at full speed.
const CHUNK: usize = 1 << 20;

/// SST bytes per range of the parallel [`logical_digest`] scan: a range's framed records are
/// held in memory until hashed, a few ranges at a time.
const DIGEST_RANGE_BYTES: u64 = 16 << 20;

/// Live records and their digest, in key order, framed as in [`BackupManifest::logical_digest`].
pub fn logical_digest(ro: &ReadOnly) -> Result<(String, u64)> {
    logical_digest_with(ro, file_workers())
}

/// [`logical_digest`] with the key space cut into ranges scanned by `workers` threads: the
/// scan (merging, decoding, checksumming blocks) is what costs, so it runs in parallel,
/// while one thread hashes the ranges' framed records in key order, which gives exactly the
/// digest of one scan.
fn logical_digest_with(ro: &ReadOnly, workers: usize) -> Result<(String, u64)> {
    let mut h = blake3::Hasher::new();
    let mut records = 0u64;
    let mut ranges = key_ranges(ro, DIGEST_RANGE_BYTES).into_iter();
    // Hashed buffers go back to the workers: fresh ones of many MiB would be page-faulted in
    // and zeroed by the kernel every time.
    let spare: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
    pipeline::ordered(
        workers,
        workers,
        || Ok(ranges.next()),
        || Ok(()),
        |(), (start, end)| {
            let buf = lock(&spare).pop().unwrap_or_default();
            framed_range(ro, &start, end, buf)
        },
        |(framed, n)| {
            // blake3 hashes many 1 KiB chunks at once with SIMD only when given them at
            // once; fed record by record it compresses one 64-byte block at a time, several
            // times slower. The hash of a stream does not depend on how it is split.
            h.update(&framed);
            records += n;
            lock(&spare).push(framed);
            Ok(())
        },
    )?;
    Ok((h.finalize().to_hex().to_string(), records))
}

/// The live records in `[start, end)`, framed into `framed` (cleared first), and their count.
fn framed_range(
    ro: &ReadOnly,
    start: &[u8],
    end: Bound<Vec<u8>>,
    mut framed: Vec<u8>,
) -> Result<(Vec<u8>, u64)> {
    framed.clear();
    let mut n = 0u64;
    let upper = match &end {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    };
    ro.for_each_live(start, upper, |k, v| {
        framed.extend_from_slice(&(k.len() as u64).to_le_bytes());
        framed.extend_from_slice(k);
        framed.extend_from_slice(&(v.len() as u64).to_le_bytes());
        framed.extend_from_slice(v);
        n += 1;
        Ok(())
    })?;
    Ok((framed, n))
}

/// Cuts the key space into contiguous ranges, `[start, next start)` and the last one open,
/// holding about `target` SST bytes each going by the SSTs' first keys and sizes. Any cut is
/// correct (every range merges every source); the sizes only balance the work and bound the
/// memory a range's records take.
fn key_ranges(ro: &ReadOnly, target: u64) -> Vec<(Vec<u8>, Bound<Vec<u8>>)> {
    let mut firsts: Vec<(&[u8], u64)> = ro
        .state()
        .files
        .values()
        .map(|f| (f.smallest.as_slice(), f.size))
        .collect();
    firsts.sort_unstable();
    let mut cuts: Vec<Vec<u8>> = Vec::new();
    let mut acc = 0u64;
    for (key, size) in firsts {
        if acc >= target && cuts.last().is_none_or(|c| c.as_slice() < key) && !key.is_empty() {
            cuts.push(key.to_vec());
            acc = 0;
        }
        acc += size;
    }
    let mut ranges = Vec::with_capacity(cuts.len() + 1);
    let mut start = Vec::new();
    for cut in cuts {
        let next = cut.clone();
        ranges.push((std::mem::replace(&mut start, next), Bound::Excluded(cut)));
    }
    ranges.push((start, Bound::Unbounded));
    ranges
}

/// Runs `job` over `items` on `threads` rayon workers, each taking the next item from a
/// shared queue. The caller sorts largest first: a plain parallel iterator would split the
/// list into fixed halves, and one worker could be left with the big files at the end. Stops
/// handing out work after the first error, which is returned.
fn run_queue<T: Sync, R: Send>(
    threads: usize,
    items: &[T],
    job: impl Fn(&T) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    let threads = threads.max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::InvalidInput(format!("cannot start {threads} worker threads: {e}")))?;
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    let results: Mutex<Vec<(usize, R)>> = Mutex::new(Vec::with_capacity(items.len()));
    pool.scope(|s| {
        for _ in 0..threads.min(items.len()) {
            s.spawn(|_| {
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    match job(item) {
                        Ok(r) => lock(&results).push((i, r)),
                        Err(e) => {
                            stop.store(true, Ordering::Relaxed);
                            lock(&first_error).get_or_insert(e);
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = lock(&first_error).take() {
        return Err(e);
    }
    let mut results = results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    results.sort_by_key(|(i, _)| *i);
    Ok(results.into_iter().map(|(_, r)| r).collect())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Worker threads for the blocks of one file. Every file gets all cores: with `--threads 1`
/// one big file still keeps them busy, and with more the extra threads only overlap, which
/// costs little next to the disk time they hide.
fn file_workers() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// Decompresses the stored object `key` for `expect`, checking its stored size, its original
/// size and blake3, writing the bytes to `sink` if given. Every failure is a corruption error
/// naming the object.
fn decode_stored(
    store: &dyn store::RepoStore,
    key: &str,
    expect: &BackupFile,
    sink: codec::Sink<'_>,
    progress: Progress<'_>,
) -> Result<()> {
    load_stored(store, key, expect, sink, file_workers(), progress)
}

/// Reads a stored file however the backup stored it (see [`manifest::StoredAs`]): zstd with
/// `workers` decompression threads, or a copy.
fn load_stored(
    store: &dyn store::RepoStore,
    key: &str,
    expect: &BackupFile,
    sink: codec::Sink<'_>,
    workers: usize,
    progress: Progress<'_>,
) -> Result<()> {
    match expect.stored_as {
        manifest::StoredAs::Zstd => codec::decode(store, key, expect, sink, workers, progress),
        manifest::StoredAs::Copy => copy::load(store, key, expect, sink, progress),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Engine, Options};

    /// The digest's definition, record by record, as the manifest documents it.
    fn digest_by_definition(records: &[(Vec<u8>, Vec<u8>)]) -> String {
        let mut h = blake3::Hasher::new();
        for (k, v) in records {
            h.update(&(k.len() as u64).to_le_bytes());
            h.update(k);
            h.update(&(v.len() as u64).to_le_bytes());
            h.update(v);
        }
        h.finalize().to_hex().to_string()
    }

    #[test]
    fn parallel_logical_digest_matches_its_definition() {
        let dir = tempfile::tempdir().unwrap();
        let mut expect = std::collections::BTreeMap::new();
        {
            let opts = Options {
                sst_target_bytes: 256 << 10,
                ..Options::default()
            };
            let e = Engine::open(dir.path(), opts).unwrap();
            for i in 0..1500u32 {
                // Mixed sizes, a few values larger than a whole range's target below.
                let len = match i % 100 {
                    0 => 300_017,
                    n => usize::try_from(n).unwrap() * 37,
                };
                let v = vec![u8::try_from(i % 251).unwrap(); len];
                let k = format!("key-{i:06}").into_bytes();
                e.put(&k, &v).unwrap();
                expect.insert(crate::format::record::plain_key(&k), v);
                // Several SSTs, so the key space is cut into several ranges.
                if i % 300 == 299 {
                    e.flush().unwrap();
                }
            }
            // Newer versions and a delete left in the WAL, over keys in the SSTs.
            for i in (0..1500u32).step_by(97) {
                let k = format!("key-{i:06}").into_bytes();
                e.put(&k, b"newer").unwrap();
                expect.insert(crate::format::record::plain_key(&k), b"newer".to_vec());
            }
            e.delete(b"key-000500").unwrap();
            expect.remove(&crate::format::record::plain_key(b"key-000500"));
        }
        let expect: Vec<_> = expect.into_iter().collect();
        let lock = crate::io::DirLock::acquire(dir.path()).unwrap();
        let ro =
            ReadOnly::open_locked(dir.path(), crate::engine::RecoveryMode::TolerateTail, &lock)
                .unwrap();
        let want = (digest_by_definition(&expect), expect.len() as u64);
        assert!(
            key_ranges(&ro, 1).len() >= 5,
            "{:?}",
            key_ranges(&ro, 1).len()
        );
        assert_eq!(key_ranges(&ro, u64::MAX).len(), 1);
        for target in [1, 100_000, u64::MAX] {
            let mut h = blake3::Hasher::new();
            let mut n = 0;
            for (start, end) in key_ranges(&ro, target) {
                let (framed, records) = framed_range(&ro, &start, end, Vec::new()).unwrap();
                h.update(&framed);
                n += records;
            }
            let got = (h.finalize().to_hex().to_string(), n);
            assert_eq!(got, want, "ranges of {target} bytes");
        }
        for workers in [1, 2, 3] {
            assert_eq!(logical_digest_with(&ro, workers).unwrap(), want);
        }
    }
}
