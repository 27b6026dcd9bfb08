#!/usr/bin/env bash
# Builds the release step-rate binary and runs the paired PyTorch comparison.
# The torch venv (~5 GB with its dependencies) lives outside the repository and is reused:
# TORCH_VENV (default ../torch-venv beside the checkout). Never run in CI.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV="${TORCH_VENV:-$(cd .. && pwd)/torch-venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet torch numpy
fi
cargo build --release -q -p learnscope-benches --bin step-rate
STEP_RATE=target/release/step-rate exec "$VENV/bin/python" benches/pytorch/compare.py "$@"
