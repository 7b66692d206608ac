use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};

/// An exclusive advisory lock (flock) on `DIR/LOCK`, held for the life of the value.
///
/// The holder writes its PID into the file so that a refused opener can say who holds it;
/// the PID is only a hint (the lock itself is the kernel's), so a stale PID left by a killed
/// process is harmless: the kernel released that process's lock when it died.
#[derive(Debug)]
pub struct DirLock {
    file: File,
    path: PathBuf,
}

impl DirLock {
    /// Takes the lock or fails at once with [`Error::Locked`]; never waits.
    pub fn acquire(dir: &Path) -> Result<DirLock> {
        let path = dir.join("LOCK");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .at(&path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(Error::Locked {
                    path,
                    holder: text.trim().parse().ok(),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
        file.set_len(0).at(&path)?;
        file.seek(SeekFrom::Start(0)).at(&path)?;
        write!(file, "{}", std::process::id()).at(&path)?;
        Ok(DirLock { file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A shared lock on `DIR/LOCK` for read-only tools: it keeps an engine from opening the dir
/// while we read, and (unlike [`DirLock`]) writes nothing, so not even an mtime changes.
#[derive(Debug)]
pub struct SharedLock {
    file: File,
}

impl SharedLock {
    /// `Ok(None)` when the dir has no LOCK file (never opened by an engine, or copied
    /// without it): nothing to lock, and creating one would change the dir.
    pub fn acquire(dir: &Path) -> Result<Option<SharedLock>> {
        let path = dir.join("LOCK");
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(&path, e)),
        };
        match file.try_lock_shared() {
            Ok(()) => Ok(Some(SharedLock { file })),
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                Err(Error::Locked {
                    path,
                    holder: text.trim().parse().ok(),
                })
            }
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&path, e)),
        }
    }
}

impl Drop for SharedLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        // Clearing the PID first means a reader never sees our PID next to a free lock.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_refused_with_holder_pid() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(dir.path()).unwrap();
        match DirLock::acquire(dir.path()) {
            Err(Error::Locked { holder, path }) => {
                assert_eq!(holder, Some(std::process::id()));
                assert_eq!(path, dir.path().join("LOCK"));
            }
            other => panic!("expected Locked, got {other:?}"),
        }
        drop(first);
        DirLock::acquire(dir.path()).unwrap();
    }

    #[test]
    fn shared_lock_excludes_the_engine_lock_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            SharedLock::acquire(dir.path()).unwrap().is_none(),
            "no LOCK file: nothing to lock"
        );
        drop(DirLock::acquire(dir.path()).unwrap());
        let before = std::fs::metadata(dir.path().join("LOCK"))
            .unwrap()
            .modified()
            .unwrap();
        let a = SharedLock::acquire(dir.path()).unwrap().unwrap();
        let b = SharedLock::acquire(dir.path()).unwrap().unwrap();
        assert!(matches!(
            DirLock::acquire(dir.path()),
            Err(Error::Locked { .. })
        ));
        drop((a, b));
        assert_eq!(
            std::fs::metadata(dir.path().join("LOCK"))
                .unwrap()
                .modified()
                .unwrap(),
            before
        );
        let _engine = DirLock::acquire(dir.path()).unwrap();
        assert!(matches!(
            SharedLock::acquire(dir.path()),
            Err(Error::Locked { .. })
        ));
    }
}
