//! `lstmcast train`: flags over the config file → fit → evaluate → forecast → run folder.

use super::{guard_input, load_options, report};
use crate::cli::{DataArgs, ModelArgs, TrainArgs};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lstmcast::{
    artifact, Evaluation, Forecast, ForecasterConfig, Normalize, ScalerKind, SplitSpec, Strategy,
    TimeSeries, TrainedForecaster,
};
use std::io::IsTerminal;
use std::path::Path;

/// The configuration: the file's (or the defaults), then every flag that was given.
pub fn resolve(d: &DataArgs, a: &ModelArgs) -> anyhow::Result<ForecasterConfig> {
    let mut c = match &a.config {
        Some(p) => ForecasterConfig::from_toml_file(p)?,
        None => ForecasterConfig::default(),
    };
    let opts = load_options(d)?;
    if d.time_col.is_some() {
        c.data.time_col = opts.time_col;
    }
    if d.target.is_some() {
        c.data.target = opts.target;
    }
    if d.features.is_some() {
        c.data.features = opts.features;
    }
    if d.fill.is_some() {
        c.data.fill = opts.fill;
    }
    if let Some(s) = &a.split {
        c.split = SplitSpec::parse(s)?;
    }
    if let Some(s) = &a.scaler {
        c.scaler = ScalerKind::parse(s)?;
    }
    if let Some(s) = &a.normalize {
        c.normalize = Normalize::parse(s)?;
    }
    if let Some(s) = &a.strategy {
        c.strategy = match s.as_str() {
            "direct" => Strategy::Direct,
            "recursive" => Strategy::Recursive,
            other => anyhow::bail!(
                "invalid configuration: strategy: '{other}' is not one of direct, recursive"
            ),
        };
    }
    macro_rules! set {
        ($($flag:ident => $($field:ident).+),* $(,)?) => {$(
            if let Some(v) = a.$flag.clone() { c.$($field).+ = v; }
        )*};
    }
    set!(lookback => lookback, horizon => horizon, layers => model.layers, dropout => model.dropout,
         recurrent_dropout => model.recurrent_dropout, epochs => training.epochs, batch_size => training.batch_size,
         learning_rate => training.learning_rate, patience => training.patience, min_delta => training.min_delta,
         reduce_lr_patience => training.reduce_lr_patience, reduce_lr_factor => training.reduce_lr_factor, seed => seed);
    if a.clip_norm.is_some() {
        c.training.clip_norm = a.clip_norm;
    }
    if a.season.is_some() {
        c.season = a.season;
    }
    c.validate()?;
    Ok(c)
}

/// A progress bar on stderr when it is a terminal and not `quiet`, else hidden.
pub fn progress_bar(len: u64, quiet: bool, template: &str) -> ProgressBar {
    let show = !quiet && std::io::stderr().is_terminal();
    let bar = ProgressBar::with_draw_target(
        Some(len),
        if show {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Evaluates `model` on `ts`, forecasts past its end, and writes a complete run folder at `out`
/// (atomically). Returns the evaluation and the forecast.
pub fn write_run(
    out: &Path,
    force: bool,
    model: &TrainedForecaster,
    ts: &TimeSeries,
) -> anyhow::Result<(Evaluation, Forecast)> {
    let ev = model.evaluate(ts)?;
    let future = model.forecast(ts, None)?;
    let test_start = model.config.split.ranges(ts.len()).test.start;
    artifact::write_atomically(out, force, |dir| {
        model.save_run_into(dir, ts, &ev, &future, test_start)
    })?;
    Ok((ev, future))
}

pub fn run(a: TrainArgs) -> anyhow::Result<()> {
    let cfg = resolve(&a.data, &a.model)?;
    guard_input(&a.data.data, &a.out)?;
    let ts = lstmcast::load_csv(&a.data.data, &cfg.data)?;
    let filled: usize = ts.filled.iter().sum();
    if filled > 0 && !a.json {
        let per: Vec<String> = ts
            .names
            .iter()
            .zip(&ts.filled)
            .filter(|(_, n)| **n > 0)
            .map(|(c, n)| format!("{c}: {n}"))
            .collect();
        println!(
            "filled {filled} missing cell(s) ({:?} fill): {}",
            cfg.data.fill,
            per.join(", ")
        );
    }
    let bar = progress_bar(
        cfg.training.epochs as u64,
        a.quiet,
        "{bar:30} epoch {pos}/{len} {msg} [{elapsed} < {eta}]",
    );
    let model = cfg.fit(&ts, &mut |p| {
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
    });
    bar.finish_and_clear();
    let model = model.context("training failed")?;
    let (ev, _) = write_run(&a.out, a.force, &model, &ts)?;
    if a.json {
        let mut v = artifact::metrics(&model, &ev);
        v["run_folder"] = serde_json::json!(a.out.display().to_string());
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        let r = &model.report;
        println!(
            "trained {} parameters on {} rows of {}: {} epochs, best epoch {}{} ({:.1} s)",
            model.network.n_params(),
            ts.len(),
            a.data.data.display(),
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
        print!("{}", report::table(&ev, cfg.horizon));
        println!(
            "\nforecast of the next {} step(s) in {}/forecast.csv; plots: loss.png, forecast.png",
            cfg.horizon,
            a.out.display()
        );
        println!("run folder: {}", a.out.display());
    }
    Ok(())
}
