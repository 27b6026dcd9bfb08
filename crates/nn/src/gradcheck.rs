//! Central-difference gradient checks in f64, shared by the layer, loss and model tests.
//!
//! For a scalar L(θ) and analytic gradient g, each checked entry uses
//! h = `rel_step`·max(1, |θᵢ|) and fdᵢ = (L(θ + h eᵢ) − L(θ − h eᵢ)) / 2h. The error of fd is
//! truncation O(h²·|L‴|) plus rounding O(ε·|L|/h): with h = 1e-6 and ε = 2.2e-16 both are
//! about 1e-10 for O(1) losses. An entry passes when
//! |fdᵢ − gᵢ| ≤ `rel_tol`·max(|fdᵢ|, |gᵢ|) + `abs_floor`·max(1, |L|), the floor (default 1e-9,
//! ten times the rounding error) covering entries whose gradient is 0.

/// Settings of a gradient check.
#[derive(Debug, Clone, Copy)]
pub struct GradCheck {
    /// h relative to max(1, |θ|).
    pub rel_step: f64,
    /// Relative tolerance.
    pub rel_tol: f64,
    /// Absolute floor, relative to max(1, |L|).
    pub abs_floor: f64,
    /// At most this many entries per tensor (spread evenly), to bound the cost.
    pub max_entries: usize,
}

impl Default for GradCheck {
    fn default() -> Self {
        GradCheck {
            rel_step: 1e-6,
            rel_tol: 1e-6,
            abs_floor: 1e-9,
            max_entries: 64,
        }
    }
}

/// The worst entry found.
#[derive(Debug, Clone, PartialEq)]
pub struct GradCheckFailure {
    /// Which tensor (index into the list checked).
    pub tensor: usize,
    /// Which entry.
    pub index: usize,
    /// Finite-difference estimate.
    pub numeric: f64,
    /// Analytic value.
    pub analytic: f64,
    /// The tolerance it had to meet.
    pub tolerance: f64,
}

impl GradCheck {
    /// Checks `analytic` (one vector per tensor) against central differences of `loss`, which
    /// evaluates L at the given values of all tensors. Returns the largest relative excess over
    /// tolerance, or the first failing entry.
    pub fn run(
        &self,
        values: &[Vec<f64>],
        analytic: &[Vec<f64>],
        mut loss: impl FnMut(&[Vec<f64>]) -> f64,
    ) -> Result<usize, GradCheckFailure> {
        let l0 = loss(values).abs();
        let mut work = values.to_vec();
        let mut checked = 0;
        for (t, vals) in values.iter().enumerate() {
            let n = vals.len();
            let stride = n.div_ceil(self.max_entries.max(1)).max(1);
            for i in (0..n).step_by(stride) {
                let h = self.rel_step * vals[i].abs().max(1.0);
                work[t][i] = vals[i] + h;
                let lp = loss(&work);
                work[t][i] = vals[i] - h;
                let lm = loss(&work);
                work[t][i] = vals[i];
                let numeric = (lp - lm) / (2.0 * h);
                let a = analytic[t][i];
                let tolerance =
                    self.rel_tol * numeric.abs().max(a.abs()) + self.abs_floor * l0.max(1.0);
                // NaN fails too: the comparison is false.
                let within = (numeric - a).abs() <= tolerance;
                if !within {
                    return Err(GradCheckFailure {
                        tensor: t,
                        index: i,
                        numeric,
                        analytic: a,
                        tolerance,
                    });
                }
                checked += 1;
            }
        }
        Ok(checked)
    }
}
