//! Integration tests of the experiment crate, one module per topic.

mod cross_cka;
mod experiments;
mod reproduce;
mod verdict;
