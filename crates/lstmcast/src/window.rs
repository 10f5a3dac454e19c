//! Sliding windows as index views into one row-major scaled matrix holding every series of a
//! panel: memory stays O(rows · columns), and gathering a batch writes into a caller-owned,
//! reused buffer.
//!
//! A window with origin `t` (a global row) has inputs at rows `[t − lookback, t)` (every column)
//! and targets at rows `[t, t + horizon)` (the first `n_targets` columns), all inside one series.
//! [`WindowIndex`] is the only code that maps a window number to its (series, origin): one
//! segment of consecutive origins per series, found by binary search over prefix sums.

use crate::normalize::{EsFrame, WindowNorm};
use std::ops::Range;

/// Consecutive window origins of one series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The series (panel order).
    pub series: usize,
    /// Origins as global rows.
    pub origins: Range<usize>,
}

/// Every window of one part of a panel: segments of origins, one per series that has any.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WindowIndex {
    segments: Vec<Segment>,
    /// `ends[k]`: windows in segments `0..=k`.
    ends: Vec<usize>,
}

impl WindowIndex {
    /// An index over `segments` (empty ones are dropped).
    pub fn new(segments: Vec<Segment>) -> WindowIndex {
        let segments: Vec<Segment> = segments
            .into_iter()
            .filter(|s| !s.origins.is_empty())
            .collect();
        let mut ends = Vec::with_capacity(segments.len());
        let mut total = 0;
        for s in &segments {
            total += s.origins.len();
            ends.push(total);
        }
        WindowIndex { segments, ends }
    }

    /// One series' consecutive origins (a single series: series 0).
    pub fn single(origins: Range<usize>) -> WindowIndex {
        WindowIndex::new(vec![Segment { series: 0, origins }])
    }

    /// Number of windows.
    pub fn len(&self) -> usize {
        self.ends.last().copied().unwrap_or(0)
    }

    /// Whether there are no windows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The segments, in panel order.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Window numbers of segment `k`.
    pub fn segment_windows(&self, k: usize) -> Range<usize> {
        (if k == 0 { 0 } else { self.ends[k - 1] })..self.ends[k]
    }

    /// The segment of window `i` and its origin (a global row). Panics if `i >= len()`.
    pub fn locate(&self, i: usize) -> (usize, usize) {
        let k = self.ends.partition_point(|&e| e <= i);
        let before = if k == 0 { 0 } else { self.ends[k - 1] };
        (k, self.segments[k].origins.start + (i - before))
    }

    /// The origin (global row) of window `i`.
    pub fn origin(&self, i: usize) -> usize {
        self.locate(i).1
    }

    /// The series of window `i`.
    pub fn series(&self, i: usize) -> usize {
        self.segments[self.locate(i).0].series
    }
}

/// A set of windows over a row-major matrix `[rows, n_cols]`; the first `n_targets` columns are
/// the targets and every column is an input.
#[derive(Debug, Clone, Copy)]
pub struct Windows<'a> {
    data: &'a [f32],
    n_cols: usize,
    n_targets: usize,
    lookback: usize,
    horizon: usize,
    index: &'a WindowIndex,
    norm: Option<&'a WindowNorm>,
    es: Option<&'a EsFrame>,
    per_target: usize,
    known: usize,
}

impl<'a> Windows<'a> {
    /// The windows of `index` over `data` (`[rows, n_cols]`, row-major).
    ///
    /// Panics (debug) when an origin's inputs or targets fall outside the data: callers derive
    /// origins from the split of each series.
    pub fn new(
        data: &'a [f32],
        n_cols: usize,
        n_targets: usize,
        lookback: usize,
        horizon: usize,
        index: &'a WindowIndex,
    ) -> Self {
        debug_assert!(n_cols > 0 && n_targets <= n_cols && data.len().is_multiple_of(n_cols));
        debug_assert!(index
            .segments()
            .iter()
            .all(|s| s.origins.start >= lookback
                && s.origins.end + horizon - 1 <= data.len() / n_cols));
        Windows {
            data,
            n_cols,
            n_targets,
            lookback,
            horizon,
            index,
            norm: None,
            es: None,
            per_target: 1,
            known: 0,
        }
    }

    /// The same windows whose last `n` columns are known at every output step (future-known,
    /// static, calendar): [`Windows::gather_known`] gives the network's head their values.
    pub fn with_known(self, n: usize) -> Self {
        debug_assert!(n <= self.n_cols - self.n_targets);
        Windows { known: n, ..self }
    }

    /// Known columns (0 without).
    pub fn n_known(&self) -> usize {
        self.known
    }

    /// Writes the known columns of each output step of the windows `idx` into `xf`
    /// (`[idx.len(), horizon, n_known]`, scaled like the inputs); nothing without known columns.
    pub fn gather_known(&self, idx: &[usize], xf: &mut [f32]) {
        let (f, k, hz) = (self.n_cols, self.known, self.horizon);
        debug_assert_eq!(xf.len(), idx.len() * hz * k);
        if k == 0 {
            return;
        }
        for (j, &w) in idx.iter().enumerate() {
            let t = self.origin(w);
            for h in 0..hz {
                let row = (t + h) * f;
                xf[(j * hz + h) * k..(j * hz + h + 1) * k]
                    .copy_from_slice(&self.data[row + f - k..row + f]);
            }
        }
    }

    /// The same windows with `n` outputs per step and target (one per quantile), each holding
    /// the same target value.
    pub fn with_outputs_per_target(self, n: usize) -> Self {
        Windows {
            per_target: n.max(1),
            ..self
        }
    }

    /// The index of these windows.
    pub fn index(&self) -> &'a WindowIndex {
        self.index
    }

    /// The same windows, encoded by `norm` (inputs normalised per window, targets relative to
    /// each window's anchors) instead of as raw rows.
    pub fn with_norm(self, norm: &'a WindowNorm) -> Self {
        debug_assert_eq!(norm.n_cols(), self.n_cols);
        Windows {
            norm: Some(norm),
            ..self
        }
    }

    /// The same windows with the ETS states the exponential-smoothing modes encode with.
    pub fn with_es(self, frame: Option<&'a EsFrame>) -> Self {
        Windows { es: frame, ..self }
    }

    /// Number of windows.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether there are no windows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Inputs per time step.
    pub fn n_inputs(&self) -> usize {
        self.n_cols
    }

    /// Target columns.
    pub fn n_targets(&self) -> usize {
        self.n_targets
    }

    /// Time steps per window.
    pub fn lookback(&self) -> usize {
        self.lookback
    }

    /// Steps ahead per window.
    pub fn horizon(&self) -> usize {
        self.horizon
    }

    /// Outputs per window: `horizon · n_targets` (times the outputs per target), ordered
    /// step-major (`[step][target][quantile]`).
    pub fn n_outputs(&self) -> usize {
        self.horizon * self.n_targets * self.per_target
    }

    /// Global row of window `i`'s first target.
    pub fn origin(&self, i: usize) -> usize {
        self.index.origin(i)
    }

    /// Writes the windows `idx` into `x` (time-major `[lookback, idx.len(), n_inputs]`) and `y`
    /// (`[idx.len(), horizon · n_targets]`). Both buffers must have exactly that size.
    pub fn gather(&self, idx: &[usize], x: &mut [f32], y: &mut [f32]) {
        let (b, f, l) = (idx.len(), self.n_cols, self.lookback);
        debug_assert_eq!(x.len(), l * b * f);
        debug_assert_eq!(y.len(), b * self.n_outputs());
        let (hz, nt) = (self.horizon, self.n_targets);
        let mut anchors = vec![(0f32, 1f32); hz * nt];
        for (j, &w) in idx.iter().enumerate() {
            let t = self.origin(w);
            let rows = &self.data[(t - l) * f..t * f];
            match self.norm {
                Some(norm) => {
                    let encoded =
                        norm.encode(rows, x, b, j, &mut anchors, hz, self.es.map(|e| (e, t, 0)));
                    // Callers check that every series has ETS states before using these modes.
                    debug_assert!(encoded, "window at row {t} has no ETS states");
                }
                None => {
                    for s in 0..l {
                        x[(s * b + j) * f..(s * b + j + 1) * f]
                            .copy_from_slice(&rows[s * f..(s + 1) * f]);
                    }
                }
            }
            for h in 0..self.horizon {
                let row = t + h;
                let per = self.per_target;
                let dst = j * self.n_outputs() + h * self.n_targets * per;
                for (k, &(a, sc)) in anchors[h * nt..(h + 1) * nt].iter().enumerate() {
                    let v = match self.norm {
                        Some(_) => (self.data[row * f + k] - a) / sc,
                        None => self.data[row * f + k],
                    };
                    y[dst + k * per..dst + (k + 1) * per].fill(v);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gather_is_time_major_and_targets_step_major() {
        // 6 rows, 2 columns: value = 10·row + col.
        let data: Vec<f32> = (0..6)
            .flat_map(|r| [10.0 * r as f32, 10.0 * r as f32 + 1.0])
            .collect();
        let index = WindowIndex::new(vec![Segment {
            series: 0,
            origins: 2..5,
        }]);
        let w = Windows::new(&data, 2, 2, 2, 2, &index);
        assert_eq!(w.len(), 3);
        let (mut x, mut y) = (vec![0.0; 2 * 2 * 2], vec![0.0; 2 * 4]);
        w.gather(&[2, 0], &mut x, &mut y);
        // window 2 has origin 4: inputs rows 2,3; window 0 origin 2: rows 0,1.
        assert_eq!(x, vec![20.0, 21.0, 0.0, 1.0, 30.0, 31.0, 10.0, 11.0]);
        // targets rows 4,5 then 2,3, each [step][target].
        assert_eq!(y, vec![40.0, 41.0, 50.0, 51.0, 20.0, 21.0, 30.0, 31.0]);
    }

    #[test]
    fn index_maps_window_numbers_across_series() {
        let index = WindowIndex::new(vec![
            Segment {
                series: 0,
                origins: 3..5,
            },
            Segment {
                series: 1,
                origins: 7..7,
            },
            Segment {
                series: 2,
                origins: 10..13,
            },
        ]);
        assert_eq!(index.len(), 5);
        let got: Vec<(usize, usize)> = (0..5).map(|i| (index.series(i), index.origin(i))).collect();
        assert_eq!(got, vec![(0, 3), (0, 4), (2, 10), (2, 11), (2, 12)]);
        assert_eq!(index.segment_windows(1), 2..5);
    }
}
