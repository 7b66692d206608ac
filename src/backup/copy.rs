//! How the repository stores a file as it is: tables whose data blocks the engine compressed
//! already (SST format version 2), where zstd would spend CPU to gain nothing.
//!
//! ```text
//!  stored file := the original bytes, unchanged      backups/<id>/files/<path> (no .zst)
//!  manifest    := "stored_as": "copy", "stored_size" = "size", "blake3" of those bytes
//! ```
//!
//! The copy is one pass: each chunk is read once, hashed with blake3, and written to the
//! store. Restore mirrors it, writing with copy_file_range where the stored copy is a local
//! file (in-kernel, and a reflink on filesystems that share extents), and checks the size and
//! blake3 as it goes; a copy that fails its blake3 is opened as an SSTable to name the damaged
//! block's offset. A plain `cp` of the stored file gives the table back.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::Progress;
use super::manifest::{BackupFile, StoredAs};
use super::store::RepoStore;
use crate::error::{Error, IoContext, Result};
use crate::format::sst::Sst;
use crate::io::Writeback;

/// Bytes read, hashed and copied at a time: large enough that the per-call cost vanishes,
/// small enough to stay in the CPU cache between the hash and the copy.
const COPY_CHUNK: usize = 1 << 20;

/// Copies `src` to the object `key` of `store` (whole and durable before returning) and
/// returns its manifest entry.
pub fn store(
    src: &Path,
    store: &dyn RepoStore,
    key: &str,
    rel: &str,
    progress: Progress<'_>,
) -> Result<BackupFile> {
    let mut input = File::open(src).at(src)?;
    let dst = store.locate(key);
    let mut out = store.writer(key)?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; COPY_CHUNK];
    let mut size = 0u64;
    loop {
        let n = read_full(&mut input, &mut buf).at(src)?;
        if n == 0 {
            break;
        }
        let chunk = buf.get(..n).unwrap_or_default();
        hasher.update(chunk);
        out.write_all(chunk).at(&dst)?;
        size += n as u64;
        progress(n as u64);
    }
    out.finish()?;
    Ok(BackupFile {
        path: rel.to_string(),
        size,
        blake3: hasher.finalize().to_hex().to_string(),
        stored_size: size,
        stored_in: None,
        stored_as: StoredAs::Copy,
    })
}

/// Restore's pass over a local stored copy: reads `input` (at `path`) chunk by chunk, hashes
/// each chunk and copies it to the same offset of `out` if given. Returns the bytes read and
/// their blake3, hex.
fn pump(
    input: &mut File,
    path: &Path,
    out: Option<(&File, &Path)>,
    progress: Progress<'_>,
) -> Result<(u64, String)> {
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; COPY_CHUNK];
    let mut at = 0u64;
    let mut kernel_copy = true;
    let mut writeback = Writeback::default();
    loop {
        let n = read_full(input, &mut buf).at(path)?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        hasher.update(chunk);
        if let Some((out, out_path)) = out {
            if kernel_copy {
                kernel_copy = copy_range(input, out, at, n).at(out_path)?;
            }
            if !kernel_copy {
                out.write_all_at(chunk, at).at(out_path)?;
            }
            writeback.wrote(out, n as u64);
        }
        at += n as u64;
        progress(n as u64);
    }
    Ok((at, hasher.finalize().to_hex().to_string()))
}

/// The same pass over a stream (a stored copy in an object store).
fn pump_stream(
    input: &mut dyn Read,
    path: &Path,
    out: Option<(&File, &Path)>,
    progress: Progress<'_>,
) -> Result<(u64, String)> {
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; COPY_CHUNK];
    let mut at = 0u64;
    let mut writeback = Writeback::default();
    loop {
        let n = read_full(input, &mut buf).at(path)?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        hasher.update(chunk);
        if let Some((out, out_path)) = out {
            out.write_all_at(chunk, at).at(out_path)?;
            writeback.wrote(out, n as u64);
        }
        at += n as u64;
        progress(n as u64);
    }
    Ok((at, hasher.finalize().to_hex().to_string()))
}

/// Copies `n` bytes at `at` from `input` to the same place in `out` inside the kernel. False
/// when this kernel or filesystem pair cannot (the caller then writes the bytes itself).
fn copy_range(input: &File, out: &File, at: u64, n: usize) -> std::io::Result<bool> {
    let (mut from, mut to) = (at, at);
    let mut left = n;
    while left > 0 {
        match rustix::fs::copy_file_range(input, Some(&mut from), out, Some(&mut to), left) {
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(done) => left -= done,
            // Not supported here (old kernel, across filesystems, special files): fall back,
            // but only before any byte of this chunk was copied in the kernel.
            Err(
                rustix::io::Errno::NOSYS
                | rustix::io::Errno::XDEV
                | rustix::io::Errno::INVAL
                | rustix::io::Errno::OPNOTSUPP,
            ) if left == n => return Ok(false),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(true)
}

/// Fills `buf` unless the file ends first; returns the bytes read.
fn read_full<R: Read + ?Sized>(input: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match input.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Reads the stored copy `key` of `expect` in `store`, checking its size and blake3, and
/// writes it to `sink` if given (not fsynced: the caller does). Failures are corruption errors
/// naming the object, with the damaged block's offset when the copy is a table.
pub fn load(
    store: &dyn RepoStore,
    key: &str,
    expect: &BackupFile,
    sink: super::codec::Sink<'_>,
    progress: Progress<'_>,
) -> Result<()> {
    let stored = &store.locate(key);
    let bad = |offset: u64, what: String| super::codec::corrupt(stored, offset, what);
    let Some((mut input, len)) = store.reader(key)? else {
        return Err(bad(0, "the file is missing from the repository".into()));
    };
    if len != expect.stored_size || len != expect.size {
        return Err(bad(
            len.min(expect.size),
            format!(
                "stored copy is {len} bytes, the manifest says {}",
                expect.size
            ),
        ));
    }
    let sink = sink.map(|(f, p)| (&*f, p));
    // A local copy goes through the kernel (copy_file_range); a remote one as a stream.
    let local = store.local_path(key).and_then(|p| File::open(p).ok());
    let (at, sum) = match local {
        Some(mut file) => pump(&mut file, stored, sink, progress)?,
        None => pump_stream(&mut input, stored, sink, progress)?,
    };
    drop(input);
    if at != expect.size {
        return Err(bad(
            at,
            format!(
                "stored copy ends after {at} bytes, the manifest says {} (cut short while read?)",
                expect.size
            ),
        ));
    }
    if sum != expect.blake3 {
        let offset = store
            .get(key)
            .ok()
            .flatten()
            .and_then(|bytes| damaged_block(stored, bytes))
            .unwrap_or(0);
        return Err(bad(
            offset,
            format!(
                "blake3 of the stored copy is {sum}, the manifest says {} for {}",
                expect.blake3, expect.path
            ),
        ));
    }
    Ok(())
}

/// The offset of the first block of the table copy `bytes` that fails its checksum, or of
/// the damage that stops it from opening; None if it is not a readable table at all.
fn damaged_block(stored: &Path, bytes: Vec<u8>) -> Option<u64> {
    match Sst::from_bytes(stored, bytes) {
        Ok(sst) => sst
            .blocks()
            .into_iter()
            .find(|b| !b.checksum_ok || (b.kind == "data" && b.entries.is_none()))
            .map(|b| b.offset),
        Err(Error::Corruption { offset, .. }) => Some(offset),
        Err(_) => None,
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a failed unwrap is the clearest test failure"
)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_round_trips_and_damage_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        let data: Vec<u8> = (0..3 * COPY_CHUNK + 12345).map(|i| (i * 7) as u8).collect();
        std::fs::write(&src, &data).unwrap();
        let stored = dir.path().join("stored");
        let repo = crate::backup::store::LocalStore::new(dir.path());
        let f = store(&src, &repo, "stored", "sst/x.sst", &|_| {}).unwrap();
        assert_eq!(f.size, data.len() as u64);
        assert_eq!(f.stored_size, f.size);
        assert_eq!(f.stored_as, StoredAs::Copy);
        assert_eq!(f.blake3, blake3::hash(&data).to_hex().to_string());
        assert_eq!(std::fs::read(&stored).unwrap(), data);

        let restored = dir.path().join("restored");
        let mut out = File::create(&restored).unwrap();
        load(&repo, "stored", &f, Some((&mut out, &restored)), &|_| {}).unwrap();
        assert_eq!(std::fs::read(&restored).unwrap(), data);
        load(&repo, "stored", &f, None, &|_| {}).unwrap();

        let mut flipped = data.clone();
        flipped[COPY_CHUNK + 5] ^= 1;
        std::fs::write(&stored, &flipped).unwrap();
        let err = load(&repo, "stored", &f, None, &|_| {}).unwrap_err();
        assert!(err.to_string().contains("blake3"), "{err}");

        std::fs::write(&stored, &data[..100]).unwrap();
        let err = load(&repo, "stored", &f, None, &|_| {}).unwrap_err();
        assert!(err.to_string().contains("100 bytes"), "{err}");

        std::fs::remove_file(&stored).unwrap();
        let err = load(&repo, "stored", &f, None, &|_| {}).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
    }
}
