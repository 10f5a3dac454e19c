//! Early stopping and reduce-on-plateau as pure state machines over the validation loss, with
//! Keras' semantics: an epoch improves when `loss < best − min_delta`; after `patience` epochs
//! without improvement, stop (or reduce the learning rate and start waiting again).

use serde::{Deserialize, Serialize};

/// What to do after an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// New best: keep these weights.
    Improved,
    /// No improvement yet, keep going.
    Continue,
    /// Patience used up: stop and restore the best weights.
    Stop,
}

/// Early stopping on a monitored loss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EarlyStopping {
    patience: usize,
    min_delta: f64,
    #[serde(with = "any_f64")]
    best: f64,
    best_epoch: usize,
    wait: usize,
    /// Epochs before this one are never kept and never count towards patience.
    #[serde(default)]
    warmup: usize,
}

impl EarlyStopping {
    /// `patience` 0 never stops (but still tracks the best epoch).
    pub fn new(patience: usize, min_delta: f64) -> Self {
        EarlyStopping {
            patience,
            min_delta,
            best: f64::INFINITY,
            best_epoch: 0,
            wait: 0,
            warmup: 0,
        }
    }

    /// The same, but epochs before `min_epochs` are neither kept nor counted: a validation
    /// loss that is lowest in the first epochs by noise cannot end training there.
    pub fn with_min_epochs(self, min_epochs: usize) -> Self {
        EarlyStopping {
            warmup: min_epochs,
            ..self
        }
    }

    /// Feeds epoch `epoch`'s loss.
    pub fn update(&mut self, epoch: usize, loss: f64) -> Decision {
        if epoch < self.warmup {
            return Decision::Continue;
        }

        if loss < self.best - self.min_delta {
            self.best = loss;
            self.best_epoch = epoch;
            self.wait = 0;
            return Decision::Improved;
        }
        self.wait += 1;
        if self.patience > 0 && self.wait >= self.patience {
            Decision::Stop
        } else {
            Decision::Continue
        }
    }

    /// Best epoch so far (0 before any).
    pub fn best_epoch(&self) -> usize {
        self.best_epoch
    }

    /// Best loss so far.
    pub fn best(&self) -> f64 {
        self.best
    }
}

/// Reduce-on-plateau: says when to cut the learning rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plateau {
    inner: EarlyStopping,
}

impl Plateau {
    /// `patience` 0 never reduces.
    pub fn new(patience: usize, min_delta: f64) -> Self {
        Plateau {
            inner: EarlyStopping::new(patience, min_delta),
        }
    }

    /// Feeds a loss; true when the rate should be reduced now (the wait then restarts).
    pub fn update(&mut self, loss: f64) -> bool {
        if self.inner.patience == 0 {
            return false;
        }
        let epoch = self.inner.best_epoch + self.inner.wait + 1;
        if self.inner.update(epoch, loss) == Decision::Stop {
            self.inner.wait = 0;
            return true;
        }
        false
    }
}

/// JSON has no infinity (the best loss before any epoch): non-finite values as strings.
mod any_f64 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else {
            s.serialize_str(&v.to_string())
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Num(f64),
        Text(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        match Repr::deserialize(d)? {
            Repr::Num(v) => Ok(v),
            Repr::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_after_patience_epochs_without_improvement() {
        let mut s = EarlyStopping::new(2, 0.0);
        assert_eq!(s.update(1, 1.0), Decision::Improved);
        assert_eq!(s.update(2, 0.5), Decision::Improved);
        assert_eq!(s.update(3, 0.6), Decision::Continue);
        assert_eq!(s.update(4, 0.5), Decision::Stop, "equal is not better");
        assert_eq!(s.best_epoch(), 2);
        assert_eq!(s.best(), 0.5);
    }

    #[test]
    fn epochs_before_min_epochs_are_neither_kept_nor_counted() {
        let mut s = EarlyStopping::new(2, 0.0).with_min_epochs(3);
        // The lowest loss is epoch 1's, but it is before the minimum.
        assert_eq!(s.update(1, 0.1), Decision::Continue);
        assert_eq!(
            s.update(2, 0.2),
            Decision::Continue,
            "patience not counted yet"
        );
        assert_eq!(s.update(3, 0.5), Decision::Improved);
        assert_eq!(s.update(4, 0.6), Decision::Continue);
        assert_eq!(s.update(5, 0.6), Decision::Stop);
        assert_eq!(s.best_epoch(), 3);
    }

    #[test]
    fn min_delta_requires_a_real_improvement() {
        let mut s = EarlyStopping::new(3, 0.1);
        s.update(1, 1.0);
        assert_eq!(s.update(2, 0.95), Decision::Continue, "0.05 < min_delta");
        assert_eq!(s.update(3, 0.85), Decision::Improved);
        assert_eq!(s.best_epoch(), 3);
    }

    #[test]
    fn improvement_resets_the_wait() {
        let mut s = EarlyStopping::new(2, 0.0);
        s.update(1, 1.0);
        assert_eq!(s.update(2, 2.0), Decision::Continue);
        assert_eq!(s.update(3, 0.9), Decision::Improved);
        assert_eq!(s.update(4, 2.0), Decision::Continue);
        assert_eq!(s.update(5, 2.0), Decision::Stop);
    }

    #[test]
    fn zero_patience_never_stops() {
        let mut s = EarlyStopping::new(0, 0.0);
        s.update(1, 1.0);
        for e in 2..50 {
            assert_ne!(s.update(e, 5.0), Decision::Stop);
        }
        assert_eq!(s.best_epoch(), 1);
    }

    #[test]
    fn plateau_fires_every_patience_epochs_without_improvement() {
        let mut p = Plateau::new(2, 0.0);
        let fired: Vec<bool> = [1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.6, 0.6]
            .iter()
            .map(|&l| p.update(l))
            .collect();
        assert_eq!(
            fired,
            vec![false, false, true, false, true, false, false, true]
        );
        let mut off = Plateau::new(0, 0.0);
        assert!(!(0..10).any(|_| off.update(1.0)));
    }
}
