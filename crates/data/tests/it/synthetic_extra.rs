//! The seeded generators added for MNIST-1D, Gaussian mixtures, nonlinear teachers, sinusoids
//! and two moons: shapes, determinism, and statistics with tolerances from their sampling error.

use learnscope_core::RandomKey;
use learnscope_data::synthetic::gaussian_mixture::{GaussianMixtureSpec, MeanLayout, NoiseStd};
use learnscope_data::synthetic::mnist1d::{
    correlated_noise_kernel, Mnist1dSpec, MNIST1D_TEMPLATES,
};
use learnscope_data::synthetic::nonlinear_teacher::{
    NonlinearTeacherSpec, TeacherActivation, TeacherTarget,
};
use learnscope_data::synthetic::sinusoid::{SinusoidSampling, SinusoidSpec};
use learnscope_data::synthetic::two_moons::TwoMoonsSpec;
use learnscope_data::{Dataset, InMemoryDataset, Split, TargetData, TargetKind};

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

/// Same key → identical data set; another key → different inputs.
fn check_determinism(make: impl Fn(RandomKey) -> InMemoryDataset) {
    let a = make(RandomKey::root(11));
    assert_eq!(a, make(RandomKey::root(11)));
    let b = make(RandomKey::root(12));
    assert_ne!(inputs(&a, Split::Train), inputs(&b, Split::Train));
    assert_ne!(inputs(&a, Split::Test), inputs(&b, Split::Test));
}

#[test]
fn mnist1d_has_the_documented_shape_and_is_a_function_of_the_key() {
    let spec = Mnist1dSpec {
        train: 200,
        test: 50,
        ..Mnist1dSpec::default()
    };
    let ds = spec.generate(RandomKey::root(1)).unwrap();
    assert_eq!(ds.spec().input_shape, vec![40]);
    assert_eq!(ds.spec().target, TargetKind::Classes { classes: 10 });
    assert_eq!((ds.spec().train_len, ds.spec().test_len), (200, 50));
    let y = labels(&ds, Split::Train);
    assert!(y.iter().enumerate().all(|(i, &c)| c as usize == i % 10));
    assert!(inputs(&ds, Split::Train).iter().all(|v| v.is_finite()));
    check_determinism(|k| spec.generate(k).unwrap());
    assert!(Mnist1dSpec {
        scale: 1.0,
        ..spec.clone()
    }
    .generate(RandomKey::root(1))
    .is_err());
}

#[test]
fn mnist1d_without_jitter_or_noise_reproduces_the_templates() {
    // L = 12 and w₀ = 11 put template sample j exactly on canvas position j.
    let spec = Mnist1dSpec {
        train: 10,
        test: 10,
        length: 12,
        pattern_width: 11.0,
        scale: 0.0,
        max_shift: 0.0,
        shear: 0.0,
        corr_noise_std: 0.0,
        corr_noise_width: 2.0,
        iid_noise_std: 0.0,
    };
    let ds = spec.generate(RandomKey::root(5)).unwrap();
    let x = inputs(&ds, Split::Train);
    for (c, t) in MNIST1D_TEMPLATES.iter().enumerate() {
        for j in 0..12 {
            assert!((x[c * 12 + j] - t[j]).abs() < 1e-12, "class {c} sample {j}");
        }
    }
}

#[test]
fn mnist1d_noise_has_the_documented_variance_and_correlation() {
    // The noise streams do not depend on the other settings, so (noisy − noise-free) is the noise
    // alone: variance σ_c² + σ_w², lag-1 covariance σ_c² Σ_k g_k g_{k+1}.
    let noisy = Mnist1dSpec {
        train: 2000,
        test: 10,
        corr_noise_std: 0.5,
        iid_noise_std: 0.2,
        ..Mnist1dSpec::default()
    };
    let clean = Mnist1dSpec {
        corr_noise_std: 0.0,
        iid_noise_std: 0.0,
        ..noisy.clone()
    };
    let key = RandomKey::root(9);
    let (a, b) = (
        inputs(&noisy.generate(key).unwrap(), Split::Train),
        inputs(&clean.generate(key).unwrap(), Split::Train),
    );
    let l = 40;
    let e: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x - y).collect();
    let n = e.len() as f64;
    let var = e.iter().map(|v| v * v).sum::<f64>() / n;
    let lag1 = e
        .chunks(l)
        .flat_map(|r| r.windows(2).map(|w| w[0] * w[1]))
        .sum::<f64>()
        / (2000 * (l - 1)) as f64;
    let g = correlated_noise_kernel(2.0);
    let rho1: f64 = g.windows(2).map(|w| w[0] * w[1]).sum();
    let (want_var, want_lag1) = (0.25 + 0.04, 0.25 * rho1);
    // 80 000 values with correlation length ≈ 2√π ρ ≈ 7: ≈ 11 000 effective samples, relative
    // standard error of a second moment ≈ √(2/11 000) ≈ 1.3 %; 6 % is the tolerance.
    assert!(
        (var - want_var).abs() < 0.06 * want_var,
        "var {var} vs {want_var}"
    );
    assert!(
        (lag1 - want_lag1).abs() < 0.06 * want_var,
        "lag-1 {lag1} vs {want_lag1}"
    );
    // The kernel has unit energy and ρ₁ ≈ exp(−1/(4ρ²)).
    assert!((g.iter().map(|v| v * v).sum::<f64>() - 1.0).abs() < 1e-12);
    assert!((rho1 - (-1.0f64 / 16.0).exp()).abs() < 1e-3, "rho1 {rho1}");
}

#[test]
fn gaussian_mixture_class_statistics_match_within_sampling_error() {
    let spec = GaussianMixtureSpec {
        classes: 3,
        dim: 5,
        train_per_class: 4000,
        test_per_class: 10,
        means: MeanLayout::Orthogonal,
        separation: 2.5,
        std: NoiseStd::PerDimension(vec![0.5, 1.0, 1.5, 1.0, 2.0]),
    };
    let key = RandomKey::root(2);
    let ds = spec.generate(key).unwrap();
    let mu = spec.means(key).unwrap();
    // Orthogonal means: μ_k·μ_l = separation² δ_kl.
    for k in 0..3 {
        for l in 0..3 {
            let dot: f64 = (0..5).map(|a| mu[k * 5 + a] * mu[l * 5 + a]).sum();
            let want = if k == l { 6.25 } else { 0.0 };
            assert!((dot - want).abs() < 1e-12, "μ_{k}·μ_{l} = {dot}");
        }
    }
    let (x, y) = (inputs(&ds, Split::Train), labels(&ds, Split::Train));
    let stds = [0.5, 1.0, 1.5, 1.0, 2.0];
    let n = 4000.0;
    for k in 0..3u32 {
        assert_eq!(y.iter().filter(|&&c| c == k).count(), 4000);
        for a in 0..5 {
            let vals: Vec<f64> = x
                .chunks(5)
                .zip(&y)
                .filter(|(_, &c)| c == k)
                .map(|(r, _)| r[a])
                .collect();
            let m = vals.iter().sum::<f64>() / n;
            let v = vals.iter().map(|t| (t - m).powi(2)).sum::<f64>() / n;
            // Mean: standard error σ/√n; variance: σ²√(2/n); 5 standard errors.
            assert!(
                (m - mu[k as usize * 5 + a]).abs() < 5.0 * stds[a] / n.sqrt(),
                "class {k} dim {a}: mean {m}"
            );
            let s2 = stds[a] * stds[a];
            assert!(
                (v - s2).abs() < 5.0 * s2 * (2.0 / n).sqrt(),
                "class {k} dim {a}: var {v}"
            );
        }
    }
    check_determinism(|k| spec.generate(k).unwrap());
    let random = GaussianMixtureSpec {
        means: MeanLayout::Random,
        ..spec.clone()
    };
    let mr = random.means(key).unwrap();
    for k in 0..3 {
        let norm = (0..5).map(|a| mr[k * 5 + a].powi(2)).sum::<f64>().sqrt();
        assert!((norm - 2.5).abs() < 1e-12);
    }
    assert!(GaussianMixtureSpec {
        dim: 2,
        ..spec.clone()
    }
    .generate(key)
    .is_err());
}

#[test]
fn nonlinear_teacher_targets_are_the_teacher_outputs() {
    for act in [TeacherActivation::Tanh, TeacherActivation::Relu] {
        let spec = NonlinearTeacherSpec {
            dim: 8,
            hidden: 16,
            outputs: 3,
            train: 100,
            test: 20,
            activation: act,
            target: TeacherTarget::Regression,
            noise_std: 0.0,
            bias_std: 0.3,
        };
        let key = RandomKey::root(4);
        let ds = spec.generate(key).unwrap();
        let teacher = spec.teacher(key).unwrap();
        assert_eq!(ds.spec().target, TargetKind::Dense { outputs: 3 });
        for split in [Split::Train, Split::Test] {
            let (x, y) = (inputs(&ds, split), dense(&ds, split));
            for (i, row) in x.chunks(8).enumerate() {
                let f = teacher.forward(row);
                assert_eq!(&y[i * 3..i * 3 + 3], &f[..]);
            }
        }
        // Class targets: the argmax of the same outputs.
        let cls = NonlinearTeacherSpec {
            target: TeacherTarget::Classes,
            ..spec.clone()
        };
        let dc = cls.generate(key).unwrap();
        assert_eq!(dc.spec().target, TargetKind::Classes { classes: 3 });
        let (x, y) = (inputs(&dc, Split::Train), labels(&dc, Split::Train));
        for (row, &c) in x.chunks(8).zip(&y) {
            let f = teacher.forward(row);
            let best = (0..3).fold(0, |b, o| if f[o] > f[b] { o } else { b });
            assert_eq!(c as usize, best);
        }
        check_determinism(|k| spec.generate(k).unwrap());
    }
    assert!(NonlinearTeacherSpec {
        target: TeacherTarget::Classes,
        outputs: 1,
        ..NonlinearTeacherSpec::default()
    }
    .generate(RandomKey::root(0))
    .is_err());
}

#[test]
fn sinusoid_values_and_grid_are_exact() {
    let spec = SinusoidSpec {
        frequencies: vec![1.0, 5.0, 12.0],
        amplitudes: Some(vec![1.0, 0.5, 0.25]),
        phases: Some(vec![0.0, 1.0, 2.0]),
        train: 64,
        test: 32,
        sampling: SinusoidSampling::Grid,
        noise_std: 0.0,
    };
    let ds = spec.generate(RandomKey::root(0)).unwrap();
    let (x, y) = (inputs(&ds, Split::Train), dense(&ds, Split::Train));
    let tau = std::f64::consts::TAU;
    for i in 0..64 {
        assert_eq!(x[i], i as f64 / 64.0);
        let want = (tau * x[i]).sin()
            + 0.5 * (tau * 5.0 * x[i] + 1.0).sin()
            + 0.25 * (tau * 12.0 * x[i] + 2.0).sin();
        assert!((y[i] - want).abs() < 1e-12);
    }
    let xt = inputs(&ds, Split::Test);
    assert!(xt
        .iter()
        .enumerate()
        .all(|(i, &v)| v == (i as f64 + 0.5) / 32.0));
    // On the training grid, the DFT of y has |Y_f| = A_f·n/2 at each integer frequency f < n/2.
    for (f, a) in [(1usize, 1.0), (5, 0.5), (12, 0.25), (3, 0.0)] {
        let (re, im) = (0..64).fold((0.0, 0.0), |(re, im), i| {
            let t = tau * (f * i) as f64 / 64.0;
            (re + y[i] * t.cos(), im - y[i] * t.sin())
        });
        assert!(
            ((re * re + im * im).sqrt() - a * 32.0).abs() < 1e-9,
            "f {f}"
        );
    }
    // Random phases are in [0, 2π) and fixed by the key; uniform inputs are in [0, 1).
    let rnd = SinusoidSpec {
        phases: None,
        sampling: SinusoidSampling::Uniform,
        ..spec.clone()
    };
    let ph = rnd.phases(RandomKey::root(3)).unwrap();
    assert!(ph.iter().all(|p| (0.0..tau).contains(p)));
    assert_eq!(ph, rnd.phases(RandomKey::root(3)).unwrap());
    let dr = rnd.generate(RandomKey::root(3)).unwrap();
    assert!(inputs(&dr, Split::Train)
        .iter()
        .all(|v| (0.0..1.0).contains(v)));
    check_determinism(|k| rnd.generate(k).unwrap());
    assert!(SinusoidSpec {
        amplitudes: Some(vec![1.0]),
        ..spec
    }
    .generate(RandomKey::root(0))
    .is_err());
}

#[test]
fn two_moons_are_balanced_and_lie_on_their_circles() {
    let clean = TwoMoonsSpec {
        train_per_class: 500,
        test_per_class: 100,
        noise_std: 0.0,
        ..TwoMoonsSpec::default()
    };
    let ds = clean.generate(RandomKey::root(8)).unwrap();
    let (x, y) = (inputs(&ds, Split::Train), labels(&ds, Split::Train));
    assert_eq!(ds.spec().input_shape, vec![2]);
    assert_eq!(y.iter().filter(|&&c| c == 1).count(), 500);
    for (p, &c) in x.chunks(2).zip(&y) {
        let (cx, cy) = if c == 0 { (0.0, 0.0) } else { (1.0, 0.5) };
        let r = ((p[0] - cx).powi(2) + (p[1] - cy).powi(2)).sqrt();
        assert!((r - 1.0).abs() < 1e-12);
        // Class 0 is the upper half circle, class 1 the lower one.
        assert!(if c == 0 { p[1] >= 0.0 } else { p[1] <= 0.5 });
    }
    // Noisy class means: (0, 2/π) and (1, ½ − 2/π); per-coordinate variances ½ + σ² and
    // ½ − 4/π² + σ²; tolerance 5 standard errors.
    let noisy = TwoMoonsSpec {
        train_per_class: 5000,
        test_per_class: 10,
        noise_std: 0.2,
        ..TwoMoonsSpec::default()
    };
    let ds = noisy.generate(RandomKey::root(8)).unwrap();
    let (x, y) = (inputs(&ds, Split::Train), labels(&ds, Split::Train));
    let pi = std::f64::consts::PI;
    let sd = [
        (0.5f64 + 0.04).sqrt(),
        (0.5 - 4.0 / (pi * pi) + 0.04).sqrt(),
    ];
    for (c, want) in [(0u32, [0.0, 2.0 / pi]), (1, [1.0, 0.5 - 2.0 / pi])] {
        for a in 0..2 {
            let m = x
                .chunks(2)
                .zip(&y)
                .filter(|(_, &l)| l == c)
                .map(|(p, _)| p[a])
                .sum::<f64>()
                / 5000.0;
            assert!(
                (m - want[a]).abs() < 5.0 * sd[a] / 5000f64.sqrt(),
                "class {c} coord {a}: {m}"
            );
        }
    }
    check_determinism(|k| noisy.generate(k).unwrap());
}
