#!/usr/bin/env bash
# Issue 12's sweep benchmarks, on the release binary:
#  1. Pool efficiency: 64 runs of >= 2 s each (the demo's deep linear net, 1 engine thread).
#     Each run alone, one after another (`run --plan --index i`), gives Σ wall(single); then the
#     same plan in a fresh directory on `sweep run --jobs 2`. efficiency = Σ wall(single) ÷
#     (2 × wall(sweep)); the target is >= 0.9 on 2 cores.
#  2. Aggregation: a 1000-run sweep (tiny runs), then `sweep aggregate` timed with and without
#     the report.
# Usage: benches/sweep/efficiency.sh [WORK_DIR]   (RUNS=64 STEPS=200000 to change the sizes)
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -q -p learnscope
bin=$PWD/target/release/learnscope
work=${1:-$(mktemp -d)}
mkdir -p "$work"
runs=${RUNS:-64}
steps=${STEPS:-200000}
now() { date +%s.%N; }
# calc EXPR: floating-point arithmetic without bc
calc() { awk "BEGIN { print $1 }"; }

cfg=$work/bench.toml
{ cat experiments/demo.toml; printf '\n[sweep]\nseeds = %s\n' "$runs"; } >"$cfg"
rm -rf "$work/single" "$work/pool"
"$bin" sweep plan "$cfg" --out "$work/single" --set steps="$steps" --set probes=[] >/dev/null
"$bin" sweep plan "$cfg" --out "$work/pool" --set steps="$steps" --set probes=[] >/dev/null

single=0
for i in $(seq 0 $((runs - 1))); do
  t0=$(now)
  "$bin" run --plan "$work/single/plan.jsonl" --index "$i" >/dev/null 2>&1
  t1=$(now)
  single=$(calc "$single + $t1 - $t0")
done
t0=$(now)
"$bin" sweep run "$work/pool" --jobs 2 >/dev/null 2>&1
t1=$(now)
pool=$(calc "$t1 - $t0")
eff=$(calc "$single / (2 * $pool)")
printf 'pool efficiency: %d runs, mean single run %.2f s, Σ single %.1f s, sweep on 2 jobs %.1f s -> efficiency %.3f (target >= 0.9)\n' \
  "$runs" "$(calc "$single / $runs")" "$single" "$pool" "$eff"

{ cat experiments/demo.toml; printf '\n[sweep]\nseeds = 1000\n'; } >"$work/many.toml"
rm -rf "$work/many"
"$bin" sweep plan "$work/many.toml" --out "$work/many" --set steps=200 >/dev/null
t0=$(now)
"$bin" sweep run "$work/many" >/dev/null 2>&1
t1=$(now)
printf '1000 tiny runs on the pool: %.1f s\n' "$(calc "$t1 - $t0")"
t0=$(now)
"$bin" sweep aggregate "$work/many" --no-report >/dev/null
t1=$(now)
printf 'aggregate 1000 runs, sweep.parquet only: %.2f s (%s)\n' "$(calc "$t1 - $t0")" \
  "$(du -h "$work/many/sweep.parquet" | cut -f1)"
t0=$(now)
"$bin" sweep aggregate "$work/many" >/dev/null
t1=$(now)
printf 'aggregate 1000 runs with report.html: %.2f s (%s)\n' "$(calc "$t1 - $t0")" \
  "$(du -h "$work/many/report.html" | cut -f1)"
