//! Engine checks beyond the Keras fixtures: finite differences (with dropout masks held fixed
//! by reseeding the mask generator), determinism, and a short training that must lower the loss.

use lstmcast::engine::{rng_for, Network, NetworkSpec, Workspace};
use lstmcast::train::{self, TrainOptions};
use lstmcast::{WindowIndex, Windows};

fn toy(spec: &NetworkSpec, batch: usize, steps: usize) -> (Vec<f32>, Vec<f32>) {
    let x = (0..steps * batch * spec.n_inputs)
        .map(|k| ((k as f32) * 0.731).sin())
        .collect();
    let y = (0..batch * spec.n_outputs)
        .map(|k| ((k as f32) * 1.37).cos() * 0.5)
        .collect();
    (x, y)
}

/// Loss with masks drawn from a freshly seeded generator, so every call sees the same masks.
fn loss_at(net: &Network, ws: &mut Workspace, x: &[f32], y: &[f32], b: usize, t: usize) -> f64 {
    let mut r = rng_for(99, 3);
    net.forward(ws, x, b, t, Some(&mut r));
    net.backward(ws, x, y) as f64
}

/// Compares `analytic` with central differences of `loss` over every parameter of `net`, in f32
/// with step 1e-2: truncation error O(h²)·|f'''| and rounding error ~1e-7/h both stay below
/// 2e-4 here; atol 3e-4 + 2 % relative. Returns the worst absolute error.
fn central_differences(
    net: &mut Network,
    ws: &mut Workspace,
    analytic: &[f32],
    what: &str,
    loss: &dyn Fn(&Network, &mut Workspace) -> f64,
) -> f64 {
    let h = 1e-2f32;
    let mut worst = 0f64;
    for (k, &a) in analytic.iter().enumerate().take(net.n_params()) {
        let orig = net.params()[k];
        net.params_mut()[k] = orig + h;
        let up = loss(net, ws);
        net.params_mut()[k] = orig - h;
        let down = loss(net, ws);
        net.params_mut()[k] = orig;
        let numeric = (up - down) / (2.0 * h as f64);
        let err = (numeric - a as f64).abs();
        worst = worst.max(err);
        assert!(
            err <= 3e-4 + 0.02 * numeric.abs(),
            "{what} param {k}: analytic {a} numeric {numeric}"
        );
    }
    assert!(
        analytic.iter().any(|g| g.abs() > 1e-3),
        "gradients should not all vanish"
    );
    worst
}

/// Targets 0.4 away from `out` (above for even outputs, below for odd ones): a loss with a kink
/// at zero error (MAE, pinball) is smooth around such a point.
fn straddle(out: &[f32]) -> Vec<f32> {
    out.iter()
        .enumerate()
        .map(|(k, p)| if k % 2 == 0 { p + 0.4 } else { p - 0.4 })
        .collect()
}

/// Asserts that no error of `out` against `straddle`d targets `y` came near 0 or changed side
/// (so a finite-difference stencil stays on one side of every kink).
fn assert_same_sides(out: &[f32], y: &[f32]) {
    for (k, (p, yv)) in out.iter().zip(y).enumerate() {
        assert!(
            (p - yv).abs() > 0.05 && ((p - yv) < 0.0) == (k % 2 == 0),
            "error {k} came near 0: {}",
            p - yv
        );
    }
}

fn gradcheck(spec: NetworkSpec) {
    let (b, t) = (3, 6);
    let mut net = Network::new(spec.clone(), &mut rng_for(5, 1)).unwrap();
    // Random biases too, so that every bias gradient is exercised.
    for p in net
        .params_mut()
        .iter_mut()
        .enumerate()
        .filter(|(k, _)| k % 7 == 0)
        .map(|(_, p)| p)
    {
        *p += 0.05;
    }
    let (x, y) = toy(&spec, b, t);
    let mut ws = Workspace::new(&net);
    loss_at(&net, &mut ws, &x, &y, b, t);
    let analytic = ws.grad().to_vec();
    let worst = central_differences(
        &mut net,
        &mut ws,
        &analytic,
        &format!("{spec:?}"),
        &|n, w| loss_at(n, w, &x, &y, b, t),
    );
    eprintln!("worst abs error {worst:e}");
}

#[test]
fn finite_differences_one_layer() {
    gradcheck(NetworkSpec {
        n_inputs: 2,
        layers: vec![5],
        n_outputs: 3,
        dropout: 0.0,
        recurrent_dropout: 0.0,
        step_inputs: 0,
        steps: 1,
    });
}

#[test]
fn finite_differences_two_layers_with_dropout_masks_fixed() {
    gradcheck(NetworkSpec {
        n_inputs: 3,
        layers: vec![4, 3],
        n_outputs: 2,
        dropout: 0.3,
        recurrent_dropout: 0.25,
        step_inputs: 0,
        steps: 1,
    });
}

#[test]
fn dropout_is_off_at_inference_and_on_in_training() {
    let spec = NetworkSpec {
        n_inputs: 2,
        layers: vec![6],
        n_outputs: 1,
        dropout: 0.5,
        recurrent_dropout: 0.5,
        step_inputs: 0,
        steps: 1,
    };
    let net = Network::new(spec.clone(), &mut rng_for(1, 1)).unwrap();
    let (x, _) = toy(&spec, 4, 5);
    let mut ws = Workspace::new(&net);
    let a = net.predict(&mut ws, &x, 4, 5).to_vec();
    let b = net.predict(&mut ws, &x, 4, 5).to_vec();
    assert_eq!(a, b, "inference is deterministic");
    net.forward(&mut ws, &x, 4, 5, Some(&mut rng_for(1, 3)));
    assert_ne!(ws.output(), &a[..], "training applies masks");
}

#[test]
fn batch_of_one_path_matches_batched() {
    let spec = NetworkSpec {
        n_inputs: 2,
        layers: vec![7, 5],
        n_outputs: 3,
        dropout: 0.0,
        recurrent_dropout: 0.0,
        step_inputs: 0,
        steps: 1,
    };
    let net = Network::new(spec.clone(), &mut rng_for(2, 1)).unwrap();
    let (b, t) = (4, 6);
    let (x, _) = toy(&spec, b, t);
    let mut ws = Workspace::new(&net);
    let all = net.predict(&mut ws, &x, b, t).to_vec();
    for j in 0..b {
        let xj: Vec<f32> = (0..t)
            .flat_map(|s| x[(s * b + j) * 2..(s * b + j + 1) * 2].to_vec())
            .collect();
        let one = net.predict(&mut ws, &xj, 1, t).to_vec();
        for (p, q) in one.iter().zip(&all[j * 3..(j + 1) * 3]) {
            assert!((p - q).abs() < 1e-5, "{p} vs {q}");
        }
    }
}

fn sine_data() -> Vec<f32> {
    (0..400)
        .map(|i| ((i as f32) * 0.2).sin() + 0.3 * ((i as f32) * 0.05).cos())
        .collect()
}

/// The small dropout network of the short-training tests.
fn short_spec() -> NetworkSpec {
    NetworkSpec {
        n_inputs: 1,
        layers: vec![8],
        n_outputs: 1,
        dropout: 0.1,
        recurrent_dropout: 0.0,
        step_inputs: 0,
        steps: 1,
    }
}

fn short_training(seed: u64) -> (Vec<f32>, train::TrainReport) {
    let data = sine_data();
    let w_index = WindowIndex::single(12..300);
    let w = Windows::new(&data, 1, 1, 12, 1, &w_index);
    let v_index = WindowIndex::single(300..400);
    let v = Windows::new(&data, 1, 1, 12, 1, &v_index);
    let spec = short_spec();
    let mut net = Network::new(spec, &mut rng_for(seed, 1)).unwrap();
    let opts = TrainOptions {
        epochs: 8,
        learning_rate: 1e-2,
        ..Default::default()
    };
    let rep = train::train(&mut net, &w, Some(&v), &opts, seed, &mut |_| {}).unwrap();
    (net.params().to_vec(), rep)
}

#[test]
fn seeded_short_training_lowers_the_loss_and_repeats_bit_identically() {
    let (w1, r1) = short_training(7);
    let first = r1.history[0].train_loss;
    let last = r1.history.last().unwrap().train_loss;
    assert!(last < 0.5 * first, "loss {first} -> {last}");
    let (w2, r2) = short_training(7);
    assert_eq!(w1, w2, "same seed, same weights, bit for bit");
    assert_eq!(
        r1.history.iter().map(|h| h.val_loss).collect::<Vec<_>>(),
        r2.history.iter().map(|h| h.val_loss).collect::<Vec<_>>()
    );
    let (w3, _) = short_training(8);
    assert_ne!(w1, w3, "another seed gives other weights");
}

#[test]
fn restores_best_epoch_weights() {
    let (params, rep) = short_training(3);
    let data = sine_data();
    let v_index = WindowIndex::single(300..400);
    let v = Windows::new(&data, 1, 1, 12, 1, &v_index);
    let spec = short_spec();
    let mut net = Network::zeros(spec).unwrap();
    net.set_params(&params).unwrap();
    let mut ws = Workspace::new(&net);
    let now = train::mse(&net, &mut ws, &v, 256);
    let best = rep.best_val_loss.unwrap();
    assert_eq!(
        now, best,
        "the network holds the best epoch's weights (epoch {})",
        rep.best_epoch
    );
}

#[test]
fn reference_examples_reach_keras_accuracy() {
    // The peers' recorded test MSE over seeds 42–44 (../shared/bench/peers/results.md): Keras
    // 8.8e-7..3.6e-6 (ex. 1), 3.5e-7..9.5e-7 (ex. 2), 1.5e-5..1.3e-4 (ex. 3); PyTorch within
    // 9.1e-8..6.9e-5. The issue asks for "about 1e-6 to 1e-4"; require below 2e-4 and well above
    // zero (a leak of test targets into inputs would give ~0).
    for ex in 1..=3u8 {
        let r = lstmcast::demo::run_example(ex, 42, 20, 1).unwrap();
        assert_eq!(r.epochs, 20);
        assert!(
            r.test_mse < 2e-4 && r.test_mse > 1e-9,
            "example {ex}: test MSE {}",
            r.test_mse
        );
    }
}

#[test]
fn a_non_finite_gradient_stops_training_naming_epoch_and_batch_and_keeps_the_best_weights() {
    use lstmcast::train::{Status, TrainState};
    use lstmcast::Error;
    // 200 rows of a sine; 1 epoch trains normally, then one weight is set to NaN (a numerical
    // fault): the next batch's loss is NaN, training must stop there and hold epoch 1's weights.
    let data: Vec<f32> = (0..200).map(|i| (i as f32 * 0.3).sin()).collect();
    let w_index = WindowIndex::single(10..150);
    let w = Windows::new(&data, 1, 1, 10, 1, &w_index);
    let v_index = WindowIndex::single(150..200);
    let v = Windows::new(&data, 1, 1, 10, 1, &v_index);
    let spec = NetworkSpec {
        n_inputs: 1,
        layers: vec![8],
        n_outputs: 1,
        dropout: 0.0,
        recurrent_dropout: 0.0,
        step_inputs: 0,
        steps: 1,
    };
    let mut net = Network::new(spec, &mut rng_for(1, 1)).unwrap();
    let opts = TrainOptions {
        epochs: 5,
        ..Default::default()
    };
    let mut st = TrainState::new(&net, w.len(), &opts, 1);
    let s = st
        .run(&mut net, &w, Some(&v), &opts, 1, None, &mut |_| {})
        .unwrap();
    assert_eq!(s, Status::Paused);
    let after_one = net.params().to_vec();
    assert_eq!(st.best_params, after_one);
    let mut broken = after_one.clone();
    broken[3] = f32::NAN;
    net.set_params(&broken).unwrap();
    let e = st
        .run(&mut net, &w, Some(&v), &opts, 5, None, &mut |_| {})
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Diverged {
                epoch: 2,
                batch: 1,
                ..
            }
        ),
        "{e}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("--learning-rate") && msg.contains("--clip-norm"),
        "{msg}"
    );
    assert_eq!(
        net.params(),
        &after_one[..],
        "best (epoch 1) weights restored"
    );
}

#[test]
fn finite_differences_mae_loss() {
    use lstmcast::engine::Loss;
    // MAE is differentiable wherever no error is 0: the targets are set 0.4 away from the
    // base predictions (alternating above and below), and every perturbed forward below checks
    // that no error changed sign, so the loss is linear in the outputs across each stencil.
    let spec = NetworkSpec {
        n_inputs: 3,
        layers: vec![4, 3],
        n_outputs: 2,
        dropout: 0.3,
        recurrent_dropout: 0.25,
        step_inputs: 0,
        steps: 1,
    };
    let (b, t) = (3, 6);
    let mut net = Network::new(spec.clone(), &mut rng_for(5, 1)).unwrap();
    for p in net.params_mut().iter_mut().step_by(7) {
        *p += 0.05;
    }
    let (x, _) = toy(&spec, b, t);
    let mut ws = Workspace::new(&net);
    net.forward(&mut ws, &x, b, t, Some(&mut rng_for(99, 3)));
    let y = straddle(ws.output());
    let mae = |net: &Network, ws: &mut Workspace| -> f64 {
        net.forward(ws, &x, b, t, Some(&mut rng_for(99, 3)));
        assert_same_sides(ws.output(), &y);
        net.backward_with(ws, &x, &y, Loss::Mae) as f64
    };
    let loss = mae(&net, &mut ws);
    // Mean |error| over 6 outputs, each 0.4 at the base point.
    assert!((loss - 0.4).abs() < 1e-6, "{loss}");
    let analytic = ws.grad().to_vec();
    let worst = central_differences(&mut net, &mut ws, &analytic, "MAE", &mae);
    eprintln!("MAE: worst abs error {worst:e}");
}

#[test]
fn finite_differences_pinball_loss() {
    // Three quantiles per target (outputs [..][quantile]); the targets sit 0.4 from the base
    // predictions, alternating sides, and every perturbed pass checks that no error changed
    // sign (the pinball loss is linear on each side of 0).
    let taus = [0.1f32, 0.5, 0.9];
    let spec = NetworkSpec {
        n_inputs: 2,
        layers: vec![5],
        n_outputs: 6,
        dropout: 0.0,
        recurrent_dropout: 0.0,
        step_inputs: 0,
        steps: 1,
    };
    let (b, t) = (3, 5);
    let mut net = Network::new(spec.clone(), &mut rng_for(8, 1)).unwrap();
    let (x, _) = toy(&spec, b, t);
    let mut ws = Workspace::new(&net);
    net.predict(&mut ws, &x, b, t);
    let y = straddle(ws.output());
    let loss = |net: &Network, ws: &mut Workspace| -> f64 {
        net.predict(ws, &x, b, t);
        assert_same_sides(ws.output(), &y);
        net.backward_pinball(ws, &x, &y, &taus) as f64
    };
    let l0 = loss(&net, &mut ws);
    // Output k has quantile taus[k % 3]; u = y − p = +0.4 (even k) → τ·0.4, −0.4 (odd k) →
    // (1 − τ)·0.4. Per row (k = 0..6): 0.1·.4 + .5·.4 + .9·.4 + .9·.4 + .5·.4 + .1·.4 = 1.2;
    // mean over 6 outputs: 0.2.
    assert!((l0 - 0.2).abs() < 1e-6, "{l0}");
    let analytic = ws.grad().to_vec();
    let worst = central_differences(&mut net, &mut ws, &analytic, "pinball", &loss);
    eprintln!("pinball: worst abs error {worst:e}");
}
