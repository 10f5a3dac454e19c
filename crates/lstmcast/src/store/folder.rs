//! Run folders on disk: written into a temporary sibling folder and renamed into place, so a
//! folder is either complete or absent; an existing folder is replaced only with `force` and only
//! when it is itself an lstmcast folder (its marker file says so).

use super::checkpoint::CHECKPOINT_FILE;
use crate::error::{Error, Result};
use crate::report::files::to_json;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Version of the folder layout; bumped on incompatible changes.
pub const FORMAT_VERSION: u32 = 3;

/// The marker file that makes a folder an lstmcast run folder.
pub const MARKER: &str = "lstmcast.json";

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Marker {
    pub(crate) format: String,
    pub(crate) format_version: u32,
    pub(crate) lstmcast_version: String,
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

pub(crate) fn read(path: &Path) -> Result<Vec<u8>> {
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
pub(crate) fn foreign_entries(dir: &Path) -> Result<Vec<String>> {
    const FILES: [&str; 24] = [
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
        super::model::LATEST,
        "report.html",
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
    let (tmp_prefix, old_prefix) = side_prefixes(dir);
    let tmp = tempfile::Builder::new()
        .prefix(&tmp_prefix)
        .tempdir_in(&parent)
        .map_err(|e| Error::io(&parent, e))?;
    fill(tmp.path())?;
    let tmp_path = tmp.keep();
    if dir.exists() {
        // Move the old folder aside first so that a failure leaves it intact.
        let old = tempfile::Builder::new()
            .prefix(&old_prefix)
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

/// The kind of lstmcast folder `dir` is (`lstmcast-run`, `lstmcast-tune`, `lstmcast-backtest`,
/// `lstmcast-checkpoint`), from its marker file.
///
/// # Errors
/// Not a folder, or no readable marker (not an lstmcast folder).
pub fn folder_kind(dir: &Path) -> Result<String> {
    if !dir.is_dir() {
        return Err(Error::model(dir, "is not a folder"));
    }
    let marker: Marker = from_json(&dir.join(MARKER))?;
    Ok(marker.format)
}

/// The name prefixes of `dir`'s temporary sibling folders: the new folder being written, and
/// the old one moved aside while the new one takes its place.
fn side_prefixes(dir: &Path) -> (String, String) {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // The name's length keeps one output's prefix from being the start of another's
    // (`run-` and `run-x-`).
    let n = name.chars().count();
    (
        format!(".lstmcast-tmp-{n}-{name}-"),
        format!(".lstmcast-old-{n}-{name}-"),
    )
}

/// Tidies what a writer of `dir` killed in the middle of [`write_atomically`] left beside it:
/// a folder moved aside whose replacement never arrived is put back (it is the last complete
/// run), and half-written temporary folders are removed. Call it only while holding `dir`'s
/// [`super::RunLock`]: no other writer of `dir` is then running. Returns what it did, one line
/// each.
///
/// # Errors
/// A folder that cannot be renamed or removed.
pub fn recover(dir: &Path) -> Result<Vec<String>> {
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let (tmp_prefix, old_prefix) = side_prefixes(dir);
    let mut done = Vec::new();
    let Ok(entries) = std::fs::read_dir(&parent) else {
        return Ok(done);
    };
    let mut olds = Vec::new();
    let mut tmps = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(&old_prefix) {
            olds.push(e.path());
        } else if name.starts_with(&tmp_prefix) {
            tmps.push(e.path());
        }
    }
    olds.sort();
    if !dir.exists() {
        if let Some(old) = olds.pop() {
            std::fs::rename(&old, dir).map_err(|e| Error::io(&old, e))?;
            done.push(format!(
                "restored {} from {} (a replacement was interrupted)",
                dir.display(),
                old.display()
            ));
        }
    }
    for p in olds.into_iter().chain(tmps) {
        std::fs::remove_dir_all(&p).map_err(|e| Error::io(&p, e))?;
        done.push(format!(
            "removed {} (left by an interrupted write)",
            p.display()
        ));
    }
    Ok(done)
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = read(path)?;
    serde_json::from_slice(&bytes).map_err(|e| Error::model(path, format!("cannot be read ({e})")))
}
