//! Pooling kernels of the CPU backend (NCHW; geometry in [`crate::spatial`]). Every kernel works
//! plane by plane ((example, channel) pairs are independent), so planes are split across the
//! pool for large tensors without changing any result.

use rayon::prelude::*;

use super::norm_kernels::sum_f64;
use super::CpuBackend;
use crate::spatial::Window2d;
use crate::Element;

/// Input and output plane sizes of a pooling pass.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PoolShape {
    pub h: usize,
    pub w: usize,
    pub oh: usize,
    pub ow: usize,
    pub win: Window2d,
}

impl PoolShape {
    pub fn in_plane(&self) -> usize {
        self.h * self.w
    }
    pub fn out_plane(&self) -> usize {
        self.oh * self.ow
    }
    /// Input rows and columns covered by output position (r, q), clipped to the input.
    #[inline]
    fn window(&self, r: usize, q: usize) -> (usize, usize, usize, usize) {
        let clip = |o: usize, a: usize, len: usize| {
            let start = (o * self.win.stride[a]) as isize - self.win.padding[a] as isize;
            let end = start + self.win.kernel[a] as isize;
            (start.max(0) as usize, (end.max(0) as usize).min(len))
        };
        let (h0, h1) = clip(r, 0, self.h);
        let (w0, w1) = clip(q, 1, self.w);
        (h0, h1, w0, w1)
    }
}

/// Runs `body(first plane, output planes)` over groups of whole output planes (`plane` elements
/// each), in parallel when the pass touches at least `PARALLEL_ELEMENTS` elements.
fn over_planes<T: Send, F>(be: &CpuBackend, work: usize, out: &mut [T], plane: usize, body: F)
where
    F: Fn(usize, &mut [T]) + Sync,
{
    let planes = out.len() / plane.max(1);
    if be.threads > 1 && work >= super::PARALLEL_ELEMENTS && planes > 1 {
        let per = planes.div_ceil(be.threads);
        be.pool.install(|| {
            out.par_chunks_mut(per * plane)
                .enumerate()
                .for_each(|(k, o)| body(k * per, o))
        });
    } else {
        body(0, out);
    }
}

/// Max pooling; `arg` receives the in-plane position of each maximum (as a float).
pub(crate) fn max_forward<T: Element>(
    be: &CpuBackend,
    x: &[T],
    s: PoolShape,
    y: &mut [T],
    arg: &mut [T],
) {
    let (ip, op) = (s.in_plane(), s.out_plane());
    let planes = y.len() / op.max(1);
    let per = if be.threads > 1 && x.len() >= super::PARALLEL_ELEMENTS && planes > 1 {
        planes.div_ceil(be.threads)
    } else {
        planes.max(1)
    };
    let body = |p0: usize, y: &mut [T], arg: &mut [T]| {
        for (i, (yp, ap)) in y
            .chunks_exact_mut(op)
            .zip(arg.chunks_exact_mut(op))
            .enumerate()
        {
            let xp = &x[(p0 + i) * ip..(p0 + i + 1) * ip];
            max_plane(xp, &s, yp, ap);
        }
    };
    if per >= planes {
        body(0, y, arg);
    } else {
        be.pool.install(|| {
            y.par_chunks_mut(per * op)
                .zip(arg.par_chunks_mut(per * op))
                .enumerate()
                .for_each(|(k, (y, a))| body(k * per, y, a))
        });
    }
}

/// The larger of two (value, index) candidates, the left one on ties, a NaN on the right
/// winning: the rule of a left-to-right scan `take v if v > best or v is NaN`. Written with
/// non-short-circuit `|` so it compiles to selects (the winner of random data is
/// unpredictable, and branches on it cost more than the comparison).
#[inline(always)]
fn pick<T: Element>(left: (T, u32), right: (T, u32)) -> (T, u32) {
    #[allow(clippy::eq_op)]
    let take = (right.0 > left.0) | (right.0 != right.0);
    (
        if take { right.0 } else { left.0 },
        if take { right.1 } else { left.1 },
    )
}

/// Max pooling of one plane; `ap` receives in-plane positions.
#[inline]
fn max_plane<T: Element>(xp: &[T], s: &PoolShape, yp: &mut [T], ap: &mut [T]) {
    let w = s.w;
    if s.win.kernel == [2, 2] && s.win.stride == [2, 2] && s.win.padding == [0, 0] {
        // The common 2×2/2 window, always inside the input (floor mode); pairwise picks give the
        // same winner as the row-major scan.
        for r in 0..s.oh {
            let top = &xp[2 * r * w..(2 * r + 1) * w];
            let bottom = &xp[(2 * r + 1) * w..(2 * r + 2) * w];
            let yr = &mut yp[r * s.ow..(r + 1) * s.ow];
            let ar = &mut ap[r * s.ow..(r + 1) * s.ow];
            let base = (2 * r * w) as u32;
            for (q, ((yv, av), (t, b))) in yr
                .iter_mut()
                .zip(ar.iter_mut())
                .zip(top.chunks_exact(2).zip(bottom.chunks_exact(2)))
                .enumerate()
            {
                let i = base + 2 * q as u32;
                let upper = pick((t[0], i), (t[1], i + 1));
                let lower = pick((b[0], i + w as u32), (b[1], i + w as u32 + 1));
                let (best, at) = pick(upper, lower);
                *yv = best;
                *av = T::from_f64(at as f64);
            }
        }
        return;
    }
    for r in 0..s.oh {
        for q in 0..s.ow {
            let (h0, h1, w0, w1) = s.window(r, q);
            let mut best = (T::neg_infinity(), (h0 * w + w0) as u32);
            for ih in h0..h1 {
                for (k, &v) in xp[ih * w + w0..ih * w + w1].iter().enumerate() {
                    best = pick(best, (v, (ih * w + w0 + k) as u32));
                }
            }
            yp[r * s.ow + q] = best.0;
            ap[r * s.ow + q] = T::from_f64(best.1 as f64);
        }
    }
}

/// `dx ← 0; dx[plane, arg] += dy`.
pub(crate) fn max_backward<T: Element>(
    be: &CpuBackend,
    dy: &[T],
    arg: &[T],
    in_plane: usize,
    out_plane: usize,
    dx: &mut [T],
) {
    over_planes(be, dx.len(), dx, in_plane, |p0, dx| {
        for (i, dxp) in dx.chunks_exact_mut(in_plane).enumerate() {
            dxp.fill(T::zero());
            let o0 = (p0 + i) * out_plane;
            for (&g, &a) in dy[o0..o0 + out_plane].iter().zip(&arg[o0..o0 + out_plane]) {
                // Positions are exact small integers (< 2²⁴); via u32 the conversion is cheap.
                dxp[a.as_f64() as u32 as usize] += g;
            }
        }
    });
}

/// Average pooling, divisor k_h·k_w (padding counted).
pub(crate) fn avg_forward<T: Element>(be: &CpuBackend, x: &[T], s: PoolShape, y: &mut [T]) {
    let (ip, op) = (s.in_plane(), s.out_plane());
    let inv = T::from_f64(1.0 / (s.win.kernel[0] * s.win.kernel[1]) as f64);
    over_planes(be, x.len(), y, op, |p0, y| {
        for (i, yp) in y.chunks_exact_mut(op).enumerate() {
            let xp = &x[(p0 + i) * ip..(p0 + i + 1) * ip];
            for r in 0..s.oh {
                for q in 0..s.ow {
                    let (h0, h1, w0, w1) = s.window(r, q);
                    let mut acc = T::zero();
                    for ih in h0..h1 {
                        for &v in &xp[ih * s.w + w0..ih * s.w + w1] {
                            acc += v;
                        }
                    }
                    yp[r * s.ow + q] = acc * inv;
                }
            }
        }
    });
}

/// The adjoint of [`avg_forward`].
pub(crate) fn avg_backward<T: Element>(be: &CpuBackend, dy: &[T], s: PoolShape, dx: &mut [T]) {
    let (ip, op) = (s.in_plane(), s.out_plane());
    let inv = T::from_f64(1.0 / (s.win.kernel[0] * s.win.kernel[1]) as f64);
    over_planes(be, dx.len(), dx, ip, |p0, dx| {
        for (i, dxp) in dx.chunks_exact_mut(ip).enumerate() {
            dxp.fill(T::zero());
            let dyp = &dy[(p0 + i) * op..(p0 + i + 1) * op];
            for r in 0..s.oh {
                for q in 0..s.ow {
                    let g = dyp[r * s.ow + q] * inv;
                    let (h0, h1, w0, w1) = s.window(r, q);
                    for ih in h0..h1 {
                        for d in &mut dxp[ih * s.w + w0..ih * s.w + w1] {
                            *d += g;
                        }
                    }
                }
            }
        }
    });
}

/// `y[plane] ← mean of the plane` (f64 accumulation).
pub(crate) fn global_avg_forward<T: Element>(be: &CpuBackend, x: &[T], plane: usize, y: &mut [T]) {
    let inv = 1.0 / plane as f64;
    over_planes(be, x.len(), y, 1, |p0, y| {
        for (i, v) in y.iter_mut().enumerate() {
            *v = T::from_f64(sum_f64(&x[(p0 + i) * plane..(p0 + i + 1) * plane]) * inv);
        }
    });
}

/// `dx[plane, ·] ← dy[plane] / plane size`.
pub(crate) fn global_avg_backward<T: Element>(
    be: &CpuBackend,
    dy: &[T],
    plane: usize,
    dx: &mut [T],
) {
    let inv = T::from_f64(1.0 / plane as f64);
    over_planes(be, dx.len(), dx, plane, |p0, dx| {
        for (i, dxp) in dx.chunks_exact_mut(plane).enumerate() {
            dxp.fill(dy[p0 + i] * inv);
        }
    });
}
