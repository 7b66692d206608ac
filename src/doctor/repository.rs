//! The repository's part of the verdict: the newest full and incremental backup against
//! their schedule, the WAL archive's continuity, the recoverable window, and how far the
//! data dir runs past it (the RPO now). Reads only, without the repository's locks.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::data::DataSection;
use super::{Concern, DoctorOptions, Findings, Rpo, human_duration};
use crate::backup::archive::{self, Gap};
use crate::backup::manifest::BackupManifest;
use crate::backup::pitr::{self, Window};
use crate::backup::repo::{Repo, RepoLocation};
use crate::error::Result;

#[derive(Debug, Clone, Serialize)]
pub struct BackupAge {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub end_time: String,
    pub end_unix: f64,
    pub age_seconds: f64,
    /// The newest entry it holds.
    pub last_seq: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RepoSection {
    pub location: String,
    /// Complete backups (of every history), and those whose manifest cannot be read.
    pub backups: usize,
    pub unreadable: usize,
    /// Bytes the repository's backups store (compressed), archive not included.
    pub stored_bytes: u64,
    /// Of the history checked.
    pub newest_full: Option<BackupAge>,
    pub newest_incr: Option<BackupAge>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ArchiveSection {
    pub history_id: String,
    pub archived_segments: usize,
    pub archived_range: Option<(u64, u64)>,
    pub newest_archived_time: Option<String>,
    /// Holes in the archive since the oldest backup of the history.
    pub gaps: Vec<Gap>,
}

pub(super) struct Checked {
    pub repo: RepoSection,
    pub archive: Option<ArchiveSection>,
    pub window: Option<Window>,
    pub rpo: Option<Rpo>,
}

pub(super) fn check(
    location: &RepoLocation,
    data: Option<&DataSection>,
    opts: &DoctorOptions,
    findings: &mut Findings,
) -> Result<Checked> {
    let repo = Repo::open(location)?;
    let place = location.to_string();
    let mut manifests = Vec::new();
    let mut unreadable = 0;
    for listed in repo.list()? {
        match listed.manifest {
            Ok(m) => manifests.push(m),
            Err(e) => {
                unreadable += 1;
                findings.push(
                    Concern::Damage,
                    format!("{place} backup {}", listed.id),
                    format!("its manifest cannot be read: {e}"),
                    format!("drkit backup verify --repo {place} (then take a new backup)"),
                );
            }
        }
    }
    let history = data
        .and_then(|d| d.history_id.clone())
        .or_else(|| manifests.last().map(|m| m.history_id.clone()));
    let mine: Vec<&BackupManifest> = manifests
        .iter()
        .filter(|m| Some(&m.history_id) == history.as_ref())
        .collect();
    let age = |kind: &str| newest(&mine, kind, opts.now);
    let mut section = RepoSection {
        location: place.clone(),
        backups: manifests.len(),
        unreadable,
        stored_bytes: manifests.iter().map(|m| m.stored_bytes).sum(),
        newest_full: age("full"),
        newest_incr: age("incr"),
    };
    let data_arg = data.map_or_else(|| "DIR".to_string(), |d| d.dir.display().to_string());
    check_schedule(&mut section, &place, &data_arg, opts, findings);
    let Some(history) = history else {
        return Ok(Checked {
            repo: section,
            archive: None,
            window: None,
            rpo: None,
        });
    };

    let mut index = match archive::load_index(&repo, &history) {
        Ok(index) => index,
        Err(e) => {
            findings.push(
                Concern::Damage,
                format!("{place} archive of history {history}"),
                format!("the archive's index cannot be read: {e}"),
                format!("drkit backup verify --repo {place}"),
            );
            archive::Index::default()
        }
    };
    index.add_backups(&mine);
    let window = pitr::window(&history, &mine, &index);
    let oldest_point = mine.iter().map(|m| m.last_seq).min().unwrap_or(0);
    let gaps: Vec<Gap> = window
        .archive_gaps
        .iter()
        .filter(|g| g.to_seq > oldest_point)
        .cloned()
        .collect();
    for g in &gaps {
        findings.push(
            Concern::Uncovered,
            format!("{place} archive of history {history}"),
            format!(
                "seq {}..={} is in no archived segment (before {}): point-in-time restore cannot reach into or across it",
                g.from_seq, g.to_seq, g.before
            ),
            format!(
                "drkit wal archive --repo {place} --data {data_arg} (re-archives what the dir still holds), then a new full backup: drkit backup create --repo {place} --data {data_arg} --type full"
            ),
        );
    }
    let segs = index.segments();
    let archive_section = ArchiveSection {
        history_id: history.clone(),
        archived_segments: segs.len(),
        archived_range: window.archived_range,
        newest_archived_time: segs
            .iter()
            .rev()
            .find_map(|s| s.last_entry_ns)
            .map(archive::rfc3339_ns),
        gaps,
    };
    let rpo = data.and_then(|d| rpo(d, &window));
    if let (Some(rpo), Some(max), Some(end)) = (&rpo, opts.max_rpo, window.reaches.last())
        && rpo.seconds > max.as_secs_f64()
    {
        findings.push(
            Concern::Late,
            format!("{place} archive of history {history}"),
            format!(
                "the repository restores up to seq {}{}, {} entries and {} behind the data dir (over --max-rpo {})",
                end.to_seq,
                end.to_time.as_ref().map(|t| format!(" ({t})")).unwrap_or_default(),
                rpo.entries,
                human_duration(rpo.seconds),
                human_duration(max.as_secs_f64())
            ),
            format!(
                "is `drkit wal archive --repo {place} --data {data_arg} --follow` running? start it (or run it from cron)"
            ),
        );
    }
    Ok(Checked {
        repo: section,
        archive: Some(archive_section),
        window: Some(window),
        rpo,
    })
}

/// The newest backup of `kind` among `mine`, with its age at `now`.
fn newest(mine: &[&BackupManifest], kind: &str, now: DateTime<Utc>) -> Option<BackupAge> {
    mine.iter()
        .filter(|m| m.kind == kind)
        .filter_map(|m| {
            let end = DateTime::parse_from_rfc3339(&m.end_time).ok()?.to_utc();
            Some((end, m))
        })
        .max_by_key(|(end, _)| *end)
        .map(|(end, m)| BackupAge {
            id: m.id.clone(),
            kind: m.kind.clone(),
            end_time: m.end_time.clone(),
            end_unix: end.timestamp_millis() as f64 / 1000.0,
            age_seconds: (now - end).num_milliseconds().max(0) as f64 / 1000.0,
            last_seq: m.last_seq,
        })
}

/// A full backup older than `full_every`, or no backup of either kind newer than
/// `incr_every`, is late; no full backup at all leaves nothing to restore.
fn check_schedule(
    s: &mut RepoSection,
    place: &str,
    data_arg: &str,
    opts: &DoctorOptions,
    findings: &mut Findings,
) {
    let create = |kind: &str| {
        format!(
            "drkit backup create --repo {place} --data {data_arg} --type {kind} (is its cron job running?)"
        )
    };
    let Some(full) = &s.newest_full else {
        findings.push(
            Concern::Uncovered,
            place,
            "no full backup of this history: nothing can be restored",
            create("full"),
        );
        return;
    };
    if full.age_seconds > opts.full_every.as_secs_f64() {
        findings.push(
            Concern::Late,
            format!("{place} backup {}", full.id),
            format!(
                "the newest full backup ended {} ago, at {} (one is due every {})",
                human_duration(full.age_seconds),
                full.end_time,
                human_duration(opts.full_every.as_secs_f64())
            ),
            create("full"),
        );
    }
    let newest_any = match &s.newest_incr {
        Some(i) if i.age_seconds < full.age_seconds => i,
        _ => full,
    };
    if newest_any.age_seconds > opts.incr_every.as_secs_f64() {
        findings.push(
            Concern::Late,
            format!("{place} backup {}", newest_any.id),
            format!(
                "the newest backup ended {} ago, at {} (one is due every {})",
                human_duration(newest_any.age_seconds),
                newest_any.end_time,
                human_duration(opts.incr_every.as_secs_f64())
            ),
            create("incr"),
        );
    }
}

/// How far the data dir's newest entry is past the window's end.
fn rpo(d: &DataSection, window: &Window) -> Option<Rpo> {
    let last = d.last_seq?;
    let Some(end) = window.reaches.last() else {
        return Some(Rpo {
            entries: last,
            seconds: 0.0,
        });
    };
    let entries = last.saturating_sub(end.to_seq);
    let end_ns = end
        .to_time
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .and_then(|t| t.timestamp_nanos_opt());
    let seconds = match (entries, d.last_entry_ns, end_ns) {
        (0, _, _) => 0.0,
        (_, Some(a), Some(b)) => (a - b).max(0) as f64 / 1e9,
        _ => 0.0,
    };
    Some(Rpo { entries, seconds })
}
