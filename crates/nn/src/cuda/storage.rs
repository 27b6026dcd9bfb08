//! Device memory of one tensor: a cudarc buffer of f32 or f64 and its logical length.
//!
//! Zero-length tensors are common (`Tensor::empty` placeholders) but a zero-byte device
//! allocation is an error for the driver, so a buffer always holds at least one element and
//! carries its logical length separately. Cloning copies the device memory (as cloning a CPU
//! tensor copies its vector).

use std::sync::Arc;

use cudarc::driver::{CudaSlice, CudaStream, DevicePtr, DeviceRepr, ValidAsZeroBits};
use learnscope_core::DType;

/// A device buffer of `len` elements (allocated with at least one).
#[derive(Clone)]
pub struct DeviceBuf<T: DeviceRepr> {
    pub(crate) slice: CudaSlice<T>,
    pub(crate) len: usize,
}

impl<T: DeviceRepr + ValidAsZeroBits> DeviceBuf<T> {
    /// `len` zeros on `stream`.
    pub(crate) fn zeros(stream: &Arc<CudaStream>, len: usize) -> Self {
        let slice = stream
            .alloc_zeros::<T>(len.max(1))
            .unwrap_or_else(|e| panic!("CUDA: allocating {len} elements: {e}"));
        DeviceBuf { slice, len }
    }

    /// A copy of `host` on the device.
    pub(crate) fn from_host(stream: &Arc<CudaStream>, host: &[T]) -> Self {
        let mut buf = Self::zeros(stream, host.len());
        if !host.is_empty() {
            stream
                .memcpy_htod(host, &mut buf.slice)
                .unwrap_or_else(|e| panic!("CUDA: uploading {} elements: {e}", host.len()));
        }
        buf
    }

    /// The contents on the host (synchronises the stream).
    pub(crate) fn to_host(&self, stream: &Arc<CudaStream>) -> Vec<T>
    where
        T: Default + Clone,
    {
        let mut out = vec![T::default(); self.slice.len()];
        stream
            .memcpy_dtoh(&self.slice, &mut out)
            .unwrap_or_else(|e| panic!("CUDA: downloading {} elements: {e}", self.len));
        stream
            .synchronize()
            .unwrap_or_else(|e| panic!("CUDA: synchronising after a download: {e}"));
        out.truncate(self.len);
        out
    }

    /// The raw device address (kernel arguments and cuBLAS operands).
    pub(crate) fn ptr(&self, stream: &CudaStream) -> u64 {
        // The backend disables cudarc's event tracking (one stream), so the guard is a no-op.
        let (p, _guard) = self.slice.device_ptr(stream);
        p
    }
}

/// Device memory of one tensor.
#[derive(Clone)]
pub enum CudaStorage {
    /// 32-bit floats.
    F32(DeviceBuf<f32>),
    /// 64-bit floats.
    F64(DeviceBuf<f64>),
}

impl std::fmt::Debug for CudaStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CudaStorage({}, len={})", self.dtype(), self.len())
    }
}

impl CudaStorage {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            CudaStorage::F32(_) => DType::F32,
            CudaStorage::F64(_) => DType::F64,
        }
    }

    /// The element count.
    pub fn len(&self) -> usize {
        match self {
            CudaStorage::F32(b) => b.len,
            CudaStorage::F64(b) => b.len,
        }
    }

    /// Whether the storage holds no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The raw device address.
    pub(crate) fn ptr(&self, stream: &CudaStream) -> u64 {
        match self {
            CudaStorage::F32(b) => b.ptr(stream),
            CudaStorage::F64(b) => b.ptr(stream),
        }
    }
}
