use std::path::Path;

use crate::migrations::test_support::{assert_new_files_load_back, err, ok, versions};
use crate::migrations::{Down, Layout, LoadError, Version};

const UP: &str = "CREATE TABLE t (id int);\n";

#[test]
fn versions_order_part_by_part_as_flyway_does() {
    let set = ok(&[
        ("V1_10__ten.sql", UP),
        ("V1.2__two.sql", UP),
        ("V1__one.sql", UP),
        ("U1__one.sql", "DROP TABLE t;\n"),
        ("V2__next.sql", UP),
        ("V1.9.1__patch.sql", UP),
    ]);
    assert_eq!(set.layout, Layout::Flyway);
    assert_eq!(versions(&set), ["1", "1.2", "1.9.1", "1_10", "2"]);
    // The ledger records Flyway's form: `.` for `_`.
    assert_eq!(set.migrations[3].version.normalized(), "1.10");
    assert_eq!(set.migrations[0].name, "one");
    assert!(set.migrations[0].is_reversible());
    assert_eq!(set.migrations[1].down, Down::Missing);
    let v = |s| Version::parse(s, Layout::Flyway).expect("version");
    assert_eq!(v("1.0"), v("1"));
    assert_eq!(v("1_1"), v("1.1"));
    assert_eq!(v("01.2"), v("1.2"));
    assert!(v("1.2") < v("1.10"));
    assert!(set.find("1.10").is_some());
}

#[test]
fn transactions_as_flyway_decides_them() {
    let set = ok(&[
        ("V1__index.sql", "CREATE INDEX CONCURRENTLY i ON t (id);\n"),
        ("V2__conf.sql", UP),
        (
            "V2__conf.sql.conf",
            "# Flyway script configuration\nexecuteInTransaction=false\n",
        ),
        ("V3__plain.sql", UP),
    ]);
    assert!(
        set.migrations[0].up.no_transaction,
        "every statement needs it"
    );
    assert!(set.migrations[1].up.no_transaction, "the .conf says so");
    assert!(!set.migrations[2].up.no_transaction);
    let e = err(&[(
        "V1__mixed.sql",
        "CREATE TABLE t (id int);\nCREATE INDEX CONCURRENTLY i ON t (id);\n",
    )]);
    assert!(
        matches!(&e, LoadError::Directive { line: 2, problem, .. } if problem.contains("mixes")),
        "{e:?}"
    );
    let e = err(&[("V1__a.sql", UP), ("V1__a.sql.conf", "mixed=true\n")]);
    assert!(matches!(e, LoadError::Metadata { .. }), "{e:?}");
}

#[test]
fn repeatables_placeholders_and_bad_names_are_refused() {
    let e = err(&[
        ("V1__a.sql", UP),
        ("R__views.sql", "CREATE VIEW v AS SELECT 1;"),
    ]);
    assert!(
        matches!(&e, LoadError::Repeatable { path } if path == Path::new("mig/R__views.sql")),
        "{e:?}"
    );
    let e = err(&[("V1__a.sql", "SELECT 1;\nCREATE SCHEMA ${schema};\n")]);
    assert!(
        matches!(&e, LoadError::Directive { line: 2, problem, .. } if problem.contains("${schema}")),
        "{e:?}"
    );
    for name in ["V1_init.sql", "V1a__x.sql", "V1..2__x.sql"] {
        let e = err(&[(name, UP)]);
        assert!(
            matches!(&e, LoadError::MalformedName { .. }),
            "{name}: {e:?}"
        );
    }
    let e = err(&[("V1__a.sql", UP), ("U2__b.sql", UP)]);
    assert!(
        matches!(&e, LoadError::MalformedName { path, .. } if path == Path::new("mig/U2__b.sql")),
        "{e:?}"
    );
    let e = err(&[("V1__a.sql", UP), ("V1.0__b.sql", UP)]);
    assert!(matches!(e, LoadError::DuplicateVersion { .. }), "{e:?}");
}

#[test]
fn a_new_migrations_files_load_back_as_it() {
    assert_new_files_load_back(Layout::Flyway);
}
