//! The forecaster end to end on synthetic series whose answers are known by construction.

use lstmcast::data::parse_csv;
use lstmcast::{ForecasterConfig, LoadOptions, Panel, Strategy, TrainedForecaster};
use std::path::Path;

/// A noisy seasonal series (period 12) with a deterministic pseudo-random noise.
fn seasonal(n: usize, noise: f64) -> Panel {
    let mut state = 12345u64;
    let y: Vec<f64> = (0..n)
        .map(|t| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            10.0 + 3.0 * (2.0 * std::f64::consts::PI * t as f64 / 12.0).sin() + noise * u
        })
        .collect();
    Panel::from_columns(vec!["y".into()], vec![y], 1).unwrap()
}

fn quick(strategy: Strategy, horizon: usize) -> ForecasterConfig {
    let mut c = ForecasterConfig {
        lookback: 24,
        horizon,
        strategy,
        season: Some(12),
        ..Default::default()
    };
    c.model.layers = vec![16];
    c.training.epochs = 60;
    c.training.learning_rate = 5e-3;
    c
}

#[test]
fn direct_and_recursive_both_beat_naive_on_noisy_seasonal_series() {
    let ts = seasonal(480, 1.0);
    for strategy in [Strategy::Direct, Strategy::Recursive] {
        let m = quick(strategy, 3).fit(&ts, &mut |_| {}).unwrap();
        let ev = m.evaluate(&ts).unwrap();
        let s = &ev.overall["y"];
        // The naive forecast is off by the seasonal swing (amplitude 3); a model that learned the
        // cycle is far better. Require at least 2× lower MAE.
        assert!(
            s.model.mae < 0.5 * s.naive.mae,
            "{strategy:?}: lstm MAE {} vs naive {}",
            s.model.mae,
            s.naive.mae
        );
        assert_eq!(ev.rows.len(), ev.windows * 3);
    }
}

#[test]
fn save_load_gives_bit_identical_predictions() {
    let ts = seasonal(200, 0.5);
    let mut c = quick(Strategy::Direct, 2);
    c.training.epochs = 5;
    let m = c.fit(&ts, &mut |_| {}).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run");
    m.save(&path, false).unwrap();
    let back = TrainedForecaster::load(&path).unwrap();
    assert_eq!(back.network.params(), m.network.params());
    let (a, b) = (m.evaluate(&ts).unwrap(), back.evaluate(&ts).unwrap());
    assert_eq!(a.rows, b.rows, "identical predictions after save → load");
    assert_eq!(
        m.forecast(&ts, Some(5)).unwrap(),
        back.forecast(&ts, Some(5)).unwrap()
    );
    // An existing folder is not replaced without force.
    assert!(m
        .save(&path, false)
        .unwrap_err()
        .to_string()
        .contains("--force"));
    m.save(&path, true).unwrap();
}

#[test]
fn best_epoch_weights_are_restored_when_it_is_not_the_last() {
    // A learning rate this high makes validation loss bounce; patience lets later epochs run past
    // the best one, which the saved model must still hold.
    let ts = seasonal(300, 2.0);
    let mut c = quick(Strategy::Direct, 1);
    // A network, not `auto` (which may keep plain ETS and train nothing).
    c.normalize = lstmcast::Normalize::Es;
    c.training.learning_rate = 0.05;
    c.training.epochs = 40;
    c.training.patience = 8;
    let m = c.fit(&ts, &mut |_| {}).unwrap();
    let r = &m.report;
    assert!(
        r.best_epoch < r.history.len(),
        "best epoch {} should not be the last of {}",
        r.best_epoch,
        r.history.len()
    );
    let best = r.history[r.best_epoch - 1].val_loss.unwrap();
    let now = m.validation_loss(&ts).unwrap();
    assert!(
        (now - best).abs() <= 1e-12 * best.max(1.0),
        "saved model's val loss {now} vs best epoch's {best}"
    );
    assert!(r.history.last().unwrap().val_loss.unwrap() > best);
}

/// A one-step model small enough for short synthetic series: split 0.6/0.2/0.2.
fn tiny(lookback: usize, units: usize, epochs: usize) -> ForecasterConfig {
    let mut c = ForecasterConfig {
        lookback,
        horizon: 1,
        split: lstmcast::SplitSpec {
            train: 0.6,
            val: 0.2,
            test: 0.2,
            ..Default::default()
        },
        ..Default::default()
    };
    c.model.layers = vec![units];
    c.training.epochs = epochs;
    c
}

fn csv(text: &str) -> Panel {
    parse_csv(Path::new("t.csv"), text.as_bytes(), &LoadOptions::default()).unwrap()
}

fn forecast_times(text_rows: Vec<String>, header: &str, steps: usize) -> Vec<String> {
    let text = format!("{header}\n{}\n", text_rows.join("\n"));
    let ts = csv(&text);
    let c = tiny(4, 4, 2);
    let m = c.fit(&ts, &mut |_| {}).unwrap();
    m.forecast(&ts, Some(steps)).unwrap().series[0]
        .timestamps
        .iter()
        .map(|t| t.to_string())
        .collect()
}

#[test]
fn forecast_timestamps_continue_monthly_daily_and_half_hourly() {
    let monthly: Vec<String> = (0..40)
        .map(|i| {
            format!(
                "{}-{:02}-01,{}",
                2000 + i / 12,
                i % 12 + 1,
                (i as f64).sin()
            )
        })
        .collect();
    // last row: 2003-04-01 → May, June, July 2003
    assert_eq!(
        forecast_times(monthly, "date,y", 3),
        ["2003-05-01", "2003-06-01", "2003-07-01"]
    );
    let daily: Vec<String> = (0..40)
        .map(|i| format!("2020-02-{:02},{}", 1 + i % 29, i))
        .take(29)
        .collect();
    let daily2: Vec<String> = daily
        .into_iter()
        .chain((0..11).map(|i| format!("2020-03-{:02},{}", i + 1, i)))
        .collect();
    // 2020 is a leap year: Feb 1..29 then Mar 1..11; next: Mar 12, 13.
    assert_eq!(
        forecast_times(daily2, "date,y", 2),
        ["2020-03-12", "2020-03-13"]
    );
    let half: Vec<String> = (0..40)
        .map(|i| format!("2021-06-30 {:02}:{:02},{}", 4 + i / 2, (i % 2) * 30, i))
        .collect();
    // last row 2021-06-30 23:30 → midnight, then 00:30 the next day (naive times stay naive).
    assert_eq!(
        forecast_times(half, "time,y", 2),
        ["2021-07-01T00:00:00", "2021-07-01T00:30:00"]
    );
}

#[test]
fn horizon_beyond_training_needs_target_only_inputs() {
    let text = format!(
        "date,y,x\n{}\n",
        (0..60)
            .map(|i| format!("2000-01-{:02},{},{}", 1 + i % 28, i, i * 2))
            .take(28)
            .collect::<Vec<_>>()
            .join("\n")
    );
    let ts = parse_csv(
        Path::new("t.csv"),
        text.as_bytes(),
        &LoadOptions {
            target: vec!["y".into()],
            ..Default::default()
        },
    )
    .unwrap();
    let mut c = tiny(3, 3, 1);
    let m = c.fit(&ts, &mut |_| {}).unwrap();
    assert_eq!(m.forecast(&ts, Some(1)).unwrap().series[0].values.len(), 1);
    let e = m.forecast(&ts, Some(3)).unwrap_err().to_string();
    assert!(
        e.contains("x") && e.contains("unknown in the future"),
        "{e}"
    );
    c.strategy = Strategy::Recursive;
    let e = c.fit(&ts, &mut |_| {}).unwrap_err().to_string();
    assert!(e.contains("recursive") && e.contains(": x"), "{e}");
}

#[test]
fn same_seed_same_everything() {
    let ts = seasonal(150, 1.0);
    let mut c = quick(Strategy::Direct, 2);
    c.training.epochs = 4;
    c.model.dropout = 0.2;
    let a = c.fit(&ts, &mut |_| {}).unwrap();
    let b = c.fit(&ts, &mut |_| {}).unwrap();
    assert_eq!(a.network.params(), b.network.params());
    assert_eq!(a.evaluate(&ts).unwrap().rows, b.evaluate(&ts).unwrap().rows);
}

#[test]
fn divergence_after_an_epoch_keeps_that_epochs_weights_and_says_so() {
    use lstmcast::forecaster::{FitCheckpoint, FitControl, FitOutcome};
    // Train one epoch and keep the checkpoint; poison one current weight with NaN (a numerical
    // fault) and resume: the next batch diverges, and the model that comes back holds epoch 1's
    // weights with the divergence in its report.
    let ts = seasonal(200, 0.5);
    let mut c = quick(Strategy::Direct, 1);
    c.normalize = lstmcast::Normalize::Global;
    c.training.epochs = 5;
    let splits = c.split.resolve(&ts).unwrap();
    let mut first: Option<FitCheckpoint> = None;
    let stop = std::sync::atomic::AtomicBool::new(false);
    let mut save = |ck: &FitCheckpoint| {
        if first.is_none() && ck.state.as_ref().is_some_and(|s| s.epochs_done == 1) {
            first = Some(ck.clone());
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(())
    };
    let out = c
        .fit_with(
            &ts,
            splits.clone(),
            FitControl::new(&mut |_| {})
                .with_interrupt(&stop)
                .with_checkpoint(&mut save),
        )
        .unwrap();
    assert!(matches!(out, FitOutcome::Interrupted(_)));
    let mut ck = first.unwrap();
    let epoch1 = ck.params.clone();
    assert_eq!(ck.state.as_ref().unwrap().best_params, epoch1);
    ck.params[0] = f32::NAN;
    let out = c
        .fit_with(
            &ts,
            splits,
            FitControl::new(&mut |_| {}).with_resume(Some(ck)),
        )
        .unwrap();
    let FitOutcome::Done(m) = out else {
        panic!("expected a model")
    };
    let msg = m.report.diverged.clone().unwrap();
    assert!(
        msg.contains("epoch 2, batch 1") && msg.contains("--clip-norm"),
        "{msg}"
    );
    assert_eq!(m.network.params(), &epoch1[..]);
    assert_eq!(m.report.best_epoch, 1);
    assert!(m
        .evaluate(&ts)
        .unwrap()
        .rows
        .iter()
        .all(|r| r.predicted.is_finite()));
}

#[test]
fn a_configuration_is_checked_once_into_a_validated_one_and_errors_say_their_kind() {
    // An invalid configuration never becomes a `Validated` one, and fitting it says why.
    let mut bad = quick(Strategy::Direct, 2);
    bad.lookback = 0;
    let e = bad.validated().unwrap_err();
    assert!(
        matches!(e, lstmcast::Error::InvalidConfig { ref field, .. } if field == "lookback"),
        "{e}"
    );
    assert!(bad.fit(&seasonal(200, 0.5), &mut |_| {}).is_err());
    // A valid one fits through `Validated` to the same model as through `ForecasterConfig::fit`.
    let mut c = quick(Strategy::Direct, 2);
    c.training.epochs = 3;
    let ts = seasonal(200, 0.5);
    let v = c.validated().unwrap();
    let a = v.fit(&ts, &mut |_| {}).unwrap();
    let b = c.fit(&ts, &mut |_| {}).unwrap();
    assert_eq!(a.network.params(), b.network.params());
    // Data with other columns than the model's is a `ColumnsMismatch` that callers can match
    // on; its message reads as before (the error catalogue pins it).
    let two = Panel::from_columns(
        vec!["y".into(), "x".into()],
        vec![ts.columns[0].clone(), ts.columns[0].clone()],
        1,
    )
    .unwrap();
    let e = a.evaluate(&two).unwrap_err();
    assert!(matches!(e, lstmcast::Error::ColumnsMismatch(_)), "{e}");
    assert!(
        e.to_string().starts_with("invalid configuration: data: "),
        "{e}"
    );
}
