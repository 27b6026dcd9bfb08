//! Elementwise and reduction loops of the CPU backend, generic over the element type.

use crate::{Activation, Element};

/// Chunk length of deterministic reductions: partial sums over fixed chunks are combined in index
/// order, so a threaded version would reproduce these results bit for bit.
pub(crate) const REDUCE_CHUNK: usize = 4096;

pub(crate) fn axpy<T: Element>(a: T, x: &[T], y: &mut [T]) {
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// Σ aᵢbᵢ in f64: within a chunk four interleaved accumulators (for speed), chunks added in order.
pub(crate) fn dot<T: Element>(a: &[T], b: &[T]) -> f64 {
    let mut total = 0.0f64;
    for (ca, cb) in a.chunks(REDUCE_CHUNK).zip(b.chunks(REDUCE_CHUNK)) {
        let mut acc = [0.0f64; 4];
        let mut it_a = ca.chunks_exact(4);
        let mut it_b = cb.chunks_exact(4);
        for (qa, qb) in (&mut it_a).zip(&mut it_b) {
            for l in 0..4 {
                acc[l] += qa[l].as_f64() * qb[l].as_f64();
            }
        }
        let mut tail = 0.0;
        for (x, y) in it_a.remainder().iter().zip(it_b.remainder()) {
            tail += x.as_f64() * y.as_f64();
        }
        total += (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail;
    }
    total
}

/// `out[j] = scale·Σᵢ x[i, j]`, rows accumulated in order (vectorises across columns).
pub(crate) fn sum_rows<T: Element>(x: &[T], rows: usize, cols: usize, scale: T, out: &mut [T]) {
    out.fill(T::zero());
    for r in 0..rows {
        for (o, &v) in out.iter_mut().zip(&x[r * cols..(r + 1) * cols]) {
            *o += v;
        }
    }
    if scale != T::one() {
        out.iter_mut().for_each(|o| *o *= scale);
    }
}

pub(crate) fn bias_act_forward<T: Element>(
    z: &mut [T],
    cols: usize,
    bias: Option<(&[T], T)>,
    act: Activation,
    out: Option<&mut [T]>,
) {
    if cols == 0 {
        return;
    }
    if let Some((b, s)) = bias {
        for row in z.chunks_exact_mut(cols) {
            for (zi, &bi) in row.iter_mut().zip(b) {
                *zi += s * bi;
            }
        }
    }
    if let Some(out) = out {
        act_forward(act, z, out);
    }
}

pub(crate) fn act_forward<T: Element>(act: Activation, z: &[T], out: &mut [T]) {
    {
        match act {
            // Separate arms so the common cases compile to vector loops.
            Activation::Identity => out.copy_from_slice(z),
            Activation::Relu => {
                for (o, &zi) in out.iter_mut().zip(z.iter()) {
                    // NaN passes (as `Activation::apply`).
                    *o = if zi <= T::zero() { T::zero() } else { zi };
                }
            }
            _ => {
                for (o, &zi) in out.iter_mut().zip(z.iter()) {
                    *o = act.apply(zi);
                }
            }
        }
    }
}

pub(crate) fn act_backward<T: Element>(act: Activation, z: &[T], y: &[T], dy: &[T], dz: &mut [T]) {
    match act {
        Activation::Identity => dz.copy_from_slice(dy),
        Activation::Relu => {
            for ((d, &zi), &g) in dz.iter_mut().zip(z).zip(dy) {
                *d = if zi > T::zero() { g } else { T::zero() };
            }
        }
        _ => {
            for (((d, &zi), &yi), &g) in dz.iter_mut().zip(z).zip(y).zip(dy) {
                *d = g * act.derivative(zi, yi);
            }
        }
    }
}
