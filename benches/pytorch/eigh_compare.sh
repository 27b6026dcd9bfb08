#!/usr/bin/env bash
# Builds the release eigh-rate binary and times it against numpy.linalg.eigh on the same
# matrix (OpenBLAS, THREADS=2 by default, through threadpoolctl). The numpy venv lives outside
# the repository: NUMPY_VENV (default ../numpy-venv beside the checkout). Never run in CI.
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset for this command only (issue 10): a forced
# core type or cache size would time a kernel the machine does not pick by itself.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV="${NUMPY_VENV:-$(cd .. && pwd)/numpy-venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet numpy threadpoolctl
fi
cargo build --release -q -p learnscope-benches --bin eigh-rate
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE EIGH_RATE=target/release/eigh-rate \
  "$VENV/bin/python" benches/pytorch/eigh_compare.py "$@"
