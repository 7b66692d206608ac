//! Where a repository's objects live: one small trait, two kinds. A local dir ([`LocalStore`])
//! or a bucket prefix on any S3-compatible object store ([`S3Store`]). Everything above it
//! addresses objects by key (`backups/<id>/manifest.json`), never by path, so nothing above
//! it knows which kind it has.
//!
//! What both kinds guarantee, and the repository's atomicity rests on:
//! - a `put`, or a `writer` once finished, makes the whole object visible at once or not at
//!   all, and it is durable when the call returns;
//! - `create` writes only where no object is (a lock taken by a second process fails);
//! - reads, lists and deletes see every write that returned before them.
//!
//! Keys are `/`-separated, relative, with no empty, `.` or `..` segment ([`check_key`]).

use std::fmt;
use std::io::{Read, Write};
use std::path::PathBuf;

use crate::error::{Error, Result};

pub mod credentials;
mod local;
pub mod lock;
mod s3;

pub use local::LocalStore;
pub use lock::{Attempt, Busy, HeldLock, Holder, LockMode};
pub use s3::{DEFAULT_CONCURRENCY, DEFAULT_PART_SIZE, S3Config, S3Store, StaticKey};

/// One level of a listing: the objects directly under a prefix and the prefixes below it
/// (as a directory's files and subdirectories), each sorted by name.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Listing {
    /// Name (the last key segment) and size in bytes.
    pub objects: Vec<(String, u64)>,
    /// Names of the prefixes one level down.
    pub prefixes: Vec<String>,
}

/// A large object written as a stream. Nothing is visible under its key until `finish`
/// returns; dropped or aborted unfinished, it leaves nothing behind (at most an upload that
/// the store's own clean-up removes).
pub trait StoreWriter: Write + Send {
    /// Makes the object visible, whole and durable; returns its size.
    fn finish(self: Box<Self>) -> Result<u64>;
}

pub trait RepoStore: Send + Sync + fmt::Debug {
    /// How messages name `key`: a path, or `s3://BUCKET/PREFIX/KEY`.
    fn locate(&self, key: &str) -> PathBuf;

    /// The object as a local file, where the store keeps it so (for in-kernel copies).
    fn local_path(&self, key: &str) -> Option<PathBuf> {
        let _ = key;
        None
    }

    /// The whole object; None when there is none.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>>;

    /// The object's bytes as a stream, and its size; None when there is none.
    fn reader(&self, key: &str) -> Result<Option<(Box<dyn Read + Send>, u64)>>;

    /// The object's size; None when there is none.
    fn size(&self, key: &str) -> Result<Option<u64>>;

    /// Writes `bytes` as `key`, replacing any object there.
    fn put(&self, key: &str, bytes: &[u8]) -> Result<()>;

    /// Writes `bytes` as `key` only if no object is there: false when one is.
    fn create(&self, key: &str, bytes: &[u8]) -> Result<bool>;

    /// A stream that becomes the object `key` when finished (replacing any there).
    fn writer(&self, key: &str) -> Result<Box<dyn StoreWriter>>;

    /// The objects and prefixes directly under `prefix` ("" for the top).
    fn list(&self, prefix: &str) -> Result<Listing>;

    /// Removes `key`; false when there was none.
    fn delete(&self, key: &str) -> Result<bool>;

    /// Removes every object under `prefix`.
    fn delete_prefix(&self, prefix: &str) -> Result<()>;

    /// Removes what writers killed mid-write left under `prefix`: temporary files, multipart
    /// uploads never completed. Returns where they were. Only while holding the lock that
    /// keeps other writers out of `prefix`.
    fn clean_unfinished(&self, prefix: &str) -> Result<Vec<PathBuf>>;

    /// One attempt at the lock `name` (a key), without waiting (see [`lock`]).
    fn try_lock(&self, name: &str, mode: LockMode, me: &Holder) -> Result<Attempt>;

    /// Breaks the lock `name`, returning who held it. Refused where the holder is known to
    /// be alive (a local lock is only ever held by a live process).
    fn break_lock(&self, name: &str) -> Result<Vec<Holder>>;
}

/// Refuses a key that could name something outside the repository or that the two kinds
/// would read differently (an empty segment, `.`, `..`, a backslash, a leading `/`).
pub fn check_key(key: &str) -> Result<()> {
    let bad = key.is_empty()
        || key.contains('\\')
        || key
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..");
    if bad {
        return Err(Error::InvalidInput(format!(
            "{key:?} is not a repository key (relative, `/`-separated, no empty, `.` or `..` part)"
        )));
    }
    Ok(())
}

/// `prefix` checked as a key, or "" for the top.
fn check_prefix(prefix: &str) -> Result<()> {
    if prefix.is_empty() {
        Ok(())
    } else {
        check_key(prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stay_inside_the_repository() {
        for good in [
            "repo.json",
            "backups/20260101T000000Z-ab/files/sst/1.sst.zst",
        ] {
            check_key(good).unwrap();
        }
        for bad in [
            "",
            "/etc/passwd",
            "a//b",
            "a/./b",
            "../x",
            "a/..",
            "a\\b",
            "a/",
        ] {
            assert!(check_key(bad).is_err(), "{bad:?} accepted");
        }
        check_prefix("").unwrap();
    }
}
