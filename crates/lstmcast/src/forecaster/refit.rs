//! The refit (see [`Refit`]): once validation has chosen the candidate and its epoch count, the
//! chosen configuration is trained again, for that fixed number of epochs and from the same
//! seeds, on the training and validation rows (the model that scores the test) and on every row
//! (the model that forecasts past the data). Scalers, transform, ETS references and window
//! normalisation are fitted again on the rows each model sees; nothing after them is read.
//! The interval calibration, the selection record and the MASE denominators stay those of the
//! validation model: they come from rows it did not train on.

use super::candidates::{candidate_loss, initial_network};
use super::{Prepared, TrainedForecaster};
use crate::config::{Refit, Validated};
use crate::data::Panel;
use crate::engine::Network;
use crate::error::{Error, Result};
use crate::normalize::Normalize;
use crate::split::{PanelSplit, Part, Splits};
use crate::train::{Status, TrainState};
use serde::{Deserialize, Serialize};
use std::sync::atomic::AtomicBool;

/// Which rows one of a run's models was trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRows {
    /// What the model is used for: `select` (chooses the candidate and the epochs on
    /// validation), `test` (scores the test part) or `forecast` (forecasts past the data).
    pub role: String,
    /// The rows it was trained on: `training`, `training+validation` or `every row`.
    pub rows: String,
    /// How many rows that is, over every series.
    pub n_rows: usize,
    /// The first position it did not see (the validation or test start, as the split reports
    /// it); `None` for every row.
    pub before: Option<String>,
    /// Epochs it was trained for (0 for a model without a network).
    pub epochs: usize,
}

/// What the refit did: asked for, done, and which rows each model saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefitRecord {
    /// The refit asked for.
    pub refit: Refit,
    /// Every model of the run and its rows (selection, test, forecast).
    pub models: Vec<ModelRows>,
    /// Why the refit asked for was not done (the selection model then scores and forecasts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// Wall time of the refit trainings.
    pub seconds: f64,
}

/// `split` with every series' training rows extended through `part` (validation: the training
/// and validation rows; test: every row); the later parts are empty.
fn through(split: &PanelSplit, part: Part) -> PanelSplit {
    let series = split
        .series
        .iter()
        .map(|s| {
            let end = match part {
                Part::Test => s.test.end,
                _ => s.val.end,
            };
            Splits {
                train: s.train.start..end,
                val: end..end,
                test: end..end,
            }
        })
        .collect();
    PanelSplit {
        series,
        ..split.clone()
    }
}

/// A network of the chosen candidate to train again: its seed and its epoch count.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Net {
    pub seed: u64,
    pub epochs: usize,
}

/// The rows record of a model trained on `prep_split`'s rows through part `what`.
fn rows_of(role: &str, prep_split: &PanelSplit, what: Part, epochs: usize) -> ModelRows {
    let n_rows = match what {
        Part::Train => n_train_rows(prep_split),
        _ => n_train_rows(&through(prep_split, what)),
    };
    let (rows, before) = match what {
        Part::Train => ("training", Some(prep_split.report.val_start.clone())),
        Part::Val => (
            "training+validation",
            Some(prep_split.report.test_start.clone()),
        ),
        Part::Test => ("every row", None),
    };
    ModelRows {
        role: role.into(),
        rows: rows.into(),
        n_rows,
        before,
        epochs,
    }
}

/// Rows over every series' training part of `split`.
fn n_train_rows(split: &PanelSplit) -> usize {
    split.series.iter().map(|s| s.train.len()).sum()
}

/// The candidate a refit trains again: its data (with its calendar features), its preparation
/// on the training rows and its normalisation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Chosen<'a> {
    pub panel: &'a Panel,
    pub prep: &'a Prepared,
    pub mode: Normalize,
}

/// Applies the configured refit to `model`, the validation-chosen model of candidate `chosen`
/// (networks `nets`: the main one first, then the ensemble members kept). Returns `None` when
/// interrupted. A refit that cannot be done (a preparation or a training that fails on the
/// longer rows) leaves `model` as it is and records why: the run does not fail after its
/// selection succeeded.
///
/// # Errors
/// None of its own beyond an interruption; kept as `Result` for the assembly of the models.
pub(crate) fn apply(
    cfg: &Validated,
    chosen: Chosen,
    model: TrainedForecaster,
    nets: &[Net],
    threads: usize,
    interrupt: Option<&AtomicBool>,
) -> Result<Option<TrainedForecaster>> {
    let t0 = std::time::Instant::now();
    let split = &chosen.prep.split;
    let epochs = nets.first().map_or(0, |n| n.epochs);
    let selection = rows_of("select", split, Part::Train, epochs);
    let record = |models: Vec<ModelRows>, skipped: Option<String>| RefitRecord {
        refit: cfg.refit,
        models,
        skipped,
        seconds: t0.elapsed().as_secs_f64(),
    };
    let unrefit = |skipped: Option<String>, mut model: TrainedForecaster| {
        let models = ["select", "test", "forecast"]
            .into_iter()
            .map(|role| ModelRows {
                role: role.into(),
                ..selection.clone()
            })
            .collect();
        model.refit = Some(record(models, skipped));
        model
    };
    if !chosen.mode.trains() {
        // Plain ETS and Theta are fitted again on the rows before the test (to score it) and
        // on every row (to forecast) whatever the refit: there is no network to train again.
        let mut model = model;
        let mut rows = vec![selection.clone()];
        for (role, part) in [("test", Part::Val), ("forecast", Part::Test)] {
            rows.push(rows_of(role, split, part, 0));
        }
        let why = format!(
            "'{}' has no network; it is fitted again on the rows before the test and on every row anyway",
            chosen.mode.name()
        );
        model.refit = Some(record(rows, Some(why)));
        return Ok(Some(model));
    }
    let targets: &[Part] = match cfg.refit {
        Refit::None => return Ok(Some(unrefit(None, model))),
        Refit::Val => &[Part::Val],
        Refit::All => &[Part::Val, Part::Test],
    };
    // The chosen transform, fixed (not `auto`), for the longer rows.
    let c = cfg.with_transform(chosen.prep.transform.kind);
    let each = crate::threads::share(threads, targets.len());
    let preps: Vec<Result<Prepared>> = crate::threads::map_ordered(targets.len(), threads, |i| {
        Prepared::train_only(&c, chosen.panel, through(split, targets[i]), each)
    });
    let mut ok = Vec::with_capacity(preps.len());
    for p in preps {
        match p {
            Ok(p) => ok.push(p),
            Err(e) => return Ok(Some(unrefit(Some(e.to_string()), model))),
        }
    }
    let preps = ok;
    // Every network of every target, on up to `threads` threads (each on one: the result does
    // not depend on it).
    let jobs: Vec<(usize, Net)> = (0..preps.len())
        .flat_map(|t| nets.iter().map(move |&n| (t, n)))
        .collect();
    let per_job = crate::threads::share(threads, jobs.len());
    let trained = crate::threads::map_ordered(jobs.len(), threads, |j| {
        let (t, net) = jobs[j];
        train_fixed(&c, &preps[t], chosen, net, per_job, interrupt)
    });
    let mut by_target: Vec<Vec<Network>> = (0..preps.len()).map(|_| Vec::new()).collect();
    for ((t, _), r) in jobs.iter().zip(trained) {
        match r {
            Ok(Some(net)) => by_target[*t].push(net),
            Ok(None) => return Ok(None),
            Err(e) => return Ok(Some(unrefit(Some(e.to_string()), model))),
        }
    }
    let mut models = Vec::with_capacity(preps.len());
    for (prep, mut networks) in preps.iter().zip(by_target) {
        let rows = prep.train_rows(chosen.panel);
        let norm = match prep.window_norm(chosen.mode, &rows) {
            Ok(n) => n,
            Err(e) => return Ok(Some(unrefit(Some(e.to_string()), model))),
        };
        let main = networks.remove(0);
        let mut m =
            TrainedForecaster::from_parts(&c, chosen.panel, prep, norm, main, model.report.clone());
        m.members = networks;
        m.config.training.threads = model.config.training.threads;
        // From the rows the validation model did not train on: they stay.
        m.calibration = model.calibration.clone();
        m.selection = model.selection.clone();
        m.mase_scale = model.mase_scale.clone();
        m.trained_split = model.trained_split.clone();
        models.push(m);
    }
    let mut rows = vec![selection.clone()];
    for &part in targets {
        let role = if part == Part::Val {
            "test"
        } else {
            "forecast"
        };
        rows.push(rows_of(role, split, part, epochs));
    }
    if targets.len() == 1 {
        // `val`: the test model forecasts too.
        let mut f = rows[1].clone();
        f.role = "forecast".into();
        rows.push(f);
    }
    let mut it = models.into_iter();
    let mut test = it.next().expect("a refit target");
    test.latest = it.next().map(Box::new);
    test.refit = Some(record(rows, None));
    Ok(Some(test))
}

/// Trains network `net` of the chosen candidate on `prep`'s training rows for its fixed epoch
/// count, without validation; `None` when interrupted.
///
/// # Errors
/// Divergence, or windows the network cannot take.
fn train_fixed(
    cfg: &Validated,
    prep: &Prepared,
    chosen: Chosen,
    net: Net,
    threads: usize,
    interrupt: Option<&AtomicBool>,
) -> Result<Option<Network>> {
    let mut c = crate::config::ForecasterConfig::clone(cfg);
    c.seed = net.seed;
    c.training.threads = threads.max(1);
    let mode = chosen.mode;
    let rows = prep.train_rows(chosen.panel);
    let norm = prep.window_norm(mode, &rows)?;
    let mut opts = c.training.clone();
    opts.loss = Some(candidate_loss(&c, mode));
    opts.epochs = net.epochs.max(1);
    let mut network = initial_network(&c, prep, mode)?;
    let windows = prep.windows(&c, &norm, Part::Train);

    if windows.is_empty() {
        return Err(Error::NotEnoughData {
            what: "the refit's training windows".into(),
            needed: 1,
            got: 0,
        });
    }
    let mut state = TrainState::new(&network, windows.len(), &opts, c.seed);
    match state.run(
        &mut network,
        &windows,
        None,
        &opts,
        opts.epochs,
        interrupt,
        &mut |_| {},
    )? {
        Status::Interrupted => return Ok(None),
        Status::Finished | Status::Paused => {}
    }
    state.finish(&mut network)?;
    Ok(Some(network))
}
