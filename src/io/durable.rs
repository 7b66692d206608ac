use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::error::{IoContext, Result};

/// Replaces `path` with `bytes` so that a crash leaves either the old or the new content,
/// never a mix: write a sibling tmp file, fsync it, rename over, fsync the directory (the
/// rename itself is only durable once the directory entry is).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .at(&tmp)?;
        f.write_all(bytes).at(&tmp)?;
        f.sync_all().at(&tmp)?;
    }
    fs::rename(&tmp, path).at(path)?;
    match path.parent() {
        // A bare file name: it lives in the current dir.
        Some(dir) if dir.as_os_str().is_empty() => fsync_dir(Path::new(".")),
        Some(dir) => fsync_dir(dir),
        None => Ok(()),
    }
}

/// Makes creations, renames and removals inside `dir` durable.
pub fn fsync_dir(dir: &Path) -> Result<()> {
    let d = File::open(dir).at(dir)?;
    d.sync_all().at(dir)
}

/// Positioned read that tolerates short files: returns how many bytes were read. Used where a
/// file may be damaged or truncated, so no memory map can fault on it.
pub fn read_at(file: &File, path: &Path, buf: &mut [u8], offset: u64) -> Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(crate::Error::io(path, e)),
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_content_and_leaves_no_tmp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("CURRENT");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert!(!dir.path().join("CURRENT.tmp").exists());
    }
}
