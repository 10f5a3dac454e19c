//! The error catalogue (issue 5): every bad input in `docs/errors.md` is run here through the
//! binary. Each must exit with its documented code (1, or 2 for usage errors), print a message
//! that names the problem and where it is, never panic, and leave input files untouched. The
//! test also checks that `docs/errors.md` shows each message exactly as printed; after changing
//! a message, regenerate the page with `LSTMCAST_BLESS=1 cargo test --profile test-release -p
//! lstmcast-cli --test errors`.

use std::path::{Path, PathBuf};
use std::process::Command;

struct Case {
    area: &'static str,
    what: &'static str,
    args: Vec<String>,
    code: i32,
    needles: Vec<&'static str>,
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Writes `name` in `dir` with `contents` and returns its path as a string.
fn file(dir: &Path, name: &str, contents: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, contents).unwrap();
    p.to_str().unwrap().to_string()
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// A small trained run folder to damage in various ways.
fn trained(dir: &Path, name: &str) -> String {
    let out = dir.join(name);
    let o = Command::new(env!("CARGO_BIN_EXE_lstmcast"))
        .args([
            "train",
            "--data",
            "data/nottem.csv",
            "--out",
            out.to_str().unwrap(),
            "--epochs",
            "2",
            "--layers",
            "4",
            "--lookback",
            "12",
            "--normalize",
            "global",
            "--quiet",
        ])
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out.to_str().unwrap().to_string()
}

/// `YYYY-MM-DD` of day `d` (1-based, may exceed the month) counted from `y-m-01`, for
/// January to March of a non-leap year.
fn chrono_like(y: i32, m: u32, d: u32) -> String {
    let lens = [31, 28, 31];
    let (mut m, mut d) = (m, d);
    while d > lens[(m - 1) as usize] {
        d -= lens[(m - 1) as usize];
        m += 1;
    }
    format!("{y}-{m:02}-{d:02}")
}

/// A run folder of a tiny, fast model trained with `train_args` (data and column flags).
fn trained_with(dir: &Path, name: &str, train_args: &[&str]) -> String {
    let out = dir.join(name);
    let o = Command::new(env!("CARGO_BIN_EXE_lstmcast"))
        .arg("train")
        .args(train_args)
        .args([
            "--out",
            out.to_str().unwrap(),
            "--epochs",
            "1",
            "--layers",
            "4",
            "--lookback",
            "4",
            "--horizon",
            "2",
            "--normalize",
            "global",
            "--intervals",
            "none",
            "--quiet",
        ])
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out.to_str().unwrap().to_string()
}

/// Whether series `s` (0-based) runs a promotion on day `k` (0-based).
fn promo(s: usize, k: usize) -> u32 {
    ((k + 3 * s) % 7 >= 5) as u32
}

/// A daily panel `id,date,y,promo` of series `a` and `b`, 40 rows each from 2021-01-01, then
/// `future` rows per series with an empty `y` (the promotions of the steps to forecast).
fn promo_panel(future: usize) -> String {
    let mut t = String::from("id,date,y,promo\n");
    for (s, id) in ["a", "b"].into_iter().enumerate() {
        for k in 0..40 + future {
            let p = promo(s, k);
            let y = if k < 40 {
                (10 + 2 * s + k * 5 % 9 + 3 * p as usize).to_string()
            } else {
                String::new()
            };
            t.push_str(&format!(
                "{id},{},{y},{p}\n",
                chrono_like(2021, 1, 1 + k as u32)
            ));
        }
    }
    t
}

/// A `--future` file `id,date,promo` for the 2 days after [`promo_panel`]'s history: `days`
/// of them for each series named.
fn promo_future(series: &[(&str, usize)]) -> String {
    let mut t = String::from("id,date,promo\n");
    for &(id, days) in series {
        let s = if id == "b" { 1 } else { 0 };
        for k in 40..40 + days {
            t.push_str(&format!(
                "{id},{},{}\n",
                chrono_like(2021, 1, 1 + k as u32),
                promo(s, k)
            ));
        }
    }
    t
}

fn catalogue(t: &Path) -> Vec<Case> {
    let n = "data/nottem.csv";
    let out = t.join("out");
    let o = out.to_str().unwrap().to_string();
    let train = |data: &str, extra: &[&str]| {
        let mut v = args(&["train", "--data", data, "--out", &o, "--quiet"]);
        v.extend(args(extra));
        v
    };
    let csv = |name: &str, text: &str| file(t, name, text.as_bytes());
    let mut c = Vec::new();
    let mut add = |area, what, args, code, needles: &[&'static str]| {
        c.push(Case {
            area,
            what,
            args,
            code,
            needles: needles.to_vec(),
        })
    };
    // CSV files.
    add(
        "csv",
        "file does not exist",
        train("no/such.csv", &[]),
        1,
        &["no/such.csv", "No such file"],
    );
    add(
        "csv",
        "empty file",
        train(&csv("empty.csv", ""), &[]),
        1,
        &["empty.csv", "empty"],
    );
    add(
        "csv",
        "header only",
        train(&csv("header.csv", "date,y\n"), &[]),
        1,
        &["header.csv", "no data rows"],
    );
    add(
        "csv",
        "not UTF-8",
        train(
            &file(t, "latin1.csv", b"date,y\n2020-01-01,1\n2020-01-02,\xe9\n"),
            &[],
        ),
        1,
        &["latin1.csv:3", "UTF-8"],
    );
    add(
        "csv",
        "row with too many cells",
        train(
            &csv("ragged.csv", "date,y\n2020-01-01,1\n2020-01-02,2,3\n"),
            &[],
        ),
        1,
        &["ragged.csv:3", "3 fields"],
    );
    add(
        "csv",
        "non-numeric cell",
        train(
            &csv("text.csv", "date,y\n2020-01-01,1\n2020-01-02,abc\n"),
            &[],
        ),
        1,
        &["text.csv:3", "column 'y'", "'abc'"],
    );
    add(
        "csv",
        "missing value without --fill",
        train(
            &csv(
                "gap.csv",
                "date,y\n2020-01-01,1\n2020-01-02,\n2020-01-03,3\n",
            ),
            &[],
        ),
        1,
        &["gap.csv:3", "column 'y'", "--fill"],
    );
    add(
        "csv",
        "infinite value",
        train(
            &csv("inf.csv", "date,y\n2020-01-01,1\n2020-01-02,inf\n"),
            &[],
        ),
        1,
        &["inf.csv:3", "column 'y'", "inf"],
    );
    add(
        "csv",
        "duplicate timestamp",
        train(&csv("dup.csv", "date,y\n2020-01-01,1\n2020-01-01,2\n"), &[]),
        1,
        &["dup.csv:3", "duplicate", "line 2"],
    );
    add(
        "csv",
        "long-format file read without --id-col (a text column)",
        train(
            &csv(
                "long.csv",
                "unique_id,ds,y\nA,2020-01-01,1\nA,2020-01-02,2\nB,2020-01-01,3\n",
            ),
            &[],
        ),
        1,
        &[
            "long.csv:2",
            "'unique_id'",
            "--id-col unique_id",
            "--ignore unique_id",
        ],
    );
    add(
        "csv",
        "a series repeats a timestamp",
        train(
            &csv(
                "pdup.csv",
                "id,date,y\na,2020-01-01,1\nb,2020-01-01,2\na,2020-01-01,3\n",
            ),
            &["--id-col", "id"],
        ),
        1,
        &["pdup.csv:4", "series 'a'", "line 2"],
    );
    add(
        "csv",
        "a row without a series id",
        train(
            &csv("noid.csv", "id,date,y\na,2020-01-01,1\n,2020-01-02,2\n"),
            &["--id-col", "id"],
        ),
        1,
        &["noid.csv:3", "column 'id'", "series id is missing"],
    );
    add(
        "csv",
        "unknown id column",
        train(n, &["--id-col", "city"]),
        1,
        &["'city'", "date, temp_f"],
    );
    add(
        "csv",
        "dates that could be day-first or month-first",
        train(&csv("us.csv", "date,y\n01/02/2020,1\n03/04/2020,2\n"), &[]),
        1,
        &["us.csv:2", "'01/02/2020'", "--time-format"],
    );
    add(
        "csv",
        "every series too short for the test part",
        train(
            &csv("shortp.csv", &{
                let mut t = String::from("id,t,y\n");
                for id in ["a", "b"] {
                    for k in 0..14 {
                        t.push_str(&format!("{id},{k},{}\n", k * k));
                    }
                }
                t
            }),
            &[
                "--id-col",
                "id",
                "--lookback",
                "2",
                "--horizon",
                "4",
                "--split-last",
                "4,3",
            ],
        ),
        1,
        &[
            "test split of every one of the 2 series",
            "needs at least 4 rows, got 3",
        ],
    );
    add(
        "csv",
        "unreadable timestamp",
        train(
            &csv("when.csv", "date,y\n2020-01-01,1\n2020-13-45,2\n"),
            &[],
        ),
        1,
        &["when.csv:3", "2020-13-45"],
    );
    add(
        "csv",
        "irregular timestamps (business days with a missing day)",
        train(
            &csv("gapb.csv", &{
                let mut t = String::from("date,y\n");
                // Mon 2021-01-04 .. 12 weeks of weekdays, without Wednesday 2021-01-13.
                for week in 0..12 {
                    for wd in 0..5 {
                        let d = chrono_like(2021, 1, 4 + week * 7 + wd);
                        if d != "2021-01-13" {
                            t.push_str(&format!("{d},{}\n", (week * 5 + wd) % 7));
                        }
                    }
                }
                t
            }),
            &["--lookback", "5"],
        ),
        1,
        &[
            "gapb.csv",
            "irregular",
            "mostly business days",
            "2021-01-12 → 2021-01-14",
            "--fill-gaps",
        ],
    );
    add(
        "csv",
        "unknown target column",
        train(n, &["--target", "nope"]),
        1,
        &["'nope'", "temp_f"],
    );
    add(
        "csv",
        "unknown feature column",
        train(n, &["--features", "humidity"]),
        1,
        &["'humidity'", "temp_f"],
    );
    add(
        "csv",
        "several numeric columns, no --target",
        train("data/economics.csv", &[]),
        1,
        &["--target", "pce, pop"],
    );
    add(
        "csv",
        "unknown --fill method",
        train(n, &["--fill", "mean"]),
        1,
        &["fill", "'mean'", "linear, forward"],
    );
    add(
        "csv",
        "series too short for the lookback",
        train(n, &["--lookback", "500"]),
        1,
        &["not enough data", "train split", "lookback 500"],
    );
    let huge: String = (0..200)
        .map(|i| format!("{i},{}e39\n", 1 + i % 7))
        .collect();
    add(
        "csv",
        "values beyond the engine's f32 range",
        train(
            &csv("huge.csv", &format!("t,y\n{huge}")),
            &["--scaler", "none", "--lookback", "8"],
        ),
        1,
        &["column 'y'", "f32 range", "--scaler"],
    );
    let big: String = (0..200)
        .map(|i| format!("{i},{}e19\n", 3 + i % 5))
        .collect();
    add(
        "csv",
        "values whose squared error overflows (no scaling)",
        train(
            &csv("big.csv", &format!("t,y\n{big}")),
            &[
                "--scaler",
                "none",
                "--normalize",
                "global",
                "--lookback",
                "8",
            ],
        ),
        1,
        &[
            "diverged at epoch 1, batch 1",
            "--learning-rate",
            "--clip-norm",
        ],
    );
    add(
        "csv",
        "series only just longer than lookback + horizon",
        train(
            &csv("short.csv", "t,y\n1,1\n2,2\n3,3\n4,4\n5,5\n6,6\n7,7\n"),
            &["--lookback", "4"],
        ),
        1,
        &["not enough data", "train split", "lookback 4"],
    );
    add(
        "csv",
        "series too short for the horizon",
        train(n, &["--horizon", "40"]),
        1,
        &["validation split", "horizon 40"],
    );
    // Configuration files.
    add(
        "config",
        "file does not exist",
        train(n, &["--config", "no/such.toml"]),
        1,
        &["no/such.toml"],
    );
    add(
        "config",
        "TOML syntax error",
        train(
            n,
            &[
                "--config",
                &csv("syntax.toml", "lookback = 12\nhorizon = \n"),
            ],
        ),
        1,
        &["syntax.toml", "line 2"],
    );
    add(
        "config",
        "unknown key",
        train(
            n,
            &[
                "--config",
                &csv("typo.toml", "lookback = 12\nlookbak = 3\n"),
            ],
        ),
        1,
        &["typo.toml", "line 2", "lookbak"],
    );
    add(
        "config",
        "wrong type",
        train(
            n,
            &[
                "--config",
                &csv("type.toml", "[training]\nepochs = \"many\"\n"),
            ],
        ),
        1,
        &["type.toml", "line 2", "epochs"],
    );
    add(
        "config",
        "out-of-range value in the file",
        train(
            n,
            &["--config", &csv("range.toml", "[model]\ndropout = 1.5\n")],
        ),
        1,
        &["dropout", "1.5"],
    );
    add(
        "config",
        "bad [tune] section",
        args(&[
            "tune",
            "--data",
            n,
            "--out",
            &o,
            "--config",
            &csv("tune.toml", "[tune]\neta = 1\n"),
        ]),
        1,
        &["tune.eta", "at least 2"],
    );
    // Flags with invalid values.
    add(
        "flags",
        "split fractions that do not sum to 1",
        train(n, &["--split", "0.5,0.2,0.1"]),
        1,
        &["split", "sum"],
    );
    add(
        "flags",
        "split that is not three numbers",
        train(n, &["--split", "0.7,0.3"]),
        1,
        &["split", "train,val,test"],
    );
    add(
        "flags",
        "split-at boundaries out of order",
        train(n, &["--split-at", "1937-01-01,1930-01-01"]),
        1,
        &["split-at", "before"],
    );
    add(
        "flags",
        "split-at outside the data",
        train(n, &["--split-at", "1950-01-01,1951-01-01"]),
        1,
        &["split-at", "no test rows", "1920-01-01 .. 1939-12-01"],
    );
    add(
        "flags",
        "split-last that is not two row counts",
        train(n, &["--split-last", "12"]),
        1,
        &["split-last", "VAL_ROWS,TEST_ROWS"],
    );
    add(
        "flags",
        "split-last longer than the data",
        train(n, &["--split-last", "200,100"]),
        1,
        &["split-last", "240 rows"],
    );
    add(
        "flags",
        "unknown scaler scope",
        train(n, &["--scaler-scope", "city"]),
        1,
        &["scaler-scope", "series, global"],
    );
    add(
        "flags",
        "unknown sampling",
        train(n, &["--sampling", "balanced"]),
        1,
        &["sampling", "windows, per-series"],
    );
    add(
        "flags",
        "unknown frequency",
        train(n, &["--freq", "fortnightly"]),
        1,
        &["freq", "'fortnightly'", "B (business days)"],
    );
    add(
        "flags",
        "unknown gap fill",
        train(n, &["--fill-gaps", "spline"]),
        1,
        &["fill-gaps", "'spline'", "linear, forward, zero"],
    );
    add(
        "flags",
        "unknown target transform",
        train(n, &["--transform", "sqrt"]),
        1,
        &["transform", "'sqrt'", "boxcox:LAMBDA"],
    );
    add(
        "flags",
        "log transform of a target with zeros",
        train(
            &csv("zeros.csv", &{
                let mut t = String::from("date,y\n");
                for k in 0..60 {
                    t.push_str(&format!("{},{}\n", chrono_like(2021, 1, 1 + k), k % 3));
                }
                t
            }),
            &["--transform", "log", "--lookback", "4"],
        ),
        1,
        &[
            "column 'y'",
            "0 at 2021-01-01",
            "not positive",
            "--transform none",
        ],
    );
    add(
        "flags",
        "zero lookback",
        train(n, &["--lookback", "0"]),
        1,
        &["lookback", "between 1"],
    );
    add(
        "flags",
        "dropout out of range",
        train(n, &["--dropout", "1.5"]),
        1,
        &["dropout", "1.5"],
    );
    add(
        "flags",
        "negative learning rate",
        train(n, &["--learning-rate=-1"]),
        1,
        &["learning_rate", "> 0"],
    );
    add(
        "flags",
        "unknown scaler",
        train(n, &["--scaler", "robust"]),
        1,
        &["scaler", "'robust'", "standard, minmax"],
    );
    add(
        "flags",
        "empty min-max range",
        train(n, &["--scaler", "minmax:1:0"]),
        1,
        &["scaler", "lo < hi"],
    );
    add(
        "flags",
        "unknown strategy",
        train(n, &["--strategy", "both"]),
        1,
        &["strategy", "'both'"],
    );
    add(
        "flags",
        "unknown refit",
        train(n, &["--refit", "sometimes"]),
        1,
        &["refit", "'sometimes'", "none, val, all"],
    );
    add(
        "flags",
        "unknown normalisation",
        train(n, &["--normalize", "levels"]),
        1,
        &["normalize", "'levels'"],
    );
    add(
        "flags",
        "interval level outside (0, 100)",
        train(n, &["--intervals", "80,100"]),
        1,
        &["intervals", "100", "strictly between 0 and 100"],
    );
    add(
        "flags",
        "interval level that is not a number",
        train(n, &["--intervals", "80,high"]),
        1,
        &["intervals", "'high'", "80,95"],
    );
    add(
        "flags",
        "interval level given twice",
        train(n, &["--intervals", "80,80"]),
        1,
        &["intervals", "twice"],
    );
    add(
        "flags",
        "adaptive intervals' rate outside [0, 1]",
        train(n, &["--intervals-rate", "2"]),
        1,
        &["intervals_rate", "between 0 and 1"],
    );
    add(
        "flags",
        "quantiles not increasing",
        train(n, &["--loss", "quantile", "--quantiles", "0.9,0.1"]),
        1,
        &["quantiles", "strictly increasing"],
    );
    add(
        "flags",
        "a quantile outside (0, 1)",
        train(n, &["--loss", "quantile", "--quantiles", "0.5,1.5"]),
        1,
        &["quantiles", "1.5", "strictly between 0 and 1"],
    );
    add(
        "flags",
        "quantiles without the median",
        train(n, &["--loss", "quantile", "--quantiles", "0.1,0.9"]),
        1,
        &["quantiles", "0.5", "point forecast"],
    );
    add(
        "flags",
        "quantile loss without quantiles",
        train(n, &["--loss", "quantile"]),
        1,
        &["--quantiles", "0.1,0.5,0.9"],
    );
    add(
        "flags",
        "unknown loss",
        train(n, &["--loss", "huber"]),
        1,
        &["loss", "'huber'", "mse, mae"],
    );
    add(
        "flags",
        "ES normalisation with the recursive strategy",
        train(n, &["--normalize", "es", "--strategy", "recursive"]),
        1,
        &["'es'", "--strategy direct"],
    );
    add(
        "flags",
        "recursive strategy with non-target inputs",
        train(
            "data/economics.csv",
            &["--target", "unemploy", "--strategy", "recursive"],
        ),
        1,
        &["recursive", "pce"],
    );
    add(
        "flags",
        "unknown backtest refit",
        args(&[
            "backtest",
            "--data",
            n,
            "--out",
            &o,
            "--folds",
            "3",
            "--refit",
            "sometimes",
        ]),
        1,
        &["refit", "'sometimes'"],
    );
    add(
        "flags",
        "more backtest folds than the test split holds",
        args(&[
            "backtest",
            "--data",
            n,
            "--out",
            &o,
            "--folds",
            "40",
            "--horizon",
            "3",
        ]),
        1,
        &["folds", "fewer than the horizon"],
    );
    add(
        "flags",
        "malformed tune layer list",
        args(&["tune", "--data", n, "--out", &o, "--search-layers", "32,x"]),
        1,
        &["search-layers", "'x'", "64-32"],
    );
    add(
        "flags",
        "tune --select msis without quantile bands",
        args(&["tune", "--data", n, "--out", &o, "--select", "msis"]),
        1,
        &["select", "--loss quantile"],
    );
    add(
        "flags",
        "--series on data without an id column",
        args(&[
            "forecast",
            "--model",
            &trained(t, "ms"),
            "--data",
            n,
            "--series",
            "Auckland",
        ]),
        1,
        &["series", "no id column", "--id-col"],
    );
    // A Parquet file the decoder panics on (found by mutating the corpus; kept as a fuzz
    // regression input): an error naming the file and the column, and no panic text.
    add(
        "csv",
        "a corrupt Parquet file the decoder panics on",
        train("fuzz/corpus/parquet/regression-decoder-panic.parquet", &[]),
        1,
        &[
            "regression-decoder-panic.parquet",
            "corrupt Parquet file",
            "column 'u64'",
        ],
    );
    // A folder another process writes: this test holds its lock for as long as it runs.
    let busy = t.join("busy");
    std::mem::forget(lstmcast::store::RunLock::acquire(&busy).unwrap());
    add(
        "flags",
        "a run folder another lstmcast process is writing (even with --force)",
        args(&[
            "train",
            "--data",
            n,
            "--out",
            busy.to_str().unwrap(),
            "--force",
            "--quiet",
        ]),
        1,
        &["in use by another lstmcast run", "pid", "started"],
    );
    add(
        "flags",
        "report of a training run without its data",
        args(&["report", &trained(t, "rp")]),
        1,
        &["data", "--data", "trained on"],
    );
    add(
        "flags",
        "old ';' syntax in a tune list",
        args(&["tune", "--data", n, "--out", &o, "--search-layers", "32;64"]),
        1,
        &["search-layers", "';'", "32,64,64-32"],
    );
    add(
        "flags",
        "forecast on data of another frequency",
        args(&[
            "forecast",
            "--model",
            &trained(t, "mfreq"),
            "--data",
            &csv("daily.csv", &{
                let mut t = String::from("date,temp_f\n");
                for k in 0..40 {
                    t.push_str(&format!("{},{}\n", chrono_like(2021, 1, 1 + k), 40 + k % 7));
                }
                t
            }),
        ]),
        1,
        &["daily.csv", "is daily", "trained on monthly data"],
    );
    add(
        "flags",
        "zero forecast horizon",
        args(&[
            "forecast",
            "--model",
            &trained(t, "m0"),
            "--data",
            n,
            "--horizon",
            "0",
        ]),
        1,
        &["horizon", "at least 1"],
    );
    // Usage errors (exit 2).
    add(
        "usage",
        "unknown flag",
        args(&["train", "--data", n, "--out", &o, "--lookbak", "3"]),
        2,
        &["--lookbak"],
    );
    add(
        "usage",
        "missing --data",
        args(&["train", "--out", &o]),
        2,
        &["--data"],
    );
    add(
        "usage",
        "number flag given text",
        args(&["train", "--data", n, "--out", &o, "--lookback", "abc"]),
        2,
        &["--lookback", "abc"],
    );
    add(
        "usage",
        "demo example out of range",
        args(&["demo", "--example", "4"]),
        2,
        &["--example", "4"],
    );
    add(
        "usage",
        "--resume with other options",
        args(&["train", "--resume", &o, "--lookback", "3"]),
        2,
        &["--resume", "drop the other options"],
    );
    // Output folders.
    let foreign = t.join("mine");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "keep me").unwrap();
    let f = foreign.to_str().unwrap().to_string();
    add(
        "output",
        "--out is a non-empty folder",
        args(&["train", "--data", n, "--out", &f]),
        1,
        &["not empty", "--force"],
    );
    add(
        "output",
        "--force on a folder lstmcast did not write",
        args(&["train", "--data", n, "--out", &f, "--force"]),
        1,
        &["not an lstmcast run folder", "refusing"],
    );
    let own = t.join("own");
    std::fs::create_dir_all(&own).unwrap();
    let in_csv = own.join("in.csv");
    std::fs::copy(repo().join(n), &in_csv).unwrap();
    std::fs::write(own.join("lstmcast.json"), "{}").unwrap();
    add(
        "output",
        "--out would replace the input file's folder",
        args(&[
            "train",
            "--data",
            in_csv.to_str().unwrap(),
            "--out",
            own.to_str().unwrap(),
            "--force",
        ]),
        1,
        &["would overwrite the input file"],
    );
    let mixed = t.join("mixed");
    std::fs::create_dir_all(&mixed).unwrap();
    std::fs::write(mixed.join("lstmcast.json"), "{}").unwrap();
    std::fs::write(mixed.join("my-notes.txt"), "keep me").unwrap();
    add(
        "output",
        "--force on a run folder holding a file of the user's",
        args(&[
            "train",
            "--data",
            n,
            "--out",
            mixed.to_str().unwrap(),
            "--force",
        ]),
        1,
        &["my-notes.txt", "did not write"],
    );
    let file_out = file(t, "file-out", b"x");
    add(
        "output",
        "--out is a file",
        args(&["train", "--data", n, "--out", &file_out]),
        1,
        &["is a file"],
    );
    // Model folders.
    add(
        "model",
        "folder does not exist",
        args(&["evaluate", "--model", "no/such/run", "--data", n]),
        1,
        &["no/such/run", "not a folder"],
    );
    add(
        "model",
        "folder without the marker",
        args(&["evaluate", "--model", &f, "--data", n]),
        1,
        &["lstmcast.json", "is missing"],
    );
    let m = trained(t, "m1");
    let st = Path::new(&m).join("model.safetensors");
    let bytes = std::fs::read(&st).unwrap();
    std::fs::write(&st, &bytes[..bytes.len() / 2]).unwrap();
    add(
        "model",
        "truncated weights",
        args(&["evaluate", "--model", &m, "--data", n]),
        1,
        &["model.safetensors", "checksum"],
    );
    let m = trained(t, "m2");
    let st = Path::new(&m).join("model.safetensors");
    let mut bytes = std::fs::read(&st).unwrap();
    let k = bytes.len() - 10;
    bytes[k] ^= 0x40;
    std::fs::write(&st, &bytes).unwrap();
    add(
        "model",
        "one flipped bit in the weights",
        args(&["evaluate", "--model", &m, "--data", n]),
        1,
        &["model.safetensors", "checksum", "corrupted"],
    );
    let m = trained(t, "m3");
    let mj = Path::new(&m).join("model.json");
    let text = std::fs::read_to_string(&mj).unwrap();
    std::fs::write(
        &mj,
        text.replacen(
            "\"layers\": [\n      4\n    ]",
            "\"layers\": [\n      5\n    ]",
            1,
        ),
    )
    .unwrap();
    let ct = Path::new(&m).join("config.toml");
    let text = std::fs::read_to_string(&ct).unwrap();
    std::fs::write(&ct, text.replacen("layers = [4]", "layers = [5]", 1)).unwrap();
    add(
        "model",
        "weights that do not fit the recorded shape",
        args(&["evaluate", "--model", &m, "--data", n]),
        1,
        &["model.safetensors", "expected F32"],
    );
    let m = trained(t, "m3b");
    let ct = Path::new(&m).join("config.toml");
    let text = std::fs::read_to_string(&ct).unwrap();
    std::fs::write(&ct, text.replacen("horizon = 1", "horizon = 3", 1)).unwrap();
    add(
        "model",
        "config.toml that disagrees with the network",
        args(&["evaluate", "--model", &m, "--data", n]),
        1,
        &["config.toml", "does not match"],
    );
    let m = trained(t, "m4");
    std::fs::write(
        Path::new(&m).join("lstmcast.json"),
        "{\"format\": \"lstmcast-run\", \"format_version\": 99, \"lstmcast_version\": \"9.0.0\"}",
    )
    .unwrap();
    add(
        "model",
        "a newer format version",
        args(&["evaluate", "--model", &m, "--data", n]),
        1,
        &["format version 99", "retrain"],
    );
    let m = trained(t, "m5");
    std::fs::write(
        Path::new(&m).join("lstmcast.json"),
        "{\"format\": \"keras\"}",
    )
    .unwrap();
    add(
        "model",
        "a foreign marker",
        args(&["evaluate", "--model", &m, "--data", n]),
        1,
        &["lstmcast.json", "cannot be read"],
    );
    let m = trained(t, "m6");
    std::fs::write(Path::new(&m).join("scaler.json"), "{\"kind\": ").unwrap();
    add(
        "model",
        "truncated scaler.json",
        args(&["evaluate", "--model", &m, "--data", n]),
        1,
        &["scaler.json", "cannot be read"],
    );
    let m = trained(t, "m7");
    add(
        "model",
        "data with other columns than the model's",
        args(&[
            "evaluate",
            "--model",
            &m,
            "--data",
            "data/air_passengers.csv",
        ]),
        1,
        &["passengers", "temp_f"],
    );
    add(
        "model",
        "a tuning folder given as a model",
        {
            let tuned = t.join("tuned");
            std::fs::create_dir_all(&tuned).unwrap();
            std::fs::write(tuned.join("lstmcast.json"), "{\"format\": \"lstmcast-tune\", \"format_version\": 2, \"lstmcast_version\": \"0\"}").unwrap();
            args(&["evaluate", "--model", tuned.to_str().unwrap(), "--data", n])
        },
        1,
        &["lstmcast-tune", "best"],
    );
    // Checkpoints.
    add(
        "checkpoint",
        "--resume on a finished run",
        args(&["train", "--resume", &trained(t, "m8")]),
        1,
        &["checkpoint.safetensors", "nothing to resume"],
    );
    let ck_out = t.join("interrupted");
    std::fs::create_dir_all(&ck_out).unwrap();
    std::fs::write(ck_out.join("lstmcast.json"), "{}").unwrap();
    std::fs::write(ck_out.join("checkpoint.safetensors"), "x").unwrap();
    add(
        "checkpoint",
        "a new training into an interrupted one's folder",
        args(&["train", "--data", n, "--out", ck_out.to_str().unwrap()]),
        1,
        &["interrupted training", "--resume", "--force"],
    );
    add(
        "checkpoint",
        "--resume on a folder without a checkpoint",
        args(&["train", "--resume", &f]),
        1,
        &["checkpoint.safetensors", "is missing"],
    );
    let ck = t.join("ck");
    std::fs::create_dir_all(&ck).unwrap();
    std::fs::write(
        ck.join("checkpoint.safetensors"),
        b"\x08\x00\x00\x00\x00\x00\x00\x00{\"a\":",
    )
    .unwrap();
    add(
        "checkpoint",
        "--resume on a truncated checkpoint",
        args(&["train", "--resume", ck.to_str().unwrap()]),
        1,
        &["checkpoint.safetensors", "not a valid checkpoint"],
    );
    // Covariates: column roles, future-known values, statics and calendar features.
    add(
        "covariates",
        "one column given two roles (--future-known and --static)",
        train(
            "data/economics.csv",
            &[
                "--target",
                "unemploy",
                "--future-known",
                "pce",
                "--static",
                "pce",
            ],
        ),
        1,
        &[
            "'pce'",
            "two roles, future-known and static",
            "give each column one role",
        ],
    );
    add(
        "covariates",
        "the target also given as --future-known",
        train(n, &["--target", "temp_f", "--future-known", "temp_f"]),
        1,
        &["'temp_f'", "two roles, target and future-known"],
    );
    let all = csv("cov-all.csv", &promo_panel(2));
    let hist = csv("cov-hist.csv", &promo_panel(0));
    let promo_cols = ["--id-col", "id", "--target", "y", "--future-known", "promo"];
    let mp = trained_with(
        t,
        "mpromo",
        &[&["--data", all.as_str()][..], &promo_cols].concat(),
    );
    let forecast = |data: &str, extra: &[&str]| {
        let mut v = args(&["forecast", "--model", &mp, "--data", data]);
        v.extend(args(extra));
        v
    };
    add(
        "covariates",
        "forecast without the future-known values (no future rows, no --future)",
        forecast(&hist, &[]),
        1,
        &[
            "future-known columns (promo)",
            "2 step(s)",
            "--future FILE",
            "cov-hist.csv",
        ],
    );
    add(
        "covariates",
        "a --future file without one step of a series",
        forecast(
            &hist,
            &[
                "--future",
                &csv("cov-fut-short.csv", &promo_future(&[("a", 2), ("b", 1)])),
            ],
        ),
        1,
        &[
            "cov-fut-short.csv",
            "lacks future-known values (promo)",
            "series 'b'",
            "after its last row 2021-02-09: 2021-02-11",
        ],
    );
    add(
        "covariates",
        "a --future file with a series the data does not have",
        forecast(
            &hist,
            &[
                "--future",
                &csv(
                    "cov-fut-extra.csv",
                    &promo_future(&[("a", 2), ("b", 2), ("c", 2)]),
                ),
            ],
        ),
        1,
        &[
            "cov-fut-extra.csv",
            "series 'c'",
            "cov-hist.csv does not have",
        ],
    );
    add(
        "covariates",
        "future rows in the data and a --future file",
        forecast(
            &all,
            &[
                "--future",
                &csv("cov-fut.csv", &promo_future(&[("a", 2), ("b", 2)])),
            ],
        ),
        1,
        &["cov-all.csv", "already ends its series with future rows"],
    );
    add(
        "covariates",
        "a future row without its future-known value",
        train(
            &csv("cov-nopromo.csv", &{
                let mut s = promo_panel(2);
                s.truncate(s.len() - 2);
                s.push('\n');
                s
            }),
            &promo_cols,
        ),
        1,
        &[
            "cov-nopromo.csv:85",
            "column 'promo'",
            "series 'b'",
            "future-known value is missing",
        ],
    );
    add(
        "covariates",
        "a --static column that varies within a series",
        train(
            &csv("cov-size.csv", &{
                let mut t = String::from("id,date,y,size\n");
                for (id, a, b) in [("a", 3, 3), ("b", 5, 6)] {
                    for k in 0..40 {
                        let size = if k < 20 { a } else { b };
                        t.push_str(&format!(
                            "{id},{},{},{size}\n",
                            chrono_like(2021, 1, 1 + k),
                            k % 7
                        ));
                    }
                }
                t
            }),
            &["--id-col", "id", "--target", "y", "--static", "size"],
        ),
        1,
        &[
            "cov-size.csv",
            "column 'size'",
            "varies within series 'b'",
            "5 at 2021-01-01 and 6 at 2021-01-21",
        ],
    );
    add(
        "covariates",
        "a categorical --static column that changes within a series",
        train(
            &csv(
                "cov-region.csv",
                "id,date,y,region\na,2021-01-01,1,north\na,2021-01-02,2,south\n",
            ),
            &["--id-col", "id", "--target", "y", "--static", "region"],
        ),
        1,
        &[
            "cov-region.csv:3",
            "'south' differs from 'north'",
            "series 'a'",
        ],
    );
    let statics = csv("cov-static.csv", "id,region,area\na,north,10\nb,south,20\n");
    add(
        "covariates",
        "a --static-data file without one of the series",
        train(
            &hist,
            &[
                "--id-col",
                "id",
                "--target",
                "y",
                "--static-data",
                &csv("cov-static-a.csv", "id,region\na,north\n"),
            ],
        ),
        1,
        &["cov-static-a.csv", "no row for series 'b'", "cov-hist.csv"],
    );
    add(
        "covariates",
        "--static-data on a single series",
        train(n, &["--static-data", &statics]),
        1,
        &["static_data", "holds one series", "--id-col"],
    );
    let ms = trained_with(
        t,
        "mstatic",
        &[
            "--data",
            &hist,
            "--id-col",
            "id",
            "--target",
            "y",
            "--static-data",
            &statics,
        ],
    );
    add(
        "covariates",
        "forecast of a new series without its static values",
        args(&[
            "forecast",
            "--model",
            &ms,
            "--data",
            &csv("cov-new.csv", &promo_panel(0).replace("\nb,", "\nc,")),
        ]),
        1,
        &[
            "series 'c' was not in the training data",
            "region=north, region=south, area",
            "--static-data FILE",
        ],
    );
    add(
        "covariates",
        "a static category the model never saw",
        args(&[
            "forecast",
            "--model",
            &ms,
            "--data",
            &hist,
            "--static-data",
            &csv(
                "cov-static-east.csv",
                "id,region,area\na,east,10\nb,south,20\n",
            ),
        ]),
        1,
        &[
            "cov-static-east.csv",
            "column 'region'",
            "category 'east'",
            "it knows: north, south",
        ],
    );
    // A categorical static column of the data file itself (one-hot in the model).
    let with_region = |from: &str, to: &str| {
        promo_panel(0)
            .replace("id,date,y,promo", "id,date,y,promo,region")
            .lines()
            .map(|l| match l.split(',').next() {
                Some("id") => l.to_string(),
                Some("a") => format!("{l},{from}"),
                _ => format!("{l},{to}"),
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    };
    let mr = trained_with(
        t,
        "mregion",
        &[
            "--data",
            &csv("cov-regions.csv", &with_region("north", "south")),
            "--id-col",
            "id",
            "--target",
            "y",
            "--static",
            "region",
        ],
    );
    add(
        "covariates",
        "a category of a data-file static column the model never saw",
        args(&[
            "forecast",
            "--model",
            &mr,
            "--data",
            &csv("cov-regions-east.csv", &with_region("east", "south")),
        ]),
        1,
        &[
            "series 'a'",
            "category 'east' in column 'region'",
            "it knows: north, south",
        ],
    );
    add(
        "covariates",
        "unknown --calendar feature",
        train(n, &["--calendar", "weekly"]),
        1,
        &["calendar", "'weekly'", "hour, weekday, yearday, month"],
    );
    add(
        "covariates",
        "--calendar hour on an integer time index",
        train(
            &csv("cov-index.csv", &{
                let mut t = String::from("t,y\n");
                for k in 0..40 {
                    t.push_str(&format!("{k},{}\n", k % 5));
                }
                t
            }),
            &["--calendar", "hour", "--lookback", "4"],
        ),
        1,
        &["calendar", "integer index", "--calendar none"],
    );
    add(
        "device",
        "--device cuda in a build without a GPU backend",
        train(n, &["--device", "cuda"]),
        1,
        &[
            "device cuda:0 is not available",
            "no CUDA backend",
            "--device cpu",
        ],
    );
    add(
        "device",
        "forecast --device cuda:1 in a build without a GPU backend",
        args(&[
            "forecast", "--model", &mp, "--data", &hist, "--device", "cuda:1",
        ]),
        1,
        &["device cuda:1 is not available"],
    );
    add(
        "device",
        "unknown --device",
        train(n, &["--device", "gpu"]),
        1,
        &["device", "'gpu'", "cpu, cuda, cuda:N"],
    );
    c
}

/// Makes a message independent of where the test ran (and of which process holds a lock).
fn portable(msg: &str, tmp: &Path) -> String {
    let mut msg = msg
        .replace(tmp.to_str().unwrap(), "$TMP")
        .replace(repo().canonicalize().unwrap().to_str().unwrap(), ".");
    if let (Some(a), Some(b)) = (msg.find("(pid "), msg.find(" UTC)")) {
        if a < b {
            msg.replace_range(a..b + 5, "(pid PID, `COMMAND`, started TIME)");
        }
    }
    msg
}

#[test]
fn every_catalogued_bad_input_fails_cleanly_and_is_documented() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path().canonicalize().unwrap();
    let inputs_before: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(repo().join("data"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
        .collect();
    let cases = catalogue(&t);
    assert!(cases.len() >= 30, "the catalogue has {} cases", cases.len());
    let mut doc = String::from(
        "# Error catalogue\n\nEvery row is a test (`crates/lstmcast-cli/tests/errors.rs`): the command exits with the code\nshown, prints the message shown (`$TMP` is the test's temporary folder), never panics, and\nleaves its input files untouched. Usage errors exit with 2 and add a hint to `--help`; all\nothers exit with 1; an interrupted training exits with 130 (see [Troubleshooting](troubleshooting.md)).\n",
    );
    let mut area = "";
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let o = Command::new(env!("CARGO_BIN_EXE_lstmcast"))
            .args(&case.args)
            .current_dir(repo())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        let first = err
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .to_string();
        if o.status.code() != Some(case.code) {
            failures.push(format!(
                "{}: exit {:?}, want {}: {err}",
                case.what,
                o.status.code(),
                case.code
            ));
        }
        if err.contains("panicked") || err.contains("RUST_BACKTRACE") {
            failures.push(format!("{}: panicked: {err}", case.what));
        }
        for n in &case.needles {
            if !err.contains(n) {
                failures.push(format!("{}: '{n}' not in: {err}", case.what));
            }
        }
        if case.area != area {
            area = case.area;
            doc.push_str(&format!("\n## {area}\n\n| # | bad input | command | exit | message |\n| --- | --- | --- | --- | --- |\n"));
        }
        let cmd = portable(&format!("lstmcast {}", case.args.join(" ")), &t);
        doc.push_str(&format!(
            "| {} | {} | `{}` | {} | `{}` |\n",
            i + 1,
            case.what,
            cmd.replace('|', "\\|"),
            case.code,
            portable(&first, &t).replace('|', "\\|").replace('`', "'")
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    for (p, bytes) in inputs_before {
        assert!(
            std::fs::read(&p).unwrap() == bytes,
            "{} changed",
            p.display()
        );
    }
    let path = repo().join("docs/errors.md");
    if std::env::var_os("LSTMCAST_BLESS").is_some() {
        std::fs::write(&path, &doc).unwrap();
    } else {
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == doc,
            "docs/errors.md is out of date; regenerate it with LSTMCAST_BLESS=1 (see the top of this file)"
        );
    }
}
