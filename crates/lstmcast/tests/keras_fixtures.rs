//! The engine against Keras 3.15.1 reference numbers (float64, TensorFlow backend), copied from
//! ../shared/fixtures into tests/fixtures (see tests/fixtures/README.md for how they were made
//! and why these tolerances: about 20× above what Keras' own float32 run reaches).

use lstmcast::engine::{Adam, AdamConfig, Network, NetworkSpec, Rng, Workspace};
use serde_json::Value;

const CASES: [&str; 4] = ["single", "multivariate", "stacked", "batch1"];

fn load(case: &str) -> Value {
    let path = format!("{}/tests/fixtures/{case}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn arr(v: &Value) -> (Vec<usize>, Vec<f64>) {
    let shape = v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let data = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_f64().unwrap())
        .collect();
    (shape, data)
}

fn close(what: &str, got: &[f32], want: &[f64], rtol: f64, atol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (k, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (g as f64 - w).abs();
        assert!(
            err <= atol + rtol * w.abs(),
            "{what}[{k}]: got {g}, want {w} (err {err:e})"
        );
    }
}

/// Builds the fixture's network with its initial weights.
fn network(f: &Value) -> Network {
    let cfg = &f["config"];
    let layers: Vec<&Value> = cfg["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["type"] == "lstm")
        .collect();
    let spec = NetworkSpec {
        n_inputs: cfg["n_features"].as_u64().unwrap() as usize,
        layers: layers
            .iter()
            .map(|l| l["units"].as_u64().unwrap() as usize)
            .collect(),
        n_outputs: cfg["n_outputs"].as_u64().unwrap() as usize,
        dropout: 0.0,
        recurrent_dropout: 0.0,
        step_inputs: 0,
        steps: 1,
    };
    let mut net = Network::zeros(spec).unwrap();
    for name in f["weight_order"].as_array().unwrap() {
        let name = name.as_str().unwrap();
        let (shape, data) = arr(&f["weights"][name]);
        let info = net
            .layout()
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("no tensor {name}"));
        assert_eq!(info.shape, shape, "{name}: Keras shape");
        let dst = net.param_mut(name).unwrap();
        for (d, s) in dst.iter_mut().zip(&data) {
            *d = *s as f32;
        }
    }
    net
}

/// x from `[batch, seq, features]` to the engine's time-major `[seq, batch, features]`.
fn time_major(f: &Value) -> (Vec<f32>, usize, usize) {
    let (s, x) = arr(&f["x"]);
    let (b, t, i) = (s[0], s[1], s[2]);
    let mut out = vec![0f32; b * t * i];
    for bb in 0..b {
        for tt in 0..t {
            for ii in 0..i {
                out[(tt * b + bb) * i + ii] = x[(bb * t + tt) * i + ii] as f32;
            }
        }
    }
    (out, b, t)
}

fn y(f: &Value) -> Vec<f32> {
    arr(&f["y"]).1.iter().map(|&v| v as f32).collect()
}

#[test]
fn forward_matches_keras_hidden_states_cells_predictions_and_loss() {
    for case in CASES {
        let f = load(case);
        let net = network(&f);
        let (x, b, t) = time_major(&f);
        let mut ws = Workspace::new(&net);
        net.forward::<Rng>(&mut ws, &x, b, t, None);
        for (l, out) in f["outputs"]["lstm"].as_array().unwrap().iter().enumerate() {
            let (shape, want) = arr(&out["hidden_sequence"]);
            let units = shape[2];
            let got_tm = ws.hidden_sequence(&net, l);
            let got: Vec<f32> = (0..b * t * units)
                .map(|k| {
                    let (bb, tt, u) = (k / (t * units), (k / units) % t, k % units);
                    got_tm[(tt * b + bb) * units + u]
                })
                .collect();
            close(
                &format!("{case} lstm_{l} hidden_sequence"),
                &got,
                &want,
                1e-4,
                1e-6,
            );
            close(
                &format!("{case} lstm_{l} final_cell"),
                ws.final_cell(&net, l),
                &arr(&out["final_cell"]).1,
                1e-4,
                1e-6,
            );
        }
        close(
            &format!("{case} prediction"),
            ws.output(),
            &arr(&f["outputs"]["prediction"]).1,
            1e-4,
            1e-6,
        );
        let loss = net.backward(&mut ws, &x, &y(&f));
        close(
            &format!("{case} loss"),
            &[loss],
            &[f["loss"].as_f64().unwrap()],
            1e-4,
            1e-7,
        );
    }
}

#[test]
fn bptt_gradients_match_keras() {
    for case in CASES {
        let f = load(case);
        let net = network(&f);
        let (x, b, t) = time_major(&f);
        let mut ws = Workspace::new(&net);
        net.forward::<Rng>(&mut ws, &x, b, t, None);
        net.backward(&mut ws, &x, &y(&f));
        for p in net.layout() {
            let got = &ws.grad()[p.offset..p.offset + p.len()];
            close(
                &format!("{case} d/d {}", p.name),
                got,
                &arr(&f["gradients"][&p.name]).1,
                1e-3,
                1e-6,
            );
        }
    }
}

fn adam_config(f: &Value) -> AdamConfig {
    let a = &f["adam"];
    AdamConfig {
        learning_rate: a["learning_rate"].as_f64().unwrap(),
        beta_1: a["beta_1"].as_f64().unwrap(),
        beta_2: a["beta_2"].as_f64().unwrap(),
        epsilon: a["epsilon"].as_f64().unwrap(),
    }
}

#[test]
fn adam_fed_reference_gradients_matches_keras_weights() {
    for case in CASES {
        let f = load(case);
        let mut net = network(&f);
        let mut adam = Adam::new(net.n_params(), adam_config(&f));
        for (k, step) in f["adam"]["steps"].as_array().unwrap().iter().enumerate() {
            let mut g = vec![0f32; net.n_params()];
            for p in net.layout() {
                for (d, s) in g[p.offset..p.offset + p.len()]
                    .iter_mut()
                    .zip(arr(&step["gradients"][&p.name]).1)
                {
                    *d = s as f32;
                }
            }
            let (w, _) = (net.params_mut(), ());
            adam.step(w, &g, 1.0);
            for p in net.layout() {
                let what = format!("{case} step {} {}", k + 1, p.name);
                close(
                    &what,
                    &net.params()[p.offset..p.offset + p.len()],
                    &arr(&step["weights_after"][&p.name]).1,
                    1e-4,
                    1e-5,
                );
                close(
                    &format!("{what} m"),
                    &adam.m[p.offset..p.offset + p.len()],
                    &arr(&step["m_after"][&p.name]).1,
                    1e-3,
                    1e-7,
                );
                close(
                    &format!("{what} v"),
                    &adam.v[p.offset..p.offset + p.len()],
                    &arr(&step["v_after"][&p.name]).1,
                    2e-3,
                    1e-12,
                );
            }
        }
    }
}

#[test]
fn three_training_steps_match_keras_losses_and_weights() {
    for case in CASES {
        let f = load(case);
        let mut net = network(&f);
        let (x, b, t) = time_major(&f);
        let yv = y(&f);
        let mut ws = Workspace::new(&net);
        let mut adam = Adam::new(net.n_params(), adam_config(&f));
        for (k, step) in f["adam"]["steps"].as_array().unwrap().iter().enumerate() {
            net.forward::<Rng>(&mut ws, &x, b, t, None);
            let loss = net.backward(&mut ws, &x, &yv);
            close(
                &format!("{case} loss before step {}", k + 1),
                &[loss],
                &[step["loss_before"].as_f64().unwrap()],
                1e-4,
                1e-7,
            );
            let grad = ws.grad().to_vec();
            adam.step(net.params_mut(), &grad, 1.0);
            if k == 0 || k == 2 {
                for p in net.layout() {
                    close(
                        &format!("{case} weights after step {} {}", k + 1, p.name),
                        &net.params()[p.offset..p.offset + p.len()],
                        &arr(&step["weights_after"][&p.name]).1,
                        1e-4,
                        1e-5,
                    );
                }
            }
        }
        net.forward::<Rng>(&mut ws, &x, b, t, None);
        let loss = net.backward(&mut ws, &x, &yv);
        close(
            &format!("{case} loss after last step"),
            &[loss],
            &[f["adam"]["loss_after_last_step"].as_f64().unwrap()],
            1e-4,
            1e-7,
        );
    }
}
