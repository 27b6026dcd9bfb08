//! `members = N`: an ensemble trained as one batched model writes one run directory per member,
//! and each is byte-identical to the solo run of the `config.toml` it holds (the member's seed
//! `member/i`, the ensemble's data and batch order). Exact equality is the right tolerance: the
//! members share no parameter, the loss of a member's block is computed by the same kernel on
//! the same values, and every update is elementwise per parameter (module docs of
//! `learnscope_models::Ensemble` and `learnscope_nn::loss::grouped`).

use std::path::Path;

use crate::common::{assert_same_file, checkpoint_files, learnscope, scratch, text};

/// `run.rs`'s MLP (separable data, Adam with warmup and a cosine schedule, mid-epoch
/// checkpoints at 48 and 96, probes that evaluate splits, read parameters and take per-example
/// gradients) as an ensemble of three.
fn mlp() -> String {
    crate::run::CONFIG.replace("steps = 100", "steps = 100\nmembers = 3")
}

/// A CNN with batch norm (buffers) and dropout (each member draws its masks from its own key),
/// f32, SGD with momentum, on MNIST-1D sequences reshaped to 1×5×8 images.
fn cnn() -> String {
    format!(
        r#"name = "ens-cnn"
seed = 11
dtype = "f32"
steps = 30
members = 2
{}[loss]
kind = "cross_entropy"
[optimizer]
kind = "sgd"
momentum = 0.9
[lr]
base = 0.05
[training]
batch_size = 8
[[probes]]
kind = "loss"
schedule = {{ kind = "every", n = 5 }}
"#,
        crate::run::CNN_DATA_MODEL
    )
}

/// Runs `config` as an ensemble into `dir/ens`, then each member's own `config.toml` alone into
/// `dir/solo-<i>`, and compares the bytes of metrics and checkpoints.
fn members_match_their_solo_runs(dir: &Path, config: &str, members: usize) {
    let cfg = dir.join("exp.toml");
    std::fs::write(&cfg, config).unwrap();
    let ens = dir.join("ens");
    let out = learnscope()
        .arg("run")
        .arg(&cfg)
        .arg("--out")
        .arg(&ens)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains(&format!("ensemble of {members} networks")),
        "{said}"
    );
    assert!(ens.join("ensemble.toml").is_file());
    let mut seeds = Vec::new();
    for i in 0..members {
        let member = ens.join(format!("member-{i}"));
        let solo = dir.join(format!("solo-{i}"));
        let member_cfg = std::fs::read_to_string(member.join("config.toml")).unwrap();
        assert!(!member_cfg.contains("members"), "{member_cfg}");
        seeds.push(
            member_cfg
                .lines()
                .find(|l| l.starts_with("seed = "))
                .unwrap()
                .to_string(),
        );
        let out = learnscope()
            .arg("run")
            .arg(member.join("config.toml"))
            .arg("--out")
            .arg(&solo)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        assert_same_file(&member.join("metrics.jsonl"), &solo.join("metrics.jsonl"));
        assert_same_file(
            &member.join("metrics.parquet"),
            &solo.join("metrics.parquet"),
        );
        assert!(
            checkpoint_files(&member) == checkpoint_files(&solo),
            "member {i}: checkpoints differ from the solo run's"
        );
        let manifest = std::fs::read_to_string(member.join("manifest.json")).unwrap();
        assert!(manifest.contains("\"completed\""), "{manifest}");
    }
    seeds.sort();
    seeds.dedup();
    assert_eq!(seeds.len(), members, "members must have distinct seeds");
}

#[test]
fn each_member_of_a_batched_mlp_ensemble_is_its_solo_run_byte_for_byte() {
    members_match_their_solo_runs(&scratch("ensemble-mlp"), &mlp(), 3);
}

#[test]
fn each_member_of_a_cnn_ensemble_with_batch_norm_and_dropout_is_its_solo_run() {
    members_match_their_solo_runs(&scratch("ensemble-cnn"), &cnn(), 2);
}

#[test]
fn members_zero_is_refused_with_the_rule() {
    let dir = scratch("ensemble-zero");
    let cfg = dir.join("exp.toml");
    std::fs::write(&cfg, mlp().replace("members = 3", "members = 0")).unwrap();
    let out = learnscope().arg("run").arg(&cfg).output().unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out).contains("`members` = 0 breaks the rule `>= 1`"),
        "{}",
        text(&out)
    );
}

/// An ensemble whose member 1 crashed (manifest left `running`, checkpoints after step 48 and
/// metrics from step 70 on lost, a half-written last line) is continued by `run --resume` on
/// the ensemble directory: finished members are left alone, the crashed one resumes from its
/// own checkpoint and ends byte-identical to the uninterrupted member. `report` reads the
/// ensemble directory as its members.
#[test]
fn resume_of_an_ensemble_directory_continues_the_crashed_member_exactly() {
    let dir = scratch("ensemble-resume");
    let cfg = dir.join("exp.toml");
    std::fs::write(&cfg, mlp()).unwrap();
    for name in ["ens", "crashed"] {
        let out = learnscope()
            .arg("run")
            .arg(&cfg)
            .arg("--out")
            .arg(dir.join(name))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
    }
    let m1 = dir.join("crashed/member-1");
    for step in [96u64, 100] {
        for ext in ["safetensors", "state.json"] {
            std::fs::remove_file(m1.join(format!("checkpoints/step-{step:08}.{ext}"))).unwrap();
        }
    }
    let metrics = std::fs::read_to_string(m1.join("metrics.jsonl")).unwrap();
    let keep: String = metrics
        .lines()
        .filter(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["step"].as_u64().unwrap() < 70
        })
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(
        m1.join("metrics.jsonl"),
        format!("{keep}{{\"step\":70,\"ep"),
    )
    .unwrap();
    let manifest = std::fs::read_to_string(m1.join("manifest.json")).unwrap();
    std::fs::write(
        m1.join("manifest.json"),
        manifest.replace("\"completed\"", "\"running\""),
    )
    .unwrap();
    std::fs::remove_file(m1.join("metrics.parquet")).unwrap();
    let untouched = std::fs::read(dir.join("crashed/member-0/manifest.json")).unwrap();

    let out = learnscope()
        .args(["run", "--resume"])
        .arg(dir.join("crashed"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    for i in 0..3 {
        let (a, b) = (dir.join(format!("ens/member-{i}")), m_dir(&dir, i));
        assert_same_file(&a.join("metrics.jsonl"), &b.join("metrics.jsonl"));
        assert!(checkpoint_files(&a) == checkpoint_files(&b), "member {i}");
    }
    assert_eq!(
        std::fs::read(dir.join("crashed/member-0/manifest.json")).unwrap(),
        untouched,
        "a completed member is not touched"
    );

    let html = dir.join("r.html");
    let out = learnscope()
        .arg("report")
        .arg(dir.join("ens"))
        .arg("--out")
        .arg(&html)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("N = 3"),
        "the three members are aggregated over seeds"
    );
}

fn m_dir(dir: &Path, i: usize) -> std::path::PathBuf {
    dir.join(format!("crashed/member-{i}"))
}

/// Sweeps and reproduce presets address one run directory per row or (arm, seed), so an
/// ensemble there is refused before anything runs, with the reason and the alternative.
#[test]
fn sweeps_and_presets_refuse_members_with_the_reason() {
    let dir = scratch("ensemble-refused");
    let out = learnscope()
        .args([
            "reproduce",
            "demo",
            "--smoke",
            "--set",
            "members=2",
            "--out",
        ])
        .arg(dir.join("r"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out).contains("not supported in reproduce presets"),
        "{}",
        text(&out)
    );
    let cfg = dir.join("sweep.toml");
    std::fs::write(&cfg, format!("{}\n[sweep]\nseeds = 2\n", mlp())).unwrap();
    let out = learnscope()
        .args(["sweep", "plan"])
        .arg(&cfg)
        .arg("--out")
        .arg(dir.join("sw"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out).contains("not supported in sweeps"),
        "{}",
        text(&out)
    );
}
