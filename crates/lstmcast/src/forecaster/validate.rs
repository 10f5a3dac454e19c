//! Scores on the validation part: what `auto` selects by, what intervals are calibrated on, and
//! what `tune` ranks trials by. The test part is never read here.

use super::infer::{nested, Intervals, ValidationError, CHUNK};
use super::intervals::level_factor;
use super::TrainedForecaster;
use crate::data::Panel;
use crate::engine::Workspace;
use crate::error::Result;
use crate::normalize::EsFrame;
use crate::split::Part;
use crate::train;
use crate::window::WindowIndex;

impl TrainedForecaster {
    /// Predicts `horizon` steps from every origin in each series' validation rows (series with
    /// validation windows) and hands `f(series, target, global origin, step index, predicted,
    /// actual, quantiles)` every step that stays inside the validation rows, in original units,
    /// in (origin, target, step) order (`quantiles` empty without quantile outputs). A series
    /// whose model is a statistical forecast, or a network averaged with one (see
    /// [`super::choice`]), is predicted by it.
    /// Returns the number of origins.
    ///
    /// # Errors
    /// As [`TrainedForecaster::evaluate`].
    pub(crate) fn validation_errors(
        &self,
        panel: &Panel,
        prep: &super::Prepared,
        horizon: usize,
        f: &mut ValidationError,
    ) -> Result<usize> {
        let (l, nt) = (self.config.lookback, self.n_targets);
        let mut origins: Vec<(usize, usize, usize)> = Vec::new(); // (series, global origin, steps)
        for (s, sp) in prep.split.series.iter().enumerate() {
            if prep.index[1].segments().iter().all(|g| g.series != s) {
                continue;
            }
            let base = panel.offsets[s];
            for t in sp.val.start.max(l)..sp.val.end {
                origins.push((s, base + t, horizon.min(sp.val.end - t)));
            }
        }
        let (pred, qs) = self.predict_paths_q(
            &prep.scaled,
            Some(prep.frame_for(self.norm.mode)),
            &|j| (origins[j].1, origins[j].2),
            origins.len(),
            horizon,
        )?;
        let nq = if qs.is_empty() {
            0
        } else {
            self.config.training.outputs_per_target()
        };
        let mut q = vec![0f64; nq];
        let choices = self.series_choices();
        let stats = prep.frame_for(crate::normalize::Normalize::Ets);
        for (j, &(s, t, steps)) in origins.iter().enumerate() {
            let blend = self.blend(&choices, &panel.ids[s]);
            let maps = self.scaler.for_series(&panel.ids[s]).unwrap_or_default();
            for (k, map) in maps.iter().enumerate().take(nt) {
                let y = &panel.columns[k];
                for h in 0..steps {
                    let i = (j * horizon + h) * nt + k;
                    let p = self.transform.inverse(map.inverse(pred[i] as f64));
                    let p = self.blend_at(blend, stats, p, (t, h + 1, k));
                    if nq > 0 {
                        for (v, &z) in q.iter_mut().zip(&qs[i * nq..(i + 1) * nq]) {
                            *v = self.transform.inverse(map.inverse(z as f64));
                        }
                    }
                    f(s, k, t, h, p, y[t + h], &q);
                }
            }
        }
        Ok(origins.len())
    }

    /// Validation MASE of the current weights, from every origin in each series' validation
    /// rows (not only those whose whole horizon fits there: steps past the validation rows are
    /// left out, never scored on test rows), scaled per series by its training rows and
    /// averaged across series, in original units. Returns the score (`None` when no series has
    /// a MASE scale) and the number of origins.
    ///
    /// # Errors
    /// As [`TrainedForecaster::evaluate`].
    pub fn validation_mase(
        &self,
        panel: &Panel,
        prep: &super::Prepared,
    ) -> Result<(Option<f64>, usize)> {
        let mut per_series: Vec<(f64, usize)> = vec![(0.0, 0); panel.n_series()];
        let n_origins = self.validation_errors(
            panel,
            prep,
            self.config.model_horizon(),
            &mut |s, k, _t, _h, p, y, _| {
                if let Some(q) = self.mase_scale[s][k] {
                    per_series[s].0 += (p - y).abs() / q;
                    per_series[s].1 += 1;
                }
            },
        )?;
        let scored: Vec<f64> = per_series
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(sum, n)| sum / *n as f64)
            .collect();
        let score = (!scored.is_empty()).then(|| scored.iter().sum::<f64>() / scored.len() as f64);
        Ok((score.filter(|v| v.is_finite()), n_origins))
    }

    /// The adaptive intervals' spread window and coverage rate (see
    /// [`super::intervals::Tracker`]).
    pub(super) fn adaptation(&self) -> (usize, f64) {
        (self.config.intervals_window, self.config.intervals_rate)
    }

    /// Whether the bands adapt to the errors after the validation rows.
    pub(super) fn adapts(&self) -> bool {
        super::intervals::adapts(self.adaptation())
    }

    /// The calibrated intervals (one per level) around `predicted`, target `k`, 1-based `step`,
    /// series `id`, each level's half-width multiplied by its factor in `factors` (see
    /// [`super::intervals::Tracker`], [`super::intervals::level_factor`]; 1 as calibrated);
    /// empty without calibration or for a series or step it does not cover.
    pub fn interval_around(
        &self,
        id: &str,
        (k, step): (usize, usize),
        predicted: f64,
        quantiles: &[f64],
        factors: &[f64],
    ) -> Intervals {
        let c = &self.calibration;
        match (c.bands(id, k, step), c.series(id)) {
            (Some(bands), Some(s)) => nested(
                &c.levels,
                bands
                    .iter()
                    .enumerate()
                    .map(|(i, b)| {
                        b.half.map(|w| {
                            let w = w * level_factor(factors, i);
                            c.interval((s, k, i), w, predicted, quantiles)
                        })
                    })
                    .collect(),
                predicted,
            ),
            _ => vec![None; c.levels.len()],
        }
    }

    /// Quantile `i`'s values of a prediction `[…][quantile]` at flat position `at`, in original
    /// units for target `k` of a series with scalers `maps` (empty without quantile outputs).
    pub(super) fn quantiles_at(
        &self,
        qs: &[f32],
        at: usize,
        k: usize,
        maps: &[crate::scale::ColumnScaler],
    ) -> Vec<f64> {
        let nq = self.config.training.outputs_per_target();
        if qs.is_empty() {
            return Vec::new();
        }
        qs[at * nq..(at + 1) * nq]
            .iter()
            .map(|&z| self.transform.inverse(maps[k].inverse(z as f64)))
            .collect()
    }

    /// The validation interval score of a quantile model's raw quantile bands: for every
    /// configured level whose two quantiles the model outputs, per series the mean of `(hi − lo)
    /// + 2/α·(lo − y)⁺ + 2/α·(y − hi)⁺` over every validation prediction (as
    /// [`TrainedForecaster::validation_mase`] predicts them) divided by its MASE scale, averaged
    /// over series and levels (MSIS). `None` without such a level.
    ///
    /// # Errors
    /// As [`TrainedForecaster::evaluate`].
    pub fn validation_msis(&self, panel: &Panel, prep: &super::Prepared) -> Result<Option<f64>> {
        let pairs = self.config.quantile_pairs();
        if pairs.is_empty() {
            return Ok(None);
        }
        let mut per: Vec<Vec<(f64, usize)>> = vec![vec![(0.0, 0); panel.n_series()]; pairs.len()];
        self.validation_errors(
            panel,
            prep,
            self.config.model_horizon(),
            &mut |s, k, _t, _h, _p, y, q| {
                let Some(scale) = self.mase_scale[s][k] else {
                    return;
                };
                for (i, &(level, lo, hi)) in pairs.iter().enumerate() {
                    let alpha = 1.0 - level / 100.0;
                    let (a, b) = (q[lo], q[hi]);
                    let w =
                        (b - a) + 2.0 / alpha * (a - y).max(0.0) + 2.0 / alpha * (y - b).max(0.0);
                    per[i][s].0 += w / scale;
                    per[i][s].1 += 1;
                }
            },
        )?;
        let scores: Vec<f64> = per
            .iter()
            .flat_map(|l| l.iter().filter(|(_, n)| *n > 0).map(|(s, n)| s / *n as f64))
            .collect();
        Ok((!scores.is_empty())
            .then(|| scores.iter().sum::<f64>() / scores.len() as f64)
            .filter(|v| v.is_finite()))
    }

    /// Validation loss of the current weights on `panel`'s validation part, in the network's
    /// own (normalised) units: the number early stopping watched.
    ///
    /// # Errors
    /// As [`TrainedForecaster::evaluate`].
    pub fn validation_loss(&self, panel: &Panel) -> Result<f64> {
        let panel = &self.covariates.complete(panel, &self.names, &self.roles)?;
        self.check_columns(panel)?;
        let prep = super::Prepared::new_on(&self.config, panel, self.config.training.threads)?;
        let w = prep.windows(&self.config, &self.norm, Part::Val);
        Ok(train::mean_loss(
            &self.network,
            &mut Workspace::new(&self.network),
            &w,
            CHUNK,
            self.config
                .training
                .loss
                .unwrap_or(self.norm.mode.default_loss()),
            &self.config.training.taus(),
        ))
    }

    /// Mean squared error over the windows of `index` at the model's horizon, in globally scaled
    /// units whatever the normalisation (so that candidates and trials compare): `scaled` is the
    /// panel through the saved scalers.
    ///
    /// # Errors
    /// As [`TrainedForecaster::evaluate`]; an empty index gives NaN.
    pub fn level_mse(
        &self,
        scaled: &[f32],
        es: Option<&EsFrame>,
        index: &WindowIndex,
    ) -> Result<f64> {
        let (f, nt) = (self.names.len(), self.n_targets);
        let mh = self.config.model_horizon();
        let n = index.len();
        let pred = self.predict_paths(scaled, es, &|j| (index.origin(j), mh), n, mh)?;
        let mut sum = 0f64;
        for w in 0..n {
            let t = index.origin(w);
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
