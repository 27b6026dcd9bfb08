//! Integration tests of the probes with the trainer, one module per topic.

mod cka;
mod decisions;
mod ensemble;
mod harness;
mod linear_probe;
mod order;
mod outputs;
mod p1;
mod p2;
mod p3;
mod probes;
mod projected;
mod reconstruction;
mod sink;
mod spectral_bias;
mod spectrum;
mod training;
