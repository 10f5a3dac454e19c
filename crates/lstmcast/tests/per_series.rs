//! The model of each series of a panel (issue 26, `--per-series choose`): chosen on
//! validation by the rule the record states, stored in the model, reused by `evaluate` and
//! `forecast` (and after saving and loading), and independent of the thread count. Small
//! networks and few epochs: plumbing and invariants, not accuracy.

mod common;
use common::fit;

use lstmcast::config::PerSeries;
use lstmcast::{ForecasterConfig, Normalize, Panel, TrainedForecaster};

/// Six monthly series of 96 rows on their own levels: three with a yearly cycle, three with a
/// trend and a slower wobble. With `--split-last 12,12`: training 0..72, validation 72..84.
fn panel() -> Panel {
    let series = (0..6)
        .map(|k| {
            let y: Vec<f64> = (0..96)
                .map(|t| {
                    let t = t as f64;
                    let noise = ((t as usize * 7 + k * 5) % 11) as f64 * 0.4;
                    if k < 3 {
                        40.0 + 10.0 * k as f64
                            + 8.0 * (t * std::f64::consts::PI / 6.0).sin()
                            + noise
                    } else {
                        20.0 + 0.5 * k as f64 * t + 3.0 * (t / 9.0).sin() + noise
                    }
                })
                .collect();
            (format!("s{k}"), vec![y])
        })
        .collect();
    Panel::from_series(vec!["y".into()], 1, series).unwrap()
}

fn cfg(per_series: PerSeries) -> ForecasterConfig {
    let mut c = ForecasterConfig {
        lookback: 12,
        horizon: 3,
        season: Some(12),
        per_series,
        ..Default::default()
    };
    c.split.last = Some([12, 12]);
    c.model.layers = vec![6];
    c.training.epochs = 3;
    c.training.patience = 0;
    c
}

#[test]
fn each_series_gets_the_option_its_shrunk_validation_score_says() {
    let p = panel();
    let m = fit(&cfg(PerSeries::Choose), &p, 1);
    let sel = m.selection.as_ref().unwrap();
    let ch = sel
        .per_series
        .as_ref()
        .expect("a panel gets a choice per series");
    // The kept model first, then the statistical options it is not.
    assert_eq!(ch.options[0], sel.chosen);
    assert_eq!(
        ch.options.len(),
        4 - usize::from(ch.options[0].is_statistical())
    );
    assert_eq!(ch.series.len(), 6);
    for c in &ch.series {
        // 12 validation rows, horizon 3: every one of them is an origin.
        assert_eq!(c.origins, 12, "{}", c.id);
        assert!((c.weight - 12.0 / 15.0).abs() < 1e-12);
        // The rule, recomputed from the record: w · own + (1 − w) · panel, lowest wins, the kept
        // model on a tie.
        let shrunk: Vec<f64> = c
            .scores
            .iter()
            .zip(&ch.panel)
            .map(|(o, a)| c.weight * o.unwrap() + (1.0 - c.weight) * a.unwrap())
            .collect();
        let best = (0..shrunk.len()).fold(0, |b, i| if shrunk[i] < shrunk[b] { i } else { b });
        assert_eq!(c.chosen, ch.options[best], "{}: {shrunk:?}", c.id);
    }
    // The panel's ranking is the mean of the series' own scores.
    for (i, a) in ch.panel.iter().enumerate() {
        let mean = ch.series.iter().map(|c| c.scores[i].unwrap()).sum::<f64>() / 6.0;
        assert!((a.unwrap() - mean).abs() < 1e-12);
    }
    // `none`: no choice, every series forecast by the kept model.
    let one = fit(&cfg(PerSeries::None), &p, 1);
    assert!(one.selection.as_ref().unwrap().per_series.is_none());
    let kept = one.model_name();
    assert!(one
        .evaluate(&p)
        .unwrap()
        .rows
        .iter()
        .all(|r| r.model == kept));
}

#[test]
fn a_stored_choice_is_what_evaluate_and_forecast_use_after_a_reload() {
    let p = panel();
    let mut m = fit(&cfg(PerSeries::Choose), &p, 1);
    // Whatever validation chose, send s0 to Theta and s1 to the kept model, so that both
    // routes are exercised.
    let kept = m.norm.mode;
    let other = if kept == Normalize::Theta {
        Normalize::Ets
    } else {
        Normalize::Theta
    };
    {
        let ch = m.selection.as_mut().unwrap().per_series.as_mut().unwrap();
        ch.series[0].chosen = other;
        ch.series[1].chosen = kept;
    }
    let ev = m.evaluate(&p).unwrap();
    let name = other.name();
    let s0: Vec<_> = ev.rows.iter().filter(|r| r.series == "s0").collect();
    assert!(!s0.is_empty());
    for r in &s0 {
        assert_eq!(r.model, name);
        // The statistical forecast is the baseline column of the same name (both fitted on
        // the rows before the test).
        let want = if other == Normalize::Theta {
            r.theta
        } else {
            r.ets
        };
        assert_eq!(Some(r.predicted), want);
        assert!(r.intervals.iter().all(Option::is_some));
    }
    assert!(ev
        .rows
        .iter()
        .filter(|r| r.series == "s1")
        .all(|r| r.model == m.model_name()));
    assert_eq!(ev.models.get(name).copied(), Some(1));
    let f = m.forecast(&p, None).unwrap();
    let f0 = f.series.iter().find(|s| s.id == "s0").unwrap();
    assert_eq!(f0.model, name);
    assert!(f0.intervals.iter().flatten().flatten().all(Option::is_some));
    // Saved and loaded: the same rows and forecast.
    let dir = tempfile::tempdir().unwrap();
    m.save(&dir.path().join("m"), false).unwrap();
    let back = TrainedForecaster::load(&dir.path().join("m")).unwrap();
    assert_eq!(back.evaluate(&p).unwrap().rows, ev.rows);
    assert_eq!(back.forecast(&p, None).unwrap(), f);
}

#[test]
fn the_choice_does_not_depend_on_the_thread_count() {
    let p = panel();
    let (a, b) = (
        fit(&cfg(PerSeries::Choose), &p, 1),
        fit(&cfg(PerSeries::Choose), &p, 2),
    );
    assert_eq!(a.selection, b.selection);
    assert_eq!(a.calibration, b.calibration);
    assert_eq!(a.evaluate(&p).unwrap().rows, b.evaluate(&p).unwrap().rows);
}

#[test]
fn a_network_averaged_with_ets_theta_is_what_validation_says_and_what_forecasts() {
    let p = panel();
    let mut c = cfg(PerSeries::None);
    c.normalize = Normalize::Window;
    c.combine = lstmcast::config::Combine::Auto;
    let m = fit(&c, &p, 1);
    let comb = m
        .selection
        .as_ref()
        .unwrap()
        .combination
        .clone()
        .expect("a network with the statistical fits gets the decision");
    // A network asked for by name: no statistical candidate was scored, so the partner is
    // `ets-theta` and nothing stands instead of the network.
    assert_eq!(comb.with, Normalize::EtsTheta);
    assert_eq!(comb.network, Some(Normalize::Window));
    assert_eq!(comb.instead, None);
    let (alone, combined) = (comb.alone.unwrap(), comb.combined.unwrap());
    assert_eq!(comb.kept, combined < alone);
    // Kept or not, force both ways and check what evaluate and forecast do.
    let set = |kept: bool| {
        let mut m = m.clone();
        m.selection
            .as_mut()
            .unwrap()
            .combination
            .as_mut()
            .unwrap()
            .kept = kept;
        m
    };
    let (net, mean) = (set(false), set(true));
    let (a, b) = (net.evaluate(&p).unwrap(), mean.evaluate(&p).unwrap());
    assert!(a.rows.iter().all(|r| r.model == "lstm"));
    for (r, s) in a.rows.iter().zip(&b.rows) {
        assert_eq!(s.model, "lstm+ets-theta");
        // The mean of the network and of ETS and Theta (fitted on the rows before the test).
        let want = 0.5 * r.predicted + 0.25 * (r.ets.unwrap() + r.theta.unwrap());
        assert!(
            (s.predicted - want).abs() < 1e-9 * want.abs().max(1.0),
            "{} vs {want}",
            s.predicted
        );
    }
    let f = mean.forecast(&p, None).unwrap();
    assert!(f.series.iter().all(|s| s.model == "lstm+ets-theta"));
    assert_ne!(f, net.forecast(&p, None).unwrap());
    // Saved and loaded, the mean stays.
    let dir = tempfile::tempdir().unwrap();
    mean.save(&dir.path().join("m"), false).unwrap();
    let back = TrainedForecaster::load(&dir.path().join("m")).unwrap();
    assert_eq!(back.evaluate(&p).unwrap().rows, b.rows);
    // `none`: no decision.
    c.combine = lstmcast::config::Combine::None;
    assert!(fit(&c, &p, 1).selection.unwrap().combination.is_none());
}

#[test]
fn under_auto_the_best_network_averaged_with_the_best_statistics_competes_with_the_kept_one() {
    let p = panel();
    let mut c = cfg(PerSeries::None);
    c.combine = lstmcast::config::Combine::Auto;
    let m = fit(&c, &p, 1);
    let sel = m.selection.as_ref().unwrap();
    let comb = sel
        .combination
        .clone()
        .expect("auto with --combine auto decides");
    let val = |keep: fn(Normalize) -> bool| {
        sel.candidates
            .iter()
            .filter(|s| keep(s.mode))
            .min_by(|a, b| a.val_mase.unwrap().total_cmp(&b.val_mase.unwrap()))
            .unwrap()
    };
    // The two recomputed from the candidates' record: the best network and the best
    // statistical forecast by validation MASE.
    let (net, stat) = (val(Normalize::trains), val(Normalize::is_statistical));
    assert_eq!(comb.network, Some(net.mode));
    assert_eq!(comb.with, stat.mode);
    // The network alone scores what it scored as a candidate (the same weights, the same
    // validation origins).
    let alone = comb.alone.unwrap();
    assert!((alone - net.val_mase.unwrap()).abs() <= 1e-9 * alone);
    // `instead` is the statistical candidate's score where it beat every network.
    let stat_won = stat.val_mase.unwrap() < net.val_mase.unwrap();
    assert_eq!(comb.instead, stat_won.then(|| stat.val_mase.unwrap()));
    let single = alone.min(stat.val_mase.unwrap());
    assert_eq!(comb.kept, comb.combined.unwrap() < single);
    // What is kept: the network (averaged) where the mean won, else the best candidate.
    let best = val(|_| true);
    assert_eq!(sel.chosen, if comb.kept { net.mode } else { best.mode });
    // Forced kept, the test rows are the averaged network's.
    let mut forced = m.clone();
    if !comb.kept {
        forced = fit(
            &ForecasterConfig {
                normalize: net.mode,
                ..c.clone()
            },
            &p,
            1,
        );
        let f = forced
            .selection
            .as_mut()
            .unwrap()
            .combination
            .as_mut()
            .unwrap();
        f.with = stat.mode;
        f.kept = true;
    }
    let name = format!("lstm+{}", stat.mode.name());
    assert!(forced
        .evaluate(&p)
        .unwrap()
        .rows
        .iter()
        .all(|r| r.model == name));
}

#[test]
fn a_network_and_its_partner_are_each_floored_at_zero_before_they_are_averaged() {
    // 60 positive rows falling fast (1000 down to about 56): past the data, a network of
    // differences and Theta's trend go below zero within a few steps.
    let y: Vec<f64> = (0..60)
        .map(|t| 1000.0 - 16.0 * t as f64 + 8.0 * (t as f64 * 1.3).sin())
        .collect();
    let p = Panel::from_series(vec!["y".into()], 1, vec![("s".into(), vec![y.clone()])]).unwrap();
    let mut c = cfg(PerSeries::None);
    c.normalize = Normalize::Diff;
    c.combine = lstmcast::config::Combine::Auto;
    c.season = Some(1);
    c.lookback = 6;
    c.horizon = 12;
    let m = fit(&c, &p, 1);
    let set = |kept: bool, with: Normalize| {
        let mut m = m.clone();
        let comb = m.selection.as_mut().unwrap().combination.as_mut().unwrap();
        comb.kept = kept;
        comb.with = with;
        m
    };
    // The network alone (floored at the end, as every forecast of positive data is) and
    // Theta fitted on all 60 rows (as `forecast` fits it), floored.
    let net = set(false, Normalize::Theta).forecast(&p, None).unwrap();
    let theta = lstmcast::theta::Theta::fit(&y, 1).unwrap().filter(&y);
    let mean = set(true, Normalize::Theta).forecast(&p, None).unwrap();
    let mut teeth = 0;
    for h in 0..12 {
        let (a, b) = (
            net.series[0].values[h][0],
            theta.forecast(60, h + 1).max(0.0),
        );
        let got = mean.series[0].values[h][0];
        let want = 0.5 * (a + b);
        assert!(
            (got - want).abs() <= 1e-6 * want.abs().max(1.0),
            "step {}: {got} vs {want} (network {a}, theta {b})",
            h + 1
        );
        teeth += usize::from(a == 0.0 && b > 0.0 || b == 0.0 && a > 0.0);
    }
    assert!(
        teeth > 0,
        "the test has no teeth: nothing was floored alone"
    );
}

#[test]
fn an_es_network_asked_for_by_name_leaves_a_series_without_ets_to_the_stand_in() {
    // Five series of 96 rows, and one of 26 whose last 24 rows are its validation and test:
    // 2 training rows, too few for ETS, but with a lookback of 4 it has validation and test
    // windows. `--normalize es` used to refuse the whole panel for it.
    let long = panel();
    let mut series: Vec<(String, Vec<Vec<f64>>)> = (0..5)
        .map(|s| {
            let y = long.series_column(s, 0).to_vec();
            (long.ids[s].clone(), vec![y])
        })
        .collect();
    let short: Vec<f64> = (0..26).map(|t| 50.0 + (t % 5) as f64).collect();
    series.push(("short".into(), vec![short]));
    let p = Panel::from_series(vec!["y".into()], 1, series).unwrap();
    let mut c = cfg(PerSeries::None);
    c.normalize = Normalize::Es;
    c.lookback = 4;
    let m = fit(&c, &p, 1);
    assert_eq!(m.norm.mode, Normalize::Es);
    let ev = m.evaluate(&p).unwrap();
    let short_rows: Vec<_> = ev.rows.iter().filter(|r| r.series == "short").collect();
    // Forecast by the stand-in on every test origin: ETS fitted on the 14 rows before the
    // test (enough there).
    assert!(!short_rows.is_empty());
    assert!(
        short_rows.iter().all(|r| r.model != "lstm"),
        "{:?}",
        short_rows[0].model
    );
    assert!(short_rows.iter().all(|r| r.predicted.is_finite()));
    assert!(ev
        .rows
        .iter()
        .filter(|r| r.series != "short")
        .all(|r| r.model == "lstm"));
    assert_eq!(ev.models.get("ets").copied(), Some(1));
    // The forecast past the data covers it too.
    let f = m.forecast(&p, None).unwrap();
    let fs = f.series.iter().find(|s| s.id == "short").unwrap();
    assert_ne!(fs.model, "lstm");
    assert!(fs.values.iter().flatten().all(|v| v.is_finite()));
}
