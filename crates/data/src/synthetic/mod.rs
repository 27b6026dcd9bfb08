//! Synthetic data sets generated in Rust from a seed.

pub mod gaussian_teacher;
pub mod hierarchy;
pub mod separable;
