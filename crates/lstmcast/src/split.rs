//! Temporal train / validation / test split, common to every series of a panel. The boundaries
//! are positions on one [`Calendar`]: by default the panel's distinct timestamps, so validation
//! and test are the same calendar periods for every series (a global model is never scored on
//! one series' rows of a period it trained on in another); with `--split-last` the series are
//! aligned at their last row instead. Each series' parts are contiguous, ordered, disjoint row
//! ranges; a window belongs to the part that holds all its target rows, so its inputs may reach
//! back into an earlier part but never forward.

use crate::data::Panel;
use crate::error::{Error, Result};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// The three parts of a split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// Fitting: scalers, normalisation statistics, weights.
    Train,
    /// Early stopping and model choice.
    Val,
    /// The final, untouched score.
    Test,
}

impl Part {
    /// All parts in time order.
    pub const ALL: [Part; 3] = [Part::Train, Part::Val, Part::Test];

    /// The name used in messages (`train`, `validation`, `test`).
    pub fn name(self) -> &'static str {
        match self {
            Part::Train => "train",
            Part::Val => "validation",
            Part::Test => "test",
        }
    }
}

/// Where the boundaries go: fractions of the panel's distinct timestamps (the default), two
/// boundary timestamps (`at`), or the last rows of every series (`last`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SplitSpec {
    /// Fraction of the distinct timestamps for training (first ones). Default 0.7.
    pub train: f64,
    /// Fraction for validation (early stopping, model choice). Default 0.1.
    pub val: f64,
    /// Fraction for the final test. Default 0.2.
    pub test: f64,
    /// `[VAL_START, TEST_START]`: the first timestamp of validation and of test, for every
    /// series (`--split-at`); overrides the fractions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<[String; 2]>,
    /// `[VAL_ROWS, TEST_ROWS]`: the last TEST_ROWS rows of each series are its test part and the
    /// VAL_ROWS before them its validation part (`--split-last`), for series that do not share
    /// a calendar; overrides the fractions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<[usize; 2]>,
}

impl Default for SplitSpec {
    fn default() -> Self {
        SplitSpec {
            train: 0.7,
            val: 0.1,
            test: 0.2,
            at: None,
            last: None,
        }
    }
}

/// The three row ranges of one series (local row indices).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Splits {
    /// Training rows `[0, train_end)` (or from a later start in a sliding backtest).
    pub train: Range<usize>,
    /// Validation rows `[train_end, val_end)`.
    pub val: Range<usize>,
    /// Test rows `[val_end, n)`.
    pub test: Range<usize>,
}

/// Positions in time shared by every series of a panel. The positions are never stored: a
/// merge over the series (each sorted) finds the timestamp at a position when it is needed, so
/// the calendar costs no memory per row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Calendar {
    /// The panel's distinct timestamps, in order: position `p` is the `p`-th of them.
    Times {
        /// How many distinct timestamps the panel has.
        len: usize,
    },
    /// Series aligned at their last row: row `r` of a series of `n` rows is position
    /// `r + longest − n`.
    EndAligned {
        /// The longest series' row count (the number of positions).
        longest: usize,
    },
}

/// Visits the distinct timestamps of `panel` in order, with their position and one series and
/// local row holding each; stops when `visit` returns false.
fn scan_distinct(panel: &Panel, mut visit: impl FnMut(usize, &Timestamp) -> bool) {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    if panel.n_series() == 1 {
        for (p, t) in panel.timestamps.iter().enumerate() {
            if !visit(p, t) {
                return;
            }
        }
        return;
    }
    let mut heap: BinaryHeap<Reverse<(i64, usize, usize)>> = (0..panel.n_series())
        .filter(|&s| panel.series_len(s) > 0)
        .map(|s| Reverse((panel.series_timestamps(s)[0].seconds(), s, 0)))
        .collect();
    let mut pos = 0;
    let mut last: Option<i64> = None;
    while let Some(Reverse((secs, s, r))) = heap.pop() {
        if last != Some(secs) {
            if !visit(pos, &panel.series_timestamps(s)[r]) {
                return;
            }
            pos += 1;
            last = Some(secs);
        }
        if let Some(t) = panel.series_timestamps(s).get(r + 1) {
            heap.push(Reverse((t.seconds(), s, r + 1)));
        }
    }
}

impl Calendar {
    /// The calendar `spec` splits on: end-aligned for `last`, else the distinct timestamps.
    pub fn of(panel: &Panel, spec: &SplitSpec) -> Calendar {
        if spec.last.is_some() {
            let longest = (0..panel.n_series())
                .map(|s| panel.series_len(s))
                .max()
                .unwrap_or(0);
            return Calendar::EndAligned { longest };
        }
        let mut len = 0;
        scan_distinct(panel, |_, _| {
            len += 1;
            true
        });
        Calendar::Times { len }
    }

    /// Number of positions.
    pub fn len(&self) -> usize {
        match *self {
            Calendar::Times { len } => len,
            Calendar::EndAligned { longest } => longest,
        }
    }

    /// Whether there are no positions.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The timestamps at `positions` (`None` past the end); for the distinct-timestamp calendar
    /// only (`None` otherwise).
    pub fn times_at(&self, panel: &Panel, positions: &[usize]) -> Vec<Option<Timestamp>> {
        let mut out = vec![None; positions.len()];
        if let Calendar::Times { .. } = self {
            let last = positions.iter().copied().max().unwrap_or(0);
            scan_distinct(panel, |p, t| {
                for (k, &want) in positions.iter().enumerate() {
                    if want == p {
                        out[k] = Some(*t);
                    }
                }
                p < last
            });
        }
        out
    }

    /// The number of positions before time `t` (distinct-timestamp calendar).
    fn count_before(panel: &Panel, t: &Timestamp) -> usize {
        let mut n = 0;
        scan_distinct(panel, |_, x| {
            let before = x.seconds() < t.seconds();
            n += usize::from(before);
            before
        });
        n
    }

    /// Position `pos` for people: its timestamp, or "k rows before the end".
    pub fn label(&self, panel: &Panel, pos: usize) -> String {
        self.label_of(panel, pos, self.times_at(panel, &[pos])[0])
    }

    /// [`Calendar::label`] with the position's timestamp already looked up.
    fn label_of(&self, panel: &Panel, pos: usize, time: Option<Timestamp>) -> String {
        match self {
            Calendar::Times { .. } => {
                time.map_or_else(|| "the end".into(), |t| panel.format_time(&t))
            }
            Calendar::EndAligned { longest } => match longest.saturating_sub(pos) {
                0 => "the end".into(),
                k => format!("{k} rows before the end of each series"),
            },
        }
    }

    /// The rows of every series for the positions `train_start..val_start..test_start..test_end`.
    pub fn splits(&self, panel: &Panel, bounds: [usize; 4]) -> Vec<Splits> {
        self.splits_from(panel, bounds, &self.times_at(panel, &bounds))
    }

    /// [`Calendar::splits`] with the bounds' timestamps (`limits`) already looked up.
    fn splits_from(
        &self,
        panel: &Panel,
        bounds: [usize; 4],
        limits: &[Option<Timestamp>],
    ) -> Vec<Splits> {
        (0..panel.n_series())
            .map(|s| {
                let n = panel.series_len(s);
                let row_of = |k: usize| match self {
                    Calendar::Times { .. } => match &limits[k] {
                        None => n,
                        Some(t) => {
                            let limit = t.seconds();
                            panel
                                .series_timestamps(s)
                                .partition_point(|x| x.seconds() < limit)
                        }
                    },
                    Calendar::EndAligned { longest } => {
                        bounds[k].saturating_sub(longest - n).min(n)
                    }
                };
                Splits {
                    train: row_of(0)..row_of(1),
                    val: row_of(1)..row_of(2),
                    test: row_of(2)..row_of(3),
                }
            })
            .collect()
    }
}

/// A panel's split: the boundaries, readable, and every series' rows.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelSplit {
    /// The calendar the boundaries are positions on.
    pub calendar: Calendar,
    /// Positions where validation and test start.
    pub val_start: usize,
    /// See `val_start`.
    pub test_start: usize,
    /// Per series (panel order): its rows in each part.
    pub series: Vec<Splits>,
    /// The boundaries for people (see [`SplitReport`]).
    pub report: SplitReport,
}

/// The boundaries of a split, as stored in `metrics.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitReport {
    /// `fractions`, `at` or `last`.
    pub mode: String,
    /// Where validation starts (a timestamp, or rows before the end).
    pub val_start: String,
    /// Where test starts.
    pub test_start: String,
}

impl SplitSpec {
    /// Parses `--split-at VAL_START,TEST_START` (two timestamps).
    ///
    /// # Errors
    /// Not two timestamps in order.
    pub fn parse_at(text: &str) -> Result<[String; 2]> {
        let parts: Vec<&str> = text.split(',').map(str::trim).collect();
        let [a, b] = parts[..] else {
            return Err(Error::config(
                "split-at",
                format!("'{text}' is not two timestamps VAL_START,TEST_START like 2017-01-01,2017-07-01"),
            ));
        };
        let at = [a.to_string(), b.to_string()];
        check_at(&at)?;
        Ok(at)
    }

    /// Parses `--split-last VAL_ROWS,TEST_ROWS` (two positive row counts).
    ///
    /// # Errors
    /// Not two positive integers.
    pub fn parse_last(text: &str) -> Result<[usize; 2]> {
        let nums: Option<Vec<usize>> = text.split(',').map(|p| p.trim().parse().ok()).collect();
        match nums.as_deref() {
            Some(&[v, t]) if v > 0 && t > 0 => Ok([v, t]),
            _ => Err(Error::config(
                "split-last",
                format!("'{text}' is not two positive row counts VAL_ROWS,TEST_ROWS like 12,24"),
            )),
        }
    }

    /// Checks that every fraction is positive and finite and that they sum to 1 (±1e-6), and
    /// that at most one of `at` and `last` is given.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming `split`.
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [
            ("train", self.train),
            ("val", self.val),
            ("test", self.test),
        ] {
            if !(v.is_finite() && v > 0.0 && v < 1.0) {
                return Err(Error::config(
                    "split",
                    format!("the {name} fraction is {v}; each fraction must be > 0 and < 1"),
                ));
            }
        }
        let sum = self.train + self.val + self.test;
        if (sum - 1.0).abs() > 1e-6 {
            return Err(Error::config(
                "split",
                format!(
                    "fractions sum to {sum:.4}, not 1 (train {}, val {}, test {})",
                    self.train, self.val, self.test
                ),
            ));
        }
        if self.at.is_some() && self.last.is_some() {
            return Err(Error::config(
                "split",
                "give the boundaries as timestamps (at, --split-at) or as rows before the end (last, --split-last), not both",
            ));
        }
        if let Some(at) = &self.at {
            check_at(at)?;
        }
        if let Some([v, t]) = self.last {
            if v == 0 || t == 0 {
                return Err(Error::config(
                    "split-last",
                    "the validation and test parts need at least one row each",
                ));
            }
        }
        Ok(())
    }

    /// Row ranges of one series of `n` rows by the fractions: boundaries `floor(train·n)` and
    /// `floor((train+val)·n)`.
    pub fn ranges(&self, n: usize) -> Splits {
        let [val_start, test_start] = self.fraction_bounds(n);
        Splits {
            train: 0..val_start,
            val: val_start..test_start,
            test: test_start..n,
        }
    }

    /// The fractions' boundaries on `n` positions.
    fn fraction_bounds(&self, n: usize) -> [usize; 2] {
        // A tiny epsilon so that 0.7 + 0.1 = 0.7999999 still gives floor(0.8·n).
        let b = |f: f64| (((f * n as f64) + 1e-9).floor() as usize).min(n);
        let train_end = b(self.train);
        [train_end, b(self.train + self.val).max(train_end)]
    }

    /// Splits `panel`: the boundaries on its calendar and every series' rows.
    ///
    /// # Errors
    /// `at` timestamps of another kind than the panel's or outside its span; `last` longer
    /// than the longest series.
    pub fn resolve(&self, panel: &Panel) -> Result<PanelSplit> {
        let calendar = Calendar::of(panel, self);
        let n = calendar.len();
        let [val_start, test_start] = match (&self.at, self.last) {
            (_, Some([v, t])) => {
                if v + t >= n {
                    return Err(Error::config(
                        "split-last",
                        format!(
                            "{v} validation and {t} test rows leave no training rows: the longest series has {n} rows"
                        ),
                    ));
                }
                [n - v - t, n - t]
            }
            (Some(at), None) => {
                let [first, last] = calendar
                    .times_at(panel, &[0, n.saturating_sub(1)])
                    .try_into()
                    .unwrap_or([None, None]);
                let mut b = [0; 2];
                for (k, text) in at.iter().enumerate() {
                    let t = panel
                        .parse_time(text)
                        .filter(|t| first.is_none_or(|f| f.same_kind(t)))
                        .ok_or_else(|| {
                            Error::config(
                                "split-at",
                                format!(
                                    "'{text}' is not a timestamp like the data's ({})",
                                    first.map_or_else(String::new, |t| panel.format_time(&t))
                                ),
                            )
                        })?;
                    b[k] = Calendar::count_before(panel, &t);
                }
                if b[0] == 0 || b[1] >= n {
                    return Err(Error::config(
                        "split-at",
                        format!(
                            "{},{} leaves no {} rows: the data spans {} .. {}",
                            at[0],
                            at[1],
                            if b[0] == 0 { "training" } else { "test" },
                            first.map_or_else(String::new, |t| panel.format_time(&t)),
                            last.map_or_else(String::new, |t| panel.format_time(&t)),
                        ),
                    ));
                }
                if b[0] >= b[1] {
                    return Err(if b[0] > b[1] {
                        before(at)
                    } else {
                        Error::config(
                            "split-at",
                            format!("{},{} leaves no validation rows: no timestamp of the data lies between them", at[0], at[1]),
                        )
                    });
                }
                b
            }
            _ => self.fraction_bounds(n),
        };
        // One merge over the series finds every boundary's timestamp.
        let bounds = [0, val_start, test_start, n];
        let limits = calendar.times_at(panel, &bounds);
        let report = SplitReport {
            mode: if self.last.is_some() {
                "last"
            } else if self.at.is_some() {
                "at"
            } else {
                "fractions"
            }
            .into(),
            val_start: calendar.label_of(panel, val_start, limits[1]),
            test_start: calendar.label_of(panel, test_start, limits[2]),
        };
        Ok(PanelSplit {
            series: calendar.splits_from(panel, bounds, &limits),
            calendar,
            val_start,
            test_start,
            report,
        })
    }
}

impl std::str::FromStr for SplitSpec {
    type Err = Error;

    /// Parses `"0.7,0.1,0.2"`.
    ///
    /// # Errors
    /// Not three numbers, or invalid fractions (see [`SplitSpec::validate`]).
    fn from_str(text: &str) -> Result<SplitSpec> {
        let parts: Vec<&str> = text.split(',').map(str::trim).collect();
        let nums: Vec<f64> = parts
            .iter()
            .map(|p| p.parse::<f64>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| {
                Error::config(
                    "split",
                    format!("'{text}' is not three comma-separated fractions like 0.7,0.1,0.2"),
                )
            })?;
        let [train, val, test] = nums[..] else {
            return Err(Error::config(
                "split",
                format!(
                    "'{text}' has {} parts; give train,val,test like 0.7,0.1,0.2",
                    nums.len()
                ),
            ));
        };
        let s = SplitSpec {
            train,
            val,
            test,
            ..Default::default()
        };
        s.validate()?;
        Ok(s)
    }
}

/// Checks `--split-at` before the data is read: two non-empty timestamps, in order when both
/// are ISO 8601 (other layouts are read, and checked, with the data's own).
fn check_at(at: &[String; 2]) -> Result<()> {
    if at.iter().any(|t| t.trim().is_empty()) {
        return Err(Error::config(
            "split-at",
            "give two timestamps VAL_START,TEST_START like 2017-01-01,2017-07-01",
        ));
    }
    if let (Some(a), Some(b)) = (Timestamp::parse(&at[0]), Timestamp::parse(&at[1])) {
        if !(a.same_kind(&b) && a.seconds() < b.seconds()) {
            return Err(before(at));
        }
    }
    Ok(())
}

fn before(at: &[String; 2]) -> Error {
    Error::config(
        "split-at",
        format!(
            "validation must start before test: '{}' is not before '{}'",
            at[0], at[1]
        ),
    )
}

/// A series left out of one part: too few rows there, or no scaler for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    /// The series id.
    pub series: String,
    /// The part it is left out of.
    pub part: Part,
    /// Rows it has in that part.
    pub rows: usize,
    /// Rows the part would need (lookback + horizon for training, the horizon otherwise, with
    /// the inputs reaching back).
    pub needed: usize,
    /// Why, for people ("3 rows, needs 7", "no training rows to fit its own scaler on").
    pub why: String,
}

impl Splits {
    /// Window origins (index of the first target row) whose targets `[t, t+horizon)` lie inside
    /// `rows` and whose inputs `[t−lookback, t)` start at row 0 or later.
    pub fn origins(rows: &Range<usize>, lookback: usize, horizon: usize) -> Range<usize> {
        let start = rows.start.max(lookback);
        let end = (rows.end + 1).saturating_sub(horizon);
        start..end.max(start)
    }

    /// The rows of `part`.
    pub fn part(&self, part: Part) -> &Range<usize> {
        match part {
            Part::Train => &self.train,
            Part::Val => &self.val,
            Part::Test => &self.test,
        }
    }

    /// Origins of the train, validation and test windows, each non-empty.
    ///
    /// # Errors
    /// [`Error::NotEnoughData`] naming the split that is left without a window and how many rows
    /// the series would need.
    pub fn window_origins(&self, lookback: usize, horizon: usize) -> Result<[Range<usize>; 3]> {
        let mut out = [0..0, 0..0, 0..0];
        for (k, part) in Part::ALL.into_iter().enumerate() {
            let rows = self.part(part);
            let o = Self::origins(rows, lookback, horizon);
            if o.is_empty() {
                return Err(too_short(part, rows, lookback, horizon));
            }
            out[k] = o;
        }
        Ok(out)
    }
}

/// Rows a part needs for one window: lookback + horizon for training (nothing earlier to reach
/// back into), the horizon for the others.
pub fn rows_needed(part: Part, lookback: usize, horizon: usize) -> usize {
    match part {
        Part::Train => lookback + horizon,
        _ => horizon,
    }
}

/// The error for a part of a single series without a window.
pub fn too_short(part: Part, rows: &Range<usize>, lookback: usize, horizon: usize) -> Error {
    Error::NotEnoughData {
        what: format!(
            "the {} split (rows {}..{}) with lookback {lookback} and horizon {horizon} (it has {} rows; lower --lookback/--horizon or change --split)",
            part.name(),
            rows.start,
            rows.end,
            rows.len()
        ),
        needed: rows_needed(part, lookback, horizon),
        got: rows.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn default_boundaries_are_floor_of_fractions() {
        let s = SplitSpec::default().ranges(144);
        // floor(0.7·144) = 100, floor(0.8·144) = 115.
        assert_eq!((s.train, s.val, s.test), (0..100, 100..115, 115..144));
        let s = SplitSpec::default().ranges(10);
        assert_eq!((s.train, s.val, s.test), (0..7, 7..8, 8..10));
    }

    #[test]
    fn invalid_fractions_are_errors() {
        for bad in [
            "0.7,0.3",
            "0.5,0.3,0.3",
            "0,0.5,0.5",
            "-0.1,0.6,0.5",
            "a,b,c",
            "0.7,0.1,0.2,0.0",
            "1,0,0",
        ] {
            let e = bad.parse::<SplitSpec>().unwrap_err().to_string();
            assert!(e.contains("split"), "{bad}: {e}");
        }
        assert_eq!(
            " 0.6, 0.2 ,0.2".parse::<SplitSpec>().unwrap(),
            SplitSpec {
                train: 0.6,
                val: 0.2,
                test: 0.2,
                ..Default::default()
            }
        );
    }

    #[test]
    fn test_split_window_count_matches_formula() {
        let s = SplitSpec::default().ranges(200);
        let [_, _, test] = s.window_origins(24, 3).unwrap();
        // N − val_end − H + 1 = 200 − 160 − 3 + 1 = 38.
        assert_eq!(test.len(), 38);
    }

    #[test]
    fn too_long_lookback_names_split_and_rows() {
        let s = SplitSpec::default().ranges(30);
        let e = s.window_origins(25, 1).unwrap_err().to_string();
        assert!(e.contains("train split") && e.contains("26"), "{e}");
        let e = s.window_origins(5, 4).unwrap_err().to_string();
        assert!(
            e.contains("validation split") && e.contains("lookback 5 and horizon 4"),
            "{e}"
        );
    }

    fn panel() -> Panel {
        // a: rows at times 0..10, b: times 4..10 (starts later), c: times 0..6 (ends earlier).
        let mut p = Panel::from_series(
            vec!["y".into()],
            1,
            vec![
                ("a".into(), vec![vec![0.0; 10]]),
                ("b".into(), vec![vec![0.0; 6]]),
                ("c".into(), vec![vec![0.0; 6]]),
            ],
        )
        .unwrap();
        let b = p.rows(1);
        for (k, r) in b.enumerate() {
            p.timestamps[r] = Timestamp::Index(4 + k as i64);
        }
        p
    }

    #[test]
    fn calendar_split_is_common_to_every_series() {
        let p = panel();
        let s = SplitSpec::default().resolve(&p).unwrap();
        // 10 distinct times: validation starts at time 7, test at time 8, for every series.
        assert_eq!((s.val_start, s.test_start), (7, 8));
        assert_eq!(
            s.series[0],
            Splits {
                train: 0..7,
                val: 7..8,
                test: 8..10
            }
        );
        // b holds times 4..10: rows 0..3 are times 4, 5, 6.
        assert_eq!(
            s.series[1],
            Splits {
                train: 0..3,
                val: 3..4,
                test: 4..6
            }
        );
        // c ends at time 5: all training.
        assert_eq!(
            s.series[2],
            Splits {
                train: 0..6,
                val: 6..6,
                test: 6..6
            }
        );
        assert_eq!(s.report.test_start, "8");
    }

    #[test]
    fn split_at_and_split_last() {
        let p = panel();
        let at = SplitSpec {
            at: Some(["5".into(), "9".into()]),
            ..Default::default()
        };
        let s = at.resolve(&p).unwrap();
        assert_eq!(
            s.series[0],
            Splits {
                train: 0..5,
                val: 5..9,
                test: 9..10
            }
        );
        assert_eq!(
            s.series[1],
            Splits {
                train: 0..1,
                val: 1..5,
                test: 5..6
            }
        );
        let last = SplitSpec {
            last: Some([2, 1]),
            ..Default::default()
        };
        let s = last.resolve(&p).unwrap();
        // Every series: the last row is test, the two before it validation.
        assert_eq!(
            s.series[0],
            Splits {
                train: 0..7,
                val: 7..9,
                test: 9..10
            }
        );
        assert_eq!(
            s.series[2],
            Splits {
                train: 0..3,
                val: 3..5,
                test: 5..6
            }
        );
        let e = SplitSpec {
            last: Some([5, 5]),
            ..Default::default()
        }
        .resolve(&p)
        .unwrap_err();
        assert!(e.to_string().contains("longest series has 10 rows"), "{e}");
        let e = SplitSpec {
            at: Some(["-5".into(), "0".into()]),
            ..Default::default()
        }
        .resolve(&p)
        .unwrap_err();
        assert!(e.to_string().contains("no training rows"), "{e}");
        assert!(SplitSpec::parse_at("2017-01-01,2016-01-01")
            .unwrap_err()
            .to_string()
            .contains("before"));
        assert!(SplitSpec::parse_last("0,3").is_err());
    }

    #[test]
    fn single_series_calendar_split_matches_the_row_fractions() {
        let p = Panel::from_columns(vec!["y".into()], vec![vec![0.0; 144]], 1).unwrap();
        let s = SplitSpec::default().resolve(&p).unwrap();
        assert_eq!(s.series[0], SplitSpec::default().ranges(144));
    }

    proptest! {
        #[test]
        fn splits_are_ordered_disjoint_and_cover(n in 10usize..5000, a in 0.05f64..0.9, b in 0.01f64..0.5) {
            prop_assume!(a + b < 0.99);
            let spec = SplitSpec { train: a, val: b, test: 1.0 - a - b, ..Default::default() };
            let s = spec.ranges(n);
            prop_assert_eq!(s.train.start, 0);
            prop_assert_eq!(s.train.end, s.val.start);
            prop_assert_eq!(s.val.end, s.test.start);
            prop_assert_eq!(s.test.end, n);
            prop_assert!(s.train.start <= s.train.end && s.val.start <= s.val.end && s.test.start <= s.test.end);
        }

        #[test]
        fn window_targets_never_cross_a_boundary(n in 50usize..3000, l in 1usize..40, h in 1usize..10) {
            let s = SplitSpec::default().ranges(n);
            if let Ok(o) = s.window_origins(l, h) {
                for (origins, rows) in o.iter().zip([&s.train, &s.val, &s.test]) {
                    // every origin's targets [t, t+h) lie in the split, inputs start at ≥ 0
                    prop_assert!(origins.start >= rows.start && origins.start >= l);
                    prop_assert!(origins.end - 1 + h <= rows.end);
                    // count formula: rows.end − max(rows.start, l) − h + 1
                    prop_assert_eq!(origins.len(), rows.end - rows.start.max(l) - h + 1);
                }
            }
        }
    }
}
