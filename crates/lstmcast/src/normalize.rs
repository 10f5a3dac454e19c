//! What the network sees of a window, on top of the global scaler. A globally scaled network can
//! only output levels it saw in training, so a series that trends out of the training range
//! defeats it; the per-window modes below remove the level before the network sees it and add it
//! back afterwards.
//!
//! Every mode maps one window (its `lookback` rows of globally scaled values) to network inputs
//! and, per target, an `(anchor, scale)` pair; the network's output `o` means the scaled level
//! `anchor + scale · o`. Statistics that are not per window (the floors and the difference scales)
//! are fitted on training rows only. The exponential-smoothing modes (`es`, `ets-residual`,
//! `ets`) take their references from ETS states at the window's origin ([`es`]); their anchors
//! differ per output step.

pub mod es;

pub use es::{EsFrame, EtsBank, EtsFit, Reference};

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// How windows are normalised before the network (`--normalize`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum Normalize {
    /// Fit every candidate below and keep the one with the best validation score (the default).
    #[default]
    Auto,
    /// The textbook recipe: the network sees and predicts globally scaled levels.
    Global,
    /// Per-window instance normalisation: subtract each column's last observed value and divide
    /// by the window's mean absolute deviation from it; targets alike.
    Window,
    /// Differencing: inputs are first differences, targets are changes from the last observed
    /// value (a residual on the naive forecast), both divided by the training rows' root mean
    /// square first difference.
    Diff,
    /// Exponential-smoothing normalisation (as in ES-RNN): target inputs and outputs relative to
    /// the ETS level at the window's origin and the seasonal index of their step (divided for a
    /// multiplicative season, subtracted otherwise), in units of ETS's one-step error.
    Es,
    /// The network predicts a correction to the ETS forecast from the window's origin, in units
    /// of ETS's one-step error (inputs as in `es`); its output layer starts at zero, so before
    /// training it forecasts what ETS does.
    EtsResidual,
    /// Plain ETS, no network: the baseline `auto` may keep when nothing beats it on validation.
    Ets,
    /// The standard Theta method, no network (as statsforecast's `Theta`).
    Theta,
    /// The mean of plain ETS and Theta, no network: a combination of the two statistical
    /// forecasters (where a series has no Theta model, ETS alone).
    EtsTheta,
}

impl Normalize {
    /// Every concrete mode, in tie-break order.
    pub const CANDIDATES: [Normalize; 8] = [
        Normalize::Ets,
        Normalize::Theta,
        Normalize::EtsTheta,
        Normalize::Global,
        Normalize::Window,
        Normalize::Diff,
        Normalize::Es,
        Normalize::EtsResidual,
    ];

    /// What `auto` chooses between where ETS fits every series (in tie-break order): plain ETS,
    /// the two networks around it, and plain Theta. On the short seasonal series of the
    /// accuracy benchmark the level, window and difference modes lost to these in every case,
    /// and letting them compete on a few validation windows made the choice worse (README,
    /// "Accuracy").
    pub const ETS_CANDIDATES: [Normalize; 5] = [
        Normalize::Ets,
        Normalize::Es,
        Normalize::EtsResidual,
        Normalize::Theta,
        Normalize::EtsTheta,
    ];

    /// What `auto` chooses between where ETS cannot be used (a series too short to fit it, a
    /// recursive strategy).
    pub const PLAIN_CANDIDATES: [Normalize; 3] =
        [Normalize::Global, Normalize::Window, Normalize::Diff];

    /// The names accepted by [`Normalize::parse`].
    pub const NAMES: &'static str =
        "auto, global, window, diff, es, ets-residual, ets, theta, ets-theta";

    /// Whether the mode takes its references from ETS states.
    pub fn uses_ets(self) -> bool {
        matches!(
            self,
            Normalize::Es
                | Normalize::EtsResidual
                | Normalize::Ets
                | Normalize::Theta
                | Normalize::EtsTheta
        )
    }

    /// Whether a network is trained (every mode but `ets` and `theta`).
    pub fn trains(self) -> bool {
        !self.is_statistical()
    }

    /// Whether a series with no ETS on its training rows (too few of them) is left out of the
    /// network's windows, and forecast by the stand-in, when this normalisation is asked for:
    /// under `auto`, so that one short series does not take the ETS family from every other
    /// series, and for a network of an ES mode, whose windows need those states.
    pub fn leaves_out_series_without_ets(self) -> bool {
        self == Normalize::Auto || self.is_es_network()
    }

    /// Whether the mode trains a network on windows normalised by ETS states (`es`,
    /// `ets-residual`).
    pub fn is_es_network(self) -> bool {
        self.trains() && self.uses_ets()
    }

    /// Whether the mode forecasts from the forecaster statistics (plain `ets` and `theta`),
    /// fitted again on the newest rows before the test and the forecast.
    pub fn is_statistical(self) -> bool {
        matches!(
            self,
            Normalize::Ets | Normalize::Theta | Normalize::EtsTheta
        )
    }

    /// The loss a mode trains with when none is set: MAE for the exponential-smoothing modes
    /// (relative errors around a level, where MAE is what MASE scores), MSE otherwise.
    pub fn default_loss(self) -> crate::engine::Loss {
        if self.uses_ets() {
            crate::engine::Loss::Mae
        } else {
            crate::engine::Loss::Mse
        }
    }

    /// The lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Normalize::Auto => "auto",
            Normalize::Global => "global",
            Normalize::Window => "window",
            Normalize::Diff => "diff",
            Normalize::Es => "es",
            Normalize::EtsResidual => "ets-residual",
            Normalize::Ets => "ets",
            Normalize::Theta => "theta",
            Normalize::EtsTheta => "ets-theta",
        }
    }
}

impl std::str::FromStr for Normalize {
    type Err = Error;

    /// Parses a mode name (see [`Normalize::NAMES`]).
    ///
    /// # Errors
    /// Any other name.
    fn from_str(text: &str) -> Result<Normalize> {
        match text {
            "auto" => Ok(Normalize::Auto),
            "global" => Ok(Normalize::Global),
            "window" => Ok(Normalize::Window),
            "diff" => Ok(Normalize::Diff),
            "es" => Ok(Normalize::Es),
            "ets-residual" => Ok(Normalize::EtsResidual),
            "ets" => Ok(Normalize::Ets),
            "theta" => Ok(Normalize::Theta),
            "ets-theta" => Ok(Normalize::EtsTheta),
            _ => Err(Error::config(
                "normalize",
                format!("'{text}' is not one of {}", Normalize::NAMES),
            )),
        }
    }
}

/// A fitted window normalisation (never `Auto`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowNorm {
    /// The concrete mode.
    pub mode: Normalize,
    /// Per column: `Window`'s smallest scale (the training rows' mean absolute first difference),
    /// `Diff`'s scale (the training rows' root mean square first difference); 1 for
    /// `Global`. Never 0.
    pub scale: Vec<f32>,
    /// How many columns (the last ones) are known covariates (future-known, static, calendar):
    /// every mode passes them to the network as scaled, never relative to the window.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub known: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Smallest scale: keeps a flat window or a constant column from dividing by zero.
const TINY: f64 = 1e-6;

impl WindowNorm {
    /// Fits `mode` (not `Auto`) on the training rows of `scaled` (`[rows, n_cols]`, row-major):
    /// `train` holds each series' training rows as global ranges; differences never cross from
    /// one series to the next.
    ///
    /// # Errors
    /// `mode` is `Auto`.
    pub fn fit(
        mode: Normalize,
        scaled: &[f32],
        n_cols: usize,
        train: &[Range<usize>],
    ) -> Result<WindowNorm> {
        let diffs = |c: usize| -> Vec<f64> {
            train
                .iter()
                .flat_map(|t| t.start + 1..t.end)
                .map(|r| (scaled[r * n_cols + c] - scaled[(r - 1) * n_cols + c]) as f64)
                .collect()
        };
        let scale = match mode {
            Normalize::Auto => {
                return Err(Error::config(
                    "normalize",
                    "auto is a choice between modes, not a mode to fit",
                ))
            }
            Normalize::Global
            | Normalize::Es
            | Normalize::EtsResidual
            | Normalize::Ets
            | Normalize::Theta
            | Normalize::EtsTheta => vec![1.0; n_cols],
            Normalize::Window => (0..n_cols)
                .map(|c| {
                    let d = diffs(c);
                    let mad = d.iter().map(|v| v.abs()).sum::<f64>() / d.len().max(1) as f64;
                    mad.max(TINY) as f32
                })
                .collect(),
            Normalize::Diff => (0..n_cols)
                .map(|c| {
                    let d = diffs(c);
                    let ms = d.iter().map(|v| v * v).sum::<f64>() / d.len().max(1) as f64;
                    ms.sqrt().max(TINY) as f32
                })
                .collect(),
        };
        Ok(WindowNorm {
            mode,
            scale,
            known: 0,
        })
    }

    /// The same normalisation with the last `known` columns passed through as they are.
    pub fn with_known(self, known: usize) -> WindowNorm {
        WindowNorm { known, ..self }
    }

    /// Number of columns.
    pub fn n_cols(&self) -> usize {
        self.scale.len()
    }

    /// Encodes one window. `rows` is the window's inputs, row-major `[lookback, n_cols]` in
    /// globally scaled units; its time steps go into the time-major batch buffer `x`
    /// (`[lookback, b, n_cols]`) at batch position `j`. Writes each output step's and target's
    /// `(anchor, scale)` into `anchors` (`[steps][targets]`; the targets are the first
    /// `anchors.len() / steps` columns). The exponential-smoothing modes need `es`: the frame,
    /// the global row after the last observed one, and how many rows the window is rolled past
    /// it (0 but for a forecast beyond the trained horizon); without it (or without states for
    /// a target) they return `false`.
    #[allow(clippy::too_many_arguments)]
    pub fn encode(
        &self,
        rows: &[f32],
        x: &mut [f32],
        b: usize,
        j: usize,
        anchors: &mut [(f32, f32)],
        steps: usize,
        es: Option<(&EsFrame, usize, usize)>,
    ) -> bool {
        let f = self.n_cols();
        let l = rows.len() / f;
        let nt = anchors.len() / steps.max(1);
        let last = &rows[(l - 1) * f..];
        let per_target = |c: usize, a: (f32, f32), anchors: &mut [(f32, f32)]| {
            for h in 0..steps {
                anchors[h * nt + c] = a;
            }
        };
        match self.mode {
            Normalize::Global | Normalize::Auto => {
                for s in 0..l {
                    x[(s * b + j) * f..(s * b + j + 1) * f]
                        .copy_from_slice(&rows[s * f..(s + 1) * f]);
                }
                anchors.fill((0.0, 1.0));
            }
            Normalize::Window => {
                self.pass_known(rows, x, b, j);
                for c in 0..f - self.known {
                    let a = last[c];
                    let mad = (0..l).map(|s| (rows[s * f + c] - a).abs()).sum::<f32>() / l as f32;
                    let sc = mad.max(self.scale[c]);
                    for s in 0..l {
                        x[(s * b + j) * f + c] = (rows[s * f + c] - a) / sc;
                    }
                    if c < nt {
                        per_target(c, (a, sc), anchors);
                    }
                }
            }
            Normalize::Diff => {
                self.pass_known(rows, x, b, j);
                for c in 0..f - self.known {
                    let sc = self.scale[c];
                    x[j * f + c] = 0.0;
                    for s in 1..l {
                        x[(s * b + j) * f + c] = (rows[s * f + c] - rows[(s - 1) * f + c]) / sc;
                    }
                    if c < nt {
                        per_target(c, (last[c], sc), anchors);
                    }
                }
            }
            Normalize::Es
            | Normalize::EtsResidual
            | Normalize::Ets
            | Normalize::Theta
            | Normalize::EtsTheta => {
                let Some((frame, t, shift)) = es else {
                    return false;
                };
                let reference = match self.mode {
                    Normalize::Es => Reference::LevelSeason,
                    Normalize::Theta => Reference::Theta,
                    Normalize::EtsTheta => Reference::EtsTheta,
                    _ => Reference::Forecast,
                };
                for s in 0..l {
                    x[(s * b + j) * f..(s * b + j + 1) * f]
                        .copy_from_slice(&rows[s * f..(s + 1) * f]);
                }
                let mut inputs = vec![(0f32, 1f32); l];
                let mut outs = vec![(0f32, 1f32); steps];
                for c in 0..nt {
                    if !frame.window(reference, (t, shift), c, &mut inputs, &mut outs) {
                        return false;
                    }
                    for (s, &(a, sc)) in inputs.iter().enumerate() {
                        x[(s * b + j) * f + c] = (rows[s * f + c] - a) / sc;
                    }
                    for (h, &a) in outs.iter().enumerate() {
                        anchors[h * nt + c] = a;
                    }
                }
            }
        }
        true
    }

    /// Copies the known columns of a window's rows into `x` unchanged.
    fn pass_known(&self, rows: &[f32], x: &mut [f32], b: usize, j: usize) {
        let f = self.n_cols();
        let l = rows.len() / f;
        for s in 0..l {
            for c in f - self.known..f {
                x[(s * b + j) * f + c] = rows[s * f + c];
            }
        }
    }
}

/// The outcome of choosing a normalisation: what was chosen and how every candidate scored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    /// The mode asked for (`auto` or a concrete one).
    pub requested: Normalize,
    /// The mode kept.
    pub chosen: Normalize,
    /// The target transform kept (`--transform auto` tries several).
    #[serde(default)]
    pub chosen_transform: crate::transform::Transform,
    /// The calendar features kept (`--calendar auto` tries with and without them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chosen_calendar: Vec<crate::covariates::CalendarFeature>,
    /// Every candidate fitted, with its validation score.
    pub candidates: Vec<CandidateScore>,
    /// The ensemble's further members (`--ensemble N`: seeds `seed + 1 …`), each alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<CandidateScore>,
    /// The ensemble's validation MASE (the median of all its networks), when there are members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ensemble_val_mase: Option<f64>,
    /// The choice per series of a panel (`--per-series choose`): `None` where it was not made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_series: Option<PerSeriesChoice>,
    /// The combination of a kept network with a statistical forecast (`--combine auto`): the
    /// forecast is their mean where that scored better on validation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub combination: Option<Combination>,
}

/// `auto`'s combination of the kept network with a statistical forecast, and the validation
/// scores behind the decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Combination {
    /// The statistical forecast averaged with the network: the best statistical candidate of
    /// `auto`, else `ets-theta`.
    pub with: Normalize,
    /// The network averaged (the best network candidate); `None` in folders written before it
    /// was recorded (the kept network).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<Normalize>,
    /// Validation MASE of the network alone (its main network: ensemble members join after
    /// the decision).
    pub alone: Option<f64>,
    /// Validation MASE of the statistical candidate `auto` keeps without the combination, where
    /// one scored below every network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instead: Option<f64>,
    /// Validation MASE of the mean.
    pub combined: Option<f64>,
    /// Whether the mean is the forecast (it scored lower than the network alone and than
    /// `instead`).
    pub kept: bool,
}

/// The model of each series of a panel, chosen among the kept one and the statistical
/// forecasts (plain ETS, Theta, their mean) by validation MASE, each series' own evidence
/// shrunk toward the panel's ranking (see `forecaster::choice`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerSeriesChoice {
    /// The options, the kept model first.
    pub options: Vec<Normalize>,
    /// Each option's validation MASE averaged over the series that have one (the panel's
    /// ranking), in the order of `options`.
    pub panel: Vec<Option<f64>>,
    /// Every series with validation predictions, in panel order.
    pub series: Vec<SeriesChoice>,
}

/// One series' choice and the scores behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesChoice {
    /// The series id.
    pub id: String,
    /// The option kept for it.
    pub chosen: Normalize,
    /// Its validation origins.
    pub origins: usize,
    /// The weight of its own scores against the panel's (`origins / (origins + horizon)`).
    pub weight: f64,
    /// Its own validation MASE per option (in the order of the options).
    pub scores: Vec<Option<f64>>,
}

/// One candidate's validation result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateScore {
    /// The mode.
    pub mode: Normalize,
    /// The target transform it was trained with (`--transform auto` tries several).
    #[serde(default)]
    pub transform: crate::transform::Transform,
    /// Validation MSE in globally scaled units (comparable across modes); `None` without
    /// validation windows.
    pub val_mse: Option<f64>,
    /// Validation MASE from every origin in the validation rows (what `auto` chooses by);
    /// `None` when no series has a MASE scale.
    #[serde(default)]
    pub val_mase: Option<f64>,
    /// Validation origins behind `val_mase`.
    #[serde(default)]
    pub val_origins: usize,
    /// The loss trained with.
    #[serde(default)]
    pub loss: crate::engine::Loss,
    /// Epochs trained.
    pub epochs: usize,
    /// Best epoch.
    pub best_epoch: usize,
    /// The calendar features it saw (`--calendar auto` tries with and without them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calendar: Vec<crate::covariates::CalendarFeature>,
}

impl CandidateScore {
    /// Whether candidates are ranked by validation MASE (over every validation origin): where any
    /// of them has one, that is where the data has a MASE scale; else by validation MSE.
    pub fn ranked_by_mase<'a>(scores: impl IntoIterator<Item = &'a CandidateScore>) -> bool {
        scores.into_iter().any(|c| c.val_mase.is_some())
    }

    /// The score candidates are ranked by (see [`CandidateScore::ranked_by_mase`]).
    pub fn rank_score(&self, by_mase: bool) -> Option<f64> {
        if by_mase {
            self.val_mase
        } else {
            self.val_mse
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::single_range_in_vec_init)]
    use super::*;

    /// 5 rows × 2 columns, column 0 = 10·r, column 1 = r².
    fn data() -> Vec<f32> {
        (0..5)
            .flat_map(|r| [10.0 * r as f32, (r * r) as f32])
            .collect()
    }

    #[test]
    fn window_mode_subtracts_last_value_and_divides_by_mad() {
        let d = data();
        let n = WindowNorm::fit(Normalize::Window, &d, 2, &[0..3]).unwrap();
        // Training first differences: column 0: 10, 10 → 10; column 1: 1, 3 → 2.
        assert_eq!(n.scale, vec![10.0, 2.0]);
        // Window rows 1..4: column 0 = 10, 20, 30; anchor 30; |dev| = 20, 10, 0 → MAD 10.
        // Column 1 = 1, 4, 9; anchor 9; |dev| = 8, 5, 0 → MAD 13/3 (above the floor 2).
        let mut x = vec![0.0; 3 * 2];
        let mut a = [(0.0, 0.0)];
        n.encode(&d[2..8], &mut x, 1, 0, &mut a, 1, None);
        assert_eq!(a, [(30.0, 10.0)]);
        let m = 13.0 / 3.0;
        let want = [-2.0, -8.0 / m, -1.0, -5.0 / m, 0.0, 0.0];
        for (g, w) in x.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{x:?}");
        }
    }

    #[test]
    fn flat_window_uses_the_training_floor() {
        let d = [5.0f32; 8];
        let n = WindowNorm::fit(Normalize::Window, &[0.0, 1.0, 3.0, 6.0], 1, &[0..4]).unwrap();
        // Training diffs 1, 2, 3 → floor 2.
        let mut x = vec![9.0; 8];
        let mut a = [(0.0, 0.0)];
        n.encode(&d, &mut x, 1, 0, &mut a, 1, None);
        assert_eq!(a, [(5.0, 2.0)]);
        assert!(x.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn diff_mode_uses_first_differences_and_training_rms() {
        let d = data();
        let n = WindowNorm::fit(Normalize::Diff, &d, 2, &[0..4]).unwrap();
        // Column 0 diffs 10, 10, 10 → RMS 10; column 1 diffs 1, 3, 5 → RMS √(35/3).
        assert!((n.scale[0] - 10.0).abs() < 1e-6);
        assert!((n.scale[1] - (35.0f32 / 3.0).sqrt()).abs() < 1e-6);
        let mut x = vec![9.0; 3 * 2 * 2];
        let mut a = [(0.0, 0.0); 2];
        // Batch of 2, position 1: window rows 2..5.
        n.encode(&d[4..10], &mut x, 2, 1, &mut a, 1, None);
        assert_eq!(a[0].0, 40.0);
        assert_eq!(a[1].0, 16.0);
        let s = n.scale[1];
        // Time step 0 of position 1 is zero; steps 1, 2 are the differences.
        assert_eq!(&x[2..4], &[0.0, 0.0]);
        assert!((x[2 * 2 + 3] - 5.0 / s).abs() < 1e-5);
        assert!((x[4 * 2 + 3] - 7.0 / s).abs() < 1e-5);
        // Position 0 untouched.
        assert_eq!(x[0], 9.0);
    }

    #[test]
    fn statistics_come_from_training_rows_only() {
        let mut d: Vec<f32> = (0..20).map(|r| (r as f32).sin()).collect();
        let a = WindowNorm::fit(Normalize::Diff, &d, 1, &[0..10]).unwrap();
        let b = WindowNorm::fit(Normalize::Window, &d, 1, &[0..10]).unwrap();
        for v in &mut d[10..] {
            *v *= 1000.0;
        }
        assert_eq!(
            a,
            WindowNorm::fit(Normalize::Diff, &d, 1, &[0..10]).unwrap()
        );
        assert_eq!(
            b,
            WindowNorm::fit(Normalize::Window, &d, 1, &[0..10]).unwrap()
        );
    }

    #[test]
    fn parse_names() {
        for m in [
            Normalize::Auto,
            Normalize::Global,
            Normalize::Window,
            Normalize::Diff,
        ] {
            assert_eq!(m.name().parse::<Normalize>().unwrap(), m);
        }
        assert!("level"
            .parse::<Normalize>()
            .unwrap_err()
            .to_string()
            .contains("normalize"));
    }
}
