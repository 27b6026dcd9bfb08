//! Ground-truth feature metadata of a synthetic data set, for probes of feature learning
//! (gradient starvation, per-feature time-to-learn; SCIENCE.md §P3.3, §C.4).
//!
//! A [`FeatureDesign`] names the features a generator planted ([`DesignFeature`]: a unit
//! direction in input space, a nominal amplitude and the fraction of training examples that
//! carry it) and, for every example of each split, the (feature, coefficient) pairs such that
//!
//! x = Σ coefficient · direction + noise.
//!
//! The pairs of a split are stored flat (one `Vec` of pairs plus `n + 1` offsets), so the
//! metadata costs 16 bytes per carried feature and 8 bytes per example.

use learnscope_nn::NnError;

use crate::dataset::{DatasetSpec, Split};

/// One planted feature.
#[derive(Debug, Clone, PartialEq)]
pub struct DesignFeature {
    /// Name (`f0`, `f1`, … for the built-in generators).
    pub name: String,
    /// Unit vector in input space (length = the input size).
    pub direction: Vec<f64>,
    /// Nominal amplitude (the generator's documented choice, e.g. the largest |coefficient|).
    pub norm: f64,
    /// Fraction of TRAIN examples that carry the feature, i.e. whose members list it with a
    /// nonzero coefficient (checked by [`FeatureDesign::validate`]).
    pub frequency: f64,
}

/// The members of every example of one split: pairs `pairs[offsets[i]..offsets[i + 1]]`.
#[derive(Debug, Clone, PartialEq, Default)]
struct SplitMembers {
    offsets: Vec<usize>,
    pairs: Vec<(usize, f64)>,
}

impl SplitMembers {
    fn from_lists<L: AsRef<[(usize, f64)]>>(lists: &[L]) -> Self {
        let mut offsets = Vec::with_capacity(lists.len() + 1);
        offsets.push(0);
        let mut pairs = Vec::with_capacity(lists.iter().map(|l| l.as_ref().len()).sum());
        for l in lists {
            pairs.extend_from_slice(l.as_ref());
            offsets.push(pairs.len());
        }
        SplitMembers { offsets, pairs }
    }

    fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    fn get(&self, i: usize) -> &[(usize, f64)] {
        &self.pairs[self.offsets[i]..self.offsets[i + 1]]
    }

    fn select(&self, keep: &[usize]) -> Self {
        let mut out = SplitMembers {
            offsets: Vec::with_capacity(keep.len() + 1),
            pairs: Vec::new(),
        };
        out.offsets.push(0);
        for &i in keep {
            out.pairs.extend_from_slice(self.get(i));
            out.offsets.push(out.pairs.len());
        }
        out
    }
}

/// The planted features of a data set and which examples carry them (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureDesign {
    /// Input size (length of every direction).
    pub dim: usize,
    /// The features, indexed by the first element of a member pair.
    pub features: Vec<DesignFeature>,
    /// True when the class is coded by the sign of the coefficients (coefficient = y·amplitude
    /// with y = ±1); false when features are present (positive coefficient) or absent.
    pub sign_coded: bool,
    train: SplitMembers,
    test: SplitMembers,
}

impl FeatureDesign {
    /// A design from one member list per example of each split; checks it ([`Self::validate`]
    /// without a data set). Member lists should name each feature at most once.
    pub fn new<L: AsRef<[(usize, f64)]>>(
        dim: usize,
        features: Vec<DesignFeature>,
        sign_coded: bool,
        train: &[L],
        test: &[L],
    ) -> Result<Self, NnError> {
        let d = FeatureDesign {
            dim,
            features,
            sign_coded,
            train: SplitMembers::from_lists(train),
            test: SplitMembers::from_lists(test),
        };
        d.check()?;
        Ok(d)
    }

    fn split(&self, split: Split) -> &SplitMembers {
        match split {
            Split::Train => &self.train,
            Split::Test => &self.test,
        }
    }

    /// The (feature index, coefficient) pairs of an example: x = Σ coefficient·direction + noise.
    /// Panics if `example >= self.len(split)`.
    pub fn members(&self, split: Split, example: usize) -> &[(usize, f64)] {
        self.split(split).get(example)
    }

    /// Examples in a split.
    pub fn len(&self, split: Split) -> usize {
        self.split(split).len()
    }

    /// True when the design has no examples in either split.
    pub fn is_empty(&self) -> bool {
        self.train.len() == 0 && self.test.len() == 0
    }

    /// The examples of a split that carry feature `feature` (nonzero coefficient), ascending.
    pub fn carriers(&self, split: Split, feature: usize) -> Vec<usize> {
        (0..self.len(split))
            .filter(|&i| {
                self.members(split, i)
                    .iter()
                    .any(|&(f, c)| f == feature && c != 0.0)
            })
            .collect()
    }

    /// The fraction of a split's examples that carry each feature (0 for an empty split).
    pub fn carried_fractions(&self, split: Split) -> Vec<f64> {
        let mut count = vec![0usize; self.features.len()];
        let s = self.split(split);
        for &(f, c) in &s.pairs {
            if c != 0.0 {
                count[f] += 1;
            }
        }
        let n = s.len();
        count
            .iter()
            .map(|&k| if n == 0 { 0.0 } else { k as f64 / n as f64 })
            .collect()
    }

    /// The noiseless input of an example, Σ coefficient·direction (summed in member order).
    pub fn clean_input(&self, split: Split, example: usize) -> Vec<f64> {
        let mut x = vec![0.0; self.dim];
        for &(f, c) in self.members(split, example) {
            for (xi, di) in x.iter_mut().zip(&self.features[f].direction) {
                *xi += c * di;
            }
        }
        x
    }

    /// Checks the design on its own (directions, amplitudes, frequencies, member indices).
    fn check(&self) -> Result<(), NnError> {
        let bad =
            |field: String, value: String, rule: &str| Err(NnError::setting(field, value, rule));
        for split in [Split::Train, Split::Test] {
            for (i, m) in (0..self.len(split)).map(|i| (i, self.members(split, i))) {
                if let Some(&(f, c)) = m
                    .iter()
                    .find(|&&(f, c)| f >= self.features.len() || !c.is_finite())
                {
                    return bad(
                        format!("feature_design.{}[{i}]", split.name()),
                        format!("({f}, {c})"),
                        &format!(
                            "feature index < {} and a finite coefficient",
                            self.features.len()
                        ),
                    );
                }
            }
        }
        let fractions = self.carried_fractions(Split::Train);
        for (k, f) in self.features.iter().enumerate() {
            let field = |what: &str| format!("feature_design.features[{k}].{what}");
            if f.direction.len() != self.dim {
                return Err(NnError::ShapeMismatch {
                    what: field("direction"),
                    expected: vec![self.dim],
                    found: vec![f.direction.len()],
                });
            }
            let norm2: f64 = f.direction.iter().map(|v| v * v).sum();
            if !(norm2.is_finite() && (norm2.sqrt() - 1.0).abs() <= 1e-9) {
                return bad(
                    field("direction"),
                    format!("norm {}", norm2.sqrt()),
                    "a unit vector",
                );
            }
            if !(f.norm.is_finite() && f.norm >= 0.0) {
                return bad(field("norm"), f.norm.to_string(), "finite and >= 0");
            }
            if !(0.0..=1.0).contains(&f.frequency) {
                return bad(field("frequency"), f.frequency.to_string(), "in [0, 1]");
            }
            if self.train.len() > 0 && (f.frequency - fractions[k]).abs() > 1e-9 {
                return bad(
                    field("frequency"),
                    f.frequency.to_string(),
                    &format!(
                        "the fraction of training examples carrying the feature ({})",
                        fractions[k]
                    ),
                );
            }
        }
        Ok(())
    }

    /// Checks the design on its own and against a data set's shape: directions of the input
    /// size, one member list per example of each split.
    pub fn validate(&self, spec: &DatasetSpec) -> Result<(), NnError> {
        let what = |t: &str| format!("feature design {t} of data set `{}`", spec.name);
        if self.dim != spec.input_size() {
            return Err(NnError::ShapeMismatch {
                what: what("dimension"),
                expected: vec![spec.input_size()],
                found: vec![self.dim],
            });
        }
        for split in [Split::Train, Split::Test] {
            if self.len(split) != spec.len(split) {
                return Err(NnError::ShapeMismatch {
                    what: what(&format!("{} examples", split.name())),
                    expected: vec![spec.len(split)],
                    found: vec![self.len(split)],
                });
            }
        }
        self.check()
    }

    /// Keeps the examples `keep` (in that order) of a split, as [`HostData::select`] does for
    /// the inputs; a training selection recomputes the features' frequencies.
    ///
    /// [`HostData::select`]: crate::transform::HostData::select
    pub fn select(&mut self, split: Split, keep: &[usize]) {
        match split {
            Split::Train => {
                self.train = self.train.select(keep);
                let fr = self.carried_fractions(Split::Train);
                for (f, p) in self.features.iter_mut().zip(fr) {
                    f.frequency = p;
                }
            }
            Split::Test => self.test = self.test.select(keep),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feature(k: usize, dim: usize, frequency: f64) -> DesignFeature {
        let mut direction = vec![0.0; dim];
        direction[k] = 1.0;
        DesignFeature {
            name: format!("f{k}"),
            direction,
            norm: 1.0,
            frequency,
        }
    }

    #[test]
    fn members_are_stored_flat_and_selected() {
        let train = [vec![(0, 1.0)], vec![(1, 2.0)], vec![(0, 3.0), (1, -1.0)]];
        let test = [vec![(1, 0.5)]];
        let mut d = FeatureDesign::new(
            2,
            vec![feature(0, 2, 2.0 / 3.0), feature(1, 2, 2.0 / 3.0)],
            false,
            &train,
            &test,
        )
        .unwrap();
        assert_eq!(d.len(Split::Train), 3);
        assert_eq!(d.members(Split::Train, 2), &[(0, 3.0), (1, -1.0)]);
        assert_eq!(d.clean_input(Split::Train, 2), vec![3.0, -1.0]);
        assert_eq!(d.carriers(Split::Train, 1), vec![1, 2]);
        d.select(Split::Train, &[2, 0]);
        assert_eq!(d.members(Split::Train, 0), &[(0, 3.0), (1, -1.0)]);
        assert_eq!(d.features[0].frequency, 1.0);
        assert_eq!(d.features[1].frequency, 0.5);
        // A wrong frequency, index or direction is an error naming the field.
        let err = FeatureDesign::new(2, vec![feature(0, 2, 0.5)], false, &train[..1], &test[..0])
            .unwrap_err()
            .to_string();
        assert!(err.contains("frequency"), "{err}");
        let err = FeatureDesign::new(2, vec![feature(0, 2, 1.0)], false, &[vec![(3, 1.0)]], &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("feature_design.train[0]"), "{err}");
        let mut f = feature(0, 2, 1.0);
        f.direction = vec![1.0, 1.0];
        assert!(FeatureDesign::new(2, vec![f], false, &train[..1], &[]).is_err());
    }
}
