//! The reference smoother under the ES modes: additive-error Holt-Winters (the nine forms
//! statsmodels' `ExponentialSmoothing` fits: trend none, additive, damped × season none, additive,
//! multiplicative), fitted by least squares on the one-step errors and chosen by
//! `AIC = n ln(SSE/n) + 2k`. This is the fit the `es` and `ets-residual` networks normalise by
//! (their references, [`crate::normalize::EtsBank`]); the forecaster ETS (the baseline, plain
//! `ets`) is the likelihood fit of [`super::fit`]. Measured on the public short-seasonal bench,
//! the ES modes do better on these references (mean MASE 0.998) than on the likelihood fit's
//! (1.042): least squares with a grid of starts finds the fast-moving seasons (γ ≈ 0.4) that
//! the AICc-best fit smooths away.
//!
//! The sum of squared one-step errors over the given rows is minimised by Nelder-Mead (the
//! `argmin` crate) over every parameter at once: the smoothing parameters through bounded
//! logistic maps (α ∈ [1e-4, 0.9999], β* ∈ [1e-4, α], γ ∈ [1e-4, 1 − α], φ ∈ [0.8, 0.98]), the
//! initial states as offsets from a heuristic start in units of a data scale (multiplicative
//! seasonal states through their logarithm, so they stay positive). Nelder-Mead starts from the
//! best point of a small grid of smoothing parameters (with a trend, from the best point of each
//! of two basins, β ≪ α and β near α, keeping the better end), then restarts once from the best
//! point found. Everything is deterministic: no random numbers, fixed iteration caps.

use super::{
    check_values, data_scale, nelder_mead, step, Candidate, ErrorType, Ets, EtsSpec, Season,
    Smoothing, Trend,
};
use crate::error::{Error, Result};
use argmin::core::CostFunction;
use std::cell::RefCell;

/// Sum of squared one-step errors of the recursions over `y`. `ring` holds the initial seasonal
/// states `s_{−m} … s_{−1}` (a single 0 without season) and is overwritten. For a
/// multiplicative season a non-positive `a_t` makes the result infinite (its seasonal states
/// would turn negative).
fn sse_of(spec: EtsSpec, p: Smoothing, l0: f64, b0: f64, ring: &mut [f64], y: &[f64]) -> f64 {
    let trend = spec.trend != Trend::None;
    let season = spec.season;
    let mult = season == Season::Multiplicative;
    let m = ring.len();
    let (mut l, mut b) = (l0, b0);
    let mut j = 0;
    let mut sse = 0.0;
    for &yt in y {
        let s_old = ring[j];
        let (a, yhat, l_new, b_new, s_new) = step(trend, season, p, l, b, s_old, yt);
        if mult && a <= 0.0 {
            return f64::INFINITY;
        }
        let e = yt - yhat;
        sse += e * e;
        l = l_new;
        b = b_new;
        ring[j] = s_new;
        j += 1;
        if j == m {
            j = 0;
        }
    }
    if sse.is_finite() {
        sse
    } else {
        f64::INFINITY
    }
}

const ALPHA_LO: f64 = 1e-4;
const ALPHA_HI: f64 = 0.9999;
const SMOOTH_LO: f64 = 1e-4;
const PHI_LO: f64 = 0.8;
const PHI_HI: f64 = 0.98;
/// Nelder-Mead iterations per run (two runs per fit, three with a trend).
const MAX_ITERS: u64 = 2000;
/// Nelder-Mead stops when the standard deviation of the simplex's costs (SSE / (n · scale²))
/// falls below this.
const SD_TOLERANCE: f64 = 1e-10;
/// Cost of a point whose SSE is not finite (kept finite so the simplex statistics stay finite).
const PENALTY: f64 = 1e30;
/// Multiplicative seasonal states are `start × exp(LOG_STEP · v)`.
const LOG_STEP: f64 = 0.1;
/// The trend coordinate moves the initial trend by `TREND_STEP · scale` per unit.
const TREND_STEP: f64 = 0.1;

fn logistic(u: f64) -> f64 {
    1.0 / (1.0 + (-u).exp())
}

fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-9, 1.0 - 1e-9);
    (p / (1.0 - p)).ln()
}

/// The heuristic initial states.
#[derive(Debug, Clone)]
pub(super) struct Start {
    pub level: f64,
    pub trend: f64,
    pub season: Vec<f64>,
}

impl Start {
    /// Level from the first cycle's mean, trend from the first two cycles' means, seasonal
    /// indices from the first two cycles detrended by that line; without season, a line through
    /// the first (up to) 10 rows.
    pub(super) fn heuristic(y: &[f64], spec: EtsSpec) -> Start {
        let m = spec.season_len();
        let has_trend = spec.trend != Trend::None;
        if m == 0 {
            let k = y.len().min(10);
            let (intercept, slope) = line(&y[..k]);
            return if has_trend {
                Start {
                    level: intercept - slope,
                    trend: slope,
                    season: Vec::new(),
                }
            } else {
                Start {
                    level: y[0],
                    trend: 0.0,
                    season: Vec::new(),
                }
            };
        }
        let mean = |c: usize| y[c * m..(c + 1) * m].iter().sum::<f64>() / m as f64;
        let (mean1, mean2) = (mean(0), mean(1));
        let mut slope = (mean2 - mean1) / m as f64;
        let centre = (m as f64 - 1.0) / 2.0;
        let mult = spec.season == Season::Multiplicative;
        let line_at = |slope: f64, t: f64| mean1 + slope * (t - centre);
        if mult && (line_at(slope, -1.0) <= 0.0 || line_at(slope, 2.0 * m as f64) <= 0.0) {
            slope = 0.0;
        }
        let mut season: Vec<f64> = (0..m)
            .map(|j| {
                let r0 = j as f64;
                let r1 = (j + m) as f64;
                (spec.season.remove(y[j], line_at(slope, r0))
                    + spec.season.remove(y[j + m], line_at(slope, r1)))
                    / 2.0
            })
            .collect();
        let avg = season.iter().sum::<f64>() / m as f64;
        for s in &mut season {
            *s = if mult { *s / avg } else { *s - avg };
        }
        Start {
            level: line_at(slope, -1.0),
            trend: if has_trend { slope } else { 0.0 },
            season,
        }
    }
}

/// Least-squares line through `(t, y_t)`, `t = 0..`; returns `(value at t = 0, slope)`.
fn line(y: &[f64]) -> (f64, f64) {
    let n = y.len() as f64;
    if y.len() < 2 {
        return (y.first().copied().unwrap_or(0.0), 0.0);
    }
    let tm = (n - 1.0) / 2.0;
    let ym = y.iter().sum::<f64>() / n;
    let (mut sty, mut stt) = (0.0, 0.0);
    for (t, &v) in y.iter().enumerate() {
        let d = t as f64 - tm;
        sty += d * (v - ym);
        stt += d * d;
    }
    let slope = sty / stt;
    (ym - slope * tm, slope)
}

/// How a Nelder-Mead coordinate vector maps to parameters and initial states:
/// `[u_α, u_β?, u_γ?, u_φ?, v_l, v_b?, v_s (m − 1 of them)…]` (`?`: only when present).
#[derive(Debug, Clone)]
struct Layout {
    spec: EtsSpec,
    m: usize,
    scale: f64,
    start: Start,
}

impl Layout {
    fn dim(&self) -> usize {
        self.spec.num_params()
    }

    fn smoothing(&self, x: &[f64]) -> Smoothing {
        let mut i = 0;
        let mut next = || {
            i += 1;
            logistic(x[i - 1])
        };
        let alpha = ALPHA_LO + (ALPHA_HI - ALPHA_LO) * next();
        let beta = if self.spec.has_trend() {
            SMOOTH_LO + (alpha - SMOOTH_LO) * next()
        } else {
            0.0
        };
        let gamma = if self.m > 0 {
            SMOOTH_LO + (1.0 - alpha - SMOOTH_LO) * next()
        } else {
            0.0
        };
        let phi = if self.spec.damped() {
            PHI_LO + (PHI_HI - PHI_LO) * next()
        } else {
            1.0
        };
        Smoothing {
            alpha,
            beta,
            gamma,
            phi,
        }
    }

    /// Writes the initial seasonal states into `ring` (a single 0 without season) and returns
    /// the initial level and trend. The seasonal states are normalised to mean 0 (additive) or 1
    /// (multiplicative): the recursions are unchanged by moving a constant between level and
    /// season, so only `m − 1` seasonal coordinates are free (the last one is fixed at 0).
    fn states(&self, x: &[f64], ring: &mut Vec<f64>) -> (f64, f64) {
        let mut i = self.spec.n_smoothing();
        let level = self.start.level + self.scale * x[i];
        i += 1;
        let trend = if self.spec.has_trend() {
            i += 1;
            self.start.trend + TREND_STEP * self.scale * x[i - 1]
        } else {
            0.0
        };
        ring.clear();
        let coords = x[i..].iter().copied().chain(std::iter::once(0.0));
        match self.spec.season {
            Season::None => ring.push(0.0),
            Season::Additive => {
                ring.extend(
                    self.start
                        .season
                        .iter()
                        .zip(coords)
                        .map(|(s, v)| s + self.scale * v),
                );
                let mean = ring.iter().sum::<f64>() / self.m as f64;
                ring.iter_mut().for_each(|s| *s -= mean);
            }
            Season::Multiplicative => {
                ring.extend(
                    self.start
                        .season
                        .iter()
                        .zip(coords)
                        .map(|(s, v)| s * (LOG_STEP * v).exp()),
                );
                let mean = ring.iter().sum::<f64>() / self.m as f64;
                ring.iter_mut().for_each(|s| *s /= mean);
            }
        }
        (level, trend)
    }

    /// The starting point for given smoothing parameters (initial states at the heuristic).
    fn point(&self, alpha: f64, beta_frac: f64, gamma_frac: f64, phi: f64) -> Vec<f64> {
        let mut x = vec![logit((alpha - ALPHA_LO) / (ALPHA_HI - ALPHA_LO))];
        if self.spec.has_trend() {
            x.push(logit(beta_frac));
        }
        if self.m > 0 {
            x.push(logit(gamma_frac));
        }
        if self.spec.damped() {
            x.push(logit((phi - PHI_LO) / (PHI_HI - PHI_LO)));
        }
        x.resize(self.dim(), 0.0);
        x
    }

    /// Initial simplex step per coordinate.
    fn steps(&self) -> Vec<f64> {
        let mut s = vec![1.0; self.spec.n_smoothing()];
        s.resize(self.dim(), 0.5);
        s
    }
}

/// The Nelder-Mead objective: SSE / (n · scale²), so its values are O(1).
struct Objective<'a> {
    layout: &'a Layout,
    y: &'a [f64],
    norm: f64,
    ring: RefCell<Vec<f64>>,
}

impl Objective<'_> {
    fn eval(&self, x: &[f64]) -> f64 {
        let mut ring = self.ring.borrow_mut();
        let p = self.layout.smoothing(x);
        let (l0, b0) = self.layout.states(x, &mut ring);
        let sse = sse_of(self.layout.spec, p, l0, b0, &mut ring, self.y);
        let cost = sse / self.norm;
        if cost.is_finite() {
            cost.min(PENALTY)
        } else {
            PENALTY
        }
    }
}

impl CostFunction for Objective<'_> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, x: &Self::Param) -> std::result::Result<f64, argmin::core::Error> {
        Ok(self.eval(x))
    }
}

/// Fits one spec on `y` (the training rows of one series): minimises the sum of squared
/// one-step errors over all of `y`.
///
/// # Errors
/// A non-finite value; fewer rows than [`min_rows`]; a seasonal spec with
/// `period < 2`; a multiplicative season with a value ≤ 0.
pub(super) fn fit(y: &[f64], spec: EtsSpec) -> Result<Ets> {
    super::validate(y, spec, min_rows(spec))?;
    let n = y.len();
    let layout = Layout {
        spec,
        m: spec.season_len(),
        scale: data_scale(y),
        start: Start::heuristic(y, spec),
    };
    let norm = n as f64 * layout.scale * layout.scale;
    let objective = || Objective {
        layout: &layout,
        y,
        norm,
        ring: RefCell::new(Vec::with_capacity(layout.m.max(1))),
    };

    // Start from the best points of a small grid of smoothing parameters (initial states at
    // the heuristic). With a trend, the SSE often has two basins, β ≪ α and β near its bound
    // α, so the best start of each is run and the better end kept.
    let probe = objective();
    let mut starts: [Option<(Vec<f64>, f64)>; 2] = [None, None];
    let grid = |present: bool, values: &'static [f64]| if present { values } else { &values[..1] };
    for alpha in [0.1, 0.3, 0.5, 0.7, 0.9] {
        for &beta_frac in grid(layout.spec.has_trend(), &[0.05, 0.3, 0.9]) {
            for &gamma_frac in grid(layout.m > 0, &[0.05, 0.3, 0.9]) {
                for &phi in grid(layout.spec.damped(), &[0.9, 0.97]) {
                    let x = layout.point(alpha, beta_frac, gamma_frac, phi);
                    let c = probe.eval(&x);
                    let slot = &mut starts[usize::from(layout.spec.has_trend() && beta_frac > 0.5)];
                    if slot.as_ref().is_none_or(|(_, b)| c < *b) {
                        *slot = Some((x, c));
                    }
                }
            }
        }
    }
    let steps = layout.steps();
    let mut best: Option<(Vec<f64>, f64)> = None;
    for (x0, _) in starts.into_iter().flatten() {
        let (x, c) = nelder_mead(objective(), &x0, &steps, (SD_TOLERANCE, MAX_ITERS))?;
        if best.as_ref().is_none_or(|(_, b)| c < *b) {
            best = Some((x, c));
        }
    }
    let (x1, _) = best.expect("the grid is not empty");
    let (x2, _) = nelder_mead(objective(), &x1, &steps, (SD_TOLERANCE, MAX_ITERS))?;

    let p = layout.smoothing(&x2);
    let mut ring = Vec::new();
    let (level0, trend0) = layout.states(&x2, &mut ring);
    let season0 = if layout.m > 0 {
        ring.clone()
    } else {
        Vec::new()
    };
    let sse = sse_of(spec, p, level0, trend0, &mut ring, y);
    if !sse.is_finite() {
        return Err(Error::Forecast(format!(
            "exponential smoothing {} found no parameters with a finite one-step error",
            spec.name()
        )));
    }
    let k = spec.num_params() as f64;
    let aic = n as f64 * (sse / n as f64).max(f64::MIN_POSITIVE).ln() + 2.0 * k;
    Ok(Ets {
        spec,
        alpha: p.alpha,
        beta: p.beta,
        gamma: p.gamma,
        phi: p.phi,
        level0,
        trend0,
        season0,
        sse,
        aic,
        aicc: None,
        n,
    })
}

/// Fits every candidate for season length `period` and keeps the lowest AIC (ties keep the
/// first). Candidates, in order: trend none, additive, damped × season none, additive,
/// multiplicative; the seasonal ones only when `period ≥ 2` and `y` has at least
/// `2 · period + 2` rows, the multiplicative ones only when every value is > 0. A candidate
/// that fails is recorded with its error and skipped. Returns the model and all candidates.
///
/// # Errors
/// A non-finite value; too few rows for any candidate (fewer than 3).
pub(super) fn auto(y: &[f64], period: usize) -> Result<(Ets, Vec<Candidate>)> {
    check_values(y, None)?;
    let simplest = EtsSpec {
        error: ErrorType::Additive,
        trend: Trend::None,
        season: Season::None,
        period,
    };
    if y.len() < min_rows(simplest) {
        return Err(Error::NotEnoughData {
            what: "exponential smoothing".into(),
            needed: min_rows(simplest),
            got: y.len(),
        });
    }
    let mut seasons = vec![Season::None];
    if period >= 2 && y.len() >= 2 * period + 2 {
        seasons.push(Season::Additive);
        if y.iter().all(|v| *v > 0.0) {
            seasons.push(Season::Multiplicative);
        }
    }
    let mut specs = Vec::new();
    for trend in [Trend::None, Trend::Additive, Trend::Damped] {
        for &season in &seasons {
            specs.push(EtsSpec {
                error: ErrorType::Additive,
                trend,
                season,
                period,
            });
        }
    }
    super::search(y, specs, fit, (|m| m.aic, "AIC"))
}

/// The fewest rows [`fit`] accepts: one more than [`EtsSpec::num_params`], and for a seasonal
/// model at least two full seasons plus two rows (`2m + 2`).
fn min_rows(spec: EtsSpec) -> usize {
    let m = spec.season_len();
    let seasonal = if m > 0 { 2 * m + 2 } else { 0 };
    (spec.num_params() + 1).max(seasonal)
}
