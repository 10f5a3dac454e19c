//! Fitting exponential smoothing as R's `forecast::ets` and statsforecast's `AutoETS` do.
//!
//! # Model space
//! Errors additive or multiplicative, trend none, additive or damped, season none, additive or
//! multiplicative: 18 forms less the three unstable ones R and statsforecast exclude
//! (additive errors with a multiplicative season), so 15. Multiplicative errors and seasons only
//! where every value is > 0; seasonal forms only for `2 ≤ m ≤ 24` on more than `m` rows; a form
//! only where its AICc is defined (`n ≥ k + 2`, `k` counting the variance).
//!
//! # Likelihood and selection
//! The one-step errors are `e_t = y_t − ŷ_t` (additive) or `(y_t − ŷ_t) / ŷ_t` (multiplicative);
//! the fit minimises `L = n ln(Σ e_t²) + 2 Σ ln |ŷ_t|` (the last term for multiplicative errors
//! only): −2 log-likelihood up to a constant that is the same for every form of a series. With
//! `k` = the parameters plus the variance, `AIC = L + 2k` and `AICc = AIC + 2k(k + 1)/(n − k − 1)`
//! choose the form (statsforecast reports the same numbers).
//!
//! # Parameters
//! `β` here is the error-correction `β` (trend update `b_t = φb_{t−1} + β/α · (l_t − l_{t−1} −
//! φb_{t−1})`), bounded as R's "usual" region, `1e-4 ≤ α ≤ 0.9999`, `1e-4 ≤ β ≤ α`,
//! `1e-4 ≤ γ ≤ 1 − α`, `0.8 ≤ φ ≤ 0.98`, and also admissible (the characteristic polynomial's
//! roots inside the unit circle, checked by the Schur–Cohn recursion): R's `bounds = "both"`.
//! [`Ets::beta`](super::Ets) stores Holt's `β* = β/α`, which the filter uses.
//!
//! # Start and optimiser
//! Initial states from a classical decomposition (a line and one harmonic where there are fewer
//! than three seasons), then a line through the first `max(10, 2m)` seasonally adjusted values;
//! smoothing parameters from R's `initparam` (`α = 0.2/m`, `β = 0.1α`, `γ = 0.05(1 − α)`,
//! `φ ≈ 0.978`). Nelder-Mead (the `argmin` crate) moves every parameter and initial state at
//! once (the first of the `m` seasonal states follows from the others, which fixes their mean),
//! then restarts once from its best point. Deterministic: no random numbers, fixed caps.

use super::{
    check_values, data_scale, nelder_mead, step, Candidate, ErrorType, Ets, EtsSpec, Season,
    Smoothing, Trend,
};
use crate::error::{Error, Result};
use argmin::core::CostFunction;
use std::cell::RefCell;

const ALPHA_LO: f64 = 1e-4;
const ALPHA_HI: f64 = 0.9999;
const SMOOTH_LO: f64 = 1e-4;
const PHI_LO: f64 = 0.8;
const PHI_HI: f64 = 0.98;
/// The longest season the seasonal forms take (R and statsforecast: 24).
pub const MAX_SEASON: usize = 24;
/// Nelder-Mead iterations per run.
const MAX_ITERS: u64 = 1000;
/// Nelder-Mead runs per form at most: the first, then a restart from its best point. (More
/// restarts fit the training rows better and forecast M1 worse: four gave sMAPE 15.28 against
/// 14.90 on the monthly set.)
const MAX_RUNS: usize = 2;
/// A restart that lowers the cost (−2 log-likelihood) by less than this is the last.
const RESTART_GAIN: f64 = 0.01;
/// Nelder-Mead stops when the standard deviation of the simplex's costs falls below this
/// (costs are −2 log-likelihoods, so 1e-7 is far below any difference that matters).
const SD_TOLERANCE: f64 = 1e-5;
/// Cost of a point outside the parameter region or with non-finite errors.
const PENALTY: f64 = 1e12;
/// The smallest cost (a series fitted exactly would reach −∞).
const COST_FLOOR: f64 = -1e10;

/// Initial states: `season` in [`Ets::season0`]'s layout (`s_{−m} … s_{−1}`), empty without
/// season.
#[derive(Debug, Clone)]
pub(super) struct Start {
    pub level: f64,
    pub trend: f64,
    pub season: Vec<f64>,
}

/// Least-squares fit of `y` on the columns of `x` (row-major, `p` columns) by the normal
/// equations with partial pivoting; `None` when they are singular.
fn least_squares(x: &[f64], p: usize, y: &[f64]) -> Option<Vec<f64>> {
    let mut a = vec![0.0; p * (p + 1)];
    for (r, &v) in y.iter().enumerate() {
        let row = &x[r * p..(r + 1) * p];
        for i in 0..p {
            for j in 0..p {
                a[i * (p + 1) + j] += row[i] * row[j];
            }
            a[i * (p + 1) + p] += row[i] * v;
        }
    }
    for c in 0..p {
        let piv = (c..p).max_by(|&i, &j| {
            a[i * (p + 1) + c]
                .abs()
                .total_cmp(&a[j * (p + 1) + c].abs())
        })?;
        if a[piv * (p + 1) + c].abs() < 1e-12 * (1.0 + a[c * (p + 1) + c].abs()) {
            return None;
        }
        for j in 0..=p {
            a.swap(c * (p + 1) + j, piv * (p + 1) + j);
        }
        for i in 0..p {
            if i != c {
                let f = a[i * (p + 1) + c] / a[c * (p + 1) + c];
                for j in c..=p {
                    a[i * (p + 1) + j] -= f * a[c * (p + 1) + j];
                }
            }
        }
    }
    Some(
        (0..p)
            .map(|i| a[i * (p + 1) + p] / a[i * (p + 1) + i])
            .collect(),
    )
}

/// `(intercept, slope)` of the least-squares line through `(t, y_{t−1})`, `t = 1..=n`: the
/// intercept is the value one row before the first.
fn line_from_one(y: &[f64]) -> (f64, f64) {
    let n = y.len() as f64;
    if y.len() < 2 {
        return (y.first().copied().unwrap_or(0.0), 0.0);
    }
    let tm = (n + 1.0) / 2.0;
    let ym = y.iter().sum::<f64>() / n;
    let (mut sty, mut stt) = (0.0, 0.0);
    for (i, &v) in y.iter().enumerate() {
        let d = (i + 1) as f64 - tm;
        sty += d * (v - ym);
        stt += d * d;
    }
    let slope = sty / stt;
    (ym - slope * tm, slope)
}

/// The seasonal component of every row of `y` (period `m`, `n ≥ 4`): a classical decomposition
/// (centred moving average, per-position means of the detrended values, normalised to mean 0 or
/// 1) where there are three seasons, else `y` less a line fitted together with one harmonic.
fn seasonal_component(y: &[f64], m: usize, season: Season) -> Vec<f64> {
    let n = y.len();
    let mult = season == Season::Multiplicative;
    if n < 3 * m {
        let two_pi = std::f64::consts::TAU;
        // m = 2: the sine is 0 at every integer row, so only the cosine is a column.
        let p = if m == 2 { 3 } else { 4 };
        let mut x = Vec::with_capacity(n * p);
        for t in 1..=n {
            let a = two_pi * t as f64 / m as f64;
            x.extend([1.0, t as f64]);
            if m > 2 {
                x.push(a.sin());
            }
            x.push(a.cos());
        }
        let c = least_squares(&x, p, y).unwrap_or_else(|| {
            let (i, s) = line_from_one(y);
            vec![i, s, 0.0, 0.0]
        });
        return (0..n)
            .map(|i| {
                let trend = c[0] + c[1] * (i + 1) as f64;
                if mult {
                    y[i] / trend
                } else {
                    y[i] - trend
                }
            })
            .collect();
    }
    // Centred moving average: weights 1/m (odd m), or ½, 1, …, 1, ½ over m + 1 rows (even m).
    let half = m / 2;
    let mut detrended = vec![f64::NAN; n];
    for (t, d) in detrended.iter_mut().enumerate().take(n - half).skip(half) {
        let trend = if m % 2 == 1 {
            y[t - half..=t + half].iter().sum::<f64>() / m as f64
        } else {
            (0.5 * y[t - half] + y[t - half + 1..t + half].iter().sum::<f64>() + 0.5 * y[t + half])
                / m as f64
        };
        *d = if mult { y[t] / trend } else { y[t] - trend };
    }
    let mut figure: Vec<f64> = (0..m)
        .map(|j| {
            let vals: Vec<f64> = detrended
                .iter()
                .skip(j)
                .step_by(m)
                .copied()
                .filter(|v| v.is_finite())
                .collect();
            vals.iter().sum::<f64>() / vals.len().max(1) as f64
        })
        .collect();
    let mean = figure.iter().sum::<f64>() / m as f64;
    for f in &mut figure {
        *f = if mult { *f / mean } else { *f - mean };
    }
    (0..n).map(|i| figure[i % m]).collect()
}

/// R's and statsforecast's initial states for `spec` on `y`.
pub(super) fn initial_states(y: &[f64], spec: EtsSpec) -> Start {
    let m = spec.season_len();
    let n = y.len();
    let mult = spec.season == Season::Multiplicative;
    let (season, adjusted) = if m > 0 && n >= 4 {
        let comp = seasonal_component(y, m, spec.season);
        // The free states are those of rows 1..m; row 0's follows from them.
        let mut free: Vec<f64> = comp[1..m].to_vec();
        if mult {
            for s in &mut free {
                *s = s.max(1e-2);
            }
            let sum: f64 = free.iter().sum();
            if sum > m as f64 {
                let total: f64 = free.iter().map(|s| s + 1e-2).sum();
                for s in &mut free {
                    *s /= total;
                }
            }
        }
        let adjusted: Vec<f64> = y
            .iter()
            .zip(&comp)
            .map(|(v, s)| if mult { v / s.max(1e-2) } else { v - s })
            .collect();
        let mut season = Vec::with_capacity(m);
        complete_season(&free, spec.season, &mut season);
        (season, adjusted)
    } else if m > 0 {
        (vec![spec.season.neutral(); m], y.to_vec())
    } else {
        (Vec::new(), y.to_vec())
    };
    let maxn = (2 * m.max(1)).max(10).min(n);
    let (level, trend) = if spec.trend == Trend::None {
        (
            adjusted[..maxn].iter().sum::<f64>() / maxn.max(1) as f64,
            0.0,
        )
    } else {
        let (mut l, mut b) = line_from_one(&adjusted[..maxn]);
        if (l + b).abs() < 1e-8 {
            l *= 1.0 + 1e-3;
            b *= 1.0 + 1e-3;
        }
        (l, b)
    };
    Start {
        level,
        trend,
        season,
    }
}

/// Writes into `out` (cleared) the `m` initial seasonal states from the `m − 1` free ones
/// (those rows 1..m use): row 0's is `m − Σ` (multiplicative) or `−Σ` (additive), so they
/// average 1 or 0.
fn complete_season(free: &[f64], season: Season, out: &mut Vec<f64>) {
    let m = free.len() + 1;
    let sum: f64 = free.iter().sum();
    let first = match season {
        Season::Multiplicative => m as f64 - sum,
        _ => -sum,
    };
    out.clear();
    out.push(first);
    out.extend_from_slice(free);
}

/// Whether every root of `c[0] + c[1] z + … + c[d] z^d` (`c[d] ≠ 0`) has modulus below
/// `radius`: the Schur–Cohn recursion on the polynomial scaled to the unit circle.
fn roots_within(c: &[f64], radius: f64) -> bool {
    let mut p: Vec<f64> = c
        .iter()
        .enumerate()
        .map(|(k, v)| v * radius.powi(k as i32))
        .collect();
    // Each step shortens the polynomial by one, in place (two buffers for the whole recursion:
    // this runs at every likelihood evaluation of a seasonal form).
    let mut next = vec![0.0; p.len()];
    let mut len = p.len();
    while len > 1 {
        let d = len - 1;
        let (a0, an) = (p[0], p[d]);
        if a0.abs() >= an.abs() {
            return false;
        }
        for (k, v) in next[..d].iter_mut().enumerate() {
            *v = an * p[k + 1] - a0 * p[d - k - 1];
        }
        let lead = next[d - 1];
        for (v, n) in p.iter_mut().zip(&next[..d]) {
            *v = n / lead;
        }
        len = d;
    }
    true
}

/// R's `admissible()`: the forecast-error weights of the model decay (`β` in error-correction
/// form; `φ = 1` without damping).
fn admissible(spec: EtsSpec, alpha: f64, beta: f64, gamma: f64, phi: f64) -> bool {
    let m = spec.season_len();
    if !(0.0..=1.0 + 1e-8).contains(&phi) {
        return false;
    }
    let has_trend = spec.trend != Trend::None;
    if m == 0 {
        if alpha < 1.0 - 1.0 / phi || alpha > 1.0 + 1.0 / phi {
            return false;
        }
        if has_trend && (beta < alpha * (phi - 1.0) || beta > (1.0 + phi) * (2.0 - alpha)) {
            return false;
        }
        return true;
    }
    let beta = if has_trend { beta } else { 0.0 };
    let mf = m as f64;
    if gamma < (1.0 - 1.0 / phi - alpha).max(0.0) || gamma > 1.0 + 1.0 / phi - alpha {
        return false;
    }
    if alpha < 1.0 - 1.0 / phi - gamma * (1.0 - mf + phi + phi * mf) / (2.0 * phi * mf) {
        return false;
    }
    if beta < -(1.0 - phi) * (gamma / mf + alpha) {
        return false;
    }
    let mut poly = Vec::with_capacity(m + 2);
    poly.push(phi * (1.0 - alpha - gamma));
    poly.push(alpha + beta - alpha * phi + gamma - 1.0);
    poly.extend(std::iter::repeat_n(
        alpha + beta - alpha * phi,
        m.saturating_sub(2),
    ));
    poly.push(alpha + beta - phi);
    poly.push(1.0);
    roots_within(&poly, 1.0 + 1e-10)
}

/// How a Nelder-Mead point maps to a model: `[α, β?, γ?, φ?, l_0, b_0?, s_{−m+1} … s_{−1}]`
/// (`?`: only when present), every value in its own units.
struct Layout {
    spec: EtsSpec,
    m: usize,
}

impl Layout {
    /// The smoothing parameters of `x` (β in error-correction form), or `None` outside the
    /// usual and admissible region.
    fn smoothing(&self, x: &[f64]) -> Option<Smoothing> {
        let mut i = 0;
        let mut next = || {
            i += 1;
            x[i - 1]
        };
        let alpha = next();
        let beta = if self.spec.has_trend() { next() } else { 0.0 };
        let gamma = if self.m > 0 { next() } else { 0.0 };
        let phi = if self.spec.damped() { next() } else { 1.0 };
        let usual = (ALPHA_LO..=ALPHA_HI).contains(&alpha)
            && (!self.spec.has_trend() || (SMOOTH_LO..=alpha).contains(&beta))
            && (self.m == 0 || (SMOOTH_LO..=1.0 - alpha).contains(&gamma))
            && (!self.spec.damped() || (PHI_LO..=PHI_HI).contains(&phi));
        (usual && admissible(self.spec, alpha, beta, gamma, phi)).then_some(Smoothing {
            alpha,
            beta,
            gamma,
            phi,
        })
    }

    /// Writes the initial seasonal states into `ring` (a single neutral state without season)
    /// and returns the initial level and trend; `None` for a multiplicative season with a state
    /// ≤ 0.
    fn states(&self, x: &[f64], ring: &mut Vec<f64>) -> Option<(f64, f64)> {
        let mut i = self.spec.n_smoothing();
        let level = x[i];
        i += 1;
        let trend = if self.spec.has_trend() {
            i += 1;
            x[i - 1]
        } else {
            0.0
        };
        if self.m == 0 {
            ring.clear();
            ring.push(self.spec.season.neutral());
        } else {
            complete_season(&x[i..], self.spec.season, ring);
            if self.spec.season == Season::Multiplicative && ring.iter().any(|s| *s <= 0.0) {
                return None;
            }
        }
        Some((level, trend))
    }

    /// The starting point: R's `initparam` smoothing parameters and the heuristic states.
    fn start(&self, s: &Start) -> Vec<f64> {
        let m = self.m.max(1) as f64;
        let alpha = ALPHA_LO + 0.2 * (ALPHA_HI - ALPHA_LO) / m;
        let mut x = vec![alpha];
        if self.spec.has_trend() {
            x.push(SMOOTH_LO + 0.1 * (alpha.min(ALPHA_HI) - SMOOTH_LO));
        }
        if self.m > 0 {
            x.push(SMOOTH_LO + 0.05 * ((1.0 - alpha).min(ALPHA_HI) - SMOOTH_LO));
        }
        if self.spec.damped() {
            x.push(PHI_LO + 0.99 * (PHI_HI - PHI_LO));
        }
        x.push(s.level);
        if self.spec.has_trend() {
            x.push(s.trend);
        }
        if self.m > 0 {
            x.extend_from_slice(&s.season[1..]);
        }
        x
    }

    /// The initial simplex's step along each coordinate, from the data's scale.
    fn steps(&self, x: &[f64], scale: f64) -> Vec<f64> {
        let mut steps = Vec::with_capacity(x.len());
        let ns = self.spec.n_smoothing();
        for (i, &v) in x.iter().enumerate() {
            steps.push(if i < ns {
                // φ sits at its upper bound's side: step down.
                if self.spec.damped() && i == ns - 1 {
                    -0.05
                } else {
                    0.1 * v.max(0.05)
                }
            } else if i == ns {
                0.1 * v.abs().max(scale)
            } else if self.spec.has_trend() && i == ns + 1 {
                0.1 * v.abs().max(0.1 * scale)
            } else if self.spec.season == Season::Multiplicative {
                0.05
            } else {
                0.5 * scale
            });
        }
        steps
    }
}

/// The fit's objective (−2 log-likelihood up to a constant) and its parts.
struct Objective<'a> {
    layout: &'a Layout,
    y: &'a [f64],
    ring: RefCell<Vec<f64>>,
}

/// What one run of the recursions gives.
struct Run {
    cost: f64,
    sse: f64,
}

impl Objective<'_> {
    fn run(&self, x: &[f64]) -> Option<Run> {
        let layout = self.layout;
        let p = layout.smoothing(x)?;
        let mut ring = self.ring.borrow_mut();
        let (mut l, mut b) = layout.states(x, &mut ring)?;
        let spec = layout.spec;
        let trend = spec.trend != Trend::None;
        let mult_season = spec.season == Season::Multiplicative;
        let mult_error = spec.error == ErrorType::Multiplicative;
        // The filter's trend update takes Holt's β* = β/α.
        let holt = Smoothing {
            beta: p.beta / p.alpha,
            ..p
        };
        let m = ring.len();
        let (mut j, mut sum_e2, mut sum_log, mut sse) = (0, 0.0, 0.0, 0.0);
        for &yt in self.y {
            let (a, yhat, l_new, b_new, s_new) = step(trend, spec.season, holt, l, b, ring[j], yt);
            if mult_season && a <= 0.0 {
                return None;
            }
            let r = yt - yhat;
            sse += r * r;
            if mult_error {
                if yhat <= 0.0 {
                    return None;
                }
                let e = r / yhat;
                sum_e2 += e * e;
                sum_log += yhat.ln();
            } else {
                sum_e2 += r * r;
            }
            l = l_new;
            b = b_new;
            ring[j] = s_new;
            j += 1;
            if j == m {
                j = 0;
            }
        }
        let n = self.y.len() as f64;
        let cost = n * sum_e2.max(f64::MIN_POSITIVE).ln() + 2.0 * sum_log;
        (cost.is_finite() && sse.is_finite()).then_some(Run {
            cost: cost.max(COST_FLOOR),
            sse,
        })
    }

    fn eval(&self, x: &[f64]) -> f64 {
        self.run(x).map_or(PENALTY, |r| r.cost.min(PENALTY))
    }
}

impl CostFunction for Objective<'_> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, x: &Self::Param) -> std::result::Result<f64, argmin::core::Error> {
        Ok(self.eval(x))
    }
}

/// Fits `spec` on `y` (validated by the caller).
pub(super) fn fit(y: &[f64], spec: EtsSpec) -> Result<Ets> {
    let n = y.len();
    let layout = Layout {
        spec,
        m: spec.season_len(),
    };
    let start = initial_states(y, spec);
    let objective = || Objective {
        layout: &layout,
        y,
        ring: RefCell::new(Vec::with_capacity(layout.m.max(1))),
    };
    let x0 = layout.start(&start);
    let scale = data_scale(y);
    let probe = objective();
    if probe.run(&x0).is_none() {
        return Err(Error::Forecast(format!(
            "exponential smoothing {} has no admissible start on these values",
            spec.name()
        )));
    }
    // Restarts from the best point with a fresh simplex while they still gain (a collapsed
    // simplex stops early in a valley); at most `MAX_RUNS` runs.
    let nm = (SD_TOLERANCE, MAX_ITERS);
    let mut best = nelder_mead(objective(), &x0, &layout.steps(&x0, scale), nm)?.0;
    let mut cost = probe.eval(&best);
    for _ in 1..MAX_RUNS {
        let next = nelder_mead(objective(), &best, &layout.steps(&best, scale), nm)?.0;
        let c = probe.eval(&next);
        let gain = cost - c;
        if c <= cost {
            best = next;
            cost = c;
        }
        if gain < RESTART_GAIN {
            break;
        }
    }
    let Some(run) = probe.run(&best) else {
        return Err(Error::Forecast(format!(
            "exponential smoothing {} found no parameters with a finite likelihood",
            spec.name()
        )));
    };
    let p = layout.smoothing(&best).unwrap_or(Smoothing {
        alpha: ALPHA_LO,
        beta: 0.0,
        gamma: 0.0,
        phi: 1.0,
    });
    let mut ring = Vec::new();
    let (level0, trend0) = layout.states(&best, &mut ring).unwrap_or_default();
    let k = (spec.num_params() + 1) as f64;
    let aic = run.cost + 2.0 * k;
    let nf = n as f64;
    let aicc = if nf - k - 1.0 > 0.0 {
        aic + 2.0 * k * (k + 1.0) / (nf - k - 1.0)
    } else {
        f64::INFINITY
    };
    Ok(Ets {
        spec,
        alpha: p.alpha,
        beta: if layout.spec.has_trend() {
            p.beta / p.alpha
        } else {
            0.0
        },
        gamma: p.gamma,
        phi: p.phi,
        level0,
        trend0,
        season0: if layout.m > 0 { ring } else { Vec::new() },
        sse: run.sse,
        aic,
        aicc: Some(aicc),
        n,
    })
}

/// The forms [`Ets::auto`] tries on `y` with season length `period`, in tie-break order.
pub(super) fn forms(y: &[f64], period: usize) -> Vec<EtsSpec> {
    let positive = y.iter().all(|v| *v > 0.0);
    let mut seasons = vec![Season::None];
    if (2..=MAX_SEASON).contains(&period) && y.len() > period && y.len() >= 4 {
        seasons.push(Season::Additive);
        if positive {
            seasons.push(Season::Multiplicative);
        }
    }
    let errors: &[ErrorType] = if positive {
        &[ErrorType::Additive, ErrorType::Multiplicative]
    } else {
        &[ErrorType::Additive]
    };
    let mut out = Vec::new();
    for &error in errors {
        for trend in [Trend::None, Trend::Additive, Trend::Damped] {
            for &season in &seasons {
                if error == ErrorType::Additive && season == Season::Multiplicative {
                    continue;
                }
                let spec = EtsSpec {
                    error,
                    trend,
                    season,
                    period,
                };
                if y.len() >= spec.min_rows() {
                    out.push(spec);
                }
            }
        }
    }
    out
}

/// [`Ets::auto`]'s search: every form of [`forms`], the lowest AICc kept.
pub(super) fn auto(y: &[f64], period: usize) -> Result<(Ets, Vec<Candidate>)> {
    check_values(y, None)?;
    let specs = forms(y, period);
    if specs.is_empty() {
        let simplest = EtsSpec {
            error: ErrorType::Additive,
            trend: Trend::None,
            season: Season::None,
            period,
        };
        return Err(Error::NotEnoughData {
            what: "exponential smoothing".into(),
            needed: simplest.min_rows(),
            got: y.len(),
        });
    }
    super::search(y, specs, fit, (|m| m.aicc.unwrap_or(f64::NAN), "AICc"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schur_cohn_agrees_with_known_roots() {
        // (z − 0.5)(z + 0.9) = z² + 0.4 z − 0.45: roots 0.5 and −0.9.
        assert!(roots_within(&[-0.45, 0.4, 1.0], 1.0));
        assert!(!roots_within(&[-0.45, 0.4, 1.0], 0.8));
        // (z − 1.1)(z − 0.2) = z² − 1.3 z + 0.22.
        assert!(!roots_within(&[0.22, -1.3, 1.0], 1.0));
        // z² + 0.25: roots ±0.5i.
        assert!(roots_within(&[0.25, 0.0, 1.0], 0.51));
        assert!(!roots_within(&[0.25, 0.0, 1.0], 0.49));
    }

    #[test]
    fn classical_decomposition_recovers_a_clean_season() {
        // A line plus an exact period-4 pattern (mean 0): the decomposition returns the pattern.
        let pattern = [3.0, -1.0, -4.0, 2.0];
        let y: Vec<f64> = (0..24)
            .map(|t| 10.0 + 0.5 * t as f64 + pattern[t % 4])
            .collect();
        let s = seasonal_component(&y, 4, Season::Additive);
        for (t, v) in s.iter().enumerate() {
            assert!((v - pattern[t % 4]).abs() < 1e-9, "row {t}: {v}");
        }
        let st = initial_states(
            &y,
            EtsSpec {
                error: ErrorType::Additive,
                trend: Trend::Additive,
                season: Season::Additive,
                period: 4,
            },
        );
        // The line through the adjusted values 10.5 + 0.5 t (t = 1..): one row before the first.
        assert!(
            (st.level - 9.5).abs() < 1e-9 && (st.trend - 0.5).abs() < 1e-9,
            "{st:?}"
        );
        for (j, want) in pattern.iter().enumerate() {
            assert!((st.season[j] - want).abs() < 1e-9, "{st:?}");
        }
    }
}

/// Against statsforecast 2.1.1 (tests/fixtures/statsforecast/, generated by the script there).
#[cfg(test)]
mod statsforecast {
    use super::super::{ErrorType, Ets, EtsSpec, Season, Trend};
    use serde_json::Value;

    fn fixture() -> Value {
        serde_json::from_str(include_str!(
            "../../tests/fixtures/statsforecast/statsforecast.json"
        ))
        .unwrap()
    }

    fn spec_of(form: &str, m: usize) -> EtsSpec {
        let c: Vec<char> = form.chars().collect();
        let error = if c[0] == 'M' {
            ErrorType::Multiplicative
        } else {
            ErrorType::Additive
        };
        let damped = form.contains('d');
        let trend = match (c[1], damped) {
            ('N', _) => Trend::None,
            (_, true) => Trend::Damped,
            _ => Trend::Additive,
        };
        let season = match c[c.len() - 1] {
            'A' => Season::Additive,
            'M' => Season::Multiplicative,
            _ => Season::None,
        };
        EtsSpec {
            error,
            trend,
            season,
            period: m,
        }
    }

    fn values(v: &Value) -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    }

    /// Six series (AirPassengers' first 120 months, three M1 monthly and two M1 quarterly
    /// histories), five fixed forms each and AutoETS's choice, as statsforecast 2.1.1 fits them.
    /// Simple exponential smoothing has one optimum: the same AICc and α. The other forms are
    /// within a few percent of statsforecast's AICc, usually below it (measured: 22 of 30 lower
    /// or equal within 0.5; the worst 3.3 % above, M1 quarterly QNG1's ETS(A,A,A), where our
    /// Nelder-Mead stops in another basin). `auto` lands within 1.5 of statsforecast's AICc or
    /// below it (measured: worst +1.2, M1 monthly MNB70), and where both choose the same form
    /// with nearly the same AICc, the forecasts agree (measured: within 0.9 % and 1.7 %).
    #[test]
    fn fits_as_statsforecast_does() {
        let fx = fixture();
        assert_eq!(fx["statsforecast"], "2.1.1");
        for s in fx["series"].as_array().unwrap() {
            let name = s["name"].as_str().unwrap();
            let y = values(&s["y"]);
            let m = s["m"].as_u64().unwrap() as usize;
            let h = s["h"].as_u64().unwrap() as usize;
            for f in s["forms"].as_array().unwrap() {
                let spec = spec_of(f["form"].as_str().unwrap(), m);
                let theirs = f["aicc"].as_f64().unwrap();
                let fit = Ets::fit(&y, spec).unwrap();
                let ours = fit.aicc.unwrap();
                assert!(
                    ours <= theirs + 0.035 * theirs.abs(),
                    "{name} {}: AICc {ours} vs statsforecast {theirs}",
                    spec.name()
                );
                if spec.trend == Trend::None && spec.season == Season::None {
                    assert!(
                        (ours - theirs).abs() < 0.01,
                        "{name}: SES AICc {ours} vs {theirs}"
                    );
                    let alpha = f["alpha"].as_f64().unwrap();
                    assert!(
                        (fit.alpha - alpha).abs() < 0.01,
                        "{name}: SES α {} vs {alpha}",
                        fit.alpha
                    );
                }
            }
            let (model, _) = Ets::auto(&y, m).unwrap();
            let theirs = s["auto"]["aicc"].as_f64().unwrap();
            let ours = model.aicc.unwrap();
            assert!(
                ours <= theirs + 1.5,
                "{name}: auto AICc {ours} vs statsforecast {theirs}"
            );
            let form = s["auto"]["form"].as_str().unwrap().replace(' ', "");
            if form == model.spec.name() && (ours - theirs).abs() < 1.5 {
                let want = values(&s["auto"]["forecast"]);
                let st = model.filter(&y);
                for (k, w) in want.iter().enumerate().take(h) {
                    let got = st.forecast(y.len(), k + 1);
                    assert!(
                        (got - w).abs() <= 0.02 * w.abs(),
                        "{name} {form} step {}: {got} vs statsforecast {w}",
                        k + 1
                    );
                }
            }
        }
    }
}
