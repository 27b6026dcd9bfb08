//! Convolution on the CPU: im2col + GEMM (forward), GEMM + col2im (input gradient),
//! im2col + GEMM summed over the batch (weight gradient). Equations in [`crate::spatial`].
//!
//! Batching: examples are processed in chunks of `nb` examples, nb chosen from the shapes alone
//! (so that a product has at least [`MIN_COLS`] columns: one example when its output plane is
//! large, several when it is small, as in the last blocks of a VGG). A chunk's im2col matrix lives
//! in a per-thread scratch buffer, so memory stays bounded by one chunk per thread.
//!
//! Layouts: im2col writes `[ckk, count·P]` (rows = (c, i, j), contiguous runs along output rows;
//! stride-1 "same" convolutions fill a whole kernel offset with one copy), except for output
//! planes of at most [`TRANSPOSE_MAX_P`] positions, which use `[count·P, ckk]` (each position's
//! patch contiguous; the products read it transposed, and with P = 1 the forward product writes
//! the NCHW output directly through a strided view). 1×1 stride-1 convolutions of one example
//! skip im2col.
//!
//! Threads: chunks run in parallel on the backend's pool when there are at least as many chunks
//! as threads, each with a single-threaded product; otherwise chunks run in turn with threaded
//! products. Forward and input-gradient results are per example, so the split cannot change
//! them. The weight gradient sums over examples: the batch is cut into `G` groups of whole chunks,
//! `G` a function of the shapes only (never of the thread count); each group accumulates its
//! chunks in order into its own partial sum and the partials are added in group order. Results
//! are therefore bit-identical for any thread count, given that a product's result does not
//! depend on its parallelism (the `gemm` crate splits over output tiles, never over the reduction
//! dimension; checked by the determinism tests).

use rayon::prelude::*;

use super::gemm::{self, MatMut, MatRef, Parallelism};
use super::scratch::{Scratch, Slot};
use super::CpuBackend;
use crate::spatial::{valid_range, Window2d};
use crate::{Activation, Element};

/// Target number of columns (output positions) per product.
pub(crate) const MIN_COLS: usize = 128;
/// At most this many elements in one chunk's im2col matrix (unless one example needs more).
const COL_BUDGET: usize = 1 << 22;
/// Output planes of at most this many positions use the transposed im2col layout.
const TRANSPOSE_MAX_P: usize = 8;
/// At most this many weight-gradient groups.
const MAX_GROUPS: usize = 16;
/// At most this many elements of partial weight gradients beyond the first group's.
const PARTIAL_BUDGET: usize = 1 << 20;

/// The sizes of one convolution (or of one im2col, with `o = 0`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConvShape {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub o: usize,
    pub oh: usize,
    pub ow: usize,
    pub win: Window2d,
}

impl ConvShape {
    /// Output positions per example.
    pub fn p(&self) -> usize {
        self.oh * self.ow
    }
    /// Rows of the im2col matrix.
    pub fn ckk(&self) -> usize {
        self.win.col_rows(self.c)
    }
    /// Input elements per example.
    pub fn in_len(&self) -> usize {
        self.c * self.h * self.w
    }
    /// Output elements per example.
    pub fn out_len(&self) -> usize {
        self.o * self.p()
    }
    /// Examples per chunk: a function of the shapes only.
    pub fn chunk(&self) -> usize {
        let p = self.p().max(1);
        let want = MIN_COLS.div_ceil(p);
        let cap = (COL_BUDGET / (p * self.ckk()).max(1)).max(1);
        want.min(cap).min(self.n).max(1)
    }
    /// Whether chunks use the transposed im2col layout `[count·P, ckk]` (small output planes,
    /// where the `[ckk, count·P]` layout would scatter each example's few columns over every
    /// row and miss the cache on each write).
    pub fn transposed(&self) -> bool {
        self.p() <= TRANSPOSE_MAX_P && !self.win.is_pointwise()
    }
    fn flops(&self) -> f64 {
        2.0 * (self.n * self.o * self.p() * self.ckk()) as f64
    }
}

fn product<T: Element>(
    dst: MatMut<'_, T>,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
    beta: f64,
    par: Parallelism,
) {
    gemm::gemm(dst, lhs, rhs, T::one(), T::from_f64(beta), par)
        .unwrap_or_else(|e| panic!("convolution product: {e}"));
}

fn view<T>(data: &[T], rows: usize, cols: usize) -> MatRef<'_, T> {
    MatRef::row_major(data, rows, cols).unwrap_or_else(|e| panic!("convolution operand: {e}"))
}

fn view_mut<T>(data: &mut [T], rows: usize, cols: usize) -> MatMut<'_, T> {
    MatMut::row_major(data, rows, cols).unwrap_or_else(|e| panic!("convolution result: {e}"))
}

/// Kernels wider than this use ranges computed on the fly instead of a stack table.
const MAX_TABLE: usize = 32;

/// The valid output range of every kernel offset along one axis (see [`valid_range`]),
/// computed once per call: `table[j]` for offset j.
struct Ranges {
    table: [(usize, usize); MAX_TABLE],
    out: usize,
    len: usize,
    stride: usize,
    pad: usize,
}

impl Ranges {
    fn new(k: usize, out: usize, len: usize, stride: usize, pad: usize) -> Self {
        let mut table = [(0, 0); MAX_TABLE];
        for (j, t) in table.iter_mut().enumerate().take(k.min(MAX_TABLE)) {
            *t = valid_range(out, len, stride, j, pad);
        }
        Ranges {
            table,
            out,
            len,
            stride,
            pad,
        }
    }
    #[inline]
    fn get(&self, j: usize) -> (usize, usize) {
        if j < MAX_TABLE {
            self.table[j]
        } else {
            valid_range(self.out, self.len, self.stride, j, self.pad)
        }
    }
}

/// Writes the im2col rows of one input channel `plane` (`[H, W]`) into `block` (its k_h·k_w
/// rows of length `ld`), at columns `off .. off + P`.
#[allow(clippy::too_many_arguments)]
fn im2col_channel<T: Element>(
    plane: &[T],
    s: &ConvShape,
    rows: &Ranges,
    colr: &Ranges,
    block: &mut [T],
    ld: usize,
    off: usize,
) {
    let [kh, kw] = s.win.kernel;
    let [sh, sw] = s.win.stride;
    let [ph, pw] = s.win.padding;
    let (w, oh, ow) = (s.w, s.oh, s.ow);
    let zero = T::zero();
    for i in 0..kh {
        let (r_lo, r_hi) = rows.get(i);
        for j in 0..kw {
            let (q_lo, q_hi) = colr.get(j);
            let row = i * kw + j;
            let dst = &mut block[row * ld + off..row * ld + off + oh * ow];
            if r_lo >= r_hi || q_lo >= q_hi {
                // This kernel offset only ever reads padding.
                dst.fill(zero);
                continue;
            }
            if r_lo > 0 {
                dst[..r_lo * ow].fill(zero);
            }
            if r_hi < oh {
                dst[r_hi * ow..].fill(zero);
            }
            if sh == 1 && sw == 1 && ow == w {
                // Output rows have the input's width and advance one input row each: output
                // position t reads input t + δ, so one copy fills the block and only the padded
                // edge columns are rewritten (the copy put neighbouring-row values there).
                let (t0, t1) = (r_lo * ow + q_lo, (r_hi - 1) * ow + q_hi);
                let s0 = (r_lo + i - ph) * w + q_lo + j - pw;
                dst[t0..t1].copy_from_slice(&plane[s0..s0 + (t1 - t0)]);
                for r in r_lo..r_hi {
                    for v in &mut dst[r * ow..r * ow + q_lo] {
                        *v = zero;
                    }
                    for v in &mut dst[r * ow + q_hi..(r + 1) * ow] {
                        *v = zero;
                    }
                }
                continue;
            }
            // Any stride: one select per element (short or strided rows make per-row copies
            // and fills cost more than the data).
            for (r, d) in dst[r_lo * ow..r_hi * ow].chunks_exact_mut(ow).enumerate() {
                let ih = (r_lo + r) * sh + i - ph;
                let src = &plane[ih * w..(ih + 1) * w];
                for (q, v) in d.iter_mut().enumerate() {
                    let at = q * sw + j;
                    *v = if at >= pw && at - pw < w {
                        src[at - pw]
                    } else {
                        zero
                    };
                }
            }
        }
    }
}

fn ranges(s: &ConvShape) -> (Ranges, Ranges) {
    (
        Ranges::new(
            s.win.kernel[0],
            s.oh,
            s.h,
            s.win.stride[0],
            s.win.padding[0],
        ),
        Ranges::new(
            s.win.kernel[1],
            s.ow,
            s.w,
            s.win.stride[1],
            s.win.padding[1],
        ),
    )
}

/// Writes the im2col columns of one example `x` (`[C, H, W]`) into `cols` (rows of length
/// `ld`), at columns `off .. off + P`.
pub(crate) fn im2col_one<T: Element>(
    x: &[T],
    s: &ConvShape,
    cols: &mut [T],
    ld: usize,
    off: usize,
) {
    let (rows, colr) = ranges(s);
    let (hw, kk) = (s.h * s.w, s.win.kernel[0] * s.win.kernel[1]);
    for (c, block) in cols.chunks_mut(kk * ld).take(s.c).enumerate() {
        im2col_channel(&x[c * hw..(c + 1) * hw], s, &rows, &colr, block, ld, off);
    }
}

/// Overwrites one example `dx` (`[C, H, W]`) with the scatter-add of columns `off .. off + P`
/// of `cols` (rows of length `ld`): the adjoint of [`im2col_one`]. Accumulation order is fixed.
pub(crate) fn col2im_one<T: Element>(
    cols: &[T],
    s: &ConvShape,
    ld: usize,
    off: usize,
    dx: &mut [T],
) {
    let [kh, kw] = s.win.kernel;
    let [sh, sw] = s.win.stride;
    let [ph, pw] = s.win.padding;
    let (h, w, oh, ow) = (s.h, s.w, s.oh, s.ow);
    let (rows, colr) = ranges(s);
    dx.fill(T::zero());
    for c in 0..s.c {
        let plane = &mut dx[c * h * w..(c + 1) * h * w];
        for i in 0..kh {
            let (r_lo, r_hi) = rows.get(i);
            for j in 0..kw {
                let (q_lo, q_hi) = colr.get(j);
                if q_lo >= q_hi {
                    continue;
                }
                let row = (c * kh + i) * kw + j;
                let src_all = &cols[row * ld + off..row * ld + off + oh * ow];
                for r in r_lo..r_hi {
                    let ih = r * sh + i - ph;
                    let d = &mut plane[ih * w..(ih + 1) * w];
                    let src = &src_all[r * ow..(r + 1) * ow];
                    if sw == 1 {
                        let start = q_lo + j - pw;
                        for (dv, &sv) in d[start..].iter_mut().zip(&src[q_lo..q_hi]) {
                            *dv += sv;
                        }
                    } else {
                        for (q, &sv) in src.iter().enumerate().take(q_hi).skip(q_lo) {
                            d[q * sw + j - pw] += sv;
                        }
                    }
                }
            }
        }
    }
}

/// im2col of one example `x` in the transposed layout: `colt[p·ckk + (c·k_h + i)·k_w + j]`
/// for output position p (`colt` holds this example's P rows).
fn im2col_t_one<T: Element>(x: &[T], s: &ConvShape, colt: &mut [T]) {
    let [kh, kw] = s.win.kernel;
    let [sh, sw] = s.win.stride;
    let [ph, pw] = s.win.padding;
    let (h, w, ckk) = (s.h, s.w, s.ckk());
    let zero = T::zero();
    for (pos, row) in colt.chunks_exact_mut(ckk).enumerate() {
        let (r, q) = (pos / s.ow, pos % s.ow);
        for c in 0..s.c {
            let plane = &x[c * h * w..(c + 1) * h * w];
            for i in 0..kh {
                let d = &mut row[(c * kh + i) * kw..(c * kh + i + 1) * kw];
                let ih = r * sh + i;
                if ih < ph || ih - ph >= h {
                    d.iter_mut().for_each(|v| *v = zero);
                    continue;
                }
                let src = &plane[(ih - ph) * w..(ih - ph + 1) * w];
                for (j, v) in d.iter_mut().enumerate() {
                    let at = q * sw + j;
                    *v = if at >= pw && at - pw < w {
                        src[at - pw]
                    } else {
                        zero
                    };
                }
            }
        }
    }
}

/// The adjoint of [`im2col_t_one`]: overwrites one example `dx` with the scatter-add of its
/// P rows of `colt` (positions in order, then (c, i, j) in order).
fn col2im_t_one<T: Element>(colt: &[T], s: &ConvShape, dx: &mut [T]) {
    let [kh, kw] = s.win.kernel;
    let [sh, sw] = s.win.stride;
    let [ph, pw] = s.win.padding;
    let (h, w, ckk) = (s.h, s.w, s.ckk());
    dx.fill(T::zero());
    for (pos, row) in colt.chunks_exact(ckk).enumerate() {
        let (r, q) = (pos / s.ow, pos % s.ow);
        for c in 0..s.c {
            for i in 0..kh {
                let ih = r * sh + i;
                if ih < ph || ih - ph >= h {
                    continue;
                }
                let d = &mut dx[(c * h + ih - ph) * w..(c * h + ih - ph + 1) * w];
                for (j, &g) in row[(c * kh + i) * kw..(c * kh + i + 1) * kw]
                    .iter()
                    .enumerate()
                {
                    let at = q * sw + j;
                    if at >= pw && at - pw < w {
                        d[at - pw] += g;
                    }
                }
            }
        }
    }
}

/// Transposed-layout im2col of `count` examples into `colt` `[count·P, ckk]` (split over
/// examples with threaded `par`).
fn im2col_t_batch<T: Element>(x: &[T], s: &ConvShape, colt: &mut [T], par: Parallelism) {
    let rows = s.p() * s.ckk();
    let one = |(xe, ce): (&[T], &mut [T])| im2col_t_one(xe, s, ce);
    if matches!(par, Parallelism::Threads(_)) {
        x.par_chunks(s.in_len())
            .zip(colt.par_chunks_mut(rows))
            .for_each(one);
    } else {
        x.chunks(s.in_len())
            .zip(colt.chunks_mut(rows))
            .for_each(one);
    }
}

/// Runs `f` on the chunk's output gradient `dy` (`[count, O, P]`) read as an `[O, count·P]`
/// matrix: a strided view when P = 1, else a gathered copy in scratch.
fn with_dy_matrix<T: Element + Scratch, R>(
    dy: &[T],
    o: usize,
    p: usize,
    count: usize,
    f: impl FnOnce(MatRef<'_, T>) -> R,
) -> R {
    if p == 1 {
        let m = MatRef::new(dy, o, count, 1, o).unwrap_or_else(|e| panic!("gradient view: {e}"));
        f(m)
    } else {
        T::with_scratch(Slot::Tmp, o * count * p, |dyc| {
            gather(dy, o, p, count, dyc);
            f(view(dyc, o, count * p))
        })
    }
}

/// Forward pass of one chunk in the transposed layout.
#[allow(clippy::too_many_arguments)]
fn forward_chunk_t<T: Element + Scratch>(
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
    s: &ConvShape,
    z: &mut [T],
    par: Parallelism,
) {
    let (p, ckk, o) = (s.p(), s.ckk(), s.o);
    let count = z.len() / s.out_len();
    let cols = count * p;
    T::with_scratch(Slot::Col, cols * ckk, |colt| {
        im2col_t_batch(x, s, colt, par);
        let rhs = view(colt, cols, ckk).t();
        if p == 1 {
            // z is [count, O] = the [O, count] product with strides (1, O).
            let dst = MatMut::new(z, o, count, 1, o).unwrap_or_else(|e| panic!("output view: {e}"));
            product(dst, view(w, o, ckk), rhs, 0.0, par);
            if let Some(b) = bias {
                for ze in z.chunks_exact_mut(o) {
                    for (v, &bv) in ze.iter_mut().zip(b) {
                        *v += bv;
                    }
                }
            }
            return;
        }
        T::with_scratch(Slot::Tmp, o * cols, |tmp| {
            product(view_mut(tmp, o, cols), view(w, o, ckk), rhs, 0.0, par);
            scatter(tmp, bias, o, p, z);
        });
    });
}

/// im2col of `count` consecutive examples (`x` holds exactly them) into `cols`
/// `[ckk, count·P]`; with threaded `par` (inside the pool), split over input channels, whose
/// row blocks are contiguous.
pub(crate) fn im2col_batch<T: Element>(
    x: &[T],
    s: &ConvShape,
    count: usize,
    cols: &mut [T],
    par: Parallelism,
) {
    let (p, in_len) = (s.p(), s.in_len());
    if matches!(par, Parallelism::Threads(_)) {
        let (rows, colr) = ranges(s);
        let (hw, kk) = (s.h * s.w, s.win.kernel[0] * s.win.kernel[1]);
        cols.par_chunks_mut(kk * count * p)
            .take(s.c)
            .enumerate()
            .for_each(|(c, block)| {
                for e in 0..count {
                    let plane = &x[e * in_len + c * hw..e * in_len + (c + 1) * hw];
                    im2col_channel(plane, s, &rows, &colr, block, count * p, e * p);
                }
            });
    } else {
        for e in 0..count {
            im2col_one(&x[e * in_len..(e + 1) * in_len], s, cols, count * p, e * p);
        }
    }
}

/// col2im of `count` consecutive examples into `dx` (exactly them); with threaded `par`
/// (inside the pool), split over examples.
pub(crate) fn col2im_batch<T: Element>(
    cols: &[T],
    s: &ConvShape,
    count: usize,
    dx: &mut [T],
    par: Parallelism,
) {
    let (p, in_len) = (s.p(), s.in_len());
    let one = |(e, d): (usize, &mut [T])| col2im_one(cols, s, count * p, e * p, d);
    if matches!(par, Parallelism::Threads(_)) {
        dx.par_chunks_mut(in_len)
            .take(count)
            .enumerate()
            .for_each(one);
    } else {
        dx.chunks_mut(in_len).take(count).enumerate().for_each(one);
    }
}

/// How chunks of a conv pass are scheduled.
enum Schedule {
    /// Chunks in parallel, sequential products.
    Chunks,
    /// Chunks in turn, products with this parallelism.
    Products(Parallelism),
}

fn schedule(be: &CpuBackend, s: &ConvShape, n_chunks: usize) -> Schedule {
    let big = be.threads > 1 && s.flops() >= be.parallel_flops;
    if big && n_chunks >= be.threads {
        Schedule::Chunks
    } else if big && s.flops() / n_chunks as f64 >= be.parallel_flops {
        Schedule::Products(Parallelism::Threads(be.threads))
    } else {
        Schedule::Products(Parallelism::Sequential)
    }
}

/// Runs `f` inside the pool when `par` uses threads (so the product's rayon tasks run there).
fn maybe_install<R: Send>(be: &CpuBackend, par: Parallelism, f: impl FnOnce() -> R + Send) -> R {
    if matches!(par, Parallelism::Threads(_)) {
        be.pool.install(f)
    } else {
        f()
    }
}

#[allow(clippy::too_many_arguments)]
fn forward_chunk<T: Element + Scratch>(
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
    s: &ConvShape,
    z: &mut [T],
    act: Activation,
    y: Option<&mut [T]>,
    par: Parallelism,
) {
    let (p, ckk, o) = (s.p(), s.ckk(), s.o);
    let count = z.len() / s.out_len();
    if s.transposed() {
        forward_chunk_t(x, w, bias, s, z, par);
    } else if count == 1 {
        let run = |col: &[T], z: &mut [T]| {
            product(
                view_mut(z, o, p),
                view(w, o, ckk),
                view(col, ckk, p),
                0.0,
                par,
            )
        };
        if s.win.is_pointwise() {
            run(x, z);
        } else {
            T::with_scratch(Slot::Col, ckk * p, |col| {
                im2col_one(x, s, col, p, 0);
                run(col, z);
            });
        }
        if let Some(b) = bias {
            for (row, &bv) in z.chunks_exact_mut(p).zip(b) {
                row.iter_mut().for_each(|v| *v += bv);
            }
        }
    } else {
        let cols = count * p;
        T::with_scratch(Slot::Col, ckk * cols, |col| {
            im2col_batch(x, s, count, col, par);
            T::with_scratch(Slot::Tmp, o * cols, |tmp| {
                product(
                    view_mut(tmp, o, cols),
                    view(w, o, ckk),
                    view(col, ckk, cols),
                    0.0,
                    par,
                );
                scatter(tmp, bias, o, p, z);
            });
        });
    }
    if let Some(y) = y {
        super::kernels::act_forward(act, z, y);
    }
}

/// `z ← conv(x, w) + b`, then `y ← act(z)` chunk by chunk.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_forward<T: Element + Scratch>(
    be: &CpuBackend,
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
    s: &ConvShape,
    z: &mut [T],
    act: Activation,
    y: Option<&mut [T]>,
) {
    let nb = s.chunk();
    let n_chunks = s.n.div_ceil(nb);
    let (xc, zc) = (nb * s.in_len(), nb * s.out_len());
    match (schedule(be, s, n_chunks), y) {
        (Schedule::Chunks, Some(y)) => be.pool.install(|| {
            z.par_chunks_mut(zc)
                .zip(y.par_chunks_mut(zc))
                .zip(x.par_chunks(xc))
                .for_each(|((z, y), x)| {
                    forward_chunk(x, w, bias, s, z, act, Some(y), Parallelism::Sequential)
                })
        }),
        (Schedule::Chunks, None) => be.pool.install(|| {
            z.par_chunks_mut(zc)
                .zip(x.par_chunks(xc))
                .for_each(|(z, x)| {
                    forward_chunk(x, w, bias, s, z, act, None, Parallelism::Sequential)
                })
        }),
        (Schedule::Products(par), y) => maybe_install(be, par, || {
            let mut ys = y.map(|y| y.chunks_mut(zc));
            for (z, x) in z.chunks_mut(zc).zip(x.chunks(xc)) {
                let yc = ys.as_mut().map(|it| it.next().expect("same chunking as z"));
                forward_chunk(x, w, bias, s, z, act, yc, par);
            }
        }),
    }
}

fn backward_input_chunk<T: Element + Scratch>(
    dy: &[T],
    w: &[T],
    s: &ConvShape,
    dx: &mut [T],
    par: Parallelism,
) {
    let (p, ckk, o) = (s.p(), s.ckk(), s.o);
    let count = dy.len() / s.out_len();
    if s.transposed() {
        // dcolᵀ [count·P, ckk] = dyᵀ · W, then the transposed col2im per example.
        let cols = count * p;
        with_dy_matrix(dy, o, p, count, |dyc| {
            T::with_scratch(Slot::Col, cols * ckk, |dcolt| {
                product(
                    view_mut(dcolt, cols, ckk),
                    dyc.t(),
                    view(w, o, ckk),
                    0.0,
                    par,
                );
                let one = |(d, c): (&mut [T], &[T])| col2im_t_one(c, s, d);
                if matches!(par, Parallelism::Threads(_)) {
                    dx.par_chunks_mut(s.in_len())
                        .zip(dcolt.par_chunks(p * ckk))
                        .for_each(one);
                } else {
                    dx.chunks_mut(s.in_len())
                        .zip(dcolt.chunks(p * ckk))
                        .for_each(one);
                }
            });
        });
        return;
    }
    let wt = view(w, o, ckk).t();
    if count == 1 {
        if s.win.is_pointwise() {
            product(view_mut(dx, ckk, p), wt, view(dy, o, p), 0.0, par);
        } else {
            T::with_scratch(Slot::Col, ckk * p, |dcol| {
                product(view_mut(dcol, ckk, p), wt, view(dy, o, p), 0.0, par);
                col2im_one(dcol, s, p, 0, dx);
            });
        }
        return;
    }
    let cols = count * p;
    T::with_scratch(Slot::Tmp, o * cols, |dyc| {
        gather(dy, o, p, count, dyc);
        T::with_scratch(Slot::Col, ckk * cols, |dcol| {
            product(view_mut(dcol, ckk, cols), wt, view(dyc, o, cols), 0.0, par);
            col2im_batch(dcol, s, count, dx, par);
        });
    });
}

/// `tmp` `[O, count·P]` → `z` `[count, O, P]`, adding the bias.
fn scatter<T: Element>(tmp: &[T], bias: Option<&[T]>, o: usize, p: usize, z: &mut [T]) {
    let cols = tmp.len() / o;
    for (e, ze) in z.chunks_exact_mut(o * p).enumerate() {
        for (oc, row) in ze.chunks_exact_mut(p).enumerate() {
            let src = &tmp[oc * cols + e * p..oc * cols + (e + 1) * p];
            match bias {
                Some(b) => {
                    let bv = b[oc];
                    for (d, &v) in row.iter_mut().zip(src) {
                        *d = v + bv;
                    }
                }
                None => row.copy_from_slice(src),
            }
        }
    }
}

/// `[count, O, P]` → `[O, count·P]`.
fn gather<T: Copy>(src: &[T], o: usize, p: usize, count: usize, dst: &mut [T]) {
    let cols = count * p;
    for (e, se) in src.chunks_exact(o * p).enumerate() {
        for (oc, row) in se.chunks_exact(p).enumerate() {
            dst[oc * cols + e * p..oc * cols + (e + 1) * p].copy_from_slice(row);
        }
    }
}

/// `dx ← col2im(Wᵀ dy)`.
pub(crate) fn conv_backward_input<T: Element + Scratch>(
    be: &CpuBackend,
    dy: &[T],
    w: &[T],
    s: &ConvShape,
    dx: &mut [T],
) {
    let nb = s.chunk();
    let n_chunks = s.n.div_ceil(nb);
    let (xc, yc) = (nb * s.in_len(), nb * s.out_len());
    match schedule(be, s, n_chunks) {
        Schedule::Chunks => be.pool.install(|| {
            dx.par_chunks_mut(xc)
                .zip(dy.par_chunks(yc))
                .for_each(|(dx, dy)| backward_input_chunk(dy, w, s, dx, Parallelism::Sequential))
        }),
        Schedule::Products(par) => maybe_install(be, par, || {
            for (dx, dy) in dx.chunks_mut(xc).zip(dy.chunks(yc)) {
                backward_input_chunk(dy, w, s, dx, par);
            }
        }),
    }
}

/// `dw ← Σ over the group's chunks, in order, of dy_chunk · colsᵀ`.
fn weight_group<T: Element + Scratch>(
    x: &[T],
    dy: &[T],
    s: &ConvShape,
    nb: usize,
    dw: &mut [T],
    par: Parallelism,
) {
    let (p, ckk, o) = (s.p(), s.ckk(), s.o);
    let chunks = x.chunks(nb * s.in_len()).zip(dy.chunks(nb * s.out_len()));
    for (k, (xc, dyc)) in chunks.enumerate() {
        let beta = if k == 0 { 0.0 } else { 1.0 };
        let count = dyc.len() / s.out_len();
        if s.transposed() {
            // dW += dy_chunk [O, count·P] · colᵀ [count·P, ckk].
            let cols = count * p;
            T::with_scratch(Slot::Col, cols * ckk, |colt| {
                im2col_t_batch(xc, s, colt, par);
                with_dy_matrix(dyc, o, p, count, |dym| {
                    product(view_mut(dw, o, ckk), dym, view(colt, cols, ckk), beta, par)
                });
            });
            continue;
        }
        if count == 1 {
            let run = |col: &[T], dw: &mut [T]| {
                product(
                    view_mut(dw, o, ckk),
                    view(dyc, o, p),
                    view(col, ckk, p).t(),
                    beta,
                    par,
                )
            };
            if s.win.is_pointwise() {
                run(xc, dw);
            } else {
                T::with_scratch(Slot::Col, ckk * p, |col| {
                    im2col_one(xc, s, col, p, 0);
                    run(col, dw);
                });
            }
            continue;
        }
        let cols = count * p;
        T::with_scratch(Slot::Col, ckk * cols, |col| {
            im2col_batch(xc, s, count, col, par);
            T::with_scratch(Slot::Tmp, o * cols, |dyg| {
                gather(dyc, o, p, count, dyg);
                product(
                    view_mut(dw, o, ckk),
                    view(dyg, o, cols),
                    view(col, ckk, cols).t(),
                    beta,
                    par,
                );
            });
        });
    }
}

/// `dw ← Σ_e dy[e]·im2col(x[e])ᵀ`, `db[o] ← Σ_{e,p} dy[e, o, p]`.
pub(crate) fn conv_backward_weight<T: Element + Scratch>(
    be: &CpuBackend,
    x: &[T],
    dy: &[T],
    s: &ConvShape,
    dw: &mut [T],
    db: Option<&mut [T]>,
) {
    if s.n == 0 {
        // An empty batch contributes nothing (and has no chunks to schedule).
        dw.fill(T::zero());
        if let Some(db) = db {
            db.fill(T::zero());
        }
        return;
    }
    let nb = s.chunk();
    let n_chunks = s.n.div_ceil(nb);
    let wlen = dw.len();
    // G from the shapes alone: enough groups to spread over threads, partials within budget.
    let max_groups = MAX_GROUPS
        .min(1 + PARTIAL_BUDGET / wlen.max(1))
        .min(n_chunks);
    let per_group = n_chunks.div_ceil(max_groups.max(1));
    let groups = n_chunks.div_ceil(per_group);
    let (gx, gy) = (per_group * nb * s.in_len(), per_group * nb * s.out_len());
    let big = be.threads > 1 && s.flops() >= be.parallel_flops;
    if groups == 1 {
        let par = if big && s.flops() / n_chunks as f64 >= be.parallel_flops {
            Parallelism::Threads(be.threads)
        } else {
            Parallelism::Sequential
        };
        maybe_install(be, par, || weight_group(x, dy, s, nb, dw, par));
    } else {
        T::with_scratch(Slot::Partial, (groups - 1) * wlen, |partials| {
            let run = |(g, target): (usize, &mut [T])| {
                let (x0, y0) = (g * gx, g * gy);
                let (x1, y1) = ((x0 + gx).min(x.len()), (y0 + gy).min(dy.len()));
                weight_group(
                    &x[x0..x1],
                    &dy[y0..y1],
                    s,
                    nb,
                    target,
                    Parallelism::Sequential,
                );
            };
            if big {
                be.pool.install(|| {
                    rayon::iter::once(&mut *dw)
                        .chain(partials.par_chunks_mut(wlen))
                        .enumerate()
                        .for_each(run)
                });
            } else {
                std::iter::once(&mut *dw)
                    .chain(partials.chunks_mut(wlen))
                    .enumerate()
                    .for_each(run);
            }
            for part in partials.chunks_exact(wlen) {
                for (d, &v) in dw.iter_mut().zip(part) {
                    *d += v;
                }
            }
        });
    }
    if let Some(db) = db {
        let (o, p) = (s.o, s.p());
        for (oc, d) in db.iter_mut().enumerate() {
            let mut acc = 0.0f64;
            for e in 0..s.n {
                let row = &dy[(e * o + oc) * p..(e * o + oc + 1) * p];
                acc += super::norm_kernels::sum_f64(row);
            }
            *d = T::from_f64(acc);
        }
    }
}
