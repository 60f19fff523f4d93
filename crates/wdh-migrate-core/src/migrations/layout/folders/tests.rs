use std::path::{Path, PathBuf};

use crate::migrations::test_support::{
    assert_malformed, assert_new_files_load_back, err, ignored, ok, versions, DOWN, UP,
};
use crate::migrations::{Layout, LoadError, Version};

#[test]
fn folder_layout_orders_diesel_versions_as_text() {
    let set = ok(&[
        ("2025-11-19-091444-0000_new/up.sql", UP),
        ("2025-11-19-091444-0000_new/down.sql", DOWN),
        ("20170831123456_old/up.sql", UP),
        ("20170831123456_old/down.sql", DOWN),
        ("00000000000000_diesel_initial_setup/up.sql", UP),
        ("00000000000000_diesel_initial_setup/down.sql", DOWN),
        ("2017-01-20-174200_create_users/up.sql", UP),
        ("2017-01-20-174200_create_users/down.sql", DOWN),
    ]);
    assert_eq!(set.layout, Layout::Folders);
    assert_eq!(
        versions(&set),
        vec![
            "00000000000000",
            "2017-01-20-174200",
            "20170831123456",
            "2025-11-19-091444-0000",
        ]
    );
    let m = &set.migrations[1];
    assert_eq!(m.version.normalized(), "20170120174200");
    assert_eq!(m.version.to_string(), "20170120174200");
    assert_eq!(m.name, "create_users");
    assert_eq!(
        m.up.path,
        PathBuf::from("2017-01-20-174200_create_users/up.sql")
    );
    assert!(m.is_reversible());
    assert!(!m.down_is_noop());
    assert_eq!(set.migrations[3].version.normalized(), "202511190914440000");
}

#[test]
fn folder_text_order_differs_from_integer_order() {
    let set = ok(&[("9_nine/up.sql", UP), ("10_ten/up.sql", UP)]);
    assert_eq!(versions(&set), vec!["10", "9"]);
}

#[test]
fn folder_without_up_is_an_error() {
    let e = err(&[("0001_a/down.sql", DOWN)]);
    assert!(
        matches!(&e, LoadError::MissingUp { path } if path == Path::new("mig/0001_a")),
        "{e:?}"
    );
    // An empty versioned folder, seen through its folder entry.
    let e = err(&[("0002_empty/", "")]);
    assert!(
        matches!(&e, LoadError::MissingUp { path } if path == Path::new("mig/0002_empty")),
        "{e:?}"
    );
    assert!(e.to_string().contains("has no up.sql"));
}

#[test]
fn folder_names_may_contain_spaces() {
    let set = ok(&[("0001_create the users/up.sql", UP)]);
    assert_eq!(set.migrations[0].name, "create the users");
    assert_eq!(
        set.migrations[0].up.path,
        PathBuf::from("0001_create the users/up.sql")
    );
}

#[test]
fn metadata_toml() {
    let set = ok(&[
        ("0001_a/up.sql", "CREATE INDEX CONCURRENTLY i ON t (id);"),
        ("0001_a/down.sql", "DROP INDEX CONCURRENTLY i;"),
        ("0001_a/metadata.toml", "run_in_transaction = false\n"),
        ("0002_b/up.sql", UP),
        ("0002_b/metadata.toml", "run_in_transaction = true\n"),
    ]);
    let a = &set.migrations[0];
    assert!(a.up.no_transaction);
    assert!(a.down.script().expect("down").no_transaction);
    assert!(!set.migrations[1].up.no_transaction);
    assert!(ignored(&set).is_empty());

    for bad in [
        "run_in_transaction = \"no\"",
        "run_in_transactions = false",
        "run_in_transaction = ",
    ] {
        let e = err(&[("0001_a/up.sql", UP), ("0001_a/metadata.toml", bad)]);
        assert!(
            matches!(&e, LoadError::Metadata { path, .. } if path == Path::new("mig/0001_a/metadata.toml")),
            "{bad}: {e:?}"
        );
    }
}

#[test]
fn metadata_toml_records_the_alembic_revision() {
    let set = ok(&[
        ("0001_a/up.sql", UP),
        (
            "0001_a/metadata.toml",
            "[alembic]\nrevision = \"ae1027a6acf\"\ndown_revision = []\n",
        ),
        ("0002_b/up.sql", UP),
        (
            "0002_b/metadata.toml",
            "run_in_transaction = true\n[alembic]\nrevision = \"m3\"\ndown_revision = [\"a1\", \"b2\"]\ndepends_on = [\"x9\"]\n",
        ),
        ("0003_c/up.sql", UP),
    ]);
    let revisions: Vec<_> = set
        .migrations
        .iter()
        .map(|m| {
            m.alembic.as_ref().map(|a| {
                (
                    a.revision.as_str(),
                    a.down_revision.join(","),
                    a.depends_on.join(","),
                )
            })
        })
        .collect();
    assert_eq!(
        revisions,
        [
            Some(("ae1027a6acf", String::new(), String::new())),
            Some(("m3", "a1,b2".into(), "x9".into())),
            None
        ]
    );

    for bad in [
        "alembic = \"ae1027a6acf\"",
        "[alembic]\ndown_revision = []",
        "[alembic]\nrevision = \"\"",
        "[alembic]\nrevision = 7",
        "[alembic]\nrevision = \"a\"\ndown_revision = \"b\"",
        "[alembic]\nrevision = \"a\"\ndepends_on = [1]",
        "[alembic]\nrevision = \"a\"\nbranch = \"x\"",
    ] {
        let e = err(&[("0001_a/up.sql", UP), ("0001_a/metadata.toml", bad)]);
        assert!(
            matches!(&e, LoadError::Metadata { path, .. } if path == Path::new("mig/0001_a/metadata.toml")),
            "{bad}: {e:?}"
        );
    }
}

#[test]
fn duplicate_versions_name_both_paths() {
    let e = err(&[
        ("2017-01-20-174200_a/up.sql", UP),
        ("20170120174200_b/up.sql", UP),
    ]);
    let LoadError::DuplicateVersion {
        version,
        first,
        second,
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(version, "20170120174200");
    assert_eq!(first, Path::new("mig/2017-01-20-174200_a"));
    assert_eq!(second, Path::new("mig/20170120174200_b"));
    let msg = e.to_string();
    assert!(msg.contains("mig/2017-01-20-174200_a") && msg.contains("mig/20170120174200_b"));
}

#[test]
fn malformed_names_are_errors_naming_the_folder() {
    assert_malformed(&[
        ("0012-add/up.sql", "mig/0012-add"),
        ("2fa/up.sql", "mig/2fa"),
    ]);
}

#[test]
fn versions_parse_and_order_as_text() {
    let text = |s| Version::parse(s, Layout::Folders).expect("version");
    assert!(text("10") < text("9"));
    assert!(text("20170831000000") < text("202511190914440000"));
    assert!(Version::parse("", Layout::Folders).is_none());
    assert!(Version::parse("-1", Layout::Folders).is_none());
    assert!(Version::parse("1a", Layout::Folders).is_none());
}

#[test]
fn a_new_migrations_files_load_back_as_it() {
    assert_new_files_load_back(Layout::Folders);
}
