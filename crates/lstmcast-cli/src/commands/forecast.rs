//! `lstmcast forecast`.

use super::{guard_input, write_file_atomically};
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
    eprint!("{}", super::report::forecast_skipped(&f));
    let text = artifact::forecast_csv(&ts, &f);
    match &a.out {
        Some(p) => {
            guard_input(&a.data, p)?;
            write_file_atomically(p, &text)?;
        }
        None => print!("{text}"),
    }
    Ok(())
}
