//! The metrics table printed by `train` and `evaluate`.

use lstmcast::forecaster::PanelScores;
use lstmcast::metrics::Metrics;
use lstmcast::normalize::{CandidateScore, Selection};
use lstmcast::split::Skipped;
use lstmcast::{Evaluation, Forecast};
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

/// Series left out of a part, grouped by part: one line each (at most 10 named).
pub fn skipped(list: &[Skipped], n_series: usize) -> String {
    let mut out = String::new();
    for part in lstmcast::Part::ALL {
        let these: Vec<&Skipped> = list.iter().filter(|s| s.part == part).collect();
        if these.is_empty() {
            continue;
        }
        let named: Vec<String> = these
            .iter()
            .take(10)
            .map(|s| {
                let who = if s.series.is_empty() {
                    "the series".to_string()
                } else {
                    format!("'{}'", s.series)
                };
                format!("{who} ({})", s.why)
            })
            .collect();
        let more = if these.len() > 10 {
            format!(" and {} more", these.len() - 10)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "note: {} of {n_series} series left out of the {} part: {}{more}",
            these.len(),
            part.name(),
            named.join(", ")
        );
    }
    out
}

/// A note on series the forecast left out, and why.
pub fn forecast_skipped(f: &Forecast) -> String {
    let list = |v: &[(String, String)]| -> String {
        let named: Vec<String> = v
            .iter()
            .take(10)
            .map(|(id, why)| format!("'{id}' ({why})"))
            .collect();
        format!(
            "{}{}",
            named.join(", "),
            if v.len() > 10 { " ..." } else { "" }
        )
    };
    let mut out = String::new();
    if !f.skipped.is_empty() {
        out += &format!(
            "note: {} series not forecast by the network: {}\n",
            f.skipped.len(),
            list(&f.skipped)
        );
    }
    if !f.without_intervals.is_empty() {
        out += &format!(
            "note: {} series forecast without intervals: {}\n",
            f.without_intervals.len(),
            list(&f.without_intervals)
        );
    }
    out
}

/// Per series: the LSTM's and the baselines' MASE, best first (all series up to 20, else the 5
/// best and the 5 worst), and the across-series summary.
fn panel_table(out: &mut String, p: &PanelScores, target: &str) {
    let Some(t) = p.targets.get(target) else {
        return;
    };
    let f = |v: Option<f64>| v.map_or("n/a".into(), |x| format!("{x:.3}"));
    let _ = writeln!(
        out,
        "  across {} series ({} with a MASE): mean MASE lstm {} naive {} seasonal_naive {} ets {} theta {}; median lstm {} naive {} seasonal_naive {} ets {} theta {}",
        p.series,
        t.series_scored,
        f(t.mean_mase.model),
        f(t.mean_mase.naive),
        f(t.mean_mase.seasonal_naive),
        f(t.mean_mase.ets),
        f(t.mean_mase.theta),
        f(t.median_mase.model),
        f(t.median_mase.naive),
        f(t.median_mase.seasonal_naive),
        f(t.median_mase.ets),
        f(t.median_mase.theta)
    );
    let _ = writeln!(
        out,
        "  the LSTM beats the better baseline on {:.0} % of series; worst series: {}",
        100.0 * t.beats_better_baseline,
        t.worst.as_ref().map_or("n/a".into(), |w| format!(
            "{} (MASE {:.3} vs {})",
            w.series,
            w.mase,
            f(w.baseline_mase)
        ))
    );
    type Row<'a> = (
        &'a String,
        Option<f64>,
        Option<f64>,
        Option<f64>,
        Option<f64>,
    );
    let mut rows: Vec<Row> = p
        .per_series
        .iter()
        .filter_map(|(id, m)| {
            m.get(target).map(|s| {
                (
                    id,
                    s.model.mase,
                    s.naive.mase,
                    s.seasonal_naive.mase,
                    s.ets.as_ref().and_then(|e| e.mase),
                )
            })
        })
        .collect();
    rows.sort_by(|a, b| {
        a.1.unwrap_or(f64::INFINITY)
            .total_cmp(&b.1.unwrap_or(f64::INFINITY))
            .then(a.0.cmp(b.0))
    });
    // Each series' interval coverage per level (the levels of the first series that has any).
    let levels: Vec<f64> = p
        .intervals
        .values()
        .find_map(|m| m.get(target))
        .map(|v| v.iter().map(|s| s.level).collect())
        .unwrap_or_default();
    let coverage = |id: &str| -> String {
        p.intervals
            .get(id)
            .and_then(|m| m.get(target))
            .map(|v| {
                v.iter()
                    .map(|s| {
                        format!(
                            "{:>8}",
                            s.coverage.map_or("n/a".into(), |c| format!("{c:.1}%"))
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default()
    };
    let cov_header: String = levels
        .iter()
        .map(|l| {
            format!(
                "{:>8}",
                format!("cov{}", lstmcast::forecaster::intervals::level_name(*l))
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    let _ = writeln!(
        out,
        "  per series MASE:  {:<24} {:>8} {:>8} {:>14} {:>8} {cov_header}",
        "series", "lstm", "naive", "seasonal_naive", "ets"
    );
    let n = rows.len();
    for (i, (id, m, nv, sn, e)) in rows.iter().enumerate() {
        if n > 20 && i == 5 {
            let _ = writeln!(
                out,
                "                    ... {} more (every series is in metrics.json)",
                n - 10
            );
        }
        if n > 20 && (5..n - 5).contains(&i) {
            continue;
        }
        let _ = writeln!(
            out,
            "                    {:<24} {:>8} {:>8} {:>14} {:>8} {}",
            id,
            f(*m),
            f(*nv),
            f(*sn),
            f(*e),
            coverage(id)
        );
    }
}

/// The table: per target, the model beside both baselines; per step when the horizon is > 1;
/// per series for a panel.
pub fn table(ev: &Evaluation, horizon: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "test split: {} windows, horizon {horizon}, seasonal period {}",
        ev.windows, ev.season
    );
    if let (Some(sp), Some((first, last))) = (&ev.split, &ev.period) {
        let _ = writeln!(
            out,
            "test period: window origins {first} .. {last} (validation from {}, test from {})",
            sp.val_start, sp.test_start
        );
    }
    for w in &ev.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    if ev.models.len() > 1 || ev.models.keys().any(|m| m != "lstm") {
        let parts: Vec<String> = ev.models.iter().map(|(m, n)| format!("{m} {n}")).collect();
        let _ = writeln!(
            out,
            "forecast by (series): {} (ets/naive where the network could not: too short, or no scaler of its own)",
            parts.join(", ")
        );
    }
    if ev.truncated_at_zero > 0 {
        let _ = writeln!(
            out,
            "{} forecasts or bounds below zero raised to 0 (series whose values before the test are all positive)",
            ev.truncated_at_zero
        );
    }
    if let Some(p) = &ev.panel {
        let _ = writeln!(
            out,
            "{} series; errors pooled over all series, MASE averaged over series",
            p.series
        );
    }
    for (target, s) in &ev.overall {
        let _ = writeln!(out, "\ntarget {target} (original units, all steps)");
        let _ = writeln!(
            out,
            "  {:<16} {:>12} {:>12} {:>12} {:>8} {:>8} {:>7}",
            "forecaster", "MSE", "RMSE", "MAE", "MAPE%", "sMAPE%", "MASE"
        );
        // The chosen model's row: `lstm`, or the statistical model kept where no network was
        // (every series forecast by it).
        let label = match ev.models.keys().collect::<Vec<_>>()[..] {
            [only] if only != "lstm" && !only.is_empty() => format!("{only} (kept)"),
            _ => "lstm".to_string(),
        };
        row(&mut out, &label, &s.model);
        row(&mut out, "naive", &s.naive);
        row(&mut out, "seasonal_naive", &s.seasonal_naive);
        if let Some(e) = &s.ets {
            row(&mut out, "ets", e);
        }
        if let Some(e) = &s.theta {
            row(&mut out, "theta", e);
        }
        if s.model.mape_skipped > 0 {
            let _ = writeln!(out, "  (MAPE skips {} zero actuals)", s.model.mape_skipped);
        }
        if let Some(p) = &ev.panel {
            panel_table(&mut out, p, target);
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
        let verdict = if ev.panel.is_some() {
            format!("{verdict} (mean MASE over series)")
        } else {
            verdict
        };
        let _ = writeln!(out, "  → {verdict}");
        if let Some(iv) = ev.intervals.get(target) {
            for sc in iv {
                let pct = |v: Option<f64>, d: usize| v.map_or("n/a".into(), |x| format!("{x:.d$}"));
                let refused = if sc.refused > 0 {
                    format!(
                        "; none for {} of {} predictions (too few validation errors at their step)",
                        sc.refused,
                        sc.scored + sc.refused
                    )
                } else {
                    String::new()
                };
                let adapted = sc.factor.map_or(String::new(), |f| {
                    let over = if ev.panel.is_some() {
                        ", median over series"
                    } else {
                        ""
                    };
                    format!("; the forecast's bands ×{f:.2} (adapted to the test errors{over})")
                });
                let _ = writeln!(
                    out,
                    "  {}% interval: coverage {}% on {} predictions, mean width {}, MSIS {}{refused}{adapted}",
                    lstmcast::forecaster::intervals::level_name(sc.level),
                    pct(sc.coverage, 1),
                    sc.scored,
                    pct(sc.mean_width, 3),
                    pct(sc.msis, 3),
                );
            }
        }
        if let Some(qs) = ev.quantiles.get(target) {
            let parts: Vec<String> = qs
                .iter()
                .map(|q| {
                    format!(
                        "q{}: {} below (scaled pinball {})",
                        lstmcast::forecaster::intervals::level_name(q.quantile * 100.0),
                        q.below.map_or("n/a".into(), |b| format!("{b:.1}%")),
                        q.scaled_pinball.map_or("n/a".into(), |p| format!("{p:.4}"))
                    )
                })
                .collect();
            if !parts.is_empty() {
                let _ = writeln!(out, "  quantiles: {}", parts.join("; "));
            }
        }
        if let (Some(m), Some(e)) = (s.model.mase, s.ets.as_ref().and_then(|e| e.mase)) {
            let _ = writeln!(
                out,
                "  → the LSTM {} ETS (refitted on the rows before the test; MASE {m:.3} vs {e:.3})",
                if m < e { "beats" } else { "does NOT beat" }
            );
        }
        if horizon > 1 {
            let _ = writeln!(
                out,
                "  per step RMSE: {:>5} {:>12} {:>12} {:>14} {:>12}",
                "step", "lstm", "naive", "seasonal_naive", "ets"
            );
            for (h, st) in ev.per_step[target].iter().enumerate() {
                let _ = writeln!(
                    out,
                    "                 {:>5} {:>12.5} {:>12.5} {:>14.5} {:>12}",
                    h + 1,
                    st.model.rmse,
                    st.naive.rmse,
                    st.seasonal_naive.rmse,
                    st.ets
                        .as_ref()
                        .map_or("n/a".into(), |e| format!("{:.5}", e.rmse))
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
    let by_mase = CandidateScore::ranked_by_mase(&sel.candidates);
    let scores: Vec<String> = sel
        .candidates
        .iter()
        .map(|c| {
            let v = c
                .rank_score(by_mase)
                .map_or("n/a".into(), |v| format!("{v:.4}"));
            if sel.candidates.len() > 1 {
                format!("{} {v}", candidate_name(c.mode, c.transform, &c.calendar))
            } else {
                v
            }
        })
        .collect();
    let what = if by_mase {
        let origins = sel
            .candidates
            .iter()
            .map(|c| c.val_origins)
            .max()
            .unwrap_or(0);
        format!("validation MASE over {origins} origins")
    } else {
        "validation MSE, scaled units".to_string()
    };
    let name = candidate_name(sel.chosen, sel.chosen_transform, &sel.chosen_calendar);
    let chosen = match sel.chosen {
        lstmcast::Normalize::Ets => {
            format!("{name} (plain ETS, no network: nothing beat it on validation)")
        }
        _ => name,
    };
    let line = if sel.candidates.len() > 1 {
        format!(
            "normalize {}: chose {chosen} ({what}: {})",
            sel.requested.name(),
            scores.join(", ")
        )
    } else {
        format!("normalize {chosen} ({what} {})", scores.join(""))
    };
    match sel.ensemble_val_mase {
        Some(e) if !sel.members.is_empty() => {
            let alone: Vec<String> = sel
                .members
                .iter()
                .map(|m| m.val_mase.map_or("n/a".into(), |v| format!("{v:.4}")))
                .collect();
            format!(
                "{line}\nensemble of {} networks (median): validation MASE {e:.4} (further members alone: {})",
                sel.members.len() + 1,
                alone.join(", ")
            )
        }
        _ => line,
    }
}

/// One line on the ETS models fitted on the training rows: each form and how many series and
/// targets have it, and how many have none.
pub fn ets_forms(bank: &lstmcast::normalize::EtsBank) -> String {
    let mut forms: std::collections::BTreeMap<String, usize> = Default::default();
    let mut missing = 0;
    for fit in bank.fits.iter().flatten() {
        match fit {
            Ok(f) => *forms.entry(f.model.spec.name()).or_default() += 1,
            Err(_) => missing += 1,
        }
    }
    let total = forms.values().sum::<usize>() + missing;
    let mut parts: Vec<String> = forms
        .iter()
        .map(|(name, n)| {
            if total > 1 {
                format!("{name} ×{n}")
            } else {
                name.clone()
            }
        })
        .collect();
    if missing > 0 {
        parts.push(format!(
            "none for {missing} (too few training rows; see model.json)"
        ));
    }
    format!(
        "ETS on the training rows (the ES modes' references: least squares, form chosen by AIC): {}",
        parts.join(", ")
    )
}

/// A candidate's name: its normalisation, with `+log` (or `+boxcox`) when it was trained on
/// transformed targets.
fn candidate_name(
    mode: lstmcast::Normalize,
    transform: lstmcast::Transform,
    calendar: &[lstmcast::covariates::CalendarFeature],
) -> String {
    let mut name = match transform {
        lstmcast::Transform::Log => format!("{}+log", mode.name()),
        lstmcast::Transform::BoxCox { .. } => format!("{}+boxcox", mode.name()),
        _ => mode.name().to_string(),
    };
    // Plain ETS has no network to see the calendar.
    if !calendar.is_empty() && mode.trains() {
        let names: Vec<&str> = calendar.iter().map(|f| f.name()).collect();
        name.push_str(&format!("+calendar({})", names.join(",")));
    }
    name
}

/// One line on the covariates the network sees beside the targets and past inputs: the
/// future-known, static and calendar columns; `None` without any.
pub fn covariates(model: &lstmcast::TrainedForecaster) -> Option<String> {
    use lstmcast::data::Role;
    let of = |role: Role| -> Vec<&str> {
        model
            .names
            .iter()
            .zip(&model.roles)
            .filter(|(_, r)| **r == role)
            .map(|(n, _)| n.as_str())
            .collect()
    };
    let mut parts = Vec::new();
    for (role, what) in [(Role::Future, "future-known"), (Role::Static, "static")] {
        let cols = of(role);
        if !cols.is_empty() {
            parts.push(format!("{what} {}", cols.join(", ")));
        }
    }
    if !model.covariates.calendar.is_empty() {
        let names: Vec<&str> = model.covariates.calendar.iter().map(|f| f.name()).collect();
        parts.push(format!("calendar {} (sine/cosine pairs)", names.join(", ")));
    }
    (!parts.is_empty()).then(|| {
        format!(
            "covariates known at every forecast step (the head sees each step's values): {}",
            parts.join("; ")
        )
    })
}

/// One line on how the intervals were calibrated: per level, how many (series, target, step)
/// cells use their series' own validation errors, errors pooled across series, their series'
/// spread times a quantile of every series' scaled errors, or none.
pub fn calibration(c: &lstmcast::forecaster::intervals::Calibration) -> Option<String> {
    if c.levels.is_empty() {
        return None;
    }
    let parts: Vec<String> = c
        .levels
        .iter()
        .zip(c.summary())
        .enumerate()
        .map(|(i, (l, [own, pooled, scaled, refused]))| {
            let kind = if c.cqr.get(i).copied().flatten().is_some() {
                "quantile band corrected (CQR)"
            } else {
                "conformal"
            };
            let mut from = Vec::new();
            if own > 0 {
                from.push(format!("{own} from the series' own errors"));
            }
            if pooled > 0 {
                from.push(format!("{pooled} pooled across series"));
            }
            if scaled > 0 {
                let n = c.bands.iter().flatten().flatten().find_map(|b| {
                    (b[i].from == lstmcast::forecaster::intervals::Source::Scaled).then_some(b[i].n)
                });
                from.push(format!(
                    "{scaled} scaled (each series' error spread × a quantile of {} scaled errors of every series and step)",
                    n.unwrap_or(0)
                ));
            }
            if refused > 0 {
                from.push(format!("{refused} refused (too few errors)"));
            }
            format!(
                "{}% {kind}: {}",
                lstmcast::forecaster::intervals::level_name(*l),
                from.join(", ")
            )
        })
        .collect();
    Some(format!(
        "intervals calibrated on the validation rows per series, target and step: {}",
        parts.join("; ")
    ))
}
