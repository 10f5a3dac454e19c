//! Independent jobs on a few threads: the one home of the work-sharing loop that candidates'
//! preparations, tune's trial starts, backtest folds and ETS fits use.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// `f(0), …, f(n − 1)` on up to `threads` threads (each takes the next job as it finishes one),
/// returned in job order, so the result never depends on the thread count or on timing. A panic
/// in a job goes on to the caller.
pub(crate) fn map_ordered<R: Send>(
    n: usize,
    threads: usize,
    f: impl Fn(usize) -> R + Sync,
) -> Vec<R> {
    let threads = threads.clamp(1, n.max(1));
    if threads == 1 {
        return (0..n).map(f).collect();
    }
    let slots: Vec<Mutex<Option<R>>> = (0..n).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let r = f(i);
                *slots[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
            });
        }
    });
    slots
        .into_iter()
        .map(|m| {
            m.into_inner()
                .unwrap_or_else(|p| p.into_inner())
                .expect("every job ran: a panic would have ended the scope")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_come_in_job_order_for_any_thread_count() {
        for threads in [1, 2, 3, 8] {
            let got = super::map_ordered(10, threads, |i| i * i);
            assert_eq!(got, (0..10).map(|i| i * i).collect::<Vec<_>>());
        }
        assert!(super::map_ordered(0, 4, |i| i).is_empty());
    }
}
