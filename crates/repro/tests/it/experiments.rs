//! Every preset in `experiments/` parses and validates, and builds its trainer: run
//! configurations directly, reproduce presets (files with a `[[verdict]]` table) at every size
//! (a configuration whose `data.dir` names files the user brings is only validated when they are
//! absent).

use learnscope_nn::CpuBackend;
use learnscope_probes::build_probes;
use learnscope_repro::{Preset, Size};
use learnscope_train::config::RunConfig;
use learnscope_train::plan::build_parts;

#[test]
fn every_experiment_preset_is_valid() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments");
    let (mut n, mut presets) = (0, 0);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let table: toml::Table = text
            .parse()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let configs = if table.contains_key("verdict") {
            let preset =
                Preset::from_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            presets += 1;
            // Every run is planned (and its configuration validated); parts are built for one
            // run per (size, arm): seeds do not change what gets built, and building loads data
            // and fits probes (e.g. a PCA of Fashion-MNIST), which is slow in a debug build.
            let mut configs = Vec::new();
            for size in [Size::Smoke, Size::Quick, Size::Full] {
                let mut seen = std::collections::BTreeSet::new();
                for run in preset
                    .plan(size, &[])
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                {
                    if seen.insert(run.arm.clone()) {
                        configs.push(run.config);
                    }
                }
            }
            configs
        } else {
            vec![RunConfig::parse(&text, &[]).unwrap_or_else(|e| panic!("{}: {e}", path.display()))]
        };
        // Configurations for data users bring (CIFAR-10 at the paper's size) are parsed and
        // validated above; their parts are built only when the files are there.
        let user_dir = table
            .get("data")
            .and_then(|d| d.get("dir"))
            .and_then(|d| d.as_str())
            .map(|d| dir.join("..").join(d));
        if user_dir.is_some_and(|d| !d.exists()) {
            n += 1;
            continue;
        }
        for cfg in configs {
            build_parts(&cfg, CpuBackend::new(1), |ctx| {
                build_probes(&cfg.probes, ctx)
            })
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
        n += 1;
    }
    assert!(n >= 1 && presets >= 1);
    // Embedded presets are the committed files.
    for (name, text) in learnscope_repro::preset::EMBEDDED {
        let file = dir.join(format!("{name}-verdict.toml"));
        assert_eq!(
            *text,
            std::fs::read_to_string(&file).unwrap(),
            "{}",
            file.display()
        );
    }
    assert_eq!(
        learnscope_repro::demo::DEMO_TOML,
        std::fs::read_to_string(dir.join("demo.toml")).unwrap()
    );
}
