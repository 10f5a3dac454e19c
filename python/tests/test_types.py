"""Column types across the bridge: what reaches the library is what the CLI reads from the same
frame written with `to_csv` (zoned times, float32, uint64 ids), and results come back in the
input's types (ids, times, polars dates)."""

import io
import pickle

import numpy as np
import pandas as pd
import pytest

import lstmcast
from test_api import DATA, QUICK, assert_forecast_equal, cli_ok, same


def cli_forecast(tmp_path, df: pd.DataFrame, *args) -> pd.DataFrame:
    """`lstmcast train` on `df.to_csv()`: its forecast.csv."""
    df.to_csv(tmp_path / "data.csv", index=False)
    cli_ok("train", "--data", tmp_path / "data.csv", *args, "--out", tmp_path / "run", "--quiet")
    return pd.read_csv(tmp_path / "run" / "forecast.csv")


@pytest.fixture(scope="module")
def london():
    """Hourly values in Europe/London across the end of summer time (2021-10-31, when 01:00
    comes twice): as wall clock without the zone, a duplicate timestamp."""
    ds = pd.date_range("2021-10-20", periods=600, freq="h", tz="UTC").tz_convert("Europe/London")
    assert ds.tz_localize(None).duplicated().any()
    y = np.round(10 + 5 * np.sin(np.arange(600) * 2 * np.pi / 24), 3)
    return pd.DataFrame({"ds": ds, "y": y})


def test_zoned_times_cross_a_clock_change_as_the_cli_reads_them(london, tmp_path):
    m = lstmcast.Forecaster(horizon=12, epochs=3, seed=7).fit(london)
    py = m.predict()
    csv = cli_forecast(tmp_path, london, "--horizon", 12, "--epochs", 3, "--seed", 7)
    assert str(py["ds"].dt.tz) == "Europe/London"
    assert (py["ds"] == pd.to_datetime(csv["ds"], utc=True)).all()
    assert py["ds"].iloc[0] == london["ds"].iloc[-1] + pd.Timedelta(hours=1)
    assert_forecast_equal(py, csv, "y")

    # The same frame from polars: the same numbers, the times zoned in polars.
    pl = pytest.importorskip("polars")
    frame = pl.DataFrame({"ds": london["ds"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(), "y": london["y"].to_numpy()})
    frame = frame.with_columns(pl.col("ds").dt.replace_time_zone("UTC").dt.convert_time_zone("Europe/London"))
    fc = lstmcast.Forecaster(horizon=12, epochs=3, seed=7).fit(frame).predict()
    assert fc.schema["ds"] == pl.Datetime(frame.schema["ds"].time_unit, "Europe/London")
    assert (fc["ds"].dt.epoch("s").to_numpy() == py["ds"].dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[s]").astype("int64").to_numpy()).all()
    assert same(fc["lstm"].to_numpy(), py["lstm"])


@pytest.fixture(scope="module")
def int_panel():
    """The weather panel with the cities numbered 1..5 (an integer id column)."""
    df = pd.read_csv(DATA / "weather_cities_daily.csv", parse_dates=["date"])[["city", "date", "avg_temp_f"]]
    codes = {c: i + 1 for i, c in enumerate(sorted(df["city"].unique()))}
    df["city"] = df["city"].map(codes).astype("int64")
    return df


def test_integer_ids_and_datetimes_come_back_as_they_went(int_panel, tmp_path):
    df = int_panel
    args = dict(id_col="city", time_col="date", target="avg_temp_f")
    m = lstmcast.Forecaster(horizon=7, epochs=3, seed=7).fit(df, **args)
    fc = m.predict()
    assert fc["city"].dtype == np.int64 and set(fc["city"]) == {1, 2, 3, 4, 5}
    assert pd.api.types.is_datetime64_any_dtype(fc["date"])

    pred = m.evaluate().predictions
    assert pred["city"].dtype == np.int64 and set(pred["city"]) <= {1, 2, 3, 4, 5}
    assert pd.api.types.is_datetime64_any_dtype(pred["origin"])

    cv = lstmcast.Forecaster(horizon=7, epochs=2, seed=7).cross_validation(df, n_windows=2, **args)
    assert cv["city"].dtype == np.int64 and set(cv["city"]) == {1, 2, 3, 4, 5}
    assert pd.api.types.is_datetime64_any_dtype(cv["origin"])
    assert pd.api.types.is_datetime64_any_dtype(cv.attrs["folds"]["origin"])

    # A loaded model knows no layout's types: they come from the frame given to predict.
    m.save(tmp_path / "model")
    back = lstmcast.Forecaster.load(tmp_path / "model")
    fb = back.predict(df)
    assert pd.api.types.is_datetime64_any_dtype(fb["date"]) and fb["city"].dtype == np.int64
    pd.testing.assert_frame_equal(fb, fc, check_exact=True)
    eb = back.evaluate(df).predictions
    assert pd.api.types.is_datetime64_any_dtype(eb["origin"]) and eb["city"].dtype == np.int64
    # With text times, text comes back.
    texts = back.predict(df.assign(date=df["date"].dt.strftime("%Y-%m-%d")))
    assert list(texts["date"]) == list(fc["date"].dt.strftime("%Y-%m-%d"))


def test_polars_dates_come_back_as_dates(nottem_dates):
    pl = pytest.importorskip("polars")
    frame = pl.DataFrame({"date": nottem_dates["date"].dt.date.tolist(), "temp_f": nottem_dates["temp_f"].to_numpy()})
    assert frame.schema["date"] == pl.Date
    fc = lstmcast.Forecaster(horizon=12, **QUICK).fit(frame, time_col="date", target="temp_f").predict()
    assert fc.schema["date"] == pl.Date
    assert fc["date"][0].isoformat() == "1940-01-01"


@pytest.fixture(scope="module")
def nottem_dates():
    return pd.read_csv(DATA / "nottem.csv", parse_dates=["date"])


def tiny(n: int = 150) -> pd.DataFrame:
    """Two short daily series with float32 values that float64 does not hold exactly (0.1),
    their ids beyond int64."""
    t = np.arange(n)
    parts = []
    for k, sid in enumerate([2**63 + 5, 2**64 - 1]):
        parts.append(pd.DataFrame({
            "unique_id": np.full(n, sid, dtype="uint64"),
            "ds": pd.date_range("2020-01-01", periods=n, freq="D"),
            "y": (np.round(20 + 3 * np.sin(t / 7 + k), 1)).astype("float32"),
            "x": (np.round(np.cos(t / 5), 1)).astype("float32"),
        }))
    return pd.concat(parts, ignore_index=True)


def test_float32_values_and_uint64_ids_reach_the_library_as_to_csv_writes_them(tmp_path):
    df = tiny()
    assert df["y"].dtype == np.float32 and float(df["y"].iloc[1]) != float(str(df["y"].iloc[1]))
    opts = dict(horizon=5, lookback=14, epochs=3, seed=7)
    py = lstmcast.Forecaster(**opts).fit(df, past=["x"]).predict()
    csv = cli_forecast(tmp_path, df, "--horizon", 5, "--lookback", 14, "--epochs", 3, "--seed", 7, "--id-col", "unique_id",
                       "--target", "y", "--past", "x")
    assert py["unique_id"].dtype == np.uint64
    assert list(py["unique_id"]) == [int(s) for s in csv["series_id"].astype(str)] and py["unique_id"].max() == 2**64 - 1
    assert_forecast_equal(py, csv, "y")


def test_polars_booleans_are_0_and_1_like_pandas_booleans():
    pl = pytest.importorskip("polars")
    df = tiny().drop(columns=["unique_id"]).iloc[:150]
    df["flag"] = (np.arange(len(df)) % 7) == 0
    opts = dict(horizon=5, lookback=14, epochs=3, seed=7)
    a = lstmcast.Forecaster(**opts).fit(df, past=["flag"]).predict()
    b = lstmcast.Forecaster(**opts).fit(df.assign(flag=df["flag"].astype("float64")), past=["flag"]).predict()
    frame = pl.DataFrame({"ds": df["ds"].to_numpy(), "y": df["y"].to_numpy(), "flag": df["flag"].to_numpy()})
    assert frame.schema["flag"] == pl.Boolean and frame.schema["y"] == pl.Float32
    c = lstmcast.Forecaster(**opts).fit(frame, past=["flag"]).predict()
    assert same(a["lstm"], b["lstm"]) and same(a["lstm"], c["lstm"].to_numpy())


def test_a_missing_time_names_its_row():
    df = tiny().drop(columns=["unique_id"]).iloc[:150].copy()
    df.loc[41, "ds"] = pd.NaT
    with pytest.raises(lstmcast.LstmcastError) as e:
        lstmcast.Forecaster(**QUICK).fit(df)
    assert str(e.value).startswith("data frame: row 42, column 'ds': missing time (NaT); ")


def test_rough_edges(nottem_dates):
    df = nottem_dates
    # Duplicate column names: which one is meant is unknown.
    dup = pd.concat([df, df[["temp_f"]]], axis=1)
    with pytest.raises(lstmcast.LstmcastError, match=r"data frame: column 'temp_f': the frame names 'temp_f' twice \(columns 2 and 3\)"):
        lstmcast.Forecaster(**QUICK).fit(dup, time_col="date", target="temp_f")

    m = lstmcast.Forecaster(horizon=12, progress=lambda r: None, **QUICK).fit(df, time_col="date", target="temp_f")
    # A scalar level is a list of one.
    pd.testing.assert_frame_equal(m.predict(level=80), m.predict(level=[80]))
    assert [c for c in m.predict(level=80).columns if "-95" in c] == []
    # A lambda as progress does not stop pickling; the copy reports nothing.
    back = pickle.loads(pickle.dumps(m))
    assert back.progress is False and callable(m.progress)
    pd.testing.assert_frame_equal(back.predict(), m.predict(), check_exact=True)


def test_times_beyond_pandas_nanoseconds(nottem_dates, tmp_path):
    # Years past 2262 do not fit datetime64[ns]; microseconds hold them, and so does the library.
    df = nottem_dates.copy()
    df["date"] = (df["date"] + pd.DateOffset(years=1000)).astype("datetime64[us]")
    fc = lstmcast.Forecaster(horizon=12, **QUICK).fit(df, time_col="date", target="temp_f").predict()
    csv = cli_forecast(tmp_path, df, "--target", "temp_f", "--horizon", 12, "--epochs", 6, "--seed", 7)
    assert pd.api.types.is_datetime64_any_dtype(fc["date"])
    assert list(fc["date"].dt.strftime("%Y-%m-%d")) == list(csv["date"])
    assert_forecast_equal(fc, csv, "temp_f")
    # Times that pandas cannot hold at all: an LstmcastError, not a pandas error.
    end = df.assign(date=pd.date_range(end="9999-12-20", periods=len(df), freq="D").astype("datetime64[us]"))
    with pytest.raises(lstmcast.LstmcastError, match=r"column .date.: the time .\+10000-01-01. is out of the range of pandas datetimes"):
        lstmcast.Forecaster(horizon=12, epochs=2, seed=7).fit(end, time_col="date", target="temp_f").predict()
