//! The one safe wrapper around `gemm::gemm`: `dst ← beta·dst + alpha·lhs·rhs`.
//!
//! `gemm::gemm` is an `unsafe fn` on raw pointers and strides. Here every operand is a slice with
//! its logical shape and strides, and the wrapper checks, before any pointer is formed, that the
//! inner dimensions agree, that every addressed element lies inside its slice, and that distinct
//! destination positions never alias. Strides are in elements and non-negative; a transpose is a
//! swap of the two strides ([`MatRef::t`]).

use crate::Element;

/// A read-only strided matrix view over a slice.
#[derive(Debug, Clone, Copy)]
pub struct MatRef<'a, T> {
    data: &'a [T],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

/// A writable strided matrix view over a slice.
#[derive(Debug)]
pub struct MatMut<'a, T> {
    data: &'a mut [T],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

/// Why a matrix product was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GemmError {
    /// A view addresses memory past the end of its slice.
    #[error("gemm: {operand} view {rows}x{cols} with strides ({row_stride}, {col_stride}) needs {needed} elements, slice has {len}")]
    OutOfBounds {
        /// `lhs`, `rhs` or `dst`.
        operand: &'static str,
        /// Rows of the view.
        rows: usize,
        /// Columns of the view.
        cols: usize,
        /// Row stride.
        row_stride: usize,
        /// Column stride.
        col_stride: usize,
        /// Elements the view addresses.
        needed: usize,
        /// Elements the slice has.
        len: usize,
    },
    /// Operand shapes that cannot be multiplied into the destination.
    #[error("gemm: cannot multiply {lhs_rows}x{lhs_cols} by {rhs_rows}x{rhs_cols} into {dst_rows}x{dst_cols}")]
    DimensionMismatch {
        /// lhs rows.
        lhs_rows: usize,
        /// lhs columns.
        lhs_cols: usize,
        /// rhs rows.
        rhs_rows: usize,
        /// rhs columns.
        rhs_cols: usize,
        /// dst rows.
        dst_rows: usize,
        /// dst columns.
        dst_cols: usize,
    },
    /// Destination strides that map two positions to one element.
    #[error("gemm: destination strides ({row_stride}, {col_stride}) alias elements of a {rows}x{cols} view")]
    AliasedDestination {
        /// Rows.
        rows: usize,
        /// Columns.
        cols: usize,
        /// Row stride.
        row_stride: usize,
        /// Column stride.
        col_stride: usize,
    },
}

/// Elements a view addresses, or `None` when that count overflows (such a view is refused).
fn extent(rows: usize, cols: usize, rs: usize, cs: usize) -> Option<usize> {
    if rows == 0 || cols == 0 {
        return Some(0);
    }
    (rows - 1)
        .checked_mul(rs)?
        .checked_add((cols - 1).checked_mul(cs)?)?
        .checked_add(1)
}

/// Fails unless a `rows × cols` view with these strides fits in `len` elements.
fn check_extent(
    operand: &'static str,
    len: usize,
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
) -> Result<(), GemmError> {
    let needed = extent(rows, cols, row_stride, col_stride).unwrap_or(usize::MAX);
    // Strides are handed to `gemm` as isize, so they must fit even where a dimension of 1
    // leaves them unused.
    let strides_fit = row_stride <= isize::MAX as usize && col_stride <= isize::MAX as usize;
    if needed > len || !strides_fit {
        return Err(GemmError::OutOfBounds {
            operand,
            rows,
            cols,
            row_stride,
            col_stride,
            needed,
            len,
        });
    }
    Ok(())
}

impl<'a, T> MatRef<'a, T> {
    /// A strided view; fails if it reaches past the slice.
    pub fn new(
        data: &'a [T],
        rows: usize,
        cols: usize,
        row_stride: usize,
        col_stride: usize,
    ) -> Result<Self, GemmError> {
        check_extent("lhs/rhs", data.len(), rows, cols, row_stride, col_stride)?;
        Ok(MatRef {
            data,
            rows,
            cols,
            row_stride,
            col_stride,
        })
    }

    /// A dense row-major view of `rows × cols`.
    pub fn row_major(data: &'a [T], rows: usize, cols: usize) -> Result<Self, GemmError> {
        Self::new(data, rows, cols, cols, 1)
    }

    /// The transpose (a stride swap; no data moves).
    pub fn t(self) -> Self {
        MatRef {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// Rows of the view.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Columns of the view.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Element (i, j) (for reference implementations and tests).
    pub fn at(&self, i: usize, j: usize) -> &T {
        &self.data[i * self.row_stride + j * self.col_stride]
    }
}

impl<'a, T> MatMut<'a, T> {
    /// A writable strided view; fails if it reaches past the slice or aliases itself.
    pub fn new(
        data: &'a mut [T],
        rows: usize,
        cols: usize,
        row_stride: usize,
        col_stride: usize,
    ) -> Result<Self, GemmError> {
        check_extent("dst", data.len(), rows, cols, row_stride, col_stride)?;
        // Positions (i, j) ≠ (i', j') never share an element when one stride steps over the
        // whole extent of the other dimension.
        let no_alias = rows <= 1 && (cols <= 1 || col_stride >= 1)
            || cols <= 1 && row_stride >= 1
            || row_stride >= cols.saturating_mul(col_stride) && col_stride >= 1
            || col_stride >= rows.saturating_mul(row_stride) && row_stride >= 1;
        if !no_alias {
            return Err(GemmError::AliasedDestination {
                rows,
                cols,
                row_stride,
                col_stride,
            });
        }
        Ok(MatMut {
            data,
            rows,
            cols,
            row_stride,
            col_stride,
        })
    }

    /// A dense row-major writable view of `rows × cols`.
    pub fn row_major(data: &'a mut [T], rows: usize, cols: usize) -> Result<Self, GemmError> {
        Self::new(data, rows, cols, cols, 1)
    }
}

/// How many threads a product may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parallelism {
    /// The calling thread only.
    Sequential,
    /// Up to n threads of the current rayon pool.
    Threads(usize),
}

/// `dst ← beta·dst + alpha·lhs·rhs`. With `beta = 0` the destination is never read, so it may
/// hold garbage (even NaN) on entry.
pub fn gemm<T: Element>(
    dst: MatMut<'_, T>,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
    alpha: T,
    beta: T,
    parallelism: Parallelism,
) -> Result<(), GemmError> {
    let (m, n, k) = (dst.rows, dst.cols, lhs.cols);
    if lhs.rows != m || rhs.cols != n || rhs.rows != k {
        return Err(GemmError::DimensionMismatch {
            lhs_rows: lhs.rows,
            lhs_cols: lhs.cols,
            rhs_rows: rhs.rows,
            rhs_cols: rhs.cols,
            dst_rows: m,
            dst_cols: n,
        });
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 {
        // An empty sum: dst ← beta·dst.
        for i in 0..m {
            for j in 0..n {
                let d = &mut dst.data[i * dst.row_stride + j * dst.col_stride];
                *d = if beta == T::zero() {
                    T::zero()
                } else {
                    beta * *d
                };
            }
        }
        return Ok(());
    }
    let par = match parallelism {
        Parallelism::Threads(t) if t > 1 => gemm::Parallelism::Rayon(t),
        _ => gemm::Parallelism::None,
    };
    let read_dst = beta != T::zero();
    // SAFETY: the constructors checked that every (i, j) of each view lies inside its slice
    // (extent ≤ len) and that dst positions are distinct; dims agree (checked above); `dst` is
    // borrowed mutably and `lhs`/`rhs` immutably, so they cannot overlap. Strides fit in isize
    // because they address elements inside a slice.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.data.as_mut_ptr(),
            dst.col_stride as isize,
            dst.row_stride as isize,
            read_dst,
            lhs.data.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            beta,
            alpha,
            false,
            false,
            false,
            par,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_out_of_bounds_and_mismatched_views() {
        let a = vec![0.0f64; 6];
        assert!(matches!(
            MatRef::row_major(&a, 3, 3),
            Err(GemmError::OutOfBounds {
                needed: 9,
                len: 6,
                ..
            })
        ));
        let mut d = vec![0.0f64; 4];
        let l = MatRef::row_major(&a, 2, 3).unwrap();
        let r = MatRef::row_major(&a, 2, 3).unwrap();
        let dm = MatMut::row_major(&mut d, 2, 2).unwrap();
        assert!(matches!(
            gemm(dm, l, r, 1.0, 0.0, Parallelism::Sequential),
            Err(GemmError::DimensionMismatch { .. })
        ));
        let mut d = vec![0.0f64; 4];
        assert!(matches!(
            MatMut::new(&mut d, 2, 2, 1, 1),
            Err(GemmError::AliasedDestination { .. })
        ));
        // Extents that overflow usize, and strides that do not fit isize, are refused.
        let mut one = vec![0.0f64; 1];
        assert!(matches!(
            MatMut::new(&mut one, 2, 1, usize::MAX, 0),
            Err(GemmError::OutOfBounds { .. })
        ));
        assert!(matches!(
            MatRef::new(&a, 1, 2, usize::MAX, 1),
            Err(GemmError::OutOfBounds { .. })
        ));
        assert!(matches!(
            MatRef::new(&a, 3, 2, usize::MAX / 2, usize::MAX / 2),
            Err(GemmError::OutOfBounds { .. })
        ));
    }
}
