//! A dense, row-major tensor whose storage belongs to a [`Backend`].
//!
//! The first dimension is the batch wherever a tensor holds examples (`[batch, features]`,
//! later `[batch, channels, height, width]`, NCHW as in PyTorch). A tensor is a workspace: layers
//! keep theirs across steps and [`Tensor::ensure`] reuses the allocation when the size is unchanged,
//! so the training loop allocates nothing in steady state.

use learnscope_core::DType;

use crate::Backend;

/// A tensor: backend storage plus a shape. Its dtype is the storage's.
pub struct Tensor<B: Backend> {
    pub(crate) storage: B::Storage,
    pub(crate) shape: Vec<usize>,
}

impl<B: Backend> Clone for Tensor<B> {
    fn clone(&self) -> Self {
        Tensor {
            storage: self.storage.clone(),
            shape: self.shape.clone(),
        }
    }
}

impl<B: Backend> std::fmt::Debug for Tensor<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor({}, {:?})", self.dtype(), self.shape)
    }
}

impl<B: Backend> Tensor<B> {
    /// A zero-filled tensor.
    pub fn zeros(be: &B, dtype: DType, shape: &[usize]) -> Self {
        Tensor {
            storage: be.alloc_zeros(dtype, shape.iter().product()),
            shape: shape.to_vec(),
        }
    }

    /// An empty placeholder (shape `[0]`): the state of a workspace before its first use.
    pub fn empty(be: &B, dtype: DType) -> Self {
        Self::zeros(be, dtype, &[0])
    }

    /// A tensor holding `data` (row-major), converted to `dtype`.
    ///
    /// # Panics
    /// If `data.len()` is not the product of `shape`.
    pub fn from_f64(be: &B, dtype: DType, shape: &[usize], data: &[f64]) -> Self {
        assert_eq!(
            data.len(),
            shape.iter().product::<usize>(),
            "Tensor::from_f64: {} values for shape {shape:?}",
            data.len()
        );
        Tensor {
            storage: be.upload_f64(dtype, data),
            shape: shape.to_vec(),
        }
    }

    /// The values as f64 on the host (exact for both element types).
    pub fn to_host_f64(&self, be: &B) -> Vec<f64> {
        be.download_f64(&self.storage)
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        B::storage_dtype(&self.storage)
    }

    /// Rows and columns when read as a matrix `[shape[0], product of the rest]`.
    pub fn as_matrix_dims(&self) -> (usize, usize) {
        match self.shape.split_first() {
            None => (1, 1),
            Some((&r, rest)) => (r, rest.iter().product()),
        }
    }

    /// Gives the tensor `shape` and `dtype`, reusing the allocation when the element count and
    /// dtype are unchanged. Contents are unspecified afterwards unless they were kept.
    pub fn ensure(&mut self, be: &B, dtype: DType, shape: &[usize]) {
        let len: usize = shape.iter().product();
        if self.dtype() != dtype || B::storage_len(&self.storage) != len {
            self.storage = be.alloc_zeros(dtype, len);
        }
        if self.shape != shape {
            self.shape.clear();
            self.shape.extend_from_slice(shape);
        }
    }

    /// Changes the shape without touching the data.
    ///
    /// # Panics
    /// If the element count differs.
    pub fn reshape(&mut self, shape: &[usize]) {
        assert_eq!(
            shape.iter().product::<usize>(),
            self.len(),
            "reshape {:?} -> {shape:?}",
            self.shape
        );
        self.shape.clear();
        self.shape.extend_from_slice(shape);
    }

    /// The backend storage (for backends and tests).
    pub fn storage(&self) -> &B::Storage {
        &self.storage
    }

    /// The backend storage, mutably.
    pub fn storage_mut(&mut self) -> &mut B::Storage {
        &mut self.storage
    }
}
