//! Integration tests of learnscope-theory: closed forms against simulation, one module per
//! topic.

mod deep_flow;
mod gd_vs_saxe;
mod ocs_hierarchy;
