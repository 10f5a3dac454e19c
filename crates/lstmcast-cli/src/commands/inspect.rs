//! `lstmcast inspect --data FILE`: every column with its role, the series, their lengths and
//! spans, the frequency and filled cells, and a suggested command line. Never needs --target.

use crate::cli::InspectArgs;

pub fn run(a: InspectArgs) -> anyhow::Result<()> {
    let mut opts = super::load_options(&a.data)?;
    let path = a.data.path()?;
    // Missing cells are counted, not refused: inspect is where one finds them.
    let counting = opts.fill == lstmcast::Fill::None;
    if counting {
        opts.fill = lstmcast::Fill::Forward;
    }
    let ts = lstmcast::data::describe(path, &opts)?;
    if a.output.json {
        println!("{}", serde_json::to_string_pretty(&ts.describe())?);
        return Ok(());
    }
    if a.output.quiet {
        return Ok(());
    }
    let mut summary = ts.summary();
    for c in &opts.ignore {
        summary.push_str(&format!("{c:<20} {:>8}\n", "ignored"));
    }
    print!(
        "{}",
        if counting {
            summary.replacen(" filled\n", "missing\n", 1)
        } else {
            summary
        }
    );
    let missing: usize = ts.filled.iter().sum();
    if counting && missing > 0 {
        println!("  ({missing} missing cell(s): training needs --fill linear, forward or zero)");
    }
    if ts.frequency().is_none() && ts.n_series() > 0 && ts.time_name != "row" {
        println!("  (irregular timestamps: training needs --fill-gaps linear, forward or zero, or --freq)");
    }
    if ts.time_name == "row" {
        println!("  (no time column: the rows are numbered; name one with --time-col if a column holds the times)");
    }
    let mut cmd = format!("lstmcast train --data {}", path.display());
    if let Some(id) = &ts.id_name {
        cmd.push_str(&format!(" --id-col {id}"));
    }
    if counting && missing > 0 {
        cmd.push_str(" --fill linear");
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
