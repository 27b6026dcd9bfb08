//! Batch-normalisation kernels of the CPU backend (equations in
//! [`crate::layer::BatchNorm`]). Activations are read as `[N, C, S]`; a "segment" is the S values
//! of one (example, channel) pair. Per-channel sums accumulate in f64 in a fixed order (examples
//! in order, four interleaved lanes within a segment), one channel per task, so they do not
//! depend on the thread count; elementwise passes are split over whole segments.

use rayon::prelude::*;

use super::scratch::{Scratch, Slot};
use super::CpuBackend;
use crate::{Activation, Element};

/// Σ v in f64: four interleaved accumulators, then the tail (a fixed order).
#[inline]
pub(crate) fn sum_f64<T: Element>(v: &[T]) -> f64 {
    let mut acc = [0.0f64; 4];
    let mut it = v.chunks_exact(4);
    for q in &mut it {
        for l in 0..4 {
            acc[l] += q[l].as_f64();
        }
    }
    let tail: f64 = it.remainder().iter().map(|x| x.as_f64()).sum();
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// Σ (v − m)² in f64, same order as [`sum_f64`].
#[inline]
fn sum_sq_dev<T: Element>(v: &[T], m: f64) -> f64 {
    let mut acc = [0.0f64; 4];
    let mut it = v.chunks_exact(4);
    for q in &mut it {
        for l in 0..4 {
            let d = q[l].as_f64() - m;
            acc[l] += d * d;
        }
    }
    let tail: f64 = it
        .remainder()
        .iter()
        .map(|x| (x.as_f64() - m) * (x.as_f64() - m))
        .sum();
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// (Σ g, Σ g·(v − m)) in f64, same order as [`sum_f64`].
#[inline]
fn sum_grad<T: Element>(g: &[T], v: &[T], m: f64) -> (f64, f64) {
    let (mut a, mut b) = ([0.0f64; 4], [0.0f64; 4]);
    let mut ig = g.chunks_exact(4);
    let mut iv = v.chunks_exact(4);
    for (qg, qv) in (&mut ig).zip(&mut iv) {
        for l in 0..4 {
            let gl = qg[l].as_f64();
            a[l] += gl;
            b[l] += gl * (qv[l].as_f64() - m);
        }
    }
    let (mut ta, mut tb) = (0.0, 0.0);
    for (x, y) in ig.remainder().iter().zip(iv.remainder()) {
        ta += x.as_f64();
        tb += x.as_f64() * (y.as_f64() - m);
    }
    (
        (a[0] + a[1]) + (a[2] + a[3]) + ta,
        (b[0] + b[1]) + (b[2] + b[3]) + tb,
    )
}

/// The [N, C, S] reading of a tensor with `len` elements, batch `n` and `c` channels.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ncs {
    pub n: usize,
    pub c: usize,
    pub s: usize,
}

impl Ncs {
    fn segment<'a, T>(&self, x: &'a [T], e: usize, ch: usize) -> &'a [T] {
        &x[(e * self.c + ch) * self.s..(e * self.c + ch + 1) * self.s]
    }
    fn m(&self) -> usize {
        self.n * self.s
    }
}

fn parallel(be: &CpuBackend, len: usize) -> bool {
    be.threads > 1 && len >= super::PARALLEL_ELEMENTS
}

/// Runs `f(channel)` for every channel, writing its results into `out[channel]` (in parallel
/// when large: each channel is one task, so the result does not depend on the split).
fn per_channel<T: Element, F>(be: &CpuBackend, len: usize, a: &mut [T], b: &mut [T], f: F)
where
    F: Fn(usize) -> (f64, f64) + Sync,
{
    let body = |(ch, (x, y)): (usize, (&mut T, &mut T))| {
        let (u, v) = f(ch);
        *x = T::from_f64(u);
        *y = T::from_f64(v);
    };
    if parallel(be, len) {
        be.pool.install(|| {
            a.par_iter_mut()
                .zip(b.par_iter_mut())
                .enumerate()
                .for_each(body)
        });
    } else {
        a.iter_mut().zip(b.iter_mut()).enumerate().for_each(body);
    }
}

/// Per-channel mean and biased variance (two passes, f64).
pub(crate) fn stats<T: Element>(be: &CpuBackend, x: &[T], d: Ncs, mean: &mut [T], var: &mut [T]) {
    let m = d.m() as f64;
    per_channel(be, x.len(), mean, var, |ch| {
        let mut sum = 0.0;
        for e in 0..d.n {
            sum += sum_f64(d.segment(x, e, ch));
        }
        let mu = sum / m;
        let mut sq = 0.0;
        for e in 0..d.n {
            sq += sum_sq_dev(d.segment(x, e, ch), mu);
        }
        (mu, sq / m)
    });
}

/// `out = a[c]·u + b[c]·v + k[c]` elementwise per segment (`v` optional), then an optional
/// activation into `act_out`; split over whole segments.
#[allow(clippy::too_many_arguments)]
fn affine_segments<T: Element>(
    be: &CpuBackend,
    d: Ncs,
    coef: &[T],
    u: &[T],
    v: Option<&[T]>,
    out: &mut [T],
    act: Activation,
    act_out: Option<&mut [T]>,
) {
    let c = d.c;
    let (ca, cb, ck) = (&coef[..c], &coef[c..2 * c], &coef[2 * c..3 * c]);
    let seg = d.s.max(1);
    let segs_per_task = if parallel(be, out.len()) {
        (out.len() / seg).div_ceil(be.threads).max(1)
    } else {
        usize::MAX / seg
    };
    let chunk = segs_per_task.saturating_mul(seg).max(1);
    let body = |k: usize, out: &mut [T], act_out: Option<&mut [T]>| {
        let first = k * segs_per_task;
        let u = &u[first * seg..first * seg + out.len()];
        for (i, o) in out.chunks_exact_mut(seg).enumerate() {
            let ch = (first + i) % c;
            let (a, b, kk) = (ca[ch], cb[ch], ck[ch]);
            let us = &u[i * seg..(i + 1) * seg];
            match v {
                Some(v) => {
                    let vs = &v[(first + i) * seg..(first + i + 1) * seg];
                    for ((o, &x), &y) in o.iter_mut().zip(us).zip(vs) {
                        *o = a * x + b * y + kk;
                    }
                }
                None => {
                    for (o, &x) in o.iter_mut().zip(us) {
                        *o = a * x + kk;
                    }
                }
            }
        }
        if let Some(y) = act_out {
            super::kernels::act_forward(act, out, y);
        }
    };
    match act_out {
        Some(y) if chunk < out.len() => be.pool.install(|| {
            out.par_chunks_mut(chunk)
                .zip(y.par_chunks_mut(chunk))
                .enumerate()
                .for_each(|(k, (o, y))| body(k, o, Some(y)))
        }),
        Some(y) => body(0, out, Some(y)),
        None if chunk < out.len() => be.pool.install(|| {
            out.par_chunks_mut(chunk)
                .enumerate()
                .for_each(|(k, o)| body(k, o, None))
        }),
        None => body(0, out, None),
    }
}

/// `z = γ(x − μ)/√(σ² + ε) + β`, then `y = act(z)`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn forward<T: Element + Scratch>(
    be: &CpuBackend,
    x: &[T],
    d: Ncs,
    mean: &[T],
    var: &[T],
    eps: f64,
    gamma: &[T],
    beta: &[T],
    z: &mut [T],
    act: Activation,
    y: Option<&mut [T]>,
) {
    let c = d.c;
    T::with_scratch(Slot::Partial, 3 * c, |coef| {
        for ch in 0..c {
            let inv = 1.0 / (var[ch].as_f64() + eps).sqrt();
            let scale = gamma[ch].as_f64() * inv;
            coef[ch] = T::from_f64(scale);
            coef[c + ch] = T::zero();
            coef[2 * c + ch] = T::from_f64(beta[ch].as_f64() - mean[ch].as_f64() * scale);
        }
        affine_segments(be, d, coef, x, None, z, act, y);
    });
}

/// Gradients of [`forward`] (see `Backend::batch_norm_backward`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward<T: Element + Scratch>(
    be: &CpuBackend,
    x: &[T],
    dz: &[T],
    d: Ncs,
    mean: &[T],
    var: &[T],
    eps: f64,
    gamma: &[T],
    batch_stats: bool,
    dx: Option<&mut [T]>,
    dgamma: &mut [T],
    dbeta: &mut [T],
) {
    // dβ = Σ dz, dγ = inv·Σ dz·(x − μ).
    per_channel(be, x.len(), dbeta, dgamma, |ch| {
        let mu = mean[ch].as_f64();
        let inv = 1.0 / (var[ch].as_f64() + eps).sqrt();
        let (mut a, mut b) = (0.0, 0.0);
        for e in 0..d.n {
            let (sa, sb) = sum_grad(d.segment(dz, e, ch), d.segment(x, e, ch), mu);
            a += sa;
            b += sb;
        }
        (a, b * inv)
    });
    let Some(dx) = dx else { return };
    let (c, m) = (d.c, d.m() as f64);
    T::with_scratch(Slot::Partial, 3 * c, |coef| {
        // dx = a·dz + b·x + k with a = γ·inv and, for batch statistics,
        // b = −a·inv·dγ/M, k = −a·dβ/M − b·μ.
        for ch in 0..c {
            let inv = 1.0 / (var[ch].as_f64() + eps).sqrt();
            let a = gamma[ch].as_f64() * inv;
            let (b, k) = if batch_stats {
                let b = -a * inv * dgamma[ch].as_f64() / m;
                (b, -a * dbeta[ch].as_f64() / m - b * mean[ch].as_f64())
            } else {
                (0.0, 0.0)
            };
            coef[ch] = T::from_f64(a);
            coef[c + ch] = T::from_f64(b);
            coef[2 * c + ch] = T::from_f64(k);
        }
        let v = batch_stats.then_some(x);
        affine_segments(be, d, coef, dz, v, dx, Activation::Identity, None);
    });
}
