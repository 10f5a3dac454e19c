//! Exponential smoothing around the network: one ETS model per series and target, fitted on
//! that series' training rows (in the target transform's units, before scaling), then run over
//! every row of a panel with its parameters fixed. Two fits share this home: the ES modes'
//! reference smoother ([`crate::ets::Ets::reference`], least squares) and the forecaster ETS
//! ([`crate::ets::Ets::auto`], AutoETS's likelihood and AICc) that plain `ets` and the baseline
//! use. The filtered states give
//!
//! - the **ES normalisation** (`--normalize es`): each window's target inputs and outputs
//!   relative to the level at the window's origin and the seasonal index of their step;
//! - the **ETS-residual** normalisation (`--normalize ets-residual`): outputs relative to the
//!   ETS forecast from the same origin, so an untrained network is ETS itself;
//! - the **ETS baseline** beside naive and seasonal naive.
//!
//! A state at origin `t` only ever uses rows before `t` (filtering, never smoothing), and the
//! parameters only training rows: nothing leaks from validation or test rows.

use crate::data::Panel;
use crate::ets::{Candidate, Ets, Season, States};
use crate::scale::{ColumnScaler, Scaler};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// One series' ETS model for one target, with the size of its one-step errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EtsFit {
    /// The fitted model.
    pub model: Ets,
    /// Mean one-step error on the training rows: relative (`|y/ŷ − 1|`) for a multiplicative
    /// season, else absolute (`|y − ŷ|`). The unit the network's ES-normalised values count in.
    pub error: f64,
    /// Every model form tried, with its AIC.
    pub candidates: Vec<Candidate>,
    /// The standard Theta method on the same rows (forecaster banks only: the Theta baseline
    /// and `--normalize theta`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theta: Option<crate::theta::Theta>,
}

impl EtsFit {
    /// Whether references combine multiplicatively (a multiplicative season).
    pub fn relative(&self) -> bool {
        self.model.spec.season == Season::Multiplicative
    }
}

/// ETS per training series and target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct EtsBank {
    /// The series' ids, in training order.
    pub ids: Vec<String>,
    /// Per series, per target: the fit, or why there is none.
    pub fits: Vec<Vec<std::result::Result<EtsFit, String>>>,
    /// Per series: the first timestamp of the data it was fitted on. A series that starts
    /// elsewhere later (a file of recent rows) is filtered from states started on its own first
    /// cycles, so that the season's phase and the level are its own.
    #[serde(default)]
    pub starts: Vec<String>,
}

/// The smallest relative error unit (a series ETS fits exactly).
const MIN_RELATIVE: f64 = 1e-4;

impl EtsBank {
    /// Fits ETS with season length `season` on every series' training rows `train` (local to
    /// the series) of `transformed` (the target transform applied, not scaled).
    pub fn fit(transformed: &Panel, train: &[Range<usize>], season: usize) -> EtsBank {
        let cores = crate::threads::cores();
        EtsBank::fit_on_threads(transformed, train, season, cores)
    }

    /// As [`EtsBank::fit`] on `threads` threads. Series are independent and each is fitted by
    /// the same deterministic code, so the bank does not depend on the number of threads.
    pub fn fit_on_threads(
        transformed: &Panel,
        train: &[Range<usize>],
        season: usize,
        threads: usize,
    ) -> EtsBank {
        EtsBank::fit_with(transformed, train, season, threads, (Ets::reference, false))
    }

    /// As [`EtsBank::fit_on_threads`] with the forecaster ETS ([`Ets::auto`]: 15 forms, the
    /// likelihood, AICc) instead of the ES modes' reference smoother, and the standard Theta
    /// method beside it: the ETS and Theta baselines and the plain `ets` and `theta` modes.
    pub fn fit_forecasters_on_threads(
        transformed: &Panel,
        rows: &[Range<usize>],
        season: usize,
        threads: usize,
    ) -> EtsBank {
        EtsBank::fit_with(transformed, rows, season, threads, (Ets::auto, true))
    }

    fn fit_with(
        transformed: &Panel,
        train: &[Range<usize>],
        season: usize,
        threads: usize,
        (search, theta): (FitFn, bool),
    ) -> EtsBank {
        let n = transformed.n_series();
        let fit_series = |s: usize| -> Vec<std::result::Result<EtsFit, String>> {
            (0..transformed.n_targets)
                .map(|k| {
                    let y = &transformed.series_column(s, k)[train[s].clone()];
                    let mut fit = fit_one(y, season, search);
                    if let (Ok(f), true) = (fit.as_mut(), theta) {
                        f.theta = crate::theta::Theta::fit(y, season).ok();
                    }
                    fit
                })
                .collect()
        };
        let fits = crate::threads::map_ordered(n, threads, fit_series);
        EtsBank {
            ids: transformed.ids.clone(),
            starts: (0..n)
                .map(|s| transformed.timestamps[transformed.offsets[s]].to_string())
                .collect(),
            fits,
        }
    }

    /// The fit of target `k` for the series `id`.
    pub fn get(&self, id: &str, k: usize) -> Option<&EtsFit> {
        let s = self.ids.iter().position(|i| i == id)?;
        self.fits[s].get(k)?.as_ref().ok()
    }

    /// Whether series `id` is among the fitted ones (with or without a fit for each target).
    pub fn knows(&self, id: &str) -> bool {
        self.ids.iter().any(|i| i == id)
    }

    /// The first series and target without a fit, and why: `es` and `ets-residual` cannot be
    /// used while there is one.
    pub fn first_missing(&self) -> Option<(String, usize, String)> {
        self.first_missing_among(&|_| true)
    }

    /// As [`EtsBank::first_missing`] among the series (by position) that `used` selects.
    pub fn first_missing_among(
        &self,
        used: &dyn Fn(usize) -> bool,
    ) -> Option<(String, usize, String)> {
        let mut series = self.fits.iter().zip(&self.ids).enumerate();
        series.find_map(|(s, (f, id))| {
            if !used(s) {
                return None;
            }
            f.iter().enumerate().find_map(|(k, r)| match r {
                Err(why) => Some((id.clone(), k, why.clone())),
                Ok(_) => None,
            })
        })
    }

    /// Runs every fitted model over its series in `transformed` (any panel whose series the
    /// bank knows by id; others get no states), with `scaler`'s maps for scaled references.
    pub fn frame(&self, transformed: &Panel, scaler: &Scaler) -> EsFrame {
        let series = (0..transformed.n_series())
            .map(|s| {
                let id = &transformed.ids[s];
                let maps = scaler.for_series(id);
                let start = transformed
                    .series_timestamps(s)
                    .first()
                    .map(|t| t.to_string());
                let moved = self
                    .ids
                    .iter()
                    .position(|i| i == id)
                    .and_then(|b| self.starts.get(b))
                    .is_some_and(|was| start.as_ref() != Some(was));
                (0..transformed.n_targets)
                    .map(|k| {
                        let fit = self.get(id, k)?;
                        let map = maps.and_then(|m| m.get(k)).copied();
                        let y = transformed.series_column(s, k);
                        let model = match moved {
                            true => fit.model.restarted(y)?,
                            false => fit.model.clone(),
                        };
                        Some(ColumnStates {
                            positive: None,
                            theta: match moved {
                                false => fit.theta.as_ref().map(|t| t.filter(y)),
                                true => None,
                            },
                            states: model.filter(y),
                            season: fit.model.spec.season,
                            error: fit.error,
                            map,
                        })
                    })
                    .collect()
            })
            .collect();
        EsFrame {
            ids: transformed.ids.clone(),
            offsets: transformed.offsets.clone(),
            series,
        }
    }
}

/// A search over ETS forms: [`Ets::reference`] or [`Ets::auto`].
type FitFn = fn(&[f64], usize) -> crate::error::Result<(Ets, Vec<Candidate>)>;

/// Fits one column's rows; the error says why there is no model.
fn fit_one(y: &[f64], season: usize, search: FitFn) -> std::result::Result<EtsFit, String> {
    let (model, candidates) = search(y, season).map_err(|e| e.to_string())?;
    let states = model.filter(y);
    let relative = model.spec.season == Season::Multiplicative;
    let mut sum = 0.0;
    for (r, &v) in y.iter().enumerate() {
        let p = states.one_step(r);
        sum += if relative {
            (v / p - 1.0).abs()
        } else {
            (v - p).abs()
        };
    }
    let mean_abs = y.iter().map(|v| v.abs()).sum::<f64>() / y.len().max(1) as f64;
    let floor = if relative {
        MIN_RELATIVE
    } else {
        (mean_abs * MIN_RELATIVE).max(f64::MIN_POSITIVE)
    };
    let error = sum / y.len().max(1) as f64;
    if !error.is_finite() {
        return Err(format!(
            "its one-step errors are not finite ({})",
            model.spec.name()
        ));
    }
    Ok(EtsFit {
        model,
        error: error.max(floor),
        candidates,
        theta: None,
    })
}

/// One series' target column, filtered.
#[derive(Debug, Clone)]
struct ColumnStates {
    states: States,
    season: Season,
    error: f64,
    /// The series' scaler (`None` for a series without one: its forecasts only, no references).
    map: Option<ColumnScaler>,
    /// The Theta model run over the series (forecaster banks).
    theta: Option<crate::theta::ThetaStates>,
    /// For a combination: how many leading rows of the series are above `zero` (the
    /// transformed 0), and `zero` (see [`EsFrame::with_positive_floor`]).
    positive: Option<(usize, f64)>,
}

impl ColumnStates {
    /// The reference `base ⊕ season` and its unit, in scaled units.
    fn scaled(&self, map: &ColumnScaler, reference: f64) -> (f32, f32) {
        let unit = match self.season {
            Season::Multiplicative => (reference.abs() * self.error).max(f64::MIN_POSITIVE),
            _ => self.error,
        };
        (map.transform(reference) as f32, (unit / map.scale) as f32)
    }

    /// The Theta model, where it has states at `origin` (1 ..= its rows).
    fn theta_at(&self, origin: usize) -> Option<&crate::theta::ThetaStates> {
        self.theta
            .as_ref()
            .filter(|th| origin >= 1 && origin <= th.len())
    }

    /// Whether every value before `origin` is positive (recorded by
    /// [`EsFrame::with_positive_floor`]; `false` without it), and the floor there.
    fn floor_before(&self, origin: usize) -> Option<f64> {
        self.positive
            .and_then(|(lead, zero)| (origin <= lead).then_some(zero))
    }

    /// `ets-theta`'s forecast `h` steps ahead from `origin`: the mean of ETS and Theta, Theta
    /// floored at zero where every value before the origin is positive; ETS alone without a
    /// Theta model there.
    fn ets_theta(&self, origin: usize, h: usize) -> f64 {
        let e = self.states.forecast(origin, h);
        match self.theta_at(origin) {
            Some(th) => {
                let t = th.forecast(origin, h);
                let t = self.floor_before(origin).map_or(t, |z| t.max(z));
                0.5 * (e + t)
            }
            None => e,
        }
    }

    /// The level at `origin` with the seasonal index of `row` as known there.
    fn level_season(&self, origin: usize, row: usize) -> f64 {
        let (l, s) = (self.states.level(origin), self.states.season(origin, row));
        match self.season {
            Season::Multiplicative => l * s,
            Season::Additive => l + s,
            Season::None => l,
        }
    }
}

/// Filtered ETS states over every row of a panel.
#[derive(Debug, Clone)]
pub struct EsFrame {
    ids: Vec<String>,
    offsets: Vec<usize>,
    series: Vec<Vec<Option<ColumnStates>>>,
}

/// Which reference the outputs are relative to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reference {
    /// The level and seasonal index at the origin (ES normalisation).
    LevelSeason,
    /// The ETS forecast from the origin.
    Forecast,
    /// The Theta forecast from the origin (plain `theta`).
    Theta,
    /// The mean of the ETS and Theta forecasts from the origin (plain `ets-theta`); the ETS
    /// forecast alone where the series has no Theta model.
    EtsTheta,
}

impl EsFrame {
    /// The series holding global row `r`, and `r` within it.
    fn locate(&self, r: usize) -> (usize, usize) {
        let s = self.offsets.partition_point(|&o| o <= r) - 1;
        (s, r - self.offsets[s])
    }

    /// The series of a window whose first target row is global row `t` (one past the series'
    /// row `t − 1`, so `t` may be one past its last row), and the origin within that series.
    fn origin(&self, t: usize) -> (usize, usize) {
        let (s, o) = self.locate(t.saturating_sub(1));
        (s, o + usize::from(t > 0))
    }

    /// The id of the series of a window whose first target row is global row `r`.
    pub fn series_id(&self, r: usize) -> &str {
        &self.ids[self.origin(r).0]
    }

    /// Whether target `k` of the series holding global row `r` has states.
    pub fn has(&self, r: usize, k: usize) -> bool {
        let (s, _) = self.locate(r);
        self.series[s]
            .get(k)
            .is_some_and(|c| c.as_ref().is_some_and(|c| c.map.is_some()))
    }

    /// The references of a window for target `k`, in scaled units `(reference, unit)`, from
    /// the states at the origin at global row `t` (the first row after the observed rows): one
    /// per input row (`inputs.len()` rows ending `shift` rows after `t`) and one per output
    /// step (`steps.len()` rows from `t + shift`). `shift > 0` rolls a forecast past the
    /// observed rows: the states stay those at `t`, so the references are ETS's own forecast
    /// from there. `false` when the series has no states for `k` (nothing written).
    pub fn window(
        &self,
        reference: Reference,
        (t, shift): (usize, usize),
        k: usize,
        inputs: &mut [(f32, f32)],
        steps: &mut [(f32, f32)],
    ) -> bool {
        debug_assert!(t > 0, "a window's origin follows at least one row");
        let (s, o) = self.origin(t);
        let Some(Some(c)) = self.series[s].get(k) else {
            return false;
        };
        let Some(map) = c.map.as_ref() else {
            return false;
        };
        let l = inputs.len();
        for (i, slot) in inputs.iter_mut().enumerate() {
            let row = (o + shift + i).saturating_sub(l);
            *slot = c.scaled(map, c.level_season(o, row));
        }
        let origin_unit = c.scaled(map, c.level_season(o, o)).1;
        for (h, slot) in steps.iter_mut().enumerate() {
            *slot = match reference {
                Reference::LevelSeason => c.scaled(map, c.level_season(o, o + shift + h)),
                Reference::Forecast => {
                    let f = c.states.forecast(o, shift + h + 1);
                    let (r, u) = c.scaled(map, f);
                    // A forecast near zero would shrink a multiplicative unit to nothing.
                    (r, u.max(origin_unit * 1e-3))
                }
                Reference::Theta => {
                    let Some(th) = c.theta_at(o) else {
                        return false;
                    };
                    let (r, u) = c.scaled(map, th.forecast(o, shift + h + 1));
                    (r, u.max(origin_unit * 1e-3))
                }
                Reference::EtsTheta => {
                    let (r, u) = c.scaled(map, c.ets_theta(o, shift + h + 1));
                    (r, u.max(origin_unit * 1e-3))
                }
            };
        }
        true
    }

    /// This frame with each series' leading positive rows recorded (`zero`: 0 in the target
    /// transform's units): from an origin before which every value of a series is positive,
    /// the Theta part of `ets-theta` is floored at zero, as Theta's own forecast of positive
    /// data is (a Theta trend far below zero must not drag the combination down).
    pub fn with_positive_floor(mut self, transformed: &Panel, zero: f64) -> EsFrame {
        for (s, cols) in self.series.iter_mut().enumerate() {
            for (k, c) in cols.iter_mut().enumerate() {
                if let Some(c) = c.as_mut() {
                    let y = transformed.series_column(s, k);
                    let lead = y.iter().take_while(|&&v| v > zero).count();
                    c.positive = Some((lead, zero));
                }
            }
        }
        self
    }

    /// The Theta forecast `h` steps ahead (`h ≥ 1`) of target `k` from the origin at global row
    /// `t`, in transformed units; `None` without a Theta model.
    pub fn theta_forecast(&self, t: usize, h: usize, k: usize) -> Option<f64> {
        let (s, o) = self.origin(t);
        let c = self.series[s].get(k)?.as_ref()?;
        Some(c.theta_at(o)?.forecast(o, h))
    }

    /// `ets-theta`'s forecast `h` steps ahead (`h ≥ 1`) of target `k` from the origin at global
    /// row `t`, in transformed units (see [`EsFrame::with_positive_floor`]); `None` without
    /// states.
    pub fn ets_theta_forecast(&self, t: usize, h: usize, k: usize) -> Option<f64> {
        let (s, o) = self.origin(t);
        Some(self.series[s].get(k)?.as_ref()?.ets_theta(o, h))
    }

    /// Whether every value of target `k`'s series before the origin at global row `t` is
    /// positive, as recorded by [`EsFrame::with_positive_floor`] (`false` on a frame without
    /// that record).
    pub fn positive_before(&self, t: usize, k: usize) -> bool {
        let (s, o) = self.origin(t);
        matches!(self.series[s].get(k), Some(Some(c)) if c.floor_before(o).is_some())
    }

    /// Whether target `k` of every series has a Theta model.
    pub fn has_theta(&self, r: usize, k: usize) -> bool {
        let (s, _) = self.locate(r);
        self.series[s]
            .get(k)
            .is_some_and(|c| c.as_ref().is_some_and(|c| c.theta.is_some()))
    }

    /// The ETS forecast `h` steps ahead (`h ≥ 1`) of target `k` from the origin at global row
    /// `t` (the first row predicted), in transformed units; `None` without states.
    pub fn forecast(&self, t: usize, h: usize, k: usize) -> Option<f64> {
        let (s, o) = self.origin(t);
        let c = self.series[s].get(k)?.as_ref()?;
        Some(c.states.forecast(o, h))
    }
}
