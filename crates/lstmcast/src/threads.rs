//! Independent jobs on a few threads: the one home of the work-sharing loop that candidates'
//! preparations, tune's trial starts, backtest folds and ETS fits use, and of how a thread
//! budget divides between jobs that run at once, so that nested parallelism (ETS fits per
//! series inside each of several concurrent preparations) never keeps more threads busy than
//! the budget.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The cores this process may use (1 where the system cannot say): every default thread count.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `threads` where given, else every core; at least 1.
pub fn threads_or_cores(threads: Option<usize>) -> usize {
    threads.unwrap_or_else(cores).max(1)
}

/// The threads each of `jobs` jobs may use when they share a budget of `threads` through
/// [`map_ordered`] (which runs at most `min(threads, jobs)` at once): the jobs together never
/// use more than `threads`, and a lone job gets all of them.
pub(crate) fn share(threads: usize, jobs: usize) -> usize {
    let threads = threads.max(1);
    (threads / jobs.clamp(1, threads)).max(1)
}

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
    #[cfg(test)]
    let _busy = probe::Busy::enter(threads);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let (f, next, slots) = (&f, &next, &slots);
            #[cfg(test)]
            let watched = probe::current();
            scope.spawn(move || {
                #[cfg(test)]
                probe::adopt(&watched);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let r = f(i);
                    *slots[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
                }
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

/// Counts the threads that [`map_ordered`] keeps busy at once under [`probe::watch`], nested
/// calls included (a caller waits while its workers run: `threads` workers replace one busy
/// thread). Tests only; each watch counts the calls made from its own thread and the workers
/// they start, so tests running side by side do not mix.
#[cfg(test)]
pub(crate) mod probe {
    use std::cell::RefCell;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[derive(Default)]
    pub(crate) struct Probe {
        busy: AtomicUsize,
        peak: AtomicUsize,
    }

    thread_local! {
        static CURRENT: RefCell<Option<Arc<Probe>>> = const { RefCell::new(None) };
    }

    pub(crate) fn current() -> Option<Arc<Probe>> {
        CURRENT.with(|c| c.borrow().clone())
    }

    pub(crate) fn adopt(p: &Option<Arc<Probe>>) {
        CURRENT.with(|c| *c.borrow_mut() = p.clone());
    }

    /// `threads − 1` more busy threads while it lives.
    pub(crate) struct Busy(Option<Arc<Probe>>, usize);

    impl Busy {
        pub(crate) fn enter(threads: usize) -> Busy {
            let p = current();
            if let Some(p) = &p {
                let now = p.busy.fetch_add(threads - 1, Ordering::SeqCst) + threads - 1;
                p.peak.fetch_max(now, Ordering::SeqCst);
            }
            Busy(p, threads - 1)
        }
    }

    impl Drop for Busy {
        fn drop(&mut self) {
            if let Some(p) = &self.0 {
                p.busy.fetch_sub(self.1, Ordering::SeqCst);
            }
        }
    }

    /// Runs `f` on this thread and returns its result with the most threads busy at once.
    pub(crate) fn watch<R>(f: impl FnOnce() -> R) -> (R, usize) {
        let p = Arc::new(Probe::default());
        p.busy.store(1, Ordering::SeqCst);
        p.peak.store(1, Ordering::SeqCst);
        adopt(&Some(p.clone()));
        let r = f();
        adopt(&None);
        let peak = p.peak.load(Ordering::SeqCst);
        (r, peak)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_budget_divides_between_concurrent_jobs() {
        for threads in 1..=8 {
            for jobs in 0..=10 {
                let each = super::share(threads, jobs);
                assert!(each >= 1);
                assert!(each * jobs.clamp(1, threads) <= threads, "{threads} {jobs}");
            }
        }
        assert_eq!(super::share(4, 1), 4);
        assert_eq!(super::share(4, 2), 2);
        assert_eq!(super::share(4, 3), 1);
    }

    #[test]
    fn the_probe_counts_nested_workers() {
        // Barriers make every job wait for the others, so that each runs on a worker of its own
        // and all six inner workers are busy at once.
        let (outer, inner) = (std::sync::Barrier::new(2), std::sync::Barrier::new(6));
        let (_, peak) = super::probe::watch(|| {
            super::map_ordered(2, 2, |_| {
                outer.wait();
                super::map_ordered(3, 3, |i| {
                    inner.wait();
                    i
                })
            })
        });
        assert_eq!(peak, 6);
        let (_, peak) = super::probe::watch(|| {
            super::map_ordered(4, 2, |_| super::map_ordered(3, super::share(2, 4), |i| i))
        });
        assert_eq!(peak, 2);
    }

    #[test]
    fn nested_preparations_keep_no_more_threads_busy_than_the_budget() {
        use crate::backtest::{backtest, BacktestOptions, Refit, TrainWindow};
        use crate::tune::{tune, TuneSpace};
        use crate::{ForecasterConfig, Normalize, Panel};
        // Six series, so that every preparation fits ETS per series on threads of its own.
        let series = |k: usize| -> Vec<f64> {
            (0..160)
                .map(|t| 5.0 + k as f64 + (t as f64 * 0.8 + k as f64).sin())
                .collect()
        };
        let panel = Panel::from_series(
            vec!["y".into()],
            1,
            (0..6).map(|k| (format!("s{k}"), vec![series(k)])).collect(),
        )
        .unwrap();
        let mut cfg = ForecasterConfig {
            lookback: 6,
            horizon: 2,
            normalize: Normalize::Window,
            season: Some(8),
            ..Default::default()
        };
        cfg.model.layers = vec![4];
        cfg.training.epochs = 2;
        let space = TuneSpace {
            trials: 4,
            lookback: vec![4, 6],
            layers: vec![vec![4]],
            dropout: vec![0.0],
            learning_rate: vec![1e-2],
            batch_size: vec![32],
            normalize: vec![Normalize::Window],
            min_epochs: 1,
            ..Default::default()
        };
        let strip = |mut r: crate::tune::TuneResult| {
            r.trials.iter_mut().for_each(|t| t.seconds = 0.0);
            r.search_seconds = 0.0;
            r.trials
        };
        let (one, _) = super::probe::watch(|| tune(&cfg, &space, &panel, 1, &|_| {}).unwrap());
        for jobs in [2, 3] {
            let (many, peak) =
                super::probe::watch(|| tune(&cfg, &space, &panel, jobs, &|_| {}).unwrap());
            assert!(peak <= jobs, "tune on {jobs} jobs kept {peak} threads busy");
            assert_eq!(strip(one.clone()), strip(many));
        }
        for refit in [Refit::Every, Refit::Once] {
            let opts = BacktestOptions {
                folds: 3,
                refit,
                window: TrainWindow::Expanding,
            };
            let one = backtest(&cfg, &panel, &opts, 1, &|_, _| {}, None).unwrap();
            let (two, peak) =
                super::probe::watch(|| backtest(&cfg, &panel, &opts, 2, &|_, _| {}, None).unwrap());
            assert!(
                peak <= 2,
                "backtest ({refit:?}) on 2 jobs kept {peak} threads busy"
            );
            assert_eq!(one.aggregate, two.aggregate, "{refit:?}");
        }
    }

    #[test]
    fn results_come_in_job_order_for_any_thread_count() {
        for threads in [1, 2, 3, 8] {
            let got = super::map_ordered(10, threads, |i| i * i);
            assert_eq!(got, (0..10).map(|i| i * i).collect::<Vec<_>>());
        }
        assert!(super::map_ordered(0, 4, |i| i).is_empty());
    }
}
