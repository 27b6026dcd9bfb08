//! The CPU backend: host vectors, `gemm`-crate matrix products, and plain loops for the rest.
//!
//! Threading: one [`CpuBackend::new`]`(threads)` owns a rayon pool of that size and runs large
//! matrix products on it. Products below [`CpuBackend::parallel_flops`] floating-point operations
//! stay on the calling thread (waking threads costs more than it saves on a small product).
//! Every other kernel is single-threaded and deterministic by construction; reductions accumulate
//! in f64 over fixed chunks in index order, so their results do not depend on the thread count.

pub mod gemm;
mod kernels;
mod loss_kernels;
mod optim_kernels;

use std::sync::Arc;

use rayon::prelude::*;

use learnscope_core::{DType, RandomKey};

use crate::backend::{Backend, Transpose};
use crate::loss::{LossKind, Reduction, Targets};
use crate::optim::{AdamHyper, SgdHyper};
use crate::{Activation, Element, Tensor};

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

fn same_len(what: &str, a: &Tensor<CpuBackend>, b: &Tensor<CpuBackend>) {
    assert_eq!(
        a.len(),
        b.len(),
        "{what}: element counts differ ({:?} vs {:?})",
        a.shape,
        b.shape
    );
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
        with_dtype!(src.dtype(), T => host_mut::<T>(dst).copy_from_slice(host::<T>(src)))
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
            for ((o, &x), &y) in host_mut::<T>(out).iter_mut().zip(a).zip(b) {
                *o = x + y;
            }
        })
    }

    fn mul(&self, a: &Tensor<Self>, b: &Tensor<Self>, out: &mut Tensor<Self>) {
        same_len("mul", a, b);
        same_len("mul", a, out);
        with_dtype!(a.dtype(), T => {
            let (a, b) = (host::<T>(a), host::<T>(b));
            for ((o, &x), &y) in host_mut::<T>(out).iter_mut().zip(a).zip(b) {
                *o = x * y;
            }
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
        with_dtype!(x.dtype(), T => kernels::act_forward(act, host::<T>(x), host_mut::<T>(y)))
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
        with_dtype!(z.dtype(), T => kernels::act_backward(act, host::<T>(z), host::<T>(y), host::<T>(dy), host_mut::<T>(dz)))
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
