//! Integration tests: the CLI and the library against real PostgreSQL
//! clusters that the tests start themselves.

#![allow(clippy::unwrap_used)]

mod support;

mod adopt;
mod check;
mod connecting;
mod destructive;
mod faults;
mod import_alembic;
mod layouts;
mod lint;
mod locks;
mod pooler;
mod preview;
mod runner;
mod safety;
mod scanner;
mod secrets;
mod tls;
mod workflow;
