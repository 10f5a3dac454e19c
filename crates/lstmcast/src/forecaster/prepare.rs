//! Preparing a panel for training: the split, the transforms and scalers fitted on training rows
//! only, the covariates, the statistics under the network (ETS, Theta) and the window index over
//! the one scaled matrix. Everything that can be checked before training is checked here.

use super::{part_index, season_of};
use crate::config::Validated;
use crate::config::{ForecasterConfig, Strategy};
use crate::data::{Panel, Role};
use crate::error::{Error, Result};
use crate::normalize::{EsFrame, EtsBank, Normalize, WindowNorm};
use crate::scale::Scaler;
use crate::split::{PanelSplit, Part, Skipped};
use crate::transform::FittedTransform;
use crate::window::{WindowIndex, Windows};
use std::ops::Range;

/// A panel split, scaled and cut into windows for one configuration: everything before the
/// network. Built in the no-leakage order (split, then fit the scalers on training rows).
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The split: boundaries and every series' rows.
    pub split: PanelSplit,
    /// The target transform, fitted on the training rows.
    pub transform: FittedTransform,
    /// The scalers fitted on the training rows (of the transformed targets).
    pub scaler: Scaler,
    /// Every row, transformed and scaled, row-major `[rows, columns]`.
    pub scaled: Vec<f32>,
    /// Columns (targets first).
    pub n_cols: usize,
    /// Target columns.
    pub n_targets: usize,
    /// Known columns (the last ones: future-known, static, calendar).
    pub n_known: usize,
    /// Train, validation and test windows (train/validation at the model's horizon, test at the
    /// full horizon).
    pub index: [WindowIndex; 3],
    /// Series left out of a part for having too few rows there.
    pub skipped: Vec<Skipped>,
    /// ETS per series and target, fitted on the training rows: the ES modes' references.
    pub ets: EtsBank,
    /// The ETS states over every row (for the exponential-smoothing modes).
    pub frame: EsFrame,
    /// The forecaster ETS (AutoETS's forms, likelihood and AICc) and Theta fitted on the
    /// training rows, and their states over every row: plain `ets` and `theta` as candidates
    /// (validation scores). Only where the configuration may use them (`--normalize auto`,
    /// `ets` or `theta`).
    pub stats: Option<(EtsBank, EsFrame)>,
}

impl Prepared {
    /// Splits, fits the scalers on training rows and finds the windows; the ETS fits of a panel
    /// run on every core.
    ///
    /// # Errors
    /// An invalid configuration, or data too short for the split, lookback and horizon.
    pub fn new(cfg: &ForecasterConfig, panel: &Panel) -> Result<Prepared> {
        let cores = crate::threads::cores();
        Prepared::new_on(cfg, panel, cores)
    }

    /// As [`Prepared::new`] on up to `threads` threads (the result does not depend on them).
    ///
    /// # Errors
    /// As [`Prepared::new`].
    pub fn new_on(cfg: &ForecasterConfig, panel: &Panel, threads: usize) -> Result<Prepared> {
        let cfg = cfg.validated()?;
        Prepared::with_split(&cfg, panel, cfg.split.resolve(panel)?, threads)
    }

    /// As [`Prepared::new_on`] with a configuration checked before and an explicit split.
    ///
    /// # Errors
    /// Data too short for the split, lookback and horizon, or that the configuration cannot
    /// use (see [`Prepared::new`]).
    pub fn with_split(
        cfg: &Validated,
        panel: &Panel,
        split: PanelSplit,
        threads: usize,
    ) -> Result<Prepared> {
        Prepared::build(cfg, panel, split, threads, false)
    }

    /// As [`Prepared::with_split`] for a refit: only the training part is cut into windows (the
    /// validation and test parts may be empty; their indices are).
    ///
    /// # Errors
    /// As [`Prepared::with_split`], for the training part.
    pub(super) fn train_only(
        cfg: &Validated,
        panel: &Panel,
        split: PanelSplit,
        threads: usize,
    ) -> Result<Prepared> {
        Prepared::build(cfg, panel, split, threads, true)
    }

    fn build(
        cfg: &Validated,
        panel: &Panel,
        split: PanelSplit,
        threads: usize,
        train_only: bool,
    ) -> Result<Prepared> {
        check_role_order(panel)?;
        check_recursive(cfg, panel)?;
        check_regular(panel)?;
        let train: Vec<Range<usize>> = split.series.iter().map(|s| s.train.clone()).collect();
        let transform = cfg.transform.fit(panel, &train)?;
        let transformed = transform.apply(panel)?;
        let scaler = Scaler::fit(cfg.scaler, cfg.scaler_scope, &transformed, &train);
        // A series without training rows has no scaler of its own: it is left out.
        let (scaled, unscaled) = scaler.transform(&transformed);
        let ets = EtsBank::fit_on_threads(&transformed, &train, season_of(cfg, panel), threads);
        // `auto` and a network of an exponential-smoothing mode leave out a series with no ETS
        // on its training rows (too few of them): the stand-in forecasts it.
        let without_ets = cfg.normalize.leaves_out_series_without_ets();
        let left_out = super::left_out(panel, &unscaled, without_ets.then_some((&ets, true)));
        // Train and validation windows predict the model's own horizon; test windows always
        // cover the full horizon so that both strategies are scored on the same targets.
        let mut skipped = Vec::new();
        let mut parts = Vec::with_capacity(3);
        for part in Part::ALL {
            if train_only && part != Part::Train {
                parts.push(WindowIndex::default());
                continue;
            }
            let h = if part == Part::Test {
                cfg.horizon
            } else {
                cfg.model_horizon()
            };
            let (index, sk) = part_index(panel, &split.series, part, cfg.lookback, h, &left_out)?;
            skipped.extend(sk);
            parts.push(index);
        }
        check_f32_range(&scaled, panel)?;
        let frame = ets.frame(&transformed, &scaler);
        // The statistical forecasts: candidates of `auto`, the statistical modes, and the
        // partners of a combination or a choice per series.
        let stats = (matches!(
            cfg.normalize,
            Normalize::Auto | Normalize::Ets | Normalize::Theta | Normalize::EtsTheta
        ) || cfg.combine == crate::config::Combine::Auto
            || cfg.per_series == crate::config::PerSeries::Choose)
            .then(|| {
                let bank = EtsBank::fit_forecasters_on_threads(
                    &transformed,
                    &train,
                    season_of(cfg, panel),
                    threads,
                );
                let frame = bank
                    .frame(&transformed, &scaler)
                    .with_positive_floor(&transformed, transform.forward(0.0));
                (bank, frame)
            });
        let [tr, va, te]: [WindowIndex; 3] = parts.try_into().unwrap_or_default();
        Ok(Prepared {
            split,
            transform,
            scaler,
            scaled,
            n_cols: panel.names.len(),
            n_targets: panel.n_targets,
            n_known: panel.n_known(),
            index: [tr, va, te],
            skipped,
            ets,
            frame,
            stats,
        })
    }

    /// The ETS states `mode` forecasts from: the forecaster ETS for plain `ets` (where it was
    /// fitted), the reference smoother for the others.
    pub fn frame_for(&self, mode: Normalize) -> &EsFrame {
        match &self.stats {
            Some((_, frame)) if mode.is_statistical() => frame,
            _ => &self.frame,
        }
    }

    /// The bank behind [`Prepared::frame_for`].
    pub(super) fn bank_for(&self, mode: Normalize) -> &EtsBank {
        match &self.stats {
            Some((bank, _)) if mode.is_statistical() => bank,
            _ => &self.ets,
        }
    }

    /// Whether `mode` can be used on this data: the exponential-smoothing modes need an ETS
    /// model for every series and target, and a direct strategy (their references exist at
    /// observed origins only).
    ///
    /// # Errors
    /// The first series without an ETS model (and why), or a recursive strategy.
    pub fn check_mode(&self, cfg: &ForecasterConfig, mode: Normalize) -> Result<()> {
        if !mode.uses_ets() {
            return Ok(());
        }
        if cfg.strategy == Strategy::Recursive {
            return Err(Error::config(
                "normalize",
                format!(
                    "'{}' takes its references from ETS states at observed origins, so it forecasts directly; use --strategy direct or another --normalize",
                    mode.name()
                ),
            ));
        }
        // Only series that take part (have windows somewhere) decide: one left out of every
        // part (no training rows, so no scaler) is not used at all.
        let used: std::collections::HashSet<usize> = self
            .index
            .iter()
            .flat_map(|i| i.segments().iter().map(|g| g.series))
            .collect();
        if let Some((id, k, why)) = self
            .bank_for(mode)
            .first_missing_among(&|s| used.contains(&s))
        {
            let series = if id.is_empty() {
                String::new()
            } else {
                format!(" of series '{id}'")
            };
            return Err(Error::config(
                "normalize",
                format!(
                    "'{}' needs ETS fitted on the training rows of every series, but target {}{series} has none: {why}; use another --normalize (or --split with more training rows)",
                    mode.name(),
                    k + 1
                ),
            ));
        }
        Ok(())
    }

    /// The modes `auto` chooses between on this data: the ETS family where ETS fits every
    /// series and target that takes part and the strategy is direct, else the level, window
    /// and difference modes. On a panel (several series with validation windows) the window
    /// and difference modes compete too when `plain_too`: one network learning across many
    /// series is where they earn their place, and many series' validation origins make the
    /// choice reliable; on one short series they lost to the ETS family everywhere and only
    /// added noise to the choice, and `global` lost everywhere (docs/benchmarks/accuracy.md).
    pub fn auto_candidates(&self, cfg: &ForecasterConfig, plain_too: bool) -> Vec<Normalize> {
        if self.check_mode(cfg, Normalize::Es).is_err() {
            return Normalize::PLAIN_CANDIDATES.to_vec();
        }
        // Plain ETS needs the forecaster fit on every series, which needs a few more rows than
        // the reference smoother.
        let mut v: Vec<Normalize> = Normalize::ETS_CANDIDATES
            .into_iter()
            .filter(|&m| self.check_mode(cfg, m).is_ok())
            .collect();
        if plain_too && self.is_panel() {
            v.extend([Normalize::Window, Normalize::Diff]);
        }
        v
    }

    /// Whether several series have validation windows (a panel, for `auto`).
    pub fn is_panel(&self) -> bool {
        self.index[1].segments().len() > 1
    }

    /// Every series' training rows as global rows.
    pub fn train_rows(&self, panel: &Panel) -> Vec<Range<usize>> {
        self.split
            .series
            .iter()
            .enumerate()
            .map(|(s, sp)| {
                let b = panel.offsets[s];
                b + sp.train.start..b + sp.train.end
            })
            .collect()
    }

    /// The network for this data under `cfg`.
    pub fn network_spec(&self, cfg: &ForecasterConfig) -> crate::engine::NetworkSpec {
        cfg.network_spec_known(self.n_cols, self.n_targets, self.n_known)
    }

    /// `mode` fitted on the training rows `train_rows` of this data.
    ///
    /// # Errors
    /// `mode` is `Auto`.
    pub fn window_norm(&self, mode: Normalize, train_rows: &[Range<usize>]) -> Result<WindowNorm> {
        Ok(WindowNorm::fit(mode, &self.scaled, self.n_cols, train_rows)?.with_known(self.n_known))
    }

    /// Windows over `part` (train or validation) at the model's horizon, encoded by `norm`.
    pub fn windows<'a>(
        &'a self,
        cfg: &ForecasterConfig,
        norm: &'a WindowNorm,
        part: Part,
    ) -> Windows<'a> {
        let k = Part::ALL.iter().position(|p| *p == part).unwrap_or(0);
        Windows::new(
            &self.scaled,
            self.n_cols,
            self.n_targets,
            cfg.lookback,
            cfg.model_horizon(),
            &self.index[k],
        )
        .with_norm(norm)
        .with_es(Some(&self.frame))
        .with_outputs_per_target(cfg.training.outputs_per_target())
        .with_known(self.n_known)
    }
}

/// The engine works in f32: a scaled value beyond its range (about ±3.4e38) would become
/// infinite and poison training. Names the first such cell.
pub(super) fn check_f32_range(scaled: &[f32], panel: &Panel) -> Result<()> {
    let f = panel.names.len();
    if let Some(i) = scaled.iter().position(|v| !v.is_finite()) {
        let (r, c) = (i / f, i % f);
        let s = panel.series_of_row(r);
        let place = match panel.id_name {
            None => format!("{} (row {})", panel.timestamps[r], r + 2),
            Some(_) => format!("{} of {}", panel.timestamps[r], panel.series_label(s)),
        };
        return Err(Error::config(
            format!("data: column '{}'", panel.names[c]),
            format!(
                "{:e} at {place} is beyond the f32 range the engine computes in once scaled; use --scaler standard or minmax, or rescale the column",
                panel.columns[c][r],
            ),
        ));
    }
    Ok(())
}

/// Windows treat consecutive rows as one step apart: irregular data is refused before any
/// training, with the first odd gap and what to do.
pub(super) fn check_regular(panel: &Panel) -> Result<()> {
    if let crate::time::Spacing::Irregular { gap, typical, .. } = &panel.spacing {
        if panel.n_series() == 1 && panel.len() < 2 {
            return Ok(());
        }
        let step = typical.map_or_else(String::new, |f| format!(" (mostly {})", f.describe()));
        return Err(Error::config(
            "data",
            format!(
                "{}: the timestamps are irregular{step}: {gap}; windows need one step between rows: pass --fill-gaps linear, forward or zero to insert the missing timestamps (with --freq, e.g. --freq B for business days, when the step is not the usual one), or resample the data",
                panel.source.display()
            ),
        ));
    }
    Ok(())
}

/// The columns must come in role order (targets, past, then the known ones): windows and the
/// head take the known columns to be the last ones. The loader always orders them so; a panel
/// built by hand may not.
pub(super) fn check_role_order(panel: &Panel) -> Result<()> {
    let rank = |r: &Role| match r {
        Role::Target => 0,
        Role::Past => 1,
        _ => 2,
    };
    let ok = panel.roles.len() == panel.names.len()
        && panel.roles[..panel.n_targets.min(panel.roles.len())]
            .iter()
            .all(|r| *r == Role::Target)
        && panel.roles.windows(2).all(|w| rank(&w[0]) <= rank(&w[1]));
    if ok {
        return Ok(());
    }
    Err(Error::config(
        "columns",
        format!(
            "{}: columns must come targets first, then past-only inputs, then future-known, static and calendar ones; got {}",
            panel.source.display(),
            panel
                .names
                .iter()
                .zip(&panel.roles)
                .map(|(n, r)| format!("{n} ({})", r.name()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ))
}

pub(super) fn check_recursive(cfg: &ForecasterConfig, panel: &Panel) -> Result<()> {
    if cfg.strategy == Strategy::Recursive && cfg.training.outputs_per_target() > 1 {
        return Err(Error::config(
            "loss",
            "quantile outputs are direct forecasts of every step; a recursive roll would feed the median back and misstate later quantiles: use --strategy direct",
        ));
    }
    let past = panel.columns_of(Role::Past);
    if cfg.strategy == Strategy::Recursive && !past.is_empty() {
        return Err(Error::config(
            "strategy",
            format!(
                "recursive forecasting feeds predictions back as inputs, so every input must be a target or known in the future; these past-only inputs are not: {} (add them to --target, declare them --future-known, or drop them from --features)",
                past.iter().map(|&c| panel.names[c].as_str()).collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    Ok(())
}

impl ForecasterConfig {
    /// `panel` with the calendar features this configuration asks for appended (a no-op when
    /// it has them or there are none); `split` is where `auto` learns how many training rows
    /// the series have.
    ///
    /// # Errors
    /// An explicit calendar list on data without dates.
    pub fn with_covariates(&self, panel: &Panel, split: &PanelSplit) -> Result<Panel> {
        let features = self.calendar_features(panel, split)?;
        Ok(crate::covariates::Covariates::with_calendar(
            panel, &features,
        ))
    }

    /// The calendar features this configuration asks for on `panel` (for `auto`: those it
    /// would try against none).
    ///
    /// # Errors
    /// As [`ForecasterConfig::with_covariates`].
    pub fn calendar_features(
        &self,
        panel: &Panel,
        split: &PanelSplit,
    ) -> Result<Vec<crate::covariates::CalendarFeature>> {
        let train = split
            .series
            .iter()
            .map(|s| s.train.len())
            .max()
            .unwrap_or(0);
        self.calendar.resolve(
            panel.frequency(),
            panel.timestamps.first(),
            self.lookback,
            train,
        )
    }

    /// The data variants `fit` trains on: `panel` with the configured calendar features, or for
    /// `--calendar auto` with features to try, `panel` without them and with them (validation
    /// decides; on the hourly JFK temperatures the day-of-week features cost 7 % in MASE).
    pub(super) fn calendar_variants(
        &self,
        panel: &Panel,
        split: &PanelSplit,
    ) -> Result<Vec<Panel>> {
        let features = self.calendar_features(panel, split)?;
        let with = crate::covariates::Covariates::with_calendar(panel, &features);
        Ok(
            if self.calendar == crate::covariates::Calendar::Auto && !features.is_empty() {
                vec![panel.clone(), with]
            } else {
                vec![with]
            },
        )
    }
}
