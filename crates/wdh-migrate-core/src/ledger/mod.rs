//! The ledger: schema `wdh_migrate` in the migrated database.
//!
//! - `format`: a row per format the ledger has been brought to (the
//!   highest counts), so later releases can evolve it.
//! - `applied`: one row per applied migration (version, name, checksum,
//!   applied_at, execution time, applied_by, client address).
//! - `failed`: no-transaction migrations that failed or were interrupted
//!   part-way, with how many statements took effect.
//! - `lock`: one row, the run lock: which run holds it (a random token),
//!   its client, server process and role, when it was taken and when its
//!   holder last renewed its lease.
//! - `audit`: append-only (a trigger refuses UPDATE, DELETE and TRUNCATE),
//!   one row per run: operation, from → to, target database, outcome,
//!   error, whether a safety override was used, and for an upgrade with
//!   destructive statements, which and how the guard let them run; for a
//!   run that destroyed something, what (`loss`, JSON) and where its
//!   snapshot went (`snapshot`).
//! - `step_fence(xid, token)`: the function every migration's transaction
//!   calls after its script ([`statements::step_fence`]).
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

pub(crate) use read::{invalid_indexes, single, statements_done};
pub use read::{read, read_lock};
pub use rows::{AppliedRow, AuditEntry, FailedRow, LedgerState, LockRow};
pub use time::rfc3339;

/// The ledger format this release writes and reads: 2 adds the lock table,
/// 3 the audit's `destructive` column, 4 the audit's `loss` and `snapshot`
/// columns and the fence function (an older ledger is upgraded in place by
/// [`ensure`]).
pub const FORMAT: i32 = 4;

/// The ledger's schema.
pub const SCHEMA: &str = "wdh_migrate";

/// Creates the ledger, or upgrades an older one to the current format,
/// in one transaction under a transaction-scoped advisory lock waited for
/// at most `wait`: concurrent runs on a fresh database create it once, and
/// the lock ends with the transaction, behind a transaction pooler too.
pub fn ensure(client: &mut Client, wait: std::time::Duration) -> Result<(), postgres::Error> {
    let parts = setup_parts(client, wait).inspect_err(|_| rollback(client))?;
    client
        .batch_execute(&statements::ledger_setup_finish(parts))
        .inspect_err(|_| rollback(client))
}

/// Opens the setup transaction and reads which parts of the ledger exist:
/// none without its schema, else as the catalog says.
fn setup_parts(
    client: &mut Client,
    wait: std::time::Duration,
) -> Result<statements::LedgerParts, postgres::Error> {
    // The last row: the lock's own `SELECT` answers first.
    let last = |messages: Vec<postgres::SimpleQueryMessage>| {
        messages.into_iter().rev().find_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => Some(r),
            _ => None,
        })
    };
    let schema = last(client.simple_query(&statements::ledger_setup_begin(wait))?);
    if schema.as_ref().and_then(|r| r.get(0)) != Some("t") {
        return Ok(statements::LedgerParts::default());
    }
    let row = last(client.simple_query(&statements::ledger_parts())?);
    Ok(row
        .filter(|r| r.len() == 4)
        .map(|r| statements::LedgerParts {
            ledger: r.get(0) == Some("t"),
            lock: r.get(1) == Some("t"),
            destructive: r.get(2) == Some("t"),
            fence: r.get(3) == Some("t"),
        })
        .unwrap_or_default())
}

/// Ends a transaction left open by a failed message, if the connection
/// still stands.
pub(crate) fn rollback(client: &mut Client) {
    if !client.is_closed() {
        let _ = client.batch_execute("ROLLBACK");
    }
}
