//! The training loop: seeded reshuffling every epoch, mini-batches gathered into reused buffers,
//! MSE + Adam, optional global-norm clipping, train and validation loss every epoch, early
//! stopping that restores the best weights, and reduce-on-plateau.

pub mod early_stopping;

pub use early_stopping::{Decision, EarlyStopping, Plateau};

use crate::engine::{
    rng_for, Adam, AdamConfig, CpuEngine, Engine, Loss, Network, Rng, StepBatch, StepLoss,
    Workspace,
};
use crate::error::{Error, Result};
use crate::window::Windows;
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Random streams derived from the one seed.
pub mod streams {
    /// Weight initialisation.
    pub const INIT: u64 = 1;
    /// Window order each epoch.
    pub const SHUFFLE: u64 = 2;
    /// Dropout masks.
    pub const DROPOUT: u64 = 3;
    /// Tuning's quasi-random design.
    pub const TUNE: u64 = 4;
}

/// How the training windows of a panel are drawn each epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Sampling {
    /// Every training window of every series once per epoch, shuffled: series weigh in
    /// proportion to their length (the default).
    #[default]
    Windows,
    /// As many windows as `windows`, but every series contributes an equal share (its windows
    /// drawn in shuffled order, repeated when it has fewer): short series weigh as much as long
    /// ones.
    PerSeries,
}

option_names!(Sampling, "sampling", {
    Windows => "windows",
    PerSeries => "per-series",
});

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
    /// Epochs at the start that are never kept as the best and never count towards patience
    /// (default 0: every epoch counts).
    pub warmup: usize,
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
    /// How a panel's windows are drawn each epoch (default `windows`).
    pub sampling: Sampling,
    /// The loss; `None` (the default) lets the normalisation choose: MAE for the
    /// exponential-smoothing modes, MSE for the others.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loss: Option<Loss>,
    /// The quantiles of `loss = quantile`, strictly increasing in (0, 1): one output each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub quantiles: Vec<f64>,
    /// Threads one model's batches may use (a batch with the work for several chunks,
    /// [`crate::engine::chunk_count`], is split across them). Not part of the configuration:
    /// results are bit-identical for any count.
    #[serde(skip, default = "one_thread")]
    pub threads: usize,
}

fn one_thread() -> usize {
    1
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            epochs: 100,
            batch_size: 32,
            learning_rate: 1e-3,
            patience: 10,
            min_delta: 0.0,
            warmup: 0,
            reduce_lr_patience: 0,
            reduce_lr_factor: 0.5,
            min_learning_rate: 1e-6,
            clip_norm: None,
            shuffle: true,
            sampling: Sampling::Windows,
            loss: None,
            quantiles: Vec::new(),
            threads: 1,
        }
    }
}

impl TrainOptions {
    /// The loss trained with (MSE when not set).
    pub fn loss(&self) -> Loss {
        self.loss.unwrap_or_default()
    }

    /// Outputs per step and target: one per quantile with the quantile loss, else 1.
    pub fn outputs_per_target(&self) -> usize {
        if self.loss == Some(Loss::Quantile) {
            self.quantiles.len().max(1)
        } else {
            1
        }
    }

    /// The quantiles as the engine takes them.
    pub fn taus(&self) -> Vec<f32> {
        self.quantiles.iter().map(|&q| q as f32).collect()
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
        match (self.loss == Some(Loss::Quantile), self.quantiles.is_empty()) {
            (true, true) => {
                return Err(Error::config(
                    "quantiles",
                    "--loss quantile needs --quantiles, e.g. 0.1,0.5,0.9",
                ))
            }
            (false, false) => {
                return Err(Error::config(
                    "quantiles",
                    "--quantiles needs --loss quantile",
                ))
            }
            _ => {}
        }
        for (i, &q) in self.quantiles.iter().enumerate() {
            if !(q.is_finite() && q > 0.0 && q < 1.0) {
                return Err(Error::config(
                    "quantiles",
                    format!("{q} must be strictly between 0 and 1, e.g. 0.1,0.5,0.9"),
                ));
            }
            if i > 0 && q <= self.quantiles[i - 1] {
                return Err(Error::config(
                    "quantiles",
                    format!(
                        "{:?} must be strictly increasing (no repeats), e.g. 0.1,0.5,0.9",
                        self.quantiles
                    ),
                ));
            }
        }
        if !self.quantiles.is_empty() && !self.quantiles.contains(&0.5) {
            return Err(Error::config(
                "quantiles",
                format!(
                    "{:?} must include 0.5: the median is the point forecast (e.g. 0.1,0.5,0.9)",
                    self.quantiles
                ),
            ));
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TrainReport {
    /// Every epoch run.
    pub history: Vec<EpochRecord>,
    /// The epoch whose weights the network holds now (the last one without validation).
    pub best_epoch: usize,
    /// Its validation loss.
    pub best_val_loss: Option<f64>,
    /// Whether early stopping ended the run before `epochs`.
    pub stopped_early: bool,
    /// Set when training diverged after at least one epoch: the message; the weights are the
    /// best epoch's before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diverged: Option<String>,
    /// Total wall time.
    pub seconds: f64,
}

/// Reusable batch buffers.
#[derive(Default)]
struct Batch {
    x: Vec<f32>,
    /// The head's per-step inputs (known covariates), `[batch, horizon, known]`.
    xf: Vec<f32>,
    y: Vec<f32>,
}

impl Batch {
    fn fill(&mut self, w: &Windows, idx: &[usize]) {
        self.x.resize(w.lookback() * idx.len() * w.n_inputs(), 0.0);
        self.y.resize(idx.len() * w.n_outputs(), 0.0);
        self.xf.resize(idx.len() * w.horizon() * w.n_known(), 0.0);
        w.gather(idx, &mut self.x, &mut self.y);
        w.gather_known(idx, &mut self.xf);
    }
}

/// Mean squared error of `net` on all `windows` (inference, no dropout), in batches of `batch`.
pub fn mse(net: &Network, ws: &mut Workspace, windows: &Windows, batch: usize) -> f64 {
    mean_loss(net, ws, windows, batch, Loss::Mse, &[])
}

/// The mean `loss` of `net` on all `windows` (inference, no dropout), in batches of `batch`.
pub fn mean_loss(
    net: &Network,
    ws: &mut Workspace,
    windows: &Windows,
    batch: usize,
    loss: Loss,
    taus: &[f32],
) -> f64 {
    loss_over(&mut Inference { net, ws }, windows, batch, loss, taus)
}

/// The mean `loss` of the engine's network on all `windows` (inference), in batches of
/// `batch`.
pub fn engine_loss(
    engine: &mut dyn Engine,
    windows: &Windows,
    batch: usize,
    loss: Loss,
    taus: &[f32],
) -> f64 {
    loss_over(engine, windows, batch, loss, taus)
}

/// What scores windows: a network with its workspace, or an engine.
trait Predicts {
    fn run(&mut self, x: &[f32], xf: &[f32], rows: usize, steps: usize) -> &[f32];
}

/// A network and a workspace for inference.
struct Inference<'a> {
    net: &'a Network,
    ws: &'a mut Workspace,
}

impl Predicts for Inference<'_> {
    fn run(&mut self, x: &[f32], xf: &[f32], rows: usize, steps: usize) -> &[f32] {
        self.net.predict_with(self.ws, x, xf, rows, steps)
    }
}

impl<E: Engine + ?Sized> Predicts for E {
    fn run(&mut self, x: &[f32], xf: &[f32], rows: usize, steps: usize) -> &[f32] {
        self.predict(x, xf, rows, steps)
    }
}

/// The one loop behind [`mean_loss`] and [`engine_loss`].
fn loss_over<P: Predicts + ?Sized>(
    p: &mut P,
    windows: &Windows,
    batch: usize,
    loss: Loss,
    taus: &[f32],
) -> f64 {
    let mut b = Batch::default();
    let all: Vec<usize> = (0..windows.len()).collect();
    let mut total = 0f64;
    for chunk in all.chunks(batch.max(1)) {
        b.fill(windows, chunk);
        let pred = p.run(&b.x, &b.xf, chunk.len(), windows.lookback());
        total += pred
            .iter()
            .zip(&b.y)
            .enumerate()
            .map(|(i, (p, t))| match loss {
                Loss::Quantile if !taus.is_empty() => {
                    crate::engine::network::pinball(taus[i % taus.len()], p - t).0
                }
                _ => loss.value_and_slope(p - t).0,
            })
            .sum::<f64>();
    }
    total / (windows.len() * windows.n_outputs()).max(1) as f64
}

/// Where a generator stands: enough to rebuild it exactly (see [`rng_for`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState {
    /// The stream id.
    pub stream: u64,
    /// Words consumed so far (ChaCha's 128-bit word position, as a decimal string in JSON).
    #[serde(with = "u128_string")]
    pub word_pos: u128,
}

mod u128_string {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        let t = String::deserialize(d)?;
        t.parse().map_err(serde::de::Error::custom)
    }
}

impl RngState {
    fn of(r: &Rng) -> RngState {
        RngState {
            stream: r.get_stream(),
            word_pos: r.get_word_pos(),
        }
    }

    fn restore(&self, seed: u64) -> Rng {
        let mut r = rng_for(seed, self.stream);
        r.set_word_pos(self.word_pos);
        r
    }
}

/// Everything a training run carries between batches apart from the current weights: with the
/// weights it resumes a run bit-identically (the basis of checkpoints and of tuning's
/// successive halving).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// The seed the run was started with.
    pub seed: u64,
    /// Epochs completed.
    pub epochs_done: usize,
    /// Batches of the current epoch already applied (0 at an epoch boundary).
    pub next_batch: usize,
    /// Sum of the current epoch's batch losses × batch sizes so far.
    pub partial_loss: f64,
    /// Seconds spent in the current epoch so far.
    pub partial_seconds: f64,
    /// The current epoch's window order (4 bytes a window: a panel of millions of windows keeps
    /// it smaller than its data).
    pub order: Vec<u32>,
    /// The epoch `order` was shuffled for (so that a run interrupted before its first batch
    /// does not shuffle twice).
    pub shuffled_for: usize,
    /// Optimiser state: the record the engine last exported ([`Engine::export_optimizer`]),
    /// imported into the engine at the start of every run; checkpoints save it.
    pub adam: Adam,
    /// Shuffle generator.
    pub shuffle_rng: RngState,
    /// Dropout generator.
    pub dropout_rng: RngState,
    /// Early stopping.
    pub stopper: EarlyStopping,
    /// Reduce-on-plateau.
    pub plateau: Plateau,
    /// The best epoch's weights (the current ones before any epoch).
    pub best_params: Vec<f32>,
    /// Epochs so far.
    pub history: Vec<EpochRecord>,
    /// Whether training is over (early stop or the epoch limit).
    pub finished: bool,
    /// Whether early stopping ended it.
    pub stopped_early: bool,
    /// Wall time of completed epochs.
    pub seconds: f64,
}

/// Why [`TrainState::run`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Training is over; call [`TrainState::finish`].
    Finished,
    /// The requested number of epochs is done; more may follow.
    Paused,
    /// The interrupt flag was raised; the state stands after a whole batch.
    Interrupted,
}

impl TrainState {
    /// A fresh run for `net` over `n_train` windows.
    pub fn new(net: &Network, n_train: usize, opts: &TrainOptions, seed: u64) -> TrainState {
        TrainState {
            seed,
            epochs_done: 0,
            next_batch: 0,
            partial_loss: 0.0,
            partial_seconds: 0.0,
            order: (0..n_train as u32).collect(),
            shuffled_for: 0,
            adam: Adam::new(
                net.n_params(),
                AdamConfig {
                    learning_rate: opts.learning_rate,
                    ..Default::default()
                },
            ),
            shuffle_rng: RngState::of(&rng_for(seed, streams::SHUFFLE)),
            dropout_rng: RngState::of(&rng_for(seed, streams::DROPOUT)),
            stopper: EarlyStopping::new(opts.patience, opts.min_delta)
                .with_min_epochs((opts.warmup + 1).min(opts.epochs)),
            plateau: Plateau::new(opts.reduce_lr_patience, opts.min_delta),
            best_params: net.params().to_vec(),
            history: Vec::new(),
            finished: false,
            stopped_early: false,
            seconds: 0.0,
        }
    }

    /// Trains until `until_epochs` epochs are done in total (or training finishes, or `interrupt`
    /// is raised: then it returns after the current batch). `on_epoch` sees each finished epoch.
    ///
    /// # Errors
    /// Windows that do not match the state, or [`Error::Diverged`] when a loss or gradient
    /// becomes NaN or infinite (the network then holds the best weights so far).
    #[allow(clippy::too_many_arguments)]
    pub fn run(
        &mut self,
        net: &mut Network,
        train: &Windows,
        val: Option<&Windows>,
        opts: &TrainOptions,
        until_epochs: usize,
        interrupt: Option<&AtomicBool>,
        on_epoch: &mut dyn FnMut(&EpochRecord),
    ) -> Result<Status> {
        // The CPU engine holds the weights and the optimiser state while it runs; both come
        // back whatever the outcome.
        let mut engine = CpuEngine::new(net.clone(), opts.threads);
        let status = self.run_on(
            &mut engine,
            train,
            val,
            opts,
            until_epochs,
            interrupt,
            on_epoch,
        );
        net.set_params(engine.network().params())?;
        status
    }

    /// As [`TrainState::run`] on any [`Engine`] holding the run's current weights: the loop
    /// talks to the engine only (one training step per batch, inference for the validation
    /// loss, the learning rate). The state's optimiser record goes in through
    /// [`Engine::import_optimizer`] first and comes back through [`Engine::export_optimizer`]
    /// whatever the outcome, so the state (what checkpoints save) is whole after every call.
    ///
    /// # Errors
    /// As [`TrainState::run`].
    #[allow(clippy::too_many_arguments)]
    pub fn run_on(
        &mut self,
        engine: &mut dyn Engine,
        train: &Windows,
        val: Option<&Windows>,
        opts: &TrainOptions,
        until_epochs: usize,
        interrupt: Option<&AtomicBool>,
        on_epoch: &mut dyn FnMut(&EpochRecord),
    ) -> Result<Status> {
        opts.validate()?;
        let n_params = engine.network().n_params();
        if train.is_empty() {
            return Err(Error::NotEnoughData {
                what: "training".into(),
                needed: 1,
                got: 0,
            });
        }
        if self.order.len() != train.len() || self.best_params.len() != n_params {
            return Err(Error::config(
                "resume",
                format!(
                    "the saved training state covers {} windows and {} parameters, but this run has {} and {}; resume with the same data and configuration",
                    self.order.len(),
                    self.best_params.len(),
                    train.len(),
                    n_params
                ),
            ));
        }
        engine.import_optimizer(&self.adam)?;
        let status = self.steps_on(engine, train, val, opts, until_epochs, interrupt, on_epoch);
        self.adam = engine.export_optimizer();
        status
    }

    /// The loop of [`TrainState::run_on`], checked and with the optimiser state in the engine.
    #[allow(clippy::too_many_arguments)]
    fn steps_on(
        &mut self,
        engine: &mut dyn Engine,
        train: &Windows,
        val: Option<&Windows>,
        opts: &TrainOptions,
        until_epochs: usize,
        interrupt: Option<&AtomicBool>,
        on_epoch: &mut dyn FnMut(&EpochRecord),
    ) -> Result<Status> {
        let mut shuffle_rng = self.shuffle_rng.restore(self.seed);
        let mut dropout_rng = self.dropout_rng.restore(self.seed);

        let mut batch = Batch::default();
        let mut idx: Vec<usize> = Vec::with_capacity(opts.batch_size);
        let spec = engine.network().spec();
        let uses_dropout = spec.dropout > 0.0 || spec.recurrent_dropout > 0.0;
        let taus = opts.taus();
        let limit = until_epochs.min(opts.epochs);
        while !self.finished && self.epochs_done < limit {
            let epoch = self.epochs_done + 1;
            let t0 = Instant::now();
            if self.shuffled_for != epoch && opts.shuffle {
                if opts.sampling == Sampling::PerSeries {
                    per_series_order(&mut self.order, train.index(), &mut shuffle_rng);
                }
                shuffle(&mut self.order, &mut shuffle_rng);
                self.shuffle_rng = RngState::of(&shuffle_rng);
                self.shuffled_for = epoch;
            }
            let n_batches = self.order.len().div_ceil(opts.batch_size);
            while self.next_batch < n_batches {
                if interrupt.is_some_and(|f| f.load(Ordering::Relaxed)) {
                    self.partial_seconds += t0.elapsed().as_secs_f64();
                    self.dropout_rng = RngState::of(&dropout_rng);
                    return Ok(Status::Interrupted);
                }
                let bi = self.next_batch;
                let lo = bi * opts.batch_size;
                let chunk = &self.order[lo..(lo + opts.batch_size).min(self.order.len())];
                idx.clear();
                idx.extend(chunk.iter().map(|&w| w as usize));
                batch.fill(train, &idx);
                let rng: Option<&mut Rng> = if uses_dropout {
                    Some(&mut dropout_rng)
                } else {
                    None
                };
                let step = engine.train_step(
                    &StepBatch {
                        x: &batch.x,
                        xf: &batch.xf,
                        y: &batch.y,
                        rows: chunk.len(),
                        steps: train.lookback(),
                    },
                    match opts.loss() {
                        Loss::Quantile => StepLoss::Pinball(&taus),
                        l => StepLoss::Plain(l),
                    },
                    rng,
                    opts.clip_norm,
                );
                let loss = step.loss;
                if !step.applied {
                    engine.set_params(&self.best_params)?;
                    return Err(Error::Diverged {
                        epoch,
                        batch: bi + 1,
                        loss,
                    });
                }
                self.partial_loss += loss as f64 * chunk.len() as f64;
                self.next_batch += 1;
            }
            self.dropout_rng = RngState::of(&dropout_rng);
            let train_loss = self.partial_loss / train.len() as f64;
            let val_loss = val.map(|v| engine_loss(engine, v, 256, opts.loss(), &taus));
            let lr_used = engine.learning_rate();
            let decision = match val_loss {
                Some(v) if v.is_finite() => {
                    if self.plateau.update(v) {
                        engine.set_learning_rate(
                            (lr_used * opts.reduce_lr_factor).max(opts.min_learning_rate),
                        );
                    }
                    self.stopper.update(epoch, v)
                }
                Some(v) => {
                    engine.set_params(&self.best_params)?;
                    return Err(Error::Diverged {
                        epoch,
                        batch: 0,
                        loss: v as f32,
                    });
                }
                None => Decision::Improved,
            };
            if decision == Decision::Improved {
                self.best_params.copy_from_slice(engine.network().params());
            }
            let seconds = self.partial_seconds + t0.elapsed().as_secs_f64();
            let rec = EpochRecord {
                epoch,
                train_loss,
                val_loss,
                learning_rate: lr_used,
                best_epoch: if val.is_some() {
                    self.stopper.best_epoch()
                } else {
                    epoch
                },
                seconds,
            };
            self.epochs_done = epoch;
            self.next_batch = 0;
            self.partial_loss = 0.0;
            self.partial_seconds = 0.0;
            self.seconds += seconds;
            on_epoch(&rec);
            self.history.push(rec);
            if decision == Decision::Stop {
                self.stopped_early = true;
                self.finished = true;
            } else if self.epochs_done >= opts.epochs {
                self.finished = true;
            }
        }
        Ok(if self.finished {
            Status::Finished
        } else {
            Status::Paused
        })
    }

    /// The best epoch so far (the last one without validation).
    pub fn best_epoch(&self) -> usize {
        match self.history.last() {
            Some(r) => r.best_epoch,
            None => 0,
        }
    }

    /// Loads the best weights into `net` and reports.
    ///
    /// # Errors
    /// `net` does not match the state.
    pub fn finish(self, net: &mut Network) -> Result<TrainReport> {
        net.set_params(&self.best_params)?;
        let best_epoch = self.best_epoch();
        Ok(TrainReport {
            best_val_loss: self
                .history
                .get(best_epoch.saturating_sub(1))
                .and_then(|r| r.val_loss),
            history: self.history,
            best_epoch,
            stopped_early: self.stopped_early,
            diverged: None,
            seconds: self.seconds,
        })
    }
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
    let mut state = TrainState::new(net, train.len(), opts, seed);
    state.run(net, train, val, opts, opts.epochs, None, on_epoch)?;
    state.finish(net)
}

/// Fills `order` (as many slots as windows) with an equal share of windows from every series of
/// `index`: the first `len % series` series get one more. Each series' windows are taken in a
/// shuffled order, cycling through fresh shuffles when its share exceeds its windows.
fn per_series_order(order: &mut [u32], index: &crate::window::WindowIndex, rng: &mut Rng) {
    let n_seg = index.segments().len().max(1);
    let (q, extra) = (order.len() / n_seg, order.len() % n_seg);
    let mut at = 0;
    let mut pool: Vec<u32> = Vec::new();
    for k in 0..index.segments().len() {
        let share = q + usize::from(k < extra);
        let windows = index.segment_windows(k);
        let mut taken = 0;
        while taken < share {
            pool.clear();
            pool.extend(windows.clone().map(|w| w as u32));
            shuffle(&mut pool, rng);
            let m = (share - taken).min(pool.len());
            order[at..at + m].copy_from_slice(&pool[..m]);
            at += m;
            taken += m;
        }
    }
}

/// Fisher–Yates shuffle from the given generator (the draws are `usize` whatever `T` is, so the
/// order does not depend on the element type).
pub fn shuffle<T>(v: &mut [T], rng: &mut Rng) {
    for i in (1..v.len()).rev() {
        let j = rng.gen_range(0..=i);
        v.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::{Segment, WindowIndex};

    #[test]
    fn per_series_order_gives_every_series_an_equal_share() {
        // Windows 0..90 belong to series 0, 90..96 to series 1, 96..100 to series 2.
        let index = WindowIndex::new(vec![
            Segment {
                series: 0,
                origins: 10..100,
            },
            Segment {
                series: 1,
                origins: 210..216,
            },
            Segment {
                series: 2,
                origins: 310..314,
            },
        ]);
        let mut order = vec![0; 100];
        per_series_order(&mut order, &index, &mut rng_for(1, streams::SHUFFLE));
        let count = |r: std::ops::Range<u32>| order.iter().filter(|w| r.contains(w)).count();
        // 100 slots over 3 series: 34, 33, 33.
        assert_eq!((count(0..90), count(90..96), count(96..100)), (34, 33, 33));
        // A series with fewer windows than its share cycles through all of them evenly.
        for w in 96..100 {
            let n = order.iter().filter(|&&x| x == w).count();
            assert!((8..=9).contains(&n), "window {w} drawn {n} times");
        }
        // The long series' share has no repeats.
        let mut long: Vec<u32> = order.iter().copied().filter(|w| *w < 90).collect();
        long.sort_unstable();
        long.dedup();
        assert_eq!(long.len(), 34);
    }
}
