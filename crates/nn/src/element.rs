//! The element types kernels are generic over: `f32` and `f64`.

use learnscope_core::DType;
use num_traits::Float;

/// A floating-point element type a kernel can run on.
pub trait Element:
    Float
    + Default
    + std::ops::AddAssign
    + std::ops::SubAssign
    + std::ops::MulAssign
    + std::fmt::Debug
    + std::iter::Sum
    + Send
    + Sync
    + 'static
{
    /// The run-time tag of this type.
    const DTYPE: DType;
    /// Converts from f64 (rounding to nearest for f32).
    fn from_f64(x: f64) -> Self;
    /// Converts to f64 (exact).
    fn as_f64(self) -> f64;
    /// The error function (for exact GELU).
    fn erf(self) -> Self;
}

impl Element for f32 {
    const DTYPE: DType = DType::F32;
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn as_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn erf(self) -> Self {
        libm::erff(self)
    }
}

impl Element for f64 {
    const DTYPE: DType = DType::F64;
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn as_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn erf(self) -> Self {
        libm::erf(self)
    }
}
