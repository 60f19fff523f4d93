//! `wdh-migrate check`: up/down/up with a schema diff, on throw-away databases only.

use std::collections::BTreeSet;

use crate::support::*;

#[test]
fn the_bundled_set_is_exactly_reversible() {
    let run = wdh(&["check"]).migrations(&bundled_dir()).run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.stdout.matches("  ok ").count(), 10, "{}", run.stdout);
    let json = wdh(&["check", "--json"]).migrations(&bundled_dir()).run();
    assert_eq!(json.code, 0, "{}", json.all());
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let outcomes: BTreeSet<&str> = v["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, BTreeSet::from(["inverse"]));
}

#[test]
fn the_first_down_that_is_not_the_inverse_is_reported_with_a_diff() {
    let dir = folder(&[
        ("0001_t/up.sql", "CREATE TABLE t (id int PRIMARY KEY, name text);"),
        ("0001_t/down.sql", "DROP TABLE t;"),
        ("0002_idx/up.sql", "CREATE INDEX t_name_idx ON t (name);\nALTER TABLE t ALTER COLUMN name SET DEFAULT 'x';"),
        ("0002_idx/down.sql", "ALTER TABLE t ALTER COLUMN name DROP DEFAULT;"),
        ("0003_later/up.sql", "CREATE TABLE later (id int);"),
        ("0003_later/down.sql", "-- forgot it too, but the check stops at the first"),
    ]);
    let run = wdh(&["check"]).migrations(dir.path()).run();
    assert_eq!(run.code, 4, "{}", run.all());
    assert!(
        run.stdout.contains("NOT INVERSE") && run.stdout.contains("0002_idx"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("t_name_idx"),
        "the diff names the index: {}",
        run.stdout
    );
    assert!(!run.stdout.contains("0003_later"), "{}", run.stdout);
    let json = wdh(&["check", "--json"]).migrations(dir.path()).run();
    assert_eq!(json.code, 4);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let last = v["migrations"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["outcome"], "not-inverse");
    assert_eq!(last["version"], "0002");
    assert!(
        last["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["key"].as_str().unwrap().contains("t_name_idx")),
        "{last}"
    );
}

#[test]
fn missing_irreversible_and_no_op_downs_are_reported_and_skipped() {
    let dir = folder(&[
        ("0001_t/up.sql", "CREATE TABLE t (id int);"),
        ("0001_t/down.sql", "DROP TABLE t;"),
        ("0002_nodown/up.sql", "CREATE TABLE u (id int);"),
        (
            "0003_irrev/up.sql",
            "-- wdh:irreversible\nINSERT INTO t VALUES (1);",
        ),
        ("0003_irrev/down.sql", ""),
        ("0004_noop/up.sql", "UPDATE t SET id = id;"),
        ("0004_noop/down.sql", "-- nothing to undo\n"),
        ("0005_v/up.sql", "CREATE VIEW v AS SELECT id FROM t;"),
        ("0005_v/down.sql", "DROP VIEW v;"),
        ("notes.md", "not a migration"),
    ]);
    let run = wdh(&["check"]).migrations(dir.path()).run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.contains("missing down.sql: 0002_nodown"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("irreversible: 0003_irrev"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("no-op down") && run.stdout.contains("0004_noop"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("ignored: notes.md"), "{}", run.stdout);
    assert!(run.stdout.contains("ok           0005_v"), "{}", run.stdout);
}

#[test]
fn a_migration_that_does_not_run_fails_the_check() {
    let dir = folder(&[
        (
            "0001_bad/up.sql",
            "CREATE TABLE t (id int REFERENCES nowhere (id));",
        ),
        ("0001_bad/down.sql", "DROP TABLE t;"),
    ]);
    let run = wdh(&["check"]).migrations(dir.path()).run();
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stdout.contains("FAILED") && run.stdout.contains("nowhere"),
        "{}",
        run.stdout
    );
}

#[test]
fn layout_problems_fail_before_anything_starts() {
    let dir = folder(&[("0001-a.up.sql", "SELECT 1;")]);
    let run = wdh(&["check"]).migrations(dir.path()).run();
    run.expect(2, &["0001-a.up.sql"]);
}

#[test]
fn check_never_reads_or_touches_the_configured_database() {
    let cwd = tempfile::tempdir().unwrap();
    std::fs::write(
        cwd.path().join("wdh.toml"),
        "database_url = \"postgresql://app@/production?host=/nonexistent\"\n",
    )
    .unwrap();
    let run = wdh(&["check"])
        .cwd(cwd.path())
        .env(
            "DATABASE_URL",
            "postgresql://app@/production?host=/nonexistent",
        )
        .env(
            "WDH_DATABASE_URL",
            "postgresql://app@/production?host=/nonexistent",
        )
        .migrations(&bundled_dir())
        .run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        !run.all().contains("production") && !run.all().contains("target:"),
        "{}",
        run.all()
    );
    let run = wdh(&[
        "check",
        "--database-url",
        "postgresql://app@/production?host=/nonexistent",
    ])
    .migrations(&bundled_dir())
    .run();
    run.expect(2, &["--admin-url"]);
}

#[test]
fn check_runs_on_a_server_given_with_admin_url_and_cleans_up() {
    let cluster = wdh_testdb::TestCluster::start().unwrap();
    let run = wdh(&["check", "--admin-url", &cluster.url("postgres")])
        .migrations(&bundled_dir())
        .run();
    assert_eq!(run.code, 0, "{}", run.all());
    let mut c = cluster.server().connect("postgres").unwrap();
    let left: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'wdh\\_test\\_%'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "the check's database is dropped");
}
