//! `backup expire`: retention. The default policy is the seed's table: full backups weekly,
//! keep 4; incremental backups daily, keep 7 days; archived WAL 30 days.
//!
//! What is kept is decided first, from the policy, and then closed over what the kept
//! backups need: an incremental backup reads files stored in earlier backups (`stored_in`),
//! and those backups stay whatever their age. A backup whose manifest cannot be read is
//! never removed (nobody can say what needs it); nor is anything when the plan is empty.
//!
//! Removal takes the manifest away first (the backup stops existing, atomically), then the
//! rest; a killed run leaves dirs without a manifest, which the next `create` or `expire`
//! cleans. It holds the repository LOCK (no backup is being created) and READERS
//! exclusively (no restore or verify is reading).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::archive;
use super::manifest::BackupManifest;
use super::repo::Repo;
use super::repo::{BACKUPS_DIR, manifest_key};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Policy {
    /// Full backups to keep, newest first; at least 1.
    pub keep_full: usize,
    /// Incremental backups younger than this many days are kept (when their full is).
    pub keep_incr_days: u32,
    /// Archived WAL younger than this many days is kept, with what it needs to be replayed.
    pub keep_wal_days: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            keep_full: 4,
            keep_incr_days: 7,
            keep_wal_days: 30,
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Decision {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub end_time: String,
    pub keep: bool,
    /// Why, in words: "one of the 4 newest full backups", "needed by …", "older than 7 days".
    pub reason: String,
    /// Bytes stored in this backup's own dir (freed when removed).
    pub stored_bytes: u64,
}

/// What happens to one history's archived WAL.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WalDecision {
    pub history_id: String,
    /// Closed segments kept and removed, and the compressed bytes removal frees.
    pub kept: usize,
    pub removed: Vec<String>,
    pub freed_bytes: u64,
    /// Everything above this sequence is kept (None: all kept).
    pub keep_above_seq: Option<u64>,
    pub reason: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ExpirePlan {
    pub policy: Policy,
    pub now: String,
    pub backups: Vec<Decision>,
    pub wal: Vec<WalDecision>,
}

impl ExpirePlan {
    pub fn removed(&self) -> impl Iterator<Item = &Decision> {
        self.backups.iter().filter(|d| !d.keep)
    }

    pub fn freed_bytes(&self) -> u64 {
        self.removed().map(|d| d.stored_bytes).sum::<u64>()
            + self.wal.iter().map(|w| w.freed_bytes).sum::<u64>()
    }

    pub fn removed_segments(&self) -> usize {
        self.wal.iter().map(|w| w.removed.len()).sum()
    }
}

/// The backup point's time as point-in-time restore sees it: its last entry's commit time.
/// A backup without one is never the base of a time target (see `pitr`), so it must not be
/// taken for one here either.
fn pitr_point_ns(m: &BackupManifest) -> Option<i64> {
    m.last_entry_ns
}

/// Archived WAL: for each history, what the kept backups and the PITR window need. The
/// window reaches back `keep_wal_days`; a restore to its start begins from the newest kept
/// backup at or before it (or the oldest kept one), so every segment above that backup's
/// point stays, and only closed segments ending before it go. A history without any
/// kept backup cannot be restored from; its segments go once older than the window. An
/// archive whose sidecars cannot be read is left alone.
fn plan_wal(
    repo: &Repo,
    policy: Policy,
    now: DateTime<Utc>,
    kept: &[&BackupManifest],
) -> Result<Vec<WalDecision>> {
    let window_start = (now - chrono::Duration::days(i64::from(policy.keep_wal_days)))
        .timestamp_nanos_opt()
        .unwrap_or(i64::MIN);
    let mut out = Vec::new();
    for history in archive::histories(repo)? {
        let index = match archive::load_index(repo, &history) {
            Ok(i) => i,
            Err(e) => {
                out.push(WalDecision {
                    history_id: history,
                    kept: 0,
                    removed: Vec::new(),
                    freed_bytes: 0,
                    keep_above_seq: None,
                    reason: format!(
                        "archive unreadable ({e}); nothing removed, see `backup verify`"
                    ),
                });
                continue;
            }
        };
        let mut ours: Vec<&&BackupManifest> =
            kept.iter().filter(|m| m.history_id == history).collect();
        ours.sort_by_key(|m| m.last_seq);
        let base = ours
            .iter()
            .rev()
            .find(|m| pitr_point_ns(m).is_some_and(|t| t <= window_start))
            .or(ours.first());
        let (removable, keep_above_seq, reason): (Vec<&archive::ArchivedSegment>, _, _) = match base
        {
            Some(b) => (
                index
                    .sealed
                    .values()
                    // Strictly below: the closed copy of the backup's last segment can end at the
                    // backup's last sequence (a seal repeats it), and restore puts it in place of the
                    // backup's own, possibly torn, copy.
                    .filter(|s| s.last_seq < b.last_seq)
                    .collect(),
                Some(b.last_seq),
                format!(
                    "closed segments ending before seq {} go: backup {} is where a restore to the start of the {}-day window begins",
                    b.last_seq, b.id, policy.keep_wal_days
                ),
            ),
            None => (
                index
                    .sealed
                    .values()
                    .filter(|s| s.last_entry_ns.is_some_and(|t| t < window_start))
                    .collect(),
                None,
                format!(
                    "no kept backup of this history: only segments older than {} days go",
                    policy.keep_wal_days
                ),
            ),
        };
        out.push(WalDecision {
            history_id: history,
            kept: index.sealed.len() - removable.len(),
            freed_bytes: removable.iter().map(|s| s.stored_size).sum(),
            removed: removable.iter().map(|s| s.name.clone()).collect(),
            keep_above_seq,
            reason,
        });
    }
    Ok(out)
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ExpireReport {
    pub plan: ExpirePlan,
    pub dry_run: bool,
    /// Leftovers of killed runs removed on the way.
    pub cleaned: Vec<PathBuf>,
}

fn parse_time(m: &BackupManifest) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(&m.end_time)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The full backup an incremental's parent chain starts from, if the chain is whole.
fn root_full<'a>(id: &'a str, manifests: &'a BTreeMap<String, BackupManifest>) -> Option<&'a str> {
    let mut at = id;
    // Bounded: sealed manifests cannot form a cycle, but a bound costs nothing.
    for _ in 0..=manifests.len() {
        let m = manifests.get(at)?;
        if m.kind == "full" {
            return Some(at);
        }
        at = m.parent.as_deref()?;
    }
    None
}

/// Decides, changing nothing.
pub fn plan(repo: &Repo, policy: Policy, now: DateTime<Utc>) -> Result<ExpirePlan> {
    if policy.keep_full == 0 {
        return Err(Error::InvalidInput(
            "--keep-full must be at least 1: expiring every full backup would leave nothing to restore"
                .into(),
        ));
    }
    let listed = repo.list()?;
    let mut manifests: BTreeMap<String, BackupManifest> = BTreeMap::new();
    let mut order = Vec::new();
    let mut reasons: BTreeMap<String, String> = BTreeMap::new();
    for l in listed {
        order.push(l.id.clone());
        match l.manifest {
            Ok(m) => {
                manifests.insert(l.id, m);
            }
            Err(e) => {
                reasons.insert(
                    l.id,
                    format!("manifest unreadable ({e}); never expired, see `backup verify`"),
                );
            }
        }
    }
    let window_start = (now - chrono::Duration::days(i64::from(policy.keep_wal_days)))
        .timestamp_nanos_opt()
        .unwrap_or(i64::MIN);
    let cutoff = now - chrono::Duration::days(i64::from(policy.keep_incr_days));
    // The policy applies per dir history: two data dirs sharing a repository each keep
    // their own newest full backups.
    let mut histories: BTreeMap<&str, Vec<&String>> = BTreeMap::new();
    for id in &order {
        if let Some(m) = manifests.get(id) {
            histories.entry(m.history_id.as_str()).or_default().push(id);
        }
    }
    for ids in histories.values() {
        // `list` orders by start time, oldest first.
        let kept_fulls: BTreeSet<&String> = ids
            .iter()
            .rev()
            .filter(|id| manifests.get(**id).is_some_and(|m| m.kind == "full"))
            .take(policy.keep_full)
            .copied()
            .collect();
        for id in ids {
            let Some(m) = manifests.get(*id) else {
                continue;
            };
            if kept_fulls.contains(id) {
                reasons.insert(
                    (*id).clone(),
                    format!("one of the {} newest full backups", policy.keep_full),
                );
            } else if m.kind != "full" {
                // An incremental is kept while the full backup its parent chain starts from
                // is, and it is young enough.
                let young = parse_time(m).is_none_or(|t| t >= cutoff);
                if young
                    && root_full(id, &manifests)
                        .is_some_and(|b| kept_fulls.contains(&b.to_string()))
                {
                    reasons.insert(
                        (*id).clone(),
                        format!("younger than {} days", policy.keep_incr_days),
                    );
                }
            }
        }
        // The newest backup always stays: it is what a restore picks when nothing is said.
        if let Some(newest) = ids.last() {
            reasons
                .entry((*newest).clone())
                .or_insert_with(|| "the newest backup of its history".into());
        }
        // A restore to the start of the PITR window begins from the newest backup at or
        // before it: that one stays too, or the window would silently shrink.
        if let Some(base) = ids.iter().rev().find(|id| {
            manifests
                .get(**id)
                .and_then(pitr_point_ns)
                .is_some_and(|t| t <= window_start)
        }) {
            reasons.entry((*base).clone()).or_insert_with(|| {
                format!(
                    "where a restore to the start of the {}-day WAL window begins",
                    policy.keep_wal_days
                )
            });
        }
    }
    // Close over what kept backups need: the backups their files are stored in, and their
    // parent (so an incremental's chain, and with it `root_full`, stays whole).
    let mut queue: Vec<String> = reasons.keys().cloned().collect();
    while let Some(id) = queue.pop() {
        let Some(m) = manifests.get(&id) else {
            continue;
        };
        let parent = m.parent.iter().map(String::as_str);
        for (owner, why) in m
            .references()
            .into_iter()
            .map(|o| (o, "holds files"))
            .chain(parent.map(|p| (p, "is the parent of")))
        {
            if manifests.contains_key(owner) && !reasons.contains_key(owner) {
                reasons.insert(owner.to_string(), format!("{why} {id}, which is kept"));
                queue.push(owner.to_string());
            }
        }
    }
    // A manifest that cannot be read may name files stored anywhere: until it reads again
    // (or is removed by hand after `backup verify`), nothing is removed.
    if let Some(bad) = order.iter().find(|id| !manifests.contains_key(*id)) {
        for id in &order {
            reasons.entry(id.clone()).or_insert_with(|| {
                format!("kept: the manifest of {bad} cannot be read, so what it needs is unknown")
            });
        }
    }
    let backups = order
        .iter()
        .map(|id| {
            let m = manifests.get(id);
            let kind = m.map_or_else(|| "?".into(), |m| m.kind.clone());
            let reason = reasons.get(id).cloned();
            Decision {
                id: id.clone(),
                end_time: m.map(|m| m.end_time.clone()).unwrap_or_default(),
                keep: reason.is_some(),
                reason: reason.unwrap_or_else(|| {
                    if kind == "full" {
                        format!("not one of the {} newest full backups", policy.keep_full)
                    } else {
                        format!(
                            "older than {} days, or its full backup is expired",
                            policy.keep_incr_days
                        )
                    }
                }),
                kind,
                stored_bytes: m.map_or(0, |m| m.stored_bytes),
            }
        })
        .collect();
    let kept: Vec<&BackupManifest> = manifests
        .iter()
        .filter(|(id, _)| reasons.contains_key(*id))
        .map(|(_, m)| m)
        .collect();
    let wal = plan_wal(repo, policy, now, &kept)?;
    Ok(ExpirePlan {
        policy,
        now: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        backups,
        wal,
    })
}

/// Plans and, unless `dry_run`, removes what the plan says.
pub fn expire(
    repo: &Repo,
    policy: Policy,
    now: DateTime<Utc>,
    dry_run: bool,
    lock_wait: Duration,
) -> Result<ExpireReport> {
    let lock = repo.lock("backup expire", lock_wait)?;
    let _readers = if dry_run {
        None
    } else {
        Some(repo.exclusive_read_guard("backup expire", lock_wait)?)
    };
    let cleaned = if dry_run {
        Vec::new()
    } else {
        repo.clean_leftovers(&lock)?
    };
    let plan = plan(repo, policy, now)?;
    if !dry_run {
        let store = repo.store();
        for d in plan.removed() {
            // The manifest first: from then on the backup does not exist.
            store.delete(&manifest_key(&d.id))?;
            store.delete_prefix(&format!("{BACKUPS_DIR}/{}", d.id))?;
        }
        for w in &plan.wal {
            let prefix = archive::history_prefix(&w.history_id);
            for name in &w.removed {
                // The sidecar first: from then on the segment is not archived.
                let sidecar = archive::ArchivedSegment::sidecar_name(name, true);
                store.delete(&format!("{prefix}/{sidecar}"))?;
                store.delete(&format!("{prefix}/{name}.zst"))?;
            }
        }
    }
    drop(lock);
    Ok(ExpireReport {
        plan,
        dry_run,
        cleaned,
    })
}
