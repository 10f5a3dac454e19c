//! `lstmcast inspect --data FILE`.

use crate::cli::InspectArgs;

pub fn run(a: InspectArgs) -> anyhow::Result<()> {
    let opts = super::load_options(&a.data)?;
    let ts = lstmcast::load(a.data.path()?, &opts)?;
    print!("{}", ts.summary());
    Ok(())
}
