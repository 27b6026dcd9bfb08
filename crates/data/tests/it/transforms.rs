//! Whole-data-set transforms: standardisation, subsets, class selection, flatten, PCA, ZCA and
//! the label maps, each checked against its defining identity.

use learnscope_core::RandomKey;
use learnscope_data::synthetic::gaussian_mixture::GaussianMixtureSpec;
use learnscope_data::synthetic::gaussian_teacher::{GaussianTeacherSpec, Spectrum};
use learnscope_data::synthetic::hierarchy::HierarchySpec;
use learnscope_data::transform::{
    apply_transforms, apply_transforms_fitted, Binary, BinaryEncoding, ClassTree, Hierarchical,
    Pca, Regression, RegressionEncoding, SelectClasses, ShuffleLabels, Standardize,
    StandardizeMode, Subset, TransformConfig, TransformFailure, TransformFit, Zca,
};
use learnscope_data::{Dataset, DatasetSpec, InMemoryDataset, Split, TargetData, TargetKind};

fn inputs(ds: &dyn Dataset, split: Split) -> Vec<f64> {
    let n = ds.spec().len(split);
    let mut v = Vec::new();
    ds.gather_inputs(split, &(0..n).collect::<Vec<_>>(), &mut v);
    v
}

fn labels(ds: &dyn Dataset, split: Split) -> Vec<u32> {
    match ds.targets(split) {
        TargetData::Classes(l) => l.clone(),
        TargetData::Dense(_) => panic!("expected class labels"),
    }
}

fn dense(ds: &dyn Dataset, split: Split) -> Vec<f64> {
    match ds.targets(split) {
        TargetData::Dense(v) => v.clone(),
        TargetData::Classes(_) => panic!("expected dense targets"),
    }
}

/// A class-labelled data set with inputs of `shape` drawn from `key` (train n, test m).
fn labelled(
    shape: &[usize],
    classes: usize,
    n: usize,
    m: usize,
    key: RandomKey,
) -> InMemoryDataset {
    let d: usize = shape.iter().product();
    let make = |len: usize, name: &str| {
        let k = key.derive(name);
        // Entry a has mean a/d and standard deviation 1 + a/d, so groups differ.
        let x: Vec<f64> = (0..len * d)
            .map(|i| {
                let a = (i % d) as f64 / d as f64;
                a + (1.0 + a) * k.normal_at(i as u64)
            })
            .collect();
        let y = (0..len)
            .map(|i| (k.derive("y").u64_at(i as u64) % classes as u64) as u32)
            .collect();
        (x, TargetData::Classes(y))
    };
    let spec = DatasetSpec {
        name: "t".into(),
        input_shape: shape.to_vec(),
        target: TargetKind::Classes { classes },
        train_len: n,
        test_len: m,
    };
    InMemoryDataset::new(spec, make(n, "train"), make(m, "test")).unwrap()
}

fn one(t: TransformConfig) -> Vec<TransformConfig> {
    vec![t]
}

#[test]
fn standardisation_gives_zero_mean_unit_std_per_group_from_training_statistics() {
    let key = RandomKey::root(1);
    let ds = labelled(&[3, 2, 2], 4, 50, 20, key);
    let cases = [
        (StandardizeMode::PerChannel, 3usize, 4usize),
        (StandardizeMode::PerFeature, 12, 1),
        (StandardizeMode::Global, 1, 12),
    ];
    for (mode, groups, per) in cases {
        let list = one(TransformConfig::Standardize(Standardize {
            mode,
            min_std: 1e-12,
        }));
        let (out, fits) = apply_transforms_fitted(ds.clone(), &list, key).unwrap();
        let TransformFit::Standardize(fit) = &fits[0] else {
            panic!("standardize fit")
        };
        assert_eq!(fit.mean.len(), groups);
        let x = inputs(&out, Split::Train);
        for g in 0..groups {
            let vals: Vec<f64> = x
                .chunks(12)
                .flat_map(|r| (0..12).filter(|&a| fit.group_of[a] == g).map(move |a| r[a]))
                .collect();
            assert_eq!(vals.len(), 50 * per);
            let n = vals.len() as f64;
            let m = vals.iter().sum::<f64>() / n;
            let s = (vals.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n).sqrt();
            assert!(m.abs() < 1e-14, "{mode:?} group {g}: mean {m}");
            assert!((s - 1.0).abs() < 1e-14, "{mode:?} group {g}: std {s}");
        }
        // The test split uses the training statistics.
        let (raw, xt) = (inputs(&ds, Split::Test), inputs(&out, Split::Test));
        for (i, (r, t)) in raw.iter().zip(&xt).enumerate() {
            let g = fit.group_of[i % 12];
            assert!((t - (r - fit.mean[g]) / fit.std[g]).abs() < 1e-12);
        }
        assert_eq!(out.targets(Split::Train), ds.targets(Split::Train));
    }
    // per_channel needs [C, H, W]; the error names the transform.
    let flat = labelled(&[6], 2, 10, 4, key);
    let err = apply_transforms(
        flat.clone(),
        &[
            TransformConfig::Flatten {},
            TransformConfig::Standardize(Standardize {
                mode: StandardizeMode::PerChannel,
                min_std: 1e-12,
            }),
        ],
        key,
    )
    .unwrap_err();
    assert_eq!((err.index, err.kind), (1, "standardize"));
    assert!(err.to_string().contains("transforms[1]"), "{err}");
}

#[test]
fn constant_features_are_only_centred() {
    let spec = DatasetSpec {
        name: "c".into(),
        input_shape: vec![2],
        target: TargetKind::Classes { classes: 2 },
        train_len: 3,
        test_len: 1,
    };
    let ds = InMemoryDataset::new(
        spec,
        (
            vec![5.0, 1.0, 5.0, 2.0, 5.0, 3.0],
            TargetData::Classes(vec![0, 1, 0]),
        ),
        (vec![6.0, 2.0], TargetData::Classes(vec![1])),
    )
    .unwrap();
    let out = apply_transforms(
        ds.clone(),
        &one(TransformConfig::Standardize(Standardize {
            mode: StandardizeMode::PerFeature,
            min_std: 1e-12,
        })),
        RandomKey::root(0),
    )
    .unwrap();
    let s = (2.0f64 / 3.0).sqrt();
    let want = [0.0, -1.0 / s, 0.0, 0.0, 0.0, 1.0 / s];
    let x = inputs(&out, Split::Train);
    assert!(
        x.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-12),
        "{x:?}"
    );
    assert_eq!(inputs(&out, Split::Test), vec![1.0, 0.0]);
}

#[test]
fn stratified_subsets_keep_the_requested_counts_per_class() {
    let key = RandomKey::root(2);
    let ds = labelled(&[3], 3, 300, 90, key);
    let y = labels(&ds, Split::Train);
    let count = |l: &[u32], c: u32| l.iter().filter(|&&v| v == c).count();
    let sub = |per_class, fraction, test, key| {
        apply_transforms_fitted(
            ds.clone(),
            &one(TransformConfig::Subset(Subset {
                per_class,
                fraction,
                test,
            })),
            key,
        )
    };
    let (out, fits) = sub(Some(20), None, false, key).unwrap();
    let TransformFit::Kept(kept) = &fits[0] else {
        panic!("kept")
    };
    let ys = labels(&out, Split::Train);
    assert_eq!(ys.len(), 60);
    for c in 0..3 {
        assert_eq!(count(&ys, c), 20);
    }
    // The kept rows are the original rows, in their original order.
    assert!(kept.train.windows(2).all(|w| w[0] < w[1]));
    let (xo, xs) = (inputs(&ds, Split::Train), inputs(&out, Split::Train));
    for (j, &i) in kept.train.iter().enumerate() {
        assert_eq!(ys[j], y[i]);
        assert_eq!(&xs[j * 3..j * 3 + 3], &xo[i * 3..i * 3 + 3]);
    }
    assert_eq!(out.spec().test_len, 90);
    assert_eq!(sub(Some(20), None, false, key).unwrap().0, out);
    assert_ne!(
        sub(Some(20), None, false, RandomKey::root(3)).unwrap().0,
        out
    );
    // Fractions round per class, and the test split follows with `test = true`.
    let (out, _) = sub(None, Some(0.25), true, key).unwrap();
    for split in [Split::Train, Split::Test] {
        let (orig, new) = (labels(&ds, split), labels(&out, split));
        for c in 0..3 {
            let want = (0.25 * count(&orig, c) as f64).round() as usize;
            assert_eq!(count(&new, c), want, "{split:?} class {c}");
        }
    }
    let err = sub(Some(1000), None, false, key).unwrap_err();
    assert!(
        matches!(
            err.failure,
            TransformFailure::Field {
                field: "per_class",
                ..
            }
        ),
        "{err}"
    );
    assert!(sub(Some(5), Some(0.5), false, key).is_err());
    assert!(sub(None, Some(1.5), false, key).is_err());
}

#[test]
fn class_selection_keeps_and_relabels_in_list_order() {
    let key = RandomKey::root(4);
    let ds = labelled(&[2], 5, 200, 50, key);
    let out = apply_transforms(
        ds.clone(),
        &one(TransformConfig::SelectClasses(SelectClasses {
            classes: vec![3, 1],
        })),
        key,
    )
    .unwrap();
    assert_eq!(out.spec().target, TargetKind::Classes { classes: 2 });
    for split in [Split::Train, Split::Test] {
        let (orig, new) = (labels(&ds, split), labels(&out, split));
        let want: Vec<u32> = orig
            .iter()
            .filter_map(|&c| match c {
                3 => Some(0),
                1 => Some(1),
                _ => None,
            })
            .collect();
        assert_eq!(new, want);
    }
    for bad in [vec![1, 1], vec![7], vec![]] {
        let err = apply_transforms(
            ds.clone(),
            &one(TransformConfig::SelectClasses(SelectClasses {
                classes: bad,
            })),
            key,
        )
        .unwrap_err();
        assert!(matches!(
            err.failure,
            TransformFailure::Field {
                field: "classes",
                ..
            }
        ));
    }
}

#[test]
fn flatten_only_changes_the_shape() {
    let key = RandomKey::root(5);
    let ds = labelled(&[2, 3, 4], 2, 5, 5, key);
    let out = apply_transforms(ds.clone(), &one(TransformConfig::Flatten {}), key).unwrap();
    assert_eq!(out.spec().input_shape, vec![24]);
    assert_eq!(inputs(&out, Split::Train), inputs(&ds, Split::Train));
    assert_eq!(out.targets(Split::Test), ds.targets(Split::Test));
}

/// Gaussian inputs with covariance R diag(λ) Rᵀ (random rotation), plus a mean shift.
fn gaussian(n: usize, lam: Vec<f64>, shift: &[f64], key: RandomKey) -> InMemoryDataset {
    let d = lam.len();
    let spec = GaussianTeacherSpec {
        dim: d,
        outputs: 1,
        train: n,
        test: 100,
        spectrum: Spectrum::Explicit(lam),
        rotate: true,
        noise_std: 0.0,
        teacher_scale: 1.0,
    };
    let ds = spec.build(key).unwrap();
    let mut shifted = ds.spec().clone();
    shifted.name = "shifted".into();
    let mv = |split| {
        let mut x = inputs(&ds, split);
        x.iter_mut()
            .enumerate()
            .for_each(|(i, v)| *v += shift[i % d]);
        (x, ds.targets(split).clone())
    };
    InMemoryDataset::new(shifted, mv(Split::Train), mv(Split::Test)).unwrap()
}

fn moments(x: &[f64], d: usize, centred: bool) -> Vec<f64> {
    let n = (x.len() / d) as f64;
    let mean: Vec<f64> = (0..d)
        .map(|a| x.chunks(d).map(|r| r[a]).sum::<f64>() / n)
        .collect();
    let mut m = vec![0.0; d * d];
    for r in x.chunks(d) {
        for a in 0..d {
            for b in 0..d {
                let (ca, cb) = if centred {
                    (mean[a], mean[b])
                } else {
                    (0.0, 0.0)
                };
                m[a * d + b] += (r[a] - ca) * (r[b] - cb) / n;
            }
        }
    }
    m
}

#[test]
fn pca_recovers_a_known_spectrum_and_diagonalises_the_training_covariance() {
    let lam = vec![9.0, 4.0, 1.0, 0.25, 0.0625];
    let shift = [3.0, -1.0, 0.5, 2.0, 0.0];
    let n = 20_000;
    let key = RandomKey::root(6);
    let ds = gaussian(n, lam.clone(), &shift, key);
    let list = one(TransformConfig::Pca(Pca {
        components: 3,
        centred: true,
    }));
    let (out, fits) = apply_transforms_fitted(ds.clone(), &list, key).unwrap();
    let TransformFit::Pca(basis) = &fits[0] else {
        panic!("pca fit")
    };
    // Sample eigenvalues of a Gaussian covariance fluctuate by ≈ λ√(2/n); 5 of those.
    for (j, (&got, &want)) in basis.eigenvalues.iter().zip(&lam).enumerate() {
        let tol = 5.0 * want * (2.0 / n as f64).sqrt();
        assert!((got - want).abs() < tol, "λ_{j}: {got} vs {want} ± {tol}");
    }
    // The projected training covariance is diag(λ₁, λ₂, λ₃) (to rounding).
    assert_eq!(out.spec().input_shape, vec![3]);
    let c = moments(&inputs(&out, Split::Train), 3, true);
    for a in 0..3 {
        for b in 0..3 {
            let want = if a == b { basis.eigenvalues[a] } else { 0.0 };
            assert!(
                (c[a * 3 + b] - want).abs() < 1e-10,
                "C[{a}{b}] = {}",
                c[a * 3 + b]
            );
        }
    }
    // The test split is projected on the same components with the training mean.
    let (xt, pt) = (inputs(&ds, Split::Test), inputs(&out, Split::Test));
    for i in 0..100 {
        for j in 0..3 {
            let want: f64 = (0..5)
                .map(|a| (xt[i * 5 + a] - basis.mean[a]) * basis.eigenvectors[j * 5 + a])
                .sum();
            assert!((pt[i * 3 + j] - want).abs() < 1e-10);
        }
    }
    // Eigenvectors are orthonormal, their largest-magnitude entry is positive, and P2's
    // sum convention scales the eigenvalues by n.
    let v = &basis.eigenvectors;
    for j in 0..5 {
        for k in 0..5 {
            let dot: f64 = (0..5).map(|a| v[j * 5 + a] * v[k * 5 + a]).sum();
            assert!((dot - if j == k { 1.0 } else { 0.0 }).abs() < 1e-12);
        }
        let row = &v[j * 5..j * 5 + 5];
        let big = row
            .iter()
            .fold(0.0f64, |m, x| if x.abs() > m.abs() { *x } else { m });
        assert!(big > 0.0);
    }
    assert_eq!(
        basis.eigenvalues_as_sums()[0],
        basis.eigenvalues[0] * n as f64
    );
    // Same inputs → bit-identical result.
    assert_eq!(apply_transforms(ds.clone(), &list, key).unwrap(), out);
}

#[test]
fn uncentred_and_centred_moments_differ_by_the_mean_outer_product() {
    let shift = [3.0, -1.0, 0.5, 2.0];
    let key = RandomKey::root(7);
    let ds = gaussian(2000, vec![2.0, 1.0, 0.5, 0.1], &shift, key);
    let fit = |centred| {
        let (out, fits) = apply_transforms_fitted(
            ds.clone(),
            &one(TransformConfig::Pca(Pca {
                components: 4,
                centred,
            })),
            key,
        )
        .unwrap();
        let TransformFit::Pca(b) = fits.into_iter().next().unwrap() else {
            panic!("pca")
        };
        (out, b)
    };
    let ((uo, u), (_, c)) = (fit(false), fit(true));
    assert!(!u.centred && c.centred);
    let (mu, mc) = (u.reconstruct(), c.reconstruct());
    let scale = u.eigenvalues[0];
    for a in 0..4 {
        for b in 0..4 {
            let diff = mu[a * 4 + b] - mc[a * 4 + b];
            let want = c.mean[a] * c.mean[b];
            assert!(
                (diff - want).abs() < 1e-10 * scale,
                "[{a}{b}] {diff} vs {want}"
            );
        }
    }
    // Uncentred PCA diagonalises the projected second moment E[x'x'ᵀ].
    let m = moments(&inputs(&uo, Split::Train), 4, false);
    for a in 0..4 {
        for b in 0..4 {
            let want = if a == b { u.eigenvalues[a] } else { 0.0 };
            assert!((m[a * 4 + b] - want).abs() < 1e-10 * scale);
        }
    }
    // The leading uncentred direction is dominated by the mean (‖x̄‖² ≈ 14.25 ≫ λ₁ = 2).
    assert!(u.eigenvalues[0] > 14.0);
}

#[test]
fn zca_whitens_the_training_moments() {
    let shift = [1.0, -2.0, 0.5, 0.0, 3.0, 1.0];
    let key = RandomKey::root(8);
    let ds = gaussian(3000, vec![5.0, 2.0, 1.0, 0.5, 0.2, 0.05], &shift, key);
    for centred in [true, false] {
        let eps = 1e-6;
        let (out, fits) = apply_transforms_fitted(
            ds.clone(),
            &one(TransformConfig::Zca(Zca { centred, eps })),
            key,
        )
        .unwrap();
        let TransformFit::Zca(fit) = &fits[0] else {
            panic!("zca")
        };
        assert_eq!(out.spec().input_shape, vec![6]);
        let m = moments(&inputs(&out, Split::Train), 6, centred);
        // Whitened moment V diag(λ/(λ+ε)) Vᵀ: off by at most ε/λ_min from I.
        let lmin = *fit.basis.eigenvalues.last().unwrap();
        let tol = 2.0 * fit.eps_absolute / lmin + 1e-10;
        for a in 0..6 {
            for b in 0..6 {
                let want = if a == b { 1.0 } else { 0.0 };
                assert!(
                    (m[a * 6 + b] - want).abs() < tol,
                    "centred {centred} [{a}{b}] {}",
                    m[a * 6 + b]
                );
            }
        }
        // W is symmetric (ZCA, not PCA whitening).
        let w = &fit.whitening;
        assert!((0..36).all(|i| w[i] == w[(i % 6) * 6 + i / 6]));
        let mean_eig = fit.basis.eigenvalues.iter().sum::<f64>() / 6.0;
        assert!((fit.eps_absolute - eps * mean_eig).abs() < 1e-15 * mean_eig);
    }
}

#[test]
fn hierarchical_targets_match_the_depth_three_tree() {
    use ClassTree::{Class as C, Group as G};
    let tree = vec![
        G(vec![G(vec![C(0), C(1)]), G(vec![C(2), C(3)])]),
        G(vec![G(vec![C(4), C(5)]), G(vec![C(6), C(7)])]),
    ];
    let h = Hierarchical {
        groups: tree,
        root: true,
        leaves: true,
    };
    let fit = h.build(8).unwrap();
    // The same 15-unit layout as the built-in 8-item hierarchy.
    let reference = HierarchySpec::eight_items().build().unwrap();
    assert_eq!(fit.targets, reference.targets);
    let levels: Vec<usize> = fit.units.iter().map(|u| u.level).collect();
    assert_eq!(levels, reference.levels);
    // Applied to a data set: each example's row is its class's row.
    let key = RandomKey::root(9);
    let ds = labelled(&[2], 8, 40, 16, key);
    let out = apply_transforms(ds.clone(), &one(TransformConfig::Hierarchical(h)), key).unwrap();
    assert_eq!(out.spec().target, TargetKind::Dense { outputs: 15 });
    for split in [Split::Train, Split::Test] {
        let (l, y) = (labels(&ds, split), dense(&out, split));
        for (i, &c) in l.iter().enumerate() {
            assert_eq!(
                &y[i * 15..i * 15 + 15],
                &fit.targets[c as usize * 15..c as usize * 15 + 15]
            );
        }
    }
    // An unbalanced tree without root: units [0,1,2], [1,2], then leaves 0..4.
    let h2 = Hierarchical {
        groups: vec![G(vec![C(0), G(vec![C(1), C(2)])]), C(3)],
        root: false,
        leaves: true,
    };
    let f2 = h2.build(4).unwrap();
    let classes: Vec<Vec<u32>> = f2.units.iter().map(|u| u.classes.clone()).collect();
    assert_eq!(
        classes,
        vec![
            vec![0, 1, 2],
            vec![1, 2],
            vec![0],
            vec![1],
            vec![2],
            vec![3]
        ]
    );
    let lv: Vec<usize> = f2.units.iter().map(|u| u.level).collect();
    assert_eq!(lv, vec![1, 2, 2, 3, 3, 1]);
    assert_eq!(&f2.targets[6..12], &[1.0, 1.0, 0.0, 1.0, 0.0, 0.0]); // class 1
                                                                     // Every class exactly once.
    assert!(Hierarchical {
        groups: vec![G(vec![C(0), C(1)])],
        root: false,
        leaves: true
    }
    .build(3)
    .is_err());
    assert!(Hierarchical {
        groups: vec![G(vec![C(0), C(0)]), C(1)],
        root: false,
        leaves: true
    }
    .build(2)
    .is_err());
}

#[test]
fn binary_and_regression_targets_have_each_encoding() {
    let key = RandomKey::root(10);
    let ds = labelled(&[2], 4, 30, 10, key);
    let l = labels(&ds, Split::Train);
    let pos = |c: u32| c == 1 || c == 3;
    for (enc, target) in [
        (BinaryEncoding::Classes, TargetKind::Classes { classes: 2 }),
        (
            BinaryEncoding::PlusMinusOne,
            TargetKind::Dense { outputs: 1 },
        ),
        (BinaryEncoding::ZeroOne, TargetKind::Dense { outputs: 1 }),
    ] {
        let out = apply_transforms(
            ds.clone(),
            &one(TransformConfig::Binary(Binary {
                positive: vec![3, 1],
                encoding: enc,
            })),
            key,
        )
        .unwrap();
        assert_eq!(out.spec().target, target);
        let got: Vec<f64> = match out.targets(Split::Train) {
            TargetData::Classes(v) => v.iter().map(|&c| c as f64).collect(),
            TargetData::Dense(v) => v.clone(),
        };
        let neg = if enc == BinaryEncoding::PlusMinusOne {
            -1.0
        } else {
            0.0
        };
        let want: Vec<f64> = l.iter().map(|&c| if pos(c) { 1.0 } else { neg }).collect();
        assert_eq!(got, want);
    }
    assert!(apply_transforms(
        ds.clone(),
        &one(TransformConfig::Binary(Binary {
            positive: vec![0, 1, 2, 3],
            encoding: BinaryEncoding::Classes
        })),
        key
    )
    .is_err());
    let oh = apply_transforms(
        ds.clone(),
        &one(TransformConfig::Regression(Regression::default())),
        key,
    )
    .unwrap();
    assert_eq!(oh.spec().target, TargetKind::Dense { outputs: 4 });
    let y = dense(&oh, Split::Train);
    for (i, &c) in l.iter().enumerate() {
        for k in 0..4 {
            assert_eq!(y[i * 4 + k], if k == c as usize { 1.0 } else { 0.0 });
        }
    }
    let ix = apply_transforms(
        ds.clone(),
        &one(TransformConfig::Regression(Regression {
            encoding: RegressionEncoding::Index,
        })),
        key,
    )
    .unwrap();
    assert_eq!(
        dense(&ix, Split::Test),
        labels(&ds, Split::Test)
            .iter()
            .map(|&c| c as f64)
            .collect::<Vec<_>>()
    );
    // Label maps need class labels.
    let err = apply_transforms(
        ds.clone(),
        &[
            TransformConfig::Regression(Regression::default()),
            TransformConfig::Binary(Binary {
                positive: vec![1],
                encoding: BinaryEncoding::Classes,
            }),
        ],
        key,
    )
    .unwrap_err();
    assert_eq!((err.index, err.kind), (1, "binary"));
    assert!(matches!(err.failure, TransformFailure::Unsupported { .. }));
}

#[test]
fn shuffled_labels_change_exactly_the_requested_number_of_training_labels() {
    let spec = GaussianMixtureSpec {
        classes: 5,
        dim: 5,
        train_per_class: 201,
        test_per_class: 20,
        ..GaussianMixtureSpec::default()
    };
    let key = RandomKey::root(11);
    let ds = spec.generate(key).unwrap();
    let n = 1005;
    for fraction in [0.0, 0.3, 0.5, 1.0] {
        let list = one(TransformConfig::ShuffleLabels(ShuffleLabels { fraction }));
        let (out, fits) = apply_transforms_fitted(ds.clone(), &list, key).unwrap();
        let TransformFit::ShuffleLabels(s) = &fits[0] else {
            panic!("shuffle")
        };
        let (old, new) = (labels(&ds, Split::Train), labels(&out, Split::Train));
        let changed: Vec<usize> = (0..n).filter(|&i| old[i] != new[i]).collect();
        let want = (fraction * n as f64).round() as usize;
        assert_eq!(changed.len(), want, "fraction {fraction}");
        assert_eq!(changed, s.changed);
        assert!(new.iter().all(|&c| c < 5));
        assert_eq!(
            s.original,
            changed.iter().map(|&i| old[i]).collect::<Vec<_>>()
        );
        assert_eq!(out.targets(Split::Test), ds.targets(Split::Test));
        assert_eq!(inputs(&out, Split::Train), inputs(&ds, Split::Train));
        assert_eq!(apply_transforms(ds.clone(), &list, key).unwrap(), out);
    }
    // With all labels replaced, each new label is uniform on the 4 others: about n/4 each
    // way; 5 binomial standard errors.
    let out = apply_transforms(
        ds.clone(),
        &one(TransformConfig::ShuffleLabels(ShuffleLabels {
            fraction: 1.0,
        })),
        key,
    )
    .unwrap();
    let (old, new) = (labels(&ds, Split::Train), labels(&out, Split::Train));
    let up = (0..n).filter(|&i| new[i] == (old[i] + 1) % 5).count() as f64;
    let (p, nf) = (0.25, n as f64);
    assert!(
        (up - p * nf).abs() < 5.0 * (nf * p * (1.0 - p)).sqrt(),
        "up {up}"
    );
    assert!(apply_transforms(
        ds.clone(),
        &one(TransformConfig::ShuffleLabels(ShuffleLabels {
            fraction: 1.5
        })),
        key
    )
    .is_err());
}

#[test]
fn label_maps_and_row_selections_keep_byte_storage() {
    use learnscope_data::InputStorage;
    let spec = DatasetSpec {
        name: "bytes".into(),
        input_shape: vec![1, 2, 2],
        target: TargetKind::Classes { classes: 4 },
        train_len: 8,
        test_len: 4,
    };
    let bytes = |n: usize| InputStorage::U8 {
        bytes: (0..4 * n).map(|i| (i * 7 % 256) as u8).collect(),
        scale: 1.0 / 255.0,
        offset: 0.0,
    };
    let ds = InMemoryDataset::from_storage(
        spec,
        (bytes(8), TargetData::Classes(vec![0, 1, 2, 3, 0, 1, 2, 3])),
        (bytes(4), TargetData::Classes(vec![3, 2, 1, 0])),
    )
    .unwrap();
    let list = vec![
        TransformConfig::SelectClasses(SelectClasses {
            classes: vec![0, 1, 2],
        }),
        TransformConfig::Subset(Subset {
            per_class: Some(1),
            fraction: None,
            test: false,
        }),
        TransformConfig::Binary(Binary {
            positive: vec![0],
            encoding: BinaryEncoding::ZeroOne,
        }),
    ];
    let (out, fits) = apply_transforms_fitted(ds.clone(), &list, RandomKey::root(0)).unwrap();
    assert!(matches!(out.inputs(Split::Train), InputStorage::U8 { .. }));
    let TransformFit::Kept(sel) = &fits[0] else {
        panic!("kept")
    };
    let TransformFit::Kept(sub) = &fits[1] else {
        panic!("kept")
    };
    let orig: Vec<usize> = sub.train.iter().map(|&j| sel.train[j]).collect();
    let mut want = Vec::new();
    ds.gather_inputs(Split::Train, &orig, &mut want);
    assert_eq!(inputs(&out, Split::Train), want);
    // A value-changing transform widens to f64.
    let std = vec![TransformConfig::Standardize(Standardize {
        mode: StandardizeMode::PerChannel,
        min_std: 1e-12,
    })];
    let out = apply_transforms(ds, &std, RandomKey::root(0)).unwrap();
    assert!(matches!(out.inputs(Split::Test), InputStorage::F64(_)));
}
