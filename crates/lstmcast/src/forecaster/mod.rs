//! [`ForecasterConfig::fit`] turns a configuration and a panel (one series or many) into a
//! [`TrainedForecaster`], which alone can evaluate and forecast: predicting before training does
//! not compile. One global model learns from the windows of every series.
//!
//! Order of operations (the no-leakage rule): split first (by calendar, common to all series),
//! fit the scalers on training rows only, then build one window index over the one scaled matrix.

mod candidates;
mod choice;
mod evaluate;
mod evaluation;
mod fit;
mod forecast;
mod infer;
pub mod intervals;
mod prepare;
pub mod refit;
mod validate;

pub(crate) use candidates::{candidate_loss, initial_network, validation_scores};
pub(crate) use choice::PARTNER;
pub use evaluation::{
    Evaluation, IntervalScore, PanelScores, PanelTarget, PredictionRow, QuantileScore, Scores,
    SeriesMase, Trio,
};
pub use fit::{CheckpointFn, DoneCandidate, FitCheckpoint, FitControl, FitOutcome, FitProgress};
pub use forecast::{Forecast, SeriesForecast};
pub use prepare::Prepared;

use crate::config::ForecasterConfig;
use crate::data::Panel;
use crate::engine::Network;
use crate::error::{Error, Result};
use crate::metrics::mase_scale;
use crate::normalize::{EtsBank, Selection, WindowNorm};
use crate::scale::Scaler;
use crate::split::{rows_needed, too_short, Part, Skipped, Splits};
use crate::time::Frequency;
use crate::train::TrainReport;
use crate::transform::FittedTransform;
use crate::window::{Segment, WindowIndex};
use std::ops::Range;

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
    /// What training did (the validation model's run, whose epochs the refit repeats).
    pub report: TrainReport,
    /// What the refit did and which rows each model of the run saw; `None` for a model that
    /// was not refitted (saved before refits existed, or built by hand).
    pub refit: Option<refit::RefitRecord>,
    /// The model trained on every row (`--refit all`): it forecasts past the data, while this
    /// one (trained on the rows before the test) scores the test.
    pub latest: Option<Box<TrainedForecaster>>,
    /// The adaptive interval factors of the run's evaluation, with the data they came from
    /// (`None` until a run folder is written).
    pub interval_factors: Option<intervals::StoredFactors>,
}

/// The seasonal period: the configured one, else the data's frequency's usual one.
pub(crate) fn season_of(cfg: &ForecasterConfig, panel: &Panel) -> usize {
    cfg.season
        .unwrap_or_else(|| panel.frequency().map(|f| f.default_season()).unwrap_or(1))
}

/// Why each series of `panel` is left out of the network's windows (`None`: it takes part): no
/// scaler (no training rows of its own to fit one on), or, where `ets` is given, no ETS fitted
/// on its training rows (too few of them; with `ets.1`, also a series the bank never saw: a
/// network of an ES mode normalises its windows by those states). A series left out is
/// forecast by the stand-in.
pub(crate) fn left_out(
    panel: &Panel,
    unscaled: &[bool],
    ets: Option<(&EtsBank, bool)>,
) -> Vec<Option<String>> {
    (0..panel.n_series())
        .map(|s| {
            if unscaled[s] {
                return Some("no scaler: no training rows of its own to fit one on".to_string());
            }
            let (bank, unseen_too) = ets?;
            let id = &panel.ids[s];
            if !bank.knows(id) {
                return unseen_too.then(|| {
                    "not among the training series, so no ETS on its training rows, which the \
                     exponential-smoothing normalisation needs"
                        .to_string()
                });
            }
            let missing = (0..panel.n_targets).find(|&k| bank.get(id, k).is_none())?;
            Some(format!(
                "no ETS on its training rows for target {} (too few of them)",
                panel.names[missing]
            ))
        })
        .collect()
}

impl TrainedForecaster {
    /// [`left_out`] under the rule of the normalisation this model was asked for (see
    /// [`Normalize::leaves_out_series_without_ets`]; its own mode for a model that did not
    /// record the request).
    pub(crate) fn left_out(&self, panel: &Panel, unscaled: &[bool]) -> Vec<Option<String>> {
        let asked = self
            .selection
            .as_ref()
            .map_or(self.norm.mode, |s| s.requested);
        let es_network = self.norm.mode.is_es_network();
        let rule = asked.leaves_out_series_without_ets() || es_network;
        left_out(panel, unscaled, rule.then_some((&self.ets, es_network)))
    }
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
    left_out: &[Option<String>],
) -> Result<(WindowIndex, Vec<Skipped>)> {
    let mut segments = Vec::new();
    let mut skipped = Vec::new();
    let needed = rows_needed(part, lookback, horizon);
    for (s, sp) in splits.iter().enumerate() {
        let rows = sp.part(part);
        let o = Splits::origins(rows, lookback, horizon);
        if o.is_empty() || left_out[s].is_some() {
            let why = if let Some(why) = &left_out[s] {
                why.clone()
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

impl ForecasterConfig {}

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
