//! Bad folder layouts: each gives its documented error naming the file,
//! exits 2, and touches nothing.

use crate::support::*;

fn expect_layout_error(files: &[(&str, &[u8])], needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    for (path, bytes) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    let db = db();
    let before = snapshot(&db);
    let run = wdh(&["upgrade"]).db(&db).migrations(dir.path()).run();
    run.expect(2, &[needle]);
    assert_eq!(snapshot(&db), before);
    let no_ledger: bool = query_one(&db, "SELECT to_regnamespace('wdh_migrate') IS NULL");
    assert!(no_ledger);
}

#[test]
fn duplicate_versions() {
    expect_layout_error(
        &[
            ("1_a.up.sql", b"SELECT 1;"),
            ("1_a.down.sql", b""),
            ("01_b.up.sql", b"SELECT 1;"),
            ("01_b.down.sql", b""),
        ],
        "01_b.up.sql",
    );
}

#[test]
fn a_versioned_folder_without_up_sql() {
    expect_layout_error(&[("0001_a/down.sql", b"SELECT 1;")], "0001_a");
}

#[test]
fn a_dash_instead_of_an_underscore() {
    expect_layout_error(&[("0012-add.up.sql", b"SELECT 1;")], "0012-add.up.sql");
}

#[test]
fn an_up_file_without_a_version() {
    expect_layout_error(&[("add_users.up.sql", b"SELECT 1;")], "add_users.up.sql");
}

#[test]
fn an_up_whose_down_has_another_name() {
    expect_layout_error(
        &[
            ("0001_a.up.sql", b"SELECT 1;"),
            ("0001_b.down.sql", b"SELECT 1;"),
        ],
        "0001_b.down.sql",
    );
}

#[test]
fn a_non_utf8_file() {
    expect_layout_error(&[("0001_a/up.sql", b"SELECT '\xff';")], "0001_a/up.sql");
}

#[test]
fn a_missing_folder() {
    let db = db();
    let run = wdh(&["upgrade"])
        .db(&db)
        .migrations(std::path::Path::new("/nonexistent/migrations"))
        .run();
    run.expect(2, &["/nonexistent/migrations"]);
}

#[test]
fn files_that_are_not_migrations_are_listed_not_skipped_silently() {
    let dir = folder(&[
        ("README.md", "how to write migrations"),
        ("seed.sql", "INSERT INTO x VALUES (1);"),
        ("0001 first table/up.sql", "CREATE TABLE first (id int);"),
        ("0001 first table/down.sql", "DROP TABLE first;"),
    ]);
    // A folder name with spaces: the version ends at the first `_` only, so
    // this one is malformed; use an underscore and keep the spaces in the name.
    std::fs::rename(
        dir.path().join("0001 first table"),
        dir.path().join("0001_first table"),
    )
    .unwrap();
    let db = db();
    let run = wdh(&["upgrade"]).db(&db).migrations(dir.path()).run();
    run.expect(0, &["README.md", "seed.sql"]);
    let status = wdh(&["status"]).db(&db).migrations(dir.path()).run();
    assert!(
        status.stdout.contains("ignored") && status.stdout.contains("seed.sql"),
        "{}",
        status.stdout
    );
    assert_eq!(applied_versions(&db), ["0001"]);
}

#[test]
fn bom_and_crlf_files_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("0001_crlf")).unwrap();
    std::fs::write(
        dir.path().join("0001_crlf/up.sql"),
        b"\xef\xbb\xbfCREATE TABLE crlf (id int);\r\nINSERT INTO crlf VALUES (1);\r\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("0001_crlf/down.sql"),
        b"\xef\xbb\xbfDROP TABLE crlf;\r\n",
    )
    .unwrap();
    let db = db();
    let run = wdh(&["upgrade"]).db(&db).migrations(dir.path()).run();
    assert_eq!(run.code, 0, "{}", run.all());
    let n: i64 = query_one(&db, "SELECT count(*) FROM crlf");
    assert_eq!(n, 1);
    let run = wdh(&["downgrade", "base"])
        .db(&db)
        .migrations(dir.path())
        .run();
    assert_eq!(run.code, 0, "{}", run.all());
}

/// A real-world set vendored under `tests/fixtures/real-world` (see its
/// README for the project, commit and license).
fn real_world(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/real-world")
        .join(name)
}

/// Applies the set, reverts it to base, applies it again: the schema after
/// each upgrade is the same, and base is the empty database's schema.
fn round_trip(name: &str, applied: &[&str]) {
    let dir = real_world(name);
    let db = db();
    let empty = dump(&db);
    let run = wdh(&["upgrade"]).db(&db).migrations(&dir).run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(applied_versions(&db), applied);
    let first = dump(&db);
    assert_ne!(first, empty);
    let run = wdh(&["downgrade", "base"]).db(&db).migrations(&dir).run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(dump(&db), empty);
    assert!(applied_versions(&db).is_empty());
    let run = wdh(&["upgrade"]).db(&db).migrations(&dir).run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(dump(&db), first);
}

#[test]
fn a_real_goose_set_round_trips() {
    round_trip("goose", &["00001", "00002", "00003", "00005", "00006"]);
}

#[test]
fn a_real_sql_migrate_set_round_trips() {
    round_trip("sql-migrate", &["1", "2"]);
}

#[test]
fn a_real_dbmate_set_round_trips() {
    round_trip("dbmate", &["20151129054053", "20200227231541"]);
}

#[test]
fn a_real_flyway_named_set_applies_and_refuses_a_downgrade_without_undo() {
    let dir = real_world("refinery");
    let db = db();
    let run = wdh(&["upgrade"]).db(&db).migrations(&dir).run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(applied_versions(&db), ["1", "2"]);
    let before = snapshot(&db);
    let run = wdh(&["downgrade", "base"]).db(&db).migrations(&dir).run();
    run.expect(4, &["irreversible"]);
    assert_eq!(snapshot(&db), before);
}

#[test]
fn a_goose_no_transaction_block_runs_whole_and_resumes_after_it() {
    // The block holds two statements: sent as one message, it is one
    // statement of the migration's progress.
    let dir = folder(&[(
        "00001_blocks.sql",
        "-- +goose NO TRANSACTION\n-- +goose Up\n-- +goose StatementBegin\nCREATE TABLE a (id int);\nCREATE TABLE b (id int);\n-- +goose StatementEnd\nCREATE INDEX CONCURRENTLY a_id ON a (id);\nCREATE TABLE c (id int REFERENCES nowhere);\n-- +goose Down\nDROP TABLE IF EXISTS c;\nDROP TABLE b;\nDROP TABLE a;\n",
    )]);
    let db = db();
    let run = wdh(&["upgrade"]).db(&db).migrations(dir.path()).run();
    run.expect(
        1,
        &["00001_blocks.sql:8", "2 of 3 statement(s) took effect"],
    );
    let tables: i64 = query_one(
        &db,
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('a', 'b')",
    );
    assert_eq!(tables, 2);
    write(
        dir.path(),
        "00001_blocks.sql",
        "-- +goose NO TRANSACTION\n-- +goose Up\n-- +goose StatementBegin\nCREATE TABLE a (id int);\nCREATE TABLE b (id int);\n-- +goose StatementEnd\nCREATE INDEX CONCURRENTLY a_id ON a (id);\nCREATE TABLE c (id int);\n-- +goose Down\nDROP TABLE IF EXISTS c;\nDROP TABLE b;\nDROP TABLE a;\n",
    );
    let run = wdh(&["upgrade", "--retry-failed"])
        .db(&db)
        .migrations(dir.path())
        .run();
    assert_eq!(run.code, 0, "{}", run.all());
    let n: i64 = query_one(
        &db,
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('a', 'b', 'c')",
    );
    assert_eq!(n, 3);
    let dry = wdh(&["downgrade", "base", "--dry-run"])
        .db(&db)
        .migrations(dir.path())
        .run();
    assert_eq!(dry.code, 0, "{}", dry.all());
    assert!(dry.stdout.contains("DROP TABLE b;"), "{}", dry.stdout);
}

#[test]
fn new_writes_the_next_migration_in_each_layout() {
    for (file, text, layout_file) in [
        (
            "00001_a.sql",
            "-- +goose Up\nCREATE TABLE a (id int);\n",
            "00002_b.sql",
        ),
        (
            "1-a.sql",
            "-- +migrate Up\nCREATE TABLE a (id int);\n",
            "2-b.sql",
        ),
        (
            "1_a.sql",
            "-- migrate:up\nCREATE TABLE a (id int);\n-- migrate:down\n",
            "2_b.sql",
        ),
        ("V1_1__a.sql", "CREATE TABLE a (id int);\n", "V1_2__b.sql"),
    ] {
        let dir = folder(&[(file, text)]);
        let run = wdh(&["new", "b"]).migrations(dir.path()).run();
        assert_eq!(run.code, 0, "{}", run.all());
        assert!(run.stdout.contains(layout_file), "{file}: {}", run.stdout);
        assert!(dir.path().join(layout_file).is_file());
    }
}
