//! One function per subcommand.

mod backtest;
mod demo;
mod evaluate;
mod forecast;
mod html_report;
mod inspect;
mod report;
mod train;
mod tune;

use crate::cli::{Cli, Command, DataArgs, ModelArgs};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lstmcast::config::options::Value;
use lstmcast::config::Validated;
use lstmcast::ForecasterConfig;
use std::io::IsTerminal;

/// Runs the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Inspect(a) => inspect::run(a),
        Command::Demo(a) => demo::run(a),
        Command::Train(a) => train::run(*a),
        Command::Evaluate(a) => evaluate::run(a),
        Command::Forecast(a) => forecast::run(a),
        Command::Report(a) => html_report::run(a),
        Command::Tune(a) => tune::run(*a),
        Command::Backtest(a) => backtest::run(*a),
    }
}

/// The model's load options with `--fill` applied.
pub fn model_load_options(
    model: &lstmcast::TrainedForecaster,
    fill: Option<&str>,
) -> anyhow::Result<lstmcast::LoadOptions> {
    let mut opts = model.config.data.clone();
    // Statics come from the model's record unless a file is given again.
    opts.static_data = None;
    if fill.is_some() {
        opts.fill = load_options(&crate::cli::DataArgs {
            fill: fill.map(str::to_string),
            ..Default::default()
        })?
        .fill;
    }
    Ok(opts)
}

/// Load options from the data flags.
pub fn load_options(d: &crate::cli::DataArgs) -> anyhow::Result<lstmcast::LoadOptions> {
    Ok(lstmcast::LoadOptions {
        id_col: d.id_col.clone(),
        ignore: d.ignore.clone().unwrap_or_default(),
        time_col: d.time_col.clone(),
        time_format: d.time_format.clone(),
        target: d.target.clone().unwrap_or_default(),
        features: d.features.clone().unwrap_or_default(),
        past: d.past.clone().unwrap_or_default(),
        future_known: d.future_known.clone().unwrap_or_default(),
        statics: d.statics.clone().unwrap_or_default(),
        static_data: d.static_data.clone(),
        fill: fill("fill", d.fill.as_deref())?,
        freq: d.freq.clone(),
        fill_gaps: fill("fill-gaps", d.fill_gaps.as_deref())?,
    })
}

/// Loads a data file as `opts` say, with the static-data file joined: the history, and the
/// future rows at the end of its series (future-known values for forecasting), if any.
pub fn load_data(
    path: &std::path::Path,
    opts: &lstmcast::LoadOptions,
    specs: Option<&[lstmcast::covariates::StaticColumn]>,
) -> anyhow::Result<(lstmcast::Panel, Option<lstmcast::Panel>)> {
    let (mut panel, future) = lstmcast::data::load_with_future(path, opts)?;
    if let Some(file) = &opts.static_data {
        let table = lstmcast::covariates::StaticTable::load(file, opts.id_col.as_deref())?;
        panel = table.join(&panel, specs)?;
    }
    Ok((panel, future))
}

/// What `train`, `tune` and `backtest` say about the data's covariates: future rows set aside
/// (columns that look static but are not declared so are among the evaluation's warnings).
pub fn covariate_notes(future: Option<&lstmcast::Panel>) -> String {
    let mut s = String::new();
    if let Some(f) = future {
        s.push_str(&format!(
            "note: {} row(s) after the last target of their series hold only future-known values; they are not used for training (forecast reads them)\n",
            f.len()
        ));
    }
    s
}

/// A fill method by name (none when not given).
fn fill(flag: &str, name: Option<&str>) -> anyhow::Result<lstmcast::Fill> {
    Ok(name.map_or(Ok(lstmcast::Fill::None), |n| lstmcast::Fill::parse(n, flag))?)
}

/// Fails when `out` is, or would replace a folder containing, the input file `data`.
pub fn guard_input(data: &std::path::Path, out: &std::path::Path) -> anyhow::Result<()> {
    let (Ok(d), Ok(o)) = (std::fs::canonicalize(data), std::fs::canonicalize(out)) else {
        return Ok(());
    };
    if d == o || d.starts_with(&o) {
        anyhow::bail!("invalid configuration: out: {} would overwrite the input file {}; choose another output path", out.display(), data.display());
    }
    Ok(())
}

/// Writes an output file the user named: never the input file, an existing file only with
/// `force`, atomically.
pub fn write_output(
    data: &std::path::Path,
    path: &std::path::Path,
    force: bool,
    contents: &str,
) -> anyhow::Result<()> {
    guard_input(data, path)?;
    if path.exists() && !force {
        anyhow::bail!(
            "invalid configuration: out: {} already exists; choose another path or pass --force to replace it",
            path.display()
        );
    }
    write_file_atomically(path, contents)
}

/// Writes `contents` to `path` atomically (temporary file in the same folder, then rename).
pub fn write_file_atomically(path: &std::path::Path, contents: &str) -> anyhow::Result<()> {
    use anyhow::Context;
    use std::io::Write;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    // The file keeps the permissions of the one it replaces (a new one gets the usual 0644,
    // not the temporary file's 0600).
    let perms = std::fs::metadata(path).map(|m| m.permissions()).ok();
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    tmp.write_all(contents.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    let file = tmp
        .persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    match perms {
        Some(p) => file.set_permissions(p),
        None => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                file.set_permissions(std::fs::Permissions::from_mode(0o644))
            }
            #[cfg(not(unix))]
            {
                Ok(())
            }
        }
    }
    .with_context(|| format!("cannot set the permissions of {}", path.display()))?;
    Ok(())
}

/// The configuration: the file's (or the defaults), then every flag that was given.
pub fn resolve(d: &DataArgs, a: &ModelArgs, refit: Option<&str>) -> anyhow::Result<Validated> {
    let mut c = match &a.config {
        Some(p) => ForecasterConfig::from_toml_file(p)?,
        None => ForecasterConfig::default(),
    };
    let opts = load_options(d)?;
    if d.id_col.is_some() {
        c.data.id_col = opts.id_col;
    }
    if d.ignore.is_some() {
        c.data.ignore = opts.ignore;
    }
    if d.time_col.is_some() {
        c.data.time_col = opts.time_col;
    }
    if d.time_format.is_some() {
        c.data.time_format = opts.time_format;
    }
    if d.target.is_some() {
        c.data.target = opts.target;
    }
    if d.features.is_some() {
        c.data.features = opts.features;
    }
    if d.past.is_some() {
        c.data.past = opts.past;
    }
    if d.future_known.is_some() {
        c.data.future_known = opts.future_known;
    }
    if d.statics.is_some() {
        c.data.statics = opts.statics;
    }
    if d.static_data.is_some() {
        c.data.static_data = opts.static_data;
    }
    if d.fill.is_some() {
        c.data.fill = opts.fill;
    }
    if d.freq.is_some() {
        c.data.freq = opts.freq;
    }
    if d.fill_gaps.is_some() {
        c.data.fill_gaps = opts.fill_gaps;
    }
    // The model options, through the library's one option table (the same as Python's keyword
    // arguments), in this order.
    let text = |v: &Option<String>| v.clone().map(Value::Text);
    let whole = |v: Option<usize>| v.map(|v| Value::Whole(v as u64));
    let number = |v: Option<f64>| v.map(Value::Number);
    let given = [
        ("split", text(&a.split)),
        ("split_at", text(&a.split_at)),
        ("split_last", text(&a.split_last)),
        ("transform", text(&a.transform)),
        ("scaler_scope", text(&a.scaler_scope)),
        ("sampling", text(&a.sampling)),
        ("scaler", text(&a.scaler)),
        ("normalize", text(&a.normalize)),
        ("intervals", text(&a.intervals)),
        ("intervals_window", whole(a.intervals_window)),
        ("intervals_rate", number(a.intervals_rate)),
        ("per_series", text(&a.per_series)),
        ("combine", text(&a.combine)),
        ("quantiles", text(&a.quantiles)),
        ("loss", text(&a.loss)),
        ("strategy", text(&a.strategy)),
        ("lookback", whole(a.lookback)),
        ("horizon", whole(a.horizon)),
        ("layers", a.layers.clone().map(Value::Wholes)),
        ("dropout", number(a.dropout.map(f64::from))),
        (
            "recurrent_dropout",
            number(a.recurrent_dropout.map(f64::from)),
        ),
        ("ensemble", whole(a.ensemble)),
        ("epochs", whole(a.epochs)),
        ("batch_size", whole(a.batch_size)),
        ("learning_rate", number(a.learning_rate)),
        ("patience", whole(a.patience)),
        ("min_delta", number(a.min_delta)),
        ("warmup", whole(a.warmup)),
        ("reduce_lr_patience", whole(a.reduce_lr_patience)),
        ("reduce_lr_factor", number(a.reduce_lr_factor)),
        ("seed", a.seed.map(Value::Whole)),
        ("clip_norm", number(a.clip_norm)),
        ("season", whole(a.season)),
        ("device", text(&a.device)),
        ("calendar", text(&a.calendar)),
        ("refit", refit.map(|r| Value::Text(r.to_string()))),
    ];
    for (name, value) in given {
        if let Some(v) = value {
            c.set(name, v)?;
        }
    }
    Ok(c.validated()?)
}

/// A progress bar on stderr when it is a terminal and not `quiet`, else hidden.
pub fn progress_bar(len: u64, quiet: bool, template: &str) -> ProgressBar {
    let show = !quiet && std::io::stderr().is_terminal();
    let bar = ProgressBar::with_draw_target(
        Some(len),
        if show {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}
