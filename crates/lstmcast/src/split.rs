//! Temporal train / validation / test split. Splits are contiguous, ordered and disjoint row
//! ranges that cover every row; a window belongs to the split that holds all its target rows, so
//! its inputs may reach back into an earlier split but never forward.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// Fractions of rows for train, validation and test, in time order.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitSpec {
    /// Fraction of rows for training (first rows). Default 0.7.
    pub train: f64,
    /// Fraction for validation (early stopping, model choice). Default 0.1.
    pub val: f64,
    /// Fraction for the final test. Default 0.2.
    pub test: f64,
}

impl Default for SplitSpec {
    fn default() -> Self {
        SplitSpec {
            train: 0.7,
            val: 0.1,
            test: 0.2,
        }
    }
}

/// The three row ranges of one series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Splits {
    /// Training rows `[0, train_end)`.
    pub train: Range<usize>,
    /// Validation rows `[train_end, val_end)`.
    pub val: Range<usize>,
    /// Test rows `[val_end, n)`.
    pub test: Range<usize>,
}

impl SplitSpec {
    /// Parses `"0.7,0.1,0.2"`.
    ///
    /// # Errors
    /// Not three numbers, or invalid fractions (see [`SplitSpec::validate`]).
    pub fn parse(text: &str) -> Result<SplitSpec> {
        let parts: Vec<&str> = text.split(',').map(str::trim).collect();
        let nums: Vec<f64> = parts
            .iter()
            .map(|p| p.parse::<f64>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| {
                Error::config(
                    "split",
                    format!("'{text}' is not three comma-separated fractions like 0.7,0.1,0.2"),
                )
            })?;
        let [train, val, test] = nums[..] else {
            return Err(Error::config(
                "split",
                format!(
                    "'{text}' has {} parts; give train,val,test like 0.7,0.1,0.2",
                    nums.len()
                ),
            ));
        };
        let s = SplitSpec { train, val, test };
        s.validate()?;
        Ok(s)
    }

    /// Checks that every fraction is positive and finite and that they sum to 1 (±1e-6).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming `split`.
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [
            ("train", self.train),
            ("val", self.val),
            ("test", self.test),
        ] {
            if !(v.is_finite() && v > 0.0 && v < 1.0) {
                return Err(Error::config(
                    "split",
                    format!("the {name} fraction is {v}; each fraction must be > 0 and < 1"),
                ));
            }
        }
        let sum = self.train + self.val + self.test;
        if (sum - 1.0).abs() > 1e-6 {
            return Err(Error::config(
                "split",
                format!(
                    "fractions sum to {sum:.4}, not 1 (train {}, val {}, test {})",
                    self.train, self.val, self.test
                ),
            ));
        }
        Ok(())
    }

    /// Row ranges for `n` rows: boundaries `floor(train·n)` and `floor((train+val)·n)`.
    pub fn ranges(&self, n: usize) -> Splits {
        // A tiny epsilon so that 0.7 + 0.1 = 0.7999999 still gives floor(0.8·n).
        let b = |f: f64| (((f * n as f64) + 1e-9).floor() as usize).min(n);
        let train_end = b(self.train);
        let val_end = b(self.train + self.val).max(train_end);
        Splits {
            train: 0..train_end,
            val: train_end..val_end,
            test: val_end..n,
        }
    }
}

impl Splits {
    /// Window origins (index of the first target row) whose targets `[t, t+horizon)` lie inside
    /// `rows` and whose inputs `[t−lookback, t)` start at row 0 or later.
    pub fn origins(rows: &Range<usize>, lookback: usize, horizon: usize) -> Range<usize> {
        let start = rows.start.max(lookback);
        let end = (rows.end + 1).saturating_sub(horizon);
        start..end.max(start)
    }

    /// Origins of the train, validation and test windows, each non-empty.
    ///
    /// # Errors
    /// [`Error::NotEnoughData`] naming the split that is left without a window and how many rows
    /// the series would need.
    pub fn window_origins(&self, lookback: usize, horizon: usize) -> Result<[Range<usize>; 3]> {
        let mut out = [0..0, 0..0, 0..0];
        for (k, (name, rows)) in [
            ("train", &self.train),
            ("validation", &self.val),
            ("test", &self.test),
        ]
        .into_iter()
        .enumerate()
        {
            let o = Self::origins(rows, lookback, horizon);
            if o.is_empty() {
                let needed_rows_in_split = if k == 0 { lookback + horizon } else { horizon };
                return Err(Error::NotEnoughData {
                    what: format!(
                        "the {name} split (rows {}..{}) with lookback {lookback} and horizon {horizon} (it has {} rows; lower --lookback/--horizon or change --split)",
                        rows.start,
                        rows.end,
                        rows.len()
                    ),
                    needed: needed_rows_in_split,
                    got: rows.len(),
                });
            }
            out[k] = o;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn default_boundaries_are_floor_of_fractions() {
        let s = SplitSpec::default().ranges(144);
        // floor(0.7·144) = 100, floor(0.8·144) = 115.
        assert_eq!((s.train, s.val, s.test), (0..100, 100..115, 115..144));
        let s = SplitSpec::default().ranges(10);
        assert_eq!((s.train, s.val, s.test), (0..7, 7..8, 8..10));
    }

    #[test]
    fn invalid_fractions_are_errors() {
        for bad in [
            "0.7,0.3",
            "0.5,0.3,0.3",
            "0,0.5,0.5",
            "-0.1,0.6,0.5",
            "a,b,c",
            "0.7,0.1,0.2,0.0",
            "1,0,0",
        ] {
            let e = SplitSpec::parse(bad).unwrap_err().to_string();
            assert!(e.contains("split"), "{bad}: {e}");
        }
        assert_eq!(
            SplitSpec::parse(" 0.6, 0.2 ,0.2").unwrap(),
            SplitSpec {
                train: 0.6,
                val: 0.2,
                test: 0.2
            }
        );
    }

    #[test]
    fn test_split_window_count_matches_formula() {
        let s = SplitSpec::default().ranges(200);
        let [_, _, test] = s.window_origins(24, 3).unwrap();
        // N − val_end − H + 1 = 200 − 160 − 3 + 1 = 38.
        assert_eq!(test.len(), 38);
    }

    #[test]
    fn too_long_lookback_names_split_and_rows() {
        let s = SplitSpec::default().ranges(30);
        let e = s.window_origins(25, 1).unwrap_err().to_string();
        assert!(e.contains("train split") && e.contains("26"), "{e}");
        let e = s.window_origins(5, 4).unwrap_err().to_string();
        assert!(
            e.contains("validation split") && e.contains("lookback 5 and horizon 4"),
            "{e}"
        );
    }

    proptest! {
        #[test]
        fn splits_are_ordered_disjoint_and_cover(n in 10usize..5000, a in 0.05f64..0.9, b in 0.01f64..0.5) {
            prop_assume!(a + b < 0.99);
            let spec = SplitSpec { train: a, val: b, test: 1.0 - a - b };
            let s = spec.ranges(n);
            prop_assert_eq!(s.train.start, 0);
            prop_assert_eq!(s.train.end, s.val.start);
            prop_assert_eq!(s.val.end, s.test.start);
            prop_assert_eq!(s.test.end, n);
            prop_assert!(s.train.start <= s.train.end && s.val.start <= s.val.end && s.test.start <= s.test.end);
        }

        #[test]
        fn window_targets_never_cross_a_boundary(n in 50usize..3000, l in 1usize..40, h in 1usize..10) {
            let s = SplitSpec::default().ranges(n);
            if let Ok(o) = s.window_origins(l, h) {
                for (origins, rows) in o.iter().zip([&s.train, &s.val, &s.test]) {
                    // every origin's targets [t, t+h) lie in the split, inputs start at ≥ 0
                    prop_assert!(origins.start >= rows.start && origins.start >= l);
                    prop_assert!(origins.end - 1 + h <= rows.end);
                    // count formula: rows.end − max(rows.start, l) − h + 1
                    prop_assert_eq!(origins.len(), rows.end - rows.start.max(l) - h + 1);
                }
            }
        }
    }
}
