//! lstmcast: train LSTM forecasters on time-series CSVs the way an expert would.
//!
//! The data flows one way: CSV or Parquet → [`Panel`] (one series or many, keyed by id) →
//! [`PanelSplit`] (by calendar, common to all series) → fitted [`Scaler`]s → [`Windows`] over
//! every series → [`engine`] → one trained global model → forecasts and metrics → run folder.

#[macro_use]
mod names;
pub mod backtest;
pub mod config;
pub mod covariates;
pub mod data;
pub mod demo;
pub mod engine;
pub mod error;
pub mod ets;
pub mod forecaster;
#[doc(hidden)]
pub mod fuzz;
pub mod metrics;
pub mod normalize;
pub mod plot;
pub mod report;
pub mod run;
pub mod scale;
pub mod split;
pub mod store;
pub mod theta;
mod threads;
pub mod time;
pub mod train;
pub mod transform;
pub mod tune;
pub mod window;

pub use config::{ForecasterConfig, ModelConfig, Strategy};
pub use data::{load, Fill, LoadOptions, Panel};
pub use error::{Error, Result};
pub use forecaster::{Evaluation, Forecast, SeriesForecast, TrainedForecaster};
pub use normalize::{Normalize, WindowNorm};
pub use run::{DataSource, TrainingRun};
pub use scale::{Scaler, ScalerKind, ScalerScope};
pub use split::{PanelSplit, Part, SplitSpec, Splits};
pub use threads::{cores, threads_or_cores};
pub use time::{Frequency, Timestamp};
pub use train::{Sampling, TrainOptions};
pub use transform::Transform;
pub use window::{WindowIndex, Windows};

/// The README's Rust example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
