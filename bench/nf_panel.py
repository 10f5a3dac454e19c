"""NeuralForecast LSTM side of bench/panel_peers.sh: one global model per panel, one thread.

Fits once on the rows before test_start (the last val_size timestamps, i.e. the protocol's
validation rows, drive early stopping), then forecasts every protocol test window without
refitting (NeuralForecast.cross_validation(refit=False, use_fitted=True, step_size=1)), checks
that the (series, origin, step) set and the actuals equal the protocol's (bench/panel_score.py),
and writes predictions.csv (series_id,origin,step,target,actual,predicted) and meta.json.

  nf_panel.py --data data/weather_cities_daily.csv --id-col city --target avg_temp_f \
      --lookback 28 --horizon 7 --freq D --out bench/out/panel/nf-weather
"""
import os

for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
           "VECLIB_MAXIMUM_THREADS", "POLARS_MAX_THREADS", "RAYON_NUM_THREADS"):
    os.environ[_v] = "1"
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")  # CPU only, like lstmcast

import argparse
import json
import logging
import math
import platform
import sys
import time
import warnings

sys.dont_write_bytecode = True  # no bench/__pycache__ in the work tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import panel_score as ps  # noqa: E402  (the common protocol)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--id-col", required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--time-col", default="date")
    ap.add_argument("--lookback", type=int, required=True)
    ap.add_argument("--horizon", type=int, required=True)
    ap.add_argument("--freq", required=True, help="pandas frequency: D, YS, ...")
    ap.add_argument("--epochs", type=float, default=100,
                    help="max_steps = ceil(epochs * training windows / windows_batch_size)")
    ap.add_argument("--max-steps", type=int, help="overrides --epochs")
    ap.add_argument("--patience", type=int, default=10, help="early_stop_patience_steps (in validation checks)")
    ap.add_argument("--val-check-steps", type=int, help="default: one epoch of training windows")
    ap.add_argument("--windows-batch-size", type=int, default=128)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True, help="folder for predictions.csv and meta.json")
    a = ap.parse_args()

    import numpy as np
    import pandas as pd
    import torch

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    import neuralforecast
    from neuralforecast import NeuralForecast
    from neuralforecast.losses.pytorch import MAE
    from neuralforecast.models import LSTM
    from pytorch_lightning import Callback

    class Record(Callback):
        """Optimizer steps run and the validation loss at each check (NF keeps no history)."""

        def __init__(self):
            self.steps, self.val = 0, []

        def on_train_batch_end(self, trainer, *args):
            self.steps = int(trainer.global_step)

        def on_validation_end(self, trainer, pl_module):
            v = trainer.callback_metrics.get("ptl/val_loss")
            if v is not None and not trainer.sanity_checking:
                self.val.append((int(trainer.global_step), round(float(v), 5)))

    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")

    L, H = a.lookback, a.horizon
    # The protocol, computed by the scorer's own code.
    series = ps.load_panel(a.data, a.id_col, a.target, a.time_col)
    val_start, test_start = ps.split_bounds(series)
    windows = ps.test_windows(series, L, H)
    n_test_ts = len({t for rows in series.values() for t, _ in rows if t >= test_start})
    n_val_ts = len({t for rows in series.values() for t, _ in rows if val_start <= t < test_start})
    origins_per_series = {s: sum(1 for k in windows if k[0] == s) for s in series}
    n_windows = n_test_ts - H + 1
    if set(origins_per_series.values()) != {n_windows}:
        raise SystemExit(f"NF cross_validation needs the same test windows in every series: {origins_per_series}")
    # Training windows (targets entirely before val_start), for the epoch-equivalent step budget.
    n_train_windows = sum(max(0, sum(t < val_start for t, _ in rows) - L - H + 1) for rows in series.values())
    steps_per_epoch = math.ceil(n_train_windows / a.windows_batch_size)
    max_steps = a.max_steps or math.ceil(a.epochs * n_train_windows / a.windows_batch_size)
    val_check_steps = a.val_check_steps or steps_per_epoch

    df = pd.read_csv(a.data, dtype={a.id_col: str})
    df = pd.DataFrame({"unique_id": df[a.id_col].astype(str), "ds": pd.to_datetime(df[a.time_col]),
                       "y": df[a.target].astype("float64")}).sort_values(["unique_id", "ds"], ignore_index=True)
    train_df = df[df["ds"] < pd.Timestamp(test_start)].reset_index(drop=True)

    hp = dict(h=H, input_size=L, scaler_type="standard", max_steps=max_steps,
              early_stop_patience_steps=a.patience, val_check_steps=val_check_steps,
              windows_batch_size=a.windows_batch_size, random_seed=a.seed,
              # NeuralForecast's LSTM defaults, spelled out so that they are recorded:
              encoder_n_layers=2, encoder_hidden_size=128, encoder_dropout=0.0,
              decoder_hidden_size=128, decoder_layers=2, recurrent=False,
              learning_rate=1e-3, batch_size=32, loss="MAE", valid_loss="MAE (= loss)")
    trainer = dict(accelerator="cpu", devices=1, logger=False, enable_progress_bar=False,
                   enable_model_summary=False, enable_checkpointing=False)
    model_kwargs = {k: v for k, v in hp.items() if k not in ("loss", "valid_loss")}
    model = LSTM(loss=MAE(), **model_kwargs, **trainer, callbacks=[Record()])
    nf = NeuralForecast(models=[model], freq=a.freq)

    t0 = time.perf_counter()
    nf.fit(df=train_df, val_size=n_val_ts)
    fit_s = time.perf_counter() - t0
    fitted = nf.models[0]  # NeuralForecast fits a deep copy of `model`
    rec = next(cb for cb in fitted.trainer_kwargs["callbacks"] if type(cb).__name__ == "Record")
    gstep = rec.steps
    metrics = {k: float(v) for k, v in (getattr(fitted, "metrics", None) or {}).items()}

    t0 = time.perf_counter()
    cv = nf.cross_validation(df=df, n_windows=n_windows, step_size=1, refit=False, use_fitted=True)
    predict_s = time.perf_counter() - t0

    # (unique_id, cutoff) -> origin = first target timestamp, step = rank within the window.
    cv = cv.sort_values(["unique_id", "cutoff", "ds"], ignore_index=True)
    cv["step"] = cv.groupby(["unique_id", "cutoff"]).cumcount() + 1
    cv["origin"] = cv.groupby(["unique_id", "cutoff"])["ds"].transform("min").dt.strftime("%Y-%m-%d")
    cv["ds_iso"] = cv["ds"].dt.strftime("%Y-%m-%d")

    # Verify against the protocol: same (series, origin) set, each step's timestamp and actual.
    got = set(zip(cv["unique_id"], cv["origin"]))
    if got != set(windows):
        raise SystemExit(f"NF windows differ from the protocol: {len(got - set(windows))} extra, "
                         f"{len(set(windows) - got)} missing, e.g. {sorted(got ^ set(windows))[:3]}")
    if len(cv) != len(windows) * H or cv["step"].max() != H:
        raise SystemExit(f"NF returned {len(cv)} rows, protocol has {len(windows) * H}")
    for sid, origin, step, ds, y in zip(cv["unique_id"], cv["origin"], cv["step"], cv["ds_iso"], cv["y"]):
        t_row, y_row = series[sid][windows[(sid, origin)] + step - 1]
        if t_row != ds or abs(y_row - y) > 1e-9 * max(1, abs(y_row)):
            raise SystemExit(f"{sid} {origin} step {step}: NF ds/y {ds}/{y} != protocol {t_row}/{y_row}")
        # The input window (rows t-L..t-1) must precede the origin: cutoff = row t-1.
    bad = cv[cv["cutoff"].dt.strftime("%Y-%m-%d") >= cv["origin"]]
    if len(bad):
        raise SystemExit(f"cutoff not before origin: {bad.head()}")

    os.makedirs(a.out, exist_ok=True)
    pd.DataFrame({"series_id": cv["unique_id"], "origin": cv["origin"], "step": cv["step"],
                  "target": a.target, "actual": cv["y"], "predicted": cv["LSTM"]}).to_csv(
        os.path.join(a.out, "predictions.csv"), index=False)
    meta = {
        "tool": "neuralforecast.LSTM", "neuralforecast": neuralforecast.__version__,
        "torch": torch.__version__, "pandas": pd.__version__, "numpy": np.__version__,
        "python": platform.python_version(), "threads": torch.get_num_threads(),
        "data": a.data, "freq": a.freq, "val_start": val_start, "test_start": test_start,
        "val_size": n_val_ts, "n_windows_per_series": n_windows, "n_train_windows": n_train_windows,
        "steps_per_epoch": steps_per_epoch, "hyperparameters": hp, "trainer": trainer,
        "optimizer_steps_run": gstep, "max_steps": max_steps, "val_loss_history": rec.val,
        "early_stopped": gstep is not None and gstep < max_steps,
        "final_metrics": metrics,
        "best_val_loss": min((v for _, v in rec.val), default=None),
        "fit_s": fit_s, "predict_s": predict_s,
        "fit_note": None,
    }
    meta["fit_note"] = (f"NF fit {fit_s:.1f}s + predict {predict_s:.1f}s, {gstep} of {max_steps} steps "
                        f"({'early-stopped' if meta['early_stopped'] else 'ran to max_steps'}; NF keeps the "
                        f"last weights, not the best)")
    json.dump(meta, open(os.path.join(a.out, "meta.json"), "w"), indent=1, default=str)
    print(json.dumps({k: meta[k] for k in ("fit_s", "predict_s", "optimizer_steps_run", "max_steps",
                                           "val_size", "n_windows_per_series")}))


if __name__ == "__main__":
    main()
