//! Counter-based randomness: every draw is a pure function of (root seed, name, counter).
//!
//! A [`RandomKey`] is a 64-bit value. `RandomKey::root(seed).derive("init/blocks.0.weight")`
//! names a stream; `key.u64_at(i)` is the i-th draw of that stream, computed by hashing
//! `(key, i)` with two rounds of the SplitMix64 finaliser (Steele, Lea & Flood 2014), which is a
//! bijection on 64-bit words with full avalanche. No generator object carries state, so resuming
//! a run needs no saved random state and a probe drawing numbers cannot perturb training
//! (DESIGN.md §6).

/// A named, stateless random stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RandomKey(u64);

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 output function: a bijective mixer with good avalanche.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl RandomKey {
    /// The root key of a run.
    pub fn root(seed: u64) -> Self {
        RandomKey(mix64(seed ^ 0x6C65_6172_6E73_636F)) // "learnsco"
    }

    /// The raw 64-bit key (for recording in manifests).
    pub fn raw(self) -> u64 {
        self.0
    }

    /// A child stream named by a string: `root.derive("shuffle").at(epoch)`.
    pub fn derive(self, name: &str) -> Self {
        // FNV-1a over the bytes, then mixed with the parent key; a separator byte keeps
        // derive("ab") distinct from derive("a").derive("b").
        let mut h: u64 = 0xCBF2_9CE4_8422_2325;
        for &b in name.as_bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01B3);
        }
        RandomKey(mix64(mix64(self.0 ^ h).wrapping_add(GOLDEN)))
    }

    /// A child stream indexed by a number (a step, an epoch, an ensemble member).
    pub fn at(self, counter: u64) -> Self {
        RandomKey(mix64(
            self.0.wrapping_add(mix64(counter.wrapping_add(GOLDEN))),
        ))
    }

    /// The `index`-th 64-bit draw of this stream.
    pub fn u64_at(self, index: u64) -> u64 {
        mix64(mix64(self.0 ^ index.wrapping_mul(GOLDEN)).wrapping_add(self.0))
    }

    /// The `index`-th draw, uniform on [0, 1) with 53 random bits.
    pub fn uniform_at(self, index: u64) -> f64 {
        (self.u64_at(index) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// The `index`-th draw, uniform on (0, 1]: safe to take a logarithm of.
    pub fn uniform_open0_at(self, index: u64) -> f64 {
        ((self.u64_at(index) >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// The `index`-th standard normal draw (Box–Muller on draws 2·index and 2·index+1).
    pub fn normal_at(self, index: u64) -> f64 {
        let u1 = self.uniform_open0_at(index.wrapping_mul(2));
        let u2 = self.uniform_at(index.wrapping_mul(2).wrapping_add(1));
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// `n` standard normal draws, indices `0..n`.
    pub fn normals(self, n: usize) -> Vec<f64> {
        (0..n as u64).map(|i| self.normal_at(i)).collect()
    }

    /// `n` uniform draws on [lo, hi), indices `0..n`.
    pub fn uniforms(self, n: usize, lo: f64, hi: f64) -> Vec<f64> {
        (0..n as u64)
            .map(|i| lo + (hi - lo) * self.uniform_at(i))
            .collect()
    }

    /// A uniformly random permutation of `0..n` (Fisher–Yates driven by draws `0..n`).
    pub fn permutation(self, n: usize) -> Vec<usize> {
        let mut p: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            // Lemire's multiply-shift maps a 64-bit draw to [0, i] with bias below 2^-32 for
            // any n a data set can have.
            let j = ((self.u64_at(i as u64) as u128 * (i as u128 + 1)) >> 64) as usize;
            p.swap(i, j);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_pure_functions_of_their_names() {
        let a = RandomKey::root(7).derive("init/w").u64_at(3);
        let b = RandomKey::root(7).derive("init/w").u64_at(3);
        assert_eq!(a, b);
        assert_ne!(a, RandomKey::root(8).derive("init/w").u64_at(3));
        assert_ne!(a, RandomKey::root(7).derive("init/v").u64_at(3));
        assert_ne!(
            RandomKey::root(7).derive("ab"),
            RandomKey::root(7).derive("a").derive("b")
        );
    }

    #[test]
    fn normal_moments_match_within_sampling_error() {
        // n = 200k draws: the standard error of the mean is 1/sqrt(n) ≈ 0.0022 and of the
        // variance sqrt(2/n) ≈ 0.0032; 5 standard errors are the tolerance.
        let n = 200_000;
        let xs = RandomKey::root(1).derive("t").normals(n);
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 5.0 * (1.0 / n as f64).sqrt(), "mean {mean}");
        assert!(
            (var - 1.0).abs() < 5.0 * (2.0 / n as f64).sqrt(),
            "var {var}"
        );
    }

    #[test]
    fn uniform_is_in_range_and_permutation_is_a_permutation() {
        let k = RandomKey::root(3);
        for i in 0..10_000 {
            let u = k.uniform_at(i);
            assert!((0.0..1.0).contains(&u));
            assert!(k.uniform_open0_at(i) > 0.0);
        }
        let mut p = k.permutation(1000);
        assert_ne!(p, (0..1000).collect::<Vec<_>>());
        p.sort_unstable();
        assert_eq!(p, (0..1000).collect::<Vec<_>>());
    }
}
