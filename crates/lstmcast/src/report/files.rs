//! The run folder's texts: `history.csv`, `predictions.csv`, `forecast.csv`, `metrics.json`,
//! `trials.csv`, `backtest.csv`, `folds.csv` and `backtest.json`, written the same way by the CLI
//! and returned as the same texts to Python.

use crate::forecaster::{Evaluation, Forecast, TrainedForecaster};
use crate::train::TrainReport;
use std::fmt::Write as _;

/// Pretty JSON text of `v` (an error object where it cannot be serialised).
pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// `history.csv`: epoch, train_loss, val_loss, learning_rate.
pub fn history_csv(report: &TrainReport) -> String {
    let mut s = String::from("epoch,train_loss,val_loss,learning_rate\n");
    for r in &report.history {
        let _ = writeln!(
            s,
            "{},{},{},{}",
            r.epoch,
            r.train_loss,
            r.val_loss.map(|v| v.to_string()).unwrap_or_default(),
            r.learning_rate
        );
    }
    s
}

pub(crate) fn csv_writer() -> csv::Writer<Vec<u8>> {
    csv::Writer::from_writer(Vec::new())
}

pub(crate) fn finish(w: csv::Writer<Vec<u8>>) -> String {
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

const PREDICTION_COLUMNS: [&str; 10] = [
    "origin",
    "step",
    "target",
    "actual",
    "predicted",
    "naive",
    "seasonal_naive",
    "ets",
    "theta",
    "model",
];

/// The header of a prediction table: `series_id` first for a panel, the interval columns of
/// `levels` last.
pub(crate) fn prediction_header(id: Option<&str>, levels: &[f64], taus: &[f64]) -> Vec<String> {
    id.map(|_| "series_id")
        .into_iter()
        .chain(PREDICTION_COLUMNS)
        .map(str::to_string)
        .chain(quantile_columns(taus))
        .chain(interval_columns(levels))
        .collect()
}

/// The interval levels an evaluation scored (percent, in order).
pub(crate) fn levels_of(ev: &Evaluation) -> Vec<f64> {
    ev.intervals
        .values()
        .next()
        .map(|v| v.iter().map(|s| s.level).collect())
        .unwrap_or_default()
}

/// The quantiles a quantile model's evaluation scored.
pub(crate) fn quantiles_of(ev: &Evaluation) -> Vec<f64> {
    ev.quantiles
        .values()
        .next()
        .map(|v| v.iter().map(|s| s.quantile).collect())
        .unwrap_or_default()
}

/// `q10, q50, q90` for quantiles 0.1, 0.5, 0.9.
pub(crate) fn quantile_columns(taus: &[f64]) -> Vec<String> {
    taus.iter()
        .map(|t| format!("q{}", crate::forecaster::intervals::level_name(t * 100.0)))
        .collect()
}

/// `lo80, hi80, lo95, hi95, …` for `levels` (percent).
pub(crate) fn interval_columns(levels: &[f64]) -> Vec<String> {
    levels
        .iter()
        .flat_map(|l| {
            let l = crate::forecaster::intervals::level_name(*l);
            [format!("lo{l}"), format!("hi{l}")]
        })
        .collect()
}

/// An interval's two cells (empty where the level was refused).
pub(crate) fn interval_cells(iv: &[Option<(f64, f64)>], n_levels: usize) -> Vec<String> {
    (0..n_levels)
        .flat_map(|i| match iv.get(i).copied().flatten() {
            Some((lo, hi)) => [lo.to_string(), hi.to_string()],
            None => [String::new(), String::new()],
        })
        .collect()
}

pub(crate) fn prediction_record(
    r: &crate::forecaster::PredictionRow,
    id: Option<&str>,
    n_levels: usize,
) -> Vec<String> {
    id.map(|_| r.series.clone())
        .into_iter()
        .chain([
            r.origin.clone(),
            r.step.to_string(),
            r.target.clone(),
            r.actual.to_string(),
            r.predicted.to_string(),
            r.naive.to_string(),
            r.seasonal_naive.to_string(),
            r.ets.map(|v| v.to_string()).unwrap_or_default(),
            r.theta.map(|v| v.to_string()).unwrap_or_default(),
            r.model.clone(),
        ])
        .chain(r.quantiles.iter().map(|q| q.to_string()))
        .chain(interval_cells(&r.intervals, n_levels))
        .collect()
}

/// `predictions.csv`: [series_id,] origin, step, target, actual, predicted, naive,
/// seasonal_naive, ets (empty for a series without an ETS model), theta (likewise), model (what forecast the
/// series: `lstm`, `ets` or `naive`), then `loL, hiL` per interval
/// level (empty where refused); `series_id` when the data has an id column (`id`).
pub fn predictions_csv(ev: &Evaluation, id: Option<&str>) -> String {
    let mut w = csv_writer();
    let levels = levels_of(ev);
    let _ = w.write_record(prediction_header(id, &levels, &quantiles_of(ev)));
    for r in &ev.rows {
        let _ = w.write_record(prediction_record(r, id, levels.len()));
    }
    finish(w)
}

/// A forecast as CSV: [`series_id`,] the time column (in the data's own layout), one column
/// per target (with its quantiles and intervals), then `model` (what forecast the series).
pub fn forecast_csv(panel: &crate::data::Panel, f: &Forecast) -> String {
    let (time_name, id) = (panel.time_name.as_str(), panel.id_name.as_deref());
    let mut w = csv_writer();
    let mut header: Vec<String> = id.map(|_| "series_id".to_string()).into_iter().collect();
    header.push(time_name.to_string());
    for t in &f.targets {
        header.push(t.clone());
        let cols = quantile_columns(&f.quantiles)
            .into_iter()
            .chain(interval_columns(&f.levels));
        header.extend(cols.map(|c| format!("{t}_{c}")));
    }
    header.push("model".to_string());
    let _ = w.write_record(&header);
    for s in &f.series {
        for (h, (t, row)) in s.timestamps.iter().zip(&s.values).enumerate() {
            let mut rec: Vec<String> = id.map(|_| s.id.clone()).into_iter().collect();
            rec.push(panel.format_time(t));
            for (k, v) in row.iter().enumerate() {
                rec.push(v.to_string());
                if let Some(q) = s.quantiles.get(h).and_then(|r| r.get(k)) {
                    // Empty past the trained horizon (NaN there).
                    rec.extend(q.iter().map(|v| {
                        if v.is_finite() {
                            v.to_string()
                        } else {
                            String::new()
                        }
                    }));
                }
                let iv = s.intervals.get(h).and_then(|r| r.get(k));
                rec.extend(interval_cells(
                    iv.map_or(&[][..], Vec::as_slice),
                    f.levels.len(),
                ));
            }
            rec.push(s.model.clone());
            let _ = w.write_record(&rec);
        }
    }
    finish(w)
}

/// The content of `metrics.json`: the evaluation plus training facts.
pub fn metrics(model: &TrainedForecaster, ev: &Evaluation) -> serde_json::Value {
    let mut v = serde_json::json!({
        "series": model.ids.len(),
        "test": ev,
        "training": {
            "best_epoch": model.report.best_epoch,
            "epochs_run": model.report.history.len(),
            "best_val_loss": model.report.best_val_loss,
            "stopped_early": model.report.stopped_early,
            "seconds": model.report.seconds,
        },
        "params": model.network.n_params(),
        "device": crate::engine::Device::Cpu.describe(),
        "normalize": model.selection.as_ref().map_or_else(
            || serde_json::json!({ "chosen": model.norm.mode }),
            |s| serde_json::json!(s),
        ),
    });
    if let Some(r) = &model.refit {
        v["refit"] = serde_json::json!(r);
    }
    v
}

/// `metrics.json` as text.
pub fn metrics_json(model: &TrainedForecaster, ev: &Evaluation) -> String {
    to_json(&metrics(model, ev))
}

/// `trials.csv`: one row per tuning trial.
pub fn trials_csv(r: &crate::tune::TuneResult) -> String {
    let mut w = csv_writer();
    let _ = w.write_record(
        std::iter::once("trial")
            .chain(crate::tune::TrialParams::NAMES)
            .chain([
                "rung", "epochs", "val_mse", "val_mase", "val_msis", "seconds", "error",
            ]),
    );
    for t in &r.trials {
        let p = &t.params;
        let _ = w.write_record([
            t.trial.to_string(),
            p.lookback.to_string(),
            p.layers
                .iter()
                .map(|u| u.to_string())
                .collect::<Vec<_>>()
                .join(","),
            p.dropout.to_string(),
            p.learning_rate.to_string(),
            p.batch_size.to_string(),
            p.normalize.name().to_string(),
            String::from(p.calendar.clone()),
            t.rung.to_string(),
            t.epochs.to_string(),
            t.val_mse.map(|v| v.to_string()).unwrap_or_default(),
            t.val_mase.map(|v| v.to_string()).unwrap_or_default(),
            t.val_msis.map(|v| v.to_string()).unwrap_or_default(),
            format!("{:.3}", t.seconds),
            t.error.clone().unwrap_or_default(),
        ]);
    }
    finish(w)
}

/// `backtest.csv`: every fold's predictions, with the fold number first.
pub fn backtest_csv(bt: &crate::backtest::Backtest, id: Option<&str>) -> String {
    let mut w = csv_writer();
    let levels = levels_of(&bt.aggregate);
    let _ = w.write_record(std::iter::once("fold".to_string()).chain(prediction_header(
        id,
        &levels,
        &quantiles_of(&bt.aggregate),
    )));
    for (i, f) in bt.folds.iter().enumerate() {
        for r in &f.evaluation.rows {
            let _ = w.write_record(
                std::iter::once((i + 1).to_string()).chain(prediction_record(r, id, levels.len())),
            );
        }
    }
    finish(w)
}

/// `folds.csv`: per fold and target, the rows used and the MASE / RMSE of the model and both
/// baselines.
pub fn folds_csv(bt: &crate::backtest::Backtest) -> String {
    let mut w = csv_writer();
    let levels = levels_of(&bt.aggregate);
    let _ = w.write_record(
        [
            "fold",
            "train_rows",
            "origin",
            "test_rows",
            "windows",
            "target",
            "lstm_mase",
            "naive_mase",
            "seasonal_naive_mase",
            "lstm_rmse",
            "naive_rmse",
            "seasonal_naive_rmse",
            "ets_mase",
            "ets_rmse",
        ]
        .into_iter()
        .map(str::to_string)
        .chain(levels.iter().flat_map(|l| {
            let l = crate::forecaster::intervals::level_name(*l);
            [
                format!("coverage{l}"),
                format!("width{l}"),
                format!("msis{l}"),
            ]
        })),
    );
    let opt = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    for (i, f) in bt.folds.iter().enumerate() {
        for (target, s) in &f.evaluation.overall {
            let _ = w.write_record(
                [
                    (i + 1).to_string(),
                    format!("{}..{}", f.rows.train.start, f.rows.train.end),
                    f.rows.origin.clone(),
                    format!("{}..{}", f.rows.test.start, f.rows.test.end),
                    f.evaluation.windows.to_string(),
                    target.clone(),
                    opt(s.model.mase),
                    opt(s.naive.mase),
                    opt(s.seasonal_naive.mase),
                    s.model.rmse.to_string(),
                    s.naive.rmse.to_string(),
                    s.seasonal_naive.rmse.to_string(),
                    opt(s.ets.as_ref().and_then(|e| e.mase)),
                    opt(s.ets.as_ref().map(|e| e.rmse)),
                ]
                .into_iter()
                .chain((0..levels.len()).flat_map(|i| {
                    let sc = f.evaluation.intervals.get(target).and_then(|v| v.get(i));
                    [
                        opt(sc.and_then(|s| s.coverage)),
                        opt(sc.and_then(|s| s.mean_width)),
                        opt(sc.and_then(|s| s.msis)),
                    ]
                })),
            );
        }
    }
    finish(w)
}

/// The JSON of a backtest: options, per-fold rows and scores, and the aggregate.
pub fn backtest_json(bt: &crate::backtest::Backtest) -> String {
    let folds: Vec<serde_json::Value> = bt
        .folds
        .iter()
        .map(|f| {
            serde_json::json!({
                "rows": f.rows,
                "normalize": f.model.norm.mode,
                "epochs_run": f.model.report.history.len(),
                "test": f.evaluation,
            })
        })
        .collect();
    to_json(&serde_json::json!({
        "options": bt.options,
        "folds": folds,
        "aggregate": bt.aggregate,
    }))
}
