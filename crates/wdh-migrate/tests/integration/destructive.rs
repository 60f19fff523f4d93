//! An upgrade whose pending up scripts hold a destructive statement is
//! judged by the guard as a downgrade is: refused on a protected database
//! (exit 3, BLOCKED, naming the file, line and statement) unless the file
//! acknowledges it or the override is given; run with a warning on a safe
//! one; the audit row records which.

use wdh_migrate_core::plan::UpgradeTo;
use wdh_migrate_core::runner::{RunError, RunOptions, Runner};
use wdh_testdb::TestDatabase;

use crate::support::*;

const OVERRIDE: &str = "I_KNOW_WHAT_I_AM_DOING";

/// `0001` makes `keep` and `legacy`; the pending `0002` drops `legacy`,
/// after `header`.
fn drop_set(header: &str) -> tempfile::TempDir {
    folder(&[
        (
            "0001_tables/up.sql",
            "CREATE TABLE keep (id bigint PRIMARY KEY);\nCREATE TABLE legacy (id bigint PRIMARY KEY, note text);\n",
        ),
        ("0001_tables/down.sql", "DROP TABLE keep, legacy;\n"),
        (
            "0002_drop/up.sql",
            &format!("{header}ALTER TABLE keep ADD COLUMN x integer;\nDROP TABLE legacy;\n"),
        ),
        ("0002_drop/down.sql", "ALTER TABLE keep DROP COLUMN x;\n"),
    ])
}

/// A database at `0001` with rows in `legacy`, marked as `marker`
/// (`production`, `production --locked`) unless empty.
fn at_0001(dir: &tempfile::TempDir, marker: &[&str]) -> TestDatabase {
    let db = db();
    assert_eq!(
        wdh(&["upgrade", "+1"])
            .db(&db)
            .migrations(dir.path())
            .run()
            .code,
        0
    );
    db.connect()
        .unwrap()
        .batch_execute("INSERT INTO legacy SELECT g, 'n' FROM generate_series(1, 100) g")
        .unwrap();
    if !marker.is_empty() {
        let mut args = vec!["mark"];
        args.extend_from_slice(marker);
        assert_eq!(wdh(&args).db(&db).run().code, 0);
    }
    db
}

fn last_destructive(db: &TestDatabase) -> Option<String> {
    query_one(
        db,
        "SELECT destructive FROM wdh_migrate.audit ORDER BY id DESC LIMIT 1",
    )
}

fn legacy_rows(db: &TestDatabase) -> i64 {
    query_one(db, "SELECT count(*) FROM legacy")
}

#[test]
fn refused_on_a_protected_database_which_stays_as_it_was() {
    let dir = drop_set("");
    let db = at_0001(&dir, &["production"]);
    let before = snapshot(&db);
    let run = wdh(&["upgrade"]).db(&db).migrations(dir.path()).run();
    assert_eq!(run.code, 3, "{}", run.all());
    let name = db.name();
    let refusal = format!(
        "BLOCKED: Refusing a destructive upgrade of potential production database.\n  \
         Database: `{name}`\n  \
         Destructive: 0002_drop/up.sql:2:1 DROP TABLE legacy (drop-table)\n  \
         Protected because it is marked `production` on the server.\n  \
         To proceed: if the loss is intended, acknowledge it in the file, a reviewed and committed decision: `-- wdh:allow drop-table <reason>` among its first comment lines;\n  \
         or set WDH_ALLOW_PRODUCTION_DOWNGRADE=I_KNOW_WHAT_I_AM_DOING AND pass --confirm-database {name}.\n"
    );
    assert!(run.stderr.ends_with(&refusal), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "{}/0002_drop/up.sql:2:1: error[drop-table]: `DROP TABLE legacy` loses every row of `legacy`",
            dir.path().display()
        )),
        "{}",
        run.stderr
    );
    assert_eq!(snapshot(&db), before);
    assert_eq!(legacy_rows(&db), 100);
    assert_eq!(
        audit(&db).last().map(String::as_str),
        Some("upgrade refused false")
    );
    assert_eq!(
        last_destructive(&db).as_deref(),
        Some("0002_drop/up.sql:2:1 DROP TABLE legacy (drop-table): refused")
    );
    // The library refuses the same, as `Blocked`.
    let t = target(&db);
    let set = wdh_migrate_core::MigrationSet::load(dir.path()).unwrap();
    let e = Runner::new(&t, RunOptions::default())
        .upgrade(&set, &UpgradeTo::Head, &mut |_| {})
        .unwrap_err();
    assert!(matches!(e, RunError::Blocked(_)), "{e}");
    assert_eq!(snapshot(&db), before);
    // The override variable alone is not enough.
    let run = wdh(&["upgrade"])
        .db(&db)
        .migrations(dir.path())
        .env("WDH_ALLOW_PRODUCTION_DOWNGRADE", OVERRIDE)
        .run();
    run.expect(3, &["BLOCKED", "--confirm-database was not given"]);
    assert_eq!(snapshot(&db), before);
}

#[test]
fn an_acknowledgement_in_the_file_lets_it_run_and_is_audited() {
    let dir =
        drop_set("-- Archived to s3://archive/legacy first.\n-- wdh:allow drop-table archived\n");
    let db = at_0001(&dir, &["production"]);
    let run = wdh(&["upgrade"]).db(&db).migrations(dir.path()).run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stderr.contains("acknowledged[drop-table]"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("BLOCKED"), "{}", run.stderr);
    assert_eq!(applied_versions(&db), ["0001", "0002"]);
    assert_eq!(
        audit(&db).last().map(String::as_str),
        Some("upgrade success false")
    );
    assert_eq!(
        last_destructive(&db).as_deref(),
        Some("0002_drop/up.sql:4:1 DROP TABLE legacy (drop-table): acknowledged by `-- wdh:allow drop-table` on line 2 (archived)")
    );
}

#[test]
fn the_override_lets_it_run_with_a_warning_and_is_audited() {
    let dir = drop_set("");
    let db = at_0001(&dir, &["production"]);
    let run = wdh(&["upgrade", "--confirm-database", db.name()])
        .db(&db)
        .migrations(dir.path())
        .env("WDH_ALLOW_PRODUCTION_DOWNGRADE", OVERRIDE)
        .run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stderr.contains(&format!(
            "WARNING: running a destructive upgrade on protected database `{}` because WDH_ALLOW_PRODUCTION_DOWNGRADE=I_KNOW_WHAT_I_AM_DOING and --confirm-database {} were given. It is protected because it is marked `production` on the server.\n  Destructive: 0002_drop/up.sql:2:1 DROP TABLE legacy (drop-table)",
            db.name(),
            db.name()
        )),
        "{}",
        run.stderr
    );
    assert_eq!(applied_versions(&db), ["0001", "0002"]);
    assert_eq!(
        audit(&db).last().map(String::as_str),
        Some("upgrade success true")
    );
    assert_eq!(
        last_destructive(&db).as_deref(),
        Some("0002_drop/up.sql:2:1 DROP TABLE legacy (drop-table): allowed by the override")
    );
}

#[test]
fn a_locked_production_marker_takes_no_override() {
    let dir = drop_set("");
    let db = at_0001(&dir, &["production", "--locked"]);
    let before = snapshot(&db);
    let run = wdh(&["upgrade", "--confirm-database", db.name()])
        .db(&db)
        .migrations(dir.path())
        .env("WDH_ALLOW_PRODUCTION_DOWNGRADE", OVERRIDE)
        .run();
    run.expect(
        3,
        &[
            "BLOCKED: Refusing a destructive upgrade",
            "no override is accepted",
            "`-- wdh:allow drop-table`",
        ],
    );
    assert_eq!(snapshot(&db), before);
    assert_eq!(legacy_rows(&db), 100);
}

#[test]
fn on_a_safe_database_it_runs_with_a_warning_and_is_audited() {
    let dir = drop_set("");
    let db = at_0001(&dir, &[]);
    let run = wdh(&["upgrade"]).db(&db).migrations(dir.path()).run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stderr.contains(&format!(
            "warning: running a destructive upgrade on `{}`, allowed because `{}` is safe by ",
            db.name(),
            db.name()
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains(": 0002_drop/up.sql:2:1 DROP TABLE legacy (drop-table)\n"),
        "{}",
        run.stderr
    );
    assert_eq!(applied_versions(&db), ["0001", "0002"]);
    let note = last_destructive(&db).unwrap_or_default();
    assert!(
        note.starts_with(
            "0002_drop/up.sql:2:1 DROP TABLE legacy (drop-table): allowed on a safe database ("
        ),
        "{note}"
    );
    assert_eq!(
        audit(&db).last().map(String::as_str),
        Some("upgrade success false")
    );
}

#[test]
fn an_upgrade_without_destructive_statements_records_none() {
    let dir = folder(&[
        ("0001_t/up.sql", "CREATE TABLE t (id bigint PRIMARY KEY);\n"),
        ("0001_t/down.sql", "DROP TABLE t;\n"),
    ]);
    let db = db();
    assert_eq!(wdh(&["mark", "production"]).db(&db).run().code, 0);
    assert_eq!(
        wdh(&["upgrade"]).db(&db).migrations(dir.path()).run().code,
        0
    );
    assert_eq!(
        audit(&db).last().map(String::as_str),
        Some("upgrade success false")
    );
    assert_eq!(last_destructive(&db), None);
}
