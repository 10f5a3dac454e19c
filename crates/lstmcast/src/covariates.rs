//! Covariates beyond the data file's own columns: calendar features generated from the
//! timestamps, and static values per series from a file keyed by series id. Both are added to
//! a [`Panel`] as columns of their roles ([`Role::Calendar`], [`Role::Static`]), so that the rest
//! of the pipeline (scaling, windows, the network's head) treats them like any known column.
//! A trained model records both ([`Covariates`]) and regenerates them at forecast time.

use crate::data::{Panel, Role};
use crate::error::{Error, Result};
use crate::time::{Frequency, Timestamp};
use chrono::{Datelike, NaiveDateTime, Timelike};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One calendar feature: a position in a cycle, given to the network as a sine/cosine pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum CalendarFeature {
    /// Hour of day (with minutes).
    Hour,
    /// Day of week.
    Weekday,
    /// Day of year.
    YearDay,
    /// Month of year.
    Month,
}

impl CalendarFeature {
    /// Every feature, in column order.
    pub const ALL: [CalendarFeature; 4] = [
        CalendarFeature::Hour,
        CalendarFeature::Weekday,
        CalendarFeature::YearDay,
        CalendarFeature::Month,
    ];

    /// The name in flags and column names.
    pub fn name(self) -> &'static str {
        match self {
            CalendarFeature::Hour => "hour",
            CalendarFeature::Weekday => "weekday",
            CalendarFeature::YearDay => "yearday",
            CalendarFeature::Month => "month",
        }
    }

    /// The length of this feature's cycle in steps of `freq` (`None` where it does not apply).
    fn cycle_steps(self, freq: Frequency) -> Option<f64> {
        let day = match freq {
            Frequency::Seconds(s) if s > 0 => 86_400.0 / s as f64,
            Frequency::BusinessDays => 1.0,
            Frequency::Months(m) => {
                return (self == CalendarFeature::Month).then_some(12.0 / m as f64)
            }
            _ => return None,
        };
        let business = freq == Frequency::BusinessDays;
        Some(match self {
            CalendarFeature::Hour => day,
            CalendarFeature::Weekday if business => 5.0,
            CalendarFeature::Weekday => 7.0 * day,
            CalendarFeature::YearDay if business => 261.0,
            CalendarFeature::YearDay => 365.25 * day,
            CalendarFeature::Month => 30.44 * day,
        })
    }

    /// The position of `t` in this feature's cycle, in [0, 1).
    fn phase(self, t: &NaiveDateTime) -> f64 {
        match self {
            CalendarFeature::Hour => (t.hour() as f64 + t.minute() as f64 / 60.0) / 24.0,
            CalendarFeature::Weekday => t.weekday().num_days_from_monday() as f64 / 7.0,
            CalendarFeature::YearDay => {
                let days = if t.date().leap_year() { 366.0 } else { 365.0 };
                t.ordinal0() as f64 / days
            }
            CalendarFeature::Month => t.month0() as f64 / 12.0,
        }
    }
}

/// Which calendar features to generate (`--calendar`): `auto` (the default) picks those the
/// frequency makes meaningful; `none`; or a list (`hour,weekday`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Calendar {
    /// Of hour of day and day of week for sub-daily data, day of week and of year for daily and
    /// business-day data, day of year for weekly data and month of year for monthly and
    /// quarterly data, those whose cycle is longer than the lookback (a window that spans the
    /// cycle shows the network where in it the series is; on the short monthly series of the
    /// accuracy benchmark the redundant month features cost 4 % in MASE) and that the training
    /// rows cover at least twice (a network cannot learn a cycle it saw once); none for yearly
    /// data and integer indices.
    #[default]
    Auto,
    /// No calendar features.
    None,
    /// Exactly these.
    List(Vec<CalendarFeature>),
}

impl Calendar {
    /// The features for data of frequency `freq` whose timestamps are `sample`, for windows of
    /// `lookback` steps and at most `train_rows` training rows per series.
    ///
    /// # Errors
    /// An explicit list on data without dates (an integer index).
    pub fn resolve(
        &self,
        freq: Option<Frequency>,
        sample: Option<&Timestamp>,
        lookback: usize,
        train_rows: usize,
    ) -> Result<Vec<CalendarFeature>> {
        let dated = sample.is_some_and(|t| !matches!(t, Timestamp::Index(_)));
        match self {
            Calendar::None => Ok(Vec::new()),
            Calendar::Auto if !dated => Ok(Vec::new()),
            Calendar::Auto => Ok(match freq {
                Some(Frequency::Seconds(s)) if s < 86_400 => {
                    vec![CalendarFeature::Hour, CalendarFeature::Weekday]
                }
                Some(Frequency::Seconds(86_400)) | Some(Frequency::BusinessDays) => {
                    vec![CalendarFeature::Weekday, CalendarFeature::YearDay]
                }
                Some(Frequency::Seconds(s)) if s <= 4 * 604_800 => vec![CalendarFeature::YearDay],
                Some(Frequency::Months(m)) if m < 12 => vec![CalendarFeature::Month],
                _ => Vec::new(),
            }
            .into_iter()
            .filter(|f| {
                freq.and_then(|q| f.cycle_steps(q))
                    .is_some_and(|n| n > lookback as f64 && 2.0 * n <= train_rows as f64)
            })
            .collect()),
            Calendar::List(list) if !dated && !list.is_empty() => Err(Error::config(
                "calendar",
                "the data's time column is an integer index, so it has no calendar; use --calendar none",
            )),
            Calendar::List(list) => {
                // A feature that is constant on this data (hour of day on daily data) or
                // whose cycle the frequency does not define is refused, not fed as a constant.
                if let Some(f) = freq {
                    if let Some(bad) = list
                        .iter()
                        .find(|c| c.cycle_steps(f).is_none_or(|n| n <= 1.0))
                    {
                        return Err(Error::config(
                            "calendar",
                            format!(
                                "'{}' does not vary on {} data; leave it out of --calendar",
                                bad.name(),
                                f.describe()
                            ),
                        ));
                    }
                }
                Ok(list.clone())
            }
        }
    }
}

impl std::str::FromStr for Calendar {
    type Err = Error;

    /// Parses `auto`, `none` or a comma-separated list of `hour`, `weekday`, `yearday`, `month`.
    ///
    /// # Errors
    /// An unknown name.
    fn from_str(text: &str) -> Result<Calendar> {
        match text.trim() {
            "auto" => return Ok(Calendar::Auto),
            "none" | "" => return Ok(Calendar::None),
            _ => {}
        }
        let mut list = Vec::new();
        for part in text.split(',').map(str::trim) {
            let f = CalendarFeature::ALL
                .into_iter()
                .find(|f| f.name() == part)
                .ok_or_else(|| {
                    Error::config(
                        "calendar",
                        format!(
                            "'{part}' is not a calendar feature; use auto, none, or a list of hour, weekday, yearday, month"
                        ),
                    )
                })?;
            if !list.contains(&f) {
                list.push(f);
            }
        }
        Ok(Calendar::List(list))
    }
}

impl TryFrom<String> for Calendar {
    type Error = Error;
    fn try_from(s: String) -> Result<Calendar> {
        s.parse::<Calendar>()
    }
}

impl From<Calendar> for String {
    fn from(c: Calendar) -> String {
        match c {
            Calendar::Auto => "auto".into(),
            Calendar::None => "none".into(),
            Calendar::List(l) => l.iter().map(|f| f.name()).collect::<Vec<_>>().join(","),
        }
    }
}

/// The calendar columns of `features` for `timestamps`: `cal_<name>_sin`, `cal_<name>_cos`.
pub fn calendar_columns(
    features: &[CalendarFeature],
    timestamps: &[Timestamp],
) -> Vec<(String, Vec<f64>)> {
    let local = |t: &Timestamp| match *t {
        Timestamp::Index(_) => None,
        Timestamp::Date(d) => d.and_hms_opt(0, 0, 0),
        Timestamp::DateTime { local, .. } => Some(local),
    };
    let mut out = Vec::with_capacity(2 * features.len());
    for &f in features {
        let phases: Vec<f64> = timestamps
            .iter()
            .map(|t| local(t).map_or(0.0, |l| f.phase(&l)))
            .collect();
        let tau = std::f64::consts::TAU;
        out.push((
            format!("cal_{}_sin", f.name()),
            phases.iter().map(|p| (tau * p).sin()).collect(),
        ));
        out.push((
            format!("cal_{}_cos", f.name()),
            phases.iter().map(|p| (tau * p).cos()).collect(),
        ));
    }
    out
}

/// A static column of a static-data file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StaticColumn {
    /// Its header.
    pub name: String,
    /// The categories of a text column (sorted), one-hot encoded as `name=category`; `None`
    /// for a numeric column.
    pub categories: Option<Vec<String>>,
}

impl StaticColumn {
    /// The panel columns it becomes.
    pub fn encoded_names(&self) -> Vec<String> {
        match &self.categories {
            None => vec![self.name.clone()],
            Some(c) => c.iter().map(|v| format!("{}={v}", self.name)).collect(),
        }
    }
}

/// A static-data file (`--static-data FILE`): one row per series id, numeric or categorical
/// columns.
#[derive(Debug, Clone, PartialEq)]
pub struct StaticTable {
    /// The file (for messages).
    pub source: PathBuf,
    /// The columns (without the id column).
    pub columns: Vec<StaticColumn>,
    /// Per series id: its line and its cells, in column order.
    pub rows: BTreeMap<String, (usize, Vec<String>)>,
    /// The source is a data frame: messages name rows, not lines.
    pub rows_numbered: bool,
}

impl StaticTable {
    /// Reads a CSV file whose column `id_col` (default: the first) names the series and whose
    /// other columns are numeric or categorical (text) statics.
    ///
    /// # Errors
    /// An unreadable file, no id column, a ragged row, a missing cell or a series given twice,
    /// each naming the file and line.
    pub fn load(path: &Path, id_col: Option<&str>) -> Result<StaticTable> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let err = |line: usize, reason: String| Error::at(path, line, false, None, reason);
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(&bytes[..]);
        let header: Vec<String> = rdr
            .headers()
            .map_err(|e| err(1, e.to_string()))?
            .iter()
            .map(str::to_string)
            .collect();
        let mut records = Vec::new();
        for (i, rec) in rdr.records().enumerate() {
            let rec = rec.map_err(|e| err(i + 2, e.to_string()))?;
            records.push((i + 2, rec.iter().map(str::to_string).collect()));
        }
        StaticTable::from_records(path, false, header, records, id_col)
    }

    /// Static values from a data frame (the Python package's `static_df`), read as [`load`]
    /// reads a file: problems name the frame and the 1-based row.
    ///
    /// [`load`]: StaticTable::load
    ///
    /// # Errors
    /// As [`StaticTable::load`].
    pub fn from_frame(frame: &crate::data::Frame, id_col: Option<&str>) -> Result<StaticTable> {
        let n = frame.columns.first().map_or(0, Vec::len);
        let records = (0..n)
            .map(|r| {
                let cells = frame
                    .columns
                    .iter()
                    .map(|c| c.get(r).cloned().unwrap_or_default());
                (r + 2, cells.map(|v| v.trim().to_string()).collect())
            })
            .collect();
        StaticTable::from_records(
            Path::new(&frame.name),
            true,
            frame.header.clone(),
            records,
            id_col,
        )
    }

    /// The table of `header` and `records` (`(line, cells)`, the header being line 1) read from
    /// `source`; `rows`: problems name rows (a frame), not lines.
    fn from_records(
        source: &Path,
        rows_numbered: bool,
        header: Vec<String>,
        records: Vec<(usize, Vec<String>)>,
        id_col: Option<&str>,
    ) -> Result<StaticTable> {
        let path = source;
        let err = |line: usize, column: Option<&str>, reason: String| {
            Error::at(path, line, rows_numbered, column, reason)
        };
        let idc = match id_col {
            Some(n) => header.iter().position(|h| h == n).ok_or_else(|| {
                err(
                    1,
                    None,
                    format!(
                        "no column '{n}' (the series id); the header has: {}",
                        header.join(", ")
                    ),
                )
            })?,
            None => 0,
        };
        if header.len() < 2 {
            return Err(err(
                1,
                None,
                "a static-data file needs the series id column and at least one static column"
                    .into(),
            ));
        }
        let mut rows = BTreeMap::new();
        for (line, cells) in records {
            if cells.len() != header.len() {
                return Err(err(
                    line,
                    None,
                    format!(
                        "row has {} fields but the header has {}",
                        cells.len(),
                        header.len()
                    ),
                ));
            }
            let id = cells[idc].clone();
            for (c, v) in cells.iter().enumerate() {
                if v.is_empty() {
                    return Err(err(
                        line,
                        Some(&header[c]),
                        "the cell is empty; every series needs every static value".into(),
                    ));
                }
            }
            let rest: Vec<String> = cells
                .into_iter()
                .enumerate()
                .filter(|&(c, _)| c != idc)
                .map(|(_, v)| v)
                .collect();
            if let Some((first, _)) = rows.insert(id.clone(), (line, rest)) {
                return Err(err(
                    line,
                    Some(&header[idc]),
                    format!(
                        "series '{id}' is also on {}; give each series one row",
                        crate::error::place(first, rows_numbered)
                    ),
                ));
            }
        }
        if rows.is_empty() {
            return Err(err(1, None, "the file has a header but no rows".into()));
        }
        let names: Vec<&String> = header
            .iter()
            .enumerate()
            .filter(|&(c, _)| c != idc)
            .map(|(_, h)| h)
            .collect();
        let columns = names
            .iter()
            .enumerate()
            .map(|(k, name)| {
                let numeric = rows
                    .values()
                    .all(|(_, cells)| cells[k].parse::<f64>().is_ok_and(f64::is_finite));
                let categories = (!numeric).then(|| {
                    let mut c: Vec<String> =
                        rows.values().map(|(_, cells)| cells[k].clone()).collect();
                    c.sort();
                    c.dedup();
                    c
                });
                StaticColumn {
                    name: (*name).clone(),
                    categories,
                }
            })
            .collect();
        Ok(StaticTable {
            rows_numbered,
            source: path.to_path_buf(),
            columns,
            rows,
        })
    }

    /// `panel` with the static columns appended (role [`Role::Static`]), encoded as `columns`
    /// say (a model's recorded categories at forecast time; default: the file's own).
    ///
    /// # Errors
    /// A panel without series ids, a series the file does not list, a category not among
    /// `columns`' categories, or a column the file lacks.
    pub fn join(&self, panel: &Panel, columns: Option<&[StaticColumn]>) -> Result<Panel> {
        let columns = columns.unwrap_or(&self.columns);
        if !panel.has_ids() {
            return Err(Error::config(
                "static_data",
                format!(
                    "{} holds one series (no --id-col), so static values per series do not apply; use them with a panel",
                    panel.source.display()
                ),
            ));
        }
        let mut out: Vec<(String, Vec<f64>)> = Vec::new();
        for col in columns {
            let k = self
                .columns
                .iter()
                .position(|c| c.name == col.name)
                .ok_or_else(|| {
                    Error::config(
                        "static_data",
                        format!(
                            "{} has no column '{}', which the model was trained with",
                            self.source.display(),
                            col.name
                        ),
                    )
                })?;
            let names = col.encoded_names();
            let mut cols: Vec<Vec<f64>> = vec![Vec::with_capacity(panel.len()); names.len()];
            for s in 0..panel.n_series() {
                let id = &panel.ids[s];
                let Some((line, cells)) = self.rows.get(id) else {
                    return Err(Error::config(
                        "static_data",
                        format!(
                            "{} has no row for series '{id}' of {}; give every series its static values",
                            self.source.display(),
                            panel.source.display()
                        ),
                    ));
                };
                let cell = &cells[k];
                let values: Vec<f64> = match &col.categories {
                    None => vec![cell.parse::<f64>().map_err(|_| {
                        Error::at(
                            &self.source,
                            *line,
                            self.rows_numbered,
                            Some(&col.name),
                            format!(
                                "'{cell}' is not a number, but '{}' was numeric in training",
                                col.name
                            ),
                        )
                    })?],
                    Some(cats) => {
                        if !cats.contains(cell) {
                            return Err(Error::at(
                                &self.source,
                                *line,
                                self.rows_numbered,
                                Some(&col.name),
                                format!(
                                    "series '{id}' has category '{cell}', which the model never saw (it knows: {})",
                                    cats.join(", ")
                                ),
                            ));
                        }
                        cats.iter().map(|c| (c == cell) as i32 as f64).collect()
                    }
                };
                let n = panel.series_len(s);
                for (dst, v) in cols.iter_mut().zip(values) {
                    dst.extend(std::iter::repeat_n(v, n));
                }
            }
            out.extend(names.into_iter().zip(cols));
        }
        Ok(panel.with_columns(Role::Static, out))
    }
}

/// What a trained model knows about its covariates beyond the data file: the calendar features
/// it generates, the static-data file's columns, and every training series' static values (so
/// that `forecast` needs no static-data file for the series it was trained on).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Covariates {
    /// Calendar features, in column order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub calendar: Vec<CalendarFeature>,
    /// The static-data file's columns (empty without one).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub static_file: Vec<StaticColumn>,
    /// Per training series: the values of every static column (panel order of columns).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub static_values: BTreeMap<String, Vec<f64>>,
}

impl Covariates {
    /// `panel` with the calendar columns of `features` appended (unless it has them already).
    pub fn with_calendar(panel: &Panel, features: &[CalendarFeature]) -> Panel {
        let cols = calendar_columns(features, &panel.timestamps);
        let missing: Vec<(String, Vec<f64>)> = cols
            .into_iter()
            .filter(|(n, _)| !panel.names.contains(n))
            .collect();
        if missing.is_empty() {
            return panel.clone();
        }
        panel.with_columns(Role::Calendar, missing)
    }

    /// The static-data file's columns a model with columns `names` (roles `roles`) was trained
    /// with: its static columns that are not among the data file's own (`data_statics`),
    /// `name=category` columns grouped back into one categorical column.
    pub fn file_columns(
        names: &[String],
        roles: &[Role],
        data_statics: &[String],
    ) -> Vec<StaticColumn> {
        let mut out: Vec<StaticColumn> = Vec::new();
        for (n, r) in names.iter().zip(roles) {
            let column = n.split_once('=').map_or(n.as_str(), |(c, _)| c);
            if *r != Role::Static || data_statics.iter().any(|d| d == n || d == column) {
                continue;
            }
            match n.split_once('=') {
                Some((col, cat)) => match out.iter_mut().find(|c| c.name == col) {
                    Some(StaticColumn {
                        categories: Some(cats),
                        ..
                    }) => cats.push(cat.to_string()),
                    _ => out.push(StaticColumn {
                        name: col.to_string(),
                        categories: Some(vec![cat.to_string()]),
                    }),
                },
                None => out.push(StaticColumn {
                    name: n.clone(),
                    categories: None,
                }),
            }
        }
        out
    }

    /// Records the static values of every series of the training panel.
    pub fn record_statics(&mut self, panel: &Panel) {
        let cols = panel.columns_of(Role::Static);
        self.static_values = (0..panel.n_series())
            .filter(|&s| panel.series_len(s) > 0)
            .map(|s| {
                let r = panel.offsets[s];
                (
                    panel.ids[s].clone(),
                    cols.iter().map(|&c| panel.columns[c][r]).collect(),
                )
            })
            .collect();
    }

    /// `panel` completed to the model's columns `names` (with `roles`): static columns it lacks
    /// come from the recorded values of its series, calendar columns are generated; then the
    /// columns are put in the model's order. Columns the model does not know are left for the
    /// caller's column check to report.
    ///
    /// # Errors
    /// A series whose static values the model does not know, naming it.
    pub fn complete(&self, panel: &Panel, names: &[String], roles: &[Role]) -> Result<Panel> {
        // A category of a static column the model never saw has no input to go to.
        for c in panel.columns_of(Role::Static) {
            let name = &panel.names[c];
            if names.contains(name) {
                continue;
            }
            if let Some((col, cat)) = name.split_once('=') {
                let known: Vec<&str> = names
                    .iter()
                    .filter_map(|n| n.split_once('=').filter(|(c, _)| *c == col).map(|(_, v)| v))
                    .collect();
                let s = (0..panel.n_series())
                    .find(|&s| panel.series_column(s, c).first() == Some(&1.0))
                    .unwrap_or(0);
                return Err(Error::config(
                    "static",
                    format!(
                        "{}: {} has category '{cat}' in column '{col}', which the model never saw (it knows: {})",
                        panel.source.display(),
                        panel.series_label(s),
                        known.join(", ")
                    ),
                ));
            }
        }
        if names.iter().all(|n| panel.names.contains(n)) {
            return Ok(panel.clone());
        }
        let mut p = Covariates::with_calendar(panel, &self.calendar);
        let statics: Vec<usize> = (0..names.len())
            .filter(|&c| roles.get(c) == Some(&Role::Static))
            .collect();
        let lacking: Vec<(usize, usize)> = statics
            .iter()
            .enumerate()
            .filter(|(_, &c)| !p.names.contains(&names[c]))
            .map(|(k, &c)| (k, c))
            .collect();
        // A category `col=cat` the file does not hold, while it holds other categories of `col`
        // (one-hot in the data file): 0 for every series.
        let sibling_present = |name: &str| {
            name.split_once('=').is_some_and(|(col, _)| {
                p.names
                    .iter()
                    .any(|n| n.split_once('=').is_some_and(|(c, _)| c == col))
            })
        };
        type Cols = Vec<(usize, usize)>;
        let (zeros, lacking): (Cols, Cols) = lacking
            .into_iter()
            .partition(|&(_, c)| sibling_present(&names[c]));
        if !zeros.is_empty() {
            p = p.with_columns(
                Role::Static,
                zeros
                    .iter()
                    .map(|&(_, c)| (names[c].clone(), vec![0.0; p.len()]))
                    .collect(),
            );
        }
        if !lacking.is_empty() {
            let mut cols: Vec<Vec<f64>> = vec![Vec::with_capacity(p.len()); lacking.len()];
            for s in 0..p.n_series() {
                let id = &p.ids[s];
                let values = self.static_values.get(id).ok_or_else(|| {
                    Error::config(
                        "static_data",
                        format!(
                            "{}: {} was not in the training data, so the model does not know its static values ({}); pass them with --static-data FILE",
                            p.source.display(),
                            p.series_label(s),
                            lacking.iter().map(|&(_, c)| names[c].as_str()).collect::<Vec<_>>().join(", ")
                        ),
                    )
                })?;
                let n = p.series_len(s);
                for (dst, &(k, _)) in cols.iter_mut().zip(&lacking) {
                    dst.extend(std::iter::repeat_n(values[k], n));
                }
            }
            p = p.with_columns(
                Role::Static,
                lacking
                    .iter()
                    .map(|&(_, c)| names[c].clone())
                    .zip(cols)
                    .collect(),
            );
        }
        // The model's column order.
        if names.iter().all(|n| p.names.contains(n)) && p.names.len() == names.len() {
            let order: Vec<usize> = names
                .iter()
                .map(|n| p.names.iter().position(|m| m == n).unwrap_or(0))
                .collect();
            let q = Panel {
                names: names.to_vec(),
                columns: order.iter().map(|&c| p.columns[c].clone()).collect(),
                roles: roles.to_vec(),
                filled: order.iter().map(|&c| p.filled[c]).collect(),
                ..p
            };
            return Ok(q);
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_phases_by_hand() {
        let t = Timestamp::parse("2021-03-01T06:00").unwrap();
        let cols = calendar_columns(&[CalendarFeature::Hour, CalendarFeature::Month], &[t]);
        // 06:00 is a quarter of the day: sin = 1, cos = 0; March is month0 2: 2/12 of a turn.
        assert!((cols[0].1[0] - 1.0).abs() < 1e-12 && cols[1].1[0].abs() < 1e-12);
        let a = std::f64::consts::TAU * 2.0 / 12.0;
        assert!((cols[2].1[0] - a.sin()).abs() < 1e-12);
        assert!((cols[3].1[0] - a.cos()).abs() < 1e-12);
        assert_eq!(cols[0].0, "cal_hour_sin");
    }

    #[test]
    fn auto_follows_the_frequency() {
        let d = Timestamp::parse("2020-01-01").unwrap();
        let r = |f, l| Calendar::Auto.resolve(Some(f), Some(&d), l, 1000).unwrap();
        assert_eq!(
            r(Frequency::Seconds(3600), 12),
            vec![CalendarFeature::Hour, CalendarFeature::Weekday]
        );
        // A lookback of 24 hours spans the day: only the week is news.
        assert_eq!(
            r(Frequency::Seconds(3600), 24),
            vec![CalendarFeature::Weekday]
        );
        assert_eq!(
            r(Frequency::Seconds(86_400), 6),
            vec![CalendarFeature::Weekday, CalendarFeature::YearDay]
        );
        assert_eq!(r(Frequency::Months(1), 6), vec![CalendarFeature::Month]);
        assert!(r(Frequency::Months(1), 24).is_empty());
        assert!(r(Frequency::Months(12), 1).is_empty());
        // 300 daily training rows do not cover two years: no day of year.
        assert_eq!(
            Calendar::Auto
                .resolve(Some(Frequency::Seconds(86_400)), Some(&d), 6, 300)
                .unwrap(),
            vec![CalendarFeature::Weekday]
        );
        let i = Timestamp::Index(3);
        assert!(Calendar::Auto
            .resolve(Some(Frequency::Step(1)), Some(&i), 1, 1000)
            .unwrap()
            .is_empty());
        assert!("hour"
            .parse::<Calendar>()
            .unwrap()
            .resolve(None, Some(&i), 1, 1000)
            .is_err());
        assert!("hours".parse::<Calendar>().is_err());
        assert_eq!(
            String::from("month,hour".parse::<Calendar>().unwrap()),
            "month,hour"
        );
    }
}
