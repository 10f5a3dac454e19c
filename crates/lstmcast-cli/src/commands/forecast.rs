//! `lstmcast forecast`: every series' forecast (or `--series`) as CSV, to standard output or a
//! file; `--json` prints it as JSON records.

use super::write_output;
use crate::cli::ForecastArgs;
use lstmcast::{artifact, TrainedForecaster};

pub fn run(a: ForecastArgs) -> anyhow::Result<()> {
    let model = TrainedForecaster::load(&a.model)?;
    let mut ts = lstmcast::load(
        &a.data,
        &super::model_load_options(&model, a.fill.as_deref())?,
    )?;
    if let Some(ids) = &a.series {
        ts = ts.only(ids)?;
    }
    let f = model.forecast(&ts, a.horizon)?;
    if !a.output.quiet {
        eprint!("{}", super::report::forecast_skipped(&f));
    }
    let text = artifact::forecast_csv(&ts, &f);
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
