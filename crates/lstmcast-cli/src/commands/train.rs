//! `lstmcast train`: flags over the config file → fit → evaluate → forecast → run folder.

use super::{guard_input, load_options, report};
use crate::cli::TrainArgs;
use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lstmcast::{artifact, plot, ForecasterConfig, Normalize, ScalerKind, SplitSpec, Strategy};
use std::io::IsTerminal;

/// The configuration: the file's (or the defaults), then every flag that was given.
fn resolve(a: &TrainArgs) -> anyhow::Result<ForecasterConfig> {
    let mut c = match &a.config {
        Some(p) => ForecasterConfig::from_toml_file(p)?,
        None => ForecasterConfig::default(),
    };
    let d = load_options(&a.data)?;
    if a.data.time_col.is_some() {
        c.data.time_col = d.time_col;
    }
    if a.data.target.is_some() {
        c.data.target = d.target;
    }
    if a.data.features.is_some() {
        c.data.features = d.features;
    }
    if a.data.fill.is_some() {
        c.data.fill = d.fill;
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

pub fn run(a: TrainArgs) -> anyhow::Result<()> {
    let cfg = resolve(&a)?;
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
    let show = !a.quiet && std::io::stderr().is_terminal();
    let bar = ProgressBar::with_draw_target(
        Some(cfg.training.epochs as u64),
        if show {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    bar.set_style(
        ProgressStyle::with_template("{bar:30} epoch {pos}/{len} {msg} [{elapsed} < {eta}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
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
    let ev = model.evaluate(&ts)?;
    let future = model.forecast(&ts, None)?;
    let test_start = cfg.split.ranges(ts.len()).test.start;
    artifact::write_atomically(&a.out, a.force, |dir| {
        model.save_into(dir)?;
        let files = [
            ("history.csv", artifact::history_csv(&model.report)),
            ("metrics.json", artifact::metrics_json(&model, &ev)),
            ("predictions.csv", artifact::predictions_csv(&ev)),
            (
                "forecast.csv",
                artifact::forecast_csv(&ts.time_name, &future),
            ),
        ];
        for (name, text) in files {
            std::fs::write(dir.join(name), text)
                .map_err(|e| lstmcast::Error::io(dir.join(name), e))?;
        }
        plot::write_chart(dir, "loss", &plot::loss_chart(&model.report))?;
        plot::write_chart(
            dir,
            "forecast",
            &plot::forecast_chart(&ts, &ev, Some(&future), test_start, 0),
        )?;
        Ok(())
    })?;
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
