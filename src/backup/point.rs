//! A consistent point of a data dir that a running engine holds, for an online backup.
//!
//! The engine is another process, so there is no call to pause it; instead the point is
//! built from what the engine never changes in place:
//!
//! ```text
//!  DIR/backup-points/<random>/LOCK        held while the point is in use
//!                            /CURRENT     as read, naming the manifest below
//!                            /MANIFEST-N  a copy of the append-only manifest as read
//!                            /sst/…       hard links to every table that manifest lists
//!                            /wal/…       hard links to the closed segments above its
//!                                         checkpoint, and a copy of the active one as read
//! ```
//!
//! Tables are immutable and closed segments never change, so a hard link freezes them even
//! if the engine compacts or retires them a moment later. The manifest and the active
//! segment only grow: a copy of what is there is a prefix, and recovery of the point treats
//! a half-written last record as the torn tail it is. The engine is never blocked.
//!
//! The manifest is read first, the files after: if a table or segment the manifest needs is
//! gone by then (compaction, retirement, a new manifest at reopen), everything is retried
//! from a fresh read. The links live inside the data dir because hard links cannot cross
//! file systems; the point is removed when dropped, and a killed run's point (its LOCK free)
//! is removed by the next one.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};
use crate::format::manifest::ManifestState;
use crate::format::wal::parse_segment_name;
use crate::format::{current, envelope, manifest};
use crate::io::{DirLock, fsync_dir};

pub const POINTS_DIR: &str = "backup-points";

/// How often the point is retried when the engine changes the files under it. Each retry
/// follows a compaction or retirement that finished, so a handful always suffices unless
/// something is badly wrong.
const ATTEMPTS: usize = 20;

#[derive(Debug)]
pub struct Point {
    dir: PathBuf,
    lock: Option<DirLock>,
    /// Attempts the engine's changes forced, for the report.
    pub retries: usize,
}

impl Point {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn lock(&self) -> &DirLock {
        // Set at construction and only taken in drop.
        self.lock.as_ref().unwrap_or_else(|| unreachable!())
    }
}

impl Drop for Point {
    fn drop(&mut self) {
        drop(self.lock.take());
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Why one attempt could not finish: the engine changed something between two reads.
#[derive(Debug)]
enum Attempt {
    Retry(String),
    Failed(Error),
}

impl From<Error> for Attempt {
    fn from(e: Error) -> Self {
        Attempt::Failed(e)
    }
}

/// Removes points of killed runs: those whose LOCK nobody holds. A point in use by another
/// backup (of this dir, into another repository) keeps its lock and is left alone.
pub fn clean_leftovers(data: &Path) -> Result<Vec<PathBuf>> {
    let root = data.join(POINTS_DIR);
    let mut removed = Vec::new();
    let Ok(rd) = fs::read_dir(&root) else {
        return Ok(removed);
    };
    for e in rd {
        let p = e.at(&root)?.path();
        if !p.is_dir() {
            continue;
        }
        match DirLock::acquire(&p) {
            Ok(lock) => {
                drop(lock);
                fs::remove_dir_all(&p).at(&p)?;
                removed.push(p);
            }
            Err(Error::Locked { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(removed)
}

/// An empty, locked dir among the points of `data` (on its file system, so files can be
/// hard-linked into it), removed when dropped or, after a killed run, by the next run.
pub fn scratch(data: &Path) -> Result<Point> {
    let root = data.join(POINTS_DIR);
    fs::create_dir_all(&root).at(&root)?;
    let suffix: [u8; 8] = rand::random();
    let dir = root.join(super::repo::hex(&suffix));
    fs::create_dir(&dir).at(&dir)?;
    Ok(Point {
        lock: Some(DirLock::acquire(&dir)?),
        dir,
        retries: 0,
    })
}

/// Takes a point of `data`, which an engine may be writing.
pub fn take(data: &Path) -> Result<Point> {
    let mut point = scratch(data)?;
    let mut last_reason = String::new();
    for attempt in 0..ATTEMPTS {
        match try_take(data, &point.dir) {
            Ok(()) => {
                point.retries = attempt;
                return Ok(point);
            }
            Err(Attempt::Failed(e)) => return Err(e),
            Err(Attempt::Retry(why)) => {
                last_reason = why;
                for sub in ["sst", "wal"] {
                    let d = point.dir.join(sub);
                    if d.exists() {
                        fs::remove_dir_all(&d).at(&d)?;
                    }
                }
            }
        }
    }
    Err(Error::InvalidInput(format!(
        "{}: the engine kept changing its files while a backup point was taken ({ATTEMPTS} \
         attempts; last: {last_reason}); try again when it is less busy",
        data.display()
    )))
}

fn try_take(data: &Path, point: &Path) -> std::result::Result<(), Attempt> {
    let current_path = data.join("CURRENT");
    let current_bytes = fs::read(&current_path).at(&current_path)?;
    let name = current::decode(&current_path, &current_bytes)?;
    let manifest_path = data.join(&name);
    let manifest_bytes = match fs::read(&manifest_path) {
        Ok(b) => b,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(Attempt::Retry(format!("{name} was replaced")));
        }
        Err(e) => return Err(Error::io(&manifest_path, e).into()),
    };
    // CURRENT moves to a new manifest only after that manifest is complete; reading it again
    // tells whether the copy above belongs to the CURRENT we hold.
    if fs::read(&current_path).at(&current_path)? != current_bytes {
        return Err(Attempt::Retry("CURRENT changed".into()));
    }
    let log = manifest::decode(&manifest_path, &manifest_bytes)?;
    let state: ManifestState = manifest::replay(&manifest_path, &log)?;

    let sst_dir = point.join("sst");
    fs::create_dir_all(&sst_dir).at(&sst_dir)?;
    for meta in state.files.values() {
        let name = meta.file_name();
        let src = data.join("sst").join(&name);
        match fs::hard_link(&src, sst_dir.join(&name)) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(Attempt::Retry(format!("table {name} was compacted away")));
            }
            Err(e) => return Err(link_error(&src, e).into()),
        }
    }

    let wal_src = data.join("wal");
    let wal_dir = point.join("wal");
    fs::create_dir_all(&wal_dir).at(&wal_dir)?;
    let mut segments: Vec<(u64, String)> = Vec::new();
    if wal_src.exists() {
        for e in fs::read_dir(&wal_src).at(&wal_src)? {
            let e = e.at(&wal_src)?;
            if let Some(name) = e.file_name().to_str()
                && let Some(first) = parse_segment_name(name)
            {
                segments.push((first, name.to_string()));
            }
        }
    }
    segments.sort();
    // Segment i holds sequences below segment i+1's first: skip those wholly at or below the
    // checkpoint, as recovery would.
    let needed: Vec<&(u64, String)> = segments
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            segments
                .get(i + 1)
                .is_none_or(|(next, _)| next.saturating_sub(1) > state.flushed_seq)
        })
        .map(|(_, s)| s)
        .collect();
    if let Some((first, name)) = needed.first()
        && *first > state.flushed_seq + 1
    {
        return Err(Attempt::Retry(format!(
            "the log now starts at {name}, above the checkpoint {} of the manifest read",
            state.flushed_seq
        )));
    }
    for (i, (_, name)) in needed.iter().enumerate() {
        let src = wal_src.join(name);
        let dst = wal_dir.join(name);
        if i + 1 < needed.len() {
            match fs::hard_link(&src, &dst) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    return Err(Attempt::Retry(format!("segment {name} was retired")));
                }
                Err(e) => return Err(link_error(&src, e).into()),
            }
        } else {
            // The active segment grows while we read: copy what there is now.
            match fs::copy(&src, &dst) {
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    return Err(Attempt::Retry(format!("segment {name} was retired")));
                }
                Err(e) => return Err(Error::io(&src, e).into()),
            }
            if fs::metadata(&dst).at(&dst)?.len() < envelope::LEN as u64 {
                // The engine has just created it (`SegmentWriter::create` makes the file,
                // then writes its header): it holds no entry yet, and the point is the log
                // up to the segment before it.
                fs::remove_file(&dst).at(&dst)?;
                continue;
            }
            settle_active_copy(&src, &dst)?;
        }
    }

    let point_manifest = point.join(&name);
    fs::write(&point_manifest, &manifest_bytes).at(&point_manifest)?;
    let point_current = point.join("CURRENT");
    fs::write(&point_current, &current_bytes).at(&point_current)?;
    // Nothing here needs to survive a crash (the point is thrown away), but the copies do
    // need to be complete before they are read back.
    fsync_dir(point)?;
    Ok(())
}

/// Cuts the copy of the active segment to a clean prefix: its records, without the zeros the
/// engine preallocated past them (format/wal.rs).
///
/// The engine writes inside the segment's preallocated length, so a copy taken while it
/// writes can read a later page before an earlier one is filled: a torn record or a run of
/// zeros with good records after it. That is a write in flight, not damage, when the source
/// read again is intact there: the copy is then cut where its damage starts, a prefix of
/// the log like any other point. Damage the source still shows is real and stays in the copy
/// for the point's recovery to report.
fn settle_active_copy(src: &Path, dst: &Path) -> std::result::Result<(), Attempt> {
    let copy = fs::read(dst).at(dst)?;
    let Ok(f) = super::archive::facts(dst, &copy) else {
        return Ok(());
    };
    if let Some((at, _)) = f.damage {
        // A large group commit can still be in flight at the first re-read: look a few
        // times before calling the damage real.
        for look in 0..3 {
            if look > 0 {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            let now = match fs::read(src) {
                Ok(b) => b,
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    return Err(Attempt::Retry(format!(
                        "segment {} was retired",
                        src.display()
                    )));
                }
                Err(e) => return Err(Error::io(src, e).into()),
            };
            let real = super::archive::facts(src, &now)
                .map_or(true, |g| g.damage.is_some_and(|(there, _)| there <= at));
            if !real {
                break;
            }
            if look == 2 {
                return Ok(());
            }
        }
    }
    if f.valid_end < copy.len() as u64 {
        let file = fs::OpenOptions::new().write(true).open(dst).at(dst)?;
        file.set_len(f.valid_end).at(dst)?;
    }
    Ok(())
}

fn link_error(src: &Path, e: std::io::Error) -> Error {
    if e.kind() == ErrorKind::CrossesDevices {
        return Error::InvalidInput(format!(
            "{}: cannot hard-link it into the backup point: the data dir spans file systems \
             (is sst/ or wal/ a mount point?); an online backup needs them on one file \
             system: stop the engine and back up the stopped dir instead",
            src.display()
        ));
    }
    Error::io(src, e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::wal::{self, Event};

    /// A preallocated active segment of 30 entries, and where each entry starts.
    fn active_segment(dir: &Path) -> (PathBuf, Vec<u64>) {
        let w = wal::test_segment(dir, 30, 500, 1 << 20);
        let bytes = fs::read(w.path()).unwrap();
        let mut starts = Vec::new();
        wal::scan(&bytes, |ev| {
            if let Event::Entry { offset, .. } = ev {
                starts.push(offset);
            }
            true
        });
        assert_eq!(starts.len(), 30);
        (w.path().to_path_buf(), starts)
    }

    fn copy_with_hole(src: &Path, dst: &Path, hole: std::ops::Range<u64>) {
        let mut copy = fs::read(src).unwrap();
        copy[hole.start as usize..hole.end as usize].fill(0);
        fs::write(dst, copy).unwrap();
    }

    #[test]
    fn copy_of_the_active_segment_keeps_its_records_only() {
        let tmp = tempfile::tempdir().unwrap();
        let (src, starts) = active_segment(tmp.path());
        let records = wal::without_zero_tail(&fs::read(&src).unwrap()).len() as u64;
        assert!(records > starts[29] && fs::metadata(&src).unwrap().len() == 1 << 20);
        let dst = tmp.path().join("copy");
        fs::copy(&src, &dst).unwrap();
        settle_active_copy(&src, &dst).unwrap();
        assert_eq!(fs::metadata(&dst).unwrap().len(), records);
    }

    #[test]
    fn a_hole_from_a_write_in_flight_is_cut_but_real_damage_is_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let (src, starts) = active_segment(tmp.path());
        let dst = tmp.path().join("copy");
        // Entry 20's page read before the engine filled it, later ones after: the source
        // is intact there, so the copy is the prefix before entry 20.
        copy_with_hole(&src, &dst, starts[19]..starts[20]);
        settle_active_copy(&src, &dst).unwrap();
        assert_eq!(fs::metadata(&dst).unwrap().len(), starts[19]);

        // The same bytes zeroed in the source too: real damage, left for recovery to report.
        copy_with_hole(&src, &src, starts[19]..starts[20]);
        copy_with_hole(&src, &dst, starts[19]..starts[20]);
        let before = fs::read(&dst).unwrap();
        settle_active_copy(&src, &dst).unwrap();
        assert_eq!(fs::read(&dst).unwrap(), before);
    }

    /// A data dir whose engine has just created its next segment and not yet written the
    /// header; `flush_first` puts every record below the checkpoint, so no other segment
    /// is needed.
    fn point_beside_a_segment_being_created(flush_first: bool) {
        use crate::engine::{Engine, Options, ReadOnly, RecoveryMode};
        let tmp = tempfile::tempdir().unwrap();
        let next = {
            let e = Engine::open(tmp.path(), Options::default()).unwrap();
            for i in 0..50u32 {
                e.put(format!("k{i}").as_bytes(), b"v").unwrap();
            }
            if flush_first {
                e.flush().unwrap();
            }
            e.last_seq() + 1
        };
        let created = tmp.path().join("wal").join(wal::segment_name(next));
        fs::write(&created, b"").unwrap();

        let point = take(tmp.path()).unwrap();
        assert!(
            !point
                .dir()
                .join("wal")
                .join(wal::segment_name(next))
                .exists()
        );
        let ro = ReadOnly::open_locked(point.dir(), RecoveryMode::Absolute, point.lock()).unwrap();
        assert!(
            ro.wal_report().findings.is_empty(),
            "{:?}",
            ro.wal_report().findings
        );
        for i in 0..50u32 {
            assert!(
                ro.get_raw(format!("Kk{i}").as_bytes()).unwrap().is_some(),
                "k{i}"
            );
        }
    }

    #[test]
    fn a_segment_still_without_its_header_is_left_out_of_the_point() {
        point_beside_a_segment_being_created(false);
        point_beside_a_segment_being_created(true);
    }
}
