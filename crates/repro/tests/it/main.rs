//! Integration tests of the experiment crate, one module per topic.

mod experiments;
mod reproduce;
mod verdict;
