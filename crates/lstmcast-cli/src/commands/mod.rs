//! One function per subcommand.

mod demo;
mod inspect;

use crate::cli::{Cli, Command};

/// Runs the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Inspect(a) => inspect::run(a),
        Command::Demo(a) => demo::run(a),
    }
}

/// Load options from the data flags.
pub fn load_options(d: &crate::cli::DataArgs) -> anyhow::Result<lstmcast::LoadOptions> {
    Ok(lstmcast::LoadOptions {
        time_col: d.time_col.clone(),
        target: d.target.clone().unwrap_or_default(),
        features: d.features.clone().unwrap_or_default(),
        fill: match d.fill.as_deref() {
            None | Some("none") => lstmcast::Fill::None,
            Some("linear") => lstmcast::Fill::Linear,
            Some("forward") => lstmcast::Fill::Forward,
            Some(other) => anyhow::bail!("invalid configuration: fill: '{other}' is not one of none, linear, forward"),
        },
    })
}
