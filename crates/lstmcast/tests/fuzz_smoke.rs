//! The CI smoke run of the fuzz targets (issue 5): the same entry points as `fuzz/` (cargo-fuzz,
//! nightly), driven by proptest on stable. Inputs are random bytes and random mutations (byte
//! flips, insertions, deletions, truncations, spliced lines) of the committed seed corpus in
//! `fuzz/corpus`. Any panic fails the test with the input that caused it.

use lstmcast::fuzz;
use proptest::prelude::*;
use std::path::PathBuf;

/// The seed corpus of `target`, read once per test binary.
fn corpus(target: &'static str) -> &'static [Vec<u8>] {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    type Cache = Mutex<HashMap<&'static str, &'static [Vec<u8>]>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let mut map = CACHE.get_or_init(Default::default).lock().unwrap();
    map.entry(target)
        .or_insert_with(|| Box::leak(read_corpus(target).into_boxed_slice()))
}

fn read_corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    // Files that vanish while a fuzzer runs on the same folder are skipped.
    files
        .into_iter()
        .filter_map(|p| std::fs::read(p).ok())
        .collect()
}

#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
    DuplicateLine(usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let tokens = prop::sample::select(vec![
        b",".to_vec(),
        b"\n".to_vec(),
        b"\"".to_vec(),
        b"NaN".to_vec(),
        b"-inf".to_vec(),
        b"1e400".to_vec(),
        b"[[".to_vec(),
        b"= ".to_vec(),
        b"\xff\xfe".to_vec(),
        b"99999999999999999999".to_vec(),
        b"--8<--".to_vec(),
        vec![0x1f],
        vec![0u8; 9],
    ]);
    prop::collection::vec(
        prop_oneof![
            (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Flip(i, b)),
            (any::<usize>(), tokens).prop_map(|(i, t)| Edit::Insert(i, t)),
            (any::<usize>(), 1usize..64).prop_map(|(i, n)| Edit::Delete(i, n)),
            any::<usize>().prop_map(Edit::Truncate),
            any::<usize>().prop_map(Edit::DuplicateLine),
        ],
        1..6,
    )
}

fn apply(mut v: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let n = v.len().max(1);
        match e {
            Edit::Flip(i, b) if !v.is_empty() => v[i % n] ^= b | 1,
            Edit::Insert(i, t) => {
                let at = i % (v.len() + 1);
                v.splice(at..at, t.iter().copied());
            }
            Edit::Delete(i, k) if !v.is_empty() => {
                let at = i % n;
                let end = (at + k).min(v.len());
                v.drain(at..end);
            }
            Edit::Truncate(i) => v.truncate(i % (v.len() + 1)),
            Edit::DuplicateLine(i) => {
                let lines: Vec<&[u8]> = v.split(|&b| b == b'\n').collect();
                let k = i % lines.len();
                let mut out = Vec::with_capacity(v.len() * 2);
                for (j, l) in lines.iter().enumerate() {
                    out.extend_from_slice(l);
                    out.push(b'\n');
                    if j == k {
                        out.extend_from_slice(l);
                        out.push(b'\n');
                    }
                }
                v = out;
            }
            _ => {}
        }
    }
    v
}

macro_rules! smoke {
    ($name:ident, $target:ident, $cases:expr) => {
        proptest! {
            #![proptest_config(ProptestConfig { cases: $cases, failure_persistence: None, ..ProptestConfig::default() })]
            #[test]
            fn $name(seed in any::<prop::sample::Index>(), e in edits(), raw in prop::collection::vec(any::<u8>(), 0..256)) {
                let seeds = corpus(stringify!($target));
                let base = seeds[seed.index(seeds.len())].clone();
                fuzz::$target(&apply(base, &e));
                fuzz::$target(&raw);
            }
        }
    };
}

smoke!(csv_loader_never_panics, csv, 400);
smoke!(config_parser_never_panics, config, 400);
smoke!(model_folder_loader_never_panics, model_folder, 200);
smoke!(checkpoint_reader_never_panics, checkpoint, 200);
smoke!(parquet_loader_never_panics, parquet, 200);
smoke!(frame_loader_never_panics, frame, 400);

/// Rewrites the model-folder and checkpoint seeds in the current format (after a format change:
/// `LSTMCAST_BLESS=1 cargo test --profile test-release --test fuzz_smoke`): a tiny model trained
/// on a short in-memory series, and the checkpoint of its first epoch.
fn bless_seeds() {
    use lstmcast::forecaster::{FitCheckpoint, FitControl};
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let y: Vec<f64> = (0..40).map(|t| (t as f64 * 0.5).sin()).collect();
    let ts = lstmcast::Panel::from_columns(vec!["y".into()], vec![y], 1).unwrap();
    let mut cfg = lstmcast::ForecasterConfig {
        lookback: 4,
        normalize: lstmcast::Normalize::Global,
        ..Default::default()
    };
    cfg.model.layers = vec![2];
    let mut first: Option<FitCheckpoint> = None;
    let mut keep = |ck: &FitCheckpoint| {
        if first.is_none() && ck.state.is_some() {
            first = Some(ck.clone());
        }
        Ok(())
    };
    cfg.training.epochs = 2;
    let out = cfg
        .fit_with(
            &ts,
            cfg.split.resolve(&ts).unwrap(),
            FitControl::new(&mut |_| {}).with_checkpoint(&mut keep),
        )
        .unwrap();
    let lstmcast::forecaster::FitOutcome::Done(model) = out else {
        panic!("training was not interrupted, so it must be done")
    };
    let dir = tempfile::tempdir().unwrap();
    model.save_into(dir.path()).unwrap();
    let mut seed = Vec::new();
    for (i, name) in fuzz::MODEL_FILES.iter().enumerate() {
        if i > 0 {
            seed.extend_from_slice(fuzz::FILE_SEPARATOR);
        }
        seed.extend(std::fs::read(dir.path().join(name)).unwrap());
    }
    std::fs::write(corpus.join("model_folder/seed"), seed).unwrap();
    let info = lstmcast::store::CheckpointInfo {
        config_toml: cfg.to_toml(),
        data_path: "seed.csv".into(),
        data_crc32: "00000000".into(),
    };
    lstmcast::store::write_checkpoint(dir.path(), &first.unwrap(), &info).unwrap();
    std::fs::copy(
        dir.path().join(lstmcast::store::CHECKPOINT_FILE),
        corpus.join("checkpoint/seed"),
    )
    .unwrap();
}

#[test]
fn the_seed_corpus_is_what_the_targets_expect() {
    if std::env::var_os("LSTMCAST_BLESS").is_some() {
        bless_seeds();
    }
    // The model-folder seed splits into the five files and loads as is; the checkpoint seed
    // reads as is: the mutations above start from valid inputs.
    let read = |t: &str| {
        std::fs::read(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../fuzz/corpus")
                .join(t)
                .join("seed"),
        )
        .unwrap()
    };
    let seed = &read("model_folder");
    assert_eq!(fuzz::split_files(seed).len(), fuzz::MODEL_FILES.len());
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in fuzz::MODEL_FILES.iter().zip(fuzz::split_files(seed)) {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    lstmcast::TrainedForecaster::load(dir.path()).unwrap();
    let ck = tempfile::tempdir().unwrap();
    std::fs::write(
        ck.path().join(lstmcast::store::CHECKPOINT_FILE),
        read("checkpoint"),
    )
    .unwrap();
    lstmcast::store::read_checkpoint(ck.path()).unwrap();
}

#[test]
fn the_frame_seeds_load() {
    // The frame target's seeds are frames the loader reads (so mutations start from valid
    // input): a single series, a panel, and a panel ending in future-known rows.
    for (name, series, future) in [
        ("seed-single", 1, false),
        ("seed-panel", 3, false),
        ("seed-future", 1, true),
    ] {
        let text = std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../fuzz/corpus/frame")
                .join(name),
        )
        .unwrap();
        let mut lines = text.lines();
        let header: Vec<String> = lines
            .next()
            .unwrap()
            .split(fuzz::CELL_SEPARATOR as char)
            .map(str::to_string)
            .collect();
        let mut columns = vec![Vec::new(); header.len()];
        for l in lines {
            for (c, cell) in l.split(fuzz::CELL_SEPARATOR as char).enumerate() {
                columns[c].push(cell.to_string());
            }
        }
        let frame = lstmcast::data::Frame {
            name: "data frame".into(),
            header: header.clone(),
            columns,
        };
        let opts = lstmcast::LoadOptions {
            id_col: (series > 1 || future).then(|| header[0].clone()),
            target: if future { vec!["y".into()] } else { Vec::new() },
            future_known: if future {
                vec!["promo".into()]
            } else {
                Vec::new()
            },
            ..Default::default()
        };
        let (ts, rows) =
            lstmcast::data::load_frame(&frame, &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(ts.n_series(), series, "{name}");
        assert_eq!(rows.is_some(), future, "{name}");
    }
}
