//! The metrics table printed by `train` and `evaluate`.

use lstmcast::metrics::Metrics;
use lstmcast::normalize::Selection;
use lstmcast::Evaluation;
use std::fmt::Write as _;

fn opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.3}")).unwrap_or_else(|| "n/a".into())
}

fn row(out: &mut String, name: &str, m: &Metrics) {
    let _ = writeln!(
        out,
        "  {name:<16} {:>12.5} {:>12.5} {:>12.5} {:>8} {:>8.3} {:>7}",
        m.mse,
        m.rmse,
        m.mae,
        opt(m.mape),
        m.smape,
        opt(m.mase)
    );
}

/// The table: per target, the model beside both baselines; per step when the horizon is > 1.
pub fn table(ev: &Evaluation, horizon: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "test split: {} windows, horizon {horizon}, seasonal period {}",
        ev.windows, ev.season
    );
    for (target, s) in &ev.overall {
        let _ = writeln!(out, "\ntarget {target} (original units, all steps)");
        let _ = writeln!(
            out,
            "  {:<16} {:>12} {:>12} {:>12} {:>8} {:>8} {:>7}",
            "forecaster", "MSE", "RMSE", "MAE", "MAPE%", "sMAPE%", "MASE"
        );
        row(&mut out, "lstm", &s.model);
        row(&mut out, "naive", &s.naive);
        row(&mut out, "seasonal_naive", &s.seasonal_naive);
        if s.model.mape_skipped > 0 {
            let _ = writeln!(out, "  (MAPE skips {} zero actuals)", s.model.mape_skipped);
        }
        let verdict = match (s.model.mase, s.naive.mase.min_by_nan(s.seasonal_naive.mase)) {
            (Some(m), Some(b)) if m < b => {
                format!("the LSTM beats the better baseline (MASE {m:.3} vs {b:.3})")
            }
            (Some(m), Some(b)) => {
                format!("the LSTM does NOT beat the better baseline (MASE {m:.3} vs {b:.3})")
            }
            _ => "MASE undefined (the training rows repeat exactly)".into(),
        };
        let _ = writeln!(out, "  → {verdict}");
        if horizon > 1 {
            let _ = writeln!(
                out,
                "  per step RMSE: {:>5} {:>12} {:>12} {:>14}",
                "step", "lstm", "naive", "seasonal_naive"
            );
            for (h, st) in ev.per_step[target].iter().enumerate() {
                let _ = writeln!(
                    out,
                    "                 {:>5} {:>12.5} {:>12.5} {:>14.5}",
                    h + 1,
                    st.model.rmse,
                    st.naive.rmse,
                    st.seasonal_naive.rmse
                );
            }
        }
    }
    out
}

trait MinOpt {
    fn min_by_nan(self, other: Self) -> Self;
}

impl MinOpt for Option<f64> {
    fn min_by_nan(self, other: Self) -> Self {
        match (self, other) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, None) => a,
            (None, b) => b,
        }
    }
}

/// One line on the normalisation: what was chosen and, for `auto`, every candidate's score.
pub fn selection(sel: &Selection) -> String {
    let scores: Vec<String> = sel
        .candidates
        .iter()
        .map(|c| {
            let v = c.val_mse.map_or("n/a".into(), |v| format!("{v:.5}"));
            if sel.candidates.len() > 1 {
                format!("{} {v}", c.mode.name())
            } else {
                v
            }
        })
        .collect();
    if sel.candidates.len() > 1 {
        format!(
            "normalize {}: chose {} (validation MSE, scaled units: {})",
            sel.requested.name(),
            sel.chosen.name(),
            scores.join(", ")
        )
    } else {
        format!(
            "normalize {} (validation MSE {})",
            sel.chosen.name(),
            scores.join("")
        )
    }
}
