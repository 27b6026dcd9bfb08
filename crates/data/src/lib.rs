//! Data sets for learnscope. Today: the hierarchical category task of P1 / Saxe et al. (2019)
//! as host arrays ([`hierarchy`]). The `Dataset` trait, samplers and file loaders follow
//! (DESIGN.md §3).

pub mod hierarchy;

pub use hierarchy::{HierarchicalTask, HierarchySpec};
