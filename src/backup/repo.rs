//! The repository on disk:
//!
//! ```text
//!  REPO/repo.json                   format version, random id, created time (sealed JSON)
//!  REPO/LOCK                        flock held by `backup create` and `backup expire`
//!                                   (exit 11, or --lock-wait)
//!  REPO/READERS                     flock held shared by restore and verify while they read,
//!                                   exclusively by `backup expire` while it removes
//!  REPO/backups/<id>/files/…​.zst    one zstd file per data-dir file
//!  REPO/backups/<id>/manifest.json  written last: a backup without it does not exist
//! ```
//!
//! A complete backup is never changed, only removed whole by `expire`, which removes its
//! manifest first: from then on it is not listed, and the rest goes after. Restore and verify
//! hold READERS shared for their whole run, so `expire` never pulls files out from under
//! them; `create` does not need it (it only adds). `list` and `info` read single manifests,
//! which are either there or not.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::manifest::{BackupManifest, MANIFEST_FILE, check_id};
use super::sealed::{self, Sealed};
use super::store::{LocalStore, RepoStore};
use crate::error::{Error, IoContext, Result};
use crate::io::{DirLock, fsync_dir};

pub const REPO_FILE: &str = "repo.json";
pub const READERS_FILE: &str = "READERS";
pub const BACKUPS_DIR: &str = "backups";

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
    root: PathBuf,
    /// Where repo.json and the manifests are read (the rest moves behind it next).
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
    pub fn open(root: &Path) -> Result<Repo> {
        let store: Arc<dyn RepoStore> = Arc::new(LocalStore::new(root));
        let path = store.locate(REPO_FILE);
        let Some(bytes) = store.get(REPO_FILE)? else {
            return Err(Error::NotFound {
                path,
                hint: format!(
                    "no backup repository at {}; create one with `drkit backup init --repo {}`",
                    root.display(),
                    root.display()
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
            root: root.to_path_buf(),
            store,
            meta,
        })
    }

    /// Creates a repository in `root` (which may exist if empty), or opens the one there.
    /// Returns whether it was created.
    pub fn init(root: &Path) -> Result<(Repo, bool)> {
        if root.join(REPO_FILE).exists() {
            return Ok((Repo::open(root)?, false));
        }
        if root.exists() {
            let mut entries = fs::read_dir(root).at(root)?;
            if entries.next().is_some() {
                return Err(Error::InvalidInput(format!(
                    "{}: not empty and not a drkit backup repository (no {REPO_FILE}); give an empty or new dir",
                    root.display()
                )));
            }
        }
        fs::create_dir_all(root.join(BACKUPS_DIR)).at(root)?;
        let id: [u8; 16] = rand::random();
        let meta = RepoMeta {
            format: FORMAT.into(),
            version: RepoMeta::VERSION,
            id: hex(&id),
            created: now_rfc3339(),
            checksum: String::new(),
        };
        LocalStore::new(root).put(REPO_FILE, &sealed::encode(&meta)?)?;
        if let Some(parent) = root.parent().filter(|p| !p.as_os_str().is_empty()) {
            fsync_dir(parent)?;
        }
        Ok((Repo::open(root)?, true))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn backups_dir(&self) -> PathBuf {
        self.root.join(BACKUPS_DIR)
    }

    pub fn backup_dir(&self, id: &str) -> PathBuf {
        self.backups_dir().join(id)
    }

    /// Takes `REPO/LOCK`, retrying for up to `wait` (zero: fail at once with exit 11). Two
    /// cron runs that overlap then either fail fast and loudly or queue, as the operator chose.
    pub fn lock(&self, wait: Duration) -> Result<DirLock> {
        let deadline = Instant::now() + wait;
        loop {
            match DirLock::acquire(&self.root) {
                Err(Error::Locked { .. }) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                other => return other,
            }
        }
    }

    /// Held by restore and verify while they read backup files: `expire` waits for (or, after
    /// its --lock-wait, refuses) running readers, and a reader waits for a running `expire`,
    /// which is short. A repository on read-only storage has nothing to guard against.
    pub fn read_guard(&self) -> Result<Option<ReadGuard>> {
        let path = self.root.join(READERS_FILE);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                match OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(&path)
                {
                    Ok(f) => f,
                    Err(e) if e.kind() == std::io::ErrorKind::ReadOnlyFilesystem => {
                        return Ok(None);
                    }
                    Err(e) => return Err(Error::io(&path, e)),
                }
            }
            Err(e) => return Err(Error::io(&path, e)),
        };
        file.lock_shared().at(&path)?;
        Ok(Some(ReadGuard { _file: file }))
    }

    /// READERS, exclusively: no restore or verify is reading. Waits up to `wait`.
    pub fn exclusive_read_guard(&self, wait: Duration) -> Result<ReadGuard> {
        let path = self.root.join(READERS_FILE);
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .at(&path)?;
        let deadline = Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(ReadGuard { _file: file }),
                Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(Error::Locked { path, holder: None });
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
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

    /// Removes what a killed `create` left: backup dirs without a manifest (never listed,
    /// so never used) and `*.tmp` files. Needs the lock so a running `create`'s
    /// dir is not taken for a leftover.
    pub fn clean_leftovers(&self, _held: &DirLock) -> Result<Vec<PathBuf>> {
        let mut removed = Vec::new();
        let tmp = self.root.join(REPO_FILE).with_extension("tmp");
        if tmp.exists() {
            fs::remove_file(&tmp).at(&tmp)?;
            removed.push(tmp);
        }
        let dir = self.backups_dir();
        if !dir.exists() {
            fs::create_dir_all(&dir).at(&dir)?;
            return Ok(removed);
        }
        for e in fs::read_dir(&dir).at(&dir)? {
            let e = e.at(&dir)?;
            let p = e.path();
            if p.is_dir() {
                if !p.join(MANIFEST_FILE).exists() {
                    fs::remove_dir_all(&p).at(&p)?;
                    removed.push(p);
                } else {
                    let t = p.join(MANIFEST_FILE).with_extension("tmp");
                    if t.exists() {
                        fs::remove_file(&t).at(&t)?;
                        removed.push(t);
                    }
                }
            } else if p.extension().is_some_and(|x| x == "tmp") {
                fs::remove_file(&p).at(&p)?;
                removed.push(p);
            }
        }
        if !removed.is_empty() {
            fsync_dir(&dir)?;
        }
        Ok(removed)
    }
}

/// A flock on READERS, released when dropped (the kernel also releases it if we die).
#[derive(Debug)]
pub struct ReadGuard {
    _file: File,
}

/// The key of backup `id`'s manifest.
fn manifest_key(id: &str) -> String {
    format!("{BACKUPS_DIR}/{id}/{MANIFEST_FILE}")
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
