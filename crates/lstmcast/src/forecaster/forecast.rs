//! Forecasts past the end of every series: the network's where it can, the statistics' stand-ins
//! where it cannot, with future-known values from the data's own future rows or a future file.

use super::choice::statistical;
use super::infer::{floor_at_zero, steps_after, Intervals};
use super::intervals::Factors;
use super::TrainedForecaster;
use crate::data::Panel;
use crate::error::{Error, Result};
use crate::time::Timestamp;

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

impl TrainedForecaster {
    /// The intervals of series `id`'s forecast `values[h][k]` (with its quantiles
    /// `quantiles[h][k]`; empty for none), each half-width times the series' factor of its
    /// target in `factors` (1 where it has none).
    fn forecast_bands(
        &self,
        id: &str,
        values: &[Vec<f64>],
        quantiles: &[Vec<Vec<f64>>],
        factors: &Factors,
    ) -> Vec<Vec<Intervals>> {
        values
            .iter()
            .enumerate()
            .map(|(h, row)| {
                row.iter()
                    .enumerate()
                    .map(|(k, &v)| {
                        let q = quantiles.get(h).and_then(|q| q.get(k));
                        let factor = factors.get(id).and_then(|f| f.get(k));
                        self.interval_around(
                            id,
                            (k, h + 1),
                            v,
                            q.map_or(&[][..], Vec::as_slice),
                            factor.map_or(&[][..], Vec::as_slice),
                        )
                    })
                    .collect()
            })
            .collect()
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
        // Adaptive intervals: the factors the test errors leave (bands as calibrated where the
        // data have no test part to score).
        let factors = if !self.adapts() || self.calibration.levels.is_empty() {
            Default::default()
        } else {
            match &self.interval_factors {
                // The run's own data: its evaluation's factors, kept in the model folder.
                Some(st) if st.data == panel.fingerprint() => st.factors.clone(),
                _ => self
                    .evaluate(panel)
                    .map(|ev| ev.interval_factors)
                    .unwrap_or_default(),
            }
        };
        self.forecast_adapted(panel, future, horizon, &factors)
    }

    /// As [`TrainedForecaster::forecast_with`], each series' interval half-widths multiplied by
    /// its factor in `factors` (per target; 1 for a series not there): those an evaluation of
    /// the same data left ([`super::Evaluation::interval_factors`]).
    ///
    /// # Errors
    /// As [`TrainedForecaster::forecast_with`].
    pub fn forecast_adapted(
        &self,
        panel: &Panel,
        future: Option<&Panel>,
        horizon: Option<usize>,
        factors: &Factors,
    ) -> Result<Forecast> {
        // The model trained on every row forecasts past the data, where the run has one (with
        // the factors of the model that scored the test: its errors there are out of sample).
        if let Some(latest) = &self.latest {
            return latest.forecast_adapted(panel, future, horizon, factors);
        }
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
                        .frame(&transformed, &self.scaler)
                        .with_positive_floor(&transformed, self.transform.forward(0.0)),
                )
            }
            m if m.uses_ets() => Some(self.ets.frame(&transformed, &self.scaler)),
            _ => None,
        };
        let left_out = self.left_out(work, &unscaled);
        // (A network of an ES mode says why below, naming the mode.)
        let es_network = self.norm.mode.is_es_network();
        let mut usable = Vec::new();
        let mut skipped = Vec::new();
        for (s, &no_scaler) in unscaled.iter().enumerate() {
            let n = panel.series_len(s);
            if let (false, Some(why), false) = (no_scaler, &left_out[s], es_network) {
                skipped.push((panel.ids[s].clone(), why.clone()));
            } else if no_scaler {
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
        // A series whose model is a statistical forecast (see `choice`) is forecast by it, fitted
        // on all of its rows, beside the stand-ins.
        let choices = self.series_choices();
        usable.retain(|&s| !choices.contains_key(panel.ids[s].as_str()));
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
        // ETS and Theta fitted on every row, once, for every series that needs them: the
        // stand-ins (Theta as it is), and with Theta floored at zero for positive series (as
        // validation and evaluation have it) those a statistical choice forecasts and the
        // network's where it is averaged with them. A statistical mode's frame is already that.
        let partner = self.combined_with().filter(|_| !usable.is_empty());
        let needs = |s: usize| stand_ins.contains(&s) || (partner.is_some() && usable.contains(&s));
        let refitted =
            (!self.norm.mode.is_statistical() && (0..work.n_series()).any(needs)).then(|| {
                let ends: Vec<usize> = (0..work.n_series())
                    .map(|s| {
                        if needs(s) {
                            hist_end(s) - work.offsets[s]
                        } else {
                            0
                        }
                    })
                    .collect();
                self.refit_ets(&transformed, &ends)
                    .frame(&transformed, &self.scaler)
            });
        let floored = refitted
            .as_ref()
            .filter(|_| partner.is_some() || !choices.is_empty())
            .map(|f| {
                f.clone()
                    .with_positive_floor(&transformed, self.transform.forward(0.0))
            });
        let (plain_stats, floored_stats) = match &frame {
            Some(f) if self.norm.mode.is_statistical() => (Some(f), Some(f)),
            _ => (refitted.as_ref(), floored.as_ref()),
        };
        let mut series = Vec::with_capacity(usable.len());
        for (j, &s) in usable.iter().enumerate() {
            let id = &panel.ids[s];
            let maps = self.scaler.for_series(id).unwrap_or_default();
            // The network's own series: a blend is the combination's (the chosen ones are
            // stand-ins).
            let blend = self.blend(&choices, id);
            let timestamps = steps_after(panel.timestamps[panel.offsets[s + 1] - 1], freq, steps)?;
            let values: Vec<Vec<f64>> = (0..steps)
                .map(|h| {
                    (0..nt)
                        .map(|k| {
                            let v = self
                                .transform
                                .inverse(maps[k].inverse(pred[(j * steps + h) * nt + k] as f64));
                            match floored_stats {
                                Some(f) => self.blend_at(blend, f, v, (hist_end(s), h + 1, k)),
                                None => v,
                            }
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
            let intervals = self.forecast_bands(id, &values, &quantiles, factors);
            series.push(SeriesForecast {
                id: id.clone(),
                timestamps,
                values,
                intervals,
                quantiles,
                model: self.series_model(&choices, id),
            });
        }
        if !stand_ins.is_empty() {
            let stats = plain_stats.ok_or_else(|| {
                Error::Forecast("no statistical fit for the series the network cannot forecast (a bug: please report it)".into())
            })?;
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
                let chosen = choices.get(id.as_str()).copied().and_then(|mode| {
                    let frame = floored_stats?;
                    let v = all(&|h, k| statistical(frame, mode, end, h, k))?;
                    Some((v, mode.name()))
                });
                let (values, model, intervals) = match chosen {
                    Some((values, model)) => {
                        let intervals = self.forecast_bands(id, &values, &[], factors);
                        (values, model, intervals)
                    }
                    None => {
                        let (values, model) = self.stand_in(ets, theta, vec![last; steps]);
                        let none = vec![vec![vec![None; self.calibration.levels.len()]; nt]; steps];
                        (values, model, none)
                    }
                };
                series.push(SeriesForecast {
                    id: id.clone(),
                    timestamps,
                    intervals,
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

    /// `panel` with `steps` rows appended to every series, continuing its timestamps by
    /// `freq`: future-known values from `future`, statics repeated, calendar features generated,
    /// targets and past inputs held at the series' last value (placeholders the forecast never
    /// reads: contexts end before these rows).
    ///
    /// # Errors
    /// Future-known columns without `future`; a column, series or timestamps `future` lacks; a
    /// series in `future` that `panel` does not have.
    pub(super) fn with_future_rows(
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
}
