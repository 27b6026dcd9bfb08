//! The CUDA C sources of the custom kernels, compiled at run time with NVRTC.
//!
//! One template ([`TEMPLATE`]) is written once with `T` for the element type and `_SFX` for the
//! entry-point suffix; [`source`] instantiates it for `float` (`_f32`) and `double` (`_f64`) and
//! concatenates both, so one NVRTC compilation yields every entry point of both dtypes. The
//! backend launches kernels only through [`Kernel`], whose [`Kernel::entry`] names are checked
//! against the generated source by a test that needs no GPU.
//!
//! Semantics follow the CPU kernels (`crate::cpu`) operation by operation, including their
//! accumulation order where it is cheap to keep: column sums run over rows in order, pooling
//! gathers add their contributions in the CPU's scatter order, losses compute one example per
//! thread in f64 and the host adds the examples in order, the dropout mask uses the same
//! SplitMix64 counter hash as `learnscope_core::RandomKey::uniform_at` (so masks are identical
//! bit for bit). Reductions that the CPU splits differently (dot products, batch-norm channel
//! sums, bias gradients) use a fixed block size and a fixed tree, so they are deterministic
//! run to run but may differ from the CPU in the last bits. No kernel uses floating-point
//! atomics: every result is independent of scheduling. The module is compiled with
//! `--fmad=false` so that `a·x + y` rounds twice, as on the CPU.

use learnscope_core::DType;

/// Threads per block of every launch (reductions rely on it being a power of two).
pub const BLOCK: u32 = 256;

/// Elements reduced by one block in the first stage of [`Kernel::DotPartial`].
pub const DOT_CHUNK: usize = 4096;

/// Every entry point of the kernel module, without its dtype suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// `x ← v`.
    Fill,
    /// `x ← a·x`.
    Scale,
    /// `y ← y + a·x`.
    Axpy,
    /// `out ← a + b`.
    Add,
    /// `out ← a ⊙ b`.
    Mul,
    /// Per-block f64 partial sums of `a ⊙ b` over chunks of [`DOT_CHUNK`].
    DotPartial,
    /// Column sums of a row-major matrix, rows in order.
    SumRows,
    /// A block of columns of one row-major matrix into another.
    CopyColumns,
    /// Row bias (`z[i, j] += s·b[j]`) and optional activation.
    BiasAct,
    /// Channel bias (`z[n, c, s] += b[c]`) and optional activation.
    ChannelBiasAct,
    /// `y ← σ(x)`.
    ActForward,
    /// `dz ← dy ⊙ σ'(z)`.
    ActBackward,
    /// im2col with a general column layout.
    Im2col,
    /// col2im as a gather (each input element sums its columns in kernel order).
    Col2im,
    /// `[n, O, P]` → `[O, n·P]` (the weight-gradient product reads dy this way).
    NopToOnp,
    /// Per-channel sums of a `[N, C, S]` tensor in f64 (bias gradients).
    ChannelSum,
    /// Max pooling with argmax.
    MaxPoolForward,
    /// Max-pool input gradient (per-plane scatter in the CPU order).
    MaxPoolBackward,
    /// Average pooling (padding counted).
    AvgPoolForward,
    /// Average-pool input gradient (gather).
    AvgPoolBackward,
    /// Plane means.
    GlobalAvgForward,
    /// Plane mean gradient.
    GlobalAvgBackward,
    /// Batch-norm mean and biased variance per channel.
    BnStats,
    /// Batch-norm affine map and optional activation.
    BnForward,
    /// Batch-norm dγ and dβ per channel.
    BnBackwardReduce,
    /// Batch-norm input gradient.
    BnBackwardDx,
    /// Per-example loss terms and logit gradients.
    Loss,
    /// SGD (with or without momentum).
    Sgd,
    /// Adam / AdamW.
    Adam,
    /// Inverted-dropout mask from the counter hash.
    Bernoulli,
}

impl Kernel {
    /// Every kernel, in declaration order.
    pub const ALL: [Kernel; 30] = [
        Kernel::Fill,
        Kernel::Scale,
        Kernel::Axpy,
        Kernel::Add,
        Kernel::Mul,
        Kernel::DotPartial,
        Kernel::SumRows,
        Kernel::CopyColumns,
        Kernel::BiasAct,
        Kernel::ChannelBiasAct,
        Kernel::ActForward,
        Kernel::ActBackward,
        Kernel::Im2col,
        Kernel::Col2im,
        Kernel::NopToOnp,
        Kernel::ChannelSum,
        Kernel::MaxPoolForward,
        Kernel::MaxPoolBackward,
        Kernel::AvgPoolForward,
        Kernel::AvgPoolBackward,
        Kernel::GlobalAvgForward,
        Kernel::GlobalAvgBackward,
        Kernel::BnStats,
        Kernel::BnForward,
        Kernel::BnBackwardReduce,
        Kernel::BnBackwardDx,
        Kernel::Loss,
        Kernel::Sgd,
        Kernel::Adam,
        Kernel::Bernoulli,
    ];

    /// The entry point's name without its suffix.
    pub fn base(self) -> &'static str {
        match self {
            Kernel::Fill => "ls_fill",
            Kernel::Scale => "ls_scale",
            Kernel::Axpy => "ls_axpy",
            Kernel::Add => "ls_add",
            Kernel::Mul => "ls_mul",
            Kernel::DotPartial => "ls_dot_partial",
            Kernel::SumRows => "ls_sum_rows",
            Kernel::CopyColumns => "ls_copy_columns",
            Kernel::BiasAct => "ls_bias_act",
            Kernel::ChannelBiasAct => "ls_channel_bias_act",
            Kernel::ActForward => "ls_act_forward",
            Kernel::ActBackward => "ls_act_backward",
            Kernel::Im2col => "ls_im2col",
            Kernel::Col2im => "ls_col2im",
            Kernel::NopToOnp => "ls_nop_to_onp",
            Kernel::ChannelSum => "ls_channel_sum",
            Kernel::MaxPoolForward => "ls_max_pool_forward",
            Kernel::MaxPoolBackward => "ls_max_pool_backward",
            Kernel::AvgPoolForward => "ls_avg_pool_forward",
            Kernel::AvgPoolBackward => "ls_avg_pool_backward",
            Kernel::GlobalAvgForward => "ls_global_avg_forward",
            Kernel::GlobalAvgBackward => "ls_global_avg_backward",
            Kernel::BnStats => "ls_bn_stats",
            Kernel::BnForward => "ls_bn_forward",
            Kernel::BnBackwardReduce => "ls_bn_backward_reduce",
            Kernel::BnBackwardDx => "ls_bn_backward_dx",
            Kernel::Loss => "ls_loss",
            Kernel::Sgd => "ls_sgd",
            Kernel::Adam => "ls_adam",
            Kernel::Bernoulli => "ls_bernoulli",
        }
    }

    /// The entry point for `dtype` (`ls_axpy_f32`, …).
    pub fn entry(self, dtype: DType) -> String {
        format!("{}{}", self.base(), suffix(dtype))
    }

    /// The position of this kernel in [`Kernel::ALL`].
    pub fn index(self) -> usize {
        Kernel::ALL
            .iter()
            .position(|&k| k == self)
            .expect("every kernel is listed in ALL")
    }
}

/// The entry-point suffix of a dtype.
pub fn suffix(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "_f32",
        DType::F64 => "_f64",
    }
}

/// The C type of a dtype.
fn c_type(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "float",
        DType::F64 => "double",
    }
}

/// Helpers shared by both instantiations (emitted once).
pub const PRELUDE: &str = r#"
typedef unsigned long long u64;
typedef long long i64;

__device__ __forceinline__ float ls_exp(float x) { return expf(x); }
__device__ __forceinline__ double ls_exp(double x) { return exp(x); }
__device__ __forceinline__ float ls_tanh(float x) { return tanhf(x); }
__device__ __forceinline__ double ls_tanh(double x) { return tanh(x); }
__device__ __forceinline__ float ls_erf(float x) { return erff(x); }
__device__ __forceinline__ double ls_erf(double x) { return erf(x); }
__device__ __forceinline__ float ls_sqrt(float x) { return sqrtf(x); }
__device__ __forceinline__ double ls_sqrt(double x) { return sqrt(x); }

/* Activation codes: 0 identity, 1 relu, 2 tanh, 3 sigmoid, 4 gelu (crate::Activation). */
template <typename T> __device__ __forceinline__ T ls_act(int act, T z) {
    switch (act) {
    case 1: return z <= (T)0 ? (T)0 : z; /* NaN passes, as PyTorch's relu */
    case 2: return ls_tanh(z);
    case 3: return (T)1 / ((T)1 + ls_exp(-z));
    case 4: return z * (T)0.5 * ((T)1 + ls_erf(z * (T)0.70710678118654752440));
    default: return z;
    }
}

template <typename T> __device__ __forceinline__ T ls_act_deriv(int act, T z, T y) {
    switch (act) {
    case 1: return z > (T)0 ? (T)1 : (T)0;
    case 2: return (T)1 - y * y;
    case 3: return y * ((T)1 - y);
    case 4: {
        T half = (T)0.5;
        T cdf = half * ((T)1 + ls_erf(z * (T)0.70710678118654752440));
        T pdf = (T)0.39894228040143267794 * ls_exp(-(z * z) * half);
        return cdf + z * pdf;
    }
    default: return (T)1;
    }
}

/* Block-wide sum of one double per thread (blockDim.x a power of two, <= 1024): a fixed tree,
   so the result depends only on the inputs and the block size. */
__device__ double ls_block_sum(double v) {
    __shared__ double buf[1024];
    buf[threadIdx.x] = v;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) buf[threadIdx.x] += buf[threadIdx.x + s];
        __syncthreads();
    }
    double r = buf[0];
    __syncthreads();
    return r;
}

/* +infinity (NVRTC has no math.h macros). */
__device__ __forceinline__ double ls_inf() { return __longlong_as_double(0x7ff0000000000000LL); }

/* SplitMix64 finaliser and RandomKey::u64_at (learnscope-core, random.rs). */
__device__ __forceinline__ u64 ls_mix64(u64 z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
__device__ __forceinline__ double ls_uniform_at(u64 key, u64 index) {
    u64 u = ls_mix64(ls_mix64(key ^ (index * 0x9E3779B97F4A7C15ULL)) + key);
    return (double)(u >> 11) * (1.0 / 9007199254740992.0);
}

/* Softplus and sigmoid in f64, as in the CPU loss kernels. */
__device__ __forceinline__ double ls_softplus(double x) {
    return fmax(x, 0.0) + log1p(exp(-fabs(x)));
}
__device__ __forceinline__ double ls_sigmoid(double x) {
    if (x >= 0.0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

/* Window geometry passed by value (unused entries are 0). */
struct LsGeo { u64 v[12]; };

#define LS_FOR(i, n) for (u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (u64)gridDim.x * blockDim.x)
"#;

/// The kernels, written once for element type `T` and entry-point suffix `_SFX`.
pub const TEMPLATE: &str = r#"
extern "C" __global__ void ls_fill_SFX(T* x, double v, u64 n) {
    T t = (T)v;
    LS_FOR(i, n) x[i] = t;
}

extern "C" __global__ void ls_scale_SFX(T* x, double a, u64 n) {
    T t = (T)a;
    LS_FOR(i, n) x[i] *= t;
}

extern "C" __global__ void ls_axpy_SFX(double a, const T* x, T* y, u64 n) {
    T t = (T)a;
    LS_FOR(i, n) y[i] += t * x[i];
}

extern "C" __global__ void ls_add_SFX(const T* a, const T* b, T* out, u64 n) {
    LS_FOR(i, n) out[i] = a[i] + b[i];
}

extern "C" __global__ void ls_mul_SFX(const T* a, const T* b, T* out, u64 n) {
    LS_FOR(i, n) out[i] = a[i] * b[i];
}

/* Block b sums a[i]·b[i] for i in [b·chunk, (b+1)·chunk) in f64 into partial[b]. */
extern "C" __global__ void ls_dot_partial_SFX(const T* a, const T* b, u64 n, u64 chunk, double* partial) {
    u64 lo = (u64)blockIdx.x * chunk;
    u64 hi = lo + chunk < n ? lo + chunk : n;
    double acc = 0.0;
    for (u64 i = lo + threadIdx.x; i < hi; i += blockDim.x) acc += (double)a[i] * (double)b[i];
    double s = ls_block_sum(acc);
    if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

/* out[j] = scale·Σ_i x[i, j], rows in order in T (as the CPU). */
extern "C" __global__ void ls_sum_rows_SFX(const T* x, u64 rows, u64 cols, double scale, T* out) {
    T s = (T)scale;
    LS_FOR(j, cols) {
        T acc = (T)0;
        for (u64 r = 0; r < rows; ++r) acc += x[r * cols + j];
        if (s != (T)1) acc *= s;
        out[j] = acc;
    }
}

/* dst[r, dst_col + c] = src[r, src_col + c] for c < cols (row strides a and b); n = rows·cols. */
extern "C" __global__ void ls_copy_columns_SFX(const T* src, u64 a, u64 src_col, T* dst, u64 b, u64 dst_col, u64 cols, u64 n) {
    LS_FOR(i, n) {
        u64 r = i / cols, c = i % cols;
        dst[r * b + dst_col + c] = src[r * a + src_col + c];
    }
}

extern "C" __global__ void ls_bias_act_SFX(T* z, const T* bias, double bias_scale, u64 cols, int act, T* out, u64 n) {
    T s = (T)bias_scale;
    LS_FOR(i, n) {
        T v = z[i];
        if (bias) { v += s * bias[i % cols]; z[i] = v; }
        if (out) out[i] = ls_act<T>(act, v);
    }
}

/* z[e, c, s] += bias[c] (when given), then y = act(z) (when given); plane = S. */
extern "C" __global__ void ls_channel_bias_act_SFX(T* z, const T* bias, u64 channels, u64 plane, int act, T* y, u64 n) {
    LS_FOR(i, n) {
        T v = z[i];
        if (bias) { v += bias[(i / plane) % channels]; z[i] = v; }
        if (y) y[i] = ls_act<T>(act, v);
    }
}

extern "C" __global__ void ls_act_forward_SFX(int act, const T* x, T* y, u64 n) {
    LS_FOR(i, n) y[i] = ls_act<T>(act, x[i]);
}

extern "C" __global__ void ls_act_backward_SFX(int act, const T* z, const T* y, const T* dy, T* dz, u64 n) {
    LS_FOR(i, n) {
        if (act == 0) dz[i] = dy[i];
        else if (act == 1) dz[i] = z[i] > (T)0 ? dy[i] : (T)0;
        else dz[i] = dy[i] * ls_act_deriv<T>(act, z[i], y[i]);
    }
}

/* geo = {C, H, W, kh, kw, sh, sw, ph, pw, OH, OW}. Column element (row r = (c, i, j), example
   e, position p) lives at cols[e·e_stride + r·ld + p]; examples first .. first + count of x. */
extern "C" __global__ void ls_im2col_SFX(const T* x, LsGeo geo, u64 first, u64 count, u64 ld, u64 e_stride, T* cols) {
    u64 C = geo.v[0], H = geo.v[1], W = geo.v[2], kh = geo.v[3], kw = geo.v[4], sh = geo.v[5], sw = geo.v[6];
    u64 ph = geo.v[7], pw = geo.v[8], OH = geo.v[9], OW = geo.v[10];
    u64 P = OH * OW, rows = C * kh * kw;
    u64 n = count * rows * P;
    LS_FOR(t, n) {
        u64 p = t % P;
        u64 r = (t / P) % rows;
        u64 e = t / (P * rows);
        u64 j = r % kw, i = (r / kw) % kh, c = r / (kw * kh);
        u64 oh = p / OW, ow = p % OW;
        i64 ih = (i64)(oh * sh + i) - (i64)ph;
        i64 iw = (i64)(ow * sw + j) - (i64)pw;
        T v = (T)0;
        if (ih >= 0 && ih < (i64)H && iw >= 0 && iw < (i64)W)
            v = x[(((first + e) * C + c) * H + (u64)ih) * W + (u64)iw];
        cols[e * e_stride + r * ld + p] = v;
    }
}

/* The adjoint of ls_im2col: every element of dx (examples first .. first + count) is
   overwritten with the sum of its columns, kernel offsets (i, j) in order as in the CPU's
   scatter. */
extern "C" __global__ void ls_col2im_SFX(const T* cols, LsGeo geo, u64 first, u64 count, u64 ld, u64 e_stride, T* dx) {
    u64 C = geo.v[0], H = geo.v[1], W = geo.v[2], kh = geo.v[3], kw = geo.v[4], sh = geo.v[5], sw = geo.v[6];
    u64 ph = geo.v[7], pw = geo.v[8], OH = geo.v[9], OW = geo.v[10];
    u64 n = count * C * H * W;
    LS_FOR(t, n) {
        u64 iw = t % W, ih = (t / W) % H, c = (t / (W * H)) % C, e = t / (W * H * C);
        T acc = (T)0;
        for (u64 i = 0; i < kh; ++i) {
            i64 a = (i64)(ih + ph) - (i64)i;
            if (a < 0 || a % (i64)sh != 0) continue;
            u64 oh = (u64)a / sh;
            if (oh >= OH) continue;
            for (u64 j = 0; j < kw; ++j) {
                i64 b = (i64)(iw + pw) - (i64)j;
                if (b < 0 || b % (i64)sw != 0) continue;
                u64 ow = (u64)b / sw;
                if (ow >= OW) continue;
                u64 r = (c * kh + i) * kw + j;
                acc += cols[e * e_stride + r * ld + oh * OW + ow];
            }
        }
        dx[((first + e) * C + c) * H * W + ih * W + iw] = acc;
    }
}

/* src [count, O, P] → dst [O, count·P]. */
extern "C" __global__ void ls_nop_to_onp_SFX(const T* src, u64 count, u64 O, u64 P, T* dst) {
    u64 n = count * O * P;
    LS_FOR(t, n) {
        u64 p = t % P, o = (t / P) % O, e = t / (P * O);
        dst[o * count * P + e * P + p] = src[t];
    }
}

/* out[c] = Σ_{e, s} x[e, c, s] in f64, one block per channel (accumulate = 1 adds to out). */
extern "C" __global__ void ls_channel_sum_SFX(const T* x, u64 N, u64 C, u64 S, int accumulate, T* out) {
    u64 c = blockIdx.x;
    u64 m = N * S;
    double acc = 0.0;
    for (u64 k = threadIdx.x; k < m; k += blockDim.x) {
        u64 e = k / S, s = k % S;
        acc += (double)x[(e * C + c) * S + s];
    }
    double total = ls_block_sum(acc);
    if (threadIdx.x == 0) out[c] = accumulate ? (T)((double)out[c] + total) : (T)total;
}

/* g = {H, W, OH, OW, kh, kw, sh, sw, ph, pw}; planes = N·C. The CPU's rule: scan the clipped
   window row-major and take v if v > best or v is NaN (ties keep the first, the last NaN wins). */
extern "C" __global__ void ls_max_pool_forward_SFX(const T* x, LsGeo g, u64 planes, T* y, T* arg) {
    u64 H = g.v[0], W = g.v[1], OH = g.v[2], OW = g.v[3], kh = g.v[4], kw = g.v[5], sh = g.v[6], sw = g.v[7], ph = g.v[8], pw = g.v[9];
    u64 n = planes * OH * OW;
    LS_FOR(t, n) {
        u64 q = t % OW, r = (t / OW) % OH, pl = t / (OW * OH);
        i64 hs = (i64)(r * sh) - (i64)ph, ws = (i64)(q * sw) - (i64)pw;
        i64 he = hs + (i64)kh, we = ws + (i64)kw;
        u64 h0 = hs > 0 ? (u64)hs : 0, w0 = ws > 0 ? (u64)ws : 0;
        u64 h1 = he > 0 ? ((u64)he < H ? (u64)he : H) : 0;
        u64 w1 = we > 0 ? ((u64)we < W ? (u64)we : W) : 0;
        const T* xp = x + pl * H * W;
        T best = -(T)ls_inf();
        u64 at = h0 * W + w0;
        for (u64 ih = h0; ih < h1; ++ih)
            for (u64 iw = w0; iw < w1; ++iw) {
                T v = xp[ih * W + iw];
                if (v > best || v != v) { best = v; at = ih * W + iw; }
            }
        y[t] = best;
        arg[t] = (T)at;
    }
}

/* dx[plane, arg[o]] += dy[o] for the outputs o of the plane in order (the CPU's scatter, so
   the sums are the CPU's bit for bit); one thread per plane, dx zeroed beforehand. The
   backward pass is not given the window, so it cannot gather per input element. */
extern "C" __global__ void ls_max_pool_backward_SFX(const T* dy, const T* arg, u64 planes, u64 in_plane, u64 out_plane, T* dx) {
    LS_FOR(pl, planes) {
        T* d = dx + pl * in_plane;
        for (u64 o = pl * out_plane; o < (pl + 1) * out_plane; ++o) d[(u64)arg[o]] += dy[o];
    }
}

extern "C" __global__ void ls_avg_pool_forward_SFX(const T* x, LsGeo g, u64 planes, T* y) {
    u64 H = g.v[0], W = g.v[1], OH = g.v[2], OW = g.v[3], kh = g.v[4], kw = g.v[5], sh = g.v[6], sw = g.v[7], ph = g.v[8], pw = g.v[9];
    T inv = (T)(1.0 / (double)(kh * kw));
    u64 n = planes * OH * OW;
    LS_FOR(t, n) {
        u64 q = t % OW, r = (t / OW) % OH, pl = t / (OW * OH);
        i64 hs = (i64)(r * sh) - (i64)ph, ws = (i64)(q * sw) - (i64)pw;
        i64 he = hs + (i64)kh, we = ws + (i64)kw;
        u64 h0 = hs > 0 ? (u64)hs : 0, w0 = ws > 0 ? (u64)ws : 0;
        u64 h1 = he > 0 ? ((u64)he < H ? (u64)he : H) : 0;
        u64 w1 = we > 0 ? ((u64)we < W ? (u64)we : W) : 0;
        const T* xp = x + pl * H * W;
        T acc = (T)0;
        for (u64 ih = h0; ih < h1; ++ih)
            for (u64 iw = w0; iw < w1; ++iw) acc += xp[ih * W + iw];
        y[t] = acc * inv;
    }
}

extern "C" __global__ void ls_avg_pool_backward_SFX(const T* dy, LsGeo g, u64 planes, T* dx) {
    u64 H = g.v[0], W = g.v[1], OH = g.v[2], OW = g.v[3], kh = g.v[4], kw = g.v[5], sh = g.v[6], sw = g.v[7], ph = g.v[8], pw = g.v[9];
    T inv = (T)(1.0 / (double)(kh * kw));
    u64 n = planes * H * W;
    LS_FOR(t, n) {
        u64 iw = t % W, ih = (t / W) % H, pl = t / (W * H);
        i64 rlo_n = (i64)(ih + ph) - (i64)kh + 1;
        u64 r0 = rlo_n <= 0 ? 0 : ((u64)rlo_n + sh - 1) / sh;
        u64 r1 = (ih + ph) / sh + 1; if (r1 > OH) r1 = OH;
        i64 qlo_n = (i64)(iw + pw) - (i64)kw + 1;
        u64 q0 = qlo_n <= 0 ? 0 : ((u64)qlo_n + sw - 1) / sw;
        u64 q1 = (iw + pw) / sw + 1; if (q1 > OW) q1 = OW;
        T acc = (T)0;
        for (u64 r = r0; r < r1; ++r)
            for (u64 q = q0; q < q1; ++q) acc += dy[(pl * OH + r) * OW + q] * inv;
        dx[t] = acc;
    }
}

/* y[plane] = mean of the plane, summed in f64 with four interleaved lanes then the tail (the
   CPU's sum_f64 order). */
extern "C" __global__ void ls_global_avg_forward_SFX(const T* x, u64 planes, u64 plane, T* y) {
    LS_FOR(p, planes) {
        const T* v = x + p * plane;
        double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0, tail = 0.0;
        u64 q = plane / 4 * 4;
        for (u64 k = 0; k < q; k += 4) {
            a0 += (double)v[k]; a1 += (double)v[k + 1]; a2 += (double)v[k + 2]; a3 += (double)v[k + 3];
        }
        for (u64 k = q; k < plane; ++k) tail += (double)v[k];
        y[p] = (T)((((a0 + a1) + (a2 + a3)) + tail) * (1.0 / (double)plane));
    }
}

extern "C" __global__ void ls_global_avg_backward_SFX(const T* dy, u64 plane, T* dx, u64 n) {
    T inv = (T)(1.0 / (double)plane);
    LS_FOR(t, n) dx[t] = dy[t / plane] * inv;
}

/* One block per channel of x [N, C, S]: mean and biased variance (two passes, f64). */
extern "C" __global__ void ls_bn_stats_SFX(const T* x, u64 N, u64 C, u64 S, T* mean, T* var) {
    u64 c = blockIdx.x;
    u64 m = N * S;
    double acc = 0.0;
    for (u64 k = threadIdx.x; k < m; k += blockDim.x) acc += (double)x[((k / S) * C + c) * S + k % S];
    double mu = ls_block_sum(acc) / (double)m;
    double sq = 0.0;
    for (u64 k = threadIdx.x; k < m; k += blockDim.x) {
        double d = (double)x[((k / S) * C + c) * S + k % S] - mu;
        sq += d * d;
    }
    double v = ls_block_sum(sq) / (double)m;
    if (threadIdx.x == 0) { mean[c] = (T)mu; var[c] = (T)v; }
}

/* z = a·x + k per channel with a = γ/√(σ²+ε), k = β − μ·a (computed in f64, applied in T as
   on the CPU), then y = act(z). */
extern "C" __global__ void ls_bn_forward_SFX(const T* x, const T* mean, const T* var, double eps, const T* gamma, const T* beta, u64 C, u64 S, T* z, int act, T* y, u64 n) {
    LS_FOR(t, n) {
        u64 c = (t / S) % C;
        double inv = 1.0 / sqrt((double)var[c] + eps);
        double scale = (double)gamma[c] * inv;
        T a = (T)scale;
        T k = (T)((double)beta[c] - (double)mean[c] * scale);
        T v = a * x[t] + k;
        z[t] = v;
        if (y) y[t] = ls_act<T>(act, v);
    }
}

/* One block per channel: dβ = Σ dz, dγ = inv·Σ dz·(x − μ), f64. */
extern "C" __global__ void ls_bn_backward_reduce_SFX(const T* x, const T* dz, const T* mean, const T* var, double eps, u64 N, u64 C, u64 S, T* dgamma, T* dbeta) {
    u64 c = blockIdx.x;
    u64 m = N * S;
    double mu = (double)mean[c];
    double inv = 1.0 / sqrt((double)var[c] + eps);
    double a = 0.0, b = 0.0;
    for (u64 k = threadIdx.x; k < m; k += blockDim.x) {
        u64 at = ((k / S) * C + c) * S + k % S;
        double g = (double)dz[at];
        a += g;
        b += g * ((double)x[at] - mu);
    }
    double sa = ls_block_sum(a);
    double sb = ls_block_sum(b);
    if (threadIdx.x == 0) { dbeta[c] = (T)sa; dgamma[c] = (T)(sb * inv); }
}

/* dx = a·dz + b·x + k with a = γ·inv and, for batch statistics, b = −a·inv·dγ/M,
   k = −a·dβ/M − b·μ (else b = k = 0); coefficients in f64 from the stored dγ, dβ. */
extern "C" __global__ void ls_bn_backward_dx_SFX(const T* x, const T* dz, const T* mean, const T* var, double eps, const T* gamma, int batch_stats, const T* dgamma, const T* dbeta, u64 C, u64 S, double m, T* dx, u64 n) {
    LS_FOR(t, n) {
        u64 c = (t / S) % C;
        double inv = 1.0 / sqrt((double)var[c] + eps);
        double a = (double)gamma[c] * inv;
        if (batch_stats) {
            double b = -a * inv * (double)dgamma[c] / m;
            double k = -a * (double)dbeta[c] / m - b * (double)mean[c];
            dx[t] = (T)a * dz[t] + (T)b * x[t] + (T)k;
        } else {
            dx[t] = (T)a * dz[t] + (T)0;
        }
    }
}

/* Loss kinds: 0 mse, 1 bce, 2 cross-entropy, 3 hinge, 4 multiclass hinge (spectral decoupling
   is bce/ce with lambda > 0). One thread per example: its loss term in f64 into li[i], its
   gradient row into grad. Targets: dense (same shape as the logits) or class labels. */
__device__ __forceinline__ double ls_target_SFX(const T* dense, const unsigned* labels, u64 i, u64 j, u64 c) {
    if (dense) return (double)dense[i * c + j];
    if (c == 1) return (double)labels[i];
    return labels[i] == (unsigned)j ? 1.0 : 0.0;
}

extern "C" __global__ void ls_loss_SFX(int kind, double lambda, double scale, const T* f, u64 b, u64 c, const T* dense, const unsigned* labels, T* grad, double* li) {
    LS_FOR(i, b) {
        const T* fi = f + i * c;
        T* g = grad + i * c;
        double l = 0.0;
        if (kind == 0) {
            for (u64 j = 0; j < c; ++j) {
                double r = (double)fi[j] - ls_target_SFX(dense, labels, i, j, c);
                l += 0.5 * r * r;
                g[j] = (T)(scale * r);
            }
        } else if (kind == 1) {
            for (u64 j = 0; j < c; ++j) {
                double x = (double)fi[j], y = ls_target_SFX(dense, labels, i, j, c);
                l += ls_softplus(x) - y * x + 0.5 * lambda * x * x;
                g[j] = (T)(scale * (ls_sigmoid(x) - y + lambda * x));
            }
        } else if (kind == 2) {
            double mx = -ls_inf();
            for (u64 j = 0; j < c; ++j) mx = fmax(mx, (double)fi[j]);
            double s = 0.0;
            for (u64 j = 0; j < c; ++j) s += exp((double)fi[j] - mx);
            double lse = mx + log(s);
            double ysum = 0.0;
            for (u64 j = 0; j < c; ++j) {
                double y = ls_target_SFX(dense, labels, i, j, c);
                ysum += y;
                l += y * (lse - (double)fi[j]);
            }
            for (u64 j = 0; j < c; ++j) {
                double x = (double)fi[j];
                double p = exp(x - lse);
                l += 0.5 * lambda * x * x;
                g[j] = (T)(scale * (ysum * p - ls_target_SFX(dense, labels, i, j, c) + lambda * x));
            }
        } else if (kind == 3) {
            for (u64 j = 0; j < c; ++j) {
                double y = ls_target_SFX(dense, labels, i, j, c);
                if (!dense) y = 2.0 * y - 1.0;
                double margin = 1.0 - y * (double)fi[j];
                if (margin > 0.0) { l += margin; g[j] = (T)(-scale * y); }
                else g[j] = (T)0;
            }
        } else {
            u64 y = labels[i];
            double fy = (double)fi[y];
            double w = scale / (double)c;
            u64 active = 0;
            for (u64 j = 0; j < c; ++j) {
                if (j == y) continue;
                double margin = 1.0 - fy + (double)fi[j];
                if (margin > 0.0) { l += margin / (double)c; g[j] = (T)w; active++; }
                else g[j] = (T)0;
            }
            g[y] = (T)(-w * (double)active);
        }
        li[i] = l;
    }
}

/* torch.optim.SGD: d = g + λp; buf = d (first step) or μ·buf + (1 − dampening)·d;
   step = d + μ·buf (Nesterov) or buf; p -= lr·step. Without momentum: p -= lr·d. */
extern "C" __global__ void ls_sgd_SFX(T* p, const T* g, T* buf, double lr_, double wd_, double mu_, double damp_, int nesterov, int first_step, u64 n) {
    T lr = (T)lr_, wd = (T)wd_, mu = (T)mu_, damp = (T)damp_;
    LS_FOR(i, n) {
        T d = g[i] + wd * p[i];
        if (!buf) { p[i] -= lr * d; continue; }
        T b = first_step ? d : mu * buf[i] + damp * d;
        buf[i] = b;
        T step = nesterov ? d + mu * b : b;
        p[i] -= lr * step;
    }
}

/* torch.optim.Adam / AdamW; bias corrections computed on the host in f64. */
extern "C" __global__ void ls_adam_SFX(T* p, const T* g, T* m, T* v, double step_size_, double bc2_sqrt_, double b1_, double b2_, double eps_, double wd_, double decay_, int decoupled, u64 n) {
    T step_size = (T)step_size_, bc2_sqrt = (T)bc2_sqrt_, b1 = (T)b1_, b2 = (T)b2_;
    T one_b1 = (T)(1.0 - b1_), one_b2 = (T)(1.0 - b2_), eps = (T)eps_, wd = (T)wd_, decay = (T)decay_;
    LS_FOR(i, n) {
        T gi = g[i];
        T pi = p[i];
        if (decoupled) pi *= decay;
        else gi = gi + wd * pi;
        T mi = b1 * m[i] + one_b1 * gi;
        T vi = b2 * v[i] + one_b2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        T denom = ls_sqrt(vi) / bc2_sqrt + eps;
        p[i] = pi - step_size * mi / denom;
    }
}

/* mask[i] = on if uniform_at(key, i) < keep else 0 (RandomKey::uniform_at, bit for bit). */
extern "C" __global__ void ls_bernoulli_SFX(T* mask, u64 key, double keep, double on, u64 n) {
    T t_on = (T)on;
    LS_FOR(i, n) mask[i] = ls_uniform_at(key, i) < keep ? t_on : (T)0;
}
"#;

/// The template instantiated for one dtype.
pub fn instantiate(dtype: DType) -> String {
    let c = c_type(dtype);
    let body = TEMPLATE.replace("_SFX", suffix(dtype));
    // `T` is a type alias local to this instantiation.
    format!("#define T {c}\n{body}\n#undef T\n", c = c, body = body)
}

/// The whole module: the prelude and both instantiations.
pub fn source() -> String {
    let mut s = String::from(PRELUDE);
    for dtype in [DType::F32, DType::F64] {
        s.push_str(&instantiate(dtype));
    }
    s
}

/// The names of the `extern "C" __global__` functions defined in `src`, in order.
pub fn entry_points(src: &str) -> Vec<String> {
    let marker = "extern \"C\" __global__ void ";
    src.match_indices(marker)
        .filter_map(|(at, _)| {
            let rest = &src[at + marker.len()..];
            rest.find('(').map(|end| rest[..end].trim().to_string())
        })
        .collect()
}
