"""Scale-out on Ray: lstmcast's independent work as Ray tasks, with the results of the local run.

    import ray, lstmcast, lstmcast.ray
    ray.init()                                   # or ray.init(address="ray://head:10001")
    cv = lstmcast.ray.cross_validation(lstmcast.Forecaster(horizon=7), df, n_windows=4)
    models = lstmcast.ray.fit_groups(lstmcast.Forecaster(horizon=7), df, by="region")

Each backtest fold (``refit=True``) and each group's model is one task; every one trains from the
configuration's seed, so where and in which order the tasks run changes no bit. The training of one
global model stays on one machine (its batches use that machine's cores); Ray spreads independent
trainings, not one. When a task fails, or on Ctrl-C, the tasks still running are cancelled.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence, Union

import pandas as pd

from . import Forecaster, _native, _pandas

__all__ = ["cross_validation", "tune", "fit_groups", "predict_groups"]


def _ray():
    try:
        import ray
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("lstmcast.ray needs Ray: pip install 'ray>=2.9'") from e
    if not ray.is_initialized():
        ray.init()
    return ray


def _gather(ray, refs: list, interrupted: Callable[[], bool] = lambda: False) -> list:
    """The tasks' results in order, waiting 0.2 s at a time: when one fails, or `interrupted()`
    (a loop run inside a native call, which sees Ctrl-C only through it), or on Ctrl-C here,
    the outstanding tasks are cancelled and the error (KeyboardInterrupt) is raised."""
    pending = list(refs)
    got: dict = {}
    try:
        while pending:
            ready, pending = ray.wait(pending, num_returns=len(pending), timeout=0.2)
            for r in ready:
                got[r] = ray.get(r)
            if pending and interrupted():
                raise KeyboardInterrupt("interrupted")
    except BaseException:
        for r in pending:
            try:
                ray.cancel(r, force=True)
            except Exception:  # noqa: BLE001 - a task that just finished cannot be cancelled
                pass
        raise
    return [got[r] for r in refs]


def _layout_args(layout: dict) -> tuple:
    args = (
        layout.pop("id_col", _default()),
        layout.pop("time_col", "ds"),
        layout.pop("target", "y"),
        layout.pop("past", None),
        layout.pop("future_known", None),
        layout.pop("static", None),
        layout.pop("static_df", None),
    )
    if layout:
        raise TypeError(f"unexpected arguments: {', '.join(layout)}")
    return args


def _fold(cfg_json: str, data_json: str, frame, statics, folds: int, window: str, i: int):
    return _native.backtest_fold(cfg_json, data_json, frame, folds, window, i, statics=statics)


def cross_validation(
    forecaster: Forecaster,
    df: Any,
    n_windows: int = 5,
    window: str = "expanding",
    num_cpus: float = 1,
    **layout: Any,
) -> pd.DataFrame:
    """``forecaster.cross_validation(df, n_windows, refit=True, ...)`` with every fold a Ray task
    (``num_cpus`` each); the same frame, to the bit, as the local run. ``layout`` is ``fit``'s
    column arguments (``id_col``, ``time_col``, ``target``, ..., ``static_df``; without
    ``static_df``, the one the forecaster was fitted with)."""
    ray = _ray()
    inputs = forecaster._cv_inputs(df, *_layout_args(layout))
    task = ray.remote(num_cpus=num_cpus)(_fold)
    frame_ref = ray.put(inputs.frame)
    statics_ref = ray.put(inputs.statics)
    refs = [
        task.remote(inputs.cfg_json, inputs.data_json, frame_ref, statics_ref, n_windows, window, i)
        for i in range(n_windows)
    ]
    done = _gather(ray, refs)
    return forecaster._cv_result(inputs, n_windows, "every", window, 1, done)


def _trial(cfg_json: str, data_json: str, frame, statics, space_json: str, trial: int, rung: int):
    return _native.tune_trial(cfg_json, data_json, frame, space_json, trial, rung, statics=statics)


def tune(
    forecaster: Forecaster,
    df: Any,
    trials: int = 20,
    search: Optional[dict] = None,
    num_cpus: float = 1,
    **layout: Any,
) -> pd.DataFrame:
    """``forecaster.tune(df, trials, search, ...)`` with every trial of every rung a Ray task
    (``num_cpus`` each), rung by rung: the same trials, promotions and best configuration as
    the local search (``trials.csv`` equal but for the measured seconds; each task retrains its
    trial from the seed through its rung). The best configuration is then trained here.
    ``layout`` as for :func:`cross_validation` (``static_df`` included). Ctrl-C cancels the
    running trials."""
    ray = _ray()
    inputs = forecaster._cv_inputs(df, *_layout_args(layout))
    task = ray.remote(num_cpus=num_cpus)(_trial)
    frame_ref = ray.put(inputs.frame)
    statics_ref = ray.put(inputs.statics)

    def run_rung(space_json: str, members: list, rung: int):
        refs = [
            task.remote(inputs.cfg_json, inputs.data_json, frame_ref, statics_ref, space_json, t, rung)
            for t in members
        ]
        # Runs inside the native search, on its thread: Ctrl-C reaches it as `interrupted()`.
        return _gather(ray, refs, _native.interrupted)

    return forecaster._tune(inputs, df, trials, search, None, run_rung)


def _default():
    from . import _DEFAULT

    return _DEFAULT


def _fit_one(forecaster: Forecaster, group: pd.DataFrame, fit_args: dict, threads: Optional[int] = None) -> Forecaster:
    if threads is None or forecaster.threads is not None:
        return forecaster.fit(group, **fit_args)
    # The task's copy trains on the cores it reserved, and predicts later on all (as before).
    forecaster.threads = threads
    try:
        return forecaster.fit(group, **fit_args)
    finally:
        forecaster.threads = None


def _groups(df: Any, by: Union[str, Sequence[str]]):
    pdf = _pandas(df, "df", "data frame")
    keys = [by] if isinstance(by, str) else list(by)
    missing = [k for k in keys if k not in pdf.columns]
    if missing:
        raise _native.LstmcastError(f"data frame: no column {', '.join(map(repr, missing))} to group by")
    for key, group in pdf.groupby(keys if len(keys) > 1 else keys[0], sort=True):
        yield key, group.drop(columns=keys).reset_index(drop=True)


def fit_groups(
    forecaster: Forecaster,
    df: Any,
    by: Union[str, Sequence[str]],
    local: bool = False,
    num_cpus: float = 1,
    **fit_args: Any,
) -> dict:
    """One model per group of ``df`` (the rows sharing the values of ``by``, for example a
    region), each a copy of ``forecaster`` fitted on its group as a Ray task with ``num_cpus``
    (``local=True``: one after another here, for comparison). A task trains on
    ``max(1, int(num_cpus))`` threads unless the forecaster sets ``threads``. Returns
    ``{key: Forecaster}`` in key order; the models are the ones the local loop trains, to the
    bit."""
    groups = list(_groups(df, by))
    if local:
        import copy

        return {k: _fit_one(copy.deepcopy(forecaster), g, fit_args) for k, g in groups}
    ray = _ray()
    task = ray.remote(num_cpus=num_cpus)(_fit_one)
    threads = max(1, int(num_cpus))
    refs = [task.remote(forecaster, g, fit_args, threads) for _, g in groups]
    return dict(zip([k for k, _ in groups], _gather(ray, refs)))


def predict_groups(models: dict, by: Union[str, Sequence[str]], **predict_args: Any) -> pd.DataFrame:
    """Every group's forecast (``Forecaster.predict``) in one frame, with the group's key
    column(s) first."""
    keys = [by] if isinstance(by, str) else list(by)
    parts = []
    for key, m in models.items():
        fc = m.predict(**predict_args)
        values = key if isinstance(key, tuple) else (key,)
        for name, v in reversed(list(zip(keys, values))):
            fc.insert(0, name, v)
        parts.append(fc)
    return pd.concat(parts, ignore_index=True)
