//! The set of live SSTs (a `Version`, immutable and shared with readers) and the manifest
//! that records every change to it.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::options::LEVELS;
use crate::error::{Error, IoContext, Result};
use crate::format::block_cache::BlockCache;
use crate::format::manifest::{self, FileMeta, ManifestState, VersionEdit};
use crate::format::sst::{Sst, SstEntry};
use crate::format::{current, envelope};
use crate::io::{fsync_dir, write_atomic};

#[derive(Debug)]
pub struct Table {
    pub meta: FileMeta,
    pub sst: Sst,
}

impl Table {
    pub fn overlaps(&self, lo: &[u8], hi: &[u8]) -> bool {
        self.meta.smallest.as_slice() <= hi && self.meta.largest.as_slice() >= lo
    }
}

/// An immutable view of the tree. L0 files are newest first (they may overlap); L1+ are
/// sorted by smallest key and never overlap within a level.
#[derive(Debug, Default, Clone)]
pub struct Version {
    pub levels: [Vec<Arc<Table>>; LEVELS],
}

impl Version {
    pub fn get(&self, key: &[u8]) -> Result<Option<SstEntry>> {
        for t in &self.levels[0] {
            if t.overlaps(key, key)
                && let Some(e) = t.sst.get(key)?
            {
                return Ok(Some(e));
            }
        }
        for level in &self.levels[1..] {
            let i = level.partition_point(|t| t.meta.largest.as_slice() < key);
            if let Some(t) = level.get(i)
                && t.overlaps(key, key)
                && let Some(e) = t.sst.get(key)?
            {
                return Ok(Some(e));
            }
        }
        Ok(None)
    }

    pub fn all_tables(&self) -> impl Iterator<Item = &Arc<Table>> {
        self.levels.iter().flatten()
    }

    pub fn level_bytes(&self, level: usize) -> u64 {
        self.levels[level].iter().map(|t| t.meta.size).sum()
    }

    /// Opens the tables `state` lists. `mapped`: memory-map them, which is only sound while a
    /// lock keeps every writer out; otherwise they are read into memory with plain reads.
    /// New tables read compressed blocks through `cache`.
    pub(super) fn build(
        dir: &Path,
        state: &ManifestState,
        reuse: &Version,
        mapped: bool,
        cache: Option<&Arc<BlockCache>>,
    ) -> Result<Version> {
        let mut v = Version::default();
        for meta in state.files.values() {
            let level = usize::from(meta.level);
            if level >= LEVELS {
                return Err(Error::corruption(
                    dir.join(meta.file_name()),
                    0,
                    format!(
                        "manifest places a file at level {level}, beyond the last level {}",
                        LEVELS - 1
                    ),
                ));
            }
            let table = match reuse.all_tables().find(|t| t.meta.file_no == meta.file_no) {
                Some(t) => Arc::clone(t),
                None => {
                    let path = sst_path(dir, meta);
                    if !path.exists() {
                        return Err(Error::corruption(
                            path,
                            0,
                            "the manifest lists this SSTable but the file is missing",
                        )
                        .with_hint(crate::error::REPAIR_HINT));
                    }
                    Arc::new(Table {
                        meta: meta.clone(),
                        sst: if mapped {
                            Sst::open(&path)?
                        } else {
                            Sst::from_bytes(&path, std::fs::read(&path).at(&path)?)?
                        }
                        .with_cache(cache.cloned()),
                    })
                }
            };
            v.levels[level].push(table);
        }
        v.levels[0].sort_by(|a, b| {
            b.meta
                .max_seq
                .cmp(&a.meta.max_seq)
                .then(b.meta.file_no.cmp(&a.meta.file_no))
        });
        for level in &mut v.levels[1..] {
            level.sort_by(|a, b| a.meta.smallest.cmp(&b.meta.smallest));
        }
        Ok(v)
    }
}

pub fn sst_dir(dir: &Path) -> PathBuf {
    dir.join("sst")
}

pub fn sst_path(dir: &Path, meta: &FileMeta) -> PathBuf {
    sst_dir(dir).join(meta.file_name())
}

/// The manifest writer and the state it has recorded.
#[derive(Debug)]
pub struct VersionSet {
    dir: PathBuf,
    state: ManifestState,
    manifest: Option<(File, PathBuf)>,
    manifest_no: u64,
    current: Arc<Version>,
    cache: Option<Arc<BlockCache>>,
}

/// Reads CURRENT and the manifest it names, read-only.
pub fn load_state(dir: &Path) -> Result<(ManifestState, u64)> {
    let current_path = dir.join("CURRENT");
    let bytes = fs::read(&current_path).at(&current_path)?;
    let name = current::decode(&current_path, &bytes)?;
    let manifest_no = manifest::parse_manifest_name(&name).unwrap_or_default();
    let path = dir.join(&name);
    let bytes = fs::read(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::corruption(
                &current_path,
                0,
                format!("CURRENT names {name}, which does not exist"),
            )
            .with_hint(crate::error::REPAIR_HINT)
        } else {
            Error::io(&path, e)
        }
    })?;
    let log = manifest::decode(&path, &bytes)?;
    let state = manifest::replay(&path, &log)?;
    Ok((state, manifest_no))
}

impl VersionSet {
    /// Opens the SSTs `state` describes without writing anything.
    pub fn open_read_only(
        dir: &Path,
        state: ManifestState,
        manifest_no: u64,
        cache: Option<Arc<BlockCache>>,
    ) -> Result<VersionSet> {
        let current = Arc::new(Version::build(
            dir,
            &state,
            &Version::default(),
            true,
            cache.as_ref(),
        )?);
        Ok(VersionSet {
            dir: dir.to_path_buf(),
            state,
            manifest: None,
            manifest_no,
            current,
            cache,
        })
    }

    pub fn block_cache(&self) -> Option<&Arc<BlockCache>> {
        self.cache.as_ref()
    }

    /// Starts a fresh manifest holding one snapshot edit of `state`, points CURRENT at it and
    /// removes older manifests. Rewriting on every open keeps the manifest short.
    pub fn start_new_manifest(&mut self) -> Result<()> {
        let no = self.manifest_no + 1;
        let name = manifest::manifest_name(no);
        let path = self.dir.join(&name);
        let mut bytes = envelope::encode(envelope::Kind::Manifest).to_vec();
        manifest::encode_record(&self.state.snapshot_edit(), &mut bytes);
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .at(&path)?;
        file.write_all(&bytes).at(&path)?;
        file.sync_all().at(&path)?;
        fsync_dir(&self.dir)?;
        write_atomic(&self.dir.join("CURRENT"), current::encode(&name).as_bytes())?;
        for entry in fs::read_dir(&self.dir).at(&self.dir)?.flatten() {
            let n = entry.file_name();
            if let Some(old) = n.to_str().and_then(manifest::parse_manifest_name)
                && old != no
            {
                let _ = fs::remove_file(entry.path());
            }
        }
        self.manifest = Some((file, path));
        self.manifest_no = no;
        Ok(())
    }

    pub fn state(&self) -> &ManifestState {
        &self.state
    }

    pub fn current(&self) -> Arc<Version> {
        Arc::clone(&self.current)
    }

    pub fn allocate_file_no(&mut self) -> u64 {
        let no = self.state.next_file_no.max(1);
        self.state.next_file_no = no + 1;
        no
    }

    /// Appends `edit` durably, then applies it and opens the new version's tables. On error
    /// nothing is applied (the caller must treat the engine as failed: the manifest tail is
    /// unknown).
    pub fn log_and_apply(&mut self, mut edit: VersionEdit) -> Result<Arc<Version>> {
        edit.next_file_no = Some(self.state.next_file_no);
        let mut next = self.state.clone();
        next.apply(&edit).map_err(Error::InvalidInput)?;
        let version = Arc::new(Version::build(
            &self.dir,
            &next,
            &self.current,
            true,
            self.cache.as_ref(),
        )?);
        let (file, path) = self
            .manifest
            .as_mut()
            .ok_or_else(|| Error::InvalidInput("manifest opened read-only".into()))?;
        let mut rec = Vec::new();
        manifest::encode_record(&edit, &mut rec);
        file.write_all(&rec).at(path)?;
        file.sync_data().at(path)?;
        self.state = next;
        self.current = Arc::clone(&version);
        Ok(version)
    }

    /// Gives the stopped dir `dir` a new history id: a fresh manifest holding the same tree
    /// under `history_id`, CURRENT pointed at it atomically, the old manifest removed. A
    /// restored copy must not share its origin's history, or WAL archived from the two would
    /// look like one timeline. Opening the dir with the engine would keep the old id, so this
    /// goes through the same manifest code the engine uses. The caller holds the dir (a
    /// restore's staging dir, which nothing else knows about yet).
    pub fn reset_history_id(dir: &Path, history_id: [u8; 16]) -> Result<ManifestState> {
        Self::rewrite_stopped(dir, |state| state.history_id = history_id)
    }

    /// Writes a fresh manifest of the stopped dir `dir` holding its state as `change` leaves
    /// it, CURRENT pointed at it atomically (a crash leaves the old state or the new one). The
    /// caller holds the dir and has put any table the new state names in place.
    pub fn rewrite_stopped(
        dir: &Path,
        change: impl FnOnce(&mut ManifestState),
    ) -> Result<ManifestState> {
        let (mut state, manifest_no) = load_state(dir)?;
        change(&mut state);
        let mut vs = VersionSet {
            dir: dir.to_path_buf(),
            state,
            manifest: None,
            manifest_no,
            // Not needed to write a manifest; nothing reads tables through this value.
            current: Arc::default(),
            cache: None,
        };
        vs.start_new_manifest()?;
        Ok(vs.state)
    }

    /// Writes a brand-new data dir's first manifest.
    pub fn create(
        dir: &Path,
        history_id: [u8; 16],
        cache: Option<Arc<BlockCache>>,
    ) -> Result<VersionSet> {
        let state = ManifestState {
            history_id,
            next_file_no: 1,
            ..Default::default()
        };
        let mut vs = VersionSet {
            dir: dir.to_path_buf(),
            state,
            manifest: None,
            manifest_no: 0,
            current: Arc::default(),
            cache,
        };
        vs.start_new_manifest()?;
        Ok(vs)
    }
}
