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
    /// Load a data file and summarise it: series, rows, span, frequency, columns and roles.
    Inspect(InspectArgs),
    /// Run one of the three reference Keras examples exactly (sine data, no scaling).
    Demo(DemoArgs),
    /// Train, evaluate against naive baselines, forecast, and write a run folder with plots.
    Train(Box<TrainArgs>),
    /// Re-score a saved model on a CSV with its saved split, scalers and configuration.
    Evaluate(EvaluateArgs),
    /// Forecast past the end of a CSV with a saved model.
    Forecast(ForecastArgs),
    /// Write report.html again for a run folder (train: with its data; tune and backtest: from
    /// their own files).
    Report(ReportArgs),
    /// Search lookback, layers, dropout, learning rate, batch size and normalisation
    /// (quasi-random sampling + successive halving, trials in parallel), then retrain the best.
    Tune(Box<TuneArgs>),
    /// Walk-forward evaluation over K origins beside naive baselines.
    Backtest(Box<BacktestArgs>),
}

/// `lstmcast train`. Every option can also be set in the `--config` TOML file; flags win.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Data options.
    #[command(flatten)]
    pub data: DataArgs,
    /// The run folder to create (must not exist or be empty; see --force). While training it
    /// holds a checkpoint, written after every epoch.
    #[arg(long, conflicts_with = "resume")]
    pub out: Option<PathBuf>,
    /// Continue an interrupted training from its folder (same data, same configuration); ends
    /// with the weights an uninterrupted run would have.
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
    /// Replace an existing run folder at --out (only lstmcast folders are ever replaced).
    #[arg(long)]
    pub force: bool,
    /// Threads to train on (default: every core): normalisation candidates and ensemble
    /// members at once, and a model's batches split across the rest where they carry the work
    /// (a batch of 32 windows of 24 steps and 50 units does). Results are bit-identical for any
    /// count.
    #[arg(long)]
    pub threads: Option<usize>,
    /// After validation chose the model and its epochs, train it again on the training and
    /// validation rows to score the test, and on every row to forecast past the data: all
    /// (default), val (training + validation rows for both), or none (the validation model
    /// scores and forecasts).
    #[arg(long, value_name = "none|val|all")]
    pub refit: Option<String>,
    /// Model and training options.
    #[command(flatten)]
    pub model: ModelArgs,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `lstmcast tune`. The search space comes from `[tune]` in `--config` and these flags (flags win).
#[derive(Debug, Args)]
pub struct TuneArgs {
    /// Data options.
    #[command(flatten)]
    pub data: DataArgs,
    /// The tuning folder to create (trials.csv, plots, and best/: the retrained best model).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing lstmcast folder at --out.
    #[arg(long)]
    pub force: bool,
    /// Model and training options: the fixed part of every trial (--epochs is the last rung).
    #[command(flatten)]
    pub model: ModelArgs,
    /// How the retrained best model is refitted (see `train --refit`): all (default), val, none.
    #[arg(long, value_name = "none|val|all")]
    pub refit: Option<String>,
    /// Trials to sample.
    #[arg(long)]
    pub trials: Option<usize>,
    /// Trials trained at once (default: the number of cores); results do not depend on it.
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Lookbacks to search, e.g. 12,24,36.
    #[arg(long = "search-lookback", value_delimiter = ',')]
    pub search_lookback: Option<Vec<usize>>,
    /// Layer stacks to search, separated by ',' like every list; a stack's layers by '-', e.g.
    /// 32,64,64-32.
    #[arg(long = "search-layers")]
    pub search_layers: Option<String>,
    /// Dropouts to search, e.g. 0,0.1,0.2.
    #[arg(long = "search-dropout", value_delimiter = ',')]
    pub search_dropout: Option<Vec<f32>>,
    /// Learning-rate range LOW,HIGH (log-uniform).
    #[arg(long = "search-learning-rate", value_delimiter = ',')]
    pub search_learning_rate: Option<Vec<f64>>,
    /// Batch sizes to search, e.g. 16,32,64.
    #[arg(long = "search-batch-size", value_delimiter = ',')]
    pub search_batch_size: Option<Vec<usize>>,
    /// Normalisations to search, e.g. global,window,diff.
    #[arg(long = "search-normalize", value_delimiter = ',')]
    pub search_normalize: Option<Vec<String>>,
    /// Calendar-feature settings to search, separated by ';', e.g. 'auto;none' or
    /// 'none;hour,weekday'.
    #[arg(long = "search-calendar", value_delimiter = ';')]
    pub search_calendar: Option<Vec<String>>,
    /// Epochs of the first successive-halving rung.
    #[arg(long)]
    pub min_epochs: Option<usize>,
    /// Keep the best 1/ETA of each rung, with ETA times the epochs.
    #[arg(long)]
    pub eta: Option<usize>,
    /// Rank trials by `point` (validation MASE, the default) or `msis` (the validation interval
    /// score of a quantile model's bands; needs --loss quantile).
    #[arg(long)]
    pub select: Option<String>,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `lstmcast backtest`.
#[derive(Debug, Args)]
pub struct BacktestArgs {
    /// Data options.
    #[command(flatten)]
    pub data: DataArgs,
    /// The backtest folder to create (backtest.csv, folds.csv, metrics.json, folds plot).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing lstmcast folder at --out.
    #[arg(long)]
    pub force: bool,
    /// Model and training options.
    #[command(flatten)]
    pub model: ModelArgs,
    /// Forecast origins, stepping through the test split.
    #[arg(long)]
    pub folds: usize,
    /// Retrain at every origin (every) or train once for the first (once).
    #[arg(long, default_value = "every")]
    pub refit: String,
    /// Training rows: expanding (from the first row) or sliding (the split's training length).
    #[arg(long, default_value = "expanding")]
    pub window: String,
    /// Folds trained at once with --refit every (default: the number of cores); results do not
    /// depend on it.
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Model, split and training options shared by `train`, `tune` and `backtest`. Each can also be
/// set in the `--config` file; flags win.
#[derive(Debug, Args, Clone, Default, PartialEq)]
pub struct ModelArgs {
    /// A TOML configuration file (for example a previous run's config.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Train, validation and test fractions of the distinct timestamps (common to every series
    /// of a panel) (default 0.7,0.1,0.2).
    #[arg(long)]
    pub split: Option<String>,
    /// Where validation and test start, as timestamps: VAL_START,TEST_START (e.g.
    /// 2017-01-01,2017-07-01); overrides --split.
    #[arg(
        long,
        value_name = "VAL_START,TEST_START",
        conflicts_with = "split_last"
    )]
    pub split_at: Option<String>,
    /// The last TEST_ROWS rows of each series are its test part and the VAL_ROWS before them its
    /// validation part, for panels whose series do not share a calendar; overrides --split.
    #[arg(long, value_name = "VAL_ROWS,TEST_ROWS")]
    pub split_last: Option<String>,
    /// Scaler per series or one shared by all series: series or global (default series).
    #[arg(long)]
    pub scaler_scope: Option<String>,
    /// How a panel's training windows are drawn: windows (every window once per epoch, the
    /// default) or per-series (every series an equal share).
    #[arg(long)]
    pub sampling: Option<String>,
    /// Scaler: standard, minmax, minmax:LO:HI or none (default standard).
    #[arg(long)]
    pub scaler: Option<String>,
    /// Target transform before scaling: auto (default: on one series, the values as they are and,
    /// where every target value is positive, their log compete for the ETS family), none,
    /// log, boxcox (lambda fitted on the training rows) or boxcox:LAMBDA.
    #[arg(long)]
    pub transform: Option<String>,
    /// Per-window normalisation: auto (default: the best on validation of ets, es,
    /// ets-residual and theta, on panels also of window and diff; where ETS cannot be used, of
    /// global, window and diff), global, window, diff, es (exponential-smoothing
    /// normalisation), ets-residual (a correction to the ETS forecast), ets (plain ETS as
    /// AutoETS fits it, no network) or theta (the standard Theta method, no network). Plain ETS
    /// and Theta are fitted again on the rows before the test and on every row before the
    /// forecast.
    #[arg(long)]
    pub normalize: Option<String>,
    /// Epochs at the start of training that are never kept as the best and never count towards
    /// the early-stopping patience (default 0).
    #[arg(long)]
    pub warmup: Option<usize>,
    /// Prediction-interval levels in percent, e.g. 80,95 (the default), or none: split conformal
    /// on the validation rows' errors, per horizon step.
    #[arg(long)]
    pub intervals: Option<String>,
    /// For a panel: per series, the kept model or a statistical forecast (plain ETS, Theta or
    /// their mean), whichever scores best on the series' validation rows shrunk toward the
    /// panel's ranking (choose), or one model for every series (none, the default).
    #[arg(long)]
    pub per_series: Option<String>,
    /// The best network averaged with the best statistical forecast (ets-theta where none was
    /// scored) where the mean scores lower on validation than what would be kept otherwise
    /// (auto), or never (none, the default).
    #[arg(long)]
    pub combine: Option<String>,
    /// Adaptive intervals: how many of its latest errors a series' bands follow on the test
    /// origins and in the forecast (default 150; 0: the bands as calibrated on validation).
    #[arg(long)]
    pub intervals_window: Option<usize>,
    /// Adaptive intervals, per level: how far a miss on the test origins widens that level's
    /// bands and a hit narrows them, so that the misses tend to the level's share (adaptive
    /// conformal inference; default 0.005; 0: off).
    #[arg(long)]
    pub intervals_rate: Option<f64>,
    /// Training loss: mse, mae or quantile (default: mae for es and ets-residual, mse
    /// otherwise).
    #[arg(long)]
    pub loss: Option<String>,
    /// With --loss quantile: the quantiles, one output each, e.g. 0.1,0.5,0.9 (an interval
    /// level whose two quantiles are there corrects their band on validation: conformalised
    /// quantile regression).
    #[arg(long)]
    pub quantiles: Option<String>,
    /// Time steps of history per window (default 24).
    #[arg(long)]
    pub lookback: Option<usize>,
    /// Steps ahead to forecast (default 1).
    #[arg(long)]
    pub horizon: Option<usize>,
    /// Multi-step strategy: direct or recursive (default direct).
    #[arg(long)]
    pub strategy: Option<String>,
    /// LSTM units per layer, bottom first, e.g. 64,32 (default 50).
    #[arg(long, value_delimiter = ',')]
    pub layers: Option<Vec<usize>>,
    /// Input dropout of each LSTM layer, in [0, 1) (default 0).
    #[arg(long)]
    pub dropout: Option<f32>,
    /// Networks trained from consecutive seeds once the normalisation is chosen (in parallel),
    /// their forecasts combined by the median (default 1).
    #[arg(long)]
    pub ensemble: Option<usize>,
    /// Recurrent (variational) dropout, in [0, 1) (default 0).
    #[arg(long)]
    pub recurrent_dropout: Option<f32>,
    /// Maximum epochs (default 100).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Mini-batch size (default 32).
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Adam learning rate (default 0.001).
    #[arg(long)]
    pub learning_rate: Option<f64>,
    /// Early-stopping patience in epochs, 0 = off (default 10).
    #[arg(long)]
    pub patience: Option<usize>,
    /// Minimum validation-loss decrease that counts as an improvement (default 0).
    #[arg(long)]
    pub min_delta: Option<f64>,
    /// Epochs without improvement before the learning rate is reduced, 0 = off (default 0).
    #[arg(long)]
    pub reduce_lr_patience: Option<usize>,
    /// Factor applied to the learning rate on a plateau (default 0.5).
    #[arg(long)]
    pub reduce_lr_factor: Option<f64>,
    /// Clip gradients to this global L2 norm (default off).
    #[arg(long)]
    pub clip_norm: Option<f64>,
    /// Seasonal period for the seasonal-naive baseline and MASE (default from the frequency: 24
    /// hourly, 7 daily, 5 business days, 52 weekly, 12 monthly, 4 quarterly, else 1).
    #[arg(long)]
    pub season: Option<usize>,
    /// Seed of every random source (default 42).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Calendar features from the timestamps, as future-known inputs: auto (default: what the
    /// frequency makes meaningful), none, or a list of hour, weekday, yearday, month.
    #[arg(long)]
    pub calendar: Option<String>,
    /// Where to train: cpu (default; the run folder's metrics.json records the kernels used).
    /// cuda is not built yet and is refused.
    #[arg(long)]
    pub device: Option<String>,
}

/// `lstmcast evaluate`.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// A run folder written by `lstmcast train`.
    #[arg(long)]
    pub model: PathBuf,
    /// The data to score: the columns the model was trained on, found by name (their order and
    /// other columns do not matter).
    #[arg(long)]
    pub data: PathBuf,
    /// Fill missing values: none (error), linear or forward (default: as in training).
    #[arg(long)]
    pub fill: Option<String>,
    /// Also write every test prediction to this CSV (an existing file only with --force).
    #[arg(long)]
    pub predictions: Option<PathBuf>,
    /// Where to predict: cpu (default); cuda is not built yet and is refused.
    #[arg(long)]
    pub device: Option<String>,
    /// Replace an existing --predictions file.
    #[arg(long)]
    pub force: bool,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `lstmcast report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A folder written by `lstmcast train`, `tune` or `backtest`.
    pub run: PathBuf,
    /// The data the run was trained on (a training run's report scores and forecasts it again
    /// with the saved model, as the run did; for a tune folder, also rewrites best/report.html).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Fill missing values: none (error), linear or forward (default: as in training).
    #[arg(long)]
    pub fill: Option<String>,
}

/// `lstmcast forecast`.
#[derive(Debug, Args)]
pub struct ForecastArgs {
    /// A run folder written by `lstmcast train`.
    #[arg(long)]
    pub model: PathBuf,
    /// The data file whose last rows (of every series) start the forecast: the columns the model
    /// was trained on, found by name (their order and other columns do not matter).
    #[arg(long)]
    pub data: PathBuf,
    /// Fill missing values: none (error), linear or forward (default: as in training).
    #[arg(long)]
    pub fill: Option<String>,
    /// Forecast only these series, comma-separated ids (default: every series).
    #[arg(long, value_delimiter = ',')]
    pub series: Option<Vec<String>>,
    /// Steps to forecast (default: the trained horizon; beyond it rolls forward recursively).
    #[arg(long)]
    pub horizon: Option<usize>,
    /// The future-known values of the steps to forecast (rows per series after its last row,
    /// with the id and time columns); instead, the data file may end each series with rows
    /// whose target is empty.
    #[arg(long)]
    pub future: Option<PathBuf>,
    /// Static values per series (as `train --static-data`; default: the values the model
    /// recorded for its training series).
    #[arg(long)]
    pub static_data: Option<PathBuf>,
    /// Where to predict: cpu (default); cuda is not built yet and is refused.
    #[arg(long)]
    pub device: Option<String>,
    /// Write the forecast CSV to this file instead of standard output (an existing file only
    /// with --force).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace an existing --out file.
    #[arg(long)]
    pub force: bool,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Output conventions shared by every command.
#[derive(Debug, Args, Clone, Copy, Default, PartialEq)]
pub struct OutputArgs {
    /// Print one JSON document on standard output instead of text.
    #[arg(long)]
    pub json: bool,
    /// Print nothing but errors: no progress bar, no report, no notes (files are still written;
    /// `forecast` without --out still prints its CSV).
    #[arg(long)]
    pub quiet: bool,
}

impl OutputArgs {
    /// Whether text reports are printed.
    pub fn text(&self) -> bool {
        !self.json && !self.quiet
    }
}

/// Columns and missing values: shared by every command that reads a CSV.
#[derive(Debug, Args, Clone, Default, PartialEq)]
pub struct DataArgs {
    /// The data file: CSV (header row) or Parquet, one row per time (per series in long format).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// The column naming the series of a long-format file (one global model over all series).
    #[arg(long)]
    pub id_col: Option<String>,
    /// Columns to leave out on purpose, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub ignore: Option<Vec<String>>,
    /// The time column (default: the first column if it reads as times).
    #[arg(long)]
    pub time_col: Option<String>,
    /// The time column's layout, strftime-style, e.g. '%d/%m/%Y' (default: ISO 8601, or a
    /// common layout that reads every value).
    #[arg(long)]
    pub time_format: Option<String>,
    /// Target column(s), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub target: Option<Vec<String>>,
    /// Input feature columns, comma-separated (default: every numeric column not given another
    /// role); the same as --past.
    #[arg(long, value_delimiter = ',')]
    pub features: Option<Vec<String>>,
    /// Past-only input columns (observed up to the forecast origin), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub past: Option<Vec<String>>,
    /// Columns known for every forecast step (planned prices, promotions, holidays, weather
    /// forecasts), comma-separated: the network sees each step's value.
    #[arg(long, value_delimiter = ',')]
    pub future_known: Option<Vec<String>>,
    /// Numeric columns holding one value per series (a store's size), comma-separated.
    #[arg(long = "static", value_delimiter = ',')]
    pub statics: Option<Vec<String>>,
    /// A CSV of static values per series: the id column (--id-col's name, else the first) and
    /// numeric or categorical columns (one-hot encoded).
    #[arg(long)]
    pub static_data: Option<PathBuf>,
    /// Fill missing values: none (error), linear, forward or zero.
    #[arg(long)]
    pub fill: Option<String>,
    /// The sampling frequency: D, B (business days), H, 30min, W, M, Q, Y, ... (default: inferred).
    #[arg(long)]
    pub freq: Option<String>,
    /// Irregular data: insert the missing timestamps and fill them: linear, forward or zero.
    #[arg(long)]
    pub fill_gaps: Option<String>,
}

/// `lstmcast inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Data options.
    #[command(flatten)]
    pub data: DataArgs,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
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
    /// Threads to train on (one, as the peers' one-thread runs; more split each batch across
    /// them, with the same result to the bit).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: u16,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

impl DataArgs {
    /// The `--data` path.
    ///
    /// # Errors
    /// A usage error (exit 2) when it was not given.
    pub fn path(&self) -> anyhow::Result<&std::path::Path> {
        self.data.as_deref().ok_or_else(|| {
            Exit::Usage("the following required argument was not provided: --data <DATA>".into())
                .into()
        })
    }
}

/// Errors that set their own exit code.
#[derive(Debug)]
pub enum Exit {
    /// A usage error: exit 2, like clap's own.
    Usage(String),
    /// Training was interrupted by a signal and left a checkpoint: exit 130.
    Interrupted(String),
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Usage(m) | Exit::Interrupted(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Exit {}
