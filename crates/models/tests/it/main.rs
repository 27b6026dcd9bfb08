//! Integration tests of the model zoo, one module per topic.

mod conformance;
mod conv_models;
mod saxe;
