//! Engine benchmarks: one training step (batch 32), one epoch (the reference example's 1583
//! windows) and one batch-of-one prediction, for the example-1 and example-3 shapes.
#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use lstmcast::engine::{rng_for, Adam, AdamConfig, Network, NetworkSpec, Rng, Workspace};
use lstmcast::train::{self, TrainOptions};
use lstmcast::{WindowIndex, Windows};
use std::hint::black_box;

fn shapes() -> [(&'static str, Vec<usize>, usize); 2] {
    [
        ("ex1_lstm50", vec![50], 1),
        ("ex3_lstm50x2_h5", vec![50, 50], 5),
    ]
}

fn sine() -> Vec<f32> {
    (0..2000)
        .map(|i| (10.0 * std::f64::consts::PI * i as f64 / 1999.0).sin() as f32)
        .collect()
}

fn bench(c: &mut Criterion) {
    let data = sine();
    for (name, layers, horizon) in shapes() {
        let spec = NetworkSpec {
            n_inputs: 1,
            layers,
            n_outputs: horizon,
            dropout: 0.0,
            recurrent_dropout: 0.0,
            step_inputs: 0,
            steps: 1,
        };
        let w_index = WindowIndex::single(20..1603);
        let w = Windows::new(&data, 1, 1, 20, horizon, &w_index);
        // Data built outside the timed closures.
        let idx: Vec<usize> = (0..32).collect();
        let (mut x, mut y) = (vec![0f32; 20 * 32], vec![0f32; 32 * horizon]);
        w.gather(&idx, &mut x, &mut y);
        let mut net = Network::new(spec.clone(), &mut rng_for(42, 1)).unwrap();
        let mut ws = Workspace::new(&net);
        let mut adam = Adam::new(net.n_params(), AdamConfig::default());
        c.bench_function(&format!("train_step/{name}/batch32"), |b| {
            b.iter(|| {
                net.forward::<Rng>(&mut ws, black_box(&x), 32, 20, None);
                let loss = net.backward(&mut ws, &x, &y);
                let g = ws.grad().to_vec();
                adam.step(net.params_mut(), &g, 1.0);
                black_box(loss)
            })
        });
        let mut group = c.benchmark_group("epoch");
        group.sample_size(10);
        group.bench_function(BenchmarkId::new(name, "1583_windows"), |b| {
            b.iter(|| {
                let mut n2 = Network::new(spec.clone(), &mut rng_for(42, 1)).unwrap();
                let opts = TrainOptions {
                    epochs: 1,
                    patience: 0,
                    ..Default::default()
                };
                black_box(train::train(&mut n2, &w, None, &opts, 42, &mut |_| {}).unwrap())
            })
        });
        group.finish();
        let one: Vec<f32> = x[..20].to_vec();
        let mut ws1 = Workspace::new(&net);
        c.bench_function(&format!("predict_one/{name}"), |b| {
            b.iter(|| black_box(net.predict(&mut ws1, black_box(&one), 1, 20)[0]))
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
