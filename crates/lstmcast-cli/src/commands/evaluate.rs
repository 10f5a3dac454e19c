//! `lstmcast evaluate`.

use super::{report, write_output};
use crate::cli::EvaluateArgs;
use lstmcast::TrainedForecaster;

pub fn run(a: EvaluateArgs) -> anyhow::Result<()> {
    if let Some(d) = &a.device {
        d.parse::<lstmcast::engine::Device>()?.check()?;
    }
    let mut model = TrainedForecaster::load(&a.model)?;
    // Predictions run on every core; they do not depend on the count.
    model.config.training.threads = lstmcast::cores();
    let ts = super::load_data(
        &a.data,
        &super::model_load_options(&model, a.fill.as_deref())?,
        None,
    )?
    .0;
    let ev = model.evaluate(&ts)?;
    if let Some(p) = &a.predictions {
        let text = lstmcast::report::predictions_csv(&ev, ts.id_name.as_deref());
        write_output(&a.data, p, a.force, &text)?;
    }
    if a.output.json {
        println!("{}", serde_json::to_string_pretty(&ev)?);
    } else if a.output.text() {
        print!("{}", report::skipped(&ev.skipped, ts.n_series()));
        print!("{}", report::table(&ev, model.config.horizon));
    }
    Ok(())
}
