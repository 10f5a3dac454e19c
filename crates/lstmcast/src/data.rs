//! Loading a time-series CSV into a validated [`TimeSeries`]: a header row, a time column, numeric
//! value columns. Every problem is reported with the file, the 1-based line (the header is line 1)
//! and the column, never as a panic.

use crate::error::{Error, Result};
use crate::time::{infer_frequency, Frequency, Spacing, Timestamp};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// How missing cells (empty, `NA`, `NaN`, `null`, `N/A`) are handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Fill {
    /// A missing cell is an error naming its line and column (the default).
    #[default]
    None,
    /// Straight line between the neighbouring known values; cells before the first or after the
    /// last known value take that value. Note: a gap is bridged with the next known value, which
    /// may lie in a later split.
    Linear,
    /// The last known value carries forward; cells before the first known value take it.
    Forward,
}

/// What to load from a CSV: which columns and how. All names are header names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct LoadOptions {
    /// The time column. Default: the first column, when its header reads like a time
    /// (`date`, `time`, `timestamp`, `datetime`, `index`, `step`, `period`, ...) or its values are
    /// dates or datetimes; otherwise the rows are numbered 0, 1, 2, ...
    pub time_col: Option<String>,
    /// Target columns (one or several). Default: the only numeric column; with several numeric
    /// columns a target must be named.
    pub target: Vec<String>,
    /// Input feature columns. Default: every numeric column. Targets are always inputs too.
    pub features: Vec<String>,
    /// Missing-value handling (default `none`: missing cells are an error).
    pub fill: Fill,
}

/// A loaded, validated series: strictly increasing timestamps and finite values.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeSeries {
    /// Where it came from (for messages).
    pub source: PathBuf,
    /// Name of the time column (`"row"` when rows were numbered).
    pub time_name: String,
    /// One timestamp per row, strictly increasing.
    pub timestamps: Vec<Timestamp>,
    /// Names of the loaded value columns: the inputs, targets first.
    pub names: Vec<String>,
    /// Column-major values: `columns[c][row]`, all finite.
    pub columns: Vec<Vec<f64>>,
    /// How many of `names` (the first ones) are targets.
    pub n_targets: usize,
    /// The inferred sampling frequency.
    pub spacing: Spacing,
    /// How many cells were filled per column (same order as `names`).
    pub filled: Vec<usize>,
}

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

fn is_missing(s: &str) -> bool {
    let t = s.trim();
    t.is_empty()
        || ["na", "nan", "null", "n/a", "none"]
            .iter()
            .any(|m| t.eq_ignore_ascii_case(m))
}

impl TimeSeries {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.timestamps.len()
    }

    /// Whether the series has no rows.
    pub fn is_empty(&self) -> bool {
        self.timestamps.is_empty()
    }

    /// Target column names.
    pub fn target_names(&self) -> &[String] {
        &self.names[..self.n_targets]
    }

    /// Rows `rows` as a series of their own (the frequency is inferred again).
    ///
    /// Panics if `rows` is out of bounds.
    pub fn slice_rows(&self, rows: std::ops::Range<usize>) -> TimeSeries {
        let timestamps = self.timestamps[rows.clone()].to_vec();
        TimeSeries {
            source: self.source.clone(),
            time_name: self.time_name.clone(),
            spacing: infer_frequency(&timestamps),
            timestamps,
            names: self.names.clone(),
            columns: self
                .columns
                .iter()
                .map(|c| c[rows.clone()].to_vec())
                .collect(),
            n_targets: self.n_targets,
            filled: self.filled.clone(),
        }
    }

    /// The regular frequency, if the timestamps are regular.
    pub fn frequency(&self) -> Option<Frequency> {
        match self.spacing {
            Spacing::Regular(f) => Some(f),
            _ => None,
        }
    }

    /// Builds a series from columns in memory (rows numbered 0..n); the first `n_targets` columns
    /// are targets.
    ///
    /// # Errors
    /// Columns of different lengths, no columns, or non-finite values.
    pub fn from_columns(
        names: Vec<String>,
        columns: Vec<Vec<f64>>,
        n_targets: usize,
    ) -> Result<TimeSeries> {
        let n = columns.first().map(Vec::len).unwrap_or(0);
        if columns.is_empty()
            || names.len() != columns.len()
            || n_targets == 0
            || n_targets > columns.len()
        {
            return Err(Error::config(
                "columns",
                "need at least one column, one name per column and 1..=columns targets",
            ));
        }
        for (name, c) in names.iter().zip(&columns) {
            if c.len() != n {
                return Err(Error::config(
                    "columns",
                    format!("column '{name}' has {} rows, expected {n}", c.len()),
                ));
            }
            if let Some(i) = c.iter().position(|v| !v.is_finite()) {
                return Err(Error::config(
                    "columns",
                    format!("column '{name}' row {i} is not finite"),
                ));
            }
        }
        let timestamps: Vec<Timestamp> = (0..n as i64).map(Timestamp::Index).collect();
        Ok(TimeSeries {
            source: PathBuf::from("<memory>"),
            time_name: "row".into(),
            spacing: infer_frequency(&timestamps),
            timestamps,
            filled: vec![0; names.len()],
            names,
            columns,
            n_targets,
        })
    }

    /// A one-paragraph summary: rows, span, frequency, and per column min / mean / max.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{}: {} rows, {} .. {}, {}\n",
            self.source.display(),
            self.len(),
            self.timestamps
                .first()
                .map(|t| t.to_string())
                .unwrap_or_default(),
            self.timestamps
                .last()
                .map(|t| t.to_string())
                .unwrap_or_default(),
            match &self.spacing {
                Spacing::Regular(f) => f.describe(),
                Spacing::Irregular { gap, .. } =>
                    format!("irregular spacing (first odd gap: {gap})"),
            }
        );
        s.push_str(&format!(
            "{:<20} {:>8} {:>14} {:>14} {:>14} {:>7}\n",
            "column", "role", "min", "mean", "max", "filled"
        ));
        for (c, name) in self.names.iter().enumerate() {
            let col = &self.columns[c];
            let min = col.iter().copied().fold(f64::INFINITY, f64::min);
            let max = col.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mean = col.iter().sum::<f64>() / col.len().max(1) as f64;
            let role = if c < self.n_targets {
                "target"
            } else {
                "input"
            };
            s.push_str(&format!(
                "{name:<20} {role:>8} {min:>14.6} {mean:>14.6} {max:>14.6} {:>7}\n",
                self.filled[c]
            ));
        }
        s
    }
}

/// Loads and validates a CSV file.
///
/// # Errors
/// A missing or unreadable file, no header, no data rows, a non-UTF-8 byte, a ragged row, a
/// non-numeric or infinite value, a missing value without `fill`, duplicate or unsorted
/// timestamps, or an unknown column: each names the file, line and column.
pub fn load_csv(path: impl AsRef<Path>, opts: &LoadOptions) -> Result<TimeSeries> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_csv(path, &bytes, opts)
}

/// Parses CSV bytes as [`load_csv`] does; `path` is only used in messages.
///
/// # Errors
/// As [`load_csv`].
pub fn parse_csv(path: &Path, bytes: &[u8], opts: &LoadOptions) -> Result<TimeSeries> {
    let err = |line: usize, column: Option<&str>, reason: String| Error::Csv {
        path: path.to_path_buf(),
        line,
        column: column.map(str::to_string),
        reason,
    };
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(err(
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
            err(line, None, format!("malformed CSV: {e}"))
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
                    return Err(err(
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
        return Err(err(
            1,
            None,
            "the file has no header row; expected a header row and data rows".into(),
        ));
    }
    let (_, header) = records.remove(0);
    if header.iter().any(String::is_empty) {
        let c = header.iter().position(String::is_empty).unwrap_or(0);
        return Err(err(
            1,
            None,
            format!("header field {} is empty; every column needs a name", c + 1),
        ));
    }
    for (i, h) in header.iter().enumerate() {
        if let Some(j) = header[..i].iter().position(|x| x == h) {
            return Err(err(
                1,
                Some(h),
                format!(
                    "the header names '{h}' twice (fields {} and {})",
                    j + 1,
                    i + 1
                ),
            ));
        }
    }
    if records.is_empty() {
        return Err(err(
            1,
            None,
            "the file has a header but no data rows".into(),
        ));
    }
    for (line, fields) in &records {
        if fields.len() != header.len() {
            return Err(err(
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
    let col_index = |name: &str| -> Result<usize> {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| Error::MissingColumn {
                path: path.to_path_buf(),
                name: name.to_string(),
                available: header.clone(),
            })
    };

    // The time column.
    let time_col: Option<usize> = match &opts.time_col {
        Some(name) => Some(col_index(name)?),
        None => {
            let first = &records[0].1[0];
            let h = header[0].to_ascii_lowercase();
            let named =
                TIME_WORDS.contains(&h.as_str()) || h.contains("date") || h.contains("time");
            match Timestamp::parse(first) {
                Some(Timestamp::Index(_)) if named => Some(0),
                Some(Timestamp::Index(_)) | None => None,
                Some(_) => Some(0),
            }
        }
    };
    let timestamps: Vec<Timestamp> = match time_col {
        None => (0..records.len() as i64).map(Timestamp::Index).collect(),
        Some(tc) => {
            let mut ts = Vec::with_capacity(records.len());
            for (line, fields) in &records {
                let t = Timestamp::parse(&fields[tc]).ok_or_else(|| {
                    err(*line, Some(&header[tc]), format!(
                        "'{}' is not a timestamp; use ISO 8601 (2020-01-31, 2020-01-31T12:00:00, optional Z or +01:00) or an integer index",
                        fields[tc]
                    ))
                })?;
                if let Some(first) = ts.first() {
                    if !t.same_kind(first) {
                        return Err(err(
                            *line,
                            Some(&header[tc]),
                            format!(
                                "'{}' mixes timestamp kinds: the first row has '{first}'",
                                fields[tc]
                            ),
                        ));
                    }
                }
                ts.push(t);
            }
            for i in 1..ts.len() {
                let (a, b) = (ts[i - 1].seconds(), ts[i].seconds());
                if b <= a {
                    let what = if a == b {
                        "duplicate timestamp"
                    } else {
                        "timestamps out of order"
                    };
                    return Err(err(
                        records[i].0,
                        Some(&header[tc]),
                        format!(
                            "{what}: '{}' here follows '{}' on line {}; timestamps must strictly increase (sort the file, remove duplicates)",
                            ts[i], ts[i - 1], records[i - 1].0
                        ),
                    ));
                }
            }
            ts
        }
    };

    // Which value columns.
    let value_cols: Vec<usize> = (0..header.len()).filter(|&c| Some(c) != time_col).collect();
    if value_cols.is_empty() {
        return Err(err(
            1,
            None,
            "no value columns besides the time column".into(),
        ));
    }
    let looks_numeric = |c: usize| {
        records
            .iter()
            .map(|(_, f)| &f[c])
            .find(|s| !is_missing(s))
            .map(|s| s.parse::<f64>().is_ok())
            .unwrap_or(false)
    };
    let numeric: Vec<usize> = value_cols
        .iter()
        .copied()
        .filter(|&c| looks_numeric(c))
        .collect();
    let targets: Vec<usize> =
        if opts.target.is_empty() {
            match numeric.as_slice() {
                [one] => vec![*one],
                [] => return Err(err(2, None, "no numeric value column found".into())),
                many => {
                    return Err(Error::config(
                        "target",
                        format!(
                        "{} has {} numeric columns ({}); name the one(s) to forecast with --target",
                        path.display(),
                        many.len(),
                        many.iter().map(|&c| header[c].as_str()).collect::<Vec<_>>().join(", ")
                    ),
                    ))
                }
            }
        } else {
            opts.target
                .iter()
                .map(|n| col_index(n))
                .collect::<Result<_>>()?
        };
    let mut inputs: Vec<usize> = targets.clone();
    let features: Vec<usize> = if opts.features.is_empty() {
        numeric.clone()
    } else {
        opts.features
            .iter()
            .map(|n| col_index(n))
            .collect::<Result<_>>()?
    };
    for c in features {
        if !inputs.contains(&c) {
            inputs.push(c);
        }
    }
    for &c in &inputs {
        if Some(c) == time_col {
            return Err(Error::config(
                "target/features",
                format!(
                    "'{}' is the time column; it cannot also be a value column",
                    header[c]
                ),
            ));
        }
    }
    for (i, &c) in targets.iter().enumerate() {
        if targets[..i].contains(&c) {
            return Err(Error::config(
                "target",
                format!("'{}' is named twice", header[c]),
            ));
        }
    }

    // Parse values.
    let mut columns = Vec::with_capacity(inputs.len());
    let mut filled = Vec::with_capacity(inputs.len());
    for &c in &inputs {
        let name = &header[c];
        let mut col: Vec<Option<f64>> = Vec::with_capacity(records.len());
        for (line, fields) in &records {
            let s = &fields[c];
            if is_missing(s) {
                if opts.fill == Fill::None {
                    return Err(err(*line, Some(name), format!("missing value '{s}'; pass --fill linear or --fill forward to fill gaps")));
                }
                col.push(None);
                continue;
            }
            let v: f64 = s
                .parse()
                .map_err(|_| err(*line, Some(name), format!("'{s}' is not a number")))?;
            if !v.is_finite() {
                return Err(err(*line, Some(name), format!("'{s}' is not finite; replace it with a real value or leave the cell empty and use --fill")));
            }
            col.push(Some(v));
        }
        let n_missing = col.iter().filter(|v| v.is_none()).count();
        if n_missing == col.len() {
            return Err(err(2, Some(name), "every value is missing".into()));
        }
        columns.push(fill_gaps(&col, opts.fill));
        filled.push(n_missing);
    }
    let spacing = infer_frequency(&timestamps);
    Ok(TimeSeries {
        source: path.to_path_buf(),
        time_name: time_col
            .map(|c| header[c].clone())
            .unwrap_or_else(|| "row".into()),
        timestamps,
        names: inputs.iter().map(|&c| header[c].clone()).collect(),
        columns,
        n_targets: targets.len(),
        spacing,
        filled,
    })
}

/// Fills `None` cells; at least one value is known.
fn fill_gaps(col: &[Option<f64>], fill: Fill) -> Vec<f64> {
    let known: Vec<usize> = (0..col.len()).filter(|&i| col[i].is_some()).collect();
    let first = known[0];
    let last = *known.last().unwrap_or(&first);
    let mut out = Vec::with_capacity(col.len());
    let mut prev = first;
    let mut next_k = 0;
    for (i, v) in col.iter().enumerate() {
        if let Some(v) = v {
            out.push(*v);
            prev = i;
            continue;
        }
        let fv = |j: usize| col[j].unwrap_or(0.0);
        let value = if i < first {
            fv(first)
        } else if i > last || fill == Fill::Forward {
            fv(prev)
        } else {
            while known[next_k] < i {
                next_k += 1;
            }
            let nxt = known[next_k];
            let w = (i - prev) as f64 / (nxt - prev) as f64;
            fv(prev) + w * (fv(nxt) - fv(prev))
        };
        out.push(value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, opts: &LoadOptions) -> Result<TimeSeries> {
        parse_csv(Path::new("t.csv"), text.as_bytes(), opts)
    }

    fn msg(text: &str, opts: &LoadOptions) -> String {
        parse(text, opts)
            .expect_err("expected an error")
            .to_string()
    }

    fn target(names: &[&str]) -> LoadOptions {
        LoadOptions {
            target: names.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn loads_univariate_with_dates() {
        let ts = parse(
            "date,y\n2020-01-01,1\n2020-02-01,2.5\n2020-03-01,3\n",
            &LoadOptions::default(),
        )
        .unwrap();
        assert_eq!(ts.names, vec!["y"]);
        assert_eq!(ts.columns[0], vec![1.0, 2.5, 3.0]);
        assert_eq!(ts.frequency(), Some(Frequency::Months(1)));
        assert_eq!(ts.time_name, "date");
    }

    #[test]
    fn targets_come_first_and_features_default_to_all_numeric() {
        let ts = parse(
            "date,a,b,c\n2020-01-01,1,2,3\n2020-01-02,4,5,6\n",
            &target(&["b"]),
        )
        .unwrap();
        assert_eq!(ts.names, vec!["b", "a", "c"]);
        assert_eq!(ts.n_targets, 1);
        let only = LoadOptions {
            features: vec!["c".into()],
            ..target(&["b"])
        };
        assert_eq!(
            parse("date,a,b,c\n2020-01-01,1,2,3\n2020-01-02,4,5,6\n", &only)
                .unwrap()
                .names,
            vec!["b", "c"]
        );
    }

    #[test]
    fn missing_file_is_io_error_naming_path() {
        let e = load_csv("/nonexistent/dir/x.csv", &LoadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/dir/x.csv"), "{e}");
    }

    #[test]
    fn a_lone_quote_is_an_error_not_a_panic() {
        // Found by `cargo fuzz run csv` (fuzz/corpus/csv/regression-lone-quote).
        for text in ["\"", "\"\"\n\n", " \"\"\n"] {
            let e = parse_csv(Path::new("q.csv"), text.as_bytes(), &LoadOptions::default())
                .unwrap_err()
                .to_string();
            assert!(e.contains("q.csv:1"), "{text:?}: {e}");
        }
    }

    #[test]
    fn empty_and_header_only_files_are_errors() {
        assert!(msg("", &LoadOptions::default()).contains("empty"));
        assert!(msg("date,y\n", &LoadOptions::default()).contains("no data rows"));
    }

    #[test]
    fn non_utf8_is_error_naming_line() {
        let e = parse_csv(
            Path::new("t.csv"),
            b"date,y\n2020-01-01,1\n2020-01-02,\xff\n",
            &LoadOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("t.csv:3") && e.contains("UTF-8"), "{e}");
    }

    #[test]
    fn ragged_row_is_error_naming_line() {
        let e = msg(
            "date,y\n2020-01-01,1\n2020-01-02,2,9\n",
            &LoadOptions::default(),
        );
        assert!(e.contains("t.csv:3") && e.contains("3 fields"), "{e}");
    }

    #[test]
    fn non_numeric_cell_names_line_column_and_value() {
        let e = msg(
            "date,y\n2020-01-01,1\n2020-01-02,abc\n",
            &LoadOptions::default(),
        );
        assert!(
            e.contains("t.csv:3") && e.contains("column 'y'") && e.contains("'abc'"),
            "{e}"
        );
    }

    #[test]
    fn missing_value_without_fill_is_error_and_fill_fills() {
        let text = "date,y\n2020-01-01,1\n2020-01-02,NA\n2020-01-03,\n2020-01-04,4\n";
        let e = msg(text, &LoadOptions::default());
        assert!(e.contains("t.csv:3") && e.contains("--fill"), "{e}");
        let lin = parse(
            text,
            &LoadOptions {
                fill: Fill::Linear,
                ..Default::default()
            },
        )
        .unwrap();
        // Linear between 1 (row 0) and 4 (row 3): 2 and 3, by hand.
        assert_eq!(lin.columns[0], vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(lin.filled, vec![2]);
        let fwd = parse(
            text,
            &LoadOptions {
                fill: Fill::Forward,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(fwd.columns[0], vec![1.0, 1.0, 1.0, 4.0]);
    }

    #[test]
    fn infinity_is_always_an_error() {
        for v in ["inf", "-inf", "1e400"] {
            let e = msg(
                &format!("date,y\n2020-01-01,1\n2020-01-02,{v}\n"),
                &LoadOptions {
                    fill: Fill::Linear,
                    ..Default::default()
                },
            );
            assert!(e.contains("t.csv:3") && e.contains("not finite"), "{e}");
        }
    }

    #[test]
    fn duplicate_and_unsorted_timestamps_name_both_lines() {
        let e = msg(
            "date,y\n2020-01-01,1\n2020-01-02,2\n2020-01-02,3\n",
            &LoadOptions::default(),
        );
        assert!(
            e.contains("duplicate") && e.contains("t.csv:4") && e.contains("line 3"),
            "{e}"
        );
        let e = msg(
            "date,y\n2020-01-02,1\n2020-01-01,2\n",
            &LoadOptions::default(),
        );
        assert!(
            e.contains("out of order") && e.contains("t.csv:3") && e.contains("line 2"),
            "{e}"
        );
    }

    #[test]
    fn unknown_column_lists_available() {
        let e = msg("date,a,b\n2020-01-01,1,2\n", &target(&["zz"]));
        assert!(e.contains("'zz'") && e.contains("date, a, b"), "{e}");
        let e = msg("date,a,b\n2020-01-01,1,2\n", &LoadOptions::default());
        assert!(e.contains("--target") && e.contains("a, b"), "{e}");
    }

    #[test]
    fn rows_are_numbered_when_first_column_is_data() {
        let ts = parse("y\n5\n6\n7\n", &LoadOptions::default()).unwrap();
        assert_eq!(ts.time_name, "row");
        assert_eq!(ts.timestamps[2], Timestamp::Index(2));
        let ts = parse("step,y\n10\t\n", &LoadOptions::default());
        assert!(ts.is_err());
        let ts = parse("step,y\n10,1\n20,2\n", &LoadOptions::default()).unwrap();
        assert_eq!(ts.frequency(), Some(Frequency::Step(10)));
    }

    #[test]
    fn bad_timestamp_is_error_naming_line() {
        let e = msg("date,y\n2020-01-01,1\nsoon,2\n", &LoadOptions::default());
        assert!(
            e.contains("t.csv:3") && e.contains("'soon'") && e.contains("ISO 8601"),
            "{e}"
        );
    }
}
