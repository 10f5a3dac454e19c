#!/usr/bin/env bash
# Issue 15, "Show it": wall time with every core against one thread, side by side in one run
# (interleaved rounds, medians and ratios only), with a check that the results are the same:
#   - the default `train` on the bundled data (nottem, economics, the weather panel): --threads 1
#     against the default (every core);
#   - `tune --trials 24` (economics): --jobs 1 against every core;
#   - `backtest --folds 4 --refit every` (nottem): --jobs 1 against every core;
#   - one epoch of a 20,000-row, 3-column series at batch 256 (examples/parallel_epoch.rs).
#
#   bash bench/every_core.sh            # 3 rounds
#   ROUNDS=5 bash bench/every_core.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
OUT=bench/out/every_core
mkdir -p "$OUT"
cargo build --release -q -p lstmcast-cli
cargo build --release -q -p lstmcast --example parallel_epoch
BIN=target/release/lstmcast
CORES=$(nproc)
wall() { local t0 t1; t0=$(date +%s.%N); "$@" > /dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
train_nottem() { "$BIN" train --data data/nottem.csv --horizon 12 --out "$OUT/nottem$1" --force --quiet --threads "$1"; }
train_econ() { "$BIN" train --data data/economics.csv --target unemploy --horizon 12 --out "$OUT/econ$1" --force --quiet --threads "$1"; }
train_weather() { "$BIN" train --data data/weather_cities_daily.csv --id-col city --target avg_temp_f --horizon 7 --out "$OUT/weather$1" --force --quiet --threads "$1"; }
tune() { "$BIN" tune --data data/economics.csv --target unemploy --horizon 3 --trials 24 --jobs "$1" --out "$OUT/tune$1" --force --quiet; }
backtest() { "$BIN" backtest --data data/nottem.csv --horizon 12 --folds 4 --refit every --jobs "$1" --out "$OUT/bt$1" --force --quiet; }
: > "$OUT/times.txt"
for r in $(seq 1 "$ROUNDS"); do
  for job in train_nottem train_econ train_weather tune backtest; do
    for n in 1 "$CORES"; do
      echo "$job $n $(wall $job "$n")" >> "$OUT/times.txt"
    done
  done
done
same() { cmp -s "$1" "$2" && echo "identical" || echo "DIFFERENT"; }
for d in nottem econ weather; do
  echo "train $d: predictions.csv with 1 and $CORES threads: $(same "$OUT/${d}1/predictions.csv" "$OUT/${d}${CORES}/predictions.csv")"
done
echo "tune: trials.csv (all but the seconds column): $(same <(cut -d, -f1-12 "$OUT/tune1/trials.csv") <(cut -d, -f1-12 "$OUT/tune${CORES}/trials.csv"))"
echo "backtest: backtest.csv: $(same "$OUT/bt1/backtest.csv" "$OUT/bt${CORES}/backtest.csv")"
python3 - "$OUT/times.txt" "$CORES" <<'PY'
import statistics, sys
t = {}
for line in open(sys.argv[1]):
    job, n, v = line.split()
    t.setdefault((job, n), []).append(float(v))
cores = sys.argv[2]
for job in ["train_nottem", "train_econ", "train_weather", "tune", "backtest"]:
    one, many = statistics.median(t[(job, "1")]), statistics.median(t[(job, cores)])
    print(f"{job:14} 1 thread {one:7.2f} s, {cores} cores {many:7.2f} s: {one / many:.2f}x")
PY
target/release/examples/parallel_epoch > "$OUT/epoch.txt"; head -4 "$OUT/epoch.txt"
