//! Row-major matrix products on cuBLAS (column-major) by the transpose identity.
//!
//! A row-major `r × c` matrix with leading dimension `ld` is, read column-major, its transpose
//! (`c × r`, same `ld`). So `C = op(A)·op(B)` in row-major is computed as the column-major
//! product `Cᵀ = op(B)ᵀ·op(A)ᵀ`: cuBLAS is called with the operands swapped, `m = cols(C)`,
//! `n = rows(C)`, and each operand transposed exactly when the row-major call transposes it.
//! cuBLAS runs in its default math mode, which for f32 is full FP32 (TF32 tensor cores only
//! when `NVIDIA_TF32_OVERRIDE=1` is set in the environment), so f32 products keep the CPU's
//! precision class.

use std::ffi::c_int;

use cudarc::cublas::{result, sys};
use learnscope_core::DType;

/// One row-major product `C ← α·op(A)·op(B) + β·C` on raw device pointers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowMajorGemm {
    /// Rows of C.
    pub m: usize,
    /// Columns of C.
    pub n: usize,
    /// The inner dimension.
    pub k: usize,
    /// Whether A is used transposed (A is stored `k × m` then, else `m × k`).
    pub a_t: bool,
    /// Leading dimension (row length) of A as stored.
    pub lda: usize,
    /// Whether B is used transposed (B is stored `n × k` then, else `k × n`).
    pub b_t: bool,
    /// Leading dimension of B as stored.
    pub ldb: usize,
    /// Leading dimension of C.
    pub ldc: usize,
    /// α.
    pub alpha: f64,
    /// β (0 never reads C).
    pub beta: f64,
}

/// Strides between the matrices of a strided batch (elements), and the batch size.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Batch {
    pub stride_a: usize,
    pub stride_b: usize,
    pub stride_c: usize,
    pub count: usize,
}

fn op(t: bool) -> sys::cublasOperation_t {
    if t {
        sys::cublasOperation_t::CUBLAS_OP_T
    } else {
        sys::cublasOperation_t::CUBLAS_OP_N
    }
}

fn int(v: usize, what: &str) -> c_int {
    c_int::try_from(v).unwrap_or_else(|_| panic!("cuBLAS: {what} = {v} exceeds a 32-bit int"))
}

/// Runs `g` (optionally as a strided batch) on `handle` for `dtype`; pointers are device
/// addresses of A, B, C. The caller has checked the shapes and handled empty products.
///
/// # Safety
/// The pointers must address live device buffers large enough for the described matrices.
pub(crate) unsafe fn row_major(
    handle: sys::cublasHandle_t,
    dtype: DType,
    g: &RowMajorGemm,
    a: u64,
    b: u64,
    c: u64,
    batch: Option<Batch>,
) {
    // Column-major: Cᵀ (n × m, ld ldc) = op(B)ᵀ (n × k) · op(A)ᵀ (k × m).
    let (m, n, k) = (int(g.n, "n"), int(g.m, "m"), int(g.k, "k"));
    let (ta, tb) = (op(g.b_t), op(g.a_t));
    let (lda, ldb, ldc) = (
        int(g.ldb.max(1), "ldb"),
        int(g.lda.max(1), "lda"),
        int(g.ldc.max(1), "ldc"),
    );
    let res = match (dtype, batch) {
        (DType::F32, None) => {
            let (al, be) = (g.alpha as f32, g.beta as f32);
            result::sgemm(
                handle,
                ta,
                tb,
                m,
                n,
                k,
                &al,
                b as *const f32,
                lda,
                a as *const f32,
                ldb,
                &be,
                c as *mut f32,
                ldc,
            )
        }
        (DType::F64, None) => result::dgemm(
            handle,
            ta,
            tb,
            m,
            n,
            k,
            &g.alpha,
            b as *const f64,
            lda,
            a as *const f64,
            ldb,
            &g.beta,
            c as *mut f64,
            ldc,
        ),
        (DType::F32, Some(bt)) => {
            let (al, be) = (g.alpha as f32, g.beta as f32);
            result::sgemm_strided_batched(
                handle,
                ta,
                tb,
                m,
                n,
                k,
                &al,
                b as *const f32,
                lda,
                bt.stride_b as i64,
                a as *const f32,
                ldb,
                bt.stride_a as i64,
                &be,
                c as *mut f32,
                ldc,
                bt.stride_c as i64,
                int(bt.count, "batch"),
            )
        }
        (DType::F64, Some(bt)) => result::dgemm_strided_batched(
            handle,
            ta,
            tb,
            m,
            n,
            k,
            &g.alpha,
            b as *const f64,
            lda,
            bt.stride_b as i64,
            a as *const f64,
            ldb,
            bt.stride_a as i64,
            &g.beta,
            c as *mut f64,
            ldc,
            bt.stride_c as i64,
            int(bt.count, "batch"),
        ),
    };
    if let Err(e) = res {
        panic!("cuBLAS gemm {g:?} batch {batch:?}: {e}");
    }
}
