//! One trial: a configuration prepared, trained rung by rung on the candidate path `fit` uses
//! (the same initialisation and validation scores), and scored on validation only.

use super::*;
use crate::config::ForecasterConfig;
use crate::data::Panel;
use crate::engine::Network;
use crate::error::Result;
use crate::forecaster::{candidate_loss, initial_network, validation_scores};
use crate::forecaster::{Prepared, TrainedForecaster};
use crate::normalize::WindowNorm;
use crate::split::Part;
use crate::train::TrainState;
use serde::{Deserialize, Serialize};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

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

/// A trial between rungs.
pub(super) struct Trial {
    pub(super) cfg: ForecasterConfig,
    /// The data with this trial's calendar features.
    pub(super) panel: Panel,
    pub(super) prep: Prepared,
    pub(super) norm: WindowNorm,
    pub(super) network: Network,
    pub(super) state: TrainState,
    pub(super) result: TrialResult,
}

impl Trial {
    /// Prepares trial `index` on up to `threads` threads (the result does not depend on them).
    pub(super) fn start(
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
        cfg.training.loss = Some(candidate_loss(&cfg, params.normalize));
        let built = (|| -> Result<_> {
            pin_calendar(&mut cfg, ts)?;
            let panel = cfg.with_covariates(ts, &cfg.split.resolve(ts)?)?;
            let prep = Prepared::new_on(&cfg, &panel, threads)?;
            prep.check_mode(&cfg, params.normalize)?;
            let norm = prep.window_norm(params.normalize, &prep.train_rows(&panel))?;
            let network = initial_network(&cfg, &prep, params.normalize)?;
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
    pub(super) fn advance(&mut self, rung: usize, epochs: usize, interrupt: Option<&AtomicBool>) {
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
                    let (mse, (mase, _)) = validation_scores(&m, ts, &self.prep)?;
                    Ok((mse, mase, m.validation_msis(ts, &self.prep)?))
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

    /// The trained forecaster of a finished trial: its best weights, refitted on more rows as
    /// the configuration asks (on up to `threads` threads), as `fit` would give them.
    pub(super) fn into_model(
        self,
        threads: usize,
        interrupt: Option<&AtomicBool>,
    ) -> Result<TrainedForecaster> {
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
        let score =
            model.candidate_score(cfg.training.loss(), result.val_mse, (result.val_mase, 0));
        let selection = model.selection_record(mode, vec![score], Vec::new(), None);
        model.selection = Some(selection);
        let combination = model.choose_combination(ts, &prep, crate::forecaster::PARTNER, None)?;
        let per_series = model.choose_per_series(ts, &prep)?;
        if let Some(sel) = model.selection.as_mut() {
            sel.combination = combination;
            sel.per_series = per_series;
        }
        model.calibration = model.calibrate(ts, &prep)?;
        let net = crate::forecaster::refit::Net {
            seed: cfg.seed,
            epochs: model.report.best_epoch,
        };
        let chosen = crate::forecaster::refit::Chosen {
            panel: ts,
            prep: &prep,
            mode,
        };
        model.config.training.threads = threads.max(1);
        match crate::forecaster::refit::apply(
            &cfg.validated()?,
            chosen,
            model,
            &[net],
            threads,
            interrupt,
        )? {
            Some(m) => Ok(m),
            None => Err(crate::error::Error::Interrupted("tune".into())),
        }
    }

    pub(super) fn finished(&self) -> bool {
        self.state.finished || self.result.error.is_some()
    }
}
