//! The run folder: configuration, scaler, weights (safetensors, Keras names and shapes), metrics,
//! history, predictions and plots. Written into a temporary sibling folder and renamed into place,
//! so a folder is either complete or absent; an existing folder is replaced only with `force` and
//! only when it is itself an lstmcast run folder.

use crate::config::ForecasterConfig;
use crate::engine::{Network, NetworkSpec};
use crate::error::{Error, Result};
use crate::forecaster::{Evaluation, Forecast, TrainedForecaster};
use crate::normalize::{Selection, WindowNorm};
use crate::scale::Scaler;
use crate::time::Frequency;
use crate::train::TrainReport;
use safetensors::tensor::{Dtype, TensorView};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Version of the folder layout; bumped on incompatible changes.
pub const FORMAT_VERSION: u32 = 3;
/// The marker file that makes a folder an lstmcast run folder.
pub const MARKER: &str = "lstmcast.json";

#[derive(Debug, Serialize, Deserialize)]
struct Marker {
    format: String,
    format_version: u32,
    lstmcast_version: String,
}

/// Everything about the model that is not weights, scaler or config.
#[derive(Debug, Serialize, Deserialize)]
struct ModelMeta {
    spec: NetworkSpec,
    names: Vec<String>,
    n_targets: usize,
    /// Each column's role (absent in folders written before covariates: targets, then past
    /// inputs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    roles: Vec<crate::data::Role>,
    /// Calendar features and static values the model regenerates at forecast time.
    #[serde(default)]
    covariates: crate::covariates::Covariates,
    id_name: Option<String>,
    ids: Vec<String>,
    frequency: Option<Frequency>,
    season: usize,
    /// Per series, per target.
    mase_scale: Vec<Vec<Option<f64>>>,
    #[serde(default)]
    trained_split: Option<crate::split::SplitReport>,
    #[serde(default)]
    transform: crate::transform::FittedTransform,
    norm: WindowNorm,
    /// ETS per training series and target (absent in folders written before it existed: no
    /// ETS baseline then).
    #[serde(default)]
    ets: crate::normalize::EtsBank,
    /// Ensemble members beside the main network (their tensors are prefixed `memberK/`).
    #[serde(default)]
    members: usize,
    /// Conformal interval half-widths (absent in folders written before intervals existed).
    #[serde(default)]
    calibration: crate::forecaster::intervals::Calibration,
    selection: Option<Selection>,
    report: TrainReport,
    /// CRC-32 of `model.safetensors`, as 8 hex digits.
    weights_crc32: String,
}

/// The tensor-name prefix of network `k` (0: the main network, unprefixed; k ≥ 1: ensemble
/// member k).
fn member_prefix(k: usize) -> String {
    if k == 0 {
        String::new()
    } else {
        format!("member{k}/")
    }
}

/// Reads one network's tensors (names prefixed by `prefix`) from `st`.
fn read_network(
    st: &safetensors::SafeTensors,
    prefix: &str,
    spec: &NetworkSpec,
    dir: &Path,
    path: &Path,
) -> Result<Network> {
    let mut network = Network::zeros(spec.clone())
        .map_err(|e| Error::model(dir.join("model.json"), e.to_string()))?;
    let layout = network.layout().to_vec();
    for p in &layout {
        let name = format!("{prefix}{}", p.name);
        let t = st
            .tensor(&name)
            .map_err(|_| Error::model(path, format!("tensor '{name}' is missing")))?;
        if t.dtype() != Dtype::F32 || t.shape() != p.shape.as_slice() {
            return Err(Error::model(
                path,
                format!(
                    "tensor '{name}' is {:?} {:?}, expected F32 {:?}",
                    t.dtype(),
                    t.shape(),
                    p.shape
                ),
            ));
        }
        let dst = network.param_mut(&p.name).expect("layout name");
        for (d, c) in dst.iter_mut().zip(t.data().chunks_exact(4)) {
            *d = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        if dst.iter().any(|v| !v.is_finite()) {
            return Err(Error::model(
                path,
                format!("tensor '{name}' holds non-finite values"),
            ));
        }
    }
    Ok(network)
}

/// Writes the marker file that makes `dir` an lstmcast folder of kind `format`
/// (`lstmcast-run`, `lstmcast-tune`, `lstmcast-backtest`); only marked folders are ever replaced.
///
/// # Errors
/// The write fails.
pub fn write_marker(dir: &Path, format: &str) -> Result<()> {
    let marker = Marker {
        format: format.into(),
        format_version: FORMAT_VERSION,
        lstmcast_version: env!("CARGO_PKG_VERSION").into(),
    };
    write(&dir.join(MARKER), to_json(&marker))
}

/// Writes one file, naming it in the error.
///
/// # Errors
/// The write fails.
pub fn write(path: &Path, contents: impl AsRef<[u8]>) -> Result<()> {
    std::fs::write(path, contents).map_err(|e| Error::io(path, e))
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::model(
            path,
            "is missing; is this a folder written by `lstmcast train`?",
        ),
        _ => Error::io(path, e),
    })
}

/// Entries of an lstmcast folder that no lstmcast command writes (so `--force` must not delete
/// them).
fn foreign_entries(dir: &Path) -> Result<Vec<String>> {
    const FILES: [&str; 22] = [
        MARKER,
        "config.toml",
        "scaler.json",
        "model.json",
        "model.safetensors",
        "history.csv",
        "metrics.json",
        "predictions.csv",
        "forecast.csv",
        CHECKPOINT_FILE,
        "trials.csv",
        "tune.json",
        "best.toml",
        "backtest.csv",
        "folds.csv",
        "best",
        "loss.svg",
        "loss.png",
        "forecast.svg",
        "forecast.png",
        "mase.svg",
        "mase.png",
    ];
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let name = e.map_err(|e| Error::io(dir, e))?.file_name();
        let name = name.to_string_lossy().into_owned();
        let ours = FILES.contains(&name.as_str())
            || name.starts_with(".checkpoint-")
            || ((name.starts_with("tune_") || name.starts_with("backtest."))
                && (name.ends_with(".svg") || name.ends_with(".png")));
        if !ours {
            out.push(name);
        }
    }
    out.sort();
    Ok(out)
}

/// Writes a folder atomically: `fill` writes files into a fresh temporary folder next to `dir`,
/// which is then renamed to `dir`.
///
/// # Errors
/// `dir` exists and is not empty (without `force`), `dir` is not an lstmcast run folder (with
/// `force`), or any write fails (the temporary folder is then removed).
pub fn write_atomically(
    dir: &Path,
    force: bool,
    fill: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if dir.is_file() {
        return Err(Error::config(
            "out",
            format!(
                "{} is a file; give a folder path for the run",
                dir.display()
            ),
        ));
    }
    let occupied = dir.is_dir()
        && std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .next()
            .is_some();
    if occupied {
        if !force {
            return Err(Error::config("out", format!("{} already exists and is not empty; choose another --out or pass --force to replace it", dir.display())));
        }
        if !dir.join(MARKER).is_file() {
            return Err(Error::config("out", format!("{} is not an lstmcast run folder (no {MARKER}); refusing to replace it even with --force", dir.display())));
        }
        let foreign = foreign_entries(dir)?;
        if !foreign.is_empty() {
            return Err(Error::config(
                "out",
                format!(
                    "{} holds files lstmcast did not write ({}); move them out or choose another --out",
                    dir.display(),
                    foreign.join(", ")
                ),
            ));
        }
    }
    std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
    let tmp = tempfile::Builder::new()
        .prefix(".lstmcast-tmp-")
        .tempdir_in(&parent)
        .map_err(|e| Error::io(&parent, e))?;
    fill(tmp.path())?;
    let tmp_path = tmp.keep();
    if dir.exists() {
        // Move the old folder aside first so that a failure leaves it intact.
        let old = tempfile::Builder::new()
            .prefix(".lstmcast-old-")
            .tempdir_in(&parent)
            .map_err(|e| Error::io(&parent, e))?
            .keep();
        std::fs::remove_dir(&old).map_err(|e| Error::io(&old, e))?;
        std::fs::rename(dir, &old).map_err(|e| Error::io(dir, e))?;
        if let Err(e) = std::fs::rename(&tmp_path, dir) {
            let _ = std::fs::rename(&old, dir);
            let _ = std::fs::remove_dir_all(&tmp_path);
            return Err(Error::io(dir, e));
        }
        std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
    } else if let Err(e) = std::fs::rename(&tmp_path, dir) {
        let _ = std::fs::remove_dir_all(&tmp_path);
        return Err(Error::io(dir, e));
    }
    Ok(())
}

impl TrainedForecaster {
    /// Writes the model files (marker, config, scaler, model metadata, weights) into `dir`,
    /// which must exist. Used inside [`write_atomically`].
    ///
    /// # Errors
    /// Any write failure.
    pub fn save_into(&self, dir: &Path) -> Result<()> {
        write_marker(dir, "lstmcast-run")?;
        write(&dir.join("config.toml"), self.config.to_toml())?;
        write(&dir.join("scaler.json"), to_json(&self.scaler))?;
        let st = self.weights_safetensors(dir)?;
        let meta = ModelMeta {
            spec: self.network.spec().clone(),
            names: self.names.clone(),
            n_targets: self.n_targets,
            roles: self.roles.clone(),
            covariates: self.covariates.clone(),
            id_name: self.id_name.clone(),
            ids: self.ids.clone(),
            trained_split: self.trained_split.clone(),
            transform: self.transform,
            frequency: self.frequency,
            season: self.season,
            mase_scale: self.mase_scale.clone(),
            norm: self.norm.clone(),
            ets: self.ets.clone(),
            members: self.members.len(),
            calibration: self.calibration.clone(),
            selection: self.selection.clone(),
            report: self.report.clone(),
            weights_crc32: format!("{:08x}", crc32fast::hash(&st)),
        };
        write(&dir.join("model.json"), to_json(&meta))?;
        write(&dir.join("model.safetensors"), st)
    }

    /// The weights as a safetensors file (Keras names and shapes).
    fn weights_safetensors(&self, dir: &Path) -> Result<Vec<u8>> {
        let bytes: Vec<(String, Vec<u8>, Vec<usize>)> = std::iter::once(&self.network)
            .chain(&self.members)
            .enumerate()
            .flat_map(|(k, net)| {
                net.layout().iter().map(move |p| {
                    let data = &net.params()[p.offset..p.offset + p.len()];
                    (
                        member_prefix(k) + &p.name,
                        data.iter().flat_map(|v| v.to_le_bytes()).collect(),
                        p.shape.clone(),
                    )
                })
            })
            .collect();
        let views: Vec<(String, TensorView)> = bytes
            .iter()
            .map(|(n, b, s)| TensorView::new(Dtype::F32, s.clone(), b).map(|v| (n.clone(), v)))
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| Error::model(dir, format!("cannot build tensors: {e}")))?;
        safetensors::serialize(views, &None)
            .map_err(|e| Error::model(dir, format!("cannot serialise weights: {e}")))
    }

    /// Writes a complete run into `dir` (which must exist): the model files, `history.csv`,
    /// `metrics.json`, `predictions.csv`, `forecast.csv` and the loss and forecast plots.
    ///
    /// # Errors
    /// Any write or plot failure.
    pub fn save_run_into(
        &self,
        dir: &Path,
        panel: &crate::data::Panel,
        ev: &Evaluation,
        future: &Forecast,
    ) -> Result<()> {
        self.save_into(dir)?;
        let id = panel.id_name.as_deref();
        let files = [
            ("history.csv", history_csv(&self.report)),
            ("metrics.json", metrics_json(self, ev)),
            ("predictions.csv", predictions_csv(ev, id)),
            ("forecast.csv", forecast_csv(panel, future)),
        ];
        for (name, text) in files {
            write(&dir.join(name), text)?;
        }
        crate::plot::write_chart(dir, "loss", &crate::plot::loss_chart(&self.report))?;
        crate::plot::write_forecast_charts(dir, panel, ev, future)
    }

    /// Saves the model alone into a new folder `dir` (atomically).
    ///
    /// # Errors
    /// As [`write_atomically`].
    pub fn save(&self, dir: &Path, force: bool) -> Result<()> {
        write_atomically(dir, force, |tmp| self.save_into(tmp))
    }

    /// Loads a model folder written by [`TrainedForecaster::save`] or `lstmcast train`.
    ///
    /// # Errors
    /// A missing, foreign, truncated or inconsistent folder: each named, never a panic.
    pub fn load(dir: &Path) -> Result<TrainedForecaster> {
        if !dir.is_dir() {
            return Err(Error::model(dir, "is not a folder"));
        }
        let marker: Marker = from_json(&dir.join(MARKER))?;
        if marker.format != "lstmcast-run" {
            let hint = if marker.format == "lstmcast-tune" {
                format!("; the tuned model is in {}", dir.join("best").display())
            } else {
                String::new()
            };
            return Err(Error::model(
                dir.join(MARKER),
                format!("format '{}' is not an lstmcast run{hint}", marker.format),
            ));
        }
        if marker.format_version != FORMAT_VERSION {
            return Err(Error::model(dir.join(MARKER), format!("format version {} is not supported (this lstmcast reads version {FORMAT_VERSION}); retrain the model with this lstmcast", marker.format_version)));
        }
        let config = ForecasterConfig::from_toml_file(&dir.join("config.toml"))?;
        let scaler: Scaler = from_json(&dir.join("scaler.json"))?;
        let meta: ModelMeta = from_json(&dir.join("model.json"))?;
        if scaler.series.iter().any(|c| c.len() != meta.names.len())
            || scaler.series.len() != scaler.ids.len()
            || meta.n_targets == 0
            || meta.n_targets > meta.names.len()
            || meta.spec.n_inputs != meta.names.len()
            || meta.norm.n_cols() != meta.names.len()
            || (!meta.roles.is_empty() && meta.roles.len() != meta.names.len())
            || meta.roles.iter().filter(|r| r.is_known()).count() != meta.spec.step_inputs
            || meta.norm.known != meta.spec.step_inputs
        {
            return Err(Error::model(
                dir,
                "scaler.json and model.json disagree on the columns",
            ));
        }
        meta.spec
            .validate()
            .map_err(|e| Error::model(dir.join("model.json"), e.to_string()))?;
        check_consistent(dir, &config, &scaler, &meta)?;
        let path = dir.join("model.safetensors");
        let bytes = read(&path)?;
        let crc = format!("{:08x}", crc32fast::hash(&bytes));
        if crc != meta.weights_crc32 {
            return Err(Error::model(
                &path,
                format!(
                    "checksum {crc} does not match {} recorded in model.json: the weights are corrupted or were replaced; retrain or restore the folder",
                    meta.weights_crc32
                ),
            ));
        }
        // Allocate only what the file can hold: a model.json claiming more is inconsistent.
        if meta
            .spec
            .param_count()
            .saturating_mul(4)
            .saturating_mul(meta.members.saturating_add(1))
            > bytes.len()
        {
            return Err(Error::model(
                &path,
                format!(
                    "holds {} bytes, too few for the {} parameters model.json describes",
                    bytes.len(),
                    meta.spec.param_count()
                ),
            ));
        }
        let st = safetensors::SafeTensors::deserialize(&bytes)
            .map_err(|e| Error::model(&path, format!("not a valid safetensors file ({e})")))?;
        let mut networks = (0..=meta.members)
            .map(|k| read_network(&st, &member_prefix(k), &meta.spec, dir, &path))
            .collect::<Result<Vec<Network>>>()?;
        let members = networks.split_off(1);
        let network = networks.pop().expect("the main network");
        use crate::transform::Transform as T;
        if meta.transform.kind != config.transform
            && !matches!(
                (meta.transform.kind, config.transform),
                (T::BoxCox { .. }, T::BoxCox { .. }) | (T::None | T::Log, T::Auto)
            )
        {
            return Err(Error::model(
                dir.join("model.json"),
                "its target transform does not match config.toml",
            ));
        }
        let bad_ets = meta
            .ets
            .fits
            .iter()
            .flatten()
            .any(|f| f.as_ref().is_ok_and(|f| !f.model.is_consistent()));
        if bad_ets {
            return Err(Error::model(
                dir.join("model.json"),
                "an ETS model's states do not fit its form (one seasonal state per season, finite values); retrain",
            ));
        }
        if meta.norm.mode.uses_ets() && meta.ets.ids != meta.ids {
            return Err(Error::model(
                dir.join("model.json"),
                format!(
                    "it is normalised by '{}' but does not hold ETS models for its training series",
                    meta.norm.mode.name()
                ),
            ));
        }
        Ok(TrainedForecaster {
            config,
            transform: meta.transform,
            scaler,
            norm: meta.norm,
            ets: meta.ets,
            members,
            calibration: meta.calibration,
            selection: meta.selection,
            network,
            roles: if meta.roles.is_empty() {
                (0..meta.names.len())
                    .map(|c| {
                        if c < meta.n_targets {
                            crate::data::Role::Target
                        } else {
                            crate::data::Role::Past
                        }
                    })
                    .collect()
            } else {
                meta.roles
            },
            covariates: meta.covariates,
            names: meta.names,
            n_targets: meta.n_targets,
            id_name: meta.id_name,
            ids: meta.ids,
            trained_split: meta.trained_split,
            frequency: meta.frequency,
            season: meta.season,
            mase_scale: meta.mase_scale,
            report: meta.report,
        })
    }
}

/// Every file of a model folder must agree with the others before the model is used: a
/// hand-edited or mixed-up folder is an error here, not an out-of-bounds index later.
fn check_consistent(
    dir: &Path,
    config: &ForecasterConfig,
    scaler: &Scaler,
    meta: &ModelMeta,
) -> Result<()> {
    let bad = |file: &str, why: String| Err(Error::model(dir.join(file), why));
    if let Err(e) = config.validate() {
        return bad("config.toml", e.to_string());
    }
    let (nt, nc) = (meta.n_targets, meta.names.len());
    if meta.spec.n_outputs != config.model_horizon() * nt * config.training.outputs_per_target()
        || meta.spec.layers != config.model.layers
    {
        return bad(
            "model.json",
            "the network shape does not match config.toml (layers, horizon or strategy)".into(),
        );
    }
    let per_series = scaler.scope == crate::scale::ScalerScope::Series;
    if scaler.names != meta.names
        || (per_series && scaler.ids != meta.ids)
        || (!per_series && scaler.series.len() != 1)
        || scaler.series.iter().flatten().any(|c| {
            !(c.center.is_finite() && c.offset.is_finite() && c.scale.is_finite() && c.scale != 0.0)
        })
    {
        return bad(
            "scaler.json",
            "names or scale factors are not valid for this model".into(),
        );
    }
    if meta.norm.mode == crate::normalize::Normalize::Auto
        || meta.norm.scale.iter().any(|v| !(v.is_finite() && *v > 0.0))
        || meta.mase_scale.len() != meta.ids.len()
        || meta.mase_scale.iter().any(|m| m.len() != nt)
        || meta.ids.is_empty()
        || meta.id_name.is_none() != (meta.ids.len() == 1 && meta.ids[0].is_empty())
        || meta.season == 0
        || nc == 0
    {
        return bad(
            "model.json",
            "normalisation, MASE scales or season are not valid for this model".into(),
        );
    }
    Ok(())
}

fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

fn from_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = read(path)?;
    serde_json::from_slice(&bytes).map_err(|e| Error::model(path, format!("cannot be read ({e})")))
}

/// `history.csv`: epoch, train_loss, val_loss, learning_rate.
pub fn history_csv(report: &TrainReport) -> String {
    let mut s = String::from("epoch,train_loss,val_loss,learning_rate\n");
    for r in &report.history {
        let _ = writeln!(
            s,
            "{},{},{},{}",
            r.epoch,
            r.train_loss,
            r.val_loss.map(|v| v.to_string()).unwrap_or_default(),
            r.learning_rate
        );
    }
    s
}

fn csv_writer() -> csv::Writer<Vec<u8>> {
    csv::Writer::from_writer(Vec::new())
}

fn finish(w: csv::Writer<Vec<u8>>) -> String {
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

const PREDICTION_COLUMNS: [&str; 10] = [
    "origin",
    "step",
    "target",
    "actual",
    "predicted",
    "naive",
    "seasonal_naive",
    "ets",
    "theta",
    "model",
];

/// The header of a prediction table: `series_id` first for a panel, the interval columns of
/// `levels` last.
fn prediction_header(id: Option<&str>, levels: &[f64], taus: &[f64]) -> Vec<String> {
    id.map(|_| "series_id")
        .into_iter()
        .chain(PREDICTION_COLUMNS)
        .map(str::to_string)
        .chain(quantile_columns(taus))
        .chain(interval_columns(levels))
        .collect()
}

/// The interval levels an evaluation scored (percent, in order).
fn levels_of(ev: &Evaluation) -> Vec<f64> {
    ev.intervals
        .values()
        .next()
        .map(|v| v.iter().map(|s| s.level).collect())
        .unwrap_or_default()
}

/// The quantiles a quantile model's evaluation scored.
fn quantiles_of(ev: &Evaluation) -> Vec<f64> {
    ev.quantiles
        .values()
        .next()
        .map(|v| v.iter().map(|s| s.quantile).collect())
        .unwrap_or_default()
}

/// `q10, q50, q90` for quantiles 0.1, 0.5, 0.9.
fn quantile_columns(taus: &[f64]) -> Vec<String> {
    taus.iter()
        .map(|t| format!("q{}", crate::forecaster::intervals::level_name(t * 100.0)))
        .collect()
}

/// `lo80, hi80, lo95, hi95, …` for `levels` (percent).
fn interval_columns(levels: &[f64]) -> Vec<String> {
    levels
        .iter()
        .flat_map(|l| {
            let l = crate::forecaster::intervals::level_name(*l);
            [format!("lo{l}"), format!("hi{l}")]
        })
        .collect()
}

/// An interval's two cells (empty where the level was refused).
fn interval_cells(iv: &[Option<(f64, f64)>], n_levels: usize) -> Vec<String> {
    (0..n_levels)
        .flat_map(|i| match iv.get(i).copied().flatten() {
            Some((lo, hi)) => [lo.to_string(), hi.to_string()],
            None => [String::new(), String::new()],
        })
        .collect()
}

fn prediction_record(
    r: &crate::forecaster::PredictionRow,
    id: Option<&str>,
    n_levels: usize,
) -> Vec<String> {
    id.map(|_| r.series.clone())
        .into_iter()
        .chain([
            r.origin.clone(),
            r.step.to_string(),
            r.target.clone(),
            r.actual.to_string(),
            r.predicted.to_string(),
            r.naive.to_string(),
            r.seasonal_naive.to_string(),
            r.ets.map(|v| v.to_string()).unwrap_or_default(),
            r.theta.map(|v| v.to_string()).unwrap_or_default(),
            r.model.clone(),
        ])
        .chain(r.quantiles.iter().map(|q| q.to_string()))
        .chain(interval_cells(&r.intervals, n_levels))
        .collect()
}

/// `predictions.csv`: [series_id,] origin, step, target, actual, predicted, naive,
/// seasonal_naive, ets (empty for a series without an ETS model), theta (likewise), model (what forecast the
/// series: `lstm`, `ets` or `naive`), then `loL, hiL` per interval
/// level (empty where refused); `series_id` when the data has an id column (`id`).
pub fn predictions_csv(ev: &Evaluation, id: Option<&str>) -> String {
    let mut w = csv_writer();
    let levels = levels_of(ev);
    let _ = w.write_record(prediction_header(id, &levels, &quantiles_of(ev)));
    for r in &ev.rows {
        let _ = w.write_record(prediction_record(r, id, levels.len()));
    }
    finish(w)
}

/// A forecast as CSV: [`series_id`,] the time column (in the data's own layout), one column
/// per target (with its quantiles and intervals), then `model` (what forecast the series).
pub fn forecast_csv(panel: &crate::data::Panel, f: &Forecast) -> String {
    let (time_name, id) = (panel.time_name.as_str(), panel.id_name.as_deref());
    let mut w = csv_writer();
    let mut header: Vec<String> = id.map(|_| "series_id".to_string()).into_iter().collect();
    header.push(time_name.to_string());
    for t in &f.targets {
        header.push(t.clone());
        let cols = quantile_columns(&f.quantiles)
            .into_iter()
            .chain(interval_columns(&f.levels));
        header.extend(cols.map(|c| format!("{t}_{c}")));
    }
    header.push("model".to_string());
    let _ = w.write_record(&header);
    for s in &f.series {
        for (h, (t, row)) in s.timestamps.iter().zip(&s.values).enumerate() {
            let mut rec: Vec<String> = id.map(|_| s.id.clone()).into_iter().collect();
            rec.push(panel.format_time(t));
            for (k, v) in row.iter().enumerate() {
                rec.push(v.to_string());
                if let Some(q) = s.quantiles.get(h).and_then(|r| r.get(k)) {
                    // Empty past the trained horizon (NaN there).
                    rec.extend(q.iter().map(|v| {
                        if v.is_finite() {
                            v.to_string()
                        } else {
                            String::new()
                        }
                    }));
                }
                let iv = s.intervals.get(h).and_then(|r| r.get(k));
                rec.extend(interval_cells(
                    iv.map_or(&[][..], Vec::as_slice),
                    f.levels.len(),
                ));
            }
            rec.push(s.model.clone());
            let _ = w.write_record(&rec);
        }
    }
    finish(w)
}

/// The content of `metrics.json`: the evaluation plus training facts.
pub fn metrics(model: &TrainedForecaster, ev: &Evaluation) -> serde_json::Value {
    serde_json::json!({
        "series": model.ids.len(),
        "test": ev,
        "training": {
            "best_epoch": model.report.best_epoch,
            "epochs_run": model.report.history.len(),
            "best_val_loss": model.report.best_val_loss,
            "stopped_early": model.report.stopped_early,
            "seconds": model.report.seconds,
        },
        "params": model.network.n_params(),
        "device": crate::engine::Device::Cpu.describe(),
        "normalize": model.selection.as_ref().map_or_else(
            || serde_json::json!({ "chosen": model.norm.mode }),
            |s| serde_json::json!(s),
        ),
    })
}

/// `metrics.json` as text.
pub fn metrics_json(model: &TrainedForecaster, ev: &Evaluation) -> String {
    to_json(&metrics(model, ev))
}

/// `trials.csv`: one row per tuning trial.
pub fn trials_csv(r: &crate::tune::TuneResult) -> String {
    let mut w = csv_writer();
    let _ = w.write_record(
        std::iter::once("trial")
            .chain(crate::tune::TrialParams::NAMES)
            .chain([
                "rung", "epochs", "val_mse", "val_mase", "val_msis", "seconds", "error",
            ]),
    );
    for t in &r.trials {
        let p = &t.params;
        let _ = w.write_record([
            t.trial.to_string(),
            p.lookback.to_string(),
            p.layers
                .iter()
                .map(|u| u.to_string())
                .collect::<Vec<_>>()
                .join(","),
            p.dropout.to_string(),
            p.learning_rate.to_string(),
            p.batch_size.to_string(),
            p.normalize.name().to_string(),
            String::from(p.calendar.clone()),
            t.rung.to_string(),
            t.epochs.to_string(),
            t.val_mse.map(|v| v.to_string()).unwrap_or_default(),
            t.val_mase.map(|v| v.to_string()).unwrap_or_default(),
            t.val_msis.map(|v| v.to_string()).unwrap_or_default(),
            format!("{:.3}", t.seconds),
            t.error.clone().unwrap_or_default(),
        ]);
    }
    finish(w)
}

/// `backtest.csv`: every fold's predictions, with the fold number first.
pub fn backtest_csv(bt: &crate::backtest::Backtest, id: Option<&str>) -> String {
    let mut w = csv_writer();
    let levels = levels_of(&bt.aggregate);
    let _ = w.write_record(std::iter::once("fold".to_string()).chain(prediction_header(
        id,
        &levels,
        &quantiles_of(&bt.aggregate),
    )));
    for (i, f) in bt.folds.iter().enumerate() {
        for r in &f.evaluation.rows {
            let _ = w.write_record(
                std::iter::once((i + 1).to_string()).chain(prediction_record(r, id, levels.len())),
            );
        }
    }
    finish(w)
}

/// `folds.csv`: per fold and target, the rows used and the MASE / RMSE of the model and both
/// baselines.
pub fn folds_csv(bt: &crate::backtest::Backtest) -> String {
    let mut w = csv_writer();
    let levels = levels_of(&bt.aggregate);
    let _ = w.write_record(
        [
            "fold",
            "train_rows",
            "origin",
            "test_rows",
            "windows",
            "target",
            "lstm_mase",
            "naive_mase",
            "seasonal_naive_mase",
            "lstm_rmse",
            "naive_rmse",
            "seasonal_naive_rmse",
            "ets_mase",
            "ets_rmse",
        ]
        .into_iter()
        .map(str::to_string)
        .chain(levels.iter().flat_map(|l| {
            let l = crate::forecaster::intervals::level_name(*l);
            [format!("coverage{l}"), format!("msis{l}")]
        })),
    );
    let opt = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    for (i, f) in bt.folds.iter().enumerate() {
        for (target, s) in &f.evaluation.overall {
            let _ = w.write_record(
                [
                    (i + 1).to_string(),
                    format!("{}..{}", f.rows.train.start, f.rows.train.end),
                    f.rows.origin.clone(),
                    format!("{}..{}", f.rows.test.start, f.rows.test.end),
                    f.evaluation.windows.to_string(),
                    target.clone(),
                    opt(s.model.mase),
                    opt(s.naive.mase),
                    opt(s.seasonal_naive.mase),
                    s.model.rmse.to_string(),
                    s.naive.rmse.to_string(),
                    s.seasonal_naive.rmse.to_string(),
                    opt(s.ets.as_ref().and_then(|e| e.mase)),
                    opt(s.ets.as_ref().map(|e| e.rmse)),
                ]
                .into_iter()
                .chain((0..levels.len()).flat_map(|i| {
                    let sc = f.evaluation.intervals.get(target).and_then(|v| v.get(i));
                    [
                        opt(sc.and_then(|s| s.coverage)),
                        opt(sc.and_then(|s| s.msis)),
                    ]
                })),
            );
        }
    }
    finish(w)
}

/// The JSON of a backtest: options, per-fold rows and scores, and the aggregate.
pub fn backtest_json(bt: &crate::backtest::Backtest) -> String {
    let folds: Vec<serde_json::Value> = bt
        .folds
        .iter()
        .map(|f| {
            serde_json::json!({
                "rows": f.rows,
                "normalize": f.model.norm.mode,
                "epochs_run": f.model.report.history.len(),
                "test": f.evaluation,
            })
        })
        .collect();
    to_json(&serde_json::json!({
        "options": bt.options,
        "folds": folds,
        "aggregate": bt.aggregate,
    }))
}

/// The checkpoint file inside a training folder.
pub const CHECKPOINT_FILE: &str = "checkpoint.safetensors";

/// What a checkpoint records besides the training state: the resolved configuration and the
/// data it was trained on (path and CRC-32, so that a resume on changed data is refused).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointInfo {
    /// The full configuration as TOML.
    pub config_toml: String,
    /// The data file.
    pub data_path: PathBuf,
    /// CRC-32 of the data file's bytes, 8 hex digits.
    pub data_crc32: String,
}

impl CheckpointInfo {
    /// Describes a run on `data` with `config`.
    ///
    /// # Errors
    /// The data file cannot be read.
    pub fn new(config: &ForecasterConfig, data: &Path) -> Result<CheckpointInfo> {
        let bytes = std::fs::read(data).map_err(|e| Error::io(data, e))?;
        Ok(CheckpointInfo {
            config_toml: config.to_toml(),
            data_path: data.to_path_buf(),
            data_crc32: format!("{:08x}", crc32fast::hash(&bytes)),
        })
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct CheckpointMeta {
    format_version: u32,
    info: CheckpointInfo,
    candidate: usize,
    done: Vec<(crate::normalize::CandidateScore, TrainReport)>,
    state: Option<crate::train::TrainState>,
    tensors_crc32: String,
}

/// Writes `ck` to `dir/checkpoint.safetensors` atomically (a temporary file in `dir`, then a
/// rename), so that a kill at any moment leaves the previous checkpoint or the new one.
///
/// # Errors
/// Any write failure.
pub fn write_checkpoint(
    dir: &Path,
    ck: &crate::forecaster::FitCheckpoint,
    info: &CheckpointInfo,
) -> Result<()> {
    let mut state = ck.state.clone();
    let mut tensors: Vec<(String, Vec<f32>)> = Vec::new();
    if let Some(st) = state.as_mut() {
        tensors.push(("params".into(), ck.params.clone()));
        tensors.push(("best_params".into(), std::mem::take(&mut st.best_params)));
        tensors.push(("adam_m".into(), std::mem::take(&mut st.adam.m)));
        tensors.push(("adam_v".into(), std::mem::take(&mut st.adam.v)));
    }
    for (i, d) in ck.done.iter().enumerate() {
        tensors.push((format!("done_{i}"), d.params.clone()));
    }
    let bytes: Vec<(String, Vec<u8>, usize)> = tensors
        .iter()
        .map(|(n, v)| {
            (
                n.clone(),
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
                v.len(),
            )
        })
        .collect();
    let mut crc = crc32fast::Hasher::new();
    for (_, b, _) in &bytes {
        crc.update(b);
    }
    let meta = CheckpointMeta {
        format_version: FORMAT_VERSION,
        info: info.clone(),
        candidate: ck.candidate,
        done: ck
            .done
            .iter()
            .map(|d| (d.score.clone(), d.report.clone()))
            .collect(),
        state,
        tensors_crc32: format!("{:08x}", crc.finalize()),
    };
    let views: Vec<(String, TensorView)> = bytes
        .iter()
        .map(|(n, b, len)| TensorView::new(Dtype::F32, vec![*len], b).map(|v| (n.clone(), v)))
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::model(dir, format!("cannot build checkpoint tensors: {e}")))?;
    let mut md = std::collections::HashMap::new();
    md.insert("lstmcast".to_string(), to_json(&meta));
    let file = safetensors::serialize(views, &Some(md))
        .map_err(|e| Error::model(dir, format!("cannot serialise the checkpoint: {e}")))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".checkpoint-")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    std::io::Write::write_all(&mut tmp, &file).map_err(|e| Error::io(tmp.path(), e))?;
    let path = dir.join(CHECKPOINT_FILE);
    tmp.persist(&path).map_err(|e| Error::io(&path, e.error))?;
    Ok(())
}

/// Reads a checkpoint written by [`write_checkpoint`].
///
/// # Errors
/// A missing, truncated, corrupted or foreign file, each named.
pub fn read_checkpoint(dir: &Path) -> Result<(CheckpointInfo, crate::forecaster::FitCheckpoint)> {
    let path = dir.join(CHECKPOINT_FILE);
    if !path.is_file() {
        let what = if dir.join("model.safetensors").is_file() {
            "is missing: this run finished, so there is nothing to resume"
        } else {
            "is missing; is this a folder written by `lstmcast train`?"
        };
        return Err(Error::model(&path, what));
    }
    let bytes = read(&path)?;
    let bad = |why: String| Error::model(&path, why);
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes)
        .map_err(|e| bad(format!("not a valid checkpoint ({e}); it may be truncated")))?;
    let st = safetensors::SafeTensors::deserialize(&bytes)
        .map_err(|e| bad(format!("not a valid checkpoint ({e}); it may be truncated")))?;
    let meta_text = header
        .metadata()
        .as_ref()
        .and_then(|m| m.get("lstmcast"))
        .ok_or_else(|| bad("has no lstmcast metadata; it is not an lstmcast checkpoint".into()))?;
    let meta: CheckpointMeta = serde_json::from_str(meta_text)
        .map_err(|e| bad(format!("metadata cannot be read ({e})")))?;
    if meta.format_version != FORMAT_VERSION {
        return Err(bad(format!(
            "format version {} is not supported (this lstmcast reads {FORMAT_VERSION})",
            meta.format_version
        )));
    }
    let mut names: Vec<String> = Vec::new();
    if meta.state.is_some() {
        names.extend(["params", "best_params", "adam_m", "adam_v"].map(String::from));
    }
    names.extend((0..meta.done.len()).map(|i| format!("done_{i}")));
    let mut crc = crc32fast::Hasher::new();
    let mut get = |name: &str| -> Result<Vec<f32>> {
        let t = st
            .tensor(name)
            .map_err(|_| bad(format!("tensor '{name}' is missing")))?;
        if t.dtype() != Dtype::F32 || t.shape().len() != 1 {
            return Err(bad(format!("tensor '{name}' is not a 1-D F32 tensor")));
        }
        crc.update(t.data());
        Ok(t.data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    };
    let mut vals: Vec<Vec<f32>> = Vec::with_capacity(names.len());
    for n in &names {
        vals.push(get(n)?);
    }
    if format!("{:08x}", crc.finalize()) != meta.tensors_crc32 {
        return Err(bad("checksum mismatch: the checkpoint is corrupted".into()));
    }
    let mut vals = vals.into_iter();
    let mut state = meta.state;
    let mut params = Vec::new();
    if let Some(s) = state.as_mut() {
        params = vals.next().unwrap_or_default();
        s.best_params = vals.next().unwrap_or_default();
        s.adam.m = vals.next().unwrap_or_default();
        s.adam.v = vals.next().unwrap_or_default();
        let n = params.len();
        if s.best_params.len() != n || s.adam.m.len() != n || s.adam.v.len() != n {
            return Err(bad("tensor sizes disagree".into()));
        }
    }
    let done = meta
        .done
        .into_iter()
        .zip(vals)
        .map(
            |((score, report), params)| crate::forecaster::DoneCandidate {
                score,
                report,
                params,
            },
        )
        .collect();
    Ok((
        meta.info,
        crate::forecaster::FitCheckpoint {
            candidate: meta.candidate,
            done,
            state,
            params,
        },
    ))
}
