//! Geometry of sliding-window operations (convolution, pooling) on NCHW tensors.
//!
//! Layout: activations are `[N, C, H, W]` (batch, channels, height, width), row-major, as in
//! PyTorch; convolution weights are `[O, C, k_h, k_w]`. A window of size k, stride s and zero
//! padding p over an axis of length L has L_out = ⌊(L + 2p − k) / s⌋ + 1 positions; output
//! position o reads inputs o·s − p + j for j = 0…k−1 (positions outside [0, L) are padding).
//!
//! im2col lays out, for each output position, the window it reads: for a batch of n examples,
//! `cols[(c·k_h + i)·k_w + j, e·P + oh·OW + ow] = x[e, c, oh·s_h − p_h + i, ow·s_w − p_w + j]`
//! (0 in the padding), with P = OH·OW. A convolution is then the product
//! `Y_e = W · cols_e` with W read as `[O, C·k_h·k_w]`, and col2im is its adjoint (a scatter-add).

use crate::NnError;

/// Kernel size, stride and zero padding of a 2-D sliding window, each as (height, width).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window2d {
    /// Window size (k_h, k_w).
    pub kernel: [usize; 2],
    /// Step between windows (s_h, s_w).
    pub stride: [usize; 2],
    /// Zero padding added on both sides (p_h, p_w).
    pub padding: [usize; 2],
}

impl Window2d {
    /// A square window: kernel k, stride s and padding p on both axes.
    pub fn square(kernel: usize, stride: usize, padding: usize) -> Self {
        Window2d {
            kernel: [kernel, kernel],
            stride: [stride, stride],
            padding: [padding, padding],
        }
    }

    /// Output height and width for an input of `h × w`, or `None` when the (padded) input is
    /// smaller than the window or a kernel or stride is 0.
    pub fn output_hw(&self, h: usize, w: usize) -> Option<(usize, usize)> {
        let axis = |len: usize, a: usize| {
            let (k, s, p) = (self.kernel[a], self.stride[a], self.padding[a]);
            if k == 0 || s == 0 || len + 2 * p < k {
                None
            } else {
                Some((len + 2 * p - k) / s + 1)
            }
        };
        Some((axis(h, 0)?, axis(w, 1)?))
    }

    /// Checks the window against an input plane and returns the output plane, naming `what`
    /// (e.g. `blocks.0.conv`) in the error.
    pub fn check(&self, what: &str, h: usize, w: usize) -> Result<(usize, usize), NnError> {
        self.output_hw(h, w).ok_or_else(|| {
            NnError::setting(
                format!("window of `{what}`"),
                format!(
                    "kernel {:?} stride {:?} padding {:?} on a {h}x{w} input",
                    self.kernel, self.stride, self.padding
                ),
                "kernel and stride > 0 and the padded input at least as large as the kernel",
            )
        })
    }

    /// Whether this is a 1×1 window with stride 1 and no padding (im2col is the identity).
    pub fn is_pointwise(&self) -> bool {
        self.kernel == [1, 1] && self.stride == [1, 1] && self.padding == [0, 0]
    }

    /// Rows of an im2col matrix for `channels` input channels: C·k_h·k_w.
    pub fn col_rows(&self, channels: usize) -> usize {
        channels * self.kernel[0] * self.kernel[1]
    }
}

/// The range of output positions o in `0..out` whose input o·s + j − p lies inside `0..len`, for
/// kernel offset j: the positions where im2col copies data rather than padding.
#[inline]
pub(crate) fn valid_range(
    out: usize,
    len: usize,
    stride: usize,
    offset: usize,
    pad: usize,
) -> (usize, usize) {
    // o·s + offset ≥ pad  ⇔  o ≥ ⌈(pad − offset) / s⌉ when pad > offset.
    let lo = if pad > offset {
        (pad - offset).div_ceil(stride)
    } else {
        0
    };
    // o·s + offset − pad ≤ len − 1  ⇔  o ≤ ⌊(len − 1 + pad − offset) / s⌋.
    let hi = if len + pad > offset {
        ((len - 1 + pad - offset) / stride + 1).min(out)
    } else {
        0
    };
    (lo.min(hi), hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_sizes_follow_the_pytorch_formula() {
        let w = Window2d::square(3, 2, 1);
        assert_eq!(w.output_hw(32, 32), Some((16, 16)));
        assert_eq!(w.output_hw(2, 2), Some((1, 1)));
        assert_eq!(w.output_hw(7, 7), Some((4, 4)));
        assert_eq!(Window2d::square(2, 2, 0).output_hw(7, 5), Some((3, 2)));
        assert_eq!(Window2d::square(3, 1, 0).output_hw(2, 5), None);
        assert_eq!(Window2d::square(3, 0, 0).output_hw(5, 5), None);
    }

    #[test]
    fn valid_ranges_match_a_scan() {
        for len in 1..7 {
            for k in 1..4 {
                for s in 1..4 {
                    for p in 0..3 {
                        if len + 2 * p < k {
                            continue;
                        }
                        let out = (len + 2 * p - k) / s + 1;
                        for j in 0..k {
                            let inside: Vec<usize> = (0..out)
                                .filter(|&o| {
                                    let i = (o * s + j) as isize - p as isize;
                                    i >= 0 && (i as usize) < len
                                })
                                .collect();
                            let (lo, hi) = valid_range(out, len, s, j, p);
                            assert_eq!(
                                inside,
                                (lo..hi).collect::<Vec<_>>(),
                                "{len} {k} {s} {p} {j}"
                            );
                        }
                    }
                }
            }
        }
    }
}
