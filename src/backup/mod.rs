//! Backups of a data dir into a repository, and restore from it.
//!
//! Full and incremental backups of a stopped, crashed or running dir (see [`create`] and
//! [`point`]).
//!
//! Every file is stored zstd-compressed with the blake3 of its original bytes; the manifest
//! also records a logical digest of all live records, so a restore is checked both file by
//! file and as a whole.

pub mod archive;
pub mod create;
pub mod expire;
pub mod manifest;
pub mod pitr;
pub mod point;
pub mod repo;
pub mod restore;
pub mod sealed;
pub mod verify;

use std::fs::File;
use std::io::{Read, Write};
use std::ops::Bound;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

pub use create::{BackupKind, CreateOptions, CreateReport, create};
pub use manifest::{BackupFile, BackupManifest};
pub use repo::{Listed, Repo};
pub use restore::{RestoreOptions, RestorePlan, RestoreReport, TargetState};
pub use verify::{BackupCheck, Problem, VerifyReport};

use crate::engine::ReadOnly;
use crate::error::{Error, IoContext, Result};

/// Called with the number of original bytes just processed (for a progress bar).
pub type Progress<'a> = &'a (dyn Fn(u64) + Sync);

/// Chunk for streaming copies: large enough that zstd and blake3 run at full speed.
const CHUNK: usize = 1 << 20;

/// Live records and their digest, in key order, framed as in [`BackupManifest::logical_digest`].
pub fn logical_digest(ro: &ReadOnly) -> Result<(String, u64)> {
    let mut h = blake3::Hasher::new();
    let mut records = 0u64;
    for item in ro.scan(&[], Bound::Unbounded)? {
        let (k, v) = item?;
        h.update(&(k.len() as u64).to_le_bytes());
        h.update(&k);
        h.update(&(v.len() as u64).to_le_bytes());
        h.update(&v);
        records += 1;
    }
    Ok((h.finalize().to_hex().to_string(), records))
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

/// Counts the bytes read through it, so a decode error can say how far into the
/// compressed file it happened.
struct Counting<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

/// Decompresses the repository file `stored` for `expect`, checking its stored size, its
/// original size and blake3, writing the bytes to `sink` if given. Every failure is a
/// corruption error naming `stored`.
fn decode_stored(
    stored: &Path,
    expect: &BackupFile,
    mut sink: Option<(&mut dyn Write, &Path)>,
    progress: Progress<'_>,
) -> Result<()> {
    let hint = "the repository copy is damaged; this backup cannot be trusted: restore from \
                another backup (`drkit backup list`) and take a new one";
    let bad = |offset: u64, what: String| Error::corruption(stored, offset, what).with_hint(hint);
    let file = match File::open(stored) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(bad(0, "the file is missing from the repository".into()));
        }
        Err(e) => return Err(Error::io(stored, e)),
    };
    let stored_len = file.metadata().at(stored)?.len();
    if stored_len != expect.stored_size {
        return Err(bad(
            stored_len.min(expect.stored_size),
            format!(
                "stored size is {stored_len} bytes, the manifest says {}",
                expect.stored_size
            ),
        ));
    }
    let mut reader = Counting {
        inner: file,
        read: 0,
    };
    let mut decoder = zstd::stream::read::Decoder::new(&mut reader).at(stored)?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    loop {
        let n = match decoder.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let at = decoder.get_ref().get_ref().read;
                return Err(bad(
                    at,
                    format!("zstd data is damaged or cut short ({e}) near this compressed offset"),
                ));
            }
        };
        let data = buf.get(..n).unwrap_or_default();
        total += n as u64;
        if total > expect.size {
            return Err(bad(
                decoder.get_ref().get_ref().read,
                format!(
                    "decompresses to more than the {} bytes the manifest says",
                    expect.size
                ),
            ));
        }
        hasher.update(data);
        if let Some((f, path)) = sink.as_mut() {
            f.write_all(data).at(path)?;
        }
        progress(n as u64);
    }
    if total != expect.size {
        return Err(bad(
            decoder.get_ref().get_ref().read,
            format!(
                "decompresses to {total} bytes, the manifest says {} (cut short?)",
                expect.size
            ),
        ));
    }
    let sum = hasher.finalize().to_hex().to_string();
    if sum != expect.blake3 {
        return Err(bad(
            0,
            format!(
                "blake3 of the content is {sum}, the manifest says {} for {}",
                expect.blake3, expect.path
            ),
        ));
    }
    Ok(())
}
