//! Integration tests of the probes with the trainer, one module per topic.

mod sink;
mod training;
