use std::path::Path;

use crate::migrations::test_support::{assert_new_files_load_back, err, ok, versions};
use crate::migrations::{Down, Layout, LoadError};

const TABLE: &str = "-- +goose Up\nCREATE TABLE t (id int);\n\n-- +goose Down\nDROP TABLE t;\n";

#[test]
fn versions_order_as_integers_and_sections_become_scripts() {
    let set = ok(&[
        ("00010_ten.sql", TABLE),
        ("9_nine.sql", "-- +goose Up\nSELECT 9;\n"),
        ("README.md", "docs"),
        ("helpers.go", "package x"),
    ]);
    assert_eq!(set.layout, Layout::Goose);
    assert_eq!(versions(&set), ["9", "00010"]);
    let ten = &set.migrations[1];
    assert_eq!(ten.name, "ten");
    assert_eq!(ten.up.path, Path::new("00010_ten.sql"));
    // The other section's lines are blanked, so lines still match the file.
    assert_eq!(ten.up.sql, "-- +goose Up\nCREATE TABLE t (id int);\n\n\n\n");
    let down = ten.down.script().expect("down");
    assert_eq!(down.path, Path::new("00010_ten.sql"));
    assert_eq!(down.sql, "\n\n\n-- +goose Down\nDROP TABLE t;\n");
    assert!(!ten.up.no_transaction);
    // A file without a down section is irreversible.
    assert_eq!(set.migrations[0].down, Down::Missing);
    assert!(set.find("10").is_some(), "goose_db_version records 10");
}

#[test]
fn each_direction_has_its_own_checksum() {
    let a = ok(&[("1_a.sql", TABLE)]);
    let b = ok(&[(
        "1_a.sql",
        "-- +goose Up\nCREATE TABLE t (id int);\n\n-- +goose Down\nDROP TABLE IF EXISTS t;\n\n",
    )]);
    let (a, b) = (&a.migrations[0], &b.migrations[0]);
    assert_eq!(
        a.up.checksum, b.up.checksum,
        "editing the down is not drift of the up"
    );
    assert_ne!(
        a.down.script().map(|s| s.checksum),
        b.down.script().map(|s| s.checksum)
    );
}

#[test]
fn explicit_statements_stay_whole_and_no_transaction_covers_both() {
    let text = "-- +goose NO TRANSACTION\n\n-- +goose Up\n-- +goose StatementBegin\nCREATE TABLE a (id int);\nCREATE TABLE b (id int);\n-- +goose StatementEnd\nCREATE INDEX CONCURRENTLY a_id ON a (id);\n\n-- +goose Down\n-- +goose statementbegin\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\nDROP FUNCTION f();\n-- +goose statementend\nDROP TABLE b;\nDROP TABLE a;\n";
    let set = ok(&[("20240101000000_ab.sql", text)]);
    let m = &set.migrations[0];
    assert!(m.up.no_transaction);
    let up = m.up.statements();
    assert_eq!(up.len(), 2, "{up:?}");
    assert!(up[0].explicit);
    assert_eq!(
        up[0].sql,
        "CREATE TABLE a (id int);\nCREATE TABLE b (id int);"
    );
    assert!(!up[1].explicit);
    assert!(up[1].sql.starts_with("CREATE INDEX CONCURRENTLY"));
    // Positions still point into the file: the block starts on line 5.
    assert_eq!(up[0].line_col(&m.up.sql, 1), (5, 1));
    let down = m.down.script().expect("down");
    assert!(down.no_transaction);
    let stmts = down.statements();
    assert_eq!(stmts.len(), 3, "{stmts:?}");
    assert!(stmts[0].explicit && !stmts[1].explicit);
}

#[test]
fn refused_lines_name_the_file_and_line() {
    for (text, line, needle) in [
        (
            "-- +goose Up\n-- +goose ENVSUB ON\nSELECT '${X}';\n",
            2,
            "ENVSUB ON",
        ),
        (
            "-- +goose Up\n-- +goose Sideways\n",
            2,
            "unknown goose annotation",
        ),
        (
            "-- +goose Up\n  -- +goose StatementBegin\n",
            2,
            "leading white space",
        ),
        (
            "SELECT 1;\n-- +goose Up\nSELECT 2;\n",
            1,
            "before `-- +goose Up`",
        ),
        (
            "-- +goose Up\n-- +goose StatementEnd\n",
            2,
            "without a `StatementBegin`",
        ),
        (
            "-- +goose Up\n-- +goose StatementBegin\nSELECT 1;\n",
            2,
            "without a `StatementEnd`",
        ),
        (
            "-- +goose Up\nSELECT 1;\n-- +goose Up\n",
            3,
            "a second up section",
        ),
        (
            "-- +goose Down\nSELECT 1;\n-- +goose Up\nSELECT 2;\n",
            1,
            "before `-- +goose Up`",
        ),
    ] {
        let e = err(&[("1_a.sql", text)]);
        assert!(
            matches!(&e, LoadError::Directive { path, line: l, problem }
                if path == Path::new("mig/1_a.sql") && *l == line && problem.contains(needle)),
            "{text:?}: {e:?}"
        );
    }
}

#[test]
fn names_that_are_not_goose_versions_are_malformed() {
    for name in ["a_b.sql", "1.sql", "0_zero.sql", "x1_a.sql"] {
        let e = err(&[(name, TABLE)]);
        assert!(
            matches!(&e, LoadError::MalformedName { .. }),
            "{name}: {e:?}"
        );
    }
}

#[test]
fn an_empty_up_is_refused_and_mixing_with_dbmate_is_an_error() {
    let e = err(&[("1_a.sql", "-- +goose Up\n")]);
    assert!(matches!(e, LoadError::EmptyUp { .. }), "{e:?}");
    let e = err(&[
        ("1_a.sql", TABLE),
        ("2_b.sql", "-- migrate:up\nSELECT 1;\n-- migrate:down\n"),
    ]);
    assert!(
        e.to_string().contains("goose files") && e.to_string().contains("dbmate files"),
        "{e}"
    );
}

#[test]
fn a_new_migrations_file_loads_back_as_it() {
    assert_new_files_load_back(Layout::Goose);
}
