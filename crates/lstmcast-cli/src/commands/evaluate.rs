//! `lstmcast evaluate`.

use super::{guard_input, report, write_file_atomically};
use crate::cli::EvaluateArgs;
use lstmcast::{artifact, TrainedForecaster};

pub fn run(a: EvaluateArgs) -> anyhow::Result<()> {
    let model = TrainedForecaster::load(&a.model)?;
    let ts = lstmcast::load_csv(&a.data, &model.config.data)?;
    let ev = model.evaluate(&ts)?;
    if let Some(p) = &a.predictions {
        guard_input(&a.data, p)?;
        write_file_atomically(p, &artifact::predictions_csv(&ev))?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&ev)?);
    } else {
        print!("{}", report::table(&ev, model.config.horizon));
    }
    Ok(())
}
