//! A training run with a folder, from start to end: created (marker, configuration and an empty
//! checkpoint), trained with a checkpoint after every epoch, resumable after an interrupt or a
//! kill to the bit-identical result, and finished by writing the complete run folder (model,
//! evaluation, forecast, plots) over the checkpoint in one atomic step. The CLI's `train` and
//! Python's `fit(checkpoint=DIR)` both go through [`TrainingRun`]; checkpoints identify their
//! data by a file's checksum or, for a frame, by the loaded panel's.

use crate::config::{ForecasterConfig, Validated};
use crate::covariates::Calendar;
use crate::data::{Panel, Role};
use crate::error::{Error, Result};
use crate::forecaster::{
    Evaluation, FitCheckpoint, FitControl, FitOutcome, FitProgress, Forecast, TrainedForecaster,
};
use crate::split::PanelSplit;
use crate::store::{self, CheckpointInfo, CHECKPOINT_FILE};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// The data a run trains on, as its checkpoint identifies it.
#[derive(Debug, Clone, Copy)]
pub enum DataSource<'a> {
    /// A data file: its path and the CRC-32 of its bytes.
    File(&'a Path),
    /// A frame loaded in memory (Python): the CRC-32 of the loaded panel.
    Frame(&'a Panel),
}

/// A training run in its folder (see the module's documentation).
#[derive(Debug)]
pub struct TrainingRun {
    dir: PathBuf,
    info: CheckpointInfo,
    resume: Option<FitCheckpoint>,
    /// The folder's lock, held from `create`/`open` until the run is dropped (after `finish`).
    _lock: store::RunLock,
}

impl TrainingRun {
    /// Starts a run in `dir` (which must not exist, be empty, or, with `force`, be an lstmcast
    /// folder): writes the marker, `config.toml` and an empty checkpoint. Check everything that
    /// can be checked before training first: nothing is written before this.
    ///
    /// # Errors
    /// [`Error::RunLocked`] while another process writes the folder (even with `force`), a
    /// folder holding an interrupted training (without `force`), a folder that is not
    /// lstmcast's, an unreadable data file, or a write failure.
    pub fn create(
        dir: &Path,
        cfg: &ForecasterConfig,
        data: DataSource<'_>,
        force: bool,
    ) -> Result<TrainingRun> {
        let info = info_of(cfg, data)?;
        // A folder another process is writing is refused first, `force` or not.
        let lock = store::RunLock::acquire(dir)?;
        if !force && dir.join(CHECKPOINT_FILE).is_file() {
            return Err(Error::config(
                "out",
                format!(
                    "{} holds an interrupted training; continue it with `lstmcast train --resume {}`, or pass --force to start over",
                    dir.display(),
                    dir.display()
                ),
            ));
        }
        store::write_atomically(dir, force, |d| {
            store::write_marker(d, "lstmcast-checkpoint")?;
            store::write(&d.join("config.toml"), cfg.to_toml())?;
            store::write_checkpoint(d, &FitCheckpoint::default(), &info)
        })?;
        Ok(TrainingRun {
            dir: dir.to_path_buf(),
            info,
            resume: None,
            _lock: lock,
        })
    }

    /// Opens the interrupted run in `dir` to continue it.
    ///
    /// # Errors
    /// [`Error::RunLocked`] while another process writes the folder, no checkpoint (a finished
    /// run, or not a training folder), or a damaged one.
    pub fn open(dir: &Path) -> Result<TrainingRun> {
        let lock = store::RunLock::acquire(dir)?;
        let (info, ck) = store::read_checkpoint(dir)?;
        Ok(TrainingRun {
            dir: dir.to_path_buf(),
            info,
            resume: Some(ck),
            _lock: lock,
        })
    }

    /// The run's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The data file the run was started on (`<frame>` for a frame).
    pub fn data_path(&self) -> &Path {
        &self.info.data_path
    }

    /// The configuration the run was started with, checked.
    ///
    /// # Errors
    /// A checkpoint whose configuration no longer parses.
    pub fn config(&self) -> Result<Validated> {
        let text = &self.info.config_toml;
        let mut cfg = ForecasterConfig::from_toml_str(text)?;
        // A checkpoint written before calendar features existed trained without them.
        if !text.lines().any(|l| l.trim_start().starts_with("calendar")) {
            cfg.calendar = Calendar::None;
        }
        // One written before refits existed did not refit.
        if !text.lines().any(|l| l.trim_start().starts_with("refit")) {
            cfg.refit = crate::config::Refit::None;
        }
        cfg.validated()
    }

    /// Where an opened run continues: the normalisation candidate (0-based) and the epochs it
    /// has done; `None` for a fresh run.
    pub fn resumes_at(&self) -> Option<(usize, usize)> {
        self.resume
            .as_ref()
            .map(|ck| (ck.candidate, ck.state.as_ref().map_or(0, |s| s.epochs_done)))
    }

    /// Checks that `data` is the data the run was started on, and, for a frame, that `cfg`
    /// is its configuration.
    ///
    /// # Errors
    /// [`Error::ResumeMismatch`] naming what differs.
    pub fn check_same(&self, cfg: &ForecasterConfig, data: DataSource<'_>) -> Result<()> {
        let now = info_of(cfg, data)?;
        if now.data_crc32 != self.info.data_crc32 {
            let what = match data {
                DataSource::File(p) => format!(
                    "{} is not the data the checkpoint was trained on (CRC-32 {} ≠ {}); resume needs the same file",
                    p.display(),
                    now.data_crc32,
                    self.info.data_crc32
                ),
                DataSource::Frame(_) => format!(
                    "the frame is not the data the checkpoint in {} was trained on (CRC-32 {} ≠ {}); resume needs the same rows",
                    self.dir.display(),
                    now.data_crc32,
                    self.info.data_crc32
                ),
            };
            return Err(Error::ResumeMismatch {
                field: "data".into(),
                reason: what,
            });
        }
        if matches!(data, DataSource::Frame(_)) && now.config_toml != self.info.config_toml {
            return Err(Error::ResumeMismatch {
                field: "checkpoint".into(),
                reason: format!(
                    "{} holds a training with other options (see its config.toml); give the same options to resume it, or another folder",
                    self.dir.display()
                ),
            });
        }
        Ok(())
    }

    /// Trains `cfg` on `panel` (split by `split`, as [`ForecasterConfig::fit_with`] takes it)
    /// with a checkpoint after every epoch (and the resume point of an opened run). `interrupt` stops it after the current batch with the checkpoint in place.
    /// A fresh run whose training fails removes its folder (nothing in it is worth resuming);
    /// an opened one keeps the checkpoint it came from.
    ///
    /// # Errors
    /// Training errors, or a checkpoint that cannot be written.
    pub fn fit(
        &mut self,
        cfg: &Validated,
        panel: &Panel,
        split: PanelSplit,
        on_epoch: &mut dyn FnMut(&FitProgress),
        interrupt: Option<&AtomicBool>,
        threads: usize,
    ) -> Result<FitOutcome> {
        let fresh = self.resume.is_none();
        let (dir, info) = (&self.dir, &self.info);
        let mut save = |ck: &FitCheckpoint| store::write_checkpoint(dir, ck, info);
        let mut ctl = FitControl::new(on_epoch)
            .with_checkpoint(&mut save)
            .with_resume(self.resume.take())
            .with_threads(threads);
        if let Some(flag) = interrupt {
            ctl = ctl.with_interrupt(flag);
        }
        let outcome = cfg.fit_with(panel, split, ctl);
        if outcome.is_err() && fresh {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
        outcome
    }

    /// Evaluates `model` on `panel`, forecasts past its end (with the future-known values of
    /// `rows`), and writes the complete run folder over the checkpoint, atomically.
    ///
    /// # Errors
    /// Evaluation, forecast or write failures.
    pub fn finish(
        self,
        model: &TrainedForecaster,
        panel: &Panel,
        rows: Option<&Panel>,
    ) -> Result<(Evaluation, Forecast)> {
        write_run(&self.dir, true, model, panel, rows)
    }
}

/// What a checkpoint records of a run on `data` with `cfg`.
fn info_of(cfg: &ForecasterConfig, data: DataSource<'_>) -> Result<CheckpointInfo> {
    match data {
        DataSource::File(p) => CheckpointInfo::new(cfg, p),
        DataSource::Frame(panel) => Ok(CheckpointInfo {
            config_toml: cfg.to_toml(),
            data_path: PathBuf::from("<frame>"),
            data_crc32: panel.fingerprint(),
        }),
    }
}

/// Evaluates `model` on `panel`, forecasts past its end, and writes a complete run folder at
/// `out` (atomically; `force` replaces an lstmcast folder). Returns the evaluation and the
/// forecast.
///
/// # Errors
/// Evaluation, forecast or write failures.
pub fn write_run(
    out: &Path,
    force: bool,
    model: &TrainedForecaster,
    panel: &Panel,
    rows: Option<&Panel>,
) -> Result<(Evaluation, Forecast)> {
    let ev = model.evaluate(panel)?;
    let future = forecast_after(model, panel, rows, &ev)?;
    store::write_atomically(out, force, |dir| {
        model.save_run_into(dir, panel, &ev, &future)
    })?;
    Ok((ev, future))
}

/// The forecast past the end of `panel` for a run folder, with the future-known values of
/// `rows` (the data's future rows), its bands adapted by the factors of `ev` (the evaluation
/// of the same model on `panel`). A model with future-known columns whose future rows are
/// missing or incomplete gets an empty forecast that lists every series as skipped and says why:
/// a run must not fail after its training succeeded.
///
/// # Errors
/// Forecast failures of a model without future-known columns.
pub fn forecast_after(
    model: &TrainedForecaster,
    panel: &Panel,
    rows: Option<&Panel>,
    ev: &Evaluation,
) -> Result<Forecast> {
    let needs = model.roles.contains(&Role::Future);
    let skipped = |why: String| Forecast {
        targets: model.names[..model.n_targets].to_vec(),
        series: Vec::new(),
        skipped: panel
            .ids
            .iter()
            .map(|id| (id.clone(), why.clone()))
            .collect(),
        levels: model.calibration.levels.clone(),
        quantiles: model.quantile_levels(),
        without_intervals: Vec::new(),
    };
    if needs && rows.is_none() {
        return Ok(skipped(
            "no future-known values for the steps after the data (end each series with rows whose target is empty, or run `lstmcast forecast --future FILE`)".into(),
        ));
    }
    match model.forecast_adapted(panel, rows, None, &ev.interval_factors) {
        Ok(f) => Ok(f),
        // Future rows that do not cover the horizon must not cost the trained model: the run
        // folder is written, and the forecast says why it is empty.
        Err(e) if needs => Ok(skipped(format!(
            "{e} (`lstmcast forecast --future FILE` forecasts with complete values)"
        ))),
        Err(e) => Err(e),
    }
}
