//! The search space of `tune` as data (`[tune]` in the configuration file): what may be
//! searched and how the search is ranked. Sampling and the search itself live in [`crate::tune`].

use crate::normalize::Normalize;
use serde::{Deserialize, Serialize};

/// The search space (`[tune]` in the configuration file). Empty lists take defaults derived from
/// the data and the configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TuneSpace {
    /// Trials to sample (default 20).
    pub trials: usize,
    /// Lookbacks to choose from (default: 1, 2 and 3 seasonal periods, or 8, 16, 32 without a
    /// season; those that leave the training split too short are dropped).
    pub lookback: Vec<usize>,
    /// Layer stacks to choose from (default `[[32], [64], [64, 32]]`).
    pub layers: Vec<Vec<usize>>,
    /// Dropouts to choose from (default `[0, 0.1, 0.2]`).
    pub dropout: Vec<f32>,
    /// Learning-rate range `[low, high]`, sampled log-uniformly (default `[3e-4, 1e-2]`).
    pub learning_rate: Vec<f64>,
    /// Batch sizes to choose from (default `[16, 32, 64]`).
    pub batch_size: Vec<usize>,
    /// Normalisations to choose from (default: global, window and diff when the configuration
    /// says `auto`, else the configured one).
    pub normalize: Vec<Normalize>,
    /// Calendar-feature settings to choose from (default: the configured one), e.g.
    /// `["auto", "none"]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub calendar: Vec<crate::covariates::Calendar>,
    /// Epochs of the first rung (default 5).
    pub min_epochs: usize,
    /// Each rung keeps the best 1/`eta` and multiplies the epochs by `eta` (default 3).
    pub eta: usize,
    /// What trials are ranked by (default the point forecast's validation score).
    pub select: Select,
}

/// What `tune` ranks trials by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Select {
    /// The point forecast: validation MASE (MSE where the data has no MASE scale).
    #[default]
    Point,
    /// The validation MSIS of a quantile model's bands (`--loss quantile`).
    Msis,
}

option_names!(Select, "select", {
    Point => "point",
    Msis => "msis",
});

impl Default for TuneSpace {
    fn default() -> Self {
        TuneSpace {
            trials: 20,
            lookback: Vec::new(),
            layers: Vec::new(),
            dropout: Vec::new(),
            learning_rate: Vec::new(),
            batch_size: Vec::new(),
            normalize: Vec::new(),
            calendar: Vec::new(),
            min_epochs: 5,
            eta: 3,
            select: Select::Point,
        }
    }
}
