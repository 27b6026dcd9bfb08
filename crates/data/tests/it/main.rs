//! Integration tests of the data crate, one module per topic.

mod cifar;
mod csv;
mod fuzz;
mod generators;
mod idx;
mod npy;
mod output_units;
mod sampling;
mod storage;
mod synthetic_extra;
mod transform_config;
mod transforms;
