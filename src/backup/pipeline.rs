//! An ordered three-stage pipeline: one producer thread, `workers` threads doing the heavy
//! part, and the caller's thread consuming the results in production order.
//!
//! The backup codec uses it so that reading, (de)compressing and writing one file overlap and
//! several blocks of the same file compress at once: a backup of one big file then still uses
//! every core, and the disk never waits for the CPU or the other way round.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use super::lock;
use crate::error::{Error, Result};

/// Runs `produce` until it returns `None`, `work` on each item on `workers` threads (each with
/// its own state from `init`, e.g. a zstd context), and `consume` on the results, in the
/// order the items were produced. At most `depth` items wait between two stages, which
/// bounds the memory in flight.
///
/// On the first error anything still running stops; the error returned is the one earliest
/// in item order (a `produce` error counts as coming after every item it produced), so a
/// damaged file is always reported at the same place.
pub(super) fn ordered<I, O, S>(
    workers: usize,
    depth: usize,
    mut produce: impl FnMut() -> Result<Option<I>> + Send,
    init: impl Fn() -> Result<S> + Sync,
    work: impl Fn(&mut S, I) -> Result<O> + Sync,
    mut consume: impl FnMut(O) -> Result<()>,
) -> Result<()>
where
    I: Send,
    O: Send,
{
    let workers = workers.max(1);
    let stop = AtomicBool::new(false);
    let init_error: Mutex<Option<Error>> = Mutex::new(None);
    let (in_tx, in_rx) = mpsc::sync_channel::<(u64, I)>(depth.max(1));
    // Shared by the workers and dropped with the last of them, so a producer blocked on a
    // full queue wakes up (its send fails) once nobody is left to take items.
    let in_rx = Arc::new(Mutex::new(in_rx));
    let (out_tx, out_rx) = mpsc::sync_channel::<(u64, Result<O>)>(depth.max(1));

    std::thread::scope(|s| {
        let stop = &stop;
        let init_error = &init_error;
        let (init, work) = (&init, &work);
        let producer = s.spawn(move || -> Result<u64> {
            let mut seq = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let Some(item) = produce()? else { break };
                if in_tx.send((seq, item)).is_err() {
                    break;
                }
                seq += 1;
            }
            Ok(seq)
        });
        for _ in 0..workers {
            let in_rx = Arc::clone(&in_rx);
            let out_tx = out_tx.clone();
            s.spawn(move || {
                let mut state = match init() {
                    Ok(s) => s,
                    Err(e) => {
                        stop.store(true, Ordering::Relaxed);
                        lock(init_error).get_or_insert(e);
                        return;
                    }
                };
                loop {
                    // The guard is a temporary: the lock is held only while waiting.
                    let next = lock(&in_rx).recv();
                    let Ok((seq, item)) = next else { break };
                    let r = work(&mut state, item);
                    let failed = r.is_err();
                    if out_tx.send((seq, r)).is_err() || failed {
                        break;
                    }
                }
            });
        }
        drop(in_rx);
        drop(out_tx);

        let mut pending: BTreeMap<u64, Result<O>> = BTreeMap::new();
        let mut next = 0u64;
        let mut failed: Option<Error> = None;
        'receive: for (seq, r) in out_rx.iter() {
            pending.insert(seq, r);
            while let Some(r) = pending.remove(&next) {
                next += 1;
                if let Err(e) = r.and_then(&mut consume) {
                    failed = Some(e);
                    break 'receive;
                }
            }
        }
        stop.store(true, Ordering::Relaxed);
        // Workers blocked on a full output queue fail their send and leave.
        drop(out_rx);
        let produced = match producer.join() {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        if let Some(e) = failed {
            return Err(e);
        }
        if let Some(e) = lock(init_error).take() {
            return Err(e);
        }
        // A worker leaves early only after sending an error, which the loop above returns;
        // so once the producer is fine, every item was consumed.
        let produced = produced?;
        if produced != next {
            return Err(Error::InvalidInput(format!(
                "internal error: {produced} blocks produced but {next} written"
            )));
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(n: u64) -> impl FnMut() -> Result<Option<u64>> + Send {
        let mut i = 0;
        move || {
            i += 1;
            Ok((i <= n).then_some(i))
        }
    }

    #[test]
    fn results_arrive_in_order_with_any_worker_count() {
        for workers in [1, 2, 5] {
            let mut seen = Vec::new();
            ordered(
                workers,
                2,
                numbers(200),
                || Ok(()),
                |_, i| {
                    // Uneven work so that results finish out of order.
                    if i % 7 == 0 {
                        std::thread::sleep(std::time::Duration::from_micros(300));
                    }
                    Ok(i * 10)
                },
                |o| {
                    seen.push(o);
                    Ok(())
                },
            )
            .unwrap();
            assert_eq!(seen, (1..=200).map(|i| i * 10).collect::<Vec<_>>());
        }
    }

    #[test]
    fn the_earliest_work_error_wins_and_later_results_are_not_consumed() {
        let mut seen = Vec::new();
        let r = ordered(
            3,
            4,
            numbers(1000),
            || Ok(()),
            |_, i| {
                if i == 40 || i == 41 || i == 900 {
                    Err(Error::InvalidInput(format!("bad {i}")))
                } else {
                    Ok(i)
                }
            },
            |o| {
                seen.push(o);
                Ok(())
            },
        );
        assert!(matches!(r, Err(Error::InvalidInput(m)) if m == "bad 40"));
        assert_eq!(seen, (1..40).collect::<Vec<_>>());
    }

    #[test]
    fn producer_consumer_and_init_errors_are_returned() {
        let mut i = 0;
        let r = ordered(
            2,
            1,
            move || {
                i += 1;
                if i == 5 {
                    Err(Error::InvalidInput("read failed".into()))
                } else {
                    Ok(Some(i))
                }
            },
            || Ok(()),
            |_, i| Ok(i),
            |_| Ok(()),
        );
        assert!(matches!(r, Err(Error::InvalidInput(m)) if m == "read failed"));

        let mut consumed = 0;
        let r = ordered(
            2,
            1,
            numbers(10_000),
            || Ok(()),
            |_, i| Ok(i),
            |i| {
                consumed += 1;
                if i == 3 {
                    Err(Error::InvalidInput("write failed".into()))
                } else {
                    Ok(())
                }
            },
        );
        assert!(matches!(r, Err(Error::InvalidInput(m)) if m == "write failed"));
        assert_eq!(consumed, 3);

        let r = ordered(
            2,
            1,
            numbers(10),
            || Err::<(), _>(Error::InvalidInput("no context".into())),
            |_, i| Ok(i),
            |_| Ok(()),
        );
        assert!(matches!(r, Err(Error::InvalidInput(m)) if m == "no context"));
    }

    #[test]
    fn nothing_produced_is_fine() {
        let mut calls = 0;
        ordered(
            2,
            2,
            numbers(0),
            || Ok(()),
            |_, i| Ok(i),
            |_| {
                calls += 1;
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(calls, 0);
    }
}
