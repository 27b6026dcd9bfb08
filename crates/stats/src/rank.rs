//! Ranks with ties averaged ("fractional" or mid-ranks): sorted ascending, observations
//! `i..j` that are equal all receive `(i + j)/2 + 1` (1-based), so the ranks of `n` values
//! always sum to `n(n+1)/2` (Kendall & Gibbons, *Rank Correlation Methods*, 1990, §3.2).

use crate::error::{check_finite, Result};

/// Mid-ranks (1-based, ties averaged) of finite values, in input order.
pub fn average_ranks(values: &[f64]) -> Result<Vec<f64>> {
    check_finite("average_ranks", "values", values)?;
    let (ranks, _) = ranks_and_ties(values);
    Ok(ranks)
}

/// Mid-ranks and the sizes of the tie groups (groups of one included) of finite values.
pub(crate) fn ranks_and_ties(values: &[f64]) -> (Vec<f64>, Vec<usize>) {
    let n = values.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; n];
    let mut ties = Vec::new();
    let mut i = 0;
    while i < n {
        let mut j = i;
        // `==` rather than total_cmp so −0.0 and 0.0 tie.
        while j + 1 < n && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let rank = 0.5 * (i + j) as f64 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = rank;
        }
        ties.push(j - i + 1);
        i = j + 1;
    }
    (ranks, ties)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_share_the_average_rank() {
        // Sorted: 10 (1), 20 20 (2, 3 → 2.5), 30 (4), 40 40 40 (5, 6, 7 → 6).
        let r = average_ranks(&[20.0, 40.0, 10.0, 40.0, 30.0, 20.0, 40.0]).unwrap();
        assert_eq!(r, vec![2.5, 6.0, 1.0, 6.0, 4.0, 2.5, 6.0]);
        let (_, ties) = ranks_and_ties(&[20.0, 40.0, 10.0, 40.0, 30.0, 20.0, 40.0]);
        assert_eq!(ties, vec![1, 2, 1, 3]);
        assert!(average_ranks(&[1.0, f64::NAN]).is_err());
        assert!(average_ranks(&[]).unwrap().is_empty());
    }
}
