//! Hyper-parameter search: Latin-hypercube sampling of the search space, then
//! successive halving: every trial trains for a small epoch budget, the best third goes on to
//! three times the budget, and so on up to the configured epochs. Trials are scored on the
//! validation split only (MSE in globally scaled units, comparable across lookbacks and
//! normalisations); the test split is never touched here.
//!
//! Trials run on `jobs` threads, each trial single-threaded and seeded with the configuration's
//! seed, and a rung's promotions are decided only after all its trials are done, so the result is
//! bit-identical whatever `jobs` is.

pub use crate::config::search::{Select, TuneSpace};
use crate::config::ForecasterConfig;
use crate::data::Panel;
use crate::engine::{rng_for, Network};
use crate::error::{Error, Result};
use crate::forecaster::{Prepared, TrainedForecaster};
use crate::normalize::{Normalize, WindowNorm};
use crate::split::Part;
use crate::train::{streams, TrainState};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// One trial's hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialParams {
    /// Lookback.
    pub lookback: usize,
    /// Units per layer.
    pub layers: Vec<usize>,
    /// Dropout.
    #[serde(serialize_with = "crate::config::short_f32")]
    pub dropout: f32,
    /// Learning rate.
    pub learning_rate: f64,
    /// Batch size.
    pub batch_size: usize,
    /// Normalisation.
    pub normalize: Normalize,
    /// Calendar features.
    #[serde(default)]
    pub calendar: crate::covariates::Calendar,
}

impl TrialParams {
    /// The parameters' names, in field order (columns of `trials.csv`, one plot each).
    pub const NAMES: [&'static str; 7] = [
        "lookback",
        "layers",
        "dropout",
        "learning_rate",
        "batch_size",
        "normalize",
        "calendar",
    ];

    /// `base` with these parameters.
    pub fn apply(&self, base: &ForecasterConfig) -> ForecasterConfig {
        let mut c = base.clone();
        c.lookback = self.lookback;
        c.model.layers = self.layers.clone();
        c.model.dropout = self.dropout;
        c.training.learning_rate = self.learning_rate;
        c.training.batch_size = self.batch_size;
        c.normalize = self.normalize;
        c.calendar = self.calendar.clone();
        c
    }
}

/// One trial's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialResult {
    /// 0-based trial number (sampling order).
    pub trial: usize,
    /// Its parameters.
    pub params: TrialParams,
    /// Highest rung reached (0-based).
    pub rung: usize,
    /// Epochs trained.
    pub epochs: usize,
    /// Validation MSE of its best weights, globally scaled units; `None` when it failed.
    pub val_mse: Option<f64>,
    /// Validation MASE of its best weights over every validation origin (what trials are
    /// ranked by where the data has a MASE scale, as `auto` chooses its normalisation).
    #[serde(default)]
    pub val_mase: Option<f64>,
    /// Validation MSIS of a quantile model's bands (what `select = msis` ranks by).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_msis: Option<f64>,
    /// Why it failed (too little data for its lookback, divergence).
    pub error: Option<String>,
    /// Training time in seconds (measured, so not reproducible).
    pub seconds: f64,
}

impl TrialResult {
    /// What trials are ranked by: for `Point`, validation MASE where the data has a MASE scale,
    /// else validation MSE; for `Msis`, the validation MSIS; `None` for a failed trial.
    pub fn score(&self, select: Select) -> Option<f64> {
        self.val_mse?;
        match select {
            Select::Point => self.val_mase.or(self.val_mse),
            Select::Msis => self.val_msis,
        }
    }
}

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

impl TuneSpace {
    /// Fills the empty lists with defaults for `base` and `ts`, checks the rest, and leaves out
    /// the lookbacks that cannot fit the data (returned with the reason). The data is prepared
    /// on up to `threads` threads (the result does not depend on them).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the `tune` field, or no lookback that fits.
    pub fn resolve(
        &self,
        base: &ForecasterConfig,
        ts: &Panel,
        threads: usize,
    ) -> Result<(TuneSpace, Vec<String>)> {
        if self.select == Select::Msis && base.quantile_pairs().is_empty() {
            return Err(Error::config(
                "select",
                "msis scores a quantile model's bands on validation: it needs --loss quantile with the two quantiles of an --intervals level (e.g. --quantiles 0.1,0.5,0.9 for 80)",
            ));
        }
        let mut s = self.clone();
        let bad = |field: &str, why: String| Error::config(format!("tune.{field}"), why);
        if s.trials == 0 {
            return Err(bad("trials", "must be at least 1".into()));
        }
        if s.min_epochs == 0 {
            return Err(bad("min_epochs", "must be at least 1".into()));
        }
        if s.eta < 2 {
            return Err(bad("eta", format!("{} must be at least 2", s.eta)));
        }
        if s.lookback.is_empty() {
            let season = base
                .season
                .unwrap_or_else(|| ts.frequency().map(|f| f.default_season()).unwrap_or(1));
            let cands: Vec<usize> = if season > 1 {
                vec![season, 2 * season, 3 * season]
            } else {
                vec![8, 16, 32]
            };
            // Keep lookbacks that leave the training split at least as many windows as steps
            // (in the longest series of a panel).
            let train_rows = base
                .split
                .resolve(ts)?
                .series
                .iter()
                .map(|s| s.train.len())
                .max()
                .unwrap_or(0);
            s.lookback = cands
                .into_iter()
                .filter(|&l| 2 * (l + base.model_horizon()) <= train_rows)
                .collect();
            if s.lookback.is_empty() {
                s.lookback = vec![(train_rows / 4).max(1)];
            }
        }
        if s.layers.is_empty() {
            s.layers = vec![vec![32], vec![64], vec![64, 32]];
        }
        if s.dropout.is_empty() {
            s.dropout = vec![0.0, 0.1, 0.2];
        }
        if s.learning_rate.is_empty() {
            s.learning_rate = vec![3e-4, 1e-2];
        }
        if s.batch_size.is_empty() {
            s.batch_size = vec![16, 32, 64];
        }
        if s.calendar.is_empty() {
            // `auto` is a choice: where some lookback of the space gets calendar features,
            // trials with and without them compete (as `train` lets validation decide).
            let split = base.split.resolve(ts)?;
            let some = base.calendar == crate::covariates::Calendar::Auto
                && s.lookback.iter().any(|&l| {
                    let c = ForecasterConfig {
                        lookback: l,
                        ..base.clone()
                    };
                    c.calendar_features(ts, &split).is_ok_and(|f| !f.is_empty())
                });
            s.calendar = if some {
                vec![
                    crate::covariates::Calendar::None,
                    crate::covariates::Calendar::Auto,
                ]
            } else {
                vec![base.calendar.clone()]
            };
        }
        if s.normalize.is_empty() {
            s.normalize = match base.normalize {
                // `auto`'s candidates on this data; tuning is about the network, and plain
                // ETS has none to tune.
                Normalize::Auto => Prepared::new_on(base, ts, threads)?
                    .auto_candidates(base, true)
                    .into_iter()
                    .filter(|m| m.trains())
                    .collect(),
                m => vec![m],
            };
        }
        match s.learning_rate[..] {
            [lo, hi] if lo > 0.0 && lo <= hi && hi < 10.0 => {}
            [lr] if lr > 0.0 && lr < 10.0 => s.learning_rate = vec![lr, lr],
            _ => {
                return Err(bad(
                    "learning_rate",
                    format!(
                        "{:?} must be [low, high] with 0 < low ≤ high < 10 (or one rate)",
                        s.learning_rate
                    ),
                ))
            }
        }
        if s.normalize.contains(&Normalize::Auto) {
            return Err(bad(
                "normalize",
                "list the modes to search (global, window, diff); auto is not a mode".into(),
            ));
        }
        // Lookbacks that leave some part without a window cannot work: left out before any
        // trial runs, and said.
        let mut skipped = Vec::new();
        let mut feasible = Vec::new();
        for &l in &s.lookback {
            let cfg = ForecasterConfig {
                lookback: l,
                ..base.clone()
            };
            match Prepared::new_on(&cfg, ts, threads) {
                Ok(_) => feasible.push(l),
                Err(e) => skipped.push(format!("lookback {l} left out of the search: {e}")),
            }
        }
        if feasible.is_empty() {
            return Err(bad(
                "lookback",
                format!(
                    "no lookback of {:?} fits the data: {}",
                    s.lookback,
                    skipped.join("; ")
                ),
            ));
        }
        s.lookback = feasible;
        // Each sampled configuration must be valid on its own.
        for p in s.sample_all(base.seed) {
            p.apply(base)
                .validate()
                .map_err(|e| bad("space", e.to_string()))?;
        }
        Ok((s, skipped))
    }

    /// The design for `seed`: a Latin hypercube over the six dimensions, so that every choice
    /// of a list is drawn `⌊trials/len⌋` or `⌈trials/len⌉` times and the learning rates spread
    /// evenly over the log range (the space must be resolved).
    pub fn sample_all(&self, seed: u64) -> Vec<TrialParams> {
        use rand::Rng as _;
        let n = self.trials;
        let mut rng = rng_for(seed, streams::TUNE);
        // Per dimension: a random permutation of the n strata and a jitter inside each.
        let mut dimension = || -> Vec<f64> {
            let mut strata: Vec<usize> = (0..n).collect();
            crate::train::shuffle(&mut strata, &mut rng);
            strata
                .into_iter()
                .map(|k| (k as f64 + rng.gen::<f64>()) / n as f64)
                .collect()
        };
        let dims: Vec<Vec<f64>> = (0..6).map(|_| dimension()).collect();
        // The calendar dimension is drawn after the others, and only when it is searched, so
        // that a space without it samples what it sampled before calendars existed.
        let cal: Vec<f64> = if self.calendar.len() > 1 {
            dimension()
        } else {
            vec![0.0; n]
        };
        fn pick<T: Clone>(v: &[T], u: f64) -> T {
            v[((u * v.len() as f64) as usize).min(v.len() - 1)].clone()
        }
        let (lo, hi) = (self.learning_rate[0], self.learning_rate[1]);
        (0..n)
            .map(|i| TrialParams {
                lookback: pick(&self.lookback, dims[0][i]),
                layers: pick(&self.layers, dims[1][i]),
                dropout: pick(&self.dropout, dims[2][i]),
                learning_rate: (lo.ln() + dims[3][i] * (hi.ln() - lo.ln())).exp(),
                batch_size: pick(&self.batch_size, dims[4][i]),
                normalize: pick(&self.normalize, dims[5][i]),
                calendar: if self.calendar.is_empty() {
                    Default::default()
                } else {
                    pick(&self.calendar, cal[i])
                },
            })
            .collect()
    }

    /// Epoch budgets of the rungs for at most `max_epochs`: `min_epochs · etaᵏ`, the last one
    /// `max_epochs`.
    pub fn rungs(&self, max_epochs: usize) -> Vec<usize> {
        let mut r = vec![];
        let mut e = self.min_epochs.min(max_epochs);
        while e < max_epochs {
            r.push(e);
            e = e.saturating_mul(self.eta);
        }
        r.push(max_epochs);
        r
    }
}

/// A trial between rungs.
struct Trial {
    cfg: ForecasterConfig,
    /// The data with this trial's calendar features.
    panel: Panel,
    prep: Prepared,
    norm: WindowNorm,
    network: Network,
    state: TrainState,
    result: TrialResult,
}

impl Trial {
    /// Prepares trial `index` on up to `threads` threads (the result does not depend on them).
    fn start(
        base: &ForecasterConfig,
        ts: &Panel,
        index: usize,
        params: TrialParams,
        threads: usize,
    ) -> std::result::Result<Trial, Box<TrialResult>> {
        let mut result = TrialResult {
            trial: index,
            params: params.clone(),
            rung: 0,
            epochs: 0,
            val_mse: None,
            val_mase: None,
            val_msis: None,
            error: None,
            seconds: 0.0,
        };
        let mut cfg = params.apply(base);
        cfg.training.loss = Some(cfg.training.loss.unwrap_or(params.normalize.default_loss()));
        let built = (|| -> Result<_> {
            pin_calendar(&mut cfg, ts)?;
            let panel = cfg.with_covariates(ts, &cfg.split.resolve(ts)?)?;
            let prep = Prepared::new_on(&cfg, &panel, threads)?;
            prep.check_mode(&cfg, params.normalize)?;
            let norm = prep.window_norm(params.normalize, &prep.train_rows(&panel))?;
            let mut network = Network::new(
                prep.network_spec(&cfg),
                &mut rng_for(cfg.seed, streams::INIT),
            )?;
            if params.normalize == Normalize::EtsResidual {
                network.zero_output_layer();
            }
            let state = TrainState::new(&network, prep.index[0].len(), &cfg.training, cfg.seed);
            Ok((panel, prep, norm, network, state))
        })();
        match built {
            Ok((panel, prep, norm, network, state)) => Ok(Trial {
                cfg,
                panel,
                prep,
                norm,
                network,
                state,
                result,
            }),
            Err(e) => {
                result.error = Some(e.to_string());
                Err(Box::new(result))
            }
        }
    }

    /// Trains up to `epochs` and scores the best weights on validation.
    fn advance(&mut self, rung: usize, epochs: usize, interrupt: Option<&AtomicBool>) {
        let ts = &self.panel;
        let t0 = Instant::now();
        self.result.rung = rung;
        let run = self.state.run(
            &mut self.network,
            &self.prep.windows(&self.cfg, &self.norm, Part::Train),
            Some(&self.prep.windows(&self.cfg, &self.norm, Part::Val)),
            &self.cfg.training,
            epochs,
            interrupt,
            &mut |_| {},
        );
        self.result.epochs = self.state.epochs_done;
        match run {
            Ok(_) => {
                let mut best = self.network.clone();
                let scored = best.set_params(&self.state.best_params).and_then(|_| {
                    let m = TrainedForecaster::from_parts(
                        &self.cfg,
                        ts,
                        &self.prep,
                        self.norm.clone(),
                        best,
                        Default::default(),
                    );
                    let mse = m.level_mse(
                        &self.prep.scaled,
                        Some(self.prep.frame_for(m.norm.mode)),
                        &self.prep.index[1],
                    )?;
                    Ok((
                        mse,
                        m.validation_mase(ts, &self.prep)?.0,
                        m.validation_msis(ts, &self.prep)?,
                    ))
                });
                match scored {
                    Ok((v, mase, msis)) if v.is_finite() => {
                        self.result.val_mse = Some(v);
                        self.result.val_mase = mase;
                        self.result.val_msis = msis;
                    }
                    Ok((v, _, _)) => {
                        self.result.val_mse = None;
                        self.result.val_mase = None;
                        self.result.error = Some(format!("validation MSE is {v}"));
                    }
                    Err(e) => {
                        self.result.val_mse = None;
                        self.result.val_mase = None;
                        self.result.error = Some(e.to_string());
                    }
                }
            }
            Err(e) => {
                self.result.val_mse = None;
                self.result.val_mase = None;
                self.result.error = Some(e.to_string());
            }
        }
        self.result.seconds += t0.elapsed().as_secs_f64();
    }

    /// The trained forecaster of a finished trial: its best weights, as `fit` would give them.
    fn into_model(self) -> Result<TrainedForecaster> {
        let Trial {
            cfg,
            panel,
            prep,
            norm,
            mut network,
            state,
            result,
        } = self;
        let report = state.finish(&mut network)?;
        let mode = norm.mode;
        let ts = &panel;
        let mut model = TrainedForecaster::from_parts(&cfg, ts, &prep, norm, network, report);
        model.calibration = model.calibrate(ts, &prep)?;
        model.selection = Some(crate::normalize::Selection {
            requested: mode,
            chosen: mode,
            chosen_transform: model.transform.kind,
            chosen_calendar: model.covariates.calendar.clone(),
            candidates: vec![crate::normalize::CandidateScore {
                mode,
                transform: model.transform.kind,
                val_mse: result.val_mse,
                val_mase: result.val_mase,
                val_origins: 0,
                loss: cfg.training.loss(),
                epochs: model.report.history.len(),
                best_epoch: model.report.best_epoch,
                calendar: model.covariates.calendar.clone(),
            }],
            members: Vec::new(),
            ensemble_val_mase: None,
        });
        Ok(model)
    }

    fn finished(&self) -> bool {
        self.state.finished || self.result.error.is_some()
    }
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
        return Err(Error::config("tune", "interrupted"));
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
        Some(t) if t.result.trial == result.best => Some(t.into_model()?),
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
        .ok_or_else(|| {
            Error::config(
                "tune",
                format!(
                    "every trial failed; the first error: {}",
                    trials
                        .iter()
                        .find_map(|t| t.error.clone())
                        .unwrap_or_default()
                ),
            )
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
            return Err(Error::config("tune", "interrupted"));
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

/// Whether the finished trial `d` of a rung of `n` members goes on to the next rung, given the
/// rung's finished trials `done` (`d` among them) and `unfinished` ones still running: it does
/// once it is certain to be among the best `⌈n/eta⌉` (at least 2), it ends once the rung is
/// complete and it is not (or it failed, or the rung is the `last`); `None` while undecided.
fn promoted(
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
fn run_rungs(
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
    fn decide(b: &mut Board, r: usize, eta: usize, n_rungs: usize) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
