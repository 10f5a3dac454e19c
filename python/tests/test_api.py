"""The Python API against the CLI on the same data and seed: the numbers must be the same to the
bit (both read the library's own CSV texts, so equal means equal), and what goes wrong must say
what the CLI says.

Needs the CLI binary: $LSTMCAST_BIN, else target/release/lstmcast (`cargo build --release`)."""

import io
import json
import os
import pickle
import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lstmcast

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
BIN = Path(os.environ.get("LSTMCAST_BIN", ROOT / "target" / "release" / "lstmcast"))

# Short trainings: identity does not need good models.
QUICK = dict(epochs=6, seed=7)


def cli(*args: str) -> subprocess.CompletedProcess:
    if not BIN.exists():
        pytest.fail(f"{BIN} is missing: run `cargo build --release -p lstmcast-cli` first")
    return subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True)


def cli_ok(*args: str) -> str:
    r = cli(*args)
    assert r.returncode == 0, r.stderr
    return r.stdout


def same(a, b) -> bool:
    """Equal to the bit, NaN (an interval refused past its calibrated steps) equal to NaN."""
    a, b = np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64")
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def assert_forecast_equal(py: pd.DataFrame, csv: pd.DataFrame, target: str) -> None:
    assert same(py["lstm"], csv[target])
    for lvl in ("80", "95"):
        assert same(py[f"lstm-lo-{lvl}"], csv[f"{target}_lo{lvl}"])
        assert same(py[f"lstm-hi-{lvl}"], csv[f"{target}_hi{lvl}"])


@pytest.fixture(scope="module")
def nottem():
    return pd.read_csv(DATA / "nottem.csv")


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    """The weather panel (five cities, daily), target and id only, as a frame and a CSV file."""
    df = pd.read_csv(DATA / "weather_cities_daily.csv")[["city", "date", "avg_temp_f"]]
    df["date"] = pd.to_datetime(df["date"])
    path = tmp_path_factory.mktemp("panel") / "panel.csv"
    df.to_csv(path, index=False)
    return df, path


@pytest.fixture(scope="module")
def single(nottem, tmp_path_factory):
    """nottem trained from Python and by `lstmcast train`, same options."""
    out = tmp_path_factory.mktemp("cli") / "run"
    cli_ok("train", "--data", DATA / "nottem.csv", "--horizon", 12, "--epochs", 6, "--seed", 7, "--out", out, "--quiet")
    m = lstmcast.Forecaster(horizon=12, **QUICK).fit(nottem, time_col="date", target="temp_f")
    return m, out


def test_single_series_fit_predict_match_the_cli(single):
    m, out = single
    py = m.predict()
    csv = pd.read_csv(out / "forecast.csv")
    assert list(py.columns) == ["date", "lstm", "lstm-lo-80", "lstm-hi-80", "lstm-lo-95", "lstm-hi-95", "model"]
    assert (py["date"].astype(str) == csv["date"]).all()
    assert_forecast_equal(py, csv, "temp_f")


def test_evaluate_matches_the_cli(single):
    m, out = single
    ev = m.evaluate()
    cli_metrics = __import__("json").loads((out / "metrics.json").read_text())
    assert ev.metrics["test"] == cli_metrics["test"]
    cli_pred = pd.read_csv(out / "predictions.csv")
    assert len(ev.predictions) == len(cli_pred) > 0
    assert same(ev.predictions["predicted"], cli_pred["predicted"])


def test_levels_and_horizon(single):
    m, _ = single
    assert [c for c in m.predict(level=[80]).columns if "-95" in c] == []
    assert list(m.predict(level=None).columns) == ["date", "lstm", "model"]
    with pytest.raises(lstmcast.LstmcastError, match="level: 90 not calibrated; the model has 80, 95"):
        m.predict(level=[90])
    assert len(m.predict(h=3)) == 3


def test_panel_matches_the_cli_and_save_load_go_both_ways(panel, tmp_path):
    df, path = panel
    opts = ["--id-col", "city", "--target", "avg_temp_f", "--horizon", 7, "--epochs", 6, "--seed", 7]
    cli_ok("train", "--data", path, *opts, "--out", tmp_path / "cli", "--quiet")
    m = lstmcast.Forecaster(horizon=7, **QUICK).fit(df, id_col="city", time_col="date", target="avg_temp_f")
    py = m.predict()
    csv = pd.read_csv(tmp_path / "cli" / "forecast.csv")
    assert list(py.columns[:2]) == ["city", "date"]
    assert pd.api.types.is_datetime64_any_dtype(py["date"])
    assert (py["city"] == csv["series_id"]).all()
    assert (py["date"] == pd.to_datetime(csv["date"])).all()
    assert_forecast_equal(py, csv, "avg_temp_f")

    # Python → CLI: the saved folder forecasts from the CLI, the same numbers.
    m.save(tmp_path / "py")
    text = cli_ok("forecast", "--model", tmp_path / "py", "--data", path)
    assert_forecast_equal(py, pd.read_csv(__import__("io").StringIO(text)), "avg_temp_f")

    # CLI → Python: the CLI's run folder loads and forecasts the same.
    back = lstmcast.Forecaster.load(tmp_path / "cli")
    assert_forecast_equal(back.predict(df), csv, "avg_temp_f")

    # Saving again over a folder needs overwrite, and nothing is lost.
    with pytest.raises(lstmcast.LstmcastError, match="already exists"):
        m.save(tmp_path / "py")
    m.save(tmp_path / "py", overwrite=True)


def test_pickling_carries_the_weights(single):
    m, _ = single
    blob = pickle.dumps(m)
    back = pickle.loads(blob)
    assert_forecast_equal(back.predict(), m.predict().rename(columns={"lstm": "temp_f"}).rename(
        columns=lambda c: c.replace("lstm-lo-", "temp_f_lo").replace("lstm-hi-", "temp_f_hi")), "temp_f")


def test_polars_frames_give_the_same_numbers(nottem, single):
    pl = pytest.importorskip("polars")
    m, out = single
    frame = pl.DataFrame({"date": nottem["date"].tolist(), "temp_f": nottem["temp_f"].to_numpy()})
    pm = lstmcast.Forecaster(horizon=12, **QUICK).fit(frame, time_col="date", target="temp_f")
    fc = pm.predict()
    assert isinstance(fc, pl.DataFrame)
    assert_forecast_equal(pd.DataFrame({c: fc[c].to_numpy() for c in fc.columns}),
                          pd.read_csv(out / "forecast.csv"), "temp_f")


def test_fit_releases_the_gil(panel):
    df, _ = panel
    ticks = 0
    stop = threading.Event()

    def count():
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.001)

    t = threading.Thread(target=count)
    t.start()
    t0 = time.perf_counter()
    lstmcast.Forecaster(horizon=7, epochs=15, seed=1, threads=1).fit(df, id_col="city", time_col="date", target="avg_temp_f")
    took = time.perf_counter() - t0
    stop.set()
    t.join()
    # The counter thread ran through the fit: at a millisecond per tick it gets at least a
    # quarter of the fit's time (a held GIL would give it a handful of ticks).
    assert took > 0.2 and ticks > took * 1000 / 4, (took, ticks)


def test_threads_fitting_at_once_give_the_results_of_fitting_one_by_one(panel):
    """Four Python threads fit at once (the GIL is released during a fit): each model forecasts
    exactly what the same fit run alone gives."""
    df, _ = panel
    cols = dict(id_col="city", time_col="date", target="avg_temp_f")

    def fit(seed):
        m = lstmcast.Forecaster(horizon=7, epochs=4, seed=seed, normalize="window", threads=1)
        return m.fit(df, **cols).predict()

    alone = [fit(seed) for seed in range(4)]
    results = [None] * 4

    def worker(i):
        results[i] = fit(i)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for a, b in zip(alone, results):
        pd.testing.assert_frame_equal(a, b)
    # Different seeds, different models: the comparison has teeth.
    assert not alone[0]["lstm"].equals(alone[1]["lstm"])


def test_ctrl_c_stops_training(panel):
    df, _ = panel
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    t0 = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        lstmcast.Forecaster(horizon=7, epochs=2000, patience=2000, seed=1).fit(
            df, id_col="city", time_col="date", target="avg_temp_f"
        )
    assert time.perf_counter() - t0 < 30
    timer.cancel()


def test_progress_callback_sees_every_epoch(nottem):
    seen = []
    lstmcast.Forecaster(horizon=12, epochs=4, normalize="global", progress=seen.append).fit(
        nottem, time_col="date", target="temp_f"
    )
    assert [r["epoch"] for r in seen] == [1, 2, 3, 4]
    assert all(np.isfinite(r["train_loss"]) for r in seen)


def test_a_raising_progress_callback_stops_training(nottem):
    calls = []

    def boom(r):
        calls.append(r["epoch"])
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        lstmcast.Forecaster(horizon=12, epochs=50, patience=50, progress=boom).fit(nottem, time_col="date", target="temp_f")
    # Called once, after the first epoch: the training stopped there.
    assert calls == [1]


def test_fit_with_a_checkpoint_writes_the_run_folder_and_resumes_bit_identically(panel, tmp_path):
    """`fit(checkpoint=DIR)` goes through the library's TrainingRun, as `lstmcast train` does: a
    checkpoint after every epoch, the complete run folder at the end; an interrupted fit (here a
    progress callback that raises after epoch 3) is continued by fitting again into the same
    folder, to the model an uninterrupted fit gives (the same forecast, to the bit)."""
    df, _ = panel
    opts = dict(horizon=7, epochs=6, patience=50, seed=3, normalize="global")
    cols = dict(id_col="city", time_col="date", target="avg_temp_f")
    whole = lstmcast.Forecaster(**opts).fit(df, **cols, checkpoint=tmp_path / "whole")
    for f in ["model.safetensors", "metrics.json", "predictions.csv", "forecast.csv", "forecast.png"]:
        assert (tmp_path / "whole" / f).is_file(), f
    assert not (tmp_path / "whole" / "checkpoint.safetensors").exists()
    expected = whole.predict()
    pd.testing.assert_frame_equal(lstmcast.Forecaster.load(tmp_path / "whole").predict(df), expected)

    def stop_after_3(r):
        if r["epoch"] == 3:
            raise RuntimeError("stop here")

    run = tmp_path / "interrupted"
    with pytest.raises(RuntimeError, match="stop here"):
        lstmcast.Forecaster(**opts, progress=stop_after_3).fit(df, **cols, checkpoint=run)
    assert (run / "checkpoint.safetensors").is_file()
    assert not (run / "model.safetensors").exists()
    # Other options or other rows are refused, and the checkpoint is kept.
    with pytest.raises(lstmcast.LstmcastError, match="other options"):
        lstmcast.Forecaster(**{**opts, "seed": 4}).fit(df, **cols, checkpoint=run)
    with pytest.raises(lstmcast.LstmcastError, match="not the data the checkpoint"):
        lstmcast.Forecaster(**opts).fit(df.iloc[:-1], **cols, checkpoint=run)
    assert (run / "checkpoint.safetensors").is_file()
    resumed = lstmcast.Forecaster(**opts).fit(df, **cols, checkpoint=run)
    pd.testing.assert_frame_equal(resumed.predict(), expected)
    assert not (run / "checkpoint.safetensors").exists()
    for f in ["predictions.csv", "forecast.csv", "model.safetensors"]:
        assert (run / f).read_bytes() == (tmp_path / "whole" / f).read_bytes(), f


def test_ctrl_c_stops_a_backtest(panel):
    df, _ = panel
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    t0 = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        # Folds of 2000 epochs each: minutes of work.
        lstmcast.Forecaster(horizon=7, epochs=2000, patience=2000, seed=1).cross_validation(
            df, n_windows=4, id_col="city", time_col="date", target="avg_temp_f"
        )
    took = time.perf_counter() - t0
    timer.cancel()
    assert took < 5, took


def cli_error(tmp_path, df: pd.DataFrame, *args) -> str:
    path = tmp_path / "bad.csv"
    df.to_csv(path, index=False)
    r = cli("train", "--data", path, *args, "--out", tmp_path / "run", "--quiet")
    assert r.returncode == 1
    return r.stderr.strip().removeprefix("error: ")


def test_bad_input_raises_the_clis_message(nottem, tmp_path):
    bad = nottem.copy()
    bad["temp_f"] = bad["temp_f"].astype(object)
    bad.loc[5, "temp_f"] = "warm"
    message = cli_error(tmp_path, bad, "--target", "temp_f")
    with pytest.raises(lstmcast.LstmcastError) as e:
        lstmcast.Forecaster(**QUICK).fit(bad, time_col="date", target="temp_f")
    # The same reason; the CLI names the file and line 7 (the header is line 1), Python the
    # frame and row 6.
    assert message == f"{tmp_path / 'bad.csv'}:7, column 'temp_f': 'warm' is not a number"
    assert str(e.value) == "data frame: row 6, column 'temp_f': 'warm' is not a number"

    dup = pd.concat([nottem, nottem.iloc[[3]]])
    message = cli_error(tmp_path, dup, "--target", "temp_f")
    with pytest.raises(lstmcast.LstmcastError) as e:
        lstmcast.Forecaster(**QUICK).fit(dup, time_col="date", target="temp_f")
    prefix = f"{tmp_path / 'bad.csv'}:242, column 'date': "
    assert message.startswith(prefix), message
    reason = message.removeprefix(prefix)
    assert "is also on line 5;" in reason, reason
    # Rows where the CLI has lines: line 5 is data row 4.
    assert str(e.value) == "data frame: row 241, column 'date': " + reason.replace("is also on line 5;", "is also on row 4;")


def test_bad_options_raise_at_once_with_the_clis_message():
    r = cli("train", "--data", DATA / "nottem.csv", "--normalize", "sideways", "--out", "/nonexistent/x")
    with pytest.raises(lstmcast.LstmcastError) as e:
        lstmcast.Forecaster(normalize="sideways")
    assert str(e.value) == r.stderr.strip().removeprefix("error: ")
    with pytest.raises(lstmcast.LstmcastError, match="lookbak: not an option; the options are lookback"):
        lstmcast.Forecaster(lookbak=3)
    with pytest.raises(lstmcast.LstmcastError, match="epochs: 'many' is not a whole number"):
        lstmcast.Forecaster(epochs="many")
    with pytest.raises(lstmcast.LstmcastError, match="no column 'y'"):
        lstmcast.Forecaster().fit(pd.DataFrame({"ds": [1, 2], "x": [1.0, 2.0]}))
    with pytest.raises(lstmcast.LstmcastError, match="not fitted"):
        lstmcast.Forecaster().predict()


def test_intervals_rate_is_the_clis_flag(nottem, single, tmp_path):
    # The per-level correction of the adaptive bands (--intervals-rate) from Python: the same
    # bands and factors as the CLI's, and different ones from the default rate's.
    out = tmp_path / "run"
    cli_ok("train", "--data", DATA / "nottem.csv", "--horizon", 12, "--epochs", 6, "--seed", 7,
           "--intervals-rate", "0.05", "--out", out, "--quiet")
    m = lstmcast.Forecaster(horizon=12, intervals_rate=0.05, **QUICK).fit(nottem, time_col="date", target="temp_f")
    py = m.predict()
    assert_forecast_equal(py, pd.read_csv(out / "forecast.csv"), "temp_f")
    cli_test = json.loads((out / "metrics.json").read_text())["test"]
    assert m.evaluate().metrics["test"]["interval_factors"] == cli_test["interval_factors"]
    default, _ = single
    assert same(py["lstm"], default.predict()["lstm"])
    assert not same(py["lstm-lo-80"], default.predict()["lstm-lo-80"])
    r = cli("train", "--data", DATA / "nottem.csv", "--intervals-rate", "2", "--out", "/nonexistent/x")
    with pytest.raises(lstmcast.LstmcastError) as e:
        lstmcast.Forecaster(intervals_rate=2)
    assert str(e.value) == r.stderr.strip().removeprefix("error: ")


def test_future_known_columns_with_a_future_frame(tmp_path):
    full = pd.read_csv(DATA / "weather_cities_daily.csv", parse_dates=["date"])[["city", "date", "avg_temp_f", "high_temp_f"]]
    cut = full.groupby("city").head(full.groupby("city").size().min() - 7)
    futr = full.drop(cut.index)[["city", "date", "high_temp_f"]]
    m = lstmcast.Forecaster(horizon=7, **QUICK).fit(cut, id_col="city", time_col="date", target="avg_temp_f", future_known=["high_temp_f"])
    fc = m.predict(futr_df=futr)
    assert len(fc) == 7 * full["city"].nunique()
    assert (fc.groupby("city")["date"].min() == futr.groupby("city")["date"].min()).all()
    # The CLI's forecast from the saved model, the history and the future values as files.
    m.save(tmp_path / "model")
    cut.to_csv(tmp_path / "hist.csv", index=False)
    futr.to_csv(tmp_path / "futr.csv", index=False)
    csv = pd.read_csv(io.StringIO(cli_ok("forecast", "--model", tmp_path / "model", "--data", tmp_path / "hist.csv",
                                         "--future", tmp_path / "futr.csv")))
    assert (fc["city"] == csv["series_id"]).all()
    assert (fc["date"] == pd.to_datetime(csv["date"])).all()
    assert_forecast_equal(fc, csv, "avg_temp_f")
    with pytest.raises(lstmcast.LstmcastError, match="high_temp_f"):
        m.predict(futr_df=futr.drop(columns=["high_temp_f"]))


def test_cross_validation_matches_the_clis_backtest(panel, tmp_path):
    df, path = panel
    cli_ok("backtest", "--data", path, "--id-col", "city", "--target", "avg_temp_f", "--horizon", 7,
           "--epochs", 4, "--seed", 7, "--folds", 2, "--out", tmp_path / "bt", "--quiet")
    cv = lstmcast.Forecaster(horizon=7, epochs=4, seed=7).cross_validation(
        df, n_windows=2, id_col="city", time_col="date", target="avg_temp_f"
    )
    csv = pd.read_csv(tmp_path / "bt" / "backtest.csv")
    assert len(cv) == len(csv) > 0
    assert same(cv["predicted"], csv["predicted"])
    assert set(cv["fold"]) == {1, 2}
    assert cv.attrs["metrics"] == __import__("json").loads((tmp_path / "bt" / "metrics.json").read_text())


def test_tune_matches_the_clis_search(panel, tmp_path):
    df, path = panel
    cli_ok("tune", "--data", path, "--id-col", "city", "--target", "avg_temp_f", "--horizon", 7,
           "--epochs", 6, "--seed", 3, "--trials", 5, "--search-lookback", "7,14", "--search-layers", "8,16",
           "--min-epochs", 2, "--eta", 2, "--out", tmp_path / "tune", "--quiet")
    m = lstmcast.Forecaster(horizon=7, epochs=6, seed=3)
    trials = m.tune(df, trials=5, search=dict(lookback=[7, 14], layers=[[8], [16]], min_epochs=2, eta=2),
                    id_col="city", time_col="date", target="avg_temp_f")
    csv = pd.read_csv(tmp_path / "tune" / "trials.csv")
    seconds = [c for c in csv.columns if "second" in c]
    assert seconds, list(csv.columns)
    pd.testing.assert_frame_equal(trials.drop(columns=seconds), csv.drop(columns=seconds), check_exact=True)
    assert_forecast_equal(m.predict(), pd.read_csv(tmp_path / "tune" / "best" / "forecast.csv"), "avg_temp_f")


def test_static_values_from_a_frame_match_the_clis_static_data_file(panel, tmp_path):
    df, path = panel
    statics = pd.DataFrame({"city": sorted(df["city"].unique())})
    statics["lat"] = [-36.8, 39.9, 41.9, 19.1, 32.7]
    statics["climate"] = ["oceanic", "continental", "continental", "tropical", "mediterranean"]
    statics.to_csv(tmp_path / "static.csv", index=False)
    cli_ok("train", "--data", path, "--id-col", "city", "--target", "avg_temp_f", "--horizon", 7, "--epochs", 6,
           "--seed", 7, "--static-data", tmp_path / "static.csv", "--out", tmp_path / "cli", "--quiet")
    m = lstmcast.Forecaster(horizon=7, **QUICK).fit(df, id_col="city", time_col="date", target="avg_temp_f", static_df=statics)
    assert_forecast_equal(m.predict(), pd.read_csv(tmp_path / "cli" / "forecast.csv"), "avg_temp_f")
    with pytest.raises(lstmcast.LstmcastError, match="no row for series 'Mumbai'"):
        lstmcast.Forecaster(horizon=7, **QUICK).fit(
            df, id_col="city", time_col="date", target="avg_temp_f", static_df=statics[statics.city != "Mumbai"]
        )


def test_progress_true_reports_each_epoch(nottem, capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name.startswith("tqdm"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    lstmcast.Forecaster(horizon=12, epochs=3, normalize="global", progress=True).fit(nottem, time_col="date", target="temp_f")
    err = capsys.readouterr().err
    assert "epoch 1/3" in err and "epoch 3/3" in err, err


def test_cross_validation_and_tune_take_static_values(panel, tmp_path):
    df, path = panel
    statics = pd.DataFrame({"city": sorted(df["city"].unique()), "lat": [-36.8, 39.9, 41.9, 19.1, 32.7]})
    statics.to_csv(tmp_path / "static.csv", index=False)
    cli_ok("backtest", "--data", path, "--id-col", "city", "--target", "avg_temp_f", "--horizon", 7, "--epochs", 3,
           "--seed", 7, "--folds", 2, "--static-data", tmp_path / "static.csv", "--out", tmp_path / "bt", "--quiet")
    args = dict(id_col="city", time_col="date", target="avg_temp_f")
    cv = lstmcast.Forecaster(horizon=7, epochs=3, seed=7).cross_validation(df, n_windows=2, static_df=statics, **args)
    csv = pd.read_csv(tmp_path / "bt" / "backtest.csv")
    assert same(cv["predicted"], csv["predicted"])
    assert cv.attrs["metrics"] == json.loads((tmp_path / "bt" / "metrics.json").read_text())
    # Without static_df, a forecaster fitted with one backtests with it.
    f = lstmcast.Forecaster(horizon=7, epochs=3, seed=7).fit(df, static_df=statics, **args)
    pd.testing.assert_frame_equal(f.cross_validation(df, n_windows=2, **args), cv, check_exact=True)
    plain = lstmcast.Forecaster(horizon=7, epochs=3, seed=7).cross_validation(df, n_windows=2, **args)
    assert not same(plain["predicted"], cv["predicted"])

    cli_ok("tune", "--data", path, "--id-col", "city", "--target", "avg_temp_f", "--horizon", 7, "--epochs", 2,
           "--seed", 3, "--trials", 2, "--search-lookback", "7,14", "--static-data", tmp_path / "static.csv",
           "--out", tmp_path / "tune", "--quiet")
    m = lstmcast.Forecaster(horizon=7, epochs=2, seed=3)
    m.tune(df, trials=2, search=dict(lookback=[7, 14]), static_df=statics, **args)
    assert_forecast_equal(m.predict(), pd.read_csv(tmp_path / "tune" / "best" / "forecast.csv"), "avg_temp_f")


def test_refit_all_matches_the_cli_and_saves_the_model_of_every_row(panel, tmp_path):
    df, path = panel
    opts = ["--id-col", "city", "--target", "avg_temp_f", "--horizon", 7, "--epochs", 4, "--seed", 7]
    cli_ok("train", "--data", path, *opts, "--normalize", "window", "--refit", "all", "--out", tmp_path / "cli", "--quiet")
    m = lstmcast.Forecaster(horizon=7, epochs=4, seed=7, normalize="window", refit="all")
    m.fit(df, id_col="city", time_col="date", target="avg_temp_f")
    csv = pd.read_csv(tmp_path / "cli" / "forecast.csv")
    assert_forecast_equal(m.predict(), csv, "avg_temp_f")
    pred = pd.read_csv(tmp_path / "cli" / "predictions.csv")
    assert same(m.evaluate().predictions["predicted"], pred["predicted"])
    # The saved folder holds the model of every row beside the test model, and loads back.
    m.save(tmp_path / "py")
    assert (tmp_path / "py" / "latest" / "model.safetensors").is_file()
    assert_forecast_equal(lstmcast.Forecaster.load(tmp_path / "py").predict(df), csv, "avg_temp_f")
    with pytest.raises(lstmcast.LstmcastError, match="refit: 'sometimes' is not one of none, val, all"):
        lstmcast.Forecaster(refit="sometimes")


def test_report_writes_the_runs_page_and_shows_inline(panel, tmp_path):
    df, path = panel
    opts = ["--id-col", "city", "--target", "avg_temp_f", "--horizon", 7, "--epochs", 4, "--seed", 7]
    cli_ok("train", "--data", path, *opts, "--out", tmp_path / "cli", "--quiet")
    m = lstmcast.Forecaster(horizon=7, epochs=4, seed=7).fit(df, id_col="city", time_col="date", target="avg_temp_f")
    r = m.report(tmp_path / "py.html")
    assert os.fspath(r) == str(tmp_path / "py.html")
    page = Path(r).read_text()

    def data(html):
        """The page's data, timings (measured, so never equal) left out."""
        import re

        d = json.loads(re.search(r'id="data">(.*?)</script>', html, re.S).group(1).replace("<\\/", "</"))
        for part in (d["metrics"]["training"], d["metrics"]["refit"]):
            part.pop("seconds")
        return d

    # The same page `lstmcast train` writes (the same model, data and numbers).
    cli_page = (tmp_path / "cli" / "report.html").read_text()
    assert data(page) == data(cli_page)
    assert page.split('id="data">')[0] == cli_page.split('id="data">')[0]
    assert "<iframe" in r._repr_html_()
    assert data(page)["kind"] == "train" and [s["id"] for s in data(page)["series"]][:1] == ["Auckland"]
    default = m.report()
    assert Path(default).name == "report.html" and Path(default).is_file()


def test_a_checkpoint_folder_another_process_writes_is_refused(panel, tmp_path):
    """One writer per run folder, from Python as from the CLI: while `lstmcast train` writes a
    folder, `fit(checkpoint=...)` into it is refused with the holder's pid."""
    df, _ = panel
    run = tmp_path / "busy"
    p = subprocess.Popen(
        [str(BIN), "train", "--data", DATA / "economics.csv", "--target", "unemploy", "--normalize", "window",
         "--layers", "64", "--lookback", "48", "--epochs", "40", "--patience", "0", "--out", run, "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 60
        while not (run / "checkpoint.safetensors").is_file():
            assert time.time() < deadline, "no checkpoint after 60 s"
            time.sleep(0.02)
        with pytest.raises(lstmcast.LstmcastError, match=f"in use by another lstmcast run \\(pid {p.pid}"):
            lstmcast.Forecaster(horizon=7, epochs=2).fit(
                df, id_col="city", time_col="date", target="avg_temp_f", checkpoint=run
            )
    finally:
        p.kill()
        p.wait()
