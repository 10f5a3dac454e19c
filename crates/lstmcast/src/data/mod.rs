//! The data model: a [`Panel`] of one or many series keyed by id, sharing one schema of named
//! columns (targets first, then the other inputs). A single series is a panel of one. Rows of all
//! series live in one concatenated column-major buffer with per-series offsets, so that windows
//! over every series are index views into one matrix.
//!
//! Loading (CSV or Parquet, long format) is in [`load`]: every problem is reported with the file,
//! the line (or row) and the column, never as a panic.

mod load;
mod parquet;

pub use load::{
    describe, load, load_frame, load_future, load_future_frame, load_with_future, parse, parse_csv,
    Frame,
};

use crate::error::{Error, Result};
use crate::time::{infer_frequency, Frequency, Spacing, Timestamp};
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::path::PathBuf;

/// How missing cells (empty, `NA`, `NaN`, `null`, `N/A`) are handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Fill {
    /// A missing cell is an error naming its line and column (the default).
    #[default]
    None,
    /// Straight line between the neighbouring known values of the same series; cells before the
    /// first or after the last known value take that value. Note: a gap is bridged with the next
    /// known value, which may lie in a later split.
    Linear,
    /// The last known value of the same series carries forward; cells before the first known
    /// value take it.
    Forward,
    /// Zero (for counts and flows: no sales, no rain).
    Zero,
}

impl Fill {
    /// Parses `none`, `linear`, `forward` or `zero`; `field` names the option in the error.
    ///
    /// # Errors
    /// Any other name.
    pub fn parse(text: &str, field: &str) -> Result<Fill> {
        match text {
            "none" => Ok(Fill::None),
            "linear" => Ok(Fill::Linear),
            "forward" => Ok(Fill::Forward),
            "zero" => Ok(Fill::Zero),
            _ => Err(Error::config(
                field,
                format!("'{text}' is not one of none, linear, forward, zero"),
            )),
        }
    }

    /// The lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Fill::None => "none",
            Fill::Linear => "linear",
            Fill::Forward => "forward",
            Fill::Zero => "zero",
        }
    }
}

/// What to load from a file: which columns play which role, and how. All names are header names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct LoadOptions {
    /// The column naming the series of a long-format file (text or integer ids). Default: none,
    /// the file holds one series.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_col: Option<String>,
    /// The time column. Default: the first column (other than the id column) whose header reads
    /// like a time (`date`, `time`, `timestamp`, `ds`, `period`, ...) or whose values are dates
    /// or datetimes; without one, the rows of each series are numbered 0, 1, 2, ...
    pub time_col: Option<String>,
    /// The time column's layout as a chrono/strftime pattern (`%d/%m/%Y`, `%Y%m%d %H:%M`).
    /// Default: ISO 8601, an integer index, or one of [`crate::time::TIME_FORMATS`] that reads
    /// every value (day-first and month-first told apart by the values).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_format: Option<String>,
    /// Target columns (one or several). Default: the only numeric column; with several numeric
    /// columns a target must be named.
    pub target: Vec<String>,
    /// Past-only input columns (observed up to the forecast origin; also `past`). Default:
    /// every numeric column not given another role. Targets are always inputs too.
    pub features: Vec<String>,
    /// More past-only inputs (`--past`), the same role as `features`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub past: Vec<String>,
    /// Columns known for every step of the horizon (`--future-known`: planned prices,
    /// promotions, holidays, weather forecasts): the network sees their history and, for each
    /// forecast step, their value at that step.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub future_known: Vec<String>,
    /// Columns holding one value per series (`--static`: a store's size), numeric and constant
    /// within every series; categorical ones come from a static-data file.
    #[serde(rename = "static", skip_serializing_if = "Vec::is_empty")]
    pub statics: Vec<String>,
    /// A CSV file of static values keyed by series id (`--static-data`): its first column (or
    /// the id column's name) holds the ids, the others numeric or categorical statics
    /// (one-hot encoded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub static_data: Option<PathBuf>,
    /// Columns to leave out on purpose (text columns that are neither id nor time, for example).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
    /// Missing-value handling (default `none`: missing cells are an error).
    pub fill: Fill,
    /// The sampling frequency (`D`, `B` for business days, `H`, `30min`, `W`, `M`, `Q`, `Y`, ...);
    /// default: inferred. Data off this step is irregular.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freq: Option<String>,
    /// Irregular data: insert the timestamps missing from each series' grid (the `freq` step, or
    /// the step the series mostly has) and fill their values (`linear`, `forward` or `zero`);
    /// `none` (the default) leaves them missing, which training refuses.
    #[serde(skip_serializing_if = "is_none_fill")]
    pub fill_gaps: Fill,
}

fn is_none_fill(f: &Fill) -> bool {
    *f == Fill::None
}

/// What a value column is to the model. Columns are ordered by role in this order: targets,
/// past-only inputs, future-known inputs, statics, calendar features; the last three are
/// "known" (their values at a forecast step are known before it) and also feed the head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Forecast, and an input.
    Target,
    /// An input observed only up to the forecast origin.
    Past,
    /// An input known for every forecast step.
    Future,
    /// One value per series.
    Static,
    /// Generated from the timestamps (known for every step).
    Calendar,
}

impl Role {
    /// Whether the column's value at a forecast step is known at the origin.
    pub fn is_known(self) -> bool {
        matches!(self, Role::Future | Role::Static | Role::Calendar)
    }

    /// The lower-case name, as the summary prints it.
    pub fn name(self) -> &'static str {
        match self {
            Role::Target => "target",
            Role::Past => "past",
            Role::Future => "future",
            Role::Static => "static",
            Role::Calendar => "calendar",
        }
    }
}

/// A loaded, validated panel: one or many series with strictly increasing timestamps each and
/// finite values, in one concatenated buffer.
///
/// Series `s` occupies the global rows `offsets[s]..offsets[s + 1]` of `timestamps` and of every
/// column. Series are ordered by id (numerically when every id is an integer), so the order of
/// the file's rows never matters.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// Where it came from (for messages).
    pub source: PathBuf,
    /// Name of the time column (`"row"` when rows were numbered).
    pub time_name: String,
    /// The time column's layout when it is not ISO 8601 (chrono pattern): outputs keep it.
    pub time_format: Option<String>,
    /// Name of the series id column; `None` for a file holding one series.
    pub id_name: Option<String>,
    /// One id per series (`""` for the single series of a file without an id column).
    pub ids: Vec<String>,
    /// Row offsets: series `s` is rows `offsets[s]..offsets[s + 1]`; `offsets.len() == ids.len() + 1`.
    pub offsets: Vec<usize>,
    /// One timestamp per row, strictly increasing within each series.
    pub timestamps: Vec<Timestamp>,
    /// Names of the loaded value columns: the inputs, targets first.
    pub names: Vec<String>,
    /// Column-major values: `columns[c][row]`, all finite.
    pub columns: Vec<Vec<f64>>,
    /// How many of `names` (the first ones) are targets.
    pub n_targets: usize,
    /// Each column's role (same order as `names`): targets, past, future, static, calendar.
    pub roles: Vec<Role>,
    /// The panel's sampling frequency: the one every series agrees on, or the first irregular
    /// spacing found (with the series named in its description).
    pub spacing: Spacing,
    /// How many cells were filled per column (same order as `names`).
    pub filled: Vec<usize>,
}

impl Panel {
    /// CRC-32 of the panel's contents (ids, times, column names, roles and values), 8 hex
    /// digits: what identifies a frame's data in a checkpoint. The same rows loaded again give
    /// the same fingerprint; any changed value, time, id or column gives another.
    pub fn fingerprint(&self) -> String {
        let mut h = crc32fast::Hasher::new();
        for id in &self.ids {
            h.update(id.as_bytes());
            h.update(&[0]);
        }
        for o in &self.offsets {
            h.update(&(*o as u64).to_le_bytes());
        }
        for t in &self.timestamps {
            h.update(format!("{t:?}").as_bytes());
        }
        for (name, role) in self.names.iter().zip(&self.roles) {
            h.update(name.as_bytes());
            h.update(format!("\0{role:?}\0").as_bytes());
        }
        h.update(&(self.n_targets as u64).to_le_bytes());
        for column in &self.columns {
            for v in column {
                h.update(&v.to_bits().to_le_bytes());
            }
        }
        format!("{:08x}", h.finalize())
    }

    /// Number of rows over all series.
    pub fn len(&self) -> usize {
        self.timestamps.len()
    }

    /// Whether the panel has no rows.
    pub fn is_empty(&self) -> bool {
        self.timestamps.is_empty()
    }

    /// Number of series.
    pub fn n_series(&self) -> usize {
        self.ids.len()
    }

    /// Whether the data named its series with an id column.
    pub fn has_ids(&self) -> bool {
        self.id_name.is_some()
    }

    /// Global rows of series `s`.
    pub fn rows(&self, s: usize) -> Range<usize> {
        self.offsets[s]..self.offsets[s + 1]
    }

    /// The series holding global row `r` (which must be below `len()`).
    pub fn series_of_row(&self, r: usize) -> usize {
        self.offsets.partition_point(|&o| o <= r) - 1
    }

    /// Row count of series `s`.
    pub fn series_len(&self, s: usize) -> usize {
        self.offsets[s + 1] - self.offsets[s]
    }

    /// Timestamps of series `s`.
    pub fn series_timestamps(&self, s: usize) -> &[Timestamp] {
        &self.timestamps[self.rows(s)]
    }

    /// Column `c` of series `s`.
    pub fn series_column(&self, s: usize, c: usize) -> &[f64] {
        &self.columns[c][self.rows(s)]
    }

    /// A timestamp as the data writes it (its own layout, else ISO 8601).
    pub fn format_time(&self, t: &Timestamp) -> String {
        crate::time::format_with(t, self.time_format.as_deref())
    }

    /// Reads a timestamp given by a person (a flag): in the data's layout or ISO 8601.
    pub fn parse_time(&self, text: &str) -> Option<Timestamp> {
        self.time_format
            .as_deref()
            .and_then(|p| crate::time::parse_with(text, p))
            .or_else(|| Timestamp::parse(text))
    }

    /// The index of the series with id `id`.
    pub fn series_index(&self, id: &str) -> Option<usize> {
        self.ids.iter().position(|i| i == id)
    }

    /// How a series is named in messages: `series 'A'`, or `the series` for a file without ids.
    pub fn series_label(&self, s: usize) -> String {
        match &self.id_name {
            Some(_) => format!("series '{}'", self.ids[s]),
            None => "the series".into(),
        }
    }

    /// Target column names.
    pub fn target_names(&self) -> &[String] {
        &self.names[..self.n_targets]
    }

    /// How many columns (the last ones) are known at forecast time: future-known, static and
    /// calendar.
    pub fn n_known(&self) -> usize {
        self.roles.iter().filter(|r| r.is_known()).count()
    }

    /// Checks that every static column holds one value within each series.
    ///
    /// # Errors
    /// The first static column that varies, naming the series and the two timestamps.
    pub fn check_statics(&self) -> Result<()> {
        for c in self.columns_of(Role::Static) {
            for s in 0..self.n_series() {
                let col = self.series_column(s, c);
                if let Some(i) = col.iter().position(|&v| v != col[0]) {
                    let t = self.series_timestamps(s);
                    return Err(Error::config(
                        "static",
                        format!(
                            "{}: column '{}' is declared static but varies within {}: {} at {} and {} at {}; a static column holds one value per series (declare it --past or --future-known instead)",
                            self.source.display(),
                            self.names[c],
                            self.series_label(s),
                            col[0],
                            self.format_time(&t[0]),
                            col[i],
                            self.format_time(&t[i])
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Value columns that are not targets or statics yet hold one value within every series of
    /// a panel (candidates for `--static`), by name.
    pub fn undeclared_constants(&self) -> Vec<String> {
        if !self.has_ids() || self.n_series() < 2 {
            return Vec::new();
        }
        (0..self.names.len())
            .filter(|&c| matches!(self.roles[c], Role::Past | Role::Future))
            .filter(|&c| {
                (0..self.n_series()).all(|s| {
                    let col = self.series_column(s, c);
                    col.iter().all(|&v| v == col[0])
                })
            })
            .map(|c| self.names[c].clone())
            .collect()
    }

    /// The columns of `role`, by index.
    pub fn columns_of(&self, role: Role) -> Vec<usize> {
        (0..self.roles.len())
            .filter(|&c| self.roles[c] == role)
            .collect()
    }

    /// The panel with `columns` appended (each `len()` long, in row order) in `role`, which
    /// must come at or after the last column's role.
    pub fn with_columns(&self, role: Role, columns: Vec<(String, Vec<f64>)>) -> Panel {
        let mut p = self.clone();
        for (name, col) in columns {
            debug_assert_eq!(col.len(), p.len());
            p.names.push(name);
            p.columns.push(col);
            p.roles.push(role);
            p.filled.push(0);
        }
        p
    }

    /// The regular frequency, if every series is regular and they agree.
    pub fn frequency(&self) -> Option<Frequency> {
        match self.spacing {
            Spacing::Regular(f) => Some(f),
            _ => None,
        }
    }

    /// A panel of the rows `ranges[s]` (local to each series) of every series; series left with
    /// no rows are dropped. The frequency is inferred again.
    ///
    /// Panics if a range is out of bounds or `ranges.len() != n_series()`.
    pub fn select(&self, ranges: &[Range<usize>]) -> Panel {
        assert_eq!(ranges.len(), self.n_series());
        let mut ids = Vec::new();
        let mut offsets = vec![0];
        let mut timestamps = Vec::new();
        let mut columns = vec![Vec::new(); self.names.len()];
        for (s, r) in ranges.iter().enumerate() {
            if r.is_empty() {
                continue;
            }
            let g = self.offsets[s] + r.start..self.offsets[s] + r.end;
            ids.push(self.ids[s].clone());
            timestamps.extend_from_slice(&self.timestamps[g.clone()]);
            for (dst, src) in columns.iter_mut().zip(&self.columns) {
                dst.extend_from_slice(&src[g.clone()]);
            }
            offsets.push(timestamps.len());
        }
        let mut p = Panel {
            source: self.source.clone(),
            time_name: self.time_name.clone(),
            time_format: self.time_format.clone(),
            id_name: self.id_name.clone(),
            ids,
            offsets,
            timestamps,
            names: self.names.clone(),
            columns,
            n_targets: self.n_targets,
            roles: self.roles.clone(),
            spacing: Spacing::Irregular {
                typical: None,
                first_odd_row: 0,
                gap: String::new(),
            },
            filled: self.filled.clone(),
        };
        p.spacing = p.infer_spacing();
        p
    }

    /// The panel restricted to the series `ids` (in panel order).
    ///
    /// # Errors
    /// An id the panel does not have, named with the ids it has.
    pub fn only(&self, ids: &[String]) -> Result<Panel> {
        if self.id_name.is_none() {
            return Err(Error::config(
                "series",
                format!(
                    "{} has no id column, so it holds one series; pass --id-col to read it as a panel",
                    self.source.display()
                ),
            ));
        }
        for id in ids {
            if self.series_index(id).is_none() {
                let known: Vec<&str> = self.ids.iter().take(20).map(String::as_str).collect();
                return Err(Error::config(
                    "series",
                    format!(
                        "{} has no series '{id}' (it has {} series: {}{})",
                        self.source.display(),
                        self.n_series(),
                        known.join(", "),
                        if self.n_series() > 20 { ", ..." } else { "" }
                    ),
                ));
            }
        }
        let ranges: Vec<Range<usize>> = (0..self.n_series())
            .map(|s| {
                if ids.contains(&self.ids[s]) {
                    0..self.series_len(s)
                } else {
                    0..0
                }
            })
            .collect();
        Ok(self.select(&ranges))
    }

    /// Checks every series against the step `f`: `Regular(f)` when every series steps by it,
    /// else the first odd gap.
    pub(crate) fn check_spacing(&self, f: Frequency) -> Spacing {
        for s in 0..self.n_series() {
            let t = self.series_timestamps(s);
            if let Some(i) = t.windows(2).position(|w| f.advance(&w[0], 1) != Some(w[1])) {
                let gap = format!(
                    "{} → {}, expected one step of {}",
                    t[i],
                    t[i + 1],
                    f.describe()
                );
                return Spacing::Irregular {
                    typical: Some(f),
                    first_odd_row: self.offsets[s] + i,
                    gap: match &self.id_name {
                        Some(_) => format!("{}: {gap}", self.series_label(s)),
                        None => gap,
                    },
                };
            }
        }
        Spacing::Regular(f)
    }

    /// Infers every series' spacing and the panel's: the frequency all regular series share,
    /// or the first series that is irregular or disagrees.
    pub(crate) fn infer_spacing(&self) -> Spacing {
        // A frequency one series shows and every series steps by (a two-day series fits
        // business days as well as daily) is the panel's.
        let mut tried: Vec<Frequency> = Vec::new();
        for s in 0..self.n_series() {
            if self.series_len(s) < 2 {
                continue;
            }
            if let Spacing::Regular(f) = infer_frequency(self.series_timestamps(s)) {
                if !tried.contains(&f) {
                    tried.push(f);
                    if let Spacing::Regular(f) = self.check_spacing(f) {
                        return Spacing::Regular(f);
                    }
                }
            }
        }
        let mut agreed: Option<(usize, Frequency)> = None;
        let mut first_irregular = None;
        for s in 0..self.n_series() {
            if self.series_len(s) < 2 {
                continue;
            }
            match infer_frequency(self.series_timestamps(s)) {
                Spacing::Regular(f) => match agreed {
                    None => agreed = Some((s, f)),
                    Some((s0, f0)) if f0 != f => {
                        return Spacing::Irregular {
                            typical: Some(f0),
                            first_odd_row: self.offsets[s],
                            gap: format!(
                                "{} is {} but {} is {}",
                                self.series_label(s),
                                f.describe(),
                                self.series_label(s0),
                                f0.describe()
                            ),
                        }
                    }
                    Some(_) => {}
                },
                Spacing::Irregular {
                    typical,
                    first_odd_row,
                    gap,
                } => {
                    if first_irregular.is_none() {
                        let gap = match &self.id_name {
                            Some(_) => format!("{}: {gap}", self.series_label(s)),
                            None => gap,
                        };
                        first_irregular = Some(Spacing::Irregular {
                            typical,
                            first_odd_row: self.offsets[s] + first_odd_row,
                            gap,
                        });
                    }
                }
            }
        }
        match (first_irregular, agreed) {
            (Some(irregular), _) => irregular,
            (None, Some((_, f))) => Spacing::Regular(f),
            (None, None) => infer_frequency(&[]),
        }
    }

    /// Builds a single series from columns in memory (rows numbered 0..n); the first
    /// `n_targets` columns are targets.
    ///
    /// # Errors
    /// Columns of different lengths, no columns, or non-finite values.
    pub fn from_columns(
        names: Vec<String>,
        columns: Vec<Vec<f64>>,
        n_targets: usize,
    ) -> Result<Panel> {
        let mut p = Self::from_series(names, n_targets, vec![(String::new(), columns)])?;
        p.id_name = None;
        p.spacing = p.infer_spacing();
        Ok(p)
    }

    /// Builds a panel from series in memory: `(id, columns)` each, rows numbered 0..n within
    /// every series (so series are aligned at their first row); the first `n_targets` columns
    /// are targets. The id column is called `series_id`; series are ordered by id.
    ///
    /// # Errors
    /// No series, duplicate ids, columns of different lengths, no columns, or non-finite values.
    pub fn from_series(
        names: Vec<String>,
        n_targets: usize,
        mut series: Vec<(String, Vec<Vec<f64>>)>,
    ) -> Result<Panel> {
        if series.is_empty()
            || names.is_empty()
            || n_targets == 0
            || n_targets > names.len()
            || series.iter().any(|(_, c)| c.len() != names.len())
        {
            return Err(Error::config(
                "columns",
                "need at least one series, one column and one name per column, and 1..=columns targets",
            ));
        }
        sort_ids(&mut series, |(id, _)| id);
        let mut offsets = vec![0];
        let mut timestamps = Vec::new();
        let mut columns = vec![Vec::new(); names.len()];
        for (s, (id, cols)) in series.iter().enumerate() {
            if s > 0 && series[s - 1].0 == *id {
                return Err(Error::config("series", format!("id '{id}' is given twice")));
            }
            let n = cols[0].len();
            for (name, c) in names.iter().zip(cols) {
                if c.len() != n {
                    return Err(Error::config(
                        "columns",
                        format!(
                            "column '{name}' of series '{id}' has {} rows, expected {n}",
                            c.len()
                        ),
                    ));
                }
                if let Some(i) = c.iter().position(|v| !v.is_finite()) {
                    return Err(Error::config(
                        "columns",
                        format!("column '{name}' of series '{id}' row {i} is not finite"),
                    ));
                }
            }
            timestamps.extend((0..n as i64).map(Timestamp::Index));
            for (dst, src) in columns.iter_mut().zip(cols) {
                dst.extend_from_slice(src);
            }
            offsets.push(timestamps.len());
        }
        let mut p = Panel {
            source: PathBuf::from("<memory>"),
            time_name: "row".into(),
            time_format: None,
            id_name: Some("series_id".into()),
            ids: series.into_iter().map(|(id, _)| id).collect(),
            offsets,
            timestamps,
            filled: vec![0; names.len()],
            roles: (0..names.len())
                .map(|c| {
                    if c < n_targets {
                        Role::Target
                    } else {
                        Role::Past
                    }
                })
                .collect(),
            names,
            columns,
            n_targets,
            spacing: infer_frequency(&[]),
        };
        p.spacing = p.infer_spacing();
        Ok(p)
    }

    /// A summary: series, rows, span, frequency, and per column its role and min / mean / max;
    /// for a panel also the shortest and longest series.
    pub fn summary(&self) -> String {
        let d = self.describe();
        let (first, last) = &d.span;
        let freq = &d.frequency;
        let mut s = match &self.id_name {
            None => format!(
                "{}: {} rows, {first} .. {last}, {freq}\n",
                self.source.display(),
                self.len(),
            ),
            Some(id) => {
                let series = |(name, rows): &(String, usize)| {
                    let k = self.series_index(name).unwrap_or(0);
                    let t = self.series_timestamps(k);
                    format!(
                        "{} with {rows} rows ({} .. {})",
                        self.series_label(k),
                        self.format_time(&t[0]),
                        self.format_time(&t[t.len() - 1])
                    )
                };
                format!(
                    "{}: panel of {} series (id column '{id}'), {} rows, {first} .. {last}, {freq}\n  shortest: {}\n  longest:  {}\n",
                    self.source.display(),
                    self.n_series(),
                    self.len(),
                    series(&d.shortest),
                    series(&d.longest),
                )
            }
        };
        s.push_str(&format!(
            "{:<20} {:>8} {:>14} {:>14} {:>14} {:>7}\n",
            "column", "role", "min", "mean", "max", "filled"
        ));
        if let Some(id) = &self.id_name {
            s.push_str(&format!("{id:<20} {:>8}\n", "id"));
        }
        s.push_str(&format!("{:<20} {:>8}\n", self.time_name, "time"));
        // The column statistics come from `describe`, their one home.
        for c in d.columns {
            s.push_str(&format!(
                "{:<20} {:>8} {:>14.6} {:>14.6} {:>14.6} {:>7}\n",
                c.name, c.role, c.min, c.mean, c.max, c.missing
            ));
        }
        s
    }
}

/// What `lstmcast inspect --json` prints: the panel's shape and every column's role and range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PanelSummary {
    /// The file.
    pub source: String,
    /// Number of series.
    pub series: usize,
    /// Rows over all series.
    pub rows: usize,
    /// The id column, if any.
    pub id_column: Option<String>,
    /// The time column (`row` when rows are numbered).
    pub time_column: String,
    /// The time column's layout when it is not ISO 8601.
    pub time_format: Option<String>,
    /// The frequency, or the first irregular gap.
    pub frequency: String,
    /// First and last timestamp.
    pub span: (String, String),
    /// The shortest and the longest series: id and rows.
    pub shortest: (String, usize),
    /// See `shortest`.
    pub longest: (String, usize),
    /// Every value column.
    pub columns: Vec<ColumnSummary>,
}

/// One value column in a [`PanelSummary`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnSummary {
    /// Its name.
    pub name: String,
    /// `target`, `input` (past-only), `future`, `static` or `calendar`.
    pub role: String,
    /// Smallest value.
    pub min: f64,
    /// Mean value.
    pub mean: f64,
    /// Largest value.
    pub max: f64,
    /// Cells that were missing (and filled).
    pub missing: usize,
}

impl Panel {
    /// The panel's shape and columns, for `inspect --json`.
    pub fn describe(&self) -> PanelSummary {
        let lens: Vec<usize> = (0..self.n_series()).map(|s| self.series_len(s)).collect();
        let pick =
            |s: Option<usize>| s.map_or((String::new(), 0), |s| (self.ids[s].clone(), lens[s]));
        PanelSummary {
            source: self.source.display().to_string(),
            series: self.n_series(),
            rows: self.len(),
            id_column: self.id_name.clone(),
            time_column: self.time_name.clone(),
            time_format: self.time_format.clone(),
            frequency: match &self.spacing {
                Spacing::Regular(f) => f.describe(),
                Spacing::Irregular { gap, .. } => {
                    format!("irregular spacing (first odd gap: {gap})")
                }
            },
            span: (
                self.timestamps
                    .iter()
                    .min()
                    .map(|t| self.format_time(t))
                    .unwrap_or_default(),
                self.timestamps
                    .iter()
                    .max()
                    .map(|t| self.format_time(t))
                    .unwrap_or_default(),
            ),
            shortest: pick((0..lens.len()).min_by_key(|&s| lens[s])),
            longest: pick((0..lens.len()).max_by_key(|&s| lens[s])),
            columns: self
                .names
                .iter()
                .enumerate()
                .map(|(c, name)| {
                    let col = &self.columns[c];
                    ColumnSummary {
                        name: name.clone(),
                        role: match self.roles.get(c) {
                            Some(Role::Past) | None if c >= self.n_targets => "input",
                            Some(r) => r.name(),
                            None => "target",
                        }
                        .into(),
                        min: col.iter().copied().fold(f64::INFINITY, f64::min),
                        mean: col.iter().sum::<f64>() / col.len().max(1) as f64,
                        max: col.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                        missing: self.filled[c],
                    }
                })
                .collect(),
        }
    }
}

/// Sorts items by id: numerically when every id is an integer, else by text. This canonical
/// order makes results independent of the order of a file's rows.
pub(crate) fn sort_ids<T>(items: &mut [T], id: impl Fn(&T) -> &String) {
    let numeric = items.iter().all(|t| id(t).parse::<i64>().is_ok());
    if numeric {
        items.sort_by_key(|t| id(t).parse::<i64>().unwrap_or(0));
    } else {
        items.sort_by(|a, b| id(a).cmp(id(b)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_are_ordered_by_id_numerically_when_ids_are_integers() {
        let p = Panel::from_series(
            vec!["y".into()],
            1,
            vec![
                ("10".into(), vec![vec![1.0, 2.0]]),
                ("9".into(), vec![vec![3.0, 4.0, 5.0]]),
            ],
        )
        .unwrap();
        assert_eq!(p.ids, vec!["9", "10"]);
        assert_eq!(p.offsets, vec![0, 3, 5]);
        assert_eq!(p.series_column(1, 0), &[1.0, 2.0]);
        assert!(p
            .only(&["11".into()])
            .unwrap_err()
            .to_string()
            .contains("no series '11' (it has 2 series: 9, 10)"));
        assert_eq!(p.only(&["10".into()]).unwrap().ids, vec!["10"]);
        let q = p.select(&[1..3, 0..0]);
        assert_eq!(q.ids, vec!["9"]);
        assert_eq!(q.columns[0], vec![4.0, 5.0]);
    }

    #[test]
    fn disagreeing_frequencies_are_irregular_and_name_both_series() {
        let mut p = Panel::from_series(
            vec!["y".into()],
            1,
            vec![
                ("a".into(), vec![vec![1.0; 3]]),
                ("b".into(), vec![vec![1.0; 3]]),
            ],
        )
        .unwrap();
        assert_eq!(p.frequency(), Some(Frequency::Step(1)));
        p.timestamps[3..].copy_from_slice(&[
            Timestamp::Index(0),
            Timestamp::Index(2),
            Timestamp::Index(4),
        ]);
        match p.infer_spacing() {
            Spacing::Irregular { gap, .. } => {
                assert!(
                    gap.contains("series 'b'") && gap.contains("series 'a'"),
                    "{gap}"
                )
            }
            s => panic!("{s:?}"),
        }
    }
}
