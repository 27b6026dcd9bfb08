//! Integration tests of the probes with the trainer, one module per topic.

mod probes;
mod sink;
mod training;
