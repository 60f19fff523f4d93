//! Helpers for the loader's unit tests: parsing a listing given as text.

use std::path::{Path, PathBuf};

use super::{Layout, LoadError, MigrationSet};

pub(crate) fn listing(files: &[(&str, &str)]) -> Vec<(PathBuf, Vec<u8>)> {
    files
        .iter()
        .map(|(p, c)| (PathBuf::from(p), c.as_bytes().to_vec()))
        .collect()
}

pub(crate) fn load(files: &[(&str, &str)]) -> Result<MigrationSet, LoadError> {
    MigrationSet::from_files(Path::new("mig"), listing(files))
}

pub(crate) fn ok(files: &[(&str, &str)]) -> MigrationSet {
    load(files).expect("set loads")
}

pub(crate) fn err(files: &[(&str, &str)]) -> LoadError {
    load(files).expect_err("set must not load")
}

pub(crate) fn versions(set: &MigrationSet) -> Vec<&str> {
    set.migrations.iter().map(|m| m.version.raw()).collect()
}

pub(crate) fn ignored(set: &MigrationSet) -> Vec<String> {
    set.ignored
        .iter()
        .map(|i| i.path.to_string_lossy().into_owned())
        .collect()
}

/// An up script.
pub(crate) const UP: &str = "CREATE TABLE t (id int);\n";
/// Its down script.
pub(crate) const DOWN: &str = "DROP TABLE t;\n";

/// Asserts that each `(file, path)` listing fails with a malformed name
/// naming `path`.
pub(crate) fn assert_malformed(cases: &[(&str, &str)]) {
    for (file, path) in cases {
        let e = err(&[(file, UP)]);
        assert!(
            matches!(&e, LoadError::MalformedName { path: p, .. } if p == Path::new(path)),
            "{file}: {e:?}"
        );
        assert!(e.to_string().starts_with(path), "{e}");
        assert_eq!(e.path(), Path::new(path));
    }
}

/// `layout`'s files for a new migration load back as that migration.
pub(crate) fn assert_new_files_load_back(layout: Layout) {
    let files = layout.new_files("0007", "add_x", UP, DOWN);
    let listing: Vec<(String, &str)> = files
        .iter()
        .map(|f| (f.path.to_string_lossy().into_owned(), f.text.as_str()))
        .collect();
    let listing: Vec<(&str, &str)> = listing.iter().map(|(p, t)| (p.as_str(), *t)).collect();
    let set = ok(&listing);
    assert_eq!(set.layout, layout);
    assert_eq!(versions(&set), ["0007"]);
    assert_eq!(set.migrations[0].name, "add_x");
    let statements = |sql: &str| -> Vec<String> {
        crate::sql::split_statements(sql)
            .into_iter()
            .map(|s| s.sql)
            .collect()
    };
    let m = &set.migrations[0];
    assert_eq!(statements(&m.up.sql), statements(UP));
    let down = m.down.script().expect("a down script");
    assert_eq!(statements(&down.sql), statements(DOWN));
}
