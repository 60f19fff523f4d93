//! Integration tests: the CLI and the library against real PostgreSQL
//! clusters that the tests start themselves.

#![allow(clippy::unwrap_used)]

mod support;

mod check;
mod faults;
mod import_alembic;
mod layouts;
mod pooler;
mod runner;
mod safety;
mod secrets;
mod workflow;
