//! The seeded trial list of one participant on one day (docs/human-study.md "Schedule").
//!
//! Why here and not in the browser: the server must be able to recompute, for any
//! `(participant, day, global_trial)`, which item was shown, which labels were on screen and
//! which of them apply — that is how it stores targets it never takes from the client, and how it
//! refuses labels that were not shown. Everything is a pure function of the participant's seed
//! (derived from the study seed and the participant number with the counter-based
//! [`learnscope_core::RandomKey`]), so nothing but the seed needs storing; the
//! permutations are stored anyway, for audit.
//!
//! A day: day 1 opens with the practice trials (2 toy items × 2, shuffled; block −1) when
//! `practice` is on; then `blocks_per_day` blocks of `reps_per_block × P` trials, each item
//! `reps_per_block` times in a seeded shuffle; on days ≥ 2 block 0 is a no-feedback `probe`
//! block when `probe_first_block`. The attention checks go into the non-probe blocks ≥ 1 (a day
//! with a single block uses its block 0 unless it is a probe block; a day without an eligible
//! block has none): check c goes to the c-th block of a seeded cycle over the eligible blocks,
//! at a seeded position other than the block's first trial.

use learnscope_core::RandomKey;
use serde::Serialize;

use crate::config::{practice_targets, StudyConfig, PRACTICE_LABELS};

/// A trial's phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Day-1 toy practice (block −1).
    Practice,
    /// A feedback trial.
    Train,
    /// A no-feedback trial of a probe block.
    Probe,
    /// An instructed-response attention check.
    Attention,
}

impl Phase {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Practice => "practice",
            Phase::Train => "train",
            Phase::Probe => "probe",
            Phase::Attention => "attention",
        }
    }
}

/// One trial as the server knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrialSpec {
    /// Index in the day's list, from 0.
    pub global_trial: u32,
    /// Block within the day (−1 for practice).
    pub block: i32,
    /// Position within the block.
    pub trial_in_block: u32,
    /// The phase.
    pub phase: Phase,
    /// The item shown: a leaf index, or the toy item (0, 1) in practice.
    pub item: usize,
    /// The stimulus number of the image.
    pub image: usize,
    /// Feedback is shown after the response.
    pub feedback: bool,
    /// Canonical labels shown (practice: toy label indices), canonical order.
    pub shown: Vec<usize>,
    /// Canonical labels that apply (attention: the attention label only).
    pub targets: Vec<usize>,
}

/// A participant's fixed, seeded permutations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantPlan {
    /// The participant's seed.
    pub seed: u64,
    /// `image_of_item[i]`: the stimulus number showing item i.
    pub image_of_item: Vec<usize>,
    /// Canonical tree labels in display order (grouped by level, shuffled within each level).
    pub label_order: Vec<usize>,
    /// `word_of_label[j]`: the canonical label whose configured word label j shows, a seeded
    /// permutation within each level (HUMAN-TASK §2.2: the pseudo-word→node mapping is
    /// random per participant, so no word carries meaning across people). Analysis and storage
    /// use j; only the text on the button changes.
    pub word_of_label: Vec<usize>,
}

/// The seed of participant number `k` (1-based) of a study.
pub fn participant_seed(study_seed: u64, k: u64) -> u64 {
    RandomKey::root(study_seed)
        .derive("participant")
        .at(k)
        .raw()
}

impl ParticipantPlan {
    /// The plan of the participant with seed `seed`.
    pub fn new(cfg: &StudyConfig, seed: u64) -> ParticipantPlan {
        let key = RandomKey::root(seed);
        let image_of_item = key.derive("images").permutation(cfg.n_items());
        let labels = cfg.labels();
        let mut label_order = Vec::with_capacity(labels.len());
        let mut word_of_label: Vec<usize> = (0..labels.len()).collect();
        let levels = cfg.labels.levels.len() as i32;
        for level in 0..=levels {
            let row: Vec<usize> = labels
                .iter()
                .filter(|l| l.level == level)
                .map(|l| l.label)
                .collect();
            let perm = key.derive("labels").at(level as u64).permutation(row.len());
            label_order.extend(perm.into_iter().map(|i| row[i]));
            let words = key.derive("words").at(level as u64).permutation(row.len());
            for (k, &label) in row.iter().enumerate() {
                word_of_label[label] = row[words[k]];
            }
        }
        ParticipantPlan {
            seed,
            image_of_item,
            label_order,
            word_of_label,
        }
    }

    /// The trial list of `day` (1-based).
    pub fn day(&self, cfg: &StudyConfig, day: u32) -> Vec<TrialSpec> {
        day_schedule(cfg, self, day)
    }
}

/// The trial list of one day.
pub fn day_schedule(cfg: &StudyConfig, plan: &ParticipantPlan, day: u32) -> Vec<TrialSpec> {
    let key = RandomKey::root(plan.seed).derive("day").at(u64::from(day));
    let pr = &cfg.protocol;
    let p = cfg.n_items();
    let all_labels: Vec<usize> = (0..cfg.n_labels()).collect();
    let attention = cfg.attention_label().label;
    let mut out: Vec<TrialSpec> = Vec::new();

    if day == 1 && pr.practice {
        let order = key.derive("practice").permutation(4);
        for (t, &o) in order.iter().enumerate() {
            let toy = o % 2;
            out.push(TrialSpec {
                global_trial: 0,
                block: -1,
                trial_in_block: t as u32,
                phase: Phase::Practice,
                item: toy,
                image: p + toy,
                feedback: true,
                shown: (0..PRACTICE_LABELS.len()).collect(),
                targets: practice_targets(toy),
            });
        }
    }

    let blocks = pr.blocks_per_day as usize;
    let is_probe = |b: usize| b == 0 && day >= 2 && pr.probe_first_block;
    let mut eligible: Vec<usize> = (1..blocks).filter(|&b| !is_probe(b)).collect();
    if eligible.is_empty() && !is_probe(0) {
        eligible.push(0);
    }
    // checks per block
    let mut checks = vec![0usize; blocks];
    if !eligible.is_empty() {
        let cycle = key.derive("attention-blocks").permutation(eligible.len());
        for c in 0..pr.attention_checks_per_day as usize {
            checks[eligible[cycle[c % eligible.len()]]] += 1;
        }
    }

    for (b, &m) in checks.iter().enumerate() {
        let bkey = key.derive("block").at(b as u64);
        let n = pr.reps_per_block as usize * p;
        let perm = bkey.derive("order").permutation(n);
        let items: Vec<usize> = perm.into_iter().map(|i| i % p).collect();
        let probe = is_probe(b);
        // The positions of the m checks among n + m slots, never slot 0.
        let slots = bkey.derive("attention-slots").permutation(n + m - 1);
        let mut check_at = vec![false; n + m];
        for &s in slots.iter().take(m) {
            check_at[s + 1] = true;
        }
        let mut next_item = items.into_iter();
        for (t, &is_check) in check_at.iter().enumerate() {
            let spec = if is_check {
                let item = (bkey.derive("attention-item").u64_at(t as u64) % p as u64) as usize;
                let mut shown = all_labels.clone();
                shown.push(attention);
                TrialSpec {
                    global_trial: 0,
                    block: b as i32,
                    trial_in_block: t as u32,
                    phase: Phase::Attention,
                    item,
                    image: plan.image_of_item[item],
                    feedback: true,
                    shown,
                    targets: vec![attention],
                }
            } else {
                let item = next_item.next().expect("n item slots");
                TrialSpec {
                    global_trial: 0,
                    block: b as i32,
                    trial_in_block: t as u32,
                    phase: if probe { Phase::Probe } else { Phase::Train },
                    item,
                    image: plan.image_of_item[item],
                    feedback: !probe,
                    shown: all_labels.clone(),
                    targets: cfg.targets(item),
                }
            };
            out.push(spec);
        }
    }
    for (g, t) in out.iter_mut().enumerate() {
        t.global_trial = g as u32;
    }
    out
}
