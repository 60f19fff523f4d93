//! Core library of wdh-migrate: migration sets, the ledger, the runner and
//! the production guard.
//!
//! The library never reads the process environment or configuration files:
//! every operation takes an explicit [`target::Target`]. Only the CLI
//! resolves settings, once, at the edge.

pub mod adopt;
pub mod causes;
pub mod check;
pub mod guard;
pub mod identity;
pub mod ledger;
pub mod lint;
pub mod migrations;
pub mod plan;
pub mod preview;
pub mod runner;
pub mod schema;
pub mod snapshot;
pub mod spelling;
pub mod sql;
pub mod target;
pub mod tls;

pub use migrations::{EmbeddedMigrations, MigrationSet};
pub use plan::{DowngradeTo, UpgradeTo};
pub use runner::{RunError, RunOptions, Runner};
pub use target::{Source, Target};
