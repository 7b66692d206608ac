//! Both halves of a crash test. The child runs [`crash_writer`] and reports each
//! acknowledged write; the parent kills it at some point, reopens the dir and checks every
//! acknowledged write against a model rebuilt from the seed alone ([`ops`],
//! [`expected_state`]), since the workload is deterministic.

use std::collections::BTreeMap;
use std::path::Path;

use super::workload::{Op, Workload};
use crate::engine::{Engine, Options};
use crate::error::{Error, Result};

/// Opens (or creates) `dir` and applies the first `records` ops of
/// `Workload::new(seed, value_size)` one at a time, calling `acked(index, seq, op)` after
/// each is acknowledged; `index` is the op's position in the workload (what [`ops`] and
/// [`expected_state`] count), `seq` the sequence the engine gave it. Pass `u64::MAX` to write
/// until killed.
///
/// Ops are applied one by one from a single thread so that "acknowledged" has one meaning:
/// op i is durable per `sync` once `acked` has been called for it. Stops at the first error,
/// including one returned by `acked` (e.g. the parent closed the pipe).
pub fn crash_writer(
    dir: &Path,
    opts: Options,
    seed: u64,
    records: u64,
    value_size: usize,
    mut acked: impl FnMut(u64, u64, &Op) -> std::io::Result<()>,
) -> Result<()> {
    let engine = Engine::open(dir, opts)?;
    for (index, op) in (0..records).zip(Workload::new(seed, value_size)) {
        let seq = op.apply(&engine)?;
        acked(index, seq, &op).map_err(|e| Error::io("<acknowledgement stream>", e))?;
    }
    Ok(())
}

/// The first `n` ops [`crash_writer`] writes for this seed and value size, in order.
pub fn ops(seed: u64, value_size: usize, n: u64) -> Vec<Op> {
    Workload::new(seed, value_size)
        .take(usize::try_from(n).unwrap_or(usize::MAX))
        .collect()
}

/// Internal key → stored value after the first `n_ops` ops: a later op on a key replaces the
/// earlier one, so each key holds the value of the last op that wrote it.
pub fn expected_state(seed: u64, value_size: usize, n_ops: u64) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut model = BTreeMap::new();
    for op in Workload::new(seed, value_size).take(usize::try_from(n_ops).unwrap_or(usize::MAX)) {
        model.insert(op.key(), op.value());
    }
    model
}

#[cfg(test)]
mod tests {
    use std::ops::Bound;

    use super::*;
    use crate::engine::SyncPolicy;

    fn engine_state(dir: &Path) -> BTreeMap<Vec<u8>, Vec<u8>> {
        let e = Engine::open(dir, Options::default()).unwrap();
        e.scan(&[], Bound::Unbounded)
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }

    #[test]
    fn completed_writer_leaves_exactly_the_expected_state() {
        let tmp = tempfile::tempdir().unwrap();
        let mut acks = Vec::new();
        crash_writer(
            tmp.path(),
            Options {
                sync: SyncPolicy::Never,
                ..Options::default()
            },
            11,
            3000,
            0,
            |index, seq, op| {
                assert_eq!(index, acks.len() as u64);
                acks.push((seq, op.key()));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(acks.len(), 3000);
        assert!(
            acks.windows(2).all(|w| w[1].0 == w[0].0 + 1),
            "one seq per op"
        );
        let expected = expected_state(11, 0, 3000);
        // Accounts are updated many times, so the model is smaller than the op count.
        assert!(expected.len() < 3000);
        assert_eq!(engine_state(tmp.path()), expected);
        let all = ops(11, 0, 3000);
        assert_eq!(
            all.iter().map(Op::key).collect::<Vec<_>>(),
            acks.into_iter().map(|a| a.1).collect::<Vec<_>>()
        );
    }

    #[test]
    fn plain_puts_and_failing_ack_stops_the_writer() {
        let tmp = tempfile::tempdir().unwrap();
        let mut n = 0;
        let r = crash_writer(
            tmp.path(),
            Options {
                sync: SyncPolicy::Always,
                ..Options::default()
            },
            2,
            u64::MAX,
            24,
            |_, _, _| {
                n += 1;
                if n == 50 {
                    Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
                } else {
                    Ok(())
                }
            },
        );
        assert!(matches!(r, Err(Error::Io { .. })));
        assert_eq!(engine_state(tmp.path()), expected_state(2, 24, 50));
    }
}
