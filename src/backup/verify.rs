//! `backup verify`: re-reads every file of one or all backups against the manifest, and the
//! archived WAL (all of it, or with one backup the part its point-in-time window needs);
//! with `--restore-test` restores each backup into a temp dir and compares the logical digest.
//!
//! Problems are collected, not fatal: one damaged backup does not hide the state of the
//! others. The caller turns any problem into exit 4.

use std::path::PathBuf;
use std::sync::Mutex;

use super::manifest::BackupManifest;
use super::repo::Repo;
use super::restore::{self, RestoreOptions};
use super::{Progress, decode_stored, lock, run_queue};
use crate::error::{Error, Result};

#[derive(Debug, Clone, serde::Serialize)]
pub struct Problem {
    pub file: PathBuf,
    pub offset: u64,
    pub what: String,
}

impl Problem {
    pub(crate) fn from_error(fallback: PathBuf, e: &Error) -> Problem {
        match e {
            Error::Corruption {
                path, offset, what, ..
            } => Problem {
                file: path.clone(),
                offset: *offset,
                what: what.clone(),
            },
            other => Problem {
                file: fallback,
                offset: 0,
                what: other.to_string(),
            },
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct BackupCheck {
    pub id: String,
    pub files: usize,
    pub bytes: u64,
    pub problems: Vec<Problem>,
    /// With --restore-test: whether the restored digest matched (None: not run).
    pub restore_test: Option<bool>,
}

/// The archived WAL of one history (checked when every backup is).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ArchiveCheck {
    pub history_id: String,
    pub segments: usize,
    pub bytes: u64,
    pub problems: Vec<Problem>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct VerifyReport {
    pub backups: Vec<BackupCheck>,
    pub archive: Vec<ArchiveCheck>,
}

impl VerifyReport {
    pub fn problems(&self) -> impl Iterator<Item = &Problem> {
        self.backups
            .iter()
            .flat_map(|b| b.problems.iter())
            .chain(self.archive.iter().flat_map(|a| a.problems.iter()))
    }
}

pub fn verify(
    repo: &Repo,
    id: Option<&str>,
    restore_test: bool,
    threads: usize,
    progress: Progress<'_>,
) -> Result<VerifyReport> {
    let _readers = repo.read_guard("backup verify")?;
    let id_given = id.is_some();
    let listed: Vec<(String, Result<BackupManifest>)> = match id {
        Some(id) => vec![(id.to_string(), repo.load(id))],
        None => repo
            .list()?
            .into_iter()
            .map(|l| (l.id, l.manifest))
            .collect(),
    };
    let mut backups = Vec::new();
    // With one backup named: its history, and the sequence after which its window needs WAL.
    let mut window_from = None;
    for (id, manifest) in listed {
        let manifest_path = repo.locate(&super::repo::manifest_key(&id));
        let m = match manifest {
            Ok(m) => m,
            // A missing backup named on the command line is "not found" (exit 10), not damage.
            Err(e @ Error::NotFound { .. }) => return Err(e),
            Err(e) => {
                backups.push(BackupCheck {
                    id,
                    files: 0,
                    bytes: 0,
                    problems: vec![Problem::from_error(manifest_path, &e)],
                    restore_test: None,
                });
                continue;
            }
        };
        if id_given {
            window_from = Some((m.history_id.clone(), m.last_seq));
        }
        let problems = Mutex::new(Vec::new());
        let mut order: Vec<&super::BackupFile> = m.files.iter().collect();
        order.sort_by_key(|f| std::cmp::Reverse(f.size));
        run_queue(threads, &order, |f| {
            let stored = m.stored_key(f);
            if let Err(e) = decode_stored(repo.store().as_ref(), &stored, f, None, progress) {
                lock(&problems).push(Problem::from_error(repo.locate(&stored), &e));
            }
            Ok(())
        })?;
        let mut problems = problems
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        problems.sort_by(|a, b| a.file.cmp(&b.file));
        let mut restore_ok = None;
        if restore_test && problems.is_empty() {
            let tmp = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
            let target = tmp.path().join("restore-test");
            let plan = restore::plan(repo, &target, Some(&id), false, None)?;
            let opts = RestoreOptions {
                threads,
                force: false,
            };
            match restore::restore(repo, plan, &opts, &|_| {}) {
                Ok(_) => restore_ok = Some(true),
                Err(e) => {
                    restore_ok = Some(false);
                    problems.push(Problem::from_error(manifest_path, &e));
                }
            }
        }
        backups.push(BackupCheck {
            id,
            files: m.files.len(),
            bytes: m.bytes,
            problems,
            restore_test: restore_ok,
        });
    }
    // All of the archive with every backup; with one, the archived WAL its point-in-time
    // window needs, so that `verify ID` answers "can I restore from this one" in full.
    let histories: Vec<(String, Option<u64>)> = match window_from {
        Some((history, after)) => super::archive::histories(repo)?
            .into_iter()
            .filter(|h| *h == history)
            .map(|h| (h, Some(after)))
            .collect(),
        None if id_given => Vec::new(),
        None => super::archive::histories(repo)?
            .into_iter()
            .map(|h| (h, None))
            .collect(),
    };
    let mut archive = Vec::new();
    for (history, after) in histories {
        let (segments, bytes, problems) = super::archive::verify_history(repo, &history, after)?;
        archive.push(ArchiveCheck {
            history_id: history,
            segments,
            bytes,
            problems,
        });
    }
    Ok(VerifyReport { backups, archive })
}
