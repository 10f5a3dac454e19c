//! Split-conformal prediction intervals: the errors of the trained model on the validation rows
//! (every origin there, each step that stays inside them) calibrate a half-width per series,
//! target, horizon step and level, with the finite-sample quantile: the `⌈(n + 1)·level⌉`-th
//! smallest of n scores. The score is the error relative to the prediction, `|y − ŷ| / |ŷ|`, for
//! a series whose training values are all positive (its errors grow with its level, which may
//! leave the validation range), else the absolute error `|y − ŷ|`. A series with enough scores of
//! its own for a level gets its own; otherwise the scores of every series of the same kind are
//! pooled (absolute ones divided by each series' MASE scale, and the quantile scaled back); with
//! too few even then the level is refused for that step (never an interval whose coverage cannot
//! be promised).
//!
//! Validation rows also chose the epoch and the normalisation, so the errors are those of a model
//! selected on them: slightly optimistic, as in every split-conformal use of a validation set.

use super::{Prepared, TrainedForecaster};
use crate::data::Panel;
use crate::error::Result;
use serde::{Deserialize, Serialize};

/// Where a half-width comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The series' own validation errors.
    Series,
    /// Every series' errors, scaled by their MASE scales.
    Pooled,
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
    /// MASE scale (`None`: an absolute series not pooled).
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
            &per_level,
            scale,
            relative,
            vec![None; levels.len()],
        )
    }

    /// As [`Calibration::fit`] with scores of their own per level (`errors[level][s][k][h]`),
    /// and each level's quantile pair for conformalised quantile regression.
    pub fn fit_levels(
        levels: &[f64],
        ids: &[String],
        errors: &[&[Vec<Vec<Vec<f64>>>]],
        scale: &[Vec<Option<f64>>],
        relative: &[Vec<bool>],
        cqr: Vec<Option<(usize, usize)>>,
    ) -> Calibration {
        let mut c = Calibration {
            levels: levels.to_vec(),
            ids: ids.to_vec(),
            bands: Vec::new(),
            relative: relative.to_vec(),
            cqr,
        };
        for (i, &level) in levels.iter().enumerate() {
            let one = Calibration::fit_one(level, errors[i], scale, relative);
            if c.bands.is_empty() {
                c.bands = one
                    .iter()
                    .map(|t| t.iter().map(|h| vec![Vec::new(); h.len()]).collect())
                    .collect();
            }
            for (s, t) in one.into_iter().enumerate() {
                for (k, h) in t.into_iter().enumerate() {
                    for (j, b) in h.into_iter().enumerate() {
                        c.bands[s][k][j].push(b);
                    }
                }
            }
        }
        c
    }

    /// The bands of one level: `[series][target][step]`.
    fn fit_one(
        level: f64,
        errors: &[Vec<Vec<Vec<f64>>>],
        scale: &[Vec<Option<f64>>],
        relative: &[Vec<bool>],
    ) -> Vec<Vec<Vec<Band>>> {
        let n_series = errors.len();
        let n_targets = errors.first().map_or(0, Vec::len);
        let horizon = errors.first().and_then(|t| t.first()).map_or(0, Vec::len);
        let none = Band {
            half: None,
            from: Source::Refused,
            n: 0,
        };
        let mut bands = vec![vec![vec![none; horizon]; n_targets]; n_series];
        for k in 0..n_targets {
            for h in 0..horizon {
                // Pooled scores of each kind: relative ones as they are, absolute ones per unit
                // of their series' MASE scale.
                let unit = |s: usize| -> Option<f64> {
                    if relative[s][k] {
                        Some(1.0)
                    } else {
                        scale[s][k]
                    }
                };
                let pool = |rel: bool| -> Vec<f64> {
                    (0..n_series)
                        .filter(|&s| relative[s][k] == rel)
                        .filter_map(|s| unit(s).map(|q| (s, q)))
                        .flat_map(|(s, q)| errors[s][k][h].iter().map(move |e| e / q))
                        .collect()
                };
                let mut pools = [pool(false), pool(true)];
                for (s, series_bands) in bands.iter_mut().enumerate() {
                    let own = &errors[s][k][h];
                    let pooled = &mut pools[usize::from(relative[s][k])];
                    series_bands[k][h] = match conformal_rank(own.len(), level) {
                        Some(r) => Band {
                            half: Some(kth(&mut own.clone(), r)),
                            from: Source::Series,
                            n: own.len(),
                        },
                        None => match (conformal_rank(pooled.len(), level), unit(s)) {
                            (Some(r), Some(q)) if n_series > 1 => Band {
                                half: Some(kth(pooled, r) * q),
                                from: Source::Pooled,
                                n: pooled.len(),
                            },
                            _ => Band {
                                half: None,
                                from: Source::Refused,
                                n: own.len(),
                            },
                        },
                    };
                }
            }
        }
        bands
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
    /// pooled, refused]` per level.
    pub fn summary(&self) -> Vec<[usize; 3]> {
        let mut out = vec![[0usize; 3]; self.levels.len()];
        for b in self.bands.iter().flatten().flatten() {
            for (i, band) in b.iter().enumerate() {
                out[i][band.from as usize] += 1;
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
        Ok(Calibration::fit_levels(
            levels,
            &panel.ids,
            &per_level,
            &self.mase_scale,
            &relative,
            cqr,
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

    #[test]
    fn own_errors_first_then_pooled_then_refused() {
        // Series a: 9 errors 1..=9 at step 1 → 80 %: rank 8 → 8; 95 %: ⌈10 · 0.95⌉ = 10 > 9, so
        // pooled: a's 9 errors / 2 and b's 12 errors (10..=120 step 10) / 20, 21 in all → rank
        // ⌈22 · 0.95⌉ = 21, the largest scaled error: max(9/2, 120/20) = 6; × a's scale 2 = 12.
        let a: Vec<f64> = (1..=9).map(f64::from).collect();
        let b: Vec<f64> = (1..=12).map(|v| 10.0 * v as f64).collect();
        let errors = vec![vec![vec![a]], vec![vec![b]]];
        let scale = vec![vec![Some(2.0)], vec![Some(20.0)]];
        let ids = vec!["a".to_string(), "b".to_string()];
        let abs = vec![vec![false]; 2];
        let c = Calibration::fit(&[80.0, 95.0], &ids, &errors, &scale, &abs);
        let ba = c.bands("a", 0, 1).unwrap();
        assert_eq!(
            ba[0],
            Band {
                half: Some(8.0),
                from: Source::Series,
                n: 9
            }
        );
        assert_eq!(
            ba[1],
            Band {
                half: Some(12.0),
                from: Source::Pooled,
                n: 21
            }
        );
        // b: 12 own errors → 80 %: rank ⌈13 · 0.8⌉ = 11 → 110; 95 %: ⌈13 · 0.95⌉ = 13 > 12 →
        // pooled rank 21 → 6 × 20 = 120.
        let bb = c.bands("b", 0, 1).unwrap();
        assert_eq!(bb[0].half, Some(110.0));
        assert_eq!(bb[1].half, Some(120.0));
        assert_eq!(c.summary(), vec![[2, 0, 0], [0, 2, 0]]);
        // One series alone cannot pool: its 95 % is refused.
        let c = Calibration::fit(&[95.0], &ids[..1], &errors[..1], &scale[..1], &abs[..1]);
        assert_eq!(c.bands("a", 0, 1).unwrap()[0].from, Source::Refused);
        assert!(c.bands("zz", 0, 1).is_none() && c.bands("a", 0, 2).is_none());
        // Relative scores pool only with relative ones: a relative series next to an absolute
        // one cannot pool, so its 95 % is refused; its 80 % band scales with the prediction.
        let rel = vec![vec![true], vec![false]];
        let c = Calibration::fit(&[80.0, 95.0], &ids, &errors, &scale, &rel);
        assert_eq!(c.bands("a", 0, 1).unwrap()[1].from, Source::Refused);
        assert_eq!(c.around(0, 0, 8.0, 10.0), (-70.0, 90.0));
        assert_eq!(c.around(1, 0, 8.0, 10.0), (2.0, 18.0));
    }
}
