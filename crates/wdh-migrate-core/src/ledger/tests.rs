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
    let sql =
        ledger_setup_begin(Duration::from_secs(1)) + &ledger_setup_finish(LedgerParts::default());
    assert!(
        sql.starts_with("BEGIN;\nSET LOCAL search_path = pg_catalog;\n"),
        "{sql}"
    );
    assert!(sql.contains("CREATE SCHEMA IF NOT EXISTS \"wdh_migrate\";\n"));
    assert!(sql.contains("INSERT INTO \"wdh_migrate\".\"lock\" (\"id\") VALUES (1);\n"));
    assert!(sql.contains("INSERT INTO \"wdh_migrate\".\"format\" (\"format\") VALUES (4);"));
    assert!(sql.contains("\"destructive\" text\n);"));
    // Format 4 comes whole, the fence function last.
    assert!(sql.contains("ADD COLUMN \"loss\" jsonb, ADD COLUMN \"snapshot\" text;\n"));
    assert!(sql.ends_with("$fn$;\nCOMMIT;"), "{sql}");
}

#[test]
fn the_ledger_is_set_up_under_a_transaction_scoped_lock() {
    let parts = |ledger, lock, destructive, fence| LedgerParts {
        ledger,
        lock,
        destructive,
        fence,
    };
    let begin = ledger_setup_begin(Duration::ZERO);
    assert!(begin.starts_with(
        "BEGIN;\nSET LOCAL search_path = pg_catalog;\nSET LOCAL lock_timeout = '1ms';\n\
         SELECT pg_catalog.pg_advisory_xact_lock(8603115947251296114);\n"
    ));
    // Only the schema is looked for first; the parts where it exists.
    assert!(
        begin.ends_with(
            "SELECT EXISTS (SELECT FROM pg_catalog.pg_namespace n \
             WHERE n.nspname OPERATOR(pg_catalog.=) 'wdh_migrate');"
        ),
        "{begin}"
    );
    let asked = ledger_parts();
    assert_eq!(asked.matches("SELECT EXISTS").count(), 4, "{asked}");
    assert!(asked.contains("'step_fence'") && asked.contains("'destructive'"));
    let fresh = ledger_setup_finish(LedgerParts::default());
    assert!(fresh.starts_with("CREATE SCHEMA IF NOT EXISTS"));
    assert_eq!(
        fresh
            .matches("INSERT INTO \"wdh_migrate\".\"format\"")
            .count(),
        1,
        "{fresh}"
    );
    // Format 1: the lock table, then the audit's column, then format 4.
    let upgrade = ledger_setup_finish(parts(true, false, false, false));
    assert!(
        upgrade.starts_with("CREATE TABLE \"wdh_migrate\".\"lock\""),
        "{upgrade}"
    );
    assert!(upgrade.contains("INSERT INTO \"wdh_migrate\".\"format\" (\"format\") VALUES (2);\n"));
    assert!(upgrade.contains(
        "ALTER TABLE \"wdh_migrate\".\"audit\" ADD COLUMN \"destructive\" text;\n\
         INSERT INTO \"wdh_migrate\".\"format\" (\"format\") VALUES (3);\n"
    ));
    assert!(upgrade.ends_with(
        "$fn$;\nINSERT INTO \"wdh_migrate\".\"format\" (\"format\") VALUES (4);\nCOMMIT;"
    ));
    // Format 3: format 4's parts only.
    let three = ledger_setup_finish(parts(true, true, true, false));
    assert!(three.starts_with(
        "ALTER TABLE \"wdh_migrate\".\"audit\" ADD COLUMN \"loss\" jsonb, ADD COLUMN \"snapshot\" text;\n\
         CREATE FUNCTION \"wdh_migrate\".\"step_fence\"(\"xid\" bigint, \"token\" text)"
    ));
    assert_eq!(
        ledger_setup_finish(parts(true, true, true, true)),
        "COMMIT;"
    );
}

#[test]
fn lock_statements() {
    let acquire = acquire_lock(
        "tok",
        "upgrade",
        "me's",
        Duration::from_secs(10),
        Duration::from_millis(2500),
    );
    assert!(acquire.starts_with(
        "BEGIN ISOLATION LEVEL READ COMMITTED;\nSET LOCAL lock_timeout = '2500ms';\n"
    ));
    assert!(acquire.ends_with("COMMIT;"));
    assert!(
        acquire.contains(r#"SET "holder" = 'tok', "operation" = 'upgrade', "client" = 'me''s'"#)
    );
    assert!(acquire.contains(r#""lease_ms" = 10000"#));
    assert!(acquire.contains(
        r#"WHERE "id" = 1 AND ("holder" IS NULL
        OR "heartbeat_at" + "lease_ms" * interval '1 millisecond' < pg_catalog.clock_timestamp())"#
    ));
    assert_eq!(
        release_lock("t'k"),
        r#"UPDATE "wdh_migrate"."lock" SET "holder" = NULL, "heartbeat_at" = pg_catalog.clock_timestamp() WHERE "id" = 1 AND "holder" = 't''k'"#
    );
    assert_eq!(
        renew_lock("tok"),
        r#"UPDATE "wdh_migrate"."lock" SET "heartbeat_at" = pg_catalog.clock_timestamp() WHERE "id" = 1 AND "holder" = 'tok' RETURNING 1"#
    );
    assert_eq!(
        step_fence("42", Some("t'ok")),
        r#"SELECT "wdh_migrate"."step_fence"(42, 't''ok');"#
    );
    assert_eq!(
        step_fence("42", None),
        r#"SELECT "wdh_migrate"."step_fence"(42, NULL);"#
    );
    // The function raises the SQLSTATEs the runner reads.
    let function = include_str!("fence.sql");
    assert!(function.contains(&format!("USING ERRCODE = '{LOCK_LOST}'")));
    assert!(function.contains(&format!("USING ERRCODE = '{SCRIPT_ENDED_TRANSACTION}'")));
}

#[test]
fn the_transaction_prologue_sets_everything_locally() {
    assert_eq!(
        transaction_prologue(130_000, None, None),
        "BEGIN;\nSET LOCAL client_encoding = 'UTF8';\nSET LOCAL standard_conforming_strings = on;\n\
         SET LOCAL backslash_quote = safe_encoding;\n\
         SELECT pg_catalog.txid_current(), pg_catalog.pg_backend_pid();"
    );
    assert_eq!(
        transaction_prologue(
            140_000,
            Some(Duration::from_secs(2)),
            Some(Duration::from_secs(u64::MAX))
        ),
        "BEGIN;\nSET LOCAL client_encoding = 'UTF8';\nSET LOCAL standard_conforming_strings = on;\n\
         SET LOCAL backslash_quote = safe_encoding;\n\
         SET LOCAL client_connection_check_interval = '1s';\nSET LOCAL lock_timeout = '2000ms';\n\
         SET LOCAL statement_timeout = '2147483647ms';\n\
         SELECT pg_catalog.txid_current(), pg_catalog.pg_backend_pid();"
    );
}

#[test]
fn a_step_is_recorded_by_its_row_after_an_upgrade_and_by_its_absence_after_a_downgrade() {
    use crate::migrations::Direction;
    assert_eq!(
        step_recorded(Direction::Up, "0001's"),
        r#"SELECT EXISTS (SELECT FROM "wdh_migrate"."applied" WHERE "version" = '0001''s')"#
    );
    assert_eq!(
        step_recorded(Direction::Down, "0001"),
        r#"SELECT NOT EXISTS (SELECT FROM "wdh_migrate"."applied" WHERE "version" = '0001')"#
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
        record_started("0001", "n", "down", 3, 1),
        r#"INSERT INTO "wdh_migrate"."failed" ("version", "name", "direction", "state", "statements_done", "statements_total")
VALUES ('0001', 'n', 'down', 'running', 1, 3)
ON CONFLICT ("version") DO UPDATE SET "name" = excluded."name", "direction" = excluded."direction", "state" = 'running',
    "statements_done" = excluded."statements_done", "statements_total" = excluded."statements_total", "error" = NULL,
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
        destructive: Some("drop-table at a'b".into()),
        loss: Some(r#"[{"drop":"table"}]"#.into()),
        snapshot: Some("/s/x'y.dump".into()),
    };
    assert_eq!(
        audit_sql(&entry),
        concat!(
            r#"INSERT INTO "wdh_migrate"."audit" ("operation", "from_version", "to_version", "target", "outcome", "error", "override_used", "tool_version", "destructive", "loss", "snapshot") VALUES ('mark', NULL, 'x''y', 't', 'success', 'e', true, '"#,
            env!("CARGO_PKG_VERSION"),
            r#"', 'drop-table at a''b', '[{"drop":"table"}]'::jsonb, '/s/x''y.dump');"#
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
        state: "failed".into(),
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

#[test]
fn the_lock_watch_asks_with_parameters_and_knows_waitstart_from_14_on() {
    assert!(lock_wait(140_000).contains("l.waitstart"));
    assert!(!lock_wait(130_000).contains("waitstart"));
    for sql in [
        lock_wait(150_000),
        RUNNING_STATEMENT,
        LOCK_HOLDERS,
        CANCEL_LOCK_WAIT,
    ] {
        assert!(sql.contains("$1"), "{sql}");
        assert!(!sql.contains(" = "), "operators are qualified: {sql}");
    }
    assert!(!LOCK_HOLDERS.contains(".query"), "never a holder's query");
    assert!(
        RUNNING_STATEMENT.contains("a.application_name OPERATOR(pg_catalog.=) $3"),
        "the run's own application_name, whatever the string sets"
    );
    assert!(table_indexes(Some("it's"), "t").contains("tn.nspname OPERATOR(pg_catalog.=) 'it''s'"));
    assert!(table_indexes(None, "t").contains("pg_catalog.pg_table_is_visible(t.oid)"));
}
