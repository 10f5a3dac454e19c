//! Inference: what a trained network (and, where it cannot forecast a series, its statistical
//! stand-ins) outputs for a window origin, with nested interval bands and the floor at zero for
//! positive series. Contexts are read from the scaled matrix in chunks, so no code path
//! materialises all windows. Evaluation, forecasting and validation scores build on it.

use super::{PredictionRow, TrainedForecaster};
use crate::data::Panel;
use crate::engine::Workspace;
use crate::error::{Error, Result};
use crate::normalize::EsFrame;
use crate::time::Timestamp;

/// Receives one validation prediction: `(series, target, step index, predicted, actual,
/// quantiles)`.
pub(crate) type ValidationError<'a> = dyn FnMut(usize, usize, usize, usize, f64, f64, &[f64]) + 'a;

/// One prediction's intervals, one per level: `(lo, hi)`, or `None` where refused.
pub type Intervals = Vec<Option<(f64, f64)>>;

/// Forecasts that can be averaged (one value, or one per step and target).
pub(super) trait Combine {
    /// The element-wise mean of `self` and `other`.
    fn mean_with(&self, other: &Self) -> Self;
}

impl Combine for f64 {
    fn mean_with(&self, other: &f64) -> f64 {
        0.5 * (self + other)
    }
}

impl<T: Combine> Combine for Vec<T> {
    fn mean_with(&self, other: &Vec<T>) -> Vec<T> {
        self.iter()
            .zip(other)
            .map(|(a, b)| a.mean_with(b))
            .collect()
    }
}

/// The element-wise median of equally long vectors (the mean of the middle two for an even
/// count).
pub(super) fn median_of(outs: &[Vec<f32>]) -> Vec<f32> {
    let n = outs.len();
    let mut col = vec![0f32; n];
    (0..outs[0].len())
        .map(|i| {
            for (c, o) in col.iter_mut().zip(outs) {
                *c = o[i];
            }
            col.sort_by(f32::total_cmp);
            if n % 2 == 1 {
                col[n / 2]
            } else {
                (col[n / 2 - 1] + col[n / 2]) / 2.0
            }
        })
        .collect()
}

/// The `steps` timestamps after `last`, one `freq` step apart.
pub(super) fn steps_after(
    last: Timestamp,
    freq: crate::time::Frequency,
    steps: usize,
) -> Result<Vec<Timestamp>> {
    (1..=steps)
        .map(|k| {
            freq.advance(&last, k as i64).ok_or_else(|| {
                Error::Forecast(format!(
                    "cannot continue timestamps from {last} with {}",
                    freq.describe()
                ))
            })
        })
        .collect()
}

/// A chunk of contexts to predict: its number and its slices of the outputs and quantiles.
type Task<'a> = (usize, &'a mut [f32], &'a mut [f32]);

/// One lane's reusable buffers for predicting chunks of contexts.
pub(super) struct Bufs {
    ws: Workspace,
    hist: Vec<f32>,
    x: Vec<f32>,
    xf: Vec<f32>,
    anchors: Vec<(f32, f32)>,
    col: Vec<f32>,
}

impl Bufs {
    pub(super) fn new(net: &crate::engine::Network, nq: usize) -> Bufs {
        Bufs {
            ws: Workspace::new(net),
            hist: Vec::new(),
            x: Vec::new(),
            xf: Vec::new(),
            anchors: Vec::new(),
            col: vec![0f32; nq],
        }
    }
}

/// The bands of `levels` (percent, any order) made to nest around `predicted`: each band
/// contains the point forecast and every band of a lower level (taking their outer bounds
/// where its own calibration says less, as each level's half-width comes from its own
/// scores); a refused level stays refused.
pub(super) fn nested(levels: &[f64], mut bands: Intervals, predicted: f64) -> Intervals {
    let mut order: Vec<usize> = (0..levels.len().min(bands.len())).collect();
    order.sort_by(|&a, &b| levels[a].total_cmp(&levels[b]));
    let (mut lo, mut hi) = (predicted, predicted);
    for i in order {
        if let Some((l, h)) = bands[i].as_mut() {
            lo = lo.min(*l);
            hi = hi.max(*h);
            *l = lo;
            *h = hi;
        }
    }
    bands
}

/// Raises every value below 0 to 0 (NaN, a quantile past the trained horizon, stays); returns
/// how many it raised.
pub(super) fn floor_at_zero<'a>(values: impl IntoIterator<Item = &'a mut f64>) -> usize {
    let mut n = 0;
    for v in values {
        if *v < 0.0 {
            *v = 0.0;
            n += 1;
        }
    }
    n
}

/// A prediction row's forecast, baselines, interval bounds and quantiles.
pub(super) fn row_values(r: &mut PredictionRow) -> impl Iterator<Item = &mut f64> {
    std::iter::once(&mut r.predicted)
        .chain(r.ets.as_mut())
        .chain(r.theta.as_mut())
        .chain(
            r.intervals
                .iter_mut()
                .flatten()
                .flat_map(|(lo, hi)| [lo, hi]),
        )
        .chain(r.quantiles.iter_mut())
}

/// Contexts predicted per pass.
pub(super) const CHUNK: usize = 256;

impl TrainedForecaster {
    /// Checks that `panel` has the training columns in the same order and the same kind of
    /// series key.
    pub(super) fn check_columns(&self, panel: &Panel) -> Result<()> {
        if panel.names != self.names || panel.n_targets != self.n_targets {
            return Err(Error::ColumnsMismatch(
                format!(
                    "{} gives columns [{}] (targets: {}), but the model was trained on [{}] (targets: {})",
                    panel.source.display(),
                    panel.names.join(", "),
                    panel.target_names().join(", "),
                    self.names.join(", "),
                    self.names[..self.n_targets].join(", ")
                ),
            ));
        }
        if let Some(c) = (0..self.names.len()).find(|&c| panel.roles.get(c) != self.roles.get(c)) {
            return Err(Error::ColumnsMismatch(
                format!(
                    "{}: column '{}' is {} here, but the model was trained with it as {}; declare the columns' roles as in training",
                    panel.source.display(),
                    self.names[c],
                    panel.roles.get(c).map_or("absent", |r| r.name()),
                    self.roles.get(c).map_or("absent", |r| r.name()),
                ),
            ));
        }
        if let (Some(now), Some(was)) = (panel.frequency(), self.frequency) {
            if now != was {
                return Err(Error::ColumnsMismatch(format!(
                    "{} is {}, but the model was trained on {} data",
                    panel.source.display(),
                    now.describe(),
                    was.describe()
                )));
            }
        }
        if panel.id_name.is_some() != self.id_name.is_some() {
            return Err(Error::ColumnsMismatch(match &self.id_name {
                Some(id) => format!(
                    "{}: the model was trained on a panel keyed by '{id}'; pass --id-col",
                    panel.source.display()
                ),
                None => format!(
                    "{}: the model was trained on a single series, but the data has an id column",
                    panel.source.display()
                ),
            }));
        }
        Ok(())
    }

    /// Predicts `steps` steps for each context `j < n_ctx`, whose lookback rows end before the
    /// global row `end(j)` of `scaled` (row-major `[rows, columns]`): one pass for a direct model
    /// within its horizon, else rolling its predictions forward as new rows. Returns scaled
    /// values `[context][step][target]` flattened.
    pub(super) fn predict_paths(
        &self,
        scaled: &[f32],
        es: Option<&EsFrame>,
        end: &(dyn Fn(usize) -> (usize, usize) + Sync),
        n_ctx: usize,
        steps: usize,
    ) -> Result<Vec<f32>> {
        Ok(self.predict_paths_q(scaled, es, end, n_ctx, steps)?.0)
    }

    /// Known columns (the last ones: future-known, static, calendar).
    pub fn n_known(&self) -> usize {
        self.roles.iter().filter(|r| r.is_known()).count()
    }

    /// As [`TrainedForecaster::predict_paths`], also returning a quantile model's quantiles,
    /// scaled, `[context][step][target][quantile]`, sorted within each step and target (so they
    /// never cross); empty without quantile outputs. The point forecast is the quantile nearest
    /// the median.
    ///
    /// `end(j)` gives context `j`'s origin and how many rows from it on `scaled` holds (their
    /// known columns feed the head's step inputs; rows past them read as zero, which only the
    /// steps whose outputs are dropped ever see).
    pub(super) fn predict_paths_q(
        &self,
        scaled: &[f32],
        es: Option<&EsFrame>,
        end: &(dyn Fn(usize) -> (usize, usize) + Sync),
        n_ctx: usize,
        steps: usize,
    ) -> Result<(Vec<f32>, Vec<f32>)> {
        let (f, nt) = (self.names.len(), self.n_targets);
        let kn = self.n_known();
        // Without past-only inputs every column of a rolled row is known or predicted.
        let rolls = f - nt == kn;
        let nq = self.config.training.outputs_per_target();
        let mut qs = vec![0f32; if nq > 1 { n_ctx * steps * nt * nq } else { 0 }];
        let mh = self.config.model_horizon();
        if steps > mh && !rolls {
            return Err(Error::Forecast(format!(
                "the model forecasts {mh} step(s) directly; going further rolls forward, which needs every input to be a target or known in the future, but these past-only inputs would be unknown in the future: {}",
                self.names[nt..f - kn].join(", ")
            )));
        }
        let chunks = n_ctx.div_ceil(CHUNK);
        let mut out = vec![0f32; n_ctx * steps * nt];
        let mut tasks: Vec<Task> = out
            .chunks_mut(CHUNK * steps * nt)
            .enumerate()
            .map(|(c, o)| (c, o, &mut [][..]))
            .collect();
        if nq > 1 {
            for (t, q) in tasks.iter_mut().zip(qs.chunks_mut(CHUNK * steps * nt * nq)) {
                t.2 = q;
            }
        }
        // Chunks of contexts are independent: `threads` lanes take every `threads`-th one, each
        // with its own buffers, and the outputs do not depend on which lane ran a chunk.
        let threads = self.config.training.threads.clamp(1, chunks.max(1));
        let mut lanes: Vec<Vec<Task>> = (0..threads).map(|_| Vec::new()).collect();
        for t in tasks {
            lanes[t.0 % threads].push(t);
        }
        let run_lane = |lane: Vec<Task>| -> Vec<(usize, Error)> {
            let mut bufs = Bufs::new(&self.network, nq);
            let mut errors = Vec::new();
            for (c, o, q) in lane {
                let c0 = c * CHUNK;
                let ctx = (c0, CHUNK.min(n_ctx - c0));
                if let Err(e) = self.predict_chunk(scaled, es, end, ctx, steps, (o, q), &mut bufs) {
                    errors.push((c, e));
                }
            }
            errors
        };
        let mut errors: Vec<(usize, Error)> = if threads == 1 {
            lanes.into_iter().flat_map(run_lane).collect()
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = lanes
                    .into_iter()
                    .map(|lane| scope.spawn(|| run_lane(lane)))
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                    .collect()
            })
        };
        errors.sort_by_key(|(c, _)| *c);
        if let Some((_, e)) = errors.into_iter().next() {
            return Err(e);
        }
        Ok((out, qs))
    }

    /// Predicts the contexts `c0..c0 + b` (`ctx`) of [`TrainedForecaster::predict_paths_q`]
    /// into `out` (`[b, steps, targets]`) and `qs` (`[…][quantile]`, empty without quantile
    /// outputs), with reusable buffers.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn predict_chunk(
        &self,
        scaled: &[f32],
        es: Option<&EsFrame>,
        end: &(dyn Fn(usize) -> (usize, usize) + Sync),
        (c0, b): (usize, usize),
        steps: usize,
        (out, qs): (&mut [f32], &mut [f32]),
        bufs: &mut Bufs,
    ) -> Result<()> {
        let (l, f, nt) = (self.config.lookback, self.names.len(), self.n_targets);
        let kn = self.n_known();
        let rolls = f - nt == kn;
        let nq = self.config.training.outputs_per_target();
        let mid = self.median_quantile();
        let mh = self.config.model_horizon();
        let mode = self.norm.mode;
        let Bufs {
            ws,
            hist,
            x,
            xf,
            anchors,
            col,
        } = bufs;
        // Rolling history per context: the lookback rows, then appended predictions.
        let rows_total = l + steps.div_ceil(mh) * mh;
        hist.clear();
        hist.resize(b * rows_total * f, 0.0);
        for j in 0..b {
            let (t, avail) = end(c0 + j);
            hist[j * rows_total * f..(j * rows_total + l) * f]
                .copy_from_slice(&scaled[(t - l) * f..t * f]);
            // The known columns of the rows ahead (never their targets).
            if kn > 0 {
                for r in 0..avail.min(rows_total - l) {
                    let dst = (j * rows_total + l + r) * f;
                    hist[dst + f - kn..dst + f]
                        .copy_from_slice(&scaled[(t + r + 1) * f - kn..(t + r + 1) * f]);
                }
            }
        }
        let mut done = 0;
        while done < steps {
            x.resize(l * b * f, 0.0);
            xf.resize(b * mh * kn, 0.0);
            anchors.resize(b * mh * nt, (0.0, 1.0));
            for j in 0..b {
                let src = (j * rows_total + done) * f;
                for h in 0..mh {
                    let row = (j * rows_total + l + done + h) * f;
                    xf[(j * mh + h) * kn..(j * mh + h + 1) * kn]
                        .copy_from_slice(&hist[row + f - kn..row + f]);
                }
                let at = end(c0 + j).0;
                if !self.norm.encode(
                    &hist[src..src + l * f],
                    x,
                    b,
                    j,
                    &mut anchors[j * mh * nt..(j + 1) * mh * nt],
                    mh,
                    es.map(|e| (e, at, done)),
                ) {
                    return Err(self.no_ets_states(at, es));
                }
            }
            // Plain ETS is the references themselves: a network output of zero. An ensemble
            // outputs the median of its networks (the decoding is increasing in the output,
            // so this is the median forecast).
            let owned;
            let pred = if !mode.trains() {
                owned = vec![0f32; b * mh * nt * nq];
                &owned[..]
            } else if self.members.is_empty() {
                self.network.predict_with(ws, x, xf, b, l)
            } else {
                let outs: Vec<Vec<f32>> = std::iter::once(&self.network)
                    .chain(&self.members)
                    .map(|net| net.predict_with(ws, x, xf, b, l).to_vec())
                    .collect();
                owned = median_of(&outs);
                &owned[..]
            };
            for j in 0..b {
                for h in 0..mh {
                    let a = &anchors[(j * mh + h) * nt..(j * mh + h + 1) * nt];
                    for (k, &(a, sc)) in a.iter().enumerate() {
                        let at = ((j * mh + h) * nt + k) * nq;
                        for (c, &o) in col.iter_mut().zip(&pred[at..at + nq]) {
                            *c = a + sc * o;
                        }
                        col.sort_by(f32::total_cmp);
                        let v = col[mid];
                        if rolls {
                            hist[(j * rows_total + l + done + h) * f + k] = v;
                        }
                        if done + h < steps {
                            let i = (j * steps + done + h) * nt + k;
                            out[i] = v;
                            if nq > 1 {
                                qs[i * nq..(i + 1) * nq].copy_from_slice(col);
                            }
                        }
                    }
                }
            }
            done += mh;
        }
        Ok(())
    }

    /// The quantiles a quantile model outputs (empty otherwise).
    pub fn quantile_levels(&self) -> Vec<f64> {
        if self.config.training.outputs_per_target() > 1 {
            self.config.training.quantiles.clone()
        } else {
            Vec::new()
        }
    }

    /// The index of the median among the quantile outputs (a validated quantile list holds
    /// 0.5); 0 without quantile outputs.
    pub(super) fn median_quantile(&self) -> usize {
        self.quantile_levels()
            .iter()
            .position(|&q| q == 0.5)
            .unwrap_or(0)
    }

    /// A statistical forecast in transformed units back in original ones (`None` where it
    /// is not finite).
    pub(super) fn original(&self, v: Option<f64>) -> Option<f64> {
        v.map(|v| self.transform.inverse(v))
            .filter(|v| v.is_finite())
    }

    /// The forecast of a series the network cannot forecast, and its model's name: plain Theta's
    /// own where that is the mode (or the statistical forecast a network is averaged with),
    /// the mean of ETS and Theta for `ets-theta`, else ETS, else Theta (it needs 4 rows, ETS
    /// 5), else `naive`.
    pub(super) fn stand_in<T: Combine>(
        &self,
        ets: Option<T>,
        theta: Option<T>,
        naive: T,
    ) -> (T, &'static str) {
        use crate::normalize::Normalize;
        let mode = self.combined_with().unwrap_or(self.norm.mode);
        match (mode, ets, theta) {
            (Normalize::Theta, _, Some(v)) => (v, "theta"),
            (Normalize::EtsTheta, Some(e), Some(t)) => (e.mean_with(&t), "ets-theta"),
            (_, Some(v), _) => (v, "ets"),
            (_, None, Some(v)) => (v, "theta"),
            _ => (naive, "naive"),
        }
    }

    /// The name of what the model forecasts with: `lstm` for a network, else its mode (`ets`).
    pub fn model_name(&self) -> &'static str {
        if self.norm.mode.trains() {
            "lstm"
        } else {
            self.norm.mode.name()
        }
    }

    /// ETS fitted again (form chosen anew) on the rows `0..ends[s]` of every series `s` of
    /// `transformed` (the target transform applied): the model that forecasts for the ETS
    /// baseline and plain ETS, on the newest rows it may see (those before the test when
    /// scoring it, every row before a forecast past the data).
    pub fn refit_ets(&self, transformed: &Panel, ends: &[usize]) -> crate::normalize::EtsBank {
        let rows: Vec<std::ops::Range<usize>> = ends.iter().map(|&e| 0..e).collect();
        crate::normalize::EtsBank::fit_forecasters_on_threads(
            transformed,
            &rows,
            self.season,
            self.config.training.threads.max(1),
        )
    }

    /// The error for a window at global row `at` that has no ETS states to encode with.
    pub(super) fn no_ets_states(&self, at: usize, es: Option<&EsFrame>) -> Error {
        let series = es.map_or("", |e| e.series_id(at));
        let place = if self.id_name.is_some() {
            format!("series '{series}'")
        } else {
            "the series".to_string()
        };
        Error::Forecast(format!(
            "{place} has no ETS model, which '--normalize {}' needs: the model was fitted on the training rows of each training series, and this one was not among them or too short; use another --normalize",
            self.norm.mode.name()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::{median_of, nested};

    #[test]
    pub(super) fn bands_nest_around_the_point_forecast() {
        // The 95 % band (given first) narrower than the 80 % one and beside the point: it takes
        // the 80 % band's outer bounds and the point; the 80 % band takes the point.
        let levels = [95.0, 80.0];
        let got = nested(
            &levels,
            vec![Some((-663.0, -291.0)), Some((-400.0, 7257.0))],
            -477.0,
        );
        assert_eq!(got, vec![Some((-663.0, 7257.0)), Some((-477.0, 7257.0))]);
        // Already nested: unchanged; a refused level stays refused.
        let ok = vec![Some((1.0, 9.0)), Some((3.0, 7.0))];
        assert_eq!(nested(&levels, ok.clone(), 5.0), ok);
        assert_eq!(
            nested(&[80.0, 95.0], vec![None, Some((4.0, 6.0))], 5.0),
            vec![None, Some((4.0, 6.0))]
        );
    }

    #[test]
    pub(super) fn median_of_odd_and_even_counts() {
        // Per element: {3, 1, 2} → 2 and {-1, 5, 0} → 0; with a fourth vector {4, 9}: the mean
        // of the middle two, (2 + 3) / 2 and (0 + 5) / 2.
        let three = vec![vec![3.0, -1.0], vec![1.0, 5.0], vec![2.0, 0.0]];
        assert_eq!(median_of(&three), vec![2.0, 0.0]);
        let mut four = three.clone();
        four.push(vec![4.0, 9.0]);
        assert_eq!(median_of(&four), vec![2.5, 2.5]);
        assert_eq!(median_of(&three[..1]), vec![3.0, -1.0]);
    }
}
