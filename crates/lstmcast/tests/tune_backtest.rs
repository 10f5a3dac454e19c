//! Issue 6: tuning finds what is right by construction and does not depend on `jobs`; backtest
//! folds never see a row after their origin.

use lstmcast::backtest::{
    backtest, backtest_fold, backtest_on, BacktestOptions, Refit, TrainWindow,
};
use lstmcast::tune::{tune, tune_model, tune_remote, tune_trial, TuneSpace};
use lstmcast::{ForecasterConfig, Normalize, Panel};

/// y(t) = 0.9·y(t−8) + e(t): the best one-step predictor needs the value 8 steps back, which a
/// lookback of 2 or 4 cannot see; only lookback 8 can.
fn seasonal_ar(n: usize) -> Panel {
    let mut state = 99u64;
    let mut noise = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64 / (1u64 << 53) as f64) - 0.5
    };
    let mut y = vec![0.0; n];
    for t in 0..n {
        let back = if t >= 8 { y[t - 8] } else { 0.0 };
        y[t] = 0.9 * back + noise();
    }
    Panel::from_columns(vec!["y".into()], vec![y], 1).unwrap()
}

fn base() -> ForecasterConfig {
    let mut c = ForecasterConfig {
        normalize: Normalize::Global,
        season: Some(8),
        ..Default::default()
    };
    c.training.epochs = 30;
    c
}

fn space(trials: usize) -> TuneSpace {
    TuneSpace {
        trials,
        lookback: vec![2, 4, 8],
        layers: vec![vec![16]],
        dropout: vec![0.0],
        learning_rate: vec![3e-3, 1e-2],
        batch_size: vec![32],
        normalize: vec![Normalize::Global],
        calendar: Vec::new(),
        min_epochs: 5,
        eta: 3,
        select: Default::default(),
    }
}

#[test]
fn tuning_finds_the_lookback_that_sees_the_lag() {
    let ts = seasonal_ar(800);
    let r = tune(&base(), &space(6), &ts, 2, &|_| {}).unwrap();
    let best = &r.trials[r.best];
    assert_eq!(best.params.lookback, 8, "{:#?}", r.trials);
    // Every trial of the other lookbacks scores clearly worse (noise variance is 1/12 of the
    // unit-variance-scaled series at best; without the lag the error is the series' variance).
    for t in r.trials.iter().filter(|t| t.params.lookback != 8) {
        assert!(t.val_mse.unwrap() > 2.0 * best.val_mse.unwrap(), "{t:?}");
    }
    assert_eq!(r.best_config.lookback, 8);
    assert_eq!(r.rungs, vec![5, 15, 30]);
}

#[test]
fn jobs_do_not_change_any_trial_result() {
    let ts = seasonal_ar(400);
    let mut s = space(7);
    s.layers = vec![vec![8], vec![12]];
    s.dropout = vec![0.0, 0.2];
    let strip = |r: lstmcast::tune::TuneResult| {
        r.trials
            .into_iter()
            .map(|mut t| {
                t.seconds = 0.0;
                t
            })
            .collect::<Vec<_>>()
    };
    let one = strip(tune(&base(), &s, &ts, 1, &|_| {}).unwrap());
    let two = strip(tune(&base(), &s, &ts, 2, &|_| {}).unwrap());
    let three = strip(tune(&base(), &s, &ts, 3, &|_| {}).unwrap());
    assert_eq!(one, two);
    assert_eq!(one, three);
    assert!(one.iter().any(|t| t.rung > 0), "some trials were promoted");
}

/// Issue 19: trials run elsewhere (Ray tasks in the Python package), each from scratch through
/// its rung by `tune_trial`, rung by rung, give the local search's trials: the same promotions
/// and every result but the measured seconds.
#[test]
fn remote_trials_rung_by_rung_give_the_local_search() {
    let ts = seasonal_ar(400);
    let mut s = space(9);
    s.layers = vec![vec![8], vec![12]];
    s.dropout = vec![0.0, 0.2];
    // A lookback the training rows cannot hold: a trial that never starts.
    s.lookback = vec![2, 4, 8, 300];
    let strip = |r: lstmcast::tune::TuneResult| {
        let trials = r
            .trials
            .into_iter()
            .map(|mut t| {
                t.seconds = 0.0;
                t
            })
            .collect::<Vec<_>>();
        (trials, r.best, r.best_config, r.rungs, r.skipped)
    };
    let local = strip(tune(&base(), &s, &ts, 2, &|_| {}).unwrap());
    let calls = std::sync::Mutex::new(Vec::new());
    let remote = tune_remote(
        &base(),
        &s,
        &ts,
        2,
        &|_| {},
        &|space, trials, rung| {
            calls.lock().unwrap().push((trials.to_vec(), rung));
            trials
                .iter()
                .map(|&t| tune_trial(&base(), space, &ts, t, rung, 1))
                .collect()
        },
        None,
    )
    .unwrap();
    assert_eq!(local, strip(remote));
    let calls = calls.into_inner().unwrap();
    assert!(
        calls.len() >= 2 && calls[1].0.len() < calls[0].0.len(),
        "{calls:?}"
    );
    assert!(
        local.0.iter().any(|t| t.rung > 0),
        "some trials were promoted"
    );
}

/// Issue 19: folds run elsewhere by `backtest_fold` give the backtest's folds.
#[test]
fn folds_run_elsewhere_give_the_local_backtest() {
    let ts = seasonal_ar(300);
    let opts = BacktestOptions {
        folds: 3,
        refit: Refit::Every,
        window: TrainWindow::Expanding,
    };
    let local = backtest(&tiny(), &ts, &opts, 2, &|_, _| {}, None).unwrap();
    let remote = backtest_on(&tiny(), &ts, &opts, 1, &|_, _| {}, None, &|n, _| {
        (0..n)
            .rev()
            .map(|i| backtest_fold(&tiny(), &ts, &opts, i, 1))
            .rev()
            .collect()
    })
    .unwrap();
    assert_eq!(local.aggregate, remote.aggregate);
    for (a, b) in local.folds.iter().zip(&remote.folds) {
        assert_eq!(a.model.network.params(), b.model.network.params());
        assert_eq!(a.evaluation, b.evaluation);
    }
}

#[test]
fn a_bad_search_space_names_the_field() {
    let ts = seasonal_ar(200);
    let mut s = space(3);
    s.learning_rate = vec![1e-2, 1e-3];
    let e = tune(&base(), &s, &ts, 1, &|_| {}).unwrap_err().to_string();
    assert!(e.contains("tune.learning_rate"), "{e}");
    let mut s = space(3);
    s.eta = 1;
    let e = tune(&base(), &s, &ts, 1, &|_| {}).unwrap_err().to_string();
    assert!(e.contains("tune.eta"), "{e}");
    // A lookback too long for the data is left out of the space before any trial runs, with
    // the reason; every trial then uses a lookback that fits.
    let mut s = space(3);
    s.lookback = vec![8, 150];
    let r = tune(&base(), &s, &ts, 1, &|_| {}).unwrap();
    assert_eq!(r.space.lookback, vec![8]);
    assert!(r
        .trials
        .iter()
        .all(|t| t.params.lookback == 8 && t.error.is_none()));
    assert!(
        r.skipped.len() == 1
            && r.skipped[0].contains("lookback 150")
            && r.skipped[0].contains("train split"),
        "{:?}",
        r.skipped
    );
    // If none fits, the search is an error naming them.
    s.lookback = vec![150, 160];
    let e = tune(&base(), &s, &ts, 1, &|_| {}).unwrap_err().to_string();
    assert!(
        e.contains("tune.lookback") && e.contains("[150, 160]"),
        "{e}"
    );
}

fn tiny() -> ForecasterConfig {
    let mut c = ForecasterConfig {
        lookback: 8,
        horizon: 2,
        normalize: Normalize::Window,
        ..Default::default()
    };
    c.model.layers = vec![6];
    c.training.epochs = 3;
    c
}

#[test]
fn no_fold_fits_anything_on_rows_after_its_origin() {
    // Replace every row from fold k's origin on with garbage: fold k's scaler, normalisation and
    // weights must stay bit-identical (and so must every earlier fold's).
    let ts = seasonal_ar(300);
    for window in [TrainWindow::Expanding, TrainWindow::Sliding] {
        let opts = BacktestOptions {
            folds: 3,
            refit: Refit::Every,
            window,
        };
        let clean = backtest(&tiny(), &ts, &opts, 1, &|_, _| {}, None).unwrap();
        for (k, fold) in clean.folds.iter().enumerate() {
            let origin = fold.rows.test.start;
            assert!(fold.rows.val.end == origin && fold.rows.train.end <= origin);
            let mut spoiled = ts.clone();
            for v in &mut spoiled.columns[0][origin..] {
                *v = 1e3 - *v * 50.0;
            }
            let other = backtest(&tiny(), &spoiled, &opts, 2, &|_, _| {}, None).unwrap();
            for j in 0..=k {
                let (a, b) = (&clean.folds[j].model, &other.folds[j].model);
                assert_eq!(
                    a.scaler, b.scaler,
                    "{window:?}: fold {j} scaler saw rows ≥ {origin}"
                );
                assert_eq!(a.norm, b.norm);
                assert_eq!(a.network.params(), b.network.params());
            }
        }
    }
}

#[test]
fn refit_once_scores_every_fold_with_the_first_model_and_aggregates_all_rows() {
    let ts = seasonal_ar(300);
    let opts = BacktestOptions {
        folds: 4,
        refit: Refit::Once,
        window: TrainWindow::Expanding,
    };
    let bt = backtest(&tiny(), &ts, &opts, 1, &|_, _| {}, None).unwrap();
    assert_eq!(bt.folds.len(), 4);
    let first = bt.folds[0].model.network.params();
    assert!(bt.folds.iter().all(|f| f.model.network.params() == first));
    let rows: usize = bt.folds.iter().map(|f| f.evaluation.rows.len()).sum();
    assert_eq!(bt.aggregate.rows.len(), rows);
    // Origins step forward and the folds tile the test split.
    for w in bt.folds.windows(2) {
        assert_eq!(w[0].rows.test.end, w[1].rows.test.start);
    }
    assert_eq!(bt.folds[3].rows.test.end, ts.len());
}

#[test]
fn backtest_folds_in_parallel_give_the_same_results_as_one_by_one() {
    let ts = seasonal_ar(300);
    let opts = BacktestOptions {
        folds: 4,
        refit: Refit::Every,
        window: TrainWindow::Expanding,
    };
    let one = backtest(&tiny(), &ts, &opts, 1, &|_, _| {}, None).unwrap();
    let three = backtest(&tiny(), &ts, &opts, 3, &|_, _| {}, None).unwrap();
    assert_eq!(one.folds.len(), 4);
    for (a, b) in one.folds.iter().zip(&three.folds) {
        assert_eq!(a.rows, b.rows);
        assert_eq!(a.model.network.params(), b.model.network.params());
        assert_eq!(a.evaluation, b.evaluation);
    }
    assert_eq!(one.aggregate, three.aggregate);
}

#[test]
fn the_best_trial_that_ran_its_full_budget_is_the_retrained_model() {
    let ts = seasonal_ar(400);
    let (r, model) = tune_model(&base(), &space(4), &ts, 2, &|_| {}, None).unwrap();
    let reused = model.expect("the best trial reached the last rung");
    let retrained = r.best_config.fit(&ts, &mut |_| {}).unwrap();
    // Same seed, same training state: the same weights to the bit, and the same choice.
    assert_eq!(reused.network.params(), retrained.network.params());
    assert_eq!(reused.norm, retrained.norm);
    assert_eq!(reused.scaler, retrained.scaler);
    let (a, b) = (reused.selection.unwrap(), retrained.selection.unwrap());
    assert_eq!(
        (a.chosen, a.candidates[0].val_mse),
        (b.chosen, b.candidates[0].val_mse)
    );
    assert_eq!(reused.report.best_epoch, retrained.report.best_epoch);
    assert_eq!(r.trials[r.best].val_mse, a.candidates[0].val_mse);
}

#[test]
fn select_msis_ranks_trials_by_the_quantile_bands_validation_score() {
    use lstmcast::tune::Select;
    let ts = seasonal_ar(600);
    let mut c = base();
    c.training.epochs = 6;
    c.training.loss = Some(lstmcast::engine::Loss::Quantile);
    c.training.quantiles = vec![0.1, 0.5, 0.9];
    let mut s = space(4);
    s.select = Select::Msis;
    let r = tune(&c, &s, &ts, 2, &|_| {}).unwrap();
    // Every trial has a validation MSIS, and the best is the lowest among those that ran the
    // last rung (ties keep the earlier trial).
    assert!(
        r.trials
            .iter()
            .all(|t| t.val_msis.is_some_and(f64::is_finite)),
        "{:#?}",
        r.trials
    );
    let last = r.trials.iter().map(|t| t.rung).max().unwrap();
    let best = r
        .trials
        .iter()
        .filter(|t| t.rung == last)
        .min_by(|a, b| {
            a.val_msis
                .unwrap()
                .total_cmp(&b.val_msis.unwrap())
                .then(a.trial.cmp(&b.trial))
        })
        .unwrap();
    assert_eq!(r.best, best.trial);
    // The point score ranks them differently in general; it is still recorded.
    assert!(r.trials.iter().all(|t| t.val_mase.is_some()));
    // Without quantile bands there is nothing to score: an error naming the flag.
    let mut plain = base();
    plain.training.epochs = 2;
    let e = tune(&plain, &s, &ts, 1, &|_| {}).unwrap_err().to_string();
    assert!(e.contains("select") && e.contains("--loss quantile"), "{e}");
}
