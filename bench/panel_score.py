"""Common panel protocol and scorer for bench/panel_peers.sh (stdlib only).

The protocol (identical for every tool):
  * calendar split common to all series: D = sorted distinct timestamps of the panel, N = len(D);
    val_start = D[floor(0.7 N + 1e-9)], test_start = D[floor(0.8 N + 1e-9)];
    time < val_start: training, val_start <= time < test_start: validation, time >= test_start: test.
  * test windows: for each series, every origin t (index of the first target row within the
    series) whose H target rows t..t+H-1 are all test rows and whose L input rows t-L..t-1 exist.
  * MASE per series = MAE over all its test predictions / in-sample seasonal-naive MAE on its
    TRAINING rows (mean |y_t - y_{t-m}|). Baselines on the same windows: naive (y_{t-1} for every
    step) and seasonal naive (y[t+h-1 - m*ceil(h/m)]).

Usage:
  panel_score.py score --panel NAME --data CSV --id-col COL --target COL --lookback L --horizon H
      --season M --pred TOOL=predictions.csv [--meta TOOL=meta.json] ... --json OUT.json [--md OUT.md]
  panel_score.py selftest --panel NAME --data CSV ... --season M   (same panel options as score)
  panel_score.py report PANEL.json ... --json results.json --md results.md

Only the columns series_id, origin, step, target, actual, predicted of a predictions CSV are read;
baselines, MASE scales and windows are recomputed here from the data file. A predictions file must
cover exactly the protocol's (series, origin, step) set and its `actual` must equal the data,
otherwise scoring fails (exit 1) with a description of the mismatch.
"""
import argparse
import csv
import json
import math
import statistics
import sys


def load_panel(path, id_col, target, time_col="date"):
    """{series_id: [(time, y), ...] sorted by time}; ids and times kept as strings (ISO dates)."""
    series = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            series.setdefault(row[id_col], []).append((row[time_col], float(row[target])))
    for sid, rows in series.items():
        rows.sort()
        times = [t for t, _ in rows]
        if len(set(times)) != len(times):
            raise SystemExit(f"series {sid}: duplicate timestamps")
    return series


def split_bounds(series):
    """(val_start, test_start) of the calendar split common to all series."""
    d = sorted({t for rows in series.values() for t, _ in rows})
    n = len(d)
    return d[math.floor(0.7 * n + 1e-9)], d[math.floor(0.8 * n + 1e-9)]


def test_windows(series, lookback, horizon):
    """{(series_id, origin_time): origin_index} of every protocol test window."""
    _, test_start = split_bounds(series)
    out = {}
    for sid, rows in series.items():
        for t in range(lookback, len(rows) - horizon + 1):
            if all(rows[t + k][0] >= test_start for k in range(horizon)):
                out[(sid, rows[t][0])] = t
    return out


def mase_scale(rows, val_start, season):
    y = [v for t, v in rows if t < val_start]
    diffs = [abs(y[i] - y[i - season]) for i in range(season, len(y))]
    return sum(diffs) / len(diffs) if diffs else float("nan")


def baseline(y, t, h, season, kind):
    """Forecast of y[t+h-1] (h = 1..H) made at origin t."""
    if kind == "naive":
        return y[t - 1]
    i = t + h - 1 - season * math.ceil(h / season)
    if i < 0:
        raise SystemExit(f"seasonal naive needs index {i} < 0 (origin {t}, step {h})")
    return y[i]


def read_predictions(path, series, windows, horizon, target):
    """{(sid, origin, step): predicted}; fails unless it is exactly the protocol's window set."""
    preds, problems = {}, []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            key = (row["series_id"], row["origin"][:10], int(row["step"]))
            if key in preds:
                problems.append(f"duplicate {key}")
                continue
            if row["target"] != target:
                problems.append(f"{key}: target {row['target']!r} != {target!r}")
            if key[:2] not in windows or not 1 <= key[2] <= horizon:
                problems.append(f"{key}: not a protocol test window")
                continue
            t = windows[key[:2]]
            true = series[key[0]][t + key[2] - 1][1]
            if abs(float(row["actual"]) - true) > 1e-6 * max(1.0, abs(true)):
                problems.append(f"{key}: actual {row['actual']} != data {true}")
            preds[key] = float(row["predicted"])
    expected = {(s, o, h) for (s, o) in windows for h in range(1, horizon + 1)}
    missing = expected - preds.keys()
    if missing:
        problems.append(f"{len(missing)} protocol predictions missing, e.g. {sorted(missing)[:3]}")
    if problems:
        msg = "\n  ".join(problems[:20])
        raise SystemExit(f"{path}: {len(problems)} mismatch(es) with the protocol:\n  {msg}")
    return preds


def score(series, windows, horizon, season, forecasts):
    """forecasts: {(sid, origin, step): value}. Per-series MASE list, pooled RMSE and MAE."""
    val_start, _ = split_bounds(series)
    abs_err, sq = {}, []
    for (sid, origin, h), f in forecasts.items():
        y = series[sid][windows[(sid, origin)] + h - 1][1]
        abs_err.setdefault(sid, []).append(abs(f - y))
        sq.append((f - y) ** 2)
    mase = {sid: (sum(e) / len(e)) / mase_scale(series[sid], val_start, season)
            for sid, e in abs_err.items()}
    pooled = [e for es in abs_err.values() for e in es]
    return {
        "mase": mase,
        "mean_mase": statistics.fmean(mase.values()),
        "median_mase": statistics.median(mase.values()),
        "pooled_rmse": math.sqrt(sum(sq) / len(sq)),
        "pooled_mae": sum(pooled) / len(pooled),
    }


def cmd_score(a):
    series = load_panel(a.data, a.id_col, a.target)
    windows = test_windows(series, a.lookback, a.horizon)
    val_start, test_start = split_bounds(series)
    base = {}
    for kind in ("naive", "seasonal_naive"):
        fc = {(s, o, h): baseline([v for _, v in series[s]], t, h, a.season, kind)
              for (s, o), t in windows.items() for h in range(1, a.horizon + 1)}
        base[kind] = score(series, windows, a.horizon, a.season, fc)
    better = {s: min(m, base["seasonal_naive"]["mase"][s]) for s, m in base["naive"]["mase"].items()}
    metas = dict(kv.split("=", 1) for kv in a.meta)
    tools = {}
    for kv in a.pred:
        name, path = kv.split("=", 1)
        preds = read_predictions(path, series, windows, a.horizon, a.target)
        r = score(series, windows, a.horizon, a.season, preds)
        r["share_beating_better_baseline"] = sum(r["mase"][s] < better[s] for s in better) / len(better)
        r["predictions"] = path
        if name in metas:
            r["meta"] = json.load(open(metas[name]))
        tools[name] = r
    out = {
        "panel": a.panel, "data": a.data, "id_col": a.id_col, "target": a.target,
        "lookback": a.lookback, "horizon": a.horizon, "season": a.season,
        "n_series": len(series), "val_start": val_start, "test_start": test_start,
        "n_windows": len(windows), "n_predictions": len(windows) * a.horizon,
        "baselines": base, "tools": tools,
    }
    json.dump(out, open(a.json, "w"), indent=1)
    md = markdown([out])
    if a.md:
        open(a.md, "w").write(md)
    print(md)


def fmt(x, spec):
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def markdown(panels):
    lines = []
    for p in panels:
        lines += [
            f"### {p['panel']}: {p['n_series']} series, target `{p['target']}`, lookback "
            f"{p['lookback']}, horizon {p['horizon']}, season {p['season']}; test from "
            f"{p['test_start']} (validation from {p['val_start']}), {p['n_windows']} windows, "
            f"{p['n_predictions']} predictions",
            "",
            "| tool | mean MASE | median MASE | pooled RMSE | share beating better baseline "
            "| fit s (1 thread) |",
            "|---|---|---|---|---|---|",
        ]
        for name, r in p["tools"].items():
            fit = (r.get("meta") or {}).get("fit_s")
            lines.append(f"| {name} | {r['mean_mase']:.3f} | {r['median_mase']:.3f} | "
                         f"{r['pooled_rmse']:.3f} | {r['share_beating_better_baseline']:.0%} | "
                         f"{fmt(fit, '.1f')} |")
        for kind, label in (("naive", "naive (baseline)"), ("seasonal_naive", "seasonal naive (baseline)")):
            b = p["baselines"][kind]
            lines.append(f"| {label} | {b['mean_mase']:.3f} | {b['median_mase']:.3f} | "
                         f"{b['pooled_rmse']:.3f} | — | — |")
        notes = [f"{n}: {r['meta']['fit_note']}" for n, r in p["tools"].items()
                 if (r.get("meta") or {}).get("fit_note")]
        lines += [""] + [f"- {n}" for n in notes] + ([""] if notes else [])
    return "\n".join(lines)


def cmd_selftest(a):
    """Scores a fake lstmcast-format predictions.csv (the seasonal-naive forecast as `predicted`,
    zeros in its naive/seasonal_naive columns, which must be ignored): its MASE must equal the
    seasonal-naive baseline's. Then checks that tampered files are rejected."""
    import os
    import shutil
    import tempfile
    series = load_panel(a.data, a.id_col, a.target)
    windows = test_windows(series, a.lookback, a.horizon)
    tmp = tempfile.mkdtemp(prefix="panel_selftest_")
    rows = []
    for (sid, origin), t in sorted(windows.items()):
        y = [v for _, v in series[sid]]
        for h in range(1, a.horizon + 1):
            rows.append([sid, origin, h, a.target, y[t + h - 1],
                         baseline(y, t, h, a.season, "seasonal_naive"), 0.0, 0.0])

    def write(name, rs):
        path = os.path.join(tmp, name)
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["series_id", "origin", "step", "target", "actual", "predicted", "naive", "seasonal_naive"])
            w.writerows(rs)
        return path

    good = write("fake.csv", rows)
    js = os.path.join(tmp, "fake.json")
    cmd_score(argparse.Namespace(**{**vars(a), "pred": [f"fake-lstmcast={good}"], "meta": [],
                                    "json": js, "md": None}))
    r = json.load(open(js))
    fake, sn = r["tools"]["fake-lstmcast"], r["baselines"]["seasonal_naive"]
    for k in ("mean_mase", "median_mase", "pooled_rmse"):
        assert abs(fake[k] - sn[k]) < 1e-12, (k, fake[k], sn[k])
    assert all(abs(fake["mase"][s] - sn["mase"][s]) < 1e-12 for s in sn["mase"])
    bad_actual = [list(rw) for rw in rows]
    bad_actual[5][4] += 1.0
    extra = rows + [[rows[0][0], "1900-01-01", 1, a.target, 0, 0, 0, 0]]
    for name, rs in (("missing.csv", rows[1:]), ("actual.csv", bad_actual), ("extra.csv", extra),
                     ("duplicate.csv", rows + rows[:1])):
        try:
            read_predictions(write(name, rs), series, windows, a.horizon, a.target)
        except SystemExit as e:
            print(f"selftest: {name} rejected as expected: {str(e).splitlines()[1].strip()}")
        else:
            raise AssertionError(f"{name} was accepted")
    shutil.rmtree(tmp)
    print(f"selftest {a.panel}: OK (fake lstmcast predictions score exactly the seasonal-naive "
          f"baseline: mean MASE {sn['mean_mase']:.4f}, median {sn['median_mase']:.4f})")


def cmd_report(a):
    panels = [json.load(open(p)) for p in a.panels]
    json.dump({p["panel"]: p for p in panels}, open(a.json, "w"), indent=1)
    md = markdown(panels)
    open(a.md, "w").write(md)
    print(md)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    panel = argparse.ArgumentParser(add_help=False)
    panel.add_argument("--panel", required=True)
    panel.add_argument("--data", required=True)
    panel.add_argument("--id-col", required=True)
    panel.add_argument("--target", required=True)
    panel.add_argument("--lookback", type=int, required=True)
    panel.add_argument("--horizon", type=int, required=True)
    panel.add_argument("--season", type=int, required=True)
    s = sub.add_parser("score", parents=[panel])
    s.add_argument("--pred", action="append", default=[], help="TOOL=predictions.csv")
    s.add_argument("--meta", action="append", default=[], help="TOOL=meta.json (fit_s, fit_note, ...)")
    s.add_argument("--json", required=True)
    s.add_argument("--md")
    sub.add_parser("selftest", parents=[panel])
    r = sub.add_parser("report")
    r.add_argument("panels", nargs="+")
    r.add_argument("--json", required=True)
    r.add_argument("--md", required=True)
    a = ap.parse_args(argv)
    {"score": cmd_score, "selftest": cmd_selftest, "report": cmd_report}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
