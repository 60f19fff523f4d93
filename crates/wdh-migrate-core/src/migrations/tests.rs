use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::*;

fn listing(files: &[(&str, &str)]) -> Vec<(PathBuf, Vec<u8>)> {
    files
        .iter()
        .map(|(p, c)| (PathBuf::from(p), c.as_bytes().to_vec()))
        .collect()
}

fn load(files: &[(&str, &str)]) -> Result<MigrationSet, LoadError> {
    MigrationSet::from_files(Path::new("mig"), listing(files))
}

fn ok(files: &[(&str, &str)]) -> MigrationSet {
    load(files).expect("set loads")
}

fn err(files: &[(&str, &str)]) -> LoadError {
    load(files).expect_err("set must not load")
}

fn versions(set: &MigrationSet) -> Vec<&str> {
    set.migrations.iter().map(|m| m.version.raw()).collect()
}

fn ignored(set: &MigrationSet) -> Vec<String> {
    set.ignored
        .iter()
        .map(|i| i.path.to_string_lossy().into_owned())
        .collect()
}

const UP: &str = "CREATE TABLE t (id int);\n";
const DOWN: &str = "DROP TABLE t;\n";

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
fn folder_text_order_differs_from_integer_order() {
    let set = ok(&[("9_nine/up.sql", UP), ("10_ten/up.sql", UP)]);
    assert_eq!(versions(&set), vec!["10", "9"]);
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
fn malformed_names_are_errors_naming_the_file() {
    let cases: &[(&str, &str)] = &[
        ("0012-add.up.sql", "mig/0012-add.up.sql"),
        ("add_users.up.sql", "mig/add_users.up.sql"),
        ("add_users.down.sql", "mig/add_users.down.sql"),
        ("0003.up.sql", "mig/0003.up.sql"),
        ("0004_.up.sql", "mig/0004_.up.sql"),
        ("0005_plain.sql", "mig/0005_plain.sql"),
        ("0012-add/up.sql", "mig/0012-add"),
        ("2fa/up.sql", "mig/2fa"),
    ];
    for (file, path) in cases {
        let e = err(&[(file, UP)]);
        assert!(
            matches!(&e, LoadError::MalformedName { path: p, .. } if p == Path::new(path)),
            "{file}: {e:?}"
        );
        assert!(e.to_string().starts_with(path), "{e}");
        assert_eq!(e.path(), Path::new(path));
    }
    let e = err(&[("0012-add.up.sql", UP)]);
    assert!(
        e.to_string().contains("followed by `a` instead of `_`"),
        "{e}"
    );
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
fn mixed_layouts_are_an_error() {
    let e = err(&[("0001_a/up.sql", UP), ("0002_b.up.sql", UP)]);
    assert!(
        matches!(&e, LoadError::MixedLayouts { path, folder, file }
            if path == Path::new("mig") && folder == Path::new("mig/0001_a")
                && file == Path::new("mig/0002_b.up.sql")),
        "{e:?}"
    );
}

#[test]
fn non_migrations_are_reported_as_ignored() {
    let set = ok(&[
        ("README.md", "# docs"),
        ("seed.sql", "INSERT INTO t VALUES (1);"),
        ("seeds/", ""),
        ("seeds/data.sql", "x"),
        ("seeds/deeper/more.sql", "x"),
        ("0001_a/up.sql", UP),
        ("0001_a/notes.txt", "x"),
        ("0001_a/extra/", ""),
        ("0001_a/extra/file.sql", "x"),
        ("up.sql", UP),
        (".hidden.up.sql", "garbage"),
        (".git/", ""),
        ("0001_a/.DS_Store", "x"),
    ]);
    assert_eq!(set.layout, Layout::Folders);
    assert_eq!(set.migrations.len(), 1);
    assert_eq!(
        ignored(&set),
        vec![
            "0001_a/extra",
            "0001_a/notes.txt",
            "README.md",
            "seed.sql",
            "seeds",
            "up.sql"
        ]
    );
    let reason = |p: &str| {
        set.ignored
            .iter()
            .find(|i| i.path == Path::new(p))
            .map(|i| i.reason.clone())
            .expect("listed")
    };
    assert!(reason("README.md").contains("not a .sql file"));
    assert!(reason("seed.sql").contains("no version"));
    assert!(reason("seeds").contains("does not start with a version"));
    assert!(reason("0001_a/notes.txt").contains("up.sql, down.sql and metadata.toml"));
}

#[test]
fn only_ignored_files_give_an_empty_set() {
    let set = ok(&[("README.md", "")]);
    assert_eq!(set.layout, Layout::Empty);
    assert!(set.migrations.is_empty());
    assert_eq!(ignored(&set), vec!["README.md"]);
    let empty = ok(&[]);
    assert_eq!(empty.layout, Layout::Empty);
}

#[test]
fn bom_and_crlf_are_accepted_and_checksummed_raw() {
    let up = "\u{feff}-- wdh:no-transaction\r\nCREATE INDEX CONCURRENTLY i ON t (id);\r\n";
    let set = ok(&[("0001_a/up.sql", up)]);
    let s = &set.migrations[0].up;
    assert!(s.sql.starts_with("-- wdh:no-transaction\r\n"));
    assert!(s.no_transaction);
    let want: [u8; 32] = Sha256::digest(up.as_bytes()).into();
    assert_eq!(s.checksum, want);
    assert_eq!(s.checksum_hex().len(), 64);
    assert_eq!(
        s.checksum_hex(),
        want.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
}

#[test]
fn non_utf8_gives_offset() {
    let files = vec![(PathBuf::from("0001_a/up.sql"), b"SELECT 1;\xff".to_vec())];
    let e = MigrationSet::from_files(Path::new("mig"), files).expect_err("not utf-8");
    assert!(
        matches!(&e, LoadError::NotUtf8 { path, offset: 9 } if path == Path::new("mig/0001_a/up.sql")),
        "{e:?}"
    );
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
fn directives() {
    let set = ok(&[
        (
            "0001_a/up.sql",
            "\n-- a comment\n--wdh:no-transaction\n  --   WDH : Irreversible   because data\n\nCREATE INDEX CONCURRENTLY i ON t (id);\n",
        ),
        ("0001_a/down.sql", DOWN),
        ("0002_b/up.sql", UP),
        ("0002_b/down.sql", "-- wdh:irreversible\n"),
        ("0003_c/up.sql", "-- wdh:irreversible\nSELECT 1;"),
    ]);
    let [a, b, c] = &set.migrations[..] else {
        panic!("three migrations")
    };
    assert!(a.up.no_transaction);
    assert!(!a.down.script().expect("down").no_transaction);
    assert!(matches!(&a.down, Down::Irreversible(Some(_))));
    assert!(!a.is_reversible());
    assert!(matches!(&b.down, Down::Irreversible(Some(_))));
    assert!(!b.up.no_transaction);
    assert_eq!(c.down, Down::Irreversible(None));
    assert!(!c.down_is_noop());
}

#[test]
fn unknown_directive_is_an_error() {
    let e = err(&[(
        "0001_a/up.sql",
        "-- header\n-- wdh:no-transactoin\nSELECT 1;",
    )]);
    assert!(
        matches!(&e, LoadError::UnknownDirective { path, line: 2, directive }
            if path == Path::new("mig/0001_a/up.sql") && directive == "no-transactoin"),
        "{e:?}"
    );
    assert!(e
        .to_string()
        .starts_with("mig/0001_a/up.sql:2: unknown directive"));
}

#[test]
fn directive_after_first_statement_is_an_error() {
    let e = err(&[("0001_a.up.sql", "SELECT 1;\n-- wdh:irreversible\n")]);
    assert!(
        matches!(&e, LoadError::MisplacedDirective { line: 2, .. }),
        "{e:?}"
    );
    // Inside a string it is just text.
    ok(&[("0001_a.up.sql", "SELECT '\n-- wdh:irreversible\n';")]);
    // Ordinary comments mentioning wdh are fine.
    ok(&[("0001_a.up.sql", "SELECT 1; -- see the wdh docs\n")]);
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
fn empty_down_is_a_noop_and_missing_down_is_irreversible() {
    let set = ok(&[
        ("0001_a/up.sql", UP),
        ("0001_a/down.sql", "-- nothing to undo\n\n"),
        ("0002_b/up.sql", UP),
    ]);
    let a = &set.migrations[0];
    assert!(a.is_reversible());
    assert!(a.down_is_noop());
    assert!(a.down.script().expect("down").is_empty());
    assert_eq!(set.migrations[1].down, Down::Missing);
    assert!(!set.migrations[1].is_reversible());
    assert!(!set.migrations[1].down_is_noop());
}

#[test]
fn wrapping_begin_commit_is_blanked_in_place() {
    let up = "-- golang-migrate style\nBEGIN;\nCREATE TABLE t (id int);\nINSERT INTO t VALUES ('é');\nCOMMIT;\n";
    let set = ok(&[
        ("1_a.up.sql", up),
        ("1_a.down.sql", "START TRANSACTION;\nDROP TABLE t;\nEND;"),
    ]);
    let s = &set.migrations[0].up;
    assert!(s.wraps_own_transaction);
    let exec = s.executable_sql();
    assert_eq!(exec.len(), s.sql.len());
    assert_eq!(exec.chars().count(), s.sql.chars().count());
    assert_eq!(exec.lines().count(), s.sql.lines().count());
    assert_eq!(
        exec,
        "-- golang-migrate style\n      \nCREATE TABLE t (id int);\nINSERT INTO t VALUES ('é');\n       \n"
    );
    // A server error position in the executable text maps to the file.
    let pos = exec.chars().take_while(|&c| c != 'I').count() + 1;
    assert_eq!(crate::sql::line_col(&s.sql, pos), (4, 1));
    let down = set.migrations[0].down.script().expect("down");
    assert!(down.wraps_own_transaction);
    assert_eq!(down.executable_sql().trim(), "DROP TABLE t;");
    let stmts = down.statements();
    assert_eq!(stmts.len(), 1);
    assert_eq!(stmts[0].sql, "DROP TABLE t;");

    let plain = ok(&[("1_a.up.sql", UP)]);
    assert!(!plain.migrations[0].up.wraps_own_transaction);
    assert!(matches!(
        plain.migrations[0].up.executable_sql(),
        std::borrow::Cow::Borrowed(_)
    ));
}

#[test]
fn transaction_control_is_an_error_with_its_line() {
    let cases: &[(&str, usize)] = &[
        ("CREATE TABLE t (id int);\nCOMMIT;\n", 2),
        ("BEGIN;\nCREATE TABLE t (id int);\n", 1),
        ("BEGIN;\nSAVEPOINT s;\nSELECT 1;\nCOMMIT;", 2),
        ("BEGIN;\nSELECT 1;\nROLLBACK;", 1),
        ("BEGIN ISOLATION LEVEL SERIALIZABLE;\nSELECT 1;\nCOMMIT;", 1),
        ("SELECT 1;\n\n  release savepoint s;", 3),
        ("BEGIN;\nSELECT 1;\nCOMMIT;\nBEGIN;\nSELECT 2;\nCOMMIT;", 3),
    ];
    for (sql, line) in cases {
        let e = err(&[("0001_a/up.sql", sql)]);
        assert!(
            matches!(&e, LoadError::TransactionControl { path, line: l, .. }
                if path == Path::new("mig/0001_a/up.sql") && l == line),
            "{sql:?}: {e:?}"
        );
        assert!(e.to_string().contains("wdh:no-transaction"));
    }
    // In a no-transaction script the user manages transactions.
    let set = ok(&[(
        "0001_a/up.sql",
        "-- wdh:no-transaction\nBEGIN;\nSELECT 1;\nCOMMIT;\nVACUUM t;",
    )]);
    let s = &set.migrations[0].up;
    assert!(!s.wraps_own_transaction);
    assert_eq!(s.executable_sql(), s.sql);
    assert_eq!(s.statements().len(), 4);
    // BEGIN ATOMIC bodies are not transaction control.
    ok(&[(
        "0001_a/up.sql",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;",
    )]);
}

#[test]
fn set_checksum_and_find() {
    let files = [
        ("0001_a.up.sql", UP),
        ("0001_a.down.sql", DOWN),
        ("0002_b.up.sql", UP),
    ];
    let a = ok(&files);
    let b = ok(&files);
    assert_eq!(a.checksum(), b.checksum());
    assert_eq!(a.checksum_hex().len(), 64);
    let changed = ok(&[
        ("0001_a.up.sql", UP),
        ("0001_a.down.sql", "DROP TABLE t CASCADE;"),
        ("0002_b.up.sql", UP),
    ]);
    assert_ne!(a.checksum(), changed.checksum());
    let no_down = ok(&[("0001_a.up.sql", UP), ("0002_b.up.sql", UP)]);
    assert_ne!(a.checksum(), no_down.checksum());

    assert_eq!(a.find("0002").map(|m| m.name.as_str()), Some("b"));
    assert_eq!(a.find("2").map(|m| m.name.as_str()), Some("b"));
    assert!(a.find("3").is_none());
    assert!(a.find("b").is_none());

    let folders = ok(&[("2017-01-20-174200_x/up.sql", UP)]);
    assert!(folders.find("20170120174200").is_some());
    assert!(folders.find("2017-01-20-174200").is_some());
    assert!(folders.find("020170120174200").is_none());
}

#[test]
fn version_parse_and_order() {
    let flat = |s| Version::parse(s, Layout::FlatPairs).expect("version");
    assert!(flat("9") < flat("10"));
    assert_eq!(flat("007"), flat("7"));
    assert_eq!(flat("0"), flat("000"));
    let text = |s| Version::parse(s, Layout::Folders).expect("version");
    assert!(text("10") < text("9"));
    assert!(text("20170831000000") < text("202511190914440000"));
    assert!(Version::parse("", Layout::Folders).is_none());
    assert!(Version::parse("-1", Layout::Folders).is_none());
    assert!(Version::parse("1a", Layout::Folders).is_none());
}

#[test]
fn load_reads_a_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let write = |rel: &str, bytes: &[u8]| {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(p, bytes).expect("write");
    };
    write(
        "2017-01-20-174200_create users/up.sql",
        b"\xef\xbb\xbfCREATE TABLE u ();\r\n",
    );
    write(
        "2017-01-20-174200_create users/down.sql",
        b"DROP TABLE u;\r\n",
    );
    write("2017-01-20-174200_create users/README.txt", b"notes");
    write("seeds/data.sql", b"\xff not read");
    write("README.md", b"\xff not read either");
    write(".gitkeep", b"");
    fs::create_dir(root.join("0002_empty")).expect("mkdir");

    let e = MigrationSet::load(root).expect_err("empty folder");
    assert!(
        matches!(&e, LoadError::MissingUp { path } if path == &root.join("0002_empty")),
        "{e:?}"
    );
    fs::remove_dir(root.join("0002_empty")).expect("rmdir");

    let set = MigrationSet::load(root).expect("loads");
    assert_eq!(set.layout, Layout::Folders);
    let m = &set.migrations[0];
    assert_eq!(m.name, "create users");
    assert_eq!(m.up.sql, "CREATE TABLE u ();\r\n");
    let want: [u8; 32] = Sha256::digest(b"\xef\xbb\xbfCREATE TABLE u ();\r\n").into();
    assert_eq!(m.up.checksum, want);
    assert_eq!(
        ignored(&set),
        vec![
            "2017-01-20-174200_create users/README.txt",
            "README.md",
            "seeds"
        ]
    );

    let listed = read::read_listing(root).expect("listing");
    let again = MigrationSet::from_files(root, listed).expect("loads");
    assert_eq!(again, set);
}

#[test]
fn load_errors_for_missing_directory_and_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope");
    let e = MigrationSet::load(&missing).expect_err("missing");
    assert!(
        matches!(&e, LoadError::MissingDirectory { path } if path == &missing),
        "{e:?}"
    );
    assert!(e.to_string().contains(&*missing.to_string_lossy()));

    let file = dir.path().join("file");
    fs::write(&file, "").expect("write");
    let e = MigrationSet::load(&file).expect_err("not a dir");
    assert!(
        matches!(&e, LoadError::NotADirectory { path } if path == &file),
        "{e:?}"
    );
}

#[cfg(unix)]
#[test]
fn unreadable_file_is_an_error_with_source() {
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("0001_a.up.sql");
    std::os::unix::fs::symlink(dir.path().join("missing-target"), &link).expect("symlink");
    let e = MigrationSet::load(dir.path()).expect_err("broken link");
    assert!(
        matches!(&e, LoadError::ReadFile { path, .. } if path == &link),
        "{e:?}"
    );
    assert!(std::error::Error::source(&e).is_some());
}
