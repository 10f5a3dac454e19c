//! Using a trained forecaster: test-part evaluation beside the baselines, forecasts past the end
//! of every series, and validation scores. Contexts are read from the scaled matrix in chunks, so
//! no code path materialises all windows.

use super::{part_index, Evaluation, PredictionRow, TrainedForecaster};
use crate::data::Panel;
use crate::engine::Workspace;
use crate::error::{Error, Result};
use crate::metrics::seasonal_naive;
use crate::normalize::EsFrame;
use crate::split::{PanelSplit, Part};
use crate::time::Timestamp;
use crate::train;
use crate::window::WindowIndex;

/// The forecast of one series beyond its last row.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesForecast {
    /// The series id (`""` for a file without an id column).
    pub id: String,
    /// One timestamp per step.
    pub timestamps: Vec<Timestamp>,
    /// `values[step][target]`, original units.
    pub values: Vec<Vec<f64>>,
    /// `intervals[step][target][level]`: `(lo, hi)`, or `None` where the level was refused
    /// (or the step is beyond the calibrated horizon).
    pub intervals: Vec<Vec<Intervals>>,
    /// `quantiles[step][target][i]`: a quantile model's quantiles (empty otherwise; NaN past the
    /// trained horizon, where the model only rolls its median forward).
    pub quantiles: Vec<Vec<Vec<f64>>>,
    /// What forecast it: `lstm` (the network), `ets` (plain ETS, or the statistical forecast of
    /// a series the network cannot forecast) or `naive` (too short even for ETS).
    pub model: String,
}

/// Receives one validation prediction: `(series, target, step index, predicted, actual,
/// quantiles)`.
pub(crate) type ValidationError<'a> = dyn FnMut(usize, usize, usize, f64, f64, &[f64]) + 'a;

/// One prediction's intervals, one per level: `(lo, hi)`, or `None` where refused.
pub type Intervals = Vec<Option<(f64, f64)>>;

/// A forecast beyond the end of the data, for every series that has enough rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    /// Target names.
    pub targets: Vec<String>,
    /// One forecast per series, in panel order.
    pub series: Vec<SeriesForecast>,
    /// Series the network could not forecast: `(id, why)` (fewer rows than the lookback, no
    /// scaler for it, no ETS references), each forecast by ETS or its last value instead.
    pub skipped: Vec<(String, String)>,
    /// The intervals' nominal levels, percent.
    pub levels: Vec<f64>,
    /// A quantile model's quantiles (empty otherwise).
    pub quantiles: Vec<f64>,
    /// Series forecast without intervals, with why (not among the calibrated series).
    pub without_intervals: Vec<(String, String)>,
}

/// The element-wise median of equally long vectors (the mean of the middle two for an even
/// count).
fn median_of(outs: &[Vec<f32>]) -> Vec<f32> {
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
fn steps_after(
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
struct Bufs {
    ws: Workspace,
    hist: Vec<f32>,
    x: Vec<f32>,
    xf: Vec<f32>,
    anchors: Vec<(f32, f32)>,
    col: Vec<f32>,
}

impl Bufs {
    fn new(net: &crate::engine::Network, nq: usize) -> Bufs {
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
fn nested(levels: &[f64], mut bands: Intervals, predicted: f64) -> Intervals {
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
fn floor_at_zero<'a>(values: impl IntoIterator<Item = &'a mut f64>) -> usize {
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
fn row_values(r: &mut PredictionRow) -> impl Iterator<Item = &mut f64> {
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
const CHUNK: usize = 256;

impl TrainedForecaster {
    /// Checks that `panel` has the training columns in the same order and the same kind of
    /// series key.
    fn check_columns(&self, panel: &Panel) -> Result<()> {
        if panel.names != self.names || panel.n_targets != self.n_targets {
            return Err(Error::config(
                "data",
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
            return Err(Error::config(
                "data",
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
                return Err(Error::config(
                    "data",
                    format!(
                        "{} is {}, but the model was trained on {} data",
                        panel.source.display(),
                        now.describe(),
                        was.describe()
                    ),
                ));
            }
        }
        if panel.id_name.is_some() != self.id_name.is_some() {
            return Err(Error::config(
                "data",
                match &self.id_name {
                    Some(id) => format!("{}: the model was trained on a panel keyed by '{id}'; pass --id-col", panel.source.display()),
                    None => format!("{}: the model was trained on a single series, but the data has an id column", panel.source.display()),
                },
            ));
        }
        Ok(())
    }

    /// Predicts `steps` steps for each context `j < n_ctx`, whose lookback rows end before the
    /// global row `end(j)` of `scaled` (row-major `[rows, columns]`): one pass for a direct model
    /// within its horizon, else rolling its predictions forward as new rows. Returns scaled
    /// values `[context][step][target]` flattened.
    fn predict_paths(
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
    fn predict_paths_q(
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
    fn predict_chunk(
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
    fn median_quantile(&self) -> usize {
        self.quantile_levels()
            .iter()
            .position(|&q| q == 0.5)
            .unwrap_or(0)
    }

    /// Scores the model and the naive and seasonal-naive baselines on the test part of every
    /// series of `panel` (split, scalers and configuration as saved), in original units.
    ///
    /// # Errors
    /// Different columns than in training, a series the per-series scalers do not know, or data
    /// too short for the test part.
    pub fn evaluate(&self, panel: &Panel) -> Result<Evaluation> {
        self.config.validate()?;
        self.evaluate_on(panel, &self.config.split.resolve(panel)?)
    }

    /// As [`TrainedForecaster::evaluate`] on the test rows of an explicit split.
    ///
    /// # Errors
    /// As [`TrainedForecaster::evaluate`].
    pub fn evaluate_on(&self, panel: &Panel, split: &PanelSplit) -> Result<Evaluation> {
        let panel = &self.covariates.complete(panel, &self.names, &self.roles)?;
        self.check_columns(panel)?;
        let cfg = &self.config;
        let (l, nt, hz) = (cfg.lookback, self.n_targets, cfg.horizon);
        let transformed = self.transform.apply(panel)?;
        let (scaled, unscaled) = self.scaler.transform(&transformed);
        // The ES modes' network reads the states of the ETS fitted on the training rows; the
        // ETS baseline and plain ETS are fitted again on every row before the test.
        let frame = self.ets.frame(&transformed, &self.scaler);
        let ends: Vec<usize> = split.series.iter().map(|sp| sp.test.start).collect();
        let refit = self
            .refit_ets(&transformed, &ends)
            .frame(&transformed, &self.scaler);
        let model_frame = match self.norm.mode {
            m if m.is_statistical() => &refit,
            _ => &frame,
        };
        let (test, skipped) = part_index(panel, &split.series, Part::Test, l, hz, &unscaled)?;
        let n_win = test.len();
        let (pred, qs) = self.predict_paths_q(
            &scaled,
            Some(model_frame),
            &|j| (test.origin(j), hz),
            n_win,
            hz,
        )?;
        if pred.iter().any(|v| !v.is_finite()) {
            return Err(Error::Forecast("the model produced a non-finite prediction on the test split; retrain with a lower learning rate or --clip-norm".into()));
        }
        let mut rows = Vec::with_capacity(n_win * hz * nt);
        let mut mase: std::collections::HashMap<String, Vec<Option<f64>>> =
            std::collections::HashMap::new();
        let mut w = 0;
        for seg in test.segments() {
            let s = seg.series;
            let base = panel.offsets[s];
            let id = &panel.ids[s];
            let maps = self.scaler.for_series(id).unwrap_or_default();
            mase.insert(id.clone(), self.mase_for(panel, s, &split.series[s]));
            for t in seg.origins.clone() {
                for h in 1..=hz {
                    for k in 0..nt {
                        let at = (w * hz + h - 1) * nt + k;
                        let predicted = self.transform.inverse(maps[k].inverse(pred[at] as f64));
                        let quantiles = self.quantiles_at(&qs, at, k, maps);
                        let mut r = self.test_row(panel, &refit, (s, t - base), (h, k));
                        r.intervals = self.interval_around(id, (k, h), predicted, &quantiles);
                        r.predicted = predicted;
                        r.quantiles = quantiles;
                        r.model = self.model_name().to_string();
                        rows.push(r);
                    }
                }
                w += 1;
            }
        }
        // Every series gets a forecast: one too short for the network's lookback (or without
        // a scaler of its own) is forecast by the ETS fitted on its rows before the test, or
        // by the last value where those are too few even for that, from every test origin
        // with a row before it.
        let covered: std::collections::HashSet<usize> =
            test.segments().iter().map(|g| g.series).collect();
        let mut fallback = std::collections::HashSet::new();
        let mut n_windows = n_win;
        for s in (0..panel.n_series()).filter(|s| !covered.contains(s)) {
            let sp = &split.series[s];
            let id = &panel.ids[s];
            let origins = crate::split::Splits::origins(&sp.test, 1, hz);
            if origins.is_empty() {
                continue;
            }
            mase.insert(id.clone(), self.mase_for(panel, s, sp));
            fallback.insert(id.clone());
            for local in origins {
                for h in 1..=hz {
                    for k in 0..nt {
                        let mut r = self.test_row(panel, &refit, (s, local), (h, k));
                        let (predicted, model) = self.stand_in(r.ets, r.theta, r.naive);
                        r.intervals = self.interval_around(id, (k, h), predicted, &[]);
                        r.predicted = predicted;
                        r.model = model.to_string();
                        rows.push(r);
                    }
                }
                n_windows += 1;
            }
        }
        // Positive data get positive forecasts: where a series' values before the test are all
        // positive, no forecast or bound goes below zero.
        let positive: std::collections::HashSet<(String, usize)> = (0..panel.n_series())
            .flat_map(|s| (0..nt).map(move |k| (s, k)))
            .filter(|&(s, k)| {
                let y = &panel.series_column(s, k)[..split.series[s].test.start];
                !y.is_empty() && y.iter().all(|v| *v > 0.0)
            })
            .map(|(s, k)| (panel.ids[s].clone(), k))
            .collect();
        let mut truncated = 0;
        for r in &mut rows {
            let k = self.names.iter().position(|n| *n == r.target).unwrap_or(0);
            if positive.contains(&(r.series.clone(), k)) {
                truncated += floor_at_zero(row_values(r));
            }
        }
        let mut models = std::collections::BTreeMap::new();
        let mut seen = std::collections::HashSet::new();
        for r in &rows {
            if seen.insert(&r.series) {
                *models.entry(r.model.clone()).or_insert(0) += 1;
            }
        }
        let skipped: Vec<crate::split::Skipped> = skipped
            .into_iter()
            .filter(|sk| !(sk.part == Part::Test && fallback.contains(&sk.series)))
            .collect();
        let mase_of = |id: &str, k: usize| mase.get(id).and_then(|v| v[k]);
        let levels = self.calibration.levels.clone();
        let mut ev = Evaluation::from_rows(
            rows,
            n_windows,
            &self.names[..nt],
            hz,
            self.season,
            &mase_of,
            panel.has_ids(),
        );
        ev.score_intervals(&levels, &self.names[..nt], &mase_of);
        ev.score_quantiles(&self.quantile_levels(), &self.names[..nt], &mase_of);
        ev.skipped = skipped;
        ev.models = models;
        ev.truncated_at_zero = truncated;
        ev.split = Some(split.report.clone());
        if let Some(w) = self.overlap(panel, &split.report) {
            ev.warnings.push(w);
        }
        let constant = panel.undeclared_constants();
        if !constant.is_empty() {
            let (cols, verb) = match constant.len() {
                1 => (format!("column '{}'", constant[0]), "holds"),
                _ => (format!("columns {}", constant.join(", ")), "hold"),
            };
            ev.warnings.push(format!(
                "{cols} {verb} one value within every series but {} not declared static: if it describes the series, declare it with --static (the network then also sees it at every forecast step)",
                if constant.len() == 1 { "is" } else { "are" }
            ));
        }
        Ok(ev)
    }

    /// A warning when a test period starting at `now.test_start` begins before the model's own
    /// test period did: the model trained on, or chose its epoch with, some of those rows.
    fn overlap(&self, panel: &Panel, now: &crate::split::SplitReport) -> Option<String> {
        let was = self.trained_split.as_ref()?;
        let (a, b) = (
            panel.parse_time(&now.test_start)?,
            panel.parse_time(&was.test_start)?,
        );
        (a.same_kind(&b) && a.seconds() < b.seconds()).then(|| {
            format!(
                "the test period starts at {}, before the model's own test period ({}): the model was trained or validated on some of these rows, so these are not out-of-sample scores",
                now.test_start, was.test_start
            )
        })
    }

    /// Forecasts `horizon` steps (default: the trained horizon) after the last row of every
    /// series of `panel`, in original units, with timestamps continuing the frequency. A series
    /// of a panel with fewer rows than the lookback is left out and listed in `skipped`.
    ///
    /// # Errors
    /// Different columns than in training, a series the per-series scalers do not know, no
    /// series with enough rows, irregular timestamps, or a horizon beyond the trained one with
    /// inputs that are not targets.
    pub fn forecast(&self, panel: &Panel, horizon: Option<usize>) -> Result<Forecast> {
        self.forecast_with(panel, None, horizon)
    }

    /// As [`TrainedForecaster::forecast`], with the future-known values of the steps to
    /// forecast in `future` (rows per series after its last row; see
    /// [`crate::data::load_with_future`] and [`crate::data::load_future`]). Statics and
    /// calendar features of the future rows are filled in by the model.
    ///
    /// # Errors
    /// As [`TrainedForecaster::forecast`]; a model with future-known columns without `future`,
    /// or a series, timestamp or column `future` lacks (named), or a series in `future` that the
    /// data does not have.
    pub fn forecast_with(
        &self,
        panel: &Panel,
        future: Option<&Panel>,
        horizon: Option<usize>,
    ) -> Result<Forecast> {
        let panel = &self.covariates.complete(panel, &self.names, &self.roles)?;
        self.check_columns(panel)?;
        let steps = horizon.unwrap_or(self.config.horizon);
        if steps == 0 {
            return Err(Error::config("horizon", "must be at least 1"));
        }
        let (l, nt) = (self.config.lookback, self.n_targets);
        let freq = panel.frequency().or(self.frequency);
        // With known columns, the rows to forecast are appended to each series (targets and
        // past inputs held at the last value, never read) and the head reads their known values.
        let extended = match (self.n_known() > 0, freq) {
            (true, Some(freq)) => Some(self.with_future_rows(panel, future, freq, steps)?),
            _ => None,
        };
        let hist_end = |s: usize| match &extended {
            Some(p) => p.offsets[s + 1] - steps,
            None => panel.offsets[s + 1],
        };
        let work = extended.as_ref().unwrap_or(panel);
        let transformed = self.transform.apply(work)?;
        let (scaled, unscaled) = self.scaler.transform(&transformed);
        // Plain ETS and Theta forecast from a fit on every row of each series; the ES modes' network
        // reads the states of the fit on the training rows.
        let frame = match self.norm.mode {
            m if m.is_statistical() => {
                let ends: Vec<usize> = (0..work.n_series())
                    .map(|s| hist_end(s) - work.offsets[s])
                    .collect();
                Some(
                    self.refit_ets(&transformed, &ends)
                        .frame(&transformed, &self.scaler),
                )
            }
            m if m.uses_ets() => Some(self.ets.frame(&transformed, &self.scaler)),
            _ => None,
        };
        let mut usable = Vec::new();
        let mut skipped = Vec::new();
        for (s, &no_scaler) in unscaled.iter().enumerate() {
            let n = panel.series_len(s);
            if no_scaler {
                skipped.push((panel.ids[s].clone(), "not in the model's training data, so it has no scaler; train with --scaler-scope global to forecast new series".to_string()));
            } else if n < l {
                skipped.push((
                    panel.ids[s].clone(),
                    format!("{n} rows, fewer than the lookback {l}"),
                ));
            } else if frame
                .as_ref()
                .is_some_and(|f| (0..nt).any(|k| !f.has(hist_end(s) - 1, k)))
            {
                skipped.push((
                    panel.ids[s].clone(),
                    format!(
                        "no ETS model, which '--normalize {}' needs: it was not among the training series (or too short to fit one there)",
                        self.norm.mode.name()
                    ),
                ));
            } else {
                usable.push(s);
            }
        }
        // Every series gets a forecast: one the network cannot forecast (too short for the
        // lookback, no scaler of its own, no ETS references) is forecast by ETS fitted on all of
        // its rows, or by its last value where they are too few even for that.
        let stand_ins: Vec<usize> = (0..panel.n_series())
            .filter(|s| !usable.contains(s) && panel.series_len(*s) > 0)
            .collect();
        if usable.is_empty() && stand_ins.is_empty() {
            // Unless a series was only too short, say why the first one cannot be forecast.
            let too_short = (0..panel.n_series()).any(|s| panel.series_len(s) < l);
            if let (Some((id, why)), false) = (skipped.first(), too_short) {
                let which = if panel.has_ids() {
                    format!("series '{id}': ")
                } else {
                    String::new()
                };
                return Err(Error::Forecast(format!(
                    "{}: no series can be forecast: {which}{why}",
                    panel.source.display()
                )));
            }
            let longest = (0..panel.n_series())
                .map(|s| panel.series_len(s))
                .max()
                .unwrap_or(0);
            return Err(Error::NotEnoughData {
                what: format!("forecasting with lookback {l}"),
                needed: l,
                got: longest,
            });
        }
        let freq = freq.ok_or_else(|| {
            Error::Forecast(format!("{}: timestamps are irregular, so future timestamps cannot be continued; resample the data to a regular step", panel.source.display()))
        })?;
        let (pred, qs) = if usable.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            self.predict_paths_q(
                &scaled,
                frame.as_ref(),
                &|j| (hist_end(usable[j]), steps),
                usable.len(),
                steps,
            )?
        };
        let mut series = Vec::with_capacity(usable.len());
        for (j, &s) in usable.iter().enumerate() {
            let id = &panel.ids[s];
            let maps = self.scaler.for_series(id).unwrap_or_default();
            let timestamps = steps_after(panel.timestamps[panel.offsets[s + 1] - 1], freq, steps)?;
            let values: Vec<Vec<f64>> = (0..steps)
                .map(|h| {
                    (0..nt)
                        .map(|k| {
                            self.transform
                                .inverse(maps[k].inverse(pred[(j * steps + h) * nt + k] as f64))
                        })
                        .collect()
                })
                .collect();
            if values.iter().flatten().any(|v| !v.is_finite()) {
                return Err(Error::Forecast("the model produced a non-finite value; retrain with a lower learning rate or --clip-norm".into()));
            }
            // Quantiles exist for the trained steps only: beyond them the model rolls its median
            // forward, and what its quantile outputs say there is not a forecast distribution.
            let mh = self.config.model_horizon();
            let quantiles: Vec<Vec<Vec<f64>>> = (0..steps)
                .map(|h| {
                    (0..nt)
                        .map(|k| {
                            let q = self.quantiles_at(&qs, (j * steps + h) * nt + k, k, maps);
                            if h < mh {
                                q
                            } else {
                                vec![f64::NAN; q.len()]
                            }
                        })
                        .collect()
                })
                .collect();
            let intervals = values
                .iter()
                .enumerate()
                .map(|(h, row)| {
                    row.iter()
                        .enumerate()
                        .map(|(k, &v)| self.interval_around(id, (k, h + 1), v, &quantiles[h][k]))
                        .collect()
                })
                .collect();
            series.push(SeriesForecast {
                id: id.clone(),
                timestamps,
                values,
                intervals,
                quantiles,
                model: self.model_name().to_string(),
            });
        }
        if !stand_ins.is_empty() {
            // A statistical mode's frame is already fitted on every row of every series;
            // otherwise the stand-ins alone are fitted.
            let owned;
            let stats = match &frame {
                Some(f) if self.norm.mode.is_statistical() => f,
                _ => {
                    let ends: Vec<usize> = (0..work.n_series())
                        .map(|s| match stand_ins.contains(&s) {
                            true => hist_end(s) - work.offsets[s],
                            false => 0,
                        })
                        .collect();
                    owned = self
                        .refit_ets(&transformed, &ends)
                        .frame(&transformed, &self.scaler);
                    &owned
                }
            };
            for &s in &stand_ins {
                let id = &panel.ids[s];
                let end = hist_end(s);
                let timestamps =
                    steps_after(panel.timestamps[panel.offsets[s + 1] - 1], freq, steps)?;
                // One model for the whole series: the first that forecasts every step and
                // target (see `stand_in`).
                let all = |f: &dyn Fn(usize, usize) -> Option<f64>| -> Option<Vec<Vec<f64>>> {
                    (1..=steps)
                        .map(|h| (0..nt).map(|k| self.original(f(h, k))).collect())
                        .collect()
                };
                let ets = all(&|h, k| stats.forecast(end, h, k));
                let theta = all(&|h, k| stats.theta_forecast(end, h, k));
                let last: Vec<f64> = (0..nt)
                    .map(|k| panel.series_column(s, k)[panel.series_len(s) - 1])
                    .collect();
                let (values, model) = self.stand_in(ets, theta, vec![last; steps]);
                series.push(SeriesForecast {
                    id: id.clone(),
                    timestamps,
                    intervals: vec![vec![vec![None; self.calibration.levels.len()]; nt]; steps],
                    quantiles: Vec::new(),
                    values,
                    model: model.to_string(),
                });
            }
            // In panel order.
            series.sort_by_key(|f| panel.series_index(&f.id));
        }
        // Positive data get positive forecasts (where a series' values are all positive).
        for f in &mut series {
            let Some(s) = panel.series_index(&f.id) else {
                continue;
            };
            for k in 0..nt {
                let y = panel.series_column(s, k);
                if y.is_empty() || y.iter().any(|v| *v <= 0.0) {
                    continue;
                }
                for h in 0..f.values.len() {
                    floor_at_zero([&mut f.values[h][k]]);
                    if let Some(iv) = f.intervals.get_mut(h).and_then(|r| r.get_mut(k)) {
                        floor_at_zero(iv.iter_mut().flatten().flat_map(|(lo, hi)| [lo, hi]));
                    }
                    if let Some(q) = f.quantiles.get_mut(h).and_then(|r| r.get_mut(k)) {
                        floor_at_zero(q.iter_mut());
                    }
                }
            }
        }
        let skipped: Vec<(String, String)> = skipped
            .into_iter()
            .map(|(id, why)| {
                let how = series
                    .iter()
                    .find(|f| f.id == id)
                    .map_or("", |f| f.model.as_str());
                (id, format!("{why}; forecast by {how} instead"))
            })
            .collect();
        Ok(Forecast {
            targets: self.names[..nt].to_vec(),
            series,
            skipped,
            levels: self.calibration.levels.clone(),
            quantiles: self.quantile_levels(),
            without_intervals: usable
                .iter()
                .map(|&s| &panel.ids[s])
                .filter(|id| {
                    !self.calibration.levels.is_empty() && self.calibration.series(id).is_none()
                })
                .map(|id| {
                    (
                        id.clone(),
                        "not among the series the intervals were calibrated on (the training series)"
                            .to_string(),
                    )
                })
                .collect(),
        })
    }

    /// Predicts `horizon` steps from every origin in each series' validation rows (series with
    /// validation windows) and hands `f(series, target, step index, predicted, actual,
    /// quantiles)` every step that stays inside the validation rows, in original units, in
    /// (origin, target, step) order (`quantiles` empty without quantile outputs). Returns the
    /// number of origins.
    ///
    /// # Errors
    /// As [`TrainedForecaster::evaluate`].
    pub(crate) fn validation_errors(
        &self,
        panel: &Panel,
        prep: &super::Prepared,
        horizon: usize,
        f: &mut ValidationError,
    ) -> Result<usize> {
        let (l, nt) = (self.config.lookback, self.n_targets);
        let mut origins: Vec<(usize, usize, usize)> = Vec::new(); // (series, global origin, steps)
        for (s, sp) in prep.split.series.iter().enumerate() {
            if prep.index[1].segments().iter().all(|g| g.series != s) {
                continue;
            }
            let base = panel.offsets[s];
            for t in sp.val.start.max(l)..sp.val.end {
                origins.push((s, base + t, horizon.min(sp.val.end - t)));
            }
        }
        let (pred, qs) = self.predict_paths_q(
            &prep.scaled,
            Some(prep.frame_for(self.norm.mode)),
            &|j| (origins[j].1, origins[j].2),
            origins.len(),
            horizon,
        )?;
        let nq = if qs.is_empty() {
            0
        } else {
            self.config.training.outputs_per_target()
        };
        let mut q = vec![0f64; nq];
        for (j, &(s, t, steps)) in origins.iter().enumerate() {
            let maps = self.scaler.for_series(&panel.ids[s]).unwrap_or_default();
            for (k, map) in maps.iter().enumerate().take(nt) {
                let y = &panel.columns[k];
                for h in 0..steps {
                    let i = (j * horizon + h) * nt + k;
                    let p = self.transform.inverse(map.inverse(pred[i] as f64));
                    if nq > 0 {
                        for (v, &z) in q.iter_mut().zip(&qs[i * nq..(i + 1) * nq]) {
                            *v = self.transform.inverse(map.inverse(z as f64));
                        }
                    }
                    f(s, k, h, p, y[t + h], &q);
                }
            }
        }
        Ok(origins.len())
    }

    /// Validation MASE of the current weights, from every origin in each series' validation
    /// rows (not only those whose whole horizon fits there: steps past the validation rows are
    /// left out, never scored on test rows), scaled per series by its training rows and
    /// averaged across series, in original units. Returns the score (`None` when no series has
    /// a MASE scale) and the number of origins.
    ///
    /// # Errors
    /// As [`TrainedForecaster::evaluate`].
    pub fn validation_mase(
        &self,
        panel: &Panel,
        prep: &super::Prepared,
    ) -> Result<(Option<f64>, usize)> {
        let mut per_series: Vec<(f64, usize)> = vec![(0.0, 0); panel.n_series()];
        let n_origins = self.validation_errors(
            panel,
            prep,
            self.config.model_horizon(),
            &mut |s, k, _h, p, y, _| {
                if let Some(q) = self.mase_scale[s][k] {
                    per_series[s].0 += (p - y).abs() / q;
                    per_series[s].1 += 1;
                }
            },
        )?;
        let scored: Vec<f64> = per_series
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(sum, n)| sum / *n as f64)
            .collect();
        let score = (!scored.is_empty()).then(|| scored.iter().sum::<f64>() / scored.len() as f64);
        Ok((score.filter(|v| v.is_finite()), n_origins))
    }

    /// The calibrated intervals (one per level) around `predicted`, target `k`, 1-based `step`,
    /// series `id`; empty without calibration or for a series or step it does not cover.
    pub fn interval_around(
        &self,
        id: &str,
        (k, step): (usize, usize),
        predicted: f64,
        quantiles: &[f64],
    ) -> Intervals {
        let c = &self.calibration;
        match (c.bands(id, k, step), c.series(id)) {
            (Some(bands), Some(s)) => nested(
                &c.levels,
                bands
                    .iter()
                    .enumerate()
                    .map(|(i, b)| {
                        b.half
                            .map(|w| c.interval((s, k, i), w, predicted, quantiles))
                    })
                    .collect(),
                predicted,
            ),
            _ => vec![None; c.levels.len()],
        }
    }

    /// Quantile `i`'s values of a prediction `[…][quantile]` at flat position `at`, in original
    /// units for target `k` of a series with scalers `maps` (empty without quantile outputs).
    fn quantiles_at(
        &self,
        qs: &[f32],
        at: usize,
        k: usize,
        maps: &[crate::scale::ColumnScaler],
    ) -> Vec<f64> {
        let nq = self.config.training.outputs_per_target();
        if qs.is_empty() {
            return Vec::new();
        }
        qs[at * nq..(at + 1) * nq]
            .iter()
            .map(|&z| self.transform.inverse(maps[k].inverse(z as f64)))
            .collect()
    }

    /// The validation interval score of a quantile model's raw quantile bands: for every
    /// configured level whose two quantiles the model outputs, per series the mean of `(hi − lo)
    /// + 2/α·(lo − y)⁺ + 2/α·(y − hi)⁺` over every validation prediction (as
    /// [`TrainedForecaster::validation_mase`] predicts them) divided by its MASE scale, averaged
    /// over series and levels (MSIS). `None` without such a level.
    ///
    /// # Errors
    /// As [`TrainedForecaster::evaluate`].
    pub fn validation_msis(&self, panel: &Panel, prep: &super::Prepared) -> Result<Option<f64>> {
        let pairs = self.config.quantile_pairs();
        if pairs.is_empty() {
            return Ok(None);
        }
        let mut per: Vec<Vec<(f64, usize)>> = vec![vec![(0.0, 0); panel.n_series()]; pairs.len()];
        self.validation_errors(
            panel,
            prep,
            self.config.model_horizon(),
            &mut |s, k, _h, _p, y, q| {
                let Some(scale) = self.mase_scale[s][k] else {
                    return;
                };
                for (i, &(level, lo, hi)) in pairs.iter().enumerate() {
                    let alpha = 1.0 - level / 100.0;
                    let (a, b) = (q[lo], q[hi]);
                    let w =
                        (b - a) + 2.0 / alpha * (a - y).max(0.0) + 2.0 / alpha * (y - b).max(0.0);
                    per[i][s].0 += w / scale;
                    per[i][s].1 += 1;
                }
            },
        )?;
        let scores: Vec<f64> = per
            .iter()
            .flat_map(|l| l.iter().filter(|(_, n)| *n > 0).map(|(s, n)| s / *n as f64))
            .collect();
        Ok((!scores.is_empty())
            .then(|| scores.iter().sum::<f64>() / scores.len() as f64)
            .filter(|v| v.is_finite()))
    }

    /// `panel` with `steps` rows appended to every series, continuing its timestamps by
    /// `freq`: future-known values from `future`, statics repeated, calendar features generated,
    /// targets and past inputs held at the series' last value (placeholders the forecast never
    /// reads: contexts end before these rows).
    ///
    /// # Errors
    /// Future-known columns without `future`; a column, series or timestamps `future` lacks; a
    /// series in `future` that `panel` does not have.
    fn with_future_rows(
        &self,
        panel: &Panel,
        future: Option<&Panel>,
        freq: crate::time::Frequency,
        steps: usize,
    ) -> Result<Panel> {
        use crate::data::Role;
        let fut_cols: Vec<usize> = (0..self.names.len())
            .filter(|&c| self.roles[c] == Role::Future)
            .collect();
        let names_of = |cols: &[usize]| {
            cols.iter()
                .map(|&c| self.names[c].as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let future = match future {
            Some(f) => Some(f),
            None if fut_cols.is_empty() => None,
            None => {
                return Err(Error::Forecast(format!(
                    "the model uses future-known columns ({}): give their values for the {steps} step(s) after each series' last row with --future FILE, or as rows with an empty target at the end of {}",
                    names_of(&fut_cols),
                    panel.source.display()
                )))
            }
        };
        // Where each future-known column is in `future`.
        let mut in_future = Vec::with_capacity(fut_cols.len());
        if let Some(fp) = future {
            for &c in &fut_cols {
                let at = fp
                    .names
                    .iter()
                    .position(|n| *n == self.names[c])
                    .ok_or_else(|| {
                        Error::Forecast(format!(
                            "{} has no future-known column '{}' (the model uses: {})",
                            fp.source.display(),
                            self.names[c],
                            names_of(&fut_cols)
                        ))
                    })?;
                in_future.push(at);
            }
            if let Some(id) = fp.ids.iter().find(|id| panel.series_index(id).is_none()) {
                return Err(Error::Forecast(format!(
                    "{} has future values for series '{id}', which {} does not have; forecast it with its history, or remove its rows",
                    fp.source.display(),
                    panel.source.display()
                )));
            }
        }
        let cal_names: Vec<String> =
            crate::covariates::calendar_columns(&self.covariates.calendar, &[])
                .into_iter()
                .map(|(n, _)| n)
                .collect();
        let mut out = Panel {
            ids: Vec::new(),
            offsets: vec![0],
            timestamps: Vec::new(),
            columns: vec![Vec::new(); panel.names.len()],
            ..panel.clone()
        };
        for s in 0..panel.n_series() {
            let rows = panel.rows(s);
            let last = panel.timestamps[rows.end - 1];
            let stamps = steps_after(last, freq, steps)?;
            // The future rows of this series, by timestamp.
            let mut fut_rows: Vec<Option<usize>> = vec![None; steps];
            if let Some(fp) = future {
                if let Some(fs) = fp.series_index(&panel.ids[s]) {
                    for r in fp.rows(fs) {
                        if let Some(k) = stamps.iter().position(|t| *t == fp.timestamps[r]) {
                            fut_rows[k] = Some(r);
                        }
                    }
                }
                let missing: Vec<String> = (0..steps)
                    .filter(|&k| fut_rows[k].is_none())
                    .map(|k| panel.format_time(&stamps[k]))
                    .collect();
                if !fut_cols.is_empty() && !missing.is_empty() {
                    let shown = missing
                        .iter()
                        .take(5)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ");
                    return Err(Error::Forecast(format!(
                        "{} lacks future-known values ({}) for {} at {} of the {steps} step(s) after its last row {}: {shown}{}",
                        fp.source.display(),
                        names_of(&fut_cols),
                        panel.series_label(s),
                        missing.len(),
                        panel.format_time(&last),
                        if missing.len() > 5 { ", ..." } else { "" }
                    )));
                }
            }
            let cal = crate::covariates::calendar_columns(&self.covariates.calendar, &stamps);
            for (c, col) in out.columns.iter_mut().enumerate() {
                col.extend_from_slice(&panel.columns[c][rows.clone()]);
                let held = panel.columns[c][rows.end - 1];
                match self.roles[c] {
                    Role::Future => {
                        let (fp, at) = (
                            future.unwrap_or(panel),
                            in_future[fut_cols.iter().position(|&x| x == c).unwrap_or(0)],
                        );
                        col.extend(
                            fut_rows
                                .iter()
                                .map(|r| r.map_or(held, |r| fp.columns[at][r])),
                        );
                    }
                    Role::Calendar => {
                        let k = cal_names.iter().position(|n| *n == self.names[c]);
                        match k {
                            Some(k) => col.extend_from_slice(&cal[k].1),
                            None => col.extend(std::iter::repeat_n(held, steps)),
                        }
                    }
                    _ => col.extend(std::iter::repeat_n(held, steps)),
                }
            }
            out.ids.push(panel.ids[s].clone());
            out.timestamps
                .extend_from_slice(&panel.timestamps[rows.clone()]);
            out.timestamps.extend(stamps);
            out.offsets.push(out.timestamps.len());
        }
        Ok(out)
    }

    /// The test row of series `s` of `panel` at its local origin `local`, step `h` and target
    /// `k` with the actual value and the baselines (the ETS and Theta ones from `refit`); the
    /// prediction, its intervals and quantiles and the model are the caller's to fill.
    fn test_row(
        &self,
        panel: &Panel,
        refit: &EsFrame,
        (s, local): (usize, usize),
        (h, k): (usize, usize),
    ) -> PredictionRow {
        let y = panel.series_column(s, k);
        let t = panel.offsets[s] + local;
        PredictionRow {
            series: panel.ids[s].clone(),
            origin: panel.format_time(&panel.timestamps[t]),
            step: h,
            target: self.names[k].clone(),
            actual: y[local + h - 1],
            predicted: f64::NAN,
            intervals: Vec::new(),
            quantiles: Vec::new(),
            naive: y[local - 1],
            seasonal_naive: seasonal_naive(y, local, h, self.season),
            ets: self.original(refit.forecast(t, h, k)),
            theta: self.original(refit.theta_forecast(t, h, k)),
            model: String::new(),
        }
    }

    /// A statistical forecast in transformed units back in original ones (`None` where it
    /// is not finite).
    fn original(&self, v: Option<f64>) -> Option<f64> {
        v.map(|v| self.transform.inverse(v))
            .filter(|v| v.is_finite())
    }

    /// The forecast of a series the network cannot forecast, and its model's name: plain Theta's
    /// own where that is the mode, else ETS, else Theta (it needs 4 rows, ETS 5), else `naive`.
    fn stand_in<T>(&self, ets: Option<T>, theta: Option<T>, naive: T) -> (T, &'static str) {
        match (self.norm.mode, ets, theta) {
            (crate::normalize::Normalize::Theta, _, Some(v)) => (v, "theta"),
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
    fn no_ets_states(&self, at: usize, es: Option<&EsFrame>) -> Error {
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

    /// Validation loss of the current weights on `panel`'s validation part, in the network's
    /// own (normalised) units: the number early stopping watched.
    ///
    /// # Errors
    /// As [`TrainedForecaster::evaluate`].
    pub fn validation_loss(&self, panel: &Panel) -> Result<f64> {
        let panel = &self.covariates.complete(panel, &self.names, &self.roles)?;
        self.check_columns(panel)?;
        let prep = super::Prepared::new_on(&self.config, panel, self.config.training.threads)?;
        let w = prep.windows(&self.config, &self.norm, Part::Val);
        Ok(train::mean_loss(
            &self.network,
            &mut Workspace::new(&self.network),
            &w,
            CHUNK,
            self.config
                .training
                .loss
                .unwrap_or(self.norm.mode.default_loss()),
            &self.config.training.taus(),
        ))
    }

    /// Mean squared error over the windows of `index` at the model's horizon, in globally scaled
    /// units whatever the normalisation (so that candidates and trials compare): `scaled` is the
    /// panel through the saved scalers.
    ///
    /// # Errors
    /// As [`TrainedForecaster::evaluate`]; an empty index gives NaN.
    pub fn level_mse(
        &self,
        scaled: &[f32],
        es: Option<&EsFrame>,
        index: &WindowIndex,
    ) -> Result<f64> {
        let (f, nt) = (self.names.len(), self.n_targets);
        let mh = self.config.model_horizon();
        let n = index.len();
        let pred = self.predict_paths(scaled, es, &|j| (index.origin(j), mh), n, mh)?;
        let mut sum = 0f64;
        for w in 0..n {
            let t = index.origin(w);
            for h in 0..mh {
                for k in 0..nt {
                    let e = pred[(w * mh + h) * nt + k] as f64 - scaled[(t + h) * f + k] as f64;
                    sum += e * e;
                }
            }
        }
        Ok(sum / (n * mh * nt) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::{median_of, nested};

    #[test]
    fn bands_nest_around_the_point_forecast() {
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
    fn median_of_odd_and_even_counts() {
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
