//! Bad folder layouts: each gives its documented error naming the file,
//! exits 2, and touches nothing.

use crate::support::*;

fn expect_layout_error(files: &[(&str, &[u8])], needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    for (path, bytes) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    let db = db();
    let before = snapshot(&db);
    let run = wdh(&["upgrade"]).db(&db).migrations(dir.path()).run();
    run.expect(2, &[needle]);
    assert_eq!(snapshot(&db), before);
    let no_ledger: bool = query_one(&db, "SELECT to_regnamespace('wdh_migrate') IS NULL");
    assert!(no_ledger);
}

#[test]
fn duplicate_versions() {
    expect_layout_error(
        &[
            ("1_a.up.sql", b"SELECT 1;"),
            ("1_a.down.sql", b""),
            ("01_b.up.sql", b"SELECT 1;"),
            ("01_b.down.sql", b""),
        ],
        "01_b.up.sql",
    );
}

#[test]
fn a_versioned_folder_without_up_sql() {
    expect_layout_error(&[("0001_a/down.sql", b"SELECT 1;")], "0001_a");
}

#[test]
fn a_dash_instead_of_an_underscore() {
    expect_layout_error(&[("0012-add.up.sql", b"SELECT 1;")], "0012-add.up.sql");
}

#[test]
fn an_up_file_without_a_version() {
    expect_layout_error(&[("add_users.up.sql", b"SELECT 1;")], "add_users.up.sql");
}

#[test]
fn an_up_whose_down_has_another_name() {
    expect_layout_error(
        &[
            ("0001_a.up.sql", b"SELECT 1;"),
            ("0001_b.down.sql", b"SELECT 1;"),
        ],
        "0001_b.down.sql",
    );
}

#[test]
fn a_non_utf8_file() {
    expect_layout_error(&[("0001_a/up.sql", b"SELECT '\xff';")], "0001_a/up.sql");
}

#[test]
fn a_missing_folder() {
    let db = db();
    let run = wdh(&["upgrade"])
        .db(&db)
        .migrations(std::path::Path::new("/nonexistent/migrations"))
        .run();
    run.expect(2, &["/nonexistent/migrations"]);
}

#[test]
fn files_that_are_not_migrations_are_listed_not_skipped_silently() {
    let dir = folder(&[
        ("README.md", "how to write migrations"),
        ("seed.sql", "INSERT INTO x VALUES (1);"),
        ("0001 first table/up.sql", "CREATE TABLE first (id int);"),
        ("0001 first table/down.sql", "DROP TABLE first;"),
    ]);
    // A folder name with spaces: the version ends at the first `_` only, so
    // this one is malformed; use an underscore and keep the spaces in the name.
    std::fs::rename(
        dir.path().join("0001 first table"),
        dir.path().join("0001_first table"),
    )
    .unwrap();
    let db = db();
    let run = wdh(&["upgrade"]).db(&db).migrations(dir.path()).run();
    run.expect(0, &["README.md", "seed.sql"]);
    let status = wdh(&["status"]).db(&db).migrations(dir.path()).run();
    assert!(
        status.stdout.contains("ignored") && status.stdout.contains("seed.sql"),
        "{}",
        status.stdout
    );
    assert_eq!(applied_versions(&db), ["0001"]);
}

#[test]
fn bom_and_crlf_files_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("0001_crlf")).unwrap();
    std::fs::write(
        dir.path().join("0001_crlf/up.sql"),
        b"\xef\xbb\xbfCREATE TABLE crlf (id int);\r\nINSERT INTO crlf VALUES (1);\r\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("0001_crlf/down.sql"),
        b"\xef\xbb\xbfDROP TABLE crlf;\r\n",
    )
    .unwrap();
    let db = db();
    let run = wdh(&["upgrade"]).db(&db).migrations(dir.path()).run();
    assert_eq!(run.code, 0, "{}", run.all());
    let n: i64 = query_one(&db, "SELECT count(*) FROM crlf");
    assert_eq!(n, 1);
    let run = wdh(&["downgrade", "base"])
        .db(&db)
        .migrations(dir.path())
        .run();
    assert_eq!(run.code, 0, "{}", run.all());
}
