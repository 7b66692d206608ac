//! Locks on a repository, in whatever each kind of store does best.
//!
//! A local repository uses `flock` on a file at the lock's key: the kernel releases it when
//! its process dies, so a local lock is never stale. An object store has no such thing, so a
//! lock there is a lease: objects holding a [`Holder`], created only where none is
//! (`If-None-Match: *`), refreshed while held, removed when released:
//!
//! ```text
//!  <name>                   the exclusive holder (sealed by nothing: plain JSON, see Holder)
//!  <name>.shared/<token>    one object per shared holder
//! ```
//!
//! A shared holder writes its object, then looks for an exclusive one; an exclusive holder
//! creates its object, then looks for shared ones. Each backs out (removes its own object)
//! when it finds the other, so the two never both hold the lock, on a store whose reads see
//! every write that returned before them (S3 has been so since December 2020).
//!
//! A lease whose holder is gone stays behind. It is taken over without asking when its
//! holder ran on this host and its process no longer exists; a shared lease that was not
//! refreshed for [`STALE_AFTER`] is dropped by an exclusive taker (its reader is gone or cut
//! off); an exclusive lease from another host is reported with its age and how to break it
//! (`drkit backup unlock`): only the operator can know that its process is gone.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::RepoStore;
use crate::error::{Error, Result};

/// How often a held lease is written again with a new `refreshed` time.
pub const REFRESH: Duration = Duration::from_secs(20);
/// A lease not refreshed for this long has lost its holder (or the holder its connection).
pub const STALE_AFTER: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    Exclusive,
    Shared,
}

/// Who holds a lock: written into it, shown to whoever finds it taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// What holds it: `backup create`, `restore`...
    pub operation: String,
    pub host: String,
    pub pid: u32,
    /// RFC 3339, UTC.
    pub started: String,
    /// RFC 3339, UTC: the lease's last renewal (equal to `started` for a local lock).
    pub refreshed: String,
    /// Random: tells this holder's lease from a later one of the same process.
    pub token: String,
}

impl Holder {
    /// This process, about to take a lock for `operation`.
    pub fn me(operation: &str) -> Holder {
        let now = now_rfc3339();
        Holder {
            operation: operation.to_string(),
            host: host_name(),
            pid: std::process::id(),
            started: now.clone(),
            refreshed: now,
            token: format!("{:016x}", rand::random::<u64>()),
        }
    }

    /// Time since the last renewal; None when the time cannot be read.
    pub fn age(&self) -> Option<Duration> {
        let at = chrono::DateTime::parse_from_rfc3339(&self.refreshed).ok()?;
        (chrono::Utc::now() - at.with_timezone(&chrono::Utc))
            .to_std()
            .ok()
            .or(Some(Duration::ZERO))
    }

    /// Whether its process is known to be gone: it ran on this host and no longer exists.
    pub fn is_gone(&self) -> bool {
        self.host == host_name() && !process_exists(self.pid)
    }

    /// Whether the lease has outlived its renewals.
    pub fn is_stale(&self) -> bool {
        self.age().is_some_and(|a| a > STALE_AFTER)
    }

    /// `backup create (pid 123 on db1, since 2026-…Z, renewed 4 s ago)`.
    pub fn describe(&self) -> String {
        let age = self
            .age()
            .map(|a| format!(", renewed {} s ago", a.as_secs()))
            .unwrap_or_default();
        format!(
            "{} (pid {} on {}, since {}{age})",
            self.operation, self.pid, self.host, self.started
        )
    }

    fn encode(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    fn decode(bytes: &[u8]) -> Option<Holder> {
        serde_json::from_slice(bytes).ok()
    }
}

/// A lock someone else holds.
#[derive(Debug, Clone)]
pub struct Busy {
    /// Who, when it could be read (a lock file of an older drkit holds only a pid).
    pub holder: Option<Holder>,
    pub pid: Option<u32>,
    /// A lease past [`STALE_AFTER`] that this process may not take over by itself.
    pub stale: bool,
}

/// A lock taken; released when dropped.
pub trait HeldLock: Send + Sync + std::fmt::Debug {}

#[derive(Debug)]
pub enum Attempt {
    Held(Box<dyn HeldLock>),
    Busy(Busy),
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// This host's name, as leases record it.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".into())
}

fn process_exists(pid: u32) -> bool {
    std::path::Path::new("/proc").join(pid.to_string()).exists()
}

fn shared_prefix(name: &str) -> String {
    format!("{name}.shared")
}

/// One attempt at the lease `name` on `store`, without waiting.
pub(super) fn try_lease<S>(store: &S, name: &str, mode: LockMode, me: &Holder) -> Result<Attempt>
where
    S: RepoStore + Clone + 'static,
{
    match mode {
        LockMode::Exclusive => try_exclusive(store, name, me),
        LockMode::Shared => try_shared(store, name, me),
    }
}

fn try_exclusive<S>(store: &S, name: &str, me: &Holder) -> Result<Attempt>
where
    S: RepoStore + Clone + 'static,
{
    let mut created = store.create(name, &me.encode())?;
    // Released between the create and the read: try again, a few times.
    for _ in 0..3 {
        if created || store.size(name)?.is_some() {
            break;
        }
        created = store.create(name, &me.encode())?;
    }
    if !created {
        match store.get(name)?.as_deref().and_then(Holder::decode) {
            Some(h) if !h.is_gone() => {
                return Ok(Attempt::Busy(Busy {
                    stale: h.is_stale(),
                    pid: Some(h.pid),
                    holder: Some(h),
                }));
            }
            // Its process is gone (or the object is not a lease at all): taken over.
            _ => {
                store.delete(name)?;
                if !store.create(name, &me.encode())? {
                    return try_exclusive_found(store, name);
                }
            }
        }
    }
    let prefix = shared_prefix(name);
    for (token, _) in store.list(&prefix)?.objects {
        let key = format!("{prefix}/{token}");
        let Some(h) = store.get(&key)?.as_deref().and_then(Holder::decode) else {
            continue;
        };
        if h.is_gone() || h.is_stale() {
            store.delete(&key)?;
            continue;
        }
        store.delete(name)?;
        return Ok(Attempt::Busy(Busy {
            pid: Some(h.pid),
            holder: Some(h),
            stale: false,
        }));
    }
    Ok(Attempt::Held(Box::new(Lease::start(store, name, me))))
}

/// Who took the exclusive lease first, after a takeover lost the race for it.
fn try_exclusive_found<S: RepoStore>(store: &S, name: &str) -> Result<Attempt> {
    let holder = store.get(name)?.as_deref().and_then(Holder::decode);
    Ok(Attempt::Busy(Busy {
        pid: holder.as_ref().map(|h| h.pid),
        holder,
        stale: false,
    }))
}

fn try_shared<S>(store: &S, name: &str, me: &Holder) -> Result<Attempt>
where
    S: RepoStore + Clone + 'static,
{
    let mine = format!("{}/{}", shared_prefix(name), me.token);
    store.put(&mine, &me.encode())?;
    if let Some(bytes) = store.get(name)? {
        match Holder::decode(&bytes) {
            Some(h) if h.is_gone() => {
                store.delete(name)?;
            }
            holder => {
                store.delete(&mine)?;
                return Ok(Attempt::Busy(Busy {
                    pid: holder.as_ref().map(|h| h.pid),
                    stale: holder.as_ref().is_some_and(Holder::is_stale),
                    holder,
                }));
            }
        }
    }
    Ok(Attempt::Held(Box::new(Lease::start(store, &mine, me))))
}

/// Removes every lease of the lock `name`, returning their holders: `backup unlock`.
pub(super) fn break_lease<S: RepoStore>(store: &S, name: &str) -> Result<Vec<Holder>> {
    let mut broken = Vec::new();
    if let Some(bytes) = store.get(name)? {
        broken.extend(Holder::decode(&bytes));
        store.delete(name)?;
    }
    let prefix = shared_prefix(name);
    for (token, _) in store.list(&prefix)?.objects {
        let key = format!("{prefix}/{token}");
        if let Some(bytes) = store.get(&key)? {
            broken.extend(Holder::decode(&bytes));
            store.delete(&key)?;
        }
    }
    Ok(broken)
}

/// A held lease: a thread writes it again every [`REFRESH`] until it is dropped, which
/// removes it.
struct Lease {
    stop: Option<mpsc::Sender<()>>,
    renewer: Option<JoinHandle<()>>,
    release: Option<Box<dyn FnOnce() + Send + Sync>>,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Lease")
    }
}

impl Lease {
    fn start<S: RepoStore + Clone + 'static>(store: &S, key: &str, me: &Holder) -> Lease {
        let (stop, stopped) = mpsc::channel::<()>();
        let (renew_store, renew_key, mut holder) = (store.clone(), key.to_string(), me.clone());
        let renewer = std::thread::Builder::new()
            .name("drkit-lease".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(REFRESH) {
                    // Renewed only while it is still ours: `backup unlock` may have broken it.
                    let ours = renew_store
                        .get(&renew_key)
                        .ok()
                        .flatten()
                        .and_then(|b| Holder::decode(&b))
                        .is_some_and(|h| h.token == holder.token);
                    if !ours {
                        return;
                    }
                    holder.refreshed = now_rfc3339();
                    let _ = renew_store.put(&renew_key, &holder.encode());
                }
            })
            .ok();
        let (release_store, release_key) = (store.clone(), key.to_string());
        Lease {
            stop: Some(stop),
            renewer,
            release: Some(Box::new(move || {
                let _ = release_store.delete(&release_key);
            })),
        }
    }
}

impl HeldLock for Lease {}

impl Drop for Lease {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.renewer.take() {
            let _ = t.join();
        }
        if let Some(release) = self.release.take() {
            release();
        }
    }
}

/// The error for a lock found taken at `path`, with what to do about it.
pub fn busy_error(path: std::path::PathBuf, busy: &Busy) -> Error {
    let held = match (&busy.holder, busy.pid) {
        (Some(h), _) => h.describe(),
        (None, Some(pid)) => format!("pid {pid}"),
        (None, None) => "another process".into(),
    };
    let hint = if busy.stale {
        "its lease has not been renewed for minutes: if that process is gone (its machine \
         died or was cut off), break the lock with `drkit backup unlock --repo R`"
    } else {
        "wait for it to finish, or give --lock-wait to queue behind it"
    };
    Error::RepoLocked {
        path,
        held,
        hint: hint.into(),
    }
}
