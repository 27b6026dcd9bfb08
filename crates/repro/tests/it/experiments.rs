//! Every preset in `experiments/` parses and validates, and builds its trainer.

use learnscope_nn::CpuBackend;
use learnscope_probes::build_probes;
use learnscope_train::config::RunConfig;
use learnscope_train::plan::build_parts;

#[test]
fn every_experiment_preset_is_valid() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let cfg =
            RunConfig::parse(&text, &[]).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        build_parts(&cfg, CpuBackend::new(1), |ctx| {
            build_probes(&cfg.probes, ctx)
        })
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        n += 1;
    }
    assert!(n >= 1);
    assert_eq!(
        learnscope_repro::demo::DEMO_TOML,
        std::fs::read_to_string(dir.join("demo.toml")).unwrap()
    );
}
