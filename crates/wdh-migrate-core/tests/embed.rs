//! `embed_migrations!` produces the same set as loading the directory.

use std::path::{Path, PathBuf};

use wdh_migrate_core::migrations::{Down, EmbeddedMigrations, Layout, MigrationSet};
use wdh_migrate_macros::embed_migrations;

static FOLDERS: EmbeddedMigrations = embed_migrations!("tests/fixtures/folders");
const FLAT: EmbeddedMigrations = embed_migrations!(r"tests/fixtures/flat");

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn summary(set: &MigrationSet) -> Vec<(String, String, String, Option<String>)> {
    set.migrations
        .iter()
        .map(|m| {
            (
                m.version.normalized().to_string(),
                m.name.clone(),
                m.up.checksum_hex(),
                m.down.script().map(|s| s.checksum_hex()),
            )
        })
        .collect()
}

#[test]
fn embedded_folders_equal_loaded_folders() {
    let embedded = FOLDERS.load().expect("embedded set loads");
    let loaded = MigrationSet::load(&fixture("folders")).expect("directory loads");
    assert_eq!(summary(&embedded), summary(&loaded));
    assert_eq!(embedded.checksum(), loaded.checksum());
    assert_eq!(embedded, loaded);
    assert_eq!(FOLDERS.root(), "tests/fixtures/folders");

    assert_eq!(loaded.layout, Layout::Folders);
    let versions: Vec<&str> = loaded
        .migrations
        .iter()
        .map(|m| m.version.normalized())
        .collect();
    assert_eq!(
        versions,
        [
            "00000000000000",
            "20170120174200",
            "20170831101500",
            "202511190914440000"
        ]
    );
    let users = &loaded.migrations[1];
    assert_eq!(users.name, "create users");
    assert!(users.up.sql.starts_with("CREATE TABLE users (\r\n"));
    assert!(matches!(
        loaded.migrations[2].down,
        Down::Irreversible(Some(_))
    ));
    let index = &loaded.migrations[3];
    assert!(index.up.no_transaction);
    assert!(index.down.script().expect("down").no_transaction);
    let ignored: Vec<&Path> = loaded.ignored.iter().map(|i| i.path.as_path()).collect();
    assert_eq!(
        ignored,
        [
            Path::new("2025-11-19-091444-0000_add_index/NOTES.md"),
            Path::new("README.md"),
            Path::new("seeds"),
        ]
    );
}

#[test]
fn embedded_flat_equals_loaded_flat() {
    let embedded = FLAT.load().expect("embedded set loads");
    let loaded = MigrationSet::load(&fixture("flat")).expect("directory loads");
    assert_eq!(summary(&embedded), summary(&loaded));
    assert_eq!(embedded.checksum(), loaded.checksum());
    assert_eq!(embedded, loaded);

    assert_eq!(loaded.layout, Layout::FlatPairs);
    let versions: Vec<&str> = loaded
        .migrations
        .iter()
        .map(|m| m.version.normalized())
        .collect();
    assert_eq!(versions, ["1", "9", "10"]);
    assert!(loaded.migrations[0].up.wraps_own_transaction);
    assert!(loaded.migrations[2].down_is_noop());
    assert_eq!(loaded.ignored.len(), 1);
    assert_eq!(loaded.ignored[0].path, Path::new("seed.sql"));
}

#[test]
fn embedded_listing_marks_folders_and_skips_unneeded_contents() {
    let files = FOLDERS.files();
    assert!(files.iter().any(|(p, b)| *p == "seeds/" && b.is_empty()));
    assert!(files.iter().any(|(p, b)| *p == "README.md" && b.is_empty()));
    assert!(files
        .iter()
        .any(|(p, b)| *p == "2017-01-20-174200_create users/up.sql"
            && b.starts_with(b"\xef\xbb\xbf")));
    assert!(!files.iter().any(|(p, _)| p.starts_with("seeds/u")));
}
