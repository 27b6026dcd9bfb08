//! Integration tests of the data crate, one module per topic.

mod generators;
mod idx;
mod sampling;
