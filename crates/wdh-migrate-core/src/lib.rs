//! Core library of wdh-migrate.
//!
//! The library never reads the process environment or configuration files:
//! every operation takes an explicit [`target::Target`]. Only the CLI resolves
//! settings, once, at the edge.

pub mod guard;
pub mod migrations;
pub mod sql;
pub mod target;
