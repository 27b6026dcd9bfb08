//! When a probe observes the run: `ProbeSchedule` (distinct from the learning-rate schedule).
//!
//! - `Every { n }`: steps 0, n, 2n, …
//! - `LogDecade { k }`: k steps per decade, log-spaced, always including 0 and 1:
//!   step s is due when ⌊k·log₁₀ s⌋ increases (s = 1, 10^{1/k}, …, rounded up to integers).
//! - `Geometric { base, start }`: 0 and start·baseⁱ for i = 0, 1, … (base 2, start 1: 0, 1, 2,
//!   4, 8, … as P4 needs).
//! - `At { steps }`: exactly these steps.
//! - `EpochEnd`: the last step of every epoch.
//!
//! A step is the number of optimizer updates taken before the observation, so step 0 observes
//! the initial network.

/// A probe's timetable.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ProbeSchedule {
    /// Every n steps, starting at 0.
    Every {
        /// The period (≥ 1).
        n: u64,
    },
    /// k log-spaced steps per decade, including 0 and 1.
    LogDecade {
        /// Steps per decade (≥ 1).
        k: u32,
    },
    /// 0 and start·baseⁱ.
    Geometric {
        /// Ratio (≥ 2).
        base: u64,
        /// First non-zero step (≥ 1).
        #[serde(default = "one")]
        start: u64,
    },
    /// Exactly these steps.
    At {
        /// The steps.
        steps: Vec<u64>,
    },
    /// At the end of every epoch.
    EpochEnd,
}

fn one() -> u64 {
    1
}

impl ProbeSchedule {
    /// Checks the parameters; the error names the field and the rule.
    pub fn validate(&self) -> Result<(), crate::CoreError> {
        let bad = |field, value: u64, rule| {
            Err(crate::CoreError::InvalidSchedule {
                field,
                value: value as f64,
                rule,
            })
        };
        match self {
            ProbeSchedule::Every { n } if *n == 0 => bad("n", 0, ">= 1"),
            ProbeSchedule::LogDecade { k } if *k == 0 => bad("k", 0, ">= 1"),
            ProbeSchedule::Geometric { base, .. } if *base < 2 => bad("base", *base, ">= 2"),
            ProbeSchedule::Geometric { start, .. } if *start == 0 => bad("start", 0, ">= 1"),
            _ => Ok(()),
        }
    }

    /// Whether the probe observes `step`; `epoch_end` says whether `step` ends an epoch.
    pub fn is_due(&self, step: u64, epoch_end: bool) -> bool {
        match self {
            ProbeSchedule::Every { n } => step % n == 0,
            ProbeSchedule::LogDecade { k } => {
                if step <= 1 {
                    return true;
                }
                let bucket = |s: u64| ((*k as f64) * (s as f64).log10() + 1e-9).floor() as i64;
                bucket(step) > bucket(step - 1)
            }
            ProbeSchedule::Geometric { base, start } => {
                if step == 0 {
                    return true;
                }
                if step < *start || step % start != 0 {
                    return false;
                }
                let mut q = step / start;
                while q % base == 0 {
                    q /= base;
                }
                q == 1
            }
            ProbeSchedule::At { steps } => steps.contains(&step),
            ProbeSchedule::EpochEnd => epoch_end,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn due(s: &ProbeSchedule, upto: u64) -> Vec<u64> {
        (0..=upto).filter(|&t| s.is_due(t, false)).collect()
    }

    #[test]
    fn schedules_hit_their_steps() {
        assert_eq!(
            due(&ProbeSchedule::Every { n: 25 }, 100),
            [0, 25, 50, 75, 100]
        );
        assert_eq!(
            due(&ProbeSchedule::Geometric { base: 2, start: 1 }, 70),
            [0, 1, 2, 4, 8, 16, 32, 64]
        );
        assert_eq!(
            due(&ProbeSchedule::Geometric { base: 10, start: 5 }, 600),
            [0, 5, 50, 500]
        );
        // k = 1: one step per decade, the powers of ten.
        assert_eq!(
            due(&ProbeSchedule::LogDecade { k: 1 }, 1000),
            [0, 1, 10, 100, 1000]
        );
        // k = 4: 10^{i/4} rounded up: 1, 2, 4, 6, 10, 18, 32, 57, 100.
        assert_eq!(
            due(&ProbeSchedule::LogDecade { k: 4 }, 100),
            [0, 1, 2, 4, 6, 10, 18, 32, 57, 100]
        );
        assert!(
            ProbeSchedule::EpochEnd.is_due(7, true) && !ProbeSchedule::EpochEnd.is_due(7, false)
        );
        assert!(ProbeSchedule::Every { n: 0 }.validate().is_err());
    }
}
