//! `lstmcast tune`: search space from `[tune]` and flags → parallel successive halving → trials.csv,
//! plots, and the best configuration retrained into `OUT/best`.

use super::{guard_input, report};
use super::{progress_bar, resolve};
use crate::cli::TuneArgs;
use anyhow::Context;
use lstmcast::forecaster::FitProgress;
use lstmcast::normalize::Normalize;
use lstmcast::tune::{tune_model, TrialParams, TuneProgress, TuneSpace};
use lstmcast::{plot, store};

/// The search space: the config file's `[tune]`, then the flags.
fn space(a: &TuneArgs, file: Option<TuneSpace>) -> anyhow::Result<TuneSpace> {
    let mut s = file.unwrap_or_default();
    if let Some(v) = a.trials {
        s.trials = v;
    }
    if let Some(v) = &a.search_lookback {
        s.lookback = v.clone();
    }
    if let Some(text) = &a.search_layers {
        // Choices are separated by ',' as in every --search-* flag; a stack's layers by '-'.
        if text.contains(';') {
            anyhow::bail!("invalid configuration: search-layers: '{text}' uses ';'; separate the choices with ',' and the layers of a stack with '-', e.g. 32,64,64-32");
        }
        s.layers = text
            .split(',')
            .map(|stack| {
                stack
                    .split('-')
                    .map(|u| u.trim().parse::<usize>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| {
                        anyhow::anyhow!("invalid configuration: search-layers: '{stack}' in '{text}' is not a stack of unit counts like 64-32 (choices separated by ',')")
                    })
            })
            .collect::<anyhow::Result<_>>()?;
    }
    if let Some(v) = &a.search_dropout {
        s.dropout = v.clone();
    }
    if let Some(v) = &a.search_learning_rate {
        s.learning_rate = v.clone();
    }
    if let Some(v) = &a.search_batch_size {
        s.batch_size = v.clone();
    }
    if let Some(v) = &a.search_normalize {
        s.normalize = v
            .iter()
            .map(|m| m.parse::<Normalize>())
            .collect::<lstmcast::Result<_>>()?;
    }
    if let Some(v) = &a.search_calendar {
        s.calendar = v
            .iter()
            .map(|c| c.parse::<lstmcast::covariates::Calendar>())
            .collect::<lstmcast::Result<_>>()?;
    }
    if let Some(v) = a.min_epochs {
        s.min_epochs = v;
    }
    if let Some(v) = a.eta {
        s.eta = v;
    }
    if let Some(v) = &a.select {
        s.select = v.parse::<lstmcast::tune::Select>()?;
    }
    Ok(s)
}

pub fn run(a: TuneArgs) -> anyhow::Result<()> {
    let mut base = resolve(&a.data, &a.model, a.refit.as_deref())?.into_inner();
    let space = space(&a, base.tune.take())?;
    guard_input(a.data.path()?, &a.out)?;
    // One writer per folder, held until the folder is written.
    let _lock = store::RunLock::acquire(&a.out)?;
    let jobs = match a.jobs {
        Some(0) => anyhow::bail!("invalid configuration: jobs: must be at least 1"),
        Some(j) => j,
        None => lstmcast::cores(),
    };
    let (ts, future) = super::load_data(a.data.path()?, &base.data, None)?;
    if a.output.text() {
        print!("{}", super::covariate_notes(future.as_ref()));
    }
    let bar = progress_bar(1, a.output.quiet, "{bar:30} {pos}/{len} {msg} [{elapsed}]");
    let result = tune_model(
        &base,
        &space,
        &ts,
        jobs,
        &|p: &TuneProgress| {
            bar.set_length(p.of as u64);
            bar.set_position(p.done as u64);
            bar.set_message(format!(
                "rung {}/{} ({} epochs)",
                p.rung + 1,
                p.rungs,
                p.epochs
            ));
        },
        None,
    );
    bar.finish_and_clear();
    let (result, reused) = result.context("tuning failed")?;
    let best = &result.trials[result.best];
    let mut text = String::new();
    use std::fmt::Write as _;
    for c in &result.skipped {
        let _ = writeln!(text, "note: {c}");
    }
    let _ = writeln!(
        text,
        "{} trials on {} job(s), rungs of {:?} epochs: {} trial-epochs in {:.1} s; best: trial {} ({})",
        result.trials.len(),
        jobs,
        result.rungs,
        result.trial_epochs,
        result.search_seconds,
        best.trial,
        match (result.space.select, best.val_msis, best.val_mase) {
            (lstmcast::tune::Select::Msis, Some(s), _) => format!(
                "validation MSIS {s:.4}; MSE {:.5}, scaled units",
                best.val_mse.unwrap_or(f64::NAN)
            ),
            (_, _, Some(m)) => format!(
                "validation MASE {m:.4}; MSE {:.5}, scaled units",
                best.val_mse.unwrap_or(f64::NAN)
            ),
            _ => format!(
                "validation MSE {:.5}, scaled units",
                best.val_mse.unwrap_or(f64::NAN)
            ),
        }
    );
    for t in result.trials.iter().filter(|t| t.error.is_some()) {
        let _ = writeln!(
            text,
            "  trial {} failed after {} epoch(s): {}",
            t.trial,
            t.epochs,
            t.error.as_deref().unwrap_or_default()
        );
    }
    let p = &best.params;
    let _ = writeln!(
        text,
        "  lookback {}, layers {:?}, dropout {}, learning rate {:.2e}, batch size {}, normalize {}, calendar {}",
        p.lookback,
        p.layers,
        p.dropout,
        p.learning_rate,
        p.batch_size,
        p.normalize.name(),
        String::from(p.calendar.clone())
    );
    // The best configuration with the full epoch budget: its own trial when that trial ran the
    // whole budget (the same model a retrain gives, to the bit), else retrained from scratch.
    // The test split is touched here only.
    // Retraining, scoring and forecasting have the search's `jobs` threads (results do not
    // depend on them).
    let cfg = result.best_config.clone();
    if reused.is_some() {
        let _ = writeln!(
            text,
            "  (its trial ran the full budget: that model is kept, no retraining)"
        );
    }
    let bar = progress_bar(
        cfg.training.epochs as u64,
        a.output.quiet || reused.is_some(),
        "{bar:30} retraining best: epoch {pos}/{len}",
    );
    let mut on_epoch = |p: &FitProgress| bar.set_position(p.record.epoch as u64);
    let fitted = lstmcast::tune::best_model(&result, reused, &ts, jobs, &mut on_epoch, None);
    bar.finish_and_clear();
    let mut model = fitted.context("retraining the best configuration failed")?;
    model.config.training.threads = jobs;
    let ev = model.evaluate(&ts)?;
    let future = lstmcast::run::forecast_after(&model, &ts, future.as_ref(), &ev)?;
    store::write_atomically(&a.out, a.force, |dir| {
        store::write_marker(dir, "lstmcast-tune")?;
        let write = |name: &str, text: String| store::write(&dir.join(name), text);
        write("trials.csv", lstmcast::report::trials_csv(&result))?;
        write(
            "tune.json",
            serde_json::to_string_pretty(&result).unwrap_or_default(),
        )?;
        write("best.toml", cfg.to_toml())?;
        write("report.html", lstmcast::report::html::tune_report(&result))?;
        plot::write_chart(dir, "tune_trials", &plot::tune_trials_chart(&result))?;
        for param in TrialParams::NAMES {
            plot::write_chart(
                dir,
                &format!("tune_{param}"),
                &plot::tune_param_chart(&result, param),
            )?;
        }
        let best_dir = dir.join("best");
        std::fs::create_dir(&best_dir).map_err(|e| lstmcast::Error::io(&best_dir, e))?;
        model.save_run_into(&best_dir, &ts, &ev, &future)
    })?;
    if a.output.json {
        let v = serde_json::json!({ "tune": result, "best_test": ev, "out": a.out.display().to_string() });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    if a.output.quiet {
        return Ok(());
    }
    print!("{text}");
    println!("best configuration on the full budget, scored once on the test split:");
    print!("{}", report::table(&ev, cfg.horizon));
    println!(
        "\ntuning folder: {} (trials.csv, tune_*.png); model: {}/best (use with evaluate and forecast)",
        a.out.display(),
        a.out.display()
    );
    Ok(())
}
