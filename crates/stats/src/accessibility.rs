//! Example difficulty shared by ensembles (G. Hacohen, L. Choshen & D. Weinshall, "Let's agree
//! to agree: neural networks share classification order on real datasets", ICML 2020;
//! SCIENCE.md §P2.5 items 4–5).
//!
//! - **Accessibility** of example `x`: `acc(x) = (1/(N·E)) Σᵢ Σₑ 1[fᵢᵉ(x) = y(x)]`, the share of
//!   (network `i = 1..N`, epoch `e = 1..E`) checkpoints of an ensemble that classify it
//!   correctly; high accessibility = learned early and by most networks.
//! - **LOC** (level of agreement on classification order): Pearson's `r` between the
//!   accessibility vectors of two independently trained ensembles, with the Fisher-z interval
//!   and t-test p-value of [`crate::pearson`].
//! - **LOC of the fastest examples** ([`loc_fastest`]): the same, restricted to the examples
//!   learned fastest, ranked by the mean accessibility over both ensembles,
//!   `m(x) = (a(x) + b(x))/2` (symmetric in the two ensembles, so neither defines the subset
//!   alone). The subset is the `k = ⌈fraction · n⌉` examples of highest `m`, **plus every example
//!   tied with the `k`-th**, so it never depends on example order (accessibility takes only
//!   `N·E + 1` values, so ties are common); the subset size is the returned `n`. See
//!   [`fastest_examples`].
//! - **Critical principal component** of an example ([`critical_pc`]): on a grid of `P`
//!   values (number of leading PCs the example is projected onto, increasing), the first grid
//!   index `g` such that the example is classified correctly at every grid index `g′ ≥ g`;
//!   `None` when it is wrong at the largest `P`. "Correct from `P` on" rather than "first
//!   correct" makes a lucky guess at a small `P` not count.

use crate::correlation::{pearson, Correlation};
use crate::error::{check_finite, check_len, check_same_len, Result, StatsError};

fn product(what: &'static str, dims: &[(&'static str, usize)]) -> Result<usize> {
    let mut total = 1usize;
    for &(field, d) in dims {
        if d == 0 {
            return Err(StatsError::InvalidArgument {
                what,
                field,
                value: 0.0,
                rule: ">= 1",
            });
        }
        total = total.checked_mul(d).ok_or(StatsError::InvalidArgument {
            what,
            field,
            value: d as f64,
            rule: "product of the dimensions fits in usize",
        })?;
    }
    Ok(total)
}

/// Per-example accessibility from `correct[(i·epochs + e)·examples + x]` (row-major over
/// network `i`, epoch `e`, example `x`): the mean over networks and epochs, each in `[0, 1]`.
pub fn accessibility(
    correct: &[bool],
    networks: usize,
    epochs: usize,
    examples: usize,
) -> Result<Vec<f64>> {
    const WHAT: &str = "accessibility";
    let total = product(
        WHAT,
        &[
            ("networks", networks),
            ("epochs", epochs),
            ("examples", examples),
        ],
    )?;
    check_same_len(WHAT, correct.len(), total)?;
    let mut counts = vec![0u64; examples];
    for row in correct.chunks_exact(examples) {
        for (c, &ok) in counts.iter_mut().zip(row) {
            *c += u64::from(ok);
        }
    }
    let checkpoints = (networks * epochs) as f64;
    Ok(counts.into_iter().map(|c| c as f64 / checkpoints).collect())
}

/// LOC: Pearson's correlation of two ensembles' accessibility vectors over the same examples
/// (at least 3, finite, each with some spread).
pub fn loc(a: &[f64], b: &[f64]) -> Result<Correlation> {
    pearson(a, b)
}

/// Indices (increasing) of the examples with the highest mean accessibility `(a + b)/2`: the
/// top `⌈fraction · n⌉`, plus all examples tied with the last of them. `0 < fraction ≤ 1`.
pub fn fastest_examples(a: &[f64], b: &[f64], fraction: f64) -> Result<Vec<usize>> {
    const WHAT: &str = "fastest_examples";
    check_same_len(WHAT, a.len(), b.len())?;
    check_len(WHAT, 1, a.len())?;
    check_finite(WHAT, "a", a)?;
    check_finite(WHAT, "b", b)?;
    if !(fraction > 0.0 && fraction <= 1.0) {
        return Err(StatsError::InvalidArgument {
            what: WHAT,
            field: "fraction",
            value: fraction,
            rule: "0 < fraction <= 1",
        });
    }
    let n = a.len();
    let m: Vec<f64> = a.iter().zip(b).map(|(u, v)| 0.5 * (u + v)).collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| m[j].total_cmp(&m[i]));
    // ⌈fraction · n⌉, guarded against 0.2 · 10 = 2.0000000000000004 rounding up to 3.
    let k = ((fraction * n as f64 - 1e-9).ceil() as usize).clamp(1, n);
    let threshold = m[order[k - 1]];
    let mut chosen: Vec<usize> = (0..n).filter(|&i| m[i] >= threshold).collect();
    chosen.sort_unstable();
    Ok(chosen)
}

/// LOC restricted to the fastest-learned examples ([`fastest_examples`]); the returned `n` is
/// the subset size. Errors like [`loc`] when the subset has fewer than 3 examples or no spread
/// in either ensemble (e.g. every selected example has accessibility 1 in both).
pub fn loc_fastest(a: &[f64], b: &[f64], fraction: f64) -> Result<Correlation> {
    let idx = fastest_examples(a, b, fraction)?;
    let sa: Vec<f64> = idx.iter().map(|&i| a[i]).collect();
    let sb: Vec<f64> = idx.iter().map(|&i| b[i]).collect();
    pearson(&sa, &sb)
}

/// Critical PC per example from `correct_by_p[g·examples + x]` (row-major over grid index `g`
/// of increasing `P`, example `x`): the smallest `g` with the example correct at every
/// `g′ ≥ g`, or `None` when it is wrong at the last grid point.
pub fn critical_pc(
    correct_by_p: &[bool],
    grid_len: usize,
    examples: usize,
) -> Result<Vec<Option<usize>>> {
    const WHAT: &str = "critical_pc";
    let total = product(WHAT, &[("grid_len", grid_len), ("examples", examples)])?;
    check_same_len(WHAT, correct_by_p.len(), total)?;
    Ok((0..examples)
        .map(|x| {
            let mut first = None;
            for g in (0..grid_len).rev() {
                if !correct_by_p[g * examples + x] {
                    break;
                }
                first = Some(g);
            }
            first
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accessibility_is_the_mean_over_networks_and_epochs() {
        // 2 networks × 2 epochs × 3 examples.
        #[rustfmt::skip]
        let correct = [
            true, false, false,  // net 0, epoch 0
            true, true,  false,  // net 0, epoch 1
            true, false, false,  // net 1, epoch 0
            true, true,  true,   // net 1, epoch 1
        ];
        let acc = accessibility(&correct, 2, 2, 3).unwrap();
        assert_eq!(acc, vec![1.0, 0.5, 0.25]);
        // The layout matters: reading it as 1 network × 4 epochs gives the same means, but a
        // wrong example count is rejected.
        assert_eq!(accessibility(&correct, 1, 4, 3).unwrap(), acc);
        assert!(matches!(
            accessibility(&correct, 2, 2, 4),
            Err(StatsError::LengthMismatch { .. })
        ));
        assert!(matches!(
            accessibility(&[], 0, 2, 3),
            Err(StatsError::InvalidArgument {
                field: "networks",
                ..
            })
        ));
        assert!(matches!(
            accessibility(&correct, usize::MAX, 2, 3),
            Err(StatsError::InvalidArgument { .. })
        ));
    }

    #[test]
    fn loc_is_pearson_of_the_accessibility_vectors() {
        let a = [1.0, 0.75, 0.5, 0.25, 0.0];
        let b = [1.0, 0.5, 0.75, 0.25, 0.0];
        // dx = .5 .25 0 −.25 −.5, dy = .5 0 .25 −.25 −.5; Sxy = .25 + 0 + 0 + .0625 + .25 = .5625;
        // Sxx = Syy = .625; r = 0.9.
        let c = loc(&a, &b).unwrap();
        assert!((c.estimate - 0.9).abs() < 1e-15);
        assert_eq!(c, pearson(&a, &b).unwrap());
        assert!(c.ci95.is_some());
        assert!(matches!(
            loc(&[1.0, 1.0, 1.0], &[0.0, 0.5, 1.0]),
            Err(StatsError::ZeroVariance { field: "x", .. })
        ));
    }

    #[test]
    fn fastest_examples_rank_by_the_mean_and_keep_ties() {
        // Means: 0.9, 0.1, 0.7, 0.7, 0.3, 0.5.
        let a = [1.0, 0.0, 0.8, 0.6, 0.2, 0.5];
        let b = [0.8, 0.2, 0.6, 0.8, 0.4, 0.5];
        // Top ⌈0.5·6⌉ = 3 → 0.9 (0), 0.7 (2), 0.7 (3).
        assert_eq!(fastest_examples(&a, &b, 0.5).unwrap(), vec![0, 2, 3]);
        // Top ⌈(1/3)·6⌉ = 2 → the second is tied with example 3, which is kept.
        assert_eq!(fastest_examples(&a, &b, 1.0 / 3.0).unwrap(), vec![0, 2, 3]);
        // 0.7·10 = 7.000000000000001 in floating point, but ⌈0.7·10⌉ = 7.
        let ten: Vec<f64> = (0..10).map(|i| f64::from(i) / 10.0).collect();
        assert_eq!(
            fastest_examples(&ten, &ten, 0.7).unwrap(),
            (3..10).collect::<Vec<_>>()
        );
        // A tiny fraction keeps at least one example; fraction 1 keeps all.
        assert_eq!(fastest_examples(&a, &b, 1e-9).unwrap(), vec![0]);
        assert_eq!(fastest_examples(&a, &b, 1.0).unwrap().len(), 6);
        for bad in [0.0, -0.1, 1.5, f64::NAN] {
            assert!(matches!(
                fastest_examples(&a, &b, bad),
                Err(StatsError::InvalidArgument {
                    field: "fraction",
                    ..
                })
            ));
        }
        assert!(matches!(
            fastest_examples(&a, &b[..5], 0.5),
            Err(StatsError::LengthMismatch { .. })
        ));
    }

    #[test]
    fn loc_fastest_correlates_the_subset() {
        let a = [1.0, 0.0, 0.8, 0.6, 0.2, 0.5];
        let b = [0.8, 0.2, 0.6, 0.8, 0.4, 0.5];
        let c = loc_fastest(&a, &b, 0.5).unwrap();
        assert_eq!(c.n, 3);
        let want = pearson(&[1.0, 0.8, 0.6], &[0.8, 0.6, 0.8]).unwrap();
        assert_eq!(c, want);
        // The whole set agrees more than its fastest half here.
        assert!(loc(&a, &b).unwrap().estimate > c.estimate);
        // Too few examples in the subset, or all of them at accessibility 1.
        assert!(matches!(
            loc_fastest(&a, &b, 0.1),
            Err(StatsError::TooFewPoints { .. })
        ));
        let sat = [1.0, 1.0, 1.0, 0.2, 0.1];
        assert!(matches!(
            loc_fastest(&sat, &sat, 0.6),
            Err(StatsError::ZeroVariance { .. })
        ));
    }

    #[test]
    fn critical_pc_is_the_start_of_the_final_correct_run() {
        // Grid of 4 P values × 5 examples; column x is example x over increasing P.
        #[rustfmt::skip]
        let correct = [
            // x:  0      1      2      3      4
            true,  false, true,  false, true,   // g = 0
            true,  false, false, false, true,   // g = 1
            true,  true,  true,  false, false,  // g = 2
            true,  true,  true,  false, false,  // g = 3
        ];
        let got = critical_pc(&correct, 4, 5).unwrap();
        // 0: always right → 0; 1: right from g = 2; 2: lucky at 0, wrong at 1 → 2;
        // 3: never right → None; 4: wrong at the largest P → None.
        assert_eq!(got, vec![Some(0), Some(2), Some(2), None, None]);
        assert_eq!(
            critical_pc(&[true, false], 1, 2).unwrap(),
            vec![Some(0), None]
        );
        assert!(matches!(
            critical_pc(&correct, 3, 5),
            Err(StatsError::LengthMismatch { .. })
        ));
        assert!(matches!(
            critical_pc(&[], 0, 5),
            Err(StatsError::InvalidArgument {
                field: "grid_len",
                ..
            })
        ));
    }
}
