//! Split-conformal prediction intervals: the errors of the trained model on the validation rows
//! (every origin there, each step that stays inside them) calibrate a half-width per series,
//! target, horizon step and level. The score is the error relative to the prediction,
//! `|y − ŷ| / |ŷ|`, for a series whose training values are all positive (its errors grow with
//! its level, which may leave the validation range), else the absolute error `|y − ŷ|`. Each
//! score is divided by its series' spread at its step (`Spread`: the series' unit times the
//! step's growth), the scores of every series and step are pooled per target, and a level's
//! half-width is the finite-sample quantile of the pool (the `⌈(n + 1)·level⌉`-th smallest of n)
//! times the spread; with too few scores even then the level is refused (never an interval whose
//! coverage cannot be promised). Every level comes from the same pool, so the bands nest.
//!
//! After the validation rows the bands adapt ([`Tracker`]): to the series' latest errors (the
//! spread) and, per level, to its own misses (adaptive conformal inference).
//!
//! Validation rows also chose the epoch and the normalisation, so the errors are those of a model
//! selected on them: slightly optimistic, as in every split-conformal use of a validation set.

use super::evaluation::mean;
use super::{Prepared, TrainedForecaster};
use crate::data::Panel;
use crate::error::Result;
use serde::{Deserialize, Serialize};

/// Where a half-width comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The series' own validation errors (model folders written before the scaled
    /// calibration).
    Series,
    /// Every series' errors, scaled by their MASE scales (model folders written before the
    /// scaled calibration).
    Pooled,
    /// The series' error spread at that step times a quantile of every series' and step's
    /// errors, each divided by its own series' spread at its step.
    Scaled,
    /// Too few errors for this level: no interval.
    Refused,
}

/// One interval half-width.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Band {
    /// Half-width in original units (`None` when refused).
    pub half: Option<f64>,
    /// Where it comes from.
    pub from: Source,
    /// Calibration errors behind it.
    pub n: usize,
}

/// The calibrated half-widths of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Calibration {
    /// Nominal coverage levels in percent, ascending.
    pub levels: Vec<f64>,
    /// The training series' ids, in panel order.
    pub ids: Vec<String>,
    /// Per series, per target, per step (index 0 = step 1), per level.
    pub bands: Vec<Vec<Vec<Vec<Band>>>>,
    /// Per series, per target: whether the half-widths are relative to the prediction.
    #[serde(default)]
    pub relative: Vec<Vec<bool>>,
    /// Per level: the quantile outputs `(lo, hi)` (indices) whose band it corrects
    /// (conformalised quantile regression), or `None` for an interval around the point.
    #[serde(default)]
    pub cqr: Vec<Option<(usize, usize)>>,
    /// Per series, per target: the unit of its spread (see [`Spread`]); empty in model folders
    /// written before the scaled calibration.
    #[serde(default)]
    pub sigma: Vec<Vec<Option<f64>>>,
    /// Per target, per step: the growth of every series' spread with the step.
    #[serde(default)]
    pub growth: Vec<Vec<Option<f64>>>,
    /// Per target: the mean point score of the calibrating series, divided by their spreads
    /// (what a series' recent errors are compared with when bands adapt).
    #[serde(default)]
    pub mean_score: Vec<Option<f64>>,
}

/// A level (or a quantile in percent) as written in column names and reports: `80`, `97.5`.
pub fn level_name(l: f64) -> String {
    let s = format!("{l}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// The rank of the finite-sample conformal quantile of `n` scores at `level` percent, 1-based;
/// `None` when it would exceed `n` (too few scores to promise the level).
pub fn conformal_rank(n: usize, level: f64) -> Option<usize> {
    let k = ((n as f64 + 1.0) * level / 100.0 - 1e-9).ceil() as usize;
    (k >= 1 && k <= n).then_some(k)
}

/// The `rank`-th smallest (1-based) of `v` (sorted in place).
fn kth(v: &mut [f64], rank: usize) -> f64 {
    v.sort_by(f64::total_cmp);
    v[rank - 1]
}

impl Calibration {
    /// Calibrates from validation scores: `errors[s][k][h]` holds series `s`'s scores of target
    /// `k` at step `h + 1`, relative where `relative[s][k]`, else absolute; `scale[s][k]` is its
    /// unit of spread: its MASE scale on the training rows, divided by their mean for a relative
    /// series (`None` without one; see [`Spread`]).
    pub fn fit(
        levels: &[f64],
        ids: &[String],
        errors: &[Vec<Vec<Vec<f64>>>],
        scale: &[Vec<Option<f64>>],
        relative: &[Vec<bool>],
    ) -> Calibration {
        let per_level: Vec<&[Vec<Vec<Vec<f64>>>]> = levels.iter().map(|_| errors).collect();
        Calibration::fit_levels(
            levels,
            ids,
            errors,
            &per_level,
            scale,
            relative,
            vec![None; levels.len()],
        )
    }

    /// As [`Calibration::fit`] with scores of their own per level (`per_level[level][s][k][h]`,
    /// in the same order as the point errors `errors[s][k][h]` they come with), and each
    /// level's quantile pair for conformalised quantile regression.
    pub fn fit_levels(
        levels: &[f64],
        ids: &[String],
        errors: &[Vec<Vec<Vec<f64>>>],
        per_level: &[&[Vec<Vec<Vec<f64>>>]],
        scale: &[Vec<Option<f64>>],
        relative: &[Vec<bool>],
        cqr: Vec<Option<(usize, usize)>>,
    ) -> Calibration {
        let n_series = errors.len();
        let n_targets = errors.first().map_or(0, Vec::len);
        let horizon = errors.first().and_then(|t| t.first()).map_or(0, Vec::len);
        let refused = Band {
            half: None,
            from: Source::Refused,
            n: 0,
        };
        let mut c = Calibration {
            levels: levels.to_vec(),
            ids: ids.to_vec(),
            bands: vec![vec![vec![vec![refused; levels.len()]; horizon]; n_targets]; n_series],
            relative: relative.to_vec(),
            cqr,
            sigma: vec![vec![None; n_targets]; n_series],
            growth: vec![vec![None; horizon]; n_targets],
            mean_score: vec![None; n_targets],
        };
        for k in 0..n_targets {
            let Some(spread) = Spread::fit(errors, k, horizon, scale, relative) else {
                continue;
            };
            for (s, sigma) in spread.sigma.iter().enumerate() {
                c.sigma[s][k] = *sigma;
            }
            c.growth[k].clone_from(&spread.growth);
            c.mean_score[k] = mean(&spread.scaled(errors, k));
            for (i, &level) in levels.iter().enumerate() {
                let scores = spread.scaled(per_level[i], k);
                let Some(rank) = conformal_rank(scores.len(), level) else {
                    continue;
                };
                let q = kth(&mut scores.clone(), rank);
                if !q.is_finite() {
                    continue;
                }
                for (s, bands) in c.bands.iter_mut().enumerate() {
                    let Some(sigma) = spread.sigma[s] else {
                        continue;
                    };
                    for (h, g) in spread.growth.iter().enumerate() {
                        if let Some(g) = g {
                            bands[k][h][i] = Band {
                                half: Some(q * g * sigma),
                                from: Source::Scaled,
                                n: scores.len(),
                            };
                        }
                    }
                }
            }
        }
        c
    }

    /// The interval of half-width band `half` around `predicted` for series position `s`,
    /// target `k`: `predicted ± half`, or `± half·|predicted|` for a relative series.
    pub fn around(&self, s: usize, k: usize, half: f64, predicted: f64) -> (f64, f64) {
        let w = self.unit(s, k, predicted) * half;
        (predicted - w, predicted + w)
    }

    /// Level `i`'s interval for series position `s`, target `k` with half-width `half`: around
    /// `predicted`, or (conformalised quantile regression) the quantile band of `quantiles`
    /// widened (or narrowed) by `half`.
    pub fn interval(
        &self,
        (s, k, i): (usize, usize, usize),
        half: f64,
        predicted: f64,
        quantiles: &[f64],
    ) -> (f64, f64) {
        match self.cqr.get(i).copied().flatten() {
            Some((lo, hi)) if hi < quantiles.len() => {
                let w = self.unit(s, k, predicted) * half;
                (quantiles[lo] - w, quantiles[hi] + w)
            }
            _ => self.around(s, k, half, predicted),
        }
    }

    /// The unit of the scores: `|predicted|` for a relative series, else 1.
    fn unit(&self, s: usize, k: usize, predicted: f64) -> f64 {
        if self.relative.get(s).and_then(|r| r.get(k)) == Some(&true) {
            predicted.abs()
        } else {
            1.0
        }
    }

    /// The position of the series `id`.
    pub fn series(&self, id: &str) -> Option<usize> {
        self.ids.iter().position(|i| i == id)
    }

    /// The half-widths (one per level) of target `k` at 1-based `step` for the series `id`;
    /// `None` for a series the calibration does not know or a step beyond it.
    pub fn bands(&self, id: &str, k: usize, step: usize) -> Option<&[Band]> {
        let s = self.ids.iter().position(|i| i == id)?;
        self.bands[s]
            .get(k)?
            .get(step.checked_sub(1)?)
            .map(Vec::as_slice)
    }

    /// How many (series, target, step) cells each level got from each source: `[series,
    /// pooled, scaled, refused]` per level.
    pub fn summary(&self) -> Vec<[usize; 4]> {
        let mut out = vec![[0usize; 4]; self.levels.len()];
        for b in self.bands.iter().flatten().flatten() {
            for (i, band) in b.iter().enumerate() {
                out[i][band.from as usize] += 1;
            }
        }
        out
    }
}

/// Each series' adaptive factors ([`Tracker`]): per series id, per target, per level (in the
/// calibration's order), what the calibrated half-widths are multiplied by. Folders written
/// before the per-level correction hold one factor per target, for every level: read through
/// [`level_factor`].
pub type Factors = std::collections::BTreeMap<String, Vec<Vec<f64>>>;

/// Level `i`'s factor among one target's: its own, or the single factor of every level (folders
/// written before the per-level correction), or 1 where there is none.
pub fn level_factor(factors: &[f64], i: usize) -> f64 {
    match factors {
        [one] => *one,
        f => f.get(i).copied().unwrap_or(1.0),
    }
}

/// Reads [`Factors`] in either shape: `[[f80, f95], …]` per target and level, or `[f, …]` per
/// target (folders written before the per-level correction).
pub(crate) fn factors_of_any_shape<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Factors, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum PerTarget {
        Levels(Vec<f64>),
        Every(f64),
    }
    let m: std::collections::BTreeMap<String, Vec<PerTarget>> = Deserialize::deserialize(d)?;
    Ok(m.into_iter()
        .map(|(id, v)| {
            let v = v
                .into_iter()
                .map(|t| match t {
                    PerTarget::Levels(l) => l,
                    PerTarget::Every(f) => vec![f],
                })
                .collect();
            (id, v)
        })
        .collect())
}

/// The adaptive factors a run's evaluation left ([`super::Evaluation::interval_factors`]), kept
/// in its model folder with the fingerprint of the data they were measured on, so that a
/// forecast of the same data need not score the test again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredFactors {
    /// [`crate::data::Panel::fingerprint`] of the data.
    pub data: String,
    /// Per series id, per target, per level.
    #[serde(deserialize_with = "factors_of_any_shape")]
    pub factors: Factors,
}

/// A series' bands following its latest errors on the test origins (adaptive intervals), in two
/// ways, both starting from the bands as calibrated at the end of the validation rows:
/// - **Spread** (`window`): each error (`|y − ŷ|`, relative where the series' scores are,
///   divided by its spread at its step) moves the series' factor `r` of a target (1 at first)
///   toward its ratio to the calibration's mean score, by `1/window` of the way; every level's
///   half-width is multiplied by `r`.
/// - **Coverage** (`rate`, adaptive conformal inference of Gibbs and Candès, 2021, on the
///   logarithm of the width): each level's own factor `a` grows by `exp(rate · (1 − α))` where
///   the actual value fell outside the band the level gave it, and shrinks by `exp(−rate · α)`
///   where it fell inside (α = 1 − level/100), so that in the long run a share α of them miss.
///
/// A level's half-width is multiplied by `r · a`. An error counts only once its actual value is
/// history: a step-`h` prediction from origin `t` counts from origin `t + h` on.
pub struct Tracker<'a> {
    c: &'a Calibration,
    s: Option<usize>,
    rate: f64,
    coverage_rate: f64,
    r: Vec<f64>,
    a: Vec<Vec<f64>>,
    pending: Vec<Pending>,
}

/// Whether bands with a spread `window` and a coverage `rate` adapt at all (both 0: the bands
/// as calibrated).
pub fn adapts((window, rate): (usize, f64)) -> bool {
    window > 0 || rate > 0.0
}

/// An error waiting for its actual value to be history.
struct Pending {
    due: usize,
    k: usize,
    /// Its scaled score over the calibration's mean (`None` without a spread).
    ratio: Option<f64>,
    /// Per level: whether it fell outside that level's band (`None`: no band).
    missed: Vec<Option<bool>>,
}

impl<'a> Tracker<'a> {
    /// The tracker of series `id` with a spread `window` (0: no spread adaptation) and a
    /// coverage `rate` (0: none); factors stay 1 for a series the calibration does not know.
    pub fn new(
        c: &'a Calibration,
        id: &str,
        n_targets: usize,
        (window, rate): (usize, f64),
    ) -> Tracker<'a> {
        Tracker {
            c,
            s: c.series(id).filter(|_| adapts((window, rate))),
            rate: if window > 0 { 1.0 / window as f64 } else { 0.0 },
            coverage_rate: rate,
            r: vec![1.0; n_targets],
            a: vec![vec![1.0; c.levels.len()]; n_targets],
            pending: Vec::new(),
        }
    }

    /// Queues the error of a prediction of target `k` at 1-based `step` whose actual value is
    /// known from origin `due` on, with the bands it was given (per level, as issued).
    pub fn observe(
        &mut self,
        due: usize,
        (k, step): (usize, usize),
        (predicted, actual): (f64, f64),
        bands: &[Option<(f64, f64)>],
    ) {
        let Some(s) = self.s else { return };
        if !(actual.is_finite() && predicted.is_finite()) {
            return;
        }
        let c = self.c;
        let ratio = match (
            c.sigma.get(s).and_then(|v| v.get(k)),
            c.growth.get(k).and_then(|v| v.get(step.wrapping_sub(1))),
            c.mean_score.get(k),
        ) {
            (Some(Some(sigma)), Some(Some(g)), Some(Some(m))) if self.rate > 0.0 => {
                let unit = c.unit(s, k, predicted);
                (unit > 0.0 && *m > 0.0)
                    .then(|| (actual - predicted).abs() / unit / (g * sigma) / m)
            }
            _ => None,
        };
        let missed = if self.coverage_rate > 0.0 {
            bands
                .iter()
                .map(|b| b.map(|(lo, hi)| actual < lo || actual > hi))
                .collect()
        } else {
            Vec::new()
        };
        self.pending.push(Pending {
            due,
            k,
            ratio,
            missed,
        });
    }

    /// Takes in every queued error known by origin `now`, oldest first.
    pub fn advance(&mut self, now: usize) {
        let (mut known, waiting): (Vec<Pending>, Vec<Pending>) =
            self.pending.drain(..).partition(|e| e.due <= now);
        self.pending = waiting;
        known.sort_by_key(|e| e.due);
        for e in known {
            if let Some(ratio) = e.ratio {
                self.r[e.k] += self.rate * (ratio - self.r[e.k]);
            }
            for (i, missed) in e.missed.iter().enumerate() {
                let (Some(missed), Some(a)) = (missed, self.a[e.k].get_mut(i)) else {
                    continue;
                };
                let alpha = 1.0 - self.c.levels[i] / 100.0;
                let step = if *missed { 1.0 - alpha } else { -alpha };
                *a *= (self.coverage_rate * step).exp();
            }
        }
    }

    /// The factors of every target and level after every queued error.
    pub fn finish(mut self) -> Vec<Vec<f64>> {
        self.advance(usize::MAX);
        self.all()
    }

    /// The factors of every target's half-widths now, per level.
    pub fn all(&self) -> Vec<Vec<f64>> {
        (0..self.r.len()).map(|k| self.factors(k)).collect()
    }

    /// The factors of target `k`'s half-widths now, per level.
    pub fn factors(&self, k: usize) -> Vec<f64> {
        let r = self.r.get(k).copied().unwrap_or(1.0);
        match self.a.get(k) {
            Some(a) => a.iter().map(|a| r * a).collect(),
            None => vec![r; self.c.levels.len()],
        }
    }
}

/// The error spread of one target: what makes the scores of different series and steps
/// comparable. A series' spread at step `h + 1` is `sigma[s] · growth[h]`:
/// - `sigma[s]`, its unit: its MASE scale on the training rows (divided by the mean of those
///   rows for a series with relative scores); a series without one (too few training rows) takes
///   its own mean error per unit of growth where it has two errors, else the median unit of the
///   relative series where its scores are relative, else none;
/// - `growth[h]`: the mean error at that step of every series with a MASE scale, each divided by
///   it (of every series with two errors, each divided by its own mean error, when no series has
///   a MASE scale).
struct Spread {
    sigma: Vec<Option<f64>>,
    growth: Vec<Option<f64>>,
    /// Whether the series' errors calibrate the quantile: those of the series with a unit
    /// before any fallback (their MASE scale, or their own mean error when no series has one).
    scores: Vec<bool>,
}

impl Spread {
    /// The spread of target `k` from the point errors `errors[s][k][h]` and the units `unit[s][k]`
    /// (`None`: no MASE scale); `None` when no series has a unit and none has two errors.
    fn fit(
        errors: &[Vec<Vec<Vec<f64>>>],
        k: usize,
        horizon: usize,
        unit: &[Vec<Option<f64>>],
        relative: &[Vec<bool>],
    ) -> Option<Spread> {
        let positive = |v: Option<f64>| v.filter(|&v| v > 0.0 && v.is_finite());
        let mut base: Vec<Option<f64>> = unit.iter().map(|u| positive(u[k])).collect();
        if base.iter().all(Option::is_none) {
            // No series has a MASE scale: each one's own mean error is its unit.
            base = errors
                .iter()
                .map(|t| {
                    let e: Vec<f64> = t[k].iter().flatten().copied().collect();
                    positive(mean(&e).filter(|_| e.len() >= 2))
                })
                .collect();
        }
        // The errors of the series with a unit calibrate the quantile.
        let scores: Vec<bool> = base.iter().map(Option::is_some).collect();
        let growth: Vec<Option<f64>> = (0..horizon)
            .map(|h| {
                let e: Vec<f64> = errors
                    .iter()
                    .zip(&base)
                    .flat_map(|(t, u)| t[k][h].iter().filter_map(move |e| u.map(|u| e / u)))
                    .collect();
                positive(mean(&e))
            })
            .collect();
        if growth.iter().all(Option::is_none) {
            return None;
        }
        // A series without a unit: its own mean error per unit of growth.
        let own = |s: usize| -> Option<f64> {
            let e: Vec<f64> = errors[s][k]
                .iter()
                .zip(&growth)
                .filter_map(|(e, g)| g.map(|g| e.iter().map(move |v| v / g)))
                .flatten()
                .collect();
            positive(mean(&e).filter(|_| e.len() >= 2))
        };
        let relative_prior = super::evaluation::median(
            &mut (0..errors.len())
                .filter(|&s| relative[s][k])
                .filter_map(|s| base[s])
                .collect::<Vec<f64>>(),
        );
        let sigma = (0..errors.len())
            .map(|s| {
                base[s]
                    .or_else(|| own(s))
                    .or(relative_prior.filter(|_| relative[s][k]))
            })
            .collect();
        Some(Spread {
            sigma,
            growth,
            scores,
        })
    }

    /// The scores of one level (`level[s][k][h]`), each divided by its series' spread at its
    /// step.
    fn scaled(&self, level: &[Vec<Vec<Vec<f64>>>], k: usize) -> Vec<f64> {
        let mut out = Vec::new();
        for (s, t) in level.iter().enumerate() {
            let Some(sigma) = self.sigma[s].filter(|_| self.scores[s]) else {
                continue;
            };
            for (v, g) in t[k].iter().zip(&self.growth) {
                if let Some(g) = g {
                    out.extend(v.iter().map(|v| v / (g * sigma)));
                }
            }
        }
        out
    }
}

impl TrainedForecaster {
    /// Calibrates the configured interval levels on `prep`'s validation rows (see
    /// [`intervals`]); empty when no level is configured.
    ///
    /// # Errors
    /// As [`TrainedForecaster::evaluate`].
    pub fn calibrate(&self, panel: &Panel, prep: &Prepared) -> Result<Calibration> {
        let levels = &self.config.intervals;
        if levels.is_empty() {
            return Ok(Calibration::default());
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
        let scale: Vec<Vec<Option<f64>>> = (0..panel.n_series())
            .map(|s| {
                let train = prep.split.series[s].train.clone();
                (0..self.n_targets)
                    .map(|k| {
                        let q = self.mase_scale[s][k]?;
                        if !relative[s][k] {
                            return Some(q);
                        }
                        let y = &panel.series_column(s, k)[train.clone()];
                        let m = y.iter().sum::<f64>() / y.len() as f64;
                        Some(q / m)
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
        self.validation_errors(panel, prep, hz, &mut |s, k, _t, h, p, y, q| {
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
        Ok(Calibration::fit_levels(
            levels, &panel.ids, &around, &per_level, &scale, &relative, cqr,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conformal_rank_is_the_finite_sample_quantile() {
        // n = 19 errors at 95 %: ⌈20 · 0.95⌉ = 19, the largest; n = 18: ⌈19 · 0.95⌉ = 19 > 18.
        assert_eq!(conformal_rank(19, 95.0), Some(19));
        assert_eq!(conformal_rank(18, 95.0), None);
        // n = 4 at 80 %: ⌈5 · 0.8⌉ = 4; n = 9: ⌈10 · 0.8⌉ = 8.
        assert_eq!(conformal_rank(4, 80.0), Some(4));
        assert_eq!(conformal_rank(9, 80.0), Some(8));
        assert_eq!(conformal_rank(0, 50.0), None);
    }

    /// Two absolute series a and b with MASE scales 1 and 10 and the same errors per unit, a
    /// series d without a scale whose two step-1 errors are 3, and e with neither.
    type Scores = Vec<Vec<Vec<Vec<f64>>>>;

    fn four_series() -> (Vec<String>, Scores, Vec<Vec<Option<f64>>>) {
        let ids = ["a", "b", "d", "e"].map(String::from).to_vec();
        let errors = vec![
            vec![vec![vec![1.0, 2.0], vec![2.0, 4.0]]],
            vec![vec![vec![10.0, 20.0], vec![20.0, 40.0]]],
            vec![vec![vec![3.0, 3.0], vec![]]],
            vec![vec![vec![], vec![]]],
        ];
        let scale = vec![vec![Some(1.0)], vec![Some(10.0)], vec![None], vec![None]];
        (ids, errors, scale)
    }

    #[test]
    fn scaled_scores_pool_every_series_and_step() {
        // Growth (mean error per unit of scale) at step 1: (1, 2, 1, 2)/(1, 1, 10, 10) → 1.5;
        // at step 2: 3. The scores of a and b over unit × growth: 1/1.5, 2/1.5, 2/3, 4/3 for
        // each, so four of 2/3 and four of 4/3 (d has no scale: its errors calibrate nothing).
        // 80 %: rank ⌈9 · 0.8⌉ = 8 → 4/3; 95 %: ⌈9 · 0.95⌉ = 9 > 8 → refused everywhere.
        let (ids, errors, scale) = four_series();
        let c = Calibration::fit(&[80.0, 95.0], &ids, &errors, &scale, &vec![vec![false]; 4]);
        let half = |id: &str, step: usize| c.bands(id, 0, step).unwrap()[0].half.unwrap();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        // a: 4/3 · 1.5 · 1 = 2 and 4/3 · 3 · 1 = 4; b ten times as wide.
        assert!(close(half("a", 1), 2.0) && close(half("a", 2), 4.0));
        assert!(close(half("b", 1), 20.0) && close(half("b", 2), 40.0));
        // d: its own mean error per unit of growth, 3/1.5 = 2, is its unit: 4 and 8.
        assert!(close(half("d", 1), 4.0) && close(half("d", 2), 8.0));
        assert_eq!(c.bands("a", 0, 1).unwrap()[0].from, Source::Scaled);
        assert_eq!(c.bands("a", 0, 1).unwrap()[0].n, 8);
        // e has no unit: refused; no level is 95 % anywhere (8 scores).
        assert_eq!(c.bands("e", 0, 1).unwrap()[0].from, Source::Refused);
        assert_eq!(c.summary(), vec![[0, 0, 6, 2], [0, 0, 0, 8]]);
        assert_eq!(c.mean_score, vec![Some(1.0)]);
        // The bands of one series grow with the levels: every level's quantile comes from the
        // same scores, so 95 % (with enough of them) is never inside 80 %.
        let many: Vec<Vec<Vec<Vec<f64>>>> = (0..20)
            .map(|i| {
                vec![vec![
                    vec![1.0 + (i % 7) as f64, 2.0],
                    vec![3.0, 0.5 * i as f64],
                ]]
            })
            .collect();
        let ids: Vec<String> = (0..20).map(|i| i.to_string()).collect();
        let c = Calibration::fit(
            &[80.0, 95.0],
            &ids,
            &many,
            &vec![vec![Some(2.0)]; 20],
            &vec![vec![false]; 20],
        );
        for id in &ids {
            for step in 1..=2 {
                let b = c.bands(id, 0, step).unwrap();
                assert!(
                    b[0].half.unwrap() <= b[1].half.unwrap(),
                    "{id} {step}: {b:?}"
                );
            }
        }
        assert!(c.bands("zz", 0, 1).is_none() && c.bands("a", 0, 3).is_none());
        // A relative series scales its band with the prediction.
        let c = Calibration::fit(
            &[80.0],
            &ids[..2],
            &many[..2],
            &vec![vec![Some(2.0)]; 2],
            &[vec![true], vec![false]],
        );
        let h = c.bands("0", 0, 1).unwrap()[0].half.unwrap();
        assert_eq!(c.around(0, 0, h, 10.0), (10.0 - 10.0 * h, 10.0 + 10.0 * h));
        assert_eq!(c.around(1, 0, h, 10.0), (10.0 - h, 10.0 + h));
    }

    #[test]
    fn a_tracker_follows_the_errors_it_has_seen() {
        // Calibration as above: mean score 1; a's unit 1, growth 1.5 and 3.
        let (ids, errors, scale) = four_series();
        let c = Calibration::fit(&[80.0], &ids, &errors, &scale, &vec![vec![false]; 4]);
        let mut t = Tracker::new(&c, "a", 1, (2, 0.0));
        // An error of 3 at step 1 scores 3 / 1.5 = 2, twice the mean: known from origin 5 on.
        t.observe(5, (0, 1), (10.0, 13.0), &[Some((9.0, 11.0))]);
        t.advance(4);
        assert_eq!(t.factors(0), vec![1.0]);
        t.advance(5);
        // Half of the way (window 2): 1 + (2 − 1)/2.
        assert_eq!(t.factors(0), vec![1.5]);
        // An error of 1.5 at step 2 scores 1.5 / 3 = 0.5: 1.5 + (0.5 − 1.5)/2 = 1.
        t.observe(6, (0, 2), (0.0, -1.5), &[None]);
        assert_eq!(t.finish(), vec![vec![1.0]]);
        // Window and rate 0, or a series the calibration does not know: no adaptation.
        for (id, window, rate) in [("a", 0, 0.0), ("zz", 2, 0.1)] {
            let mut t = Tracker::new(&c, id, 1, (window, rate));
            t.observe(1, (0, 1), (10.0, 100.0), &[Some((9.0, 11.0))]);
            assert_eq!(t.finish(), vec![vec![1.0]]);
        }
    }

    #[test]
    fn each_level_widens_on_its_misses_and_narrows_on_its_hits() {
        let (ids, errors, scale) = four_series();
        let c = Calibration::fit(&[80.0, 95.0], &ids, &errors, &scale, &vec![vec![false]; 4]);
        // Rate 0.1, spread window off: a miss multiplies a level's factor by exp(0.1·(1 − α)),
        // a hit by exp(−0.1·α) (α = 0.2 at 80 %, 0.05 at 95 %).
        let mut t = Tracker::new(&c, "a", 1, (0, 0.1));
        // 13 lies outside the 80 % band, inside the 95 % one: known from origin 2 on.
        t.observe(
            2,
            (0, 1),
            (10.0, 13.0),
            &[Some((9.0, 11.0)), Some((7.0, 14.0))],
        );
        // A refused level is left as it is.
        t.observe(3, (0, 1), (10.0, 10.5), &[Some((9.0, 11.0)), None]);
        t.advance(1);
        assert_eq!(t.factors(0), vec![1.0, 1.0]);
        t.advance(2);
        let f = t.factors(0);
        assert!((f[0] - (0.1f64 * 0.8).exp()).abs() < 1e-12, "{f:?}");
        assert!((f[1] - (-0.1f64 * 0.05).exp()).abs() < 1e-12, "{f:?}");
        let f = t.finish();
        assert!(
            (f[0][0] - (0.1f64 * (0.8 - 0.2)).exp()).abs() < 1e-12,
            "{f:?}"
        );
        assert!((f[0][1] - (-0.1f64 * 0.05).exp()).abs() < 1e-12, "{f:?}");
    }

    #[test]
    fn factors_read_in_either_shape() {
        // Per target and level, and (folders written before the per-level correction) one
        // factor per target for every level.
        #[derive(serde::Deserialize)]
        struct F {
            #[serde(deserialize_with = "factors_of_any_shape")]
            f: Factors,
        }
        let new: F = serde_json::from_str(r#"{"f": {"a": [[1.5, 0.5]]}}"#).unwrap();
        let old: F = serde_json::from_str(r#"{"f": {"a": [1.25, 2.0]}}"#).unwrap();
        assert_eq!(new.f["a"], vec![vec![1.5, 0.5]]);
        assert_eq!(old.f["a"], vec![vec![1.25], vec![2.0]]);
        assert_eq!(
            (
                level_factor(&new.f["a"][0], 1),
                level_factor(&old.f["a"][1], 1)
            ),
            (0.5, 2.0)
        );
        assert_eq!(level_factor(&[], 0), 1.0);
    }
}
