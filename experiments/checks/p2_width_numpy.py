#!/usr/bin/env python3
"""Independent NumPy check of P2's row 2 (issue 8; SCIENCE.md §P2.2 Theorem 2).

Three-layer linear networks W3 W2 W1 of width W, every layer initialised N(0, 1/W), trained by
full-batch gradient descent on 1/2 ||W3 W2 W1 X - Y||_F^2 (sums) with mu = lr_scale * 0.2/(L d1),
on the data model of `experiments/p2-linear.toml` (Gaussian inputs in R^20 with spectrum i^-1 in
a random basis, n = 400, a linear teacher with 2 outputs, entries N(0, c^2/d) with
c = --teacher-scale). Prints, per width, e = max over steps of ||W^s - eq4^s||_F/||W_opt - W0||_F
in the principal coordinates of the uncentred X X^T, with lambda_j = 1 - mu L d_j.

What it showed (recorded in experiments/p2-verdict.toml and issue 8's note):
  default                      e = 8.1, 8.1, 7.5, 7.4, 7.0 % for W = 256 ... 4096 (3 seeds)
  --lr-scale 0.1 --steps 3000  8.4, 7.6, 7.6, 7.1 % (256 ... 2048): not discretisation
  --teacher-scale 0.1          7.5, 6.1, 4.5, 2.6 % (256 ... 2048): Theorem 2's ~ -1/2
Usage: python3 experiments/checks/p2_width_numpy.py [--seeds 3] [--widths 256 512 ...]
       [--steps 300] [--lr-scale 1] [--teacher-scale 1]   (needs numpy)
"""
import argparse

import numpy as np


def data(rng, teacher_scale, d=20, n=400, k=2):
    lam = 1.0 / np.arange(1, d + 1)
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    x = q @ (np.sqrt(lam)[:, None] * rng.standard_normal((d, n)))
    t = teacher_scale * rng.standard_normal((k, d)) / np.sqrt(d)
    return x, t @ x


def error(width, seed, steps, lr_scale, teacher_scale, layers=3):
    rng = np.random.default_rng(seed)
    x, y = data(np.random.default_rng(1000 + seed), teacher_scale)
    d = x.shape[0]
    dv, u = np.linalg.eigh(x @ x.T)
    order = np.argsort(dv)[::-1]
    dv, u = dv[order], u[:, order]
    mu = lr_scale * 0.2 / (layers * dv[0])
    w1 = rng.standard_normal((width, d)) / np.sqrt(width)
    w2 = rng.standard_normal((width, width)) / np.sqrt(width)
    w3 = rng.standard_normal((y.shape[0], width)) / np.sqrt(width)
    w0 = w3 @ w2 @ w1
    w_opt = y @ np.linalg.pinv(x)
    lam = 1 - mu * layers * dv
    w0_t, w_opt_t = w0 @ u, w_opt @ u
    denom = np.linalg.norm(w_opt - w0)
    e = 0.0
    for s in range(steps + 1):
        c = w3 @ w2 @ w1
        eq4 = lam**s * w0_t + (1 - lam**s) * w_opt_t
        e = max(e, np.linalg.norm(c @ u - eq4) / denom)
        g = (c @ x - y) @ x.T
        g1 = (w3 @ w2).T @ g
        g2 = w3.T @ g @ w1.T
        g3 = g @ (w2 @ w1).T
        w1, w2, w3 = w1 - mu * g1, w2 - mu * g2, w3 - mu * g3
    return e


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--widths", type=int, nargs="+", default=[256, 512, 1024, 2048, 4096])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--lr-scale", type=float, default=1.0)
    ap.add_argument("--teacher-scale", type=float, default=1.0)
    a = ap.parse_args()
    for w in a.widths:
        es = [error(w, s, a.steps, a.lr_scale, a.teacher_scale) for s in range(a.seeds)]
        print(f"width {w}: e = {100 * np.mean(es):.2f} % (seeds: {', '.join(f'{100 * v:.2f}' for v in es)})", flush=True)


if __name__ == "__main__":
    main()
