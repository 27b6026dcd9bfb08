//! Synthetic data sets generated in Rust from a seed.

pub mod binary_features;
pub mod gaussian_mixture;
pub mod gaussian_teacher;
pub mod hierarchy;
mod labels;
pub mod mnist1d;
pub mod nonlinear_teacher;
pub mod separable;
pub mod sinusoid;
pub mod two_moons;
