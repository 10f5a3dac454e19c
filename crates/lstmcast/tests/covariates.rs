//! Covariates: the head's per-step inputs (`dense/step_kernel`) by finite differences, a driver
//! that helps only when it is declared future-known, future rows in the data file and future
//! files, static values from a file keyed by series id, and calendar features generated from
//! the timestamps.

use lstmcast::covariates::{Calendar, CalendarFeature, Covariates, StaticTable};
use lstmcast::data::{load_future, load_with_future, parse_csv, Role};
use lstmcast::engine::{rng_for, Network, NetworkSpec, Workspace};
use lstmcast::{
    ForecasterConfig, LoadOptions, Normalize, Panel, Timestamp, TrainedForecaster, Transform,
};
use std::path::{Path, PathBuf};

/// A deterministic pseudo-random stream (the LCG of tests/panel.rs), uniform in [0, 1).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `n` rows of `y = level + 5·promo + noise`: `promo` a fair 0/1 coin per row, independent of
/// the past, the noise uniform in ±0.25. Returns `(y, promo)`.
fn promo_series(seed: u64, level: f64, n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut r = Lcg(seed);
    (0..n)
        .map(|_| {
            let promo = if r.next() < 0.5 { 1.0 } else { 0.0 };
            let noise = 0.5 * (r.next() - 0.5);
            (level + 5.0 * promo + noise, promo)
        })
        .unzip()
}

/// A small, fast configuration: one layer of 8 units, global normalisation (the known columns
/// reach the head as scaled), no transform, no calendar, no intervals, few epochs.
fn fast(lookback: usize, horizon: usize, epochs: usize) -> ForecasterConfig {
    let mut c = ForecasterConfig {
        lookback,
        horizon,
        normalize: Normalize::Global,
        transform: Transform::None,
        calendar: Calendar::None,
        intervals: Vec::new(),
        ..Default::default()
    };
    c.model.layers = vec![8];
    c.training.epochs = epochs;
    c.training.patience = 3;
    c.training.learning_rate = 1e-2;
    c
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn err_of<T: std::fmt::Debug>(r: lstmcast::Result<T>) -> String {
    r.unwrap_err().to_string()
}

// ---------------------------------------------------------------------------------------------
// 1. The head's per-step inputs.
// ---------------------------------------------------------------------------------------------

/// 2 LSTM inputs, 4 units, 4 outputs = 2 steps × 2 per step, 3 step inputs.
fn head_spec() -> NetworkSpec {
    NetworkSpec {
        n_inputs: 2,
        layers: vec![4],
        n_outputs: 4,
        dropout: 0.0,
        recurrent_dropout: 0.0,
        step_inputs: 3,
        steps: 2,
    }
}

/// `x [steps, batch, inputs]`, `xf [batch, output steps, step inputs]` and `y [batch, outputs]`
/// from the LCG (uniform in ±1, targets in ±0.5).
fn head_data(spec: &NetworkSpec, b: usize, t: usize, seed: u64) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let mut r = Lcg(seed);
    let mut draw = |n: usize, scale: f64| -> Vec<f32> {
        (0..n)
            .map(|_| (scale * (2.0 * r.next() - 1.0)) as f32)
            .collect()
    };
    let x = draw(t * b * spec.n_inputs, 1.0);
    let xf = draw(b * spec.steps * spec.step_inputs, 1.0);
    let y = draw(b * spec.n_outputs, 0.5);
    (x, xf, y)
}

fn head_loss(
    net: &Network,
    ws: &mut Workspace,
    d: &(Vec<f32>, Vec<f32>, Vec<f32>),
    b: usize,
    t: usize,
) -> f64 {
    let mut r = rng_for(99, 3);
    net.forward_with(ws, &d.0, &d.1, b, t, Some(&mut r));
    net.backward(ws, &d.0, &d.2) as f64
}

#[test]
fn step_kernel_gradient_matches_central_differences() {
    let spec = head_spec();
    let (b, t) = (3, 5);
    let mut net = Network::new(spec.clone(), &mut rng_for(5, 1)).unwrap();
    // Shift every 7th parameter so that the biases (zero at init) are exercised too.
    for (k, p) in net.params_mut().iter_mut().enumerate() {
        if k % 7 == 0 {
            *p += 0.05;
        }
    }
    let step = net
        .layout()
        .iter()
        .find(|p| p.name == "dense/step_kernel")
        .cloned()
        .expect("a spec with step inputs has dense/step_kernel");
    assert_eq!(step.shape, vec![3, 2], "[step_inputs, outputs per step]");
    // The step kernel comes last in the flat vector.
    assert_eq!(step.offset + step.len(), net.n_params());
    let data = head_data(&spec, b, t, 7);
    let mut ws = Workspace::new(&net);
    head_loss(&net, &mut ws, &data, b, t);
    let analytic = ws.grad().to_vec();
    // Every parameter (the network is small: 138 of them, 6 in the step kernel): central
    // differences in f32 with step 1e-2 as tests/engine_checks.rs does (truncation O(h^2)·|f'''|
    // and rounding ~1e-7/h both below 2e-4 here), atol 3e-4 + 2 % relative.
    let h = 1e-2f32;
    let mut worst = 0f64;
    let mut checked = 0;
    for (k, &a) in analytic.iter().enumerate() {
        let in_step = step.offset <= k;
        let orig = net.params()[k];
        net.params_mut()[k] = orig + h;
        let up = head_loss(&net, &mut ws, &data, b, t);
        net.params_mut()[k] = orig - h;
        let down = head_loss(&net, &mut ws, &data, b, t);
        net.params_mut()[k] = orig;
        let numeric = (up - down) / (2.0 * h as f64);
        let err = (numeric - a as f64).abs();
        worst = worst.max(err);
        checked += 1;
        assert!(
            err <= 3e-4 + 0.02 * numeric.abs(),
            "param {k} (step kernel: {in_step}): analytic {a} numeric {numeric}"
        );
    }
    let g_step = &analytic[step.offset..step.offset + step.len()];
    assert!(
        g_step.iter().all(|g| g.abs() > 1e-4),
        "every step-kernel gradient should be exercised: {g_step:?}"
    );
    assert_eq!(checked, 138);
    eprintln!("checked {checked} parameters, worst abs error {worst:e}");
}

#[test]
fn step_inputs_move_the_outputs_linearly_and_zero_output_layer_clears_them() {
    let spec = head_spec();
    let (b, t) = (2, 4);
    let mut net = Network::new(spec.clone(), &mut rng_for(11, 1)).unwrap();
    let (x, xf, _) = head_data(&spec, b, t, 3);
    let mut ws = Workspace::new(&net);
    let base = net.predict_with(&mut ws, &x, &xf, b, t).to_vec();
    // Change the step inputs only: the LSTM part is the same, so each output moves by exactly
    // Σ_e Δxf[batch, step, e] · step_kernel[e, p] (output index step·per_step + p).
    let xf2: Vec<f32> = xf
        .iter()
        .enumerate()
        .map(|(i, v)| v + 0.3 * (i as f32 * 0.9).cos())
        .collect();
    let moved = net.predict_with(&mut ws, &x, &xf2, b, t).to_vec();
    let kern = net.param("dense/step_kernel").unwrap().to_vec();
    let (e, p, steps, o) = (
        spec.step_inputs,
        spec.per_step(),
        spec.steps,
        spec.n_outputs,
    );
    let mut max_move = 0f32;
    for j in 0..b {
        for k in 0..steps {
            for q in 0..p {
                let expected: f32 = (0..e)
                    .map(|i| {
                        let at = (j * steps + k) * e + i;
                        (xf2[at] - xf[at]) * kern[i * p + q]
                    })
                    .sum();
                let got = moved[j * o + k * p + q] - base[j * o + k * p + q];
                max_move = max_move.max(got.abs());
                assert!(
                    (got - expected).abs() <= 1e-5 + 1e-4 * expected.abs(),
                    "batch {j} step {k} output {q}: moved {got}, expected {expected}"
                );
            }
        }
    }
    assert!(max_move > 1e-3, "the step inputs should change the outputs");
    // Step k reads xf[k] only: changing step 1's inputs leaves step 0's outputs alone.
    let mut xf3 = xf.clone();
    for j in 0..b {
        for i in 0..e {
            xf3[(j * steps + 1) * e + i] += 1.0;
        }
    }
    let third = net.predict_with(&mut ws, &x, &xf3, b, t).to_vec();
    for j in 0..b {
        assert_eq!(&third[j * o..j * o + p], &base[j * o..j * o + p]);
        assert_ne!(
            &third[j * o + p..j * o + 2 * p],
            &base[j * o + p..j * o + 2 * p]
        );
    }
    // zero_output_layer clears the dense kernel, its bias and the step kernel: output 0 for any
    // inputs.
    net.zero_output_layer();
    for name in ["dense/kernel", "dense/bias", "dense/step_kernel"] {
        assert!(net.param(name).unwrap().iter().all(|&v| v == 0.0), "{name}");
    }
    assert!(net
        .param("lstm_0/kernel")
        .unwrap()
        .iter()
        .any(|&v| v != 0.0));
    let out = net.predict_with(&mut ws, &x, &xf2, b, t);
    assert!(out.iter().all(|&v| v == 0.0), "{out:?}");
}

// ---------------------------------------------------------------------------------------------
// 2. Show it: a driver helps only when its future values are known.
// ---------------------------------------------------------------------------------------------

fn promo_csv(n: usize) -> String {
    let (y, promo) = promo_series(2024, 20.0, n);
    let mut s = String::from("t,y,promo\n");
    for (t, (v, p)) in y.iter().zip(&promo).enumerate() {
        s.push_str(&format!("{t},{v},{p}\n"));
    }
    s
}

#[test]
fn a_future_known_driver_cuts_test_mase_by_3x_and_only_when_future_known() {
    // y_t = 20 + 5·promo_t + noise(±0.25), promo an independent coin flip per row. Rows are
    // numbered, so the season is 1 and the MASE scale is the training rows' naive MAE,
    // E|y_t − y_{t−1}| ≈ 5·P(promo changes) = 2.5. Known at step t, promo explains y_t up to
    // the noise: MAE ≈ 0.125, MASE ≈ 0.05 at best. Unknown (dropped, or only its past seen),
    // the best forecast is 22.5 with MAE 2.5: MASE ≈ 1. This fit gives 0.059, 0.94 and 0.94;
    // 3× is a wide margin.
    let text = promo_csv(600);
    let load =
        |opts: LoadOptions| parse_csv(Path::new("promo.csv"), text.as_bytes(), &opts).unwrap();
    let target = vec!["y".to_string()];
    let future = load(LoadOptions {
        target: target.clone(),
        future_known: vec!["promo".into()],
        ..Default::default()
    });
    assert_eq!(future.roles, vec![Role::Target, Role::Future]);
    let dropped = load(LoadOptions {
        ignore: vec!["promo".into()],
        ..Default::default()
    });
    assert_eq!(dropped.names, vec!["y"]);
    let past = load(LoadOptions {
        target,
        past: vec!["promo".into()],
        ..Default::default()
    });
    assert_eq!(past.roles, vec![Role::Target, Role::Past]);
    let c = fast(12, 3, 20);
    let mase = |p: &Panel| {
        let m = c.fit(p, &mut |_| {}).unwrap();
        assert_eq!(m.network.spec().step_inputs, p.n_known());
        m.evaluate(p).unwrap().overall["y"].model.mase.unwrap()
    };
    let (with, without, past_only) = (mase(&future), mase(&dropped), mase(&past));
    eprintln!("test MASE: future-known {with:.4}, dropped {without:.4}, past-only {past_only:.4}");
    assert!(
        3.0 * with <= without,
        "future-known {with} should be at least 3× better than without the driver {without}"
    );
    assert!(
        3.0 * past_only > without,
        "past-only {past_only} should not reach 3× better than without {without}: promo's past says nothing about its future"
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Loading: roles, future rows.
// ---------------------------------------------------------------------------------------------

/// Two series a, b of 6 rows each (t = 0..5), then future rows with an empty target: a at
/// t = 6, 7 (lines 8, 9), b at t = 6 (line 16). `size` is constant within each series.
fn roles_csv(a7_promo: &str) -> String {
    let mut s = String::from("id,t,y,promo,size\n");
    for t in 0..6 {
        s.push_str(&format!("a,{t},{},{},3\n", 10 + t, t % 2));
    }
    s.push_str("a,6,,1,3\n");
    s.push_str(&format!("a,7,,{a7_promo},3\n"));
    for t in 0..6 {
        s.push_str(&format!("b,{t},{},{},7\n", 20 + t, (t + 1) % 2));
    }
    s.push_str("b,6,,0,7\n");
    s
}

#[test]
fn loader_splits_off_future_rows_and_checks_roles() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "roles.csv", &roles_csv("0"));
    let opts = LoadOptions {
        id_col: Some("id".into()),
        target: vec!["y".into()],
        future_known: vec!["promo".into()],
        ..Default::default()
    };
    let (hist, fut) = load_with_future(&path, &opts).unwrap();
    // History: the 6 rows with a target per series; columns by role: target, past, future.
    assert_eq!(hist.ids, vec!["a", "b"]);
    assert_eq!(hist.offsets, vec![0, 6, 12]);
    assert_eq!(hist.names, vec!["y", "size", "promo"]);
    assert_eq!(hist.roles, vec![Role::Target, Role::Past, Role::Future]);
    assert_eq!(
        hist.series_column(0, 0),
        &[10.0, 11.0, 12.0, 13.0, 14.0, 15.0]
    );
    assert_eq!(
        *hist.series_timestamps(1).last().unwrap(),
        Timestamp::Index(5)
    );
    // Future: the rows without a target, future-known columns only.
    let fut = fut.expect("future rows");
    assert_eq!(fut.ids, vec!["a", "b"]);
    assert_eq!(fut.offsets, vec![0, 2, 3]);
    assert_eq!(fut.names, vec!["promo"]);
    assert_eq!(fut.roles, vec![Role::Future]);
    assert_eq!(
        fut.timestamps,
        vec![
            Timestamp::Index(6),
            Timestamp::Index(7),
            Timestamp::Index(6)
        ]
    );
    assert_eq!(fut.columns[0], vec![1.0, 0.0, 0.0]);
    // `load` (and the CSV parser) give the same history.
    assert_eq!(lstmcast::load(&path, &opts).unwrap(), hist);
    // `size` is constant within each series but not declared static: listed.
    assert_eq!(hist.undeclared_constants(), vec!["size"]);

    // A future row without its future-known value: an error naming the line and the column.
    let bad = write(dir.path(), "bad.csv", &roles_csv(""));
    let e = err_of(load_with_future(&bad, &opts));
    assert!(
        e.contains(":9, column 'promo'") && e.contains("series 'a'") && e.contains("future row"),
        "{e}"
    );

    // One column, two roles.
    for (what, o) in [
        (
            "future-known and static",
            LoadOptions {
                statics: vec!["promo".into()],
                ..opts.clone()
            },
        ),
        (
            "target and future-known",
            LoadOptions {
                future_known: vec!["y".into()],
                ..opts.clone()
            },
        ),
        (
            "past and future-known",
            LoadOptions {
                past: vec!["promo".into()],
                ..opts.clone()
            },
        ),
    ] {
        let e = err_of(load_with_future(&path, &o));
        assert!(e.contains("two roles") && e.contains(what), "{what}: {e}");
    }

    // A static column that varies within a series: named, with the series (a file without
    // future rows, which only future-known columns make).
    let history_only: String = roles_csv("0")
        .lines()
        .filter(|l| !l.contains(",,"))
        .map(|l| format!("{l}\n"))
        .collect();
    let plain = write(dir.path(), "plain.csv", &history_only);
    let e = err_of(load_with_future(
        &plain,
        &LoadOptions {
            future_known: Vec::new(),
            statics: vec!["promo".into()],
            ..opts.clone()
        },
    ));
    assert!(
        e.contains("'promo'") && e.contains("static") && e.contains("series 'a'"),
        "{e}"
    );

    // Declared static, `size` is in its role's place and no longer listed.
    let (p, _) = load_with_future(
        &path,
        &LoadOptions {
            statics: vec!["size".into()],
            ..opts.clone()
        },
    )
    .unwrap();
    assert_eq!(p.names, vec!["y", "promo", "size"]);
    assert_eq!(p.roles, vec![Role::Target, Role::Future, Role::Static]);
    assert_eq!(p.n_known(), 2);
    assert!(p.undeclared_constants().is_empty());

    // Without future-known columns there are no future rows: the empty targets are missing
    // values (an error without --fill).
    let e = err_of(load_with_future(
        &path,
        &LoadOptions {
            future_known: Vec::new(),
            ..opts.clone()
        },
    ));
    assert!(e.contains(":8, column 'y'") && e.contains("missing"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// 4. Forecasting with the future.
// ---------------------------------------------------------------------------------------------

/// Two series of 60 rows (t = 0..59) and 3 future rows each (t = 60..62, empty y); the future
/// promo of a is 1, 0, 1 and of b is 0, 1, 1.
fn future_csv() -> String {
    let mut s = String::from("id,t,y,promo\n");
    for (id, seed, level, fut) in [("a", 1u64, 10.0, [1, 0, 1]), ("b", 2, 30.0, [0, 1, 1])] {
        let (y, promo) = promo_series(seed, level, 60);
        for t in 0..60 {
            s.push_str(&format!("{id},{t},{},{}\n", y[t], promo[t]));
        }
        for (k, p) in fut.iter().enumerate() {
            s.push_str(&format!("{id},{},,{p}\n", 60 + k));
        }
    }
    s
}

#[test]
fn forecast_reads_future_rows_and_names_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "data.csv", &future_csv());
    let opts = LoadOptions {
        id_col: Some("id".into()),
        target: vec!["y".into()],
        future_known: vec!["promo".into()],
        ..Default::default()
    };
    let (hist, fut) = load_with_future(&path, &opts).unwrap();
    let fut = fut.unwrap();
    assert_eq!(fut.len(), 6);
    // 60 rows per series give about 64 training windows: batches of 8 make 8 updates an epoch.
    let mut c = fast(8, 3, 60);
    c.training.batch_size = 8;
    c.training.patience = 10;
    let m = c.fit(&hist, &mut |_| {}).unwrap();
    assert_eq!(m.roles, vec![Role::Target, Role::Future]);
    let f = m.forecast_with(&hist, Some(&fut), None).unwrap();
    assert_eq!(f.series.len(), 2);
    for s in &f.series {
        assert_eq!(
            s.timestamps,
            vec![
                Timestamp::Index(60),
                Timestamp::Index(61),
                Timestamp::Index(62)
            ]
        );
        assert!(s.values.iter().flatten().all(|v| v.is_finite()));
    }

    // The same values from a future file give the same forecast.
    let file = write(
        dir.path(),
        "future.csv",
        "id,t,promo\nb,60,0\na,60,1\na,61,0\nb,61,1\na,62,1\nb,62,1\n",
    );
    let from_file = load_future(&file, &opts).unwrap();
    assert_eq!(from_file.columns, fut.columns);
    assert_eq!(
        m.forecast_with(&hist, Some(&from_file), None)
            .unwrap()
            .series,
        f.series
    );

    // Other future values, another forecast. Promo raises y by 5 (in both series): a model
    // that learned it forecasts every step with promo 1 about 5 above the same step with promo
    // 0 (this fit gives 4.9 to 5.1); ±1.5 leaves room for an imperfect fit.
    let with_promo = |v: f64| {
        let mut p = fut.clone();
        p.columns[0] = vec![v; p.len()];
        m.forecast_with(&hist, Some(&p), None).unwrap()
    };
    let (on, off) = (with_promo(1.0), with_promo(0.0));
    assert_ne!(on.series, f.series);
    for (a, b) in on.series.iter().zip(&off.series) {
        for (h, (x, y)) in a.values.iter().zip(&b.values).enumerate() {
            eprintln!(
                "series {} step {}: promo 1 {:.3}, promo 0 {:.3}",
                a.id,
                h + 1,
                x[0],
                y[0]
            );
            assert!(
                (x[0] - y[0] - 5.0).abs() < 1.5,
                "series {} step {}: promo 1 gives {} and promo 0 gives {}",
                a.id,
                h + 1,
                x[0],
                y[0]
            );
        }
    }

    // No future values: the error says how to give them.
    let e = err_of(m.forecast_with(&hist, None, None));
    assert!(e.contains("--future") && e.contains("promo"), "{e}");
    let e = err_of(m.forecast(&hist, None));
    assert!(e.contains("--future"), "{e}");

    // A timestamp missing for one series: named, with the series.
    let gap = write(
        dir.path(),
        "gap.csv",
        "id,t,promo\na,60,1\na,61,0\na,62,1\nb,60,0\nb,62,1\n",
    );
    let e = err_of(m.forecast_with(&hist, Some(&load_future(&gap, &opts).unwrap()), None));
    assert!(e.contains("series 'b'") && e.contains(": 61"), "{e}");
    // A series the history lacks: named.
    let extra = write(
        dir.path(),
        "extra.csv",
        "id,t,promo\na,60,1\na,61,0\na,62,1\nb,60,0\nb,61,1\nb,62,1\nc,60,1\n",
    );
    let e = err_of(m.forecast_with(&hist, Some(&load_future(&extra, &opts).unwrap()), None));
    assert!(e.contains("series 'c'"), "{e}");
    // A future file without the future-known column.
    let other = write(dir.path(), "other.csv", "id,t,price\na,60,1\n");
    let e = err_of(load_future(&other, &opts));
    assert!(e.contains("promo"), "{e}");

    // Saved and loaded, the model forecasts bit for bit the same.
    let run = dir.path().join("run");
    m.save(&run, false).unwrap();
    let back = TrainedForecaster::load(&run).unwrap();
    assert_eq!(back.roles, m.roles);
    assert_eq!(back.network.params(), m.network.params());
    assert_eq!(back.forecast_with(&hist, Some(&fut), None).unwrap(), f);
    assert_eq!(
        back.evaluate(&hist).unwrap().rows,
        m.evaluate(&hist).unwrap().rows
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Static-data files.
// ---------------------------------------------------------------------------------------------

/// One series per id, `n` rows each (numbered): level 10·(k + 1) for the k-th id, a shared
/// cycle of period 6 and a small deterministic wobble.
fn three_series(ids: &[&str], n: usize) -> Panel {
    let series = ids
        .iter()
        .enumerate()
        .map(|(k, id)| {
            let y = (0..n)
                .map(|t| {
                    10.0 * (k + 1) as f64
                        + 2.0 * (t as f64 * std::f64::consts::PI / 3.0).sin()
                        + 0.1 * ((t * (k + 3)) % 5) as f64
                })
                .collect();
            (id.to_string(), vec![y])
        })
        .collect();
    Panel::from_series(vec!["y".into()], 1, series).unwrap()
}

#[test]
fn static_data_file_joins_numeric_and_one_hot_columns() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "stores.csv",
        "store,size,region\nb,20,south\na,10,north\nc,30.5,north\n",
    );
    let table = StaticTable::load(&path, None).unwrap();
    assert_eq!(table.columns.len(), 2);
    assert_eq!(table.columns[0].categories, None);
    assert_eq!(
        table.columns[1].categories,
        Some(vec!["north".to_string(), "south".to_string()])
    );
    let panel = three_series(&["a", "b", "c"], 40);
    let joined = table.join(&panel, None).unwrap();
    assert_eq!(
        joined.names,
        vec!["y", "size", "region=north", "region=south"]
    );
    assert_eq!(
        joined.roles,
        vec![Role::Target, Role::Static, Role::Static, Role::Static]
    );
    // Per series (a, b, c): size, north, south, repeated on every row.
    for (s, want) in [[10.0, 1.0, 0.0], [20.0, 0.0, 1.0], [30.5, 1.0, 0.0]]
        .iter()
        .enumerate()
    {
        for (c, &v) in want.iter().enumerate() {
            assert!(
                joined.series_column(s, c + 1).iter().all(|&x| x == v),
                "series {} column {}",
                joined.ids[s],
                joined.names[c + 1]
            );
        }
    }
    assert!(joined.check_statics().is_ok());
    assert_eq!(joined.series_column(1, 0), panel.series_column(1, 0));

    // A series the file does not list: named.
    let short = write(dir.path(), "short.csv", "store,size\na,1\nb,2\n");
    let e = err_of(StaticTable::load(&short, None).unwrap().join(&panel, None));
    assert!(e.contains("series 'c'"), "{e}");
    // A series listed twice: the line named (header = line 1, so the second 'a' is line 4).
    let twice = write(dir.path(), "twice.csv", "store,size\na,1\nb,2\na,3\n");
    let e = err_of(StaticTable::load(&twice, None));
    assert!(
        e.contains("twice.csv:4") && e.contains("'a'") && e.contains("line 2"),
        "{e}"
    );

    // A model trained with the statics records them: forecasting a panel without the static
    // columns completes them from the record and gives the same forecast; a series it never
    // saw cannot be completed.
    let m = fast(6, 2, 2).fit(&joined, &mut |_| {}).unwrap();
    assert_eq!(m.network.spec().step_inputs, 3);
    assert_eq!(m.covariates.static_values.len(), 3);
    assert_eq!(m.covariates.static_values["b"], vec![20.0, 0.0, 1.0]);
    let with = m.forecast(&joined, None).unwrap();
    let without = m.forecast(&panel, None).unwrap();
    assert_eq!(with.series, without.series);
    let e = err_of(m.forecast(&three_series(&["a", "d"], 40), None));
    assert!(
        e.contains("series 'd'") && e.contains("--static-data"),
        "{e}"
    );
    // The file's columns, recovered from the model's names and roles.
    assert_eq!(
        Covariates::file_columns(&m.names, &m.roles, &[]),
        table.columns
    );
}

// ---------------------------------------------------------------------------------------------
// 6. Calendar features.
// ---------------------------------------------------------------------------------------------

/// `n` daily rows from 2021-03-01 (a Monday): y = 10, plus 4 on Saturdays and Sundays, plus
/// noise (±0.25).
fn daily_csv(n: usize) -> String {
    let start = chrono::NaiveDate::from_ymd_opt(2021, 3, 1).unwrap();
    let mut r = Lcg(77);
    let mut s = String::from("date,y\n");
    for i in 0..n {
        let d = start + chrono::Duration::days(i as i64);
        let weekend = if i % 7 >= 5 { 4.0 } else { 0.0 };
        s.push_str(&format!(
            "{d},{}\n",
            10.0 + weekend + 0.5 * (r.next() - 0.5)
        ));
    }
    s
}

#[test]
fn weekday_features_match_the_calendar_and_are_generated_at_forecast_time() {
    let text = daily_csv(280);
    let panel = parse_csv(
        Path::new("daily.csv"),
        text.as_bytes(),
        &LoadOptions::default(),
    )
    .unwrap();
    let cal = Covariates::with_calendar(&panel, &[CalendarFeature::Weekday]);
    assert_eq!(cal.names, vec!["y", "cal_weekday_sin", "cal_weekday_cos"]);
    assert_eq!(
        cal.roles,
        vec![Role::Target, Role::Calendar, Role::Calendar]
    );
    // Row i is i days after a Monday: weekday i mod 7 (Monday 0), a turn of 2π·weekday/7.
    for i in 0..14 {
        let a = std::f64::consts::TAU * (i % 7) as f64 / 7.0;
        assert!((cal.columns[1][i] - a.sin()).abs() < 1e-12, "row {i}");
        assert!((cal.columns[2][i] - a.cos()).abs() < 1e-12, "row {i}");
    }
    assert_eq!((cal.columns[1][0], cal.columns[2][0]), (0.0, 1.0));
    // Adding them twice is a no-op.
    assert_eq!(
        Covariates::with_calendar(&cal, &[CalendarFeature::Weekday]),
        cal
    );
    // An explicit list on integer-indexed data is refused.
    let rows = three_series(&["a"], 30);
    let mut c = fast(5, 2, 1);
    c.calendar = "weekday".parse::<Calendar>().unwrap();
    let e = err_of(c.fit(&rows, &mut |_| {}));
    assert!(e.contains("calendar"), "{e}");

    // Trained with the weekday features on dated data (lookback 5 < 7: the window alone cannot
    // always tell the weekday), the model records them and forecasts without any future file.
    let mut c = fast(5, 2, 30);
    c.calendar = "weekday".parse::<Calendar>().unwrap();
    c.training.patience = 5;
    let m = c.fit(&panel, &mut |_| {}).unwrap();
    assert_eq!(m.covariates.calendar, vec![CalendarFeature::Weekday]);
    assert_eq!(m.names, cal.names);
    assert_eq!(m.network.spec().step_inputs, 2);
    let f = m.forecast(&panel, None).unwrap();
    // The last row is 2021-03-01 + 279 days = 2021-12-05 (a Sunday: 279 = 7·39 + 6).
    let times: Vec<String> = f.series[0]
        .timestamps
        .iter()
        .map(|t| t.to_string())
        .collect();
    assert_eq!(times, ["2021-12-06", "2021-12-07"]);
    // The panel with the calendar columns already in it gives the same forecast.
    assert_eq!(m.forecast(&cal, None).unwrap(), f);
    // Beyond the trained horizon every input is a target or generated: the model rolls. A week
    // from Monday 2021-12-06: the weekend (steps 6, 7) is 4 higher by construction; require the
    // forecast to see at least half of that.
    let week = m.forecast(&panel, Some(7)).unwrap();
    let v: Vec<f64> = week.series[0].values.iter().map(|r| r[0]).collect();
    eprintln!("weekday forecast Mon..Sun: {v:.2?}");
    assert!(v.iter().all(|x| x.is_finite()));
    let weekdays = v[..5].iter().sum::<f64>() / 5.0;
    let weekend = (v[5] + v[6]) / 2.0;
    assert!(
        weekend - weekdays > 2.0,
        "weekend {weekend} vs weekdays {weekdays}: {v:?}"
    );
    // Saved and loaded, the calendar is regenerated the same way.
    let dir = tempfile::tempdir().unwrap();
    m.save(&dir.path().join("run"), false).unwrap();
    let back = TrainedForecaster::load(&dir.path().join("run")).unwrap();
    assert_eq!(back.covariates, m.covariates);
    assert_eq!(back.forecast(&panel, Some(7)).unwrap(), week);
}

// ---------------------------------------------------------------------------------------------
// 7. A categorical static column of the data file, a recursive model fed each rolled step's
//    driver, and `--calendar auto` decided on validation.
// ---------------------------------------------------------------------------------------------

/// Three series, 80 numbered rows each: `region` is a text static (a, c north; b south) and y
/// sits at 10 in the north and 20 in the south, plus noise.
fn regions_csv(b_region_row5: &str) -> String {
    let mut r = Lcg(5);
    let mut s = String::from("id,t,y,region\n");
    for (id, region) in [("a", "north"), ("b", "south"), ("c", "north")] {
        for t in 0..80 {
            let level = if region == "north" { 10.0 } else { 20.0 };
            let reg = if id == "b" && t == 5 {
                b_region_row5
            } else {
                region
            };
            s.push_str(&format!("{id},{t},{},{reg}\n", level + r.next() - 0.5));
        }
    }
    s
}

#[test]
fn a_text_static_column_is_one_hot_and_forecasts_with_a_subset_of_its_categories() {
    let opts = LoadOptions {
        id_col: Some("id".into()),
        target: vec!["y".into()],
        statics: vec!["region".into()],
        ..Default::default()
    };
    let text = regions_csv("south");
    let p = parse_csv(Path::new("r.csv"), text.as_bytes(), &opts).unwrap();
    assert_eq!(p.names, vec!["y", "region=north", "region=south"]);
    assert_eq!(p.roles, vec![Role::Target, Role::Static, Role::Static]);
    assert_eq!(p.series_column(1, 1)[0], 0.0);
    assert_eq!(p.series_column(1, 2)[79], 1.0);
    assert_eq!(p.series_column(2, 1)[0], 1.0);
    // A category that changes within a series: the line (header 1, b's row 5 is line 87).
    let bad = regions_csv("north");
    let e = err_of(parse_csv(Path::new("r.csv"), bad.as_bytes(), &opts));
    assert!(
        e.contains("r.csv:87") && e.contains("series 'b'") && e.contains("differs"),
        "{e}"
    );
    let m = fast(6, 2, 8).fit(&p, &mut |_| {}).unwrap();
    // Series a alone has only the north category: the model fills region=south from what it
    // recorded for a, and forecasts a exactly as within the whole panel.
    let a_text: String = text
        .lines()
        .filter(|l| l.starts_with("id,") || l.starts_with("a,"))
        .map(|l| format!("{l}\n"))
        .collect();
    let a_panel = parse_csv(Path::new("a.csv"), a_text.as_bytes(), &opts).unwrap();
    assert_eq!(a_panel.names, vec!["y", "region=north"]);
    let whole = m.forecast(&p, None).unwrap();
    let alone = m.forecast(&a_panel, None).unwrap();
    assert_eq!(alone.series[0].values, whole.series[0].values);
}

#[test]
fn a_recursive_model_rolls_each_step_with_its_own_future_known_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "data.csv", &future_csv());
    let opts = LoadOptions {
        id_col: Some("id".into()),
        target: vec!["y".into()],
        future_known: vec!["promo".into()],
        ..Default::default()
    };
    let (hist, fut) = load_with_future(&path, &opts).unwrap();
    let fut = fut.unwrap();
    let mut c = fast(8, 3, 60);
    c.strategy = lstmcast::Strategy::Recursive;
    c.training.batch_size = 8;
    c.training.patience = 10;
    let m = c.fit(&hist, &mut |_| {}).unwrap();
    // A one-step network whose head sees the step's promo.
    assert_eq!(m.network.spec().step_inputs, 1);
    assert_eq!(m.network.spec().n_outputs, 1);
    let base = m.forecast_with(&hist, Some(&fut), None).unwrap();
    // Flip promo at the last step only: the first two rolled steps are unchanged (they never
    // see it), the third moves by about the promo effect of 5 (the fit gives 4.8–5.1).
    let mut flipped = fut.clone();
    for s in 0..flipped.n_series() {
        let last = flipped.rows(s).end - 1;
        flipped.columns[0][last] = 1.0 - flipped.columns[0][last];
    }
    let moved = m.forecast_with(&hist, Some(&flipped), None).unwrap();
    for (b, f) in base.series.iter().zip(&moved.series) {
        assert_eq!(b.values[..2], f.values[..2]);
        let d = (b.values[2][0] - f.values[2][0]).abs();
        assert!((3.5..6.5).contains(&d), "step 3 moved by {d}");
    }
}

#[test]
fn calendar_auto_lets_validation_choose_with_or_without_the_features() {
    let text = daily_csv(280);
    let panel = parse_csv(
        Path::new("daily.csv"),
        text.as_bytes(),
        &LoadOptions::default(),
    )
    .unwrap();
    let mut c = fast(5, 2, 8);
    c.calendar = Calendar::Auto;
    c.normalize = Normalize::Window;
    let m = c.fit(&panel, &mut |_| {}).unwrap();
    let sel = m.selection.as_ref().unwrap();
    // Lookback 5 < the 7-day week and 196 training rows cover it twice: weekday is tried (day
    // of year is not: under two years). One window candidate without, one with.
    let cals: Vec<Vec<CalendarFeature>> =
        sel.candidates.iter().map(|c| c.calendar.clone()).collect();
    assert_eq!(cals, vec![vec![], vec![CalendarFeature::Weekday]]);
    assert_eq!(sel.chosen_calendar, m.covariates.calendar);
    let best = sel
        .candidates
        .iter()
        .min_by(|a, b| a.val_mase.partial_cmp(&b.val_mase).unwrap())
        .unwrap();
    assert_eq!(best.calendar, sel.chosen_calendar);
    // The model's columns follow the choice.
    let has = m.names.iter().any(|n| n.starts_with("cal_weekday"));
    assert_eq!(has, !sel.chosen_calendar.is_empty());
    eprintln!(
        "calendar auto on a weekly pattern: {:?}",
        sel.candidates
            .iter()
            .map(|c| (c.calendar.clone(), c.val_mase))
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_new_series_with_some_categories_of_a_text_static_forecasts() {
    let opts = LoadOptions {
        id_col: Some("id".into()),
        target: vec!["y".into()],
        statics: vec!["region".into()],
        ..Default::default()
    };
    let text = regions_csv("south");
    let p = parse_csv(Path::new("r.csv"), text.as_bytes(), &opts).unwrap();
    let mut c = fast(6, 2, 8);
    c.scaler_scope = lstmcast::ScalerScope::Global;
    let m = c.fit(&p, &mut |_| {}).unwrap();
    // Series d is new and north: its file has no region=south column, which can only be 0.
    let d_text: String = text
        .lines()
        .filter(|l| l.starts_with("id,") || l.starts_with("a,"))
        .map(|l| format!("{}\n", l.replacen("a,", "d,", 1)))
        .collect();
    let d = parse_csv(Path::new("d.csv"), d_text.as_bytes(), &opts).unwrap();
    assert_eq!(d.names, vec!["y", "region=north"]);
    let fd = m.forecast(&d, None).unwrap();
    // The same values as series a (same rows, same category, one global scaler).
    let fa = m.forecast(&p, None).unwrap();
    assert_eq!(fd.series[0].values, fa.series[0].values);
}

#[test]
fn tune_pins_calendar_auto_to_what_it_resolved() {
    let text = daily_csv(280);
    let panel = parse_csv(
        Path::new("daily.csv"),
        text.as_bytes(),
        &LoadOptions::default(),
    )
    .unwrap();
    let mut base = fast(5, 2, 4);
    base.calendar = Calendar::Auto;
    let space = lstmcast::tune::TuneSpace {
        trials: 4,
        lookback: vec![5],
        layers: vec![vec![4]],
        dropout: vec![0.0],
        learning_rate: vec![1e-2],
        batch_size: vec![32],
        normalize: vec![Normalize::Window],
        min_epochs: 2,
        ..Default::default()
    };
    let r = lstmcast::tune::tune(&base, &space, &panel, 2, &|_| {}).unwrap();
    // Auto finds weekday here, so the space searches none against auto, and the best
    // configuration names what its trial trained with, never `auto` (which would let a retrain
    // choose again).
    assert_eq!(
        r.space.calendar,
        vec![Calendar::None, Calendar::Auto],
        "{:?}",
        r.space
    );
    assert_ne!(r.best_config.calendar, Calendar::Auto);
    let best = &r.trials[r.best].params.calendar;
    let want = if *best == Calendar::Auto {
        Calendar::List(vec![CalendarFeature::Weekday])
    } else {
        Calendar::None
    };
    assert_eq!(r.best_config.calendar, want);
}
