//! Hyper-parameter search: Latin-hypercube sampling of the search space, then
//! successive halving: every trial trains for a small epoch budget, the best third goes on to
//! three times the budget, and so on up to the configured epochs. Trials are scored on the
//! validation split only (MSE in globally scaled units, comparable across lookbacks and
//! normalisations); the test split is never touched here.
//!
//! Trials run on `jobs` threads, each trial single-threaded and seeded with the configuration's
//! seed, and a rung's promotions are decided only after all its trials are done, so the result is
//! bit-identical whatever `jobs` is.

mod rungs;
mod space;
mod trial;

pub use crate::config::search::{Select, TuneSpace};
use crate::config::ForecasterConfig;
use crate::data::Panel;
use crate::error::{Error, Result};
use crate::forecaster::{FitControl, FitOutcome, FitProgress, TrainedForecaster};
use rungs::{promoted, run_rungs};
use serde::{Deserialize, Serialize};
pub use space::TrialParams;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use trial::Trial;
pub use trial::TrialResult;

/// The search's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TuneResult {
    /// The space actually searched (defaults filled in).
    pub space: TuneSpace,
    /// Epoch budget per rung.
    pub rungs: Vec<usize>,
    /// Every trial, in sampling order.
    pub trials: Vec<TrialResult>,
    /// Candidates left out of the space before any trial, because they cannot fit the data
    /// (a lookback too long for the training rows), each with the reason.
    pub skipped: Vec<String>,
    /// Index of the best trial.
    pub best: usize,
    /// The best trial's configuration (the base with its parameters).
    pub best_config: ForecasterConfig,
    /// Epochs trained over all trials.
    pub trial_epochs: usize,
    /// Wall time of the search (measured, so not reproducible).
    pub search_seconds: f64,
}

/// Progress of a search, reported after every trial of every rung.
#[derive(Debug, Clone, Copy)]
pub struct TuneProgress {
    /// 0-based rung.
    pub rung: usize,
    /// Rungs in all.
    pub rungs: usize,
    /// This rung's epoch budget.
    pub epochs: usize,
    /// Trials of this rung done.
    pub done: usize,
    /// Trials in this rung.
    pub of: usize,
}

/// Runs the search on `jobs` threads (at least 1). `progress` is called after every trial of
/// every rung, from the worker threads.
///
/// # Errors
/// An invalid search space or base configuration, or every trial failing.
pub fn tune(
    base: &ForecasterConfig,
    space: &TuneSpace,
    ts: &Panel,
    jobs: usize,
    progress: &(dyn Fn(&TuneProgress) + Sync),
) -> Result<TuneResult> {
    Ok(tune_model(base, space, ts, jobs, progress, None)?.0)
}

/// The best configuration's model on the full epoch budget: `kept` (its own trial's model,
/// from [`tune_model`], when that trial ran the whole budget: the model a retrain gives, to the
/// bit), else the best configuration retrained from scratch on `jobs` threads. What `lstmcast
/// tune` and Python's `tune` keep.
///
/// # Errors
/// Training errors; [`Error::Interrupted`] when `interrupt` was raised.
pub fn best_model(
    result: &TuneResult,
    kept: Option<TrainedForecaster>,
    ts: &Panel,
    jobs: usize,
    on_epoch: &mut dyn FnMut(&FitProgress),
    interrupt: Option<&AtomicBool>,
) -> Result<TrainedForecaster> {
    if let Some(m) = kept {
        return Ok(m);
    }
    let cfg = &result.best_config;
    let mut ctl = FitControl::new(on_epoch).with_threads(jobs);
    if let Some(flag) = interrupt {
        ctl = ctl.with_interrupt(flag);
    }
    match cfg.fit_with(ts, cfg.split.resolve(ts)?, ctl)? {
        FitOutcome::Done(m) => Ok(*m),
        FitOutcome::Interrupted(_) => Err(Error::Interrupted("tune".into())),
    }
}

/// As [`tune`], also returning the best configuration's trained model when its trial ran the
/// full budget: bit-identical to retraining the best configuration from scratch (same seed,
/// same training state), so it need not be trained again; `None` otherwise. Raising `interrupt`
/// stops the search after the current batch of every running trial.
///
/// # Errors
/// As [`tune`].
pub fn tune_model(
    base: &ForecasterConfig,
    space: &TuneSpace,
    ts: &Panel,
    jobs: usize,
    progress: &(dyn Fn(&TuneProgress) + Sync),
    interrupt: Option<&AtomicBool>,
) -> Result<(TuneResult, Option<TrainedForecaster>)> {
    let mut kept: Option<Trial> = None;
    base.validate()?;
    let start = Instant::now();
    let (space, skipped) = space.resolve(base, ts, jobs)?;
    let rungs = space.rungs(base.training.epochs);
    let mut results: Vec<Option<TrialResult>> = vec![None; space.trials];
    let mut alive: Vec<Trial> = Vec::new();
    // Trials are prepared (split, scalers, ETS, network) on `jobs` threads too, each fitting
    // its ETS models on its share of them; each start depends on its own parameters only.
    let params = space.sample_all(base.seed);
    let each = crate::threads::share(jobs, params.len());
    let started = crate::threads::map_ordered(params.len(), jobs, |i| {
        Trial::start(base, ts, i, params[i].clone(), each)
    });
    for (i, t) in started.into_iter().enumerate() {
        match t {
            Ok(t) => alive.push(t),
            Err(r) => results[i] = Some(*r),
        }
    }
    // Longest trials first, so that the last ones to finish are short. The order does not
    // affect any result.
    alive.sort_by_key(|t| {
        std::cmp::Reverse(
            t.cfg.lookback * t.cfg.model.layers.iter().map(|u| u * u).sum::<usize>()
                / t.cfg.training.batch_size.max(1),
        )
    });
    let ended = run_rungs(alive, &space, &rungs, jobs, progress, interrupt);
    if interrupt.is_some_and(|f| f.load(Ordering::Relaxed)) {
        return Err(Error::Interrupted("tune".into()));
    }
    for t in ended {
        let i = t.result.trial;
        results[i] = Some(t.result.clone());
        // The best trial that ran its full budget is kept: it is the retrained best model
        // already (same seed, same state), so the search need not train it again.
        let better = |k: &Trial| {
            (t.result.score(space.select), t.result.trial)
                < (k.result.score(space.select), k.result.trial)
        };
        if t.state.finished
            && t.result.error.is_none()
            && t.result.val_mse.is_some()
            && kept.as_ref().is_none_or(better)
        {
            kept = Some(t);
        }
    }
    let trials: Vec<TrialResult> = results.into_iter().flatten().collect();
    let result = conclude(base, ts, space, skipped, rungs, trials, start)?;
    let model = match kept {
        Some(t) if t.result.trial == result.best => Some(t.into_model(jobs, interrupt)?),
        _ => None,
    };
    Ok((result, model))
}

/// The search's outcome from every trial's last result: the best by score, then trial number.
fn conclude(
    base: &ForecasterConfig,
    ts: &Panel,
    space: TuneSpace,
    skipped: Vec<String>,
    rungs: Vec<usize>,
    trials: Vec<TrialResult>,
    start: Instant,
) -> Result<TuneResult> {
    let best = trials
        .iter()
        .filter(|t| t.val_mse.is_some())
        .min_by(|a, b| {
            a.score(space.select)
                .unwrap_or(f64::INFINITY)
                .total_cmp(&b.score(space.select).unwrap_or(f64::INFINITY))
                .then(a.trial.cmp(&b.trial))
        })
        .ok_or_else(|| Error::AllTrialsFailed {
            first: trials
                .iter()
                .find_map(|t| t.error.clone())
                .unwrap_or_default(),
        })?
        .trial;
    let mut best_config = trials[best].params.apply(base);
    pin_calendar(&mut best_config, ts)?;
    Ok(TuneResult {
        skipped,
        space,
        rungs,
        trial_epochs: trials.iter().map(|t| t.epochs).sum(),
        trials,
        best,
        best_config,
        search_seconds: start.elapsed().as_secs_f64(),
    })
}

/// Runs the trials `trials` of a rung (`rung`, 0-based) elsewhere, each through
/// [`tune_trial`] with the resolved space it is given, and returns their results in the same
/// order: what [`tune_remote`] is handed (the Python package runs them as Ray tasks).
pub type RungRunner<'a> =
    dyn Fn(&TuneSpace, &[usize], usize) -> Result<Vec<(TrialResult, bool)>> + 'a;

/// The search of [`tune`] with its trials run by `run_rung`, one rung after another (the space
/// resolved here on `threads` threads): every
/// trial of a rung runs (wherever `run_rung` puts it), then the rung's best go on, exactly the
/// trials [`tune`]'s asynchronous promotion picks (the rule is one, [`promoted`]). Every trial
/// trains from its own seed and state, so `trials.csv` is [`tune`]'s but for the measured
/// seconds. The best model is not kept: retrain `best_config`.
///
/// # Errors
/// As [`tune`]; an error of `run_rung`.
pub fn tune_remote(
    base: &ForecasterConfig,
    space: &TuneSpace,
    ts: &Panel,
    threads: usize,
    progress: &(dyn Fn(&TuneProgress) + Sync),
    run_rung: &RungRunner<'_>,
    interrupt: Option<&AtomicBool>,
) -> Result<TuneResult> {
    base.validate()?;
    let start = Instant::now();
    let (space, skipped) = space.resolve(base, ts, threads)?;
    let rungs = space.rungs(base.training.epochs);
    let mut results: Vec<Option<TrialResult>> = vec![None; space.trials];
    let mut members: Vec<usize> = (0..space.trials).collect();
    for (r, &epochs) in rungs.iter().enumerate() {
        if members.is_empty() {
            break;
        }
        if interrupt.is_some_and(|f| f.load(Ordering::Relaxed)) {
            return Err(Error::Interrupted("tune".into()));
        }
        let got = run_rung(&space, &members, r)?;
        if got.len() != members.len() {
            return Err(Error::config(
                "tune",
                format!("{} results for {} trials", got.len(), members.len()),
            ));
        }
        let mut done: Vec<Finished> = Vec::new();
        for (&trial, (result, started)) in members.iter().zip(got) {
            // A trial that cannot start (too little data for its lookback) is no member of
            // the first rung, as in the local search.
            if started {
                let key = (result.score(space.select).unwrap_or(f64::INFINITY), trial);
                done.push((trial, key, result.val_mse.is_some()));
            }
            results[trial] = Some(result);
        }
        progress(&TuneProgress {
            rung: r,
            rungs: rungs.len(),
            epochs,
            done: done.len(),
            of: done.len(),
        });
        let last = r + 1 >= rungs.len();
        members = done
            .iter()
            .filter(|d| promoted(&done, d, done.len(), 0, space.eta, last) == Some(true))
            .map(|d| d.0)
            .collect();
    }
    let trials: Vec<TrialResult> = results.into_iter().flatten().collect();
    conclude(base, ts, space, skipped, rungs, trials, start)
}

/// Trial `trial` of a search over the resolved space `space` (from [`TuneSpace::resolve`]),
/// trained through rung `rung` as the local search trains it (each rung's budget in turn, from
/// the trial's seed, prepared on `threads` threads), and whether it started at all: a remote
/// worker's job for
/// [`tune_remote`].
///
/// # Errors
/// A `trial` or `rung` outside the search.
pub fn tune_trial(
    base: &ForecasterConfig,
    space: &TuneSpace,
    ts: &Panel,
    trial: usize,
    rung: usize,
    threads: usize,
) -> Result<(TrialResult, bool)> {
    let rungs = space.rungs(base.training.epochs);
    let params = space.sample_all(base.seed);
    let (Some(p), true) = (params.get(trial), rung < rungs.len()) else {
        return Err(Error::config(
            "tune",
            format!(
                "trial {trial}, rung {rung}: the search has {} trials and {} rungs",
                params.len(),
                rungs.len()
            ),
        ));
    };
    match Trial::start(base, ts, trial, p.clone(), threads) {
        Err(result) => Ok((*result, false)),
        Ok(mut t) => {
            for (r, &epochs) in rungs.iter().enumerate().take(rung + 1) {
                if !t.finished() {
                    t.advance(r, epochs, None);
                }
            }
            Ok((t.result, true))
        }
    }
}

/// Replaces `calendar = auto` by the features it resolves to here (a list, or none): a trial
/// scores one setting, and the best configuration must retrain (and `train --config best.toml`
/// reproduce) that setting, not let validation choose again.
fn pin_calendar(cfg: &mut ForecasterConfig, ts: &Panel) -> Result<()> {
    if cfg.calendar == crate::covariates::Calendar::Auto {
        let features = cfg.calendar_features(ts, &cfg.split.resolve(ts)?)?;
        cfg.calendar = if features.is_empty() {
            crate::covariates::Calendar::None
        } else {
            crate::covariates::Calendar::List(features)
        };
    }
    Ok(())
}

/// A finished trial of a rung: its slot, ranking key (score, trial) and whether it may go on.
type Finished = (usize, (f64, usize), bool);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::Normalize;

    #[test]
    fn rungs_grow_by_eta_and_end_at_max() {
        let s = TuneSpace::default();
        assert_eq!(s.rungs(100), vec![5, 15, 45, 100]);
        assert_eq!(s.rungs(45), vec![5, 15, 45]);
        assert_eq!(s.rungs(3), vec![3]);
    }

    #[test]
    fn a_quasi_random_design_covers_every_choice_evenly() {
        let s = TuneSpace {
            trials: 9,
            lookback: vec![1, 2, 3],
            layers: vec![vec![1]],
            dropout: vec![0.0],
            learning_rate: vec![1e-3, 1e-3],
            batch_size: vec![1],
            normalize: vec![Normalize::Global],
            ..Default::default()
        };
        for seed in 0..20 {
            let mut counts = [0; 3];
            for p in s.sample_all(seed) {
                counts[p.lookback - 1] += 1;
            }
            // A Latin hypercube puts nine points in nine strata: three per choice, every seed
            // (plain random sampling leaves a choice out with probability ≈ 0.08).
            assert_eq!(counts, [3, 3, 3], "seed {seed}");
        }
    }
}
