//! `lstmcast forecast`.

use super::{guard_input, write_file_atomically};
use crate::cli::ForecastArgs;
use lstmcast::{artifact, TrainedForecaster};

pub fn run(a: ForecastArgs) -> anyhow::Result<()> {
    let model = TrainedForecaster::load(&a.model)?;
    let ts = lstmcast::load_csv(&a.data, &model.config.data)?;
    let f = model.forecast(&ts, a.horizon)?;
    let text = artifact::forecast_csv(&ts.time_name, &f);
    match &a.out {
        Some(p) => {
            guard_input(&a.data, p)?;
            write_file_atomically(p, &text)?;
        }
        None => print!("{text}"),
    }
    Ok(())
}
