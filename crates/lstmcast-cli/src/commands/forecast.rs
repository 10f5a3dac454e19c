//! `lstmcast forecast`: every series' forecast (or `--series`) as CSV, to standard output or a
//! file; `--json` prints it as JSON records.

use super::write_output;
use crate::cli::ForecastArgs;
use lstmcast::TrainedForecaster;

pub fn run(a: ForecastArgs) -> anyhow::Result<()> {
    if let Some(d) = &a.device {
        d.parse::<lstmcast::engine::Device>()?.check()?;
    }
    let mut model = TrainedForecaster::load(&a.model)?;
    // Predictions run on every core; they do not depend on the count.
    model.config.training.threads = lstmcast::cores();
    let mut opts = super::model_load_options(&model, a.fill.as_deref())?;
    opts.static_data = a.static_data.clone();
    let specs = lstmcast::covariates::Covariates::file_columns(
        &model.names,
        &model.roles,
        &model.config.data.statics,
    );
    let (mut ts, mut future) = super::load_data(&a.data, &opts, Some(&specs))?;
    if let Some(path) = &a.future {
        if future.is_some() {
            anyhow::bail!(
                "invalid configuration: future: {} already ends its series with future rows (empty targets); give the future-known values once, there or with --future",
                a.data.display()
            );
        }
        future = Some(lstmcast::data::load_future(path, &opts)?);
    }
    if let Some(ids) = &a.series {
        ts = ts.only(ids)?;
        if let Some(f) = &future {
            let keep: Vec<String> = ids
                .iter()
                .filter(|i| f.series_index(i).is_some())
                .cloned()
                .collect();
            future = if keep.is_empty() {
                None
            } else {
                Some(f.only(&keep)?)
            };
        }
    }
    let f = model.forecast_with(&ts, future.as_ref(), a.horizon)?;
    if !a.output.quiet {
        eprint!("{}", super::report::forecast_skipped(&f));
    }
    let text = lstmcast::report::forecast_csv(&ts, &f);
    if let Some(p) = &a.out {
        write_output(&a.data, p, a.force, &text)?;
    }
    if a.output.json {
        let records: Vec<serde_json::Value> = f
            .series
            .iter()
            .flat_map(|s| {
                s.timestamps.iter().zip(&s.values).map(|(t, v)| {
                    let mut r = serde_json::Map::new();
                    if ts.has_ids() {
                        r.insert("series_id".into(), s.id.clone().into());
                    }
                    r.insert(ts.time_name.clone(), ts.format_time(t).into());
                    for (name, x) in f.targets.iter().zip(v) {
                        r.insert(name.clone(), serde_json::json!(x));
                    }
                    serde_json::Value::Object(r)
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&records)?);
    } else if a.out.is_none() {
        print!("{text}");
    }
    Ok(())
}
