//! The transfer tasks of the `linear_probe` probe: labels computed from the input alone, so any
//! image data set has one (SCIENCE.md §P4.3 item 3).
//!
//! - **Colour dominance** (the paper's code, `trainTask = 0`): for a `[3, H, W]` image `x` (the
//!   inputs as the network sees them, i.e. after the data set's normalisation),
//!   `label(x) = argmax_c Σ_{h,w} x_{c,h,w}` over the channels c ∈ {R, G, B} (3 classes; the first
//!   maximum on ties, as `torch.argmax`).
//! - **Brightness quantile** (for grey-scale or non-image inputs, which have no colour): with
//!   `m(x) = (1/q) Σ_i x_i` the mean input value and `bins` = B, the edges are taken from the fit
//!   set's sorted means `s_0 ≤ … ≤ s_{n−1}`: `e_k = (s_{j_k − 1} + s_{j_k}) / 2`,
//!   `j_k = ⌊k n / B⌋`, k = 1 … B−1, and `label(x) = #{k : m(x) > e_k}`. With distinct means the
//!   fit set's bin k holds exactly the examples of rank `j_k … j_{k+1} − 1`, so the bin sizes are
//!   `⌊n/B⌋` or `⌈n/B⌉` (equal-count bins); tied means at an edge fall into the lower bin.
//!   Evaluation examples use the fit set's edges, so their bins are only approximately balanced.

/// Which transfer task (config `transfer`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferTask {
    /// `colour_dominance` for `[3, H, W]` inputs, `brightness_quantile` otherwise.
    #[default]
    Auto,
    /// The channel with the largest sum (3 classes; needs `[3, H, W]` inputs).
    ColourDominance,
    /// The equal-count bin of the mean input value (`bins` classes).
    BrightnessQuantile,
}

impl TransferTask {
    /// The task `auto` stands for with per-example input shape `input_shape`; other tasks are
    /// returned unchanged.
    pub fn resolve(self, input_shape: &[usize]) -> TransferTask {
        match self {
            TransferTask::Auto if is_rgb(input_shape) => TransferTask::ColourDominance,
            TransferTask::Auto => TransferTask::BrightnessQuantile,
            other => other,
        }
    }

    /// The config name.
    pub fn name(self) -> &'static str {
        match self {
            TransferTask::Auto => "auto",
            TransferTask::ColourDominance => "colour_dominance",
            TransferTask::BrightnessQuantile => "brightness_quantile",
        }
    }
}

/// Whether `input_shape` is a channels-first RGB image `[3, H, W]`.
pub fn is_rgb(input_shape: &[usize]) -> bool {
    input_shape.len() == 3 && input_shape[0] == 3
}

/// The colour-dominance label of every `[3, H, W]` image of the row-major `x` (`input_shape`
/// per example): the channel with the largest sum, the first on ties.
pub fn colour_dominance(x: &[f64], input_shape: &[usize]) -> Result<Vec<u32>, String> {
    if !is_rgb(input_shape) {
        return Err(format!(
            "colour dominance needs [3, H, W] (channels-first RGB) inputs, got {input_shape:?}"
        ));
    }
    let q: usize = input_shape.iter().product();
    if q == 0 || x.len() % q != 0 {
        return Err(format!("{} input values for images of {q}", x.len()));
    }
    let plane = q / 3;
    Ok(x.chunks_exact(q)
        .map(|img| {
            let sums: Vec<f64> = img.chunks_exact(plane).map(|c| c.iter().sum()).collect();
            let mut best = 0;
            for c in 1..3 {
                if sums[c] > sums[best] {
                    best = c;
                }
            }
            best as u32
        })
        .collect())
}

/// Equal-count bins of the mean input value, with edges fitted on a set of examples.
#[derive(Debug, Clone, PartialEq)]
pub struct BrightnessBins {
    /// `e_1 … e_{B−1}`, non-decreasing.
    edges: Vec<f64>,
}

/// The mean value of every `q`-wide row of `x`.
pub fn row_means(x: &[f64], q: usize) -> Vec<f64> {
    x.chunks_exact(q)
        .map(|r| r.iter().sum::<f64>() / q as f64)
        .collect()
}

impl BrightnessBins {
    /// Edges for `bins` equal-count bins of the row means of the fit inputs `x` (`q` values per
    /// example); needs `2 ≤ bins ≤` the number of examples.
    pub fn fit(x: &[f64], q: usize, bins: usize) -> Result<BrightnessBins, String> {
        if q == 0 || x.len() % q != 0 {
            return Err(format!("{} input values for examples of {q}", x.len()));
        }
        let n = x.len() / q;
        if bins < 2 || bins > n {
            return Err(format!(
                "brightness quantile bins must be in 2..={n} (the fit examples), got {bins}"
            ));
        }
        let mut s = row_means(x, q);
        if s.iter().any(|v| !v.is_finite()) {
            return Err("brightness quantile: non-finite input values".into());
        }
        s.sort_by(f64::total_cmp);
        let edges = (1..bins)
            .map(|k| {
                let j = k * n / bins;
                0.5 * (s[j - 1] + s[j])
            })
            .collect();
        Ok(BrightnessBins { edges })
    }

    /// The number of bins B.
    pub fn bins(&self) -> usize {
        self.edges.len() + 1
    }

    /// The edges `e_1 … e_{B−1}`.
    pub fn edges(&self) -> &[f64] {
        &self.edges
    }

    /// The bin of every `q`-wide row of `x`: the number of edges its mean exceeds.
    pub fn labels(&self, x: &[f64], q: usize) -> Vec<u32> {
        row_means(x, q)
            .into_iter()
            .map(|m| self.edges.iter().filter(|&&e| m > e).count() as u32)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_picks_colour_for_rgb_only() {
        let auto = TransferTask::Auto;
        assert_eq!(auto.resolve(&[3, 32, 32]), TransferTask::ColourDominance);
        assert_eq!(auto.resolve(&[1, 28, 28]), TransferTask::BrightnessQuantile);
        assert_eq!(auto.resolve(&[28, 28]), TransferTask::BrightnessQuantile);
        assert_eq!(auto.resolve(&[3]), TransferTask::BrightnessQuantile);
        assert_eq!(
            TransferTask::BrightnessQuantile.resolve(&[3, 4, 4]),
            TransferTask::BrightnessQuantile
        );
    }

    #[test]
    fn colour_needs_three_channels() {
        assert!(colour_dominance(&[0.0; 8], &[2, 2, 2]).is_err());
        assert!(colour_dominance(&[0.0; 7], &[3, 1, 2]).is_err());
    }

    #[test]
    fn brightness_edges_are_midpoints_between_ranks() {
        // Means 0..6 (one value per example), 3 bins: j = 2, 4 → edges 1.5, 3.5.
        let x: Vec<f64> = [5.0, 0.0, 3.0, 1.0, 4.0, 2.0].to_vec();
        let b = BrightnessBins::fit(&x, 1, 3).unwrap();
        assert_eq!(b.edges(), &[1.5, 3.5]);
        assert_eq!(b.labels(&x, 1), vec![2, 0, 1, 0, 2, 1]);
        assert!(BrightnessBins::fit(&x, 1, 1).is_err());
        assert!(BrightnessBins::fit(&x, 1, 7).is_err());
    }
}
