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
//! Identifiers are always quoted.

use postgres::{Client, SimpleQueryMessage};

use crate::plan::{AppliedRow, FailedRow, LedgerState};
use crate::sql::quote_literal;

/// The ledger format this release writes and reads.
pub const FORMAT: i32 = 1;

/// The ledger's schema.
pub const SCHEMA: &str = "wdh_migrate";

const CREATE: &str = r#"
CREATE SCHEMA IF NOT EXISTS "wdh_migrate";
CREATE TABLE "wdh_migrate"."format" (
    "format" integer NOT NULL,
    "created_at" timestamptz NOT NULL DEFAULT now(),
    "created_by" text NOT NULL DEFAULT session_user
);
INSERT INTO "wdh_migrate"."format" ("format") VALUES (1);
CREATE TABLE "wdh_migrate"."applied" (
    "version" text PRIMARY KEY,
    "name" text NOT NULL,
    "checksum" text NOT NULL,
    "applied_at" timestamptz NOT NULL DEFAULT clock_timestamp(),
    "execution_ms" double precision NOT NULL,
    "applied_by" text NOT NULL DEFAULT session_user,
    "client_addr" inet DEFAULT inet_client_addr(),
    "no_transaction" boolean NOT NULL DEFAULT false
);
CREATE TABLE "wdh_migrate"."failed" (
    "version" text PRIMARY KEY,
    "name" text NOT NULL,
    "direction" text NOT NULL,
    "state" text NOT NULL,
    "statements_done" integer NOT NULL DEFAULT 0,
    "statements_total" integer NOT NULL,
    "error" text,
    "backend_pid" integer NOT NULL DEFAULT pg_backend_pid(),
    "failed_at" timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE "wdh_migrate"."audit" (
    "id" bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    "at" timestamptz NOT NULL DEFAULT clock_timestamp(),
    "operation" text NOT NULL,
    "from_version" text,
    "to_version" text,
    "target_database" text NOT NULL DEFAULT current_database(),
    "target" text NOT NULL,
    "role" text NOT NULL DEFAULT session_user,
    "client_addr" inet DEFAULT inet_client_addr(),
    "outcome" text NOT NULL,
    "error" text,
    "override_used" boolean NOT NULL DEFAULT false,
    "tool_version" text NOT NULL
);
CREATE FUNCTION "wdh_migrate"."audit_is_append_only"() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION 'wdh_migrate.audit is append-only';
END
$fn$;
CREATE TRIGGER "append_only" BEFORE UPDATE OR DELETE ON "wdh_migrate"."audit"
    FOR EACH ROW EXECUTE FUNCTION "wdh_migrate"."audit_is_append_only"();
CREATE TRIGGER "no_truncate" BEFORE TRUNCATE ON "wdh_migrate"."audit"
    FOR EACH STATEMENT EXECUTE FUNCTION "wdh_migrate"."audit_is_append_only"();
"#;

/// Creates the ledger in one transaction, unless it exists. Call under the run lock.
pub fn ensure(client: &mut Client) -> Result<(), postgres::Error> {
    let exists =
        single(&client.simple_query(
            r#"SELECT pg_catalog.to_regclass('"wdh_migrate"."format"') IS NOT NULL"#,
        )?)
        .is_some_and(|v| v == "t");
    if !exists {
        client.batch_execute(&create_message())?;
    }
    Ok(())
}

/// The message that creates the ledger in one transaction (shown by
/// `--dry-run` on a fresh database). `search_path` is pinned to `pg_catalog`
/// for it, so the columns' defaults (`now()`, `current_database()`, …) bind
/// to the real functions, not to look-alikes a role's `search_path` offers.
pub fn create_message() -> String {
    format!("BEGIN;\nSET LOCAL search_path = pg_catalog;{CREATE}COMMIT;")
}

/// Reads the ledger in one round trip (two when a no-transaction migration
/// is recorded as running, to tell whether its run is still alive). `exists`
/// comes from the identity query (no ledger: empty state).
///
/// Kept cheap for a fresh backend, as a no-op `upgrade` runs it on every
/// start: no views, and with `detail` false (planning needs only versions,
/// names and checksums) no conversions or sorting — on a fresh backend that
/// halves the cost of the read.
pub fn read(
    client: &mut Client,
    exists: bool,
    detail: bool,
) -> Result<(i32, LedgerState), postgres::Error> {
    if !exists {
        return Ok((FORMAT, LedgerState::default()));
    }
    let applied = if detail {
        r#"SELECT "version", "name", "checksum", extract(epoch FROM "applied_at"), "execution_ms", "applied_by", pg_catalog.host("client_addr")
  FROM "wdh_migrate"."applied" ORDER BY "applied_at", "version";"#
    } else {
        r#"SELECT "version", "name", "checksum", NULL, NULL, NULL, NULL FROM "wdh_migrate"."applied";"#
    };
    let messages = client.simple_query(&format!(
        r#"SELECT pg_catalog.max("format") FROM "wdh_migrate"."format";
{applied}
SELECT "version", "name", "statements_done", "statements_total", "state", "error", "backend_pid", extract(epoch FROM "failed_at"), "direction"
  FROM "wdh_migrate"."failed" ORDER BY "version";"#
    ))?;
    let results = result_sets(messages);
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let num = |v: &Option<String>| {
        v.as_deref()
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let format = results
        .first()
        .and_then(|r| r.first())
        .and_then(|r| r[0].as_deref())
        .and_then(|v| v.parse().ok())
        .unwrap_or(FORMAT);
    let applied = results
        .get(1)
        .map(|rows| {
            rows.iter()
                .map(|r| AppliedRow {
                    version: text(&r[0]),
                    name: text(&r[1]),
                    checksum: text(&r[2]),
                    applied_at: r[3]
                        .as_deref()
                        .map_or_else(String::new, |_| rfc3339(num(&r[3]))),
                    execution_ms: num(&r[4]),
                    applied_by: text(&r[5]),
                    client_addr: r[6].clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let mut failed = Vec::new();
    for r in results.get(2).map(Vec::as_slice).unwrap_or_default() {
        let error = match r[4].as_deref() {
            Some("running") => {
                let pid = text(&r[6]);
                let alive = single(&client.simple_query(&format!(
                    "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a WHERE a.pid OPERATOR(pg_catalog.=) {})",
                    pid.parse::<i32>().unwrap_or(0)
                ))?)
                .is_some_and(|v| v == "t");
                if alive {
                    format!("still running in server process {pid}")
                } else {
                    "interrupted: the run that was applying it ended before it finished".to_string()
                }
            }
            _ => r[5].clone().unwrap_or_else(|| "failed".to_string()),
        };
        failed.push(FailedRow {
            version: text(&r[0]),
            name: text(&r[1]),
            direction: if r[8].as_deref() == Some("down") {
                crate::plan::Direction::Down
            } else {
                crate::plan::Direction::Up
            },
            statements_done: num(&r[2]) as i32,
            statements_total: num(&r[3]) as i32,
            error,
            failed_at: rfc3339(num(&r[7])),
        });
    }
    Ok((
        format,
        LedgerState {
            exists: true,
            applied,
            failed,
        },
    ))
}

/// The rows of each statement of a simple query, as optional texts.
fn result_sets(messages: Vec<SimpleQueryMessage>) -> Vec<Vec<Vec<Option<String>>>> {
    let mut results: Vec<Vec<Vec<Option<String>>>> = vec![Vec::new()];
    for m in messages {
        match m {
            SimpleQueryMessage::Row(row) => {
                let values = (0..row.len())
                    .map(|i| row.get(i).map(str::to_string))
                    .collect();
                if let Some(last) = results.last_mut() {
                    last.push(values);
                }
            }
            SimpleQueryMessage::CommandComplete(_) => results.push(Vec::new()),
            _ => {}
        }
    }
    results
}

/// Seconds since 1970 as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC).
pub fn rfc3339(epoch: f64) -> String {
    let millis = (epoch * 1000.0).round() as i64;
    let (secs, ms) = (millis.div_euclid(1000), millis.rem_euclid(1000));
    let (days, day_secs) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        day_secs / 3600,
        day_secs % 3600 / 60,
        day_secs % 60
    )
}

/// The first value of the first row.
pub(crate) fn single(messages: &[SimpleQueryMessage]) -> Option<String> {
    messages.iter().find_map(|m| match m {
        SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
        _ => None,
    })
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

/// One audit row.
#[derive(Debug, Clone, Default)]
pub struct AuditEntry {
    /// `upgrade`, `downgrade`, `mark`, …
    pub operation: String,
    /// Version before.
    pub from: Option<String>,
    /// Version after (or intended).
    pub to: Option<String>,
    /// The target as given, password redacted.
    pub target: String,
    /// `success`, `failed` or `refused`.
    pub outcome: String,
    /// The error, if any (password redacted).
    pub error: Option<String>,
    /// Whether a safety override was used.
    pub override_used: bool,
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

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn formats_epoch_seconds_as_utc() {
        assert_eq!(rfc3339(0.0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400.5), "2000-02-29T00:00:00.500Z");
        assert_eq!(rfc3339(1_795_590_514.300_4), "2026-11-25T07:08:34.300Z");
        assert_eq!(rfc3339(-1.0), "1969-12-31T23:59:59.000Z");
    }
}
