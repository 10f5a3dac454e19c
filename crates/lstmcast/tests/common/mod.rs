//! Helpers shared by the integration tests.

use lstmcast::config::Validated;
use lstmcast::forecaster::{FitControl, FitOutcome};
use lstmcast::{ForecasterConfig, Panel, TrainedForecaster};

/// `c` fitted on `p` with its own split on `threads` threads, quietly, to the end.
pub fn fit(c: &ForecasterConfig, p: &Panel, threads: usize) -> TrainedForecaster {
    let v: Validated = c.validated().unwrap();
    let mut quiet = |_: &lstmcast::forecaster::FitProgress| {};
    let ctl = FitControl::new(&mut quiet).with_threads(threads);
    match v.fit_with(p, v.split.resolve(p).unwrap(), ctl).unwrap() {
        FitOutcome::Done(m) => *m,
        FitOutcome::Interrupted(_) => panic!("not interrupted"),
    }
}
