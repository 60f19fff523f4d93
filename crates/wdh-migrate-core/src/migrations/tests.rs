use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::test_support::{err, ignored, ok, DOWN, UP};
use super::*;

#[test]
fn mixed_layouts_are_an_error() {
    let e = err(&[("0001_a/up.sql", UP), ("0002_b.up.sql", UP)]);
    assert!(
        matches!(&e, LoadError::MixedLayouts { path, first, second, .. }
            if path == Path::new("mig") && first == Path::new("mig/0001_a")
                && second == Path::new("mig/0002_b.up.sql")),
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

/// A file with carriage-return line ends only: its directive lines are
/// lines, as the server's scanner ends a `--` comment there, and errors
/// name the line an editor shows.
#[test]
fn directives_in_a_file_with_carriage_return_line_ends() {
    let set = ok(&[(
        "0001_a/up.sql",
        "-- a comment\r-- wdh:no-transaction\rCREATE INDEX CONCURRENTLY i ON t (id);\r",
    )]);
    assert!(set.migrations[0].up.no_transaction);
    let e = err(&[("0001_a/up.sql", "-- a\r\n-- b\r-- wdh:nope\rSELECT 1;\r")]);
    assert!(
        matches!(&e, LoadError::UnknownDirective { line: 3, .. }),
        "{e:?}"
    );
    let e = err(&[("0001_a/up.sql", "-- a\rSELECT 1;\r-- wdh:irreversible\r")]);
    assert!(
        matches!(&e, LoadError::MisplacedDirective { line: 3, .. }),
        "{e:?}"
    );
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
fn an_up_with_no_statement_is_refused_in_every_layout() {
    for blank in [
        "",
        "-- Migration: a\n-- Write the SQL here.\n",
        "\u{feff}\r\n  \r\n",
        "-- wdh:irreversible\n/* later */ ;\n",
        "-- wdh:no-transaction\n",
    ] {
        for (listing, up) in [
            (
                vec![
                    ("0001_a/up.sql", UP),
                    ("0002_b/up.sql", blank),
                    ("0002_b/down.sql", DOWN),
                    ("0003_c/up.sql", UP),
                ],
                "0002_b/up.sql",
            ),
            (
                vec![
                    ("0001_a.up.sql", UP),
                    ("0002_b.up.sql", blank),
                    ("0003_c.up.sql", UP),
                ],
                "0002_b.up.sql",
            ),
        ] {
            let e = err(&listing);
            let path = Path::new("mig").join(up);
            assert!(
                matches!(&e, LoadError::EmptyUp { path: p } if p == &path),
                "{up} {blank:?}: {e:?}"
            );
            assert_eq!(e.path(), path);
            let text = e.to_string();
            assert!(
                text.starts_with(&*path.to_string_lossy())
                    && text.contains("has no statement yet")
                    && text.contains("write the migration's SQL"),
                "{text}"
            );
        }
    }
    // An empty down stays a deliberate no-op.
    ok(&[("0001_a/up.sql", UP), ("0001_a/down.sql", "")]);
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
    // Lines end at carriage returns too, as libpq counts them.
    for (sql, line) in [
        ("CREATE TABLE t (id int);\r-- c\rCOMMIT;\r", 3),
        ("CREATE TABLE t (id int); -- c\rCOMMIT;\n", 2),
        ("CREATE TABLE t (id int);\r\n\r\nSAVEPOINT\rs;\r\n", 3),
    ] {
        let e = err(&[("0001_a/up.sql", sql)]);
        assert!(
            matches!(&e, LoadError::TransactionControl { line: l, statement, .. }
                if *l == line && !statement.contains('\r')),
            "{sql:?}: {e:?}"
        );
    }
    // BEGIN ATOMIC bodies are not transaction control.
    ok(&[(
        "0001_a/up.sql",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;",
    )]);
}

/// A script this parser rejects may run on a server of another version
/// (PostgreSQL 15 takes `system_user` as a name; PostgreSQL 16 reserved
/// it): a statement in it that starts like transaction control is refused.
#[test]
fn transaction_control_in_a_script_the_parser_rejects_is_refused() {
    let cases: &[(&str, usize, &str)] = &[
        ("CREATE TABLE system_user (id int);\nCOMMIT;\nCREATE TABLE b (id int);\n", 2, "COMMIT;"),
        ("CREATE FUNCTION json_scalar(int) RETURNS int LANGUAGE sql AS 'SELECT 1';\n\nrollback and chain;", 3, "rollback and chain;"),
        ("BEGIN;\nCREATE TABLE system_user (id int);\nSAVEPOINT s;\nCOMMIT;", 3, "SAVEPOINT s;"),
        ("CREATE TABLE t (system_user int);\rEND;\r", 2, "END;"),
    ];
    for (sql, line, statement) in cases {
        let e = err(&[("0001_a/up.sql", sql)]);
        assert!(
            matches!(&e, LoadError::UnparsedTransactionControl { path, line: l, statement: s, message, parser }
                if path == Path::new("mig/0001_a/up.sql") && l == line && s == statement
                    && message.contains("syntax error") && *parser >= 16),
            "{sql:?}: {e:?}"
        );
        let text = e.to_string();
        assert!(
            text.starts_with(&format!(
                "mig/0001_a/up.sql:{line}: `{statement}` may control the transaction"
            )) && text.contains("double-quoted"),
            "{text}"
        );
    }
    // Wrapped in a bare BEGIN … COMMIT, it runs in the runner's transaction.
    let set = ok(&[(
        "0001_a/up.sql",
        "BEGIN;\nCREATE TABLE system_user (id int);\nCOMMIT;\n",
    )]);
    let up = &set.migrations[0].up;
    assert!(up.wraps_own_transaction);
    assert_eq!(
        up.executable_sql(),
        "      \nCREATE TABLE system_user (id int);\n       \n"
    );
    // Without anything that starts like transaction control, the server
    // says what is wrong when the migration runs.
    ok(&[(
        "0001_a/up.sql",
        "CREATE TABLE system_user (id int);\nSELEC 1;",
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

#[cfg(unix)]
#[test]
fn a_fifo_script_or_a_link_outside_is_an_error_naming_it() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("1_a.up.sql");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
    let e = MigrationSet::load(dir.path()).expect_err("a FIFO");
    assert!(
        matches!(&e, LoadError::NotAFile { path, kind: "a FIFO (named pipe)" } if path == &fifo),
        "{e:?}"
    );
    assert_eq!(e.path(), fifo);

    let outside = tempfile::tempdir().expect("tempdir");
    fs::write(outside.path().join("x.sql"), UP).expect("write");
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("1_a.up.sql");
    symlink(outside.path().join("x.sql"), &link).expect("symlink");
    let e = MigrationSet::load(dir.path()).expect_err("outside");
    assert!(
        matches!(&e, LoadError::LinkOutside { path, .. } if path == &link),
        "{e:?}"
    );
    assert!(
        e.to_string().contains("outside the migration directory"),
        "{e}"
    );
}
