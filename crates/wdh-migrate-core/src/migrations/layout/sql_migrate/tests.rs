use std::path::Path;

use crate::migrations::test_support::{assert_new_files_load_back, err, ok, versions};
use crate::migrations::{Layout, LoadError};

#[test]
fn sections_repeat_notransaction_is_per_direction_and_versions_are_numbers() {
    let set = ok(&[
        (
            "10-ten.sql",
            "-- header ignored\n-- +migrate Up notransaction\nCREATE INDEX CONCURRENTLY i ON t (id);\n\n-- +migrate Down\nDROP INDEX i;\n",
        ),
        (
            "2_two.sql",
            "-- +migrate Up\nCREATE TABLE t (id int);\n-- +migrate Down\nDROP TABLE t;\n-- +migrate Up\nINSERT INTO t VALUES (1);\n",
        ),
        ("seed.sql", "INSERT INTO t VALUES (2);"),
    ]);
    assert_eq!(set.layout, Layout::SqlMigrate);
    assert_eq!(versions(&set), ["2", "10"]);
    assert_eq!(set.migrations[0].name, "two");
    assert_eq!(set.migrations[1].name, "ten");
    let ten = &set.migrations[1];
    assert!(ten.up.no_transaction);
    assert!(!ten.down.script().expect("down").no_transaction);
    let two = &set.migrations[0];
    let up: Vec<String> = crate::sql::split_statements(&two.up.sql)
        .into_iter()
        .map(|s| s.sql)
        .collect();
    assert_eq!(
        up,
        ["CREATE TABLE t (id int);", "INSERT INTO t VALUES (1);"]
    );
    assert_eq!(set.ignored.len(), 1, "seed.sql has no sections");
}

#[test]
fn statement_blocks_are_explicit_statements() {
    let text = "-- +migrate Up notransaction\n-- +migrate StatementBegin\nCREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END; $$;\nSELECT 1;\n-- +migrate StatementEnd\nSELECT 2;\n-- +migrate Down\nDROP FUNCTION f();\n";
    let set = ok(&[("1_f.sql", text)]);
    let stmts = set.migrations[0].up.statements();
    assert_eq!(stmts.len(), 2);
    assert!(stmts[0].explicit && stmts[0].sql.ends_with("SELECT 1;"));
    assert_eq!(stmts[1].sql, "SELECT 2;");
}

#[test]
fn a_file_without_a_number_is_malformed() {
    let e = err(&[("init.sql", "-- +migrate Up\nSELECT 1;\n")]);
    assert!(
        matches!(&e, LoadError::MalformedName { path, .. } if path == Path::new("mig/init.sql")),
        "{e:?}"
    );
    let e = err(&[
        ("1-a.sql", "-- +migrate Up\nSELECT 1;\n"),
        ("01-b.sql", "-- +migrate Up\nSELECT 1;\n"),
    ]);
    assert!(matches!(e, LoadError::DuplicateVersion { .. }), "{e:?}");
}

#[test]
fn a_new_migrations_file_loads_back_as_it() {
    assert_new_files_load_back(Layout::SqlMigrate);
}
