//! Issue 7: forecasts that survive level shifts. The default (`normalize = auto`) against the
//! textbook global scaling, on a real trending series, a synthetic random walk with drift and a
//! stationary seasonal series, with the product's default network and training settings.

use lstmcast::{
    load, ForecasterConfig, LoadOptions, Normalize, Panel, Strategy, TrainedForecaster,
};
use std::path::PathBuf;

fn bundled(file: &str, targets: &[&str], features: &[&str]) -> Panel {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data")
        .join(file);
    let opts = LoadOptions {
        target: targets.iter().map(|s| s.to_string()).collect(),
        features: features.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    load(&path, &opts).unwrap()
}

/// A random walk with drift 0.5 and unit Gaussian steps (LCG + Box–Muller, fixed seed).
fn random_walk_with_drift(n: usize) -> Panel {
    let mut state = 2024u64;
    let mut uniform = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let mut level = 100.0;
    let y: Vec<f64> = (0..n)
        .map(|_| {
            let z = (-2.0 * uniform().ln()).sqrt() * (2.0 * std::f64::consts::PI * uniform()).cos();
            level += 0.5 + z;
            level
        })
        .collect();
    Panel::from_columns(vec!["y".into()], vec![y], 1).unwrap()
}

fn config(normalize: Normalize, horizon: usize) -> ForecasterConfig {
    ForecasterConfig {
        normalize,
        horizon,
        ..Default::default()
    }
}

/// Test MASE of the model and of the naive baseline for the first target.
fn mase(m: &TrainedForecaster, ts: &Panel) -> (f64, f64) {
    let ev = m.evaluate(ts).unwrap();
    let s = &ev.overall[&ts.names[0]];
    (s.model.mase.unwrap(), s.naive.mase.unwrap())
}

/// The claim of issue 7 on one series: global is several (≥ 3) times worse than naive, the
/// default is within 1.2× of naive.
fn default_survives_where_global_fails(ts: &Panel, horizon: usize) -> (f64, f64, f64) {
    let global = config(Normalize::Global, horizon)
        .fit(ts, &mut |_| {})
        .unwrap();
    let auto = config(Normalize::Auto, horizon)
        .fit(ts, &mut |_| {})
        .unwrap();
    let (g, naive) = mase(&global, ts);
    let (a, _) = mase(&auto, ts);
    let sel = auto.selection.as_ref().unwrap();
    // One series: the ETS family, Theta and their mean compete (on the values, and on their
    // logs where positive).
    assert!(sel.candidates.iter().all(|c| c.mode.uses_ets()), "{sel:?}");
    assert!(
        sel.candidates.len() == 5 || sel.candidates.len() == 10,
        "{sel:?}"
    );
    assert_ne!(sel.chosen, Normalize::Global, "{sel:?}");
    eprintln!(
        "MASE: global {g:.3}, auto {a:.3} ({:?}), naive {naive:.3}",
        sel.chosen
    );
    assert!(g > 3.0 * naive, "global MASE {g} vs naive {naive}");
    assert!(a <= 1.2 * naive, "auto MASE {a} vs naive {naive}");
    (g, a, naive)
}

#[test]
fn trending_real_series_default_is_near_naive_where_global_fails() {
    // US personal consumption expenditure (economics.csv): the test years lie far above every
    // training value. Measured: global 12.2, auto 0.38, naive 0.64.
    let ts = bundled("economics.csv", &["pce"], &["pce"]);
    default_survives_where_global_fails(&ts, 6);
}

#[test]
fn random_walk_with_drift_default_is_near_naive_where_global_fails() {
    let ts = random_walk_with_drift(600);
    default_survives_where_global_fails(&ts, 3);
}

#[test]
fn stationary_seasonal_default_is_no_worse_than_global() {
    // The README's main job (nottem, horizon 12): no level shift, so the default must not lose
    // what global scaling achieves (2 % slack for a different but equally good choice).
    let ts = bundled("nottem.csv", &[], &[]);
    let global = config(Normalize::Global, 12).fit(&ts, &mut |_| {}).unwrap();
    let auto = config(Normalize::Auto, 12).fit(&ts, &mut |_| {}).unwrap();
    let (g, _) = mase(&global, &ts);
    let (a, _) = mase(&auto, &ts);
    eprintln!("nottem MASE: global {g:.3}, auto {a:.3}");
    assert!(a <= 1.02 * g, "auto MASE {a} vs global {g}");
}

fn tiny(normalize: Normalize, strategy: Strategy, horizon: usize) -> ForecasterConfig {
    let mut c = ForecasterConfig {
        normalize,
        strategy,
        horizon,
        lookback: 12,
        ..Default::default()
    };
    c.model.layers = vec![8];
    c.training.epochs = 3;
    c
}

fn shifted(ts: &Panel, by: f64) -> Panel {
    let mut s = ts.clone();
    for col in &mut s.columns {
        for v in col.iter_mut() {
            *v += by;
        }
    }
    s
}

#[test]
fn window_and_diff_forecasts_move_with_the_level_and_global_does_not() {
    // With the saved scaler fixed, adding c to every input row adds c to every window's anchor
    // and leaves what the network sees unchanged (window: x − last; diff: first differences),
    // so the forecast moves by exactly c up to f32 rounding. Global scaling has no such property.
    let ts = bundled("economics.csv", &["pce"], &["pce"]);
    let c = 5000.0;
    for mode in [Normalize::Window, Normalize::Diff, Normalize::Global] {
        let m = tiny(mode, Strategy::Direct, 3)
            .fit(&ts, &mut |_| {})
            .unwrap();
        let a = m.forecast(&ts, None).unwrap();
        let b = m.forecast(&shifted(&ts, c), None).unwrap();
        for (ra, rb) in a.series[0].values.iter().zip(&b.series[0].values) {
            let moved = rb[0] - ra[0];
            // Rounding: scaled values near 5 in f32 carry ~5e-7 relative error; × the scaler's
            // std (~3000) gives ~1e-2 absolute; allow 0.5.
            if mode == Normalize::Global {
                assert!((moved - c).abs() > 100.0, "global moved by {moved}");
            } else {
                assert!(
                    (moved - c).abs() < 0.5,
                    "{mode:?} moved by {moved}, not {c}"
                );
            }
        }
    }
}

#[test]
fn every_mode_works_with_several_targets_multivariate_inputs_and_both_strategies() {
    let two = bundled("economics.csv", &["pce", "pop"], &["pce", "pop"]);
    let all = bundled("economics.csv", &["unemploy", "psavert"], &[]);
    for mode in Normalize::CANDIDATES {
        for (ts, strategy) in [(&two, Strategy::Recursive), (&all, Strategy::Direct)] {
            if mode.uses_ets() && strategy == Strategy::Recursive {
                // ETS references exist at observed origins only: refused, naming the fix.
                let e = tiny(mode, strategy, 4).fit(ts, &mut |_| {}).unwrap_err();
                assert!(e.to_string().contains("--strategy direct"), "{e}");
                continue;
            }
            let m = tiny(mode, strategy, 4).fit(ts, &mut |_| {}).unwrap();
            assert_eq!(m.norm.mode, mode);
            let ev = m.evaluate(ts).unwrap();
            assert_eq!(ev.overall.len(), 2);
            assert!(ev.rows.iter().all(|r| r.predicted.is_finite()));
            let f = m.forecast(ts, Some(6)).ok();
            // Beyond the trained horizon only the recursive (all-target) model can roll forward.
            assert_eq!(f.is_some(), strategy == Strategy::Recursive, "{mode:?}");
        }
    }
}

#[test]
fn test_rows_never_influence_normalisation_or_weights() {
    // Change every test-split value: the scaler, the per-window statistics, the choice and the
    // trained weights must all stay bit-identical (they may only see training and validation rows).
    let ts = bundled("economics.csv", &["pce"], &["pce"]);
    let mut cfg = tiny(Normalize::Auto, Strategy::Direct, 2);
    cfg.training.epochs = 2;
    let a = cfg.fit(&ts, &mut |_| {}).unwrap();
    let mut other = ts.clone();
    let test_start = cfg.split.ranges(ts.len()).test.start;
    for v in &mut other.columns[0][test_start..] {
        *v = (*v * 3.7).sqrt() + 1e4 * (*v).sin().abs();
    }
    let b = cfg.fit(&other, &mut |_| {}).unwrap();
    assert_eq!(a.scaler, b.scaler);
    assert_eq!(a.norm, b.norm);
    assert_eq!(a.ets, b.ets);
    assert_eq!(a.selection, b.selection);
    assert_eq!(a.network.params(), b.network.params());
    // Only the sign of a test value can matter, and only to `--transform auto`: the log of every
    // row must exist for the log candidate to be tried (a property of the variable, checked on
    // every row as column types are). With the values as they are, nothing changes at all.
    let mut neg = ts.clone();
    for v in &mut neg.columns[0][test_start..] {
        *v = -*v;
    }
    cfg.transform = lstmcast::Transform::None;
    let (a, c) = (
        cfg.fit(&ts, &mut |_| {}).unwrap(),
        cfg.fit(&neg, &mut |_| {}).unwrap(),
    );
    assert_eq!(a.selection, c.selection);
    assert_eq!(a.network.params(), c.network.params());
}
