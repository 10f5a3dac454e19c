//! [`ForecasterConfig::fit`] turns a configuration and a panel (one series or many) into a
//! [`TrainedForecaster`], which alone can evaluate and forecast: predicting before training does
//! not compile. One global model learns from the windows of every series.
//!
//! Order of operations (the no-leakage rule): split first (by calendar, common to all series),
//! fit the scalers on training rows only, then build one window index over the one scaled matrix.

mod candidates;
mod evaluation;
pub mod intervals;
mod predict;

pub use evaluation::{
    Evaluation, IntervalScore, PanelScores, PanelTarget, PredictionRow, QuantileScore, Scores,
    SeriesMase, Trio,
};
pub use predict::{Forecast, SeriesForecast};

use crate::config::{ForecasterConfig, Strategy};
use crate::data::{Panel, Role};
use crate::engine::Network;
use crate::error::{Error, Result};
use crate::metrics::mase_scale;
use crate::normalize::{CandidateScore, EsFrame, EtsBank, Normalize, Selection, WindowNorm};
use crate::scale::Scaler;
use crate::split::{rows_needed, too_short, PanelSplit, Part, Skipped, Splits};
use crate::time::Frequency;
use crate::train::{EpochRecord, TrainReport, TrainState};
use crate::transform::{FittedTransform, Transform};
use crate::window::{Segment, WindowIndex, Windows};
use std::ops::Range;
use std::sync::atomic::AtomicBool;

/// A trained model with everything needed to use it: the configuration it was trained with, the
/// fitted scalers, the weights, and facts about the training data.
#[derive(Debug, Clone)]
pub struct TrainedForecaster {
    /// The full configuration used.
    pub config: ForecasterConfig,
    /// The target transform, fitted on the training rows.
    pub transform: FittedTransform,
    /// Scalers fitted on the training rows (per series or shared).
    pub scaler: Scaler,
    /// The per-window normalisation the network was trained with.
    pub norm: WindowNorm,
    /// ETS per training series and target, fitted on the training rows: the ETS baseline and
    /// the references of the exponential-smoothing normalisations.
    pub ets: EtsBank,
    /// How `norm` was chosen (every candidate's validation score); `None` for a model loaded
    /// from a folder that did not record it.
    pub selection: Option<Selection>,
    /// The network, holding the best epoch's weights.
    pub network: Network,
    /// Conformal interval half-widths, calibrated on the validation rows.
    pub calibration: intervals::Calibration,
    /// Ensemble members beside `network` (`--ensemble N`: N − 1 of them, from seeds
    /// `seed + 1, …`); predictions are the median over all N.
    pub members: Vec<Network>,
    /// Column names (targets first), as in the training data.
    pub names: Vec<String>,
    /// How many of `names` are targets.
    pub n_targets: usize,
    /// Each column's role (targets, past, future-known, static, calendar).
    pub roles: Vec<crate::data::Role>,
    /// The calendar features and static values regenerated at forecast time.
    pub covariates: crate::covariates::Covariates,
    /// The training data's id column (`None` for a single series).
    pub id_name: Option<String>,
    /// The training series' ids, in panel order.
    pub ids: Vec<String>,
    /// The training data's frequency (for continuing timestamps).
    pub frequency: Option<Frequency>,
    /// The seasonal period used for baselines and MASE.
    pub season: usize,
    /// Per training series, per target: the training rows' seasonal-naive MAE (MASE denominator).
    pub mase_scale: Vec<Vec<Option<f64>>>,
    /// Where validation and test started in the training data.
    pub trained_split: Option<crate::split::SplitReport>,
    /// What training did.
    pub report: TrainReport,
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

/// A panel split, scaled and cut into windows for one configuration: everything before the
/// network. Built in the no-leakage order (split, then fit the scalers on training rows).
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The split: boundaries and every series' rows.
    pub split: PanelSplit,
    /// The target transform, fitted on the training rows.
    pub transform: FittedTransform,
    /// The scalers fitted on the training rows (of the transformed targets).
    pub scaler: Scaler,
    /// Every row, transformed and scaled, row-major `[rows, columns]`.
    pub scaled: Vec<f32>,
    /// Columns (targets first).
    pub n_cols: usize,
    /// Target columns.
    pub n_targets: usize,
    /// Known columns (the last ones: future-known, static, calendar).
    pub n_known: usize,
    /// Train, validation and test windows (train/validation at the model's horizon, test at the
    /// full horizon).
    pub index: [WindowIndex; 3],
    /// Series left out of a part for having too few rows there.
    pub skipped: Vec<Skipped>,
    /// ETS per series and target, fitted on the training rows: the ES modes' references.
    pub ets: EtsBank,
    /// The ETS states over every row (for the exponential-smoothing modes).
    pub frame: EsFrame,
    /// The forecaster ETS (AutoETS's forms, likelihood and AICc) and Theta fitted on the
    /// training rows, and their states over every row: plain `ets` and `theta` as candidates
    /// (validation scores). Only where the configuration may use them (`--normalize auto`,
    /// `ets` or `theta`).
    pub stats: Option<(EtsBank, EsFrame)>,
}

/// The seasonal period: the configured one, else the data's frequency's usual one.
pub(crate) fn season_of(cfg: &ForecasterConfig, panel: &Panel) -> usize {
    cfg.season
        .unwrap_or_else(|| panel.frequency().map(|f| f.default_season()).unwrap_or(1))
}

/// The window index of one part: every series' origins, and the series left out.
///
/// # Errors
/// No series has a window: for a single series the error names its rows; for a panel, the
/// longest series' rows.
pub(crate) fn part_index(
    panel: &Panel,
    splits: &[Splits],
    part: Part,
    lookback: usize,
    horizon: usize,
    unscaled: &[bool],
) -> Result<(WindowIndex, Vec<Skipped>)> {
    let mut segments = Vec::new();
    let mut skipped = Vec::new();
    let needed = rows_needed(part, lookback, horizon);
    for (s, sp) in splits.iter().enumerate() {
        let rows = sp.part(part);
        let o = Splits::origins(rows, lookback, horizon);
        if o.is_empty() || unscaled[s] {
            let why = if unscaled[s] {
                "no scaler: no training rows of its own to fit one on".to_string()
            } else if rows.len() >= needed {
                format!(
                    "{} rows, but only {} rows of the series before them, fewer than the lookback {lookback}",
                    rows.len(),
                    rows.start
                )
            } else {
                format!("{} rows, needs {needed}", rows.len())
            };
            skipped.push(Skipped {
                series: panel.ids[s].clone(),
                part,
                rows: rows.len(),
                needed,
                why,
            });
            continue;
        }
        let base = panel.offsets[s];
        segments.push(Segment {
            series: s,
            origins: base + o.start..base + o.end,
        });
    }
    let index = WindowIndex::new(segments);
    if index.is_empty() {
        return Err(match panel.id_name {
            None => too_short(part, splits[0].part(part), lookback, horizon),
            Some(_) => {
                let longest = splits.iter().map(|s| s.part(part).len()).max().unwrap_or(0);
                Error::NotEnoughData {
                    what: format!(
                        "the {} split of every one of the {} series with lookback {lookback} and horizon {horizon} (the longest has {longest} rows there; lower --lookback/--horizon or change --split)",
                        part.name(),
                        panel.n_series()
                    ),
                    needed,
                    got: longest,
                }
            }
        });
    }
    Ok((index, skipped))
}

impl Prepared {
    /// Splits, fits the scalers on training rows and finds the windows; the ETS fits of a panel
    /// run on every core.
    ///
    /// # Errors
    /// An invalid configuration, or data too short for the split, lookback and horizon.
    pub fn new(cfg: &ForecasterConfig, panel: &Panel) -> Result<Prepared> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Prepared::new_on(cfg, panel, cores)
    }

    /// As [`Prepared::new`] on up to `threads` threads (the result does not depend on them).
    ///
    /// # Errors
    /// As [`Prepared::new`].
    pub fn new_on(cfg: &ForecasterConfig, panel: &Panel, threads: usize) -> Result<Prepared> {
        cfg.validate()?;
        Prepared::with_split(cfg, panel, cfg.split.resolve(panel)?, threads)
    }

    /// As [`Prepared::new_on`] with an explicit split (used by backtesting).
    ///
    /// # Errors
    /// As [`Prepared::new`].
    pub fn with_split(
        cfg: &ForecasterConfig,
        panel: &Panel,
        split: PanelSplit,
        threads: usize,
    ) -> Result<Prepared> {
        cfg.validate()?;
        check_role_order(panel)?;
        check_recursive(cfg, panel)?;
        check_regular(panel)?;
        let train: Vec<Range<usize>> = split.series.iter().map(|s| s.train.clone()).collect();
        let transform = cfg.transform.fit(panel, &train)?;
        let transformed = transform.apply(panel)?;
        let scaler = Scaler::fit(cfg.scaler, cfg.scaler_scope, &transformed, &train);
        // A series without training rows has no scaler of its own: it is left out.
        let (scaled, unscaled) = scaler.transform(&transformed);
        // Train and validation windows predict the model's own horizon; test windows always
        // cover the full horizon so that both strategies are scored on the same targets.
        let mut skipped = Vec::new();
        let mut parts = Vec::with_capacity(3);
        for part in Part::ALL {
            let h = if part == Part::Test {
                cfg.horizon
            } else {
                cfg.model_horizon()
            };
            let (index, sk) = part_index(panel, &split.series, part, cfg.lookback, h, &unscaled)?;
            skipped.extend(sk);
            parts.push(index);
        }
        check_f32_range(&scaled, panel)?;
        let ets = EtsBank::fit_on_threads(&transformed, &train, season_of(cfg, panel), threads);
        let frame = ets.frame(&transformed, &scaler);
        let stats = matches!(
            cfg.normalize,
            Normalize::Auto | Normalize::Ets | Normalize::Theta
        )
        .then(|| {
            let bank = EtsBank::fit_forecasters_on_threads(
                &transformed,
                &train,
                season_of(cfg, panel),
                threads,
            );
            let frame = bank.frame(&transformed, &scaler);
            (bank, frame)
        });
        let [tr, va, te]: [WindowIndex; 3] = parts.try_into().unwrap_or_default();
        Ok(Prepared {
            split,
            transform,
            scaler,
            scaled,
            n_cols: panel.names.len(),
            n_targets: panel.n_targets,
            n_known: panel.n_known(),
            index: [tr, va, te],
            skipped,
            ets,
            frame,
            stats,
        })
    }

    /// The ETS states `mode` forecasts from: the forecaster ETS for plain `ets` (where it was
    /// fitted), the reference smoother for the others.
    pub fn frame_for(&self, mode: Normalize) -> &EsFrame {
        match &self.stats {
            Some((_, frame)) if mode.is_statistical() => frame,
            _ => &self.frame,
        }
    }

    /// The bank behind [`Prepared::frame_for`].
    fn bank_for(&self, mode: Normalize) -> &EtsBank {
        match &self.stats {
            Some((bank, _)) if mode.is_statistical() => bank,
            _ => &self.ets,
        }
    }

    /// Whether `mode` can be used on this data: the exponential-smoothing modes need an ETS
    /// model for every series and target, and a direct strategy (their references exist at
    /// observed origins only).
    ///
    /// # Errors
    /// The first series without an ETS model (and why), or a recursive strategy.
    pub fn check_mode(&self, cfg: &ForecasterConfig, mode: Normalize) -> Result<()> {
        if !mode.uses_ets() {
            return Ok(());
        }
        if cfg.strategy == Strategy::Recursive {
            return Err(Error::config(
                "normalize",
                format!(
                    "'{}' takes its references from ETS states at observed origins, so it forecasts directly; use --strategy direct or another --normalize",
                    mode.name()
                ),
            ));
        }
        // Only series that take part (have windows somewhere) decide: one left out of every
        // part (no training rows, so no scaler) is not used at all.
        let used: std::collections::HashSet<usize> = self
            .index
            .iter()
            .flat_map(|i| i.segments().iter().map(|g| g.series))
            .collect();
        if let Some((id, k, why)) = self
            .bank_for(mode)
            .first_missing_among(&|s| used.contains(&s))
        {
            let series = if id.is_empty() {
                String::new()
            } else {
                format!(" of series '{id}'")
            };
            return Err(Error::config(
                "normalize",
                format!(
                    "'{}' needs ETS fitted on the training rows of every series, but target {}{series} has none: {why}; use another --normalize (or --split with more training rows)",
                    mode.name(),
                    k + 1
                ),
            ));
        }
        Ok(())
    }

    /// The modes `auto` chooses between on this data: the ETS family where ETS fits every
    /// series and target that takes part and the strategy is direct, else the level, window
    /// and difference modes. On a panel (several series with validation windows) the window
    /// and difference modes compete too when `plain_too`: one network learning across many
    /// series is where they earn their place, and many series' validation origins make the
    /// choice reliable; on one short series they lost to the ETS family everywhere and only
    /// added noise to the choice, and `global` lost everywhere (README, "Accuracy").
    pub fn auto_candidates(&self, cfg: &ForecasterConfig, plain_too: bool) -> Vec<Normalize> {
        if self.check_mode(cfg, Normalize::Es).is_err() {
            return Normalize::PLAIN_CANDIDATES.to_vec();
        }
        // Plain ETS needs the forecaster fit on every series, which needs a few more rows than
        // the reference smoother.
        let mut v: Vec<Normalize> = Normalize::ETS_CANDIDATES
            .into_iter()
            .filter(|&m| self.check_mode(cfg, m).is_ok())
            .collect();
        if plain_too && self.is_panel() {
            v.extend([Normalize::Window, Normalize::Diff]);
        }
        v
    }

    /// Whether several series have validation windows (a panel, for `auto`).
    pub fn is_panel(&self) -> bool {
        self.index[1].segments().len() > 1
    }

    /// Every series' training rows as global rows.
    pub fn train_rows(&self, panel: &Panel) -> Vec<Range<usize>> {
        self.split
            .series
            .iter()
            .enumerate()
            .map(|(s, sp)| {
                let b = panel.offsets[s];
                b + sp.train.start..b + sp.train.end
            })
            .collect()
    }

    /// The network for this data under `cfg`.
    pub fn network_spec(&self, cfg: &ForecasterConfig) -> crate::engine::NetworkSpec {
        cfg.network_spec_known(self.n_cols, self.n_targets, self.n_known)
    }

    /// `mode` fitted on the training rows `train_rows` of this data.
    ///
    /// # Errors
    /// `mode` is `Auto`.
    pub fn window_norm(&self, mode: Normalize, train_rows: &[Range<usize>]) -> Result<WindowNorm> {
        Ok(WindowNorm::fit(mode, &self.scaled, self.n_cols, train_rows)?.with_known(self.n_known))
    }

    /// Windows over `part` (train or validation) at the model's horizon, encoded by `norm`.
    pub fn windows<'a>(
        &'a self,
        cfg: &ForecasterConfig,
        norm: &'a WindowNorm,
        part: Part,
    ) -> Windows<'a> {
        let k = Part::ALL.iter().position(|p| *p == part).unwrap_or(0);
        Windows::new(
            &self.scaled,
            self.n_cols,
            self.n_targets,
            cfg.lookback,
            cfg.model_horizon(),
            &self.index[k],
        )
        .with_norm(norm)
        .with_es(Some(&self.frame))
        .with_outputs_per_target(cfg.training.outputs_per_target())
        .with_known(self.n_known)
    }
}

impl ForecasterConfig {
    /// `panel` with the calendar features this configuration asks for appended (a no-op when
    /// it has them or there are none); `split` is where `auto` learns how many training rows
    /// the series have.
    ///
    /// # Errors
    /// An explicit calendar list on data without dates.
    pub fn with_covariates(&self, panel: &Panel, split: &PanelSplit) -> Result<Panel> {
        let features = self.calendar_features(panel, split)?;
        Ok(crate::covariates::Covariates::with_calendar(
            panel, &features,
        ))
    }

    /// The calendar features this configuration asks for on `panel` (for `auto`: those it
    /// would try against none).
    ///
    /// # Errors
    /// As [`ForecasterConfig::with_covariates`].
    pub fn calendar_features(
        &self,
        panel: &Panel,
        split: &PanelSplit,
    ) -> Result<Vec<crate::covariates::CalendarFeature>> {
        let train = split
            .series
            .iter()
            .map(|s| s.train.len())
            .max()
            .unwrap_or(0);
        self.calendar.resolve(
            panel.frequency(),
            panel.timestamps.first(),
            self.lookback,
            train,
        )
    }

    /// The data variants `fit` trains on: `panel` with the configured calendar features, or for
    /// `--calendar auto` with features to try, `panel` without them and with them (validation
    /// decides; on the hourly JFK temperatures the day-of-week features cost 7 % in MASE).
    fn calendar_variants(&self, panel: &Panel, split: &PanelSplit) -> Result<Vec<Panel>> {
        let features = self.calendar_features(panel, split)?;
        let with = crate::covariates::Covariates::with_calendar(panel, &features);
        Ok(
            if self.calendar == crate::covariates::Calendar::Auto && !features.is_empty() {
                vec![panel.clone(), with]
            } else {
                vec![with]
            },
        )
    }

    /// Trains a forecaster on `panel`: for `normalize = auto` one candidate per mode, keeping
    /// the best on the validation part. `on_epoch` sees each epoch (for progress).
    ///
    /// # Errors
    /// An invalid configuration, data too short for the split/lookback/horizon, a recursive
    /// strategy with non-target inputs, or divergence.
    pub fn fit(
        &self,
        panel: &Panel,
        on_epoch: &mut dyn FnMut(&FitProgress),
    ) -> Result<TrainedForecaster> {
        self.validate()?;
        self.fit_on(panel, self.split.resolve(panel)?, on_epoch)
    }

    /// As [`ForecasterConfig::fit`] with an explicit split instead of the configured one.
    ///
    /// # Errors
    /// As [`ForecasterConfig::fit`].
    pub fn fit_on(
        &self,
        panel: &Panel,
        split: PanelSplit,
        on_epoch: &mut dyn FnMut(&FitProgress),
    ) -> Result<TrainedForecaster> {
        match self.fit_with(panel, split, FitControl::new(on_epoch))? {
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
    pub fn fit_with(
        &self,
        panel: &Panel,
        split: PanelSplit,
        ctl: FitControl,
    ) -> Result<FitOutcome> {
        let FitControl {
            on_epoch,
            interrupt,
            mut checkpoint,
            resume,
            threads,
        } = ctl;
        let variants = self.calendar_variants(panel, &split)?;
        // One preparation per target transform competing (`--transform auto`: none, and log
        // where every target value is positive), each with its normalisation candidates.
        // `--transform auto` tries the log for the ETS family on one series only: a level,
        // window or difference model asked for by name trains on the values as they are, and
        // on a panel the log candidates would double the cost for no measured gain.
        let log_helps = self.normalize == Normalize::Auto || self.normalize.uses_ets();
        let one_series = split.series.iter().filter(|s| !s.val.is_empty()).count() <= 1;
        let transforms = if self.transform != Transform::Auto || (log_helps && one_series) {
            self.transform.candidates(panel)
        } else {
            Transform::None.candidates(panel)
        };
        // Per data variant (with and without calendar features), one preparation per transform;
        // the calendar variant with the untransformed values only (its networks compete with
        // those of the same transform without the calendar).
        let jobs: Vec<(usize, Transform)> = (0..variants.len())
            .flat_map(|v| transforms.iter().map(move |&t| (v, t)))
            .filter(|&(v, t)| v == 0 || t == Transform::None || transforms.len() == 1)
            .collect();
        // The preparations (scalers, ETS fits) are independent: built on up to `threads`
        // threads, taken in job order, each fitting its ETS models on its share of them.
        let each = crate::threads::share(threads, jobs.len());
        let built = crate::threads::map_ordered(jobs.len(), threads, |i| -> Result<_> {
            let (v, t) = jobs[i];
            let mut c = self.clone();
            c.transform = t;
            let prep = Prepared::with_split(&c, &variants[v], split.clone(), each)?;
            let rows = prep.train_rows(&variants[v]);
            Ok((prep, rows))
        });
        let mut preps = Vec::with_capacity(jobs.len());
        for (&(v, _), b) in jobs.iter().zip(built) {
            let (prep, rows) = b?;
            preps.push((&variants[v], prep, rows, v > 0));
        }
        let mut cands: Vec<candidates::Cand> = Vec::new();
        for (panel, prep, rows, calendar_variant) in &preps {
            let mut modes: Vec<Normalize> = match self.normalize {
                // A candidate that cannot be used on this data (no ETS for some series, a
                // recursive strategy) is left out; the others still compete.
                // The level, window and difference modes are trained without a transform
                // (as they always were); the ETS family with each.
                Normalize::Auto => {
                    prep.auto_candidates(self, prep.transform.kind == Transform::None)
                }
                m => {
                    prep.check_mode(self, m)?;
                    vec![m]
                }
            };
            if self.transform == Transform::Auto && prep.transform.kind != Transform::None {
                // `auto` tries log for the ETS family only, where it was measured to help.
                modes.retain(|m| m.uses_ets());
            }
            if *calendar_variant {
                // Plain ETS has no network to see the calendar.
                modes.retain(|m| m.trains());
            }
            cands.extend(modes.into_iter().map(|mode| candidates::Cand {
                panel,
                prep,
                train_rows: rows,
                mode,
            }));
        }
        let modes: Vec<(Transform, Normalize, bool)> = cands
            .iter()
            .map(|c| {
                let calendar = !c.panel.columns_of(Role::Calendar).is_empty();
                (c.prep.transform.kind, c.mode, calendar)
            })
            .collect();
        let mut ck = resume.unwrap_or_default();
        if ck.candidate > modes.len()
            || ck.done.len() != ck.candidate
            || ck.done.iter().zip(&modes).any(|(d, &(t, m, cal))| {
                d.score.mode != m || d.score.transform != t || d.score.calendar.is_empty() == cal
            })
        {
            return Err(Error::config(
                "resume",
                "the checkpoint does not match this configuration's normalisation candidates",
            ));
        }
        // Each model's batches get the cores its concurrent trainings leave (results do not
        // depend on it): never more busy threads than `threads`.
        let sharing = |concurrent: usize| {
            let mut c = self.clone();
            c.training.threads = (threads / concurrent.clamp(1, threads.max(1))).max(1);
            c
        };
        if threads > 1 && modes.len() - ck.candidate > 1 {
            match candidates::train_parallel(
                &sharing(modes.len() - ck.candidate),
                &cands,
                ck,
                threads,
                interrupt,
                on_epoch,
                &mut checkpoint,
            )? {
                Ok(done) => ck = done,
                Err(stopped) => return Ok(FitOutcome::Interrupted(Box::new(stopped))),
            }
        }
        while ck.candidate < modes.len() {
            let (index, cand) = (ck.candidate, cands[ck.candidate]);
            let start = ck
                .state
                .take()
                .map(|st| (st, std::mem::take(&mut ck.params)));
            let done_so_far = ck.done.clone();
            let end = candidates::train_candidate(
                &sharing(1),
                cand,
                (index, modes.len()),
                start,
                interrupt,
                &mut |event| match event {
                    candidates::Event::Epoch(record) => {
                        on_epoch(&FitProgress {
                            candidate: cand.mode,
                            index,
                            of: modes.len(),
                            record,
                        });
                        Ok(())
                    }
                    candidates::Event::Paused(state, params) => match checkpoint.as_mut() {
                        Some(cb) => cb(&FitCheckpoint {
                            candidate: index,
                            done: done_so_far.clone(),
                            state: Some(state.clone()),
                            params: params.to_vec(),
                        }),
                        None => Ok(()),
                    },
                },
            )?;
            match end {
                candidates::End::Done(d) => {
                    ck.done.push(*d);
                    ck.candidate += 1;
                }
                candidates::End::Interrupted(state, params) => {
                    ck.state = Some(*state);
                    ck.params = params;
                    if let Some(cb) = checkpoint.as_mut() {
                        cb(&ck)?;
                    }
                    return Ok(FitOutcome::Interrupted(Box::new(ck)));
                }
            }
            if let Some(cb) = checkpoint.as_mut() {
                cb(&ck)?;
            }
        }
        // Chosen by validation MASE (over every validation origin) where the data has a MASE
        // scale, else by validation MSE. Strictly better only: ties keep the earlier (simpler)
        // candidate; NaN never wins.
        let by_mase = ck.done.iter().any(|d| d.score.val_mase.is_some());
        let key = |d: &DoneCandidate| {
            if by_mase {
                d.score.val_mase
            } else {
                d.score.val_mse
            }
            .unwrap_or(f64::NAN)
        };
        let mut best: Option<usize> = None;
        for (i, d) in ck.done.iter().enumerate() {
            let v = key(d);
            if best.map_or(!v.is_nan(), |b| v < key(&ck.done[b])) {
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
        let chosen = cands[b];
        let (mode, prep, train_rows) = (chosen.mode, chosen.prep, chosen.train_rows);
        // Ensemble members: the chosen mode from the next seeds. They are not checkpointed: an
        // interruption keeps every candidate, and a resume retrains the members identically.
        let n_members = if mode.trains() {
            self.model.ensemble - 1
        } else {
            0
        };
        let panel = chosen.panel;
        let members = match candidates::train_members(
            &sharing(n_members),
            chosen,
            (n_members, modes.len()),
            threads,
            interrupt,
            on_epoch,
        )? {
            Some(m) => m,
            None => return Ok(FitOutcome::Interrupted(Box::new(ck))),
        };
        let norm = prep.window_norm(mode, train_rows)?;
        let spec = prep.network_spec(self);
        let mut network = Network::zeros(spec.clone())?;
        network.set_params(&d.params)?;
        let mut model =
            TrainedForecaster::from_parts(self, panel, prep, norm, network, d.report.clone());
        // Scoring and calibrating the chosen model predicts on every core (results do not
        // depend on it).
        model.config.training.threads = threads.max(1);
        let mut member_scores = Vec::with_capacity(members.len());
        // A member that diverged before its first epoch holds untrained weights: it is recorded
        // but left out of the median.
        for m in members {
            if m.report.best_epoch == 0 {
                member_scores.push(m.score);
                continue;
            }
            let mut net = Network::zeros(spec.clone())?;
            net.set_params(&m.params)?;
            model.members.push(net);
            member_scores.push(m.score);
        }
        let ensemble_val_mase = if model.members.is_empty() {
            None
        } else {
            model.validation_mase(panel, prep)?.0
        };
        model.calibration = model.calibrate(panel, prep)?;
        model.selection = Some(Selection {
            requested: self.normalize,
            chosen: mode,
            chosen_transform: prep.transform.kind,
            chosen_calendar: model.covariates.calendar.clone(),
            candidates: ck.done.iter().map(|d| d.score.clone()).collect(),
            members: member_scores,
            ensemble_val_mase,
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
    /// Threads the fit may keep busy: its preparations (ETS fits per series included),
    /// normalisation candidates trained at once, and a lone model's batches share them (1 = one
    /// after another). The result does not depend on it.
    pub threads: usize,
}

impl<'a> FitControl<'a> {
    /// Sees every epoch; no interruption, no checkpoints, a fresh start.
    pub fn new(on_epoch: &'a mut dyn FnMut(&FitProgress)) -> Self {
        FitControl {
            on_epoch,
            interrupt: None,
            checkpoint: None,
            resume: None,
            threads: 1,
        }
    }

    /// Keeps up to `n` threads busy (see [`FitControl::threads`]).
    pub fn with_threads(self, n: usize) -> Self {
        FitControl {
            threads: n.max(1),
            ..self
        }
    }

    /// Stops after the current batch when `flag` is raised.
    pub fn with_interrupt(self, flag: &'a AtomicBool) -> Self {
        FitControl {
            interrupt: Some(flag),
            ..self
        }
    }

    /// Hands every checkpoint to `cb`.
    pub fn with_checkpoint(self, cb: &'a mut CheckpointFn<'a>) -> Self {
        FitControl {
            checkpoint: Some(cb),
            ..self
        }
    }

    /// Continues from `ck`.
    pub fn with_resume(self, ck: Option<FitCheckpoint>) -> Self {
        FitControl { resume: ck, ..self }
    }
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

/// Per series, per target: the training rows' seasonal-naive MAE.
fn mase_scales(panel: &Panel, splits: &[Splits], season: usize) -> Vec<Vec<Option<f64>>> {
    (0..panel.n_series())
        .map(|s| series_mase_scales(panel, s, &splits[s].train, season))
        .collect()
}

/// Series `s`'s MASE denominators, one per target, from its (local) training rows `train`.
fn series_mase_scales(
    panel: &Panel,
    s: usize,
    train: &Range<usize>,
    season: usize,
) -> Vec<Option<f64>> {
    (0..panel.n_targets)
        .map(|c| mase_scale(&panel.series_column(s, c)[train.clone()], season))
        .collect()
}

impl TrainedForecaster {
    /// Assembles a forecaster from a trained network and the preparation it was trained on.
    pub fn from_parts(
        cfg: &ForecasterConfig,
        panel: &Panel,
        prep: &Prepared,
        norm: WindowNorm,
        network: Network,
        report: TrainReport,
    ) -> TrainedForecaster {
        let season = season_of(cfg, panel);
        // The columns are resolved once and recorded by name: evaluate and forecast select
        // them by name, whatever the order or the extra columns of their files.
        let mut config = cfg.clone();
        // What was chosen is what is recorded: a concrete transform, never `auto`.
        config.transform = prep.transform.kind;
        config.data.target = panel.target_names().to_vec();
        // Past inputs (with the targets, as before covariates existed); the other roles keep
        // their own lists.
        config.data.features = (0..panel.names.len())
            .filter(|&c| matches!(panel.roles[c], Role::Target | Role::Past))
            .map(|c| panel.names[c].clone())
            .collect();
        config.data.past.clear();
        // The calendar features the panel holds (what was trained on), in column order.
        let mut covariates = crate::covariates::Covariates {
            calendar: panel
                .columns_of(Role::Calendar)
                .iter()
                .filter_map(|&c| {
                    crate::covariates::CalendarFeature::ALL
                        .into_iter()
                        .find(|f| panel.names[c] == format!("cal_{}_sin", f.name()))
                })
                .collect(),
            ..Default::default()
        };
        covariates.record_statics(panel);
        if panel.time_name != "row" || config.data.time_col.is_some() {
            config.data.time_col = Some(panel.time_name.clone());
        }
        TrainedForecaster {
            config,
            transform: prep.transform,
            scaler: prep.scaler.clone(),
            norm,
            ets: prep.ets.clone(),
            members: Vec::new(),
            calibration: Default::default(),
            selection: None,
            network,
            names: panel.names.clone(),
            n_targets: panel.n_targets,
            roles: panel.roles.clone(),
            covariates,
            id_name: panel.id_name.clone(),
            ids: panel.ids.clone(),
            frequency: panel.frequency(),
            season,
            mase_scale: mase_scales(panel, &prep.split.series, season),
            trained_split: Some(prep.split.report.clone()),
            report,
        }
    }

    /// Calibrates the configured interval levels on `prep`'s validation rows (see
    /// [`intervals`]); empty when no level is configured.
    ///
    /// # Errors
    /// As [`TrainedForecaster::evaluate`].
    pub fn calibrate(&self, panel: &Panel, prep: &Prepared) -> Result<intervals::Calibration> {
        let levels = &self.config.intervals;
        if levels.is_empty() {
            return Ok(intervals::Calibration::default());
        }
        let hz = self.config.horizon;
        // Relative scores for a target whose training values are all positive.
        let relative: Vec<Vec<bool>> = (0..panel.n_series())
            .map(|s| {
                let train = prep.split.series[s].train.clone();
                (0..self.n_targets)
                    .map(|k| {
                        let y = &panel.series_column(s, k)[train.clone()];
                        !y.is_empty() && y.iter().all(|&v| v > 0.0)
                    })
                    .collect()
            })
            .collect();
        // A level whose two quantiles the model outputs corrects their band (conformalised
        // quantile regression); the others are intervals around the point forecast.
        let pairs = self.config.quantile_pairs();
        let cqr: Vec<Option<(usize, usize)>> = levels
            .iter()
            .map(|&l| pairs.iter().find(|p| p.0 == l).map(|&(_, lo, hi)| (lo, hi)))
            .collect();
        let empty = || vec![vec![vec![Vec::new(); hz]; self.n_targets]; panel.n_series()];
        let mut around = empty();
        let mut banded: Vec<Vec<Vec<Vec<Vec<f64>>>>> = cqr.iter().map(|_| empty()).collect();
        self.validation_errors(panel, prep, hz, &mut |s, k, h, p, y, q| {
            let unit = if relative[s][k] { p.abs() } else { 1.0 };
            if unit <= 0.0 || !unit.is_finite() {
                // A prediction of exactly 0 has no relative error: it calibrates nothing.
                return;
            }
            around[s][k][h].push((p - y).abs() / unit);
            for (i, pair) in cqr.iter().enumerate() {
                if let Some((lo, hi)) = *pair {
                    banded[i][s][k][h].push((q[lo] - y).max(y - q[hi]) / unit);
                }
            }
        })?;
        let per_level: Vec<&[Vec<Vec<Vec<f64>>>]> = cqr
            .iter()
            .zip(&banded)
            .map(|(pair, b)| match pair {
                Some(_) => &b[..],
                None => &around[..],
            })
            .collect();
        Ok(intervals::Calibration::fit_levels(
            levels,
            &panel.ids,
            &per_level,
            &self.mase_scale,
            &relative,
            cqr,
        ))
    }

    /// The saved MASE denominator of target `k` for the training series `id` (`None` for a
    /// series not trained on, or a training series without seasonal variation).
    pub fn training_mase_scale(&self, id: &str, k: usize) -> Option<f64> {
        let s = self.ids.iter().position(|i| i == id)?;
        self.mase_scale[s].get(k).copied().flatten()
    }

    /// The MASE denominators of the series `id` of `panel` for every target: the saved ones
    /// for a training series, else from the series' own training rows in `splits`.
    fn mase_for(&self, panel: &Panel, s: usize, splits: &Splits) -> Vec<Option<f64>> {
        match self.ids.iter().position(|i| *i == panel.ids[s]) {
            Some(k) => self.mase_scale[k].clone(),
            None => series_mase_scales(panel, s, &splits.train, self.season),
        }
    }
}

/// The engine works in f32: a scaled value beyond its range (about ±3.4e38) would become
/// infinite and poison training. Names the first such cell.
fn check_f32_range(scaled: &[f32], panel: &Panel) -> Result<()> {
    let f = panel.names.len();
    if let Some(i) = scaled.iter().position(|v| !v.is_finite()) {
        let (r, c) = (i / f, i % f);
        let s = panel.series_of_row(r);
        let place = match panel.id_name {
            None => format!("{} (row {})", panel.timestamps[r], r + 2),
            Some(_) => format!("{} of {}", panel.timestamps[r], panel.series_label(s)),
        };
        return Err(Error::config(
            format!("data: column '{}'", panel.names[c]),
            format!(
                "{:e} at {place} is beyond the f32 range the engine computes in once scaled; use --scaler standard or minmax, or rescale the column",
                panel.columns[c][r],
            ),
        ));
    }
    Ok(())
}

/// Windows treat consecutive rows as one step apart: irregular data is refused before any
/// training, with the first odd gap and what to do.
fn check_regular(panel: &Panel) -> Result<()> {
    if let crate::time::Spacing::Irregular { gap, typical, .. } = &panel.spacing {
        if panel.n_series() == 1 && panel.len() < 2 {
            return Ok(());
        }
        let step = typical.map_or_else(String::new, |f| format!(" (mostly {})", f.describe()));
        return Err(Error::config(
            "data",
            format!(
                "{}: the timestamps are irregular{step}: {gap}; windows need one step between rows: pass --fill-gaps linear, forward or zero to insert the missing timestamps (with --freq, e.g. --freq B for business days, when the step is not the usual one), or resample the data",
                panel.source.display()
            ),
        ));
    }
    Ok(())
}

/// The columns must come in role order (targets, past, then the known ones): windows and the
/// head take the known columns to be the last ones. The loader always orders them so; a panel
/// built by hand may not.
fn check_role_order(panel: &Panel) -> Result<()> {
    let rank = |r: &Role| match r {
        Role::Target => 0,
        Role::Past => 1,
        _ => 2,
    };
    let ok = panel.roles.len() == panel.names.len()
        && panel.roles[..panel.n_targets.min(panel.roles.len())]
            .iter()
            .all(|r| *r == Role::Target)
        && panel.roles.windows(2).all(|w| rank(&w[0]) <= rank(&w[1]));
    if ok {
        return Ok(());
    }
    Err(Error::config(
        "columns",
        format!(
            "{}: columns must come targets first, then past-only inputs, then future-known, static and calendar ones; got {}",
            panel.source.display(),
            panel
                .names
                .iter()
                .zip(&panel.roles)
                .map(|(n, r)| format!("{n} ({})", r.name()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ))
}

fn check_recursive(cfg: &ForecasterConfig, panel: &Panel) -> Result<()> {
    if cfg.strategy == Strategy::Recursive && cfg.training.outputs_per_target() > 1 {
        return Err(Error::config(
            "loss",
            "quantile outputs are direct forecasts of every step; a recursive roll would feed the median back and misstate later quantiles: use --strategy direct",
        ));
    }
    let past = panel.columns_of(Role::Past);
    if cfg.strategy == Strategy::Recursive && !past.is_empty() {
        return Err(Error::config(
            "strategy",
            format!(
                "recursive forecasting feeds predictions back as inputs, so every input must be a target or known in the future; these past-only inputs are not: {} (add them to --target, declare them --future-known, or drop them from --features)",
                past.iter().map(|&c| panel.names[c].as_str()).collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    Ok(())
}
