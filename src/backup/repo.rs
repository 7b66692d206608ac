//! The repository, in a local dir or under a bucket prefix (see [`super::store`]):
//!
//! ```text
//!  repo.json                   format version, random id, created time (sealed JSON)
//!  LOCK                        held by `backup create` and `backup expire` (exit 11, or
//!                              --lock-wait)
//!  READERS                     held shared by restore and verify while they read,
//!                              exclusively by `backup expire` while it removes
//!  backups/<id>/files/…​.zst    one zstd file per data-dir file
//!  backups/<id>/manifest.json  written last: a backup without it does not exist
//!  wal/<history id>/…          the WAL archive (archive.rs)
//!  uploads/<token>             an S3 multipart upload under way (store/s3.rs)
//! ```
//!
//! A complete backup is never changed, only removed whole by `expire`, which removes its
//! manifest first: from then on it is not listed, and the rest goes after. Restore and verify
//! hold READERS shared for their whole run, so `expire` never pulls files out from under
//! them; `create` does not need it (it only adds). `list` and `info` read single manifests,
//! which are either there or not. Locks are flocks in a local repository and leases on an
//! object store (store/lock.rs).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::manifest::{BackupManifest, MANIFEST_FILE, check_id};
use super::sealed::{self, Sealed};
use super::store::{Attempt, HeldLock, Holder, LocalStore, LockMode, RepoStore, S3Config, S3Store};
use crate::error::{Error, Result};

pub const REPO_FILE: &str = "repo.json";
pub const LOCK_FILE: &str = "LOCK";
pub const READERS_FILE: &str = "READERS";
pub use super::manifest::BACKUPS_DIR;

/// How long restore and verify wait for a running `expire` to let go of READERS.
const READERS_WAIT: Duration = Duration::from_secs(300);

/// Where a repository is: `--repo PATH` or `--repo s3://BUCKET/PREFIX` (with the `--s3-*`
/// settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepoLocation {
    Local(PathBuf),
    S3(S3Config),
}

impl RepoLocation {
    /// A path, or an `s3://` URL with default settings.
    pub fn parse(text: &str) -> Result<RepoLocation> {
        if text.starts_with("s3://") {
            Ok(RepoLocation::S3(S3Config::from_url(text)?))
        } else if text.contains("://") {
            Err(Error::InvalidInput(format!(
                "{text}: a repository is a local path or s3://BUCKET/PREFIX"
            )))
        } else {
            Ok(RepoLocation::Local(PathBuf::from(text)))
        }
    }

    /// The local dir, for a local repository.
    pub fn local_path(&self) -> Option<&Path> {
        match self {
            RepoLocation::Local(p) => Some(p),
            RepoLocation::S3(_) => None,
        }
    }

    pub fn open_store(&self) -> Result<Arc<dyn RepoStore>> {
        Ok(match self {
            RepoLocation::Local(p) => Arc::new(LocalStore::new(p)),
            RepoLocation::S3(cfg) => Arc::new(S3Store::new(cfg.clone())?),
        })
    }
}

impl From<&Path> for RepoLocation {
    fn from(p: &Path) -> RepoLocation {
        RepoLocation::Local(p.to_path_buf())
    }
}

impl From<PathBuf> for RepoLocation {
    fn from(p: PathBuf) -> RepoLocation {
        RepoLocation::Local(p)
    }
}

impl fmt::Display for RepoLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RepoLocation::Local(p) => write!(f, "{}", p.display()),
            RepoLocation::S3(cfg) => f.write_str(&cfg.url()),
        }
    }
}

/// A repository lock taken; released when dropped.
pub type RepoLock = Box<dyn HeldLock>;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RepoMeta {
    pub format: String,
    pub version: u16,
    pub id: String,
    pub created: String,
    pub checksum: String,
}

const FORMAT: &str = "drkit-backup-repo";

impl Sealed for RepoMeta {
    const VERSION: u16 = 1;
    fn checksum_mut(&mut self) -> &mut String {
        &mut self.checksum
    }
}

#[derive(Debug, Clone)]
pub struct Repo {
    location: RepoLocation,
    store: Arc<dyn RepoStore>,
    pub meta: RepoMeta,
}

/// A complete backup as listed: its manifest, or why it could not be read.
#[derive(Debug)]
pub struct Listed {
    pub id: String,
    pub manifest: Result<BackupManifest>,
}

impl Repo {
    /// Opens an existing repository; exit 10 when there is none.
    pub fn open(location: &RepoLocation) -> Result<Repo> {
        Self::open_in(location, location.open_store()?)
    }

    fn open_in(location: &RepoLocation, store: Arc<dyn RepoStore>) -> Result<Repo> {
        let path = store.locate(REPO_FILE);
        let Some(bytes) = store.get(REPO_FILE)? else {
            return Err(Error::NotFound {
                path,
                hint: format!(
                    "no backup repository at {location}; create one with `drkit backup init --repo {location}`"
                ),
            });
        };
        let meta: RepoMeta = sealed::decode(&path, &bytes)?;
        if meta.format != FORMAT {
            return Err(Error::WrongKind {
                path,
                expected: FORMAT,
                found: meta.format,
            });
        }
        Ok(Repo {
            location: location.clone(),
            store,
            meta,
        })
    }

    /// Creates a repository at `location` (a dir that may exist if empty, or a prefix with no
    /// objects under it), or opens the one there. Returns whether it was created.
    pub fn init(location: &RepoLocation) -> Result<(Repo, bool)> {
        let store = location.open_store()?;
        if store.size(REPO_FILE)?.is_some() {
            return Ok((Self::open_in(location, store)?, false));
        }
        let top = store.list("")?;
        if !top.objects.is_empty() || !top.prefixes.is_empty() {
            return Err(Error::InvalidInput(format!(
                "{location}: not empty and not a drkit backup repository (no {REPO_FILE}); give an empty or new dir or prefix"
            )));
        }
        let id: [u8; 16] = rand::random();
        let meta = RepoMeta {
            format: FORMAT.into(),
            version: RepoMeta::VERSION,
            id: hex(&id),
            created: now_rfc3339(),
            checksum: String::new(),
        };
        // Where two runs create one repository at once, the first repo.json stays.
        let created = store.create(REPO_FILE, &sealed::encode(&meta)?)?;
        Ok((Self::open_in(location, store)?, created))
    }

    pub fn location(&self) -> &RepoLocation {
        &self.location
    }

    pub fn store(&self) -> &Arc<dyn RepoStore> {
        &self.store
    }

    /// How messages name `key`: a path, or an `s3://` URL.
    pub fn locate(&self, key: &str) -> PathBuf {
        self.store.locate(key)
    }

    /// Takes `LOCK`, retrying for up to `wait` (zero: fail at once with exit 11). Two cron
    /// runs that overlap then either fail fast and loudly or queue, as the operator chose.
    pub fn lock(&self, operation: &str, wait: Duration) -> Result<RepoLock> {
        self.take_lock(LOCK_FILE, LockMode::Exclusive, operation, wait)
    }

    /// Held by restore and verify while they read backup files: `expire` waits for (or, after
    /// its --lock-wait, refuses) running readers, and a reader waits for a running `expire`,
    /// which is short.
    pub fn read_guard(&self, operation: &str) -> Result<RepoLock> {
        self.take_lock(READERS_FILE, LockMode::Shared, operation, READERS_WAIT)
    }

    /// READERS, exclusively: no restore or verify is reading. Waits up to `wait`.
    pub fn exclusive_read_guard(&self, operation: &str, wait: Duration) -> Result<RepoLock> {
        self.take_lock(READERS_FILE, LockMode::Exclusive, operation, wait)
    }

    /// The lock `name` in `mode`, retrying for up to `wait`.
    pub fn take_lock(
        &self,
        name: &str,
        mode: LockMode,
        operation: &str,
        wait: Duration,
    ) -> Result<RepoLock> {
        let me = Holder::me(operation);
        let deadline = Instant::now() + wait;
        loop {
            match self.store.try_lock(name, mode, &me)? {
                Attempt::Held(lock) => return Ok(lock),
                Attempt::Busy(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(200));
                }
                Attempt::Busy(busy) => {
                    return Err(super::store::lock::busy_error(self.locate(name), &busy));
                }
            }
        }
    }

    /// Complete backups (those with a manifest), oldest first.
    pub fn list(&self) -> Result<Vec<Listed>> {
        let mut out = Vec::new();
        for id in self.store.list(BACKUPS_DIR)?.prefixes {
            let manifest = match self.store.get(&manifest_key(&id)) {
                Ok(None) => continue,
                Ok(Some(bytes)) => self.decode_manifest(&id, &bytes),
                Err(e) => Err(e),
            };
            out.push(Listed { id, manifest });
        }
        // Ids start with the start time in whole seconds; within one second the manifest's
        // millisecond start time orders them (a damaged manifest sorts first in its second).
        let key = |l: &Listed| {
            (
                l.id.get(..16).unwrap_or_default().to_string(),
                l.manifest
                    .as_ref()
                    .map(|m| m.start_time.clone())
                    .unwrap_or_default(),
                l.id.clone(),
            )
        };
        out.sort_by_key(key);
        Ok(out)
    }

    /// One backup's manifest, checked. Exit 10 when there is no such (complete) backup.
    pub fn load(&self, id: &str) -> Result<BackupManifest> {
        check_id(id)?;
        let key = manifest_key(id);
        match self.store.get(&key)? {
            Some(bytes) => self.decode_manifest(id, &bytes),
            None => Err(Error::NotFound {
                path: self.store.locate(&key),
                hint: "no complete backup with this id; `drkit backup list` shows them".into(),
            }),
        }
    }

    /// The manifest `bytes` of backup `id`, checked: its format, that it names `id`, and
    /// that every file it lists stays inside the backup.
    fn decode_manifest(&self, id: &str, bytes: &[u8]) -> Result<BackupManifest> {
        check_id(id)?;
        let path = self.store.locate(&manifest_key(id));
        let m: BackupManifest = sealed::decode(&path, bytes)?;
        if m.format != super::manifest::FORMAT {
            return Err(Error::WrongKind {
                path,
                expected: super::manifest::FORMAT,
                found: m.format,
            });
        }
        if m.id != id {
            return Err(Error::corruption(
                &path,
                0,
                format!("names backup {}, but sits in the dir of {id}", m.id),
            ));
        }
        m.check_paths(&path)?;
        Ok(m)
    }

    /// Removes what a killed `create` left: backups without a manifest (never listed, so
    /// never used) and unfinished writes. Needs the lock so a running `create`'s backup is
    /// not taken for a leftover.
    pub fn clean_leftovers(&self, _held: &RepoLock) -> Result<Vec<PathBuf>> {
        // Unfinished writes first: an upload under way leaves no object to list its backup by.
        let unfinished = self.store.clean_unfinished(BACKUPS_DIR)?;
        let listing = self.store.list(BACKUPS_DIR)?;
        let mut removed = Vec::new();
        for id in listing.prefixes {
            let prefix = format!("{BACKUPS_DIR}/{id}");
            if self.store.size(&manifest_key(&id))?.is_none() {
                self.store.delete_prefix(&prefix)?;
                removed.push(self.locate(&prefix));
            }
        }
        // Reported by the backup they belonged to where it was removed.
        let inside_removed = |p: &PathBuf| removed.iter().any(|r| p.starts_with(r));
        let unfinished: Vec<PathBuf> = unfinished
            .into_iter()
            .filter(|p| !inside_removed(p))
            .collect();
        removed.extend(unfinished);
        // Written by versions that staged files as `NAME.tmp` beside their key.
        for (name, _) in listing.objects {
            if name.ends_with(".tmp") {
                let key = format!("{BACKUPS_DIR}/{name}");
                self.store.delete(&key)?;
                removed.push(self.locate(&key));
            }
        }
        Ok(removed)
    }

    /// Key of the stored copy of `file` of backup `m`.
    pub fn file_key(m: &BackupManifest, file: &super::manifest::BackupFile) -> String {
        m.stored_key(file)
    }
}

/// The key of backup `id`'s manifest.
pub fn manifest_key(id: &str) -> String {
    format!("{BACKUPS_DIR}/{id}/{MANIFEST_FILE}")
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
