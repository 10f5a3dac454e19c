//! `lstmcast backtest`: walk-forward folds → per-fold and aggregate tables, predictions, plot.

use super::{guard_input, report};
use super::{progress_bar, resolve};
use crate::cli::BacktestArgs;
use anyhow::Context;
use lstmcast::backtest::{backtest, BacktestOptions, Refit, TrainWindow};
use lstmcast::{plot, store};

pub fn run(a: BacktestArgs) -> anyhow::Result<()> {
    let cfg = resolve(&a.data, &a.model, None)?;
    let refit = a.refit.parse::<Refit>()?;
    let window = a.window.parse::<TrainWindow>()?;
    guard_input(a.data.path()?, &a.out)?;
    // One writer per folder, held until the folder is written.
    let _lock = store::RunLock::acquire(&a.out)?;
    let (ts, future) = super::load_data(a.data.path()?, &cfg.data, None)?;
    if a.output.text() {
        print!("{}", super::covariate_notes(future.as_ref()));
    }
    let opts = BacktestOptions {
        folds: a.folds,
        refit,
        window,
    };
    let bar = progress_bar(
        a.folds as u64,
        a.output.quiet,
        "{bar:30} folds started {pos}/{len} [{elapsed}]",
    );
    let jobs = match a.jobs {
        Some(0) => anyhow::bail!("invalid configuration: jobs: must be at least 1"),
        Some(j) => j,
        None => lstmcast::cores(),
    };
    let bt = backtest(&cfg, &ts, &opts, jobs, &|_, _| bar.inc(1), None);
    bar.finish_and_clear();
    let bt = bt.context("backtest failed")?;
    store::write_atomically(&a.out, a.force, |dir| {
        store::write_marker(dir, "lstmcast-backtest")?;
        for (name, text) in [
            (
                "backtest.csv",
                lstmcast::report::backtest_csv(&bt, ts.id_name.as_deref()),
            ),
            ("folds.csv", lstmcast::report::folds_csv(&bt)),
            ("metrics.json", lstmcast::report::backtest_json(&bt)),
            ("config.toml", cfg.to_toml()),
            (
                "report.html",
                lstmcast::report::html::backtest_report(&bt, &ts),
            ),
        ] {
            store::write(&dir.join(name), text)?;
        }
        {
            // Every target (of the panel's first series).
            let charts: Vec<plot::Chart> = (0..ts.n_targets)
                .map(|k| plot::backtest_chart(&ts, &bt, 0, k))
                .collect();
            plot::write_charts(dir, "backtest", &charts)
        }
    })?;
    if a.output.json {
        println!("{}", lstmcast::report::backtest_json(&bt));
        return Ok(());
    }
    if a.output.quiet {
        return Ok(());
    }
    println!(
        "walk-forward backtest: {} folds, refit {}, {} training window, horizon {}",
        bt.folds.len(),
        a.refit,
        a.window,
        cfg.horizon
    );
    println!("  fold  origin        train rows   windows  target          lstm MASE  naive MASE  snaive MASE  ets MASE");
    for (i, f) in bt.folds.iter().enumerate() {
        for (target, s) in &f.evaluation.overall {
            let m = |v: Option<f64>| v.map_or("n/a".into(), |x| format!("{x:.3}"));
            println!(
                "  {:>4}  {:<12} {:>11} {:>9}  {:<14} {:>10} {:>11} {:>12} {:>9}",
                i + 1,
                f.rows.origin,
                format!("{}..{}", f.rows.train.start, f.rows.train.end),
                f.evaluation.windows,
                target,
                m(s.model.mase),
                m(s.naive.mase),
                m(s.seasonal_naive.mase),
                m(s.ets.as_ref().and_then(|e| e.mase))
            );
        }
    }
    println!("\nall folds together:");
    print!("{}", report::table(&bt.aggregate, cfg.horizon));
    println!(
        "\nbacktest folder: {} (backtest.csv, folds.csv, metrics.json, backtest.png)",
        a.out.display()
    );
    Ok(())
}
