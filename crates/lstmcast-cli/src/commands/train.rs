//! `lstmcast train`: flags over the config file → fit → evaluate → forecast → run folder.

use super::{guard_input, progress_bar, report, resolve};
use crate::cli::{Exit, ModelArgs, TrainArgs};
use anyhow::Context;
use lstmcast::config::Validated;
use lstmcast::forecaster::{FitOutcome, FitProgress, Prepared};
use lstmcast::{DataSource, Panel, TrainingRun};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

pub fn run(a: TrainArgs) -> anyhow::Result<()> {
    if let Some(dir) = &a.resume {
        return resume(&a, dir);
    }
    let data = a.data.path()?;
    let out = a.out.as_deref().ok_or_else(|| {
        Exit::Usage(
            "the following required argument was not provided: --out <OUT> (or --resume DIR)"
                .into(),
        )
    })?;
    let cfg = resolve(&a.data, &a.model, a.refit.as_deref())?;
    guard_input(data, out)?;
    let (ts, future) = super::load_data(data, &cfg.data, None)?;
    if a.output.text() {
        print!("{}", super::covariate_notes(future.as_ref()));
    }
    let filled: usize = ts.filled.iter().sum();
    if filled > 0 && a.output.text() {
        let per: Vec<String> = ts
            .names
            .iter()
            .zip(&ts.filled)
            .filter(|(_, n)| **n > 0)
            .map(|(c, n)| format!("{c}: {n}"))
            .collect();
        println!(
            "filled {filled} missing cell(s) (--fill {}, --fill-gaps {} for inserted timestamps): {}",
            cfg.data.fill.name(),
            cfg.data.fill_gaps.name(),
            per.join(", ")
        );
    }
    if ts.time_name == "row" && a.output.text() {
        println!("note: no time column found: the rows are numbered 0, 1, 2, ... (name one with --time-col if a column holds the times)");
    }
    // Everything that can be checked before training is checked before anything is written.
    let split = cfg.split.resolve(&ts)?;
    cfg.calendar_features(&ts, &split)?;
    let threads = lstmcast::threads_or_cores(a.threads);
    let prep = Prepared::with_split(&cfg, &ts, split, threads)?;
    if !a.output.json && !a.output.quiet {
        print!("{}", report::skipped(&prep.skipped, ts.n_series()));
    }
    drop(prep);
    let run = TrainingRun::create(out, &cfg, DataSource::File(data), a.force)?;
    train_into(&a, run, &cfg, (&ts, future.as_ref()))
}

/// `train --resume DIR`: the checkpoint's configuration and data, continued.
fn resume(a: &TrainArgs, dir: &Path) -> anyhow::Result<()> {
    let overridden = a.model != ModelArgs::default()
        || a.data.time_col.is_some()
        || a.data.time_format.is_some()
        || a.data.target.is_some()
        || a.data.features.is_some()
        || a.data.past.is_some()
        || a.data.future_known.is_some()
        || a.data.statics.is_some()
        || a.data.static_data.is_some()
        || a.data.fill.is_some()
        || a.data.freq.is_some()
        || a.data.fill_gaps.is_some()
        || a.refit.is_some()
        || a.force;
    if overridden {
        return Err(Exit::Usage(
            "--resume continues with the checkpoint's own configuration; drop the other options (only --data, --quiet and --json may be given)".into(),
        )
        .into());
    }
    let run = TrainingRun::open(dir)?;
    let cfg = run.config()?;
    let data = a
        .data
        .data
        .clone()
        .unwrap_or_else(|| run.data_path().to_path_buf());
    run.check_same(&cfg, DataSource::File(&data))?;
    let (ts, future) = super::load_data(&data, &cfg.data, None)?;
    if !a.output.quiet && !a.output.json {
        let (candidate, at) = run.resumes_at().unwrap_or_default();
        println!(
            "resuming {}: candidate {} of the normalisation, after epoch {at}",
            dir.display(),
            candidate + 1
        );
    }
    train_into(a, run, &cfg, (&ts, future.as_ref()))
}

/// Trains with a checkpoint after every epoch into `out`, stopping cleanly on SIGINT/SIGTERM,
/// then writes the run folder over the checkpoint. `resume` is `None` for a fresh run, whose
/// folder this command created.
fn train_into(
    a: &TrainArgs,
    mut run: TrainingRun,
    cfg: &Validated,
    (ts, rows): (&Panel, Option<&Panel>),
) -> anyhow::Result<()> {
    let out = run.dir().to_path_buf();
    let data_name = run.data_path().to_path_buf();
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // A second signal exits at once (130); the first only raises the flag.
        signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(&stop))?;
        signal_hook::flag::register(sig, Arc::clone(&stop))?;
    }
    let bar = progress_bar(
        cfg.training.epochs as u64,
        a.output.quiet,
        "{bar:30} epoch {pos}/{len} {msg} [{elapsed} < {eta}]",
    );
    let mut on_epoch = |p: &FitProgress| {
        let r = p.record;
        bar.set_position(r.epoch as u64);
        bar.set_message(format!(
            "[{} {}/{}] train {:.5} val {:.5} best epoch {}",
            p.candidate.name(),
            p.index + 1,
            p.of,
            r.train_loss,
            r.val_loss.unwrap_or(f64::NAN),
            r.best_epoch
        ));
    };
    let threads = lstmcast::threads_or_cores(a.threads);
    let outcome = run.fit(
        cfg,
        ts,
        cfg.split.resolve(ts)?,
        &mut on_epoch,
        Some(&stop),
        threads,
    );
    bar.finish_and_clear();
    let outcome = match outcome {
        Ok(o) => o,
        // A fresh run's folder is gone (nothing in it was worth resuming); a resumed run
        // keeps the checkpoint it came from.
        Err(e) => return Err(e).context("training failed"),
    };
    let model = match outcome {
        FitOutcome::Done(m) => *m,
        FitOutcome::Interrupted(ck) => {
            let (epoch, batch) = ck
                .state
                .as_ref()
                .map_or((0, 0), |s| (s.epochs_done + 1, s.next_batch));
            return Err(Exit::Interrupted(format!(
                "interrupted in epoch {epoch} after batch {batch} (normalisation candidate {}); the checkpoint in {} resumes it: lstmcast train --resume {}",
                ck.candidate + 1,
                out.display(),
                out.display()
            ))
            .into());
        }
    };
    let (ev, future) = run.finish(&model, ts, rows)?;
    if a.output.json {
        let mut v = lstmcast::report::metrics(&model, &ev);
        v["run_folder"] = serde_json::json!(out.display().to_string());
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else if a.output.text() {
        let r = &model.report;
        let what = match ts.n_series() {
            1 if !ts.has_ids() => format!("{} rows", ts.len()),
            n => format!("{n} series ({} rows)", ts.len()),
        };
        println!(
            "trained {} parameters on {what} of {}: {} epochs, best epoch {}{} ({:.1} s)",
            model.network.n_params(),
            data_name.display(),
            r.history.len(),
            r.best_epoch,
            if r.stopped_early {
                " (stopped early, best weights restored)"
            } else {
                ""
            },
            r.seconds
        );
        if let Some(sel) = &model.selection {
            println!("{}", report::selection(sel));
        }
        if let Some(line) = report::covariates(&model) {
            println!("{line}");
        }
        println!("{}", report::ets_forms(&model.ets));
        if let Some(line) = report::calibration(&model.calibration) {
            println!("{line}");
        }
        print!("{}", report::skipped(&ev.skipped, ts.n_series()));
        print!("{}", report::forecast_skipped(&future));
        print!("{}", report::table(&ev, cfg.horizon));
        println!(
            "\nforecast of the next {} step(s) in {}/forecast.csv; plots: loss.png, forecast.png{}",
            cfg.horizon,
            out.display(),
            if ts.has_ids() { ", mase.png" } else { "" }
        );
        println!("run folder: {}", out.display());
    }
    if let Some(d) = &model.report.diverged {
        anyhow::bail!(
            "{d}; the best weights before it (epoch {}) are saved in {}",
            model.report.best_epoch,
            out.display()
        );
    }
    Ok(())
}
