//! Integration tests of the experiment crate, one module per topic.

mod config_reference;
mod cross_cka;
mod device;
mod experiments;
mod reproduce;
mod verdict;
mod virtual_participant;
