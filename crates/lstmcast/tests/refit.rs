//! The refit and the statistical combination (issue 26): the chosen configuration trained again
//! on the training and validation rows (to score the test) and on every row (to forecast past
//! the data); what each model saw, recorded; nothing after a model's rows read; results
//! independent of the thread count; and `ets-theta`, the mean of plain ETS and Theta. Small
//! networks and few epochs: plumbing and invariants, not accuracy.

mod common;
use common::fit;

use lstmcast::config::Refit;
use lstmcast::forecaster::{FitControl, FitOutcome};
use lstmcast::Transform;
use lstmcast::{load, ForecasterConfig, LoadOptions, Normalize, Panel, TrainedForecaster};
use std::path::PathBuf;

/// Three related monthly series of 72 rows: a yearly cycle, a trend and a deterministic wobble,
/// each at its own level. With `--split-last 12,12`: training rows 0..48, validation 48..60,
/// test 60..72 in every series.
fn panel(test_shift: f64) -> Panel {
    let series = (0..3)
        .map(|k| {
            let y: Vec<f64> = (0..72)
                .map(|t| {
                    let v = 50.0
                        + 10.0 * k as f64
                        + 0.2 * t as f64
                        + 5.0 * (t as f64 * std::f64::consts::PI / 6.0).sin()
                        + ((t * 7 + k * 3) % 5) as f64 * 0.3;
                    if t >= 60 {
                        v * 10.0 + test_shift
                    } else {
                        v
                    }
                })
                .collect();
            (format!("s{k}"), vec![y])
        })
        .collect();
    Panel::from_series(vec!["y".into()], 1, series).unwrap()
}

/// A small window-normalised network, refitted as `refit` says.
fn cfg(refit: Refit) -> ForecasterConfig {
    let mut c = ForecasterConfig {
        lookback: 12,
        horizon: 3,
        normalize: Normalize::Window,
        season: Some(12),
        refit,
        ..Default::default()
    };
    c.split.last = Some([12, 12]);
    c.model.layers = vec![6];
    c.training.epochs = 4;
    c.training.patience = 0;
    c
}

#[test]
fn the_model_that_scores_the_test_never_sees_the_test_rows() {
    // Two panels equal up to the test rows, which differ wildly (×10 and a shift).
    let (a, b) = (panel(0.0), panel(5000.0));
    for refit in [Refit::Val, Refit::All] {
        let (ma, mb) = (fit(&cfg(refit), &a, 1), fit(&cfg(refit), &b, 1));
        // The test model: same weights, scalers, ETS references and normalisation.
        assert_eq!(ma.network.params(), mb.network.params(), "{refit:?}");
        assert_eq!(ma.scaler, mb.scaler, "{refit:?}");
        assert_eq!(ma.norm, mb.norm, "{refit:?}");
        match refit {
            Refit::Val => assert!(ma.latest.is_none()),
            _ => {
                // The model of every row does read them: the same code path has teeth.
                let (la, lb) = (ma.latest.as_ref().unwrap(), mb.latest.as_ref().unwrap());
                assert_ne!(la.network.params(), lb.network.params());
                assert_ne!(la.scaler, lb.scaler);
            }
        }
    }
    // And the refit is a different model from the validation model (it saw 12 more rows).
    let none = fit(&cfg(Refit::None), &a, 1);
    let val = fit(&cfg(Refit::Val), &a, 1);
    assert_ne!(none.network.params(), val.network.params());
    assert_ne!(none.scaler, val.scaler);
    // What validation chose and the intervals calibrated there are the validation model's.
    assert_eq!(none.selection, val.selection);
    assert_eq!(none.calibration, val.calibration);
    assert_eq!(none.mase_scale, val.mase_scale);
}

#[test]
fn refit_none_is_the_validation_model() {
    // `--refit none` keeps the model trained on the training rows: the one `fit` chose before
    // refits existed (its weights are those of the chosen candidate's best epoch).
    let p = panel(0.0);
    let m = fit(&cfg(Refit::None), &p, 1);
    assert!(m.latest.is_none());
    let r = m.refit.as_ref().unwrap();
    assert_eq!(r.refit, Refit::None);
    assert!(r
        .models
        .iter()
        .all(|x| x.rows == "training" && x.n_rows == 3 * 48));
    assert_eq!(r.models.len(), 3);
}

#[test]
fn each_model_records_the_rows_and_epochs_it_was_trained_on() {
    let p = panel(0.0);
    let m = fit(&cfg(Refit::All), &p, 1);
    let r = m.refit.as_ref().unwrap();
    assert!(r.skipped.is_none(), "{r:?}");
    let roles: Vec<(&str, &str, usize)> = r
        .models
        .iter()
        .map(|x| (x.role.as_str(), x.rows.as_str(), x.n_rows))
        .collect();
    // 3 series × 48 training rows, × 60 with validation, × 72 in all.
    assert_eq!(
        roles,
        vec![
            ("select", "training", 144),
            ("test", "training+validation", 180),
            ("forecast", "every row", 216)
        ]
    );
    // Every model trains for the epochs validation chose (patience 0: the last of 4).
    assert_eq!(m.report.best_epoch, 4);
    assert!(r.models.iter().all(|x| x.epochs == 4));
    assert_eq!(
        r.models[1].before.as_deref(),
        Some("12 rows before the end of each series")
    );
    assert_eq!(r.models[2].before, None);
    // metrics.json carries the record.
    let ev = m.evaluate(&p).unwrap();
    let v = lstmcast::report::metrics(&m, &ev);
    assert_eq!(v["refit"]["models"][1]["rows"], "training+validation");
    assert_eq!(v["refit"]["refit"], "all");
}

#[test]
fn refits_are_bit_identical_for_any_thread_count() {
    let p = panel(0.0);
    let mut c = cfg(Refit::All);
    c.model.ensemble = 2;
    let (one, two) = (fit(&c, &p, 1), fit(&c, &p, 2));
    assert_eq!(one.network.params(), two.network.params());
    assert_eq!(one.members.len(), 1);
    assert_eq!(one.members[0].params(), two.members[0].params());
    let (l1, l2) = (one.latest.unwrap(), two.latest.unwrap());
    assert_eq!(l1.network.params(), l2.network.params());
    assert_eq!(l1.members[0].params(), l2.members[0].params());
}

#[test]
fn a_saved_run_keeps_the_model_of_every_row_and_forecasts_with_it() {
    let p = panel(0.0);
    let m = fit(&cfg(Refit::All), &p, 1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run");
    m.save(&path, false).unwrap();
    assert!(path.join("latest").join("model.safetensors").is_file());
    let back = TrainedForecaster::load(&path).unwrap();
    let latest = back
        .latest
        .as_ref()
        .expect("the model of every row is loaded");
    assert_eq!(
        latest.network.params(),
        m.latest.as_ref().unwrap().network.params()
    );
    // The forecast past the data comes from the model of every row; the test is scored by
    // the model of the rows before it.
    let f = back.forecast(&p, None).unwrap();
    assert_eq!(f, m.forecast(&p, None).unwrap());
    let mut alone = m.clone();
    alone.latest = None;
    // Its bands adapt by the factors of the model that scored the test (whose errors there
    // are out of sample), not by the model of every row's own, in-sample errors.
    let factors = alone.evaluate(&p).unwrap().interval_factors;
    assert_eq!(
        f,
        latest.forecast_adapted(&p, None, None, &factors).unwrap()
    );
    assert_ne!(f, latest.forecast(&p, None).unwrap());
    assert_ne!(f, alone.forecast(&p, None).unwrap());
    assert_eq!(
        back.evaluate(&p).unwrap().rows,
        alone.evaluate(&p).unwrap().rows
    );
    // A damaged inner model is an error naming it, never a silent fallback.
    std::fs::write(path.join("latest").join("model.safetensors"), b"junk").unwrap();
    let e = TrainedForecaster::load(&path).unwrap_err().to_string();
    assert!(e.contains("latest"), "{e}");
}

/// data/air_passengers.csv: 144 monthly rows; the default split gives validation 100..115 and
/// test 115..144.
fn air() -> Panel {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/air_passengers.csv");
    let opts = LoadOptions {
        target: vec!["passengers".into()],
        ..Default::default()
    };
    load(&path, &opts).unwrap()
}

fn statistical(mode: Normalize, horizon: usize) -> ForecasterConfig {
    let mut c = ForecasterConfig {
        lookback: 12,
        horizon,
        normalize: mode,
        season: Some(12),
        transform: Transform::None,
        ..Default::default()
    };
    c.model.layers = vec![4];
    c
}

#[test]
fn ets_theta_forecasts_the_mean_of_plain_ets_and_theta() {
    let ts = air();
    let m = statistical(Normalize::EtsTheta, 3)
        .fit(&ts, &mut |_| {})
        .unwrap();
    assert_eq!(m.norm.mode, Normalize::EtsTheta);
    assert!(m.report.history.is_empty(), "no network is trained");
    let ev = m.evaluate(&ts).unwrap();
    assert_eq!(ev.rows.len(), 27 * 3);
    for r in &ev.rows {
        // The ETS and Theta columns are the two parts, fitted on the rows before the test;
        // through the scaler in f32 and back: 1e-5.
        let want = 0.5 * (r.ets.unwrap() + r.theta.unwrap());
        assert!(
            (r.predicted - want).abs() <= 1e-5 * want.abs(),
            "{} vs {want}",
            r.predicted
        );
        assert_eq!(r.model, "ets-theta");
    }
    // Past the data too (both fitted on all 144 rows).
    let f = m.forecast(&ts, None).unwrap();
    assert_eq!(f.series[0].model, "ets-theta");
    // Its record: no network to refit; the statistics see the rows before the test, and all.
    let r = m.refit.as_ref().unwrap();
    assert!(r.skipped.as_deref().unwrap().contains("no network"));
    assert_eq!(r.models[1].n_rows, 115);
    assert_eq!(r.models[2].n_rows, 144);
}

#[test]
fn ets_theta_floors_the_theta_part_of_a_positive_series_at_zero() {
    // 60 positive rows falling fast (1000 down to about 56): past the data, Theta's trend
    // crosses zero within 12 steps.
    let y: Vec<f64> = (0..60)
        .map(|t| 1000.0 - 16.0 * t as f64 + 8.0 * (t as f64 * 1.3).sin())
        .collect();
    let panel =
        Panel::from_series(vec!["y".into()], 1, vec![("s".into(), vec![y.clone()])]).unwrap();
    let mut c = statistical(Normalize::EtsTheta, 12);
    c.lookback = 6;
    c.season = Some(1);
    c.split.last = Some([12, 12]);
    let m = c.fit(&panel, &mut |_| {}).unwrap();
    let f = m.forecast(&panel, None).unwrap();
    // The two parts fitted on all 60 rows (as `forecast` fits them), unfloored.
    let bank = m.refit_ets(&panel, &[60]);
    let ets = bank.get("s", 0).unwrap().model.filter(&y);
    let theta = lstmcast::theta::Theta::fit(&y, 1).unwrap().filter(&y);
    let mut floored = 0;
    for h in 1..=12 {
        let (e, t) = (ets.forecast(60, h), theta.forecast(60, h));
        let want = (0.5 * (e + t.max(0.0))).max(0.0);
        let got = f.series[0].values[h - 1][0];
        assert!(
            (got - want).abs() <= 1e-4 * want.abs().max(1.0),
            "step {h}: {got} vs {want} (ets {e}, theta {t})"
        );
        if t < 0.0 && 0.5 * (e + t) < want {
            floored += 1;
        }
    }
    assert!(
        floored > 0,
        "the test has no teeth: Theta never went below zero"
    );
}

#[test]
fn auto_weighs_ets_theta_among_its_candidates() {
    let ts = air();
    let mut c = statistical(Normalize::Auto, 3);
    c.training.epochs = 2;
    let m = c.fit(&ts, &mut |_| {}).unwrap();
    let sel = m.selection.as_ref().unwrap();
    assert!(
        sel.candidates
            .iter()
            .any(|s| s.mode == Normalize::EtsTheta && s.val_mase.is_some()),
        "{:?}",
        sel.candidates
    );
}

#[test]
fn an_interrupted_fit_with_refits_resumes_to_the_same_models() {
    // Interrupted in the chosen candidate's second epoch: the resumed fit trains the rest, then
    // the refits (not checkpointed: they are trained again from their seeds), and ends with the
    // models an uninterrupted fit has.
    let p = panel(0.0);
    let c = cfg(Refit::All);
    let whole = fit(&c, &p, 1);
    let v = c.validated().unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let mut at: Option<lstmcast::forecaster::FitCheckpoint> = None;
    let mut save = |ck: &lstmcast::forecaster::FitCheckpoint| {
        if ck.state.as_ref().is_some_and(|s| s.epochs_done == 1) {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        at = Some(ck.clone());
        Ok(())
    };
    let mut quiet = |_: &lstmcast::forecaster::FitProgress| {};
    let out = v
        .fit_with(
            &p,
            v.split.resolve(&p).unwrap(),
            FitControl::new(&mut quiet)
                .with_interrupt(&stop)
                .with_checkpoint(&mut save),
        )
        .unwrap();
    assert!(matches!(out, FitOutcome::Interrupted(_)));
    let mut quiet = |_: &lstmcast::forecaster::FitProgress| {};
    let out = v
        .fit_with(
            &p,
            v.split.resolve(&p).unwrap(),
            FitControl::new(&mut quiet).with_resume(at),
        )
        .unwrap();
    let FitOutcome::Done(m) = out else {
        panic!("resumed to the end")
    };
    assert_eq!(m.network.params(), whole.network.params());
    assert_eq!(
        m.latest.unwrap().network.params(),
        whole.latest.unwrap().network.params()
    );
}
