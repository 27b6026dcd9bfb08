#!/usr/bin/env python3
"""Paired speed comparison of learnscope's engine against PyTorch eager (CPU).

Runs, for each workload, ROUNDS interleaved rounds: the Rust `step-rate` binary, then the PyTorch
twin below, each timing steps for SECONDS after a warm-up. Prints steps/s of both sides and the
median of the per-round ratios (learnscope / PyTorch), which is robust to the machine's noise.

Hygiene: torch.set_num_threads(THREADS) and the engine on THREADS threads; eager mode; same
dtype, shapes, loss and reduction (mse = 0.5 * mean over examples of the sum over outputs).

Usage: benches/pytorch/compare.sh [WORKLOAD...] (builds the release binary, finds or makes the
torch venv); THREADS, ROUNDS and SECONDS_PER_SIDE in the environment.
"""
import json
import os
import statistics
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

THREADS = int(os.environ.get("THREADS", "2"))
ROUNDS = int(os.environ.get("ROUNDS", "5"))
SECONDS = float(os.environ.get("SECONDS_PER_SIDE", "2"))
BIN = os.environ.get("STEP_RATE", "target/release/step-rate")
torch.set_num_threads(THREADS)
torch.manual_seed(0)


def mse_half_mean(out, y):
    return 0.5 * ((out - y) ** 2).sum(dim=1).mean()


def mlp():
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    x = torch.randn(128, 784)
    y = torch.randint(0, 10, (128,))
    return model, x, y, F.cross_entropy


def hierarchy():
    layers = [nn.Linear(8, 16), nn.Linear(16, 16), nn.Linear(16, 15)]
    for l in layers:
        nn.init.normal_(l.weight, std=0.01)
        nn.init.zeros_(l.bias)
    model = nn.Sequential(*layers).double()
    x = torch.eye(8, dtype=torch.float64)
    y = torch.zeros(8, 15, dtype=torch.float64)
    for i in range(8):
        y[i, 0] = 1
        y[i, 1 + i // 4] = 1
        y[i, 3 + i // 2] = 1
        y[i, 7 + i] = 1
    return model, x, y, mse_half_mean


def deep_linear_256():
    layers = [nn.Linear(256, 256, bias=False) for _ in range(4)]
    for l in layers:
        nn.init.normal_(l.weight, std=1 / 16)
    model = nn.Sequential(*layers).double()
    x = torch.randn(128, 256, dtype=torch.float64)
    y = torch.randn(128, 256, dtype=torch.float64)
    return model, x, y, mse_half_mean


def small_cnn():
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10),
    )
    x = torch.randn(128, 1, 28, 28)
    y = torch.randint(0, 10, (128,))
    return model, x, y, F.cross_entropy


def vgg8():
    chans = [3, 32, 64, 128, 256, 512]
    layers = []
    for i in range(5):
        layers += [nn.Conv2d(chans[i], chans[i + 1], 3, stride=2, padding=1, bias=False),
                   nn.BatchNorm2d(chans[i + 1]), nn.ReLU()]
    model = nn.Sequential(*layers, nn.Flatten(), nn.Linear(512, 10))  # train mode: batch stats
    x = torch.randn(128, 3, 32, 32)
    y = torch.randint(0, 10, (128,))
    return model, x, y, F.cross_entropy


WORKLOADS = {"mlp": mlp, "hierarchy": hierarchy, "deep_linear_256": deep_linear_256,
             "small_cnn": small_cnn, "vgg8": vgg8}
# Workloads made of Linear layers only, for which Σ t(gemm alone) / t(step) is meaningful.
GEMM_ONLY = {"mlp", "deep_linear_256"}


def torch_rate(name):
    model, x, y, loss_fn = WORKLOADS[name]()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    n, start = 0, time.perf_counter()
    while True:
        step()
        n += 1
        el = time.perf_counter() - start
        if el >= SECONDS:
            return n / el


def rust_rate(name, efficiency=False):
    cmd = [BIN, name, "--threads", str(THREADS), "--seconds", str(SECONDS)]
    if efficiency:
        cmd.append("--gemm-efficiency")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    names = sys.argv[1:] or list(WORKLOADS)
    print(f"torch {torch.__version__}, {THREADS} threads, {ROUNDS} rounds x {SECONDS}s per side")
    print(f"{'workload':<18}{'learnscope steps/s':>20}{'pytorch steps/s':>18}{'ratio (median)':>16}{'ratios':>34}")
    for name in names:
        ratios, rs, ts, effs, info = [], [], [], [], {}
        for r in range(ROUNDS):
            info = rust_rate(name, efficiency=(name in GEMM_ONLY))
            t = torch_rate(name)
            rs.append(info["steps_per_sec"])
            ts.append(t)
            ratios.append(rs[-1] / t)
            if "gemm_efficiency" in info:
                effs.append(info["gemm_efficiency"])
        line = f"{name:<18}{statistics.median(rs):>20.1f}{statistics.median(ts):>18.1f}{statistics.median(ratios):>15.2f}x"
        line += "   [" + ", ".join(f"{x:.2f}" for x in ratios) + "]"
        if effs:
            line += f"  gemm efficiency {statistics.median(effs):.2f} (median)"
        print(line, flush=True)
    print(f"isa: {info.get('isa')}")


if __name__ == "__main__":
    main()
