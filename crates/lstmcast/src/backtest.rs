//! Walk-forward backtesting: K forecast origins stepping through the part of the panel after the
//! configured validation split, on the split's calendar (the panel's distinct timestamps, or
//! rows before each series' end with `--split-last`), so every fold is one common period. Fold k trains on the rows before its origin (expanding from the
//! first row, or sliding with the configured training length), validates on the
//! validation-length rows just before the origin, and is tested on the rows from its origin to
//! the next one. Each fold sees a copy of the series cut at its test end, so no statistic of a
//! fold (scaler, normalisation, early stopping) can depend on a later row.

use crate::config::{ForecasterConfig, Validated};
use crate::data::Panel;
use crate::error::{Error, Result};
use crate::forecaster::{Evaluation, FitControl, FitOutcome, FitProgress, TrainedForecaster};
use crate::split::{Calendar, PanelSplit, SplitReport, Splits};
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};

/// Retrain at every origin or once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Refit {
    /// A new model (scaler, normalisation, weights) for every fold (the default).
    #[default]
    Every,
    /// One model, trained for the first fold, scores every fold.
    Once,
}

option_names!(Refit, "refit", {
    Every => "every",
    Once => "once",
});

/// How the training rows grow with the origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TrainWindow {
    /// From the first row to the validation rows (the default).
    #[default]
    Expanding,
    /// The configured training length, ending at the validation rows.
    Sliding,
}

option_names!(TrainWindow, "window", {
    Expanding => "expanding",
    Sliding => "sliding",
});

/// Backtest settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BacktestOptions {
    /// Number of origins.
    pub folds: usize,
    /// Retraining.
    pub refit: Refit,
    /// Training rows.
    pub window: TrainWindow,
}

/// The periods of one fold, as positions on the split's calendar (for a single series with
/// timestamps: its rows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoldRows {
    /// Training positions.
    pub train: Range<usize>,
    /// Validation positions.
    pub val: Range<usize>,
    /// Test positions; the first is the origin.
    pub test: Range<usize>,
    /// The origin for people (its timestamp).
    pub origin: String,
}

/// One fold's outcome.
#[derive(Debug, Clone)]
pub struct Fold {
    /// Its rows.
    pub rows: FoldRows,
    /// The model that scored it (with `refit = once`, the first fold's).
    pub model: TrainedForecaster,
    /// Scores on its test rows.
    pub evaluation: Evaluation,
}

/// A whole backtest.
#[derive(Debug, Clone)]
pub struct Backtest {
    /// Settings.
    pub options: BacktestOptions,
    /// Every fold, in time order.
    pub folds: Vec<Fold>,
    /// All folds' predictions scored together (MASE against the first fold's training rows).
    pub aggregate: Evaluation,
}

/// The folds' positions on a calendar of `n` positions whose configured split is `s`.
///
/// # Errors
/// Fewer than one fold, or folds too short for the horizon.
pub fn fold_rows(
    s: &Splits,
    n: usize,
    horizon: usize,
    opts: &BacktestOptions,
) -> Result<Vec<FoldRows>> {
    let k = opts.folds;
    if k == 0 {
        return Err(Error::config("folds", "must be at least 1"));
    }
    let span = s.test.len();
    let len = span / k;
    if len < horizon {
        return Err(Error::config(
            "folds",
            format!(
                "{k} folds over the last {span} rows (the test split) leave {len} rows per fold, fewer than the horizon {horizon}; use fewer folds or a larger test fraction in --split"
            ),
        ));
    }
    let (vl, tl) = (s.val.len(), s.train.len());
    Ok((0..k)
        .map(|i| {
            let origin = s.test.start + i * len;
            let end = if i + 1 == k { n } else { origin + len };
            let val = origin - vl..origin;
            let train_start = match opts.window {
                TrainWindow::Expanding => 0,
                TrainWindow::Sliding => val.start.saturating_sub(tl),
            };
            FoldRows {
                train: train_start..val.start,
                val,
                test: origin..end,
                origin: String::new(),
            }
        })
        .collect())
}

/// Runs the backtest, the folds of `--refit every` on `jobs` threads at once (each fold trains
/// from the configuration's seed on its share of them, so the result does not depend on
/// `jobs`).
/// `on_fold(i, of)` is called, from any thread, before fold `i` trains or is scored; raising
/// `interrupt` stops the folds after their current batch.
///
/// # Errors
/// Invalid options or configuration, folds without windows, divergence (the earliest failing
/// fold's error), [`Error::Interrupted`].
pub fn backtest(
    cfg: &ForecasterConfig,
    panel: &Panel,
    opts: &BacktestOptions,
    jobs: usize,
    on_fold: &(dyn Fn(usize, usize) + Sync),
    interrupt: Option<&AtomicBool>,
) -> Result<Backtest> {
    // The folds share `jobs` threads: with `--refit every` each concurrent fold fits on its
    // share of them, with `--refit once` the one fit has them all (results do not depend on it).
    let each = match opts.refit {
        Refit::Once => jobs.max(1),
        Refit::Every => crate::threads::share(jobs, opts.folds.max(1)),
    };
    backtest_on(cfg, panel, opts, each, on_fold, interrupt, &|n, run| {
        crate::threads::map_ordered(n, jobs, run)
    })
}

/// Runs fold `i` of `n` (on any thread): what [`FoldRunner`] is given.
pub type RunFold<'a> = dyn Fn(usize) -> Result<Fold> + Sync + 'a;

/// Runs the `n` independent folds of `--refit every` and returns them in fold order: on
/// threads ([`backtest`]), or elsewhere (the Python package's Ray tasks, each calling
/// [`backtest_fold`], which gives the same fold as the function it is handed).
pub type FoldRunner<'a> = dyn Fn(usize, &RunFold<'_>) -> Vec<Result<Fold>> + 'a;

/// As [`backtest`], with the independent folds of `--refit every` run by `run_folds`, each
/// fold here fitting on `threads` threads; raising `interrupt` stops every fold trained here
/// after its current batch, and no fold starts after it.
///
/// # Errors
/// As [`backtest`]; [`Error::Interrupted`].
pub fn backtest_on(
    cfg: &ForecasterConfig,
    panel: &Panel,
    opts: &BacktestOptions,
    threads: usize,
    on_fold: &(dyn Fn(usize, usize) + Sync),
    interrupt: Option<&AtomicBool>,
    run_folds: &FoldRunner<'_>,
) -> Result<Backtest> {
    let plan = Plan::new(cfg, panel, opts)?;
    let run_fold = |i: usize, first: Option<&TrainedForecaster>| {
        if interrupt.is_some_and(|f| f.load(Ordering::Relaxed)) {
            return Err(Error::Interrupted("backtest".into()));
        }
        on_fold(i, plan.rows.len());
        plan.run_fold(i, first, threads, interrupt)
    };
    let folds: Vec<Fold> = match opts.refit {
        Refit::Once => {
            let first = run_fold(0, None)?;
            let mut folds = vec![first];
            for i in 1..plan.rows.len() {
                let f = run_fold(i, Some(&folds[0].model))?;
                folds.push(f);
            }
            folds
        }
        Refit::Every => {
            let done = run_folds(plan.rows.len(), &|i| run_fold(i, None));
            if done.len() != plan.rows.len() {
                return Err(Error::config(
                    "folds",
                    format!("{} fold results for {} folds", done.len(), plan.rows.len()),
                ));
            }
            done.into_iter().collect::<Result<_>>()?
        }
    };
    Ok(plan.assemble(opts, folds))
}

/// Fold `i` of the backtest that `cfg`, `panel` and `opts` describe, trained from scratch as
/// `--refit every` trains it, on `threads` threads: the same fold [`backtest`] computes,
/// wherever it runs.
///
/// # Errors
/// As [`backtest`], for this fold; an `i` past the last fold.
pub fn backtest_fold(
    cfg: &ForecasterConfig,
    panel: &Panel,
    opts: &BacktestOptions,
    i: usize,
    threads: usize,
) -> Result<Fold> {
    let plan = Plan::new(cfg, panel, opts)?;
    if i >= plan.rows.len() {
        return Err(Error::config(
            "folds",
            format!("fold {} of {}", i + 1, plan.rows.len()),
        ));
    }
    plan.run_fold(i, None, threads, None)
}

/// The folds of a backtest and what each needs.
struct Plan<'a> {
    /// The configuration, checked once for every fold.
    cfg: Validated,
    panel: &'a Panel,
    whole: PanelSplit,
    rows: Vec<FoldRows>,
}

impl<'a> Plan<'a> {
    fn new(cfg: &'a ForecasterConfig, panel: &'a Panel, opts: &BacktestOptions) -> Result<Self> {
        // A fold scores its test only: the model of every row (`--refit all`) would forecast
        // past the fold's data, which nothing reads; the test model is the `val` refit.
        let mut cfg = cfg.clone();
        if cfg.refit == crate::config::Refit::All {
            cfg.refit = crate::config::Refit::Val;
        }
        let cfg = cfg.validated()?;
        let whole = cfg.split.resolve(panel)?;
        let calendar: Calendar = whole.calendar;
        let n = calendar.len();
        let positions = Splits {
            train: 0..whole.val_start,
            val: whole.val_start..whole.test_start,
            test: whole.test_start..n,
        };
        let mut rows = fold_rows(&positions, n, cfg.horizon, opts)?;
        for r in &mut rows {
            r.origin = calendar.label(panel, r.test.start);
        }
        Ok(Plan {
            cfg,
            panel,
            whole,
            rows,
        })
    }

    /// The fold's own copy of the panel, cut at its last test period, and its split.
    fn fold_data(&self, r: &FoldRows) -> (Panel, PanelSplit) {
        let (panel, calendar) = (self.panel, self.whole.calendar);
        let per_series = calendar.splits(
            panel,
            [r.train.start, r.val.start, r.test.start, r.test.end],
        );
        let keep: Vec<Range<usize>> = per_series
            .iter()
            .map(|s| s.train.start..s.test.end)
            .collect();
        let rel = |x: &Range<usize>, base: usize| x.start - base..x.end - base;
        let split = PanelSplit {
            calendar,
            report: SplitReport {
                val_start: calendar.label(panel, r.val.start),
                test_start: r.origin.clone(),
                ..self.whole.report.clone()
            },
            val_start: r.val.start,
            test_start: r.test.start,
            series: per_series
                .iter()
                .filter(|s| s.train.start < s.test.end)
                .map(|s| Splits {
                    train: rel(&s.train, s.train.start),
                    val: rel(&s.val, s.train.start),
                    test: rel(&s.test, s.train.start),
                })
                .collect(),
        };
        (panel.select(&keep), split)
    }

    fn run_fold(
        &self,
        i: usize,
        first: Option<&TrainedForecaster>,
        threads: usize,
        interrupt: Option<&AtomicBool>,
    ) -> Result<Fold> {
        let r = &self.rows[i];
        let (sub, split) = self.fold_data(r);
        let model = match first {
            Some(m) => m.clone(),
            None => {
                let mut quiet = |_: &FitProgress| {};
                let mut ctl = FitControl::new(&mut quiet).with_threads(threads);
                if let Some(flag) = interrupt {
                    ctl = ctl.with_interrupt(flag);
                }
                match self.cfg.fit_with(&sub, split.clone(), ctl) {
                    Ok(FitOutcome::Done(m)) => *m,
                    Ok(FitOutcome::Interrupted(_)) => {
                        return Err(Error::Interrupted("backtest".into()))
                    }
                    Err(e) => return Err(fold_error(i, r, e)),
                }
            }
        };
        let evaluation = model
            .evaluate_on(&sub, &split)
            .map_err(|e| fold_error(i, r, e))?;
        Ok(Fold {
            rows: r.clone(),
            model,
            evaluation,
        })
    }

    fn assemble(&self, opts: &BacktestOptions, folds: Vec<Fold>) -> Backtest {
        let first = &folds[0].model;
        let all: Vec<_> = folds
            .iter()
            .flat_map(|f| f.evaluation.rows.iter().cloned())
            .collect();
        let mut aggregate = Evaluation::from_rows(
            all,
            folds.iter().map(|f| f.evaluation.windows).sum(),
            &first.names[..first.n_targets],
            self.cfg.horizon,
            first.season,
            &|id, k| first.training_mase_scale(id, k),
            self.panel.has_ids(),
        );
        // Each fold's intervals come from its own model's calibration (per fold with
        // `--refit every`); the aggregate scores them all.
        aggregate.score_intervals(
            &first.calibration.levels,
            &first.names[..first.n_targets],
            &|id, k| first.training_mase_scale(id, k),
        );
        aggregate.score_quantiles(
            &first.quantile_levels(),
            &first.names[..first.n_targets],
            &|id, k| first.training_mase_scale(id, k),
        );
        Backtest {
            options: *opts,
            folds,
            aggregate,
        }
    }
}

fn fold_error(i: usize, r: &FoldRows, e: Error) -> Error {
    Error::config(
        format!("fold {} (origin {})", i + 1, r.origin),
        e.to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::split::SplitSpec;

    #[test]
    fn folds_step_through_the_test_split() {
        // 100 rows, split 0.7/0.1/0.2: test rows 80..100; 4 folds of 5 rows.
        let cfg = SplitSpec::default().ranges(100);
        let o = BacktestOptions {
            folds: 4,
            refit: Refit::Every,
            window: TrainWindow::Sliding,
        };
        let f = fold_rows(&cfg, 100, 1, &o).unwrap();
        assert_eq!(f.len(), 4);
        assert_eq!(
            f[0],
            FoldRows {
                train: 0..70,
                val: 70..80,
                test: 80..85,
                origin: String::new()
            }
        );
        assert_eq!(
            f[3],
            FoldRows {
                train: 15..85,
                val: 85..95,
                test: 95..100,
                origin: String::new()
            }
        );
        let e = fold_rows(&cfg, 100, 1, &BacktestOptions { folds: 21, ..o }).unwrap_err();
        assert!(e.to_string().contains("fewer than the horizon"), "{e}");
        let x = fold_rows(
            &cfg,
            100,
            1,
            &BacktestOptions {
                window: TrainWindow::Expanding,
                ..o
            },
        )
        .unwrap();
        assert!(x.iter().all(|r| r.train.start == 0));
        assert_eq!(x[2].train, 0..80);
    }
}
