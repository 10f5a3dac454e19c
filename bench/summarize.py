"""Reads the JSON lines of bench/peers.sh and prints medians and ratios (stdlib only).

lstmcast prints one line per seed; the peer scripts print one line per example whose top-level
numbers are already medians over their repeats (per-repeat values under "runs").
"""
import json
import statistics
import sys
from collections import defaultdict

import os

# One 20-epoch training run of each reference example, in FLOP (../shared/bench/peers/README.md,
# "FLOP estimate": 8·H·(I+H) per LSTM step and sample, ×3 for training); the peers' own `flops`
# field wins where present. One core's FP32 peak: PEAK_GFLOPS (default 83: 2 FMA pipes × 8 lanes
# × 2 flop × 2.6 GHz, this machine's Zen 4).
RUN_FLOP = {1: 38.8e9, 2: 39.5e9, 3: 114.6e9}
PEAK = float(os.environ.get("PEAK_GFLOPS", "83")) * 1e9

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip().startswith("{")]
by = defaultdict(lambda: {"train_s": [], "test_mse": [], "predict_one_ms": []})
for r in rows:
    key = (int(r["example"]), r["framework"])
    runs = r.get("runs") or [r]
    for run in runs:
        for k in ("train_s", "test_mse", "predict_one_ms"):
            if k in run:
                by[key][k].append(float(run[k]))
            elif k in r:
                by[key][k].append(float(r[k]))

summary = {}
print("| ex | framework | train_s median | test MSE median (min..max) | predict 1 window ms | torch/x train | keras/x train |")
print("|---|---|---|---|---|---|---|")
for ex in sorted({k[0] for k in by}):
    med = {fw: {k: statistics.median(v) for k, v in by[(ex, fw)].items() if v} for (e, fw) in by if e == ex}
    for fw in ("lstmcast", "lstmcast-all", "torch", "torch-all", "keras"):
        if fw not in med:
            continue
        m = med[fw]
        mses = by[(ex, fw)]["test_mse"]
        t_ratio = med.get("torch", {}).get("train_s", float("nan")) / m["train_s"]
        k_ratio = med.get("keras", {}).get("train_s", float("nan")) / m["train_s"]
        print(f"| {ex} | {fw} | {m['train_s']:.3f} | {m['test_mse']:.2e} ({min(mses):.1e}..{max(mses):.1e}) | {m['predict_one_ms']:.4f} | {t_ratio:.2f} | {k_ratio:.2f} |")
        summary[f"{ex}/{fw}"] = {**m, "torch_over_this_train": t_ratio, "keras_over_this_train": k_ratio}
    flop = next((float(r["flops"]["train_flops_total"]) for r in rows
                 if int(r["example"]) == ex and isinstance(r.get("flops"), dict)
                 and "train_flops_total" in r["flops"]), RUN_FLOP.get(ex))
    if flop and "lstmcast" in med:
        rate = flop / med["lstmcast"]["train_s"]
        print(f"|   | **peak** | lstmcast trains at {rate / 1e9:.1f} GFLOP/s on one thread: {100 * rate / PEAK:.0f} % of one core's FP32 peak ({PEAK / 1e9:.0f} GFLOP/s) | | | | | |")
        summary[f"{ex}/lstmcast"]["peak_fraction"] = rate / PEAK
    lc, to = med.get("lstmcast"), med.get("torch")
    if lc and to:
        print(f"|   | **ratio** | lstmcast trains {to['train_s'] / lc['train_s']:.2f}x faster than torch, "
              f"{med.get('keras', {}).get('train_s', float('nan')) / lc['train_s']:.2f}x faster than keras, "
              f"{med.get('torch-all', {}).get('train_s', float('nan')) / lc['train_s']:.2f}x faster than torch on every core; "
              f"predicts one window {to['predict_one_ms'] / lc['predict_one_ms']:.2f}x faster than torch | | | | | |")
    la, ta = med.get("lstmcast-all"), med.get("torch-all")
    if lc and la:
        print(f"|   | **every core** | lstmcast on every core trains {lc['train_s'] / la['train_s']:.2f}x faster than on one thread, "
              f"{ta['train_s'] / la['train_s'] if ta else float('nan'):.2f}x faster than torch on every core | | | | | |")
json.dump(summary, open(sys.argv[2], "w"), indent=1)
