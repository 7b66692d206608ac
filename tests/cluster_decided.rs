//! SET NX raced by several clients across a SIGKILL of the leader: each key has exactly one
//! winner, the value every node holds, and no two clients were told they won. The state
//! machine decides a conditional write where it lands in the log, so a client that asks
//! again on the new leader, or a rival there, meets the same decision.

use super::cluster_procs::*;
use super::common::*;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const KEYS: usize = 300;
const CLIENTS: usize = 4;

/// A client that follows MOVED and moves on from a dead or leaderless node.
struct Follower {
    addrs: Vec<String>,
    at: usize,
    conn: Option<redis::Connection>,
    /// Requests that met an error (a dead node, no leader, MOVED) and were asked again.
    retries: Arc<AtomicUsize>,
}

enum Answer {
    Won,
    Lost,
}

impl Follower {
    fn connect(&mut self) -> Option<&mut redis::Connection> {
        if self.conn.is_none() {
            let addr = &self.addrs[self.at];
            let c = redis::Client::open(format!("redis://{addr}/"))
                .ok()?
                .get_connection_with_timeout(Duration::from_secs(2))
                .ok()?;
            c.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
            self.conn = Some(c);
        }
        self.conn.as_mut()
    }

    fn move_on(&mut self, to: Option<&str>) {
        self.retries.fetch_add(1, Ordering::Relaxed);
        self.conn = None;
        self.at = match to.and_then(|a| self.addrs.iter().position(|x| x == a)) {
            Some(i) => i,
            None => (self.at + 1) % self.addrs.len(),
        };
        std::thread::sleep(Duration::from_millis(20));
    }

    /// SET `key` `me` NX until a definite answer: an error leaves the outcome unknown, so it
    /// asks again (and may then find its own earlier attempt's value: it lost to itself).
    fn set_nx(&mut self, key: &str, me: &str, deadline: Instant) -> Answer {
        loop {
            assert!(
                Instant::now() < deadline,
                "no answer for {key} within the deadline"
            );
            let Some(c) = self.connect() else {
                self.move_on(None);
                continue;
            };
            let r: redis::RedisResult<Option<String>> =
                redis::cmd("SET").arg(key).arg(me).arg("NX").query(c);
            match r {
                Ok(Some(ok)) => {
                    assert_eq!(ok, "OK");
                    return Answer::Won;
                }
                Ok(None) => return Answer::Lost,
                Err(e) => {
                    let text = e.to_string();
                    let moved = text
                        .split_whitespace()
                        .skip_while(|w| *w != "MOVED")
                        .nth(2)
                        .map(str::to_string);
                    self.move_on(moved.as_deref());
                }
            }
        }
    }
}

#[test]
fn set_nx_raced_across_a_leader_kill_has_exactly_one_winner_per_key() {
    let root = tempfile::tempdir().unwrap();
    let secret = root.path().join("secret");
    std::fs::write(&secret, "correct horse\n").unwrap();
    let mut nodes: Vec<ClusterNodeProc> = (1..=3)
        .map(|id| ClusterNodeProc {
            id,
            dir: root.path().join(format!("n{id}")),
            client_port: free_port(),
            raft_port: free_port(),
            child: None,
        })
        .collect();
    for n in &mut nodes {
        n.start_new(&secret);
    }
    let members = nodes
        .iter()
        .map(|n| format!("{}={}", n.id, n.raft_addr()))
        .collect::<Vec<_>>()
        .join(",");
    let out = drkit()
        .args(["cluster", "init", "--addr", &nodes[0].raft_addr()])
        .args(["--members", &members])
        .arg("--cluster-secret-file")
        .arg(&secret)
        .output()
        .unwrap();
    assert_exit(&out, 0, "cluster init");
    let leader = wait_leader(&nodes[0].raft_addr(), &secret, None);

    let addrs: Vec<String> = nodes
        .iter()
        .map(|n| format!("127.0.0.1:{}", n.client_port))
        .collect();
    let done = Arc::new(AtomicUsize::new(0));
    let retries = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(120);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (addrs, done, retries) = (addrs.clone(), Arc::clone(&done), Arc::clone(&retries));
            std::thread::spawn(move || {
                let me = format!("client{c}");
                let mut f = Follower {
                    at: (leader - 1) as usize,
                    addrs,
                    conn: None,
                    retries,
                };
                let mut won = Vec::new();
                // Each client takes the keys in its own order, so rivals meet mid-way.
                for i in 0..KEYS {
                    let k = if c % 2 == 0 { i } else { KEYS - 1 - i };
                    let key = format!("lock{k}");
                    if let Answer::Won = f.set_nx(&key, &me, deadline) {
                        won.push(key);
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
                (me, won)
            })
        })
        .collect();

    // SIGKILL the leader once the race is well under way.
    while done.load(Ordering::Relaxed) < KEYS * CLIENTS / 4 {
        assert!(Instant::now() < deadline, "the clients made no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
    let li = (leader - 1) as usize;
    nodes[li].kill9();
    let survivor = nodes.iter().find(|n| n.id != leader).unwrap().raft_addr();
    let new_leader = wait_leader(&survivor, &secret, Some(leader));

    let mut winners: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in clients {
        let (me, won) = c.join().unwrap();
        for key in won {
            winners.entry(key).or_default().push(me.clone());
        }
    }
    assert!(
        retries.load(Ordering::Relaxed) > 0,
        "no client met the leader's death: the race did not cross it"
    );
    let two: Vec<_> = winners.iter().filter(|(_, w)| w.len() > 1).collect();
    assert!(
        two.is_empty(),
        "{} keys with two winners, the first: {:?}",
        two.len(),
        &two[..two.len().min(5)]
    );

    // The killed node comes back and catches up: every node holds, for every key, the value
    // of the one client told it won (or of the one whose answer was lost to an error).
    nodes[li].start(&secret);
    let held = |n: &ClusterNodeProc| -> Vec<Option<String>> {
        let mut c = n.redis();
        let _: () = redis::cmd("READONLY").query(&mut c).unwrap();
        (0..KEYS)
            .map(|k| {
                redis::cmd("GET")
                    .arg(format!("lock{k}"))
                    .query(&mut c)
                    .unwrap()
            })
            .collect()
    };
    let on_leader = held(&nodes[(new_leader - 1) as usize]);
    for (k, v) in on_leader.iter().enumerate() {
        let key = format!("lock{k}");
        let v = v.as_ref().unwrap_or_else(|| panic!("{key} has no value"));
        if let Some(w) = winners.get(&key) {
            assert_eq!(v, &w[0], "{key}: told {} it won, holds {v}", w[0]);
        }
    }
    for n in &nodes {
        let settle = Instant::now() + Duration::from_secs(30);
        loop {
            let got = held(n);
            if got == on_leader {
                break;
            }
            assert!(
                Instant::now() < settle,
                "node {} holds other winners than the leader",
                n.id
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
