//! The training loop: seeded reshuffling every epoch, mini-batches gathered into reused buffers,
//! MSE + Adam, optional global-norm clipping, train and validation loss every epoch, early
//! stopping that restores the best weights, and reduce-on-plateau.

pub mod early_stopping;

pub use early_stopping::{Decision, EarlyStopping, Plateau};

use crate::engine::kernels::sum_squares;
use crate::engine::{rng_for, Adam, AdamConfig, Network, Rng, Workspace};
use crate::error::{Error, Result};
use crate::window::Windows;
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Random streams derived from the one seed.
pub mod streams {
    /// Weight initialisation.
    pub const INIT: u64 = 1;
    /// Window order each epoch.
    pub const SHUFFLE: u64 = 2;
    /// Dropout masks.
    pub const DROPOUT: u64 = 3;
}

/// How to train.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainOptions {
    /// Maximum epochs (default 100).
    pub epochs: usize,
    /// Windows per mini-batch (default 32); the last batch of an epoch may be smaller.
    pub batch_size: usize,
    /// Adam learning rate (default 1e-3).
    pub learning_rate: f64,
    /// Epochs without validation improvement before stopping; 0 turns early stopping off (default 10).
    pub patience: usize,
    /// Smallest decrease of the validation loss that counts as an improvement (default 0).
    pub min_delta: f64,
    /// Epochs without improvement before the learning rate is multiplied by
    /// `reduce_lr_factor`; 0 is off (default 0).
    pub reduce_lr_patience: usize,
    /// Factor for reduce-on-plateau, in (0, 1) (default 0.5).
    pub reduce_lr_factor: f64,
    /// Lower bound of the learning rate under reduce-on-plateau (default 1e-6).
    pub min_learning_rate: f64,
    /// Clip the gradient to this global L2 norm; `None` is off.
    pub clip_norm: Option<f64>,
    /// Reshuffle windows every epoch (default true).
    pub shuffle: bool,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            epochs: 100,
            batch_size: 32,
            learning_rate: 1e-3,
            patience: 10,
            min_delta: 0.0,
            reduce_lr_patience: 0,
            reduce_lr_factor: 0.5,
            min_learning_rate: 1e-6,
            clip_norm: None,
            shuffle: true,
        }
    }
}

impl TrainOptions {
    /// Checks ranges.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the field.
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(Error::config("epochs", "must be at least 1"));
        }
        if self.batch_size == 0 {
            return Err(Error::config("batch_size", "must be at least 1"));
        }
        if !(self.learning_rate.is_finite()
            && self.learning_rate > 0.0
            && self.learning_rate < 10.0)
        {
            return Err(Error::config(
                "learning_rate",
                format!(
                    "{} must be > 0 and < 10 (typical: 1e-4 .. 1e-2)",
                    self.learning_rate
                ),
            ));
        }
        if !(self.min_delta.is_finite() && self.min_delta >= 0.0) {
            return Err(Error::config("min_delta", "must be ≥ 0"));
        }
        if !(self.reduce_lr_factor > 0.0 && self.reduce_lr_factor < 1.0) {
            return Err(Error::config(
                "reduce_lr_factor",
                format!("{} must be in (0, 1)", self.reduce_lr_factor),
            ));
        }
        if let Some(c) = self.clip_norm {
            if !(c.is_finite() && c > 0.0) {
                return Err(Error::config("clip_norm", format!("{c} must be > 0")));
            }
        }
        Ok(())
    }
}

/// One epoch's numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss (scaled units, dropout on) over the epoch's windows.
    pub train_loss: f64,
    /// Validation loss (scaled units, dropout off), when there is a validation set.
    pub val_loss: Option<f64>,
    /// Learning rate used in this epoch.
    pub learning_rate: f64,
    /// Best epoch so far (1-based).
    pub best_epoch: usize,
    /// Wall time of the epoch.
    pub seconds: f64,
}

/// What a training run did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    /// Every epoch run.
    pub history: Vec<EpochRecord>,
    /// The epoch whose weights the network holds now (the last one without validation).
    pub best_epoch: usize,
    /// Its validation loss.
    pub best_val_loss: Option<f64>,
    /// Whether early stopping ended the run before `epochs`.
    pub stopped_early: bool,
    /// Total wall time.
    pub seconds: f64,
}

/// Reusable batch buffers.
struct Batch {
    x: Vec<f32>,
    y: Vec<f32>,
}

impl Batch {
    fn fill(&mut self, w: &Windows, idx: &[usize]) {
        self.x.resize(w.lookback() * idx.len() * w.n_inputs(), 0.0);
        self.y.resize(idx.len() * w.n_outputs(), 0.0);
        w.gather(idx, &mut self.x, &mut self.y);
    }
}

/// Mean squared error of `net` on all `windows` (inference, no dropout), in batches of `batch`.
pub fn mse(net: &Network, ws: &mut Workspace, windows: &Windows, batch: usize) -> f64 {
    let mut b = Batch {
        x: Vec::new(),
        y: Vec::new(),
    };
    let all: Vec<usize> = (0..windows.len()).collect();
    let mut total = 0f64;
    for chunk in all.chunks(batch.max(1)) {
        b.fill(windows, chunk);
        let pred = net.predict(ws, &b.x, chunk.len(), windows.lookback());
        total += pred
            .iter()
            .zip(&b.y)
            .map(|(p, t)| ((p - t) as f64).powi(2))
            .sum::<f64>();
    }
    total / (windows.len() * windows.n_outputs()).max(1) as f64
}

/// Trains `net` on `train` windows, validating on `val` each epoch. With validation, early
/// stopping (if `patience > 0`) watches the validation loss and the network ends holding the
/// best epoch's weights; without, it holds the last epoch's. `seed` drives shuffling and dropout.
/// `on_epoch` sees each epoch's record as it finishes (for progress display).
///
/// # Errors
/// Invalid options, empty training windows, or [`Error::Diverged`] when a loss becomes NaN or
/// infinite (the network then holds the best weights so far).
pub fn train(
    net: &mut Network,
    train: &Windows,
    val: Option<&Windows>,
    opts: &TrainOptions,
    seed: u64,
    on_epoch: &mut dyn FnMut(&EpochRecord),
) -> Result<TrainReport> {
    opts.validate()?;
    if train.is_empty() {
        return Err(Error::NotEnoughData {
            what: "training".into(),
            needed: 1,
            got: 0,
        });
    }
    let start = Instant::now();
    let mut shuffle_rng = rng_for(seed, streams::SHUFFLE);
    let mut dropout_rng = rng_for(seed, streams::DROPOUT);
    let mut adam = Adam::new(
        net.n_params(),
        AdamConfig {
            learning_rate: opts.learning_rate,
            ..Default::default()
        },
    );
    let mut ws = Workspace::new(net);
    let mut eval_ws = Workspace::new(net);
    let mut batch = Batch {
        x: Vec::new(),
        y: Vec::new(),
    };
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut stopper = EarlyStopping::new(opts.patience, opts.min_delta);
    let mut plateau = Plateau::new(opts.reduce_lr_patience, opts.min_delta);
    let mut best_params = net.params().to_vec();
    let mut history = Vec::new();
    let mut stopped_early = false;
    let uses_dropout = net.spec().dropout > 0.0 || net.spec().recurrent_dropout > 0.0;
    for epoch in 1..=opts.epochs {
        let t0 = Instant::now();
        if opts.shuffle {
            shuffle(&mut order, &mut shuffle_rng);
        }
        let mut sum = 0f64;
        for (bi, chunk) in order.chunks(opts.batch_size).enumerate() {
            batch.fill(train, chunk);
            let rng: Option<&mut Rng> = if uses_dropout {
                Some(&mut dropout_rng)
            } else {
                None
            };
            net.forward(&mut ws, &batch.x, chunk.len(), train.lookback(), rng);
            let loss = net.backward(&mut ws, &batch.x, &batch.y);
            let norm2 = sum_squares(ws.grad());
            if !loss.is_finite() || !norm2.is_finite() {
                net.set_params(&best_params)?;
                return Err(Error::Diverged {
                    epoch,
                    batch: bi + 1,
                    loss,
                });
            }
            let scale = match opts.clip_norm {
                Some(c) if norm2.sqrt() > c => (c / norm2.sqrt()) as f32,
                _ => 1.0,
            };
            adam.step(net.params_mut(), ws.grad(), scale);
            sum += loss as f64 * chunk.len() as f64;
        }
        let train_loss = sum / train.len() as f64;
        let val_loss = val.map(|v| mse(net, &mut eval_ws, v, 256));
        let lr_used = adam.config.learning_rate;
        let decision = match val_loss {
            Some(v) if v.is_finite() => {
                if plateau.update(v) {
                    adam.config.learning_rate = (adam.config.learning_rate * opts.reduce_lr_factor)
                        .max(opts.min_learning_rate);
                }
                stopper.update(epoch, v)
            }
            Some(v) => {
                net.set_params(&best_params)?;
                return Err(Error::Diverged {
                    epoch,
                    batch: 0,
                    loss: v as f32,
                });
            }
            None => Decision::Improved,
        };
        if decision == Decision::Improved {
            best_params.copy_from_slice(net.params());
        }
        let rec = EpochRecord {
            epoch,
            train_loss,
            val_loss,
            learning_rate: lr_used,
            best_epoch: if val.is_some() {
                stopper.best_epoch()
            } else {
                epoch
            },
            seconds: t0.elapsed().as_secs_f64(),
        };
        on_epoch(&rec);
        history.push(rec);
        if decision == Decision::Stop {
            stopped_early = true;
            break;
        }
    }
    net.set_params(&best_params)?;
    let best_epoch = if val.is_some() {
        stopper.best_epoch()
    } else {
        history.len()
    };
    Ok(TrainReport {
        best_val_loss: val.and(
            history
                .get(best_epoch.saturating_sub(1))
                .and_then(|r| r.val_loss),
        ),
        history,
        best_epoch,
        stopped_early,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Fisher–Yates shuffle from the given generator.
pub fn shuffle(v: &mut [usize], rng: &mut Rng) {
    for i in (1..v.len()).rev() {
        let j = rng.gen_range(0..=i);
        v.swap(i, j);
    }
}
