//! The engine's side of cluster mode: what a Raft snapshot takes from it (a hard-linked
//! checkpoint of the flushed tables) and gives back (a whole new tree). Applying committed
//! entries is `Engine::apply_committed` in mod.rs, beside the write path it mirrors.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Engine, Item, Memtable, Options, apply_to_memtable, lock, version, write_table};
use crate::error::{Error, IoContext, Result};
use crate::format::entry::EntryRef;
use crate::format::manifest::{FileMeta, VersionEdit};
use crate::format::sst::Sst;

/// Writes committed entries' writes (in log order, as the state machine applies them) as one
/// level-0 table `file_no` in `dir/sst`, each key at its newest write: the table a flush of
/// them would give. None when they write nothing. (An export of a node's committed state.)
pub fn write_applied_table(
    dir: &Path,
    file_no: u64,
    writes: &[EntryRef<'_>],
) -> Result<Option<FileMeta>> {
    let mem = applied_memtable(writes);
    let sst_dir = version::sst_dir(dir);
    fs::create_dir_all(&sst_dir).at(&sst_dir)?;
    let items = mem.iter().map(|(key, v)| Item {
        key,
        seq: v.seq,
        value: v.value,
    });
    write_table(dir, 0, file_no, &Options::default(), items)
}

/// The memtable the writes of committed entries make (an offline view of a node's dir).
pub fn applied_memtable(writes: &[EntryRef<'_>]) -> Memtable {
    let mem = Memtable::new();
    for w in writes {
        apply_to_memtable(&mem, w);
    }
    mem
}

/// A flushed checkpoint, hard-linked so compaction cannot delete it underneath a reader.
#[derive(Debug)]
pub struct LinkedCheckpoint {
    /// The tables with their links under the destination dir.
    pub tables: Vec<(FileMeta, PathBuf)>,
    pub flushed_seq: u64,
    pub cluster_state: Option<Vec<u8>>,
}

impl Engine {
    /// Flushes, then hard-links every live table into `dest` (a new, empty dir on the same
    /// file system) and returns them with the checkpoint they make up.
    pub fn link_checkpoint(&self, dest: &Path) -> Result<LinkedCheckpoint> {
        self.inner.flush_all()?;
        fs::create_dir_all(dest).at(dest)?;
        // Compaction installs and deletes tables under this lock: holding it, the version
        // read below stays on disk until every link is made.
        let _no_compaction = lock(&self.inner.compacting);
        let (version, flushed_seq, cluster_state) = {
            let vs = lock(&self.inner.versions);
            (
                vs.current(),
                vs.state().flushed_seq,
                vs.state().cluster_state.clone(),
            )
        };
        let mut tables = Vec::new();
        for t in version.all_tables() {
            let src = version::sst_path(&self.inner.dir, &t.meta);
            let link = dest.join(t.meta.file_name());
            fs::hard_link(&src, &link).at(&link)?;
            tables.push((t.meta.clone(), link));
        }
        Ok(LinkedCheckpoint {
            tables,
            flushed_seq,
            cluster_state,
        })
    }

    /// Replaces the whole tree with `tables` (files of a received snapshot, each at a path on
    /// the data dir's file system, with the level it belongs to), as of `flushed_seq` with
    /// `cluster_state`. The memtables are dropped: the snapshot covers everything applied.
    /// One manifest edit makes the switch, so a crash leaves the old tree or the new one.
    pub fn install_checkpoint(
        &self,
        tables: Vec<(u8, PathBuf)>,
        flushed_seq: u64,
        cluster_state: Vec<u8>,
    ) -> Result<()> {
        let inner = &self.inner;
        if !inner.opts.cluster {
            return Err(Error::InvalidInput(
                "install_checkpoint is for cluster mode only".into(),
            ));
        }
        drop(inner.take_lead());
        let result = (|| {
            let _one_flush = lock(&inner.flushing);
            let _no_compaction = lock(&inner.compacting);
            let mut vs = lock(&inner.versions);
            let mut added = Vec::with_capacity(tables.len());
            for (level, path) in tables {
                let file_no = vs.allocate_file_no();
                let props = Sst::open(&path)?.properties().clone();
                let meta = FileMeta::from_properties(level, file_no, props);
                let dst = version::sst_path(&inner.dir, &meta);
                fs::rename(&path, &dst).at(&dst)?;
                added.push(meta);
            }
            crate::io::fsync_dir(&version::sst_dir(&inner.dir))?;
            let old = vs.current();
            let deleted = old
                .all_tables()
                .map(|t| (t.meta.level, t.meta.file_no))
                .collect();
            let version = vs.log_and_apply(VersionEdit {
                added,
                deleted,
                flushed_seq: Some(flushed_seq),
                last_seq: Some(flushed_seq),
                cluster_state: Some(cluster_state),
                ..Default::default()
            })?;
            drop(vs);
            {
                let mut m = inner
                    .mem
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                m.active = Arc::new(Memtable::new());
                m.immutable.clear();
                m.version = version;
            }
            for t in old.all_tables() {
                let _ = fs::remove_file(version::sst_path(&inner.dir, &t.meta));
            }
            Ok(())
        })();
        let mut st = inner.end_lead();
        if result.is_ok() {
            st.done_seq = st.done_seq.max(flushed_seq);
        }
        result
    }
}
