//! `lstmcast evaluate`.

use super::{guard_input, report, write_file_atomically};
use crate::cli::EvaluateArgs;
use lstmcast::{artifact, TrainedForecaster};

pub fn run(a: EvaluateArgs) -> anyhow::Result<()> {
    let model = TrainedForecaster::load(&a.model)?;
    let ts = lstmcast::load(
        &a.data,
        &super::model_load_options(&model, a.fill.as_deref())?,
    )?;
    let ev = model.evaluate(&ts)?;
    if let Some(p) = &a.predictions {
        guard_input(&a.data, p)?;
        write_file_atomically(p, &artifact::predictions_csv(&ev, ts.id_name.as_deref()))?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&ev)?);
    } else {
        print!("{}", report::skipped(&ev.skipped, ts.n_series()));
        print!("{}", report::table(&ev, model.config.horizon));
    }
    Ok(())
}
