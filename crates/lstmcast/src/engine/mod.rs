//! The fused LSTM engine: forward and backpropagation through time on flat `f32` buffers, Keras'
//! initialisers and Adam, vectorised gate kernels with run-time AVX2/FMA dispatch.

pub mod adam;
pub mod init;
pub mod kernels;
pub mod network;

pub use adam::{Adam, AdamConfig};
pub use network::{Network, NetworkSpec, ParamInfo, Workspace};

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
