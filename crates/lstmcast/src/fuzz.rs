//! Entry points for fuzzing, shared by the cargo-fuzz targets in `fuzz/` and the proptest smoke
//! tests that CI runs (`tests/fuzz_smoke.rs`). Each takes arbitrary bytes and must return
//! without panicking, whatever the bytes are; errors are the expected outcome for most inputs.

use crate::config::ForecasterConfig;
use crate::data::{parse_csv, Fill, LoadOptions, Panel};
use crate::forecaster::TrainedForecaster;
use crate::store::{read_checkpoint, CHECKPOINT_FILE, MARKER};
use std::path::Path;

/// Separates the files of a model folder inside one fuzz input.
pub const FILE_SEPARATOR: &[u8] = b"\n--8<--\n";

/// The model folder's files, in the order a fuzz input lists them.
pub const MODEL_FILES: [&str; 5] = [
    MARKER,
    "config.toml",
    "scaler.json",
    "model.json",
    "model.safetensors",
];

/// The CSV loader with default options and with linear fill and the first column as target.
pub fn csv(data: &[u8]) {
    let path = Path::new("fuzz.csv");
    if let Ok(ts) = parse_csv(path, data, &LoadOptions::default()) {
        let _ = ts.summary();
    }
    let opts = LoadOptions {
        fill: Fill::Linear,
        ..Default::default()
    };
    let _ = parse_csv(path, data, &opts);
}

/// The data loader on bytes that start as a Parquet file (the corpus: files written by pandas,
/// polars and pyarrow), with default options and with an id column and linear fill.
pub fn parquet(data: &[u8]) {
    let path = Path::new("fuzz.parquet");
    let _ = crate::data::parse(path, data, &LoadOptions::default());
    let opts = LoadOptions {
        id_col: Some("id".into()),
        fill: Fill::Linear,
        ..Default::default()
    };
    let _ = crate::data::parse(path, data, &opts);
}

/// Separates the cells of a row in a [`frame`] fuzz input (rows are lines).
pub const CELL_SEPARATOR: u8 = 0x1f;

/// The loader of frames as the Python package hands them over ([`crate::data::Frame`]: a name,
/// column names and each column's cells as text): the first line holds the column names, each
/// further line a row, cells separated by [`CELL_SEPARATOR`]; rows may be ragged (columns of
/// other lengths), as a broken bridge could hand them. Loaded with default options, with an id
/// column and linear fill, as future-known rows, and with the third column as target and the
/// last as future-known.
pub fn frame(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let header: Vec<String> = lines
        .next()
        .unwrap_or("")
        .split(CELL_SEPARATOR as char)
        .map(str::to_string)
        .collect();
    let mut columns: Vec<Vec<String>> = vec![Vec::new(); header.len()];
    for line in lines {
        for (c, cell) in line.split(CELL_SEPARATOR as char).enumerate() {
            if c >= columns.len() {
                columns.push(Vec::new());
            }
            columns[c].push(cell.to_string());
        }
    }
    let f = crate::data::Frame {
        name: "data frame".into(),
        header,
        columns,
    };
    if let Ok((ts, _)) = crate::data::load_frame(&f, &LoadOptions::default()) {
        let _ = ts.summary();
    }
    let opts = LoadOptions {
        id_col: f.header.first().cloned(),
        fill: Fill::Linear,
        ..Default::default()
    };
    let _ = crate::data::load_frame(&f, &opts);
    let _ = crate::data::load_future_frame(&f, &opts);
    // The third column as target and the last as future-known (the seed with future rows).
    if f.header.len() >= 4 {
        let opts = LoadOptions {
            target: vec![f.header[2].clone()],
            future_known: vec![f.header[f.header.len() - 1].clone()],
            ..opts
        };
        let _ = crate::data::load_frame(&f, &opts);
    }
}

/// The configuration parser and validation; a configuration that parses must also serialise.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(c) = ForecasterConfig::from_toml_str(text) {
        let _ = c.validate();
        let _ = ForecasterConfig::from_toml_str(&c.to_toml());
    }
}

/// Splits `data` at [`FILE_SEPARATOR`] into the files of a model folder.
pub fn split_files(data: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut rest = data;
    while let Some(i) = rest
        .windows(FILE_SEPARATOR.len())
        .position(|w| w == FILE_SEPARATOR)
    {
        parts.push(&rest[..i]);
        rest = &rest[i + FILE_SEPARATOR.len()..];
    }
    parts.push(rest);
    parts
}

/// The model-folder loader on a folder made of `data`'s parts; a model that loads must also
/// forecast (or refuse) on a short series with its columns.
pub fn model_folder(data: &[u8]) {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    for (name, bytes) in MODEL_FILES.iter().zip(split_files(data)) {
        if std::fs::write(dir.path().join(name), bytes).is_err() {
            return;
        }
    }
    let Ok(m) = TrainedForecaster::load(dir.path()) else {
        return;
    };
    let rows = m.config.lookback + 3;
    if rows > 5_000 {
        return;
    }
    let columns = m
        .names
        .iter()
        .enumerate()
        .map(|(c, _)| (0..rows).map(|r| (r * (c + 1)) as f64).collect())
        .collect();
    if let Ok(ts) = Panel::from_columns(m.names.clone(), columns, m.n_targets) {
        let _ = m.forecast(&ts, Some(m.config.horizon.min(50)));
    }
}

/// The checkpoint reader on `data` as a checkpoint file.
pub fn checkpoint(data: &[u8]) {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    if std::fs::write(dir.path().join(CHECKPOINT_FILE), data).is_ok() {
        let _ = read_checkpoint(dir.path());
    }
}
