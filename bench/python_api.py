"""Helper of bench/python_api.sh: one timed Python-API round, and the report over all rounds.

  python_api.py api --csv PANEL.csv --out DIR [--lookback L] [--horizon 7] [--seed 42]
      One process: `import lstmcast` (timed, excluded from the totals), then, each timed with
      perf_counter: pandas.read_csv, Forecaster(horizon, threads=1, seed).fit, .evaluate(),
      .predict(), .save(DIR/model, overwrite=True) (also their CPU time, process_time). Then, outside those totals, the
      Python-specific work measured directly: the frame → columns conversion
      (lstmcast._frame on the layout's columns; fit, evaluate and predict each do it once) and
      the parsing of the native results (forecast CSV text → frame, metrics JSON + predictions
      CSV text → Evaluation), beside the native calls that produce them. Writes DIR/timing.json,
      DIR/forecast.pkl and DIR/eval_predictions.pkl (pickles: exact floats, for the bit check),
      DIR/metrics_test.json and DIR/predictions.csv (the protocol format of bench/panel_score.py).

  python_api.py cli --bin LSTMCAST --csv PANEL.csv --out DIR [--horizon 7] [--seed 42]
      One `lstmcast train ... --threads 1 --out DIR/cli_run --force --quiet` process, timed:
      wall (perf_counter around it) and CPU (the child's user + sys). Writes DIR/cli_time.json.

  python_api.py report --out bench/out/python_api --rounds N --cli-target avg_temp_f
      Medians over rounds r1..rN of DIR/rK/{cli,py,py28,nf}; checks every round's Python forecast
      and evaluation against the same round's CLI run folder to the bit; prints and writes
      results.md and results.json.
"""
import argparse
import json
import os
import statistics
import sys
import time

sys.dont_write_bytecode = True  # no bench/__pycache__ in the work tree


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def best_of(f, n):
    """Median seconds of n calls of f (and f's last result)."""
    ts, out = [], None
    for _ in range(n):
        t0 = time.perf_counter()
        out = f()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), out


def cmd_api(a):
    t0 = time.perf_counter()
    import pandas as pd
    import lstmcast
    t_import = time.perf_counter() - t0

    os.makedirs(a.out, exist_ok=True)
    opts = dict(horizon=a.horizon, seed=a.seed)
    if a.lookback:
        opts["lookback"] = a.lookback
    t, cpu = {}, {}

    def timed(name, f):
        w0, c0 = time.perf_counter(), time.process_time()
        out = f()
        t[name], cpu[name] = time.perf_counter() - w0, time.process_time() - c0
        return out

    df = timed("read_csv", lambda: pd.read_csv(a.csv, parse_dates=[a.time_col]))
    m = timed("fit", lambda: lstmcast.Forecaster(threads=1, **opts).fit(
        df, id_col=a.id_col, time_col=a.time_col, target=a.target))
    ev = timed("evaluate", m.evaluate)
    fc = timed("predict", m.predict)
    timed("save", lambda: m.save(os.path.join(a.out, "model"), overwrite=True))
    cpu["total"] = sum(cpu.values())
    t["total"] = sum(t.values())

    # The Python-specific work, measured directly (not part of the totals above).
    layout, model = m._layout, m._model
    cols = layout.columns()
    p = {}
    p["frame"], frame = best_of(lambda: lstmcast._frame(df, cols, "data frame"), 21)
    p["native_forecast"], (text, _skipped) = best_of(lambda: model.forecast(frame, None, None, None, 1), 3)
    p["parse_forecast"], _ = best_of(lambda: m._select_levels(m._read_output(text, model), model, lstmcast._DEFAULT), 21)
    p["native_evaluate"], (mtext, ptext) = best_of(lambda: model.evaluate(frame, 1), 3)
    p["parse_evaluate"], _ = best_of(lambda: lstmcast.Evaluation(json.loads(mtext), m._read_table(ptext)), 21)
    # fit's own wrapper work besides the conversion: layout checks, options JSON, temp folder.
    p["fit_wrapper_other"], _ = best_of(
        lambda: (m._layout_of(df, a.id_col, a.time_col, a.target, None, None, None),
                 layout.options(m._config, None), json.dumps(m._config)), 21)
    # fit, evaluate and predict each convert the frame once; evaluate and predict parse once.
    p["python_specific"] = 3 * p["frame"] + p["parse_forecast"] + p["parse_evaluate"] + p["fit_wrapper_other"]
    p["python_specific_pct_of_fit"] = 100 * p["python_specific"] / t["fit"]
    # What the wrappers cost on top of the native call, by difference (noisier).
    p["predict_minus_native"] = t["predict"] - p["native_forecast"]
    p["evaluate_minus_native"] = t["evaluate"] - p["native_evaluate"]

    fc.to_pickle(os.path.join(a.out, "forecast.pkl"))
    ev.predictions.to_pickle(os.path.join(a.out, "eval_predictions.pkl"))
    json.dump(ev.metrics.get("test"), open(os.path.join(a.out, "metrics_test.json"), "w"))
    pred = ev.predictions.rename(columns={a.id_col: "series_id"})
    pred.to_csv(os.path.join(a.out, "predictions.csv"), index=False)
    cands = (ev.metrics.get("normalize") or {}).get("candidates") or []
    info = {
        "options": opts, "threads": 1, "rows": len(df), "series": int(df[a.id_col].nunique()),
        "lstmcast": lstmcast.__version__, "pandas": pd.__version__,
        "params": ev.metrics.get("params"),
        "normalize_chosen": (ev.metrics.get("normalize") or {}).get("chosen"),
        "epochs_per_candidate": {c["mode"]: c.get("epochs") for c in cands},
        "training": ev.metrics.get("training"),
        "lstmcast_test_mase": ev.metrics["test"]["overall"][a.target]["model"]["mase"],
    }
    out = {"import_s": t_import, "seconds": t, "cpu_seconds": cpu, "python_specific_s": p, "info": info,
           "loadavg": open("/proc/loadavg").read().split()[:3]}
    json.dump(out, open(os.path.join(a.out, "timing.json"), "w"), indent=1)
    print(json.dumps({"fit": round(t["fit"], 3), "total": round(t["total"], 3),
                      "python_specific_pct_of_fit": round(p["python_specific_pct_of_fit"], 3)}))


def cmd_cli(a):
    """One timed `lstmcast train` process: wall (perf_counter) and CPU (user + sys of the child)."""
    import resource
    import subprocess
    cmd = [a.bin, "train", "--data", a.csv, "--id-col", a.id_col, "--target", a.target,
           "--horizon", str(a.horizon), "--threads", "1", "--seed", str(a.seed),
           "--out", os.path.join(a.out, "cli_run"), "--force", "--quiet"]
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    w0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - w0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    json.dump({"wall_s": wall, "cpu_s": cpu, "command": " ".join(cmd),
               "loadavg": open("/proc/loadavg").read().split()[:3]},
              open(os.path.join(a.out, "cli_time.json"), "w"), indent=1)
    print(json.dumps({"wall": round(wall, 3), "cpu": round(cpu, 3)}))


def same(a, b):
    import numpy as np
    a, b = np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64")
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))


def bit_check(py_dir, cli_dir, target, id_col, time_col):
    """The round's Python forecast/evaluation against its CLI run folder, as the tests compare."""
    import pandas as pd
    fc = pd.read_pickle(os.path.join(py_dir, "forecast.pkl"))
    csv = pd.read_csv(os.path.join(cli_dir, "forecast.csv"))
    ok = same(fc["lstm"], csv[target])
    for lvl in ("80", "95"):
        ok &= same(fc[f"lstm-lo-{lvl}"], csv[f"{target}_lo{lvl}"])
        ok &= same(fc[f"lstm-hi-{lvl}"], csv[f"{target}_hi{lvl}"])
    ok &= bool((fc[id_col].astype(str) == csv["series_id"].astype(str)).all())
    ok &= bool((fc[time_col] == pd.to_datetime(csv[time_col])).all())
    evp = pd.read_pickle(os.path.join(py_dir, "eval_predictions.pkl"))
    clip = pd.read_csv(os.path.join(cli_dir, "predictions.csv"))
    ev_ok = len(evp) == len(clip) > 0 and same(evp["predicted"], clip["predicted"])
    cli_test = json.load(open(os.path.join(cli_dir, "metrics.json")))["test"]
    ev_ok &= json.load(open(os.path.join(py_dir, "metrics_test.json"))) == cli_test
    return {"forecast": bool(ok), "evaluation": bool(ev_ok), "forecast_rows": len(fc)}


def cli_phases(log):
    """Seconds of the CLI's phases from `strace -f -ttt` (openat/rename*/execve/exit_group):
    the whole process, the final run folder's writing (from its first file to its rename into
    --out), the plots within it (first .svg/.png to the rename) and the per-epoch checkpoints
    (each openat .checkpoint-X to its renameat)."""
    import re
    ev = []
    for line in open(log):
        m = re.match(r"\s*\d+\s+([\d.]+)\s+(\w+)\((.*)", line)
        if m and "ENOENT" not in line:
            paths = re.findall(r'"([^"]*)"', m.group(3))
            ev.append((float(m.group(1)), m.group(2), paths))
    if not ev:
        return None
    start = next((t for t, c, _ in ev if c == "execve"), ev[0][0])
    end = next((t for t, c, _ in reversed(ev) if c == "exit_group"), ev[-1][0])
    tmps = [re.search(r"(\.lstmcast-tmp-[^/]+)", p[0]).group(1) for _, c, p in ev
            if c == "openat" and p and ".lstmcast-tmp-" in p[0]]
    final = tmps[-1] if tmps else None
    in_final = [t for t, c, p in ev if c == "openat" and p and final and final in p[0]]
    moved = next((t for t, c, p in ev if c in ("rename", "renameat", "renameat2") and p and final and final in p[0]
                  and final not in (p[-1] if len(p) > 1 else "")), None)
    plots = [t for t, c, p in ev if c == "openat" and p and final and final in p[0] and p[0].endswith((".svg", ".png"))]
    opened, ck = {}, []
    for t, c, p in ev:
        if p and ".checkpoint-" in p[0]:
            if c == "openat":
                opened[p[0]] = t
            elif c.startswith("rename") and p[0] in opened:
                ck.append(t - opened.pop(p[0]))
    return {
        "process_s": end - start,
        "run_folder_s": (moved - in_final[0]) if moved and in_final else None,
        "plots_s": (moved - plots[0]) if moved and plots else None,
        "checkpoints": len(ck), "checkpoints_s": sum(ck),
    }


def rng(xs, spec):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "—"
    return f"{format(statistics.median(xs), spec)} ({format(min(xs), spec)}–{format(max(xs), spec)})"


def cmd_report(a):
    rounds = [os.path.join(a.out, f"r{i}") for i in range(1, a.rounds + 1)]
    R = []
    for d in rounds:
        r = {"dir": d}
        cli = os.path.join(d, "cli_time.json")
        if os.path.exists(cli):
            r["cli"] = json.load(open(cli))
        for k in ("py", "py28"):
            f = os.path.join(d, k, "timing.json")
            if os.path.exists(f):
                r[k] = json.load(open(f))
        f = os.path.join(d, "nf", "meta.json")
        if os.path.exists(f):
            r["nf"] = json.load(open(f))
        f = os.path.join(d, "score.json")
        if os.path.exists(f):
            r["score"] = json.load(open(f))
        if "cli" in r and "py" in r:
            r["bit"] = bit_check(os.path.join(d, "py"), os.path.join(d, "cli_run"), a.target, a.id_col, a.time_col)
        R.append(r)

    def col(path):
        out = []
        for r in R:
            v = r
            for k in path:
                v = v.get(k) if isinstance(v, dict) else None
            out.append(v)
        return out

    n = len(R)
    L = []
    cli_wall = col(["cli", "wall_s"])
    py_total = col(["py", "seconds", "total"])
    py_fit = col(["py", "seconds", "fit"])
    over = [(p / c - 1) * 100 if p and c else None for p, c in zip(py_total, cli_wall)]
    cover = [(p / c - 1) * 100 if p and c else None
             for p, c in zip(col(["py", "cpu_seconds", "total"]), col(["cli", "cpu_s"]))]
    L += [f"### 1. Python API vs CLI: weather panel (5 cities, `avg_temp_f`), horizon 7, default options, 1 thread, seed {a.seed}",
          "",
          f"Median (min–max) of {n} interleaved rounds; seconds.",
          "",
          "| step | CLI `lstmcast train` | Python API (one process) |",
          "|---|---|---|",
          f"| read CSV | in the CLI's total | {rng(col(['py', 'seconds', 'read_csv']), '.3f')} (pandas) |",
          f"| fit | in the CLI's total | {rng(py_fit, '.2f')} |",
          f"| evaluate | in the CLI's total | {rng(col(['py', 'seconds', 'evaluate']), '.3f')} |",
          f"| predict | in the CLI's total | {rng(col(['py', 'seconds', 'predict']), '.3f')} |",
          f"| save | in the CLI's total (+ plots, CSVs, per-epoch checkpoints) | {rng(col(['py', 'seconds', 'save']), '.3f')} (model files only) |",
          f"| **total** | **{rng(cli_wall, '.2f')}** (process wall time) | **{rng(py_total, '.2f')}** (import excluded) |",
          f"| `import lstmcast` (+pandas) | — | {rng(col(['py', 'import_s']), '.3f')} |",
          f"| Python total ÷ CLI total − 1 | | {rng(over, '+.1f')} % |",
          f"| CPU seconds (user + sys), total | {rng(col(['cli', 'cpu_s']), '.2f')} | {rng(col(['py', 'cpu_seconds', 'total']), '.2f')} (fit {rng(col(['py', 'cpu_seconds', 'fit']), '.2f')}) |",
          f"| CPU: Python ÷ CLI − 1 | | {rng(cover, '+.1f')} % |",
          ""]
    bits = [r.get("bit") for r in R if r.get("bit")]
    allf = bits and all(b["forecast"] for b in bits)
    alle = bits and all(b["evaluation"] for b in bits)
    L += [f"Bit check (every round, Python vs that round's CLI run folder): forecast.csv "
          f"{'equal to the bit' if allf else 'DIFFERS'} in {sum(b['forecast'] for b in bits)}/{len(bits)} rounds "
          f"({bits[0]['forecast_rows'] if bits else 0} rows, point + 80/95 % bounds); test metrics and "
          f"predictions.csv {'identical' if alle else 'DIFFER'} in {sum(b['evaluation'] for b in bits)}/{len(bits)}.",
          ""]
    ps = lambda k: col(["py", "python_specific_s", k])  # noqa: E731
    ms = lambda xs: [x * 1000 if x is not None else None for x in xs]  # noqa: E731
    pct = lambda xs: [100 * x / f if x is not None and f else None for x, f in zip(xs, py_fit)]  # noqa: E731
    L += ["#### The Python-specific work, measured directly (ms; % of the fit)",
          "",
          "| part | ms per call | calls in fit+evaluate+predict | % of fit |",
          "|---|---|---|---|",
          f"| frame → columns (`lstmcast._frame`, 3 columns, {R[0].get('py', {}).get('info', {}).get('rows', '?')} rows) | {rng(ms(ps('frame')), '.2f')} | 3 | {rng(pct([3 * x if x is not None else None for x in ps('frame')]), '.3f')} |",
          f"| forecast text → frame | {rng(ms(ps('parse_forecast')), '.2f')} | 1 | {rng(pct(ps('parse_forecast')), '.3f')} |",
          f"| metrics JSON + predictions text → Evaluation | {rng(ms(ps('parse_evaluate')), '.2f')} | 1 | {rng(pct(ps('parse_evaluate')), '.3f')} |",
          f"| fit's other wrapper work (layout checks, options JSON) | {rng(ms(ps('fit_wrapper_other')), '.3f')} | 1 | {rng(pct(ps('fit_wrapper_other')), '.4f')} |",
          f"| **all of it** | {rng(ms(ps('python_specific')), '.1f')} | | **{rng(ps('python_specific_pct_of_fit'), '.2f')}** (target < 5 %) |",
          f"| for scale: native forecast / native evaluate (Rust, GIL released) | {rng(ms(ps('native_forecast')), '.1f')} / {rng(ms(ps('native_evaluate')), '.1f')} | | |",
          f"| predict() − native forecast / evaluate() − native evaluate (by difference, noisy) | {rng(ms(ps('predict_minus_native')), '.1f')} / {rng(ms(ps('evaluate_minus_native')), '.1f')} | | |",
          ""]
    log = os.path.join(a.out, "cli_strace.log")
    ph = cli_phases(log) if os.path.exists(log) else None
    if ph:
        L += [f"Where the CLI spends its time outside training (one extra CLI run under strace, not in the medians; "
              f"its process took {ph['process_s']:.2f} s): writing the run folder "
              f"{1000 * (ph['run_folder_s'] or 0):.0f} ms, of which plots (3 SVG + 3 PNG) {1000 * (ph['plots_s'] or 0):.0f} ms; "
              f"{ph['checkpoints']} per-epoch checkpoints {1000 * ph['checkpoints_s']:.0f} ms in all. The Python run writes "
              f"no plots, CSVs or checkpoints; its save() writes the model files only.", ""]
    info = (R[0].get("py") or {}).get("info", {})
    L += [f"lstmcast model: {info.get('params')} parameters, normalisation chosen `{info.get('normalize_chosen')}`, "
          f"epochs per normalisation candidate {info.get('epochs_per_candidate')}; lstmcast's own test MASE "
          f"{info.get('lstmcast_test_mase', float('nan')):.3f}.", ""]

    # 2. Fit beside NeuralForecast
    l28 = col(["py28", "seconds", "fit"])
    nf_fit = col(["nf", "fit_s"])
    ratio = [nf / l if nf and l else None for nf, l in zip(nf_fit, l28)]
    sc = [r.get("score") for r in R if r.get("score")]

    def mase(tool, k):
        return [s["tools"][tool][k] for s in sc if tool in s.get("tools", {})]
    nfm = (R[0].get("nf") or {})
    hp = nfm.get("hyperparameters", {})
    i28 = (R[0].get("py28") or {}).get("info", {})
    eps = i28.get("epochs_per_candidate") or {}
    n_train = nfm.get("n_train_windows")
    nf_steps = col(["nf", "optimizer_steps_run"])
    L += [f"### 2. Fit time beside NeuralForecast's LSTM: same panel, lookback 28, horizon 7, one thread each",
          "",
          f"Median (min–max) of {n} interleaved rounds. Test scores: bench/panel_score.py (the protocol of "
          f"bench/panel_peers.sh: calendar split 70/10/20, every test window, MASE on training rows, season 7).",
          "",
          "| tool | fit s (1 thread) | mean MASE | median MASE | pooled RMSE | budget |",
          "|---|---|---|---|---|---|",
          f"| lstmcast (Python API, `Forecaster(lookback=28, horizon=7, threads=1)`) | {rng(l28, '.2f')} | "
          f"{rng(mase('lstmcast-python', 'mean_mase'), '.3f')} | {rng(mase('lstmcast-python', 'median_mase'), '.3f')} | "
          f"{rng(mase('lstmcast-python', 'pooled_rmse'), '.3f')} | 1 LSTM layer × 50, direct 7-step head, "
          f"{i28.get('params')} params; ≤100 epochs, patience 10, batch 32, normalisation `auto` = "
          f"{len(eps)} candidates ({', '.join(f'{k} {v}' for k, v in eps.items())} epochs; chose `{i28.get('normalize_chosen')}`) |",
          f"| NeuralForecast {nfm.get('neuralforecast', '?')} LSTM (torch {nfm.get('torch', '?')}) | {rng(nf_fit, '.2f')} | "
          f"{rng(mase('neuralforecast-LSTM', 'mean_mase'), '.3f')} | {rng(mase('neuralforecast-LSTM', 'median_mase'), '.3f')} | "
          f"{rng(mase('neuralforecast-LSTM', 'pooled_rmse'), '.3f')} | encoder {hp.get('encoder_n_layers')} × "
          f"{hp.get('encoder_hidden_size')}, MLP decoder {hp.get('decoder_layers')} × {hp.get('decoder_hidden_size')}; "
          f"max_steps {hp.get('max_steps')} (= 100 epochs of {n_train} windows at windows_batch_size "
          f"{hp.get('windows_batch_size')}), val check every {hp.get('val_check_steps')} steps, patience "
          f"{hp.get('early_stop_patience_steps')} checks; ran {rng(nf_steps, '.0f')} steps |",
          f"| naive (baseline) | — | {rng([s['baselines']['naive']['mean_mase'] for s in sc], '.3f')} | "
          f"{rng([s['baselines']['naive']['median_mase'] for s in sc], '.3f')} | {rng([s['baselines']['naive']['pooled_rmse'] for s in sc], '.3f')} | |",
          f"| seasonal naive (baseline) | — | {rng([s['baselines']['seasonal_naive']['mean_mase'] for s in sc], '.3f')} | "
          f"{rng([s['baselines']['seasonal_naive']['median_mase'] for s in sc], '.3f')} | {rng([s['baselines']['seasonal_naive']['pooled_rmse'] for s in sc], '.3f')} | |",
          "",
          f"NF fit ÷ lstmcast fit: **{rng(ratio, '.2f')}×** (per round, then median).",
          ""]
    if n_train and eps:
        lw = sum(v or 0 for v in eps.values()) * n_train
        nw = [s * hp.get("windows_batch_size", 128) for s in nf_steps if s]
        L += [f"Work done (training-window passes, not FLOPs): lstmcast {lw} "
              f"(≈ {sum(v or 0 for v in eps.values())} epochs over all candidates × NF's count of {n_train} training windows), NeuralForecast "
              f"{rng(nw, '.0f')} ({rng([s * hp.get('windows_batch_size', 128) / n_train for s in nf_steps if s], '.1f')} epochs-equivalent) "
              f"through a much larger network.", ""]
    md = "\n".join(L)
    open(os.path.join(a.out, "results.md"), "w").write(md + "\n")
    json.dump({"rounds": R, "seed": a.seed, "cli_strace": ph}, open(os.path.join(a.out, "results.json"), "w"), indent=1, default=str)
    print(md)
    if bits and not (allf and alle):
        sys.exit("python_api: the Python results differ from the CLI's")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("api")
    s.add_argument("--csv", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--lookback", type=int)
    s.add_argument("--horizon", type=int, default=7)
    s.add_argument("--seed", type=int, default=42)
    c = sub.add_parser("cli")
    c.add_argument("--bin", required=True)
    c.add_argument("--csv", required=True)
    c.add_argument("--out", required=True)
    c.add_argument("--horizon", type=int, default=7)
    c.add_argument("--seed", type=int, default=42)
    for p in (s, c, r := sub.add_parser("report")):
        p.add_argument("--id-col", default="city")
        p.add_argument("--time-col", default="date")
        p.add_argument("--target", default="avg_temp_f")
    r.add_argument("--out", required=True)
    r.add_argument("--rounds", type=int, required=True)
    r.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    {"api": cmd_api, "cli": cmd_cli, "report": cmd_report}[a.cmd](a)


if __name__ == "__main__":
    main()
