//! Per-column scalers fitted on training rows only and applied unchanged to every other row,
//! with an exact inverse. A column that is constant on the training rows scales by 1, never 0.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// Which scaling to fit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ScalerKind {
    /// `(x − mean) / std` (population std over the training rows). The default.
    #[default]
    Standard,
    /// `lo + (x − min) / (max − min) · (hi − lo)`, training rows mapped onto `[lo, hi]`.
    Minmax {
        /// Lower end of the target range (default 0).
        lo: f64,
        /// Upper end of the target range (default 1).
        hi: f64,
    },
    /// Identity.
    None,
}

impl ScalerKind {
    /// Parses `standard`, `minmax`, `minmax:LO:HI` or `none`.
    ///
    /// # Errors
    /// Unknown name or an empty range.
    pub fn parse(text: &str) -> Result<ScalerKind> {
        let k = match text.split(':').collect::<Vec<_>>().as_slice() {
            ["standard"] => ScalerKind::Standard,
            ["none"] => ScalerKind::None,
            ["minmax"] => ScalerKind::Minmax { lo: 0.0, hi: 1.0 },
            ["minmax", lo, hi] => {
                let p = |s: &str| {
                    s.parse::<f64>().map_err(|_| {
                        Error::config("scaler", format!("'{s}' in '{text}' is not a number"))
                    })
                };
                ScalerKind::Minmax {
                    lo: p(lo)?,
                    hi: p(hi)?,
                }
            }
            _ => {
                return Err(Error::config(
                    "scaler",
                    format!("'{text}' is not one of standard, minmax, minmax:LO:HI, none"),
                ))
            }
        };
        k.validate()?;
        Ok(k)
    }

    /// Checks the min-max range.
    ///
    /// # Errors
    /// `lo >= hi` or non-finite ends.
    pub fn validate(&self) -> Result<()> {
        if let ScalerKind::Minmax { lo, hi } = *self {
            if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                return Err(Error::config(
                    "scaler",
                    format!("min-max range [{lo}, {hi}] must have lo < hi"),
                ));
            }
        }
        Ok(())
    }
}

/// A fitted affine map for one column: `scaled = (x − center) / scale + offset`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ColumnScaler {
    /// Subtracted first (mean or min).
    pub center: f64,
    /// Divided by (std or range / (hi − lo)); 1 for a constant column. Never 0.
    pub scale: f64,
    /// Added last (`lo` of a min-max range, else 0).
    pub offset: f64,
}

impl ColumnScaler {
    /// Fits on `values` (the training rows of one column; at least one value).
    pub fn fit(kind: ScalerKind, values: &[f64]) -> ColumnScaler {
        let n = values.len().max(1) as f64;
        let nonzero = |s: f64| if s > 0.0 && s.is_finite() { s } else { 1.0 };
        match kind {
            ScalerKind::None => ColumnScaler {
                center: 0.0,
                scale: 1.0,
                offset: 0.0,
            },
            ScalerKind::Standard => {
                let mean = values.iter().sum::<f64>() / n;
                let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
                ColumnScaler {
                    center: mean,
                    scale: nonzero(var.sqrt()),
                    offset: 0.0,
                }
            }
            ScalerKind::Minmax { lo, hi } => {
                let min = values.iter().copied().fold(f64::INFINITY, f64::min);
                let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                ColumnScaler {
                    center: min,
                    scale: nonzero((max - min) / (hi - lo)),
                    offset: lo,
                }
            }
        }
    }

    /// Scales one value.
    pub fn transform(&self, x: f64) -> f64 {
        (x - self.center) / self.scale + self.offset
    }

    /// Undoes [`ColumnScaler::transform`].
    pub fn inverse(&self, y: f64) -> f64 {
        (y - self.offset) * self.scale + self.center
    }
}

/// One fitted scaler per column, in the series' column order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scaler {
    /// What was fitted.
    pub kind: ScalerKind,
    /// Column names, for checking against data at load time.
    pub names: Vec<String>,
    /// One map per column.
    pub columns: Vec<ColumnScaler>,
}

impl Scaler {
    /// Fits one scaler per column on `train_rows` only.
    pub fn fit(
        kind: ScalerKind,
        names: &[String],
        columns: &[Vec<f64>],
        train_rows: Range<usize>,
    ) -> Scaler {
        Scaler {
            kind,
            names: names.to_vec(),
            columns: columns
                .iter()
                .map(|c| ColumnScaler::fit(kind, &c[train_rows.clone()]))
                .collect(),
        }
    }

    /// Scales every row of every column into a row-major `f32` matrix `[rows, columns]`.
    pub fn transform_rows(&self, columns: &[Vec<f64>]) -> Vec<f32> {
        let n = columns.first().map(Vec::len).unwrap_or(0);
        let f = columns.len();
        let mut out = vec![0f32; n * f];
        for (c, (col, s)) in columns.iter().zip(&self.columns).enumerate() {
            for (r, &v) in col.iter().enumerate() {
                out[r * f + c] = s.transform(v) as f32;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn standard_and_minmax_by_hand() {
        // mean 2, population std sqrt(2/3).
        let s = ColumnScaler::fit(ScalerKind::Standard, &[1.0, 2.0, 3.0]);
        assert!((s.center - 2.0).abs() < 1e-12 && (s.scale - (2.0f64 / 3.0).sqrt()).abs() < 1e-12);
        let m = ColumnScaler::fit(
            ScalerKind::Minmax { lo: -1.0, hi: 1.0 },
            &[10.0, 20.0, 30.0],
        );
        assert!((m.transform(10.0) + 1.0).abs() < 1e-12 && (m.transform(30.0) - 1.0).abs() < 1e-12);
        assert!(m.transform(20.0).abs() < 1e-12);
    }

    #[test]
    fn constant_column_scales_by_one() {
        for kind in [
            ScalerKind::Standard,
            ScalerKind::Minmax { lo: 0.0, hi: 1.0 },
        ] {
            let s = ColumnScaler::fit(kind, &[5.0, 5.0, 5.0]);
            assert_eq!(s.scale, 1.0);
            assert!(s.transform(7.0).is_finite());
        }
    }

    #[test]
    fn parse_kinds() {
        assert_eq!(
            ScalerKind::parse("minmax:-1:1").unwrap(),
            ScalerKind::Minmax { lo: -1.0, hi: 1.0 }
        );
        assert!(ScalerKind::parse("minmax:1:1").is_err());
        assert!(ScalerKind::parse("robust")
            .unwrap_err()
            .to_string()
            .contains("standard, minmax"));
    }

    #[test]
    fn changing_val_or_test_rows_leaves_scaler_bit_identical() {
        let names = vec!["a".to_string(), "b".to_string()];
        let base: Vec<Vec<f64>> = vec![
            (0..100).map(|i| (i as f64).sin() * 10.0).collect(),
            (0..100).map(|i| i as f64).collect(),
        ];
        let train = crate::split::SplitSpec::default().ranges(100).train;
        for kind in [
            ScalerKind::Standard,
            ScalerKind::Minmax { lo: 0.0, hi: 1.0 },
        ] {
            let fitted = Scaler::fit(kind, &names, &base, train.clone());
            for row in train.end..100 {
                let mut changed = base.clone();
                changed[0][row] = 1e9;
                changed[1][row] = -1e9;
                assert_eq!(
                    Scaler::fit(kind, &names, &changed, train.clone()),
                    fitted,
                    "row {row} leaked"
                );
            }
            // and a change inside train does change it (the test can fail)
            let mut changed = base.clone();
            changed[0][0] = 1e9;
            assert_ne!(Scaler::fit(kind, &names, &changed, train.clone()), fitted);
        }
    }

    proptest! {
        #[test]
        fn inverse_of_transform_is_identity(xs in proptest::collection::vec(-1e6f64..1e6, 2..50), probe in -1e7f64..1e7) {
            for kind in [ScalerKind::Standard, ScalerKind::Minmax { lo: 0.0, hi: 1.0 }, ScalerKind::Minmax { lo: -1.0, hi: 1.0 }, ScalerKind::None] {
                let s = ColumnScaler::fit(kind, &xs);
                let back = s.inverse(s.transform(probe));
                prop_assert!((back - probe).abs() <= 1e-9 * (1.0 + probe.abs()), "{:?}: {} -> {}", kind, probe, back);
            }
        }
    }
}
