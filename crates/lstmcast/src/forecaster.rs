//! [`ForecasterConfig::fit`] turns a configuration and a series into a [`TrainedForecaster`],
//! which alone can evaluate and forecast: predicting before training does not compile.
//!
//! Order of operations (the no-leakage rule): split the rows first, fit the scaler on the
//! training rows only, then build windows over the one scaled matrix.

use crate::config::{ForecasterConfig, Strategy};
use crate::data::TimeSeries;
use crate::engine::{rng_for, Network, Workspace};
use crate::error::{Error, Result};
use crate::metrics::{mase_scale, score, seasonal_naive, Metrics};
use crate::normalize::{CandidateScore, Normalize, Selection, WindowNorm};
use crate::scale::Scaler;
use crate::split::Splits;
use crate::time::{Frequency, Timestamp};
use crate::train::{self, streams, EpochRecord, Status, TrainReport, TrainState};
use crate::window::Windows;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::atomic::AtomicBool;

/// A trained model with everything needed to use it: the configuration it was trained with, the
/// fitted scaler, the weights, and facts about the training data.
#[derive(Debug, Clone)]
pub struct TrainedForecaster {
    /// The full configuration used.
    pub config: ForecasterConfig,
    /// Scalers fitted on the training rows.
    pub scaler: Scaler,
    /// The per-window normalisation the network was trained with.
    pub norm: WindowNorm,
    /// How `norm` was chosen (every candidate's validation score); `None` for a model loaded
    /// from a folder that did not record it.
    pub selection: Option<Selection>,
    /// The network, holding the best epoch's weights.
    pub network: Network,
    /// Column names (targets first), as in the training data.
    pub names: Vec<String>,
    /// How many of `names` are targets.
    pub n_targets: usize,
    /// The training data's frequency (for continuing timestamps).
    pub frequency: Option<Frequency>,
    /// The seasonal period used for baselines and MASE.
    pub season: usize,
    /// Per target: the training rows' seasonal-naive MAE (MASE denominator).
    pub mase_scale: Vec<Option<f64>>,
    /// What training did.
    pub report: TrainReport,
}

/// One test prediction: window origin, step, target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictionRow {
    /// Timestamp of the window's first target row.
    pub origin: String,
    /// 1-based step ahead.
    pub step: usize,
    /// Target column.
    pub target: String,
    /// The observed value.
    pub actual: f64,
    /// The model's forecast.
    pub predicted: f64,
    /// Last observed value.
    pub naive: f64,
    /// Same season's last observed value.
    pub seasonal_naive: f64,
}

/// Scores of the model and the baselines on the same windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// The LSTM.
    pub model: Metrics,
    /// Last value.
    pub naive: Metrics,
    /// Same season's last value.
    pub seasonal_naive: Metrics,
}

/// Evaluation on the test split, per target: overall and per step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Test windows scored.
    pub windows: usize,
    /// Seasonal period used.
    pub season: usize,
    /// Per target name: scores over all steps.
    pub overall: BTreeMap<String, Scores>,
    /// Per target name: scores per step (index 0 = step 1).
    pub per_step: BTreeMap<String, Vec<Scores>>,
    /// Every prediction, in (window, step, target) order.
    #[serde(skip)]
    pub rows: Vec<PredictionRow>,
}

impl Evaluation {
    /// Scores prediction rows per target (overall and per step 1..=`horizon`); `mase_scale[k]`
    /// is target k's MASE denominator.
    pub fn from_rows(
        rows: Vec<PredictionRow>,
        windows: usize,
        targets: &[String],
        horizon: usize,
        season: usize,
        mase_scale: &[Option<f64>],
    ) -> Evaluation {
        let scores = |sel: &dyn Fn(&PredictionRow) -> bool, k: usize| -> Scores {
            let pick: Vec<&PredictionRow> = rows.iter().filter(|r| sel(r)).collect();
            let a: Vec<f64> = pick.iter().map(|r| r.actual).collect();
            let s = mase_scale[k];
            let of = |f: fn(&PredictionRow) -> f64| pick.iter().map(|r| f(r)).collect::<Vec<_>>();
            Scores {
                model: score(&a, &of(|r| r.predicted), s),
                naive: score(&a, &of(|r| r.naive), s),
                seasonal_naive: score(&a, &of(|r| r.seasonal_naive), s),
            }
        };
        let mut overall = BTreeMap::new();
        let mut per_step = BTreeMap::new();
        for (k, name) in targets.iter().enumerate() {
            overall.insert(name.clone(), scores(&|r| &r.target == name, k));
            per_step.insert(
                name.clone(),
                (1..=horizon)
                    .map(|h| scores(&|r| &r.target == name && r.step == h, k))
                    .collect(),
            );
        }
        Evaluation {
            windows,
            season,
            overall,
            per_step,
            rows,
        }
    }
}

/// A forecast beyond the end of the data.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    /// Target names.
    pub targets: Vec<String>,
    /// One timestamp per step.
    pub timestamps: Vec<Timestamp>,
    /// `values[step][target]`, original units.
    pub values: Vec<Vec<f64>>,
}

/// What [`ForecasterConfig::fit`] reports after each epoch.
#[derive(Debug)]
pub struct FitProgress<'a> {
    /// The normalisation being trained.
    pub candidate: Normalize,
    /// Its 0-based position among the candidates.
    pub index: usize,
    /// How many candidates are trained (3 for `auto`, else 1).
    pub of: usize,
    /// The epoch just finished.
    pub record: &'a EpochRecord,
}

/// A series split, scaled and cut into window origins for one configuration: everything before
/// the network. Built in the no-leakage order (split, then fit the scaler on training rows).
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The row ranges.
    pub splits: Splits,
    /// The scaler fitted on the training rows.
    pub scaler: Scaler,
    /// Every row, scaled, row-major `[rows, columns]`.
    pub scaled: Vec<f32>,
    /// Columns (targets first).
    pub n_cols: usize,
    /// Target columns.
    pub n_targets: usize,
    /// Train, validation and test window origins (train/validation at the model's horizon, test
    /// at the full horizon).
    pub origins: [Range<usize>; 3],
}

impl Prepared {
    /// Splits, fits the scaler on training rows and finds the window origins.
    ///
    /// # Errors
    /// An invalid configuration, or a series too short for the split, lookback and horizon.
    pub fn new(cfg: &ForecasterConfig, ts: &TimeSeries) -> Result<Prepared> {
        Prepared::with_splits(cfg, ts, cfg.split.ranges(ts.len()))
    }

    /// As [`Prepared::new`] with explicit row ranges instead of the configured fractions (used by
    /// backtesting).
    ///
    /// # Errors
    /// As [`Prepared::new`].
    pub fn with_splits(
        cfg: &ForecasterConfig,
        ts: &TimeSeries,
        splits: Splits,
    ) -> Result<Prepared> {
        cfg.validate()?;
        check_recursive(cfg, ts)?;
        // Train and validation windows predict the model's own horizon; test windows always
        // cover the full horizon so that both strategies are scored on the same targets.
        let [tr, va, _] = splits.window_origins(cfg.lookback, cfg.model_horizon())?;
        let [_, _, te] = splits.window_origins(cfg.lookback, cfg.horizon)?;
        let scaler = Scaler::fit(cfg.scaler, &ts.names, &ts.columns, splits.train.clone());
        let scaled = scaler.transform_rows(&ts.columns);
        check_f32_range(&scaled, ts)?;
        Ok(Prepared {
            splits,
            scaler,
            scaled,
            n_cols: ts.names.len(),
            n_targets: ts.n_targets,
            origins: [tr, va, te],
        })
    }

    /// Windows over split `k` (0 train, 1 validation) at the model's horizon, encoded by `norm`.
    pub fn windows<'a>(
        &'a self,
        cfg: &ForecasterConfig,
        norm: &'a WindowNorm,
        k: usize,
    ) -> Windows<'a> {
        Windows::new(
            &self.scaled,
            self.n_cols,
            self.n_targets,
            cfg.lookback,
            cfg.model_horizon(),
            self.origins[k].clone(),
        )
        .with_norm(norm)
    }
}

impl ForecasterConfig {
    /// Trains a forecaster on `ts`: for `normalize = auto` one candidate per mode, keeping the
    /// best on the validation split. `on_epoch` sees each epoch (for progress).
    ///
    /// # Errors
    /// An invalid configuration, a series too short for the split/lookback/horizon, a recursive
    /// strategy with non-target inputs, or divergence.
    pub fn fit(
        &self,
        ts: &TimeSeries,
        on_epoch: &mut dyn FnMut(&FitProgress),
    ) -> Result<TrainedForecaster> {
        self.fit_on(ts, self.split.ranges(ts.len()), on_epoch)
    }

    /// As [`ForecasterConfig::fit`] with explicit row ranges instead of the configured fractions.
    ///
    /// # Errors
    /// As [`ForecasterConfig::fit`].
    pub fn fit_on(
        &self,
        ts: &TimeSeries,
        splits: Splits,
        on_epoch: &mut dyn FnMut(&FitProgress),
    ) -> Result<TrainedForecaster> {
        let ctl = FitControl {
            on_epoch,
            interrupt: None,
            checkpoint: None,
            resume: None,
        };
        match self.fit_with(ts, splits, ctl)? {
            FitOutcome::Done(m) => Ok(*m),
            FitOutcome::Interrupted(_) => Err(Error::config("fit", "interrupted")),
        }
    }

    /// The general form of [`ForecasterConfig::fit`]: resumable from a [`FitCheckpoint`],
    /// reporting one after every epoch and candidate, and stopping after the current batch when
    /// `interrupt` is raised. A candidate that diverges after at least one epoch keeps its best
    /// weights (its report says so); one that diverges in its first epoch is an error.
    ///
    /// # Errors
    /// As [`ForecasterConfig::fit`], a checkpoint that does not match this configuration and
    /// data, or the checkpoint callback's error.
    pub fn fit_with(&self, ts: &TimeSeries, splits: Splits, ctl: FitControl) -> Result<FitOutcome> {
        let FitControl {
            on_epoch,
            interrupt,
            mut checkpoint,
            resume,
        } = ctl;
        let prep = Prepared::with_splits(self, ts, splits)?;
        let modes: Vec<Normalize> = match self.normalize {
            Normalize::Auto => Normalize::CANDIDATES.to_vec(),
            m => vec![m],
        };
        let mut ck = resume.unwrap_or_default();
        if ck.candidate > modes.len()
            || ck.done.len() != ck.candidate
            || ck.done.iter().zip(&modes).any(|(d, m)| d.score.mode != *m)
        {
            return Err(Error::config(
                "resume",
                "the checkpoint does not match this configuration's normalisation candidates",
            ));
        }
        while ck.candidate < modes.len() {
            let (index, mode) = (ck.candidate, modes[ck.candidate]);
            let norm = WindowNorm::fit(mode, &prep.scaled, prep.n_cols, prep.splits.train.clone())?;
            let mut network = Network::new(
                self.network_spec(prep.n_cols, prep.n_targets),
                &mut rng_for(self.seed, streams::INIT),
            )?;
            let train_w = prep.windows(self, &norm, 0);
            let val_w = prep.windows(self, &norm, 1);
            let mut state = match ck.state.take() {
                Some(st) => {
                    network.set_params(&ck.params)?;
                    st
                }
                None => TrainState::new(&network, train_w.len(), &self.training, self.seed),
            };
            let mut diverged = None;
            loop {
                let until = state.epochs_done + 1;
                let run = state.run(
                    &mut network,
                    &train_w,
                    Some(&val_w),
                    &self.training,
                    until,
                    interrupt,
                    &mut |record| {
                        on_epoch(&FitProgress {
                            candidate: mode,
                            index,
                            of: modes.len(),
                            record,
                        })
                    },
                );
                match run {
                    Ok(Status::Finished) => break,
                    Ok(Status::Paused) => {
                        if let Some(cb) = checkpoint.as_mut() {
                            cb(&FitCheckpoint {
                                candidate: index,
                                done: ck.done.clone(),
                                state: Some(state.clone()),
                                params: network.params().to_vec(),
                            })?;
                        }
                    }
                    Ok(Status::Interrupted) => {
                        ck.state = Some(state);
                        ck.params = network.params().to_vec();
                        if let Some(cb) = checkpoint.as_mut() {
                            cb(&ck)?;
                        }
                        return Ok(FitOutcome::Interrupted(Box::new(ck)));
                    }
                    // With weights from a finished epoch, or other candidates to fall back on,
                    // a divergence ends this candidate only.
                    Err(e @ Error::Diverged { .. }) if state.epochs_done > 0 || modes.len() > 1 => {
                        diverged = Some(e.to_string());
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
            let mut report = state.finish(&mut network)?;
            report.diverged = diverged;
            let model = TrainedForecaster::from_parts(self, ts, &prep, norm, network, report);
            let val = match model.report.best_epoch {
                0 => None,
                _ => Some(model.level_mse(&prep.scaled, prep.origins[1].clone())?),
            };
            ck.done.push(DoneCandidate {
                score: CandidateScore {
                    mode,
                    val_mse: val.filter(|v| v.is_finite()),
                    epochs: model.report.history.len(),
                    best_epoch: model.report.best_epoch,
                },
                report: model.report.clone(),
                params: model.network.params().to_vec(),
            });
            ck.candidate += 1;
            if let Some(cb) = checkpoint.as_mut() {
                cb(&ck)?;
            }
        }
        // Strictly better only: ties keep the earlier (simpler) candidate; NaN never wins.
        let mut best: Option<usize> = None;
        for (i, d) in ck.done.iter().enumerate() {
            let v = d.score.val_mse.unwrap_or(f64::NAN);
            if best.map_or(!v.is_nan(), |b| {
                v < ck.done[b].score.val_mse.unwrap_or(f64::NAN)
            }) {
                best = Some(i);
            }
        }
        let Some(b) = best else {
            return Err(Error::config(
                "normalize",
                "no candidate reached a finite validation score; lower --learning-rate or set --clip-norm",
            ));
        };
        let d = &ck.done[b];
        let norm = WindowNorm::fit(
            d.score.mode,
            &prep.scaled,
            prep.n_cols,
            prep.splits.train.clone(),
        )?;
        let mut network = Network::zeros(self.network_spec(prep.n_cols, prep.n_targets))?;
        network.set_params(&d.params)?;
        let mut model =
            TrainedForecaster::from_parts(self, ts, &prep, norm, network, d.report.clone());
        model.selection = Some(Selection {
            requested: self.normalize,
            chosen: d.score.mode,
            candidates: ck.done.iter().map(|d| d.score.clone()).collect(),
        });
        Ok(FitOutcome::Done(Box::new(model)))
    }
}

/// Receives checkpoints (for example to write them to disk).
pub type CheckpointFn<'a> = dyn FnMut(&FitCheckpoint) -> Result<()> + 'a;

/// How [`ForecasterConfig::fit_with`] is driven.
pub struct FitControl<'a> {
    /// Sees every epoch.
    pub on_epoch: &'a mut dyn FnMut(&FitProgress),
    /// When raised, training stops after the current batch.
    pub interrupt: Option<&'a AtomicBool>,
    /// Receives a checkpoint after every epoch, every finished candidate and an interruption.
    pub checkpoint: Option<&'a mut CheckpointFn<'a>>,
    /// A checkpoint to continue from.
    pub resume: Option<FitCheckpoint>,
}

/// How [`ForecasterConfig::fit_with`] ended.
#[derive(Debug)]
pub enum FitOutcome {
    /// Trained.
    Done(Box<TrainedForecaster>),
    /// Interrupted; the checkpoint resumes it.
    Interrupted(Box<FitCheckpoint>),
}

/// Everything needed to resume a `fit` bit-identically.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FitCheckpoint {
    /// The candidate being trained (0-based; equal to the number of candidates when all are done).
    pub candidate: usize,
    /// Candidates already trained.
    pub done: Vec<DoneCandidate>,
    /// The current candidate's training state, once it started.
    pub state: Option<TrainState>,
    /// The current candidate's weights (with `state`).
    pub params: Vec<f32>,
}

/// A trained candidate inside a checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct DoneCandidate {
    /// Its mode and validation score.
    pub score: CandidateScore,
    /// Its training report.
    pub report: TrainReport,
    /// Its best weights.
    pub params: Vec<f32>,
}

impl TrainedForecaster {
    /// Assembles a forecaster from a trained network and the preparation it was trained on.
    pub fn from_parts(
        cfg: &ForecasterConfig,
        ts: &TimeSeries,
        prep: &Prepared,
        norm: WindowNorm,
        network: Network,
        report: TrainReport,
    ) -> TrainedForecaster {
        let season = cfg
            .season
            .unwrap_or_else(|| ts.frequency().map(|f| f.default_season()).unwrap_or(1));
        TrainedForecaster {
            config: cfg.clone(),
            scaler: prep.scaler.clone(),
            norm,
            selection: None,
            network,
            names: ts.names.clone(),
            n_targets: ts.n_targets,
            frequency: ts.frequency(),
            season,
            mase_scale: (0..ts.n_targets)
                .map(|c| mase_scale(&ts.columns[c][prep.splits.train.clone()], season))
                .collect(),
            report,
        }
    }
}

/// The engine works in f32: a scaled value beyond its range (about ±3.4e38) would become
/// infinite and poison training. Names the first such cell.
fn check_f32_range(scaled: &[f32], ts: &TimeSeries) -> Result<()> {
    let f = ts.names.len();
    if let Some(i) = scaled.iter().position(|v| !v.is_finite()) {
        let (r, c) = (i / f, i % f);
        return Err(Error::config(
            format!("data: column '{}'", ts.names[c]),
            format!(
                "{:e} at {} (row {}) is beyond the f32 range the engine computes in once scaled; use --scaler standard or minmax, or rescale the column",
                ts.columns[c][r],
                ts.timestamps[r],
                r + 2
            ),
        ));
    }
    Ok(())
}

fn check_recursive(cfg: &ForecasterConfig, ts: &TimeSeries) -> Result<()> {
    if cfg.strategy == Strategy::Recursive && ts.names.len() > ts.n_targets {
        return Err(Error::config(
            "strategy",
            format!(
                "recursive forecasting feeds predictions back as inputs, so every input must be a target; these inputs are not: {} (add them to --target or drop them from --features)",
                ts.names[ts.n_targets..].join(", ")
            ),
        ));
    }
    Ok(())
}

impl TrainedForecaster {
    /// Checks that `ts` has the training columns in the same order.
    fn check_columns(&self, ts: &TimeSeries) -> Result<()> {
        if ts.names != self.names || ts.n_targets != self.n_targets {
            return Err(Error::config(
                "data",
                format!(
                    "{} gives columns [{}] (targets: {}), but the model was trained on [{}] (targets: {})",
                    ts.source.display(),
                    ts.names.join(", "),
                    ts.target_names().join(", "),
                    self.names.join(", "),
                    self.names[..self.n_targets].join(", ")
                ),
            ));
        }
        Ok(())
    }

    /// Predicts `steps` steps for each context (row-major `[lookback, columns]`, scaled): one
    /// pass for a direct model within its horizon, else rolling its predictions forward as new
    /// rows. Returns scaled values `[context][step][target]` flattened.
    fn predict_paths(&self, contexts: &[f32], n_ctx: usize, steps: usize) -> Result<Vec<f32>> {
        let (l, f, nt) = (self.config.lookback, self.names.len(), self.n_targets);
        let mh = self.config.model_horizon();
        if steps > mh && f != nt {
            return Err(Error::Forecast(format!(
                "the model forecasts {mh} step(s) directly; going further rolls forward, which needs every input to be a target, but these inputs would be unknown in the future: {}",
                self.names[nt..].join(", ")
            )));
        }
        let mut ws = Workspace::new(&self.network);
        let mut out = vec![0f32; n_ctx * steps * nt];
        const CHUNK: usize = 256;
        let mut hist: Vec<f32> = Vec::new();
        let mut x: Vec<f32> = Vec::new();
        let mut anchors: Vec<(f32, f32)> = Vec::new();
        for c0 in (0..n_ctx).step_by(CHUNK) {
            let b = CHUNK.min(n_ctx - c0);
            // Rolling history per context: the lookback rows, then appended predictions.
            let rows_total = l + steps.div_ceil(mh) * mh;
            hist.clear();
            hist.resize(b * rows_total * f, 0.0);
            for j in 0..b {
                hist[j * rows_total * f..(j * rows_total + l) * f]
                    .copy_from_slice(&contexts[(c0 + j) * l * f..(c0 + j + 1) * l * f]);
            }
            let mut done = 0;
            while done < steps {
                x.resize(l * b * f, 0.0);
                anchors.resize(b * nt, (0.0, 1.0));
                for j in 0..b {
                    let src = (j * rows_total + done) * f;
                    self.norm.encode(
                        &hist[src..src + l * f],
                        &mut x,
                        b,
                        j,
                        &mut anchors[j * nt..(j + 1) * nt],
                    );
                }
                let pred = self.network.predict(&mut ws, &x, b, l);
                for j in 0..b {
                    for h in 0..mh {
                        let p = &pred[(j * mh + h) * nt..(j * mh + h + 1) * nt];
                        for (k, (&o, &(a, sc))) in
                            p.iter().zip(&anchors[j * nt..(j + 1) * nt]).enumerate()
                        {
                            let v = a + sc * o;
                            if f == nt {
                                hist[(j * rows_total + l + done + h) * f + k] = v;
                            }
                            if done + h < steps {
                                out[((c0 + j) * steps + done + h) * nt + k] = v;
                            }
                        }
                    }
                }
                done += mh;
            }
        }
        Ok(out)
    }

    fn unscale(&self, target: usize, v: f32) -> f64 {
        self.scaler.columns[target].inverse(v as f64)
    }

    /// Scores the model and the naive and seasonal-naive baselines on the test split of `ts`
    /// (split, scaler and configuration as saved), in original units.
    ///
    /// # Errors
    /// Different columns than in training, or a series too short for the test split.
    pub fn evaluate(&self, ts: &TimeSeries) -> Result<Evaluation> {
        self.evaluate_on(ts, &self.config.split.ranges(ts.len()))
    }

    /// As [`TrainedForecaster::evaluate`] on the test rows of explicit `splits`.
    ///
    /// # Errors
    /// As [`TrainedForecaster::evaluate`].
    pub fn evaluate_on(&self, ts: &TimeSeries, splits: &Splits) -> Result<Evaluation> {
        self.check_columns(ts)?;
        let cfg = &self.config;
        let [_, _, test] = splits.window_origins(cfg.lookback, cfg.horizon)?;
        let scaled = self.scaler.transform_rows(&ts.columns);
        let (l, f, nt, hz) = (cfg.lookback, self.names.len(), self.n_targets, cfg.horizon);
        let n_win = test.len();
        let mut ctx = Vec::with_capacity(n_win * l * f);
        for t in test.clone() {
            ctx.extend_from_slice(&scaled[(t - l) * f..t * f]);
        }
        let pred = self.predict_paths(&ctx, n_win, hz)?;
        if pred.iter().any(|v| !v.is_finite()) {
            return Err(Error::Forecast("the model produced a non-finite prediction on the test split; retrain with a lower learning rate or --clip-norm".into()));
        }
        let mut rows = Vec::with_capacity(n_win * hz * nt);
        for (w, t) in test.clone().enumerate() {
            for h in 1..=hz {
                for k in 0..nt {
                    let y = &ts.columns[k];
                    rows.push(PredictionRow {
                        origin: ts.timestamps[t].to_string(),
                        step: h,
                        target: self.names[k].clone(),
                        actual: y[t + h - 1],
                        predicted: self.unscale(k, pred[(w * hz + h - 1) * nt + k]),
                        naive: y[t - 1],
                        seasonal_naive: seasonal_naive(y, t, h, self.season),
                    });
                }
            }
        }
        Ok(Evaluation::from_rows(
            rows,
            n_win,
            &self.names[..nt],
            hz,
            self.season,
            &self.mase_scale,
        ))
    }

    /// Forecasts `horizon` steps (default: the trained horizon) after the last row of `ts`, in
    /// original units, with timestamps continuing the training frequency.
    ///
    /// # Errors
    /// Different columns than in training, fewer rows than the lookback, irregular timestamps,
    /// or a horizon beyond the trained one with inputs that are not targets.
    pub fn forecast(&self, ts: &TimeSeries, horizon: Option<usize>) -> Result<Forecast> {
        self.check_columns(ts)?;
        let steps = horizon.unwrap_or(self.config.horizon);
        if steps == 0 {
            return Err(Error::config("horizon", "must be at least 1"));
        }
        let (l, f, nt) = (self.config.lookback, self.names.len(), self.n_targets);
        if ts.len() < l {
            return Err(Error::NotEnoughData {
                what: format!("forecasting with lookback {l}"),
                needed: l,
                got: ts.len(),
            });
        }
        let freq = ts.frequency().or(self.frequency).ok_or_else(|| {
            Error::Forecast(format!("{}: timestamps are irregular, so future timestamps cannot be continued; resample the data to a regular step", ts.source.display()))
        })?;
        let scaled = self.scaler.transform_rows(&ts.columns);
        let ctx = &scaled[(ts.len() - l) * f..];
        let pred = self.predict_paths(ctx, 1, steps)?;
        let last = ts.timestamps[ts.len() - 1];
        let mut timestamps = Vec::with_capacity(steps);
        for k in 1..=steps {
            timestamps.push(freq.advance(&last, k as i64).ok_or_else(|| {
                Error::Forecast(format!(
                    "cannot continue timestamps from {last} with {}",
                    freq.describe()
                ))
            })?);
        }
        let values: Vec<Vec<f64>> = (0..steps)
            .map(|s| (0..nt).map(|k| self.unscale(k, pred[s * nt + k])).collect())
            .collect();
        if values.iter().flatten().any(|v| !v.is_finite()) {
            return Err(Error::Forecast("the model produced a non-finite value; retrain with a lower learning rate or --clip-norm".into()));
        }
        Ok(Forecast {
            targets: self.names[..nt].to_vec(),
            timestamps,
            values,
        })
    }

    /// Validation loss of the current weights on `ts`'s validation split, in the network's own
    /// (normalised) units: the number early stopping watched.
    ///
    /// # Errors
    /// As [`TrainedForecaster::evaluate`].
    pub fn validation_loss(&self, ts: &TimeSeries) -> Result<f64> {
        self.check_columns(ts)?;
        let prep = Prepared::new(&self.config, ts)?;
        let w = prep.windows(&self.config, &self.norm, 1);
        Ok(train::mse(
            &self.network,
            &mut Workspace::new(&self.network),
            &w,
            256,
        ))
    }

    /// Mean squared error over windows with `origins` at the model's horizon, in globally scaled
    /// units whatever the normalisation (so that candidates and trials compare): `scaled` is the
    /// series through the saved scaler.
    ///
    /// # Errors
    /// As [`TrainedForecaster::evaluate`]; an empty `origins` gives NaN.
    pub fn level_mse(&self, scaled: &[f32], origins: Range<usize>) -> Result<f64> {
        let (l, f, nt) = (self.config.lookback, self.names.len(), self.n_targets);
        let mh = self.config.model_horizon();
        let n = origins.len();
        let mut ctx = Vec::with_capacity(n * l * f);
        for t in origins.clone() {
            ctx.extend_from_slice(&scaled[(t - l) * f..t * f]);
        }
        let pred = self.predict_paths(&ctx, n, mh)?;
        let mut sum = 0f64;
        for (w, t) in origins.enumerate() {
            for h in 0..mh {
                for k in 0..nt {
                    let e = pred[(w * mh + h) * nt + k] as f64 - scaled[(t + h) * f + k] as f64;
                    sum += e * e;
                }
            }
        }
        Ok(sum / (n * mh * nt) as f64)
    }
}
