//! `learnscope human analyse`: a response table of scripted agents → indices, bands, curves.

use crate::common::{learnscope, scratch, text};

/// The 4-item, two-level tree (labels 0, 1 superordinate; 2..6 one per item), two blocks, and
/// the responses of `policy(item, label, target)`.
fn table(agent: &str, policy: impl Fn(u32, u32, bool) -> bool) -> String {
    let mut s = String::new();
    let mut trial = 0;
    for block in 0..2 {
        for item in 0..4u32 {
            for label in 0..6u32 {
                let (level, target) = if label < 2 {
                    (1, label == item / 2)
                } else {
                    (2, label == 2 + item)
                };
                let r = policy(item, label, target);
                s.push_str(&format!(
                    "human,{agent},1,{block},{trial},{item},{label},{level},{},{}\n",
                    u8::from(target),
                    u8::from(r)
                ));
            }
            trial += 1;
        }
    }
    s
}

#[test]
fn analyse_prints_indices_and_bands_and_writes_curves() {
    let dir = scratch("human-analyse");
    let csv = dir.join("responses.csv");
    let mut text_ =
        String::from("agent_kind,agent_id,day,block,trial,item,label,level,target,response\n");
    text_.push_str(&table("p001", |_, _, _| false));
    text_.push_str(&table("p002", |_, _, t| t));
    std::fs::write(&csv, text_).unwrap();
    let curves = dir.join("curves.csv");
    let o = learnscope()
        .args(["human", "analyse"])
        .arg(&csv)
        .arg("--curves")
        .arg(&curves)
        .output()
        .unwrap();
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("96 rows, 2 agents"), "{out}");
    // Level 2 hit rate: 0 for always-no, 1 for perfect → 0.50 ± 0.50 in both blocks.
    assert!(
        out.contains("human level 2 TPR by bin (mean ± SEM): 0.50±0.50 0.50±0.50"),
        "{out}"
    );
    assert!(
        out.contains("human level 2 TNR by bin (mean ± SEM): 1.00±0.00 1.00±0.00"),
        "{out}"
    );
    let c = std::fs::read_to_string(&curves).unwrap();
    // 2 agents × 2 bins × 2 levels + header.
    assert_eq!(c.lines().count(), 9, "{c}");
    assert!(c.contains("human,p001,0,1,0,4,2,1,0,0,"), "{c}");
}

#[test]
fn a_bad_cell_names_the_line_and_column() {
    let dir = scratch("human-bad");
    let csv = dir.join("responses.csv");
    std::fs::write(
        &csv,
        "agent_kind,agent_id,day,block,trial,item,label,level,target,response\nhuman,p1,1,0,0,0,0,1,1,yes\n",
    )
    .unwrap();
    let o = learnscope()
        .args(["human", "analyse"])
        .arg(&csv)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("responses.csv:2: `response` = \"yes\", expected 0 or 1"),
        "{}",
        text(&o)
    );
    std::fs::write(&csv, "agent,day\n").unwrap();
    let o = learnscope()
        .args(["human", "analyse"])
        .arg(&csv)
        .output()
        .unwrap();
    assert!(
        text(&o).contains("responses.csv:1: no column `agent_kind`"),
        "{}",
        text(&o)
    );
}

#[test]
fn simulate_writes_a_table_that_analyse_reads() {
    let dir = scratch("human-simulate");
    let csv = dir.join("vp.csv");
    let o = learnscope()
        .args(["human", "simulate"])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../experiments/human-virtual.toml"
        ))
        .args([
            "--set",
            "steps=64",
            "--agents",
            "2",
            "--block-steps",
            "32",
            "--out",
        ])
        .arg(&csv)
        .output()
        .unwrap();
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    // 2 agents × 3 blocks (steps 0, 32, 64) × 32 trials × 14 labels.
    assert!(out.contains("2688 rows from 2 agents"), "{out}");
    assert!(dir
        .join("vp.csv.runs")
        .join("human-virtual-seed1")
        .join("manifest.json")
        .is_file());
    // People and networks on the same axes: append a scripted "human" who always says no.
    let mut table = std::fs::read_to_string(&csv).unwrap();
    for line in table
        .clone()
        .lines()
        .skip(1)
        .filter(|l| l.contains("seed0"))
    {
        let cells: Vec<&str> = line.split(',').collect();
        table.push_str(&format!("human,p001,{},0\n", cells[2..9].join(",")));
    }
    std::fs::write(&csv, table).unwrap();
    let html = dir.join("vp.html");
    let o = learnscope()
        .args(["human", "analyse"])
        .arg(&csv)
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("network level 3 TNR by bin"),
        "{}",
        text(&o)
    );
    let page = std::fs::read_to_string(&html).unwrap();
    // Levels 1–3 × (TNR, hit rate), d_OCS and V_x; both kinds in every legend.
    assert_eq!(page.matches("<figure>").count(), 8, "{page}");
    assert!(
        page.contains("network (N = 2, mean ± SEM)") && page.contains("human (N = 1, mean ± SEM)")
    );
    assert!(page.contains("OCS responder") && page.contains("50/50 guesser"));
    // Seeded Bernoulli responses are a pure function of (configuration, seeds): the same file twice.
    let a = dir.join("a.csv");
    let b = dir.join("b.csv");
    for f in [&a, &b] {
        let o = learnscope()
            .args(["human", "simulate"])
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../experiments/human-virtual.toml"
            ))
            .args(["--set", "steps=32", "--agents", "1", "--out"])
            .arg(f)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
}
