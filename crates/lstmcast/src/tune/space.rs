//! Sampling the search space: the defaults derived from the data, the quasi-random design of
//! trials, and the rungs of successive halving. The space itself is data: [`crate::config::search`].

use super::*;
use crate::config::ForecasterConfig;
use crate::data::Panel;
use crate::engine::rng_for;
use crate::error::{Error, Result};
use crate::forecaster::Prepared;
use crate::normalize::Normalize;
use crate::train::streams;
use serde::{Deserialize, Serialize};

/// One trial's hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialParams {
    /// Lookback.
    pub lookback: usize,
    /// Units per layer.
    pub layers: Vec<usize>,
    /// Dropout.
    #[serde(serialize_with = "crate::config::short_f32")]
    pub dropout: f32,
    /// Learning rate.
    pub learning_rate: f64,
    /// Batch size.
    pub batch_size: usize,
    /// Normalisation.
    pub normalize: Normalize,
    /// Calendar features.
    #[serde(default)]
    pub calendar: crate::covariates::Calendar,
}

impl TrialParams {
    /// The parameters' names, in field order (columns of `trials.csv`, one plot each).
    pub const NAMES: [&'static str; 7] = [
        "lookback",
        "layers",
        "dropout",
        "learning_rate",
        "batch_size",
        "normalize",
        "calendar",
    ];

    /// `base` with these parameters.
    pub fn apply(&self, base: &ForecasterConfig) -> ForecasterConfig {
        let mut c = base.clone();
        c.lookback = self.lookback;
        c.model.layers = self.layers.clone();
        c.model.dropout = self.dropout;
        c.training.learning_rate = self.learning_rate;
        c.training.batch_size = self.batch_size;
        c.normalize = self.normalize;
        c.calendar = self.calendar.clone();
        c
    }
}

impl TuneSpace {
    /// Fills the empty lists with defaults for `base` and `ts`, checks the rest, and leaves out
    /// the lookbacks that cannot fit the data (returned with the reason). The data is prepared
    /// on up to `threads` threads (the result does not depend on them).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the `tune` field, or no lookback that fits.
    pub fn resolve(
        &self,
        base: &ForecasterConfig,
        ts: &Panel,
        threads: usize,
    ) -> Result<(TuneSpace, Vec<String>)> {
        if self.select == Select::Msis && base.quantile_pairs().is_empty() {
            return Err(Error::config(
                "select",
                "msis scores a quantile model's bands on validation: it needs --loss quantile with the two quantiles of an --intervals level (e.g. --quantiles 0.1,0.5,0.9 for 80)",
            ));
        }
        let mut s = self.clone();
        let bad = |field: &str, why: String| Error::config(format!("tune.{field}"), why);
        if s.trials == 0 {
            return Err(bad("trials", "must be at least 1".into()));
        }
        if s.min_epochs == 0 {
            return Err(bad("min_epochs", "must be at least 1".into()));
        }
        if s.eta < 2 {
            return Err(bad("eta", format!("{} must be at least 2", s.eta)));
        }
        if s.lookback.is_empty() {
            let season = crate::forecaster::season_of(base, ts);
            let cands: Vec<usize> = if season > 1 {
                vec![season, 2 * season, 3 * season]
            } else {
                vec![8, 16, 32]
            };
            // Keep lookbacks that leave the training split at least as many windows as steps
            // (in the longest series of a panel).
            let train_rows = base
                .split
                .resolve(ts)?
                .series
                .iter()
                .map(|s| s.train.len())
                .max()
                .unwrap_or(0);
            s.lookback = cands
                .into_iter()
                .filter(|&l| 2 * (l + base.model_horizon()) <= train_rows)
                .collect();
            if s.lookback.is_empty() {
                s.lookback = vec![(train_rows / 4).max(1)];
            }
        }
        if s.layers.is_empty() {
            s.layers = vec![vec![32], vec![64], vec![64, 32]];
        }
        if s.dropout.is_empty() {
            s.dropout = vec![0.0, 0.1, 0.2];
        }
        if s.learning_rate.is_empty() {
            s.learning_rate = vec![3e-4, 1e-2];
        }
        if s.batch_size.is_empty() {
            s.batch_size = vec![16, 32, 64];
        }
        if s.calendar.is_empty() {
            // `auto` is a choice: where some lookback of the space gets calendar features,
            // trials with and without them compete (as `train` lets validation decide).
            let split = base.split.resolve(ts)?;
            let some = base.calendar == crate::covariates::Calendar::Auto
                && s.lookback.iter().any(|&l| {
                    let c = ForecasterConfig {
                        lookback: l,
                        ..base.clone()
                    };
                    c.calendar_features(ts, &split).is_ok_and(|f| !f.is_empty())
                });
            s.calendar = if some {
                vec![
                    crate::covariates::Calendar::None,
                    crate::covariates::Calendar::Auto,
                ]
            } else {
                vec![base.calendar.clone()]
            };
        }
        if s.normalize.is_empty() {
            s.normalize = match base.normalize {
                // `auto`'s candidates on this data; tuning is about the network, and plain
                // ETS has none to tune.
                Normalize::Auto => Prepared::new_on(base, ts, threads)?
                    .auto_candidates(base, true)
                    .into_iter()
                    .filter(|m| m.trains())
                    .collect(),
                m => vec![m],
            };
        }
        match s.learning_rate[..] {
            [lo, hi] if lo > 0.0 && lo <= hi && hi < 10.0 => {}
            [lr] if lr > 0.0 && lr < 10.0 => s.learning_rate = vec![lr, lr],
            _ => {
                return Err(bad(
                    "learning_rate",
                    format!(
                        "{:?} must be [low, high] with 0 < low ≤ high < 10 (or one rate)",
                        s.learning_rate
                    ),
                ))
            }
        }
        if s.normalize.contains(&Normalize::Auto) {
            return Err(bad(
                "normalize",
                "list the modes to search (global, window, diff); auto is not a mode".into(),
            ));
        }
        // Lookbacks that leave some part without a window cannot work: left out before any
        // trial runs, and said.
        let mut skipped = Vec::new();
        let mut feasible = Vec::new();
        for &l in &s.lookback {
            let cfg = ForecasterConfig {
                lookback: l,
                ..base.clone()
            };
            match Prepared::new_on(&cfg, ts, threads) {
                Ok(_) => feasible.push(l),
                Err(e) => skipped.push(format!("lookback {l} left out of the search: {e}")),
            }
        }
        if feasible.is_empty() {
            return Err(bad(
                "lookback",
                format!(
                    "no lookback of {:?} fits the data: {}",
                    s.lookback,
                    skipped.join("; ")
                ),
            ));
        }
        s.lookback = feasible;
        // Each sampled configuration must be valid on its own.
        for p in s.sample_all(base.seed) {
            p.apply(base)
                .validate()
                .map_err(|e| bad("space", e.to_string()))?;
        }
        Ok((s, skipped))
    }

    /// The design for `seed`: a Latin hypercube over the six dimensions, so that every choice
    /// of a list is drawn `⌊trials/len⌋` or `⌈trials/len⌉` times and the learning rates spread
    /// evenly over the log range (the space must be resolved).
    pub fn sample_all(&self, seed: u64) -> Vec<TrialParams> {
        use rand::Rng as _;
        let n = self.trials;
        let mut rng = rng_for(seed, streams::TUNE);
        // Per dimension: a random permutation of the n strata and a jitter inside each.
        let mut dimension = || -> Vec<f64> {
            let mut strata: Vec<usize> = (0..n).collect();
            crate::train::shuffle(&mut strata, &mut rng);
            strata
                .into_iter()
                .map(|k| (k as f64 + rng.gen::<f64>()) / n as f64)
                .collect()
        };
        let dims: Vec<Vec<f64>> = (0..6).map(|_| dimension()).collect();
        // The calendar dimension is drawn after the others, and only when it is searched, so
        // that a space without it samples what it sampled before calendars existed.
        let cal: Vec<f64> = if self.calendar.len() > 1 {
            dimension()
        } else {
            vec![0.0; n]
        };
        fn pick<T: Clone>(v: &[T], u: f64) -> T {
            v[((u * v.len() as f64) as usize).min(v.len() - 1)].clone()
        }
        let (lo, hi) = (self.learning_rate[0], self.learning_rate[1]);
        (0..n)
            .map(|i| TrialParams {
                lookback: pick(&self.lookback, dims[0][i]),
                layers: pick(&self.layers, dims[1][i]),
                dropout: pick(&self.dropout, dims[2][i]),
                learning_rate: (lo.ln() + dims[3][i] * (hi.ln() - lo.ln())).exp(),
                batch_size: pick(&self.batch_size, dims[4][i]),
                normalize: pick(&self.normalize, dims[5][i]),
                calendar: if self.calendar.is_empty() {
                    Default::default()
                } else {
                    pick(&self.calendar, cal[i])
                },
            })
            .collect()
    }

    /// Epoch budgets of the rungs for at most `max_epochs`: `min_epochs · etaᵏ`, the last one
    /// `max_epochs`.
    pub fn rungs(&self, max_epochs: usize) -> Vec<usize> {
        let mut r = vec![];
        let mut e = self.min_epochs.min(max_epochs);
        while e < max_epochs {
            r.push(e);
            e = e.saturating_mul(self.eta);
        }
        r.push(max_epochs);
        r
    }
}
