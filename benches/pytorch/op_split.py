#!/usr/bin/env python3
"""Per-operator time split of a PyTorch twin's training step (the counterpart of the Rust
`layer-split` binary): runs STEPS steps of a workload from compare.py under torch.profiler and
prints the operators by self CPU time, in ms per step.

Usage: THREADS=1 /path/to/torch-venv/bin/python benches/pytorch/op_split.py small_cnn|vgg8
"""
import os
import sys

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, os.path.dirname(__file__))
import compare  # noqa: E402  (sets the thread count from THREADS)

STEPS = int(os.environ.get("STEPS", "10"))


def main():
    name = sys.argv[1] if len(sys.argv) > 1 else "small_cnn"
    model, x, y, loss_fn = compare.WORKLOADS[name]()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()

    for _ in range(3):
        step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(STEPS):
            step()
    rows = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in rows) / 1e3 / STEPS
    print(f"{name}, torch {torch.__version__}, {compare.THREADS} thread(s): {total:.1f} ms per step (self CPU)")
    for e in rows[:15]:
        print(f"  {e.key:<48}{e.self_cpu_time_total / 1e3 / STEPS:>9.2f} ms")


if __name__ == "__main__":
    main()
