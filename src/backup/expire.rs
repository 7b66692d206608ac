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
use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::manifest::{BackupManifest, MANIFEST_FILE};
use super::repo::Repo;
use crate::error::{Error, IoContext, Result};
use crate::io::fsync_dir;

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

#[derive(Debug, Clone, serde::Serialize)]
pub struct ExpirePlan {
    pub policy: Policy,
    pub now: String,
    pub backups: Vec<Decision>,
}

impl ExpirePlan {
    pub fn removed(&self) -> impl Iterator<Item = &Decision> {
        self.backups.iter().filter(|d| !d.keep)
    }

    pub fn freed_bytes(&self) -> u64 {
        self.removed().map(|d| d.stored_bytes).sum()
    }
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
    // Newest first: `list` orders by start time.
    let fulls: Vec<&String> = order
        .iter()
        .rev()
        .filter(|id| manifests.get(*id).is_some_and(|m| m.kind == "full"))
        .collect();
    let kept_fulls: BTreeSet<&String> = fulls.iter().take(policy.keep_full).copied().collect();
    let cutoff = now - chrono::Duration::days(i64::from(policy.keep_incr_days));
    for (id, m) in &manifests {
        if kept_fulls.contains(id) {
            reasons.insert(
                id.clone(),
                format!("one of the {} newest full backups", policy.keep_full),
            );
        } else if m.kind != "full" {
            // An incremental is kept while the full backup its parent chain starts from is,
            // and it is young enough.
            let base = root_full(id, &manifests);
            let young = parse_time(m).is_none_or(|t| t >= cutoff);
            match base {
                Some(b) if kept_fulls.contains(&b.to_string()) && young => {
                    reasons.insert(
                        id.clone(),
                        format!("younger than {} days", policy.keep_incr_days),
                    );
                }
                _ => {}
            }
        }
    }
    // The newest backup always stays: it is what a restore picks when nothing is said.
    if let Some(newest) = order.iter().rev().find(|id| manifests.contains_key(*id)) {
        reasons
            .entry(newest.clone())
            .or_insert_with(|| "the newest backup".into());
    }
    // Close over stored_in: a kept backup's files must all stay readable.
    let mut queue: Vec<String> = reasons.keys().cloned().collect();
    while let Some(id) = queue.pop() {
        let Some(m) = manifests.get(&id) else {
            continue;
        };
        for owner in m.references() {
            if !reasons.contains_key(owner) {
                reasons.insert(owner.to_string(), format!("holds files {id} needs"));
                queue.push(owner.to_string());
            }
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
    Ok(ExpirePlan {
        policy,
        now: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        backups,
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
    let lock = repo.lock(lock_wait)?;
    let _readers = if dry_run {
        None
    } else {
        Some(repo.exclusive_read_guard(lock_wait)?)
    };
    let cleaned = if dry_run {
        Vec::new()
    } else {
        repo.clean_leftovers(&lock)?
    };
    let plan = plan(repo, policy, now)?;
    if !dry_run {
        let backups = repo.backups_dir();
        for d in plan.removed() {
            let dir = repo.backup_dir(&d.id);
            let manifest = dir.join(MANIFEST_FILE);
            fs::remove_file(&manifest).at(&manifest)?;
            fsync_dir(&dir)?;
            fs::remove_dir_all(&dir).at(&dir)?;
        }
        fsync_dir(&backups)?;
    }
    drop(lock);
    Ok(ExpireReport {
        plan,
        dry_run,
        cleaned,
    })
}
