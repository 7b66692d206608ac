//! Point-in-time restore: which backup and which archived WAL reach a target, and the
//! recoverable window of a history.
//!
//! Targets are inclusive. `--to-seq N` keeps every entry with sequence ≤ N. `--to-time T`
//! keeps every entry up to, and not including, the first entry in log order whose commit
//! timestamp is after T (timestamps never go backwards within a log, so that is a prefix).
//! A target is covered only when it can be proven: the newest backup at or before it, then
//! archived segments without a hole up to it, and for a time target an archived entry after
//! T (otherwise a later, unarchived entry could still carry a timestamp ≤ T). Anything else
//! is [`Error::NotCovered`] (exit 12): never a silent fall back to another point.

use std::path::Path;

use serde::Serialize;

use super::archive::{self, ArchivedSegment, Gap, Index, facts, rfc3339_ns};
use super::manifest::BackupManifest;
use super::repo::Repo;
use crate::engine::recovery::list_segments;
use crate::error::{Error, IoContext, Result};
use crate::format::entry::EntryType;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    Seq(u64),
    /// Nanoseconds since the Unix epoch.
    Time(i64),
}

impl Target {
    /// `--to-time`: RFC 3339 (`2026-11-25T17:00:00Z`, `…+01:00`, fractions allowed).
    pub fn parse_time(text: &str) -> Result<Target> {
        let t = chrono::DateTime::parse_from_rfc3339(text).map_err(|e| {
            Error::InvalidInput(format!(
                "--to-time {text:?} is not an RFC 3339 time like 2026-11-25T17:00:00Z ({e})"
            ))
        })?;
        t.timestamp_nanos_opt().map(Target::Time).ok_or_else(|| {
            Error::InvalidInput(format!(
                "--to-time {text:?} is outside the years 1677..2262"
            ))
        })
    }

    pub fn describe(&self) -> String {
        match self {
            Target::Seq(n) => format!("seq {n}"),
            Target::Time(ns) => format!("time {}", rfc3339_ns(*ns)),
        }
    }
}

/// One stretch of a history that restore can reach: from a backup's point to where the
/// archive after it ends or breaks.
#[derive(Debug, Clone, Serialize)]
pub struct Reach {
    pub from_seq: u64,
    pub to_seq: u64,
    /// Times of the entries at `from_seq` and `to_seq`, where known. A time target must lie
    /// in `[from_time, to_time)`: only an archived entry after it proves the end.
    pub from_time: Option<String>,
    pub to_time: Option<String>,
    /// The oldest backup this stretch starts from.
    pub backup: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Window {
    pub history_id: String,
    /// Disjoint, oldest first; more than one when the archive has a hole.
    pub reaches: Vec<Reach>,
    pub archive_gaps: Vec<Gap>,
    /// Archived segments and the sequences they hold.
    pub archived_segments: usize,
    pub archived_range: Option<(u64, u64)>,
}

impl Window {
    pub fn describe(&self) -> String {
        if self.reaches.is_empty() {
            return "empty (no backup of this history)".into();
        }
        self.reaches
            .iter()
            .map(|r| {
                let time = match (&r.from_time, &r.to_time) {
                    (Some(a), Some(b)) if r.to_seq > r.from_seq => format!(" ({a} ..< {b})"),
                    (Some(a), _) => format!(" (at {a})"),
                    _ => String::new(),
                };
                format!("seq {}..={}{time}", r.from_seq, r.to_seq)
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// When the backup's point is: its last sequence and that entry's commit time. A backup of
/// an empty dir is before every time.
fn point_ns(m: &BackupManifest) -> Option<i64> {
    if m.last_seq == 0 {
        Some(i64::MIN)
    } else {
        m.last_entry_ns
    }
}

pub fn window(history: &str, backups: &[&BackupManifest], index: &Index) -> Window {
    let mut reaches: Vec<Reach> = Vec::new();
    let mut sorted: Vec<&&BackupManifest> = backups.iter().collect();
    sorted.sort_by_key(|m| m.last_seq);
    for m in sorted {
        let (to_seq, last) = index.reach(m.last_seq + 1);
        let to_ns = last.and_then(|s| s.last_entry_ns).or(m.last_entry_ns);
        let from_ns = point_ns(m).filter(|n| *n != i64::MIN);
        match reaches.last_mut() {
            Some(r) if m.last_seq <= r.to_seq + 1 => {
                if to_seq > r.to_seq {
                    r.to_seq = to_seq;
                    r.to_time = to_ns.map(rfc3339_ns);
                }
            }
            _ => reaches.push(Reach {
                from_seq: m.last_seq,
                to_seq,
                from_time: from_ns.map(rfc3339_ns),
                to_time: to_ns.map(rfc3339_ns),
                backup: m.id.clone(),
            }),
        }
    }
    let segs = index.segments();
    Window {
        history_id: history.to_string(),
        reaches,
        archive_gaps: index.gaps(),
        archived_segments: segs.len(),
        archived_range: segs
            .first()
            .zip(segs.last())
            .map(|(a, b)| (a.first_seq, b.last_seq)),
    }
}

/// What a point-in-time restore will do, on top of restoring the chosen backup.
#[derive(Debug, Clone, Serialize)]
pub struct PitrPlan {
    pub target: Target,
    pub target_text: String,
    /// The last sequence the restored dir will hold.
    pub target_seq: u64,
    pub history_id: String,
    pub backup_id: String,
    pub backup_seq: u64,
    /// Archived segments replayed after the backup, oldest first.
    pub segments: Vec<ArchivedSegment>,
    /// Closed archived copies that replace a backup's shorter or torn copy of the same segment.
    pub replace: Vec<ArchivedSegment>,
    pub window: Window,
}

fn not_covered(target: Target, window: &Window, why: String, todo: &str) -> Error {
    Error::NotCovered(format!(
        "{} is outside the recoverable window {} of history {}: {why}; {todo}",
        target.describe(),
        window.describe(),
        window.history_id
    ))
}

/// Chooses the backup and the archived WAL for `target`. `backup_id` forces the backup.
pub fn plan(
    repo: &Repo,
    target: Target,
    backup_id: Option<&str>,
) -> Result<(BackupManifest, PitrPlan)> {
    let forced = backup_id.map(|id| repo.load(id)).transpose()?;
    // Damaged manifests are left out here; `backup list` and `backup verify` name them.
    let all: Vec<BackupManifest> = repo
        .list()?
        .into_iter()
        .filter_map(|l| l.manifest.ok())
        .collect();
    let history = match &forced {
        Some(m) => m.history_id.clone(),
        None => match all.last() {
            Some(m) => m.history_id.clone(),
            None => {
                return Err(Error::NotFound {
                    path: repo.locate(super::repo::BACKUPS_DIR),
                    hint: "the repository holds no complete backup; take one with `drkit backup create`".into(),
                });
            }
        },
    };
    let mine: Vec<&BackupManifest> = all.iter().filter(|m| m.history_id == history).collect();
    let mut index = archive::load_index(repo, &history)?;
    index.add_backups(&mine);
    let window = window(&history, &mine, &index);

    let eligible = |m: &BackupManifest| match target {
        Target::Seq(n) => m.last_seq <= n,
        Target::Time(t) => point_ns(m).is_some_and(|p| p <= t),
    };
    let chosen: BackupManifest = match forced {
        Some(m) if eligible(&m) => m,
        Some(m) => {
            return Err(not_covered(
                target,
                &window,
                format!(
                    "backup {} ends at seq {}{}, after the target",
                    m.id,
                    m.last_seq,
                    m.last_entry_ns
                        .map(|n| format!(" ({})", rfc3339_ns(n)))
                        .unwrap_or_default()
                ),
                "choose an older backup with --backup, or leave --backup out",
            ));
        }
        None => match mine
            .iter()
            .filter(|m| eligible(m))
            .max_by_key(|m| m.last_seq)
        {
            Some(m) => (*m).clone(),
            None => {
                let oldest = mine.iter().min_by_key(|m| m.last_seq);
                return Err(not_covered(
                    target,
                    &window,
                    match oldest {
                        Some(o) => format!(
                            "the oldest backup, {}, starts at seq {}{}",
                            o.id,
                            o.last_seq,
                            o.last_entry_ns
                                .map(|n| format!(" ({})", rfc3339_ns(n)))
                                .unwrap_or_default()
                        ),
                        None => "no backup of this history".into(),
                    },
                    "choose a target inside the window; nothing older can be restored",
                ));
            }
        },
    };

    let from = chosen.last_seq + 1;
    let target_seq = match target {
        Target::Seq(n) => n,
        Target::Time(t) => time_to_seq(repo, &index, &chosen, t, &window, target)?,
    };
    let segments: Vec<ArchivedSegment> = match index.chain(from, target_seq) {
        Ok(c) => c.into_iter().cloned().collect(),
        Err(at) => return Err(chain_break(&index, target, &window, at)),
    };
    let in_chain = |s: &ArchivedSegment| segments.iter().any(|c| c.first_seq == s.first_seq);
    let replace = chosen
        .files
        .iter()
        .filter_map(|f| {
            let name = f.path.strip_prefix("wal/")?;
            let first = crate::format::wal::parse_segment_name(name)?;
            let s = index.sealed.get(&first)?;
            (s.blake3 != f.blake3 && !in_chain(s)).then(|| s.clone())
        })
        .collect();
    Ok((
        chosen.clone(),
        PitrPlan {
            target,
            target_text: target.describe(),
            target_seq,
            history_id: history,
            backup_id: chosen.id.clone(),
            backup_seq: chosen.last_seq,
            segments,
            replace,
            window,
        },
    ))
}

fn chain_break(index: &Index, target: Target, window: &Window, at: u64) -> Error {
    let after = index
        .segments()
        .into_iter()
        .find(|s| s.first_seq > at)
        .cloned();
    match after {
        Some(next) => not_covered(
            target,
            window,
            format!(
                "the archive has a gap: seq {at}..={} is in no archived segment (next is {})",
                next.first_seq - 1,
                next.name
            ),
            "the missing WAL is gone; choose a target inside the window, or take a backup after the gap",
        ),
        None => not_covered(
            target,
            window,
            format!(
                "the WAL the repository holds (archived, and inside backups) ends at seq {}",
                index.segments().last().map_or(at - 1, |s| s.last_seq)
            ),
            "run `drkit wal archive` or take a backup, or choose an earlier target",
        ),
    }
}

/// The last sequence at or before time `t`: walks the archive after the backup until the
/// first entry committed after `t`.
fn time_to_seq(
    repo: &Repo,
    index: &Index,
    chosen: &BackupManifest,
    t: i64,
    window: &Window,
    target: Target,
) -> Result<u64> {
    let mut next = chosen.last_seq + 1;
    loop {
        let seg = match index
            .segments()
            .into_iter()
            .find(|s| s.first_seq <= next && next <= s.last_seq)
        {
            Some(s) => s.clone(),
            None => return Err(chain_break(index, target, window, next)),
        };
        // Timestamps never go backwards, so a segment whose last entry is at or before `t`
        // holds no entry after it: no need to read it.
        if seg.last_entry_ns.is_some_and(|l| l > t) {
            let bytes = archive::read_archived(repo, &seg)?;
            let path = repo.locate(&archive::Index::stored_key(&seg));
            let f = facts(&path, &bytes)?;
            if let Some(e) = f
                .entries
                .iter()
                .find(|e| e.0 >= next && e.2 != EntryType::Seal && e.1 > t)
            {
                return Ok(e.0 - 1);
            }
        }
        next = seg.last_seq + 1;
    }
}

/// The commit time of entry `seq` in a data dir's WAL, if a segment still holds it (for
/// the backup manifest's point in time).
pub fn entry_time_in_dir(data: &Path, seq: u64) -> Result<Option<i64>> {
    if seq == 0 {
        return Ok(None);
    }
    let segs = list_segments(&data.join("wal"))?;
    let Some((_, path)) = segs.iter().rev().find(|(first, _)| *first <= seq) else {
        return Ok(None);
    };
    let bytes = std::fs::read(path).at(path)?;
    let f = facts(path, &bytes)?;
    Ok(f.entries
        .iter()
        .find(|e| e.0 == seq && e.2 != EntryType::Seal)
        .map(|e| e.1))
}

/// Cuts the WAL in `wal_dir` right after entry `seq`: segments that start after it go,
/// the one holding it is truncated after it. Returns the entry's commit time if the WAL
/// holds it.
pub fn cut_after(wal_dir: &Path, seq: u64) -> Result<Option<i64>> {
    let segs = list_segments(wal_dir)?;
    let mut time = None;
    for (first, path) in segs.iter().rev() {
        if *first > seq {
            std::fs::remove_file(path).at(path)?;
            continue;
        }
        let bytes = std::fs::read(path).at(path)?;
        let f = facts(path, &bytes)?;
        if f.last_seq().is_some_and(|l| l > seq) {
            let end = f.end_of(seq).ok_or_else(|| {
                Error::corruption(
                    path,
                    0,
                    format!("holds entries after seq {seq} but not seq {seq} itself"),
                )
            })?;
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .at(path)?;
            file.set_len(end).at(path)?;
            file.sync_all().at(path)?;
        }
        time = f
            .entries
            .iter()
            .find(|e| e.0 == seq && e.2 != EntryType::Seal)
            .map(|e| e.1);
        break;
    }
    crate::io::fsync_dir(wal_dir)?;
    Ok(time)
}

/// The recoverable window of each history that has a backup among `backups`, in order of
/// first appearance; a history whose archive index is damaged gets the error instead.
pub fn windows(repo: &Repo, backups: &[&BackupManifest]) -> Vec<(String, Result<Window>)> {
    let mut histories: Vec<&str> = Vec::new();
    for m in backups {
        if !histories.contains(&m.history_id.as_str()) {
            histories.push(&m.history_id);
        }
    }
    histories
        .into_iter()
        .map(|h| {
            let mine: Vec<&BackupManifest> = backups
                .iter()
                .filter(|m| m.history_id == h)
                .copied()
                .collect();
            let w = archive::load_index(repo, h).map(|mut index| {
                index.add_backups(&mine);
                window(h, &mine, &index)
            });
            (h.to_string(), w)
        })
        .collect()
}
