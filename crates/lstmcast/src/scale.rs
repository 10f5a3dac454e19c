//! Per-column scalers fitted on training rows only and applied unchanged to every other row,
//! with an exact inverse. A column that is constant on the training rows scales by 1, never 0.

use crate::data::Panel;
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

impl std::str::FromStr for ScalerKind {
    type Err = Error;

    /// Parses `standard`, `minmax`, `minmax:LO:HI` or `none`.
    ///
    /// # Errors
    /// Unknown name or an empty range.
    fn from_str(text: &str) -> Result<ScalerKind> {
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

/// Whether each series gets its own scalers (the default) or all share one set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ScalerScope {
    /// One scaler per series and column, fitted on that series' training rows: series of very
    /// different levels (cities' temperatures, states' sales) all reach the network in the same
    /// range. A series needs its own training rows to be scaled.
    #[default]
    Series,
    /// One scaler per column, fitted on the training rows of every series together.
    Global,
}

option_names!(ScalerScope, "scaler-scope", {
    Series => "series",
    Global => "global",
});

/// Fitted scalers: per series (panel order, with their ids) or one shared set, each one map per
/// column in the panel's column order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scaler {
    /// What was fitted.
    pub kind: ScalerKind,
    /// Per series or shared.
    pub scope: ScalerScope,
    /// Column names, for checking against data at load time.
    pub names: Vec<String>,
    /// The series the scalers belong to (one empty id for a shared set).
    pub ids: Vec<String>,
    /// `series[s][c]`: the map of column `c` for the `s`-th id.
    pub series: Vec<Vec<ColumnScaler>>,
}

impl Scaler {
    /// Fits scalers on the training rows only: `train[s]` are series `s`'s (local) training rows.
    /// Per series, a series without training rows gets no scaler (it cannot be scaled).
    pub fn fit(
        kind: ScalerKind,
        scope: ScalerScope,
        panel: &Panel,
        train: &[Range<usize>],
    ) -> Scaler {
        let fit_cols =
            |rows: &mut dyn Iterator<Item = (usize, Range<usize>)>| -> Vec<ColumnScaler> {
                let rows: Vec<(usize, Range<usize>)> = rows.collect();
                (0..panel.names.len())
                    .map(|c| {
                        let values: Vec<f64> = rows
                            .iter()
                            .flat_map(|(s, r)| {
                                panel.series_column(*s, c)[r.clone()].iter().copied()
                            })
                            .collect();
                        ColumnScaler::fit(kind, &values)
                    })
                    .collect()
            };
        let (ids, series) = match scope {
            ScalerScope::Series => {
                let fitted: Vec<usize> = (0..panel.n_series())
                    .filter(|&s| !train[s].is_empty())
                    .collect();
                // Static and calendar columns are scaled across series even here: a static
                // value is constant within its series, so a per-series scaler would erase it.
                let shared: Vec<usize> = (0..panel.names.len())
                    .filter(|&c| {
                        matches!(
                            panel.roles.get(c),
                            Some(crate::data::Role::Static | crate::data::Role::Calendar)
                        )
                    })
                    .collect();
                let pooled = if shared.is_empty() {
                    Vec::new()
                } else {
                    fit_cols(&mut train.iter().cloned().enumerate())
                };
                (
                    fitted.iter().map(|&s| panel.ids[s].clone()).collect(),
                    fitted
                        .iter()
                        .map(|&s| {
                            let mut cols = fit_cols(&mut std::iter::once((s, train[s].clone())));
                            for &c in &shared {
                                cols[c] = pooled[c];
                            }
                            cols
                        })
                        .collect(),
                )
            }
            ScalerScope::Global => (
                vec![String::new()],
                vec![fit_cols(&mut train.iter().cloned().enumerate())],
            ),
        };
        Scaler {
            kind,
            scope,
            names: panel.names.clone(),
            ids,
            series,
        }
    }

    /// The column maps that apply to the series `id`; `None` for a series these per-series
    /// scalers were not fitted on.
    pub fn for_series(&self, id: &str) -> Option<&[ColumnScaler]> {
        match self.scope {
            ScalerScope::Global => self.series.first().map(Vec::as_slice),
            ScalerScope::Series => self
                .ids
                .iter()
                .position(|i| i == id)
                .map(|s| self.series[s].as_slice()),
        }
    }

    /// Scales every row of every series into a row-major `f32` matrix `[rows, columns]`, and
    /// says which series have no scaler (per-series scalers not fitted on them): their rows stay
    /// 0 and must not be used.
    pub fn transform(&self, panel: &Panel) -> (Vec<f32>, Vec<bool>) {
        let f = panel.names.len();
        let mut out = vec![0f32; panel.len() * f];
        let mut unknown = vec![false; panel.n_series()];
        for (s, unknown) in unknown.iter_mut().enumerate() {
            let Some(maps) = self.for_series(&panel.ids[s]) else {
                *unknown = true;
                continue;
            };
            for (c, m) in maps.iter().enumerate() {
                for r in panel.rows(s) {
                    out[r * f + c] = m.transform(panel.columns[c][r]) as f32;
                }
            }
        }
        (out, unknown)
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
            "minmax:-1:1".parse::<ScalerKind>().unwrap(),
            ScalerKind::Minmax { lo: -1.0, hi: 1.0 }
        );
        assert!("minmax:1:1".parse::<ScalerKind>().is_err());
        assert!("robust"
            .parse::<ScalerKind>()
            .unwrap_err()
            .to_string()
            .contains("standard, minmax"));
    }

    #[test]
    fn changing_val_or_test_rows_leaves_scaler_bit_identical() {
        let names = vec!["a".to_string(), "b".to_string()];
        let series = |k: f64| -> Vec<Vec<f64>> {
            vec![
                (0..100).map(|i| (i as f64).sin() * 10.0 * k).collect(),
                (0..100).map(|i| i as f64 + k).collect(),
            ]
        };
        let base = Panel::from_series(
            names,
            1,
            vec![("p".into(), series(1.0)), ("q".into(), series(5.0))],
        )
        .unwrap();
        let train = vec![0..70, 0..70];
        for kind in [
            ScalerKind::Standard,
            ScalerKind::Minmax { lo: 0.0, hi: 1.0 },
        ] {
            for scope in [ScalerScope::Series, ScalerScope::Global] {
                let fitted = Scaler::fit(kind, scope, &base, &train);
                for s in 0..2 {
                    for row in 70..100 {
                        let mut changed = base.clone();
                        let g = base.rows(s).start + row;
                        changed.columns[0][g] = 1e9;
                        changed.columns[1][g] = -1e9;
                        assert_eq!(
                            Scaler::fit(kind, scope, &changed, &train),
                            fitted,
                            "series {s} row {row} leaked"
                        );
                    }
                }
                // and a change inside train does change it (the test can fail)
                let mut changed = base.clone();
                changed.columns[0][base.rows(1).start] = 1e9;
                assert_ne!(Scaler::fit(kind, scope, &changed, &train), fitted);
            }
        }
    }

    #[test]
    fn static_columns_are_scaled_across_series_even_per_series() {
        // Column 1 is static (3 in series a, 5 in series b). A per-series scaler would map it
        // to 0 in both (constant within each series); pooled over both series' training rows
        // (mean 4, population std 1) it stays -1 and +1.
        let mut p = Panel::from_series(
            vec!["y".into(), "size".into()],
            1,
            vec![
                ("a".into(), vec![vec![1.0, 2.0, 3.0, 4.0], vec![3.0; 4]]),
                ("b".into(), vec![vec![5.0, 7.0, 6.0, 8.0], vec![5.0; 4]]),
            ],
        )
        .unwrap();
        p.roles[1] = crate::data::Role::Static;
        let s = Scaler::fit(ScalerKind::Standard, ScalerScope::Series, &p, &[0..3, 0..3]);
        let (m, _) = s.transform(&p);
        assert!(
            (m[1] + 1.0).abs() < 1e-6 && (m[4 * 2 + 1] - 1.0).abs() < 1e-6,
            "{m:?}"
        );
        // The target stays per series: series b's first value is below its own training mean.
        assert!(m[4 * 2] < 0.0);
    }

    #[test]
    fn per_series_scalers_bring_every_series_to_the_same_range() {
        let p = Panel::from_series(
            vec!["y".into()],
            1,
            vec![
                ("hot".into(), vec![vec![90.0, 92.0, 94.0]]),
                ("cold".into(), vec![vec![-10.0, -8.0, -6.0]]),
            ],
        )
        .unwrap();
        let s = Scaler::fit(ScalerKind::Standard, ScalerScope::Series, &p, &[0..3, 0..3]);
        let (x, unknown) = s.transform(&p);
        assert_eq!(unknown, vec![false, false]);
        // Each series: mean 92 / -8, std sqrt(8/3): both become -1.2247, 0, 1.2247.
        assert!(
            (x[0] - x[3]).abs() < 1e-6 && (x[2] - x[5]).abs() < 1e-6,
            "{x:?}"
        );
        assert!((x[2] - (2.0 / (8.0f32 / 3.0).sqrt())).abs() < 1e-5);
        let g = Scaler::fit(ScalerKind::Standard, ScalerScope::Global, &p, &[0..3, 0..3]);
        // Shared: mean 42, std about 50, so the cold series (first by id) is below -0.9.
        assert!(g.transform(&p).0[0] < -0.9);
        let other =
            Panel::from_series(vec!["y".into()], 1, vec![("new".into(), vec![vec![1.0]])]).unwrap();
        assert_eq!(s.transform(&other).1, vec![true]);
        assert_eq!(g.transform(&other).1, vec![false]);
        // A series without training rows gets no scaler of its own.
        let none = Scaler::fit(ScalerKind::Standard, ScalerScope::Series, &p, &[0..3, 0..0]);
        assert_eq!(none.ids, vec!["cold"]);
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
