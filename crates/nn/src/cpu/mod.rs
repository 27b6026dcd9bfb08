//! The CPU backend: host vectors, `gemm`-crate matrix products, and plain loops for the rest.
//!
//! Threading: one [`CpuBackend::new`]`(threads)` owns a rayon pool of that size and runs large
//! matrix products on it. Products below [`CpuBackend::parallel_flops`] floating-point operations
//! stay on the calling thread (waking threads costs more than it saves on a small product).
//! Every other kernel is single-threaded and deterministic by construction; reductions accumulate
//! in f64 over fixed chunks in index order, so their results do not depend on the thread count.

mod conv_kernels;
pub mod gemm;
mod kernels;
mod loss_kernels;
mod norm_kernels;
mod optim_kernels;
mod pool_kernels;
mod scratch;

use std::sync::Arc;

use rayon::prelude::*;

use learnscope_core::{DType, RandomKey};

use crate::backend::{Backend, Transpose};
use crate::loss::{LossKind, Reduction, Targets};
use crate::optim::{AdamHyper, SgdHyper};
use crate::spatial::Window2d;
use crate::{Activation, Element, Tensor};

use conv_kernels::ConvShape;
use norm_kernels::Ncs;
use pool_kernels::PoolShape;

/// Host memory of one tensor.
#[derive(Debug, Clone, PartialEq)]
pub enum CpuStorage {
    /// 32-bit floats.
    F32(Vec<f32>),
    /// 64-bit floats.
    F64(Vec<f64>),
}

/// Access to a [`CpuStorage`] as a typed slice.
pub trait HostElement: Element {
    /// The slice, if the storage holds this type.
    fn slice(s: &CpuStorage) -> Option<&[Self]>;
    /// The mutable slice, if the storage holds this type.
    fn slice_mut(s: &mut CpuStorage) -> Option<&mut [Self]>;
    /// Wraps a vector.
    fn wrap(v: Vec<Self>) -> CpuStorage;
}

impl HostElement for f32 {
    fn slice(s: &CpuStorage) -> Option<&[Self]> {
        match s {
            CpuStorage::F32(v) => Some(v),
            CpuStorage::F64(_) => None,
        }
    }
    fn slice_mut(s: &mut CpuStorage) -> Option<&mut [Self]> {
        match s {
            CpuStorage::F32(v) => Some(v),
            CpuStorage::F64(_) => None,
        }
    }
    fn wrap(v: Vec<Self>) -> CpuStorage {
        CpuStorage::F32(v)
    }
}

impl HostElement for f64 {
    fn slice(s: &CpuStorage) -> Option<&[Self]> {
        match s {
            CpuStorage::F64(v) => Some(v),
            CpuStorage::F32(_) => None,
        }
    }
    fn slice_mut(s: &mut CpuStorage) -> Option<&mut [Self]> {
        match s {
            CpuStorage::F64(v) => Some(v),
            CpuStorage::F32(_) => None,
        }
    }
    fn wrap(v: Vec<Self>) -> CpuStorage {
        CpuStorage::F64(v)
    }
}

/// Runs `$body` with `$T` bound to the Rust type of `$dtype`.
macro_rules! with_dtype {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            learnscope_core::DType::F32 => {
                type $T = f32;
                $body
            }
            learnscope_core::DType::F64 => {
                type $T = f64;
                $body
            }
        }
    };
}

/// The typed contents of a CPU tensor.
///
/// # Panics
/// If the tensor does not hold `T` (a dtype mix-up inside the engine).
pub fn host<T: HostElement>(t: &Tensor<CpuBackend>) -> &[T] {
    T::slice(&t.storage).unwrap_or_else(|| {
        panic!(
            "dtype mismatch: expected {}, tensor {:?} holds {}",
            T::DTYPE,
            t.shape,
            t.dtype()
        )
    })
}

/// The typed contents of a CPU tensor, mutably.
///
/// # Panics
/// If the tensor does not hold `T`.
pub fn host_mut<T: HostElement>(t: &mut Tensor<CpuBackend>) -> &mut [T] {
    if T::slice(&t.storage).is_none() {
        panic!(
            "dtype mismatch: expected {}, tensor {:?} holds {}",
            T::DTYPE,
            t.shape,
            t.dtype()
        );
    }
    T::slice_mut(&mut t.storage).expect("checked above")
}

/// The CPU backend. Cloning is cheap and shares the thread pool.
#[derive(Clone)]
pub struct CpuBackend {
    threads: usize,
    pool: Arc<rayon::ThreadPool>,
    parallel_flops: f64,
}

impl std::fmt::Debug for CpuBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CpuBackend(threads={})", self.threads)
    }
}

impl Default for CpuBackend {
    /// One thread per available core.
    fn default() -> Self {
        Self::new(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }
}

/// Products below this many floating-point operations (2·m·n·k) run on one thread.
/// Measured on the 2-core development machine (`cargo bench --bench engine -- gemm_threshold`,
/// f32 square products): waking the second thread costs ~20 µs, so 2 threads are slower up to
/// 96³ (1.8 MFLOP: 23 µs vs 37 µs), break even at 128³ (4.2 MFLOP: 57 vs 54 µs) and win from
/// 192³ (14 MFLOP: 176 vs 129 µs). The threshold sits between the last two.
pub const DEFAULT_PARALLEL_FLOPS: f64 = 8.0e6;

/// Optimizer updates over at least this many elements are split across the pool: large enough
/// that the update outlasts a thread wake-up (~20 µs). Splitting the MLP benchmark's updates
/// (0.67 M parameters) raised its step rate by about 8 %; the value itself is not tuned.
pub const PARALLEL_ELEMENTS: usize = 1 << 16;

impl CpuBackend {
    /// A backend whose large products use `threads` threads (at least 1).
    pub fn new(threads: usize) -> Self {
        let threads = threads.max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("learnscope-cpu-{i}"))
            .build()
            .expect("building a rayon pool only fails if threads cannot be spawned");
        CpuBackend {
            threads,
            pool: Arc::new(pool),
            parallel_flops: DEFAULT_PARALLEL_FLOPS,
        }
    }

    /// Sets the FLOP count above which products run on all threads.
    pub fn with_parallel_flops(mut self, flops: f64) -> Self {
        self.parallel_flops = flops;
        self
    }

    /// The FLOP threshold for threaded products.
    pub fn parallel_flops(&self) -> f64 {
        self.parallel_flops
    }

    /// The chunk length for splitting an elementwise kernel over `n` elements across the pool
    /// (`usize::MAX`: run it on the calling thread). Elementwise results do not depend on the
    /// split, so this never affects determinism.
    fn elementwise_chunk(&self, n: usize) -> usize {
        if self.threads > 1 && n >= PARALLEL_ELEMENTS {
            n.div_ceil(self.threads)
        } else {
            usize::MAX
        }
    }

    /// Applies `f(out chunk, offset)` over `out` split into [`CpuBackend::elementwise_chunk`]
    /// pieces (on the pool when there is more than one); `offset` is the chunk's first index.
    fn split_mut<T: Send>(&self, out: &mut [T], f: impl Fn(&mut [T], usize) + Sync) {
        let chunk = self.elementwise_chunk(out.len());
        if chunk >= out.len() {
            f(out, 0);
        } else {
            self.pool.install(|| {
                out.par_chunks_mut(chunk)
                    .enumerate()
                    .for_each(|(k, o)| f(o, k * chunk))
            });
        }
    }

    /// Runs `f` inside this backend's thread pool (so nested rayon work uses its threads).
    pub fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        self.pool.install(f)
    }
}

/// The widest x86 vector extension the `gemm` crate dispatches to on this CPU.
pub fn detected_isa() -> String {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return "avx512".into();
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return "avx2".into();
        }
        "sse2".into()
    }
    #[cfg(target_arch = "aarch64")]
    {
        "neon".into()
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        "scalar".into()
    }
}

/// Checks the operands of a column-block copy; `(rows, src columns)`.
pub(crate) fn column_block<B: Backend>(
    what: &str,
    src: &Tensor<B>,
    dst: &Tensor<B>,
    src_col: usize,
    dst_col: usize,
    cols: usize,
) -> (usize, usize) {
    let ((rows, a), (dst_rows, b)) = (src.as_matrix_dims(), dst.as_matrix_dims());
    assert!(
        src.dtype() == dst.dtype()
            && rows == dst_rows
            && src_col + cols <= a
            && dst_col + cols <= b,
        "{what}: columns {src_col}..{} of {:?} ({}) into columns {dst_col}..{} of {:?} ({})",
        src_col + cols,
        src.shape(),
        src.dtype(),
        dst_col + cols,
        dst.shape(),
        dst.dtype()
    );
    (rows, a)
}

fn same_len(what: &str, a: &Tensor<CpuBackend>, b: &Tensor<CpuBackend>) {
    assert_eq!(
        a.len(),
        b.len(),
        "{what}: element counts differ ({:?} vs {:?})",
        a.shape,
        b.shape
    );
}

/// `[N, C, H, W]` of a 4-D tensor.
fn nchw(what: &str, t: &Tensor<CpuBackend>) -> [usize; 4] {
    match *t.shape() {
        [n, c, h, w] => [n, c, h, w],
        ref s => panic!("{what}: expected an NCHW tensor, found shape {s:?}"),
    }
}

/// The sizes of a convolution of `x` by a `[O, C, k_h, k_w]` weight (`o = 0` without one).
fn conv_shape(
    x: &Tensor<CpuBackend>,
    weight: Option<&Tensor<CpuBackend>>,
    win: &Window2d,
) -> ConvShape {
    let [n, c, h, w] = nchw("convolution input", x);
    let o = match weight {
        Some(wt) => {
            let [o, wc, kh, kw] = nchw("convolution weight", wt);
            assert!(
                wc == c && [kh, kw] == win.kernel,
                "convolution weight {:?} for input {:?} and kernel {:?}",
                wt.shape(),
                x.shape(),
                win.kernel
            );
            o
        }
        None => 0,
    };
    let (oh, ow) = win
        .output_hw(h, w)
        .unwrap_or_else(|| panic!("window {win:?} does not fit input {:?}", x.shape()));
    ConvShape {
        n,
        c,
        h,
        w,
        o,
        oh,
        ow,
        win: *win,
    }
}

/// The sizes of a pooling of `x` `[N, C, H, W]` into `y`.
fn pool_shape(x_shape: &[usize], y_shape: &[usize], win: &Window2d) -> PoolShape {
    let (&[n, c, h, w], &[yn, yc, yh, yw]) = (x_shape, y_shape) else {
        panic!("pooling: expected NCHW tensors, found {x_shape:?} -> {y_shape:?}")
    };
    let (oh, ow) = win
        .output_hw(h, w)
        .unwrap_or_else(|| panic!("window {win:?} does not fit input {x_shape:?}"));
    assert_eq!(
        [yn, yc, yh, yw],
        [n, c, oh, ow],
        "pooling output for input {x_shape:?}"
    );
    PoolShape {
        h,
        w,
        oh,
        ow,
        win: *win,
    }
}

/// The [N, C, S] reading of a batch-norm input with `c` channels.
fn ncs(x: &Tensor<CpuBackend>, c: usize) -> Ncs {
    let n = x.shape().first().copied().unwrap_or(1);
    assert!(
        x.shape().get(1) == Some(&c),
        "batch norm over {c} channels on a tensor of shape {:?}",
        x.shape()
    );
    Ncs {
        n,
        c,
        s: x.len() / (n * c).max(1),
    }
}

impl Backend for CpuBackend {
    type Storage = CpuStorage;

    fn name(&self) -> &'static str {
        "cpu"
    }

    fn threads(&self) -> usize {
        self.threads
    }

    fn isa(&self) -> String {
        detected_isa()
    }

    fn alloc_zeros(&self, dtype: DType, len: usize) -> CpuStorage {
        match dtype {
            DType::F32 => CpuStorage::F32(vec![0.0; len]),
            DType::F64 => CpuStorage::F64(vec![0.0; len]),
        }
    }

    fn storage_dtype(storage: &CpuStorage) -> DType {
        match storage {
            CpuStorage::F32(_) => DType::F32,
            CpuStorage::F64(_) => DType::F64,
        }
    }

    fn storage_len(storage: &CpuStorage) -> usize {
        match storage {
            CpuStorage::F32(v) => v.len(),
            CpuStorage::F64(v) => v.len(),
        }
    }

    fn upload_f64(&self, dtype: DType, data: &[f64]) -> CpuStorage {
        with_dtype!(dtype, T => T::wrap(data.iter().map(|&x| T::from_f64(x)).collect()))
    }

    fn download_f64(&self, storage: &CpuStorage) -> Vec<f64> {
        match storage {
            CpuStorage::F32(v) => v.iter().map(|&x| x as f64).collect(),
            CpuStorage::F64(v) => v.clone(),
        }
    }

    fn copy(&self, src: &Tensor<Self>, dst: &mut Tensor<Self>) {
        same_len("copy", src, dst);
        with_dtype!(src.dtype(), T => {
            let src = host::<T>(src);
            self.split_mut(host_mut::<T>(dst), |d, at| d.copy_from_slice(&src[at..at + d.len()]));
        })
    }

    fn copy_columns(
        &self,
        src: &Tensor<Self>,
        src_col: usize,
        dst: &mut Tensor<Self>,
        dst_col: usize,
        cols: usize,
    ) {
        let (rows, a) = column_block("copy_columns", src, dst, src_col, dst_col, cols);
        let b = dst.as_matrix_dims().1;
        with_dtype!(src.dtype(), T => {
            let s = host::<T>(src);
            let d = host_mut::<T>(dst);
            for r in 0..rows {
                d[r * b + dst_col..r * b + dst_col + cols]
                    .copy_from_slice(&s[r * a + src_col..r * a + src_col + cols]);
            }
        })
    }

    fn fill(&self, dst: &mut Tensor<Self>, value: f64) {
        with_dtype!(dst.dtype(), T => host_mut::<T>(dst).fill(T::from_f64(value)))
    }

    fn scale(&self, x: &mut Tensor<Self>, a: f64) {
        with_dtype!(x.dtype(), T => {
            let a = T::from_f64(a);
            host_mut::<T>(x).iter_mut().for_each(|v| *v *= a);
        })
    }

    fn axpy(&self, a: f64, x: &Tensor<Self>, y: &mut Tensor<Self>) {
        same_len("axpy", x, y);
        with_dtype!(x.dtype(), T => kernels::axpy(T::from_f64(a), host::<T>(x), host_mut::<T>(y)))
    }

    fn add(&self, a: &Tensor<Self>, b: &Tensor<Self>, out: &mut Tensor<Self>) {
        same_len("add", a, b);
        same_len("add", a, out);
        with_dtype!(a.dtype(), T => {
            let (a, b) = (host::<T>(a), host::<T>(b));
            self.split_mut(host_mut::<T>(out), |o, at| {
                for ((o, &x), &y) in o.iter_mut().zip(&a[at..]).zip(&b[at..]) {
                    *o = x + y;
                }
            });
        })
    }

    fn mul(&self, a: &Tensor<Self>, b: &Tensor<Self>, out: &mut Tensor<Self>) {
        same_len("mul", a, b);
        same_len("mul", a, out);
        with_dtype!(a.dtype(), T => {
            let (a, b) = (host::<T>(a), host::<T>(b));
            self.split_mut(host_mut::<T>(out), |o, at| {
                for ((o, &x), &y) in o.iter_mut().zip(&a[at..]).zip(&b[at..]) {
                    *o = x * y;
                }
            });
        })
    }

    fn dot(&self, a: &Tensor<Self>, b: &Tensor<Self>) -> f64 {
        same_len("dot", a, b);
        with_dtype!(a.dtype(), T => kernels::dot(host::<T>(a), host::<T>(b)))
    }

    fn sum_rows(&self, x: &Tensor<Self>, scale: f64, out: &mut Tensor<Self>) {
        let (rows, cols) = x.as_matrix_dims();
        assert_eq!(
            out.len(),
            cols,
            "sum_rows: {:?} into {:?}",
            x.shape,
            out.shape
        );
        with_dtype!(x.dtype(), T => kernels::sum_rows(host::<T>(x), rows, cols, T::from_f64(scale), host_mut::<T>(out)))
    }

    fn gemm(
        &self,
        dst: &mut Tensor<Self>,
        lhs: &Tensor<Self>,
        lhs_t: Transpose,
        rhs: &Tensor<Self>,
        rhs_t: Transpose,
        alpha: f64,
        beta: f64,
    ) {
        let (lr, lc) = lhs.as_matrix_dims();
        let (rr, rc) = rhs.as_matrix_dims();
        let (dr, dc) = dst.as_matrix_dims();
        let k = if lhs_t == Transpose::Yes { lr } else { lc };
        let flops = 2.0 * dr as f64 * dc as f64 * k as f64;
        let par = if self.threads > 1 && flops >= self.parallel_flops {
            gemm::Parallelism::Threads(self.threads)
        } else {
            gemm::Parallelism::Sequential
        };
        with_dtype!(dst.dtype(), T => {
            let l = gemm::MatRef::row_major(host::<T>(lhs), lr, lc).expect("lhs view");
            let r = gemm::MatRef::row_major(host::<T>(rhs), rr, rc).expect("rhs view");
            let l = if lhs_t == Transpose::Yes { l.t() } else { l };
            let r = if rhs_t == Transpose::Yes { r.t() } else { r };
            let d = gemm::MatMut::row_major(host_mut::<T>(dst), dr, dc).expect("dst view");
            let run = || gemm::gemm(d, l, r, T::from_f64(alpha), T::from_f64(beta), par);
            let res = if matches!(par, gemm::Parallelism::Threads(_)) { self.pool.install(run) } else { run() };
            if let Err(e) = res {
                panic!("{e} (lhs {:?} {lhs_t:?}, rhs {:?} {rhs_t:?}, dst {:?})", lhs.shape, rhs.shape, dst.shape);
            }
        })
    }

    fn bias_act_forward(
        &self,
        z: &mut Tensor<Self>,
        bias: Option<(&Tensor<Self>, f64)>,
        act: Activation,
        out: Option<&mut Tensor<Self>>,
    ) {
        let (rows, cols) = z.as_matrix_dims();
        with_dtype!(z.dtype(), T => {
            let bias = bias.map(|(b, s)| {
                assert_eq!(b.len(), cols, "bias {:?} for rows of {cols}", b.shape);
                (host::<T>(b), T::from_f64(s))
            });
            let out = out.map(|o| {
                assert_eq!(o.len(), rows * cols, "activation output {:?}", o.shape);
                host_mut::<T>(o)
            });
            kernels::bias_act_forward(host_mut::<T>(z), cols, bias, act, out);
        })
    }

    fn act_forward(&self, act: Activation, x: &Tensor<Self>, y: &mut Tensor<Self>) {
        same_len("act_forward", x, y);
        with_dtype!(x.dtype(), T => {
            let x = host::<T>(x);
            self.split_mut(host_mut::<T>(y), |y, at| kernels::act_forward(act, &x[at..at + y.len()], y));
        })
    }

    fn act_backward(
        &self,
        act: Activation,
        z: &Tensor<Self>,
        y: &Tensor<Self>,
        dy: &Tensor<Self>,
        dz: &mut Tensor<Self>,
    ) {
        same_len("act_backward z/dy", z, dy);
        same_len("act_backward z/dz", z, dz);
        same_len("act_backward z/y", z, y);
        with_dtype!(z.dtype(), T => {
            let (z, y, dy) = (host::<T>(z), host::<T>(y), host::<T>(dy));
            self.split_mut(host_mut::<T>(dz), |dz, at| {
                let r = at..at + dz.len();
                kernels::act_backward(act, &z[r.clone()], &y[r.clone()], &dy[r], dz)
            });
        })
    }

    fn im2col(&self, x: &Tensor<Self>, win: &Window2d, first: usize, cols: &mut Tensor<Self>) {
        let s = conv_shape(x, None, win);
        let (rows, width) = cols.as_matrix_dims();
        let count = width / s.p().max(1);
        assert!(
            rows == s.ckk() && count * s.p() == width && first + count <= s.n,
            "im2col: cols {:?} for examples {first}..{} of {:?}",
            cols.shape,
            first + count,
            x.shape
        );
        with_dtype!(x.dtype(), T => {
            let xs = &host::<T>(x)[first * s.in_len()..(first + count) * s.in_len()];
            conv_kernels::im2col_batch(xs, &s, count, host_mut::<T>(cols), gemm::Parallelism::Sequential);
        })
    }

    fn col2im(&self, cols: &Tensor<Self>, win: &Window2d, first: usize, dx: &mut Tensor<Self>) {
        let s = conv_shape(dx, None, win);
        let (rows, width) = cols.as_matrix_dims();
        let count = width / s.p().max(1);
        assert!(
            rows == s.ckk() && count * s.p() == width && first + count <= s.n,
            "col2im: cols {:?} for examples {first}..{} of {:?}",
            cols.shape,
            first + count,
            dx.shape
        );
        with_dtype!(cols.dtype(), T => {
            let d = &mut host_mut::<T>(dx)[first * s.in_len()..(first + count) * s.in_len()];
            conv_kernels::col2im_batch(host::<T>(cols), &s, count, d, gemm::Parallelism::Sequential);
        })
    }

    fn conv2d_forward(
        &self,
        x: &Tensor<Self>,
        weight: &Tensor<Self>,
        bias: Option<&Tensor<Self>>,
        win: &Window2d,
        z: &mut Tensor<Self>,
        act: Activation,
        y: Option<&mut Tensor<Self>>,
    ) {
        let s = conv_shape(x, Some(weight), win);
        assert_eq!(
            z.shape(),
            [s.n, s.o, s.oh, s.ow],
            "convolution output for input {:?}",
            x.shape
        );
        if let Some(b) = bias {
            assert_eq!(b.len(), s.o, "convolution bias {:?}", b.shape);
        }
        if let Some(y) = y.as_deref() {
            same_len("convolution activation output", z, y);
        }
        with_dtype!(x.dtype(), T => conv_kernels::conv_forward(
            self,
            host::<T>(x),
            host::<T>(weight),
            bias.map(host::<T>),
            &s,
            host_mut::<T>(z),
            act,
            y.map(host_mut::<T>),
        ))
    }

    fn conv2d_backward_input(
        &self,
        dy: &Tensor<Self>,
        weight: &Tensor<Self>,
        win: &Window2d,
        dx: &mut Tensor<Self>,
    ) {
        let s = conv_shape(dx, Some(weight), win);
        assert_eq!(
            dy.shape(),
            [s.n, s.o, s.oh, s.ow],
            "convolution output gradient for input {:?}",
            dx.shape
        );
        with_dtype!(dy.dtype(), T => conv_kernels::conv_backward_input(
            self,
            host::<T>(dy),
            host::<T>(weight),
            &s,
            host_mut::<T>(dx),
        ))
    }

    fn conv2d_backward_weight(
        &self,
        x: &Tensor<Self>,
        dy: &Tensor<Self>,
        win: &Window2d,
        dw: &mut Tensor<Self>,
        db: Option<&mut Tensor<Self>>,
    ) {
        let s = conv_shape(x, Some(dw), win);
        assert_eq!(
            dy.shape(),
            [s.n, s.o, s.oh, s.ow],
            "convolution output gradient for input {:?}",
            x.shape
        );
        if let Some(b) = db.as_deref() {
            assert_eq!(b.len(), s.o, "convolution bias gradient {:?}", b.shape);
        }
        with_dtype!(x.dtype(), T => conv_kernels::conv_backward_weight(
            self,
            host::<T>(x),
            host::<T>(dy),
            &s,
            host_mut::<T>(dw),
            db.map(host_mut::<T>),
        ))
    }

    fn max_pool2d_forward(
        &self,
        x: &Tensor<Self>,
        win: &Window2d,
        y: &mut Tensor<Self>,
        argmax: &mut Tensor<Self>,
    ) {
        let s = pool_shape(x.shape(), y.shape(), win);
        assert_eq!(argmax.shape(), y.shape(), "max-pool argmax");
        assert!(
            s.in_plane() < 1 << 24,
            "max-pool plane of {} positions (argmax is stored as a float)",
            s.in_plane()
        );
        with_dtype!(x.dtype(), T => pool_kernels::max_forward(
            self,
            host::<T>(x),
            s,
            host_mut::<T>(y),
            host_mut::<T>(argmax),
        ))
    }

    fn max_pool2d_backward(&self, dy: &Tensor<Self>, argmax: &Tensor<Self>, dx: &mut Tensor<Self>) {
        let [n, c, h, w] = nchw("max-pool input gradient", dx);
        let [yn, yc, oh, ow] = nchw("max-pool output gradient", dy);
        assert!(
            [yn, yc] == [n, c] && argmax.shape() == dy.shape(),
            "max-pool backward shapes"
        );
        with_dtype!(dy.dtype(), T => pool_kernels::max_backward(
            self,
            host::<T>(dy),
            host::<T>(argmax),
            h * w,
            oh * ow,
            host_mut::<T>(dx),
        ))
    }

    fn avg_pool2d_forward(&self, x: &Tensor<Self>, win: &Window2d, y: &mut Tensor<Self>) {
        let s = pool_shape(x.shape(), y.shape(), win);
        with_dtype!(x.dtype(), T => pool_kernels::avg_forward(self, host::<T>(x), s, host_mut::<T>(y)))
    }

    fn avg_pool2d_backward(&self, dy: &Tensor<Self>, win: &Window2d, dx: &mut Tensor<Self>) {
        let s = pool_shape(dx.shape(), dy.shape(), win);
        with_dtype!(dy.dtype(), T => pool_kernels::avg_backward(self, host::<T>(dy), s, host_mut::<T>(dx)))
    }

    fn global_avg_pool_forward(&self, x: &Tensor<Self>, y: &mut Tensor<Self>) {
        let [n, c, h, w] = nchw("global average pool input", x);
        assert_eq!(y.len(), n * c, "global average pool output {:?}", y.shape);
        with_dtype!(x.dtype(), T => pool_kernels::global_avg_forward(self, host::<T>(x), h * w, host_mut::<T>(y)))
    }

    fn global_avg_pool_backward(&self, dy: &Tensor<Self>, dx: &mut Tensor<Self>) {
        let [n, c, h, w] = nchw("global average pool input gradient", dx);
        assert_eq!(
            dy.len(),
            n * c,
            "global average pool output gradient {:?}",
            dy.shape
        );
        with_dtype!(dy.dtype(), T => pool_kernels::global_avg_backward(self, host::<T>(dy), h * w, host_mut::<T>(dx)))
    }

    fn batch_norm_stats(&self, x: &Tensor<Self>, mean: &mut Tensor<Self>, var: &mut Tensor<Self>) {
        let d = ncs(x, mean.len());
        same_len("batch norm mean/var", mean, var);
        with_dtype!(x.dtype(), T => norm_kernels::stats(self, host::<T>(x), d, host_mut::<T>(mean), host_mut::<T>(var)))
    }

    fn batch_norm_forward(
        &self,
        x: &Tensor<Self>,
        mean: &Tensor<Self>,
        var: &Tensor<Self>,
        eps: f64,
        gamma: &Tensor<Self>,
        beta: &Tensor<Self>,
        z: &mut Tensor<Self>,
        act: Activation,
        y: Option<&mut Tensor<Self>>,
    ) {
        let d = ncs(x, mean.len());
        for t in [var, gamma, beta] {
            same_len("batch norm per-channel tensors", mean, t);
        }
        same_len("batch norm output", x, z);
        if let Some(y) = y.as_deref() {
            same_len("batch norm activation output", x, y);
        }
        with_dtype!(x.dtype(), T => norm_kernels::forward(
            self,
            host::<T>(x),
            d,
            host::<T>(mean),
            host::<T>(var),
            eps,
            host::<T>(gamma),
            host::<T>(beta),
            host_mut::<T>(z),
            act,
            y.map(host_mut::<T>),
        ))
    }

    fn batch_norm_backward(
        &self,
        x: &Tensor<Self>,
        dz: &Tensor<Self>,
        mean: &Tensor<Self>,
        var: &Tensor<Self>,
        eps: f64,
        gamma: &Tensor<Self>,
        batch_stats: bool,
        dx: Option<&mut Tensor<Self>>,
        dgamma: &mut Tensor<Self>,
        dbeta: &mut Tensor<Self>,
    ) {
        let d = ncs(x, mean.len());
        for t in [var, gamma, &*dgamma, &*dbeta] {
            same_len("batch norm per-channel tensors", mean, t);
        }
        same_len("batch norm output gradient", x, dz);
        if let Some(dx) = dx.as_deref() {
            same_len("batch norm input gradient", x, dx);
        }
        with_dtype!(x.dtype(), T => norm_kernels::backward(
            self,
            host::<T>(x),
            host::<T>(dz),
            d,
            host::<T>(mean),
            host::<T>(var),
            eps,
            host::<T>(gamma),
            batch_stats,
            dx.map(host_mut::<T>),
            host_mut::<T>(dgamma),
            host_mut::<T>(dbeta),
        ))
    }

    fn loss(
        &self,
        kind: &LossKind,
        reduction: Reduction,
        logits: &Tensor<Self>,
        targets: &Targets<'_, Self>,
        grad: &mut Tensor<Self>,
    ) -> f64 {
        same_len("loss grad", logits, grad);
        let (b, c) = logits.as_matrix_dims();
        with_dtype!(logits.dtype(), T => {
            let tv = match targets {
                Targets::Dense(t) => loss_kernels::TargetView::Dense(host::<T>(t)),
                Targets::Classes(l) => loss_kernels::TargetView::Classes(l),
            };
            loss_kernels::loss(kind, reduction, host::<T>(logits), b, c, tv, host_mut::<T>(grad))
        })
    }

    fn sgd_update(
        &self,
        param: &mut Tensor<Self>,
        grad: &Tensor<Self>,
        momentum_buf: Option<&mut Tensor<Self>>,
        hyper: &SgdHyper,
    ) {
        same_len("sgd", param, grad);
        if let Some(b) = momentum_buf.as_deref() {
            same_len("sgd momentum buffer", param, b);
        }
        let chunk = self.elementwise_chunk(param.len());
        with_dtype!(param.dtype(), T => {
            let (p, g) = (host_mut::<T>(param), host::<T>(grad));
            let buf = momentum_buf.map(host_mut::<T>);
            if chunk >= p.len() {
                optim_kernels::sgd(p, g, buf, hyper);
            } else if let Some(b) = buf {
                self.pool.install(|| {
                    p.par_chunks_mut(chunk)
                        .zip(g.par_chunks(chunk))
                        .zip(b.par_chunks_mut(chunk))
                        .for_each(|((p, g), b)| optim_kernels::sgd(p, g, Some(b), hyper))
                });
            } else {
                self.pool.install(|| {
                    p.par_chunks_mut(chunk)
                        .zip(g.par_chunks(chunk))
                        .for_each(|(p, g)| optim_kernels::sgd(p, g, None, hyper))
                });
            }
        })
    }

    fn adam_update(
        &self,
        param: &mut Tensor<Self>,
        grad: &Tensor<Self>,
        exp_avg: &mut Tensor<Self>,
        exp_avg_sq: &mut Tensor<Self>,
        hyper: &AdamHyper,
    ) {
        same_len("adam", param, grad);
        same_len("adam exp_avg", param, exp_avg);
        same_len("adam exp_avg_sq", param, exp_avg_sq);
        let chunk = self.elementwise_chunk(param.len());
        with_dtype!(param.dtype(), T => {
            let (p, g) = (host_mut::<T>(param), host::<T>(grad));
            let (m, v) = (host_mut::<T>(exp_avg), host_mut::<T>(exp_avg_sq));
            if chunk >= p.len() {
                optim_kernels::adam(p, g, m, v, hyper);
            } else {
                self.pool.install(|| {
                    p.par_chunks_mut(chunk)
                        .zip(g.par_chunks(chunk))
                        .zip(m.par_chunks_mut(chunk))
                        .zip(v.par_chunks_mut(chunk))
                        .for_each(|(((p, g), m), v)| optim_kernels::adam(p, g, m, v, hyper))
                });
            }
        })
    }

    fn bernoulli_mask(&self, key: RandomKey, keep: f64, mask: &mut Tensor<Self>) {
        with_dtype!(mask.dtype(), T => {
            let on = T::from_f64(1.0 / keep);
            for (i, m) in host_mut::<T>(mask).iter_mut().enumerate() {
                *m = if key.uniform_at(i as u64) < keep { on } else { T::from_f64(0.0) };
            }
        })
    }
}
