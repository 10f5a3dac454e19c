//! `lstmcast inspect --data FILE`: every column with its role, the series, their lengths and
//! spans, the frequency and filled cells, and a suggested command line. Never needs --target.

use crate::cli::InspectArgs;

pub fn run(a: InspectArgs) -> anyhow::Result<()> {
    let opts = super::load_options(&a.data)?;
    let path = a.data.path()?;
    let ts = lstmcast::data::describe(path, &opts)?;
    print!("{}", ts.summary());
    let mut cmd = format!("lstmcast train --data {}", path.display());
    if let Some(id) = &ts.id_name {
        cmd.push_str(&format!(" --id-col {id}"));
    }
    if !opts.ignore.is_empty() {
        cmd.push_str(&format!(" --ignore {}", opts.ignore.join(",")));
    }
    let target = match ts.n_targets {
        0 => ts.names.first().cloned().unwrap_or_default(),
        _ => ts.target_names().join(","),
    };
    cmd.push_str(&format!(" --target {target}"));
    if let Some(f) = ts.frequency() {
        cmd.push_str(&format!(" --horizon {}", f.default_season()));
    }
    cmd.push_str(" --out runs/NAME");
    println!("suggested: {cmd}");
    if ts.n_targets == 0 {
        println!("  (pick the column to forecast with --target; every other numeric column is an input unless --features says otherwise)");
    }
    Ok(())
}
