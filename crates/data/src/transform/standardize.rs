//! Standardisation from training statistics: x' = (x − μ_g) / σ_g for every input entry of
//! statistics group g, where μ_g and σ_g² = mean((x − μ_g)²) (population variance) are computed
//! over the TRAINING split only and applied to both splits, so the training split has mean 0 and
//! standard deviation 1 in every group (up to f64 rounding) and no test information leaks.
//!
//! Groups (`mode`): `per_channel` (inputs [C, …] of rank ≥ 3, e.g. images [C, H, W]: one group
//! per index of dimension 0); `per_feature` (one group per input entry); `global` (one group).
//! A group whose σ is below `min_std` (a constant pixel, say) is only centred.

use serde::{Deserialize, Serialize};

use super::error::TransformFailure;
use super::host::HostData;
use crate::dataset::Split;

/// Which entries share a mean and a standard deviation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StandardizeMode {
    /// One group per channel (dimension 0) of inputs of rank ≥ 3 ([C, H, W]).
    PerChannel,
    /// One group per input entry.
    PerFeature,
    /// One group for all entries.
    Global,
}

fn default_min_std() -> f64 {
    1e-12
}

/// Standardisation. TOML: `kind = "standardize"`, `mode` (required: `"per_channel"` |
/// `"per_feature"` | `"global"`), `min_std` (1e-12).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Standardize {
    /// The statistics groups.
    pub mode: StandardizeMode,
    /// Groups with σ < min_std are centred but not scaled.
    #[serde(default = "default_min_std")]
    pub min_std: f64,
}

/// The statistics applied.
#[derive(Debug, Clone, PartialEq)]
pub struct StandardizeFit {
    /// The grouping.
    pub mode: StandardizeMode,
    /// Training mean of each group.
    pub mean: Vec<f64>,
    /// Training standard deviation of each group (before the `min_std` rule).
    pub std: Vec<f64>,
    /// Group of each input entry.
    pub group_of: Vec<usize>,
}

impl Standardize {
    /// Fits on the training split and transforms both splits.
    pub fn apply(
        &self,
        mut data: HostData,
    ) -> Result<(HostData, StandardizeFit), TransformFailure> {
        if !(self.min_std.is_finite() && self.min_std >= 0.0) {
            return Err(TransformFailure::field(
                "min_std",
                self.min_std,
                "finite and >= 0",
            ));
        }
        let shape = &data.spec.input_shape;
        let d = data.spec.input_size();
        let group_of: Vec<usize> = match self.mode {
            StandardizeMode::PerChannel => {
                if shape.len() < 3 {
                    return Err(TransformFailure::Unsupported {
                        needs: "inputs of rank >= 3 ([C, H, W]) for per_channel (use `global` for \
                                one channel or `per_feature`)",
                        found: format!("input shape {shape:?}"),
                    });
                }
                let per = d / shape[0].max(1);
                (0..d).map(|a| a / per).collect()
            }
            StandardizeMode::PerFeature => (0..d).collect(),
            StandardizeMode::Global => vec![0; d],
        };
        let groups = group_of.iter().max().map_or(0, |g| g + 1);
        let n = data.spec.train_len;
        if n == 0 {
            return Err(TransformFailure::Unsupported {
                needs: "training examples to take statistics from",
                found: "an empty training split".into(),
            });
        }
        let train = data.x_f64_mut(Split::Train);
        let mut count = vec![0usize; groups];
        let mut sum = vec![0.0; groups];
        for row in train.chunks(d) {
            for (v, &g) in row.iter().zip(&group_of) {
                sum[g] += v;
                count[g] += 1;
            }
        }
        let mean: Vec<f64> = sum.iter().zip(&count).map(|(s, &c)| s / c as f64).collect();
        let mut ss = vec![0.0; groups];
        for row in train.chunks(d) {
            for (v, &g) in row.iter().zip(&group_of) {
                ss[g] += (v - mean[g]).powi(2);
            }
        }
        let std: Vec<f64> = ss
            .iter()
            .zip(&count)
            .map(|(s, &c)| (s / c as f64).sqrt())
            .collect();
        let scale: Vec<f64> = std
            .iter()
            .map(|&s| if s < self.min_std || s == 0.0 { 1.0 } else { s })
            .collect();
        for split in [Split::Train, Split::Test] {
            for row in data.x_f64_mut(split).chunks_mut(d) {
                for (v, &g) in row.iter_mut().zip(&group_of) {
                    *v = (*v - mean[g]) / scale[g];
                }
            }
        }
        Ok((
            data,
            StandardizeFit {
                mode: self.mode,
                mean,
                std,
                group_of,
            },
        ))
    }
}
