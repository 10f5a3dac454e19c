//! Target transforms applied before scaling and undone on every output: `log` and Box-Cox (its
//! lambda fitted on the training rows only). Multiplicative seasonality (a swing that grows with
//! the level, as in airline passengers) becomes additive, which a network learns far more easily.
//!
//! Metrics, baselines and MASE scales stay in original units: only the network's inputs and
//! outputs pass through the transform.

use crate::data::Panel;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::ops::Range;

/// The transform asked for (`--transform`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Transform {
    /// Let training choose: on one series, `none` and `log` (where every target value is
    /// positive) both compete as candidates for the ETS family, and the better on validation
    /// is kept (the default); a panel trains on the values.
    #[default]
    Auto,
    /// The values as they are.
    None,
    /// Natural logarithm (positive values only).
    Log,
    /// Box-Cox `(y^λ − 1)/λ` (positive values only); `lambda` fixed, or fitted on the training
    /// rows by maximum likelihood in [−1, 2] when absent.
    BoxCox {
        /// A fixed lambda.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lambda: Option<f64>,
    },
}

/// A transform with its parameter fixed: what a trained model applies (never `auto`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FittedTransform {
    /// The transform.
    pub kind: Transform,
    /// Box-Cox's lambda (0 is the logarithm); unused otherwise.
    pub lambda: f64,
}

impl Transform {
    /// Checks a fixed lambda.
    ///
    /// # Errors
    /// A lambda outside [−5, 5] or not finite.
    pub fn validate(&self) -> Result<()> {
        if let Transform::BoxCox { lambda: Some(l) } = *self {
            if !(l.is_finite() && (-5.0..=5.0).contains(&l)) {
                return Err(Error::config(
                    "transform",
                    format!("Box-Cox lambda {l} must be between -5 and 5"),
                ));
            }
        }
        Ok(())
    }

    /// The transforms a fit tries on `panel`: for `auto`, `none` and, when every target value
    /// is positive, `log`; otherwise this one.
    ///
    /// Positivity is checked on every row, test rows included, as the loader checks that a
    /// column is numeric: it is a property of the variable (the log of a later row must exist
    /// for the model to read it), not a statistic fitted on values; nothing about the values
    /// but their sign is used.
    pub fn candidates(self, panel: &Panel) -> Vec<Transform> {
        match self {
            Transform::Auto => {
                let mut v = vec![Transform::None];
                if check_positive(panel, &Transform::Log).is_ok() {
                    v.push(Transform::Log);
                }
                v
            }
            t => vec![t],
        }
    }

    /// Fits the transform on the target columns' training rows (`train[s]`, local to series
    /// `s`). `auto` is fitted as `none` (callers that choose, such as `fit`, try
    /// [`Transform::candidates`] instead; `tune` searches with no transform).
    ///
    /// # Errors
    /// A target value that is not positive, for `log` and Box-Cox.
    pub fn fit(&self, panel: &Panel, train: &[Range<usize>]) -> Result<FittedTransform> {
        if *self == Transform::Auto {
            return Transform::None.fit(panel, train);
        }
        let fitted = FittedTransform {
            kind: *self,
            lambda: match *self {
                Transform::BoxCox { lambda: Some(l) } => l,
                _ => 0.0,
            },
        };
        if *self == Transform::None {
            return Ok(fitted);
        }
        check_positive(panel, self)?;
        if let Transform::BoxCox { lambda: None } = *self {
            let series: Vec<Vec<f64>> = (0..panel.n_series())
                .flat_map(|s| {
                    (0..panel.n_targets)
                        .map(move |c| panel.series_column(s, c)[train[s].clone()].to_vec())
                })
                .filter(|v| v.len() > 1)
                .collect();
            return Ok(FittedTransform {
                lambda: boxcox_lambda(&series),
                ..fitted
            });
        }
        Ok(fitted)
    }
}

impl std::str::FromStr for Transform {
    type Err = Error;

    /// Parses `none`, `log`, `boxcox` or `boxcox:LAMBDA`.
    ///
    /// # Errors
    /// Any other text, or a lambda that is not a finite number.
    fn from_str(text: &str) -> Result<Transform> {
        let bad = || {
            Error::config(
                "transform",
                format!("'{text}' is not one of auto, none, log, boxcox, boxcox:LAMBDA"),
            )
        };
        match text.split_once(':') {
            None => match text {
                "auto" => Ok(Transform::Auto),
                "none" => Ok(Transform::None),
                "log" => Ok(Transform::Log),
                "boxcox" => Ok(Transform::BoxCox { lambda: None }),
                _ => Err(bad()),
            },
            Some(("boxcox", l)) => {
                let lambda: f64 = l.trim().parse().map_err(|_| bad())?;
                let t = Transform::BoxCox {
                    lambda: Some(lambda),
                };
                t.validate()?;
                Ok(t)
            }
            _ => Err(bad()),
        }
    }
}

/// Every target value must be positive for `log` and Box-Cox.
fn check_positive(panel: &Panel, t: &Transform) -> Result<()> {
    for c in 0..panel.n_targets {
        if let Some(r) = panel.columns[c].iter().position(|&v| v <= 0.0) {
            let s = panel.series_of_row(r);
            let which = if panel.has_ids() {
                format!(" of {}", panel.series_label(s))
            } else {
                String::new()
            };
            let name = match t {
                Transform::Log => "log",
                _ => "boxcox",
            };
            return Err(Error::config(
                format!("transform: column '{}'", panel.names[c]),
                format!(
                    "{} at {}{which} is not positive; --transform {name} needs positive values (use --transform none or auto)",
                    panel.columns[c][r],
                    panel.format_time(&panel.timestamps[r])
                ),
            ));
        }
    }
    Ok(())
}

/// The Box-Cox profile log-likelihood of one lambda shared by several series, each with its
/// own mean and variance: `Σ −(nₛ/2)·ln σₛ²(λ) + (λ − 1)·Σ ln y`.
fn profile(series: &[Vec<f64>], lambda: f64) -> f64 {
    let mut ll = 0.0;
    for y in series {
        let z: Vec<f64> = y.iter().map(|&v| boxcox(v, lambda)).collect();
        let n = z.len() as f64;
        let mean = z.iter().sum::<f64>() / n;
        let var = z.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        ll += -0.5 * n * var.max(1e-300).ln()
            + (lambda - 1.0) * y.iter().map(|v| v.ln()).sum::<f64>();
    }
    ll
}

/// The maximum-likelihood lambda in [−1, 2] (golden-section search; the profile is smooth and,
/// in practice, unimodal there).
fn boxcox_lambda(series: &[Vec<f64>]) -> f64 {
    if series.is_empty() {
        return 1.0;
    }
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let (mut a, mut b) = (-1.0f64, 2.0f64);
    let mut c = b - g * (b - a);
    let mut d = a + g * (b - a);
    let (mut fc, mut fd) = (profile(series, c), profile(series, d));
    for _ in 0..80 {
        if fc > fd {
            b = d;
            d = c;
            fd = fc;
            c = b - g * (b - a);
            fc = profile(series, c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + g * (b - a);
            fd = profile(series, d);
        }
    }
    (a + b) / 2.0
}

fn boxcox(y: f64, lambda: f64) -> f64 {
    if lambda.abs() < 1e-12 {
        y.ln()
    } else {
        (y.powf(lambda) - 1.0) / lambda
    }
}

impl Default for FittedTransform {
    fn default() -> Self {
        FittedTransform {
            kind: Transform::None,
            lambda: 0.0,
        }
    }
}

impl FittedTransform {
    /// Whether it changes nothing.
    pub fn is_identity(&self) -> bool {
        matches!(self.kind, Transform::None | Transform::Auto)
    }

    /// Transforms one target value.
    pub fn forward(&self, y: f64) -> f64 {
        match self.kind {
            Transform::None | Transform::Auto => y,
            Transform::Log => y.ln(),
            Transform::BoxCox { .. } => boxcox(y, self.lambda),
        }
    }

    /// Undoes [`FittedTransform::forward`]; a network output beyond the transform's range maps
    /// to its edge (a positive value), never to NaN.
    pub fn inverse(&self, z: f64) -> f64 {
        match self.kind {
            Transform::None | Transform::Auto => z,
            Transform::Log => z.exp(),
            Transform::BoxCox { .. } if self.lambda.abs() < 1e-12 => z.exp(),
            Transform::BoxCox { .. } => (self.lambda * z + 1.0).max(1e-12).powf(1.0 / self.lambda),
        }
    }

    /// `panel` with its target columns transformed (borrowed as it is for the identity).
    ///
    /// # Errors
    /// A target value that is not positive, for `log` and Box-Cox.
    pub fn apply<'a>(&self, panel: &'a Panel) -> Result<Cow<'a, Panel>> {
        if self.is_identity() {
            return Ok(Cow::Borrowed(panel));
        }
        check_positive(panel, &self.kind)?;
        let mut p = panel.clone();
        for col in p.columns.iter_mut().take(p.n_targets) {
            for v in col.iter_mut() {
                *v = self.forward(*v);
            }
        }
        Ok(Cow::Owned(p))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::single_range_in_vec_init)]
    use super::*;

    #[test]
    fn forward_and_inverse_round_trip() {
        for (kind, lambda) in [
            (Transform::Log, 0.0),
            (Transform::BoxCox { lambda: None }, 0.5),
            (Transform::BoxCox { lambda: None }, -0.7),
            (Transform::BoxCox { lambda: None }, 0.0),
        ] {
            let f = FittedTransform { kind, lambda };
            for y in [0.01, 1.0, 7.5, 1e6] {
                let back = f.inverse(f.forward(y));
                assert!(
                    (back - y).abs() <= 1e-9 * y,
                    "{kind:?} {lambda}: {y} -> {back}"
                );
            }
        }
        // Outside Box-Cox's range: a positive edge value, not NaN.
        let f = FittedTransform {
            kind: Transform::BoxCox { lambda: None },
            lambda: 0.5,
        };
        assert!(f.inverse(-10.0) > 0.0 && f.inverse(-10.0).is_finite());
    }

    /// 2,000 near-normal draws (sums of 12 uniforms from a fixed LCG) with mean `mean`, sd `sd`.
    fn normalish(mean: f64, sd: f64) -> Vec<f64> {
        let mut state = 7u64;
        let mut u = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        (0..2000)
            .map(|_| mean + sd * ((0..12).map(|_| u()).sum::<f64>() - 6.0))
            .collect()
    }

    #[test]
    fn box_cox_lambda_is_fitted_by_maximum_likelihood() {
        // y = exp(z) with z near-normal: the log (λ = 0) makes it normal again; y = z² with z
        // near-normal and positive: λ = 0.5 undoes the square.
        let exp: Vec<f64> = normalish(0.0, 0.5).into_iter().map(f64::exp).collect();
        let l = boxcox_lambda(&[exp]);
        assert!(l.abs() < 0.1, "{l}");
        let sq: Vec<f64> = normalish(10.0, 2.0).into_iter().map(|z| z * z).collect();
        let l = boxcox_lambda(&[sq]);
        assert!((l - 0.5).abs() < 0.1, "{l}");
    }

    #[test]
    fn only_training_rows_fit_lambda_and_non_positive_values_are_refused() {
        let y: Vec<f64> = (1..=100).map(|i| (i as f64).powi(2)).collect();
        let mut p = Panel::from_columns(vec!["y".into()], vec![y], 1).unwrap();
        let t = Transform::BoxCox { lambda: None };
        let a = t.fit(&p, &[0..70]).unwrap();
        for v in &mut p.columns[0][70..] {
            *v *= 1000.0;
        }
        assert_eq!(t.fit(&p, &[0..70]).unwrap(), a);
        p.columns[0][80] = 0.0;
        let e = Transform::Log.fit(&p, &[0..70]).unwrap_err().to_string();
        assert!(
            e.contains("'y'") && e.contains("not positive") && e.contains("at 80"),
            "{e}"
        );
        assert!("boxcox:0.3".parse::<Transform>().is_ok());
        assert!("sqrt"
            .parse::<Transform>()
            .unwrap_err()
            .to_string()
            .contains("boxcox"));
    }
}
