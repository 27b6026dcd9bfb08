//! k-nearest-neighbour label agreement, the "discriminability" proxy for how locally separable
//! an example is (SCIENCE.md §P2.5 item 6, after Hacohen & Weinshall's PC-bias paper, Table 1).
//!
//! For example `x` with label `y(x)` and its `k` nearest neighbours `N_k(x)` among the other
//! examples (Euclidean distance, the example itself excluded):
//!
//! `agree(x) = |{z ∈ N_k(x) : y(z) = y(x)}| / k`, and discriminability `= (1/n) Σₓ agree(x)`.
//!
//! Neighbours are ordered by squared distance (the same order as distance) and, among equal
//! distances, by smaller index, so the result never depends on sort stability. Duplicated
//! points are neighbours at distance 0 like any other. Brute force, `O(n² d)` time and `O(n)`
//! memory per example.

use crate::error::{check_finite, check_same_len, Result, StatsError};

const WHAT: &str = "knn_label_agreement";

/// Per-example share of the `k` nearest neighbours with the same label, for `points`
/// (`n × dim`, row-major) and `labels` (`n`). Needs `dim ≥ 1` and `1 ≤ k ≤ n − 1`.
pub fn knn_label_agreement(
    points: &[f64],
    dim: usize,
    labels: &[usize],
    k: usize,
) -> Result<Vec<f64>> {
    if dim == 0 || points.len() % dim != 0 {
        return Err(StatsError::InvalidArgument {
            what: WHAT,
            field: "dim",
            value: dim as f64,
            rule: ">= 1 and dividing points.len()",
        });
    }
    let n = points.len() / dim;
    check_same_len(WHAT, n, labels.len())?;
    check_finite(WHAT, "points", points)?;
    if k == 0 || k >= n {
        return Err(StatsError::InvalidArgument {
            what: WHAT,
            field: "k",
            value: k as f64,
            rule: "1 <= k <= n - 1",
        });
    }
    let row = |i: usize| &points[i * dim..(i + 1) * dim];
    let mut dists: Vec<(f64, usize)> = Vec::with_capacity(n - 1);
    Ok((0..n)
        .map(|i| {
            dists.clear();
            dists.extend((0..n).filter(|&j| j != i).map(|j| {
                let d2: f64 = row(i)
                    .iter()
                    .zip(row(j))
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum();
                (d2, j)
            }));
            let by_distance_then_index =
                |a: &(f64, usize), b: &(f64, usize)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
            dists.select_nth_unstable_by(k - 1, by_distance_then_index);
            let same = dists[..k]
                .iter()
                .filter(|&&(_, j)| labels[j] == labels[i])
                .count();
            same as f64 / k as f64
        })
        .collect())
}

/// Discriminability: the mean of [`knn_label_agreement`] over examples.
pub fn knn_discriminability(points: &[f64], dim: usize, labels: &[usize], k: usize) -> Result<f64> {
    let agree = knn_label_agreement(points, dim, labels, k)?;
    Ok(agree.iter().sum::<f64>() / agree.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_clusters_on_a_line() {
        // Points 0, 1, 2 (label 0) and 10, 11, 12 (label 1), plus 5.9 with label 1 (closer to 2
        // than to 10: |5.9 − 2| = 3.9 < 4.1).
        let pts = [0.0, 1.0, 2.0, 10.0, 11.0, 12.0, 5.9];
        let labels = [0, 0, 0, 1, 1, 1, 1];
        let a = knn_label_agreement(&pts, 1, &labels, 2).unwrap();
        // 0: {1, 2} → 1; 1: {0, 2} → 1; 2: {1, 0} (distance 1, 2 < 3.9) → 1;
        // 10: {11, 12} → 1; 11: {10, 12} → 1; 12: {11, 10} → 1; 5.9: {2 (3.9), 10 (4.1)} → ½.
        assert_eq!(a, vec![1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5]);
        let d = knn_discriminability(&pts, 1, &labels, 2).unwrap();
        assert!((d - 6.5 / 7.0).abs() < 1e-15);
        // k = 3: 0 → {1, 2, 5.9} = 2/3; 2 → {1, 0, 5.9} = 2/3; 1 → {0, 2, 5.9} = 2/3.
        let a3 = knn_label_agreement(&pts, 1, &labels, 3).unwrap();
        assert!((a3[0] - 2.0 / 3.0).abs() < 1e-15 && (a3[1] - 2.0 / 3.0).abs() < 1e-15);
    }

    #[test]
    fn ties_are_broken_by_index() {
        // A centre at the origin (index 0) with four neighbours at distance 1 in 2-d; indices 1, 2
        // carry label 0 and 3, 4 label 1. With k = 2 the two lowest indices win: agreement 1.
        let pts = [0.0, 0.0, 1.0, 0.0, 0.0, 1.0, -1.0, 0.0, 0.0, -1.0];
        let labels = [0, 0, 0, 1, 1];
        assert_eq!(knn_label_agreement(&pts, 2, &labels, 2).unwrap()[0], 1.0);
        // Relabel so the low indices disagree: agreement 0.
        let labels = [0, 1, 1, 0, 0];
        assert_eq!(knn_label_agreement(&pts, 2, &labels, 2).unwrap()[0], 0.0);
        // Duplicates are at distance 0 and come first; 4.0 is equidistant from both 3.0s and
        // takes index 0 (same label).
        let dup = [3.0, 3.0, 4.0];
        let a = knn_label_agreement(&dup, 1, &[7, 8, 7], 1).unwrap();
        assert_eq!(a, vec![0.0, 0.0, 1.0]);
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        let pts = [0.0, 1.0, 2.0];
        assert!(matches!(
            knn_label_agreement(&pts, 1, &[0, 1, 0], 3),
            Err(StatsError::InvalidArgument { field: "k", .. })
        ));
        assert!(matches!(
            knn_label_agreement(&pts, 1, &[0, 1, 0], 0),
            Err(StatsError::InvalidArgument { field: "k", .. })
        ));
        assert!(matches!(
            knn_label_agreement(&pts, 2, &[0, 1, 0], 1),
            Err(StatsError::InvalidArgument { field: "dim", .. })
        ));
        assert!(matches!(
            knn_label_agreement(&pts, 1, &[0, 1], 1),
            Err(StatsError::LengthMismatch { .. })
        ));
        assert!(matches!(
            knn_label_agreement(&[0.0, f64::INFINITY, 1.0], 1, &[0, 1, 0], 1),
            Err(StatsError::NonFinite { index: 1, .. })
        ));
    }
}
