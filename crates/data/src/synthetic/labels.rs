//! Shared label layout of the class-balanced generators: example i has class i mod K, so every
//! prefix of a split is as balanced as it can be and each class has exactly n/K examples when K
//! divides n.

/// Labels `0, 1, …, K−1, 0, 1, …` for `n` examples.
pub(crate) fn interleaved(n: usize, classes: usize) -> Vec<u32> {
    (0..n).map(|i| (i % classes) as u32).collect()
}
