use std::time::Duration;

use super::statements::*;
use super::{rfc3339, AuditEntry};

#[test]
fn formats_epoch_seconds_as_utc() {
    assert_eq!(rfc3339(0.0), "1970-01-01T00:00:00.000Z");
    assert_eq!(rfc3339(951_782_400.5), "2000-02-29T00:00:00.500Z");
    assert_eq!(rfc3339(1_795_590_514.300_4), "2026-11-25T07:08:34.300Z");
    assert_eq!(rfc3339(-1.0), "1969-12-31T23:59:59.000Z");
}

#[test]
fn the_ledger_is_created_in_one_transaction_with_search_path_pinned() {
    let sql = create_message();
    assert!(
        sql.starts_with(
            "BEGIN;\nSET LOCAL search_path = pg_catalog;\nCREATE SCHEMA IF NOT EXISTS \"wdh_migrate\";\n"
        ),
        "{sql}"
    );
    assert!(
        sql.ends_with(
            "FOR EACH STATEMENT EXECUTE FUNCTION \"wdh_migrate\".\"audit_is_append_only\"();\nCOMMIT;"
        ),
        "{sql}"
    );
    assert!(sql.contains("INSERT INTO \"wdh_migrate\".\"format\" (\"format\") VALUES (1);"));
}

#[test]
fn lock_statements() {
    assert_eq!(
        acquire_lock(Duration::from_secs(60)),
        "SET lock_timeout = '60000ms'; SELECT pg_catalog.pg_advisory_lock(8603115947251296114)"
    );
    // 0 would mean no limit.
    assert_eq!(
        acquire_lock(Duration::ZERO),
        "SET lock_timeout = '1ms'; SELECT pg_catalog.pg_advisory_lock(8603115947251296114)"
    );
    assert_eq!(
        release_lock(),
        "SELECT pg_catalog.pg_advisory_unlock(8603115947251296114)"
    );
    assert_eq!(
        lock_holder(),
        "SELECT l.pid FROM pg_catalog.pg_locks l WHERE l.locktype OPERATOR(pg_catalog.=) 'advisory' \
         AND l.granted AND l.objsubid OPERATOR(pg_catalog.=) 1 AND l.database OPERATOR(pg_catalog.=) \
         (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname OPERATOR(pg_catalog.=) \
         pg_catalog.current_database()) AND ((l.classid::pg_catalog.int8 OPERATOR(pg_catalog.<<) 32) \
         OPERATOR(pg_catalog.|) l.objid::pg_catalog.int8) OPERATOR(pg_catalog.=) 8603115947251296114"
    );
}

#[test]
fn run_session_statements() {
    assert_eq!(run_session(130_000, None, None), "RESET lock_timeout;");
    assert_eq!(
        run_session(
            140_000,
            Some(Duration::from_secs(2)),
            Some(Duration::from_secs(u64::MAX))
        ),
        "RESET lock_timeout;SET client_connection_check_interval = '1s';\
         SET lock_timeout = '2000ms';SET statement_timeout = '2147483647ms';"
    );
}

#[test]
fn marker_statements() {
    assert_eq!(
        set_marker("my db", "production", true),
        r#"ALTER DATABASE "my db" SET wdh.environment = 'production'; ALTER DATABASE "my db" SET wdh.environment_locked = 'on';"#
    );
    assert_eq!(
        set_marker("app", "dev", false),
        r#"ALTER DATABASE "app" SET wdh.environment = 'dev'; ALTER DATABASE "app" RESET wdh.environment_locked;"#
    );
}

#[test]
fn ledger_row_statements() {
    assert_eq!(
        record_applied("0001", "a'b", "abc", false, None),
        r#"INSERT INTO "wdh_migrate"."applied" ("version", "name", "checksum", "execution_ms", "no_transaction") VALUES ('0001', 'a''b', 'abc', 1000 * extract(epoch FROM clock_timestamp() - statement_timestamp()), false);"#
    );
    assert_eq!(
        record_applied("0001", "a'b", "abc", true, Some(12.5)),
        r#"INSERT INTO "wdh_migrate"."applied" ("version", "name", "checksum", "execution_ms", "no_transaction") VALUES ('0001', 'a''b', 'abc', 12.5, true);"#
    );
    let reverted = r#"DO $wdh$ BEGIN
    DELETE FROM "wdh_migrate"."applied" WHERE "version" = '0001';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'wdh-migrate: the ledger has no row for version %', '0001';
    END IF;
END $wdh$;"#;
    assert_eq!(record_reverted("0001"), reverted);
    assert_eq!(
        record_done(
            crate::migrations::Direction::Down,
            "0001",
            "n",
            "abc",
            true,
            Some(1.0)
        ),
        reverted
    );
    assert_eq!(
        record_started("0001", "n", "down", 3),
        r#"INSERT INTO "wdh_migrate"."failed" ("version", "name", "direction", "state", "statements_total")
VALUES ('0001', 'n', 'down', 'running', 3)
ON CONFLICT ("version") DO UPDATE SET "name" = excluded."name", "direction" = excluded."direction", "state" = 'running',
    "statements_done" = 0, "statements_total" = excluded."statements_total", "error" = NULL,
    "backend_pid" = pg_backend_pid(), "failed_at" = clock_timestamp();"#
    );
    assert_eq!(
        record_progress("0001", 2),
        r#"UPDATE "wdh_migrate"."failed" SET "statements_done" = 2 WHERE "version" = '0001';"#
    );
    assert_eq!(
        record_failed("0001", "boom 'x'"),
        r#"UPDATE "wdh_migrate"."failed" SET "state" = 'failed', "error" = 'boom ''x''', "failed_at" = clock_timestamp() WHERE "version" = '0001';"#
    );
    assert_eq!(
        clear_failed("0001"),
        r#"DELETE FROM "wdh_migrate"."failed" WHERE "version" = '0001';"#
    );
    assert_eq!(
        finish_no_transaction("R;", "0001"),
        r#"BEGIN;R;DELETE FROM "wdh_migrate"."failed" WHERE "version" = '0001';COMMIT;"#
    );
}

#[test]
fn audit_statement() {
    let entry = AuditEntry {
        operation: "mark".into(),
        from: None,
        to: Some("x'y".into()),
        target: "t".into(),
        outcome: "success".into(),
        error: Some("e".into()),
        override_used: true,
    };
    assert_eq!(
        audit_sql(&entry),
        concat!(
            r#"INSERT INTO "wdh_migrate"."audit" ("operation", "from_version", "to_version", "target", "outcome", "error", "override_used", "tool_version") VALUES ('mark', NULL, 'x''y', 't', 'success', 'e', true, '"#,
            env!("CARGO_PKG_VERSION"),
            "');"
        )
    );
}

#[test]
fn rows_match_migrations_by_their_resolved_version() {
    use super::{AppliedRow, FailedRow, LedgerState};
    use crate::migrations::Direction;
    use crate::migrations::{MigrationSet, Version};

    let files = [
        ("0001_a.up.sql", "SELECT 1;"),
        ("0002_b.up.sql", "SELECT 2;"),
    ]
    .iter()
    .map(|(p, s)| (std::path::PathBuf::from(p), s.as_bytes().to_vec()))
    .collect();
    let set = MigrationSet::from_files(std::path::Path::new("m"), files).expect("set");
    let applied = AppliedRow {
        version: "1".into(),
        resolved: Version::parse("1", set.layout),
        name: "a".into(),
        checksum: String::new(),
        applied_at: String::new(),
        execution_ms: 0.0,
        applied_by: String::new(),
        client_addr: None,
    };
    let failed = FailedRow {
        version: "02".into(),
        resolved: Version::parse("02", set.layout),
        name: "b".into(),
        direction: Direction::Up,
        statements_done: 0,
        statements_total: 1,
        error: String::new(),
        failed_at: String::new(),
    };
    let state = LedgerState {
        exists: true,
        applied: vec![applied],
        failed: vec![failed],
    };
    let (a, b) = (&set.migrations[0], &set.migrations[1]);
    // The ledger's own text is what every statement about the row uses.
    assert_eq!(state.recorded_version(a), "1");
    assert_eq!(state.recorded_version(b), "02");
    assert!(!state.is_failed(a));
    assert!(state.is_failed(b));
    assert_eq!(LedgerState::default().recorded_version(a), "0001");
}
