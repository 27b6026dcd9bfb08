//! The study configuration: the contract's defaults, the label tree, errors that name the key.

use learnscope_human::StudyConfig;

use crate::tiny;

fn tiny_text() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/tiny.toml"
    ))
    .unwrap()
}

fn err_of(text: &str) -> String {
    StudyConfig::parse(text, "t.toml").unwrap_err().to_string()
}

#[test]
fn the_demo_study_is_the_contracts_8_item_14_label_tree() {
    let c = StudyConfig::demo();
    assert_eq!((c.n_items(), c.n_labels()), (8, 14));
    assert_eq!(c.attention_label().label, 14);
    assert_eq!(c.attention_label().level, -1);
    let labels = c.labels();
    assert_eq!(labels[0].text, "DAXEN");
    assert_eq!(labels[2].text, "blick");
    assert_eq!(labels[13].text, "Yoon");
    assert_eq!(labels.iter().filter(|l| l.level == 1).count(), 2);
    assert_eq!(labels.iter().filter(|l| l.level == 3).count(), 8);
    // item i carries floor(i n_l / P) of each level
    assert_eq!(c.targets(0), vec![0, 2, 6]);
    assert_eq!(c.targets(3), vec![0, 3, 9]);
    assert_eq!(c.targets(7), vec![1, 5, 13]);
    let br = c.base_rates();
    assert_eq!((br[0], br[2], br[13]), (0.5, 0.25, 0.125));
    assert_eq!(c.protocol.days, 3);
    assert_eq!(c.timing.feedback_ms, 1500);
    assert_eq!(c.completion.completed, "C1OCSDONE");
}

#[test]
fn a_root_label_comes_first_at_level_0_with_base_rate_1() {
    let text = tiny_text().replace("root = \"\"", "root = \"ZORK\"");
    let c = StudyConfig::parse(&text, "t.toml").unwrap();
    assert_eq!(c.n_labels(), 7);
    assert_eq!(c.labels()[0].level, 0);
    assert_eq!(c.targets(2), vec![0, 2, 5]);
    assert_eq!(c.base_rates()[0], 1.0);
    assert_eq!(c.attention_label().label, 7);
    assert_eq!(c.level_of(7), Some(-1));
}

#[test]
fn the_tiny_fixture_is_the_contracts_test_study() {
    let c = tiny();
    assert_eq!((c.n_items(), c.n_labels()), (4, 6));
    assert_eq!(c.protocol.blocks_per_day, 1);
    assert_eq!(c.protocol.reps_per_block, 2);
    assert_eq!(c.protocol.attention_checks_per_day, 1);
    assert_eq!(
        (c.protocol.min_gap_hours, c.protocol.max_gap_hours),
        (0.0, 48.0)
    );
    assert_eq!(
        (
            c.timing.feedback_ms,
            c.timing.fixation_ms,
            c.timing.iti_ms,
            c.timing.redirect_delay_ms
        ),
        (10, 0, 0, 0)
    );
}

#[test]
fn unknown_keys_and_wrong_types_name_the_key_path() {
    let e = err_of(&tiny_text().replace("[timing]", "[timing]\nfeedbak_ms = 3"));
    assert!(e.contains("timing") && e.contains("feedbak_ms"), "{e}");
    assert!(e.contains("t.toml"), "{e}");
    assert!(e.contains("line"), "{e}");
    let e = err_of(&tiny_text().replace("days = 3", "days = \"three\""));
    assert!(e.contains("protocol.days"), "{e}");
    let e = err_of(&tiny_text().replace("[completion]", "[completions]"));
    assert!(e.contains("completions"), "{e}");
}

#[test]
fn invalid_values_name_the_key() {
    let cases = [
        ("id = \"tiny\"", "id = \"Tiny Study\"", "study.id"),
        (
            "[\"DAXEN\", \"WUGGA\"]",
            "[\"DAXEN\", \"WUGGA\", \"X\"]",
            "labels.levels[0]",
        ),
        (
            "levels = [[\"DAXEN\", \"WUGGA\"], [\"Kiv\", \"Lo\", \"Mep\", \"Tade\"]]",
            "levels = [[\"DAXEN\", \"WUGGA\", \"A\", \"B\"], [\"Kiv\", \"Lo\", \"Mep\", \"Tade\"]]",
            "labels.levels[1]",
        ),
        ("\"Tade\"", "\"Kiv\"", "labels.levels[1]"),
        (
            "attention = \"ZUP\"",
            "attention = \"lo\"",
            "labels.attention",
        ),
        (
            "max_gap_hours = 48.0",
            "max_gap_hours = 0.0",
            "protocol.max_gap_hours",
        ),
        (
            "min_gap_hours = 0.0",
            "min_gap_hours = -1.0",
            "protocol.min_gap_hours",
        ),
        (
            "blocks_per_day = 1",
            "blocks_per_day = 0",
            "protocol.blocks_per_day",
        ),
        ("url = \"https", "url = \"ftp", "completion.url"),
        (
            "completed = \"C1TINYDONE\"",
            "completed = \"a b\"",
            "completion.completed",
        ),
    ];
    for (from, to, key) in cases {
        let text = tiny_text().replacen(from, to, 1);
        assert_ne!(text, tiny_text(), "{from} not in the fixture");
        let e = err_of(&text);
        assert!(e.contains(&format!("`{key}`")), "{to}: {e}");
    }
}

#[test]
fn a_missing_file_names_the_path() {
    let e = StudyConfig::load(std::path::Path::new("/nonexistent/study.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/study.toml"), "{e}");
}
