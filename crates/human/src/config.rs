//! The study configuration (TOML, docs/human-study.md "Study configuration") and the label tree
//! it defines.
//!
//! Why a file of its own: everything the server decides (which labels apply to which item, how
//! many trials a day has, when a day opens) derives from this one value, and a typo in it would
//! silently change the experiment. So unknown keys are errors (`deny_unknown_fields`), every
//! error names the key path, and [`StudyConfig::validate`] checks the rules the schedule relies
//! on (a balanced tree, unique label texts, sane time windows) before anything is served.
//!
//! The label tree: canonical label indices are the root (when `labels.root` is non-empty) first,
//! then level 1's labels, level 2's, …; the deepest level names the items, one per item; item
//! `i` carries label `floor(i · n_l / P)` of level `l` (P items, `n_l` labels on level `l`). The
//! attention label's index is one past the last, at level −1.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{HumanError, Result};

/// The whole study configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyConfig {
    /// `[study]`: identity, ethics, secrets.
    pub study: StudySection,
    /// `[labels]`: the label tree.
    pub labels: LabelsSection,
    /// `[protocol]`: days, blocks, checks, windows.
    #[serde(default)]
    pub protocol: Protocol,
    /// `[timing]`: trial timing for the front end.
    #[serde(default)]
    pub timing: Timing,
    /// `[completion]`: the redirect URL and codes.
    pub completion: Completion,
    /// `[stimuli]`: procedural creatures (default) or the researcher's image files.
    #[serde(default)]
    pub stimuli: StimuliSection,
    /// `[exclusions]`: the thresholds of the pre-registered flags (HUMAN-TASK §2.5).
    #[serde(default)]
    pub exclusions: Exclusions,
}

/// `[exclusions]`: thresholds of the flag-only rules of [`crate::exclusions`] (attention
/// failures use `protocol.max_attention_failures`). Decide them before data collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Exclusions {
    /// A task trial faster than this (ms) counts as fast.
    pub fast_rt_ms: f64,
    /// More than this share of fast trials in a day raises `fast_rt`.
    pub max_fast_share: f64,
    /// More than this share of one response vector on the last day raises `same_response`.
    pub max_same_response_share: f64,
    /// More `visibilitychange`→hidden events than this in a day raises `hidden`.
    pub max_hidden_events: u32,
}

impl Default for Exclusions {
    fn default() -> Self {
        Exclusions {
            fast_rt_ms: 500.0,
            max_fast_share: 0.2,
            max_same_response_share: 0.9,
            max_hidden_events: 10,
        }
    }
}

/// `[stimuli]`: what the items look like. Stimulus k (k < P: the items, P and P + 1: the two
/// practice items) is shown for item `image_of_item⁻¹(k)` of each participant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StimuliSection {
    /// `creatures` (procedural SVG, [`crate::stimuli::creature_svg`]) or `files`.
    pub kind: StimulusKind,
    /// `creatures`: the drawing seed (default: `study.seed`).
    pub seed: Option<u64>,
    /// `files`: the folder, relative to the study file.
    pub dir: String,
    /// `files`: one image per stimulus (PNG, JPEG, WebP, GIF or SVG), P (+ 2 with practice).
    pub files: Vec<String>,
    /// The study file's folder (set by [`StudyConfig::load`]; relative `dir`s resolve here).
    #[serde(skip)]
    pub base: Option<std::path::PathBuf>,
}

impl Default for StimuliSection {
    fn default() -> Self {
        StimuliSection {
            kind: StimulusKind::Creatures,
            seed: None,
            dir: String::new(),
            files: Vec::new(),
            base: None,
        }
    }
}

/// See [`StimuliSection::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StimulusKind {
    /// Procedural SVG creatures.
    Creatures,
    /// Image files.
    Files,
}

/// The content type of an image file name, by extension (lower-cased).
pub fn image_content_type(file: &str) -> Option<&'static str> {
    let ext = file.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        _ => return None,
    })
}

/// `[study]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudySection {
    /// `[a-z0-9-]+`, used in URLs and export file names.
    pub id: String,
    /// Shown to participants.
    pub title: String,
    /// The consent text version, recorded with each consent.
    pub consent_version: String,
    /// The ethics approval reference shown on the consent page.
    pub ethics_reference: String,
    /// The researcher's contact.
    pub contact: String,
    /// Environment variable holding the HMAC-SHA256 key for recruitment IDs.
    #[serde(default = "default_secret_env")]
    pub hmac_secret_env: String,
    /// Environment variable holding the admin bearer token.
    #[serde(default = "default_admin_env")]
    pub admin_token_env: String,
    /// Master seed: participant k's seed derives from it.
    pub seed: u64,
}

fn default_secret_env() -> String {
    "LEARNSCOPE_HUMAN_SECRET".into()
}
fn default_admin_env() -> String {
    "LEARNSCOPE_HUMAN_ADMIN_TOKEN".into()
}

/// `[labels]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelsSection {
    /// One list per level, shallowest first; the last level names the items.
    pub levels: Vec<Vec<String>>,
    /// Non-empty: a base-rate-1 label at level 0.
    #[serde(default)]
    pub root: String,
    /// The attention-check label.
    pub attention: String,
}

/// `[protocol]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Protocol {
    /// Number of days.
    pub days: u32,
    /// Blocks per day.
    pub blocks_per_day: u32,
    /// A block is each item this many times, shuffled.
    pub reps_per_block: u32,
    /// Days ≥ 2 open with a no-feedback probe block.
    pub probe_first_block: bool,
    /// Attention checks per day.
    pub attention_checks_per_day: u32,
    /// More failures than this in a day → the `failed_attention` code.
    pub max_attention_failures: u32,
    /// Day 1: the toy practice block.
    pub practice: bool,
    /// Day 1: the comprehension quiz (front end only).
    pub quiz: bool,
    /// Day d+1 opens this long after day d completed …
    pub min_gap_hours: f64,
    /// … and closes this long after.
    pub max_gap_hours: f64,
}

impl Default for Protocol {
    fn default() -> Self {
        Protocol {
            days: 3,
            blocks_per_day: 8,
            reps_per_block: 4,
            probe_first_block: true,
            attention_checks_per_day: 2,
            max_attention_failures: 1,
            practice: true,
            quiz: true,
            min_gap_hours: 16.0,
            max_gap_hours: 48.0,
        }
    }
}

/// `[timing]` (milliseconds, used by the front end).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timing {
    /// Fixation cross.
    pub fixation_ms: u32,
    /// Feedback display.
    pub feedback_ms: u32,
    /// Inter-trial interval.
    pub iti_ms: u32,
    /// Delay before the completion redirect.
    pub redirect_delay_ms: u32,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            fixation_ms: 300,
            feedback_ms: 1500,
            iti_ms: 300,
            redirect_delay_ms: 3000,
        }
    }
}

/// `[completion]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Completion {
    /// The redirect URL; the code is appended.
    pub url: String,
    /// Code for a completed day.
    pub completed: String,
    /// Code for too many failed attention checks.
    pub failed_attention: String,
    /// Code for screened-out participants.
    pub screened_out: String,
}

/// One label of the tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    /// Canonical index.
    pub label: usize,
    /// Level: 0 root, 1 superordinate, …, deepest = item names; −1 the attention label.
    pub level: i32,
    /// The word shown.
    pub text: String,
}

const DEMO: &str = r#"
[study]
id = "ocs-demo"
title = "Learning names for alien creatures"
consent_version = "2026-11-v1"
ethics_reference = "ETH-0000"
contact = "researcher@example.org"
hmac_secret_env = "LEARNSCOPE_HUMAN_SECRET"
admin_token_env = "LEARNSCOPE_HUMAN_ADMIN_TOKEN"
seed = 20261123

[labels]
levels = [["DAXEN", "WUGGA"], ["blick", "toma", "fep", "zorb"],
          ["Kiv", "Lo", "Mep", "Tade", "Rune", "Sav", "Pell", "Yoon"]]
root = ""
attention = "ZUP"

[protocol]
days = 3
blocks_per_day = 8
reps_per_block = 4
probe_first_block = true
attention_checks_per_day = 2
max_attention_failures = 1
practice = true
quiz = true
min_gap_hours = 16.0
max_gap_hours = 48.0

[timing]
fixation_ms = 300
feedback_ms = 1500
iti_ms = 300
redirect_delay_ms = 3000

[completion]
url = "https://app.prolific.com/submissions/complete?cc="
completed = "C1OCSDONE"
failed_attention = "C1RETURN"
screened_out = "C1SCREEN"
"#;

/// The practice (toy) domain: 2 items × 3 labels, label 0 applies to both, labels 1 and 2 name
/// one item each. Shown with stimuli P and P + 1.
pub const PRACTICE_LABELS: [(&str, i32); 3] = [("round", 1), ("Pim", 2), ("Tal", 2)];

/// Targets of toy item `i` (0 or 1) among [`PRACTICE_LABELS`].
pub fn practice_targets(item: usize) -> Vec<usize> {
    vec![0, 1 + item]
}

fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl StudyConfig {
    /// Read and validate a TOML file.
    pub fn load(path: &Path) -> Result<StudyConfig> {
        let text = std::fs::read_to_string(path).map_err(|source| HumanError::ConfigRead {
            path: path.to_path_buf(),
            source,
        })?;
        let mut cfg = Self::parse(&text, &path.display().to_string())?;
        cfg.stimuli.base = path.parent().map(Path::to_path_buf);
        Ok(cfg)
    }

    /// How many stimuli the study shows: the items, and two practice items with practice on.
    pub fn n_stimuli(&self) -> usize {
        self.n_items() + if self.protocol.practice { 2 } else { 0 }
    }

    /// The file name of stimulus `n` in URLs: `n.svg` for creatures, `n.<ext>` for files.
    pub fn stimulus_file_name(&self, n: usize) -> String {
        match self.stimuli.kind {
            StimulusKind::Creatures => format!("{n}.svg"),
            StimulusKind::Files => {
                let ext = self.stimuli.files[n]
                    .rsplit_once('.')
                    .map_or("img".to_string(), |(_, e)| e.to_ascii_lowercase());
                format!("{n}.{ext}")
            }
        }
    }

    /// Parse and validate TOML text; `source_name` names it in errors.
    pub fn parse(text: &str, source_name: &str) -> Result<StudyConfig> {
        let de =
            toml::Deserializer::parse(text).map_err(|e| toml_error(source_name, text, "", &e))?;
        let cfg: StudyConfig = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            toml_error(source_name, text, &key, e.inner())
        })?;
        cfg.validate(source_name)?;
        Ok(cfg)
    }

    /// The built-in 8-item / 14-label study (the defaults of the contract's example).
    pub fn demo() -> StudyConfig {
        Self::parse(DEMO, "<demo>").expect("the built-in demo study is valid")
    }

    /// The configuration as canonical JSON (stored in the database with its SHA-256).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a config serialises")
    }

    /// Check the rules the schedule and the server rely on.
    pub fn validate(&self, src: &str) -> Result<()> {
        let err = |key: &str, msg: String| Err(HumanError::config(src, key, msg));
        let ex = &self.exclusions;
        for (key, share) in [
            ("exclusions.max_fast_share", ex.max_fast_share),
            (
                "exclusions.max_same_response_share",
                ex.max_same_response_share,
            ),
        ] {
            if !(0.0..=1.0).contains(&share) {
                return err(key, format!("{share} is not a share in [0, 1]"));
            }
        }
        if !(ex.fast_rt_ms.is_finite() && ex.fast_rt_ms >= 0.0) {
            return err(
                "exclusions.fast_rt_ms",
                format!("{} is not a time in ms >= 0", ex.fast_rt_ms),
            );
        }
        let st = &self.stimuli;
        match st.kind {
            StimulusKind::Creatures => {
                if !st.files.is_empty() || !st.dir.is_empty() {
                    return err(
                        "stimuli.files",
                        "`files` and `dir` go with kind = \"files\"".into(),
                    );
                }
            }
            StimulusKind::Files => {
                if st.dir.is_empty() {
                    return err(
                        "stimuli.dir",
                        "kind = \"files\" needs the folder of the images".into(),
                    );
                }
                if st.files.len() != self.n_stimuli() {
                    return err(
                        "stimuli.files",
                        format!(
                            "{} files for {} stimuli ({} items{})",
                            st.files.len(),
                            self.n_stimuli(),
                            self.n_items(),
                            if self.protocol.practice {
                                " + 2 practice items"
                            } else {
                                ""
                            }
                        ),
                    );
                }
                for (k, f) in st.files.iter().enumerate() {
                    if image_content_type(f).is_none() {
                        return err(
                            &format!("stimuli.files[{k}]"),
                            format!("{f:?}: expected .png, .jpg, .jpeg, .webp, .gif or .svg"),
                        );
                    }
                }
            }
        }
        let s = &self.study;
        if !valid_id(&s.id) {
            return err(
                "study.id",
                format!("{:?} must match [a-z0-9-]+ (at most 64 characters)", s.id),
            );
        }
        for (key, v) in [
            ("study.title", &s.title),
            ("study.consent_version", &s.consent_version),
            ("study.hmac_secret_env", &s.hmac_secret_env),
            ("study.admin_token_env", &s.admin_token_env),
        ] {
            if v.trim().is_empty() {
                return err(key, "must not be empty".into());
            }
        }
        let l = &self.labels;
        if l.levels.is_empty() {
            return err(
                "labels.levels",
                "needs at least one level (the item names)".into(),
            );
        }
        let p = l.levels.last().map_or(0, Vec::len);
        if p < 2 {
            return err(
                "labels.levels",
                format!("the last level names the items and needs at least 2 labels, has {p}"),
            );
        }
        let mut prev = 0usize;
        for (i, level) in l.levels.iter().enumerate() {
            let n = level.len();
            let key = format!("labels.levels[{i}]");
            if n == 0 {
                return err(&key, "a level needs at least one label".into());
            }
            if p % n != 0 {
                return err(
                    &key,
                    format!("{n} labels do not divide the {p} items evenly"),
                );
            }
            if i > 0 && (n <= prev || n % prev != 0) {
                return err(&key, format!("{n} labels must be more than, and a multiple of, the previous level's {prev} (a balanced tree grows level by level)"));
            }
            prev = n;
        }
        let mut seen = std::collections::BTreeSet::new();
        let all = l
            .levels
            .iter()
            .enumerate()
            .flat_map(|(i, lv)| lv.iter().map(move |t| (format!("labels.levels[{i}]"), t)))
            .chain((!l.root.is_empty()).then(|| ("labels.root".to_string(), &l.root)))
            .chain(std::iter::once((
                "labels.attention".to_string(),
                &l.attention,
            )));
        for (key, text) in all {
            if text.trim().is_empty() || text.chars().count() > 40 {
                return err(&key, format!("label {text:?} must be 1 to 40 characters"));
            }
            if !seen.insert(text.to_lowercase()) {
                return err(
                    &key,
                    format!(
                        "label {text:?} appears twice (labels are compared case-insensitively)"
                    ),
                );
            }
        }
        let pr = &self.protocol;
        if !(1..=30).contains(&pr.days) {
            return err("protocol.days", format!("{} must be 1 to 30", pr.days));
        }
        if !(1..=100).contains(&pr.blocks_per_day) {
            return err(
                "protocol.blocks_per_day",
                format!("{} must be 1 to 100", pr.blocks_per_day),
            );
        }
        if !(1..=50).contains(&pr.reps_per_block) {
            return err(
                "protocol.reps_per_block",
                format!("{} must be 1 to 50", pr.reps_per_block),
            );
        }
        if pr.attention_checks_per_day > 20 {
            return err(
                "protocol.attention_checks_per_day",
                format!("{} must be at most 20", pr.attention_checks_per_day),
            );
        }
        if !(pr.min_gap_hours.is_finite() && pr.min_gap_hours >= 0.0) {
            return err(
                "protocol.min_gap_hours",
                format!("{} must be a finite number ≥ 0", pr.min_gap_hours),
            );
        }
        if !(pr.max_gap_hours.is_finite() && pr.max_gap_hours > pr.min_gap_hours) {
            return err(
                "protocol.max_gap_hours",
                format!(
                    "{} must be finite and greater than protocol.min_gap_hours ({})",
                    pr.max_gap_hours, pr.min_gap_hours
                ),
            );
        }
        if pr.max_gap_hours > 24.0 * 365.0 {
            return err(
                "protocol.max_gap_hours",
                format!("{} must be at most a year", pr.max_gap_hours),
            );
        }
        let t = &self.timing;
        for (key, v) in [
            ("timing.fixation_ms", t.fixation_ms),
            ("timing.feedback_ms", t.feedback_ms),
            ("timing.iti_ms", t.iti_ms),
            ("timing.redirect_delay_ms", t.redirect_delay_ms),
        ] {
            if v > 60_000 {
                return err(key, format!("{v} must be at most 60000"));
            }
        }
        let c = &self.completion;
        if !(c.url.starts_with("https://") || c.url.starts_with("http://")) {
            return err(
                "completion.url",
                format!("{:?} must start with https:// or http://", c.url),
            );
        }
        for (key, v) in [
            ("completion.completed", &c.completed),
            ("completion.failed_attention", &c.failed_attention),
            ("completion.screened_out", &c.screened_out),
        ] {
            if v.is_empty()
                || !v
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return err(key, format!("{v:?} must be non-empty [A-Za-z0-9_-]"));
            }
        }
        Ok(())
    }

    /// Number of items P.
    pub fn n_items(&self) -> usize {
        self.labels.levels.last().map_or(0, Vec::len)
    }

    /// Number of tree labels (root and levels; the attention label not counted).
    pub fn n_labels(&self) -> usize {
        usize::from(!self.labels.root.is_empty())
            + self.labels.levels.iter().map(Vec::len).sum::<usize>()
    }

    /// The attention label's canonical index (one past the last tree label).
    pub fn attention_label(&self) -> Label {
        Label {
            label: self.n_labels(),
            level: -1,
            text: self.labels.attention.clone(),
        }
    }

    /// The tree labels in canonical order.
    pub fn labels(&self) -> Vec<Label> {
        let mut out = Vec::with_capacity(self.n_labels());
        if !self.labels.root.is_empty() {
            out.push(Label {
                label: 0,
                level: 0,
                text: self.labels.root.clone(),
            });
        }
        for (l, level) in self.labels.levels.iter().enumerate() {
            for text in level {
                out.push(Label {
                    label: out.len(),
                    level: l as i32 + 1,
                    text: text.clone(),
                });
            }
        }
        out
    }

    /// The level of a canonical label (the attention label: −1; None past it).
    pub fn level_of(&self, label: usize) -> Option<i32> {
        if label == self.n_labels() {
            return Some(-1);
        }
        self.labels().get(label).map(|l| l.level)
    }

    /// The canonical labels that apply to `item`, in canonical order: the root (if any) and
    /// label `floor(item · n_l / P)` of each level `l`.
    pub fn targets(&self, item: usize) -> Vec<usize> {
        let p = self.n_items();
        let mut out = Vec::with_capacity(self.labels.levels.len() + 1);
        let mut offset = 0;
        if !self.labels.root.is_empty() {
            out.push(0);
            offset = 1;
        }
        for level in &self.labels.levels {
            let n = level.len();
            out.push(offset + item * n / p);
            offset += n;
        }
        out
    }

    /// Base rate of every tree label (canonical order): 1 for the root, 1/n_l on level l.
    pub fn base_rates(&self) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.n_labels());
        if !self.labels.root.is_empty() {
            out.push(1.0);
        }
        for level in &self.labels.levels {
            out.extend(std::iter::repeat_n(1.0 / level.len() as f64, level.len()));
        }
        out
    }
}

fn toml_error(source_name: &str, text: &str, key: &str, e: &toml::de::Error) -> HumanError {
    let line = e
        .span()
        .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
    HumanError::Config {
        source_name: source_name.to_string(),
        key: if key.is_empty() || key == "." {
            "(document)".into()
        } else {
            key.to_string()
        },
        line,
        message: e.message().trim().to_string(),
    }
}
