//! The checkpoint written after every epoch of a training: what resumes it to the bit-identical
//! result, and the facts (configuration, data checksum) that say whether a resume may continue.

use super::folder::{read, FORMAT_VERSION};
use crate::config::ForecasterConfig;
use crate::error::{Error, Result};
use crate::report::files::to_json;
use crate::train::TrainReport;
use safetensors::tensor::{Dtype, TensorView};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

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
