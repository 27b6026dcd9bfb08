//! Transform lists and generator specs read from TOML: every kind parses, typos are errors that
//! name the field, a chain runs in order and a failing step is named by its index.

use learnscope_core::RandomKey;
use learnscope_data::synthetic::gaussian_mixture::{GaussianMixtureSpec, NoiseStd};
use learnscope_data::synthetic::mnist1d::Mnist1dSpec;
use learnscope_data::synthetic::nonlinear_teacher::{NonlinearTeacherSpec, TeacherActivation};
use learnscope_data::synthetic::sinusoid::SinusoidSpec;
use learnscope_data::synthetic::two_moons::TwoMoonsSpec;
use learnscope_data::transform::{
    apply_transforms, apply_transforms_fitted, BinaryEncoding, ClassTree, StandardizeMode,
    TransformConfig, TransformFailure, TransformFit,
};
use learnscope_data::{Dataset, Split, TargetData, TargetKind};

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Data {
    transforms: Vec<TransformConfig>,
}

fn parse(s: &str) -> Result<Vec<TransformConfig>, String> {
    toml::from_str::<Data>(s)
        .map(|d| d.transforms)
        .map_err(|e| e.to_string())
}

#[test]
fn every_transform_kind_parses_with_its_defaults() {
    let list = parse(
        r#"
        [[transforms]]
        kind = "select_classes"
        classes = [0, 1, 2, 3]
        [[transforms]]
        kind = "subset"
        per_class = 10
        [[transforms]]
        kind = "standardize"
        mode = "global"
        [[transforms]]
        kind = "flatten"
        [[transforms]]
        kind = "pca"
        components = 3
        centred = false
        [[transforms]]
        kind = "zca"
        centred = true
        [[transforms]]
        kind = "shuffle_labels"
        fraction = 0.1
        [[transforms]]
        kind = "hierarchical"
        groups = [[0, 1], [2, [3]]]
        [[transforms]]
        kind = "binary"
        positive = [1]
        encoding = "plus_minus_one"
        [[transforms]]
        kind = "regression"
        "#,
    )
    .unwrap();
    let kinds: Vec<&str> = list.iter().map(|t| t.kind()).collect();
    assert_eq!(
        kinds,
        [
            "select_classes",
            "subset",
            "standardize",
            "flatten",
            "pca",
            "zca",
            "shuffle_labels",
            "hierarchical",
            "binary",
            "regression"
        ]
    );
    match &list[2] {
        TransformConfig::Standardize(s) => {
            assert_eq!(s.mode, StandardizeMode::Global);
            assert_eq!(s.min_std, 1e-12);
        }
        t => panic!("{t:?}"),
    }
    match &list[1] {
        TransformConfig::Subset(s) => {
            assert!(s.per_class == Some(10) && s.fraction.is_none() && !s.test)
        }
        t => panic!("{t:?}"),
    }
    match &list[5] {
        TransformConfig::Zca(z) => assert_eq!(z.eps, 1e-5),
        t => panic!("{t:?}"),
    }
    match &list[7] {
        TransformConfig::Hierarchical(h) => {
            assert!(!h.root && h.leaves);
            assert_eq!(
                h.groups[1],
                ClassTree::Group(vec![
                    ClassTree::Class(2),
                    ClassTree::Group(vec![ClassTree::Class(3)])
                ])
            );
        }
        t => panic!("{t:?}"),
    }
    match &list[8] {
        TransformConfig::Binary(b) => assert_eq!(b.encoding, BinaryEncoding::PlusMinusOne),
        t => panic!("{t:?}"),
    }
}

#[test]
fn typos_in_transforms_are_errors_naming_the_field_or_kind() {
    let e = parse("[[transforms]]\nkind = \"pca\"\ncomponents = 2\ncentered = true\n").unwrap_err();
    assert!(e.contains("centered"), "{e}");
    let e = parse("[[transforms]]\nkind = \"whiten\"\n").unwrap_err();
    assert!(e.contains("whiten") && e.contains("zca"), "{e}");
    let e = parse("[[transforms]]\nkind = \"pca\"\ncomponents = 2\n").unwrap_err();
    assert!(e.contains("centred"), "{e}");
    let e = parse("[[transforms]]\nkind = \"standardize\"\nmode = \"per_pixel\"\n").unwrap_err();
    assert!(e.contains("per_pixel"), "{e}");
    let e = parse("[[transforms]]\nkind = \"flatten\"\nextra = 1\n").unwrap_err();
    assert!(e.contains("extra"), "{e}");
}

#[test]
fn a_chain_runs_in_order_and_a_failing_step_is_named() {
    let mixture = GaussianMixtureSpec {
        classes: 6,
        dim: 8,
        train_per_class: 50,
        test_per_class: 20,
        ..GaussianMixtureSpec::default()
    };
    let key = RandomKey::root(3);
    let ds = mixture.generate(key).unwrap();
    let list = parse(
        r#"
        [[transforms]]
        kind = "select_classes"
        classes = [5, 0, 2, 3]
        [[transforms]]
        kind = "subset"
        per_class = 30
        [[transforms]]
        kind = "standardize"
        mode = "per_feature"
        [[transforms]]
        kind = "pca"
        components = 4
        centred = true
        [[transforms]]
        kind = "hierarchical"
        groups = [[0, 1], [2, 3]]
        root = true
        "#,
    )
    .unwrap();
    let (out, fits) = apply_transforms_fitted(ds.clone(), &list, key).unwrap();
    assert_eq!(fits.len(), 5);
    assert_eq!(out.spec().train_len, 120);
    assert_eq!(out.spec().test_len, 80);
    assert_eq!(out.spec().input_shape, vec![4]);
    assert_eq!(out.spec().target, TargetKind::Dense { outputs: 1 + 2 + 4 });
    assert!(out
        .spec()
        .name
        .ends_with("+select_classes+subset+standardize+pca+hierarchical"));
    let TransformFit::Pca(b) = &fits[3] else {
        panic!("pca")
    };
    assert_eq!(b.eigenvalues.len(), 8);
    // PCA after per-feature standardisation: the eigenvalues of a correlation matrix sum to d.
    assert!((b.eigenvalues.iter().sum::<f64>() - 8.0).abs() < 1e-10);
    let TargetData::Dense(y) = out.targets(Split::Train) else {
        panic!("dense")
    };
    assert!(y
        .chunks(7)
        .all(|r| r[0] == 1.0 && r[1] + r[2] == 1.0 && r[3..].iter().sum::<f64>() == 1.0));
    assert_eq!(apply_transforms(ds.clone(), &list, key).unwrap(), out);

    let bad = parse(
        r#"
        [[transforms]]
        kind = "flatten"
        [[transforms]]
        kind = "pca"
        components = 9
        centred = true
        "#,
    )
    .unwrap();
    let err = apply_transforms(ds.clone(), &bad, key).unwrap_err();
    assert_eq!((err.index, err.kind), (1, "pca"));
    assert!(matches!(
        err.failure,
        TransformFailure::Field {
            field: "components",
            ..
        }
    ));
    let msg = err.to_string();
    assert!(
        msg.contains("transforms[1]") && msg.contains("components"),
        "{msg}"
    );
}

/// How the lead embeds generator specs: newtype variants of a `kind`-tagged enum.
#[derive(Debug, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum Gen {
    Mnist1d(Mnist1dSpec),
    GaussianMixture(GaussianMixtureSpec),
    NonlinearTeacher(NonlinearTeacherSpec),
    Sinusoid(SinusoidSpec),
    TwoMoons(TwoMoonsSpec),
}

#[test]
fn generator_specs_parse_from_toml_with_defaults_and_reject_typos() {
    let g: Gen = toml::from_str("kind = \"mnist1d\"\ntrain = 100\n").unwrap();
    let Gen::Mnist1d(m) = g else { panic!() };
    assert_eq!(
        m,
        Mnist1dSpec {
            train: 100,
            ..Mnist1dSpec::default()
        }
    );
    let g: Gen = toml::from_str(
        "kind = \"gaussian_mixture\"\nstd = [1.0, 2.0]\ndim = 2\nclasses = 2\nmeans = \"random\"\n",
    )
    .unwrap();
    let Gen::GaussianMixture(m) = g else { panic!() };
    assert_eq!(m.std, NoiseStd::PerDimension(vec![1.0, 2.0]));
    let g: Gen = toml::from_str("kind = \"gaussian_mixture\"\nstd = 0.5\n").unwrap();
    let Gen::GaussianMixture(m) = g else { panic!() };
    assert_eq!(m.std, NoiseStd::Isotropic(0.5));
    let g: Gen = toml::from_str("kind = \"nonlinear_teacher\"\nactivation = \"relu\"\n").unwrap();
    let Gen::NonlinearTeacher(t) = g else {
        panic!()
    };
    assert_eq!(t.activation, TeacherActivation::Relu);
    let g: Gen =
        toml::from_str("kind = \"sinusoid\"\nfrequencies = [1.0, 2.0]\namplitudes = [1.0, 0.5]\n")
            .unwrap();
    let Gen::Sinusoid(s) = g else { panic!() };
    assert_eq!(s.amplitudes, Some(vec![1.0, 0.5]));
    assert!(s.phases.is_none());
    let g: Gen = toml::from_str("kind = \"two_moons\"\n").unwrap();
    let Gen::TwoMoons(t) = g else { panic!() };
    assert_eq!(t, TwoMoonsSpec::default());
    for bad in [
        "kind = \"mnist1d\"\ntrian = 100\n",
        "kind = \"two_moons\"\nnoise = 0.1\n",
        "kind = \"sinusoid\"\nfrequency = [1.0]\n",
    ] {
        let e = toml::from_str::<Gen>(bad).unwrap_err().to_string();
        assert!(e.contains("unknown field"), "{bad}: {e}");
    }
}

#[test]
fn transform_lists_and_generator_specs_round_trip_through_toml() {
    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct All {
        transforms: Vec<TransformConfig>,
        mnist1d: Mnist1dSpec,
        mixture: GaussianMixtureSpec,
        teacher: NonlinearTeacherSpec,
        sinusoid: SinusoidSpec,
        moons: TwoMoonsSpec,
    }
    let transforms = parse(
        r#"
        [[transforms]]
        kind = "subset"
        fraction = 0.5
        [[transforms]]
        kind = "flatten"
        [[transforms]]
        kind = "hierarchical"
        groups = [[0, [1, 2]], 3]
        root = true
        [[transforms]]
        kind = "zca"
        centred = false
        eps = 0.01
        "#,
    )
    .unwrap();
    let all = All {
        transforms,
        mnist1d: Mnist1dSpec::default(),
        mixture: GaussianMixtureSpec {
            std: NoiseStd::PerDimension(vec![1.0; 16]),
            ..GaussianMixtureSpec::default()
        },
        teacher: NonlinearTeacherSpec::default(),
        sinusoid: SinusoidSpec {
            phases: Some(vec![0.5; 10]),
            ..SinusoidSpec::default()
        },
        moons: TwoMoonsSpec::default(),
    };
    let text = toml::to_string(&all).unwrap();
    let back: All = toml::from_str(&text).unwrap();
    assert_eq!(back, all, "{text}");
}
