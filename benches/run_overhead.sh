#!/usr/bin/env bash
# Store and probe overhead of `learnscope run`: the demo configuration (8-16-16-15 deep linear
# net, probes at log-spaced steps) for 200 000 steps, against the bare engine step of the same
# network (`step-rate hierarchy --threads 1`), in interleaved rounds. Prints steps/s of both.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p learnscope -p learnscope-benches
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for round in 1 2 3; do
  for ckpt in 5000 0; do
    run=$(target/release/learnscope demo --set steps=200000 --set checkpoint.every=$ckpt --out "$tmp/r$round-$ckpt" | sed -n 's/^speed *\([0-9]*\).*/\1/p')
    bare=$(target/release/step-rate hierarchy --threads 1 --seconds 1 | sed -n 's/.*"steps_per_sec":\([0-9.]*\).*/\1/p')
    echo "round $round: learnscope run (checkpoint every $ckpt) $run steps/s, bare step $bare steps/s"
  done
done
