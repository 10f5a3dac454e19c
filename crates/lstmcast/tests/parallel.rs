//! One model on several threads (issue 15): a batch is split into chunks that depend on the
//! batch and the network only (`chunk_count`), whose gradients are added in chunk order, so a
//! step is bit-identical for any thread count; a batch of one chunk is exactly the one-pass
//! step; and the split step's gradient is the one-pass gradient up to f32 rounding.

use lstmcast::engine::{
    chunk_count, rng_for, DataParallel, Loss, Network, NetworkSpec, StepLoss, Workspace, CHUNK_ROWS,
};
use lstmcast::train::{TrainOptions, TrainState};
use lstmcast::{WindowIndex, Windows};

fn spec(dropout: f32) -> NetworkSpec {
    NetworkSpec {
        n_inputs: 3,
        layers: vec![12, 8],
        n_outputs: 4,
        dropout,
        recurrent_dropout: dropout / 2.0,
        step_inputs: 2,
        steps: 2,
    }
}

fn batch(spec: &NetworkSpec, b: usize, t: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let x = (0..t * b * spec.n_inputs)
        .map(|k| ((k as f32) * 0.731).sin())
        .collect();
    let xf = (0..b * spec.steps * spec.step_inputs)
        .map(|k| ((k as f32) * 0.177).cos())
        .collect();
    let y = (0..b * spec.n_outputs)
        .map(|k| ((k as f32) * 1.37).cos() * 0.5)
        .collect();
    (x, xf, y)
}

/// One step on `threads` threads, cut into `chunks` chunks (`None`: `chunk_count`'s).
fn step(
    net: &Network,
    (threads, chunks): (usize, Option<usize>),
    b: usize,
    t: usize,
    loss: StepLoss,
) -> (f32, Vec<f32>) {
    let (x, xf, y) = batch(net.spec(), b, t);
    let mut dp = DataParallel::new(net, threads);
    dp.chunks = chunks;
    let mut rng = rng_for(7, 3);
    let l = dp.step(net, &x, &xf, &y, (b, t), loss, Some(&mut rng));
    (l, dp.grad().to_vec())
}

#[test]
fn a_split_step_is_bit_identical_for_any_thread_count() {
    for dropout in [0.0, 0.2] {
        let net = Network::new(spec(dropout), &mut rng_for(1, 1)).unwrap();
        // Four chunks (52, 52, 52 and 53 rows): a network this small gets them by request only.
        let b = 3 * CHUNK_ROWS + 17;
        for loss in [
            StepLoss::Plain(Loss::Mse),
            StepLoss::Pinball(&[0.1, 0.5, 0.9, 0.5]),
        ] {
            let one = step(&net, (1, Some(4)), b, 6, loss);
            for threads in [2, 3, 4, 8] {
                let many = step(&net, (threads, Some(4)), b, 6, loss);
                assert_eq!(one.0.to_bits(), many.0.to_bits(), "loss, {threads} threads");
                assert!(
                    one.1
                        .iter()
                        .zip(&many.1)
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "gradient differs with {threads} threads (dropout {dropout})"
                );
            }
        }
    }
}

#[test]
fn a_batch_of_one_chunk_is_the_one_pass_step_and_a_split_one_agrees_with_it() {
    let net = Network::new(spec(0.2), &mut rng_for(2, 1)).unwrap();
    // One chunk (too little work to split): the same bits as forward + backward on one
    // workspace.
    let b = CHUNK_ROWS;
    assert_eq!(chunk_count(net.spec(), b, 5), 1);
    let (x, xf, y) = batch(net.spec(), b, 5);
    let mut ws = Workspace::new(&net);
    net.forward_with(&mut ws, &x, &xf, b, 5, Some(&mut rng_for(7, 3)));
    let want = net.backward_with(&mut ws, &x, &y, Loss::Mae);
    let (got, grad) = step(&net, (4, None), b, 5, StepLoss::Plain(Loss::Mae));
    assert_eq!(want.to_bits(), got.to_bits());
    assert_eq!(ws.grad(), &grad[..]);
    // Split into chunks, with the masks drawn for the whole batch in the one-pass order: the
    // same loss and gradient up to f32 summation order (relative 1e-4 of the largest entry).
    let b = 2 * CHUNK_ROWS + 5;
    let (x, xf, y) = batch(net.spec(), b, 5);
    net.forward_with(&mut ws, &x, &xf, b, 5, Some(&mut rng_for(7, 3)));
    let want = net.backward_with(&mut ws, &x, &y, Loss::Mse);
    let (got, grad) = step(&net, (2, Some(3)), b, 5, StepLoss::Plain(Loss::Mse));
    assert!((want - got).abs() <= 1e-5 * want.abs(), "{want} vs {got}");
    let scale = ws.grad().iter().fold(0f32, |m, g| m.max(g.abs()));
    for (k, (a, g)) in ws.grad().iter().zip(&grad).enumerate() {
        assert!((a - g).abs() <= 1e-4 * scale, "parameter {k}: {a} vs {g}");
    }
}

#[test]
fn training_with_large_batches_is_bit_identical_for_any_thread_count() {
    // 600 rows of a 2-column series, batches of 200 (four chunks of 50), then 180 (three):
    // whole epochs, dropout on.
    let data: Vec<f32> = (0..600)
        .flat_map(|r| {
            let t = r as f32 * 0.1;
            [t.sin(), (0.7 * t).cos()]
        })
        .collect();
    let index = WindowIndex::single(10..590);
    let w = Windows::new(&data, 2, 1, 10, 3, &index);
    let opts = TrainOptions {
        epochs: 3,
        batch_size: 200,
        learning_rate: 1e-2,
        ..Default::default()
    };
    let spec = NetworkSpec {
        n_inputs: 2,
        layers: vec![48],
        n_outputs: 3,
        dropout: 0.1,
        recurrent_dropout: 0.1,
        step_inputs: 0,
        steps: 1,
    };
    assert_eq!(
        (chunk_count(&spec, 200, 10), chunk_count(&spec, 180, 10)),
        (4, 3)
    );
    let run = |threads: usize| {
        let spec = spec.clone();
        let mut net = Network::new(spec, &mut rng_for(3, 1)).unwrap();
        let mut state = TrainState::new(&net, w.len(), &opts, 3);
        let o = TrainOptions {
            threads,
            ..opts.clone()
        };
        state
            .run(&mut net, &w, None, &o, 3, None, &mut |_| {})
            .unwrap();
        (
            net.params().to_vec(),
            state.history.last().unwrap().train_loss,
        )
    };
    let (p1, l1) = run(1);
    for threads in [2, 4] {
        let (p, l) = run(threads);
        assert_eq!(l1.to_bits(), l.to_bits(), "{threads} threads");
        assert!(p1.iter().zip(&p).all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}

#[test]
fn a_default_batch_of_32_is_split_and_bit_identical_for_any_thread_count() {
    // The default training's shape: one input, one layer of 50 units, lookback 24, horizon 12,
    // batches of 32, which `chunk_count` cuts in two halves of 16 windows.
    let spec = |dropout: f32| NetworkSpec {
        n_inputs: 1,
        layers: vec![50],
        n_outputs: 12,
        dropout,
        recurrent_dropout: 0.0,
        step_inputs: 0,
        steps: 1,
    };
    assert_eq!(chunk_count(&spec(0.0), 32, 24), 2);
    for dropout in [0.0, 0.2] {
        let net = Network::new(spec(dropout), &mut rng_for(5, 1)).unwrap();
        let one = step(&net, (1, None), 32, 24, StepLoss::Plain(Loss::Mae));
        for threads in [2, 3] {
            let many = step(&net, (threads, None), 32, 24, StepLoss::Plain(Loss::Mae));
            assert_eq!(one.0.to_bits(), many.0.to_bits(), "{threads} threads");
            assert!(
                one.1
                    .iter()
                    .zip(&many.1)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "gradient differs with {threads} threads (dropout {dropout})"
            );
        }
    }
    // Whole epochs: 400 rows, 365 windows, 11 batches of 32 (split) and one of 13 (whole).
    let data: Vec<f32> = (0..400).map(|r| (r as f32 * 0.26).sin()).collect();
    let index = WindowIndex::single(24..389);
    let w = Windows::new(&data, 1, 1, 24, 12, &index);
    let opts = TrainOptions {
        epochs: 2,
        ..Default::default()
    };
    let run = |threads: usize| {
        let mut net = Network::new(spec(0.0), &mut rng_for(6, 1)).unwrap();
        let mut state = TrainState::new(&net, w.len(), &opts, 6);
        let o = TrainOptions {
            threads,
            ..opts.clone()
        };
        state
            .run(&mut net, &w, None, &o, 2, None, &mut |_| {})
            .unwrap();
        net.params().to_vec()
    };
    let p1 = run(1);
    for threads in [2, 3] {
        let p = run(threads);
        assert!(
            p1.iter().zip(&p).all(|(a, b)| a.to_bits() == b.to_bits()),
            "weights differ with {threads} threads"
        );
    }
}

#[test]
fn predictions_are_the_same_on_any_number_of_threads() {
    // Two series of 700 rows: the test part holds more than one chunk of 256 contexts.
    let series = |k: f64| -> Vec<f64> {
        (0..700)
            .map(|t| 10.0 * k + (t as f64 * 0.3 + k).sin() + 0.01 * t as f64)
            .collect()
    };
    let panel = lstmcast::Panel::from_series(
        vec!["y".into()],
        1,
        vec![
            ("a".into(), vec![series(1.0)]),
            ("b".into(), vec![series(2.0)]),
        ],
    )
    .unwrap();
    let mut cfg = lstmcast::ForecasterConfig {
        lookback: 8,
        horizon: 3,
        normalize: lstmcast::Normalize::Window,
        split: "0.3,0.1,0.6".parse::<lstmcast::SplitSpec>().unwrap(),
        ..Default::default()
    };
    cfg.model.layers = vec![6];
    cfg.training.epochs = 2;
    let mut m = cfg.fit(&panel, &mut |_| {}).unwrap();
    m.config.training.threads = 1;
    let one = m.evaluate(&panel).unwrap();
    assert!(one.rows.len() > 2 * 256 * 3, "{} rows", one.rows.len());
    let f1 = m.forecast(&panel, Some(7)).unwrap();
    for threads in [2, 3] {
        m.config.training.threads = threads;
        let many = m.evaluate(&panel).unwrap();
        assert_eq!(one.rows, many.rows, "{threads} threads");
        assert_eq!(f1, m.forecast(&panel, Some(7)).unwrap());
    }
}
