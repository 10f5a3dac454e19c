//! The fused LSTM engine: forward and backpropagation through time on flat `f32` buffers, Keras'
//! initialisers and Adam, vectorised gate kernels with run-time AVX2/FMA dispatch.

pub mod adam;
pub mod backend;
pub mod init;
pub mod kernels;
pub mod network;
pub mod parallel;

pub use adam::{Adam, AdamConfig};
pub use backend::{CpuEngine, Engine, StepBatch, StepOutcome};
pub use network::{Network, NetworkSpec, ParamInfo, Workspace};
pub use parallel::{chunk_count, window_work, DataParallel, StepLoss, CHUNK_ROWS, MIN_CHUNK_WORK};

/// The training loss the network's output is fitted with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Loss {
    /// Mean squared error (Keras' `mse`).
    #[default]
    Mse,
    /// Mean absolute error (L1): robust to outliers, and the loss MASE measures.
    Mae,
    /// The pinball loss of each output's quantile (`--loss quantile --quantiles …`): one output
    /// per quantile, per step and target.
    Quantile,
}

impl Loss {
    /// The loss of one error `e` and its derivative with respect to the prediction.
    #[inline]
    pub fn value_and_slope(self, e: f32) -> (f64, f32) {
        match self {
            Loss::Mse => ((e as f64) * (e as f64), 2.0 * e),
            // The subgradient 0 at e = 0 (a prediction exactly on target stays put).
            Loss::Mae => (
                (e as f64).abs(),
                (e > 0.0) as i32 as f32 - (e < 0.0) as i32 as f32,
            ),
            // Alone (without its quantiles) it is the median's pinball loss.
            Loss::Quantile => network::pinball(0.5, e),
        }
    }
}

option_names!(Loss, "loss", {
    Mse => "mse",
    Mae => "mae",
    Quantile => "quantile",
});

/// Where a network trains and predicts (`--device`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Device {
    /// This machine's cores, with the AVX2+FMA kernels where the CPU has them (the default).
    #[default]
    Cpu,
    /// An NVIDIA GPU by index: not built yet (the CUDA issue).
    Cuda(usize),
}

impl Device {
    /// Checks that this build can use the device.
    ///
    /// # Errors
    /// `cuda`: this lstmcast has no GPU backend.
    pub fn check(self) -> crate::Result<Device> {
        match self {
            Device::Cpu => Ok(self),
            Device::Cuda(n) => Err(crate::Error::DeviceUnavailable {
                device: format!("cuda:{n}"),
                reason: "this lstmcast has no CUDA backend yet; use --device cpu (the default)"
                    .into(),
            }),
        }
    }

    /// What the run folder records: `cpu (avx2+fma)` or `cpu (portable)`.
    pub fn describe(self) -> String {
        match self {
            Device::Cpu => format!(
                "cpu ({})",
                if kernels::simd_enabled() {
                    "avx2+fma"
                } else {
                    "portable"
                }
            ),
            Device::Cuda(n) => format!("cuda:{n}"),
        }
    }
}

impl std::str::FromStr for Device {
    type Err = crate::Error;

    /// Parses `cpu`, `cuda` or `cuda:N`.
    ///
    /// # Errors
    /// Any other name.
    fn from_str(text: &str) -> crate::Result<Device> {
        match text {
            "cpu" => Ok(Device::Cpu),
            "cuda" => Ok(Device::Cuda(0)),
            _ => text
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(Device::Cuda)
                .ok_or_else(|| {
                    crate::Error::config(
                        "device",
                        format!("'{text}' is not one of cpu, cuda, cuda:N"),
                    )
                }),
        }
    }
}

/// The random generator used everywhere (seeded, portable, stable across platforms).
pub type Rng = rand_chacha::ChaCha8Rng;

/// A generator for one purpose (`stream`: init, shuffle, dropout, ...) derived from the config seed,
/// so that each random source is independent and reproducible.
pub fn rng_for(seed: u64, stream: u64) -> Rng {
    use rand::SeedableRng;
    let mut r = Rng::seed_from_u64(seed);
    r.set_stream(stream);
    r
}
