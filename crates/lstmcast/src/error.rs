//! The crate's one error type. Every variant names what went wrong and carries what a user
//! needs to fix it: the file, line and column, the field, or the sizes involved.

use std::path::PathBuf;

/// Everything that can go wrong in lstmcast.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {cause}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error (shown in the message, so not chained as a source).
        cause: std::io::Error,
    },
    /// A CSV problem at a known place. `line` is 1-based and counts the header as line 1.
    #[error("{path}:{line}{}: {reason}", column.as_ref().map(|c| format!(", column '{c}'")).unwrap_or_default())]
    Csv {
        /// The CSV file.
        path: PathBuf,
        /// 1-based line number (the header is line 1); 0 when not tied to a line.
        line: usize,
        /// The column's name, when the problem is in one column.
        column: Option<String>,
        /// What is wrong and what to do.
        reason: String,
    },
    /// A problem in a Parquet file at a known place: `row` is 1-based (0 when not tied to a row).
    #[error("{path}{}{}: {reason}", if *row > 0 { format!(": row {row}") } else { String::new() }, column.as_ref().map(|c| format!(", column '{c}'")).unwrap_or_default())]
    Data {
        /// The file.
        path: PathBuf,
        /// 1-based row (0 when not tied to a row).
        row: usize,
        /// The column's name, when the problem is in one column.
        column: Option<String>,
        /// What is wrong and what to do.
        reason: String,
    },
    /// A column was asked for that the file does not have.
    #[error("{path}: no column named '{name}' (available: {})", available.join(", "))]
    MissingColumn {
        /// The CSV file.
        path: PathBuf,
        /// The name asked for.
        name: String,
        /// The columns the file has.
        available: Vec<String>,
    },
    /// A configuration value is out of range or inconsistent.
    #[error("invalid configuration: {field}: {reason}")]
    InvalidConfig {
        /// The field, as named in the config file or the flag.
        field: String,
        /// What is wrong and what is allowed.
        reason: String,
    },
    /// The series is too short for what was asked.
    #[error("not enough data: {what} needs at least {needed} rows, got {got}")]
    NotEnoughData {
        /// What needed the rows (e.g. "the test split with lookback 24 and horizon 1").
        what: String,
        /// Rows needed.
        needed: usize,
        /// Rows available.
        got: usize,
    },
    /// A saved model folder is missing parts, corrupted, or does not fit.
    #[error("model folder {path}: {reason}")]
    ModelFolder {
        /// The folder or file inside it.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Training diverged (NaN or infinite loss).
    #[error("training diverged at epoch {epoch}, batch {batch}: the loss is {loss}; lower --learning-rate or set --clip-norm")]
    Diverged {
        /// 1-based epoch.
        epoch: usize,
        /// 1-based batch within the epoch.
        batch: usize,
        /// The offending loss value.
        loss: f32,
    },
    /// The device asked for (`--device`) cannot be used by this build or machine.
    #[error("device {device} is not available: {reason}")]
    DeviceUnavailable {
        /// The device, as `cuda:0`.
        device: String,
        /// Why, and what to use instead.
        reason: String,
    },
    /// The data does not match what the model was trained on (its columns, their roles, the
    /// frequency, or the series key); the message names what differs.
    #[error("invalid configuration: data: {0}")]
    ColumnsMismatch(String),
    /// Every trial of a search failed; `first` is the first trial's error.
    #[error("invalid configuration: tune: every trial failed; the first error: {first}")]
    AllTrialsFailed {
        /// The first failing trial's error.
        first: String,
    },
    /// No normalisation candidate reached a finite validation score.
    #[error("invalid configuration: normalize: no candidate reached a finite validation score; lower --learning-rate or set --clip-norm")]
    NoUsableCandidate,
    /// A resume on other data or with other options than the checkpoint's (`field` says
    /// which); the message reads as a configuration error, as it always did.
    #[error("invalid configuration: {field}: {reason}")]
    ResumeMismatch {
        /// `data`, or `checkpoint` for other options.
        field: String,
        /// What differs and what to do.
        reason: String,
    },
    /// Another process is writing this run folder (it holds the folder's lock); `--force` never
    /// overrides a live lock.
    #[error("{} is in use by another lstmcast run ({holder}); wait for it to finish, or choose another --out", dir.display())]
    RunLocked {
        /// The run folder.
        dir: PathBuf,
        /// Who holds it: pid, command and start time, as the holder recorded them.
        holder: String,
    },
    /// The work was interrupted (Ctrl-C, a stop flag); `0` says what and how to continue.
    #[error("interrupted: {0}")]
    Interrupted(String),
    /// A forecast cannot be produced as asked.
    #[error("cannot forecast: {0}")]
    Forecast(String),
    /// Writing a plot failed.
    #[error("plot {path}: {reason}")]
    Plot {
        /// The output file.
        path: PathBuf,
        /// What the plotting backend reported.
        reason: String,
    },
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Shorthand for [`Error::InvalidConfig`].
    pub fn config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidConfig {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            cause: source,
        }
    }

    /// A problem at `line` of `path` (the header is line 1): [`Error::Csv`], or with `rows`
    /// (Parquet, data frames) [`Error::Data`] naming the 1-based data row (`line − 1`).
    pub fn at(
        path: impl Into<PathBuf>,
        line: usize,
        rows: bool,
        column: Option<&str>,
        reason: String,
    ) -> Self {
        let (path, column) = (path.into(), column.map(str::to_string));
        if rows {
            Error::Data {
                path,
                row: line.saturating_sub(1),
                column,
                reason,
            }
        } else {
            Error::Csv {
                path,
                line,
                column,
                reason,
            }
        }
    }

    /// Shorthand for [`Error::ModelFolder`].
    pub fn model(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::ModelFolder {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

/// Another place of the same input, as a message names it: `line N`, or with `rows` (Parquet,
/// data frames) `row N − 1`, as [`Error::at`] numbers them.
pub fn place(line: usize, rows: bool) -> String {
    if rows {
        format!("row {}", line.saturating_sub(1))
    } else {
        format!("line {line}")
    }
}
