//! Command-line flags (clap derive). Flags have no defaults of their own where a config file can
//! set the value: `None` means "use the config file, else the library default".

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Train, evaluate and forecast with LSTM networks on time-series CSV files.
#[derive(Debug, Parser)]
#[command(name = "lstmcast", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load a CSV and summarise it: rows, span, frequency, columns.
    Inspect(InspectArgs),
    /// Run one of the three reference Keras examples exactly (sine data, no scaling).
    Demo(DemoArgs),
}

/// Columns and missing values: shared by every command that reads a CSV.
#[derive(Debug, Args, Clone, Default)]
pub struct DataArgs {
    /// The CSV file (header row, a time column, numeric columns).
    #[arg(long)]
    pub data: PathBuf,
    /// The time column (default: the first column if it reads as times).
    #[arg(long)]
    pub time_col: Option<String>,
    /// Target column(s), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub target: Option<Vec<String>>,
    /// Input feature columns, comma-separated (default: every numeric column).
    #[arg(long, value_delimiter = ',')]
    pub features: Option<Vec<String>>,
    /// Fill missing values: none (error), linear or forward.
    #[arg(long)]
    pub fill: Option<String>,
}

/// `lstmcast inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Data options.
    #[command(flatten)]
    pub data: DataArgs,
}

/// `lstmcast demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Which example: 1 (univariate), 2 (sin + cos), 3 (stacked, 5 steps ahead).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=3))]
    pub example: u8,
    /// Random seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Epochs (the reference uses 20).
    #[arg(long, default_value_t = 20)]
    pub epochs: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}
