#!/usr/bin/env bash
# Panel benchmark: lstmcast vs NeuralForecast's LSTM on two bundled panels, one global model per
# tool and panel, one thread each, same calendar split and same test windows, scored by one scorer
# (bench/panel_score.py) that recomputes windows, baselines and MASE scales from the data.
#
#   bash bench/panel_peers.sh                     # both panels, both tools
#   PANELS=cigarettes bash bench/panel_peers.sh   # one panel
#   SKIP_LSTMCAST=1 bash bench/panel_peers.sh     # NeuralForecast side only (no cargo build)
#   NF_EPOCHS=100 NF_PATIENCE=10 ...              # NF step budget (epochs of training windows)
#   LSTMCAST_BIN=path/to/lstmcast ...             # use this binary instead of building one
#
# Needs python3 (3.11); creates the NeuralForecast venv at $NF_VENV (default ~/.cache/nf-venv,
# neuralforecast==3.3.0, torch resolved by pip, ~6 GB with CUDA wheels) if it is missing.
# Results: bench/out/panel/results.md, results.json, freeze.txt, and one folder per tool and panel.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench/out/panel
VENV=${NF_VENV:-$HOME/.cache/nf-venv}
PY=$VENV/bin/python
NF_VERSION=3.3.0
PANELS=${PANELS:-"weather cigarettes"}
SKIP_LSTMCAST=${SKIP_LSTMCAST:-0}
SKIP_NF=${SKIP_NF:-0}
NF_EPOCHS=${NF_EPOCHS:-100}
NF_PATIENCE=${NF_PATIENCE:-10}
# One thread everywhere (nf_panel.py also calls torch.set_num_threads(1)).
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 NUMEXPR_NUM_THREADS=1 \
  VECLIB_MAXIMUM_THREADS=1 RAYON_NUM_THREADS=1 POLARS_MAX_THREADS=1 CUDA_VISIBLE_DEVICES=
mkdir -p "$OUT"

# panel NAME -> DATA ID_COL TARGET LOOKBACK HORIZON SEASON FREQ
panel() {
  case "$1" in
    weather) echo "data/weather_cities_daily.csv city avg_temp_f 28 7 7 D" ;;
    cigarettes) echo "data/cigarettes_states_yearly.csv state sales 6 3 1 YS" ;;
    *) echo "unknown panel $1" >&2; return 1 ;;
  esac
}

if [ "$SKIP_NF" != 1 ]; then
  if ! "$PY" -c "import sys, neuralforecast; sys.exit(neuralforecast.__version__ != '$NF_VERSION')" 2>/dev/null; then
    echo "== creating $VENV (neuralforecast==$NF_VERSION)" >&2
    python3 -m venv "$VENV"
    "$PY" -m pip install -q --upgrade pip
    "$PY" -m pip install -q "neuralforecast==$NF_VERSION"
  fi
  "$PY" -m pip freeze > "$OUT/freeze.txt"
fi
if [ "$SKIP_LSTMCAST" != 1 ] && [ -z "${LSTMCAST_BIN:-}" ]; then
  cargo build --release -q -p lstmcast-cli
fi
LSTMCAST_BIN=${LSTMCAST_BIN:-target/release/lstmcast}

scores=()
for p in $PANELS; do
  read -r DATA ID TARGET L H M FREQ <<< "$(panel "$p")"
  python3 bench/panel_score.py selftest --panel "$p" --data "$DATA" --id-col "$ID" --target "$TARGET" \
    --lookback "$L" --horizon "$H" --season "$M" > "$OUT/selftest-$p.log"
  tail -1 "$OUT/selftest-$p.log" >&2
  args=()
  if [ "$SKIP_LSTMCAST" != 1 ]; then
    echo "== $p: lstmcast" >&2
    run=$OUT/lstmcast-$p
    # A rerun: the folder holds this script's bench_meta.json besides lstmcast's run, which
    # lstmcast rightly refuses to replace; start from nothing.
    rm -rf "$run"
    cmd=("$LSTMCAST_BIN" train --data "$DATA" --id-col "$ID" --target "$TARGET" --features "$TARGET"
         --lookback "$L" --horizon "$H" --out "$run" --force --quiet)
    t0=$EPOCHREALTIME
    "${cmd[@]}"
    t1=$EPOCHREALTIME
    python3 -c 'import json, sys
t0, t1, cmd = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
json.dump({"tool": "lstmcast", "fit_s": t1 - t0, "command": " ".join(cmd),
           "fit_note": f"fit s = wall time of the whole train command ({t1 - t0:.1f}s: load, fit, test predictions)"},
          open(cmd[cmd.index("--out") + 1] + "/bench_meta.json", "w"), indent=1)' "$t0" "$t1" "${cmd[@]}"
    args+=(--pred "lstmcast=$run/predictions.csv" --meta "lstmcast=$run/bench_meta.json")
  fi
  if [ "$SKIP_NF" != 1 ]; then
    echo "== $p: neuralforecast LSTM" >&2
    nf=$OUT/nf-$p
    if ! "$PY" bench/nf_panel.py --data "$DATA" --id-col "$ID" --target "$TARGET" --lookback "$L" --horizon "$H" \
        --freq "$FREQ" --epochs "$NF_EPOCHS" --patience "$NF_PATIENCE" --out "$nf" \
        2> "$OUT/nf-$p.stderr.log" >&2; then
      tail -20 "$OUT/nf-$p.stderr.log" >&2
      exit 1
    fi
    args+=(--pred "neuralforecast-LSTM=$nf/predictions.csv" --meta "neuralforecast-LSTM=$nf/meta.json")
  fi
  python3 bench/panel_score.py score --panel "$p" --data "$DATA" --id-col "$ID" --target "$TARGET" \
    --lookback "$L" --horizon "$H" --season "$M" "${args[@]}" --json "$OUT/score-$p.json" > /dev/null
  scores+=("$OUT/score-$p.json")
done
python3 bench/panel_score.py report "${scores[@]}" --json "$OUT/results.json" --md "$OUT/results.md"
