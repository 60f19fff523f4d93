//! Integration tests: the CLI and the library against real PostgreSQL
//! clusters that the tests start themselves.

#![allow(clippy::unwrap_used)]

mod support;

mod check;
mod connecting;
mod faults;
mod layouts;
mod pooler;
mod runner;
mod safety;
mod secrets;
mod workflow;
