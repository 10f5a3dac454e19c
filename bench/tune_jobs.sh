#!/usr/bin/env bash
# Tuning throughput on all cores: `lstmcast tune --jobs 2` against `--jobs 1` (the search phase,
# same trials, bit-identical results), beside the machine's own ceiling: two independent
# single-threaded trainings at once against one. Interleaved rounds; medians and ratios only.
#
#   bash bench/tune_jobs.sh            # 3 rounds
#   ROUNDS=5 TRIALS=30 bash bench/tune_jobs.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
TRIALS=${TRIALS:-24}
OUT=bench/out/tune_jobs
mkdir -p "$OUT"
cargo build --release -q -p lstmcast-cli
BIN=target/release/lstmcast
tune() {
  "$BIN" tune --data data/economics.csv --target unemploy --horizon 3 --trials "$TRIALS" \
    --jobs "$1" --out "$OUT/j$1" --force --quiet > /dev/null
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["search_seconds"])' "$OUT/j$1/tune.json"
}
wall() { local t0 t1; t0=$(date +%s.%N); "$@"; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
one_demo() { "$BIN" demo --example 1 --json > /dev/null; }
two_demos() { "$BIN" demo --example 1 --json > /dev/null & "$BIN" demo --example 1 --json > /dev/null; wait; }
: > "$OUT/times.txt"
for r in $(seq 1 "$ROUNDS"); do
  echo "tune1 $(tune 1)" >> "$OUT/times.txt"
  echo "tune2 $(tune 2)" >> "$OUT/times.txt"
  echo "demo1 $(wall one_demo)" >> "$OUT/times.txt"
  echo "demo2 $(wall two_demos)" >> "$OUT/times.txt"
done
cmp <(cut -d, -f1-10 "$OUT/j1/trials.csv") <(cut -d, -f1-10 "$OUT/j2/trials.csv") \
  && echo "trials.csv identical for --jobs 1 and --jobs 2 (all but the seconds column)"
python3 - "$OUT/times.txt" <<'PY'
import statistics, sys
t = {}
for line in open(sys.argv[1]):
    k, v = line.split()
    t.setdefault(k, []).append(float(v))
m = {k: statistics.median(v) for k, v in t.items()}
print(f"tune search, --jobs 2 vs --jobs 1: {m['tune1'] / m['tune2']:.2f}x throughput")
print(f"ceiling, two independent trainings vs one: {2 * m['demo1'] / m['demo2']:.2f}x throughput")
print(f"tune reaches {m['tune1'] / m['tune2'] / (2 * m['demo1'] / m['demo2']) * 100:.0f}% of the ceiling")
PY
