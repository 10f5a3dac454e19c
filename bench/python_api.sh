#!/usr/bin/env bash
# Issue #19's "Show it" benchmark, in one run on the bundled weather panel
# (data/weather_cities_daily.csv: 5 cities, daily; id `city`, time `date`, target `avg_temp_f`):
#
#  1. The Python API's overhead over the CLI, default options, horizon 7, one thread, same seed:
#       CLI:    lstmcast train --data <city,date,avg_temp_f only> --id-col city --target avg_temp_f
#               --horizon 7 --threads 1 --seed $SEED --out DIR --force --quiet   (process wall time)
#       Python: one process, `import lstmcast` timed apart; pandas.read_csv, Forecaster(horizon=7,
#               threads=1, seed=$SEED).fit(df, id_col="city", time_col="date", target="avg_temp_f"),
#               .evaluate(), .predict(), .save(dir, overwrite=True), each timed with perf_counter.
#     plus the Python-specific work timed directly (frame → columns with lstmcast._frame, parsing
#     of the native results) as a percentage of the fit (the issue's target: under 5 %), and a
#     check that every round's Python forecast/evaluation equals the CLI's to the bit.
#  2. Fit time beside NeuralForecast's LSTM, one thread each, lookback 28 / horizon 7: lstmcast
#     through the Python API (Forecaster(lookback=28, horizon=7, threads=1)) and NF through
#     bench/nf_panel.py with bench/panel_peers.sh's configuration; both scored on the test windows
#     by bench/panel_score.py.
#
# The CLI, the two Python fits and NF run interleaved (their order rotates each round); the
# report gives medians (min–max) over the rounds. Machines shared with other work: read the
# ranges, and prefer more rounds.
#
#   bash bench/python_api.sh                         # ROUNDS=5
#   ROUNDS=3 SKIP_NF=1 bash bench/python_api.sh      # part 1 only
#
# Environment:
#   ROUNDS=5           interleaved rounds
#   SEED=42            lstmcast's seed (the CLI's default); NF keeps nf_panel.py's seed 1
#   LSTMCAST_BIN=...   the CLI binary (default: $CARGO_TARGET_DIR/release/lstmcast, else
#                      target/release/lstmcast; built with `cargo build --release -p lstmcast-cli`
#                      when missing, or always with BUILD=1)
#   PY=...             a python with the lstmcast package and pandas (default ~/.cache/py-dev/bin/python);
#                      INSTALL=1 first runs `$PY -m pip install ./python` (maturin build; set
#                      CARGO_TARGET_DIR to share the cargo build folder). Its lstmcast must be
#                      built from the same sources as the CLI, or the bit check fails.
#   NF_VENV=...        NeuralForecast venv (default ~/.cache/nf-venv: neuralforecast==3.3.0 and torch,
#                      as bench/panel_peers.sh creates it); SKIP_NF=1 skips part 2's NF side
#   NF_EPOCHS=100 NF_PATIENCE=10   NF's step budget and early stopping (as bench/panel_peers.sh)
#
#   OUT=bench/out/python_api   where the results go (replaced on every run)
#   STRACE=1           one extra CLI run under strace (if installed) splits the CLI's time outside
#                      training: run-folder writing, plots, per-epoch checkpoints (not in the medians)
#
# Results: bench/out/python_api/results.md and results.json; one folder per round (r1, r2, ...)
# with the CLI run folder, the Python timings (py/, py28/), NF's meta.json and the scores.
# Needs bash and a machine otherwise idle for stable numbers (it takes ~1 min per round).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-bench/out/python_api}
ROUNDS=${ROUNDS:-5}
SEED=${SEED:-42}
PY=${PY:-$HOME/.cache/py-dev/bin/python}
NF_VENV=${NF_VENV:-$HOME/.cache/nf-venv}
NF_PY=$NF_VENV/bin/python
SKIP_NF=${SKIP_NF:-0}
NF_EPOCHS=${NF_EPOCHS:-100}
NF_PATIENCE=${NF_PATIENCE:-10}
DATA=data/weather_cities_daily.csv
CORES=$(getconf _NPROCESSORS_ONLN)  # before OMP_NUM_THREADS=1, which GNU nproc obeys
# One thread everywhere (nf_panel.py also calls torch.set_num_threads(1); lstmcast gets threads=1).
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 NUMEXPR_NUM_THREADS=1 \
  VECLIB_MAXIMUM_THREADS=1 RAYON_NUM_THREADS=1 POLARS_MAX_THREADS=1 CUDA_VISIBLE_DEVICES=

if [ -z "${LSTMCAST_BIN:-}" ]; then
  LSTMCAST_BIN=${CARGO_TARGET_DIR:-target}/release/lstmcast
  if [ "${BUILD:-0}" = 1 ] || [ ! -x "$LSTMCAST_BIN" ]; then
    cargo build --release -q -p lstmcast-cli
  fi
fi
if [ "${INSTALL:-0}" = 1 ]; then
  "$PY" -m pip install -q ./python
fi
"$PY" -c 'import lstmcast, pandas' || { echo "$PY lacks lstmcast or pandas (INSTALL=1 installs ./python)" >&2; exit 1; }
if [ "$SKIP_NF" != 1 ]; then
  "$NF_PY" -c 'import neuralforecast, torch' || { echo "$NF_PY lacks neuralforecast (bash bench/panel_peers.sh creates $NF_VENV)" >&2; exit 1; }
fi

rm -rf "$OUT"
mkdir -p "$OUT"
# The panel with only the columns the model uses, for both sides.
PANEL=$OUT/weather_panel.csv
"$PY" -c 'import sys, pandas as pd; pd.read_csv(sys.argv[1], dtype=str)[["city", "date", "avg_temp_f"]].to_csv(sys.argv[2], index=False)' \
  "$DATA" "$PANEL"
{
  echo "date: $(date -Is)"; echo "host: $(uname -srm), $CORES cores"
  echo "lstmcast CLI: $LSTMCAST_BIN ($("$LSTMCAST_BIN" --version 2>/dev/null || echo '?'), built $(date -Is -r "$LSTMCAST_BIN"), sha256 $(sha256sum "$LSTMCAST_BIN" | cut -c1-16))"
  echo "lstmcast package: $("$PY" -c 'import lstmcast, os; f = lstmcast._native.__file__; print(f, "built", __import__("datetime").datetime.fromtimestamp(os.path.getmtime(f)).isoformat(timespec="seconds"))')"
  echo "python: $("$PY" -c 'import sys, lstmcast, pandas, numpy; print(sys.version.split()[0], "lstmcast", lstmcast.__version__, "pandas", pandas.__version__, "numpy", numpy.__version__)')"
  [ "$SKIP_NF" = 1 ] || echo "nf: $("$NF_PY" -c 'import sys, neuralforecast, torch; print(sys.version.split()[0], "neuralforecast", neuralforecast.__version__, "torch", torch.__version__)' 2>/dev/null)"
  echo "git: $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet 2>/dev/null || echo ' (dirty)')"
} > "$OUT/env.txt"
cat "$OUT/env.txt" >&2
# The binary and the package must stay the same during the run (a rebuild mid-run mixes versions).
build_id() {
  sha256sum "$LSTMCAST_BIN" | cut -c1-16
  "$PY" -c 'import lstmcast, hashlib; print(hashlib.sha256(open(lstmcast._native.__file__, "rb").read()).hexdigest()[:16])'
}
BUILD_ID=$(build_id)

cli() {
  echo "   cli   $("$PY" bench/python_api.py cli --bin "$LSTMCAST_BIN" --csv "$PANEL" --out "$1" --horizon 7 --seed "$SEED")" >&2
}
py() {
  echo "   py    $("$PY" bench/python_api.py api --csv "$PANEL" --out "$1/py" --horizon 7 --seed "$SEED")" >&2
}
py28() {
  echo "   py28  $("$PY" bench/python_api.py api --csv "$PANEL" --out "$1/py28" --lookback 28 --horizon 7 --seed "$SEED")" >&2
}
nf() {
  [ "$SKIP_NF" = 1 ] && return 0
  if ! "$NF_PY" bench/nf_panel.py --data "$DATA" --id-col city --target avg_temp_f --lookback 28 --horizon 7 \
      --freq D --epochs "$NF_EPOCHS" --patience "$NF_PATIENCE" --out "$1/nf" > "$1/nf.log" 2> "$1/nf.stderr.log"; then
    tail -20 "$1/nf.stderr.log" >&2
    exit 1
  fi
  echo "   nf    $(cat "$1/nf.log")" >&2
}

steps=(cli py py28 nf)
for r in $(seq 1 "$ROUNDS"); do
  d=$OUT/r$r
  mkdir -p "$d"
  echo "== round $r/$ROUNDS (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  for k in 0 1 2 3; do
    "${steps[$(( (k + r - 1) % 4 ))]}" "$d"
  done
  preds=(--pred "lstmcast-python=$d/py28/predictions.csv")
  [ "$SKIP_NF" = 1 ] || preds+=(--pred "neuralforecast-LSTM=$d/nf/predictions.csv")
  "$PY" bench/panel_score.py score --panel weather --data "$DATA" --id-col city --target avg_temp_f \
    --lookback 28 --horizon 7 --season 7 "${preds[@]}" --json "$d/score.json" > /dev/null
done
# Where the CLI's time outside training goes (run folder, plots, per-epoch checkpoints): one more
# CLI run under strace (syscall timestamps), not part of the medians. STRACE=0 skips it.
if [ "${STRACE:-1}" = 1 ] && command -v strace > /dev/null; then
  strace -f -ttt -e trace=openat,rename,renameat,renameat2,execve,exit_group -o "$OUT/cli_strace.log" \
    "$LSTMCAST_BIN" train --data "$PANEL" --id-col city --target avg_temp_f --horizon 7 --threads 1 \
    --seed "$SEED" --out "$OUT/cli_strace_run" --force --quiet
fi
if [ "$(build_id)" != "$BUILD_ID" ]; then
  echo "WARNING: $LSTMCAST_BIN or the lstmcast package changed during the run; the rounds mix builds" | tee -a "$OUT/env.txt" >&2
fi
"$PY" bench/python_api.py report --out "$OUT" --rounds "$ROUNDS" --seed "$SEED"
