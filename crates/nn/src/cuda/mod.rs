//! The CUDA backend (cargo feature `cuda`): tensors in device memory, cuBLAS for matrix
//! products and convolutions (im2col + GEMM), NVRTC-compiled kernels for everything else.
//!
//! Files: `load.rs` finds the driver, cuBLAS and NVRTC libraries before any CUDA call (so a
//! machine without them gets an error naming the library, never a panic); `kernels.rs` holds the
//! CUDA C sources (one template instantiated for f32 and f64); `storage.rs` the device buffers;
//! `gemm.rs` the row-major products on column-major cuBLAS; `error.rs` the creation errors.
//!
//! Everything is loaded at run time (cudarc's `dynamic-loading`), so building needs no CUDA
//! toolkit. [`CudaBackend::new`] compiles the kernel module once for the device's architecture
//! and keeps every entry point; clones share it. All work is queued on one stream, in order;
//! only downloads (`download_f64`, `dot`, `loss`) wait for it. Operations that return no
//! `Result` panic on a device error (out of memory, a failed launch), as the CPU backend panics
//! on a misuse.
//!
//! Convolution is im2col + cuBLAS GEMM (strided-batched over the examples of a chunk), the
//! same algorithm as the CPU backend, rather than cuDNN: it needs no further library (cuDNN is a
//! separate, large download that many CUDA installations lack), keeps one code path whose
//! results can be compared with the CPU's term by term, and gives exact control of the reduction
//! order that the determinism contract (DESIGN.md §6) asks for. cuDNN can be added behind this
//! same trait later if the benchmarks call for it.
//!
//! Agreement with the CPU: elementwise kernels, pooling, the column sums, the optimizer updates
//! and the dropout mask follow the CPU's arithmetic in the same order (the module is compiled
//! with `--fmad=false`), so they agree bit for bit up to the device's `exp`/`tanh`/`erf`;
//! products and channel reductions sum in a different order and agree to rounding.

mod error;
mod gemm;
mod load;
mod storage;

use std::sync::Arc;

use cudarc::cublas::CudaBlas;
use cudarc::driver::{
    CudaContext, CudaFunction, CudaStream, DeviceRepr, LaunchConfig, PushKernelArg,
};
use cudarc::nvrtc::{compile_ptx_with_opts, CompileOptions};

use learnscope_core::{DType, RandomKey};

use crate::backend::{Backend, Transpose};
use crate::loss::{LossKind, Reduction, Targets};
use crate::optim::{AdamHyper, SgdHyper};
use crate::spatial::Window2d;
use crate::{Activation, Tensor};

pub use error::CudaError;
pub use load::{candidates as library_candidates, check_libraries};
pub use storage::{CudaStorage, DeviceBuf};

pub use crate::cuda_kernels as kernels;

use gemm::{Batch, RowMajorGemm};
use kernels::{Kernel, BLOCK, DOT_CHUNK};

/// At most this many elements in the im2col scratch matrix of one convolution chunk.
const COL_BUDGET: usize = 1 << 26;

/// Kernel geometry passed by value (`struct LsGeo` in the kernels).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
struct Geo([u64; 12]);

// SAFETY: a plain array of integers with the layout of `struct LsGeo { u64 v[12]; }`.
unsafe impl DeviceRepr for Geo {}

/// One kernel argument.
#[derive(Debug, Clone, Copy)]
enum Arg {
    /// A device address or a size.
    U(u64),
    /// A scalar (kernels cast it to their element type).
    F(f64),
    /// A code or flag.
    I(i32),
    /// Window geometry.
    G(Geo),
}

struct Inner {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    blas: CudaBlas,
    /// Entry points, `2·kernel.index() + (0 for f32, 1 for f64)`.
    funcs: Vec<CudaFunction>,
    ordinal: usize,
    name: String,
    arch: String,
}

/// The CUDA backend: one device, one stream. Cloning is cheap and shares both.
#[derive(Clone)]
pub struct CudaBackend {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for CudaBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CudaBackend(cuda:{}, {}, {})",
            self.inner.ordinal, self.inner.name, self.inner.arch
        )
    }
}

fn driver(context: &str) -> impl FnOnce(cudarc::driver::DriverError) -> CudaError + '_ {
    move |e| CudaError::Driver {
        context: context.to_string(),
        message: e.to_string(),
    }
}

fn dtype_slot(dtype: DType) -> usize {
    match dtype {
        DType::F32 => 0,
        DType::F64 => 1,
    }
}

impl CudaBackend {
    /// The backend on device `ordinal` (`cuda:ordinal`): checks the libraries, creates the
    /// context and the cuBLAS handle, and compiles the kernels. Never panics: a missing
    /// library, a missing device or a failed compilation is an error that says what to do.
    pub fn new(ordinal: usize) -> Result<Self, CudaError> {
        load::check_libraries()?;
        load::guarded(|| Self::init(ordinal))
    }

    fn init(ordinal: usize) -> Result<Self, CudaError> {
        let count = CudaContext::device_count().map_err(driver("counting devices"))?;
        let count = usize::try_from(count).unwrap_or(0);
        if ordinal >= count {
            return Err(CudaError::NoDevice { ordinal, count });
        }
        let ctx = CudaContext::new(ordinal).map_err(driver("creating the context"))?;
        // One stream: cudarc's cross-stream event tracking would only add work.
        // SAFETY: called before any buffer of this context exists; every buffer lives on
        // `stream`, so no cross-stream synchronisation is needed.
        unsafe { ctx.disable_event_tracking() };
        let stream = ctx.default_stream();
        let (major, minor) = ctx
            .compute_capability()
            .map_err(driver("reading the compute capability"))?;
        let name = ctx.name().map_err(driver("reading the device name"))?;
        let arch = format!("sm_{major}{minor}");
        let opts = CompileOptions {
            fmad: Some(false),
            options: vec![format!("--gpu-architecture=compute_{major}{minor}")],
            ..Default::default()
        };
        let ptx =
            compile_ptx_with_opts(kernels::source(), opts).map_err(|e| CudaError::Compile {
                arch: arch.clone(),
                log: e.to_string(),
            })?;
        let module = ctx
            .load_module(ptx)
            .map_err(driver("loading the kernel module"))?;
        let mut funcs = Vec::with_capacity(2 * Kernel::ALL.len());
        for k in Kernel::ALL {
            for dtype in [DType::F32, DType::F64] {
                let entry = k.entry(dtype);
                funcs.push(
                    module
                        .load_function(&entry)
                        .map_err(driver(&format!("loading kernel {entry}")))?,
                );
            }
        }
        let blas = CudaBlas::new(stream.clone()).map_err(|e| CudaError::Blas(e.to_string()))?;
        Ok(CudaBackend {
            inner: Arc::new(Inner {
                ctx,
                stream,
                blas,
                funcs,
                ordinal,
                name,
                arch,
            }),
        })
    }

    /// The device ordinal.
    pub fn ordinal(&self) -> usize {
        self.inner.ordinal
    }

    /// The device's name (`NVIDIA H100 80GB HBM3`, …).
    pub fn device_name(&self) -> &str {
        &self.inner.name
    }

    /// Waits until every queued operation has finished (for timing).
    pub fn synchronize(&self) {
        self.inner
            .stream
            .synchronize()
            .unwrap_or_else(|e| panic!("CUDA: synchronising: {e}"));
    }

    fn stream(&self) -> &CudaStream {
        &self.inner.stream
    }

    fn ptr(&self, t: &Tensor<Self>) -> u64 {
        t.storage.ptr(self.stream())
    }

    fn launch(&self, k: Kernel, dtype: DType, cfg: LaunchConfig, args: &[Arg]) {
        let func = &self.inner.funcs[2 * k.index() + dtype_slot(dtype)];
        let mut b = self.inner.stream.launch_builder(func);
        for a in args {
            match a {
                Arg::U(v) => b.arg(v),
                Arg::F(v) => b.arg(v),
                Arg::I(v) => b.arg(v),
                Arg::G(v) => b.arg(v),
            };
        }
        // SAFETY: every launch site passes the arguments of the kernel's C signature in order,
        // with device addresses of live buffers sized by the shape checks before it.
        unsafe { b.launch(cfg) }
            .unwrap_or_else(|e| panic!("CUDA: launching {}: {e}", k.entry(dtype)));
    }

    /// A launch over `n` independent elements (grid-stride loops cover any `n`).
    fn launch_n(&self, k: Kernel, dtype: DType, n: usize, args: &[Arg]) {
        if n == 0 {
            return;
        }
        let blocks = n.div_ceil(BLOCK as usize).min(1 << 20) as u32;
        let cfg = LaunchConfig {
            grid_dim: (blocks, 1, 1),
            block_dim: (BLOCK, 1, 1),
            shared_mem_bytes: 0,
        };
        self.launch(k, dtype, cfg, args);
    }

    /// A launch of one block per item (per-channel reductions).
    fn launch_blocks(&self, k: Kernel, dtype: DType, blocks: usize, args: &[Arg]) {
        if blocks == 0 {
            return;
        }
        let cfg = LaunchConfig {
            grid_dim: (u32::try_from(blocks).expect("fewer than 2^32 blocks"), 1, 1),
            block_dim: (BLOCK, 1, 1),
            shared_mem_bytes: 0,
        };
        self.launch(k, dtype, cfg, args);
    }

    /// A scratch buffer of `len` elements of `dtype`.
    fn scratch(&self, dtype: DType, len: usize) -> CudaStorage {
        self.alloc_zeros(dtype, len)
    }

    fn gemm_raw(
        &self,
        dtype: DType,
        g: &RowMajorGemm,
        a: u64,
        b: u64,
        c: u64,
        batch: Option<Batch>,
    ) {
        self.inner
            .ctx
            .bind_to_thread()
            .unwrap_or_else(|e| panic!("CUDA: binding the context: {e}"));
        // SAFETY: the callers check every shape against the buffers' lengths.
        unsafe { gemm::row_major(*self.inner.blas.handle(), dtype, g, a, b, c, batch) }
    }
}

fn same_len(what: &str, a: &Tensor<CudaBackend>, b: &Tensor<CudaBackend>) {
    assert_eq!(
        a.len(),
        b.len(),
        "{what}: element counts differ ({:?} vs {:?})",
        a.shape,
        b.shape
    );
}

fn same_dtype(what: &str, ts: &[&Tensor<CudaBackend>]) -> DType {
    let d = ts[0].dtype();
    for t in ts {
        assert_eq!(
            t.dtype(),
            d,
            "{what}: dtype mismatch ({:?} holds {}, expected {d})",
            t.shape,
            t.dtype()
        );
    }
    d
}

fn nchw(what: &str, t: &Tensor<CudaBackend>) -> [usize; 4] {
    match *t.shape() {
        [n, c, h, w] => [n, c, h, w],
        ref s => panic!("{what}: expected an NCHW tensor, found shape {s:?}"),
    }
}

/// Sizes of a convolution (or an im2col with `o = 0`).
#[derive(Debug, Clone, Copy)]
struct Conv {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    o: usize,
    oh: usize,
    ow: usize,
    win: Window2d,
}

impl Conv {
    fn p(&self) -> usize {
        self.oh * self.ow
    }
    fn ckk(&self) -> usize {
        self.win.col_rows(self.c)
    }
    fn in_len(&self) -> usize {
        self.c * self.h * self.w
    }
    fn geo(&self) -> Geo {
        let w = &self.win;
        Geo([
            self.c as u64,
            self.h as u64,
            self.w as u64,
            w.kernel[0] as u64,
            w.kernel[1] as u64,
            w.stride[0] as u64,
            w.stride[1] as u64,
            w.padding[0] as u64,
            w.padding[1] as u64,
            self.oh as u64,
            self.ow as u64,
            0,
        ])
    }
    /// Examples per chunk: the im2col scratch stays within [`COL_BUDGET`].
    fn chunk(&self) -> usize {
        (COL_BUDGET / (self.ckk() * self.p()).max(1))
            .max(1)
            .min(self.n.max(1))
    }
}

fn conv_shape(
    x: &Tensor<CudaBackend>,
    weight: Option<&Tensor<CudaBackend>>,
    win: &Window2d,
) -> Conv {
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
    Conv {
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

/// Pooling geometry `{H, W, OH, OW, kh, kw, sh, sw, ph, pw}` and the plane count, checked.
fn pool_geo(x_shape: &[usize], y_shape: &[usize], win: &Window2d) -> (Geo, usize) {
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
    let g = Geo([
        h as u64,
        w as u64,
        oh as u64,
        ow as u64,
        win.kernel[0] as u64,
        win.kernel[1] as u64,
        win.stride[0] as u64,
        win.stride[1] as u64,
        win.padding[0] as u64,
        win.padding[1] as u64,
        0,
        0,
    ]);
    (g, n * c)
}

/// `[N, C, S]` of a batch-norm input with `c` channels.
fn ncs(x: &Tensor<CudaBackend>, c: usize) -> (usize, usize, usize) {
    let n = x.shape().first().copied().unwrap_or(1);
    assert!(
        x.shape().get(1) == Some(&c),
        "batch norm over {c} channels on a tensor of shape {:?}",
        x.shape()
    );
    (n, c, x.len() / (n * c).max(1))
}

fn act_code(act: Activation) -> i32 {
    match act {
        Activation::Identity => 0,
        Activation::Relu => 1,
        Activation::Tanh => 2,
        Activation::Sigmoid => 3,
        Activation::Gelu => 4,
    }
}

/// The kernel's loss code and penalty λ.
fn loss_code(kind: &LossKind) -> (i32, f64) {
    match *kind {
        LossKind::Mse => (0, 0.0),
        LossKind::Bce => (1, 0.0),
        LossKind::SpectralDecouplingBce { lambda } => (1, lambda),
        LossKind::CrossEntropy => (2, 0.0),
        LossKind::SpectralDecouplingCe { lambda } => (2, lambda),
        LossKind::Hinge => (3, 0.0),
        LossKind::MulticlassHinge => (4, 0.0),
    }
}

fn u(v: usize) -> Arg {
    Arg::U(v as u64)
}

impl Backend for CudaBackend {
    type Storage = CudaStorage;

    fn name(&self) -> &'static str {
        "cuda"
    }

    fn threads(&self) -> usize {
        1
    }

    fn isa(&self) -> String {
        format!("cuda {} ({})", self.inner.arch, self.inner.name)
    }

    fn alloc_zeros(&self, dtype: DType, len: usize) -> CudaStorage {
        match dtype {
            DType::F32 => CudaStorage::F32(DeviceBuf::zeros(&self.inner.stream, len)),
            DType::F64 => CudaStorage::F64(DeviceBuf::zeros(&self.inner.stream, len)),
        }
    }

    fn storage_dtype(storage: &CudaStorage) -> DType {
        storage.dtype()
    }

    fn storage_len(storage: &CudaStorage) -> usize {
        storage.len()
    }

    fn upload_f64(&self, dtype: DType, data: &[f64]) -> CudaStorage {
        let s = &self.inner.stream;
        match dtype {
            DType::F32 => {
                let v: Vec<f32> = data.iter().map(|&x| x as f32).collect();
                CudaStorage::F32(DeviceBuf::from_host(s, &v))
            }
            DType::F64 => CudaStorage::F64(DeviceBuf::from_host(s, data)),
        }
    }

    fn download_f64(&self, storage: &CudaStorage) -> Vec<f64> {
        let s = &self.inner.stream;
        match storage {
            CudaStorage::F32(b) => b.to_host(s).into_iter().map(f64::from).collect(),
            CudaStorage::F64(b) => b.to_host(s),
        }
    }

    fn copy(&self, src: &Tensor<Self>, dst: &mut Tensor<Self>) {
        same_len("copy", src, dst);
        same_dtype("copy", &[src, dst]);
        if src.is_empty() {
            return;
        }
        let s = &self.inner.stream;
        let res = match (&src.storage, &mut dst.storage) {
            (CudaStorage::F32(a), CudaStorage::F32(b)) => s.memcpy_dtod(&a.slice, &mut b.slice),
            (CudaStorage::F64(a), CudaStorage::F64(b)) => s.memcpy_dtod(&a.slice, &mut b.slice),
            _ => unreachable!("dtypes checked above"),
        };
        res.unwrap_or_else(|e| panic!("CUDA: copying {:?}: {e}", src.shape));
    }

    fn copy_columns(
        &self,
        src: &Tensor<Self>,
        src_col: usize,
        dst: &mut Tensor<Self>,
        dst_col: usize,
        cols: usize,
    ) {
        let (rows, a) = crate::cpu::column_block("copy_columns", src, dst, src_col, dst_col, cols);
        let b = dst.as_matrix_dims().1;
        let n = rows * cols;
        let args = [
            Arg::U(self.ptr(src)),
            u(a),
            u(src_col),
            Arg::U(self.ptr(dst)),
            u(b),
            u(dst_col),
            u(cols),
            u(n),
        ];
        self.launch_n(Kernel::CopyColumns, src.dtype(), n, &args);
    }

    fn fill(&self, dst: &mut Tensor<Self>, value: f64) {
        let n = dst.len();
        self.launch_n(
            Kernel::Fill,
            dst.dtype(),
            n,
            &[Arg::U(self.ptr(dst)), Arg::F(value), u(n)],
        );
    }

    fn scale(&self, x: &mut Tensor<Self>, a: f64) {
        let n = x.len();
        self.launch_n(
            Kernel::Scale,
            x.dtype(),
            n,
            &[Arg::U(self.ptr(x)), Arg::F(a), u(n)],
        );
    }

    fn axpy(&self, a: f64, x: &Tensor<Self>, y: &mut Tensor<Self>) {
        same_len("axpy", x, y);
        let d = same_dtype("axpy", &[x, y]);
        let n = x.len();
        self.launch_n(
            Kernel::Axpy,
            d,
            n,
            &[Arg::F(a), Arg::U(self.ptr(x)), Arg::U(self.ptr(y)), u(n)],
        );
    }

    fn add(&self, a: &Tensor<Self>, b: &Tensor<Self>, out: &mut Tensor<Self>) {
        same_len("add", a, b);
        same_len("add", a, out);
        let d = same_dtype("add", &[a, b, out]);
        let n = a.len();
        let args = [
            Arg::U(self.ptr(a)),
            Arg::U(self.ptr(b)),
            Arg::U(self.ptr(out)),
            u(n),
        ];
        self.launch_n(Kernel::Add, d, n, &args);
    }

    fn mul(&self, a: &Tensor<Self>, b: &Tensor<Self>, out: &mut Tensor<Self>) {
        same_len("mul", a, b);
        same_len("mul", a, out);
        let d = same_dtype("mul", &[a, b, out]);
        let n = a.len();
        let args = [
            Arg::U(self.ptr(a)),
            Arg::U(self.ptr(b)),
            Arg::U(self.ptr(out)),
            u(n),
        ];
        self.launch_n(Kernel::Mul, d, n, &args);
    }

    fn dot(&self, a: &Tensor<Self>, b: &Tensor<Self>) -> f64 {
        same_len("dot", a, b);
        let d = same_dtype("dot", &[a, b]);
        let n = a.len();
        if n == 0 {
            return 0.0;
        }
        // One block per fixed chunk (the CPU's chunks), partial sums added in chunk order.
        let chunks = n.div_ceil(DOT_CHUNK);
        let partial = self.scratch(DType::F64, chunks);
        let args = [
            Arg::U(self.ptr(a)),
            Arg::U(self.ptr(b)),
            u(n),
            u(DOT_CHUNK),
            Arg::U(partial.ptr(self.stream())),
        ];
        self.launch_blocks(Kernel::DotPartial, d, chunks, &args);
        self.download_f64(&partial).iter().sum()
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
        let d = same_dtype("sum_rows", &[x, out]);
        let args = [
            Arg::U(self.ptr(x)),
            u(rows),
            u(cols),
            Arg::F(scale),
            Arg::U(self.ptr(out)),
        ];
        self.launch_n(Kernel::SumRows, d, cols, &args);
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
        let d = same_dtype("gemm", &[dst, lhs, rhs]);
        let (lr, lc) = lhs.as_matrix_dims();
        let (rr, rc) = rhs.as_matrix_dims();
        let (dr, dc) = dst.as_matrix_dims();
        let (lt, rt) = (lhs_t == Transpose::Yes, rhs_t == Transpose::Yes);
        let (m, k) = if lt { (lc, lr) } else { (lr, lc) };
        let (k2, n) = if rt { (rc, rr) } else { (rr, rc) };
        assert!(
            m == dr && n == dc && k == k2,
            "gemm: lhs {:?} {lhs_t:?}, rhs {:?} {rhs_t:?}, dst {:?}",
            lhs.shape,
            rhs.shape,
            dst.shape
        );
        if m == 0 || n == 0 {
            return;
        }
        if k == 0 {
            if beta == 0.0 {
                self.fill(dst, 0.0);
            } else {
                self.scale(dst, beta);
            }
            return;
        }
        let g = RowMajorGemm {
            m,
            n,
            k,
            a_t: lt,
            lda: lc,
            b_t: rt,
            ldb: rc,
            ldc: dc,
            alpha,
            beta,
        };
        self.gemm_raw(d, &g, self.ptr(lhs), self.ptr(rhs), self.ptr(dst), None);
    }

    fn bias_act_forward(
        &self,
        z: &mut Tensor<Self>,
        bias: Option<(&Tensor<Self>, f64)>,
        act: Activation,
        out: Option<&mut Tensor<Self>>,
    ) {
        let (rows, cols) = z.as_matrix_dims();
        let d = z.dtype();
        if cols == 0 || (bias.is_none() && out.is_none()) {
            return;
        }
        let (bp, bs) = match bias {
            Some((b, s)) => {
                assert_eq!(b.len(), cols, "bias {:?} for rows of {cols}", b.shape);
                same_dtype("bias", &[z, b]);
                (self.ptr(b), s)
            }
            None => (0, 0.0),
        };
        let op = match out {
            Some(o) => {
                assert_eq!(o.len(), rows * cols, "activation output {:?}", o.shape);
                same_dtype("activation output", &[z, o]);
                self.ptr(o)
            }
            None => 0,
        };
        let n = rows * cols;
        let args = [
            Arg::U(self.ptr(z)),
            Arg::U(bp),
            Arg::F(bs),
            u(cols),
            Arg::I(act_code(act)),
            Arg::U(op),
            u(n),
        ];
        self.launch_n(Kernel::BiasAct, d, n, &args);
    }

    fn act_forward(&self, act: Activation, x: &Tensor<Self>, y: &mut Tensor<Self>) {
        same_len("act_forward", x, y);
        let d = same_dtype("act_forward", &[x, y]);
        let n = x.len();
        let args = [
            Arg::I(act_code(act)),
            Arg::U(self.ptr(x)),
            Arg::U(self.ptr(y)),
            u(n),
        ];
        self.launch_n(Kernel::ActForward, d, n, &args);
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
        let d = same_dtype("act_backward", &[z, y, dy, dz]);
        let n = z.len();
        let args = [
            Arg::I(act_code(act)),
            Arg::U(self.ptr(z)),
            Arg::U(self.ptr(y)),
            Arg::U(self.ptr(dy)),
            Arg::U(self.ptr(dz)),
            u(n),
        ];
        self.launch_n(Kernel::ActBackward, d, n, &args);
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
        let d = same_dtype("im2col", &[x, cols]);
        let args = [
            Arg::U(self.ptr(x)),
            Arg::G(s.geo()),
            u(first),
            u(count),
            u(count * s.p()),
            u(s.p()),
            Arg::U(self.ptr(cols)),
        ];
        self.launch_n(Kernel::Im2col, d, count * s.ckk() * s.p(), &args);
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
        let d = same_dtype("col2im", &[cols, dx]);
        let args = [
            Arg::U(self.ptr(cols)),
            Arg::G(s.geo()),
            u(first),
            u(count),
            u(count * s.p()),
            u(s.p()),
            Arg::U(self.ptr(dx)),
        ];
        self.launch_n(Kernel::Col2im, d, count * s.in_len(), &args);
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
        let d = same_dtype("convolution", &[x, weight, z]);
        if let Some(b) = bias {
            assert_eq!(b.len(), s.o, "convolution bias {:?}", b.shape);
            same_dtype("convolution bias", &[x, b]);
        }
        if let Some(y) = y.as_deref() {
            same_len("convolution activation output", z, y);
            same_dtype("convolution activation output", &[x, y]);
        }
        let (p, ckk) = (s.p(), s.ckk());
        let (xp, wp, zp) = (self.ptr(x), self.ptr(weight), self.ptr(z));
        let esize = d.size_of() as u64;
        if s.n > 0 && s.o > 0 && p > 0 {
            // z_e [O, P] = W [O, ckk] · cols_e [ckk, P], strided over the examples of a chunk.
            let g = RowMajorGemm {
                m: s.o,
                n: p,
                k: ckk,
                a_t: false,
                lda: ckk,
                b_t: false,
                ldb: p,
                ldc: p,
                alpha: 1.0,
                beta: 0.0,
            };
            if s.win.is_pointwise() {
                // 1×1, stride 1, no padding: the input planes are the columns.
                let batch = Batch {
                    stride_a: 0,
                    stride_b: s.in_len(),
                    stride_c: s.o * p,
                    count: s.n,
                };
                self.gemm_raw(d, &g, wp, xp, zp, Some(batch));
            } else {
                let nb = s.chunk();
                let cols = self.scratch(d, nb * ckk * p);
                let cp = cols.ptr(self.stream());
                for first in (0..s.n).step_by(nb) {
                    let count = nb.min(s.n - first);
                    let args = [
                        Arg::U(xp),
                        Arg::G(s.geo()),
                        u(first),
                        u(count),
                        u(p),
                        u(ckk * p),
                        Arg::U(cp),
                    ];
                    self.launch_n(Kernel::Im2col, d, count * ckk * p, &args);
                    let batch = Batch {
                        stride_a: 0,
                        stride_b: ckk * p,
                        stride_c: s.o * p,
                        count,
                    };
                    let zc = zp + (first * s.o * p) as u64 * esize;
                    self.gemm_raw(d, &g, wp, cp, zc, Some(batch));
                }
            }
        } else if s.n > 0 && s.o > 0 {
            self.fill(z, 0.0);
        }
        let bp = bias.map_or(0, |b| self.ptr(b));
        let yp = y.map_or(0, |y| self.ptr(y));
        if bp != 0 || yp != 0 {
            let n = z.len();
            let args = [
                Arg::U(zp),
                Arg::U(bp),
                u(s.o),
                u(p),
                Arg::I(act_code(act)),
                Arg::U(yp),
                u(n),
            ];
            self.launch_n(Kernel::ChannelBiasAct, d, n, &args);
        }
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
        let d = same_dtype("convolution input gradient", &[dy, weight, dx]);
        let (p, ckk) = (s.p(), s.ckk());
        if s.n == 0 || s.in_len() == 0 {
            return;
        }
        if s.o == 0 || p == 0 {
            self.fill(dx, 0.0);
            return;
        }
        let (dyp, wp, dxp) = (self.ptr(dy), self.ptr(weight), self.ptr(dx));
        // cols_e [ckk, P] = Wᵀ [ckk, O] · dy_e [O, P].
        let g = RowMajorGemm {
            m: ckk,
            n: p,
            k: s.o,
            a_t: true,
            lda: ckk,
            b_t: false,
            ldb: p,
            ldc: p,
            alpha: 1.0,
            beta: 0.0,
        };
        if s.win.is_pointwise() {
            let batch = Batch {
                stride_a: 0,
                stride_b: s.o * p,
                stride_c: s.in_len(),
                count: s.n,
            };
            self.gemm_raw(d, &g, wp, dyp, dxp, Some(batch));
            return;
        }
        let esize = d.size_of() as u64;
        let nb = s.chunk();
        let cols = self.scratch(d, nb * ckk * p);
        let cp = cols.ptr(self.stream());
        for first in (0..s.n).step_by(nb) {
            let count = nb.min(s.n - first);
            let batch = Batch {
                stride_a: 0,
                stride_b: s.o * p,
                stride_c: ckk * p,
                count,
            };
            let dyc = dyp + (first * s.o * p) as u64 * esize;
            self.gemm_raw(d, &g, wp, dyc, cp, Some(batch));
            let args = [
                Arg::U(cp),
                Arg::G(s.geo()),
                u(first),
                u(count),
                u(p),
                u(ckk * p),
                Arg::U(dxp),
            ];
            self.launch_n(Kernel::Col2im, d, count * s.in_len(), &args);
        }
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
        let d = same_dtype("convolution weight gradient", &[x, dy, dw]);
        if let Some(b) = db.as_deref() {
            assert_eq!(b.len(), s.o, "convolution bias gradient {:?}", b.shape);
            same_dtype("convolution bias gradient", &[x, b]);
        }
        let (p, ckk) = (s.p(), s.ckk());
        if s.n == 0 || p == 0 {
            self.fill(dw, 0.0);
            if let Some(b) = db {
                self.fill(b, 0.0);
            }
            return;
        }
        let (xp, dyp, dwp) = (self.ptr(x), self.ptr(dy), self.ptr(dw));
        let esize = d.size_of() as u64;
        let nb = s.chunk();
        // cols [ckk, count·P] and dyᵀ [O, count·P]; dw [O, ckk] += dyᵀ · colsᵀ, chunks in order.
        let cols = self.scratch(d, nb * ckk * p);
        let dyt = self.scratch(d, nb * s.o * p);
        let (cp, tp) = (cols.ptr(self.stream()), dyt.ptr(self.stream()));
        for (i, first) in (0..s.n).step_by(nb).enumerate() {
            let count = nb.min(s.n - first);
            let args = [
                Arg::U(xp),
                Arg::G(s.geo()),
                u(first),
                u(count),
                u(count * p),
                u(p),
                Arg::U(cp),
            ];
            self.launch_n(Kernel::Im2col, d, count * ckk * p, &args);
            let dyc = dyp + (first * s.o * p) as u64 * esize;
            let args = [Arg::U(dyc), u(count), u(s.o), u(p), Arg::U(tp)];
            self.launch_n(Kernel::NopToOnp, d, count * s.o * p, &args);
            let g = RowMajorGemm {
                m: s.o,
                n: ckk,
                k: count * p,
                a_t: false,
                lda: count * p,
                b_t: true,
                ldb: count * p,
                ldc: ckk,
                alpha: 1.0,
                beta: if i == 0 { 0.0 } else { 1.0 },
            };
            self.gemm_raw(d, &g, tp, cp, dwp, None);
        }
        if let Some(b) = db {
            let args = [
                Arg::U(dyp),
                u(s.n),
                u(s.o),
                u(p),
                Arg::I(0),
                Arg::U(self.ptr(b)),
            ];
            self.launch_blocks(Kernel::ChannelSum, d, s.o, &args);
        }
    }

    fn max_pool2d_forward(
        &self,
        x: &Tensor<Self>,
        win: &Window2d,
        y: &mut Tensor<Self>,
        argmax: &mut Tensor<Self>,
    ) {
        let (g, planes) = pool_geo(x.shape(), y.shape(), win);
        assert_eq!(argmax.shape(), y.shape(), "max-pool argmax");
        assert!(
            g.0[0] * g.0[1] < 1 << 24,
            "max-pool plane of {} positions (argmax is stored as a float)",
            g.0[0] * g.0[1]
        );
        let d = same_dtype("max pool", &[x, y, argmax]);
        let args = [
            Arg::U(self.ptr(x)),
            Arg::G(g),
            u(planes),
            Arg::U(self.ptr(y)),
            Arg::U(self.ptr(argmax)),
        ];
        self.launch_n(Kernel::MaxPoolForward, d, y.len(), &args);
    }

    fn max_pool2d_backward(&self, dy: &Tensor<Self>, argmax: &Tensor<Self>, dx: &mut Tensor<Self>) {
        let [n, c, h, w] = nchw("max-pool input gradient", dx);
        let [yn, yc, oh, ow] = nchw("max-pool output gradient", dy);
        assert!(
            [yn, yc] == [n, c] && argmax.shape() == dy.shape(),
            "max-pool backward shapes"
        );
        let d = same_dtype("max-pool backward", &[dy, argmax, dx]);
        self.fill(dx, 0.0);
        let args = [
            Arg::U(self.ptr(dy)),
            Arg::U(self.ptr(argmax)),
            u(n * c),
            u(h * w),
            u(oh * ow),
            Arg::U(self.ptr(dx)),
        ];
        self.launch_n(Kernel::MaxPoolBackward, d, n * c, &args);
    }

    fn avg_pool2d_forward(&self, x: &Tensor<Self>, win: &Window2d, y: &mut Tensor<Self>) {
        let (g, planes) = pool_geo(x.shape(), y.shape(), win);
        let d = same_dtype("average pool", &[x, y]);
        let args = [
            Arg::U(self.ptr(x)),
            Arg::G(g),
            u(planes),
            Arg::U(self.ptr(y)),
        ];
        self.launch_n(Kernel::AvgPoolForward, d, y.len(), &args);
    }

    fn avg_pool2d_backward(&self, dy: &Tensor<Self>, win: &Window2d, dx: &mut Tensor<Self>) {
        let (g, planes) = pool_geo(dx.shape(), dy.shape(), win);
        let d = same_dtype("average-pool backward", &[dy, dx]);
        let args = [
            Arg::U(self.ptr(dy)),
            Arg::G(g),
            u(planes),
            Arg::U(self.ptr(dx)),
        ];
        self.launch_n(Kernel::AvgPoolBackward, d, dx.len(), &args);
    }

    fn global_avg_pool_forward(&self, x: &Tensor<Self>, y: &mut Tensor<Self>) {
        let [n, c, h, w] = nchw("global average pool input", x);
        assert_eq!(y.len(), n * c, "global average pool output {:?}", y.shape);
        let d = same_dtype("global average pool", &[x, y]);
        let args = [Arg::U(self.ptr(x)), u(n * c), u(h * w), Arg::U(self.ptr(y))];
        self.launch_n(Kernel::GlobalAvgForward, d, n * c, &args);
    }

    fn global_avg_pool_backward(&self, dy: &Tensor<Self>, dx: &mut Tensor<Self>) {
        let [n, c, h, w] = nchw("global average pool input gradient", dx);
        assert_eq!(
            dy.len(),
            n * c,
            "global average pool output gradient {:?}",
            dy.shape
        );
        let d = same_dtype("global average pool backward", &[dy, dx]);
        let len = dx.len();
        let args = [Arg::U(self.ptr(dy)), u(h * w), Arg::U(self.ptr(dx)), u(len)];
        self.launch_n(Kernel::GlobalAvgBackward, d, len, &args);
    }

    fn batch_norm_stats(&self, x: &Tensor<Self>, mean: &mut Tensor<Self>, var: &mut Tensor<Self>) {
        let (n, c, s) = ncs(x, mean.len());
        same_len("batch norm mean/var", mean, var);
        let d = same_dtype("batch norm statistics", &[x, mean, var]);
        let args = [
            Arg::U(self.ptr(x)),
            u(n),
            u(c),
            u(s),
            Arg::U(self.ptr(mean)),
            Arg::U(self.ptr(var)),
        ];
        self.launch_blocks(Kernel::BnStats, d, c, &args);
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
        let (_, c, s) = ncs(x, mean.len());
        for t in [var, gamma, beta] {
            same_len("batch norm per-channel tensors", mean, t);
        }
        same_len("batch norm output", x, z);
        let d = same_dtype("batch norm", &[x, mean, var, gamma, beta, z]);
        let yp = match y {
            Some(y) => {
                same_len("batch norm activation output", x, y);
                same_dtype("batch norm activation output", &[x, y]);
                self.ptr(y)
            }
            None => 0,
        };
        let len = x.len();
        let args = [
            Arg::U(self.ptr(x)),
            Arg::U(self.ptr(mean)),
            Arg::U(self.ptr(var)),
            Arg::F(eps),
            Arg::U(self.ptr(gamma)),
            Arg::U(self.ptr(beta)),
            u(c),
            u(s.max(1)),
            Arg::U(self.ptr(z)),
            Arg::I(act_code(act)),
            Arg::U(yp),
            u(len),
        ];
        self.launch_n(Kernel::BnForward, d, len, &args);
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
        let (n, c, s) = ncs(x, mean.len());
        for t in [var, gamma, &*dgamma, &*dbeta] {
            same_len("batch norm per-channel tensors", mean, t);
        }
        same_len("batch norm output gradient", x, dz);
        let d = same_dtype(
            "batch norm backward",
            &[x, dz, mean, var, gamma, dgamma, dbeta],
        );
        let args = [
            Arg::U(self.ptr(x)),
            Arg::U(self.ptr(dz)),
            Arg::U(self.ptr(mean)),
            Arg::U(self.ptr(var)),
            Arg::F(eps),
            u(n),
            u(c),
            u(s),
            Arg::U(self.ptr(dgamma)),
            Arg::U(self.ptr(dbeta)),
        ];
        self.launch_blocks(Kernel::BnBackwardReduce, d, c, &args);
        let Some(dx) = dx else { return };
        same_len("batch norm input gradient", x, dx);
        same_dtype("batch norm input gradient", &[x, dx]);
        let len = x.len();
        let args = [
            Arg::U(self.ptr(x)),
            Arg::U(self.ptr(dz)),
            Arg::U(self.ptr(mean)),
            Arg::U(self.ptr(var)),
            Arg::F(eps),
            Arg::U(self.ptr(gamma)),
            Arg::I(batch_stats as i32),
            Arg::U(self.ptr(dgamma)),
            Arg::U(self.ptr(dbeta)),
            u(c),
            u(s.max(1)),
            Arg::F((n * s) as f64),
            Arg::U(self.ptr(dx)),
            u(len),
        ];
        self.launch_n(Kernel::BnBackwardDx, d, len, &args);
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
        let d = same_dtype("loss", &[logits, grad]);
        let (b, c) = logits.as_matrix_dims();
        if b == 0 {
            return 0.0;
        }
        let scale = match reduction {
            Reduction::Mean => 1.0 / b as f64,
            Reduction::Sum => 1.0,
        };
        let (code, lambda) = loss_code(kind);
        let stream = &self.inner.stream;
        let (dense, labels) = match targets {
            Targets::Dense(t) => {
                assert!(
                    code != 4,
                    "multiclass hinge takes class labels (validated by the loss)"
                );
                same_len("loss targets", logits, t);
                same_dtype("loss targets", &[logits, t]);
                (self.ptr(t), None)
            }
            Targets::Classes(l) => {
                assert_eq!(l.len(), b, "loss: {} labels for {b} examples", l.len());
                (0, Some(DeviceBuf::<u32>::from_host(stream, l)))
            }
        };
        let lp = labels.as_ref().map_or(0, |l| l.ptr(stream));
        let li = self.scratch(DType::F64, b);
        let args = [
            Arg::I(code),
            Arg::F(lambda),
            Arg::F(scale),
            Arg::U(self.ptr(logits)),
            u(b),
            u(c),
            Arg::U(dense),
            Arg::U(lp),
            Arg::U(self.ptr(grad)),
            Arg::U(li.ptr(stream)),
        ];
        self.launch_n(Kernel::Loss, d, b, &args);
        // Example terms added in order on the host, as the CPU does.
        let total: f64 = self
            .download_f64(&li)
            .into_iter()
            .fold(0.0, |acc, v| acc + v);
        drop(labels);
        total * scale
    }

    fn sgd_update(
        &self,
        param: &mut Tensor<Self>,
        grad: &Tensor<Self>,
        momentum_buf: Option<&mut Tensor<Self>>,
        hyper: &SgdHyper,
    ) {
        same_len("sgd", param, grad);
        let d = same_dtype("sgd", &[param, grad]);
        let bp = match momentum_buf {
            Some(b) => {
                same_len("sgd momentum buffer", param, b);
                same_dtype("sgd momentum buffer", &[param, b]);
                self.ptr(b)
            }
            None => 0,
        };
        let n = param.len();
        let args = [
            Arg::U(self.ptr(param)),
            Arg::U(self.ptr(grad)),
            Arg::U(bp),
            Arg::F(hyper.lr),
            Arg::F(hyper.weight_decay),
            Arg::F(hyper.momentum),
            Arg::F(1.0 - hyper.dampening),
            Arg::I(hyper.nesterov as i32),
            Arg::I(hyper.first_step as i32),
            u(n),
        ];
        self.launch_n(Kernel::Sgd, d, n, &args);
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
        let d = same_dtype("adam", &[param, grad, exp_avg, exp_avg_sq]);
        // The host part of the CPU's rule (crate::cpu::optim_kernels::adam), in f64.
        let t = hyper.step as i32;
        let bc1 = 1.0 - hyper.beta1.powi(t);
        let bc2 = 1.0 - hyper.beta2.powi(t);
        let n = param.len();
        let args = [
            Arg::U(self.ptr(param)),
            Arg::U(self.ptr(grad)),
            Arg::U(self.ptr(exp_avg)),
            Arg::U(self.ptr(exp_avg_sq)),
            Arg::F(hyper.lr / bc1),
            Arg::F(bc2.sqrt()),
            Arg::F(hyper.beta1),
            Arg::F(hyper.beta2),
            Arg::F(hyper.eps),
            Arg::F(hyper.weight_decay),
            Arg::F(1.0 - hyper.lr * hyper.weight_decay),
            Arg::I(hyper.decoupled as i32),
            u(n),
        ];
        self.launch_n(Kernel::Adam, d, n, &args);
    }

    fn bernoulli_mask(&self, key: RandomKey, keep: f64, mask: &mut Tensor<Self>) {
        let n = mask.len();
        let args = [
            Arg::U(self.ptr(mask)),
            Arg::U(key.raw()),
            Arg::F(keep),
            Arg::F(1.0 / keep),
            u(n),
        ];
        self.launch_n(Kernel::Bernoulli, mask.dtype(), n, &args);
    }
}
