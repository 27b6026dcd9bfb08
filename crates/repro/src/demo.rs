//! The embedded default experiment (`learnscope demo`): a deep linear network 8-16-16-15 with
//! biases (zero-initialised) and small Gaussian weights, trained by full-batch gradient descent
//! on the 8-item hierarchical task of P1 (Saxe et al. 2019). Its records show P1's
//! optimal-constant-solution phase: the mean output reaches the OCS (d_OCS → 0) long before the
//! outputs depend on the input (input sensitivity V_x ≈ 0), then the tree's modes are learned, broadest first.

use learnscope_train::config::RunConfig;
use learnscope_train::TrainError;

/// The demo's configuration (also `experiments/demo.toml`).
pub const DEMO_TOML: &str = include_str!("../../../experiments/demo.toml");

/// The demo configuration with overrides.
pub fn demo_config(sets: &[String]) -> Result<RunConfig, TrainError> {
    RunConfig::parse(DEMO_TOML, sets)
}
