"""Ray tasks give the local run's results to the bit: a local Ray cluster of two CPUs
(`ray.init(num_cpus=2)`), backtest folds and per-group models."""

import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lstmcast

ray = pytest.importorskip("ray")
import lstmcast.ray as lray  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "data"
GROUP_A = {"Auckland", "Mumbai"}


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def panel():
    df = pd.read_csv(DATA / "weather_cities_daily.csv", parse_dates=["date"])[["city", "date", "avg_temp_f"]]
    df["region"] = np.where(df["city"].isin(GROUP_A), "a", "b")
    return df


def test_backtest_folds_as_ray_tasks_equal_the_local_backtest(cluster, panel):
    df = panel.drop(columns=["region"])
    f = lstmcast.Forecaster(horizon=7, epochs=4, seed=3)
    args = dict(id_col="city", time_col="date", target="avg_temp_f")
    local = f.cross_validation(df, n_windows=3, jobs=1, **args)
    remote = lray.cross_validation(f, df, n_windows=3, **args)
    pd.testing.assert_frame_equal(local, remote, check_exact=True)
    assert local.attrs["metrics"] == remote.attrs["metrics"]
    pd.testing.assert_frame_equal(local.attrs["folds"], remote.attrs["folds"], check_exact=True)


def test_per_group_models_as_ray_tasks_equal_the_local_loop(cluster, panel):
    f = lstmcast.Forecaster(horizon=7, epochs=4, seed=3)
    args = dict(id_col="city", time_col="date", target="avg_temp_f")
    local = lray.fit_groups(f, panel, by="region", local=True, **args)
    remote = lray.fit_groups(f, panel, by="region", **args)
    assert list(local) == list(remote) == ["a", "b"]
    a = lray.predict_groups(local, by="region")
    b = lray.predict_groups(remote, by="region")
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert set(b[b["region"] == "a"]["city"]) == GROUP_A
    # The forecaster handed in is not fitted by the local loop either.
    with pytest.raises(lstmcast.LstmcastError, match="not fitted"):
        f.predict()


def test_tune_trials_as_ray_tasks_equal_the_local_search(cluster, panel):
    df = panel.drop(columns=["region"])
    args = dict(id_col="city", time_col="date", target="avg_temp_f")
    search = dict(lookback=[7, 14], layers=[[8], [16]], min_epochs=2, eta=2)
    local = lstmcast.Forecaster(horizon=7, epochs=6, seed=3)
    lt = local.tune(df, trials=5, search=search, jobs=1, **args)
    remote = lstmcast.Forecaster(horizon=7, epochs=6, seed=3)
    rt = lray.tune(remote, df, trials=5, search=search, **args)
    seconds = [c for c in lt.columns if "second" in c]
    pd.testing.assert_frame_equal(lt.drop(columns=seconds), rt.drop(columns=seconds), check_exact=True)
    assert (lt["rung"] > 0).any()
    # The best configuration, fitted: the same forecast.
    pd.testing.assert_frame_equal(local.predict(), remote.predict(), check_exact=True)


def test_static_values_reach_the_ray_folds(cluster, panel):
    df = panel.drop(columns=["region"])
    statics = pd.DataFrame({"city": sorted(df["city"].unique()), "lat": [-36.8, 39.9, 41.9, 19.1, 32.7]})
    args = dict(id_col="city", time_col="date", target="avg_temp_f")
    f = lstmcast.Forecaster(horizon=7, epochs=2, seed=3)
    local = f.cross_validation(df, n_windows=2, jobs=1, static_df=statics, **args)
    remote = lray.cross_validation(f, df, n_windows=2, static_df=statics, **args)
    pd.testing.assert_frame_equal(local, remote, check_exact=True)
    plain = lray.cross_validation(f, df, n_windows=2, **args)
    assert not np.array_equal(plain["predicted"], remote["predicted"])


def test_a_group_task_trains_on_the_cpus_it_reserved(monkeypatch, panel):
    seen = []

    def fake_fit(*args, threads=None, **kwargs):
        seen.append(threads)
        raise RuntimeError("no training here")

    monkeypatch.setattr(lstmcast._native, "fit", fake_fit)
    group = panel[panel["region"] == "a"].drop(columns=["region"])
    args = dict(id_col="city", time_col="date", target="avg_temp_f")
    f = lstmcast.Forecaster(horizon=7)
    for threads in (2, None):
        with pytest.raises(RuntimeError, match="no training here"):
            lray._fit_one(f, group, args, threads)
    g = lstmcast.Forecaster(horizon=7, threads=3)
    with pytest.raises(RuntimeError):
        lray._fit_one(g, group, args, 2)
    assert seen == [2, None, 3]
    assert f.threads is None and g.threads == 3


def wait_for_free_cpus(n: float, within: float) -> bool:
    end = time.monotonic() + within
    while time.monotonic() < end:
        if ray.available_resources().get("CPU", 0) >= n:
            return True
        time.sleep(0.2)
    return False


def test_a_failing_group_cancels_the_others(cluster, panel):
    bad = panel.copy()
    bad["avg_temp_f"] = bad["avg_temp_f"].astype(object)
    bad.loc[bad.index[bad["region"] == "b"][3], "avg_temp_f"] = "warm"
    f = lstmcast.Forecaster(horizon=7, epochs=2000, patience=2000, seed=3)
    t0 = time.monotonic()
    # Group "a" trains for minutes; "b" fails at once.
    with pytest.raises(Exception, match="'warm' is not a number"):
        lray.fit_groups(f, bad, by="region", id_col="city", time_col="date", target="avg_temp_f")
    assert time.monotonic() - t0 < 20
    assert wait_for_free_cpus(2, within=20), ray.available_resources()


def test_ctrl_c_stops_a_search_on_ray(cluster, panel):
    df = panel.drop(columns=["region"])
    timer = threading.Timer(2.0, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        lray.tune(lstmcast.Forecaster(horizon=7, epochs=2000, patience=2000, seed=3), df, trials=4,
                  search=dict(lookback=[7, 14], min_epochs=1000), id_col="city", time_col="date", target="avg_temp_f")
    took = time.monotonic() - t0
    timer.cancel()
    assert took < 10, took
    assert wait_for_free_cpus(2, within=20), ray.available_resources()


def test_a_worker_killed_mid_trial_is_retried_and_the_search_is_unchanged(cluster, panel, tmp_path, monkeypatch):
    """The first trial's worker process dies (SIGKILL) in the middle of its task; Ray retries
    the task on another worker, and the search ends with the trials of a search nothing
    happened to."""
    df = panel.drop(columns=["region"])
    args = dict(id_col="city", time_col="date", target="avg_temp_f")
    search = dict(lookback=[7, 14], layers=[[8], [16]], min_epochs=2, eta=2)
    marker = str(tmp_path / "killed")
    original = lray._trial

    def dying(*a):
        import os
        import signal

        if not os.path.exists(marker):
            open(marker, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
        return original(*a)

    monkeypatch.setattr(lray, "_trial", dying)
    killed = lray.tune(lstmcast.Forecaster(horizon=7, epochs=6, seed=3), df, trials=5, search=search, **args)
    assert os.path.exists(marker), "no worker was killed"
    monkeypatch.setattr(lray, "_trial", original)
    clean = lray.tune(lstmcast.Forecaster(horizon=7, epochs=6, seed=3), df, trials=5, search=search, **args)
    seconds = [c for c in clean.columns if "second" in c]
    pd.testing.assert_frame_equal(clean.drop(columns=seconds), killed.drop(columns=seconds), check_exact=True)
