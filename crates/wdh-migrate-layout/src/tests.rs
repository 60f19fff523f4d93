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

/// Lists `dir`, or the first error, on a thread that may not take more than
/// ten seconds: opening a FIFO for reading would block forever.
#[cfg(unix)]
fn walk_within_seconds(dir: &std::path::Path) -> Result<Vec<Listed>, WalkError> {
    let (tx, rx) = std::sync::mpsc::channel();
    let dir = dir.to_path_buf();
    std::thread::spawn(move || {
        let result = walk(&dir).and_then(|w| w.collect::<Result<Vec<_>, _>>());
        // Reading what the walk wants is what could block.
        if let Ok(listed) = &result {
            for l in listed.iter().filter(|l| l.wanted) {
                let _ = fs::read(&l.path);
            }
        }
        let _ = tx.send(result);
    });
    rx.recv_timeout(std::time::Duration::from_secs(10))
        .expect("the walk must not block")
}

#[cfg(unix)]
fn mkfifo(path: &std::path::Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
}

#[cfg(unix)]
#[test]
fn a_fifo_or_socket_a_layout_reads_is_refused_without_opening_it() {
    let fifo_up = tempfile::tempdir().expect("tempdir");
    fs::create_dir(fifo_up.path().join("0001_a")).expect("mkdir");
    mkfifo(&fifo_up.path().join("0001_a/up.sql"));
    let socket_down = tempfile::tempdir().expect("tempdir");
    fs::write(socket_down.path().join("2_b.up.sql"), "SELECT 1;").expect("write");
    let _socket = std::os::unix::net::UnixListener::bind(socket_down.path().join("2_b.down.sql"))
        .expect("socket");
    for (dir, file, kind) in [
        (&fifo_up, "0001_a/up.sql", "a FIFO (named pipe)"),
        (&socket_down, "2_b.down.sql", "a socket"),
    ] {
        let e = walk_within_seconds(dir.path()).expect_err("refused");
        let path = dir.path().join(file);
        assert!(
            matches!(&e, WalkError::NotAFile { path: p, kind: k } if p == &path && *k == kind),
            "{e:?}"
        );
        let text = e.to_string();
        assert!(
            text.contains(&*path.to_string_lossy()) && text.contains("not a regular file"),
            "{text}"
        );
    }
    // A FIFO no layout reads is only listed, never opened.
    let notes = tempfile::tempdir().expect("tempdir");
    mkfifo(&notes.path().join("NOTES"));
    let listed = walk_within_seconds(notes.path()).expect("listed");
    assert_eq!(listed.len(), 1);
    assert!(!listed[0].wanted);
}

#[cfg(unix)]
#[test]
fn links_are_followed_only_inside_the_directory() {
    use std::os::unix::fs::symlink;
    let outside = tempfile::tempdir().expect("tempdir");
    fs::write(outside.path().join("up.sql"), "SELECT 1;").expect("write");
    fs::create_dir(outside.path().join("0009_far")).expect("mkdir");

    let dir = tempfile::tempdir().expect("tempdir");
    fs::create_dir_all(dir.path().join("shared")).expect("mkdir");
    fs::write(dir.path().join("shared/create.sql"), "SELECT 1;").expect("write");
    fs::create_dir(dir.path().join("0001_a")).expect("mkdir");
    symlink("../shared/create.sql", dir.path().join("0001_a/up.sql")).expect("symlink");
    symlink("0001_a", dir.path().join("0002_b")).expect("symlink");
    let listed = walk_within_seconds(dir.path()).expect("links inside are followed");
    let rels: Vec<(String, bool)> = listed
        .iter()
        .map(|l| (l.rel.to_string_lossy().into_owned(), l.wanted))
        .collect();
    assert_eq!(
        rels,
        [
            ("0001_a/".to_string(), false),
            ("0001_a/up.sql".to_string(), true),
            ("0002_b/".to_string(), false),
            ("0002_b/up.sql".to_string(), true),
            ("shared/".to_string(), false),
        ]
    );

    for (link, to) in [
        ("0003_c.up.sql", outside.path().join("up.sql")),
        ("0009_far", outside.path().join("0009_far")),
        ("README.md", outside.path().join("up.sql")),
        ("0001_a/down.sql", outside.path().join("up.sql")),
    ] {
        let case = tempfile::tempdir().expect("tempdir");
        fs::create_dir(case.path().join("0001_a")).expect("mkdir");
        fs::write(case.path().join("0001_a/up.sql"), "SELECT 1;").expect("write");
        symlink(&to, case.path().join(link)).expect("symlink");
        let e = walk_within_seconds(case.path()).expect_err("refused");
        let path = case.path().join(link);
        assert!(
            matches!(&e, WalkError::LinkOutside { path: p, .. } if p == &path),
            "{link}: {e:?}"
        );
        assert!(e.to_string().contains(&*path.to_string_lossy()), "{e}");
    }

    // A dangling link is an error too.
    let dangling = tempfile::tempdir().expect("tempdir");
    symlink("nowhere.sql", dangling.path().join("1_a.up.sql")).expect("symlink");
    let e = walk_within_seconds(dangling.path()).expect_err("dangling");
    assert!(matches!(e, WalkError::Stat { .. }), "{e:?}");
}

#[test]
fn sectioned_and_flyway_names() {
    use sectioned::Sectioned;
    assert!(Sectioned.reads(&["00001_a.sql"]));
    assert!(Sectioned.reads(&["seed.sql"]));
    assert!(!Sectioned.reads(&["1_a.up.sql"]));
    assert!(!Sectioned.reads(&["1_a.down.sql"]));
    assert!(!Sectioned.reads(&["README.md"]));
    assert!(!Sectioned.reads(&["0001_a", "x.sql"]));

    use flyway::{split, Flyway, Kind};
    assert_eq!(
        split("V1_2__add.sql"),
        Some((Kind::Versioned, "1_2__add", false))
    );
    assert_eq!(
        split("U1.2__add.sql"),
        Some((Kind::Undo, "1.2__add", false))
    );
    assert_eq!(
        split("R__views.sql"),
        Some((Kind::Repeatable, "__views", false))
    );
    assert_eq!(
        split("V3__x.sql.conf"),
        Some((Kind::Versioned, "3__x", true))
    );
    assert_eq!(split("Vacuum.sql"), None);
    assert_eq!(split("V1__x.txt"), None);
    assert!(Flyway.reads(&["V1__init.sql"]));
    assert!(!Flyway.reads(&["seed.sql"]));
}
