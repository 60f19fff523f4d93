use std::path::{Path, PathBuf};

use crate::migrations::test_support::{
    assert_malformed, assert_new_files_load_back, err, ok, versions, DOWN, UP,
};
use crate::migrations::{Down, Layout, LoadError, Version};

#[test]
fn flat_layout_orders_versions_as_integers() {
    let set = ok(&[
        ("10_ten.up.sql", UP),
        ("10_ten.down.sql", DOWN),
        ("9_nine.up.sql", UP),
        ("9_nine.down.sql", DOWN),
        ("0011_eleven.up.sql", UP),
        ("123456789012345678901234567890_huge.up.sql", UP),
        ("20230101120000_dated.up.sql", UP),
    ]);
    assert_eq!(set.layout, Layout::FlatPairs);
    assert_eq!(
        versions(&set),
        vec![
            "9",
            "10",
            "0011",
            "20230101120000",
            "123456789012345678901234567890"
        ]
    );
    assert_eq!(set.migrations[0].name, "nine");
    assert_eq!(set.migrations[0].up.path, PathBuf::from("9_nine.up.sql"));
    assert_eq!(
        set.migrations[0].down.script().map(|s| s.path.clone()),
        Some(PathBuf::from("9_nine.down.sql"))
    );
    assert_eq!(set.migrations[2].down, Down::Missing);
    assert!(!set.migrations[2].is_reversible());
}

#[test]
fn orphan_down_and_pair_mismatch() {
    let e = err(&[("0001_a.up.sql", UP), ("0002_b.down.sql", DOWN)]);
    assert!(
        matches!(&e, LoadError::OrphanDown { path } if path == Path::new("mig/0002_b.down.sql")),
        "{e:?}"
    );
    let e = err(&[("0001_a.up.sql", UP), ("0001_b.down.sql", DOWN)]);
    assert!(
        matches!(&e, LoadError::PairMismatch { up, down }
            if up == Path::new("mig/0001_a.up.sql") && down == Path::new("mig/0001_b.down.sql")),
        "{e:?}"
    );
}

#[test]
fn duplicate_versions_name_both_paths() {
    let e = err(&[("0001_a.up.sql", UP), ("1_b.up.sql", UP)]);
    assert!(
        matches!(&e, LoadError::DuplicateVersion { first, second, .. }
            if first == Path::new("mig/0001_a.up.sql") && second == Path::new("mig/1_b.up.sql")),
        "{e:?}"
    );
    let e = err(&[
        ("1_a.up.sql", UP),
        ("1_a.down.sql", DOWN),
        ("01_a.down.sql", DOWN),
    ]);
    assert!(matches!(e, LoadError::DuplicateVersion { .. }), "{e:?}");
}

#[test]
fn malformed_names_are_errors_naming_the_file() {
    assert_malformed(&[
        ("0012-add.up.sql", "mig/0012-add.up.sql"),
        ("add_users.up.sql", "mig/add_users.up.sql"),
        ("add_users.down.sql", "mig/add_users.down.sql"),
        ("0003.up.sql", "mig/0003.up.sql"),
        ("0004_.up.sql", "mig/0004_.up.sql"),
        ("0005_plain.sql", "mig/0005_plain.sql"),
    ]);
    let e = err(&[("0012-add.up.sql", UP)]);
    assert!(
        e.to_string().contains("followed by `a` instead of `_`"),
        "{e}"
    );
}

#[test]
fn versions_parse_and_order_as_integers() {
    let flat = |s| Version::parse(s, Layout::FlatPairs).expect("version");
    assert!(flat("9") < flat("10"));
    assert_eq!(flat("007"), flat("7"));
    assert_eq!(flat("0"), flat("000"));
}

#[test]
fn a_new_migrations_files_load_back_as_it() {
    assert_new_files_load_back(Layout::FlatPairs);
}
