//! `report.html`: one self-contained page per run folder (train, backtest, tune) for people. The
//! run's numbers go in as JSON; the page draws them with uPlot 1.6.32 (MIT, vendored under
//! `assets/uplot/` and embedded), so it opens without network access and can be mailed or
//! archived. The verdict and every number come from the same records as `metrics.json`.

use crate::backtest::Backtest;
use crate::data::Panel;
use crate::forecaster::{Evaluation, Forecast, Scores, TrainedForecaster};
use crate::tune::TuneResult;
use serde_json::{json, Value};

const UPLOT_JS: &str = include_str!("../../assets/uplot/uPlot.iife.min.js");
const UPLOT_CSS: &str = include_str!("../../assets/uplot/uPlot.min.css");
const APP_JS: &str = include_str!("../../assets/report/report.js");
const APP_CSS: &str = include_str!("../../assets/report/report.css");

/// History rows shown before a series' first test origin, at most (the page of a panel of
/// thousands of series stays a few megabytes).
pub const HISTORY_ROWS: usize = 240;

/// The report of a training run: the model, the data it was evaluated on, its evaluation and
/// its forecast past the data.
pub fn run_report(
    model: &TrainedForecaster,
    panel: &Panel,
    ev: &Evaluation,
    future: &Forecast,
) -> String {
    let metrics = crate::report::metrics(model, ev);
    let target = model.names.first().cloned().unwrap_or_default();
    let series: Vec<Value> = (0..panel.n_series())
        .map(|s| series_json(panel, s, ev, future, &target))
        .collect();
    let loss = json!({
        "epoch": model.report.history.iter().map(|r| r.epoch).collect::<Vec<_>>(),
        "train": model.report.history.iter().map(|r| finite(r.train_loss)).collect::<Vec<_>>(),
        "val": model.report.history.iter().map(|r| r.val_loss.and_then(finite)).collect::<Vec<_>>(),
        "best_epoch": model.report.best_epoch,
    });
    let data = json!({
        "kind": "train",
        "title": format!("lstmcast run: {}", title_of(model)),
        "verdict": verdict(ev, &target),
        "target": target,
        "targets": model.names[..model.n_targets].to_vec(),
        "panel": panel.id_name.is_some(),
        "levels": future.levels,
        "series": series,
        "loss": loss,
        "metrics": metrics,
    });
    page(&data_title(&data), &data)
}

/// The report of a backtest folder: every fold and the scores over all of them.
pub fn backtest_report(bt: &Backtest, panel: &Panel) -> String {
    let metrics: Value =
        serde_json::from_str(&crate::report::backtest_json(bt)).unwrap_or_default();
    let target = panel.names.first().cloned().unwrap_or_default();
    backtest_page(&metrics, &bt.aggregate, &target)
}

/// The report of a backtest folder from its `metrics.json` (what `lstmcast report` reads).
///
/// # Errors
/// A `metrics.json` that is not a backtest's.
pub fn backtest_report_from(metrics: &Value) -> crate::error::Result<String> {
    let bad = |why: &str| crate::error::Error::config("report", format!("metrics.json {why}"));
    let aggregate: Evaluation = serde_json::from_value(metrics["aggregate"].clone())
        .map_err(|e| bad(&format!("has no backtest aggregate ({e})")))?;
    let target = aggregate
        .overall
        .keys()
        .next()
        .cloned()
        .ok_or_else(|| bad("scores no target"))?;
    Ok(backtest_page(metrics, &aggregate, &target))
}

fn backtest_page(metrics: &Value, aggregate: &Evaluation, target: &str) -> String {
    let empty = Vec::new();
    let folds: Vec<Value> = metrics["folds"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let s = &f["test"]["overall"][target];
            let coverage: Vec<Value> = f["test"]["intervals"][target]
                .as_array()
                .map(|v| v.iter().map(|sc| sc["coverage"].clone()).collect())
                .unwrap_or_default();
            json!({
                "fold": i + 1,
                "origin": f["rows"]["origin"],
                "windows": f["test"]["windows"],
                "model": s["model"]["mase"],
                "naive": s["naive"]["mase"],
                "seasonal_naive": s["seasonal_naive"]["mase"],
                "ets": s["ets"]["mase"],
                "chosen": f["normalize"],
                "coverage": coverage,
            })
        })
        .collect();
    let data = json!({
        "kind": "backtest",
        "title": format!("lstmcast backtest: {} folds", folds.len()),
        "verdict": verdict(aggregate, target),
        "target": target,
        "folds": folds,
        "metrics": { "test": aggregate },
    });
    page(&data_title(&data), &data)
}

/// The report of a tuning folder: every trial and the best (whose own run report is
/// `best/report.html`).
pub fn tune_report(r: &TuneResult) -> String {
    let trials: Vec<Value> = r
        .trials
        .iter()
        .map(|t| {
            json!({
                "trial": t.trial,
                "lookback": t.params.lookback,
                "layers": t.params.layers.iter().map(|u| u.to_string()).collect::<Vec<_>>().join(","),
                "dropout": t.params.dropout,
                "learning_rate": t.params.learning_rate,
                "batch_size": t.params.batch_size,
                "normalize": t.params.normalize.name(),
                "rung": t.rung,
                "epochs": t.epochs,
                "val_mase": t.val_mase,
                "val_mse": t.val_mse,
                "error": t.error,
            })
        })
        .collect();
    let best = r.trials.iter().find(|t| t.trial == r.best);
    let data = json!({
        "kind": "tune",
        "title": format!("lstmcast tune: {} trials", r.trials.len()),
        "verdict": match best {
            Some(b) => format!(
                "The best of {} trials is trial {} (validation MASE {}); its model and report are in best/.",
                r.trials.len(),
                b.trial,
                b.val_mase.map_or("–".into(), |v| format!("{v:.4}"))
            ),
            None => "No trial finished.".into(),
        },
        "trials": trials,
        "best": r.best,
        "rungs": r.rungs,
    });
    page(&data_title(&data), &data)
}

fn data_title(data: &Value) -> String {
    data["title"].as_str().unwrap_or("lstmcast").to_string()
}

fn title_of(model: &TrainedForecaster) -> String {
    let what = model.names[..model.n_targets].join(", ");
    match model.ids.len() {
        1 if model.id_name.is_none() => what,
        n => format!("{what}, {n} series"),
    }
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// A chart value: finite, to 6 significant digits (the page of a large panel stays small; the
/// exact numbers are in the CSV files beside it).
fn chart(v: f64) -> Option<f64> {
    finite(v).map(|v| format!("{v:.5e}").parse().unwrap_or(v))
}

/// The headline: the model against each baseline, in MASE over the test part (for a panel, the
/// mean over series and the share of series where the model beats each).
pub fn verdict(ev: &Evaluation, target: &str) -> String {
    let name = |k: &str| match k {
        "naive" => "naive",
        "seasonal_naive" => "seasonal naive",
        "ets" => "ETS",
        _ => "Theta",
    };
    if let Some(p) = &ev.panel {
        let Some(t) = p.targets.get(target) else {
            return "No series was scored.".into();
        };
        let mut parts = Vec::new();
        for (k, base) in [
            ("naive", t.mean_mase.naive),
            ("seasonal_naive", t.mean_mase.seasonal_naive),
            ("ets", t.mean_mase.ets),
            ("theta", t.mean_mase.theta),
        ] {
            let Some(base) = base else { continue };
            let wins = p
                .per_series
                .values()
                .filter_map(|m| m.get(target))
                .filter(|s| {
                    let b = baseline_mase(s, k);
                    matches!((s.model.mase, b), (Some(a), Some(b)) if a < b)
                })
                .count();
            parts.push(format!(
                "{} {} (better on {} of {} series)",
                name(k),
                f3(Some(base)),
                wins,
                t.series_scored
            ));
        }
        return format!(
            "Mean test MASE over {} series: the model {}; {}.",
            t.series_scored,
            f3(t.mean_mase.model),
            parts.join(", ")
        );
    }
    let Some(s) = ev.overall.get(target) else {
        return "Nothing was scored.".into();
    };
    let model = s.model.mase;
    let mut better = Vec::new();
    let mut worse = Vec::new();
    for k in ["naive", "seasonal_naive", "ets", "theta"] {
        let Some(b) = baseline_mase(s, k) else {
            continue;
        };
        let text = format!("{} {}", name(k), f3(Some(b)));
        match model {
            Some(m) if m < b => better.push(text),
            _ => worse.push(text),
        }
    }
    let mut v = format!("Test MASE {}", f3(model));
    if !better.is_empty() {
        v.push_str(&format!(": better than {}", better.join(", ")));
    }
    if !worse.is_empty() {
        v.push_str(&format!(
            "{}not better than {}",
            if better.is_empty() { ": " } else { "; " },
            worse.join(", ")
        ));
    }
    v.push('.');
    v
}

fn baseline_mase(s: &Scores, k: &str) -> Option<f64> {
    match k {
        "naive" => s.naive.mase,
        "seasonal_naive" => s.seasonal_naive.mase,
        "ets" => s.ets.as_ref().and_then(|m| m.mase),
        _ => s.theta.as_ref().and_then(|m| m.mase),
    }
}

fn f3(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.3}"))
}

/// One series' chart data and scores (the first target).
fn series_json(panel: &Panel, s: usize, ev: &Evaluation, future: &Forecast, target: &str) -> Value {
    let id = &panel.ids[s];
    let k = panel.names.iter().position(|n| n == target).unwrap_or(0);
    let y = panel.series_column(s, k);
    let times = panel.series_timestamps(s);
    let n = y.len();
    let label = |r: usize| times.get(r).map(|t| t.to_string()).unwrap_or_default();
    let row_of: std::collections::HashMap<String, usize> = (0..n).map(|r| (label(r), r)).collect();
    let rows: Vec<_> = ev
        .rows
        .iter()
        .filter(|r| &r.series == id && r.target == target)
        .collect();
    let test_start = rows
        .iter()
        .filter_map(|r| row_of.get(&r.origin).copied())
        .min()
        .unwrap_or(n);
    let first = test_start.saturating_sub(HISTORY_ROWS);
    // One-step predictions at every test origin.
    let step1: Vec<(usize, f64)> = rows
        .iter()
        .filter(|r| r.step == 1)
        .filter_map(|r| Some((*row_of.get(&r.origin)?, chart(r.predicted)?)))
        .collect();
    // The path from the first test origin, every step, with its bands.
    let origin = rows
        .iter()
        .find(|r| row_of.get(&r.origin) == Some(&test_start));
    let path: Vec<_> = match origin {
        Some(o) => rows.iter().filter(|r| r.origin == o.origin).collect(),
        None => Vec::new(),
    };
    let levels = &future.levels;
    let band = |iv: &[Option<(f64, f64)>], i: usize, hi: bool| {
        iv.get(i)
            .copied()
            .flatten()
            .and_then(|(l, h)| chart(if hi { h } else { l }))
    };
    let path_json = json!({
        "x": path.iter().map(|r| test_start + r.step - 1).collect::<Vec<_>>(),
        "pred": path.iter().map(|r| chart(r.predicted)).collect::<Vec<_>>(),
        "lo": (0..levels.len()).map(|i| path.iter().map(|r| band(&r.intervals, i, false)).collect::<Vec<_>>()).collect::<Vec<_>>(),
        "hi": (0..levels.len()).map(|i| path.iter().map(|r| band(&r.intervals, i, true)).collect::<Vec<_>>()).collect::<Vec<_>>(),
    });
    let fc = future.series.iter().find(|f| &f.id == id);
    let fk = future.targets.iter().position(|t| t == target).unwrap_or(0);
    let fc_json = fc.map(|f| {
        json!({
            "labels": f.timestamps.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
            "pred": f.values.iter().map(|v| v.get(fk).copied().and_then(chart)).collect::<Vec<_>>(),
            "lo": (0..levels.len()).map(|i| f.intervals.iter().map(|iv| iv.get(fk).and_then(|b| band(b, i, false))).collect::<Vec<_>>()).collect::<Vec<_>>(),
            "hi": (0..levels.len()).map(|i| f.intervals.iter().map(|iv| iv.get(fk).and_then(|b| band(b, i, true))).collect::<Vec<_>>()).collect::<Vec<_>>(),
            "model": f.model,
        })
    });
    let scores = match &ev.panel {
        Some(p) => p.per_series.get(id).and_then(|m| m.get(target)),
        None => ev.overall.get(target),
    };
    let coverage: Vec<Option<f64>> = match &ev.panel {
        Some(p) => p
            .intervals
            .get(id)
            .and_then(|m| m.get(target))
            .map(|v| v.iter().map(|i| i.coverage).collect())
            .unwrap_or_default(),
        None => ev
            .intervals
            .get(target)
            .map(|v| v.iter().map(|i| i.coverage).collect())
            .unwrap_or_default(),
    };
    let models: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.model.as_str()).collect();
    json!({
        "id": id,
        "x0": first,
        "labels": (first..n).map(label).collect::<Vec<_>>(),
        "y": y[first..n].iter().map(|&v| chart(v)).collect::<Vec<_>>(),
        "test_start": test_start,
        "step1": step1,
        "path": path_json,
        "forecast": fc_json,
        "model": models.into_iter().collect::<Vec<_>>().join(", "),
        "mase": scores.map(|s| json!({
            "model": s.model.mase,
            "naive": s.naive.mase,
            "seasonal_naive": s.seasonal_naive.mase,
            "ets": s.ets.as_ref().and_then(|m| m.mase),
            "theta": s.theta.as_ref().and_then(|m| m.mase),
        })),
        "coverage": coverage,
    })
}

/// The page: styles, uPlot, the run's data as JSON and the script that draws it.
fn page(title: &str, data: &Value) -> String {
    // `</` inside a script element would end it early.
    let json = serde_json::to_string(data)
        .unwrap_or_else(|_| "{}".into())
        .replace("</", "<\\/");
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"generator\" content=\"lstmcast {version}\">\n<title>{title}</title>\n<style>\n{UPLOT_CSS}\n{APP_CSS}\n</style>\n</head>\n<body>\n<main id=\"report\"><h1>{title}</h1><noscript><p>This report draws its tables and charts with JavaScript; the numbers are also in metrics.json, predictions.csv and forecast.csv beside it.</p></noscript></main>\n<script type=\"application/json\" id=\"data\">{json}</script>\n<script>\n{UPLOT_JS}\n</script>\n<script>\n{APP_JS}\n</script>\n</body>\n</html>\n",
        version = env!("CARGO_PKG_VERSION"),
        title = escape(title),
    )
}

/// HTML text escaping.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_cannot_close_its_script_element() {
        let data = json!({"kind": "tune", "title": "a </script><b>", "trials": []});
        let html = page("x", &data);
        let start = html.find("id=\"data\">").unwrap();
        let end = html[start..].find("</script>").unwrap() + start;
        let json = &html[start + "id=\"data\">".len()..end];
        let back: Value = serde_json::from_str(json).unwrap();
        assert_eq!(back["title"], "a </script><b>");
        assert!(html.contains("<title>x</title>"));
        // Self-contained: no reference to anything outside the page.
        assert!(!html.contains("src=\"http") && !html.contains("href=\"http"));
    }
}
