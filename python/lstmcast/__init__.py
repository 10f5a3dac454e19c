"""lstmcast from Python: LSTM forecasting with the lstmcast engine on pandas or polars frames.

    import lstmcast
    m = lstmcast.Forecaster(lookback=24, horizon=12, seed=42)
    m.fit(df)                        # long frame: unique_id, ds, y (no unique_id: one series)
    fc = m.predict(level=[80, 95])   # unique_id, ds, lstm, lstm-lo-80, lstm-hi-80, ...

The options are the CLI's flags as keyword arguments (``--batch-size`` is ``batch_size``), the
data's layout is given to ``fit``, and every result is the one the CLI gives on the same data and
seed: training, evaluation, forecasts and the backtest run in the Rust library with the GIL
released, and the frames cross as numpy columns.

Columns reach the library as ``DataFrame.to_csv`` would write them, with two differences:
booleans become the numbers 0 and 1, and zoned datetimes keep their UTC offset (the library
orders them by UTC, so a day that changes the clocks is no duplicate). Results come back in the
input's types: ids in the id column's dtype, times as the time column's kind (naive or zoned
datetimes, polars dates, integers).
"""

from __future__ import annotations

import io
import json
import html as _html
import os
import sys
import tempfile
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional, Sequence, Union

import numpy as np
import pandas as pd

from . import _native
from ._native import LstmcastError

__all__ = ["Forecaster", "LstmcastError", "Evaluation", "Report", "cross_validation", "__version__"]
__version__ = _native.__version__

_DEFAULT = object()
MODEL = "lstm"
_INT64_MAX = np.iinfo(np.int64).max


# ---------------------------------------------------------------------------------------------
# Frames → columns for the Rust loader
# ---------------------------------------------------------------------------------------------

def _is_polars(df: Any) -> bool:
    return type(df).__module__.split(".")[0] == "polars"


def _polars():
    import polars

    return polars


def _polars_column(s: Any) -> Any:
    """A polars column as numpy or pandas values, column-wise (no pyarrow, no per-row loop)."""
    pl = _polars()
    dtype = s.dtype
    if dtype == pl.Date or isinstance(dtype, pl.Datetime):
        tz = getattr(dtype, "time_zone", None)
        values = pd.Series(s.to_numpy())  # zoned: the UTC instants
        if tz:
            values = values.dt.tz_localize("UTC").dt.tz_convert(tz)
        return values
    if dtype == pl.Boolean:
        return s.cast(pl.Float64).to_numpy()  # 0 and 1, as pandas booleans go
    if dtype.is_integer():
        if s.null_count():
            mask = s.is_null().to_numpy()
            return pd.arrays.IntegerArray(s.fill_null(0).to_numpy(), mask)
        return s.to_numpy()
    if dtype.is_float():
        return s.to_numpy()
    return s.cast(pl.String).to_numpy()


def _pandas(df: Any, what: str, name: str) -> pd.DataFrame:
    """A pandas view of a pandas or polars frame (polars through its numpy columns). `what` is
    the argument's name, `name` the frame's name in messages."""
    if isinstance(df, pd.DataFrame):
        dup = df.columns[df.columns.duplicated()]
        if len(dup):
            c = dup[0]
            at = [i + 1 for i, x in enumerate(df.columns) if x == c]
            raise LstmcastError(f"{name}: column '{c}': the frame names '{c}' twice (columns {at[0]} and {at[1]})")
        return df
    if _is_polars(df):
        return pd.DataFrame({c: _polars_column(df.get_column(c)) for c in df.columns})
    raise TypeError(f"{what} must be a pandas or polars DataFrame, not {type(df).__name__}")


def _missing_time(s: pd.Series, name: str, col: str) -> None:
    na = s.isna().to_numpy()
    if na.any():
        row = int(np.flatnonzero(na)[0]) + 1
        raise LstmcastError(
            f"{name}: row {row}, column '{col}': missing time (NaT); every row needs a time (drop the row or fill in its time)"
        )


def _datetime_text(s: pd.Series, zoned: bool) -> list:
    """Datetimes as ISO 8601 text (what `to_csv` writes; zoned ones with their UTC offset)."""
    fraction = bool(((s.dt.microsecond != 0) | (s.dt.nanosecond != 0)).any())
    if zoned:
        fmt = "%Y-%m-%dT%H:%M:%S" + (".%f" if fraction else "") + "%z"
    elif fraction:
        fmt = "%Y-%m-%d %H:%M:%S.%f"
    elif bool(((s.dt.hour != 0) | (s.dt.minute != 0) | (s.dt.second != 0)).any()):
        fmt = "%Y-%m-%d %H:%M:%S"
    else:
        fmt = "%Y-%m-%d"
    return s.dt.strftime(fmt).astype(object).tolist()


def _column(s: pd.Series, name: str = "data frame") -> tuple[str, Any]:
    """One column as (kind, values) for the native loader: no per-row Python loop."""
    dtype = s.dtype
    col = str(s.name)
    if isinstance(dtype, pd.DatetimeTZDtype):
        _missing_time(s, name, col)
        return "s", _datetime_text(s, zoned=True)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        _missing_time(s, name, col)
        try:
            ns = s.astype("datetime64[ns]").to_numpy().view("i8")
        except (pd.errors.OutOfBoundsDatetime, OverflowError):
            # Beyond the nanosecond range (year 2262): as text, which the library reads.
            return "s", _datetime_text(s, zoned=False)
        return "t", np.ascontiguousarray(ns)
    if pd.api.types.is_bool_dtype(dtype):
        return "f", s.astype("float64").to_numpy(dtype="float64", na_value=np.nan)
    if pd.api.types.is_integer_dtype(dtype):
        if s.isna().any():
            return "s", s.astype("string").to_numpy(dtype=object, na_value=None).tolist()
        values = s.to_numpy()
        if values.dtype == np.uint64 and len(values) and values.max() > _INT64_MAX:
            return "s", values.astype(str).astype(object).tolist()
        return "i", np.ascontiguousarray(values.astype("int64"))
    if pd.api.types.is_float_dtype(dtype):
        values = s.to_numpy(dtype=getattr(dtype, "numpy_dtype", dtype), na_value=np.nan)
        if values.dtype == np.float32:
            # At float32 precision: 0.1 as "0.1" (what to_csv writes), not 0.10000000149011612.
            values = values.astype(str).astype("float64")
        return "f", np.ascontiguousarray(values, dtype="float64")
    text = s.astype("string").to_numpy(dtype=object, na_value=None)
    return "s", text.tolist()


def _frame(df: pd.DataFrame, columns: Sequence[str], name: str):
    header, kinds, cols = [], [], []
    for c in columns:
        kind, values = _column(df[c], name)
        header.append(str(c))
        kinds.append(kind)
        cols.append(values)
    return (name, header, kinds, cols)


def _as_list(v: Union[None, str, Iterable[str]]) -> list[str]:
    if v is None:
        return []
    if isinstance(v, str):
        return [v]
    return [str(x) for x in v]


@dataclass
class _Layout:
    """Where the frame's columns are: what the CLI's data flags say."""

    id_col: Optional[str]
    time_col: str
    target: list[str]
    past: list[str]
    future_known: list[str]
    static: list[str]

    def columns(self, with_targets: bool = True) -> list[str]:
        cols = [self.id_col] if self.id_col else []
        cols.append(self.time_col)
        if with_targets:
            cols += self.target + self.past
        cols += self.future_known + self.static
        seen, out = set(), []
        for c in cols:
            if c not in seen:
                seen.add(c)
                out.append(c)
        return out

    def options(self, cfg: dict) -> str:
        d = dict(cfg["data"])
        d.update(
            id_col=self.id_col,
            time_col=self.time_col,
            target=self.target,
            features=[],
            past=self.past,
            future_known=self.future_known,
            static=self.static,
            static_data=None,
            ignore=[],
        )
        return json.dumps(d)


def _check_columns(df: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        have = ", ".join(map(str, df.columns))
        raise LstmcastError(
            f"{what}: no column {', '.join(repr(m) for m in missing)}; it has {have}"
        )


def _statics(sdf: Optional[pd.DataFrame], layout: _Layout):
    """A static-values frame (one row per series, keyed by the id column) for the native
    loader, which reads it as `--static-data`."""
    if sdf is None:
        return None
    if not layout.id_col:
        raise LstmcastError(
            "invalid configuration: static_data: the data holds one series (no id column), so static values per series do not apply; use them with a panel"
        )
    _check_columns(sdf, [layout.id_col], "static_df")
    return _frame(sdf, [str(c) for c in sdf.columns], "static_df")


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------

def _rename(col: str, targets: list[str]) -> str:
    """forecast.csv's `y`, `y_lo80`, `y_q10` as `lstm`, `lstm-lo-80`, `lstm-q-10` (one target)
    or `lstm-y`, `lstm-y-lo-80` (several)."""
    for t in targets:
        base = MODEL if len(targets) == 1 else f"{MODEL}-{t}"
        if col == t:
            return base
        if col.startswith(t + "_"):
            rest = col[len(t) + 1:]
            for p in ("lo", "hi", "q"):
                if rest.startswith(p):
                    return f"{base}-{p}-{rest[len(p):]}"
    return col


@dataclass
class _Types:
    """The input's types that results come back in: the id column's dtype and the time
    column's kind ("t" naive datetimes, a tzinfo for zoned ones, "i", "f", "s")."""

    id_col: Optional[str]
    id_dtype: Any
    time_col: str
    time: Any
    time_dtype: Any

    @classmethod
    def of(cls, pdf: pd.DataFrame, layout: _Layout) -> "_Types":
        t = pdf[layout.time_col].dtype
        if isinstance(t, pd.DatetimeTZDtype):
            kind: Any = t.tz
        elif pd.api.types.is_datetime64_any_dtype(t):
            kind = "t"
        elif pd.api.types.is_bool_dtype(t):
            kind = "s"
        elif pd.api.types.is_integer_dtype(t):
            kind = "i"
        elif pd.api.types.is_float_dtype(t):
            kind = "f"
        else:
            kind = "s"
        id_dtype = pdf[layout.id_col].dtype if layout.id_col else None
        return cls(layout.id_col, id_dtype, layout.time_col, kind, t)

    def read(self, text: str, times: Sequence[str]) -> pd.DataFrame:
        """One of the library's CSV texts (forecast.csv, predictions.csv, backtest.csv,
        folds.csv) as a frame in the input's types: `series_id` as the id column, `times` as
        times."""
        dtypes = {c: str for c in ("series_id", *times)}
        out = pd.read_csv(io.StringIO(text), dtype=dtypes)
        if "series_id" in out.columns:
            ids = self.ids(out.pop("series_id"))
            out.insert(0, self.id_col or "series_id", ids)
        for c in times:
            if c in out.columns:
                out[c] = self.times(out[c], c)
        return out

    def ids(self, s: pd.Series) -> pd.Series:
        return _cast_ids(s, self.id_dtype)

    def times(self, s: pd.Series, col: str) -> pd.Series:
        kind = self.time
        try:
            if kind == "i":
                dtype = self.time_dtype if pd.api.types.is_integer_dtype(self.time_dtype) else "int64"
                return s.astype(dtype)
            if kind == "f":
                return s.astype("float64")
            if kind == "s":
                return s
            if kind == "t":
                return pd.to_datetime(s, format="ISO8601")
            return pd.to_datetime(s, format="ISO8601", utc=True).dt.tz_convert(kind)
        except (ValueError, OverflowError):  # OutOfBoundsDatetime is a ValueError
            if kind in ("i", "f"):
                raise
            parsed = pd.to_datetime(s, format="ISO8601", utc=kind != "t", errors="coerce")
            bad = s[parsed.isna() & s.notna()]
            what = bad.iloc[0] if len(bad) else s.iloc[0]
            raise LstmcastError(f"column '{col}': the time '{what}' is out of the range of pandas datetimes") from None


def _cast_ids(s: pd.Series, dtype: Any) -> pd.Series:
    """Ids read as text, back in the id column's dtype (text ids stay text)."""
    if dtype is None:
        return s
    try:
        if isinstance(dtype, pd.CategoricalDtype):
            return pd.Series(pd.Categorical(_cast_ids(s, dtype.categories.dtype), dtype=dtype), name=s.name)
        if pd.api.types.is_bool_dtype(dtype):
            return s
        if pd.api.types.is_numeric_dtype(dtype):
            return s.astype(dtype)
    except (ValueError, TypeError, OverflowError):
        pass
    return s


def _like(out: pd.DataFrame, source: Any) -> Any:
    """`out` as a polars frame when the data came as one (without pyarrow: column by column),
    with the source's dtypes for the columns it has (polars dates come back as dates)."""
    if source is None or not _is_polars(source):
        return out
    pl = _polars()
    cols = []
    for c in out.columns:
        s = out[c]
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            ps = pl.Series(c, s.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy())
            ps = ps.dt.replace_time_zone("UTC").dt.convert_time_zone(str(s.dtype.tz))
        elif isinstance(s.dtype, pd.CategoricalDtype) or not (
            pd.api.types.is_numeric_dtype(s) or pd.api.types.is_datetime64_any_dtype(s)
        ):
            ps = pl.Series(c, s.astype(object).tolist())
        else:
            ps = pl.Series(c, s.to_numpy())
        if c in source.columns:
            want = source.schema[c]
            if ps.dtype != want:
                try:
                    ps = ps.cast(want)
                except Exception:  # noqa: BLE001 - polars' errors vary by version; keep ours
                    pass
        cols.append(ps)
    return pl.DataFrame(cols)


@dataclass
class Evaluation:
    """What ``lstmcast evaluate`` reports: ``metrics`` (the content of metrics.json: MASE, RMSE
    and more beside the naive, seasonal-naive and ETS baselines, overall, per step and per
    series) and ``predictions`` (predictions.csv: every test window's forecasts)."""

    metrics: dict
    predictions: pd.DataFrame


class Report(os.PathLike):
    """The path of a written ``report.html`` (``os.fspath`` and ``str`` give it); in a notebook
    it shows the page inline."""

    def __init__(self, path: str):
        self.path = path

    def __fspath__(self) -> str:
        return self.path

    def __str__(self) -> str:
        return self.path

    def __repr__(self) -> str:
        return f"Report({self.path!r})"

    def _repr_html_(self) -> str:
        with open(self.path, encoding="utf-8") as f:
            page = f.read()
        return (
            '<iframe style="width:100%;height:900px;border:1px solid #ddd" srcdoc="'
            + _html.escape(page, quote=True)
            + '"></iframe>'
        )


@dataclass
class _Inputs:
    """What a backtest or a search reads: the layout, the configuration, the data options, the
    frame's columns and the static values' (or None)."""

    layout: _Layout
    types: _Types
    cfg_json: str
    data_json: str
    frame: Any
    statics: Any
    static_df: Optional[pd.DataFrame]


# ---------------------------------------------------------------------------------------------
# The estimator
# ---------------------------------------------------------------------------------------------

class Forecaster:
    """An LSTM forecaster with the CLI's defaults. Keyword arguments are the CLI's options
    (``lookback``, ``horizon``, ``layers``, ``dropout``, ``epochs``, ``normalize``,
    ``intervals`` (levels in percent, or ``None`` for none), ``seed``, ``batch_size``,
    ``learning_rate``, ``patience``, ``calendar``, ``split``, ``fill``, ...); an unknown or bad
    one raises :class:`LstmcastError` at once, with the CLI's message.

    ``threads`` caps the cores training uses (default: all). ``progress`` is ``False``,
    ``True`` (a bar per training, or a line per epoch without tqdm) or a function called after
    every epoch with a dict. A forecaster pickles with its weights; a ``progress`` function does
    not travel (the copy has ``progress=False``)."""

    def __init__(self, threads: Optional[int] = None, progress: Union[bool, Callable, None] = False, **options: Any):
        self._options = dict(options)
        # Validated now, as the CLI validates its flags before reading data.
        self._config = json.loads(_native.config(**self._options))
        self.threads = threads
        self.progress = progress
        self._model: Optional[_native.Model] = None
        self._layout: Optional[_Layout] = None
        self._df: Optional[pd.DataFrame] = None
        self._static_df: Optional[pd.DataFrame] = None
        self._source: Any = None

    # -- fitting --------------------------------------------------------------------------

    def _layout_of(self, df: pd.DataFrame, id_col, time_col, target, past, future_known, static) -> _Layout:
        if id_col is _DEFAULT:
            id_col = "unique_id" if "unique_id" in df.columns else None
        layout = _Layout(
            id_col=id_col,
            time_col=time_col,
            target=_as_list(target),
            past=_as_list(past),
            future_known=_as_list(future_known),
            static=_as_list(static),
        )
        _check_columns(df, layout.columns(), "data frame")
        return layout

    def fit(
        self,
        df: Any,
        id_col: Any = _DEFAULT,
        time_col: str = "ds",
        target: Union[str, Sequence[str]] = "y",
        future_known: Optional[Sequence[str]] = None,
        past: Optional[Sequence[str]] = None,
        static: Optional[Sequence[str]] = None,
        static_df: Any = None,
        checkpoint: Optional[Union[str, os.PathLike]] = None,
    ) -> "Forecaster":
        """Trains on a long frame as ``lstmcast train`` does: split by calendar, scalers and
        every other statistic fitted on the training rows, the normalisation (and calendar
        features) chosen on the validation rows, early stopping with the best weights.

        ``id_col`` names the series (default ``unique_id``; a frame without it is one series),
        ``time_col`` the time, ``target`` the column(s) to forecast. ``past`` are inputs known
        only up to now, ``future_known`` inputs known ahead (rows at the end of a series with an
        empty target hold their future values), ``static`` columns constant per series, and
        ``static_df`` a frame of static values with one row per series (keyed by ``id_col``).
        Releases the GIL while training; Ctrl-C stops after the current batch.

        ``checkpoint`` names a run folder, as ``lstmcast train --out`` writes one: a checkpoint
        after every epoch while training, the complete run folder (model, metrics, predictions,
        forecast, plots) at the end. When it holds an interrupted training of the same frame and
        options (Ctrl-C, a raising progress callback, a killed process), ``fit`` continues it to
        the model an uninterrupted fit gives, to the bit."""
        pdf = _pandas(df, "df", "data frame")
        layout = self._layout_of(pdf, id_col, time_col, target, past, future_known, static)
        sdf = None if static_df is None else _pandas(static_df, "static_df", "static_df")
        statics = _statics(sdf, layout)
        frame = _frame(pdf, layout.columns(), "data frame")
        self._model = _native.fit(
            json.dumps(self._config),
            layout.options(self._config),
            frame,
            threads=self.threads,
            progress=self._progress_callback(),
            statics=statics,
            checkpoint=None if checkpoint is None else os.fspath(checkpoint),
        )
        self._layout, self._df, self._static_df = layout, pdf, sdf
        self._source = df
        why = self._model.diverged()
        if why:
            import warnings

            warnings.warn(f"{why}; the best weights before it are kept", RuntimeWarning, stacklevel=2)
        return self

    def _progress_callback(self) -> Optional[Callable]:
        p = self.progress
        if p is None or p is False:
            return None
        if callable(p):
            return p
        try:
            from tqdm.auto import tqdm
        except ImportError:
            tqdm = None
        bars: dict = {}

        def show(r: dict) -> None:
            key = (r["candidate"], r["index"])
            val = r["val_loss"]
            text = f"[{r['candidate']} {r['index'] + 1}/{r['of']}] train {r['train_loss']:.5f} val {val if val is None else f'{val:.5f}'}"
            if tqdm is not None:
                bar = bars.get(key)
                if bar is None:
                    bar = bars[key] = tqdm(total=r["epochs"], desc=r["candidate"], leave=False)
                bar.update(r["epoch"] - bar.n)
                bar.set_postfix_str(text)
            else:
                print(f"epoch {r['epoch']}/{r['epochs']} {text}", file=sys.stderr)

        return show

    def _fitted(self) -> _native.Model:
        if self._model is None:
            raise LstmcastError("invalid configuration: model: not fitted; call fit(df) or Forecaster.load(path) first")
        return self._model

    def _data(self, df: Any, what: str) -> pd.DataFrame:
        """`df`, or the frame given to fit, as pandas with the layout's columns."""
        pdf = self._df if df is None else _pandas(df, "df", "data frame")
        if pdf is None:
            raise LstmcastError(f"{what}: no data; pass df (the history to {'forecast from' if what == 'predict' else 'score'})")
        _check_columns(pdf, self._need_layout().columns(), "data frame")
        return pdf

    # -- forecasting ----------------------------------------------------------------------

    def predict(
        self,
        df: Any = None,
        futr_df: Any = None,
        level: Union[None, float, Sequence[float]] = _DEFAULT,  # type: ignore[assignment]
        h: Optional[int] = None,
        static_df: Any = None,
    ) -> pd.DataFrame:
        """Forecasts the steps after the end of each series of ``df`` (default: the frame given
        to ``fit``), as ``lstmcast forecast`` does. ``futr_df`` holds the future-known values of
        those steps (if the model has any), ``level`` the interval levels to return (default:
        every level the model was calibrated for; ``80`` or ``[80, 95]``; ``[]`` or ``None``
        for none), ``h`` another horizon, ``static_df`` the static values of series the model
        has not seen. Returns a long frame ``unique_id, ds, lstm, lstm-lo-80, lstm-hi-80, ...``
        with the ids and times in the types of ``df``."""
        model = self._fitted()
        layout = self._need_layout()
        pdf = self._data(df, "predict")
        frame = _frame(pdf, layout.columns(), "data frame")
        future = None
        if futr_df is not None:
            fdf = _pandas(futr_df, "futr_df", "futr_df")
            cols = layout.columns(with_targets=False)
            cols = [c for c in cols if c not in layout.static]
            _check_columns(fdf, cols, "futr_df")
            future = _frame(fdf, cols, "futr_df")
        statics = None
        if static_df is not None:
            statics = _statics(_pandas(static_df, "static_df", "static_df"), layout)
        text, skipped = model.forecast(frame, future, statics, h, self.threads)
        if skipped:
            import warnings

            for sid, why in skipped:
                warnings.warn(f"series {sid} not forecast by the network: {why}", RuntimeWarning, stacklevel=2)
        out = _Types.of(pdf, layout).read(text, [layout.time_col])
        targets = model.targets()
        out = out.rename(columns={c: _rename(c, targets) for c in out.columns})
        out = self._select_levels(out, model, level)
        return _like(out, df if df is not None else self._source)

    def _select_levels(self, out: pd.DataFrame, model, level) -> pd.DataFrame:
        have = model.levels()
        if level is _DEFAULT:
            return out
        if isinstance(level, (int, float, np.integer, np.floating)) and not isinstance(level, bool):
            level = [level]
        want = [] if level is None else [float(x) for x in level]
        missing = [x for x in want if x not in have]
        if missing:
            raise LstmcastError(
                f"invalid configuration: level: {', '.join(_level(x) for x in missing)} not calibrated; the model has "
                f"{', '.join(_level(x) for x in have) or 'no intervals'} (set intervals=[...] when creating the Forecaster)"
            )
        drop = [
            c for c in out.columns
            for x in have if x not in want and (c.endswith(f"-lo-{_level(x)}") or c.endswith(f"-hi-{_level(x)}"))
        ]
        return out.drop(columns=drop)

    def _need_layout(self) -> _Layout:
        if self._layout is None:
            self._fitted()
            raise LstmcastError("invalid configuration: model: its data layout is unknown")
        return self._layout

    # -- evaluation -----------------------------------------------------------------------

    def evaluate(self, df: Any = None) -> Evaluation:
        """Scores the model on the test part of ``df`` (default: the frame given to ``fit``) as
        ``lstmcast evaluate`` does, beside the naive, seasonal-naive and ETS baselines. The
        predictions' ids and origins come back in the types of ``df``."""
        model = self._fitted()
        layout = self._need_layout()
        pdf = self._data(df, "evaluate")
        metrics, predictions = model.evaluate(_frame(pdf, layout.columns(), "data frame"), self.threads)
        return Evaluation(json.loads(metrics), _Types.of(pdf, layout).read(predictions, ["origin"]))

    def report(self, path: Union[str, os.PathLike, None] = None, df: Any = None) -> "Report":
        """Writes ``report.html`` (the page ``lstmcast train`` writes into its run folder: the
        verdict, the scores, the forecast with its bands, every series of a panel, training and
        what ``auto`` chose) for ``df`` (default: the frame given to ``fit``) to ``path`` (default:
        ``report.html`` in a new temporary folder) and returns it: a path-like object that a
        notebook shows inline."""
        model = self._fitted()
        layout = self._need_layout()
        pdf = self._data(df, "report")
        html = model.report_html(_frame(pdf, layout.columns(), "data frame"), self.threads)
        if path is None:
            path = os.path.join(tempfile.mkdtemp(prefix="lstmcast-report-"), "report.html")
        path = os.fspath(path)
        with open(path, "w", encoding="utf-8") as f:
            f.write(html)
        return Report(path)

    # -- persistence ----------------------------------------------------------------------

    def save(self, path: Union[str, os.PathLike], overwrite: bool = False) -> None:
        """Writes the model into a new folder, as ``lstmcast train``'s run folder holds it:
        ``lstmcast forecast --model PATH`` reads it, and :meth:`Forecaster.load` reads the
        CLI's run folders."""
        self._fitted().save(os.fspath(path), overwrite)

    @classmethod
    def load(cls, path: Union[str, os.PathLike]) -> "Forecaster":
        """A forecaster from a run folder of ``lstmcast train`` or :meth:`save`; ``predict``
        and ``evaluate`` then need ``df`` (and give ids and times in its types)."""
        model = _native.Model.load(os.fspath(path))
        return cls._from_model(model)

    @classmethod
    def _from_model(cls, model: "_native.Model") -> "Forecaster":
        cfg = json.loads(model.config_json())
        self = cls.__new__(cls)
        self._options = {}
        self._config = cfg
        self.threads = None
        self.progress = False
        self._model = model
        d = cfg["data"]
        self._layout = _Layout(
            id_col=d.get("id_col"),
            time_col=d.get("time_col") or "ds",
            target=list(d.get("target") or []),
            past=list(d.get("past") or []) + list(d.get("features") or []),
            future_known=list(d.get("future_known") or []),
            static=list(d.get("static") or []),
        )
        self._df = None
        self._static_df = None
        self._source = None
        return self

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_model"] = None if self._model is None else dict(self._model.files())
        if callable(state.get("progress")):
            # A function (often a lambda) need not pickle; the copy reports nothing.
            state["progress"] = False
        return state

    def __setstate__(self, state: dict) -> None:
        files = state.pop("_model")
        self.__dict__.update(state)
        self._model = None if files is None else _native.Model.from_files(list(files.items()))

    # -- the backtest ---------------------------------------------------------------------

    def cross_validation(
        self,
        df: Any,
        n_windows: int = 5,
        refit: Union[bool, str] = True,
        window: str = "expanding",
        jobs: Optional[int] = None,
        id_col: Any = _DEFAULT,
        time_col: str = "ds",
        target: Union[str, Sequence[str]] = "y",
        future_known: Optional[Sequence[str]] = None,
        past: Optional[Sequence[str]] = None,
        static: Optional[Sequence[str]] = None,
        static_df: Any = None,
    ) -> pd.DataFrame:
        """The walk-forward backtest of ``lstmcast backtest``: ``n_windows`` folds, each model
        refitted (``refit=True``, the CLI's ``every``) or the first one reused (``False``,
        ``once``), ``jobs`` folds at a time. ``static_df`` holds static values per series
        (``--static-data``); without it, a forecaster fitted with one uses that one. Returns
        backtest.csv as a frame (ids and origins in the types of ``df``); its ``attrs`` hold
        ``folds`` (folds.csv) and ``metrics`` (metrics.json). Ctrl-C stops it."""
        refit_name = refit if isinstance(refit, str) else ("every" if refit else "once")
        inputs = self._cv_inputs(df, id_col, time_col, target, past, future_known, static, static_df)
        return self._cv_result(inputs, n_windows, refit_name, window, jobs, None)

    def _cv_inputs(self, df, id_col, time_col, target, past, future_known, static, static_df=None) -> _Inputs:
        """What a backtest or a search reads. Without ``static_df``, the one given to ``fit``."""
        pdf = _pandas(df, "df", "data frame")
        layout = self._layout_of(pdf, id_col, time_col, target, past, future_known, static)
        sdf = self._static_df if static_df is None else _pandas(static_df, "static_df", "static_df")
        statics = _statics(sdf, layout)
        frame = _frame(pdf, layout.columns(), "data frame")
        return _Inputs(layout, _Types.of(pdf, layout), json.dumps(self._config), layout.options(self._config),
                       frame, statics, sdf)

    def _cv_result(self, inputs: _Inputs, n_windows, refit, window, jobs, done) -> pd.DataFrame:
        bt, folds, metrics = _native.cross_validation(
            inputs.cfg_json, inputs.data_json, inputs.frame, folds=n_windows, refit=refit, window=window,
            jobs=jobs, done=done, statics=inputs.statics,
        )
        out = inputs.types.read(bt, ["origin"])
        out.attrs["folds"] = inputs.types.read(folds, ["origin"])
        out.attrs["metrics"] = json.loads(metrics)
        return out

    # -- tuning ---------------------------------------------------------------------------

    def tune(
        self,
        df: Any,
        trials: int = 20,
        search: Optional[dict] = None,
        jobs: Optional[int] = None,
        id_col: Any = _DEFAULT,
        time_col: str = "ds",
        target: Union[str, Sequence[str]] = "y",
        future_known: Optional[Sequence[str]] = None,
        past: Optional[Sequence[str]] = None,
        static: Optional[Sequence[str]] = None,
        static_df: Any = None,
    ) -> pd.DataFrame:
        """The search of ``lstmcast tune``: ``trials`` configurations around this one,
        successive halving over the epochs, ranked on validation; ``search`` is the CLI's
        ``[tune]`` table (``lookback``, ``layers``, ``dropout``, ``learning_rate``, ``batch_size``,
        ``normalize``, ``calendar``, ``min_epochs``, ``eta``, ``select``; default: chosen from the
        data). ``static_df`` as for :meth:`cross_validation` (default: the one given to ``fit``).
        Afterwards this forecaster holds the best configuration, fitted (the best trial's
        model when it ran the full budget, else retrained); returns trials.csv as a frame."""
        inputs = self._cv_inputs(df, id_col, time_col, target, past, future_known, static, static_df)
        return self._tune(inputs, df, trials, search, jobs, None)

    def _tune(self, inputs: _Inputs, df, trials, search, jobs, run_rung) -> pd.DataFrame:
        space = dict(search or {})
        space["trials"] = trials
        text, best, model = _native.tune(
            inputs.cfg_json, inputs.data_json, inputs.frame, json.dumps(space), jobs=jobs, run_rung=run_rung,
            statics=inputs.statics,
        )
        self._config = json.loads(best)
        self._model, self._layout, self._df, self._source = model, inputs.layout, _pandas(df, "df", "data frame"), df
        self._static_df = inputs.static_df
        return pd.read_csv(io.StringIO(text))

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self._options.items())
        state = "fitted" if self._model is not None else "not fitted"
        return f"Forecaster({opts}) [{state}]"


def _level(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def cross_validation(df: Any, n_windows: int = 5, **kwargs: Any) -> pd.DataFrame:
    """``Forecaster(**options).cross_validation(df, n_windows, ...)`` in one call."""
    layout_keys = {"refit", "window", "jobs", "id_col", "time_col", "target", "future_known", "past", "static", "static_df"}
    call = {k: kwargs.pop(k) for k in list(kwargs) if k in layout_keys}
    return Forecaster(**kwargs).cross_validation(df, n_windows=n_windows, **call)
