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

/// The advisory lock key (`wdh_migr` in ASCII), per database: taken
/// transaction-scoped while the ledger is created or upgraded, and by the
/// session lock of older releases, which it therefore waits for.
pub const LOCK_KEY: i64 = 0x7764_685f_6d69_6772;

/// The ledger's tables, ending with a newline (see [`ledger_setup_finish`]).
/// Created with `search_path` pinned to `pg_catalog` ([`ledger_setup_begin`]),
/// so the columns' defaults (`now()`, `current_database()`, …) bind to the
/// real functions, not to look-alikes a role's `search_path` offers.
const CREATE: &str = include_str!("create.sql");

/// The lock table and its one row, ending with a newline (format 2).
const LOCK_TABLE: &str = include_str!("lock.sql");

/// The audit table's `destructive` column (format 3): what a destructive
/// upgrade did and how the guard let it run.
const AUDIT_DESTRUCTIVE: &str =
    "ALTER TABLE \"wdh_migrate\".\"audit\" ADD COLUMN \"destructive\" text;\n";

/// What format 4 adds, ending with a newline: the audit's `loss` column
/// (what a destructive run destroys, as JSON) and `snapshot` column (the
/// file its snapshot went to), and the fence function every migration's
/// transaction calls ([`step_fence`]), created last: where it exists, the
/// ledger is of format 4 whole.
const FORMAT_4: &str = concat!(
    "ALTER TABLE \"wdh_migrate\".\"audit\" ADD COLUMN \"loss\" jsonb, ADD COLUMN \"snapshot\" text;\n",
    include_str!("fence.sql")
);

/// Whether the fence function of format 4 exists.
pub const FENCE_EXISTS: &str = r#"SELECT EXISTS (SELECT FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
     WHERE n.nspname OPERATOR(pg_catalog.=) 'wdh_migrate' AND p.proname OPERATOR(pg_catalog.=) 'step_fence')"#;

/// Whether the ledger exists (one row, `t` or `f`). Read from the catalog,
/// not with `to_regclass`, which a role without USAGE on the schema cannot
/// ask.
pub const LEDGER_EXISTS: &str = r#"SELECT EXISTS (SELECT FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
     WHERE n.nspname OPERATOR(pg_catalog.=) 'wdh_migrate' AND c.relname OPERATOR(pg_catalog.=) 'format')"#;

/// Whether the ledger's lock table exists (format 2).
pub const LOCK_TABLE_EXISTS: &str = r#"SELECT EXISTS (SELECT FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
     WHERE n.nspname OPERATOR(pg_catalog.=) 'wdh_migrate' AND c.relname OPERATOR(pg_catalog.=) 'lock')"#;

/// Whether the audit table has its `destructive` column (format 3).
pub const AUDIT_DESTRUCTIVE_EXISTS: &str = r#"SELECT EXISTS (SELECT FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) a.attrelid
     JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
     WHERE n.nspname OPERATOR(pg_catalog.=) 'wdh_migrate' AND c.relname OPERATOR(pg_catalog.=) 'audit'
       AND a.attname OPERATOR(pg_catalog.=) 'destructive' AND NOT a.attisdropped)"#;

/// How many statements of a failed no-transaction migration took effect.
pub fn statements_done(version: &str) -> String {
    format!(
        r#"SELECT "statements_done" FROM "wdh_migrate"."failed" WHERE "version" = {}"#,
        quote_literal(version)
    )
}

/// A timeout in whole milliseconds as PostgreSQL takes it: at least 1
/// (0 would mean no limit) and at most `i32::MAX`.
fn server_ms(d: Duration) -> u128 {
    d.as_millis().clamp(1, i32::MAX as u128)
}

/// Opens the transaction that creates or upgrades the ledger: the
/// transaction-scoped advisory lock (so concurrent runs create it once),
/// waited for at most `wait`, then whether the ledger's schema exists (one
/// row, `t`/`f`). Where it does, [`ledger_parts`] is asked next, in the same
/// transaction; where it does not (a database's first run), nothing of the
/// ledger is, and its catalog joins are not planned (on a new server
/// session they cost more than the rest of the setup's checks together).
/// The schema is looked for with a scan of `pg_namespace`, which sees what a
/// concurrent run committed while this one waited for the lock, not with
/// `to_regnamespace`, whose cache may still hold the miss the identity query
/// left.
pub fn ledger_setup_begin(wait: Duration) -> String {
    format!(
        "BEGIN;\nSET LOCAL search_path = pg_catalog;\nSET LOCAL lock_timeout = '{}ms';\n\
         SELECT pg_catalog.pg_advisory_xact_lock({LOCK_KEY});\n\
         SELECT EXISTS (SELECT FROM pg_catalog.pg_namespace n \
         WHERE n.nspname OPERATOR(pg_catalog.=) 'wdh_migrate');",
        server_ms(wait)
    )
}

/// Whether the ledger, its lock table, the audit's `destructive` column and
/// the fence function exist (one row, four `t`/`f`), read from the catalog
/// in the setup transaction ([`ledger_setup_begin`]) where the schema exists.
pub fn ledger_parts() -> String {
    format!("SELECT ({LEDGER_EXISTS}), ({LOCK_TABLE_EXISTS}), ({AUDIT_DESTRUCTIVE_EXISTS}), ({FENCE_EXISTS})")
}

/// The rest of the setup transaction: the whole ledger where there is none;
/// where there is one, what its format lacks (the lock table of format 2,
/// the audit's `destructive` column of format 3, the audit's `loss` and
/// `snapshot` columns and the fence function of format 4), then `COMMIT`.
pub fn ledger_setup_finish(found: LedgerParts) -> String {
    let LedgerParts {
        ledger: ledger_exists,
        lock: lock_exists,
        destructive: destructive_exists,
        fence: fence_exists,
    } = found;
    if !ledger_exists {
        return format!("{CREATE}{LOCK_TABLE}{FORMAT_4}COMMIT;");
    }
    let mut sql = String::new();
    if !lock_exists {
        sql.push_str(LOCK_TABLE);
        sql.push_str("INSERT INTO \"wdh_migrate\".\"format\" (\"format\") VALUES (2);\n");
    }
    if !destructive_exists {
        sql.push_str(AUDIT_DESTRUCTIVE);
        sql.push_str("INSERT INTO \"wdh_migrate\".\"format\" (\"format\") VALUES (3);\n");
    }
    if !fence_exists {
        sql.push_str(FORMAT_4);
        sql.push_str("INSERT INTO \"wdh_migrate\".\"format\" (\"format\") VALUES (4);\n");
    }
    sql.push_str("COMMIT;");
    sql
}

/// Which parts of the ledger [`ledger_setup_begin`] found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LedgerParts {
    /// The ledger itself (its `format` table).
    pub ledger: bool,
    /// The lock table (format 2).
    pub lock: bool,
    /// The audit's `destructive` column (format 3).
    pub destructive: bool,
    /// The fence function (format 4).
    pub fence: bool,
}

/// Takes the run lock if it is free or its lease has expired (its one row
/// put back first, should someone have deleted it): one row
/// (`holder` when taken, else NULL), then the previous holder's client, and
/// how many seconds ago it last renewed, when it had one. Judged on the
/// lock row's latest version (`READ COMMITTED`), so two runs never both
/// take it.
pub fn acquire_lock(
    token: &str,
    operation: &str,
    client: &str,
    lease: Duration,
    wait: Duration,
) -> String {
    format!(
        r#"BEGIN ISOLATION LEVEL READ COMMITTED;
SET LOCAL lock_timeout = '{wait}ms';
INSERT INTO "wdh_migrate"."lock" ("id") VALUES (1) ON CONFLICT ("id") DO NOTHING;
WITH "before" AS (SELECT "holder", "client", "heartbeat_at" FROM "wdh_migrate"."lock" WHERE "id" = 1),
"taken" AS (
    UPDATE "wdh_migrate"."lock" SET "holder" = {t}, "operation" = {o}, "client" = {c},
        "pid" = pg_catalog.pg_backend_pid(), "role" = session_user, "client_addr" = pg_catalog.inet_client_addr(),
        "acquired_at" = pg_catalog.clock_timestamp(), "heartbeat_at" = pg_catalog.clock_timestamp(), "lease_ms" = {lease}
    WHERE "id" = 1 AND ("holder" IS NULL
        OR "heartbeat_at" + "lease_ms" * interval '1 millisecond' < pg_catalog.clock_timestamp())
    RETURNING "holder")
SELECT (SELECT "holder" FROM "taken"), b."client",
    extract(epoch FROM pg_catalog.clock_timestamp() - b."heartbeat_at")
FROM (SELECT 1) AS one LEFT JOIN "before" b ON b."holder" IS NOT NULL;
COMMIT;"#,
        t = quote_literal(token),
        o = quote_literal(operation),
        c = quote_literal(client),
        lease = server_ms(lease),
        wait = server_ms(wait),
    )
}

/// The lock row: held, pid, client, role, client address, operation,
/// seconds since the last heartbeat, lease in milliseconds, seconds since
/// it was taken.
pub fn lock_holder() -> String {
    r#"SELECT "holder" IS NOT NULL, "pid", "client", "role", pg_catalog.host("client_addr"), "operation",
    extract(epoch FROM pg_catalog.clock_timestamp() - "heartbeat_at"), "lease_ms",
    extract(epoch FROM pg_catalog.clock_timestamp() - "acquired_at")
FROM "wdh_migrate"."lock" WHERE "id" = 1"#
        .to_string()
}

/// Renews the lease of the run holding `token` (one row when it still
/// holds the lock, none when it lost it).
pub fn renew_lock(token: &str) -> String {
    format!(
        r#"UPDATE "wdh_migrate"."lock" SET "heartbeat_at" = pg_catalog.clock_timestamp() WHERE "id" = 1 AND "holder" = {} RETURNING 1"#,
        quote_literal(token)
    )
}

/// The SQLSTATE of [`lock_fence`] failing: this run no longer holds the
/// lock.
pub const LOCK_LOST: &str = "WM001";

/// A statement, inside a migration's transaction, that renews the lease
/// and fails (rolling the migration back) unless this run still holds the
/// lock: a run whose lease expired never commits a migration.
pub fn lock_fence(token: &str) -> String {
    format!(
        r#"SELECT "wdh_migrate"."step_fence"(pg_catalog.txid_current(), {});"#,
        quote_literal(token)
    )
}

/// Releases the run lock held with `token`.
pub fn release_lock(token: &str) -> String {
    format!(
        r#"UPDATE "wdh_migrate"."lock" SET "holder" = NULL, "heartbeat_at" = pg_catalog.clock_timestamp() WHERE "id" = 1 AND "holder" = {}"#,
        quote_literal(token)
    )
}

/// The start of a migration's transaction: `BEGIN`, the settings the
/// migration runs with — `SET LOCAL`, so they end with the transaction and
/// never stay on a pooled server session — and the transaction's id and
/// server process (one row). Sent as a message of its own, or at the end of
/// the message of the migration before, after its `COMMIT`: either way the
/// settings are in place before the server receives the migration's own
/// message.
///
/// `client_encoding` is pinned to UTF-8 (the text is sent as UTF-8, and
/// the scanner reads it so: a session left in a client-only encoding such
/// as SJIS by an earlier migration would read a byte before a backslash as
/// half of a character and end a string elsewhere), and
/// `standard_conforming_strings` and `backslash_quote` to the defaults the
/// statement scanner reads with; they are set in a message of their own
/// because the server converts and scans a whole message before it runs
/// any of it. `client_connection_check_interval` (14+) makes the server notice
/// a dead client within a second and roll the migration back instead of
/// committing it after its client is gone.
pub fn transaction_prologue(
    server_version: i32,
    lock_timeout: Option<Duration>,
    statement_timeout: Option<Duration>,
) -> String {
    let mut s = String::from(
        "BEGIN;\nSET LOCAL client_encoding = 'UTF8';\nSET LOCAL standard_conforming_strings = on;\n\
         SET LOCAL backslash_quote = safe_encoding;\n",
    );
    if server_version >= 140_000 {
        s.push_str("SET LOCAL client_connection_check_interval = '1s';\n");
    }
    if let Some(t) = lock_timeout {
        s.push_str(&format!("SET LOCAL lock_timeout = '{}ms';\n", server_ms(t)));
    }
    if let Some(t) = statement_timeout {
        s.push_str(&format!(
            "SET LOCAL statement_timeout = '{}ms';\n",
            server_ms(t)
        ));
    }
    s.push_str("SELECT pg_catalog.txid_current(), pg_catalog.pg_backend_pid();");
    s
}

/// Whether the ledger shows version `version` run in `direction` (one row,
/// `t` or `f`): its applied row there after an upgrade, gone after a
/// downgrade. Asked when a message that ran a migration and then opened the
/// next one's transaction failed and the migration's transaction committed:
/// only the message's own ledger statement, which runs after the fence, puts
/// the ledger in that state, so it tells a `COMMIT` of the message (the
/// error came from the next migration's prologue) from one of the script's
/// own (the ledger statement never ran).
pub fn step_recorded(direction: Direction, version: &str) -> String {
    let row = format!(
        r#"EXISTS (SELECT FROM "wdh_migrate"."applied" WHERE "version" = {})"#,
        quote_literal(version)
    );
    match direction {
        Direction::Up => format!("SELECT {row}"),
        Direction::Down => format!("SELECT NOT {row}"),
    }
}

/// What became of transaction `xid` (one row: `committed`, `aborted`,
/// `in progress`, or NULL when it is too old to tell).
pub fn transaction_status(xid: i64) -> String {
    format!("SELECT pg_catalog.txid_status({xid})")
}

/// The name (`gid`) of the prepared transaction that transaction `xid`
/// became, if the script ended it with `PREPARE TRANSACTION` (no row
/// otherwise). A prepared transaction's `transaction` is the 32-bit xid.
pub fn prepared_transaction(xid: i64) -> String {
    format!(
        "SELECT gid FROM pg_catalog.pg_prepared_xacts WHERE transaction::pg_catalog.text OPERATOR(pg_catalog.=) '{}' \
         AND database OPERATOR(pg_catalog.=) pg_catalog.current_database()",
        xid & 0xFFFF_FFFF
    )
}

/// Rolls back the prepared transaction `gid`.
pub fn rollback_prepared(gid: &str) -> String {
    format!("ROLLBACK PREPARED {}", quote_literal(gid))
}

/// The session settings no-transaction statements are converted and
/// scanned with (see [`transaction_prologue`]): they run outside any
/// transaction, so they cannot be `SET LOCAL`. PgBouncer tracks these
/// parameters per client and sets them on every server session it hands
/// the client, so they never reach another client (UTF-8 is what the
/// driver asks for when it connects).
pub const NO_TRANSACTION_SESSION: &str =
    "SET client_encoding = 'UTF8'; SET standard_conforming_strings = on";

/// The server process of this run (its `application_name` is `$3`, text)
/// that runs statement `$1` (text) now, process `$2` (int4) first: the
/// lock watch's question when a statement runs outside a transaction, where
/// behind a transaction pooler any server session may run it. A text cut
/// short by `track_activity_query_size` matches its beginning.
pub const RUNNING_STATEMENT: &str = r#"SELECT a.pid FROM pg_catalog.pg_stat_activity a
WHERE a.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()
  AND a.state OPERATOR(pg_catalog.=) 'active'
  AND a.application_name OPERATOR(pg_catalog.=) $3
  AND a.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid()
  AND pg_catalog.length(a.query) OPERATOR(pg_catalog.>) 0
  AND a.query OPERATOR(pg_catalog.=) pg_catalog."left"($1, pg_catalog.length(a.query))
ORDER BY a.pid OPERATOR(pg_catalog.=) $2 DESC, a.query_start DESC
LIMIT 1"#;

/// The lock server process `$1` (int4) waits for, if it waits (one row:
/// lock type, mode, relation, seconds waited — known from 14 on, where
/// `pg_locks` has `waitstart` — the transaction or object waited for, and
/// the lock's identity, for [`CANCEL_LOCK_WAIT`]).
pub fn lock_wait(server_version: i32) -> &'static str {
    if server_version >= 140_000 {
        r#"SELECT l.locktype, l.mode, l.relation::pg_catalog.regclass::pg_catalog.text,
  pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) l.waitstart),
  COALESCE(l.transactionid::pg_catalog.text, l.virtualxid, l.objid::pg_catalog.text),
  pg_catalog.concat_ws('/', l.locktype, l.database, l.relation, l.page, l.tuple, l.virtualxid,
    l.transactionid, l.classid, l.objid, l.objsubid)
FROM pg_catalog.pg_locks l WHERE l.pid OPERATOR(pg_catalog.=) $1 AND NOT l.granted LIMIT 1"#
    } else {
        r#"SELECT l.locktype, l.mode, l.relation::pg_catalog.regclass::pg_catalog.text,
  NULL::pg_catalog.float8,
  COALESCE(l.transactionid::pg_catalog.text, l.virtualxid, l.objid::pg_catalog.text),
  pg_catalog.concat_ws('/', l.locktype, l.database, l.relation, l.page, l.tuple, l.virtualxid,
    l.transactionid, l.classid, l.objid, l.objsubid)
FROM pg_catalog.pg_locks l WHERE l.pid OPERATOR(pg_catalog.=) $1 AND NOT l.granted LIMIT 1"#
    }
}

/// Cancels the statement of server process `$1` (int4) if, as this
/// statement runs, it still waits for the lock `$2` (text, the identity
/// [`lock_wait`] read): one row (`t`) when it was cancelled, none when the
/// wait is over. Checked and cancelled at once, so a process whose
/// statement got its lock meanwhile (and behind a transaction pooler may
/// already serve another client) is never cancelled; and sent by the
/// server (`pg_cancel_backend`, allowed on the role's own processes), not
/// as a cancel request through a pooler.
pub const CANCEL_LOCK_WAIT: &str = r#"SELECT pg_catalog.pg_cancel_backend(l.pid) FROM pg_catalog.pg_locks l
WHERE l.pid OPERATOR(pg_catalog.=) $1 AND NOT l.granted
  AND pg_catalog.concat_ws('/', l.locktype, l.database, l.relation, l.page, l.tuple, l.virtualxid,
    l.transactionid, l.classid, l.objid, l.objsubid) OPERATOR(pg_catalog.=) $2"#;

/// The processes server process `$1` (int4) waits behind
/// (`pg_blocking_pids`), with what the server lets this role see of them:
/// the modes they hold of the lock waited for, role, application, state,
/// and for how many seconds their transaction has been open. Never their
/// query: it may hold data.
pub const LOCK_HOLDERS: &str = r#"SELECT b.pid,
  (SELECT pg_catalog.string_agg(DISTINCT h.mode, ', ')
   FROM pg_catalog.pg_locks h, pg_catalog.pg_locks w
   WHERE w.pid OPERATOR(pg_catalog.=) $1 AND NOT w.granted
     AND h.pid OPERATOR(pg_catalog.=) b.pid AND h.granted
     AND pg_catalog.concat_ws('/', h.locktype, h.database, h.relation, h.page, h.tuple, h.virtualxid,
           h.transactionid, h.classid, h.objid, h.objsubid)
         OPERATOR(pg_catalog.=)
         pg_catalog.concat_ws('/', w.locktype, w.database, w.relation, w.page, w.tuple, w.virtualxid,
           w.transactionid, w.classid, w.objid, w.objsubid)),
  b.usename::pg_catalog.text, b.application_name, b.state,
  pg_catalog.date_part('epoch', pg_catalog.now() OPERATOR(pg_catalog.-) b.xact_start)
FROM pg_catalog.pg_stat_activity b
WHERE b.pid OPERATOR(pg_catalog.=) ANY (pg_catalog.pg_blocking_pids($1))
ORDER BY b.pid"#;

/// Every index of table `schema.table` (the visible one when no schema is
/// given), as `schema.index` and whether it is valid (`t`/`f`): taken before
/// an unnamed `CREATE INDEX CONCURRENTLY` runs, so what a cancelled attempt
/// left can be told from what was there.
pub fn table_indexes(schema: Option<&str>, table: &str) -> String {
    let schema = match schema {
        Some(s) => format!("tn.nspname OPERATOR(pg_catalog.=) {}", quote_literal(s)),
        None => "pg_catalog.pg_table_is_visible(t.oid)".to_string(),
    };
    format!(
        r#"SELECT pg_catalog.format('%I.%I', n.nspname, c.relname), i.indisvalid
FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.indexrelid
JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
JOIN pg_catalog.pg_class t ON t.oid OPERATOR(pg_catalog.=) i.indrelid
JOIN pg_catalog.pg_namespace tn ON tn.oid OPERATOR(pg_catalog.=) t.relnamespace
WHERE t.relname OPERATOR(pg_catalog.=) {} AND {schema}"#,
        quote_literal(table)
    )
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
        r#"SELECT pg_catalog.max("format"), pg_catalog.pg_backend_pid() FROM "wdh_migrate"."format";
{applied}
SELECT "version", "name", "statements_done", "statements_total", "state", "error", "backend_pid", extract(epoch FROM "failed_at"), "direction"
  FROM "wdh_migrate"."failed" ORDER BY "version";"#
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

/// The statement, inside a migration's transaction after its script, that
/// fails unless it runs in transaction `xid`, the one the prologue opened
/// (the script did not end it: [`SCRIPT_ENDED_TRANSACTION`]), and, with a
/// `token`, unless this run still holds the lock ([`LOCK_LOST`]), whose
/// lease it renews. Either failure rolls back the ledger row with
/// whatever ran since.
pub fn step_fence(xid: &str, token: Option<&str>) -> String {
    // The function of format 4 (`fence.sql`): compiled once a session,
    // where a `DO` block would be parsed and planned again each time.
    format!(
        r#"SELECT "wdh_migrate"."step_fence"({xid}, {});"#,
        token.map_or("NULL".to_string(), quote_literal)
    )
}

/// The SQLSTATE of [`step_fence`] when the script ended the migration's
/// transaction itself.
pub const SCRIPT_ENDED_TRANSACTION: &str = "WM002";

/// Marks a no-transaction migration as running (before its first
/// statement, or before statement `resume` + 1 when it resumes after a
/// failure: the progress recorded is kept).
pub fn record_started(
    version: &str,
    name: &str,
    direction: &str,
    total: usize,
    resume: usize,
) -> String {
    format!(
        r#"INSERT INTO "wdh_migrate"."failed" ("version", "name", "direction", "state", "statements_done", "statements_total")
VALUES ({v}, {n}, {d}, 'running', {resume}, {total})
ON CONFLICT ("version") DO UPDATE SET "name" = excluded."name", "direction" = excluded."direction", "state" = 'running',
    "statements_done" = excluded."statements_done", "statements_total" = excluded."statements_total", "error" = NULL,
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

/// Records a transactional migration whose script ended its transaction
/// itself: part of it committed without its ledger row (state `partial`).
pub fn record_partial(
    version: &str,
    name: &str,
    direction: &str,
    total: usize,
    error: &str,
) -> String {
    format!(
        r#"INSERT INTO "wdh_migrate"."failed" ("version", "name", "direction", "state", "statements_done", "statements_total", "error")
VALUES ({v}, {n}, {d}, 'partial', 0, {total}, {e})
ON CONFLICT ("version") DO UPDATE SET "name" = excluded."name", "direction" = excluded."direction", "state" = 'partial',
    "statements_done" = 0, "statements_total" = excluded."statements_total", "error" = excluded."error",
    "backend_pid" = pg_backend_pid(), "failed_at" = clock_timestamp();"#,
        v = quote_literal(version),
        n = quote_literal(name),
        d = quote_literal(direction),
        e = quote_literal(error),
    )
}

/// Every INVALID index of the database outside the system schemas, as
/// `schema.index` (quoted where needed).
pub const INVALID_INDEXES: &str = r#"SELECT pg_catalog.format('%I.%I', n.nspname, c.relname)
FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.indexrelid
JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
WHERE NOT i.indisvalid AND n.nspname OPERATOR(pg_catalog.<>) ALL (ARRAY['pg_catalog', 'information_schema', 'pg_toast'])
ORDER BY 1"#;

/// The indexes that an interrupted `statement` may have left, as
/// `schema.index` and whether each is valid (`t`/`f`): for `CREATE INDEX
/// CONCURRENTLY name`, the index of that name on its table; for `REINDEX …
/// CONCURRENTLY`, the INVALID `_ccnew` and `_ccold` copies it builds. None
/// for any other statement (and for an unnamed index, whose leftover
/// cannot be told from another).
pub fn index_leftovers(statement: &str) -> Option<String> {
    use crate::sql::ConcurrentIndex;
    let table = |schema: &Option<String>, table: &str| {
        let schema = match schema {
            Some(s) => format!("tn.nspname OPERATOR(pg_catalog.=) {}", quote_literal(s)),
            None => "pg_catalog.pg_table_is_visible(t.oid)".to_string(),
        };
        format!(
            "t.relname OPERATOR(pg_catalog.=) {} AND {schema}",
            quote_literal(table)
        )
    };
    let filter = match crate::sql::concurrent_index(statement)? {
        ConcurrentIndex::Create {
            schema,
            table: t,
            index: Some(index),
        } => format!(
            "c.relname OPERATOR(pg_catalog.=) {} AND {}",
            quote_literal(&index),
            table(&schema, &t)
        ),
        ConcurrentIndex::Create { index: None, .. } => return None,
        ConcurrentIndex::ReindexIndex { schema, index } => {
            let like = |suffix: &str| {
                quote_literal(&format!(
                    "{}{suffix}%",
                    index
                        .replace('\\', "\\\\")
                        .replace('_', "\\_")
                        .replace('%', "\\%")
                ))
            };
            let schema = match schema {
                Some(s) => format!("n.nspname OPERATOR(pg_catalog.=) {}", quote_literal(&s)),
                None => "pg_catalog.pg_table_is_visible(c.oid)".to_string(),
            };
            format!(
                "NOT i.indisvalid AND (c.relname LIKE {} OR c.relname LIKE {}) AND {schema}",
                like("\\_ccnew"),
                like("\\_ccold")
            )
        }
        ConcurrentIndex::ReindexTable { schema, table: t } => format!(
            "NOT i.indisvalid AND (c.relname LIKE '%\\_ccnew%' OR c.relname LIKE '%\\_ccold%') AND {}",
            table(&schema, &t)
        ),
    };
    Some(format!(
        r#"SELECT pg_catalog.format('%I.%I', n.nspname, c.relname), i.indisvalid
FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.indexrelid
JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
JOIN pg_catalog.pg_class t ON t.oid OPERATOR(pg_catalog.=) i.indrelid
JOIN pg_catalog.pg_namespace tn ON tn.oid OPERATOR(pg_catalog.=) t.relnamespace
WHERE {filter}"#
    ))
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
        r#"INSERT INTO "wdh_migrate"."audit" ("operation", "from_version", "to_version", "target", "outcome", "error", "override_used", "tool_version", "destructive", "loss", "snapshot") VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {});"#,
        quote_literal(&entry.operation),
        opt(&entry.from),
        opt(&entry.to),
        quote_literal(&entry.target),
        quote_literal(&entry.outcome),
        opt(&entry.error),
        entry.override_used,
        quote_literal(env!("CARGO_PKG_VERSION")),
        opt(&entry.destructive),
        entry
            .loss
            .as_deref()
            .map_or("NULL".to_string(), |l| format!(
                "{}::jsonb",
                quote_literal(l)
            )),
        opt(&entry.snapshot),
    )
}

/// The statement that records a migration as applied without running it
/// (`adopt`, `baseline`): when the other tool applied it (seconds since the
/// epoch), or now; an execution time of 0.
pub fn record_adopted(
    version: &str,
    name: &str,
    checksum: &str,
    applied_at: Option<f64>,
) -> String {
    let at = match applied_at {
        Some(secs) if secs.is_finite() => format!("pg_catalog.to_timestamp({secs})"),
        _ => "pg_catalog.clock_timestamp()".to_string(),
    };
    format!(
        r#"INSERT INTO "wdh_migrate"."applied" ("version", "name", "checksum", "applied_at", "execution_ms", "no_transaction") VALUES ({}, {}, {}, {at}, 0, false);"#,
        quote_literal(version),
        quote_literal(name),
        quote_literal(checksum)
    )
}

/// The message that records migrations as applied without running them, in
/// one transaction that fails (recording nothing) unless this run still
/// holds the lock (`token`).
pub fn record_adopted_all(records: &[String], token: Option<&str>) -> String {
    let fence = token.map(lock_fence).unwrap_or_default();
    format!("BEGIN;\n{fence}\n{}\nCOMMIT;", records.join("\n"))
}
