"""kill -9 at random moments (issue 30): what a killed `train`, `tune` or `backtest` leaves behind.

Usage (from the repository root, after `cargo build --release`):
    python3 bench/crash_consistency.py [--kills 50] [--seed 1] [--bin target/release/lstmcast]

For each command it runs once to the end (the reference and its duration), then `--kills` times
starts it afresh into a new folder and sends SIGKILL after a delay drawn (seeded) uniformly from
0 to 1.2 × that duration. Every folder left behind must then be one of:
- absent (killed before anything was written);
- a training checkpoint that `lstmcast train --resume` finishes, with `model.safetensors`,
  `predictions.csv` and `forecast.csv` byte-identical to the reference;
- complete: `lstmcast.json` present and the command's files byte-identical to the reference
  (`train`: model, predictions and forecast; `tune`: trials.csv without its seconds column,
  best/model.safetensors; `backtest`: backtest.csv and folds.csv);
and never anything else (a folder without its marker, a partial file set, a model that loads
with other bytes). Temporary folders of an interrupted atomic write (`.lstmcast-tmp-*`, never
read as a run) are counted; then the command runs again into the same folder (with --force
where one is there) and must end like the reference with those folders gone (taking the
folder's lock tidies them). Prints a table; exits 1 on any other outcome.
Standard library only.
"""

import argparse
import csv
import io
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

COMMANDS = {
    "train": ["train", "--data", "data/economics.csv", "--target", "unemploy", "--horizon", "6",
              "--normalize", "window", "--layers", "32", "--lookback", "24", "--epochs", "15",
              "--patience", "0", "--seed", "3", "--quiet"],
    "tune": ["tune", "--data", "data/nottem.csv", "--horizon", "3", "--trials", "4", "--jobs", "2",
             "--epochs", "6", "--layers", "8", "--seed", "3", "--quiet"],
    "backtest": ["backtest", "--data", "data/nottem.csv", "--horizon", "3", "--folds", "3",
                 "--epochs", "4", "--layers", "8", "--seed", "3", "--quiet"],
}

COMPARED = {
    "train": ["model.safetensors", "predictions.csv", "forecast.csv"],
    "tune": ["trials.csv", "best/model.safetensors"],
    "backtest": ["backtest.csv", "folds.csv"],
}


def content(path):
    data = open(path, "rb").read()
    if path.endswith("trials.csv"):
        # Each trial's measured seconds differ from run to run.
        rows = list(csv.reader(io.StringIO(data.decode())))
        drop = rows[0].index("seconds")
        data = "\n".join(",".join(c for i, c in enumerate(r) if i != drop) for r in rows).encode()
    return data


def run(bin_, args, out):
    return subprocess.run([bin_, *args, "--out", out], cwd=ROOT, capture_output=True, text=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bin", default="target/release/lstmcast")
    ap.add_argument("--commands", default="train,tune,backtest")
    a = ap.parse_args()
    bin_ = os.path.join(ROOT, a.bin) if not os.path.isabs(a.bin) else a.bin
    rng = random.Random(a.seed)
    tmp = tempfile.mkdtemp(prefix="crash-")
    bad = []
    table = []
    try:
        for name in a.commands.split(","):
            args = COMMANDS[name]
            ref = os.path.join(tmp, f"{name}-ref")
            t0 = time.time()
            p = run(bin_, args, ref)
            full = time.time() - t0
            if p.returncode != 0:
                sys.exit(f"{name}: the reference run failed: {p.stderr}")
            want = {f: content(os.path.join(ref, f)) for f in COMPARED[name]}
            counts = {"absent": 0, "resumed": 0, "complete": 0, "other": 0, "left": 0}
            for k in range(a.kills):
                out = os.path.join(tmp, f"{name}-{k}")
                delay = rng.uniform(0, 1.2 * full)
                child = subprocess.Popen([bin_, *args, "--out", out], cwd=ROOT,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(delay)
                if child.poll() is None:
                    child.send_signal(signal.SIGKILL)
                child.wait()
                counts["left"] += len(leftovers(tmp, out))
                outcome, why = judge(bin_, name, out, want)
                counts[outcome] += 1
                if outcome == "other":
                    bad.append(f"{name} kill {k} after {delay:.2f} s: {why}")
                    continue
                # The next run into the same folder (with --force where one is there) tidies
                # what the killed one left beside it and ends like the reference.
                again = run(bin_, args + (["--force"] if os.path.exists(out) else []), out)
                if again.returncode != 0:
                    bad.append(f"{name} kill {k}: the next run failed: {again.stderr.strip()}")
                    continue
                outcome, why = same(out, want, "complete")
                if outcome != "complete":
                    bad.append(f"{name} kill {k}: the next run: {why}")
                if leftovers(tmp, out):
                    bad.append(f"{name} kill {k}: the next run left {leftovers(tmp, out)}")
            table.append((name, a.kills, full, counts))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("| command | kills | one run (s) | absent | resumed, identical | complete, identical | anything else | temporary folders left, then tidied |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, kills, full, c in table:
        print(f"| `{name}` | {kills} | {full:.1f} | {c['absent']} | {c['resumed']} | {c['complete']} | {c['other']} | {c['left']} |")
    for b in bad:
        print("FAILED:", b, file=sys.stderr)
    sys.exit(1 if bad else 0)


def leftovers(parent, out):
    """The temporary sibling folders of `out` (its name's, see store/folder.rs)."""
    name = os.path.basename(out)
    mine = [f".lstmcast-tmp-{len(name)}-{name}-", f".lstmcast-old-{len(name)}-{name}-"]
    return [e for e in os.listdir(parent) if any(e.startswith(m) for m in mine)]


def judge(bin_, name, out, want):
    if not os.path.exists(out):
        return "absent", ""
    entries = os.listdir(out)
    if "checkpoint.safetensors" in entries and name == "train":
        p = subprocess.run([bin_, "train", "--resume", out, "--quiet"], cwd=ROOT,
                           capture_output=True, text=True)
        if p.returncode != 0:
            return "other", f"resume failed: {p.stderr.strip()}"
        return same(out, want, "resumed")
    if "lstmcast.json" not in entries:
        return "other", f"a folder without its marker: {sorted(entries)}"
    return same(out, want, "complete")


def same(out, want, outcome):
    for f, data in want.items():
        path = os.path.join(out, f)
        if not os.path.isfile(path):
            return "other", f"{f} missing in {sorted(os.listdir(out))}"
        if content(path) != data:
            return "other", f"{f} differs from the reference"
    return outcome, ""


if __name__ == "__main__":
    main()
