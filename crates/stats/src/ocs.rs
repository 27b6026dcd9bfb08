//! The optimal-constant-solution distance of multi-label responses (SCIENCE.md §P1;
//! HUMAN-TASK.md §4.5): with label base rates `ȳⱼ = mean over items of yⱼ`, the distance of
//! responses `r` (one row of `J` labels per trial or item) from the optimal constant solution is
//! `d_OCS = mean over rows ‖r − ȳ‖²`; the label variance `E‖y − ȳ‖²` is the same quantity for
//! the targets themselves (the reference line of the plots). Rows are stored row-major in one
//! slice of length `rows × labels`.

use crate::error::{check_finite, check_len, check_same_len, Result, StatsError};

fn check_table(
    what: &'static str,
    field: &'static str,
    values: &[f64],
    labels: usize,
) -> Result<usize> {
    if labels == 0 {
        return Err(StatsError::InvalidArgument {
            what,
            field: "labels",
            value: 0.0,
            rule: ">= 1",
        });
    }
    if values.len() % labels != 0 {
        return Err(StatsError::LengthMismatch {
            what,
            left: values.len(),
            right: labels,
        });
    }
    check_finite(what, field, values)?;
    let rows = values.len() / labels;
    check_len(what, 1, rows)?;
    Ok(rows)
}

/// Per-label means `ȳⱼ` of a row-major `rows × labels` table.
pub fn base_rates(targets: &[f64], labels: usize) -> Result<Vec<f64>> {
    let rows = check_table("base_rates", "targets", targets, labels)?;
    let mut rates = vec![0.0; labels];
    for row in targets.chunks_exact(labels) {
        for (r, v) in rates.iter_mut().zip(row) {
            *r += v;
        }
    }
    rates.iter_mut().for_each(|r| *r /= rows as f64);
    Ok(rates)
}

/// `d_OCS = mean over rows ‖r − ȳ‖²` for a row-major `rows × labels` response table.
pub fn ocs_distance(responses: &[f64], labels: usize, base_rates: &[f64]) -> Result<f64> {
    const WHAT: &str = "ocs_distance";
    let rows = check_table(WHAT, "responses", responses, labels)?;
    check_same_len(WHAT, labels, base_rates.len())?;
    check_finite(WHAT, "base_rates", base_rates)?;
    let total: f64 = responses
        .chunks_exact(labels)
        .map(|row| {
            row.iter()
                .zip(base_rates)
                .map(|(r, b)| (r - b) * (r - b))
                .sum::<f64>()
        })
        .sum();
    Ok(total / rows as f64)
}

/// The label variance `E‖y − ȳ‖²` of a row-major `rows × labels` target table.
pub fn label_variance(targets: &[f64], labels: usize) -> Result<f64> {
    let rates = base_rates(targets, labels)?;
    ocs_distance(targets, labels, &rates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hierarchy_of_four_items() {
        // Four items, labels [root, left-branch, item0..item3] (6 labels):
        // root rate 1, branch rate 1/2, item rates 1/4.
        let mut y = vec![0.0; 24];
        for i in 0..4 {
            y[i * 6] = 1.0;
            y[i * 6 + 1] = if i < 2 { 1.0 } else { 0.0 };
            y[i * 6 + 2 + i] = 1.0;
        }
        let rates = base_rates(&y, 6).unwrap();
        assert_eq!(rates, vec![1.0, 0.5, 0.25, 0.25, 0.25, 0.25]);
        // Per item: 0 + 1/4 + (3/4)² + 3·(1/4)² = 1/4 + 9/16 + 3/16 = 1.
        assert_eq!(label_variance(&y, 6).unwrap(), 1.0);
        // Responding with the base rates is the optimal constant solution: distance 0.
        let ocs: Vec<f64> = (0..4).flat_map(|_| rates.clone()).collect();
        assert_eq!(ocs_distance(&ocs, 6, &rates).unwrap(), 0.0);
        assert!(ocs_distance(&y[..5], 6, &rates).is_err());
        assert!(base_rates(&[], 6).is_err());
    }
}
