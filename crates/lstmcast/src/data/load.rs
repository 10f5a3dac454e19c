//! Loading a long-format CSV or Parquet file into a validated [`Panel`], in stages: records →
//! header → column roles (id, time, ignored, numeric, text) → ids and timestamps → series (rows
//! grouped by id and sorted by time, duplicates refused) → values (filled per series).
//!
//! Every problem names the file, the line (the header is line 1; for Parquet the row) and the
//! column. No column is ever dropped silently: a text column that is neither the id nor the time
//! column is an error saying how to declare it.

use super::{sort_ids, Fill, LoadOptions, Panel, Role};
use crate::error::{Error, Result};
use crate::time::{Frequency, Spacing, Timestamp, TIME_FORMATS};
use std::collections::HashMap;
use std::path::Path;

/// Words that make a first column's header read like a time column.
const TIME_WORDS: [&str; 11] = [
    "date",
    "time",
    "timestamp",
    "datetime",
    "ds",
    "index",
    "step",
    "period",
    "t",
    "year",
    "month",
];

/// Headers that make a later column the time column.
const TIME_NAMES: [&str; 5] = ["date", "time", "timestamp", "datetime", "ds"];

fn is_missing(s: &str) -> bool {
    let t = s.trim();
    t.is_empty()
        || ["na", "nan", "null", "n/a", "none"]
            .iter()
            .any(|m| t.eq_ignore_ascii_case(m))
}

/// Text that is not a number but is made of digits and date/time separators (`01/02/2020`,
/// `2020-13-45`, `12:30`): a time in a format lstmcast does not read.
fn looks_like_time(s: &str) -> bool {
    s.parse::<f64>().is_err()
        && s.chars().any(|c| c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_digit() || "-/.: TZ+".contains(c))
}

/// Loads and validates a CSV or Parquet file (Parquet is recognised by its `PAR1` magic bytes).
///
/// # Errors
/// A missing or unreadable file, no header, no data rows, a non-UTF-8 byte, a ragged row, a
/// non-numeric or infinite value, a missing value without `fill`, a duplicate (series, time),
/// an unknown column or an undeclared text column: each names the file, line and column.
pub fn load(path: impl AsRef<Path>, opts: &LoadOptions) -> Result<Panel> {
    load_as(path.as_ref(), opts, false)
}

/// Loads a file as [`load`] does but without requiring a target: with several numeric columns
/// and no target named, every numeric column is loaded as an input and none as a target
/// (`n_targets` is 0). For looking at a file (`lstmcast inspect`), not for training.
///
/// # Errors
/// As [`load`], except for the missing target.
pub fn describe(path: impl AsRef<Path>, opts: &LoadOptions) -> Result<Panel> {
    load_as(path.as_ref(), opts, true)
}

fn load_as(path: &Path, opts: &LoadOptions, describe: bool) -> Result<Panel> {
    Ok(load_table(path)?.into_panels(opts, describe)?.0)
}

/// Loads a file as [`load`] does and also returns its future rows: with future-known columns
/// declared, the rows at the end of a series whose target cells are all empty hold the
/// future-known values of the steps to forecast. They are not part of the history (the first
/// panel); the second panel holds them (future-known columns only), `None` when there are none.
///
/// # Errors
/// As [`load`]; also a future row with a future-known cell missing (naming the series, line
/// and column).
pub fn load_with_future(
    path: impl AsRef<Path>,
    opts: &LoadOptions,
) -> Result<(Panel, Option<Panel>)> {
    load_table(path.as_ref())?.into_panels(opts, false)
}

/// Loads a file of future-known values (`--future FILE`): the id and time columns as `opts`
/// says (or detected) and the future-known columns of `opts`, every cell present; other
/// columns are not read.
///
/// # Errors
/// As [`load`]; a future-known column the file lacks, or a missing cell, names the file.
pub fn load_future(path: impl AsRef<Path>, opts: &LoadOptions) -> Result<Panel> {
    future_of(load_table(path.as_ref())?, opts)
}

/// A data frame handed over column by column (the Python package's frames): each column's cells
/// as the text a file would hold (a missing value empty), read by the same stages as a file.
/// Problems name `name` and the 1-based row (the frame's position + 1), as for Parquet.
#[derive(Debug, Clone, Default)]
pub struct Frame {
    /// What messages call the frame (e.g. `data frame`).
    pub name: String,
    /// Column names.
    pub header: Vec<String>,
    /// The cells, one vector per column, all of the same length.
    pub columns: Vec<Vec<String>>,
}

impl Frame {
    fn table(&self) -> Result<Table<'_>> {
        let path = Path::new(&self.name);
        let rows = self.columns.first().map_or(0, Vec::len);
        if let Some(c) = self.columns.iter().position(|c| c.len() != rows) {
            return Err(Error::Data {
                path: path.to_path_buf(),
                row: 0,
                column: self.header.get(c).cloned(),
                reason: format!(
                    "the column has {} values where the first has {rows}; give every column one value per row",
                    self.columns[c].len()
                ),
            });
        }
        if self.columns.len() != self.header.len() {
            return Err(Error::Data {
                path: path.to_path_buf(),
                row: 0,
                column: None,
                reason: format!(
                    "{} column names for {} columns",
                    self.header.len(),
                    self.columns.len()
                ),
            });
        }
        let records = (0..rows)
            .map(|r| (r + 2, self.columns.iter().map(|c| c[r].clone()).collect()))
            .collect();
        Ok(Table {
            path,
            numbered_rows: true,
            header: self.header.clone(),
            records,
        })
    }
}

/// Reads a frame as [`load_with_future`] reads a file: the history, and the future rows at the
/// end of its series (`None` when there are none).
///
/// # Errors
/// As [`load_with_future`], naming the frame and row.
pub fn load_frame(frame: &Frame, opts: &LoadOptions) -> Result<(Panel, Option<Panel>)> {
    frame.table()?.into_panels(opts, false)
}

/// Reads a frame of future-known values as [`load_future`] reads a file.
///
/// # Errors
/// As [`load_future`], naming the frame and row.
pub fn load_future_frame(frame: &Frame, opts: &LoadOptions) -> Result<Panel> {
    future_of(frame.table()?, opts)
}

fn future_of(t: Table<'_>, opts: &LoadOptions) -> Result<Panel> {
    t.check_header()?;
    let id = opts.id_col.as_deref().map(|n| t.col_index(n)).transpose()?;
    let inputs: Vec<usize> = opts
        .future_known
        .iter()
        .map(|n| t.col_index(n))
        .collect::<Result<_>>()?;
    let free = |c: usize| Some(c) != id && !inputs.contains(&c);
    let time = match &opts.time_col {
        Some(name) => Some(t.col_index(name)?),
        None => t.detect_time(&free),
    };
    if time.is_none() {
        return Err(t.err(
            1,
            None,
            "a file of future values needs a time column to line up with the steps to forecast; add one (as in the data), or end each series of the data file with rows whose target is empty".into(),
        ));
    }
    let roles = Roles {
        id,
        time,
        targets: Vec::new(),
        roles: vec![Role::Future; inputs.len()],
        inputs,
        categorical: Vec::new(),
    };
    let ids = t.ids(&roles)?;
    let (times, time_format) = t.times(&roles, opts.time_format.as_deref())?;
    let order = t.group(&roles, &ids, &times)?;
    let series = t.regularise(&roles, order, &times, None, Fill::None)?;
    t.build(&roles, series, time_format, Fill::None, Fill::None, None)
}

fn load_table(path: &Path) -> Result<Table<'_>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    table_of(path, &bytes)
}

/// Parses a file's bytes: Parquet when they start with `PAR1`, else CSV.
fn parse_bytes(path: &Path, bytes: &[u8], opts: &LoadOptions, describe: bool) -> Result<Panel> {
    Ok(table_of(path, bytes)?.into_panels(opts, describe)?.0)
}

/// A file's records: Parquet when its bytes start with `PAR1`, else CSV.
fn table_of<'a>(path: &'a Path, bytes: &[u8]) -> Result<Table<'a>> {
    if bytes.starts_with(b"PAR1") {
        let t = super::parquet::read_parquet(bytes).map_err(|reason| Error::Data {
            path: path.to_path_buf(),
            row: 0,
            column: None,
            reason,
        })?;
        let records = t
            .rows
            .into_iter()
            .enumerate()
            .map(|(r, cells)| {
                let fields = cells.into_iter().map(Option::unwrap_or_default).collect();
                (r + 2, fields)
            })
            .collect();
        return Ok(Table {
            path,
            numbered_rows: true,
            header: t.header,
            records,
        });
    }
    csv_table(path, bytes)
}

/// Parses a file's bytes as [`load`] does (Parquet or CSV by the bytes); `path` is only used in
/// messages.
///
/// # Errors
/// As [`load`].
pub fn parse(path: &Path, bytes: &[u8], opts: &LoadOptions) -> Result<Panel> {
    parse_bytes(path, bytes, opts, false)
}

/// Parses CSV bytes as [`load`] does; `path` is only used in messages.
///
/// # Errors
/// As [`load`].
pub fn parse_csv(path: &Path, bytes: &[u8], opts: &LoadOptions) -> Result<Panel> {
    Ok(csv_table(path, bytes)?.into_panels(opts, false)?.0)
}

/// The records of a file: a header and rows of text cells, each with its line.
struct Table<'a> {
    path: &'a Path,
    /// Parquet or a frame: problems name a 1-based row, not a line.
    numbered_rows: bool,
    header: Vec<String>,
    /// `(line, cells)`: the 1-based line (header = 1); for Parquet and frames, row + 1.
    records: Vec<(usize, Vec<String>)>,
}

/// The roles of the columns, as indices into the header.
struct Roles {
    id: Option<usize>,
    time: Option<usize>,
    targets: Vec<usize>,
    inputs: Vec<usize>,
    /// The role of each of `inputs`.
    roles: Vec<Role>,
    /// Static inputs holding text: categorical, one-hot encoded as `name=category` columns.
    categorical: Vec<usize>,
}

fn csv_table<'a>(path: &'a Path, bytes: &[u8]) -> Result<Table<'a>> {
    let mut t = Table {
        path,
        numbered_rows: false,
        header: Vec::new(),
        records: Vec::new(),
    };
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(t.err(
            1,
            None,
            "the file is empty; expected a header row and data rows".into(),
        ));
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut records = Vec::new();
    for rec in reader.byte_records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map(|p| p.line() as usize).unwrap_or(0);
            t.err(line, None, format!("malformed CSV: {e}"))
        })?;
        let line = rec
            .position()
            .map(|p| p.line() as usize)
            .unwrap_or(records.len() + 1);
        if rec.len() == 1 && rec[0].iter().all(u8::is_ascii_whitespace) {
            continue; // blank line
        }
        let mut fields = Vec::with_capacity(rec.len());
        for (c, f) in rec.iter().enumerate() {
            match std::str::from_utf8(f) {
                Ok(s) => fields.push(s.trim().to_string()),
                Err(e) => {
                    return Err(t.err(
                        line,
                        None,
                        format!("field {} is not valid UTF-8 (bad byte at offset {}); save the file as UTF-8", c + 1, e.valid_up_to()),
                    ))
                }
            }
        }
        records.push((line, fields));
    }
    if records.is_empty() {
        // Only blank records, e.g. a lone quote: nothing the header could come from.
        return Err(t.err(
            1,
            None,
            "the file has no header row; expected a header row and data rows".into(),
        ));
    }
    let (_, header) = records.remove(0);
    for (line, fields) in &records {
        if fields.len() != header.len() {
            return Err(t.err(
                *line,
                None,
                format!(
                    "row has {} fields but the header has {}; check for a missing or extra comma",
                    fields.len(),
                    header.len()
                ),
            ));
        }
    }
    t.header = header;
    t.records = records;
    Ok(t)
}

mod stages;

#[cfg(test)]
mod tests;
