use std::fs;
use std::path::PathBuf;

use super::*;

#[test]
fn rules_per_layout() {
    assert!(folders::Folders.lists_folder("0001_a"));
    assert!(!folders::Folders.lists_folder("seeds"));
    assert!(folders::Folders.reads(&["0001_a", "up.sql"]));
    assert!(folders::Folders.reads(&["0001_a", "metadata.toml"]));
    assert!(!folders::Folders.reads(&["0001_a", "notes.txt"]));
    assert!(!folders::Folders.reads(&["seeds", "up.sql"]));
    assert!(!folders::Folders.reads(&["up.sql"]));

    assert!(!flat_pairs::FlatPairs.lists_folder("0001_a"));
    assert!(flat_pairs::FlatPairs.reads(&["1_a.up.sql"]));
    assert!(flat_pairs::FlatPairs.reads(&["1_a.down.sql"]));
    assert!(!flat_pairs::FlatPairs.reads(&["seed.sql"]));
    assert!(!flat_pairs::FlatPairs.reads(&["0001_a", "1_a.up.sql"]));
    assert_eq!(
        flat_pairs::split("1_a.down.sql"),
        Some(("1_a", flat_pairs::Side::Down))
    );
    assert_eq!(flat_pairs::split("1_a.sql"), None);
}

#[test]
fn walks_like_the_loader() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mk = |rel: &str| {
        let p = dir.path().join(rel);
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(p, b"x").expect("write");
    };
    mk("0001_a/up.sql");
    mk("0001_a/notes.txt");
    mk("0001_a/sub/deep.sql");
    mk("seeds/s.sql");
    mk("2_b.up.sql");
    mk("README.md");
    mk(".hidden");
    mk(".git/0001_x/up.sql");
    let listed: Vec<(PathBuf, bool, bool)> = walk(dir.path())
        .expect("walk")
        .map(|e| e.map(|e| (e.rel, e.is_dir, e.wanted)))
        .collect::<Result<_, _>>()
        .expect("listed");
    let want = [
        ("0001_a/", true, false),
        ("0001_a/notes.txt", false, false),
        ("0001_a/sub/", true, false),
        ("0001_a/up.sql", false, true),
        ("2_b.up.sql", false, true),
        ("README.md", false, false),
        ("seeds/", true, false),
    ];
    let want: Vec<(PathBuf, bool, bool)> = want
        .iter()
        .map(|(p, d, w)| (PathBuf::from(p), *d, *w))
        .collect();
    assert_eq!(listed, want);
}

#[test]
fn a_missing_directory_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = walk(&dir.path().join("nope")).expect_err("missing");
    assert!(matches!(e, WalkError::ReadDir { .. }), "{e:?}");
    assert!(std::error::Error::source(&e).is_some());
}
