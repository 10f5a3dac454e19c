//! Scoring predictions beside the naive baselines: per target over all steps and per step, and
//! for a panel per series and across series (mean and median MASE, the share of series where the
//! LSTM beats the better baseline, the best, median and worst series).
//!
//! MASE is always scaled per series, by that series' own training rows; across series it is
//! averaged, never pooled. The other metrics pool every prediction.

use crate::metrics::{score, Metrics};
use crate::split::{Skipped, SplitReport};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// One test prediction: series, window origin, step, target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictionRow {
    /// The series id (`""` for a file without an id column).
    pub series: String,
    /// Timestamp of the window's first target row.
    pub origin: String,
    /// 1-based step ahead.
    pub step: usize,
    /// Target column.
    pub target: String,
    /// The observed value.
    pub actual: f64,
    /// The model's forecast.
    pub predicted: f64,
    /// Last observed value.
    pub naive: f64,
    /// Same season's last observed value.
    pub seasonal_naive: f64,
    /// The ETS forecast from the same origin (`None` for a series without an ETS model).
    pub ets: Option<f64>,
    /// The standard Theta method's forecast from the same origin (`None` without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theta: Option<f64>,
    /// What forecast `predicted`: `lstm` (the network), `ets` (plain ETS, or the statistical
    /// forecast of a series too short for the network) or `naive` (too short for ETS too).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub model: String,
    /// The prediction interval `(lo, hi)` of each calibrated level (`None` where the level was
    /// refused for too few calibration errors).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intervals: Vec<Option<(f64, f64)>>,
    /// A quantile model's quantiles (sorted; empty otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quantiles: Vec<f64>,
}

/// How one quantile output held on the scored windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuantileScore {
    /// The quantile, in (0, 1).
    pub quantile: f64,
    /// Scaled pinball loss, averaged over series.
    pub scaled_pinball: Option<f64>,
    /// Share of actuals at or below the quantile's forecast, percent (nominal: 100 × quantile).
    pub below: Option<f64>,
}

/// How the intervals of one level held on the scored windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntervalScore {
    /// Nominal coverage, percent.
    pub level: f64,
    /// Share of actuals inside their interval, percent (`None` when no prediction has one).
    pub coverage: Option<f64>,
    /// Mean width `hi − lo`, original units.
    pub mean_width: Option<f64>,
    /// Mean scaled interval (Winkler) score: per series the mean of `(hi − lo) + 2/α·(lo − y)⁺
    /// + 2/α·(y − hi)⁺` divided by the series' MASE scale, averaged over series (MSIS).
    pub msis: Option<f64>,
    /// Predictions with an interval at this level.
    pub scored: usize,
    /// Predictions without one (the level refused for their series and step).
    pub refused: usize,
    /// What the adaptive bands' factor of this level came to after the test errors (the
    /// forecast past the data multiplies its calibrated bands by it): the series' own in a
    /// panel's per-series scores, the median over series overall; `None` without adaptation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<f64>,
}

/// Scores of the model and the baselines on the same windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// The LSTM.
    pub model: Metrics,
    /// Last value.
    pub naive: Metrics,
    /// Same season's last value.
    pub seasonal_naive: Metrics,
    /// ETS fitted on the rows before the test (`None` when some scored series has no ETS
    /// model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ets: Option<Metrics>,
    /// The standard Theta method fitted on the rows before the test (`None` when some scored
    /// series has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theta: Option<Metrics>,
}

impl Scores {
    /// The better of the two baselines' MASE.
    pub fn best_baseline_mase(&self) -> Option<f64> {
        match (self.naive.mase, self.seasonal_naive.mase) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// A value for the model and each baseline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Trio {
    /// The LSTM.
    pub model: Option<f64>,
    /// Last value.
    pub naive: Option<f64>,
    /// Same season's last value.
    pub seasonal_naive: Option<f64>,
    /// ETS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ets: Option<f64>,
    /// Theta.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theta: Option<f64>,
}

/// One series and its MASE.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesMase {
    /// The series id.
    pub series: String,
    /// The LSTM's MASE on it.
    pub mase: f64,
    /// The better baseline's MASE on it.
    pub baseline_mase: Option<f64>,
}

/// Across the series of a panel, for one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PanelTarget {
    /// Series with a defined MASE (training rows with seasonal variation).
    pub series_scored: usize,
    /// Mean MASE across series.
    pub mean_mase: Trio,
    /// Median MASE across series.
    pub median_mase: Trio,
    /// Share of the scored series where the LSTM's MASE is below the better baseline's.
    pub beats_better_baseline: f64,
    /// The series with the lowest LSTM MASE.
    pub best: Option<SeriesMase>,
    /// The series with the median LSTM MASE.
    pub median: Option<SeriesMase>,
    /// The series with the highest LSTM MASE.
    pub worst: Option<SeriesMase>,
}

/// Per-series results of a panel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PanelScores {
    /// Series scored.
    pub series: usize,
    /// Per target: across-series summary.
    pub targets: BTreeMap<String, PanelTarget>,
    /// Per series id, per target: scores over all steps.
    pub per_series: BTreeMap<String, BTreeMap<String, Scores>>,
    /// Per series id, per target: how its prediction intervals held, per level.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub intervals: BTreeMap<String, BTreeMap<String, Vec<IntervalScore>>>,
}

/// Evaluation on the test part, per target: overall and per step; per series for panels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Test windows scored (over all series).
    pub windows: usize,
    /// Seasonal period used.
    pub season: usize,
    /// Where validation and test start (on the data evaluated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<SplitReport>,
    /// The test origins: first and last window origin scored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<(String, String)>,
    /// Per target name: scores over all steps (errors pooled, MASE the mean over series).
    pub overall: BTreeMap<String, Scores>,
    /// Per target name: scores per step (index 0 = step 1).
    pub per_step: BTreeMap<String, Vec<Scores>>,
    /// Per series, for data with an id column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub panel: Option<PanelScores>,
    /// Series left out because they have too few rows in the test part.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
    /// Per target name: how the prediction intervals held (one entry per level).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub intervals: BTreeMap<String, Vec<IntervalScore>>,
    /// Per target name, for a quantile model: each quantile and its scaled pinball loss (per
    /// series the mean pinball loss over its predictions divided by its MASE scale, averaged
    /// over series), and the share of actuals below it (percent).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub quantiles: BTreeMap<String, Vec<QuantileScore>>,
    /// What makes these scores less than out-of-sample (a test period that overlaps the rows
    /// the model was trained or validated on).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Series per model that forecast them (`lstm`, `ets`, `naive`; see
    /// [`PredictionRow::model`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub models: BTreeMap<String, usize>,
    /// Forecasts and interval bounds raised to 0 because the series' values before the test
    /// are all positive.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub truncated_at_zero: usize,
    /// Per series id, per target, per level: the factor of its interval half-widths after every
    /// test error (adaptive intervals, see [`super::intervals::Tracker`]): what the forecast past
    /// the data multiplies them by.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "super::intervals::factors_of_any_shape"
    )]
    pub interval_factors: super::intervals::Factors,
    /// Every prediction, in (series, window, step, target) order.
    #[serde(skip)]
    pub rows: Vec<PredictionRow>,
}

/// The median of `v` (sorted in place), `None` when empty.
pub(super) fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The mean of `v`, `None` when empty.
pub(super) fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Scores a selection of rows: every metric pooled, MASE the mean of the per-series MASEs.
fn pooled(groups: &[(&str, Vec<&PredictionRow>)], mase_of: &dyn Fn(&str) -> Option<f64>) -> Scores {
    let all: Vec<&PredictionRow> = groups.iter().flat_map(|(_, r)| r.iter().copied()).collect();
    let mut s = series_scores(&all, None);
    let per: Vec<Scores> = groups
        .iter()
        .filter(|(_, r)| !r.is_empty())
        .map(|(id, r)| series_scores(r, mase_of(id)))
        .collect();
    let avg = |f: fn(&Scores) -> Option<f64>| mean(&per.iter().filter_map(f).collect::<Vec<_>>());
    s.model.mase = avg(|x| x.model.mase);
    s.naive.mase = avg(|x| x.naive.mase);
    s.seasonal_naive.mase = avg(|x| x.seasonal_naive.mase);
    if let Some(e) = s.ets.as_mut() {
        e.mase = avg(|x| x.ets.as_ref().and_then(|m| m.mase));
    }
    if let Some(e) = s.theta.as_mut() {
        e.mase = avg(|x| x.theta.as_ref().and_then(|m| m.mase));
    }
    s
}

fn series_scores(rows: &[&PredictionRow], mase_scale: Option<f64>) -> Scores {
    let a: Vec<f64> = rows.iter().map(|r| r.actual).collect();
    let of = |f: fn(&PredictionRow) -> f64| rows.iter().map(|r| f(r)).collect::<Vec<_>>();
    Scores {
        model: score(&a, &of(|r| r.predicted), mase_scale),
        naive: score(&a, &of(|r| r.naive), mase_scale),
        seasonal_naive: score(&a, &of(|r| r.seasonal_naive), mase_scale),
        ets: rows
            .iter()
            .map(|r| r.ets)
            .collect::<Option<Vec<f64>>>()
            .map(|e| score(&a, &e, mase_scale)),
        theta: rows
            .iter()
            .map(|r| r.theta)
            .collect::<Option<Vec<f64>>>()
            .map(|e| score(&a, &e, mase_scale)),
    }
}

impl Evaluation {
    /// Scores prediction rows per target (overall and per step 1..=`horizon`), and per series
    /// when `panel` is set. `mase_scale(series, k)` is target k's MASE denominator for a series.
    pub fn from_rows(
        rows: Vec<PredictionRow>,
        windows: usize,
        targets: &[String],
        horizon: usize,
        season: usize,
        mase_scale: &dyn Fn(&str, usize) -> Option<f64>,
        panel: bool,
    ) -> Evaluation {
        // Rows by series, in order of first appearance.
        let mut at: HashMap<&str, usize> = HashMap::new();
        let mut ids: Vec<&str> = Vec::new();
        for r in &rows {
            at.entry(r.series.as_str()).or_insert_with(|| {
                ids.push(r.series.as_str());
                ids.len() - 1
            });
        }
        let select = |keep: &dyn Fn(&PredictionRow) -> bool| -> Vec<(&str, Vec<&PredictionRow>)> {
            let mut g: Vec<(&str, Vec<&PredictionRow>)> =
                ids.iter().map(|&i| (i, Vec::new())).collect();
            for r in rows.iter().filter(|r| keep(r)) {
                g[at[r.series.as_str()]].1.push(r);
            }
            g
        };
        let mut overall = BTreeMap::new();
        let mut per_step = BTreeMap::new();
        let mut panel_targets = BTreeMap::new();
        let mut per_series: BTreeMap<String, BTreeMap<String, Scores>> = BTreeMap::new();
        for (k, name) in targets.iter().enumerate() {
            let mase_of = |id: &str| mase_scale(id, k);
            let groups = select(&|r| &r.target == name);
            overall.insert(name.clone(), pooled(&groups, &mase_of));
            per_step.insert(
                name.clone(),
                // Each step from the target's own groups (same rows, same order), not from
                // another pass over every prediction.
                (1..=horizon)
                    .map(|h| {
                        let step: Vec<(&str, Vec<&PredictionRow>)> = groups
                            .iter()
                            .map(|(id, r)| {
                                (*id, r.iter().copied().filter(|x| x.step == h).collect())
                            })
                            .collect();
                        pooled(&step, &mase_of)
                    })
                    .collect(),
            );
            if panel {
                let scored: Vec<(&str, Scores)> = groups
                    .iter()
                    .map(|(id, r)| (*id, series_scores(r, mase_of(id))))
                    .collect();
                panel_targets.insert(name.clone(), summarise(&scored));
                for (id, s) in scored {
                    per_series
                        .entry(id.to_string())
                        .or_default()
                        .insert(name.clone(), s);
                }
            }
        }
        let period = {
            let first = rows.iter().map(|r| r.origin.as_str()).min();
            let last = rows.iter().map(|r| r.origin.as_str()).max();
            first.zip(last).map(|(a, b)| (a.to_string(), b.to_string()))
        };
        Evaluation {
            windows,
            season,
            split: None,
            period,
            overall,
            per_step,
            panel: panel.then_some(PanelScores {
                series: ids.len(),
                targets: panel_targets,
                per_series,
                intervals: BTreeMap::new(),
            }),
            skipped: Vec::new(),
            warnings: Vec::new(),
            models: BTreeMap::new(),
            truncated_at_zero: 0,
            interval_factors: BTreeMap::new(),
            intervals: BTreeMap::new(),
            quantiles: BTreeMap::new(),
            rows,
        }
    }

    /// Scores a quantile model's outputs at `taus` per target: scaled pinball loss and the share
    /// of actuals below each quantile.
    pub fn score_quantiles(
        &mut self,
        taus: &[f64],
        targets: &[String],
        mase_scale: &dyn Fn(&str, usize) -> Option<f64>,
    ) {
        if taus.is_empty() {
            return;
        }
        for (k, name) in targets.iter().enumerate() {
            let rows: Vec<&PredictionRow> = self
                .rows
                .iter()
                .filter(|r| &r.target == name && r.quantiles.len() == taus.len())
                .collect();
            let scores = taus
                .iter()
                .enumerate()
                .map(|(i, &tau)| {
                    let mut per_series: BTreeMap<&str, (f64, usize)> = BTreeMap::new();
                    let mut below = 0usize;
                    for r in &rows {
                        let (q, u) = (r.quantiles[i], r.actual - r.quantiles[i]);
                        below += usize::from(r.actual <= q);
                        if let Some(scale) = mase_scale(&r.series, k) {
                            let loss = if u >= 0.0 { tau * u } else { (tau - 1.0) * u };
                            let e = per_series.entry(r.series.as_str()).or_default();
                            e.0 += loss / scale;
                            e.1 += 1;
                        }
                    }
                    let per: Vec<f64> = per_series.values().map(|(s, n)| s / *n as f64).collect();
                    QuantileScore {
                        quantile: tau,
                        scaled_pinball: mean(&per),
                        below: (!rows.is_empty()).then(|| 100.0 * below as f64 / rows.len() as f64),
                    }
                })
                .collect();
            self.quantiles.insert(name.clone(), scores);
        }
    }

    /// Scores the rows' intervals at `levels` (percent, in the rows' order) per target: coverage,
    /// mean width and MSIS (scaled by `mase_scale(series, k)`, averaged over series); for a
    /// panel also per series.
    pub fn score_intervals(
        &mut self,
        levels: &[f64],
        targets: &[String],
        mase_scale: &dyn Fn(&str, usize) -> Option<f64>,
    ) {
        for (k, name) in targets.iter().enumerate() {
            let rows: Vec<&PredictionRow> =
                self.rows.iter().filter(|r| &r.target == name).collect();
            self.intervals
                .insert(name.clone(), interval_scores(&rows, levels, k, mase_scale));
            if let Some(p) = self.panel.as_mut() {
                let mut by_series: BTreeMap<&str, Vec<&PredictionRow>> = BTreeMap::new();
                for r in &rows {
                    by_series.entry(r.series.as_str()).or_default().push(r);
                }
                for (id, rs) in by_series {
                    p.intervals
                        .entry(id.to_string())
                        .or_default()
                        .insert(name.clone(), interval_scores(&rs, levels, k, mase_scale));
                }
            }
        }
    }
}

/// Coverage, mean width and MSIS of `rows` (target `k`) at each of `levels`.
fn interval_scores(
    rows: &[&PredictionRow],
    levels: &[f64],
    k: usize,
    mase_scale: &dyn Fn(&str, usize) -> Option<f64>,
) -> Vec<IntervalScore> {
    levels
        .iter()
        .enumerate()
        .map(|(i, &level)| {
            let alpha = 1.0 - level / 100.0;
            let (mut inside, mut width, mut scored) = (0usize, 0f64, 0usize);
            let mut per_series: BTreeMap<&str, (f64, usize)> = BTreeMap::new();
            for r in rows {
                let Some(Some((lo, hi))) = r.intervals.get(i).copied() else {
                    continue;
                };
                scored += 1;
                inside += usize::from(lo <= r.actual && r.actual <= hi);
                width += hi - lo;
                if let Some(q) = mase_scale(&r.series, k) {
                    let w = (hi - lo)
                        + 2.0 / alpha * (lo - r.actual).max(0.0)
                        + 2.0 / alpha * (r.actual - hi).max(0.0);
                    let e = per_series.entry(r.series.as_str()).or_default();
                    e.0 += w / q;
                    e.1 += 1;
                }
            }
            let msis: Vec<f64> = per_series.values().map(|(s, n)| s / *n as f64).collect();
            IntervalScore {
                level,
                coverage: (scored > 0).then(|| 100.0 * inside as f64 / scored as f64),
                mean_width: (scored > 0).then(|| width / scored as f64),
                msis: mean(&msis),
                scored,
                refused: rows.len() - scored,
                factor: None,
            }
        })
        .collect()
}

impl Evaluation {
    /// Notes in the interval scores of every target (`names`, in the model's order) the factor
    /// each level's bands came to ([`Evaluation::interval_factors`]): per series in the panel's
    /// scores, the median over series overall.
    pub(super) fn note_interval_factors(&mut self, names: &[String]) {
        use super::intervals::level_factor;
        for (k, name) in names.iter().enumerate() {
            let own = |id: &str, i: usize| {
                self.interval_factors
                    .get(id)
                    .and_then(|f| f.get(k))
                    .map(|f| level_factor(f, i))
            };
            if let Some(scores) = self.intervals.get_mut(name) {
                for (i, sc) in scores.iter_mut().enumerate() {
                    let mut all: Vec<f64> = self
                        .interval_factors
                        .keys()
                        .filter_map(|id| own(id, i))
                        .collect();
                    sc.factor = median(&mut all);
                }
            }
            if let Some(p) = self.panel.as_mut() {
                for (id, targets) in p.intervals.iter_mut() {
                    if let Some(scores) = targets.get_mut(name) {
                        for (i, sc) in scores.iter_mut().enumerate() {
                            sc.factor = own(id, i);
                        }
                    }
                }
            }
        }
    }
}

/// The across-series summary of one target.
fn summarise(scored: &[(&str, Scores)]) -> PanelTarget {
    let col = |f: fn(&Scores) -> Option<f64>| -> Vec<f64> {
        scored.iter().filter_map(|(_, s)| f(s)).collect()
    };
    let trio = |agg: &dyn Fn(&mut [f64]) -> Option<f64>| Trio {
        model: agg(&mut col(|s| s.model.mase)),
        naive: agg(&mut col(|s| s.naive.mase)),
        seasonal_naive: agg(&mut col(|s| s.seasonal_naive.mase)),
        ets: agg(&mut col(|s| s.ets.as_ref().and_then(|m| m.mase))),
        theta: agg(&mut col(|s| s.theta.as_ref().and_then(|m| m.mase))),
    };
    let mut ranked: Vec<SeriesMase> = scored
        .iter()
        .filter_map(|(id, s)| {
            s.model.mase.map(|m| SeriesMase {
                series: id.to_string(),
                mase: m,
                baseline_mase: s.best_baseline_mase(),
            })
        })
        .collect();
    ranked.sort_by(|a, b| a.mase.total_cmp(&b.mase).then(a.series.cmp(&b.series)));
    let beats = ranked
        .iter()
        .filter(|r| r.baseline_mase.is_some_and(|b| r.mase < b))
        .count();
    PanelTarget {
        series_scored: ranked.len(),
        mean_mase: trio(&|v| mean(v)),
        median_mase: trio(&|v| median(v)),
        beats_better_baseline: if ranked.is_empty() {
            0.0
        } else {
            beats as f64 / ranked.len() as f64
        },
        best: ranked.first().cloned(),
        median: ranked.get(ranked.len().saturating_sub(1) / 2).cloned(),
        worst: ranked.last().cloned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(series: &str, step: usize, actual: f64, predicted: f64) -> PredictionRow {
        PredictionRow {
            series: series.into(),
            origin: "0".into(),
            step,
            target: "y".into(),
            actual,
            predicted,
            naive: actual + 2.0,
            seasonal_naive: actual + 4.0,
            ets: None,
            theta: None,
            model: String::new(),
            intervals: Vec::new(),
            quantiles: Vec::new(),
        }
    }

    #[test]
    fn mase_is_scaled_per_series_and_averaged_across_series() {
        // a: model errors 1 and 1 (MAE 1), scale 1 → MASE 1; b: errors 3, 3 (MAE 3), scale 6 →
        // MASE 0.5. Mean 0.75, median 0.75; pooled MAE (1+1+3+3)/4 = 2.
        let rows = vec![
            row("a", 1, 10.0, 11.0),
            row("a", 2, 10.0, 9.0),
            row("b", 1, 50.0, 53.0),
            row("b", 2, 50.0, 47.0),
        ];
        let scale = |s: &str, _k: usize| Some(if s == "a" { 1.0 } else { 6.0 });
        let ev = Evaluation::from_rows(rows, 2, &["y".into()], 2, 1, &scale, true);
        let o = &ev.overall["y"];
        assert!((o.model.mae - 2.0).abs() < 1e-12);
        assert!((o.model.mase.unwrap() - 0.75).abs() < 1e-12);
        // naive errors are 2 everywhere: MASE 2 (a) and 1/3 (b).
        assert!((o.naive.mase.unwrap() - (2.0 + 1.0 / 3.0) / 2.0).abs() < 1e-12);
        let p = ev.panel.as_ref().unwrap();
        let t = &p.targets["y"];
        assert_eq!(t.series_scored, 2);
        assert!((t.median_mase.model.unwrap() - 0.75).abs() < 1e-12);
        // a: 1 vs the better baseline 2 → beats; b: 0.5 vs 1/3 → does not.
        assert_eq!(t.beats_better_baseline, 0.5);
        assert_eq!(t.worst.as_ref().unwrap().series, "a");
        assert_eq!(t.best.as_ref().unwrap().series, "b");
        assert!((p.per_series["b"]["y"].model.mase.unwrap() - 0.5).abs() < 1e-12);
        // per step 1: a error 1 → 1; b error 3 → 0.5.
        assert!((ev.per_step["y"][0].model.mase.unwrap() - 0.75).abs() < 1e-12);
    }

    #[test]
    fn a_single_series_scores_as_before() {
        let rows = vec![row("", 1, 10.0, 11.0), row("", 1, 12.0, 12.0)];
        let ev = Evaluation::from_rows(rows, 2, &["y".into()], 1, 1, &|_, _| Some(2.0), false);
        assert!(ev.panel.is_none());
        // MAE 0.5 / 2.
        assert_eq!(ev.overall["y"].model.mase, Some(0.25));
    }
}
