//! Output-unit metadata (tree level, leaf, name) of hierarchical targets: set by the synthetic
//! hierarchy and by the `hierarchical` transform, carried through transforms that keep the
//! targets, checked against the number of outputs.

use learnscope_core::RandomKey;
use learnscope_data::transform::{apply_transforms, HostData, TransformConfig};
use learnscope_data::{
    Dataset, DatasetSpec, HierarchyInputs, HierarchySpec, InMemoryDataset, OutputUnit, Split,
    TargetData, TargetKind,
};

#[derive(Debug, serde::Deserialize)]
struct Data {
    transforms: Vec<TransformConfig>,
}

fn list(s: &str) -> Vec<TransformConfig> {
    toml::from_str::<Data>(s).unwrap().transforms
}

/// 40 train / 16 test examples of 8 classes with 3 Gaussian inputs.
fn classes8() -> InMemoryDataset {
    let k = RandomKey::root(2);
    let make = |n: usize, name: &str| {
        let x = k.derive(name).normals(n * 3);
        let y = (0..n).map(|i| (i % 8) as u32).collect();
        (x, TargetData::Classes(y))
    };
    let spec = DatasetSpec {
        name: "c8".into(),
        input_shape: vec![3],
        target: TargetKind::Classes { classes: 8 },
        train_len: 40,
        test_len: 16,
    };
    InMemoryDataset::new(spec, make(40, "train"), make(16, "test")).unwrap()
}

const TREE: &str = r#"
[[transforms]]
kind = "hierarchical"
groups = [[[0, 1], [2, 3]], [[4, 5], [6, 7]]]
root = true
"#;

#[test]
fn the_hierarchical_transform_names_its_units() {
    let ds = classes8();
    assert!(ds.output_units().is_none());
    let out = apply_transforms(ds, &list(TREE), RandomKey::root(0)).unwrap();
    let units = out.output_units().expect("hierarchical targets have units");
    assert_eq!(units.len(), 15);
    assert_eq!(
        units[0],
        OutputUnit {
            level: 0,
            leaf: false,
            name: "{0,1,2,3,4,5,6,7}".into()
        }
    );
    assert_eq!(units[1].name, "{0,1,2,3}");
    assert_eq!(units[4].name, "{2,3}");
    assert_eq!(
        units[14],
        OutputUnit {
            level: 3,
            leaf: true,
            name: "7".into()
        }
    );
    assert_eq!(units[4].group(), "level2");
    assert_eq!(units[14].group(), "leaf");
    // Same levels and leaf flags as the synthetic 8-item hierarchy.
    let reference = HierarchySpec::eight_items().build().unwrap();
    for (a, b) in units.iter().zip(&reference.units) {
        assert_eq!((a.level, a.leaf), (b.level, b.leaf));
    }
}

#[test]
fn input_maps_and_row_selections_keep_the_units() {
    let mut t = list(TREE);
    t.extend(list(
        r#"
[[transforms]]
kind = "standardize"
mode = "per_feature"
[[transforms]]
kind = "pca"
components = 2
centred = true
"#,
    ));
    let out = apply_transforms(classes8(), &t, RandomKey::root(0)).unwrap();
    assert_eq!(out.output_units().map(<[_]>::len), Some(15));
    assert_eq!(out.spec().input_shape, vec![2]);
    // The synthetic hierarchy's units survive a transform list too.
    let h = HierarchySpec::eight_items().build().unwrap();
    let out = apply_transforms(
        h.dataset("h8"),
        &list("[[transforms]]\nkind = \"standardize\"\nmode = \"global\"\n"),
        RandomKey::root(0),
    )
    .unwrap();
    assert_eq!(out.output_units().unwrap(), &h.units[..]);
    // HostData round trip.
    let back = HostData::from_dataset(&out).into_dataset().unwrap();
    assert_eq!(back.output_units().unwrap(), &h.units[..]);
}

#[test]
fn label_maps_drop_stale_units() {
    // Metadata attached to class targets cannot be built (validation), and a label map run on
    // a host copy that carries units drops them.
    let ds = classes8();
    let unit = OutputUnit {
        level: 1,
        leaf: false,
        name: "x".into(),
    };
    assert!(ds.clone().with_output_units(vec![unit.clone()]).is_err());
    let mut host = HostData::from_in_memory(ds);
    host.output_units = Some(vec![unit; 8]);
    let t = list("[[transforms]]\nkind = \"select_classes\"\nclasses = [0, 1]\n");
    let (out, _) = t[0].apply(host, RandomKey::root(0)).unwrap();
    assert!(out.output_units.is_none());
}

#[test]
fn unit_count_must_match_the_outputs() {
    let h = HierarchySpec::eight_items().build().unwrap();
    let ds = h.dataset("h8");
    assert!(ds
        .clone()
        .with_output_units(h.units[..14].to_vec())
        .is_err());
    assert!(ds.with_output_units(h.units.clone()).is_ok());
}

#[test]
fn random_feature_hierarchy_is_a_function_of_its_key() {
    let spec = HierarchySpec {
        inputs: HierarchyInputs::Random { dim: 16 },
        ..HierarchySpec::eight_items()
    };
    let key = RandomKey::root(1).derive("data");
    let ds = spec.build_with_key(key).unwrap().dataset("r");
    assert_eq!(ds.spec().input_shape, vec![16]);
    assert_eq!(ds.output_units().map(<[_]>::len), Some(15));
    let mut x = Vec::new();
    ds.gather_inputs(Split::Train, &[3], &mut x);
    let again = spec.build_with_key(key).unwrap();
    assert_eq!(x, again.inputs[3 * 16..4 * 16]);
}
