"""lstmcast from Python: LSTM forecasting with the lstmcast engine on pandas or polars frames.

    import lstmcast
    m = lstmcast.Forecaster(lookback=24, horizon=12, seed=42)
    m.fit(df)                        # long frame: unique_id, ds, y (no unique_id: one series)
    fc = m.predict(level=[80, 95])   # unique_id, ds, lstm, lstm-lo-80, lstm-hi-80, ...

The options are the CLI's flags as keyword arguments (``--batch-size`` is ``batch_size``), the
data's layout is given to ``fit``, and every result is the one the CLI gives on the same data and
seed: training, evaluation, forecasts and the backtest run in the Rust library with the GIL
released, and the frames cross as numpy columns.
"""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional, Sequence, Union

import numpy as np
import pandas as pd

from . import _native
from ._native import LstmcastError

__all__ = ["Forecaster", "LstmcastError", "Evaluation", "cross_validation", "__version__"]
__version__ = _native.__version__

_DEFAULT = object()
MODEL = "lstm"


# ---------------------------------------------------------------------------------------------
# Frames → columns for the Rust loader
# ---------------------------------------------------------------------------------------------

def _is_polars(df: Any) -> bool:
    return type(df).__module__.split(".")[0] == "polars"


def _pandas(df: Any, what: str) -> pd.DataFrame:
    """A pandas view of a pandas or polars frame (polars through its numpy columns)."""
    if isinstance(df, pd.DataFrame):
        return df
    if _is_polars(df):
        out = {}
        for name in df.columns:
            s = df.get_column(name)
            dtype = str(s.dtype)
            if dtype.startswith("Datetime") or dtype == "Date":
                out[name] = pd.to_datetime(s.cast(_polars().Datetime("ns")).to_numpy())
            elif s.dtype.is_numeric() if hasattr(s.dtype, "is_numeric") else False:
                out[name] = s.to_numpy()
            else:
                out[name] = pd.array(s.to_list(), dtype=object)
        return pd.DataFrame(out)
    raise TypeError(f"{what} must be a pandas or polars DataFrame, not {type(df).__name__}")


def _polars():
    import polars

    return polars


def _like(out: pd.DataFrame, source: Any) -> Any:
    """`out` as a polars frame when the data came as one (without pyarrow: column by column)."""
    if source is None or not _is_polars(source):
        return out
    pl = _polars()
    cols = {}
    for c in out.columns:
        s = out[c]
        cols[c] = s.to_numpy() if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_datetime64_any_dtype(s) else s.astype(object).tolist()
    return pl.DataFrame(cols)


def _column(s: pd.Series) -> tuple[str, Any]:
    """One column as (kind, values) for the native loader: no per-row Python loop."""
    dtype = s.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        # Wall-clock time in the column's own zone.
        s = s.dt.tz_localize(None)
        dtype = s.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        ns = s.astype("datetime64[ns]").to_numpy().view("i8")
        return "t", np.ascontiguousarray(ns)
    if pd.api.types.is_bool_dtype(dtype):
        return "f", s.astype("float64").to_numpy(dtype="float64", na_value=np.nan)
    if pd.api.types.is_integer_dtype(dtype):
        if s.isna().any():
            return "f", s.to_numpy(dtype="float64", na_value=np.nan)
        return "i", np.ascontiguousarray(s.to_numpy(dtype="int64"))
    if pd.api.types.is_float_dtype(dtype):
        return "f", np.ascontiguousarray(s.to_numpy(dtype="float64", na_value=np.nan))
    text = s.astype("string").to_numpy(dtype=object, na_value=None)
    return "s", text.tolist()


def _frame(df: pd.DataFrame, columns: Sequence[str], name: str):
    header, kinds, cols = [], [], []
    for c in columns:
        kind, values = _column(df[c])
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
    time_kind: str = "s"
    id_dtype: Any = None

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

    def options(self, cfg: dict, static_data: Optional[str]) -> str:
        d = dict(cfg["data"])
        d.update(
            id_col=self.id_col,
            time_col=self.time_col,
            target=self.target,
            features=[],
            past=self.past,
            future_known=self.future_known,
            static=self.static,
            static_data=static_data,
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


def _static_file(static_df: Any, layout: _Layout, tmp: str) -> Optional[str]:
    """A static-values frame as the CSV file the library reads (`--static-data`): one row per series."""
    if static_df is None:
        return None
    sdf = _pandas(static_df, "static_df")
    if not layout.id_col:
        raise LstmcastError(
            "invalid configuration: static_data: the data holds one series (no id column), so static values per series do not apply; use them with a panel"
        )
    _check_columns(sdf, [layout.id_col], "static_df")
    path = os.path.join(tmp, "static.csv")
    sdf.to_csv(path, index=False)
    return path


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
class Evaluation:
    """What ``lstmcast evaluate`` reports: ``metrics`` (the content of metrics.json: MASE, RMSE
    and more beside the naive, seasonal-naive and ETS baselines, overall, per step and per
    series) and ``predictions`` (predictions.csv: every test window's forecasts)."""

    metrics: dict
    predictions: pd.DataFrame


# ---------------------------------------------------------------------------------------------
# The estimator
# ---------------------------------------------------------------------------------------------

class Forecaster:
    """An LSTM forecaster with the CLI's defaults. Keyword arguments are the CLI's options
    (``lookback``, ``horizon``, ``layers``, ``dropout``, ``epochs``, ``normalize``,
    ``intervals`` (levels in percent, or ``None`` for none), ``seed``, ``batch_size``,
    ``learning_rate``, ``patience``, ``calendar``, ``split``, ``fill``, ...); an unknown or bad
    one raises :class:`LstmcastError` at once, with the CLI's message."""

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
        kind, _ = _column(df[time_col].iloc[:1])
        layout.time_kind = kind
        if id_col:
            layout.id_dtype = df[id_col].dtype
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
    ) -> "Forecaster":
        """Trains on a long frame as ``lstmcast train`` does: split by calendar, scalers and
        every other statistic fitted on the training rows, the normalisation (and calendar
        features) chosen on the validation rows, early stopping with the best weights.

        ``id_col`` names the series (default ``unique_id``; a frame without it is one series),
        ``time_col`` the time, ``target`` the column(s) to forecast. ``past`` are inputs known
        only up to now, ``future_known`` inputs known ahead (rows at the end of a series with an
        empty target hold their future values), ``static`` columns constant per series, and
        ``static_df`` a frame of static values with one row per series (keyed by ``id_col``).
        Releases the GIL while training; Ctrl-C stops after the current batch."""
        pdf = _pandas(df, "df")
        layout = self._layout_of(pdf, id_col, time_col, target, past, future_known, static)
        sdf = None if static_df is None else _pandas(static_df, "static_df")
        with tempfile.TemporaryDirectory(prefix="lstmcast-") as tmp:
            data_json = layout.options(self._config, _static_file(sdf, layout, tmp))
            frame = _frame(pdf, layout.columns(), "data frame")
            self._model = _native.fit(
                json.dumps(self._config),
                data_json,
                frame,
                threads=self.threads,
                progress=self._progress_callback(),
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

    # -- forecasting ----------------------------------------------------------------------

    def predict(
        self,
        df: Any = None,
        futr_df: Any = None,
        level: Optional[Sequence[float]] = _DEFAULT,  # type: ignore[assignment]
        h: Optional[int] = None,
        static_df: Any = None,
    ) -> pd.DataFrame:
        """Forecasts the steps after the end of each series of ``df`` (default: the frame given
        to ``fit``), as ``lstmcast forecast`` does. ``futr_df`` holds the future-known values of
        those steps (if the model has any), ``level`` the interval levels to return (default:
        every level the model was calibrated for; ``[]`` for none), ``h`` another horizon.
        Returns a long frame ``unique_id, ds, lstm, lstm-lo-80, lstm-hi-80, ...``."""
        model = self._fitted()
        layout = self._need_layout()
        pdf = self._df if df is None else _pandas(df, "df")
        if pdf is None:
            raise LstmcastError("predict: no data; pass df (the history to forecast from)")
        sdf = self._static_df if static_df is None else _pandas(static_df, "static_df")
        _check_columns(pdf, layout.columns(), "data frame")
        frame = _frame(pdf, layout.columns(), "data frame")
        future = None
        if futr_df is not None:
            fdf = _pandas(futr_df, "futr_df")
            cols = layout.columns(with_targets=False)
            cols = [c for c in cols if c not in layout.static]
            _check_columns(fdf, cols, "futr_df")
            future = _frame(fdf, cols, "futr_df")
        with tempfile.TemporaryDirectory(prefix="lstmcast-") as tmp:
            static_path = _static_file(sdf, layout, tmp) if static_df is not None else None
            text, skipped = model.forecast(frame, future, static_path, h, self.threads)
        if skipped:
            import warnings

            for sid, why in skipped:
                warnings.warn(f"series {sid} not forecast: {why}", RuntimeWarning, stacklevel=2)
        out = self._select_levels(self._read_output(text, model), model, level)
        return _like(out, df if df is not None else self._source)

    def _select_levels(self, out: pd.DataFrame, model, level) -> pd.DataFrame:
        have = model.levels()
        if level is _DEFAULT:
            return out
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

    def _read_output(self, text: str, model) -> pd.DataFrame:
        layout = self._need_layout()
        dtypes = {"series_id": str} if layout.id_col else {}
        dtypes[layout.time_col] = str
        out = pd.read_csv(io.StringIO(text), dtype=dtypes)
        if layout.id_col:
            ids = out.pop("series_id")
            if layout.id_dtype is not None and pd.api.types.is_numeric_dtype(layout.id_dtype):
                ids = ids.astype(layout.id_dtype)
            out.insert(0, layout.id_col, ids)
        out[layout.time_col] = self._times(out[layout.time_col])
        targets = model.targets()
        return out.rename(columns={c: _rename(c, targets) for c in out.columns})

    def _times(self, s: pd.Series) -> pd.Series:
        kind = self._need_layout().time_kind
        if kind == "t":
            return pd.to_datetime(s)
        if kind == "i":
            return s.astype("int64")
        if kind == "f":
            return s.astype("float64")
        return s

    def _need_layout(self) -> _Layout:
        if self._layout is None:
            self._fitted()
            raise LstmcastError("invalid configuration: model: its data layout is unknown")
        return self._layout

    # -- evaluation -----------------------------------------------------------------------

    def evaluate(self, df: Any = None) -> Evaluation:
        """Scores the model on the test part of ``df`` (default: the frame given to ``fit``) as
        ``lstmcast evaluate`` does, beside the naive, seasonal-naive and ETS baselines."""
        model = self._fitted()
        layout = self._need_layout()
        pdf = self._df if df is None else _pandas(df, "df")
        if pdf is None:
            raise LstmcastError("evaluate: no data; pass df")
        _check_columns(pdf, layout.columns(), "data frame")
        metrics, predictions = model.evaluate(_frame(pdf, layout.columns(), "data frame"), self.threads)
        return Evaluation(json.loads(metrics), self._read_table(predictions))

    def _read_table(self, text: str) -> pd.DataFrame:
        layout = self._need_layout()
        out = pd.read_csv(io.StringIO(text), dtype={"series_id": str, "origin": str})
        if layout.id_col and "series_id" in out.columns:
            out = out.rename(columns={"series_id": layout.id_col})
        return out

    # -- persistence ----------------------------------------------------------------------

    def save(self, path: Union[str, os.PathLike], overwrite: bool = False) -> None:
        """Writes the model into a new folder, as ``lstmcast train``'s run folder holds it:
        ``lstmcast forecast --model PATH`` reads it, and :meth:`Forecaster.load` reads the
        CLI's run folders."""
        self._fitted().save(os.fspath(path), overwrite)

    @classmethod
    def load(cls, path: Union[str, os.PathLike]) -> "Forecaster":
        """A forecaster from a run folder of ``lstmcast train`` or :meth:`save`; ``predict``
        and ``evaluate`` then need ``df``."""
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
    ) -> pd.DataFrame:
        """The walk-forward backtest of ``lstmcast backtest``: ``n_windows`` folds, each model
        refitted (``refit=True``, the CLI's ``every``) or the first one reused (``False``,
        ``once``), ``jobs`` folds at a time. Returns backtest.csv as a frame; its ``attrs``
        hold ``folds`` (folds.csv) and ``metrics`` (metrics.json)."""
        refit_name = refit if isinstance(refit, str) else ("every" if refit else "once")
        inputs = self._cv_inputs(df, id_col, time_col, target, past, future_known, static)
        return self._cv_result(inputs, n_windows, refit_name, window, jobs, None)

    def _cv_inputs(self, df, id_col, time_col, target, past, future_known, static):
        """What a backtest reads: the configuration, the data options, the frame's columns."""
        pdf = _pandas(df, "df")
        layout = self._layout_of(pdf, id_col, time_col, target, past, future_known, static)
        frame = _frame(pdf, layout.columns(), "data frame")
        return layout, json.dumps(self._config), layout.options(self._config, None), frame

    def _cv_result(self, inputs, n_windows, refit, window, jobs, done) -> pd.DataFrame:
        layout, cfg_json, data_json, frame = inputs
        bt, folds, metrics = _native.cross_validation(
            cfg_json, data_json, frame, folds=n_windows, refit=refit, window=window, jobs=jobs, done=done
        )
        prev = self._layout
        self._layout = layout
        try:
            out = self._read_table(bt)
        finally:
            self._layout = prev
        out.attrs["folds"] = pd.read_csv(io.StringIO(folds))
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
    ) -> pd.DataFrame:
        """The search of ``lstmcast tune``: ``trials`` configurations around this one,
        successive halving over the epochs, ranked on validation; ``search`` is the CLI's
        ``[tune]`` table (``lookback``, ``layers``, ``dropout``, ``learning_rate``, ``batch_size``,
        ``normalize``, ``calendar``, ``min_epochs``, ``eta``, ``select``; default: chosen from the
        data). Afterwards this forecaster holds the best configuration, fitted (the best trial's
        model when it ran the full budget, else retrained); returns trials.csv as a frame."""
        inputs = self._cv_inputs(df, id_col, time_col, target, past, future_known, static)
        return self._tune(inputs, df, trials, search, jobs, None)

    def _tune(self, inputs, df, trials, search, jobs, run_rung) -> pd.DataFrame:
        layout, cfg_json, data_json, frame = inputs
        space = dict(search or {})
        space["trials"] = trials
        text, best, model = _native.tune(cfg_json, data_json, frame, json.dumps(space), jobs=jobs, run_rung=run_rung)
        self._config = json.loads(best)
        self._model, self._layout, self._df, self._source = model, layout, _pandas(df, "df"), df
        return pd.read_csv(io.StringIO(text))

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self._options.items())
        state = "fitted" if self._model is not None else "not fitted"
        return f"Forecaster({opts}) [{state}]"


def _level(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def cross_validation(df: Any, n_windows: int = 5, **kwargs: Any) -> pd.DataFrame:
    """``Forecaster(**options).cross_validation(df, n_windows, ...)`` in one call."""
    layout_keys = {"refit", "window", "jobs", "id_col", "time_col", "target", "future_known", "past", "static"}
    call = {k: kwargs.pop(k) for k in list(kwargs) if k in layout_keys}
    return Forecaster(**kwargs).cross_validation(df, n_windows=n_windows, **call)
