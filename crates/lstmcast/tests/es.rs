//! Exponential-smoothing normalisation (issue 18): ETS fitted per series on training rows and
//! filtered forward, the `es`, `ets-residual` and `ets` modes, `auto`'s choice among them, and
//! the MAE loss they train with. Small networks and few epochs: these tests check plumbing and
//! invariants, not accuracy.

use lstmcast::engine::{rng_for, Loss, Network, NetworkSpec, Workspace};
use lstmcast::forecaster::{FitCheckpoint, FitControl, FitOutcome, Prepared};
use lstmcast::normalize::{EtsBank, Reference};
use lstmcast::{
    load, ForecasterConfig, LoadOptions, Normalize, Panel, Scaler, ScalerKind, ScalerScope,
    Strategy, TrainedForecaster, Transform,
};
use std::path::PathBuf;

/// data/air_passengers.csv: 144 monthly rows, positive, trending, multiplicative season.
/// The default split (0.7/0.1/0.2) gives training rows 0..100, validation 100..115, test
/// 115..144.
fn air() -> Panel {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/air_passengers.csv");
    let opts = LoadOptions {
        target: vec!["passengers".into()],
        ..Default::default()
    };
    let p = load(&path, &opts).unwrap();
    assert_eq!(p.len(), 144);
    p
}

/// A small direct model on monthly data: lookback 12, one layer of 8 units, 2 epochs.
fn small(normalize: Normalize, horizon: usize) -> ForecasterConfig {
    let mut c = ForecasterConfig {
        lookback: 12,
        horizon,
        normalize,
        season: Some(12),
        ..Default::default()
    };
    c.model.layers = vec![8];
    c.training.epochs = 2;
    c
}

/// `|got − want| ≤ rel · |want|`.
fn assert_rel(got: f64, want: f64, rel: f64, what: &str) {
    assert!(
        (got - want).abs() <= rel * want.abs(),
        "{what}: {got} vs {want} (relative {:e}, allowed {rel:e})",
        ((got - want) / want).abs()
    );
}

/// The fitted ETS model of the single series `m` was trained on, run over `y`.
fn ets_states(m: &TrainedForecaster, y: &[f64]) -> lstmcast::ets::States {
    m.ets
        .get(&m.ids[0], 0)
        .expect("the series has an ETS model")
        .model
        .filter(y)
}

/// ETS as `m` fits it again on the rows before `end` of the single series of `ts` (the ETS
/// baseline and plain ETS: rows before the test when scoring it, every row before a forecast),
/// run over every row.
fn refit_states(m: &TrainedForecaster, ts: &Panel, end: usize) -> lstmcast::ets::States {
    m.refit_ets(ts, &[end])
        .get(&m.ids[0], 0)
        .expect("the series has an ETS model")
        .model
        .filter(&ts.columns[0])
}

// ---------------------------------------------------------------------------------------------
// 1. No leakage.
// ---------------------------------------------------------------------------------------------

#[test]
fn validation_and_test_values_never_reach_the_ets_models_or_the_weights() {
    let ts = air();
    let mut cfg = small(Normalize::Es, 3);
    // Only the last epoch can be kept as the best, so the kept weights cannot depend on which
    // epoch validation preferred: validation may only *score*, and we change what it scores.
    cfg.training.warmup = cfg.training.epochs - 1;
    let val_start = cfg.split.ranges(ts.len()).val.start;
    assert_eq!(val_start, 100);
    let mut other = ts.clone();
    for v in &mut other.columns[0][val_start..] {
        *v *= 3.0;
    }
    let a = cfg.fit(&ts, &mut |_| {}).unwrap();
    let b = cfg.fit(&other, &mut |_| {}).unwrap();
    assert_eq!(a.ets, b.ets, "ETS parameters and initial states");
    assert!(a.ets.first_missing().is_none());
    assert_eq!(
        a.ets.get("", 0).unwrap().model.n,
        100,
        "fitted on the 100 training rows"
    );
    assert_eq!(a.scaler, b.scaler);
    assert_eq!(a.report.best_epoch, 2);
    assert_eq!(a.network.params(), b.network.params(), "trained weights");
    // The change was seen where it may be: the validation score differs.
    let score = |m: &TrainedForecaster| m.selection.as_ref().unwrap().candidates[0].val_mase;
    assert_ne!(score(&a), score(&b));
}

/// The ETS baseline and plain ETS are fitted again on the training and validation rows before
/// the test is scored: no test row reaches their parameters, and a test origin's forecast only
/// sees the rows before it (filtering); the validation rows do reach them.
#[test]
fn the_refitted_ets_never_sees_a_test_row_it_scores() {
    let ts = air();
    let mut cfg = small(Normalize::Ets, 3);
    cfg.transform = Transform::None;
    let m = cfg.fit(&ts, &mut |_| {}).unwrap();
    let ev = m.evaluate(&ts).unwrap();
    // Test rows 115..144; origins 115..=141, three steps each, in that order.
    for changed_from in [115, 130] {
        let mut other = ts.clone();
        for v in &mut other.columns[0][changed_from..] {
            *v = 3.0 * *v + 40.0;
        }
        assert_eq!(
            m.refit_ets(&ts, &[115]),
            m.refit_ets(&other, &[115]),
            "test rows reached the refitted parameters"
        );
        let ev2 = m.evaluate(&other).unwrap();
        let mut same = 0;
        for (i, (a, b)) in ev.rows.iter().zip(&ev2.rows).enumerate() {
            let origin = 115 + i / 3;
            if origin <= changed_from {
                assert_eq!(
                    (a.predicted, a.ets),
                    (b.predicted, b.ets),
                    "origin {origin} step {}: rows ≥ {changed_from} changed its forecast",
                    a.step
                );
                same += 1;
            }
        }
        assert!(same >= 3);
        // From the next origin on, the changed row is history: the forecasts move.
        let next = (changed_from + 1 - 115) * 3;
        assert_ne!(ev.rows[next].predicted, ev2.rows[next].predicted);
    }
    // A validation row does reach the refit (it is one of the rows it is fitted on), and the
    // last row reaches the forecast past the data (fitted on every row).
    let mut other = ts.clone();
    other.columns[0][110] *= 1.5;
    assert_ne!(m.refit_ets(&ts, &[115]), m.refit_ets(&other, &[115]));
    let mut last = ts.clone();
    last.columns[0][143] *= 1.5;
    assert_ne!(
        m.forecast(&ts, None).unwrap().series[0].values,
        m.forecast(&last, None).unwrap().series[0].values
    );
}

#[test]
fn references_at_an_origin_depend_only_on_earlier_rows() {
    let ts = air();
    // The one series' training rows.
    let train: Vec<std::ops::Range<usize>> = std::iter::once(0..100).collect();
    let bank = EtsBank::fit(&ts, &train, 12);
    let scaler = Scaler::fit(ScalerKind::Standard, ScalerScope::Series, &ts, &train);
    let base = bank.frame(&ts, &scaler);
    let refs = |frame: &lstmcast::normalize::EsFrame, r: Reference, t: usize, shift: usize| {
        let mut inputs = vec![(0f32, 0f32); 12];
        let mut steps = vec![(0f32, 0f32); 6];
        assert!(frame.window(r, (t, shift), 0, &mut inputs, &mut steps));
        (inputs, steps, frame.forecast(t, 4, 0))
    };
    // Origins inside training, at the validation and test boundaries, inside test, at the end.
    for t in [50, 100, 101, 115, 130, 144] {
        let mut changed = ts.clone();
        for v in &mut changed.columns[0][t..] {
            *v = 3.0 * *v + 40.0;
        }
        let frame = bank.frame(&changed, &scaler);
        for r in [Reference::LevelSeason, Reference::Forecast] {
            for shift in [0, 3] {
                assert_eq!(
                    refs(&base, r, t, shift),
                    refs(&frame, r, t, shift),
                    "origin {t}, {r:?}, shift {shift}: rows ≥ {t} changed the references"
                );
            }
            // Filtering, not smoothing: the very next origin does see row t.
            if t < 144 {
                assert_ne!(
                    refs(&base, r, t + 1, 0),
                    refs(&frame, r, t + 1, 0),
                    "origin {}: row {t} changed but the references did not",
                    t + 1
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 2. and 4. Plain ETS is the ETS baseline, within the horizon and beyond it.
// ---------------------------------------------------------------------------------------------

#[test]
fn plain_ets_mode_predicts_the_ets_baseline_and_forecasts_what_ets_forecasts() {
    let ts = air();
    // On the values as they are, so that the ETS states below are in the data's units.
    let mut cfg = small(Normalize::Ets, 3);
    cfg.transform = Transform::None;
    let m = cfg.fit(&ts, &mut |_| {}).unwrap();
    assert_eq!(m.norm.mode, Normalize::Ets);
    assert!(m.report.history.is_empty(), "no network is trained");
    let ev = m.evaluate(&ts).unwrap();
    // Test origins 115..=142 (horizon 3 inside 115..144): 27 windows × 3 steps.
    assert_eq!(ev.windows, 27);
    assert_eq!(ev.rows.len(), 27 * 3);
    let mut worst = 0f64;
    for r in &ev.rows {
        let e = r.ets.expect("the series has an ETS model");
        // The prediction is the ETS forecast sent through the scaler in f32 and back: half an
        // f32 ulp of a scaled value of magnitude ≤ 5.5 (2.4e-7), times the scaler's std (73.8,
        // training rows), is ≤ 1.8e-5 on values ≥ 305, i.e. ≤ 6e-8 relative; allow 1e-5.
        assert_rel(
            r.predicted,
            e,
            1e-5,
            &format!("{} step {}", r.origin, r.step),
        );
        worst = worst.max(((r.predicted - e) / e).abs());
    }
    for step in 1..=3 {
        assert!(ev.rows.iter().any(|r| r.step == step));
    }
    eprintln!("ets mode vs ETS column: worst relative difference {worst:e}");
    // The ETS column is ETS fitted again on the 115 rows before the test: the forecast from
    // its states after row t − 1.
    let st = refit_states(&m, &ts, 115);
    let first = &ev.rows[0];
    assert_eq!((first.step, first.actual), (1, ts.columns[0][115]));
    assert_rel(first.ets.unwrap(), st.forecast(115, 1), 1e-12, "ETS column");
    // Not the fit on the 100 training rows: the refit saw the validation rows.
    let trained = ets_states(&m, &ts.columns[0]);
    assert!((trained.forecast(115, 1) - st.forecast(115, 1)).abs() > 1e-6);
    // Beyond the last row: ETS fitted on all 144 rows.
    let st = refit_states(&m, &ts, 144);

    // Beyond the last row, at the trained horizon and rolled past it (every input is a target):
    // ETS's own forecast from the end of the series (transform none, so the units match).
    for steps in [3, 6] {
        let f = m.forecast(&ts, Some(steps)).unwrap();
        let values = &f.series[0].values;
        assert_eq!(values.len(), steps);
        for (h, v) in values.iter().enumerate() {
            assert_rel(
                v[0],
                st.forecast(144, h + 1),
                1e-5,
                &format!("step {}", h + 1),
            );
        }
    }
}

#[test]
fn every_ets_mode_forecasts_beyond_the_trained_horizon() {
    let ts = air();
    // Plain ETS forecasts from ETS fitted on every row; the ES modes' networks read the states
    // of the fit on the training rows.
    // On the values as they are, so that the ETS states are in the data's units.
    let small = |mode, h| {
        let mut c = small(mode, h);
        c.transform = Transform::None;
        c
    };
    let (st_end, st_train) = {
        let m = small(Normalize::Ets, 2).fit(&ts, &mut |_| {}).unwrap();
        (refit_states(&m, &ts, 144), ets_states(&m, &ts.columns[0]))
    };
    for mode in [Normalize::Es, Normalize::EtsResidual, Normalize::Ets] {
        let m = small(mode, 2).fit(&ts, &mut |_| {}).unwrap();
        let within = m.forecast(&ts, None).unwrap().series[0].values.clone();
        let beyond = m.forecast(&ts, Some(6)).unwrap().series[0].values.clone();
        assert_eq!(within.len(), 2);
        assert_eq!(beyond.len(), 6);
        // The first pass is the same pass: bit-identical.
        assert_eq!(&beyond[..2], &within[..], "{mode:?}");
        let mut ratios = Vec::new();
        for (h, v) in beyond.iter().enumerate() {
            assert!(v[0].is_finite(), "{mode:?} step {}", h + 1);
            let e = match mode {
                Normalize::Ets => st_end.forecast(144, h + 1),
                _ => st_train.forecast(144, h + 1),
            };
            ratios.push(v[0] / e);
            if mode == Normalize::Ets {
                // As in the test above: f32 rounding only.
                assert_rel(v[0], e, 1e-5, &format!("ets step {}", h + 1));
            } else {
                // A barely trained network stays near its references (ETS levels/forecasts in
                // units of ETS's ~3 % one-step error); rolling with wrong references would
                // not. Loose bounds: within a factor 1.5 of ETS.
                assert!(
                    (1.0 / 1.5..=1.5).contains(&(v[0] / e)),
                    "{mode:?} step {}: {} vs ETS {e}",
                    h + 1,
                    v[0]
                );
            }
        }
        eprintln!("{mode:?}: 6-step forecast / ETS forecast = {ratios:.4?}");
    }
}

// ---------------------------------------------------------------------------------------------
// 3. ETS-residual starts at ETS.
// ---------------------------------------------------------------------------------------------

#[test]
fn ets_residual_with_a_negligible_step_stays_at_ets() {
    let ts = air();
    let mut cfg = small(Normalize::EtsResidual, 3);
    // On the values as they are, so that the ETS states are in the data's units.
    cfg.transform = Transform::None;
    cfg.training.epochs = 1;
    cfg.training.learning_rate = 1e-7;
    let m = cfg.fit(&ts, &mut |_| {}).unwrap();
    assert_eq!(m.report.best_epoch, 1);
    let ev = m.evaluate(&ts).unwrap();
    // The network's references: ETS fitted on the training rows, from each window's origin
    // (test origins 115..=142, three steps each, in that order).
    let st = ets_states(&m, &ts.columns[0]);
    let reference = |i: usize, step: usize| st.forecast(115 + i / 3, step);
    let mut worst = 0f64;
    for (i, r) in ev.rows.iter().enumerate() {
        let e = reference(i, r.step);
        worst = worst.max(((r.predicted - e) / e).abs());
    }
    eprintln!("ets-residual after one epoch at lr 1e-7: worst relative distance to ETS {worst:e}");
    // The output layer starts at zero and Adam moves each weight by at most ~lr per step
    // (3 batches): the output is ~1e-6 units of ETS's one-step error (~3 % of the level), so
    // ~1e-7 relative, plus f32 rounding ~1e-7. A randomly initialised output layer would be
    // ~0.1-1 units away, i.e. ~1e-3-1e-2 relative. Allow 1e-5.
    assert!(worst <= 1e-5, "worst relative distance {worst:e}");
    // The control: the same model with the network as initialised from the seed, before its
    // output layer is zeroed, is far from ETS (so the bound above has teeth).
    let mut control = m.clone();
    control.network = Network::new(
        m.network.spec().clone(),
        &mut rng_for(cfg.seed, lstmcast::train::streams::INIT),
    )
    .unwrap();
    let far = control
        .evaluate(&ts)
        .unwrap()
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let e = reference(i, r.step);
            ((r.predicted - e) / e).abs()
        })
        .fold(0f64, f64::max);
    eprintln!("with the output layer as initialised: worst relative distance {far:e}");
    assert!(far > 1e-3, "{far:e}");
}

// ---------------------------------------------------------------------------------------------
// 5. Save and load.
// ---------------------------------------------------------------------------------------------

#[test]
fn an_es_model_saves_and_loads_bit_identically() {
    let ts = air();
    let m = small(Normalize::Es, 2).fit(&ts, &mut |_| {}).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run");
    m.save(&path, false).unwrap();
    let back = TrainedForecaster::load(&path).unwrap();
    assert_eq!(back.norm, m.norm);
    assert_eq!(back.ets, m.ets, "ETS models survive model.json bit for bit");
    assert_eq!(back.network.params(), m.network.params());
    let (a, b) = (m.evaluate(&ts).unwrap(), back.evaluate(&ts).unwrap());
    assert_eq!(a.rows, b.rows, "identical predictions after save → load");
    assert_eq!(
        m.forecast(&ts, Some(5)).unwrap(),
        back.forecast(&ts, Some(5)).unwrap()
    );
}

// ---------------------------------------------------------------------------------------------
// 6. Panels with a series ETS cannot be fitted on.
// ---------------------------------------------------------------------------------------------

/// A positive monthly cycle with a drift, its own level per series; deterministic.
fn cycle(k: usize, n: usize) -> Vec<f64> {
    (0..n)
        .map(|t| {
            let t = t as f64;
            20.0 + 5.0 * k as f64
                + 0.1 * t
                + 3.0 * (t * std::f64::consts::PI / 6.0).sin()
                + 0.5 * (1.7 * t + k as f64).sin()
        })
        .collect()
}

#[test]
fn a_series_too_short_for_ets_goes_to_the_stand_in_under_auto_and_es_and_ets_refuses() {
    // Two series of 80 rows and one of 10; `--split-last 3,5` gives every series its own last 5
    // rows as test and the 3 before as validation, so "short" has 2 training rows: too few for
    // the reference smoother (3) and for Ets::auto (5: ETS(A,N,N)'s 2 parameters, the variance
    // and 2 for the AICc), so it has no ETS model on its training rows. It has test windows
    // (origins 6..=8, lookback 6, horizon 2) a network could score, but it is left to the
    // stand-in, and the ETS family competes for the other series.
    let long = |k| (format!("s{k}"), vec![cycle(k, 80)]);
    let series = vec![long(0), long(1), ("short".to_string(), vec![cycle(2, 10)])];
    let panel = Panel::from_series(vec!["y".into()], 1, series.clone()).unwrap();
    let without = Panel::from_series(vec!["y".into()], 1, series[..2].to_vec()).unwrap();
    let mut cfg = small(Normalize::Auto, 2);
    cfg.lookback = 6;
    cfg.split.last = Some([3, 5]);
    cfg.model.layers = vec![6];
    cfg.training.epochs = 1;

    // Without the short series the ETS trio competes: the fallback below is the short series'.
    let prep = Prepared::new(&cfg, &without).unwrap();
    assert_eq!(prep.auto_candidates(&cfg, false), Normalize::ETS_CANDIDATES);
    // On a panel the window and difference modes compete too (after the ETS family).
    let both: Vec<Normalize> = Normalize::ETS_CANDIDATES
        .into_iter()
        .chain([Normalize::Window, Normalize::Diff])
        .collect();
    assert_eq!(prep.auto_candidates(&cfg, true), both);
    let prep = Prepared::new(&cfg, &panel).unwrap();
    assert_eq!(prep.split.series[2].train, 0..2);
    // "short" is left out of `auto`'s windows (it goes to the stand-in), so its missing ETS
    // does not take the ETS family from the other series.
    assert_eq!(prep.auto_candidates(&cfg, true), both);
    assert!(prep
        .index
        .iter()
        .all(|i| i.segments().iter().all(|g| g.series != 2)));
    assert!(prep
        .skipped
        .iter()
        .any(|s| s.series == "short" && s.why.contains("no ETS on its training rows")));
    let (id, k, why) = prep.ets.first_missing().unwrap();
    assert_eq!((id.as_str(), k), ("short", 0), "{why}");
    assert!(prep.ets.get("s0", 0).is_some() && prep.ets.get("s1", 0).is_some());

    let m = cfg.fit(&panel, &mut |_| {}).unwrap();
    let sel = m.selection.as_ref().unwrap();
    let modes: Vec<Normalize> = sel.candidates.iter().map(|c| c.mode).collect();
    assert_eq!(modes, both);
    // The ETS baseline is fitted again on the rows before the test: the short series' 5 are
    // enough for ETS(A,N,N), so every series has one.
    let ev = m.evaluate(&panel).unwrap();
    let short: Vec<_> = ev.rows.iter().filter(|r| r.series == "short").collect();
    // The stand-in forecasts from every test origin with a row before it (5..=8), not only
    // those with a lookback's rows (6..=8): 4 origins of 2 steps.
    assert_eq!(short.len(), 4 * 2);
    assert!(short
        .iter()
        .all(|r| r.model == "ets" && Some(r.predicted) == r.ets));
    assert!(ev.rows.iter().all(|r| r.ets.is_some_and(f64::is_finite)));
    let refit = m.refit_ets(&panel, &[75, 75, 5]);
    assert_eq!(refit.get("short", 0).unwrap().model.n, 5);
    // Each series' ETS column comes from its own model and rows (the second series starts at
    // global row 80): ETS's forecast from the states after local row origin − 1.
    for id in ["s0", "s1", "short"] {
        let k = ["s0", "s1", "short"].iter().position(|i| *i == id).unwrap();
        let y = cycle(k, if id == "short" { 10 } else { 80 });
        let st = refit.get(id, 0).unwrap().model.filter(&y);
        for r in ev.rows.iter().filter(|r| r.series == id) {
            let origin: usize = r.origin.parse().unwrap();
            // The same f64 recursions on the same rows: equal up to 1e-12 relative.
            assert_rel(r.ets.unwrap(), st.forecast(origin, r.step), 1e-12, id);
            assert_eq!(r.actual, y[origin + r.step - 1]);
        }
    }

    // A network of an ES mode asked for by name leaves "short" out of its windows and gives
    // it the stand-in: ETS fitted on its 5 rows before the test (the ETS column above).
    for mode in [Normalize::Es, Normalize::EtsResidual] {
        cfg.normalize = mode;
        let m = cfg.fit(&panel, &mut |_| {}).unwrap();
        assert_eq!(m.norm.mode, mode);
        let ev = m.evaluate(&panel).unwrap();
        for r in &ev.rows {
            if r.series == "short" {
                assert_eq!(
                    (r.model.as_str(), Some(r.predicted)),
                    ("ets", r.ets),
                    "{mode:?}"
                );
            } else {
                assert_eq!(r.model, "lstm", "{mode:?}");
            }
        }
    }
    // Plain ETS is scored on validation by the fit on the training rows: it refuses.
    cfg.normalize = Normalize::Ets;
    let e = cfg.fit(&panel, &mut |_| {}).unwrap_err().to_string();
    assert!(
        e.contains("'short'") && e.contains("another --normalize") && e.contains("ets"),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------------
// 7. Auto's candidates and choice.
// ---------------------------------------------------------------------------------------------

#[test]
fn auto_trains_the_ets_trio_and_keeps_the_lowest_validation_mase() {
    let ts = air();
    let cfg = small(Normalize::Auto, 3);
    let m = cfg.fit(&ts, &mut |_| {}).unwrap();
    let sel = m.selection.as_ref().unwrap();
    // The ETS trio on the values as they are, then on their logs (every value is positive).
    let modes: Vec<(Normalize, Transform)> = sel
        .candidates
        .iter()
        .map(|c| (c.mode, c.transform))
        .collect();
    let want: Vec<(Normalize, Transform)> = [Transform::None, Transform::Log]
        .into_iter()
        .flat_map(|t| Normalize::ETS_CANDIDATES.map(|m| (m, t)))
        .collect();
    assert_eq!(modes, want);
    assert_eq!(m.transform.kind, sel.chosen_transform);
    // Validation rows 100..115, all at or after the lookback 12: 15 origins (the last ones
    // scored on the steps that stay inside validation).
    let sp = cfg.split.ranges(ts.len());
    let origins = sp.val.end - sp.val.start.max(cfg.lookback);
    assert_eq!(origins, 15);
    for c in &sel.candidates {
        assert_eq!(c.val_origins, origins, "{:?}", c.mode);
        assert!(c.val_mase.is_some_and(f64::is_finite), "{c:?}");
        assert_eq!(c.loss, Loss::Mae, "the ES modes train with MAE by default");
    }
    // The lowest val_mase, ties keeping the earlier candidate.
    let mut best = 0;
    for (i, c) in sel.candidates.iter().enumerate() {
        if c.val_mase.unwrap() < sel.candidates[best].val_mase.unwrap() {
            best = i;
        }
    }
    assert_eq!(sel.chosen, sel.candidates[best].mode, "{sel:?}");
    assert_eq!(m.norm.mode, sel.chosen);
    // The candidates trained at once (one per thread) give the same result.
    let par = cfg
        .fit_with(
            &ts,
            cfg.split.resolve(&ts).unwrap(),
            FitControl::new(&mut |_| {}).with_threads(2),
        )
        .unwrap();
    let FitOutcome::Done(par) = par else {
        panic!("not interrupted")
    };
    assert_eq!(par.selection, m.selection);
    assert_eq!(par.network.params(), m.network.params());
    eprintln!(
        "val MASE: {:?}, chosen {:?}",
        sel.candidates
            .iter()
            .map(|c| (c.mode, c.val_mase.unwrap()))
            .collect::<Vec<_>>(),
        sel.chosen
    );

    // The plain-ETS candidate's score recomputed by hand: every validation origin t, every step
    // h < 3 with t + h inside validation, |ETS forecast(t, h + 1) − y[t + h]| divided by the
    // training rows' seasonal-naive MAE (m = 12), averaged.
    let y = &ts.columns[0];
    // (29.3409 for these rows, by Python.)
    let q = (12..100).map(|t| (y[t] - y[t - 12]).abs()).sum::<f64>() / 88.0;
    assert_rel(m.mase_scale[0][0].unwrap(), q, 1e-12, "MASE scale");
    // The candidate on the values as they are: the forecaster ETS (AutoETS's fit, not the ES
    // modes' reference smoother) fitted on the 100 training rows.
    let bank =
        EtsBank::fit_forecasters_on_threads(&ts, &[std::ops::Range { start: 0, end: 100 }], 12, 1);
    let st = bank.get(&m.ids[0], 0).unwrap().model.filter(y);
    let (mut sum, mut n) = (0.0, 0);
    for t in 100..115 {
        for h in 0..3.min(115 - t) {
            sum += (st.forecast(t, h + 1) - y[t + h]).abs() / q;
            n += 1;
        }
    }
    // 13 origins × 3 steps + 2 + 1.
    assert_eq!(n, 42);
    // f32 rounding of the references only (see the plain-ETS test): 1e-5 relative.
    assert_rel(
        sel.candidates[0].val_mase.unwrap(),
        sum / n as f64,
        1e-5,
        "ets candidate's validation MASE",
    );
}

#[test]
fn auto_with_a_recursive_strategy_trains_the_plain_trio() {
    let ts = air();
    let mut cfg = small(Normalize::Auto, 3);
    cfg.strategy = Strategy::Recursive;
    cfg.training.epochs = 1;
    let prep = Prepared::new(&cfg, &ts).unwrap();
    assert!(prep.check_mode(&cfg, Normalize::Es).is_err());
    let m = cfg.fit(&ts, &mut |_| {}).unwrap();
    let sel = m.selection.as_ref().unwrap();
    let modes: Vec<Normalize> = sel.candidates.iter().map(|c| c.mode).collect();
    assert_eq!(modes, Normalize::PLAIN_CANDIDATES);
    assert!(sel.candidates.iter().all(|c| c.loss == Loss::Mse));
}

#[test]
fn interrupted_auto_with_ets_candidates_resumes_bit_identically() {
    // The plain-ETS candidate trains nothing; resuming after it (and inside es) must still give
    // the uninterrupted result.
    let ts = air();
    let cfg = small(Normalize::Auto, 2);
    let whole = cfg.fit(&ts, &mut |_| {}).unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let mut at: Option<FitCheckpoint> = None;
    let mut save = |ck: &FitCheckpoint| {
        if ck.candidate == 1 && ck.state.as_ref().is_some_and(|s| s.epochs_done == 1) {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        at = Some(ck.clone());
        Ok(())
    };
    let out = cfg
        .fit_with(
            &ts,
            cfg.split.resolve(&ts).unwrap(),
            FitControl::new(&mut |_| {})
                .with_interrupt(&stop)
                .with_checkpoint(&mut save),
        )
        .unwrap();
    assert!(matches!(out, FitOutcome::Interrupted(_)));
    assert_eq!(at.as_ref().unwrap().candidate, 1);
    let out = cfg
        .fit_with(
            &ts,
            cfg.split.resolve(&ts).unwrap(),
            FitControl::new(&mut |_| {}).with_resume(at),
        )
        .unwrap();
    let FitOutcome::Done(m) = out else {
        panic!("resumed to the end")
    };
    assert_eq!(m.selection, whole.selection);
    assert_eq!(m.network.params(), whole.network.params());
}

// ---------------------------------------------------------------------------------------------
// 8. The loss.
// ---------------------------------------------------------------------------------------------

#[test]
fn mse_through_backward_with_is_backward_and_mae_differs() {
    let spec = NetworkSpec {
        n_inputs: 2,
        layers: vec![5],
        n_outputs: 3,
        dropout: 0.0,
        recurrent_dropout: 0.0,
        step_inputs: 0,
        steps: 1,
    };
    let net = Network::new(spec.clone(), &mut rng_for(5, 1)).unwrap();
    let (b, t) = (3, 6);
    let x: Vec<f32> = (0..t * b * 2).map(|k| (k as f32 * 0.731).sin()).collect();
    let y: Vec<f32> = (0..b * 3).map(|k| (k as f32 * 1.37).cos() * 0.5).collect();
    let mut ws = Workspace::new(&net);
    let mut run = |loss: Option<Loss>| {
        net.forward::<lstmcast::engine::Rng>(&mut ws, &x, b, t, None);
        let l = match loss {
            None => net.backward(&mut ws, &x, &y),
            Some(loss) => net.backward_with(&mut ws, &x, &y, loss),
        };
        (l, ws.grad().to_vec())
    };
    let plain = run(None);
    let mse = run(Some(Loss::Mse));
    let mae = run(Some(Loss::Mae));
    assert_eq!(plain.0.to_bits(), mse.0.to_bits());
    assert_eq!(plain.1, mse.1, "bit-identical gradients");
    assert_ne!(mae.1, mse.1);
    assert_ne!(mae.0, mse.0);
}

// ---------------------------------------------------------------------------------------------
// 9. A series left out of every part does not decide the mode.
// ---------------------------------------------------------------------------------------------

#[test]
fn a_series_without_training_rows_does_not_turn_off_the_ets_modes() {
    // "late" starts at step 70 of 0..80: with the default fractions over the 80 distinct steps
    // its rows all fall in validation and test (from step 56 and 64), so it has no training
    // rows, no scaler and no window anywhere; it must not stop the ETS modes for the others.
    let (a, b) = (cycle(0, 80), cycle(1, 80));
    let late = cycle(2, 80)[70..].to_vec();
    let mut rows = String::from("id,t,y\n");
    for (id, ys, start) in [("a", &a, 0), ("b", &b, 0), ("late", &late, 70)] {
        for (i, v) in ys.iter().enumerate() {
            rows.push_str(&format!("{id},{},{v}\n", start + i));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.csv");
    std::fs::write(&path, rows).unwrap();
    let opts = LoadOptions {
        id_col: Some("id".into()),
        time_col: Some("t".into()),
        target: vec!["y".into()],
        ..Default::default()
    };
    let panel = load(&path, &opts).unwrap();
    let mut cfg = small(Normalize::Es, 2);
    cfg.lookback = 6;
    cfg.training.epochs = 1;
    let prep = Prepared::new(&cfg, &panel).unwrap();
    let late_pos = panel.ids.iter().position(|i| i == "late").unwrap();
    assert!(prep.split.series[late_pos].train.is_empty());
    assert!(prep.ets.first_missing().is_some(), "late has no ETS model");
    assert_eq!(prep.auto_candidates(&cfg, false), Normalize::ETS_CANDIDATES);
    let m = cfg.fit(&panel, &mut |_| {}).unwrap();
    assert_eq!(m.norm.mode, Normalize::Es);
    // The network forecasts the others; "late" is forecast by ETS fitted on its rows before the
    // test (70..72: two rows, too few for ETS, so by its last value), never dropped.
    let ev = m.evaluate(&panel).unwrap();
    assert!(ev
        .rows
        .iter()
        .all(|r| (r.series == "late") == (r.model == "naive")));
    assert!(ev.rows.iter().any(|r| r.series == "late"));
    assert_eq!(ev.models.get("lstm"), Some(&2));
    assert_eq!(ev.models.get("naive"), Some(&1));
}

// ---------------------------------------------------------------------------------------------
// 10. Ensembles.
// ---------------------------------------------------------------------------------------------

#[test]
fn an_ensemble_predicts_the_median_of_its_networks_for_any_thread_count() {
    let ts = air();
    let mut cfg = small(Normalize::Es, 2);
    cfg.model.ensemble = 3;
    let fit = |threads: usize| {
        let mut quiet = |_: &lstmcast::forecaster::FitProgress| {};
        let ctl = FitControl::new(&mut quiet).with_threads(threads);
        match cfg
            .fit_with(&ts, cfg.split.resolve(&ts).unwrap(), ctl)
            .unwrap()
        {
            FitOutcome::Done(m) => *m,
            FitOutcome::Interrupted(_) => unreachable!("no interrupt flag"),
        }
    };
    let m = fit(1);
    assert_eq!(m.members.len(), 2);
    let sel = m.selection.as_ref().unwrap();
    assert_eq!(sel.members.len(), 2);
    assert!(sel.ensemble_val_mase.is_some());
    // Member k trains from seed + k: the same as a lone model with that seed.
    let mut one = cfg.clone();
    one.model.ensemble = 1;
    one.seed = cfg.seed + 2;
    let lone = one.fit(&ts, &mut |_| {}).unwrap();
    assert_eq!(lone.network.params(), m.members[1].params());
    // Predictions are the median of the three networks' (each decoded alike, increasing).
    let ev = m.evaluate(&ts).unwrap();
    let single = |net: &Network| {
        let mut s = m.clone();
        s.network = net.clone();
        s.members.clear();
        s.evaluate(&ts).unwrap().rows
    };
    let all = [
        single(&m.network),
        single(&m.members[0]),
        single(&m.members[1]),
    ];
    for (i, r) in ev.rows.iter().enumerate() {
        let mut v: Vec<f64> = all.iter().map(|rows| rows[i].predicted).collect();
        v.sort_by(f64::total_cmp);
        // The median is taken on the network outputs (f32), then decoded: equal to the median
        // of the decoded values up to f32 rounding.
        assert_rel(r.predicted, v[1], 1e-5, "median of three");
    }
    // Bit-identical on two threads, and after save → load.
    let m2 = fit(2);
    assert_eq!(m2.evaluate(&ts).unwrap().rows, ev.rows);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run");
    m.save(&path, false).unwrap();
    let back = TrainedForecaster::load(&path).unwrap();
    assert_eq!(back.members.len(), 2);
    assert_eq!(back.evaluate(&ts).unwrap().rows, ev.rows);
}

#[test]
fn the_ets_bank_does_not_depend_on_the_thread_count() {
    let series: Vec<(String, Vec<Vec<f64>>)> = (0..5)
        .map(|k| (format!("s{k}"), vec![cycle(k, 60 + 7 * k)]))
        .collect();
    let panel = Panel::from_series(vec!["y".into()], 1, series).unwrap();
    let train: Vec<std::ops::Range<usize>> = (0..5).map(|k| 0..40 + 5 * k).collect();
    let one = EtsBank::fit_on_threads(&panel, &train, 12, 1);
    assert!(one.first_missing().is_none());
    for threads in [2, 3, 8] {
        assert_eq!(EtsBank::fit_on_threads(&panel, &train, 12, threads), one);
    }
    assert_eq!(EtsBank::fit(&panel, &train, 12), one);
}

#[test]
fn a_file_that_starts_elsewhere_gets_its_own_seasonal_phase() {
    // air_passengers' ETS was fitted from January 1949. A file of the last 31 rows starts in
    // June: filtered from the fitted initial states its season would be five months out of
    // phase (the forecast for 1961-03 came out near 339 against 503 from the whole file); the
    // states now start from the file's own first two cycles.
    let ts = air();
    let m = small(Normalize::Ets, 3).fit(&ts, &mut |_| {}).unwrap();
    let whole = m.forecast(&ts, None).unwrap().series[0].values[2][0];
    for keep in [31, 36] {
        let mut tail = ts.clone();
        let n = ts.len();
        tail.timestamps = ts.timestamps[n - keep..].to_vec();
        tail.columns = vec![ts.columns[0][n - keep..].to_vec()];
        tail.offsets = vec![0, keep];
        let got = m.forecast(&tail, None).unwrap().series[0].values[2][0];
        // Restarted states see only these rows' level and season: within 10 % of the forecast
        // from the whole history (measured with the CLI: 4.4 % for 31 rows, 0.4 % for 36).
        assert_rel(got, whole, 0.10, &format!("last {keep} rows"));
    }
}

#[test]
fn a_new_series_without_ets_is_named_and_forecast_by_ets_not_a_panic() {
    let series = vec![
        ("s0".to_string(), vec![cycle(0, 80)]),
        ("s1".to_string(), vec![cycle(1, 80)]),
    ];
    let panel = Panel::from_series(vec!["y".into()], 1, series.clone()).unwrap();
    let mut cfg = small(Normalize::Es, 2);
    cfg.lookback = 6;
    cfg.training.epochs = 1;
    // One scaler for all, so that a new series is scaled; it has no ETS model of its own.
    cfg.scaler_scope = ScalerScope::Global;
    let m = cfg.fit(&panel, &mut |_| {}).unwrap();
    let mut with_new = series;
    with_new.push(("zz-new".to_string(), vec![cycle(2, 40)]));
    let other = Panel::from_series(vec!["y".into()], 1, with_new).unwrap();
    // The network forecasts the others; the new series is listed, with why, and forecast by
    // ETS fitted on its own 40 rows instead (never dropped).
    let f = m.forecast(&other, None).unwrap();
    assert_eq!(f.series.len(), 3);
    let (id, why) = &f.skipped[0];
    assert_eq!(id, "zz-new");
    assert!(
        why.contains("no ETS model") && why.contains("es") && why.contains("forecast by ets"),
        "{why}"
    );
    let models: Vec<(&str, &str)> = f
        .series
        .iter()
        .map(|s| (s.id.as_str(), s.model.as_str()))
        .collect();
    assert_eq!(models, [("s0", "lstm"), ("s1", "lstm"), ("zz-new", "ets")]);
    let bank = lstmcast::normalize::EtsBank::fit_forecasters_on_threads(
        &Panel::from_series(
            vec!["y".into()],
            1,
            vec![("zz-new".into(), vec![cycle(2, 40)])],
        )
        .unwrap(),
        &[std::ops::Range { start: 0, end: 40 }],
        12,
        1,
    );
    let st = bank.get("zz-new", 0).unwrap().model.filter(&cycle(2, 40));
    assert_rel(
        f.series[2].values[0][0],
        st.forecast(40, 1),
        1e-12,
        "stand-in ETS",
    );
    // Alone, too: every series gets a forecast.
    let alone = Panel::from_series(
        vec!["y".into()],
        1,
        vec![("zz-new".into(), vec![cycle(2, 40)])],
    )
    .unwrap();
    assert_eq!(m.forecast(&alone, None).unwrap().series[0].model, "ets");
    // A mode without ETS forecasts it, but its intervals were never calibrated: it is listed.
    cfg.normalize = Normalize::Window;
    let m = cfg.fit(&panel, &mut |_| {}).unwrap();
    let f = m.forecast(&other, None).unwrap();
    assert_eq!(f.series.len(), 3);
    assert_eq!(f.without_intervals.len(), 1);
    assert_eq!(f.without_intervals[0].0, "zz-new");
    let new = f.series.iter().find(|s| s.id == "zz-new").unwrap();
    assert!(new
        .intervals
        .iter()
        .flatten()
        .flatten()
        .all(Option::is_none));
}

#[test]
fn a_quantile_model_saves_and_loads() {
    let ts = air();
    let mut c = small(Normalize::Window, 3);
    c.training.loss = Some(Loss::Quantile);
    c.training.quantiles = vec![0.1, 0.5, 0.9];
    let m = c.fit(&ts, &mut |_| {}).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run");
    m.save(&path, false).unwrap();
    let back = TrainedForecaster::load(&path).unwrap();
    assert_eq!(back.calibration, m.calibration);
    assert_eq!(
        back.evaluate(&ts).unwrap().rows,
        m.evaluate(&ts).unwrap().rows
    );
    assert_eq!(
        back.forecast(&ts, None).unwrap(),
        m.forecast(&ts, None).unwrap()
    );
    // Past the trained 3 steps (rolled on the median) there are no quantiles.
    let far = m.forecast(&ts, Some(5)).unwrap();
    let q = &far.series[0].quantiles;
    assert!(q[..3].iter().all(|s| s[0].iter().all(|v| v.is_finite())));
    assert!(q[3..].iter().all(|s| s[0].iter().all(|v| v.is_nan())));
}

// ---------------------------------------------------------------------------------------------
// 11. Statistics on the newest rows: Theta, positive forecasts (issue 25).
// ---------------------------------------------------------------------------------------------

#[test]
fn plain_theta_predicts_the_theta_baseline_fitted_on_the_rows_before_the_test() {
    let ts = air();
    let mut cfg = small(Normalize::Theta, 3);
    cfg.transform = Transform::None;
    let m = cfg.fit(&ts, &mut |_| {}).unwrap();
    assert_eq!(m.norm.mode, Normalize::Theta);
    assert!(m.report.history.is_empty(), "no network is trained");
    let ev = m.evaluate(&ts).unwrap();
    assert_eq!(ev.rows.len(), 27 * 3);
    // The Theta method fitted on the 115 rows before the test, filtered to each origin.
    let th = lstmcast::theta::Theta::fit(&ts.columns[0][..115], 12).unwrap();
    let st = th.filter(&ts.columns[0]);
    for (i, r) in ev.rows.iter().enumerate() {
        let want = st.forecast(115 + i / 3, r.step);
        assert_rel(r.theta.unwrap(), want, 1e-12, "theta column");
        // Through the scaler in f32 and back (as for plain ETS): 1e-5.
        assert_rel(r.predicted, want, 1e-5, "theta prediction");
        assert_eq!(r.model, "theta");
    }
    assert_eq!(ev.models.get("theta"), Some(&1));
    // The forecast past the data: Theta fitted on all 144 rows.
    let all = lstmcast::theta::Theta::fit(&ts.columns[0], 12).unwrap();
    let want = all.filter(&ts.columns[0]).forecasts(144, 3);
    let f = m.forecast(&ts, None).unwrap();
    for (h, w) in want.iter().enumerate() {
        assert_rel(f.series[0].values[h][0], *w, 1e-5, "theta forecast");
    }
    assert_eq!(f.series[0].model, "theta");
}

#[test]
fn a_positive_series_never_gets_a_negative_forecast_or_bound() {
    // 60 positive rows falling fast (1000 down to about 56, with a wiggle): a trend model
    // extrapolated 12 steps crosses zero, so the floor has something to do.
    let y: Vec<f64> = (0..60)
        .map(|t| 1000.0 - 16.0 * t as f64 + 8.0 * (t as f64 * 1.3).sin())
        .collect();
    assert!(y.iter().all(|v| *v > 0.0));
    let panel =
        Panel::from_series(vec!["y".into()], 1, vec![("s".into(), vec![y.clone()])]).unwrap();
    for mode in [Normalize::Ets, Normalize::Theta, Normalize::Es] {
        let mut cfg = small(mode, 12);
        cfg.lookback = 6;
        cfg.season = Some(1);
        cfg.transform = Transform::None;
        cfg.split.last = Some([12, 12]);
        let m = cfg.fit(&panel, &mut |_| {}).unwrap();
        let ev = m.evaluate(&panel).unwrap();
        let lowest = ev
            .rows
            .iter()
            .flat_map(|r| {
                let bounds = r.intervals.iter().flatten().flat_map(|&(lo, hi)| [lo, hi]);
                [r.predicted]
                    .into_iter()
                    .chain(r.ets)
                    .chain(r.theta)
                    .chain(bounds)
            })
            .fold(f64::INFINITY, f64::min);
        assert!(lowest >= 0.0, "{mode:?}: {lowest}");
        let f = m.forecast(&panel, None).unwrap();
        for step in &f.series[0].values {
            assert!(step[0] >= 0.0, "{mode:?}: forecast {}", step[0]);
        }
        for iv in f.series[0].intervals.iter().flatten().flatten().flatten() {
            assert!(iv.0 >= 0.0 && iv.1 >= 0.0, "{mode:?}: {iv:?}");
        }
        if mode == Normalize::Ets {
            // Unfloored, ETS fitted on every row goes below zero within the 12 steps past the
            // data: the floor was needed, and it holds the forecast at 0 there.
            let bank = m.refit_ets(&panel, &[60]);
            let st = bank.get("s", 0).unwrap().model.filter(&y);
            assert!(st.forecast(60, 12) < 0.0, "the test has no teeth");
            assert_eq!(f.series[0].values[11][0], 0.0);
        }
    }
}
