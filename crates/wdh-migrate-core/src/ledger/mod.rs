//! The ledger: schema `wdh_migrate` in the migrated database.
//!
//! - `format`: one row, the ledger's format version, so later releases can
//!   evolve it.
//! - `applied`: one row per applied migration (version, name, checksum,
//!   applied_at, execution time, applied_by, client address).
//! - `failed`: no-transaction migrations that failed or were interrupted
//!   part-way, with how many statements took effect.
//! - `audit`: append-only (a trigger refuses UPDATE, DELETE and TRUNCATE),
//!   one row per run: operation, from → to, target database, outcome,
//!   error, whether a safety override was used.
//!
//! The ledger owns its row types ([`rows`]), reading them ([`read()`]) and
//! every statement the runner sends for its own bookkeeping
//! ([`statements`]): the run lock, the environment marker, ledger rows and
//! the ledger's creation. Identifiers are always quoted.

use postgres::Client;

mod read;
pub mod rows;
pub mod statements;
#[cfg(test)]
mod tests;
mod time;

pub use read::read;
pub(crate) use read::{single, statements_done};
pub use rows::{AppliedRow, AuditEntry, FailedRow, LedgerState};
pub use time::rfc3339;

/// The ledger format this release writes and reads.
pub const FORMAT: i32 = 1;

/// The ledger's schema.
pub const SCHEMA: &str = "wdh_migrate";

/// Creates the ledger in one transaction, unless it exists. Call under the run lock.
pub fn ensure(client: &mut Client) -> Result<(), postgres::Error> {
    let exists = single(&client.simple_query(statements::LEDGER_EXISTS)?).is_some_and(|v| v == "t");
    if !exists {
        client.batch_execute(&statements::create_message())?;
    }
    Ok(())
}
