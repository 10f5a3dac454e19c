#!/usr/bin/env bash
# Side-by-side benchmark: the three reference examples in lstmcast, PyTorch and Keras, one thread
# each, interleaved in one run so that all three see the same machine load. Prints ratios.
#
#   bash bench/peers.sh                 # 3 repeats (seeds 42, 43, 44), all examples
#   REPEATS=5 EXAMPLES="1 3" bash bench/peers.sh
#   ONLY_LSTMCAST=1 bash bench/peers.sh   # no peers: lstmcast's times and its fraction of peak
#   NO_KERAS=1 PY=~/.cache/nf-venv/bin/python bash bench/peers.sh   # PyTorch only
#
# lstmcast and PyTorch run twice: on one thread and on every core ("lstmcast-all": `demo
# --threads $(nproc)`, each batch of 32 split across the cores with the same weights to the bit;
# "torch-all": PyTorch's default thread count).
#
# The fraction of one core's FP32 peak divides the peers' FLOP estimate of a run by lstmcast's
# training time and by the peak that examples/fp32_peak.rs measures on this machine.
# Needs the peer environment from ../shared/bench/peers/setup.sh (created here if missing;
# ~5 minutes and ~7 GB the first time). Results: bench/out/results.json and a markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS=${PEERS:-../shared/bench/peers}
PY=${PY:-"$HOME/.cache/peers-venv/bin/python"}
REPEATS=${REPEATS:-3}
EXAMPLES=${EXAMPLES:-"1 2 3"}
OUT=bench/out
mkdir -p "$OUT"
ONLY_LSTMCAST=${ONLY_LSTMCAST:-}
if [ -n "$ONLY_LSTMCAST" ]; then
  PY=python3
elif [ ! -x "$PY" ]; then
  bash "$PEERS/setup.sh" --no-darts
fi
cargo build --release -q -p lstmcast-cli
cargo build --release -q -p lstmcast --example fp32_peak
PEAK_GFLOPS=$(target/release/examples/fp32_peak 2>/dev/null)
export PEAK_GFLOPS
echo "one core's FP32 peak, measured: $PEAK_GFLOPS GFLOP/s" >&2
BIN=target/release/lstmcast
CORES=$(nproc)
: > "$OUT/results.jsonl"
for ex in $EXAMPLES; do
  echo "== example $ex" >&2
  for r in $(seq 0 $((REPEATS - 1))); do
    seed=$((42 + r))
    "$BIN" demo --example "$ex" --seed "$seed" --json | "$PY" -c 'import json,sys; d=json.load(sys.stdin); d["framework"]="lstmcast"; d["predict_one_ms"]=d["predict_one_us"]/1000; print(json.dumps(d))' >> "$OUT/results.jsonl"
    "$BIN" demo --example "$ex" --seed "$seed" --threads "$CORES" --json | "$PY" -c 'import json,sys; d=json.load(sys.stdin); d["framework"]="lstmcast-all"; d["predict_one_ms"]=d["predict_one_us"]/1000; print(json.dumps(d))' >> "$OUT/results.jsonl"
  done
  [ -n "$ONLY_LSTMCAST" ] && continue
  (cd "$PEERS" && "$PY" torch_seed.py --example "$ex" --repeats "$REPEATS" --threads 1 2>>"$OLDPWD/$OUT/stderr.log") >> "$OUT/results.jsonl"
  (cd "$PEERS" && "$PY" torch_seed.py --example "$ex" --repeats "$REPEATS" 2>>"$OLDPWD/$OUT/stderr.log") \
    | "$PY" -c 'import json,sys
for l in sys.stdin:
    if l.strip().startswith("{"):
        d = json.loads(l); d["framework"] = "torch-all"; print(json.dumps(d))' >> "$OUT/results.jsonl"
  [ -n "${NO_KERAS:-}" ] && continue
  (cd "$PEERS" && "$PY" keras_seed.py --example "$ex" --repeats "$REPEATS" --threads 1 2>>"$OLDPWD/$OUT/stderr.log") >> "$OUT/results.jsonl"
done
"$PY" bench/summarize.py "$OUT/results.jsonl" "$OUT/results.json"
