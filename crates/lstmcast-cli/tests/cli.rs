//! The binary in temporary folders: files written, tables and JSON printed, exit codes, and
//! error messages that name the problem (never a panic).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lstmcast"))
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data")
        .join(name)
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run lstmcast")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn fails_with(args: &[&str], code: i32, needles: &[&str]) {
    let o = run(args);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(code), "{args:?}: stderr {err}");
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: expected '{n}' in: {err}");
    }
}

/// `train --data CSV --out OUT` with a small, fast model and the given seed.
fn quick_train<'a>(csv: &'a Path, out: &'a Path, seed: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "--data",
        csv.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--epochs",
        "3",
        "--layers",
        "8",
        "--lookback",
        "12",
        "--seed",
        seed,
    ]
}

#[test]
fn help_lists_subcommands() {
    let (out, _) = text(&run(&["--help"]));
    for sub in [
        "train", "evaluate", "forecast", "demo", "inspect", "tune", "backtest",
    ] {
        assert!(out.contains(sub), "{out}");
    }
}

#[test]
fn train_writes_a_complete_run_folder_then_evaluate_and_forecast_use_it() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let csv = data("nottem.csv");
    // A network (not `auto`, which may keep a statistical model and train nothing).
    let mut args = quick_train(&csv, &out, "7");
    args.extend(["--normalize", "es"]);
    let o = run(&args);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    for needle in ["lstm", "naive", "seasonal_naive", "MASE", "target temp_f"] {
        assert!(stdout.contains(needle), "table lacks {needle}: {stdout}");
    }
    for f in [
        "lstmcast.json",
        "config.toml",
        "scaler.json",
        "model.json",
        "model.safetensors",
        "metrics.json",
        "history.csv",
        "predictions.csv",
        "forecast.csv",
        "loss.svg",
        "loss.png",
        "forecast.svg",
        "forecast.png",
    ] {
        assert!(out.join(f).is_file(), "missing {f}");
    }
    let history = std::fs::read_to_string(out.join("history.csv")).unwrap();
    assert!(history.starts_with("epoch,train_loss,val_loss,learning_rate\n"));
    assert_eq!(history.lines().count(), 4, "3 epochs + header");
    let preds = std::fs::read_to_string(out.join("predictions.csv")).unwrap();
    assert!(preds.starts_with(
        "origin,step,target,actual,predicted,naive,seasonal_naive,ets,theta,model,lo80,hi80,lo95,hi95\n"
    ));
    // nottem: 240 rows, test rows 192..240, horizon 1 → 48 windows.
    assert_eq!(preds.lines().count(), 49);
    assert!(
        preds
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("1936-01-01,1,temp_f,"),
        "{preds}"
    );
    // Rows past the test-split start are never leaked into the scaler: re-running evaluate on the
    // same data reproduces the saved predictions exactly.
    let again = tmp.path().join("again.csv");
    let o = run(&[
        "evaluate",
        "--model",
        out.to_str().unwrap(),
        "--data",
        csv.to_str().unwrap(),
        "--predictions",
        again.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    assert_eq!(std::fs::read_to_string(&again).unwrap(), preds);
    // JSON evaluation.
    let o = run(&[
        "evaluate",
        "--model",
        out.to_str().unwrap(),
        "--data",
        csv.to_str().unwrap(),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["windows"], 48);
    assert!(v["overall"]["temp_f"]["naive"]["mae"].as_f64().unwrap() > 0.0);
    // Forecast 3 steps (trained 1: rolls recursively, allowed since the only input is the target).
    let o = run(&[
        "forecast",
        "--model",
        out.to_str().unwrap(),
        "--data",
        csv.to_str().unwrap(),
        "--horizon",
        "3",
    ]);
    let (f, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert_eq!(
        f.lines().collect::<Vec<_>>()[..1],
        ["date,temp_f,temp_f_lo80,temp_f_hi80,temp_f_lo95,temp_f_hi95,model"]
    );
    // Intervals were calibrated for the trained step only: steps 2 and 3 (rolled) have none.
    let cells: Vec<Vec<&str>> = f.lines().skip(1).map(|l| l.split(',').collect()).collect();
    assert!(cells[0][2..4].iter().all(|c| !c.is_empty()), "{f}");
    assert!(
        cells[1..]
            .iter()
            .all(|r| r[2..6].iter().all(|c| c.is_empty()) && r[6] == "lstm"),
        "{f}"
    );
    let dates: Vec<&str> = f
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(dates, ["1940-01-01", "1940-02-01", "1940-03-01"]);
    // Reproducible from its own config.toml.
    let out2 = tmp.path().join("run2");
    let o = run(&[
        "train",
        "--data",
        csv.to_str().unwrap(),
        "--config",
        out.join("config.toml").to_str().unwrap(),
        "--out",
        out2.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    assert_eq!(
        std::fs::read(out.join("model.safetensors")).unwrap(),
        std::fs::read(out2.join("model.safetensors")).unwrap()
    );
}

#[test]
fn train_json_prints_metrics() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r");
    let csv = data("air_passengers.csv");
    let mut args = quick_train(&csv, &out, "1");
    args.extend(["--json", "--horizon", "3"]);
    let o = run(&args);
    assert!(o.status.success(), "{}", text(&o).1);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["test"]["per_step"]["passengers"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // The default normalisation is auto: the choice and every candidate's score (ETS and the
    // two networks around it, on the values and on their logs: the series is positive) are
    // printed and kept in the run folder.
    let norm = &v["normalize"];
    assert_eq!(norm["requested"], "auto");
    let cands = norm["candidates"].as_array().unwrap();
    let modes: Vec<String> = cands
        .iter()
        .map(|c| format!("{} {}", c["mode"].as_str().unwrap(), c["transform"]["kind"]))
        .collect();
    assert_eq!(
        modes,
        [
            "ets \"none\"",
            "es \"none\"",
            "ets-residual \"none\"",
            "theta \"none\"",
            "ets-theta \"none\"",
            "ets \"log\"",
            "es \"log\"",
            "ets-residual \"log\"",
            "theta \"log\"",
            "ets-theta \"log\""
        ]
    );
    let chosen = norm["chosen"].as_str().unwrap().to_string();
    // The networks ran their 3 epochs; plain ETS and Theta train none. The run reports the chosen one.
    for c in cands {
        let want = if c["mode"] == "ets" || c["mode"] == "theta" || c["mode"] == "ets-theta" {
            0
        } else {
            3
        };
        assert_eq!(c["epochs"], want, "{c}");
    }
    let chosen_epochs =
        cands.iter().find(|c| c["mode"] == chosen.as_str()).unwrap()["epochs"].clone();
    assert_eq!(v["training"]["epochs_run"], chosen_epochs);
    let model: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("model.json")).unwrap()).unwrap();
    assert_eq!(model["norm"]["mode"], chosen.as_str());
    assert_eq!(model["selection"]["candidates"], norm["candidates"]);
}

#[test]
fn normalize_flag_picks_one_mode_and_rejects_unknown_names() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r");
    let csv = data("air_passengers.csv");
    let mut args = quick_train(&csv, &out, "1");
    args.extend(["--normalize", "diff"]);
    let o = run(&args);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stdout.contains("normalize diff (validation MASE over"),
        "{stdout}"
    );
    let toml = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(toml.contains("normalize = \"diff\""), "{toml}");
    let mut args = quick_train(&csv, &out, "1");
    args.extend(["--normalize", "levels"]);
    fails_with(
        &args,
        1,
        &["normalize", "'levels'", "auto, global, window, diff"],
    );
}

#[test]
fn refit_all_keeps_the_model_of_every_row_and_forecast_uses_it() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r");
    let csv = data("air_passengers.csv");
    let mut args = quick_train(&csv, &out, "1");
    args.extend(["--normalize", "diff", "--refit", "all"]);
    let o = run(&args);
    assert!(o.status.success(), "{}", text(&o).1);
    assert!(out.join("latest").join("model.safetensors").is_file());
    let toml = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(toml.contains("refit = \"all\""), "{toml}");
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let rows: Vec<&str> = m["refit"]["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["rows"].as_str().unwrap())
        .collect();
    assert_eq!(rows, ["training", "training+validation", "every row"]);
    // `forecast` from the folder gives forecast.csv: the model of every row.
    let fc = tmp.path().join("fc.csv");
    let o = run(&[
        "forecast",
        "--model",
        out.to_str().unwrap(),
        "--data",
        csv.to_str().unwrap(),
        "--out",
        fc.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    assert_eq!(
        std::fs::read_to_string(&fc).unwrap(),
        std::fs::read_to_string(out.join("forecast.csv")).unwrap()
    );
    // A second --force run replaces the folder, latest/ included.
    let mut again = quick_train(&csv, &out, "1");
    again.extend(["--normalize", "diff", "--force"]);
    let o = run(&again);
    assert!(o.status.success(), "{}", text(&o).1);
    assert!(!out.join("latest").exists());
    let mut bad = quick_train(&csv, &out, "1");
    bad.extend(["--refit", "sometimes", "--force"]);
    fails_with(&bad, 1, &["refit", "'sometimes'", "none, val, all"]);
    fails_with(
        &["train", "--resume", out.to_str().unwrap(), "--refit", "val"],
        2,
        &["--resume continues with the checkpoint's own configuration"],
    );
}

#[test]
fn report_html_is_written_by_train_and_again_by_report() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r");
    let csv = data("air_passengers.csv");
    let mut args = quick_train(&csv, &out, "1");
    args.extend(["--normalize", "diff"]);
    let o = run(&args);
    assert!(o.status.success(), "{}", text(&o).1);
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    // One self-contained file: the run's data as JSON, uPlot and the page's script inline.
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("id=\"data\">") && page.contains("uPlot"));
    assert!(!page.contains("src=\"http") && !page.contains("href=\"http"));
    let json = page
        .split("id=\"data\">")
        .nth(1)
        .and_then(|t| t.split("</script>").next())
        .unwrap()
        .replace("<\\/", "</");
    let d: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(d["kind"], "train");
    assert_eq!(d["series"].as_array().unwrap().len(), 1);
    // The test's one-step predictions and the forecast (horizon 1) are in the chart data.
    assert_eq!(
        d["series"][0]["forecast"]["pred"].as_array().unwrap().len(),
        1
    );
    assert!(!d["series"][0]["step1"].as_array().unwrap().is_empty());
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(d["metrics"]["test"], m["test"]);
    assert!(d["verdict"].as_str().unwrap().starts_with("Test MASE"));
    // `lstmcast report RUN --data FILE` writes the same page again.
    std::fs::remove_file(out.join("report.html")).unwrap();
    let o = run(&[
        "report",
        out.to_str().unwrap(),
        "--data",
        csv.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    assert_eq!(
        std::fs::read_to_string(out.join("report.html")).unwrap(),
        page
    );
    fails_with(
        &["report", out.to_str().unwrap()],
        1,
        &["--data", "trained on"],
    );
    fails_with(
        &["report", tmp.path().to_str().unwrap()],
        1,
        &["lstmcast.json"],
    );
}

#[test]
fn existing_folders_are_protected() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = data("nottem.csv");
    let foreign = tmp.path().join("mine");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "keep me").unwrap();
    let mut args = quick_train(&csv, &foreign, "1");
    fails_with(&args, 1, &["not empty", "--force"]);
    args.push("--force");
    fails_with(&args, 1, &["not an lstmcast run folder"]);
    assert_eq!(
        std::fs::read_to_string(foreign.join("notes.txt")).unwrap(),
        "keep me"
    );
    // --out pointing at the folder that holds the input CSV is refused.
    let own = tmp.path().join("own");
    std::fs::create_dir(&own).unwrap();
    std::fs::copy(&csv, own.join("in.csv")).unwrap();
    std::fs::write(own.join("lstmcast.json"), "{}").unwrap();
    let in_csv = own.join("in.csv");
    let mut args = quick_train(&in_csv, &own, "1");
    args.push("--force");
    fails_with(&args, 1, &["would overwrite the input file"]);
    assert!(in_csv.is_file());
}

#[test]
fn bad_inputs_exit_1_with_located_messages() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("o");
    let o = out.to_str().unwrap();
    let bad = tmp.path().join("bad.csv");
    std::fs::write(&bad, "date,y\n2020-01-01,1\n2020-01-02,x\n").unwrap();
    fails_with(
        &["train", "--data", bad.to_str().unwrap(), "--out", o],
        1,
        &["bad.csv:3", "column 'y'", "'x'"],
    );
    fails_with(
        &["train", "--data", "/no/such.csv", "--out", o],
        1,
        &["/no/such.csv"],
    );
    let csv = data("economics.csv");
    fails_with(
        &["train", "--data", csv.to_str().unwrap(), "--out", o],
        1,
        &["--target", "pce, pop"],
    );
    fails_with(
        &[
            "train",
            "--data",
            csv.to_str().unwrap(),
            "--out",
            o,
            "--target",
            "nope",
        ],
        1,
        &["'nope'", "available"],
    );
    let n = data("nottem.csv");
    let n = n.to_str().unwrap();
    fails_with(
        &["train", "--data", n, "--out", o, "--split", "0.5,0.2"],
        1,
        &["split"],
    );
    fails_with(
        &["train", "--data", n, "--out", o, "--lookback", "500"],
        1,
        &["not enough data", "train split"],
    );
    fails_with(
        &["train", "--data", n, "--out", o, "--learning-rate=-1"],
        1,
        &["learning_rate"],
    );
    fails_with(
        &["train", "--data", n, "--out", o, "--strategy", "sideways"],
        1,
        &["strategy", "direct, recursive"],
    );
    let cfg = tmp.path().join("c.toml");
    std::fs::write(&cfg, "lookback = 12\n[training]\nepochz = 3\n").unwrap();
    fails_with(
        &[
            "train",
            "--data",
            n,
            "--out",
            o,
            "--config",
            cfg.to_str().unwrap(),
        ],
        1,
        &["c.toml", "line 3", "epochz"],
    );
    fails_with(
        &[
            "evaluate",
            "--model",
            tmp.path().to_str().unwrap(),
            "--data",
            n,
        ],
        1,
        &["lstmcast.json", "is missing"],
    );
    fails_with(&["train", "--data", n], 2, &["--out"]);
    fails_with(&["demo", "--example", "4"], 2, &["4"]);
}

#[test]
fn demo_json_has_the_documented_fields() {
    let o = run(&["demo", "--example", "1", "--epochs", "1", "--json"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for k in ["example", "test_mse", "train_s", "epochs", "params"] {
        assert!(!v[k].is_null(), "missing {k}");
    }
    assert_eq!(v["params"], 10451, "4·(50·(1+50)+50) + 51, as Keras counts");
    assert_eq!(v["windows"][0], 1583);
}

#[test]
fn inspect_summarises_a_bundled_csv() {
    let (out, _) = text(&run(&[
        "inspect",
        "--data",
        data("air_passengers.csv").to_str().unwrap(),
    ]));
    assert!(
        out.contains("144 rows") && out.contains("monthly") && out.contains("passengers"),
        "{out}"
    );
}

#[test]
fn fill_reports_how_many_cells_were_filled() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("gaps.csv");
    let rows: Vec<String> = (0..120)
        .map(|i| {
            format!(
                "{}-{:02}-01,{}",
                2000 + i / 12,
                i % 12 + 1,
                if i % 10 == 5 {
                    "NA".into()
                } else {
                    format!("{}", (i as f64 * 0.5).sin())
                }
            )
        })
        .collect();
    std::fs::write(&csv, format!("date,y\n{}\n", rows.join("\n"))).unwrap();
    let out = tmp.path().join("r");
    let base = quick_train(&csv, &out, "1");
    fails_with(&base, 1, &["gaps.csv:7", "missing value", "--fill"]);
    let mut args = base.clone();
    args.extend(["--fill", "linear"]);
    let o = run(&args);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stdout.contains("filled 12 missing cell(s)") && stdout.contains("y: 12"),
        "{stdout}"
    );
}

#[test]
fn tune_writes_trials_plots_and_a_usable_best_model() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("tuned");
    let csv = data("nottem.csv");
    let cfg = tmp.path().join("space.toml");
    // The space from the config file's [tune] section, one list overridden by a flag.
    std::fs::write(
        &cfg,
        "[training]\nepochs = 6\n[tune]\ntrials = 4\nlayers = [[4], [6, 4]]\nmin_epochs = 2\n",
    )
    .unwrap();
    let o = run(&[
        "tune",
        "--data",
        csv.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--search-lookback",
        "6,12",
        "--jobs",
        "2",
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stdout.contains("4 trials on 2 job(s), rungs of [2, 6] epochs"),
        "{stdout}"
    );
    let trials = std::fs::read_to_string(out.join("trials.csv")).unwrap();
    assert_eq!(trials.lines().count(), 5, "{trials}");
    assert!(trials
        .lines()
        .skip(1)
        .all(|l| l.starts_with(|c: char| c.is_ascii_digit())
            && (l.split(',').nth(1) == Some("6") || l.split(',').nth(1) == Some("12"))));
    for f in [
        "tune_trials.png",
        "tune_lookback.svg",
        "tune_normalize.png",
        "best.toml",
        "report.html",
        "best/report.html",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    // `report` writes the tuning folder's page again from tune.json (and best/'s with --data).
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    std::fs::remove_file(out.join("report.html")).unwrap();
    let o = run(&["report", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o).1);
    assert_eq!(
        std::fs::read_to_string(out.join("report.html")).unwrap(),
        page
    );
    assert!(page.contains("\"kind\":\"tune\"") && page.contains("best/report.html"));
    let best = out.join("best");
    let o = run(&[
        "forecast",
        "--model",
        best.to_str().unwrap(),
        "--data",
        csv.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    // The tuning folder itself is not a model; the error points at best/.
    fails_with(
        &[
            "evaluate",
            "--model",
            out.to_str().unwrap(),
            "--data",
            csv.to_str().unwrap(),
        ],
        1,
        &["lstmcast-tune", "best"],
    );
}

#[test]
fn backtest_writes_folds_and_rejects_bad_options() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bt");
    let csv = data("nottem.csv");
    let args = |extra: &[&str]| {
        let mut v = vec![
            "backtest".to_string(),
            "--data".into(),
            csv.to_str().unwrap().into(),
            "--out".into(),
            out.to_str().unwrap().into(),
            "--epochs".into(),
            "2".into(),
            "--layers".into(),
            "4".into(),
            "--lookback".into(),
            "12".into(),
            "--horizon".into(),
            "3".into(),
        ];
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let a = args(&["--folds", "4", "--window", "sliding"]);
    let o = run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stdout.contains("4 folds") && stdout.contains("all folds together"),
        "{stdout}"
    );
    let folds = std::fs::read_to_string(out.join("folds.csv")).unwrap();
    assert_eq!(folds.lines().count(), 5, "{folds}");
    // Each fold's coverage, mean width and MSIS per level, as its metrics.json scores them.
    let header: Vec<&str> = folds.lines().next().unwrap().split(',').collect();
    assert!(
        header.ends_with(&[
            "coverage80",
            "width80",
            "msis80",
            "coverage95",
            "width95",
            "msis95"
        ]),
        "{header:?}"
    );
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    for (fold, line) in folds.lines().skip(1).enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        let scores = &m["folds"][fold]["test"]["intervals"]["temp_f"];
        for (i, key) in ["coverage", "mean_width", "msis"].iter().enumerate() {
            let want = scores[0][key].as_f64().unwrap();
            let got: f64 = cells[header.len() - 6 + i].parse().unwrap();
            assert_eq!(got, want, "fold {fold} {key}");
        }
    }
    for f in [
        "backtest.csv",
        "metrics.json",
        "backtest.png",
        "backtest.svg",
        "report.html",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(page.contains("\"kind\":\"backtest\"") && page.contains("\"fold\":4"));
    // Each fold's row carries its coverage per level (the report's folds table shows it).
    let fold_coverage = format!(
        "\"coverage\":[{},{}]",
        m["folds"][0]["test"]["intervals"]["temp_f"][0]["coverage"],
        m["folds"][0]["test"]["intervals"]["temp_f"][1]["coverage"]
    );
    assert!(page.contains(&fold_coverage), "{fold_coverage}");
    // `report` writes the same page again from the folder's metrics.json.
    std::fs::remove_file(out.join("report.html")).unwrap();
    let o = run(&["report", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o).1);
    assert_eq!(
        std::fs::read_to_string(out.join("report.html")).unwrap(),
        page
    );
    let a = args(&["--folds", "4", "--refit", "sometimes", "--force"]);
    fails_with(
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
        1,
        &["refit", "'sometimes'"],
    );
    let a = args(&["--folds", "40", "--force"]);
    fails_with(
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
        1,
        &["folds", "fewer than the horizon"],
    );
}

/// A training long enough to interrupt (about 1.5 s optimised): one normalisation, 40 epochs
/// without early stopping.
fn long_train(out: &Path) -> Vec<String> {
    let csv = data("economics.csv");
    [
        "train",
        "--data",
        csv.to_str().unwrap(),
        "--target",
        "unemploy",
        "--normalize",
        "window",
        "--layers",
        "64",
        "--lookback",
        "48",
        "--epochs",
        "40",
        "--patience",
        "0",
        "--out",
        out.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Starts `args`, waits until a checkpoint with training state exists (after the first
/// epoch), then `stop`s the process after `delay_ms` more.
fn interrupt_args(args: Vec<String>, out: &Path, stop: &Stopper, delay_ms: u64) -> Output {
    let mut child = bin()
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let ck = out.join("checkpoint.safetensors");
    let t0 = std::time::Instant::now();
    while std::fs::metadata(&ck).map_or(true, |m| m.len() < 100_000) {
        assert!(t0.elapsed().as_secs() < 60, "no checkpoint after 60 s");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    std::thread::sleep(std::time::Duration::from_millis(delay_ms));
    stop(&mut child);
    child.wait_with_output().unwrap()
}

/// Starts `long_train` and stops it as [`interrupt_args`] does.
fn interrupt(out: &Path, stop: &Stopper, delay_ms: u64) -> Output {
    interrupt_args(long_train(out), out, stop, delay_ms)
}

/// Stops a child process somehow.
type Stopper = dyn Fn(&mut std::process::Child);

fn signal(name: &'static str) -> impl Fn(&mut std::process::Child) {
    move |c: &mut std::process::Child| {
        let ok = Command::new("kill")
            .args([format!("-{name}"), c.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }
}

#[test]
fn interrupted_training_resumes_to_bit_identical_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let reference = tmp.path().join("reference");
    let o = bin().args(long_train(&reference)).output().unwrap();
    assert!(o.status.success(), "{}", text(&o).1);
    let want = std::fs::read(reference.join("model.safetensors")).unwrap();
    let cases: [(&str, &Stopper, u64, Option<i32>); 3] = [
        ("int", &signal("INT"), 100, Some(130)),
        ("term", &signal("TERM"), 400, Some(130)),
        // kill -9 at an arbitrary moment: no chance to react; the last complete checkpoint
        // (atomically replaced after every epoch) must still load.
        (
            "kill",
            &|c: &mut std::process::Child| c.kill().unwrap(),
            250,
            None,
        ),
    ];
    for (name, stop, delay, code) in cases {
        let out = tmp.path().join(name);
        let o = interrupt(&out, stop, delay);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), code, "{name}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        if code.is_some() {
            assert!(err.contains("--resume"), "{name}: {err}");
        }
        assert!(
            !out.join("model.safetensors").exists(),
            "{name}: finished too early"
        );
        let o = run(&["train", "--resume", out.to_str().unwrap()]);
        assert!(o.status.success(), "{name}: {}", text(&o).1);
        let got = std::fs::read(out.join("model.safetensors")).unwrap();
        assert!(
            got == want,
            "{name}: resumed weights differ from the uninterrupted run"
        );
        assert!(!out.join("checkpoint.safetensors").exists());
        // A finished run has nothing to resume.
        fails_with(
            &["train", "--resume", out.to_str().unwrap()],
            1,
            &["checkpoint.safetensors", "nothing to resume"],
        );
    }
}

#[test]
fn normalisation_candidates_trained_at_once_resume_bit_identically_after_sigint() {
    // --normalize auto trains its three candidates on all cores at once; a SIGINT leaves the
    // first unfinished candidate's state, and the resumed run ends with the same weights.
    let tmp = tempfile::tempdir().unwrap();
    let auto = |out: &Path| -> Vec<String> {
        let mut a = long_train(out);
        let i = a.iter().position(|x| x == "window").unwrap();
        a[i] = "auto".into();
        a
    };
    let reference = tmp.path().join("reference");
    let o = bin().args(auto(&reference)).output().unwrap();
    assert!(o.status.success(), "{}", text(&o).1);
    let want = std::fs::read(reference.join("model.safetensors")).unwrap();
    let out = tmp.path().join("int");
    let o = interrupt_args(auto(&out), &out, &signal("INT"), 300);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(
        err.contains("--resume") && !err.contains("panicked"),
        "{err}"
    );
    let o = run(&["train", "--resume", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o).1);
    assert!(
        std::fs::read(out.join("model.safetensors")).unwrap() == want,
        "resumed weights differ"
    );
}

#[test]
fn extreme_but_valid_data_trains_with_finite_forecasts() {
    let tmp = tempfile::tempdir().unwrap();
    // Values around 1e12 (a seasonal swing of 1e9) and a constant series.
    let big: String = (0..240)
        .map(|i| format!("{i},{}\n", 1e12 + 1e9 * ((i % 12) as f64 / 2.0).sin()))
        .collect();
    let flat: String = (0..240).map(|i| format!("{i},42.5\n")).collect();
    for (name, body, lo, hi) in [("big", big, 0.99e12, 1.01e12), ("flat", flat, 42.4, 42.6)] {
        let csv = tmp.path().join(format!("{name}.csv"));
        std::fs::write(&csv, format!("t,y\n{body}")).unwrap();
        let out = tmp.path().join(name);
        let o = run(&quick_train(&csv, &out, "3"));
        let (stdout, stderr) = text(&o);
        assert!(o.status.success(), "{name}: {stderr}");
        let fc = std::fs::read_to_string(out.join("forecast.csv")).unwrap();
        let v: f64 = fc
            .lines()
            .nth(1)
            .unwrap()
            .split(',')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            v.is_finite() && (lo..hi).contains(&v),
            "{name}: forecast {v}"
        );
        let preds = std::fs::read_to_string(out.join("predictions.csv")).unwrap();
        assert!(!preds.contains("NaN") && !preds.contains("inf"), "{name}");
        if name == "flat" {
            // Zero seasonal-naive error on training rows: MASE is undefined, shown as n/a.
            assert!(stdout.contains("n/a"), "{stdout}");
        }
    }
}

/// The panel options of a quick global model on the bundled five-city weather panel.
fn panel_args(csv: &Path) -> Vec<&str> {
    vec![
        "--data",
        csv.to_str().unwrap(),
        "--id-col",
        "city",
        "--target",
        "avg_temp_f",
        "--features",
        "avg_temp_f,avg_humidity_pct",
        "--lookback",
        "14",
        "--horizon",
        "3",
        "--layers",
        "8",
        "--epochs",
        "3",
        "--normalize",
        "window",
    ]
}

#[test]
fn a_panel_trains_one_global_model_then_evaluates_forecasts_and_inspects() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = data("weather_cities_daily.csv");
    let out = tmp.path().join("panel");
    let mut args = vec!["train"];
    args.extend(panel_args(&csv));
    args.extend(["--out", out.to_str().unwrap()]);
    let o = run(&args);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(stdout.contains("5 series (3655 rows)"), "{stdout}");
    assert!(
        stdout.contains("per series MASE") && stdout.contains("San Diego"),
        "{stdout}"
    );
    for f in ["mase.png", "forecast.png", "metrics.json"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    // A panel's run folder is replaced with --force like any other (every file is lstmcast's).
    let mut again = args.clone();
    again.push("--force");
    let o = run(&again);
    assert!(o.status.success(), "{}", text(&o).1);
    // Every series' test predictions and forecast, series_id first.
    let preds = std::fs::read_to_string(out.join("predictions.csv")).unwrap();
    assert!(
        preds.starts_with("series_id,origin,step,target,"),
        "{preds}"
    );
    let forecast = std::fs::read_to_string(out.join("forecast.csv")).unwrap();
    assert!(
        forecast.starts_with(
            "series_id,date,avg_temp_f,avg_temp_f_lo80,avg_temp_f_hi80,avg_temp_f_lo95,avg_temp_f_hi95,model\n"
        ),
        "{forecast}"
    );
    assert_eq!(forecast.lines().count(), 1 + 5 * 3);
    assert!(forecast.contains("\nMumbai,2018-01-03,"), "{forecast}");
    // metrics.json holds every series and the across-series summary.
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let per = &m["test"]["panel"]["per_series"];
    assert_eq!(per.as_object().unwrap().len(), 5);
    assert!(per["Beijing"]["avg_temp_f"]["model"]["mase"].is_number());
    assert!(m["test"]["panel"]["targets"]["avg_temp_f"]["median_mase"]["model"].is_number());
    assert_eq!(m["series"], 5);
    // evaluate reproduces train's scores exactly (the model's --id-col is in its config.toml);
    // forecast takes --series.
    let model = out.to_str().unwrap();
    let o = run(&[
        "evaluate",
        "--model",
        model,
        "--data",
        csv.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    let ev: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap();
    assert_eq!(ev["panel"]["per_series"], m["test"]["panel"]["per_series"]);
    let o = run(&[
        "forecast",
        "--model",
        model,
        "--data",
        csv.to_str().unwrap(),
        "--series",
        "Chicago,Auckland",
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert_eq!(stdout.lines().count(), 1 + 2 * 3, "{stdout}");
    assert!(
        stdout
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("Auckland,2018-01-01,"),
        "{stdout}"
    );
    fails_with(
        &[
            "forecast",
            "--model",
            model,
            "--data",
            csv.to_str().unwrap(),
            "--series",
            "Paris",
        ],
        1,
        &["no series 'Paris'", "Auckland, Beijing"],
    );
    // inspect lists the series and the roles, without --target.
    let o = run(&[
        "inspect",
        "--data",
        csv.to_str().unwrap(),
        "--id-col",
        "city",
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stdout.contains("panel of 5 series (id column 'city')"),
        "{stdout}"
    );
    assert!(stdout.contains("suggested: lstmcast train"), "{stdout}");
}

#[test]
fn tune_and_backtest_accept_panels() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = data("weather_cities_daily.csv");
    let out = tmp.path().join("bt");
    let mut args = vec!["backtest"];
    args.extend(panel_args(&csv));
    args.extend(["--folds", "2", "--out", out.to_str().unwrap()]);
    let o = run(&args);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(stdout.contains("2 folds"), "{stdout}");
    let bt = std::fs::read_to_string(out.join("backtest.csv")).unwrap();
    assert!(bt.starts_with("fold,series_id,origin,"), "{bt}");
    assert!(bt.contains(",Beijing,") && bt.contains("\n2,"), "{bt}");
    let out = tmp.path().join("tune");
    let mut args = vec!["tune"];
    args.extend(panel_args(&csv));
    args.extend([
        "--trials",
        "2",
        "--search-lookback",
        "7,14",
        "--min-epochs",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    let o = run(&args);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(stdout.contains("2 trials"), "{stdout}");
    assert!(out.join("best/predictions.csv").is_file());
}

#[test]
fn forecast_and_evaluate_find_the_columns_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("m");
    let csv = data("economics.csv");
    let o = run(&[
        "train",
        "--data",
        csv.to_str().unwrap(),
        "--target",
        "unemploy",
        "--features",
        "psavert,uempmed",
        "--epochs",
        "2",
        "--layers",
        "4",
        "--normalize",
        "global",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    // The run's configuration names the columns actually used, in the model's order.
    let cfg = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(
        cfg.contains("target = [\"unemploy\"]")
            && cfg.contains("features = [\"unemploy\", \"psavert\", \"uempmed\"]")
            && cfg.contains("time_col = \"date\""),
        "{cfg}"
    );
    // A production file: other column order, an extra numeric and an extra text column; and the
    // same with a trailing empty cell in a model column.
    let text_in = std::fs::read_to_string(&csv).unwrap();
    let rows: Vec<&str> = text_in.lines().skip(1).collect();
    let production = |gap: bool| {
        let mut prod = String::from("note,uempmed,extra,unemploy,date,psavert\n");
        for (i, l) in rows.iter().enumerate() {
            let f: Vec<&str> = l.split(',').collect();
            let uempmed = if gap && i + 1 == rows.len() { "" } else { f[4] };
            prod.push_str(&format!("x{i},{uempmed},7,{},{},{}\n", f[5], f[0], f[3]));
        }
        let p = tmp.path().join(if gap { "gap.csv" } else { "prod.csv" });
        std::fs::write(&p, prod).unwrap();
        p
    };
    let model = out.to_str().unwrap();
    let plain = run(&[
        "forecast",
        "--model",
        model,
        "--data",
        csv.to_str().unwrap(),
    ]);
    assert!(plain.status.success(), "{}", text(&plain).1);
    let p = production(false);
    let o = run(&["forecast", "--model", model, "--data", p.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o).1);
    assert_eq!(
        text(&o).0,
        text(&plain).0,
        "same values, other layout: the same forecast"
    );
    let g = production(true);
    fails_with(
        &["forecast", "--model", model, "--data", g.to_str().unwrap()],
        1,
        &["gap.csv", "column 'uempmed'", "--fill"],
    );
    let o = run(&[
        "forecast",
        "--model",
        model,
        "--data",
        g.to_str().unwrap(),
        "--fill",
        "forward",
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    let o = run(&[
        "evaluate",
        "--model",
        model,
        "--data",
        p.to_str().unwrap(),
        "--fill",
        "forward",
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
}

#[test]
fn evaluate_names_the_test_period_and_warns_when_it_overlaps_training() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("m");
    let csv = data("nottem.csv");
    let o = run(&quick_train(&csv, &out, "1"));
    assert!(o.status.success(), "{}", text(&o).1);
    let model = out.to_str().unwrap();
    let o = run(&[
        "evaluate",
        "--model",
        model,
        "--data",
        csv.to_str().unwrap(),
    ]);
    let (stdout, _) = text(&o);
    assert!(
        stdout.contains("test from 1936-01-01") && !stdout.contains("warning"),
        "{stdout}"
    );
    // The first 180 rows: their test period (from 1932) lies in the model's training rows.
    let head: String = std::fs::read_to_string(&csv)
        .unwrap()
        .lines()
        .take(181)
        .map(|l| format!("{l}\n"))
        .collect();
    let early = tmp.path().join("early.csv");
    std::fs::write(&early, head).unwrap();
    let o = run(&[
        "evaluate",
        "--model",
        model,
        "--data",
        early.to_str().unwrap(),
        "--json",
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    let ev: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(ev["split"]["test_start"], "1932-01-01");
    assert!(
        ev["warnings"][0]
            .as_str()
            .unwrap()
            .contains("not out-of-sample"),
        "{stdout}"
    );
}

#[test]
fn quiet_prints_nothing_but_errors_and_json_is_on_every_command() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = data("nottem.csv");
    let out = tmp.path().join("q");
    let mut args = quick_train(&csv, &out, "3");
    args.push("--quiet");
    let o = run(&args);
    assert!(o.status.success(), "{}", text(&o).1);
    assert_eq!(text(&o), (String::new(), String::new()));
    assert!(out.join("forecast.csv").is_file());
    let model = out.to_str().unwrap();
    let d = csv.to_str().unwrap();
    for cmd in [
        vec!["evaluate", "--model", model, "--data", d],
        vec!["inspect", "--data", d],
        vec!["forecast", "--model", model, "--data", d],
        vec!["demo", "--example", "1", "--epochs", "1"],
    ] {
        let mut json = cmd.clone();
        json.push("--json");
        let o = run(&json);
        assert!(o.status.success(), "{cmd:?}: {}", text(&o).1);
        let v: serde_json::Value = serde_json::from_str(&text(&o).0)
            .unwrap_or_else(|e| panic!("{cmd:?} --json is not JSON: {e}"));
        assert!(!v.is_null(), "{cmd:?}");
    }
    // inspect never needs --target, even with several numeric columns.
    let eco = data("economics.csv");
    let (stdout, stderr) = text(&run(&["inspect", "--data", eco.to_str().unwrap()]));
    assert!(
        stdout.contains("unemploy") && stdout.contains("suggested: lstmcast train"),
        "{stdout}{stderr}"
    );
    // forecast --out never replaces a file silently.
    let f = tmp.path().join("f.csv");
    std::fs::write(&f, "mine").unwrap();
    fails_with(
        &[
            "forecast",
            "--model",
            model,
            "--data",
            d,
            "--out",
            f.to_str().unwrap(),
        ],
        1,
        &["f.csv", "already exists", "--force"],
    );
    assert_eq!(std::fs::read_to_string(&f).unwrap(), "mine");
    let o = run(&[
        "forecast",
        "--model",
        model,
        "--data",
        d,
        "--out",
        f.to_str().unwrap(),
        "--force",
        "--quiet",
    ]);
    assert!(
        o.status.success() && text(&o).0.is_empty(),
        "{}",
        text(&o).1
    );
    assert!(std::fs::read_to_string(&f)
        .unwrap()
        .starts_with("date,temp_f"));
    // Defaults show in --help.
    let (help, _) = text(&run(&["train", "--help"]));
    let d = lstmcast::ForecasterConfig::default();
    assert!(
        help.contains(&format!("(default {})", d.lookback)),
        "{help}"
    );
    assert!(
        help.contains(&format!("(default {})", d.training.epochs)),
        "{help}"
    );
}

/// `2021-MM-DD` of day `k` (0-based) counted from 2021-01-01, for January to March.
fn day(k: usize) -> String {
    let (mut m, mut d) = (1, k + 1);
    for len in [31, 28] {
        if d <= len {
            break;
        }
        d -= len;
        m += 1;
    }
    format!("2021-{m:02}-{d:02}")
}

/// The options of a tiny, fast model on a small generated panel (with --lookback).
const TINY: [&str; 10] = [
    "--epochs",
    "2",
    "--layers",
    "4",
    "--normalize",
    "global",
    "--seed",
    "1",
    "--quiet",
    "--force",
];

#[test]
fn future_known_values_from_trailing_rows_or_a_future_file_give_the_same_forecast() {
    let tmp = tempfile::tempdir().unwrap();
    // Two daily series of 60 rows with a weekly promotion; each ends with 3 rows whose target is
    // empty and whose promotion is planned. The same values once as history plus a --future file.
    let promo = |s: usize, k: usize| ((k + 2 * s) % 7 >= 5) as usize;
    let (mut all, mut hist, mut fut, mut flipped) = (
        String::from("id,date,y,promo\n"),
        String::from("id,date,y,promo\n"),
        String::from("id,date,promo\n"),
        String::from("id,date,promo\n"),
    );
    for (s, id) in ["north", "south"].into_iter().enumerate() {
        for k in 0..63 {
            let p = promo(s, k);
            if k < 60 {
                let row = format!("{id},{},{},{p}\n", day(k), 20 + 5 * s + k % 4 + 6 * p);
                all.push_str(&row);
                hist.push_str(&row);
            } else {
                all.push_str(&format!("{id},{},,{p}\n", day(k)));
                fut.push_str(&format!("{id},{},{p}\n", day(k)));
                flipped.push_str(&format!("{id},{},{}\n", day(k), 1 - p));
            }
        }
    }
    let write = |name: &str, text: &str| {
        let p = tmp.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let (all, hist, fut, flipped) = (
        write("all.csv", &all),
        write("hist.csv", &hist),
        write("fut.csv", &fut),
        write("flipped.csv", &flipped),
    );
    let out = tmp.path().join("run");
    let model = out.to_str().unwrap();
    let mut args = vec![
        "train",
        "--data",
        &all,
        "--out",
        model,
        "--id-col",
        "id",
        "--target",
        "y",
        "--future-known",
        "promo",
        "--horizon",
        "3",
        "--lookback",
        "7",
    ];
    args.extend(TINY.iter().filter(|a| **a != "--quiet"));
    let o = run(&args);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stdout.contains("note: 6 row(s) after the last target of their series hold only future-known values; they are not used for training (forecast reads them)"),
        "{stdout}"
    );
    assert!(stdout.contains("2 series (120 rows)"), "{stdout}");
    let cfg = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(cfg.contains("future_known = [\"promo\"]"), "{cfg}");
    // Future rows shorter than the horizon (3 of 5 steps) do not cost the trained model: the
    // run folder is written, its forecast is empty and says why.
    let short = tmp.path().join("short");
    let mut short_args = args.clone();
    let i = short_args.iter().position(|a| *a == "--horizon").unwrap();
    short_args[i + 1] = "5";
    let j = short_args.iter().position(|a| *a == "--out").unwrap();
    short_args[j + 1] = short.to_str().unwrap();
    let o = run(&short_args);
    let (so, se) = text(&o);
    assert!(o.status.success(), "{se}");
    assert!(short.join("model.json").is_file());
    assert!(
        so.contains("not forecast") && so.contains("lacks future-known values"),
        "{so}"
    );
    let csv = std::fs::read_to_string(short.join("forecast.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1, "{csv}");
    // forecast reads the trailing rows: 3 steps per series at their timestamps.
    let o = run(&["forecast", "--model", model, "--data", &all]);
    let (from_rows, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    let keys: Vec<String> = from_rows
        .lines()
        .skip(1)
        .map(|l| l.split(',').take(2).collect::<Vec<_>>().join(","))
        .collect();
    assert_eq!(
        keys,
        [
            "north,2021-03-02",
            "north,2021-03-03",
            "north,2021-03-04",
            "south,2021-03-02",
            "south,2021-03-03",
            "south,2021-03-04"
        ],
        "{from_rows}"
    );
    assert!(from_rows.starts_with("series_id,date,y"), "{from_rows}");
    // The run folder's forecast used them too.
    assert_eq!(
        std::fs::read_to_string(out.join("forecast.csv")).unwrap(),
        from_rows
    );
    // The same values in a --future file beside the history: the same forecast.
    let o = run(&[
        "forecast", "--model", model, "--data", &hist, "--future", &fut,
    ]);
    let (from_file, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert_eq!(from_file, from_rows);
    // The network reads each step's promotion: other plans, another forecast.
    let o = run(&[
        "forecast", "--model", model, "--data", &hist, "--future", &flipped,
    ]);
    let (other, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert_ne!(other, from_rows);
    // --series keeps the future rows of the series asked for.
    let o = run(&[
        "forecast", "--model", model, "--data", &hist, "--future", &fut, "--series", "south",
    ]);
    let (south, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    let want: Vec<&str> = from_rows
        .lines()
        .filter(|l| !l.starts_with("north,"))
        .collect();
    assert_eq!(south.lines().collect::<Vec<_>>(), want);
}

#[test]
fn static_data_with_a_categorical_column_is_recorded_in_the_model() {
    let tmp = tempfile::tempdir().unwrap();
    let mut csv = String::from("id,date,y\n");
    for (s, id) in ["a", "b", "c"].into_iter().enumerate() {
        for k in 0..60 {
            csv.push_str(&format!("{id},{},{}\n", day(k), 10 * (s + 1) + k % 5));
        }
    }
    let data = tmp.path().join("panel.csv");
    std::fs::write(&data, csv).unwrap();
    let statics = tmp.path().join("stores.csv");
    std::fs::write(
        &statics,
        "id,region,size\na,north,1.5\nb,south,2\nc,north,4\n",
    )
    .unwrap();
    let (d, st) = (data.to_str().unwrap(), statics.to_str().unwrap());
    let out = tmp.path().join("run");
    let model = out.to_str().unwrap();
    let mut args = vec![
        "train",
        "--data",
        d,
        "--out",
        model,
        "--id-col",
        "id",
        "--target",
        "y",
        "--static-data",
        st,
        "--horizon",
        "2",
        "--lookback",
        "7",
    ];
    args.extend(TINY);
    let o = run(&args);
    assert!(o.status.success(), "{}", text(&o).1);
    let cfg = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(cfg.contains(&format!("static_data = {:?}", st)), "{cfg}");
    // The categorical column is one-hot encoded; the numeric one is used as it is.
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("model.json")).unwrap()).unwrap();
    let names: Vec<&str> = m["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    for n in ["region=north", "region=south", "size"] {
        assert!(names.contains(&n), "{names:?}");
    }
    // forecast needs no --static-data for the training series: the model recorded their values,
    // and gives the same forecast as with the file.
    let o = run(&["forecast", "--model", model, "--data", d]);
    let (recorded, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert_eq!(recorded.lines().count(), 1 + 3 * 2, "{recorded}");
    let o = run(&[
        "forecast",
        "--model",
        model,
        "--data",
        d,
        "--static-data",
        st,
    ]);
    let (given, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert_eq!(given, recorded);
}

#[test]
fn the_calendar_setting_is_recorded_in_the_run_config() {
    let tmp = tempfile::tempdir().unwrap();
    let mut csv = String::from("date,y\n");
    for k in 0..90 {
        csv.push_str(&format!("{},{}\n", day(k), 5 + k % 7 + k / 30));
    }
    let data = tmp.path().join("daily.csv");
    std::fs::write(&data, csv).unwrap();
    let train = |name: &str, calendar: Option<&str>| {
        let out = tmp.path().join(name);
        let mut args = vec![
            "train",
            "--data",
            data.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--lookback",
            "4",
        ];
        if let Some(c) = calendar {
            args.extend(["--calendar", c]);
        }
        args.extend(TINY);
        let o = run(&args);
        assert!(o.status.success(), "{}", text(&o).1);
        let cfg = std::fs::read_to_string(out.join("config.toml")).unwrap();
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("model.json")).unwrap())
                .unwrap();
        let cal: Vec<String> = m["names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_string())
            .filter(|n| n.starts_with("cal_"))
            .collect();
        (cfg, cal)
    };
    // Default: auto, which on daily data with a lookback under a week picks the day of week (the
    // 63 training rows do not cover two years, so not the day of year).
    let (cfg, cal) = train("auto", None);
    assert!(cfg.contains("calendar = \"auto\""), "{cfg}");
    assert_eq!(cal, ["cal_weekday_sin", "cal_weekday_cos"]);
    let (cfg, cal) = train("none", Some("none"));
    assert!(cfg.contains("calendar = \"none\""), "{cfg}");
    assert!(cal.is_empty(), "{cal:?}");
    let (cfg, cal) = train("list", Some("month,weekday"));
    assert!(cfg.contains("calendar = \"month,weekday\""), "{cfg}");
    assert_eq!(
        cal,
        [
            "cal_month_sin",
            "cal_month_cos",
            "cal_weekday_sin",
            "cal_weekday_cos"
        ]
    );
}

#[test]
fn a_running_training_locks_its_folder_and_a_killed_one_frees_it() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("locked");
    let mut child = bin()
        .args(long_train(&out))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !out.join("checkpoint.safetensors").is_file() {
        assert!(started.elapsed().as_secs() < 60, "no checkpoint after 60 s");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let pid = format!("pid {}", child.id());
    // A second writer is refused while the first runs, naming it; --force does not override.
    let mut force = long_train(&out);
    force.push("--force".into());
    let force: Vec<&str> = force.iter().map(String::as_str).collect();
    fails_with(
        &force,
        1,
        &["in use by another lstmcast run", &pid, "started"],
    );
    fails_with(
        &["train", "--resume", out.to_str().unwrap()],
        1,
        &["in use by another lstmcast run", &pid],
    );
    let csv = data("nottem.csv");
    fails_with(
        &[
            "backtest",
            "--data",
            csv.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--folds",
            "2",
            "--force",
        ],
        1,
        &["in use by another lstmcast run", &pid],
    );
    // Killed at once (SIGKILL: no handler runs), the OS releases the lock: the folder is an
    // interrupted training, as before, and resumes.
    child.kill().unwrap();
    child.wait().unwrap();
    let plain = long_train(&out);
    let plain: Vec<&str> = plain.iter().map(String::as_str).collect();
    fails_with(&plain, 1, &["holds an interrupted training", "--resume"]);
    let o = run(&["train", "--resume", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o).1);
    assert!(out.join("model.safetensors").is_file());
    // The holder removes its lock file when it is done.
    assert!(!tmp.path().join(".locked.lock").exists());
}
