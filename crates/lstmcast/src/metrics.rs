//! Forecast accuracy metrics in original units: MSE, RMSE, MAE, MAPE (zero actuals skipped and
//! counted), sMAPE and MASE (scaled by the in-sample seasonal-naive MAE of the training rows).

use serde::{Deserialize, Serialize};

/// Scores of one forecaster on one set of (actual, predicted) pairs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Number of pairs scored.
    pub n: usize,
    /// Mean squared error.
    pub mse: f64,
    /// Root mean squared error.
    pub rmse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Mean absolute percentage error, percent, over non-zero actuals (`None` if all are zero).
    pub mape: Option<f64>,
    /// Pairs left out of MAPE because the actual is zero.
    pub mape_skipped: usize,
    /// Symmetric MAPE, percent: mean of `200 |a − p| / (|a| + |p|)` (pairs with both zero count 0).
    pub smape: f64,
    /// Mean absolute scaled error: MAE / the training rows' seasonal-naive MAE (`None` when that is 0).
    pub mase: Option<f64>,
}

/// Scores `pred` against `actual` (same length, at least one pair). `mase_scale` is the
/// training rows' in-sample seasonal-naive MAE (see [`mase_scale`]).
pub fn score(actual: &[f64], pred: &[f64], mase_scale: Option<f64>) -> Metrics {
    debug_assert_eq!(actual.len(), pred.len());
    let n = actual.len().max(1) as f64;
    let (mut se, mut ae, mut ape, mut ape_n, mut sape) = (0.0, 0.0, 0.0, 0usize, 0.0);
    for (&a, &p) in actual.iter().zip(pred) {
        let e = p - a;
        se += e * e;
        ae += e.abs();
        if a != 0.0 {
            ape += (e / a).abs();
            ape_n += 1;
        }
        let denom = a.abs() + p.abs();
        if denom > 0.0 {
            sape += 2.0 * e.abs() / denom;
        }
    }
    let mae = ae / n;
    Metrics {
        n: actual.len(),
        mse: se / n,
        rmse: (se / n).sqrt(),
        mae,
        mape: (ape_n > 0).then(|| 100.0 * ape / ape_n as f64),
        mape_skipped: actual.len() - ape_n,
        smape: 100.0 * sape / n,
        mase: mase_scale
            .filter(|s| *s > 0.0 && s.is_finite())
            .map(|s| mae / s),
    }
}

/// In-sample seasonal-naive MAE on `train` with period `season`: mean of `|y[t] − y[t − season]|`.
/// `None` when the training rows are not longer than one season or the series repeats
/// exactly, to within rounding: a scale below 1e-9 of the rows' mean absolute value is noise,
/// not a usable denominator.
pub fn mase_scale(train: &[f64], season: usize) -> Option<f64> {
    let m = season.max(1);
    if train.len() <= m {
        return None;
    }
    let s = (m..train.len())
        .map(|t| (train[t] - train[t - m]).abs())
        .sum::<f64>()
        / (train.len() - m) as f64;
    let magnitude = train.iter().map(|v| v.abs()).sum::<f64>() / train.len() as f64;
    (s > 1e-9 * magnitude && s > 0.0).then_some(s)
}

/// Seasonal-naive forecast of step `h` (1-based) for a window whose first target row is `origin`:
/// `y[origin + h − 1 − season · ceil(h / season)]`, the same season's last observed value.
/// Falls back to the last value when the series does not reach back a full season.
pub fn seasonal_naive(y: &[f64], origin: usize, h: usize, season: usize) -> f64 {
    let m = season.max(1);
    let back = m * h.div_ceil(m);
    let row = origin + h - 1;
    if row >= back {
        y[row - back]
    } else {
        y[origin - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_by_hand() {
        // errors: +1, −2, 0 ; actuals 2, 4, 0
        let m = score(&[2.0, 4.0, 0.0], &[3.0, 2.0, 0.0], Some(2.0));
        assert!((m.mse - 5.0 / 3.0).abs() < 1e-12);
        assert!((m.rmse - (5.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert!((m.mae - 1.0).abs() < 1e-12);
        // MAPE over the two non-zero actuals: (1/2 + 2/4)/2 = 50 %.
        assert_eq!(m.mape_skipped, 1);
        assert!((m.mape.unwrap() - 50.0).abs() < 1e-12);
        // sMAPE: (2·1/5 + 2·2/6 + 0)/3 · 100.
        assert!((m.smape - 100.0 * (0.4 + 2.0 / 3.0) / 3.0).abs() < 1e-9);
        assert!((m.mase.unwrap() - 0.5).abs() < 1e-12);
    }

    #[test]
    fn mase_scale_and_seasonal_naive() {
        let y = [1.0, 2.0, 3.0, 1.0, 2.0, 4.0, 1.0];
        // season 3: |1−1| + |2−2| + |4−3| + |1−1| over 4 = 0.25
        assert!((mase_scale(&y, 3).unwrap() - 0.25).abs() < 1e-12);
        assert_eq!(mase_scale(&[5.0, 5.0, 5.0], 1), None);
        // A cycle that repeats up to rounding (differences around 1e-15 on values around 10) has
        // no usable scale either.
        let cycle: Vec<f64> = (0..48)
            .map(|t| 10.0 + 3.0 * (t as f64 * std::f64::consts::PI / 6.0).sin())
            .collect();
        let s = (12..48)
            .map(|t| (cycle[t] - cycle[t - 12]).abs())
            .sum::<f64>();
        assert!(s > 0.0 && s < 1e-12, "{s}");
        assert_eq!(mase_scale(&cycle, 12), None);
        // origin 6 (value 1.0 at row 6), season 3: step 1 → row 3, step 2 → row 4, step 4 → row 6.
        assert_eq!(seasonal_naive(&y, 6, 1, 3), 1.0);
        assert_eq!(seasonal_naive(&y, 6, 2, 3), 2.0);
        assert_eq!(seasonal_naive(&y, 6, 4, 3), 1.0);
        // season 1 is the naive forecast.
        assert_eq!(seasonal_naive(&y, 6, 3, 1), y[5]);
    }
}
