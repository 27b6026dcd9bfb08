//! The seeded schedule: counts, balance, determinism, permutations, attention checks.

use std::collections::BTreeMap;

use learnscope_human::schedule::{participant_seed, ParticipantPlan, Phase};
use learnscope_human::StudyConfig;

use crate::tiny;

#[test]
fn the_tiny_days_have_the_documented_counts() {
    let c = tiny();
    let plan = ParticipantPlan::new(&c, participant_seed(c.study.seed, 1));
    let d1 = plan.day(&c, 1);
    assert_eq!(d1.len(), 4 + 8 + 1);
    assert_eq!(d1.iter().filter(|t| t.phase == Phase::Practice).count(), 4);
    assert_eq!(d1.iter().filter(|t| t.phase == Phase::Train).count(), 8);
    assert_eq!(d1.iter().filter(|t| t.phase == Phase::Attention).count(), 1);
    for d in [2, 3] {
        let day = plan.day(&c, d);
        assert_eq!(day.len(), 8);
        assert!(day
            .iter()
            .all(|t| t.phase == Phase::Probe && !t.feedback && t.block == 0));
    }
    // practice: block -1, stimuli P and P+1, each toy item twice
    let practice: Vec<_> = d1.iter().filter(|t| t.phase == Phase::Practice).collect();
    assert!(practice
        .iter()
        .all(|t| t.block == -1 && t.shown == vec![0, 1, 2]));
    assert_eq!(practice.iter().filter(|t| t.image == 4).count(), 2);
    assert_eq!(practice.iter().filter(|t| t.image == 5).count(), 2);
}

#[test]
fn the_demo_days_have_the_documented_counts_and_balance() {
    let c = StudyConfig::demo();
    let plan = ParticipantPlan::new(&c, participant_seed(c.study.seed, 3));
    let d1 = plan.day(&c, 1);
    assert_eq!(d1.len(), 4 + 8 * 32 + 2);
    let d2 = plan.day(&c, 2);
    assert_eq!(d2.len(), 8 * 32 + 2);
    assert!(d2
        .iter()
        .filter(|t| t.block == 0)
        .all(|t| t.phase == Phase::Probe && !t.feedback));
    assert_eq!(d2.iter().filter(|t| t.block == 0).count(), 32);
    for day in [&d1, &d2] {
        // global_trial counts from 0 over the whole list; trial_in_block within blocks
        for (g, t) in day.iter().enumerate() {
            assert_eq!(t.global_trial as usize, g);
        }
        let mut per_block: BTreeMap<i32, Vec<u32>> = BTreeMap::new();
        for t in day.iter() {
            per_block.entry(t.block).or_default().push(t.trial_in_block);
        }
        for v in per_block.values() {
            assert_eq!(*v, (0..v.len() as u32).collect::<Vec<_>>());
        }
        // each item reps_per_block times per block (attention trials aside)
        for b in 0..8 {
            let mut n = [0usize; 8];
            for t in day
                .iter()
                .filter(|t| t.block == b && matches!(t.phase, Phase::Train | Phase::Probe))
            {
                n[t.item] += 1;
            }
            assert_eq!(n, [4; 8], "block {b}");
        }
        // targets are the config's, shown labels are all 14
        for t in day
            .iter()
            .filter(|t| matches!(t.phase, Phase::Train | Phase::Probe))
        {
            assert_eq!(t.targets, c.targets(t.item));
            assert_eq!(t.shown, (0..14).collect::<Vec<_>>());
            assert_eq!(t.image, plan.image_of_item[t.item]);
        }
    }
}

#[test]
fn attention_checks_sit_in_non_probe_blocks_after_the_first_trial() {
    let c = StudyConfig::demo();
    for k in 1..20 {
        let plan = ParticipantPlan::new(&c, participant_seed(c.study.seed, k));
        for day in 1..=3 {
            let checks: Vec<_> = plan
                .day(&c, day)
                .into_iter()
                .filter(|t| t.phase == Phase::Attention)
                .collect();
            assert_eq!(checks.len(), 2);
            for t in checks {
                assert!(t.block >= 1, "day {day}: check in block {}", t.block);
                assert!(t.trial_in_block >= 1);
                assert_eq!(t.targets, vec![14]);
                assert_eq!(t.shown, (0..15).collect::<Vec<_>>());
                assert!(t.feedback);
            }
        }
    }
    // a single-block day uses block 0, unless it is a probe block
    let c = tiny();
    let plan = ParticipantPlan::new(&c, 99);
    let check = plan
        .day(&c, 1)
        .into_iter()
        .find(|t| t.phase == Phase::Attention)
        .unwrap();
    assert_eq!(check.block, 0);
    assert!(check.trial_in_block >= 1);
}

#[test]
fn schedules_are_deterministic_in_the_seed_and_differ_between_participants() {
    let c = StudyConfig::demo();
    let a = ParticipantPlan::new(&c, participant_seed(c.study.seed, 1));
    let b = ParticipantPlan::new(&c, participant_seed(c.study.seed, 1));
    assert_eq!(a, b);
    assert_eq!(a.day(&c, 2), b.day(&c, 2));
    let other = ParticipantPlan::new(&c, participant_seed(c.study.seed, 2));
    assert_ne!(a.day(&c, 1), other.day(&c, 1));
    assert_ne!(a.day(&c, 1), a.day(&c, 2));
    assert_ne!(participant_seed(1, 1), participant_seed(2, 1));
}

#[test]
fn permutations_are_permutations_grouped_by_level() {
    let c = StudyConfig::demo();
    let labels = c.labels();
    let mut distinct_orders = std::collections::BTreeSet::new();
    let mut distinct_words = std::collections::BTreeSet::new();
    for k in 1..30 {
        let plan = ParticipantPlan::new(&c, participant_seed(c.study.seed, k));
        let mut img = plan.image_of_item.clone();
        img.sort();
        assert_eq!(img, (0..8).collect::<Vec<_>>());
        let mut lo = plan.label_order.clone();
        lo.sort();
        assert_eq!(lo, (0..14).collect::<Vec<_>>());
        let levels: Vec<i32> = plan.label_order.iter().map(|&l| labels[l].level).collect();
        assert!(levels.windows(2).all(|w| w[0] <= w[1]), "{levels:?}");
        distinct_orders.insert(plan.label_order.clone());
        // The word shown on label j is another label of the same level (a permutation).
        let mut words = plan.word_of_label.clone();
        for (j, &w) in plan.word_of_label.iter().enumerate() {
            assert_eq!(labels[w].level, labels[j].level, "label {j} shows word {w}");
        }
        words.sort();
        assert_eq!(words, (0..14).collect::<Vec<_>>());
        distinct_words.insert(plan.word_of_label.clone());
    }
    assert!(distinct_orders.len() > 20);
    assert!(distinct_words.len() > 20);
}
