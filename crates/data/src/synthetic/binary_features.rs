//! Binary classification with planted features of chosen amplitude and frequency, for the
//! learning-dynamics questions of SCIENCE.md §P3.3 (convergence time ∝ 1/(p r), gradient
//! starvation) and §C.4. The data set carries a [`FeatureDesign`] naming every feature (`f0`,
//! `f1`, …), its direction, amplitude and training frequency, and the features of each example.
//!
//! Feature k lives on coordinate k (`e_k`) before the optional rotation; the input size is
//! F + `extra_dims` (the extra coordinates hold noise only). Two layouts:
//!
//! - `exclusive`: `features = [{ norm, frequency, label? }, …]`. Every example carries exactly
//!   one feature; feature f is carried by n_f examples, the counts n·frequency rounded by
//!   largest remainder (ties to the lower index), separately for train and test. x = norm_f·e_f
//!   (+ noise), class `label` if given, else f mod 2 (consecutive features alternate classes).
//!   Inputs are non-negative without noise (one ReLU unit can align with each feature).
//!   Member pair: (f, norm_f).
//! - `sign_coded`: `groups = [{ fraction, amplitudes = [a_1, …, a_F] }, …]`. Group g holds the
//!   share `fraction` of the examples (largest-remainder counts); within a group, examples
//!   alternate y = +1, −1, +1, … (so ⌈n_g/2⌉ positives, ⌊n_g/2⌋ negatives), and
//!   x_f = y·a_{g,f} (+ noise). Class label 1 for y = +1, 0 for y = −1 (the `binary` transform
//!   with `plus_minus_one` encoding gives ±1 targets back). Member pairs: (f, y·a_{g,f}) for
//!   every a_{g,f} > 0. A feature's nominal `norm` is its largest amplitude over groups; its
//!   `frequency` is the fraction of training examples in groups with a_{g,f} > 0.
//!
//! Noise: `noise`·ε with ε ~ N(0, I) on every coordinate (extra ones included), drawn before
//! the rotation. With `rotate = true` every input is multiplied by a random orthogonal matrix Q
//! (`orthonormal_columns` of stream `data/rotation`) and feature f's direction is Q e_f, so
//! x = Σ coefficient·direction + Qε still holds. Example order within a split is a random
//! permutation (stream `data/{split}/order`) of the layout order (features or groups in turn),
//! so minibatches mix classes; the design follows the shuffle. Noise of the example at
//! (shuffled) position i uses draws `i·D..(i+1)·D` of `data/{split}/noise`. Everything is a
//! pure function of the key.

use learnscope_core::host_linalg::orthonormal_columns;
use learnscope_core::RandomKey;
use learnscope_nn::NnError;
use serde::{Deserialize, Serialize};

use crate::dataset::{DatasetSpec, InMemoryDataset, TargetData, TargetKind};
use crate::feature_design::{DesignFeature, FeatureDesign};

/// How features code the class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinaryFeaturesLayout {
    /// One feature per example, present (positive) or absent.
    Exclusive,
    /// Every feature of a group present in every example, signed by the label.
    SignCoded,
}

/// One feature of the `exclusive` layout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExclusiveFeature {
    /// Amplitude (> 0): x = norm·e_f.
    pub norm: f64,
    /// Fraction of the examples carrying the feature (> 0; all sum to 1).
    pub frequency: f64,
    /// Class (0 or 1); default f mod 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<u32>,
}

/// One group of the `sign_coded` layout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignCodedGroup {
    /// Fraction of the examples in the group (> 0; all sum to 1).
    pub fraction: f64,
    /// Amplitude of each feature (>= 0; the same length in every group).
    pub amplitudes: Vec<f64>,
}

/// A binary task with planted features (see the module docs). TOML:
///
/// ```toml
/// layout = "exclusive"
/// train = 1000
/// test = 1000
/// noise = 0.0
/// features = [{ norm = 1.0, frequency = 0.45 }, { norm = 1.0, frequency = 0.45 },
///             { norm = 1.0, frequency = 0.05 }, { norm = 1.0, frequency = 0.05 }]
/// ```
///
/// ```toml
/// layout = "sign_coded"
/// train = 1000
/// test = 1000
/// groups = [{ fraction = 0.9, amplitudes = [1.0, 1.0] },
///           { fraction = 0.1, amplitudes = [0.0, 1.0] }]
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BinaryFeaturesSpec {
    /// `exclusive` or `sign_coded`.
    pub layout: BinaryFeaturesLayout,
    /// Features of the `exclusive` layout (empty for `sign_coded`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<ExclusiveFeature>,
    /// Groups of the `sign_coded` layout (empty for `exclusive`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<SignCodedGroup>,
    /// Training examples.
    pub train: usize,
    /// Test examples (drawn the same way, same proportions).
    pub test: usize,
    /// σ of the isotropic Gaussian noise on every coordinate (default 0).
    #[serde(default)]
    pub noise: f64,
    /// Noise-only coordinates appended after the F feature coordinates (default 0).
    #[serde(default)]
    pub extra_dims: usize,
    /// Rotate inputs and feature directions by a random orthogonal matrix (default false).
    #[serde(default)]
    pub rotate: bool,
}

/// Counts `n·p_k` rounded by largest remainder (ties to the lower index); they sum to `n`.
fn largest_remainder(n: usize, p: &[f64]) -> Vec<usize> {
    let raw: Vec<f64> = p.iter().map(|&q| q * n as f64).collect();
    let mut counts: Vec<usize> = raw.iter().map(|r| r.floor() as usize).collect();
    let assigned: usize = counts.iter().sum();
    let mut order: Vec<usize> = (0..p.len()).collect();
    // Stable sort: equal remainders keep index order.
    order.sort_by(|&a, &b| {
        let (ra, rb) = (raw[a] - raw[a].floor(), raw[b] - raw[b].floor());
        rb.total_cmp(&ra)
    });
    for &k in order.iter().cycle().take(n.saturating_sub(assigned)) {
        counts[k] += 1;
    }
    counts
}

/// Checks that the shares `p` (field `data.{list}[k].{item}`) are > 0 and sum to 1.
fn check_shares(list: &str, item: &str, p: &[f64]) -> Result<(), NnError> {
    if let Some((k, v)) = p
        .iter()
        .enumerate()
        .find(|(_, v)| !(v.is_finite() && **v > 0.0))
    {
        return Err(NnError::setting(
            format!("data.{list}[{k}].{item}"),
            v,
            "> 0",
        ));
    }
    let sum: f64 = p.iter().sum();
    if (sum - 1.0).abs() > 1e-9 {
        return Err(NnError::setting(
            format!("data.{list}[*].{item}"),
            format!("sum {sum}"),
            "sum to 1 (within 1e-9)",
        ));
    }
    Ok(())
}

/// One example in layout order: its label and member pairs.
struct Prototype {
    label: u32,
    members: Vec<(usize, f64)>,
}

impl BinaryFeaturesSpec {
    /// Number of planted features F.
    pub fn feature_count(&self) -> usize {
        match self.layout {
            BinaryFeaturesLayout::Exclusive => self.features.len(),
            BinaryFeaturesLayout::SignCoded => {
                self.groups.first().map_or(0, |g| g.amplitudes.len())
            }
        }
    }

    /// Input size F + `extra_dims`.
    pub fn input_dim(&self) -> usize {
        self.feature_count() + self.extra_dims
    }

    /// Checks the fields; errors name the offending one.
    pub fn validate(&self) -> Result<(), NnError> {
        if self.train == 0 {
            return Err(NnError::setting("data.train", self.train, ">= 1"));
        }
        if !(self.noise.is_finite() && self.noise >= 0.0) {
            return Err(NnError::setting(
                "data.noise",
                self.noise,
                "finite and >= 0",
            ));
        }
        match self.layout {
            BinaryFeaturesLayout::Exclusive => {
                if !self.groups.is_empty() {
                    return Err(NnError::setting(
                        "data.groups",
                        format!("{} groups", self.groups.len()),
                        "absent for layout `exclusive` (use `features`)",
                    ));
                }
                if self.features.len() < 2 {
                    return Err(NnError::setting(
                        "data.features",
                        format!("{} features", self.features.len()),
                        "at least 2 for layout `exclusive`",
                    ));
                }
                for (k, f) in self.features.iter().enumerate() {
                    if !(f.norm.is_finite() && f.norm > 0.0) {
                        return Err(NnError::setting(
                            format!("data.features[{k}].norm"),
                            f.norm,
                            "finite and > 0",
                        ));
                    }
                    if let Some(l) = f.label.filter(|&l| l > 1) {
                        return Err(NnError::setting(
                            format!("data.features[{k}].label"),
                            l,
                            "0 or 1",
                        ));
                    }
                }
                let p: Vec<f64> = self.features.iter().map(|f| f.frequency).collect();
                check_shares("features", "frequency", &p)
            }
            BinaryFeaturesLayout::SignCoded => {
                if !self.features.is_empty() {
                    return Err(NnError::setting(
                        "data.features",
                        format!("{} features", self.features.len()),
                        "absent for layout `sign_coded` (use `groups`)",
                    ));
                }
                if self.groups.is_empty() {
                    return Err(NnError::setting(
                        "data.groups",
                        "0 groups",
                        "at least 1 for layout `sign_coded`",
                    ));
                }
                let f = self.groups[0].amplitudes.len();
                if f == 0 {
                    return Err(NnError::setting(
                        "data.groups[0].amplitudes",
                        "[]",
                        "at least one amplitude",
                    ));
                }
                for (g, grp) in self.groups.iter().enumerate() {
                    if grp.amplitudes.len() != f {
                        return Err(NnError::setting(
                            format!("data.groups[{g}].amplitudes"),
                            format!("{} amplitudes", grp.amplitudes.len()),
                            format!("{f} amplitudes, as in groups[0]"),
                        ));
                    }
                    if let Some((k, a)) = grp
                        .amplitudes
                        .iter()
                        .enumerate()
                        .find(|(_, a)| !(a.is_finite() && **a >= 0.0))
                    {
                        return Err(NnError::setting(
                            format!("data.groups[{g}].amplitudes[{k}]"),
                            a,
                            "finite and >= 0",
                        ));
                    }
                }
                let p: Vec<f64> = self.groups.iter().map(|g| g.fraction).collect();
                check_shares("groups", "fraction", &p)
            }
        }
    }

    /// The examples of a split of `n` in layout order.
    fn prototypes(&self, n: usize) -> Vec<Prototype> {
        let mut out = Vec::with_capacity(n);
        match self.layout {
            BinaryFeaturesLayout::Exclusive => {
                let p: Vec<f64> = self.features.iter().map(|f| f.frequency).collect();
                for (f, (spec, count)) in self
                    .features
                    .iter()
                    .zip(largest_remainder(n, &p))
                    .enumerate()
                {
                    let label = spec.label.unwrap_or((f % 2) as u32);
                    for _ in 0..count {
                        out.push(Prototype {
                            label,
                            members: vec![(f, spec.norm)],
                        });
                    }
                }
            }
            BinaryFeaturesLayout::SignCoded => {
                let p: Vec<f64> = self.groups.iter().map(|g| g.fraction).collect();
                for (grp, count) in self.groups.iter().zip(largest_remainder(n, &p)) {
                    for j in 0..count {
                        let y = if j % 2 == 0 { 1.0 } else { -1.0 };
                        out.push(Prototype {
                            label: u32::from(j % 2 == 0),
                            members: grp
                                .amplitudes
                                .iter()
                                .enumerate()
                                .filter(|(_, a)| **a > 0.0)
                                .map(|(f, a)| (f, y * a))
                                .collect(),
                        });
                    }
                }
            }
        }
        out
    }

    /// Generates the data set (with its [`FeatureDesign`]) from `key`.
    pub fn build(&self, key: RandomKey) -> Result<InMemoryDataset, NnError> {
        self.validate()?;
        let nf = self.feature_count();
        let d = self.input_dim();
        // Row-major D × D orthogonal matrix; column f is feature f's direction.
        let q = self
            .rotate
            .then(|| orthonormal_columns(key.derive("data/rotation"), d, d));
        let make = |n: usize, name: &str| {
            let protos = self.prototypes(n);
            let order = key.derive(&format!("data/{name}/order")).permutation(n);
            let noise = key.derive(&format!("data/{name}/noise"));
            let mut x = Vec::with_capacity(n * d);
            let mut labels = Vec::with_capacity(n);
            let mut members = Vec::with_capacity(n);
            let mut row = vec![0.0; d];
            for (i, &src) in order.iter().enumerate() {
                let proto = &protos[src];
                row.iter_mut().for_each(|v| *v = 0.0);
                for &(f, c) in &proto.members {
                    row[f] = c;
                }
                if self.noise > 0.0 {
                    for (j, v) in row.iter_mut().enumerate() {
                        *v += self.noise * noise.normal_at((i * d + j) as u64);
                    }
                }
                match &q {
                    Some(q) => {
                        x.extend((0..d).map(|r| (0..d).fold(0.0, |s, c| s + q[r * d + c] * row[c])))
                    }
                    None => x.extend_from_slice(&row),
                }
                labels.push(proto.label);
                members.push(proto.members.clone());
            }
            (x, labels, members)
        };
        let (train_x, train_y, train_m) = make(self.train, "train");
        let (test_x, test_y, test_m) = make(self.test, "test");
        let features = (0..nf)
            .map(|f| {
                let mut direction = vec![0.0; d];
                match &q {
                    Some(q) => (0..d).for_each(|r| direction[r] = q[r * d + f]),
                    None => direction[f] = 1.0,
                }
                let norm = match self.layout {
                    BinaryFeaturesLayout::Exclusive => self.features[f].norm,
                    BinaryFeaturesLayout::SignCoded => self
                        .groups
                        .iter()
                        .map(|g| g.amplitudes[f])
                        .fold(0.0, f64::max),
                };
                let carriers = train_m
                    .iter()
                    .filter(|m| m.iter().any(|&(k, c)| k == f && c != 0.0))
                    .count();
                DesignFeature {
                    name: format!("f{f}"),
                    direction,
                    norm,
                    frequency: carriers as f64 / self.train as f64,
                }
            })
            .collect();
        let design = FeatureDesign::new(
            d,
            features,
            self.layout == BinaryFeaturesLayout::SignCoded,
            &train_m,
            &test_m,
        )?;
        let layout = match self.layout {
            BinaryFeaturesLayout::Exclusive => "exclusive",
            BinaryFeaturesLayout::SignCoded => "sign_coded",
        };
        let spec = DatasetSpec {
            name: format!(
                "binary_features[{layout}, F={nf}, D={d}, noise={}{}]",
                self.noise,
                if self.rotate { ", rotated" } else { "" }
            ),
            input_shape: vec![d],
            target: TargetKind::Classes { classes: 2 },
            train_len: self.train,
            test_len: self.test,
        };
        InMemoryDataset::new(
            spec,
            (train_x, TargetData::Classes(train_y)),
            (test_x, TargetData::Classes(test_y)),
        )?
        .with_feature_design(design)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{Dataset, Split};

    fn exclusive(freqs: &[f64], norms: &[f64]) -> BinaryFeaturesSpec {
        BinaryFeaturesSpec {
            layout: BinaryFeaturesLayout::Exclusive,
            features: freqs
                .iter()
                .zip(norms)
                .map(|(&frequency, &norm)| ExclusiveFeature {
                    norm,
                    frequency,
                    label: None,
                })
                .collect(),
            groups: Vec::new(),
            train: 1000,
            test: 500,
            noise: 0.0,
            extra_dims: 0,
            rotate: false,
        }
    }

    fn sign_coded(groups: &[(f64, &[f64])]) -> BinaryFeaturesSpec {
        BinaryFeaturesSpec {
            layout: BinaryFeaturesLayout::SignCoded,
            features: Vec::new(),
            groups: groups
                .iter()
                .map(|&(fraction, a)| SignCodedGroup {
                    fraction,
                    amplitudes: a.to_vec(),
                })
                .collect(),
            train: 1001,
            test: 301,
            noise: 0.0,
            extra_dims: 0,
            rotate: false,
        }
    }

    fn labels(ds: &InMemoryDataset, split: Split) -> Vec<u32> {
        match ds.targets(split) {
            TargetData::Classes(l) => l.clone(),
            TargetData::Dense(_) => unreachable!(),
        }
    }

    /// Checks x = Σ coefficient·direction exactly (noise 0).
    fn reconstructs(ds: &InMemoryDataset) {
        let fd = ds.feature_design().unwrap();
        let d = ds.spec().input_size();
        for split in [Split::Train, Split::Test] {
            let x = ds.inputs_f64(split);
            for i in 0..ds.spec().len(split) {
                assert_eq!(&x[i * d..(i + 1) * d], &fd.clean_input(split, i)[..], "{i}");
            }
        }
    }

    #[test]
    fn largest_remainder_counts_sum_and_round() {
        assert_eq!(largest_remainder(10, &[0.25, 0.25, 0.5]), vec![3, 2, 5]);
        assert_eq!(largest_remainder(7, &[1.0 / 3.0; 3]), vec![3, 2, 2]);
        assert_eq!(largest_remainder(0, &[0.5, 0.5]), vec![0, 0]);
        assert_eq!(
            largest_remainder(1000, &[0.45, 0.45, 0.05, 0.05]),
            vec![450, 450, 50, 50]
        );
    }

    #[test]
    fn exclusive_counts_labels_and_inputs_are_exact() {
        let spec = exclusive(&[0.45, 0.45, 0.05, 0.05], &[1.0, 1.0, 2.0, 0.5]);
        let ds = spec.build(RandomKey::root(1)).unwrap();
        assert_eq!(ds.spec().input_shape, vec![4]);
        assert_eq!(ds.spec().target, TargetKind::Classes { classes: 2 });
        let fd = ds.feature_design().unwrap();
        assert!(!fd.sign_coded);
        let freq: Vec<f64> = fd.features.iter().map(|f| f.frequency).collect();
        assert_eq!(freq, vec![0.45, 0.45, 0.05, 0.05]);
        assert_eq!(fd.features[2].norm, 2.0);
        assert_eq!(fd.features[3].name, "f3");
        for (split, n) in [(Split::Train, 1000), (Split::Test, 500)] {
            let y = labels(&ds, split);
            assert_eq!(y.iter().filter(|&&c| c == 1).count(), n / 2);
            let counts: Vec<usize> = (0..4).map(|f| fd.carriers(split, f).len()).collect();
            let expect: Vec<usize> = [0.45, 0.45, 0.05, 0.05]
                .iter()
                .map(|p| (p * n as f64).round() as usize)
                .collect();
            assert_eq!(counts, expect);
            for (i, &label) in y.iter().enumerate() {
                let m = fd.members(split, i);
                assert_eq!(m.len(), 1);
                assert_eq!(label, (m[0].0 % 2) as u32);
            }
            // Shuffled: the first 50 examples are not all of feature 0.
            assert!((0..50).any(|i| fd.members(split, i)[0].0 != 0));
        }
        assert!(ds.inputs_f64(Split::Train).iter().all(|&v| v >= 0.0));
        reconstructs(&ds);
        // Explicit labels override f mod 2.
        let mut spec = exclusive(&[0.5, 0.5], &[1.0, 1.0]);
        spec.features[0].label = Some(1);
        spec.features[1].label = Some(0);
        let ds = spec.build(RandomKey::root(1)).unwrap();
        let fd = ds.feature_design().unwrap();
        let y = labels(&ds, Split::Train);
        assert!((0..1000).all(|i| y[i] == 1 - fd.members(Split::Train, i)[0].0 as u32));
    }

    #[test]
    fn sign_coded_groups_are_balanced_and_exact() {
        let spec = sign_coded(&[(0.9, &[1.0, 1.0, 0.0]), (0.1, &[0.0, 3.0, 0.5])]);
        let ds = spec.build(RandomKey::root(2)).unwrap();
        let fd = ds.feature_design().unwrap();
        assert!(fd.sign_coded);
        assert_eq!(
            fd.features.iter().map(|f| f.norm).collect::<Vec<_>>(),
            vec![1.0, 3.0, 0.5]
        );
        // Group sizes 901 / 100 of 1001 (largest remainder: 900.9 → 901, 100.1 → 100).
        let freq: Vec<f64> = fd.features.iter().map(|f| f.frequency).collect();
        assert_eq!(freq, vec![901.0 / 1001.0, 1.0, 100.0 / 1001.0]);
        let y = labels(&ds, Split::Train);
        let x = ds.inputs_f64(Split::Train);
        let (mut pos, mut neg) = ([0usize; 2], [0usize; 2]);
        for i in 0..1001 {
            let m = fd.members(Split::Train, i);
            let group = usize::from(m.iter().any(|&(f, _)| f == 2));
            let sign = if y[i] == 1 { 1.0 } else { -1.0 };
            assert!(m.iter().all(|&(_, c)| c * sign > 0.0));
            assert_eq!(x[3 * i + 1], sign * [1.0, 3.0][group]);
            if y[i] == 1 {
                pos[group] += 1;
            } else {
                neg[group] += 1;
            }
        }
        assert_eq!((pos, neg), ([451, 50], [450, 50]));
        reconstructs(&ds);
    }

    #[test]
    fn same_key_same_bytes_other_key_other_data() {
        for (noise, rotate) in [(0.3, false), (0.0, true), (0.2, true)] {
            let mut spec = exclusive(&[0.7, 0.3], &[1.0, 2.0]);
            spec.noise = noise;
            spec.rotate = rotate;
            spec.extra_dims = 3;
            let a = spec.build(RandomKey::root(5)).unwrap();
            let b = spec.build(RandomKey::root(5)).unwrap();
            assert_eq!(a, b);
            let c = spec.build(RandomKey::root(6)).unwrap();
            assert_ne!(a.inputs_f64(Split::Train), c.inputs_f64(Split::Train));
            assert_eq!(a.spec().input_shape, vec![5]);
        }
    }

    #[test]
    fn rotation_keeps_norms_and_moves_directions() {
        let mut spec = sign_coded(&[(0.5, &[1.0, 2.0]), (0.5, &[0.0, 1.0])]);
        spec.extra_dims = 4;
        let plain = spec.build(RandomKey::root(9)).unwrap();
        spec.rotate = true;
        let rot = spec.build(RandomKey::root(9)).unwrap();
        let norms = |ds: &InMemoryDataset| -> Vec<f64> {
            ds.inputs_f64(Split::Train)
                .chunks(6)
                .map(|r| r.iter().map(|v| v * v).sum::<f64>().sqrt())
                .collect()
        };
        for (a, b) in norms(&plain).iter().zip(norms(&rot)) {
            assert!((a - b).abs() < 1e-12, "{a} {b}");
        }
        let fd = rot.feature_design().unwrap();
        let dirs: Vec<&Vec<f64>> = fd.features.iter().map(|f| &f.direction).collect();
        let dot: f64 = dirs[0].iter().zip(dirs[1]).map(|(a, b)| a * b).sum();
        assert!(dot.abs() < 1e-12);
        assert!(dirs[0].iter().filter(|v| v.abs() > 1e-6).count() > 1);
        // Same order and members as without rotation.
        let fp = plain.feature_design().unwrap();
        for i in 0..spec.train {
            assert_eq!(fd.members(Split::Train, i), fp.members(Split::Train, i));
        }
        let x = rot.inputs_f64(Split::Train);
        for i in 0..spec.train {
            let clean = fd.clean_input(Split::Train, i);
            for (a, b) in x[6 * i..6 * i + 6].iter().zip(&clean) {
                assert!((a - b).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn mistakes_name_the_field() {
        let err = |s: BinaryFeaturesSpec| s.build(RandomKey::root(0)).unwrap_err().to_string();
        let e = err(exclusive(&[0.5, 0.6], &[1.0, 1.0]));
        assert!(e.contains("data.features[*].frequency"), "{e}");
        let e = err(exclusive(&[1.0, 0.0], &[1.0, 1.0]));
        assert!(e.contains("data.features[1].frequency"), "{e}");
        let e = err(exclusive(&[0.5, 0.5], &[1.0, -1.0]));
        assert!(e.contains("data.features[1].norm"), "{e}");
        let e = err(sign_coded(&[(0.5, &[1.0]), (0.4, &[1.0])]));
        assert!(e.contains("data.groups[*].fraction"), "{e}");
        let e = err(sign_coded(&[(-0.5, &[1.0]), (1.5, &[1.0])]));
        assert!(e.contains("data.groups[0].fraction"), "{e}");
        let e = err(sign_coded(&[(0.5, &[1.0]), (0.5, &[-1.0])]));
        assert!(e.contains("data.groups[1].amplitudes[0]"), "{e}");
        let e = err(sign_coded(&[(0.5, &[1.0]), (0.5, &[1.0, 2.0])]));
        assert!(e.contains("data.groups[1].amplitudes"), "{e}");
        let mut s = exclusive(&[0.5, 0.5], &[1.0, 1.0]);
        s.groups = sign_coded(&[(1.0, &[1.0])]).groups;
        assert!(err(s).contains("data.groups"));
    }

    #[test]
    fn transforms_keep_select_or_drop_the_design() {
        use crate::transform::{apply_transforms, TransformConfig};
        let ds = exclusive(&[0.5, 0.25, 0.25], &[1.0, 2.0, 3.0])
            .build(RandomKey::root(4))
            .unwrap();
        let list = |text: &str| -> Vec<TransformConfig> {
            #[derive(serde::Deserialize)]
            struct L {
                transforms: Vec<TransformConfig>,
            }
            toml::from_str::<L>(text).unwrap().transforms
        };
        // A subset keeps the design of the kept examples (frequencies recomputed); label maps
        // and reshapes keep it.
        let kept = apply_transforms(
            ds.clone(),
            &list(
                "[[transforms]]\nkind = \"subset\"\nper_class = 50\n\
                 [[transforms]]\nkind = \"flatten\"\n\
                 [[transforms]]\nkind = \"binary\"\npositive = [1]\nencoding = \"plus_minus_one\"",
            ),
            RandomKey::root(1),
        )
        .unwrap();
        let fd = kept.feature_design().expect("kept");
        assert_eq!(fd.len(Split::Train), 100);
        let x = kept.inputs_f64(Split::Train);
        for i in 0..100 {
            assert_eq!(&x[3 * i..3 * i + 3], &fd.clean_input(Split::Train, i)[..]);
        }
        let total: f64 = fd.features.iter().map(|f| f.frequency).sum();
        assert!((total - 1.0).abs() < 1e-12);
        // PCA changes the inputs: dropped.
        let pca = apply_transforms(
            ds,
            &list("[[transforms]]\nkind = \"pca\"\ncomponents = 2\ncentred = true"),
            RandomKey::root(1),
        )
        .unwrap();
        assert!(pca.feature_design().is_none());
    }

    #[test]
    fn parses_from_toml() {
        let s: BinaryFeaturesSpec = toml::from_str(
            "layout = \"exclusive\"\ntrain = 10\ntest = 4\n\
             features = [{ norm = 1, frequency = 0.8 }, { norm = 2.0, frequency = 0.2, label = 0 }]",
        )
        .unwrap();
        assert_eq!(s.features[1].label, Some(0));
        let ds = s.build(RandomKey::root(0)).unwrap();
        assert_eq!(ds.feature_design().unwrap().features[1].frequency, 0.2);
        assert!(toml::from_str::<BinaryFeaturesSpec>(
            "layout = \"exclusive\"\ntrain = 1\ntest = 1\nnois = 1"
        )
        .is_err());
    }
}
