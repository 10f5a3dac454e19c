//! The model of each series of a panel (`--per-series choose`): the kept model or one of the
//! statistical forecasts (plain ETS, Theta, their mean), chosen by validation MASE.
//!
//! Every option is scored on each series' validation rows (every origin there, the steps that
//! stay inside them, as `auto` scores candidates). A series' score for an option is its own MASE
//! weighed against the option's mean over the panel: `w · own + (1 − w) · panel`, with
//! `w = origins / (origins + horizon)`, so that a series with few validation origins follows the
//! panel's ranking and one with many follows its own. The lowest wins; a tie keeps the kept
//! model. The statistical forecasts come from the ETS and Theta fitted on the training rows for
//! validation, refitted on the rows before the test for the test, and on every row for the
//! forecast past the data, as the statistical modes themselves are.

use super::evaluation::mean;
use super::{Prepared, TrainedForecaster};
use crate::config::{Combine, PerSeries};
use crate::data::Panel;
use crate::error::Result;
use crate::normalize::{Combination, EsFrame, Normalize, PerSeriesChoice, SeriesChoice};
use std::collections::HashMap;

/// The statistical forecast a network is averaged with (`--combine auto`) where no statistical
/// candidate was scored (a network mode asked for by name, a trial of `tune`).
pub(crate) const PARTNER: Normalize = Normalize::EtsTheta;

/// The statistical options a series may take instead of the kept model.
const STATISTICAL: [Normalize; 3] = [Normalize::EtsTheta, Normalize::Ets, Normalize::Theta];

/// Statistical option `mode`'s forecast from global origin `t` at 1-based step `h` of target
/// `k` in `frame`'s units: plain ETS, Theta, or their mean.
pub(super) fn statistical(
    frame: &EsFrame,
    mode: Normalize,
    t: usize,
    h: usize,
    k: usize,
) -> Option<f64> {
    match mode {
        Normalize::Ets => frame.forecast(t, h, k),
        Normalize::Theta => frame.theta_forecast(t, h, k),
        Normalize::EtsTheta => frame.ets_theta_forecast(t, h, k),
        _ => None,
    }
}

impl TrainedForecaster {
    /// The statistical forecast the kept network is averaged with, where it is.
    pub(super) fn combined_with(&self) -> Option<Normalize> {
        let c = self.selection.as_ref()?.combination.as_ref()?;
        c.kept.then_some(c.with)
    }

    /// What joins or replaces the model's prediction of series `id`: a statistical forecast and
    /// its weight (1: the series' own choice replaces it; ½: the combination's mean).
    pub(super) fn blend(
        &self,
        choices: &HashMap<&str, Normalize>,
        id: &str,
    ) -> Option<(Normalize, f64)> {
        match choices.get(id) {
            Some(&m) => Some((m, 1.0)),
            None => self.combined_with().map(|m| (m, 0.5)),
        }
    }

    /// `p`, the model's prediction from global origin `t` at 1-based step `h` of target `k`,
    /// moved toward the statistical forecast of `blend` (see [`TrainedForecaster::blend`]) in
    /// `frame` by its weight; `p` without a blend or where the statistics have no forecast.
    pub(super) fn blend_at(
        &self,
        blend: Option<(Normalize, f64)>,
        frame: &EsFrame,
        p: f64,
        (t, h, k): (usize, usize, usize),
    ) -> f64 {
        let Some((mode, weight)) = blend else {
            return p;
        };
        // Each forecast of a series positive before the origin is floored at zero before they
        // are averaged, as each is on its own: a network's forecast far below zero must not
        // drag the mean down (M1 quarterly, `--normalize ets-residual --combine auto`: sMAPE
        // 16.58 averaged then floored, 15.52 floored then averaged).
        let floor = |v: f64| {
            if frame.positive_before(t, k) {
                v.max(0.0)
            } else {
                v
            }
        };
        self.original(statistical(frame, mode, t, h, k))
            .map_or(p, |v| (1.0 - weight) * floor(p) + weight * floor(v))
    }

    /// The name of what forecasts series `id`: its own choice, the kept model, or the kept
    /// network and its partner (`lstm+ets-theta`).
    pub(super) fn series_model(&self, choices: &HashMap<&str, Normalize>, id: &str) -> String {
        match (choices.get(id), self.combined_with()) {
            (Some(m), _) => m.name().to_string(),
            (None, Some(c)) => format!("{}+{}", self.model_name(), c.name()),
            (None, None) => self.model_name().to_string(),
        }
    }

    /// Whether this network averaged with the statistical forecast `with` scores a lower
    /// validation MASE than the network alone and than `instead` (the validation MASE of the
    /// statistical candidate kept otherwise, where one beat every network); every score
    /// recorded. `None` for a statistical model, `--combine none`, a quantile model, or
    /// without the statistical fits.
    ///
    /// # Errors
    /// As [`TrainedForecaster::evaluate`].
    pub(crate) fn choose_combination(
        &self,
        panel: &Panel,
        prep: &Prepared,
        with: Normalize,
        instead: Option<f64>,
    ) -> Result<Option<Combination>> {
        if !self.norm.mode.trains()
            || self.config.combine == Combine::None
            || prep.stats.is_none()
            || self.config.training.outputs_per_target() > 1
        {
            return Ok(None);
        }
        let alone = self.validation_mase(panel, prep)?.0;
        let mut mean = self.clone();
        let Some(sel) = mean.selection.as_mut() else {
            return Ok(None);
        };
        let record = Combination {
            with,
            network: Some(self.norm.mode),
            alone,
            instead,
            combined: None,
            kept: true,
        };
        sel.combination = Some(record.clone());
        let combined = mean.validation_mase(panel, prep)?.0;
        let best_single = match (alone, instead) {
            (Some(a), Some(i)) => Some(a.min(i)),
            (a, i) => a.or(i),
        };
        Ok(Some(Combination {
            combined,
            kept: matches!((best_single, combined), (Some(b), Some(c)) if c < b),
            ..record
        }))
    }

    /// The series that do not use the kept model, with the statistical option they use.
    pub(super) fn series_choices(&self) -> HashMap<&str, Normalize> {
        let Some(p) = self.selection.as_ref().and_then(|s| s.per_series.as_ref()) else {
            return HashMap::new();
        };
        p.series
            .iter()
            .filter(|c| c.chosen != self.norm.mode && STATISTICAL.contains(&c.chosen))
            .map(|c| (c.id.as_str(), c.chosen))
            .collect()
    }

    /// Chooses the model of each series of `panel` on `prep`'s validation rows (see the module);
    /// `None` for one series, with `--per-series none`, without the statistical fits (a
    /// normalisation that does not consider them), for a quantile model, or without validation
    /// scores.
    ///
    /// # Errors
    /// As [`TrainedForecaster::evaluate`].
    pub(crate) fn choose_per_series(
        &self,
        panel: &Panel,
        prep: &Prepared,
    ) -> Result<Option<PerSeriesChoice>> {
        // A quantile model's bands come from its own outputs, which a statistical forecast has
        // not: it keeps one model.
        if panel.n_series() < 2
            || self.config.per_series == PerSeries::None
            || prep.stats.is_none()
            || self.config.training.outputs_per_target() > 1
        {
            return Ok(None);
        }
        let frame = prep.frame_for(Normalize::Ets);
        let options: Vec<Normalize> = std::iter::once(self.norm.mode)
            .chain(STATISTICAL.into_iter().filter(|&m| m != self.norm.mode))
            .collect();
        let n = panel.n_series();
        // Per series, per option: the sum of scaled errors and their count; and its origins.
        let mut sums = vec![vec![(0.0f64, 0usize); options.len()]; n];
        let mut origins = vec![std::collections::BTreeSet::new(); n];
        let hz = self.config.model_horizon();
        self.validation_errors(panel, prep, hz, &mut |s, k, t, h, p, y, _| {
            let Some(q) = self.mase_scale[s][k].filter(|&q| q > 0.0) else {
                return;
            };
            origins[s].insert(t);
            let values = std::iter::once(Some(p)).chain(
                options[1..]
                    .iter()
                    .map(|&m| self.original(statistical(frame, m, t, h + 1, k))),
            );
            for (slot, v) in sums[s].iter_mut().zip(values) {
                if let Some(v) = v {
                    slot.0 += (v - y).abs() / q;
                    slot.1 += 1;
                }
            }
        })?;
        let own: Vec<Vec<Option<f64>>> = sums
            .iter()
            .map(|o| {
                o.iter()
                    .map(|&(sum, c)| (c > 0).then(|| sum / c as f64))
                    .collect()
            })
            .collect();
        let panel_mean: Vec<Option<f64>> = (0..options.len())
            .map(|i| mean(&own.iter().filter_map(|o| o[i]).collect::<Vec<f64>>()))
            .collect();
        if panel_mean[0].is_none() {
            return Ok(None);
        }
        let series = (0..n)
            .filter(|&s| !origins[s].is_empty())
            .map(|s| {
                let o = origins[s].len();
                let w = o as f64 / (o + hz) as f64;
                let shrunk = |i: usize| -> Option<f64> {
                    let (mine, all) = (own[s][i]?, panel_mean[i]?);
                    Some(w * mine + (1.0 - w) * all)
                };
                let mut best = 0;
                for i in 1..options.len() {
                    if let (Some(v), Some(b)) = (shrunk(i), shrunk(best)) {
                        if v < b {
                            best = i;
                        }
                    }
                }
                SeriesChoice {
                    id: panel.ids[s].clone(),
                    chosen: options[best],
                    origins: o,
                    weight: w,
                    scores: own[s].clone(),
                }
            })
            .collect();
        Ok(Some(PerSeriesChoice {
            options,
            panel: panel_mean,
            series,
        }))
    }
}
