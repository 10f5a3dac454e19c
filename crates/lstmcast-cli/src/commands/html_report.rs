//! `lstmcast report RUN`: writes `report.html` again for a training run (its model scores and
//! forecasts the data once more, as the run did), a tuning folder (from `tune.json`) or a
//! backtest folder (from its `metrics.json`).

use crate::cli::ReportArgs;
use anyhow::Context;
use lstmcast::store;
use lstmcast::TrainedForecaster;
use std::path::{Path, PathBuf};

pub fn run(a: ReportArgs) -> anyhow::Result<()> {
    let kind = store::folder_kind(&a.run)?;
    let written = match kind.as_str() {
        "lstmcast-run" => vec![run_report(&a.run, &a)?],
        "lstmcast-tune" => {
            let text = std::fs::read_to_string(a.run.join("tune.json"))
                .with_context(|| format!("cannot read {}", a.run.join("tune.json").display()))?;
            let result: lstmcast::tune::TuneResult = serde_json::from_str(&text)
                .with_context(|| format!("{} cannot be read", a.run.join("tune.json").display()))?;
            let path = a.run.join("report.html");
            super::write_file_atomically(&path, &lstmcast::report::html::tune_report(&result))?;
            let mut out = vec![path];
            if a.data.is_some() {
                out.push(run_report(&a.run.join("best"), &a)?);
            }
            out
        }
        "lstmcast-backtest" => {
            let file = a.run.join("metrics.json");
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let metrics: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{} cannot be read", file.display()))?;
            let path = a.run.join("report.html");
            super::write_file_atomically(
                &path,
                &lstmcast::report::html::backtest_report_from(&metrics)?,
            )?;
            vec![path]
        }
        "lstmcast-checkpoint" => anyhow::bail!(
            "invalid configuration: report: {} holds an interrupted training; finish it with `lstmcast train --resume {}`",
            a.run.display(),
            a.run.display()
        ),
        other => anyhow::bail!(
            "invalid configuration: report: {} is an lstmcast folder of kind '{other}', which has no report",
            a.run.display()
        ),
    };
    for p in written {
        println!("{}", p.display());
    }
    Ok(())
}

/// A training run's report, from its model and the data it was trained on.
fn run_report(dir: &Path, a: &ReportArgs) -> anyhow::Result<PathBuf> {
    let Some(data) = &a.data else {
        anyhow::bail!(
            "invalid configuration: data: the report of a training run scores and forecasts its data again: pass --data with the file {} was trained on",
            dir.display()
        );
    };
    let mut model = TrainedForecaster::load(dir)?;
    model.config.training.threads = lstmcast::cores();
    let opts = super::model_load_options(&model, a.fill.as_deref())?;
    let specs = lstmcast::covariates::Covariates::file_columns(
        &model.names,
        &model.roles,
        &model.config.data.statics,
    );
    let (ts, future) = super::load_data(data, &opts, Some(&specs))?;
    let ev = model.evaluate(&ts)?;
    let fc = lstmcast::run::forecast_after(&model, &ts, future.as_ref(), &ev)?;
    let path = dir.join("report.html");
    super::write_file_atomically(
        &path,
        &lstmcast::report::html::run_report(&model, &ts, &ev, &fc),
    )?;
    Ok(path)
}
