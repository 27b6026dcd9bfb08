//! Learning-rate schedules: η(step) = warmup(step) · shape(step) · base.
//!
//! Warmup is linear from `base/warmup_steps` at step 0 to `base` at `warmup_steps`
//! (as in Goyal et al. 2017); the shape is applied to the step counted after warmup.
//! `Cosine` follows Loshchilov & Hutter (2017) without restarts:
//! η = min + (base − min)·(1 + cos(π·s/T))/2.

use crate::CoreError;

/// The shape of a schedule after warmup.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LrShape {
    /// η = base.
    Constant,
    /// η = base · gamma^⌊s / every⌋.
    Step {
        /// Steps between decays.
        every: u64,
        /// Factor per decay.
        gamma: f64,
    },
    /// η = base · gamma^(number of milestones ≤ s).
    MultiStep {
        /// Steps at which the rate is multiplied by `gamma`.
        milestones: Vec<u64>,
        /// Factor per milestone.
        gamma: f64,
    },
    /// Cosine decay from base to `min_lr` over `total_steps` (constant at `min_lr` after).
    Cosine {
        /// Length of the decay, in steps after warmup.
        total_steps: u64,
        /// Final learning rate.
        #[serde(default)]
        min_lr: f64,
    },
}

/// A learning-rate schedule: base rate, optional linear warmup, and a shape.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LrSchedule {
    /// The peak learning rate.
    pub base: f64,
    /// Linear warmup length (0 = none).
    #[serde(default)]
    pub warmup_steps: u64,
    /// What happens after warmup (default constant).
    #[serde(default = "constant_shape")]
    pub shape: LrShape,
}

fn constant_shape() -> LrShape {
    LrShape::Constant
}

impl LrSchedule {
    /// A constant learning rate.
    pub fn constant(base: f64) -> Self {
        LrSchedule {
            base,
            warmup_steps: 0,
            shape: LrShape::Constant,
        }
    }

    /// Checks the parameters: base > 0 and finite, decay factors in (0, 1], a positive period.
    pub fn validate(&self) -> Result<(), CoreError> {
        let bad = |field, value, rule| Err(CoreError::InvalidSchedule { field, value, rule });
        if !(self.base.is_finite() && self.base > 0.0) {
            return bad("base", self.base, "finite and > 0");
        }
        match &self.shape {
            LrShape::Constant => Ok(()),
            LrShape::Step { every, gamma } => {
                if *every == 0 {
                    return bad("every", 0.0, ">= 1");
                }
                check_gamma(*gamma)
            }
            LrShape::MultiStep { milestones, gamma } => {
                if milestones.windows(2).any(|w| w[0] >= w[1]) {
                    return bad("milestones", f64::NAN, "strictly increasing");
                }
                check_gamma(*gamma)
            }
            LrShape::Cosine {
                total_steps,
                min_lr,
            } => {
                if *total_steps == 0 {
                    return bad("total_steps", 0.0, ">= 1");
                }
                if !(*min_lr >= 0.0 && *min_lr <= self.base) {
                    return bad("min_lr", *min_lr, "0 <= min_lr <= base");
                }
                Ok(())
            }
        }
    }

    /// The learning rate used for the update at `step` (0-based).
    pub fn lr_at(&self, step: u64) -> f64 {
        let warm = if self.warmup_steps > 0 && step < self.warmup_steps {
            (step + 1) as f64 / self.warmup_steps as f64
        } else {
            1.0
        };
        let s = step.saturating_sub(self.warmup_steps);
        let shaped = match &self.shape {
            LrShape::Constant => self.base,
            LrShape::Step { every, gamma } => self.base * gamma.powi((s / every) as i32),
            LrShape::MultiStep { milestones, gamma } => {
                let passed = milestones.iter().filter(|&&m| m <= s).count();
                self.base * gamma.powi(passed as i32)
            }
            LrShape::Cosine {
                total_steps,
                min_lr,
            } => {
                let frac = (s.min(*total_steps)) as f64 / *total_steps as f64;
                min_lr + (self.base - min_lr) * 0.5 * (1.0 + (std::f64::consts::PI * frac).cos())
            }
        };
        warm * shaped
    }
}

fn check_gamma(gamma: f64) -> Result<(), CoreError> {
    if gamma > 0.0 && gamma <= 1.0 {
        Ok(())
    } else {
        Err(CoreError::InvalidSchedule {
            field: "gamma",
            value: gamma,
            rule: "0 < gamma <= 1",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_follow_their_formulas() {
        let c = LrSchedule::constant(0.1);
        assert_eq!(c.lr_at(0), 0.1);
        assert_eq!(c.lr_at(10_000), 0.1);

        let s = LrSchedule {
            base: 1.0,
            warmup_steps: 0,
            shape: LrShape::Step {
                every: 10,
                gamma: 0.5,
            },
        };
        assert_eq!((s.lr_at(9), s.lr_at(10), s.lr_at(25)), (1.0, 0.5, 0.25));

        let cos = LrSchedule {
            base: 1.0,
            warmup_steps: 4,
            shape: LrShape::Cosine {
                total_steps: 100,
                min_lr: 0.0,
            },
        };
        assert_eq!(cos.lr_at(0), 0.25); // warmup (0+1)/4
        assert_eq!(cos.lr_at(3), 1.0);
        assert_eq!(cos.lr_at(4), 1.0); // cosine starts at base
        assert!((cos.lr_at(54) - 0.5).abs() < 1e-12); // half way: cos(π/2) = 0
        assert!(cos.lr_at(104).abs() < 1e-12);
        assert!(cos.lr_at(1000).abs() < 1e-12);

        let ms = LrSchedule {
            base: 1.0,
            warmup_steps: 0,
            shape: LrShape::MultiStep {
                milestones: vec![5, 8],
                gamma: 0.1,
            },
        };
        assert_eq!(ms.lr_at(4), 1.0);
        assert!((ms.lr_at(8) - 0.01).abs() < 1e-15);
    }

    #[test]
    fn validation_names_the_rule() {
        let bad = LrSchedule {
            base: 1.0,
            warmup_steps: 0,
            shape: LrShape::Step {
                every: 10,
                gamma: 1.5,
            },
        };
        let e = bad.validate().unwrap_err().to_string();
        assert!(e.contains("gamma") && e.contains("0 < gamma <= 1"), "{e}");
        assert!(LrSchedule::constant(-1.0).validate().is_err());
    }
}
