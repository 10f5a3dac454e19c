//! The three Keras examples of the reference recipe, run exactly as the reference does:
//! `sin(linspace(0, 10π, 2000))` (example 2 adds `cos`), windows of 20, first 80 % of windows for
//! training, no scaling, Adam 1e-3, batch 32, 20 epochs, shuffled, no validation.

use crate::engine::{rng_for, Network, NetworkSpec, Workspace};
use crate::error::{Error, Result};
use crate::train::{self, streams, TrainOptions};
use crate::window::{Segment, WindowIndex, Windows};
use serde::Serialize;
use std::time::Instant;

/// What one example run measured.
#[derive(Debug, Clone, Serialize)]
pub struct DemoReport {
    /// 1, 2 or 3.
    pub example: u8,
    /// The model in words.
    pub model: String,
    /// Test MSE (last 20 % of windows).
    pub test_mse: f64,
    /// Wall time of the 20 training epochs.
    pub train_s: f64,
    /// Epochs run.
    pub epochs: usize,
    /// Trainable parameters.
    pub params: usize,
    /// Training / test windows.
    pub windows: [usize; 2],
    /// Median latency of predicting one window (batch of one), microseconds.
    pub predict_one_us: f64,
    /// Whether the AVX2/FMA kernels ran.
    pub simd: bool,
    /// The seed.
    pub seed: u64,
}

/// Runs example 1, 2 or 3 with `seed` (and `epochs`, 20 in the reference) on `threads` threads
/// (the result does not depend on them).
///
/// # Errors
/// An example number other than 1..=3.
pub fn run_example(example: u8, seed: u64, epochs: usize, threads: usize) -> Result<DemoReport> {
    let n = 2000usize;
    let lin = |i: usize| 10.0 * std::f64::consts::PI * i as f64 / (n - 1) as f64;
    let (cols, horizon, layers, model): (usize, usize, Vec<usize>, &str) = match example {
        1 => (1, 1, vec![50], "LSTM(50) -> Dense(1)"),
        2 => (2, 1, vec![50], "LSTM(50) -> Dense(2) on [sin, cos]"),
        3 => (1, 5, vec![50, 50], "LSTM(50, seq) -> LSTM(50) -> Dense(5)"),
        _ => {
            return Err(Error::config(
                "example",
                format!("{example}: choose 1, 2 or 3"),
            ))
        }
    };
    let data: Vec<f32> = (0..n)
        .flat_map(|i| {
            if cols == 1 {
                vec![lin(i).sin() as f32]
            } else {
                vec![lin(i).sin() as f32, lin(i).cos() as f32]
            }
        })
        .collect();
    let lookback = 20;
    // The reference builds `range(len − 20 − 1)` (examples 1, 2) or `range(len − 20 − 5)` windows
    // with x = d[i:i+20], i.e. origin t = i + 20.
    let n_windows = if example == 3 {
        n - lookback - 5
    } else {
        n - lookback - 1
    };
    let n_train = (n_windows as f64 * 0.8) as usize;
    let segment = |origins| WindowIndex::new(vec![Segment { series: 0, origins }]);
    let (train_i, test_i) = (
        segment(lookback..lookback + n_train),
        segment(lookback + n_train..lookback + n_windows),
    );
    let train_w = Windows::new(&data, cols, cols, lookback, horizon, &train_i);
    let test_w = Windows::new(&data, cols, cols, lookback, horizon, &test_i);
    let spec = NetworkSpec {
        n_inputs: cols,
        layers,
        n_outputs: horizon * cols,
        dropout: 0.0,
        recurrent_dropout: 0.0,
        step_inputs: 0,
        steps: 1,
    };
    let mut net = Network::new(spec, &mut rng_for(seed, streams::INIT))?;
    let opts = TrainOptions {
        epochs,
        batch_size: 32,
        learning_rate: 1e-3,
        patience: 0,
        threads: threads.max(1),
        ..Default::default()
    };
    let report = train::train(&mut net, &train_w, None, &opts, seed, &mut |_| {})?;
    let mut ws = Workspace::new(&net);
    let test_mse = train::mse(&net, &mut ws, &test_w, 512);
    Ok(DemoReport {
        example,
        model: model.into(),
        test_mse,
        train_s: report.seconds,
        epochs: report.history.len(),
        params: net.n_params(),
        windows: [train_w.len(), test_w.len()],
        predict_one_us: predict_one_latency(&net, &test_w),
        simd: crate::engine::kernels::simd_enabled(),
        seed,
    })
}

/// Median wall time of predicting one window, in microseconds (2000 calls after a warm-up).
pub fn predict_one_latency(net: &Network, w: &Windows) -> f64 {
    let mut ws = Workspace::new(net);
    let mut x = vec![0f32; w.lookback() * w.n_inputs()];
    let mut y = vec![0f32; w.n_outputs()];
    w.gather(&[0], &mut x, &mut y);
    for _ in 0..200 {
        net.predict(&mut ws, &x, 1, w.lookback());
    }
    let mut times: Vec<f64> = (0..2000)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(net.predict(&mut ws, std::hint::black_box(&x), 1, w.lookback()));
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}
