//! The rung scheduler of successive halving: trials run on `jobs` threads, and a rung's
//! promotions are decided only after all its trials are done, so the result is bit-identical
//! whatever `jobs` is.

use super::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Whether the finished trial `d` of a rung of `n` members goes on to the next rung, given the
/// rung's finished trials `done` (`d` among them) and `unfinished` ones still running: it does
/// once it is certain to be among the best `⌈n/eta⌉` (at least 2), it ends once the rung is
/// complete and it is not (or it failed, or the rung is the `last`); `None` while undecided.
pub(super) fn promoted(
    done: &[Finished],
    d: &Finished,
    n: usize,
    unfinished: usize,
    eta: usize,
    last: bool,
) -> Option<bool> {
    let keep = n.div_ceil(eta).max(2);
    let (_, k, eligible) = *d;
    let better = done.iter().filter(|o| o.1 < k).count();
    if eligible && !last && better + unfinished < keep {
        Some(true)
    } else if unfinished == 0 {
        // The rung is complete: ranks are final.
        Some(eligible && !last && better < keep)
    } else {
        None
    }
}

/// Successive halving on `jobs` threads with asynchronous promotion: a trial moves to the next
/// rung as soon as it is certain to be among the best `⌈n/eta⌉` (at least 2) of its rung, that
/// is, when the finished trials that beat it and the unfinished ones together are fewer than
/// that, instead of waiting for the rung's slowest trial. Once every trial of a rung has
/// finished, the rest of its best are promoted. Which trials are promoted is exactly what a
/// rung-by-rung search promotes (ranked by validation score, then trial number; failed
/// trials stop), and each trial trains from its own seed and state, so every result is the
/// same for any `jobs` and any timing. Returns every trial once it stops.
pub(super) fn run_rungs(
    alive: Vec<Trial>,
    space: &TuneSpace,
    rungs: &[usize],
    jobs: usize,
    progress: &(dyn Fn(&TuneProgress) + Sync),
    interrupt: Option<&AtomicBool>,
) -> Vec<Trial> {
    use std::collections::VecDeque;
    use std::sync::Condvar;
    /// The scheduler's shared state.
    struct Board {
        queue: VecDeque<(usize, usize)>, // (slot, rung)
        running: usize,
        /// Per rung: its members (slots), final once `closed`.
        members: Vec<Vec<usize>>,
        closed: Vec<bool>,
        /// Per rung: finished members with their ranking key.
        done: Vec<Vec<Finished>>,
        decided: Vec<Vec<usize>>,
        ended: Vec<usize>,
        /// A trial panicked: every worker stops, and the panic goes on once they have.
        aborted: bool,
    }
    let n_rungs = rungs.len();
    let key = |t: &Trial| {
        (
            t.result.score(space.select).unwrap_or(f64::INFINITY),
            t.result.trial,
        )
    };
    let slots: Vec<Mutex<Option<Trial>>> = alive.into_iter().map(|t| Mutex::new(Some(t))).collect();
    let mut board = Board {
        queue: (0..slots.len()).map(|k| (k, 0)).collect(),
        running: 0,
        members: vec![Vec::new(); n_rungs],
        closed: vec![false; n_rungs],
        done: vec![Vec::new(); n_rungs],
        decided: vec![Vec::new(); n_rungs],
        ended: Vec::new(),
        aborted: false,
    };
    if n_rungs > 0 {
        board.members[0] = (0..slots.len()).collect();
        board.closed[0] = true;
    } else {
        board.queue.clear();
        board.ended = (0..slots.len()).collect();
    }
    // Promotes what rung `r` can decide, and on from there.
    pub(super) fn decide(b: &mut Board, r: usize, eta: usize, n_rungs: usize) {
        let mut r = r;
        while r < n_rungs && b.closed[r] {
            let n = b.members[r].len();
            let unfinished = n - b.done[r].len();
            let last = r + 1 >= n_rungs;
            let mut promote = Vec::new();
            for d in &b.done[r] {
                if b.decided[r].contains(&d.0) {
                    continue;
                }
                match promoted(&b.done[r], d, n, unfinished, eta, last) {
                    Some(true) => promote.push(d.0),
                    Some(false) => {
                        b.decided[r].push(d.0);
                        b.ended.push(d.0);
                    }
                    None => {}
                }
            }
            for slot in promote {
                b.decided[r].push(slot);
                b.members[r + 1].push(slot);
                b.queue.push_back((slot, r + 1));
            }
            if unfinished == 0 && !last && !b.closed[r + 1] {
                b.closed[r + 1] = true;
                r += 1;
            } else {
                break;
            }
        }
    }
    let board = Mutex::new(board);
    let wake = Condvar::new();
    let eta = space.eta;
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| loop {
                let (slot, rung) = {
                    let mut b = board.lock().unwrap_or_else(|p| p.into_inner());
                    loop {
                        if b.aborted || interrupt.is_some_and(|f| f.load(Ordering::Relaxed)) {
                            return;
                        }
                        if let Some(task) = b.queue.pop_front() {
                            b.running += 1;
                            break task;
                        }
                        if b.running == 0 {
                            wake.notify_all();
                            return;
                        }
                        b = wake.wait(b).unwrap_or_else(|p| p.into_inner());
                    }
                };
                let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let mut guard = slots[slot].lock().unwrap_or_else(|p| p.into_inner());
                    let t = guard.as_mut().expect("a queued trial is in its slot");
                    if !t.finished() {
                        t.advance(rung, rungs[rung], interrupt);
                    }
                    (key(t), t.result.val_mse.is_some())
                }));
                let (k, eligible) = match ran {
                    Ok(v) => v,
                    Err(panic) => {
                        let mut b = board.lock().unwrap_or_else(|p| p.into_inner());
                        b.running -= 1;
                        b.aborted = true;
                        drop(b);
                        wake.notify_all();
                        std::panic::resume_unwind(panic);
                    }
                };
                let mut b = board.lock().unwrap_or_else(|p| p.into_inner());
                b.running -= 1;
                b.done[rung].push((slot, k, eligible));
                let (done, of) = (b.done[rung].len(), b.members[rung].len());
                decide(&mut b, rung, eta, n_rungs);
                drop(b);
                wake.notify_all();
                progress(&TuneProgress {
                    rung,
                    rungs: n_rungs,
                    epochs: rungs[rung],
                    done,
                    of,
                });
            });
        }
    });
    let b = board.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut slots: Vec<Option<Trial>> = slots
        .into_iter()
        .map(|m| m.into_inner().unwrap_or_else(|p| p.into_inner()))
        .collect();
    b.ended.iter().filter_map(|&k| slots[k].take()).collect()
}
