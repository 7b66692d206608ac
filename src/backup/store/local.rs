//! A repository in a local dir: a key is a path under the root. Whole objects are written to
//! a temporary name, fsynced and renamed over the key, and the dir fsynced, so a crash leaves
//! the old object or the new one, never a part; `create` links the temporary file to the key,
//! which fails when the key exists.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use super::lock::{Attempt, Busy, HeldLock, Holder, LockMode};
use super::{Listing, RepoStore, StoreWriter, check_key, check_prefix};
use crate::error::{Error, IoContext, Result};
use crate::io::{Writeback, fsync_dir};

#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub fn new(root: &Path) -> LocalStore {
        LocalStore {
            root: root.to_path_buf(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &str) -> Result<PathBuf> {
        check_key(key)?;
        Ok(self.root.join(key))
    }

    /// A new temporary file beside `path` (its dir created as needed), not yet at the key.
    fn temporary(path: &Path) -> Result<(File, PathBuf)> {
        let dir = path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir).at(dir)?;
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let tmp = dir.join(format!(".{name}.tmp-{:016x}", rand::random::<u64>()));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .at(&tmp)?;
        Ok((file, tmp))
    }

    /// Writes `bytes` to a fsynced temporary file beside `path` and hands it to `place`.
    fn staged(path: &Path, bytes: &[u8], place: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
        let (mut file, tmp) = Self::temporary(path)?;
        let written = file
            .write_all(bytes)
            .and_then(|()| file.sync_all())
            .at(&tmp);
        let placed = written.and_then(|()| place(&tmp));
        let _ = fs::remove_file(&tmp);
        placed?;
        fsync_dir(path.parent().unwrap_or(Path::new(".")))
    }
}

/// Removes `dir` and its parents up to (not including) `root` while they are empty: an
/// object store has no empty prefixes, and a listing must not show any here either.
fn prune_empty(root: &Path, mut dir: &Path) {
    while dir != root && dir.starts_with(root) && fs::remove_dir(dir).is_ok() {
        match dir.parent() {
            Some(p) => dir = p,
            None => break,
        }
    }
}

/// Removes the writers' temporary files in `dir` and below, adding them to `removed`.
fn remove_temporaries(dir: &Path, removed: &mut Vec<PathBuf>) -> Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if absent(&e) => return Ok(()),
        Err(e) => return Err(Error::io(dir, e)),
    };
    let before = removed.len();
    for entry in entries {
        let entry = entry.at(dir)?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type().at(&path)?.is_dir() {
            remove_temporaries(&path, removed)?;
        } else if is_temporary(&name) {
            fs::remove_file(&path).at(&path)?;
            removed.push(path);
        }
    }
    if removed.len() > before {
        fsync_dir(dir)?;
    }
    Ok(())
}

/// A writer's temporary file (see [`LocalStore::temporary`]).
fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp-")
}

fn absent(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound
}

impl RepoStore for LocalStore {
    fn locate(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    fn local_path(&self, key: &str) -> Option<PathBuf> {
        self.path(key).ok()
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let path = self.path(key)?;
        match fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if absent(&e) => Ok(None),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    fn reader(&self, key: &str) -> Result<Option<(Box<dyn Read + Send>, u64)>> {
        let path = self.path(key)?;
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if absent(&e) => return Ok(None),
            Err(e) => return Err(Error::io(&path, e)),
        };
        let size = file.metadata().at(&path)?.len();
        Ok(Some((Box::new(io::BufReader::new(file)), size)))
    }

    fn size(&self, key: &str) -> Result<Option<u64>> {
        let path = self.path(key)?;
        match fs::metadata(&path) {
            Ok(m) if m.is_file() => Ok(Some(m.len())),
            Ok(_) => Ok(None),
            Err(e) if absent(&e) => Ok(None),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    fn put(&self, key: &str, bytes: &[u8]) -> Result<()> {
        let path = self.path(key)?;
        Self::staged(&path, bytes, |tmp| fs::rename(tmp, &path).at(&path))
    }

    fn create(&self, key: &str, bytes: &[u8]) -> Result<bool> {
        let path = self.path(key)?;
        let mut existed = false;
        Self::staged(&path, bytes, |tmp| match fs::hard_link(tmp, &path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                existed = true;
                Ok(())
            }
            Err(e) => Err(Error::io(&path, e)),
        })?;
        Ok(!existed)
    }

    fn writer(&self, key: &str) -> Result<Box<dyn StoreWriter>> {
        let path = self.path(key)?;
        let (file, tmp) = Self::temporary(&path)?;
        Ok(Box::new(LocalWriter {
            root: self.root.clone(),
            file: io::BufWriter::with_capacity(1 << 20, file),
            writeback: Writeback::default(),
            tmp,
            path,
            size: 0,
            finished: false,
        }))
    }

    fn list(&self, prefix: &str) -> Result<Listing> {
        check_prefix(prefix)?;
        let dir = self.root.join(prefix);
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if absent(&e) => return Ok(Listing::default()),
            Err(e) => return Err(Error::io(&dir, e)),
        };
        let mut listing = Listing::default();
        for entry in entries {
            let entry = entry.at(&dir)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            // A writer's temporary file is not an object (yet).
            if is_temporary(&name) {
                continue;
            }
            let meta = entry.metadata().at(&entry.path())?;
            if meta.is_dir() {
                listing.prefixes.push(name);
            } else {
                listing.objects.push((name, meta.len()));
            }
        }
        listing.objects.sort();
        listing.prefixes.sort();
        Ok(listing)
    }

    fn delete(&self, key: &str) -> Result<bool> {
        let path = self.path(key)?;
        match fs::remove_file(&path) {
            Ok(()) => {
                let dir = path.parent().unwrap_or(Path::new("."));
                fsync_dir(dir)?;
                prune_empty(&self.root, dir);
                Ok(true)
            }
            Err(e) if absent(&e) => Ok(false),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    fn delete_prefix(&self, prefix: &str) -> Result<()> {
        check_key(prefix)?;
        let dir = self.root.join(prefix);
        match fs::remove_dir_all(&dir) {
            Ok(()) => {
                let parent = dir.parent().unwrap_or(Path::new("."));
                fsync_dir(parent)?;
                prune_empty(&self.root, parent);
                Ok(())
            }
            Err(e) if absent(&e) => Ok(()),
            Err(e) => Err(Error::io(&dir, e)),
        }
    }

    fn clean_unfinished(&self, prefix: &str) -> Result<Vec<PathBuf>> {
        check_prefix(prefix)?;
        let mut removed = Vec::new();
        remove_temporaries(&self.root.join(prefix), &mut removed)?;
        Ok(removed)
    }

    fn try_lock(&self, name: &str, mode: LockMode, me: &Holder) -> Result<Attempt> {
        let Some(mut file) = self.lock_file(name)? else {
            if mode == LockMode::Shared {
                return Ok(Attempt::Held(Box::new(FileLock { _file: None })));
            }
            return Err(Error::InvalidInput(format!(
                "{}: the repository is on read-only storage",
                self.root.display()
            )));
        };
        let path = self.locate(name);
        let taken = match mode {
            LockMode::Exclusive => file.try_lock(),
            LockMode::Shared => file.try_lock_shared(),
        };
        match taken {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Ok(Attempt::Busy(Self::busy(&file))),
            Err(fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
        if mode == LockMode::Exclusive {
            let holder = serde_json::to_vec_pretty(me).unwrap_or_default();
            file.set_len(0)
                .and_then(|()| file.write_all(&holder))
                .at(&path)?;
        }
        Ok(Attempt::Held(Box::new(FileLock { _file: Some(file) })))
    }

    fn break_lock(&self, name: &str) -> Result<Vec<Holder>> {
        let Some(file) = self.lock_file(name)? else {
            return Ok(Vec::new());
        };
        match file.try_lock() {
            Ok(()) => Ok(Vec::new()),
            Err(fs::TryLockError::WouldBlock) => {
                let busy = Self::busy(&file);
                Err(Error::RepoLocked {
                    path: self.locate(name),
                    held: busy.holder.as_ref().map_or_else(
                        || {
                            busy.pid
                                .map_or("a running process".into(), |p| format!("pid {p}"))
                        },
                        Holder::describe,
                    ),
                    hint: "a local repository's lock is held only by a live process and goes \
                           with it: stop that process instead"
                        .into(),
                })
            }
            Err(fs::TryLockError::Error(e)) => Err(Error::io(self.locate(name), e)),
        }
    }
}

/// A flock held on a lock file; the kernel releases it when the file closes or the
/// process dies.
#[derive(Debug)]
struct FileLock {
    _file: Option<File>,
}

impl HeldLock for FileLock {}

impl LocalStore {
    /// The lock file `name`, opened (created where the storage allows).
    fn lock_file(&self, name: &str) -> Result<Option<File>> {
        let path = self.path(name)?;
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).at(dir)?;
        }
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
        {
            Ok(f) => Ok(Some(f)),
            // A repository on read-only storage: nobody can change it, nothing to lock.
            Err(e) if e.kind() == io::ErrorKind::ReadOnlyFilesystem => Ok(None),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    /// Who holds the lock file `file`, as its holder wrote it (a JSON holder, or the bare
    /// pid older versions wrote).
    fn busy(mut file: &File) -> Busy {
        let mut text = String::new();
        let _ = io::Seek::seek(&mut file, io::SeekFrom::Start(0));
        let _ = file.read_to_string(&mut text);
        let holder: Option<Holder> = serde_json::from_str(&text).ok();
        Busy {
            pid: holder
                .as_ref()
                .map(|h| h.pid)
                .or_else(|| text.trim().parse().ok()),
            holder,
            stale: false,
        }
    }
}

struct LocalWriter {
    root: PathBuf,
    file: io::BufWriter<File>,
    writeback: Writeback,
    tmp: PathBuf,
    path: PathBuf,
    size: u64,
    finished: bool,
}

impl Write for LocalWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.size += n as u64;
        self.writeback.wrote(self.file.get_ref(), n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl StoreWriter for LocalWriter {
    fn finish(mut self: Box<Self>) -> Result<u64> {
        self.file.flush().at(&self.tmp)?;
        self.file.get_ref().sync_all().at(&self.tmp)?;
        fs::rename(&self.tmp, &self.path).at(&self.path)?;
        self.finished = true;
        fsync_dir(self.path.parent().unwrap_or(Path::new(".")))?;
        Ok(self.size)
    }
}

impl Drop for LocalWriter {
    fn drop(&mut self) {
        if !self.finished {
            let _ = fs::remove_file(&self.tmp);
            if let Some(dir) = self.tmp.parent() {
                prune_empty(&self.root, dir);
            }
        }
    }
}
