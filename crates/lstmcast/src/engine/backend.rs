//! The engine boundary: what the training loop, early stopping, checkpoints and `tune` ask of a
//! device, at the granularity of a training step (one dispatch per batch: the fused kernels
//! behind it are the point). [`CpuEngine`] is this machine's implementation; a GPU one plugs in
//! behind the same trait. [`Network`] stays the portable record of named weights that every
//! engine imports and exports, so a model trained on one device predicts on any other.

use super::kernels::sum_squares;
use super::parallel::{DataParallel, StepLoss};
use super::{Adam, AdamConfig, Device, Network, Rng, Workspace};
use crate::error::{Error, Result};

/// One training batch, in the engine's layouts: `x` time-major `[steps, rows, inputs]`, `xf`
/// `[rows, output steps, step inputs]` (empty without), `y` `[rows, outputs]`.
#[derive(Debug, Clone, Copy)]
pub struct StepBatch<'a> {
    /// Inputs.
    pub x: &'a [f32],
    /// The head's per-step inputs.
    pub xf: &'a [f32],
    /// Targets.
    pub y: &'a [f32],
    /// Windows in the batch.
    pub rows: usize,
    /// Time steps per window.
    pub steps: usize,
}

/// What a training step reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepOutcome {
    /// The batch's mean loss.
    pub loss: f32,
    /// The gradient's global L2 norm before clipping.
    pub grad_norm: f64,
    /// Whether the weights were updated (not when the loss or the gradient is not finite).
    pub applied: bool,
}

/// A device that trains and runs one network.
pub trait Engine: Send {
    /// The device.
    fn device(&self) -> Device;
    /// The network as it is now (weights exported to the portable record).
    fn network(&self) -> &Network;
    /// Replaces every weight.
    ///
    /// # Errors
    /// A length mismatch.
    fn set_params(&mut self, params: &[f32]) -> Result<()>;
    /// Forward and backward over `batch` (dropout masks from `rng` when given), the gradient
    /// clipped to `clip_norm` and one optimiser update; nothing is updated when the loss or
    /// the gradient is not finite.
    fn train_step(
        &mut self,
        batch: &StepBatch,
        loss: StepLoss,
        rng: Option<&mut Rng>,
        clip_norm: Option<f64>,
    ) -> StepOutcome;
    /// Inference (no dropout) over `rows` windows; returns `[rows, outputs]`.
    fn predict(&mut self, x: &[f32], xf: &[f32], rows: usize, steps: usize) -> &[f32];
    /// The optimiser state exported to its portable record (moments, step count and
    /// hyper-parameters), for checkpoints: a copy, wherever the engine keeps it.
    fn export_optimizer(&self) -> Adam;
    /// Replaces the optimiser state with `state` (a fresh one, or one exported by any engine:
    /// a resumed run continues bit-identically).
    ///
    /// # Errors
    /// A state for another number of parameters.
    fn import_optimizer(&mut self, state: &Adam) -> Result<()>;
    /// The learning rate of the next step.
    fn learning_rate(&self) -> f64;
    /// Sets the learning rate of the next steps (the reduce-on-plateau schedule).
    fn set_learning_rate(&mut self, learning_rate: f64);
}

/// The CPU engine: the fused kernels (AVX2+FMA where the CPU has them), a batch with the work
/// for several chunks ([`super::chunk_count`]) split across `threads`.
#[derive(Debug, Clone)]
pub struct CpuEngine {
    net: Network,
    adam: Adam,
    step: DataParallel,
    ws: Workspace,
}

impl CpuEngine {
    /// An engine holding `net`, on up to `threads` threads, with a fresh optimiser state (Keras'
    /// defaults; [`Engine::import_optimizer`] replaces it).
    pub fn new(net: Network, threads: usize) -> CpuEngine {
        CpuEngine {
            step: DataParallel::new(&net, threads),
            ws: Workspace::new(&net),
            adam: Adam::new(net.n_params(), AdamConfig::default()),
            net,
        }
    }
}

impl Engine for CpuEngine {
    fn device(&self) -> Device {
        Device::Cpu
    }

    fn network(&self) -> &Network {
        &self.net
    }

    fn set_params(&mut self, params: &[f32]) -> Result<()> {
        self.net.set_params(params)
    }

    fn train_step(
        &mut self,
        batch: &StepBatch,
        loss: StepLoss,
        rng: Option<&mut Rng>,
        clip_norm: Option<f64>,
    ) -> StepOutcome {
        let l = self.step.step(
            &self.net,
            batch.x,
            batch.xf,
            batch.y,
            (batch.rows, batch.steps),
            loss,
            rng,
        );
        let norm2 = sum_squares(self.step.grad());
        let applied = l.is_finite() && norm2.is_finite();
        if applied {
            let scale = match clip_norm {
                Some(c) if norm2.sqrt() > c => (c / norm2.sqrt()) as f32,
                _ => 1.0,
            };
            self.adam
                .step(self.net.params_mut(), self.step.grad(), scale);
        }
        StepOutcome {
            loss: l,
            grad_norm: norm2.sqrt(),
            applied,
        }
    }

    fn predict(&mut self, x: &[f32], xf: &[f32], rows: usize, steps: usize) -> &[f32] {
        self.net.predict_with(&mut self.ws, x, xf, rows, steps)
    }

    fn export_optimizer(&self) -> Adam {
        self.adam.clone()
    }

    fn import_optimizer(&mut self, state: &Adam) -> Result<()> {
        let n = self.net.n_params();
        if state.m.len() != n || state.v.len() != n {
            return Err(Error::config(
                "resume",
                format!(
                    "the optimiser state covers {} parameters, but the network has {n}; resume with the same configuration",
                    state.m.len()
                ),
            ));
        }
        self.adam.clone_from(state);
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.adam.config.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f64) {
        self.adam.config.learning_rate = learning_rate;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{rng_for, NetworkSpec};

    #[test]
    fn optimizer_state_goes_out_and_in_whole_and_a_foreign_one_is_refused() {
        let spec = NetworkSpec {
            n_inputs: 1,
            layers: vec![3],
            n_outputs: 2,
            dropout: 0.0,
            recurrent_dropout: 0.0,
            step_inputs: 0,
            steps: 1,
        };
        let net = Network::new(spec, &mut rng_for(1, 1)).unwrap();
        let n = net.n_params();
        let mut state = Adam::new(n, AdamConfig::default());
        state
            .m
            .iter_mut()
            .enumerate()
            .for_each(|(i, m)| *m = i as f32);
        state.iterations = 7;
        let mut engine = CpuEngine::new(net, 1);
        engine.import_optimizer(&state).unwrap();
        assert_eq!(engine.export_optimizer(), state);
        engine.set_learning_rate(0.25);
        assert_eq!(engine.learning_rate(), 0.25);
        assert_eq!(engine.export_optimizer().config.learning_rate, 0.25);
        let foreign = Adam::new(n + 1, AdamConfig::default());
        assert!(engine.import_optimizer(&foreign).is_err());
    }
}
