use std::path::Path;

use crate::migrations::test_support::{assert_new_files_load_back, err, ok, versions};
use crate::migrations::{Layout, LoadError};

#[test]
fn sections_with_options_and_versions_as_text() {
    let set = ok(&[
        (
            "20200227231541_test_posts.sql",
            "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON t (id);\n\n-- migrate:down\nDROP INDEX i;\n",
        ),
        (
            "20151129054053_test_migration.sql",
            "--migrate:up\nCREATE TABLE t (id int);\n-- migrate:down\nDROP TABLE t;\n",
        ),
    ]);
    assert_eq!(set.layout, Layout::Dbmate);
    assert_eq!(versions(&set), ["20151129054053", "20200227231541"]);
    assert_eq!(set.migrations[0].name, "test_migration");
    let posts = &set.migrations[1];
    assert!(posts.up.no_transaction);
    assert!(!posts.down.script().expect("down").no_transaction);
}

#[test]
fn dbmates_file_name_order_must_match_the_versions() {
    let e = err(&[
        ("1_a.sql", "-- migrate:up\nSELECT 1;\n-- migrate:down\n"),
        ("10_b.sql", "-- migrate:up\nSELECT 1;\n-- migrate:down\n"),
    ]);
    assert!(
        matches!(&e, LoadError::MalformedName { path, .. } if path == Path::new("mig/10_b.sql")),
        "{e:?}"
    );
}

#[test]
fn refused_layouts_of_sections() {
    for (text, line, needle) in [
        (
            "CREATE TABLE x ();\n-- migrate:up\nSELECT 1;\n",
            1,
            "before `-- migrate:up`",
        ),
        (
            "-- migrate:up\nSELECT 1;\n-- migrate:down\n-- migrate:up\nSELECT 2;\n",
            4,
            "a second up section",
        ),
        (
            "-- migrate:down\nSELECT 1;\n-- migrate:up\nSELECT 2;\n",
            1,
            "before `-- migrate:up`",
        ),
    ] {
        let e = err(&[("1_a.sql", text)]);
        assert!(
            matches!(&e, LoadError::Directive { line: l, problem, .. } if *l == line && problem.contains(needle)),
            "{text:?}: {e:?}"
        );
    }
}

#[test]
fn a_new_migrations_file_loads_back_as_it() {
    assert_new_files_load_back(Layout::Dbmate);
}
