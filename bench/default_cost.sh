#!/usr/bin/env bash
# Cost of the default `train` on the bundled data, two binaries side by side (issue 18: "within
# 2x of today's"): interleaved rounds, order alternated, medians of wall and CPU (user+sys) s.
# Usage: bash bench/default_cost.sh OLD_BIN NEW_BIN [ROUNDS]   (default 5; run from the repo root)
set -euo pipefail
old=$1 new=$2 rounds=${3:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
declare -A args=(
  [nottem]="--data data/nottem.csv --horizon 12"
  [air_passengers]="--data data/air_passengers.csv --horizon 12"
  [economics]="--data data/economics.csv --target unemploy --horizon 6"
  [weather]="--data data/weather_cities_daily.csv --id-col city --target avg_temp_f --horizon 7"
  [cigarettes]="--data data/cigarettes_states_yearly.csv --id-col state --target sales --features sales --lookback 6 --horizon 3"
)
calc() { awk "BEGIN { printf \"%.2f\", $1 }"; }
run() { # bin name -> "wall cpu"
  /usr/bin/time -f "%e %U %S" "$1" train ${args[$2]} --quiet --out "$tmp/$2" --force 2>&1 >/dev/null | tail -1 \
    | awk '{printf "%s %.2f\n", $1, $2 + $3}'
}
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $rounds rounds on $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
printf "%-15s %9s %9s %7s %9s %9s %7s\n" dataset old_wall new_wall ratio old_cpu new_cpu ratio
tot=(0 0 0 0)
for d in nottem air_passengers economics weather cigarettes; do
  : > "$tmp/o" ; : > "$tmp/n"
  for r in $(seq "$rounds"); do
    if (( r % 2 )); then run "$old" $d >> "$tmp/o"; run "$new" $d >> "$tmp/n";
    else run "$new" $d >> "$tmp/n"; run "$old" $d >> "$tmp/o"; fi
  done
  med() { sort -n -k"$2" "$1" | awk -v c="$2" '{a[NR]=$c} END {print a[int((NR+1)/2)]}'; }
  ow=$(med "$tmp/o" 1) nw=$(med "$tmp/n" 1) oc=$(med "$tmp/o" 2) nc=$(med "$tmp/n" 2)
  printf "%-15s %9s %9s %7s %9s %9s %7s\n" $d "$ow" "$nw" "$(calc "$nw / $ow")" "$oc" "$nc" "$(calc "$nc / $oc")"
  tot=("$(calc "${tot[0]} + $ow")" "$(calc "${tot[1]} + $nw")" "$(calc "${tot[2]} + $oc")" "$(calc "${tot[3]} + $nc")")
done
printf "%-15s %9s %9s %7s %9s %9s %7s\n" total "${tot[0]}" "${tot[1]}" "$(calc "${tot[1]} / ${tot[0]}")" "${tot[2]}" "${tot[3]}" "$(calc "${tot[3]} / ${tot[2]}")"
