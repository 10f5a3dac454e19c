//! A trained model's files: configuration, scaler, weights (safetensors, Keras names and shapes)
//! and facts about the training data; saved and loaded with every consistency check.

use super::folder::{
    from_json, read, write, write_atomically, write_marker, Marker, FORMAT_VERSION, MARKER,
};
use crate::config::ForecasterConfig;
use crate::engine::{Network, NetworkSpec};
use crate::error::{Error, Result};
use crate::forecaster::{Evaluation, Forecast, TrainedForecaster};
use crate::normalize::{Selection, WindowNorm};
use crate::report::files::to_json;
use crate::report::files::{forecast_csv, history_csv, metrics_json, predictions_csv};
use crate::scale::Scaler;
use crate::time::Frequency;
use crate::train::TrainReport;
use safetensors::tensor::{Dtype, TensorView};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The sub-folder holding the model trained on every row (`--refit all`).
pub const LATEST: &str = "latest";

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
    /// What the refit did and the rows each model saw (absent in folders written before
    /// refits existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refit: Option<crate::forecaster::refit::RefitRecord>,
    /// The adaptive interval factors of the run's evaluation and the data they came from
    /// (absent in a model saved without a run, or before adaptive intervals existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    interval_factors: Option<crate::forecaster::intervals::StoredFactors>,
    /// CRC-32 of `model.safetensors`, as 8 hex digits.
    weights_crc32: String,
}

/// The tensor-name prefix of network `k` (0: the main network, unprefixed; k ≥ 1: ensemble
/// member k).
pub(crate) fn member_prefix(k: usize) -> String {
    if k == 0 {
        String::new()
    } else {
        format!("member{k}/")
    }
}

/// Reads one network's tensors (names prefixed by `prefix`) from `st`.
pub(crate) fn read_network(
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

impl TrainedForecaster {
    /// Writes the model files (marker, config, scaler, model metadata, weights) into `dir`,
    /// which must exist. Used inside [`write_atomically`].
    ///
    /// # Errors
    /// Any write failure.
    pub fn save_into(&self, dir: &Path) -> Result<()> {
        self.save_into_with(dir, self.interval_factors.clone())
    }

    /// As [`TrainedForecaster::save_into`], with `factors` as the stored interval factors.
    fn save_into_with(
        &self,
        dir: &Path,
        factors: Option<crate::forecaster::intervals::StoredFactors>,
    ) -> Result<()> {
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
            refit: self.refit.clone(),
            interval_factors: factors,
            weights_crc32: format!("{:08x}", crc32fast::hash(&st)),
        };
        write(&dir.join("model.json"), to_json(&meta))?;
        write(&dir.join("model.safetensors"), st)?;
        if let Some(latest) = &self.latest {
            // The model trained on every row: a model folder of its own inside this one.
            let sub = dir.join(LATEST);
            std::fs::create_dir(&sub).map_err(|e| Error::io(&sub, e))?;
            latest.save_into(&sub)?;
        }
        Ok(())
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
    /// `metrics.json`, `predictions.csv`, `forecast.csv`, the loss and forecast plots and
    /// `report.html`.
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
        // The evaluation's adaptive factors, so that `forecast` on the same data reuses them.
        let factors = (!ev.interval_factors.is_empty()).then(|| {
            crate::forecaster::intervals::StoredFactors {
                data: panel.fingerprint(),
                factors: ev.interval_factors.clone(),
            }
        });
        self.save_into_with(dir, factors)?;
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
        crate::plot::write_forecast_charts(dir, panel, ev, future)?;
        write(
            &dir.join("report.html"),
            crate::report::html::run_report(self, panel, ev, future),
        )
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
        let latest = if dir.join(LATEST).is_dir() {
            let l = TrainedForecaster::load(&dir.join(LATEST))?;
            if l.names != meta.names || l.latest.is_some() {
                return Err(Error::model(
                    dir.join(LATEST),
                    "is not the model of every row of this run (other columns, or a further model inside)",
                ));
            }
            Some(Box::new(l))
        } else {
            None
        };
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
            interval_factors: meta.interval_factors,
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
            refit: meta.refit,
            latest,
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
