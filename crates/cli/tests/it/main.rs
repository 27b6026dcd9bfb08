//! End-to-end tests of the `learnscope` binary, one module per command.

mod common;
mod data;
mod demo;
mod ensemble;
mod export;
mod fashion_mnist;
mod human;
mod report;
mod reproduce;
mod run;
mod sweep;
mod theory;
