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
    if !opts.future_known.is_empty() && ts.n_targets > 0 {
        if let Ok((_, Some(f))) = lstmcast::data::load_with_future(path, &opts) {
            println!(
                "  ({} row(s) at the ends of the series have no target: future rows holding the future-known values that forecast reads; not shown above)",
                f.len()
            );
        }
    }
    let constant = ts.undeclared_constants();
    if !constant.is_empty() {
        println!(
            "  ({} hold(s) one value within every series: declare it with --static if it describes the series)",
            constant.join(", ")
        );
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
    for (flag, list) in [
        ("--past", &opts.past),
        ("--future-known", &opts.future_known),
        ("--static", &opts.statics),
    ] {
        if !list.is_empty() {
            cmd.push_str(&format!(" {flag} {}", list.join(",")));
        }
    }
    if let Some(f) = &opts.static_data {
        cmd.push_str(&format!(" --static-data {}", f.display()));
    }
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
