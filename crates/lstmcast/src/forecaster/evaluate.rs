//! Scoring a trained forecaster on the test part of a panel, beside the naive, seasonal-naive,
//! ETS and Theta baselines (refitted on the rows before the test).

use super::infer::{floor_at_zero, row_values};
use super::intervals::Tracker;
use super::{part_index, Evaluation, PredictionRow, TrainedForecaster};
use crate::data::Panel;
use crate::error::{Error, Result};
use crate::metrics::seasonal_naive;
use crate::normalize::EsFrame;
use crate::split::{PanelSplit, Part};

impl TrainedForecaster {
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
            .frame(&transformed, &self.scaler)
            .with_positive_floor(&transformed, self.transform.forward(0.0));
        let model_frame = match self.norm.mode {
            m if m.is_statistical() => &refit,
            _ => &frame,
        };
        let left_out = self.left_out(panel, &unscaled);
        let (test, skipped) = part_index(panel, &split.series, Part::Test, l, hz, &left_out)?;
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
        let mut factors = std::collections::BTreeMap::new();
        let choices = self.series_choices();
        for seg in test.segments() {
            let s = seg.series;
            let base = panel.offsets[s];
            let id = &panel.ids[s];
            let maps = self.scaler.for_series(id).unwrap_or_default();
            mase.insert(id.clone(), self.mase_for(panel, s, &split.series[s]));
            let mut track = Tracker::new(&self.calibration, id, nt, self.adaptation());
            // A series whose model is a statistical forecast (or a network averaged with one) is
            // predicted by it (fitted again on the rows before the test, as the statistical
            // modes are).
            let blend = self.blend(&choices, id);
            let model = self.series_model(&choices, id);
            for t in seg.origins.clone() {
                track.advance(t);
                let now = track.all();
                for h in 1..=hz {
                    for k in 0..nt {
                        let at = (w * hz + h - 1) * nt + k;
                        let predicted = self.blend_at(
                            blend,
                            &refit,
                            self.transform.inverse(maps[k].inverse(pred[at] as f64)),
                            (t, h, k),
                        );
                        let quantiles = self.quantiles_at(&qs, at, k, maps);
                        let mut r = self.test_row(panel, &refit, (s, t - base), (h, k));
                        r.intervals =
                            self.interval_around(id, (k, h), predicted, &quantiles, &now[k]);
                        track.observe(t + h, (k, h), (predicted, r.actual), &r.intervals);
                        r.predicted = predicted;
                        r.quantiles = quantiles;
                        r.model.clone_from(&model);
                        rows.push(r);
                    }
                }
                w += 1;
            }
            factors.insert(id.clone(), track.finish());
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
            let mut track = Tracker::new(&self.calibration, id, nt, self.adaptation());
            for local in origins {
                track.advance(local);
                let now = track.all();
                for h in 1..=hz {
                    for (k, f) in now.iter().enumerate() {
                        let mut r = self.test_row(panel, &refit, (s, local), (h, k));
                        let (predicted, model) = self.stand_in(r.ets, r.theta, r.naive);
                        r.intervals = self.interval_around(id, (k, h), predicted, &[], f);
                        track.observe(local + h, (k, h), (predicted, r.actual), &r.intervals);
                        r.predicted = predicted;
                        r.model = model.to_string();
                        rows.push(r);
                    }
                }
                n_windows += 1;
            }
            factors.insert(id.clone(), track.finish());
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
        if self.adapts() && !levels.is_empty() {
            ev.interval_factors = factors;
            ev.note_interval_factors(&self.names[..nt]);
        }
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
    pub(super) fn overlap(&self, panel: &Panel, now: &crate::split::SplitReport) -> Option<String> {
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

    /// The test row of series `s` of `panel` at its local origin `local`, step `h` and target
    /// `k` with the actual value and the baselines (the ETS and Theta ones from `refit`); the
    /// prediction, its intervals and quantiles and the model are the caller's to fill.
    pub(super) fn test_row(
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
}
