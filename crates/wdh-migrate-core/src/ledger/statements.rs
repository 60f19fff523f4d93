//! Every statement the runner sends for its own bookkeeping, and nothing
//! else: the run lock and the session it runs in, the ledger's creation and
//! reads, its rows (applied, failed, audit), and the environment marker.
//! Each function returns the SQL text; sending it is the caller's job.
//!
//! Names are qualified with `pg_catalog` (operators too) wherever a role's
//! `search_path` could otherwise put a look-alike in front of them.

use std::time::Duration;

use crate::migrations::Direction;
use crate::sql::{quote_ident, quote_literal};

use super::AuditEntry;

/// The advisory lock key of a run (`wdh_migr` in ASCII), per database.
pub const LOCK_KEY: i64 = 0x7764_685f_6d69_6772;

/// The ledger's tables, ending with a newline (see [`create_message`]).
const CREATE: &str = include_str!("create.sql");

/// Whether the ledger exists (one row, `t` or `f`).
pub const LEDGER_EXISTS: &str =
    r#"SELECT pg_catalog.to_regclass('"wdh_migrate"."format"') IS NOT NULL"#;

/// How many statements of a failed no-transaction migration took effect;
/// `$1` is the version as recorded.
pub const STATEMENTS_DONE: &str =
    r#"SELECT "statements_done" FROM "wdh_migrate"."failed" WHERE "version" = $1"#;

/// A timeout in whole milliseconds as PostgreSQL takes it: at least 1
/// (0 would mean no limit) and at most `i32::MAX`.
fn server_ms(d: Duration) -> u128 {
    d.as_millis().clamp(1, i32::MAX as u128)
}

/// Takes the run lock, waiting at most `wait` for another run to release it.
pub fn acquire_lock(wait: Duration) -> String {
    let wait_ms = server_ms(wait);
    format!("SET lock_timeout = '{wait_ms}ms'; SELECT pg_catalog.pg_advisory_lock({LOCK_KEY})")
}

/// The server process holding the run lock on the current database, if any.
pub fn lock_holder() -> String {
    format!(
        "SELECT l.pid FROM pg_catalog.pg_locks l WHERE l.locktype OPERATOR(pg_catalog.=) 'advisory' \
         AND l.granted AND l.objsubid OPERATOR(pg_catalog.=) 1 \
         AND l.database OPERATOR(pg_catalog.=) (SELECT d.oid FROM pg_catalog.pg_database d \
             WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()) \
         AND ((l.classid::pg_catalog.int8 OPERATOR(pg_catalog.<<) 32) OPERATOR(pg_catalog.|) l.objid::pg_catalog.int8) \
             OPERATOR(pg_catalog.=) {LOCK_KEY}"
    )
}

/// Releases the run lock.
pub fn release_lock() -> String {
    format!("SELECT pg_catalog.pg_advisory_unlock({LOCK_KEY})")
}

/// The session settings of a run, once it holds the lock: the lock wait's
/// `lock_timeout` reset, then the migrations' own timeouts.
pub fn run_session(
    server_version: i32,
    lock_timeout: Option<Duration>,
    statement_timeout: Option<Duration>,
) -> String {
    let mut session = String::from("RESET lock_timeout;");
    if server_version >= 140_000 {
        // A run killed mid-migration: the server notices the dead client
        // within a second and rolls the migration back instead of
        // committing it after its client is gone.
        session.push_str("SET client_connection_check_interval = '1s';");
    }
    if let Some(t) = lock_timeout {
        session.push_str(&format!("SET lock_timeout = '{}ms';", server_ms(t)));
    }
    if let Some(t) = statement_timeout {
        session.push_str(&format!("SET statement_timeout = '{}ms';", server_ms(t)));
    }
    session
}

/// Stores the environment marker on the database itself; a marker that is
/// not locked clears `wdh.environment_locked`.
pub fn set_marker(database: &str, environment: &str, locked: bool) -> String {
    let database = quote_ident(database);
    let lock = if locked {
        "SET wdh.environment_locked = 'on'"
    } else {
        "RESET wdh.environment_locked"
    };
    format!(
        "ALTER DATABASE {database} SET wdh.environment = {}; ALTER DATABASE {database} {lock};",
        quote_literal(environment)
    )
}

/// The message that creates the ledger in one transaction (shown by
/// `--dry-run` on a fresh database). `search_path` is pinned to `pg_catalog`
/// for it, so the columns' defaults (`now()`, `current_database()`, …) bind
/// to the real functions, not to look-alikes a role's `search_path` offers.
pub fn create_message() -> String {
    format!("BEGIN;\nSET LOCAL search_path = pg_catalog;\n{CREATE}COMMIT;")
}

/// Reads the ledger's format, its applied rows and its failed rows, in one
/// message. With `detail` false (planning needs only versions, names and
/// checksums) the applied rows come without conversions or sorting.
pub fn read_ledger(detail: bool) -> String {
    let applied = if detail {
        r#"SELECT "version", "name", "checksum", extract(epoch FROM "applied_at"), "execution_ms", "applied_by", pg_catalog.host("client_addr")
  FROM "wdh_migrate"."applied" ORDER BY "applied_at", "version";"#
    } else {
        r#"SELECT "version", "name", "checksum", NULL, NULL, NULL, NULL FROM "wdh_migrate"."applied";"#
    };
    format!(
        r#"SELECT pg_catalog.max("format") FROM "wdh_migrate"."format";
{applied}
SELECT "version", "name", "statements_done", "statements_total", "state", "error", "backend_pid", extract(epoch FROM "failed_at"), "direction"
  FROM "wdh_migrate"."failed" ORDER BY "version";"#
    )
}

/// Whether server process `pid` is alive (one row, `t` or `f`).
pub fn backend_alive(pid: i32) -> String {
    format!(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a WHERE a.pid OPERATOR(pg_catalog.=) {pid})"
    )
}

/// The statement that records an applied migration. Inside the migration's
/// own message, `statement_timestamp()` is when the server received it, so
/// the execution time covers the migration's SQL.
pub fn record_applied(
    version: &str,
    name: &str,
    checksum: &str,
    no_transaction: bool,
    elapsed_ms: Option<f64>,
) -> String {
    let ms = match elapsed_ms {
        Some(ms) => format!("{ms}"),
        None => "1000 * extract(epoch FROM clock_timestamp() - statement_timestamp())".to_string(),
    };
    format!(
        r#"INSERT INTO "wdh_migrate"."applied" ("version", "name", "checksum", "execution_ms", "no_transaction") VALUES ({}, {}, {}, {ms}, {no_transaction});"#,
        quote_literal(version),
        quote_literal(name),
        quote_literal(checksum)
    )
}

/// The statement that removes a reverted migration; it fails (rolling back
/// the migration's transaction) when the ledger has no such row, rather
/// than report a revert the ledger does not show.
pub fn record_reverted(version: &str) -> String {
    let v = quote_literal(version);
    format!(
        r#"DO $wdh$ BEGIN
    DELETE FROM "wdh_migrate"."applied" WHERE "version" = {v};
    IF NOT FOUND THEN
        RAISE EXCEPTION 'wdh-migrate: the ledger has no row for version %', {v};
    END IF;
END $wdh$;"#
    )
}

/// The statement that records a migration run in `direction`: applied
/// ([`record_applied`]) or reverted ([`record_reverted`]).
pub fn record_done(
    direction: Direction,
    version: &str,
    name: &str,
    checksum: &str,
    no_transaction: bool,
    elapsed_ms: Option<f64>,
) -> String {
    match direction {
        Direction::Up => record_applied(version, name, checksum, no_transaction, elapsed_ms),
        Direction::Down => record_reverted(version),
    }
}

/// Marks a no-transaction migration as running (before its first statement).
pub fn record_started(version: &str, name: &str, direction: &str, total: usize) -> String {
    format!(
        r#"INSERT INTO "wdh_migrate"."failed" ("version", "name", "direction", "state", "statements_total")
VALUES ({v}, {n}, {d}, 'running', {total})
ON CONFLICT ("version") DO UPDATE SET "name" = excluded."name", "direction" = excluded."direction", "state" = 'running',
    "statements_done" = 0, "statements_total" = excluded."statements_total", "error" = NULL,
    "backend_pid" = pg_backend_pid(), "failed_at" = clock_timestamp();"#,
        v = quote_literal(version),
        n = quote_literal(name),
        d = quote_literal(direction),
    )
}

/// Records progress of a no-transaction migration.
pub fn record_progress(version: &str, done: usize) -> String {
    format!(
        r#"UPDATE "wdh_migrate"."failed" SET "statements_done" = {done} WHERE "version" = {};"#,
        quote_literal(version)
    )
}

/// Records the failure of a no-transaction migration.
pub fn record_failed(version: &str, error: &str) -> String {
    format!(
        r#"UPDATE "wdh_migrate"."failed" SET "state" = 'failed', "error" = {}, "failed_at" = clock_timestamp() WHERE "version" = {};"#,
        quote_literal(error),
        quote_literal(version)
    )
}

/// Clears the failure record of a migration.
pub fn clear_failed(version: &str) -> String {
    format!(
        r#"DELETE FROM "wdh_migrate"."failed" WHERE "version" = {};"#,
        quote_literal(version)
    )
}

/// The message that ends a no-transaction migration once its last
/// statement succeeded: its `record` ([`record_done`]) and the removal of
/// its running row, in one transaction.
pub fn finish_no_transaction(record: &str, version: &str) -> String {
    format!("BEGIN;{record}{}COMMIT;", clear_failed(version))
}

/// The statement that appends an audit row.
pub fn audit_sql(entry: &AuditEntry) -> String {
    let opt = |v: &Option<String>| v.as_deref().map_or("NULL".to_string(), quote_literal);
    format!(
        r#"INSERT INTO "wdh_migrate"."audit" ("operation", "from_version", "to_version", "target", "outcome", "error", "override_used", "tool_version") VALUES ({}, {}, {}, {}, {}, {}, {}, {});"#,
        quote_literal(&entry.operation),
        opt(&entry.from),
        opt(&entry.to),
        quote_literal(&entry.target),
        quote_literal(&entry.outcome),
        opt(&entry.error),
        entry.override_used,
        quote_literal(env!("CARGO_PKG_VERSION")),
    )
}
