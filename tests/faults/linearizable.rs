//! A linearizability checker for read/write registers: the Wing–Gong search with Lowe's
//! memoisation, as Porcupine and Knossos do it, over one register at a time (a history is
//! linearizable exactly when each key's sub-history is).
//!
//! An operation whose outcome the client never learned (a timeout, a lost connection) may
//! have taken effect at any time after it was invoked, or never: its return is at infinity.
//! Such a write that no read ever returned is dropped first: a linearization without it
//! exists exactly when one with it does, and keeping it only widens the search.

use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Write(String),
    /// What the read returned; None for a missing key.
    Read(Option<String>),
}

#[derive(Debug, Clone)]
pub struct Op {
    pub client: usize,
    /// Microseconds since the run began.
    pub invoked: u64,
    /// None when the outcome is unknown (only writes: a failed read changed nothing).
    pub returned: Option<u64>,
    pub action: Action,
    /// Which node answered (for the report).
    pub node: String,
}

/// Checks one register's history, which starts from a missing key. On failure, the
/// operations involved in the longest linearizable prefix found, for the report.
pub fn check_register(history: &[Op]) -> Result<(), String> {
    let observed: HashSet<&String> = history
        .iter()
        .filter_map(|o| match &o.action {
            Action::Read(Some(v)) => Some(v),
            _ => None,
        })
        .collect();
    let ops: Vec<&Op> = history
        .iter()
        .filter(|o| {
            o.returned.is_some() || matches!(&o.action, Action::Write(v) if observed.contains(v))
        })
        .collect();
    if search(&ops) {
        Ok(())
    } else {
        Err(describe(&ops))
    }
}

fn describe(ops: &[&Op]) -> String {
    let mut lines: Vec<String> = ops
        .iter()
        .map(|o| {
            format!(
                "  client {} [{} .. {}] {:?} on {}",
                o.client,
                o.invoked,
                o.returned.map_or("?".into(), |r| r.to_string()),
                o.action,
                o.node
            )
        })
        .collect();
    lines.sort();
    if lines.len() <= 20 {
        return format!("no linearization of:\n{}", lines.join("\n"));
    }
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "drkit-unlinearizable-{}-{}.txt",
        std::process::id(),
        ops.len()
    ));
    let _ = std::fs::write(&path, lines.join("\n"));
    format!(
        "no linearization of these {} operations (all in {})",
        ops.len(),
        path.display()
    )
}

/// One call or return event in time order, linked so the search can lift an operation out
/// (both its events) and put it back.
#[derive(Debug, Clone, Copy)]
struct Event {
    op: usize,
    is_call: bool,
    /// The matching return (for a call).
    partner: usize,
    prev: usize,
    next: usize,
}

const NIL: usize = usize::MAX;

fn search(ops: &[&Op]) -> bool {
    if ops.is_empty() {
        return true;
    }
    // Value ids keep the memo's state small: 0 is the missing key.
    let mut ids: HashMap<&str, u32> = HashMap::new();
    let action: Vec<(bool, u32)> = ops
        .iter()
        .map(|o| match &o.action {
            Action::Write(v) => {
                let next = ids.len() as u32 + 1;
                (true, *ids.entry(v.as_str()).or_insert(next))
            }
            Action::Read(v) => (
                false,
                v.as_deref().map_or(0, |v| {
                    let next = ids.len() as u32 + 1;
                    *ids.entry(v).or_insert(next)
                }),
            ),
        })
        .collect();

    // Calls sort before returns at the same instant: touching intervals count as
    // overlapping, the lenient reading of a clock that cannot tell them apart.
    let mut order: Vec<(u64, bool, usize)> = Vec::with_capacity(ops.len() * 2);
    for (i, o) in ops.iter().enumerate() {
        order.push((o.invoked, false, i));
        order.push((o.returned.unwrap_or(u64::MAX), true, i));
    }
    order.sort();
    let mut events: Vec<Event> = Vec::with_capacity(order.len());
    let mut call_at = vec![NIL; ops.len()];
    for (pos, &(_, is_return, op)) in order.iter().enumerate() {
        events.push(Event {
            op,
            is_call: !is_return,
            partner: NIL,
            prev: if pos == 0 { NIL } else { pos - 1 },
            next: if pos + 1 == order.len() { NIL } else { pos + 1 },
        });
        if is_return {
            events[call_at[op]].partner = pos;
        } else {
            call_at[op] = pos;
        }
    }
    let mut head = 0;

    let words = ops.len().div_ceil(64);
    let mut linearized = vec![0u64; words];
    let mut memo: HashSet<(Vec<u64>, u32)> = HashSet::new();
    let mut stack: Vec<(usize, u32)> = Vec::new();
    let mut state = 0u32;
    let mut at = head;
    loop {
        if head == NIL {
            return true;
        }
        let e = events[at];
        if e.is_call {
            let (is_write, value) = action[e.op];
            let next_state = if is_write {
                Some(value)
            } else {
                (value == state).then_some(state)
            };
            let mut lifted = false;
            if let Some(s) = next_state {
                linearized[e.op / 64] |= 1 << (e.op % 64);
                if memo.insert((linearized.clone(), s)) {
                    stack.push((at, state));
                    state = s;
                    lift(&mut events, &mut head, at);
                    lifted = true;
                    at = head;
                } else {
                    linearized[e.op / 64] &= !(1 << (e.op % 64));
                }
            }
            if !lifted {
                at = e.next;
            }
        } else {
            // An operation returned before any order placed it: undo the last choice.
            let Some((call, prior)) = stack.pop() else {
                return false;
            };
            state = prior;
            let op = events[call].op;
            linearized[op / 64] &= !(1 << (op % 64));
            unlift(&mut events, &mut head, call);
            at = events[call].next;
        }
    }
}

fn unlink(events: &mut [Event], head: &mut usize, i: usize) {
    let Event { prev, next, .. } = events[i];
    if prev == NIL {
        *head = next;
    } else {
        events[prev].next = next;
    }
    if next != NIL {
        events[next].prev = prev;
    }
}

fn relink(events: &mut [Event], head: &mut usize, i: usize) {
    let Event { prev, next, .. } = events[i];
    if prev == NIL {
        *head = i;
    } else {
        events[prev].next = i;
    }
    if next != NIL {
        events[next].prev = i;
    }
}

fn lift(events: &mut [Event], head: &mut usize, call: usize) {
    unlink(events, head, call);
    unlink(events, head, events[call].partner);
}

/// Undoes [`lift`]: the return first, so the call's neighbours are as it left them.
fn unlift(events: &mut [Event], head: &mut usize, call: usize) {
    relink(events, head, events[call].partner);
    relink(events, head, call);
}

#[cfg(test)]
mod checker_tests {
    use super::*;

    fn w(client: usize, invoked: u64, returned: Option<u64>, v: &str) -> Op {
        Op {
            client,
            invoked,
            returned,
            action: Action::Write(v.into()),
            node: String::new(),
        }
    }

    fn r(client: usize, invoked: u64, returned: u64, v: Option<&str>) -> Op {
        Op {
            client,
            invoked,
            returned: Some(returned),
            action: Action::Read(v.map(String::from)),
            node: String::new(),
        }
    }

    #[test]
    fn sequential_reads_of_the_last_write_pass() {
        let h = [
            r(0, 0, 1, None),
            w(0, 2, Some(3), "a"),
            r(1, 4, 5, Some("a")),
            w(1, 6, Some(7), "b"),
            r(0, 8, 9, Some("b")),
        ];
        check_register(&h).unwrap();
    }

    #[test]
    fn a_stale_read_after_a_completed_write_fails() {
        let h = [
            w(0, 0, Some(1), "a"),
            w(0, 2, Some(3), "b"),
            r(1, 4, 5, Some("a")),
        ];
        assert!(check_register(&h).is_err());
    }

    #[test]
    fn a_read_concurrent_with_a_write_may_see_either_value() {
        for seen in [Some("a"), Some("b")] {
            let h = [
                w(0, 0, Some(1), "a"),
                w(0, 2, Some(10), "b"),
                r(1, 3, 4, seen),
            ];
            check_register(&h).unwrap();
        }
    }

    #[test]
    fn reads_may_not_flip_back_within_one_concurrent_write() {
        // Once one read saw the new value, a later read may not see the old one.
        let h = [
            w(0, 0, Some(1), "a"),
            w(0, 2, Some(20), "b"),
            r(1, 3, 4, Some("b")),
            r(2, 5, 6, Some("a")),
        ];
        assert!(check_register(&h).is_err());
    }

    #[test]
    fn a_value_never_written_fails() {
        assert!(check_register(&[r(0, 0, 1, Some("ghost"))]).is_err());
    }

    #[test]
    fn an_unknown_write_may_take_effect_late_or_never() {
        let h = [
            w(0, 0, None, "a"),
            r(1, 5, 6, None),
            r(1, 7, 8, Some("a")),
            r(1, 9, 10, Some("a")),
        ];
        check_register(&h).unwrap();
        let never = [w(0, 0, None, "a"), r(1, 5, 6, None)];
        check_register(&never).unwrap();
    }

    #[test]
    fn an_unknown_write_seen_then_unseen_fails() {
        let h = [
            w(0, 0, Some(1), "old"),
            w(0, 2, None, "a"),
            r(1, 5, 6, Some("a")),
            r(1, 7, 8, Some("old")),
        ];
        assert!(check_register(&h).is_err());
    }

    #[test]
    fn a_read_before_the_write_began_cannot_see_it() {
        let h = [r(1, 0, 1, Some("a")), w(0, 2, Some(3), "a")];
        assert!(check_register(&h).is_err());
    }

    #[test]
    fn a_long_overlapping_history_is_checked() {
        // 800 operations, every write overlapping the read of the one before: the memo
        // keeps this linear rather than exponential.
        let serial: Vec<Op> = (0..400u64)
            .flat_map(|i| {
                let v = format!("v{i}");
                [
                    w((i % 8) as usize, i * 10, Some(i * 10 + 6), &v),
                    r(((i + 1) % 8) as usize, i * 10 + 3, i * 10 + 12, Some(&v)),
                ]
            })
            .collect();
        check_register(&serial).unwrap();
        let mut broken = serial.clone();
        broken.push(r(0, 10_000, 10_001, Some("v3")));
        assert!(check_register(&broken).is_err());
    }
}
