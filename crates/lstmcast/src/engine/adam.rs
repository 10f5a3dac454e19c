//! Adam exactly as Keras 3 implements it: epsilon on the uncorrected `sqrt(v)`, bias correction
//! folded into the step size, betas for the correction powers rounded through f32.

use super::kernels::{adam_update, AdamStep};
use serde::{Deserialize, Serialize};

/// Adam hyper-parameters (Keras defaults).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamConfig {
    /// Learning rate (default 1e-3).
    pub learning_rate: f64,
    /// First-moment decay (0.9).
    pub beta_1: f64,
    /// Second-moment decay (0.999).
    pub beta_2: f64,
    /// ε (1e-7).
    pub epsilon: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            learning_rate: 1e-3,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
        }
    }
}

/// Adam state: moments per parameter and the step count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Adam {
    /// Hyper-parameters; `learning_rate` may be changed between steps (reduce-on-plateau).
    pub config: AdamConfig,
    /// First moments.
    pub m: Vec<f32>,
    /// Second moments.
    pub v: Vec<f32>,
    /// Steps taken.
    pub iterations: u64,
}

impl Adam {
    /// Fresh state for `n` parameters.
    pub fn new(n: usize, config: AdamConfig) -> Adam {
        Adam {
            config,
            m: vec![0.0; n],
            v: vec![0.0; n],
            iterations: 0,
        }
    }

    /// One update of `weights` with gradient `grad · grad_scale` (`grad_scale` < 1 clips).
    pub fn step(&mut self, weights: &mut [f32], grad: &[f32], grad_scale: f32) {
        assert_eq!(
            weights.len(),
            self.m.len(),
            "adam state does not match parameter count"
        );
        self.iterations += 1;
        let t = self.iterations as i32;
        let c = &self.config;
        // Keras (TF backend) forms beta^t from the float32-rounded betas.
        let b1 = c.beta_1 as f32 as f64;
        let b2 = c.beta_2 as f32 as f64;
        let alpha = c.learning_rate * (1.0 - b2.powi(t)).sqrt() / (1.0 - b1.powi(t));
        let s = AdamStep {
            alpha: alpha as f32,
            one_minus_b1: (1.0 - c.beta_1) as f32,
            one_minus_b2: (1.0 - c.beta_2) as f32,
            epsilon: c.epsilon as f32,
            grad_scale,
        };
        adam_update(weights, grad, &mut self.m, &mut self.v, s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_step_moves_by_lr_times_sign() {
        // Hand derivation, step 1: m = 0.1 g, v = 0.001 g², alpha = lr·sqrt(0.001)/0.1, so
        // Δw = −lr · sqrt(0.001) g / (sqrt(0.001) |g| + ε) ≈ −lr · sign(g) for |g| ≫ ε.
        let mut w = vec![1.0f32, 1.0, 1.0];
        let mut a = Adam::new(
            3,
            AdamConfig {
                learning_rate: 0.01,
                ..Default::default()
            },
        );
        a.step(&mut w, &[0.5, -2.0, 0.0], 1.0);
        assert!(
            (w[0] - 0.99).abs() < 1e-6 && (w[1] - 1.01).abs() < 1e-6,
            "{w:?}"
        );
        assert_eq!(
            w[2], 1.0,
            "zero gradient leaves the weight unchanged (no 0/0)"
        );
    }
}
