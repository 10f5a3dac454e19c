//! What a run reports, as files: the run folder's CSV and JSON texts ([`files`]), written the same
//! way by the CLI and handed as the same texts to Python, and `report.html` for people
//! ([`html`]).

pub mod files;
pub mod html;

pub use files::{
    backtest_csv, backtest_json, folds_csv, forecast_csv, history_csv, metrics, metrics_json,
    predictions_csv, trials_csv,
};
