#!/usr/bin/env python3
"""Ensembles over lookbacks and seeds on the M1 bench (issue 26), measured outside lstmcast.

    python3 bench/ensembles.py [--bin target/release/lstmcast] [--sets m1_monthly,m1_quarterly]
                               [--mode ets-residual] [--runs DIR] [--jobs 2]

For each set it trains one network per member with the competition bench's protocol
(`--split-last H,H`, as ../shared/bench/competition/evaluate.py runs it): the mode at several
lookbacks (N-BEATS's ensembles take lookbacks of 2H to 7H; here H to 3H monthly and
1.5H to 4H quarterly, 24 among them), the mode at
lookback 24 from four more seeds, and `--normalize ets-theta` (the default's choice on M1). It
then scores, on the competition's test windows, each member alone, the median of the lookback
members, of the seed members and of all, and each of those averaged with `ets-theta`. Every
recipe is fixed before the test is read: nothing is chosen on it. Members are run on one
thread each, `--jobs` at a time; a run folder that already holds predictions.csv is reused.
Standard library only; the scoring is the bench's own (its evaluate.py is imported).
"""
import argparse
import os
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "..", "shared", "bench", "competition")
sys.path.insert(0, BENCH)
import evaluate as ev  # noqa: E402  (the competition bench's loader and metrics)

LOOKBACKS = {"m1_monthly": [18, 24, 36, 54], "m1_quarterly": [12, 16, 24, 32]}
SEEDS = [43, 44, 45, 46]


def train(binary, name, extra, out):
    if os.path.exists(os.path.join(out, "predictions.csv")):
        return out
    h, m = ev.SETS[name]
    cmd = [binary, "train", "--data", os.path.join(BENCH, "data", name + ".csv"),
           "--id-col", "unique_id", "--time-col", "t", "--target", "y", "--season", str(m),
           "--horizon", str(h), "--split-last", f"{h},{h}", "--out", out, "--quiet", "--force",
           "--threads", "1"] + extra
    if "--seed" not in extra:
        cmd += ["--seed", "42"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode:
        sys.exit(f"{out}: {p.stderr.strip()[-600:]}")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "lstmcast"))
    ap.add_argument("--sets", default="m1_monthly,m1_quarterly")
    ap.add_argument("--mode", default="ets-residual")
    ap.add_argument("--runs", default=os.path.join(ROOT, "runs", "ensembles"))
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    for name in a.sets.split(","):
        h, m = ev.SETS[name]
        data = ev.load(name, h)
        jobs = {f"lookback {lb}": ["--normalize", a.mode, "--lookback", str(lb)]
                for lb in LOOKBACKS[name]}
        jobs.update({f"seed {s}": ["--normalize", a.mode, "--lookback", "24", "--seed", str(s)]
                     for s in SEEDS})
        jobs["ets-theta"] = ["--normalize", "ets-theta"]
        with ThreadPoolExecutor(a.jobs) as pool:
            outs = dict(zip(jobs, pool.map(
                lambda kv: train(a.bin, name, kv[1],
                                 os.path.join(a.runs, name, a.mode + "-" + kv[0].replace(" ", "")
                                              if kv[0] != "ets-theta" else "ets-theta")),
                jobs.items())))
        preds = {}
        for tag, out in outs.items():
            p, problems, _ = ev.read(os.path.join(out, "predictions.csv"), data, h)
            if problems:
                sys.exit(f"{out}: {problems[:3]}")
            preds[tag] = p

        def score(p):
            per = [ev.metrics(data[s][0], data[s][1], p[s], m) for s in data]
            return sum(x[0] for x in per) / len(per), sum(x[1] for x in per) / len(per)

        def median(tags):
            return {s: [statistics.median(preds[t][s][k] for t in tags) for k in range(h)]
                    for s in data}

        def with_stats(p):
            return {s: [(x + y) / 2 for x, y in zip(p[s], preds["ets-theta"][s])] for s in data}

        lbs = [f"lookback {lb}" for lb in LOOKBACKS[name]]
        seeds = ["lookback 24"] + [f"seed {s}" for s in SEEDS]
        print(f"== {name}: {a.mode}, sMAPE (MASE) on the test windows; "
              "the last column averaged with ets-theta")
        rows = [(t, preds[t]) for t in jobs] + [
            ("median of the lookbacks", median(lbs)),
            ("median of 5 seeds (lookback 24)", median(seeds)),
            ("median of all", median(lbs + seeds[1:])),
        ]
        for tag, p in rows:
            s, q = score(p)
            line = f"  {tag:34s} {s:7.3f} ({q:.3f})"
            if tag != "ets-theta":
                s2, q2 = score(with_stats(p))
                line += f"   {s2:7.3f} ({q2:.3f})"
            print(line)


if __name__ == "__main__":
    main()
