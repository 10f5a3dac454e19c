//! Fitting: [`ForecasterConfig::fit`] and its controlled form [`ForecasterConfig::fit_with`]
//! (progress, interrupt, checkpoint and resume), which trains the candidates, keeps the best on
//! validation and assembles the [`TrainedForecaster`].

use super::{candidates, mase_scales, refit, season_of, Prepared, TrainedForecaster};
use crate::config::ForecasterConfig;
use crate::config::Validated;
use crate::data::{Panel, Role};
use crate::engine::Network;
use crate::error::{Error, Result};
use crate::normalize::{CandidateScore, Normalize, Selection, WindowNorm};
use crate::split::PanelSplit;
use crate::train::{EpochRecord, TrainReport, TrainState};
use crate::transform::Transform;
use std::sync::atomic::AtomicBool;

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

/// Fitting from a configuration not checked yet: each checks it once
/// ([`ForecasterConfig::validated`]) and fits as [`Validated`] does.
impl ForecasterConfig {
    /// Checks the configuration, then [`Validated::fit`].
    ///
    /// # Errors
    /// An invalid configuration, or as [`Validated::fit`].
    pub fn fit(
        &self,
        panel: &Panel,
        on_epoch: &mut dyn FnMut(&FitProgress),
    ) -> Result<TrainedForecaster> {
        self.validated()?.fit(panel, on_epoch)
    }

    /// Checks the configuration, then [`Validated::fit_on`].
    ///
    /// # Errors
    /// An invalid configuration, or as [`Validated::fit`].
    pub fn fit_on(
        &self,
        panel: &Panel,
        split: PanelSplit,
        on_epoch: &mut dyn FnMut(&FitProgress),
    ) -> Result<TrainedForecaster> {
        self.validated()?.fit_on(panel, split, on_epoch)
    }

    /// Checks the configuration, then [`Validated::fit_with`].
    ///
    /// # Errors
    /// An invalid configuration, or as [`Validated::fit_with`].
    pub fn fit_with(
        &self,
        panel: &Panel,
        split: PanelSplit,
        ctl: FitControl,
    ) -> Result<FitOutcome> {
        self.validated()?.fit_with(panel, split, ctl)
    }
}

impl Validated {
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
            FitOutcome::Interrupted(_) => Err(Error::Interrupted("fit".into())),
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
            let c = self.with_transform(t);
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
            return Err(Error::ResumeMismatch {
                field: "resume".into(),
                reason:
                    "the checkpoint does not match this configuration's normalisation candidates"
                        .into(),
            });
        }
        // Each model's batches get the cores its concurrent trainings leave (results do not
        // depend on it): never more busy threads than `threads`.
        let sharing = |concurrent: usize| {
            let mut c = ForecasterConfig::clone(self);
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
        let by_mase = CandidateScore::ranked_by_mase(ck.done.iter().map(|d| &d.score));
        let key = |d: &DoneCandidate| d.score.rank_score(by_mase).unwrap_or(f64::NAN);
        let mut best: Option<usize> = None;
        for (i, d) in ck.done.iter().enumerate() {
            let v = key(d);
            if best.map_or(!v.is_nan(), |b| v < key(&ck.done[b])) {
                best = Some(i);
            }
        }
        let Some(mut b) = best else {
            return Err(Error::NoUsableCandidate);
        };
        // `--combine auto`: the best network candidate averaged with the best statistical one
        // (`ets-theta` where none was scored) competes with the kept candidate on validation
        // MASE. Nothing is trained for it: both were trained and scored already.
        let best_of = |keep: fn(Normalize) -> bool| {
            (0..cands.len())
                .filter(|&i| keep(cands[i].mode) && !key(&ck.done[i]).is_nan())
                .min_by(|&i, &j| key(&ck.done[i]).total_cmp(&key(&ck.done[j])))
        };
        let mut combination = None;
        if self.combine == crate::config::Combine::Auto && by_mase {
            if let Some(n) = best_of(Normalize::trains) {
                let with =
                    best_of(Normalize::is_statistical).map_or(super::PARTNER, |i| cands[i].mode);
                let instead = (n != b).then(|| key(&ck.done[b]));
                let mut net = self.candidate_model(&cands[n], &ck.done[n])?;
                net.config.training.threads = threads.max(1);
                net.selection =
                    Some(net.selection_record(self.normalize, Vec::new(), Vec::new(), None));
                combination =
                    net.choose_combination(cands[n].panel, cands[n].prep, with, instead)?;
                if combination.as_ref().is_some_and(|c| c.kept) {
                    b = n;
                }
            }
        }
        let d = &ck.done[b];
        let chosen = cands[b];
        let (mode, prep) = (chosen.mode, chosen.prep);
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
        let spec = prep.network_spec(self);
        let mut model = self.candidate_model(&chosen, d)?;
        // Scoring and calibrating the chosen model predicts on every core (results do not
        // depend on it).
        model.config.training.threads = threads.max(1);
        let mut member_scores = Vec::with_capacity(members.len());
        // A member that diverged before its first epoch holds untrained weights: it is recorded
        // but left out of the median.
        let mut kept = Vec::new();
        for (k, m) in members.into_iter().enumerate() {
            if m.report.best_epoch == 0 {
                member_scores.push(m.score);
                continue;
            }
            let mut net = Network::zeros(spec.clone())?;
            net.set_params(&m.params)?;
            model.members.push(net);
            kept.push((self.seed.wrapping_add(k as u64 + 1), m.report.best_epoch));
            member_scores.push(m.score);
        }
        let ensemble_val_mase = if model.members.is_empty() {
            None
        } else {
            model.validation_mase(panel, prep)?.0
        };
        debug_assert_eq!(model.norm.mode, mode);
        model.selection = Some(model.selection_record(
            self.normalize,
            ck.done.iter().map(|d| d.score.clone()).collect(),
            member_scores,
            ensemble_val_mase,
        ));
        // The combination decided above, the model of each series of a panel, then intervals
        // calibrated on what forecasts each series.
        if let Some(sel) = model.selection.as_mut() {
            sel.combination = combination;
        }
        let per_series = model.choose_per_series(panel, prep)?;
        if let Some(sel) = model.selection.as_mut() {
            sel.per_series = per_series;
        }
        model.calibration = model.calibrate(panel, prep)?;
        // The networks to train again on more rows: the main one, then the members kept, each
        // for its own best epoch count.
        let nets: Vec<refit::Net> = std::iter::once(refit::Net {
            seed: self.seed,
            epochs: d.report.best_epoch,
        })
        .chain(
            kept.iter()
                .map(|&(seed, epochs)| refit::Net { seed, epochs }),
        )
        .collect();
        let chosen = refit::Chosen { panel, prep, mode };
        match refit::apply(self, chosen, model, &nets, threads, interrupt)? {
            Some(model) => Ok(FitOutcome::Done(Box::new(model))),
            None => Ok(FitOutcome::Interrupted(Box::new(ck))),
        }
    }
}

impl ForecasterConfig {
    /// The forecaster of trained candidate `cand` with its best weights `done`.
    fn candidate_model(
        &self,
        cand: &candidates::Cand,
        done: &DoneCandidate,
    ) -> Result<TrainedForecaster> {
        let norm = cand.prep.window_norm(cand.mode, cand.train_rows)?;
        let mut network = Network::zeros(cand.prep.network_spec(self))?;
        network.set_params(&done.params)?;
        Ok(TrainedForecaster::from_parts(
            self,
            cand.panel,
            cand.prep,
            norm,
            network,
            done.report.clone(),
        ))
    }
}

impl TrainedForecaster {
    /// This model's validation scores as a candidate (of `fit`'s selection or `tune`'s trial):
    /// its normalisation, transform, calendar and training facts with the scores given.
    pub(crate) fn candidate_score(
        &self,
        loss: crate::engine::Loss,
        val_mse: Option<f64>,
        (val_mase, val_origins): (Option<f64>, usize),
    ) -> CandidateScore {
        CandidateScore {
            mode: self.norm.mode,
            transform: self.transform.kind,
            val_mse,
            val_mase,
            val_origins,
            loss,
            epochs: self.report.history.len(),
            best_epoch: self.report.best_epoch,
            calendar: self.covariates.calendar.clone(),
        }
    }

    /// The selection record of this model, the one chosen among `candidates` (`requested`: the
    /// normalisation asked for): what `metrics.json` and the report show.
    pub(crate) fn selection_record(
        &self,
        requested: Normalize,
        candidates: Vec<CandidateScore>,
        members: Vec<CandidateScore>,
        ensemble_val_mase: Option<f64>,
    ) -> Selection {
        Selection {
            requested,
            chosen: self.norm.mode,
            chosen_transform: self.transform.kind,
            chosen_calendar: self.covariates.calendar.clone(),
            candidates,
            members,
            ensemble_val_mase,
            per_series: None,
            combination: None,
        }
    }

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
            refit: None,
            latest: None,
            interval_factors: None,
        }
    }
}
