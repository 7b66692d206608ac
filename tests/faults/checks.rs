//! What must hold after the faults are healed. Each checker returns every violation it
//! finds, so one run reports all that went wrong.

use std::collections::{BTreeMap, BTreeSet};

use super::linearizable::check_register;
use super::procs::{Cluster, wal_entries};
use super::workload::History;

/// Every acknowledged unique write is on every node with its value (read through READONLY,
/// so each node answers from its own state).
pub fn acked_writes_everywhere(cluster: &Cluster, history: &History) -> Vec<String> {
    let mut problems = Vec::new();
    for n in &cluster.nodes {
        let mut conn = redis::Client::open(format!("redis://{}/", n.client))
            .unwrap()
            .get_connection()
            .unwrap();
        let _: () = redis::cmd("READONLY").query(&mut conn).unwrap();
        let mut missing = Vec::new();
        for chunk in history.acked.chunks(500) {
            let mut pipe = redis::pipe();
            for (k, _) in chunk {
                pipe.cmd("GET").arg(k);
            }
            let got: Vec<Option<String>> = pipe.query(&mut conn).unwrap();
            for ((k, want), got) in chunk.iter().zip(got) {
                if got.as_deref() != Some(want.as_str()) {
                    missing.push(format!("{k}={want} (found {got:?})"));
                }
            }
        }
        if !missing.is_empty() {
            problems.push(format!(
                "node {}: {} of {} acknowledged writes missing or wrong, e.g. {}",
                n.id,
                missing.len(),
                history.acked.len(),
                missing[..missing.len().min(5)].join(", ")
            ));
        }
    }
    problems
}

/// All nodes agree entry by entry on every index up to `applied`: the same term, kind and
/// bytes, with no gap after the first index a node holds.
pub fn logs_agree(cluster: &Cluster, applied: u64) -> Vec<String> {
    let mut problems = Vec::new();
    let mut reference: BTreeMap<u64, (u64, String)> = BTreeMap::new();
    let mut reference_node = BTreeMap::new();
    for n in &cluster.nodes {
        let mut seqs = BTreeSet::new();
        for e in wal_entries(&n.dir) {
            if e["type"] != "entry" {
                if e["type"] == "damage" {
                    problems.push(format!("node {}: damaged log: {e}", n.id));
                }
                continue;
            }
            let seq = e["seq"].as_u64().unwrap();
            if seq > applied || e["entry_type"] == "checkpoint" || e["entry_type"] == "seal" {
                continue;
            }
            let term = e["term"].as_u64().unwrap();
            let bytes = e["hex"].as_str().unwrap_or_default().to_string();
            if !seqs.insert(seq) {
                problems.push(format!("node {}: index {seq} twice in the log", n.id));
            }
            match reference.get(&seq) {
                None => {
                    reference.insert(seq, (term, bytes));
                    reference_node.insert(seq, n.id);
                }
                Some((t, b)) if *t == term && *b == bytes => {}
                Some((t, _)) => problems.push(format!(
                    "index {seq}: node {} has term {term}, node {} term {t} or other bytes",
                    n.id, reference_node[&seq]
                )),
            }
        }
        if let Some(&first) = seqs.first() {
            let want = applied - first + 1;
            if seqs.len() as u64 != want {
                problems.push(format!(
                    "node {}: holds {} of indexes {first}..={applied}",
                    n.id,
                    seqs.len()
                ));
            }
        } else if applied > 0 {
            problems.push(format!("node {}: no log entries up to {applied}", n.id));
        }
    }
    // Terms never go down along the log.
    let mut last = 0;
    for (seq, (term, _)) in &reference {
        if *term < last {
            problems.push(format!("index {seq}: term {term} after term {last}"));
        }
        last = *term;
    }
    problems
}

/// No two nodes ever said they led the same term (each node logs the terms it leads).
pub fn one_leader_per_term(logs: &[(u64, String)]) -> Vec<String> {
    let mut leaders: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
    for (_, text) in logs {
        for line in text.lines() {
            let Some(rest) = line.split("node ").nth(1) else {
                continue;
            };
            let Some((id, term)) = rest.split_once(" is the leader of term ") else {
                continue;
            };
            leaders
                .entry(term.split_whitespace().next().unwrap().parse().unwrap())
                .or_default()
                .insert(id.parse().unwrap());
        }
    }
    leaders
        .iter()
        .filter(|(_, ids)| ids.len() > 1)
        .map(|(term, ids)| format!("term {term} had leaders {ids:?}"))
        .collect()
}

/// Every register's history is linearizable.
pub fn registers_linearizable(history: &History) -> Vec<String> {
    history
        .registers
        .iter()
        .filter_map(|(key, ops)| {
            check_register(ops)
                .err()
                .map(|e| format!("register {key}: {e}"))
        })
        .collect()
}

/// No node's Raft stopped on an error, and no node saw its log diverge (each node logs
/// either the moment it happens).
pub fn no_node_reported_a_fault(logs: &[(u64, String)]) -> Vec<String> {
    logs.iter()
        .flat_map(|(id, text)| {
            text.lines()
                .filter(|l| l.contains("Raft stopped") || l.contains("BUG: Raft log divergence"))
                .map(move |l| format!("node {id}: {l}"))
        })
        .collect()
}

pub fn leadership_was_reported(logs: &[(u64, String)]) -> bool {
    logs.iter()
        .any(|(_, t)| t.contains(" is the leader of term "))
}

#[test]
fn two_leaders_in_one_term_are_reported() {
    let logs = vec![
        (1, "drkit serve: node 1 is the leader of term 3\n".to_string()),
        (
            2,
            "drkit serve: node 2 is the leader of term 4\ndrkit serve: node 2 is the leader of term 3\n"
                .to_string(),
        ),
    ];
    assert_eq!(
        one_leader_per_term(&logs),
        vec!["term 3 had leaders {1, 2}"]
    );
    assert!(one_leader_per_term(&logs[..1]).is_empty());
}
