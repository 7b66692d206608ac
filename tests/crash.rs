//! kill -9 loop: a child writes with sync=always and prints each acknowledged write; we
//! SIGKILL it at random moments, reopen, and check that every acknowledged write reads back
//! with its exact value and that no key holds a value nobody wrote.
//!
//! Iterations: `DRKIT_CRASH_ITERATIONS` (default 50). Seed: `DRKIT_CRASH_SEED` (default: from
//! the clock, printed, so a failure can be replayed).

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use drkit::bench::ops;
use drkit::engine::{Engine, Options};
use rand::{Rng, SeedableRng};

use super::common::*;

fn iterations() -> u64 {
    std::env::var("DRKIT_CRASH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
}

#[test]
fn acknowledged_writes_survive_sigkill_at_random_moments() {
    let seed: u64 = std::env::var("DRKIT_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("crash test seed {seed} (DRKIT_CRASH_SEED={seed} replays it)");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    // What every key must hold now: verified after each round.
    let mut state: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut total_acked = 0u64;
    let mut last_said = String::new();

    for round in 0..iterations() {
        let workload_seed = seed ^ (round + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let value_size = if round % 3 == 0 { 300 } else { 0 };
        // Kept, so a failing round shows what the writer said (an open error, a panic).
        let writer_err = tmp.path().join(format!("writer-{round}.stderr"));
        let said = || std::fs::read_to_string(&writer_err).unwrap_or_default();
        let mut child = Command::new(drkit_path())
            .args(["crash-writer", "--sync", "always", "--records", "1000000"])
            .args([
                "--seed",
                &workload_seed.to_string(),
                "--value-size",
                &value_size.to_string(),
            ])
            // Small memtables and segments: flushes, compactions and WAL retirement all
            // happen while we kill.
            .args([
                "--memtable-bytes",
                "131072",
                "--wal-segment-bytes",
                "65536",
                "--dir",
            ])
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&writer_err).unwrap())
            .spawn()
            .unwrap();
        // Kill at a random moment: sometimes during start-up and recovery, mostly mid-stream.
        let kill_after = Duration::from_micros(rng.random_range(0..300_000));
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut acked = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let index: u64 = line.split_whitespace().next().unwrap().parse().unwrap();
                acked.push(index);
            }
            acked
        });
        let started = Instant::now();
        while started.elapsed() < kill_after {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let _ = child.kill();
        let status = child.wait().unwrap();
        let acked = reader.join().unwrap();
        assert!(
            !status.success() || acked.is_empty() || acked.len() as u64 == 1_000_000,
            "writer exited on its own: {status:?}; it said: {}",
            said()
        );
        if !said().is_empty() {
            eprintln!("round {round}: the writer ({status:?}) said: {}", said());
            last_said = said();
        }
        for (i, a) in acked.iter().enumerate() {
            assert_eq!(
                *a, i as u64,
                "acknowledgements are a prefix of the workload"
            );
        }

        // Acknowledged ops must be there; the few after them may or may not have landed.
        let n_acked = acked.len();
        let issued = ops(workload_seed, value_size, n_acked as u64 + 8);
        let mut expected = state.clone();
        for op in &issued[..n_acked] {
            expected.insert(op.key(), op.value());
        }
        let mut maybe: HashMap<Vec<u8>, Vec<Vec<u8>>> = HashMap::new();
        for op in &issued[n_acked..] {
            maybe.entry(op.key()).or_default().push(op.value());
        }

        let engine = Engine::open(&dir, Options::default())
            .unwrap_or_else(|e| {
                panic!(
                    "round {round} (seed {seed}): reopening after SIGKILL failed: {e}; the writer said: {}",
                    said()
                )
            });
        let mut actual: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        for r in engine.scan(&[], std::ops::Bound::Unbounded).unwrap() {
            let (k, v) = r.unwrap();
            actual.insert(k, v);
        }
        for (key, want) in &expected {
            let got = actual.get(key);
            let ok = got == Some(want)
                || got.is_some_and(|g| maybe.get(key).is_some_and(|vs| vs.contains(g)));
            assert!(
                ok,
                "round {round} (seed {seed}): key {:?} holds {:?}, expected its acknowledged value",
                String::from_utf8_lossy(key),
                got.map(|g| g.len())
            );
        }
        for (key, got) in &actual {
            if !expected.contains_key(key) {
                assert!(
                    maybe.get(key).is_some_and(|vs| vs.contains(got)),
                    "round {round} (seed {seed}): key {:?} holds a value nobody acknowledged or issued",
                    String::from_utf8_lossy(key)
                );
            }
        }
        assert_eq!(engine.get_raw(b"definitely-not-a-key").unwrap(), None);
        drop(engine);
        state = actual;
        total_acked += n_acked as u64;
    }
    eprintln!(
        "{} rounds, {total_acked} acknowledged writes, all present",
        iterations()
    );
    assert!(
        total_acked > 0,
        "no round acknowledged anything: the kill came too early every time, or the writer \
         failed (last said: {last_said:?})"
    );
}
