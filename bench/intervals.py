#!/usr/bin/env python3
"""Coverage, scaled width and MSIS of the 80/95 % bands of run folders, from their metrics.json.

    python3 bench/intervals.py RUN_OR_FOLDER_OF_RUNS...

Each argument is a run folder (a `train` run: metrics.json beside predictions.csv) or a folder of
them (as the accuracy bench's `--runs DIR` keeps them). Per level it prints, over every series of
every run: the coverage of the scored test predictions (pooled over predictions), the mean width
divided by the series' MASE scale and the MSIS (both averaged over series, each series weighing
the same, the M4 competition's way), and how many predictions got no band (refused for too few
calibration errors). A series without a MASE scale (too few training rows for its seasonal
naive) counts in the coverage but not in the width or the MSIS; the line says how many. The MASE scale of a series is its model's test MAE over its test MASE, as
metrics.json records them. Standard library only.
"""
import json
import os
import sys


def runs(paths):
    for p in paths:
        if os.path.isfile(os.path.join(p, "metrics.json")):
            yield p
        else:
            for d in sorted(os.listdir(p)):
                if os.path.isfile(os.path.join(p, d, "metrics.json")):
                    yield os.path.join(p, d)


def main(paths):
    levels = {}
    n_runs = 0
    for run in runs(paths):
        n_runs += 1
        t = json.load(open(os.path.join(run, "metrics.json")))["test"]
        panel = t.get("panel")
        if panel:  # a panel: per series and target
            cells = [(b, (panel["per_series"].get(s, {}).get(k) or {}).get("model") or {})
                     for s, targets in panel["intervals"].items() for k, b in targets.items()]
        else:
            cells = [(b, (t["overall"].get(k) or {}).get("model") or {}) for k, b in (t.get("intervals") or {}).items()]
        for bands, model in cells:
            scale = model["mae"] / model["mase"] if model.get("mase") else None
            for b in bands:
                row = levels.setdefault(b["level"], {"hit": 0.0, "scored": 0, "refused": 0, "width": [], "msis": [], "unscaled": 0})
                row["refused"] += b["refused"]
                if b["scored"] and b["coverage"] is not None:
                    row["hit"] += b["coverage"] / 100 * b["scored"]
                    row["scored"] += b["scored"]
                    if scale and b["msis"] is not None:
                        row["msis"].append(b["msis"])
                        row["width"].append(b["mean_width"] / scale)
                    else:  # no MASE scale on the training rows (fewer than a season and one)
                        row["unscaled"] += 1
    if not n_runs:
        sys.exit("no run folder (metrics.json) under " + " ".join(paths))
    for level in sorted(levels):
        r = levels[level]
        mean = lambda v: sum(v) / len(v) if v else float("nan")
        cov = 100 * r["hit"] / r["scored"] if r["scored"] else float("nan")
        print(f"{level:g} %: coverage {cov:.1f} %, scaled width {mean(r['width']):.2f}, MSIS {mean(r['msis']):.2f}"
              f" ({r['scored']} predictions over {len(r['msis']) + r['unscaled']} series, {r['refused']} refused;"
              f" {r['unscaled']} series without a MASE scale left out of width and MSIS; {n_runs} runs)")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
