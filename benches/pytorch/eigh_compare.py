#!/usr/bin/env python3
"""Paired timing of the spectrum probe's f64 symmetric eigendecomposition against NumPy's eigh.

Each of ROUNDS interleaved rounds runs the Rust `eigh-rate` binary (which writes the 512 x 512
uncentred feature moment it times) and then numpy.linalg.eigh on that same matrix, with
OpenBLAS limited to THREADS threads through threadpoolctl. Prints both medians per round and the
median of the per-round ratios (learnscope / NumPy); issue 10's target is <= 1.5.

Usage: benches/pytorch/eigh_compare.sh (builds the binary, makes a small numpy venv).
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

THREADS = int(os.environ.get("THREADS", "2"))
ROUNDS = int(os.environ.get("ROUNDS", "5"))
SECONDS = float(os.environ.get("SECONDS_PER_SIDE", "2"))
BIN = os.environ.get("EIGH_RATE", "target/release/eigh-rate")
P = 512


def numpy_seconds(m):
    np.linalg.eigh(m)
    times = []
    start = time.perf_counter()
    while time.perf_counter() - start < SECONDS or len(times) < 3:
        t = time.perf_counter()
        np.linalg.eigh(m)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    path = os.path.join(tempfile.mkdtemp(), "moment.bin")
    ratios = []
    with threadpool_limits(limits=THREADS):
        blas = [(i.get("internal_api"), i.get("num_threads")) for i in threadpool_info()]
        print(f"numpy {np.__version__}, BLAS {blas}", flush=True)
        for r in range(ROUNDS):
            out = subprocess.run([BIN, "--out", path, "--seconds", str(SECONDS)], check=True,
                                 capture_output=True, text=True).stdout
            rust = json.loads(out)["seconds_per_eigh"]
            m = np.fromfile(path, dtype="<f8").reshape(P, P)
            npy = numpy_seconds(m)
            ratios.append(rust / npy)
            print(f"round {r}: learnscope {rust * 1e3:.1f} ms, numpy {npy * 1e3:.1f} ms, "
                  f"ratio {rust / npy:.2f}", flush=True)
    print(f"median ratio learnscope/numpy over {ROUNDS} rounds: {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    sys.exit(main())
