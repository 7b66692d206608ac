//! The fault-injection harness: 3 voters and a learner as real `drkit serve` processes, each
//! peer link through a proxy, concurrent clients, and a nemesis that kills, pauses,
//! isolates and slows nodes. After healing, the checkers in checks.rs must all hold.
//!
//! `DRKIT_FAULTS=N` runs a schedule of N faults (default 12, what CI runs); the run is
//! bounded by it, every process and port is the test's own, and it stays on loopback.

#![allow(
    clippy::print_stderr,
    reason = "the schedule and the checkers' findings are the test's report"
)]

mod checks;
mod linearizable;
mod procs;
mod proxy;
mod workload;

use std::time::{Duration, Instant};

use procs::{Cluster, LEARNER, VOTERS};
use proxy::Mode;
use workload::Workload;

const CLIENTS: usize = 6;

#[derive(Debug, Clone, Copy)]
enum Fault {
    /// SIGKILL the leader, restart it after a while.
    KillLeader,
    /// SIGSTOP the leader past the election timeout, then SIGCONT: it wakes believing it
    /// still leads.
    PauseLeader,
    /// Cut the leader from every peer, both ways (blackholed or dropped).
    IsolateLeader(Mode),
    /// Delay every packet to and from one follower.
    SlowFollower,
    /// The leader's messages to its peers are lost; theirs to it still arrive.
    CutLeaderOutbound,
    /// Stop every node (SIGTERM, or SIGKILL), start them all again.
    RestartAll { kill: bool },
}

const SCHEDULE: [Fault; 8] = [
    Fault::KillLeader,
    Fault::PauseLeader,
    Fault::IsolateLeader(Mode::Blackhole),
    Fault::SlowFollower,
    Fault::CutLeaderOutbound,
    Fault::RestartAll { kill: false },
    Fault::IsolateLeader(Mode::Drop),
    Fault::RestartAll { kill: true },
];

/// Long enough for the fast profile (election timeout 0.3-0.6 s) to elect someone else.
const HOLD: Duration = Duration::from_millis(1500);

fn apply(cluster: &mut Cluster, fault: Fault, round: usize) {
    let leader = cluster.wait_leader(Duration::from_secs(30));
    match fault {
        Fault::KillLeader => {
            cluster.kill9(leader);
            std::thread::sleep(HOLD);
            cluster.start_node(leader);
        }
        Fault::PauseLeader => {
            cluster.pause(leader);
            std::thread::sleep(HOLD);
            cluster.resume(leader);
        }
        Fault::IsolateLeader(mode) => {
            cluster.set_links(leader, true, true, mode);
            std::thread::sleep(HOLD * 2);
            cluster.heal();
        }
        Fault::SlowFollower => {
            let followers: Vec<u64> = VOTERS
                .iter()
                .copied()
                .chain([LEARNER])
                .filter(|&id| id != leader)
                .collect();
            let f = followers[round % followers.len()];
            cluster.set_links(f, true, true, Mode::Delay(Duration::from_millis(40)));
            std::thread::sleep(HOLD * 2);
            cluster.heal();
        }
        Fault::CutLeaderOutbound => {
            cluster.set_links(leader, false, true, Mode::Blackhole);
            std::thread::sleep(HOLD * 2);
            cluster.heal();
        }
        Fault::RestartAll { kill } => {
            let ids: Vec<u64> = cluster.nodes.iter().map(|n| n.id).collect();
            for &id in &ids {
                if kill {
                    cluster.kill9(id);
                } else {
                    cluster.stop(id);
                }
            }
            for &id in &ids {
                cluster.start_node(id);
            }
        }
    }
}

/// Writes one more key through the leader and waits until every node has applied it:
/// after this, each node's state and log cover everything acknowledged before.
fn converge(cluster: &Cluster) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "the cluster never converged");
        let Some(leader) = cluster.leader() else {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        };
        let Ok(mut c) = redis::Client::open(format!("redis://{}/", cluster.node(leader).client))
            .unwrap()
            .get_connection_with_timeout(Duration::from_secs(1))
        else {
            continue;
        };
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        if redis::cmd("SET")
            .arg("converged")
            .arg("yes")
            .query::<()>(&mut c)
            .is_err()
        {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        }
        let Some(target) = cluster.applied(leader) else {
            continue;
        };
        while Instant::now() < deadline {
            if cluster
                .nodes
                .iter()
                .all(|n| cluster.applied(n.id).is_some_and(|a| a >= target))
            {
                return target;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Runs the schedule under load, heals, and returns every checker's violations.
fn run_schedule(cluster: &mut Cluster, faults: usize) -> (workload::History, Vec<String>) {
    let addrs = cluster.nodes.iter().map(|n| n.client).collect();
    let load = Workload::start(addrs, CLIENTS);
    for round in 0..faults {
        let fault = SCHEDULE[round % SCHEDULE.len()];
        eprintln!(
            "fault {round} at {:?}: {fault:?} (leader {:?})",
            load.elapsed(),
            cluster.leader()
        );
        apply(cluster, fault, round);
        // Let the cluster settle and the clients make progress before the next fault.
        cluster.wait_leader(Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(500));
    }
    let history = load.finish();
    cluster.heal();
    let applied = converge(cluster);

    let mut problems = checks::acked_writes_everywhere(cluster, &history);
    problems.extend(checks::registers_linearizable(&history));
    let ids: Vec<u64> = cluster.nodes.iter().map(|n| n.id).collect();
    for id in ids {
        cluster.stop(id);
    }
    problems.extend(checks::logs_agree(cluster, applied));
    let logs = cluster.logs();
    assert!(
        checks::leadership_was_reported(&logs),
        "no node logged a term it led: the leadership check would be vacuous"
    );
    problems.extend(checks::one_leader_per_term(&logs));
    problems.extend(checks::no_node_reported_a_fault(&logs));
    (history, problems)
}

fn faults_from_env() -> usize {
    std::env::var("DRKIT_FAULTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12)
}

#[test]
fn every_checker_holds_through_a_fault_schedule() {
    let faults = faults_from_env();
    let mut cluster = Cluster::start(&[]);
    let (history, problems) = run_schedule(&mut cluster, faults);
    eprintln!(
        "{faults} faults: {} operations acknowledged, {} failed or unknown, {} unique keys, {} registers",
        history.ok,
        history.failed,
        history.acked.len(),
        history.registers.len()
    );
    assert!(
        history.acked.len() > 50 && history.registers.len() > 3,
        "the clients barely ran: {} writes acknowledged",
        history.acked.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The harness must catch a server that acknowledges before commit: a leader cut off from
/// its quorum then acknowledges writes the new leader never sees.
#[test]
fn acknowledging_before_commit_is_caught() {
    let mut cluster = Cluster::start(&[("DRKIT_UNSAFE_ACK_BEFORE_COMMIT", "1")]);
    let addrs = cluster.nodes.iter().map(|n| n.client).collect();
    let load = Workload::start(addrs, CLIENTS);
    std::thread::sleep(Duration::from_secs(1));
    for round in 0..2 {
        apply(&mut cluster, Fault::IsolateLeader(Mode::Blackhole), round);
        cluster.wait_leader(Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(500));
    }
    let history = load.finish();
    cluster.heal();
    let applied = converge(&cluster);
    let mut problems = checks::acked_writes_everywhere(&cluster, &history);
    problems.extend(checks::registers_linearizable(&history));
    let ids: Vec<u64> = cluster.nodes.iter().map(|n| n.id).collect();
    for id in ids {
        cluster.stop(id);
    }
    problems.extend(checks::logs_agree(&cluster, applied));
    assert!(
        !problems.is_empty(),
        "acknowledging before commit went unnoticed ({} writes acknowledged)",
        history.acked.len()
    );
    eprintln!("caught, as it must be:\n{}", problems.join("\n"));
}

/// `bench cluster --nemesis` in short: twice, on the fast timing, pause and resume the
/// leader, kill and restart it, pause a follower, partition the leader and heal, under a
/// steady load. The bench itself fails when an acknowledged write is lost or a term had two
/// leaders; here its report is checked too.
#[test]
fn the_nemesis_sequence_loses_no_write_and_has_one_leader_per_term() {
    let out = super::common::drkit()
        .args([
            "bench",
            "cluster",
            "--nemesis",
            "--rounds=2",
            "--timing=fast",
            "--json",
        ])
        .timeout(Duration::from_secs(600))
        .output()
        .unwrap();
    super::common::assert_exit(&out, 0, "bench cluster --nemesis");
    let r = &super::common::json_report(&out.stdout)["report"];
    eprintln!("{r}");
    assert_eq!(r["lost"], 0);
    assert_eq!(r["two_leaders"], serde_json::json!([]));
    assert_eq!(r["faults"].as_array().unwrap().len(), 8);
    assert!(r["acknowledged"].as_u64().unwrap() > 1000, "{r}");
    // Each round unseats the leader three times (pause, kill, partition).
    assert!(r["terms_with_leader"].as_u64().unwrap() >= 7, "{r}");
}

/// The same run catches a server that acknowledges before commit: the partitioned leader
/// acknowledges writes its peers never see.
#[test]
fn the_nemesis_catches_acknowledging_before_commit() {
    let out = super::common::drkit()
        .args([
            "bench",
            "cluster",
            "--nemesis",
            "--rounds=1",
            "--timing=fast",
        ])
        .env("DRKIT_UNSAFE_ACK_BEFORE_COMMIT", "1")
        .timeout(Duration::from_secs(600))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("acknowledged writes lost"), "{stderr}");
}
