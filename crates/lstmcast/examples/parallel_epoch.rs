//! Issue 15's large-batch benchmark: one epoch of a 20,000-row, 3-column series (lookback 48,
//! horizon 48, one layer of 128, batch 256) on one thread and on every core, side by side in one
//! run, with a check that both end with the same weights to the bit; then the time of one step
//! for batch sizes 16..256, unsplit on one thread against split in two on two threads (the
//! measurement behind `CHUNK_ROWS`).
//!
//! `cargo run --release -p lstmcast --example parallel_epoch [ROWS]`

use lstmcast::engine::{rng_for, DataParallel, Loss, Network, NetworkSpec, StepLoss};
use lstmcast::train::{TrainOptions, TrainState};
use lstmcast::{WindowIndex, Windows};
use std::time::Instant;

fn main() {
    let rows: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
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
    for units in [128usize, 50] {
        println!("one step (forward + backward) with layers [{units}], median of 15, unsplit on 1 thread vs two chunks on 2:");
        let net = Network::new(
            NetworkSpec {
                layers: vec![units],
                ..spec.clone()
            },
            &mut rng_for(42, 1),
        )
        .unwrap();
        for b in [16usize, 32, 64, 128, 256] {
            let idx: Vec<usize> = (0..b).collect();
            let mut x = vec![0f32; l * b * f];
            let mut y = vec![0f32; b * h];
            w.gather(&idx, &mut x, &mut y);
            let time = |threads: usize, chunk: usize| {
                let mut dp = DataParallel::new(&net, threads);
                dp.chunk = chunk;
                let mut v: Vec<f64> = (0..15)
                    .map(|_| {
                        let t0 = Instant::now();
                        dp.step(&net, &x, &[], &y, (b, l), StepLoss::Plain(Loss::Mse), None);
                        t0.elapsed().as_secs_f64()
                    })
                    .collect();
                v.sort_by(f64::total_cmp);
                v[7]
            };
            let one = time(1, b);
            let two = time(2, b.div_ceil(2));
            println!(
                "  batch {b:>3}: {:.2} ms vs {:.2} ms: {:.2}x",
                one * 1e3,
                two * 1e3,
                one / two
            );
        }
    }
}
