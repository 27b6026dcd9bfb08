//! Every generator kind builds from TOML, `[[transforms]]` apply in order, and mistakes are
//! errors that name the field or the transform's index.

use learnscope_data::{Split, TargetData, TargetKind};
use learnscope_train::config::RunConfig;
use learnscope_train::plan::build_data;

fn config(data: &str, transforms: &str) -> Result<RunConfig, String> {
    let text = format!(
        r#"
name = "t"
steps = 1
[data]
{data}
[model]
kind = "mlp"
hidden = [4]
activation = "relu"
[loss]
kind = "cross_entropy"
[optimizer]
kind = "sgd"
[lr]
base = 0.1
{transforms}
"#
    );
    RunConfig::parse(&text, &[]).map_err(|e| e.to_string())
}

#[test]
fn every_generator_kind_builds_with_its_defaults_and_is_seeded() {
    let cases = [
        ("kind = \"mnist1d\"\ntrain = 50\ntest = 20", vec![40], 10),
        ("kind = \"gaussian_mixture\"", vec![16], 4),
        (
            "kind = \"nonlinear_teacher\"\ntarget = \"classes\"\noutputs = 3",
            vec![32],
            3,
        ),
        ("kind = \"two_moons\"", vec![2], 2),
    ];
    for (data, shape, classes) in cases {
        let cfg = config(data, "").unwrap_or_else(|e| panic!("{data}: {e}"));
        let ds = build_data(&cfg).unwrap();
        assert_eq!(ds.spec().input_shape, shape, "{data}");
        assert_eq!(ds.spec().target, TargetKind::Classes { classes }, "{data}");
        // Same seed, same data; another seed, other data.
        let again = build_data(&cfg).unwrap();
        let idx: Vec<usize> = (0..ds.spec().train_len).collect();
        let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
        ds.gather_inputs(Split::Train, &idx, &mut a);
        again.gather_inputs(Split::Train, &idx, &mut b);
        assert_eq!(a, b, "{data}");
        let mut other = cfg.clone();
        other.seed = 1;
        build_data(&other)
            .unwrap()
            .gather_inputs(Split::Train, &idx, &mut c);
        assert_ne!(a, c, "{data}");
    }
    let cfg = config("kind = \"sinusoid\"", "").unwrap();
    let ds = build_data(&cfg).unwrap();
    assert_eq!(ds.spec().input_shape, vec![1]);
    assert_eq!(ds.spec().target, TargetKind::Dense { outputs: 1 });
}

#[test]
fn transforms_apply_in_order() {
    let cfg = config(
        "kind = \"gaussian_mixture\"\nclasses = 4\ndim = 8",
        r#"
[[transforms]]
kind = "select_classes"
classes = [3, 1]
[[transforms]]
kind = "pca"
components = 2
centred = true
[[transforms]]
kind = "binary"
positive = [1]
encoding = "plus_minus_one"
"#,
    )
    .unwrap();
    let ds = build_data(&cfg).unwrap();
    assert_eq!(ds.spec().input_shape, vec![2]);
    assert_eq!(ds.spec().train_len, 2 * 256);
    assert_eq!(ds.spec().target, TargetKind::Dense { outputs: 1 });
    let TargetData::Dense(y) = ds.targets(Split::Train) else {
        panic!("binary ±1 targets are dense");
    };
    // Class 3 became label 0 (→ −1), class 1 became label 1 (→ +1); balanced classes.
    assert_eq!(y.iter().filter(|v| **v == 1.0).count(), 256);
    assert_eq!(y.iter().filter(|v| **v == -1.0).count(), 256);
    // The resolved config round-trips with its transforms.
    let again = RunConfig::parse(&cfg.to_toml(), &[]).unwrap();
    assert_eq!(again, cfg);
}

#[test]
fn transform_mistakes_name_the_field_or_the_index() {
    let typo = config(
        "kind = \"two_moons\"",
        "[[transforms]]\nkind = \"pca\"\ncomponent = 1\ncentred = true",
    )
    .unwrap_err();
    assert!(typo.contains("component"), "{typo}");
    let cfg = config(
        "kind = \"two_moons\"",
        "[[transforms]]\nkind = \"flatten\"\n[[transforms]]\nkind = \"pca\"\ncomponents = 5\ncentred = true",
    )
    .unwrap();
    let err = build_data(&cfg)
        .err()
        .expect("5 components of 2-D data")
        .to_string();
    assert!(err.contains("transforms[1]"), "{err}");
    assert!(err.contains("components"), "{err}");
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn file_data_sets_build_from_toml() {
    use learnscope_data::formats::cifar::{encode_cifar, CifarKind};
    use learnscope_data::formats::npy::{encode_npy, NpyArray, NpyDtype, NpyValues};
    use learnscope_data::formats::npz::encode_npz;
    let dir = scratch("file-data");

    // NumPy: u8 images in an .npz archive, int64 labels as .npy files.
    let images = |n: usize| NpyArray {
        dtype: NpyDtype::U8,
        shape: vec![n, 2, 3],
        values: NpyValues::U8((0..n * 6).map(|i| (i % 256) as u8).collect()),
    };
    let labels = |v: Vec<i64>| NpyArray {
        dtype: NpyDtype::I64,
        shape: vec![v.len()],
        values: NpyValues::I64(v),
    };
    let npz = encode_npz(
        &[
            ("x_train.npy".into(), encode_npy(&images(4))),
            ("x_test.npy".into(), encode_npy(&images(2))),
        ],
        true,
    );
    std::fs::write(dir.join("x.npz"), npz).unwrap();
    std::fs::write(
        dir.join("y_train.npy"),
        encode_npy(&labels(vec![0, 1, 2, 1])),
    )
    .unwrap();
    std::fs::write(dir.join("y_test.npy"), encode_npy(&labels(vec![2, 0]))).unwrap();
    let d = dir.display();
    let cfg = config(
        &format!(
            "kind = \"npy\"\ntrain_x = \"{d}/x.npz:x_train\"\ntrain_y = \"{d}/y_train.npy\"\n\
             test_x = \"{d}/x.npz:x_test.npy\"\ntest_y = \"{d}/y_test.npy\"\nscale = 0.5"
        ),
        "",
    )
    .unwrap();
    let ds = build_data(&cfg).unwrap();
    assert_eq!(ds.spec().input_shape, vec![2, 3]);
    assert_eq!(ds.spec().target, TargetKind::Classes { classes: 3 });
    assert_eq!(ds.source_files().len(), 3);
    let mut x = Vec::new();
    ds.gather_inputs(Split::Test, &[1], &mut x);
    assert_eq!(x, (6..12).map(|v| v as f64 * 0.5).collect::<Vec<_>>());
    // A label out of range names its file, element and the allowed range.
    let bad = cfg_with(&cfg, |c| {
        c.replace("y_test.npy\"", "y_test.npy\"\nclasses = 2")
    });
    let err = build_data(&bad).err().unwrap().to_string();
    assert!(
        err.contains("y_train.npy") && err.contains("element 2"),
        "{err}"
    );
    assert!(err.contains("0..2"), "{err}");

    // CSV: a header, the label named, regression targets.
    std::fs::write(dir.join("train.csv"), "a,y,b\n1,0.5,2\n3,1.5,4\n").unwrap();
    std::fs::write(dir.join("test.csv"), "a,y,b\n5,2.5,6\n").unwrap();
    let cfg = config(
        &format!(
            "kind = \"csv\"\ntrain = \"{d}/train.csv\"\ntest = \"{d}/test.csv\"\nlabel = \"y\"\n\
             targets = \"dense\""
        ),
        "",
    )
    .unwrap();
    let ds = build_data(&cfg).unwrap();
    assert_eq!(ds.spec().input_shape, vec![2]);
    assert_eq!(ds.targets(Split::Train), &TargetData::Dense(vec![0.5, 1.5]));
    // The same column by index (a TOML integer); the resolved config round-trips.
    let by_index = cfg_with(&cfg, |c| c.replace("label = \"y\"", "label = 1"));
    assert_ne!(by_index, cfg);
    let ds = build_data(&by_index).unwrap();
    assert_eq!(ds.targets(Split::Train), &TargetData::Dense(vec![0.5, 1.5]));
    assert_eq!(
        RunConfig::parse(&by_index.to_toml(), &[]).unwrap(),
        by_index
    );

    // CIFAR-10: one training batch file is not the standard layout; all five are needed.
    let inner = dir.join("cifar-10-batches-bin");
    std::fs::create_dir_all(&inner).unwrap();
    let batch = |n: usize| {
        let pixels: Vec<u8> = (0..n * 3072).map(|i| (i % 251) as u8).collect();
        let labels: Vec<u32> = (0..n as u32).map(|i| i % 10).collect();
        encode_cifar(CifarKind::Cifar10, &pixels, &labels, &[])
    };
    for i in 1..=5 {
        std::fs::write(inner.join(format!("data_batch_{i}.bin")), batch(3)).unwrap();
    }
    std::fs::write(inner.join("test_batch.bin"), batch(2)).unwrap();
    let cfg = config(&format!("kind = \"cifar10\"\ndir = \"{d}\""), "").unwrap();
    let ds = build_data(&cfg).unwrap();
    assert_eq!(ds.spec().input_shape, vec![3, 32, 32]);
    assert_eq!((ds.spec().train_len, ds.spec().test_len), (15, 2));
    assert_eq!(ds.spec().target, TargetKind::Classes { classes: 10 });
}

fn cfg_with(cfg: &RunConfig, edit: impl Fn(&str) -> String) -> RunConfig {
    RunConfig::parse(&edit(&cfg.to_toml()), &[]).unwrap()
}

#[test]
fn hierarchy_inputs_are_one_hot_by_default_or_seeded_random_features() {
    let ds = build_data(&config("kind = \"hierarchy\"", "").unwrap()).unwrap();
    assert_eq!(ds.spec().input_shape, vec![8]);
    assert_eq!(ds.output_units().map(|u| u.len()), Some(15));
    let random = |seed: u64, extra: &str| {
        let mut cfg = config(
            &format!("kind = \"hierarchy\"\ninputs = \"random\"{extra}"),
            "",
        )
        .unwrap();
        cfg.seed = seed;
        let ds = build_data(&cfg).unwrap();
        let mut x = Vec::new();
        ds.gather_inputs(Split::Train, &(0..8).collect::<Vec<_>>(), &mut x);
        (ds.spec().input_shape.clone(), x)
    };
    let (shape, a) = random(0, "");
    assert_eq!(shape, vec![32]);
    assert_eq!(a, random(0, "").1);
    assert_ne!(a, random(1, "").1);
    assert_eq!(random(0, "\nfeature_dim = 5").0, vec![5]);
    let e = config("kind = \"hierarchy\"\ninputs = \"gaussian\"", "").unwrap_err();
    assert!(e.contains("gaussian") && e.contains("one_hot"), "{e}");
}

#[test]
fn binary_features_build_from_toml_with_their_feature_design() {
    let exclusive = config(
        r#"kind = "binary_features"
layout = "exclusive"
train = 200
test = 100
noise = 0.05
extra_dims = 2
rotate = true
features = [{ norm = 1.0, frequency = 0.45 }, { norm = 1.0, frequency = 0.45 },
            { norm = 2.0, frequency = 0.05 }, { norm = 2.0, frequency = 0.05, label = 1 }]"#,
        "",
    )
    .unwrap();
    let ds = build_data(&exclusive).unwrap();
    assert_eq!(ds.spec().input_shape, vec![6]);
    assert_eq!(ds.spec().target, TargetKind::Classes { classes: 2 });
    let fd = ds.feature_design().expect("binary_features carry a design");
    assert_eq!(fd.features.len(), 4);
    assert_eq!(fd.features[2].frequency, 0.05);
    assert_eq!(fd.len(Split::Test), 100);
    // The resolved config round-trips.
    assert_eq!(
        RunConfig::parse(&exclusive.to_toml(), &[]).unwrap(),
        exclusive
    );

    let signed = config(
        r#"kind = "binary_features"
layout = "sign_coded"
train = 100
test = 50
groups = [{ fraction = 0.8, amplitudes = [1.0, 1.0] }, { fraction = 0.2, amplitudes = [0.0, 1.0] }]"#,
        // Standardisation changes the inputs: the design is dropped.
        "[[transforms]]\nkind = \"standardize\"\nmode = \"per_feature\"",
    )
    .unwrap();
    let ds = build_data(&signed).unwrap();
    assert_eq!(ds.spec().input_shape, vec![2]);
    assert!(ds.feature_design().is_none());

    let bad = config(
        r#"kind = "binary_features"
layout = "exclusive"
train = 10
test = 10
features = [{ norm = 1.0, frequency = 0.5 }, { norm = 1.0, frequency = 0.4 }]"#,
        "",
    )
    .unwrap();
    let err = build_data(&bad)
        .err()
        .expect("frequencies sum to 0.9")
        .to_string();
    assert!(err.contains("data.features[*].frequency"), "{err}");
}

#[test]
fn data_seed_fixes_the_data_while_seed_varies() {
    let base = config(
        "kind = \"gaussian_mixture\"\nclasses = 3\ndim = 5",
        "[[transforms]]\nkind = \"subset\"\nper_class = 20\ntest = true",
    )
    .unwrap();
    let with = |seed: u64, data_seed: Option<u64>| {
        let mut c = base.clone();
        c.seed = seed;
        c.data_seed = data_seed;
        let ds = build_data(&c).unwrap();
        let n = ds.spec().test_len;
        let mut x = Vec::new();
        ds.gather_inputs(Split::Test, &(0..n).collect::<Vec<_>>(), &mut x);
        x
    };
    // Without `data_seed` the run seed draws the data (and the subset) ...
    assert_ne!(with(1, None), with(2, None));
    // ... with it, every seed sees the same examples, equal to a run whose seed is the data seed.
    assert_eq!(with(1, Some(7)), with(2, Some(7)));
    assert_eq!(with(1, Some(7)), with(7, None));
    // Left out of the resolved config when not given (existing run directories keep their
    // config text), kept when given.
    assert!(!base.to_toml().contains("data_seed"));
    let mut c = base.clone();
    c.data_seed = Some(7);
    assert_eq!(RunConfig::parse(&c.to_toml(), &[]).unwrap(), c);
}
