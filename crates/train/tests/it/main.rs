//! Integration tests of learnscope-train's configuration and plan.

mod data_config;
mod device_config;
