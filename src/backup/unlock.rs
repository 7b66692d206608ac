//! `drkit backup unlock`: breaks the locks a dead holder left on a repository.

use super::archive;
use super::repo::{LOCK_FILE, READERS_FILE, Repo};
use super::store::Holder;
use crate::error::Result;

/// Breaks every lock of the repository: LOCK, READERS and each history's archive lock.
/// Returns the lock names and their holders. A store refuses to break a lock it knows to be
/// held by a live process (a local flock).
pub fn break_locks(repo: &Repo) -> Result<Vec<(String, Holder)>> {
    let mut names = vec![LOCK_FILE.to_string(), READERS_FILE.to_string()];
    for h in archive::histories(repo)? {
        names.push(archive::lock_key(&h));
    }
    let mut broken = Vec::new();
    for name in names {
        for holder in repo.store().break_lock(&name)? {
            broken.push((name.clone(), holder));
        }
    }
    Ok(broken)
}
