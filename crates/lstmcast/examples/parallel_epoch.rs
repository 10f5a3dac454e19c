//! Issue 15's large-batch benchmark: one epoch of a 20,000-row, 3-column series (lookback 48,
//! horizon 48, one layer of 128, batch 256) on one thread and on every core, side by side in one
//! run, with a check that both end with the same weights to the bit; then the measurement behind
//! `MIN_CHUNK_WORK` (engine/parallel.rs): one step of networks of 16, 50 and 128 units,
//! lookbacks 8 to 48 and batches 8 to 64, in one pass on one thread against the batch in two
//! halves one after the other on one thread (what chunks cost a model that gets one thread) and
//! at once on two (what they gain), beside the chunks `chunk_count` chooses. Run it on a quiet
//! machine: a busy second core makes every split look slow.
//!
//! `cargo run --release -p lstmcast --example parallel_epoch [ROWS]` (both),
//! `… parallel_epoch sweep [ROUNDS]` (the step sweep only, 7 rounds by default)

use lstmcast::engine::{
    chunk_count, rng_for, window_work, DataParallel, Loss, Network, NetworkSpec, StepLoss,
};
use lstmcast::train::{TrainOptions, TrainState};
use lstmcast::{WindowIndex, Windows};
use std::time::Instant;

fn main() {
    let arg = std::env::args().nth(1);
    if arg.as_deref() == Some("sweep") {
        let rounds = std::env::args().nth(2).and_then(|s| s.parse().ok());
        return sweep(rounds.unwrap_or(7));
    }
    let rows: usize = arg.and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let cores = lstmcast::cores();
    let (l, h, f) = (48, 48, 3);
    let data: Vec<f32> = (0..rows)
        .flat_map(|r| {
            let t = r as f32;
            [
                (t * 0.2618).sin() + 0.1 * (t * 0.013).cos(),
                (t * 0.05).cos(),
                ((t * 0.7).sin() * 43758.55).fract() - 0.5,
            ]
        })
        .collect();
    let index = WindowIndex::single(l..rows - h + 1);
    let w = Windows::new(&data, f, 1, l, h, &index);
    let spec = NetworkSpec {
        n_inputs: f,
        layers: vec![128],
        n_outputs: h,
        dropout: 0.0,
        recurrent_dropout: 0.0,
        step_inputs: 0,
        steps: 1,
    };
    let opts = TrainOptions {
        epochs: 1,
        batch_size: 256,
        ..Default::default()
    };
    println!(
        "one epoch: {} windows, lookback {l}, horizon {h}, layers [128], batch 256, {cores} cores",
        w.len()
    );
    let mut results = Vec::new();
    for threads in [1, cores] {
        let mut net = Network::new(spec.clone(), &mut rng_for(42, 1)).unwrap();
        let mut state = TrainState::new(&net, w.len(), &opts, 42);
        let o = TrainOptions {
            threads,
            ..opts.clone()
        };
        let t0 = Instant::now();
        state
            .run(&mut net, &w, None, &o, 1, None, &mut |_| {})
            .unwrap();
        let s = t0.elapsed().as_secs_f64();
        println!("  {threads} thread(s): {s:.2} s");
        results.push((s, net.params().to_vec()));
    }
    let same = results[0]
        .1
        .iter()
        .zip(&results[1].1)
        .all(|(a, b)| a.to_bits() == b.to_bits());
    println!(
        "  speed-up {:.2}x; weights bit-identical: {same}",
        results[0].0 / results[1].0
    );
    sweep(7);
}

/// The measurement behind `MIN_CHUNK_WORK` (engine/parallel.rs): one step (forward and
/// backward) of one-layer networks, for batches cut in two halves. Each variant runs blocks of
/// 21 consecutive steps (as in training; the first 2 dropped), `rounds` blocks interleaved with
/// the other variants; the medians of the block medians are printed.
fn sweep(rounds: usize) {
    println!(
        "one step (forward + backward), one layer, 1 input, 12 outputs; blocks of consecutive steps, {rounds} interleaved rounds, medians:"
    );
    println!("  units lookback batch | M mult-adds a half | 1 thread, one pass | halves on 1 thread | halves on 2 threads | chunk_count");
    let mut shapes: Vec<(usize, usize)> = [8, 14, 24, 48].iter().map(|&l| (50, l)).collect();
    shapes.extend([(16, 24), (128, 24)]);
    for (units, l) in shapes {
        let spec = NetworkSpec {
            n_inputs: 1,
            layers: vec![units],
            n_outputs: 12,
            dropout: 0.0,
            recurrent_dropout: 0.0,
            step_inputs: 0,
            steps: 1,
        };
        let net = Network::new(spec.clone(), &mut rng_for(42, 1)).unwrap();
        for b in [8usize, 16, 32, 64] {
            let x: Vec<f32> = (0..l * b).map(|k| (k as f32 * 0.731).sin()).collect();
            let y: Vec<f32> = (0..b * 12).map(|k| (k as f32 * 1.37).cos() * 0.5).collect();
            // (threads, chunks): the one-pass step, halves one after the other, halves at once.
            let variants = [(1, 1), (1, 2), (2, 2)];
            let mut dps: Vec<DataParallel> = variants
                .iter()
                .map(|&(threads, chunks)| {
                    let mut dp = DataParallel::new(&net, threads);
                    dp.chunks = Some(chunks);
                    dp
                })
                .collect();
            let mut medians: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
            for _ in 0..rounds {
                for (dp, m) in dps.iter_mut().zip(&mut medians) {
                    let mut block: Vec<f64> = (0..23)
                        .map(|_| {
                            let t0 = Instant::now();
                            dp.step(&net, &x, &[], &y, (b, l), StepLoss::Plain(Loss::Mse), None);
                            t0.elapsed().as_secs_f64()
                        })
                        .skip(2)
                        .collect();
                    m.push(median(&mut block));
                }
            }
            let t: Vec<f64> = medians.iter_mut().map(|v| median(v)).collect();
            println!(
                "  {units:>5} {l:>8} {b:>5} | {:>18.2} | {:>15.3} ms | {:>17.3}× | {:>18.2}× | {}",
                (b / 2 * window_work(&spec, l)) as f64 / 1e6,
                t[0] * 1e3,
                t[1] / t[0],
                t[0] / t[2],
                chunk_count(&spec, b, l)
            );
        }
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
