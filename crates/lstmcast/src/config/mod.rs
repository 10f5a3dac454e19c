//! The forecaster's configuration: inert data with documented defaults, read from TOML, validated
//! before anything is fitted. `lstmcast train --config DIR/config.toml` reproduces a run.

use crate::data::LoadOptions;
use crate::engine::NetworkSpec;
use crate::error::{Error, Result};
use crate::normalize::Normalize;
use crate::scale::{ScalerKind, ScalerScope};
use crate::split::SplitSpec;
use crate::train::TrainOptions;
use crate::transform::Transform;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub mod options;
pub mod search;

pub use search::{Select, TuneSpace};

/// How multi-step forecasts are produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// One model with `horizon × targets` outputs (the default).
    #[default]
    Direct,
    /// A one-step model rolled forward `horizon` times, feeding its own predictions back; needs
    /// every input column to be a target.
    Recursive,
}

option_names!(Strategy, "strategy", {
    Direct => "direct",
    Recursive => "recursive",
});

/// Which rows the model that scores the test and the model that forecasts past the data are
/// trained on, once validation has chosen the candidate and its epoch count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Refit {
    /// One model, trained on the training rows, scores the test and forecasts (the default:
    /// measured, the refits did not pay on the benchmarks; docs/models.md, "Refit").
    #[default]
    None,
    /// The chosen configuration is trained again on the training and validation rows for the
    /// chosen epoch count; that model scores the test and forecasts.
    Val,
    /// As `val` for the test; the forecast past the data comes from a third training on every
    /// row.
    All,
}

option_names!(Refit, "refit", {
    None => "none",
    Val => "val",
    All => "all",
});

/// Whether `auto` chooses a model per series of a panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PerSeries {
    /// One model for every series (the default: measured, the choice did not pay on the
    /// benchmarks; docs/models.md, "Per series").
    #[default]
    None,
    /// Per series, the kept model or a statistical forecast (plain ETS, Theta, their mean),
    /// whichever scores best on the series' validation rows shrunk toward the panel's ranking.
    Choose,
}

option_names!(PerSeries, "per_series", {
    None => "none",
    Choose => "choose",
});

/// Whether the best network may be averaged with the best statistical forecast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Combine {
    /// The network alone (the default: measured, the combination did not pay on the
    /// benchmarks; docs/models.md, "Combination").
    #[default]
    None,
    /// The mean of the best network candidate and the best statistical one (`ets-theta` where
    /// none was scored) where it scores lower on validation than each alone and than what
    /// `auto` kept.
    Auto,
}

option_names!(Combine, "combine", {
    None => "none",
    Auto => "auto",
});

/// Writes an `f32` as the shortest decimal that reads back to it (`0.1`, not
/// `0.10000000149011612` as its `f64` widening would print).
pub fn short_f32<S: serde::Serializer>(v: &f32, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_f64(v.to_string().parse::<f64>().unwrap_or(*v as f64))
}

/// The network's shape beyond what the data fixes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// Units per stacked LSTM layer, bottom first (default `[50]`).
    pub layers: Vec<usize>,
    /// Input dropout of each LSTM layer, in [0, 1) (default 0).
    #[serde(serialize_with = "short_f32")]
    pub dropout: f32,
    /// Variational recurrent dropout, in [0, 1) (default 0).
    #[serde(serialize_with = "short_f32")]
    pub recurrent_dropout: f32,
    /// Networks trained from seeds `seed, seed + 1, …` once the normalisation is chosen, their
    /// outputs combined by the median (default 1: one network).
    #[serde(default = "one")]
    pub ensemble: usize,
}

fn one() -> usize {
    1
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            layers: vec![50],
            dropout: 0.0,
            recurrent_dropout: 0.0,
            ensemble: 1,
        }
    }
}

/// Everything that defines a forecaster, from the CSV columns to the seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ForecasterConfig {
    /// Time steps of history per window (default 24).
    pub lookback: usize,
    /// Steps ahead to forecast (default 1).
    pub horizon: usize,
    /// Direct or recursive multi-step forecasting (default direct).
    pub strategy: Strategy,
    /// Target transform before scaling: auto (default: on one series, none and log compete where
    /// every target value is positive), none, log or Box-Cox (lambda fitted on the training
    /// rows, or fixed).
    pub transform: Transform,
    /// Scaling fitted on the training rows (default standard).
    pub scaler: ScalerKind,
    /// One scaler per series, fitted on its own training rows (default), or one shared by all.
    pub scaler_scope: ScalerScope,
    /// Per-window normalisation on top of the scaler (default auto: the best on validation of
    /// plain ETS and the networks around it, and on panels also of window and diff).
    pub normalize: Normalize,
    /// Seasonal period for the seasonal-naive baseline and MASE; default from the frequency
    /// (24 hourly, 48 half-hourly, 7 daily, 52 weekly, 12 monthly, 4 quarterly, else 1).
    pub season: Option<usize>,
    /// The one seed of every random source (default 42).
    pub seed: u64,
    /// Calendar features generated from the timestamps as future-known inputs (default auto:
    /// what the frequency makes meaningful; `none`; or a list such as `hour,weekday`).
    pub calendar: crate::covariates::Calendar,
    /// After validation chose the candidate and its epochs: train it again on the training and
    /// validation rows to score the test, and on every row to forecast past the data (`all`),
    /// on training + validation rows for both (`val`), or not at all (`none`, the default).
    pub refit: Refit,
    /// Per series of a panel: the kept model or a statistical forecast, chosen on validation
    /// (`choose`), or one model for all (`none`).
    #[serde(default)]
    pub per_series: PerSeries,
    /// A kept network averaged with the `ets-theta` forecast where that scores lower on
    /// validation (`auto`), or alone (`none`, the default).
    #[serde(default)]
    pub combine: Combine,
    /// Prediction-interval levels in percent, calibrated on the validation rows (split
    /// conformal); empty for none (default 80 and 95).
    pub intervals: Vec<f64>,
    /// Adaptive intervals: how many of its latest errors a series' bands follow, in evaluation
    /// (the test origins, each using the errors known by then) and in the forecast past the
    /// data (every error after the validation rows); 0 keeps the bands as calibrated (default
    /// 150; see `forecaster::intervals::Tracker`).
    #[serde(default = "default_intervals_window")]
    pub intervals_window: usize,
    /// Adaptive intervals, per level: how far each miss (actual outside the band it was given)
    /// widens that level's bands and each hit narrows them, so that the share of misses tends to
    /// the level's (adaptive conformal inference, on the logarithm of the width: a miss adds
    /// `rate · level/100`, a hit subtracts `rate · (1 − level/100)`); 0 leaves the width to
    /// [`ForecasterConfig::intervals_window`] alone (default 0.005; see
    /// `forecaster::intervals::Tracker`).
    #[serde(default = "default_intervals_rate")]
    pub intervals_rate: f64,
    /// Columns and missing values.
    pub data: LoadOptions,
    /// Where the parts start: fractions of the distinct timestamps (default 0.7, 0.1, 0.2),
    /// timestamps (`at`) or rows before each series' end (`last`).
    pub split: SplitSpec,
    /// Network shape.
    pub model: ModelConfig,
    /// Optimisation and stopping.
    pub training: TrainOptions,
    /// The search space of `lstmcast tune` (`[tune]`); ignored by `train`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tune: Option<TuneSpace>,
}

/// The default of [`ForecasterConfig::intervals_window`] (also for configurations written before
/// it existed).
fn default_intervals_window() -> usize {
    150
}

/// The default of [`ForecasterConfig::intervals_rate`] (also for configurations written before
/// it existed): the step Gibbs and Candès (2021) use for adaptive conformal inference.
fn default_intervals_rate() -> f64 {
    0.005
}

impl Default for ForecasterConfig {
    fn default() -> Self {
        ForecasterConfig {
            lookback: 24,
            horizon: 1,
            strategy: Strategy::Direct,
            transform: Transform::Auto,
            scaler: ScalerKind::Standard,
            scaler_scope: ScalerScope::Series,
            normalize: Normalize::Auto,
            season: None,
            seed: 42,
            calendar: crate::covariates::Calendar::Auto,
            refit: Refit::None,
            per_series: PerSeries::default(),
            combine: Combine::default(),
            intervals: vec![80.0, 95.0],
            intervals_window: default_intervals_window(),
            intervals_rate: default_intervals_rate(),
            data: LoadOptions::default(),
            split: SplitSpec::default(),
            model: ModelConfig::default(),
            training: TrainOptions::default(),
            tune: None,
        }
    }
}

/// A configuration that passed [`ForecasterConfig::validate`]: what preparing and fitting take,
/// so a configuration is checked once where it enters (flags, keyword arguments, a file) and
/// not again on every path through the library. Reads as a [`ForecasterConfig`] (`Deref`).
#[derive(Debug, Clone, PartialEq)]
pub struct Validated(ForecasterConfig);

impl Validated {
    /// The configuration.
    pub fn into_inner(self) -> ForecasterConfig {
        self.0
    }

    /// The same configuration with the concrete `transform`, one of this configuration's
    /// [`Transform::candidates`] (`none`, `log`, or the configured one, which was validated):
    /// valid by construction.
    pub(crate) fn with_transform(&self, transform: Transform) -> Validated {
        debug_assert!(transform.validate().is_ok());
        let mut c = self.0.clone();
        c.transform = transform;
        Validated(c)
    }
}

impl std::ops::Deref for Validated {
    type Target = ForecasterConfig;

    fn deref(&self) -> &ForecasterConfig {
        &self.0
    }
}

impl ForecasterConfig {
    /// Reads a TOML file; unknown keys are errors.
    ///
    /// # Errors
    /// Unreadable file, TOML syntax error (with line and column), unknown or mistyped field.
    pub fn from_toml_file(path: &Path) -> Result<ForecasterConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_toml_str(&text).map_err(|e| match e {
            Error::InvalidConfig { field, reason } => {
                Error::config(format!("{}: {field}", path.display()), reason)
            }
            other => other,
        })
    }

    /// Parses TOML text.
    ///
    /// # Errors
    /// As [`ForecasterConfig::from_toml_file`].
    pub fn from_toml_str(text: &str) -> Result<ForecasterConfig> {
        toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| {
                    let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
                    match text.lines().nth(line - 1).map(str::trim) {
                        Some(l) if !l.is_empty() && l.len() <= 80 => format!("line {line} ({l})"),
                        _ => format!("line {line}"),
                    }
                })
                .unwrap_or_else(|| "file".into());
            Error::config(at, e.message().trim().to_string())
        })
    }

    /// The configuration as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self)
            .unwrap_or_else(|e| format!("# could not serialise configuration: {e}\n"))
    }

    /// The configuration checked once, as preparing and fitting take it.
    ///
    /// # Errors
    /// As [`ForecasterConfig::validate`].
    pub fn validated(&self) -> Result<Validated> {
        self.validate()?;
        Ok(Validated(self.clone()))
    }

    /// Checks every field before fitting.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the field.
    pub fn validate(&self) -> Result<()> {
        if self.lookback == 0 || self.lookback > 100_000 {
            return Err(Error::config(
                "lookback",
                format!("{} must be between 1 and 100000", self.lookback),
            ));
        }
        if self.horizon == 0 || self.horizon > 10_000 {
            return Err(Error::config(
                "horizon",
                format!("{} must be between 1 and 10000", self.horizon),
            ));
        }
        if self.season == Some(0) {
            return Err(Error::config("season", "must be at least 1"));
        }
        for (i, &l) in self.intervals.iter().enumerate() {
            if !(l.is_finite() && l > 0.0 && l < 100.0) {
                return Err(Error::config(
                    "intervals",
                    format!(
                        "level {l} must be a percentage strictly between 0 and 100, e.g. 80,95"
                    ),
                ));
            }
            if self.intervals[..i].contains(&l) {
                return Err(Error::config(
                    "intervals",
                    format!("level {l} is given twice"),
                ));
            }
        }
        if !(self.intervals_rate.is_finite() && (0.0..=1.0).contains(&self.intervals_rate)) {
            return Err(Error::config(
                "intervals_rate",
                format!(
                    "{} must be between 0 and 1 (0.005 by default; 0 turns the correction off)",
                    self.intervals_rate
                ),
            ));
        }
        if !(1..=64).contains(&self.model.ensemble) {
            return Err(Error::config(
                "ensemble",
                format!("{} must be between 1 and 64", self.model.ensemble),
            ));
        }
        self.scaler.validate()?;
        self.transform.validate()?;
        self.split.validate()?;
        self.training.validate()?;
        self.network_spec(1, 1).validate()?;
        Ok(())
    }

    /// The interval levels whose two quantiles a quantile model outputs (`--loss quantile`):
    /// `(level, lo index, hi index)` into `training.quantiles`, e.g. 80 from 0.1 and 0.9. Empty
    /// without quantile outputs.
    pub fn quantile_pairs(&self) -> Vec<(f64, usize, usize)> {
        if self.training.outputs_per_target() == 1 {
            return Vec::new();
        }
        let taus = &self.training.quantiles;
        let index_of = |tau: f64| taus.iter().position(|&t| (t - tau).abs() < 1e-9);
        self.intervals
            .iter()
            .filter_map(|&l| {
                let lo = (1.0 - l / 100.0) / 2.0;
                Some((l, index_of(lo)?, index_of(1.0 - lo)?))
            })
            .collect()
    }

    /// Steps the network itself predicts: the horizon (direct) or 1 (recursive).
    pub fn model_horizon(&self) -> usize {
        match self.strategy {
            Strategy::Direct => self.horizon,
            Strategy::Recursive => 1,
        }
    }

    /// The network for `n_inputs` columns and `n_targets` targets.
    pub fn network_spec(&self, n_inputs: usize, n_targets: usize) -> NetworkSpec {
        self.network_spec_known(n_inputs, n_targets, 0)
    }

    /// As [`ForecasterConfig::network_spec`] where the last `n_known` columns are known at every
    /// forecast step: the head sees their values at each output step.
    pub fn network_spec_known(
        &self,
        n_inputs: usize,
        n_targets: usize,
        n_known: usize,
    ) -> NetworkSpec {
        NetworkSpec {
            n_inputs,
            layers: self.model.layers.clone(),
            n_outputs: self.model_horizon() * n_targets * self.training.outputs_per_target(),
            dropout: self.model.dropout,
            recurrent_dropout: self.model.recurrent_dropout,
            step_inputs: n_known,
            steps: if n_known > 0 { self.model_horizon() } else { 1 },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_round_trip_keeps_every_field() {
        let mut c = ForecasterConfig {
            lookback: 12,
            strategy: Strategy::Recursive,
            scaler: ScalerKind::Minmax { lo: -1.0, hi: 1.0 },
            ..Default::default()
        };
        c.model.layers = vec![16, 8];
        c.model.dropout = 0.1;
        c.training.clip_norm = Some(1.0);
        c.data.target = vec!["y".into()];
        let back = ForecasterConfig::from_toml_str(&c.to_toml()).unwrap();
        assert_eq!(back, c);
        assert!(c.to_toml().contains("dropout = 0.1\n"), "{}", c.to_toml());
    }

    #[test]
    fn unknown_and_mistyped_fields_are_errors_with_line() {
        let e = ForecasterConfig::from_toml_str("lookback = 12\nlookbak = 3\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("lookbak"), "{e}");
        let e = ForecasterConfig::from_toml_str("[training]\nepochs = \"many\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2"), "{e}");
    }

    #[test]
    fn validate_names_the_field() {
        let c = ForecasterConfig {
            lookback: 0,
            ..Default::default()
        };
        assert!(c.validate().unwrap_err().to_string().contains("lookback"));
        let mut c = ForecasterConfig::default();
        c.model.dropout = 1.5;
        assert!(c.validate().unwrap_err().to_string().contains("dropout"));
        let mut c = ForecasterConfig::default();
        c.training.learning_rate = -1.0;
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("learning_rate"));
    }
}
