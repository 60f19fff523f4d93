//! A `COMMIT` cannot hide from the scanner, in either direction, and the
//! ledger agrees with the schema afterwards, on real servers.
//!
//! Three classes. Scripts whose statements, as the server reads them, hold
//! transaction control: refused when the set loads, as up or down script,
//! naming the file and line, nothing touched; the server is asked too, and
//! it does end the transaction there. Scripts whose `COMMIT` is only text
//! to the server (a comment, a string, a routine body): they run with their
//! ledger row in one transaction, and roll back whole when a later
//! statement fails, whatever the server, the database, the role, the
//! connection string or the session set `standard_conforming_strings` and
//! `backslash_quote` to. Scripts that end the transaction anyway (built
//! through the library, as the loader refuses them): the fence catches
//! them, and what the server says became of the transaction is recorded.

use std::path::Path;

use sha2::{Digest, Sha256};
use wdh_migrate_core::migrations::{Direction, Down, MigrationSet, Script};
use wdh_migrate_core::plan::{DowngradeTo, UpgradeTo};
use wdh_migrate_core::runner::{Fate, MigrationFailure, RunError, RunOptions, Runner};
use wdh_migrate_core::target::{Source, Target};
use wdh_testdb::{ClusterOptions, TestCluster, TestDatabase};

use crate::support::*;

/// The migration every test starts from, applied first.
const BASE: [(&str, &str); 2] = [
    ("0001_base/up.sql", "CREATE TABLE base (id int);\n"),
    ("0001_base/down.sql", "DROP TABLE base;\n"),
];

/// A database with [`BASE`] applied through the CLI at `url`, and its folder.
fn based(db: &TestDatabase, url: &str) -> tempfile::TempDir {
    let dir = folder(&BASE);
    wdh(&["upgrade"])
        .url(url)
        .migrations(dir.path())
        .run()
        .expect(0, &[]);
    assert_eq!(applied_versions(db), ["0001"]);
    dir
}

/// The rows of `wdh_migrate.failed`: version, direction, state, error.
fn failed_rows(db: &TestDatabase) -> Vec<(String, String, String, String)> {
    let mut c = db.connect().unwrap();
    let exists: bool = c
        .query_one("SELECT to_regclass('wdh_migrate.failed') IS NOT NULL", &[])
        .unwrap()
        .get(0);
    if !exists {
        return Vec::new();
    }
    c.query(
        "SELECT version, direction, state, coalesce(error, '') FROM wdh_migrate.failed ORDER BY version",
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
    .collect()
}

fn exists(db: &TestDatabase, table: &str) -> bool {
    query_one(
        db,
        &format!("SELECT to_regclass('public.{table}') IS NOT NULL"),
    )
}

/// What the server makes of `script` sent as the runner sends it, in the
/// prologue's transaction with its settings: whether the script ended the
/// transaction (`committed`, `aborted`), and if not, whether it left a
/// savepoint `s`. On a database of its own, thrown away.
fn server_ends_transaction(script: &str) -> bool {
    let db = db();
    let mut c = db.connect().unwrap();
    let xid: i64 = c
        .simple_query(
            "BEGIN; SET LOCAL client_encoding = 'UTF8'; SET LOCAL standard_conforming_strings = on; \
             SET LOCAL backslash_quote = safe_encoding; SELECT txid_current()",
        )
        .unwrap()
        .iter()
        .find_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => r.get(0).map(|v| v.parse().unwrap()),
            _ => None,
        })
        .unwrap();
    c.batch_execute(script)
        .unwrap_or_else(|e| panic!("{script:?} runs on the server: {e:?}"));
    let status: String = c
        .query_one("SELECT txid_status($1)::text", &[&xid])
        .unwrap()
        .get(0);
    let ended = status != "in progress";
    if !ended {
        c.batch_execute("RELEASE SAVEPOINT s")
            .unwrap_or_else(|e| panic!("{script:?} left savepoint s: {e:?}"));
    }
    c.batch_execute("ROLLBACK").unwrap();
    ended
}

// ---------------------------------------------------------------------
// 1. Transaction control as the server reads it: refused when the set loads.
// ---------------------------------------------------------------------

/// `script` holds transaction control as the server reads it, first at
/// `line`, starting with `statement`; `ends` says whether running it ends
/// the transaction (otherwise it makes a savepoint `s`). Refused as the up script of a
/// pending migration and as the down script of an applied one, by every
/// command that loads the set: exit 2, the file and line named, the
/// database, the ledger and the audit untouched.
fn refused(script: &str, line: usize, statement: &str, ends: bool) {
    assert_eq!(
        server_ends_transaction(script),
        ends,
        "the server ends the transaction: {script:?}"
    );
    let db = db();
    let dir = based(&db, &db.url());
    let before = (snapshot(&db), audit(&db));
    write(dir.path(), "0002_hidden/up.sql", script);
    write(dir.path(), "0002_hidden/down.sql", "SELECT 1;\n");
    let at = format!("0002_hidden/up.sql:{line}: `{statement}`");
    for args in [
        &["upgrade"][..],
        &["upgrade", "--dry-run"],
        &["status"],
        &["downgrade", "base"],
    ] {
        let run = wdh(args).db(&db).migrations(dir.path()).run();
        run.expect(
            2,
            &[
                &at,
                "the transaction, but the script already runs inside one",
            ],
        );
        assert!(!run.stderr.contains('\r'), "{:?}", run.stderr);
    }
    assert_eq!((snapshot(&db), audit(&db)), before);

    // As the down script of the applied migration.
    std::fs::remove_dir_all(dir.path().join("0002_hidden")).unwrap();
    write(dir.path(), "0001_base/down.sql", script);
    let at = format!("0001_base/down.sql:{line}: `{statement}`");
    for args in [&["downgrade", "base"][..], &["upgrade"]] {
        let run = wdh(args).db(&db).migrations(dir.path()).run();
        run.expect(
            2,
            &[
                &at,
                "the transaction, but the script already runs inside one",
            ],
        );
    }
    assert_eq!((snapshot(&db), audit(&db)), before);
    assert!(exists(&db, "base"));
    assert_eq!(applied_versions(&db), ["0001"]);
}

#[test]
fn a_comment_ended_by_a_bare_carriage_return_does_not_hide_a_commit() {
    refused(
        "CREATE TABLE t (id int); -- note\rCOMMIT;\nCREATE TABLE u (id int);\n",
        2,
        "COMMIT;",
        true,
    );
    refused(
        "CREATE TABLE t (id int);\n-- note\r\rROLLBACK;\n",
        4,
        "ROLLBACK;",
        true,
    );
}

#[test]
fn a_file_with_carriage_return_line_ends_does_not_hide_a_commit() {
    refused(
        "CREATE TABLE t (id int);\r-- a comment\rCOMMIT;\rCREATE TABLE u (id int);\r",
        3,
        "COMMIT;",
        true,
    );
    refused(
        "CREATE TABLE t (id int);\r\n-- c\r\n\r\nEND\rWORK;\r\n",
        4,
        "END",
        true,
    );
}

#[test]
fn names_spelled_like_transaction_keywords_do_not_hide_a_commit() {
    refused(
        "CREATE FUNCTION begin() RETURNS int LANGUAGE sql AS 'SELECT 1';\nSELECT begin();\nCOMMIT;\n",
        3,
        "COMMIT;",
        true,
    );
    refused(
        "CREATE TABLE commit (begin int, \"end\" int);\nSELECT begin, \"end\" FROM commit;\nEND;\n",
        3,
        "END;",
        true,
    );
    refused(
        "CREATE TABLE \"commit\" (\"end\" int);\nCREATE FUNCTION \"end\"() RETURNS int LANGUAGE sql AS 'SELECT 1';\n\
         SELECT \"end\"() FROM \"commit\";\nROLLBACK;\n",
        4,
        "ROLLBACK;",
        true,
    );
    refused(
        "SELECT 1 AS commit, 2 AS begin, 3 AS rollback;\nCoMmIt /* c */ WoRk -- d\r;\n",
        2,
        "CoMmIt /* c */ WoRk -- d",
        true,
    );
}

#[test]
fn nested_comments_and_dollar_quotes_do_not_hide_a_commit() {
    refused(
        "/* a /* b */ COMMIT; */ CREATE TABLE t (id int);\nCOMMIT;\n",
        2,
        "COMMIT;",
        true,
    );
    refused(
        "DO $a$ BEGIN PERFORM $b$ ; COMMIT $b$; END $a$;\nCREATE TABLE t (v text DEFAULT $$ ; $$);\nCOMMIT AND CHAIN;\n",
        3,
        "COMMIT AND CHAIN;",
        true,
    );
}

#[test]
fn strings_do_not_hide_a_commit() {
    // A standard string: the backslash is an ordinary character.
    refused(
        "CREATE TABLE t (v text);\nINSERT INTO t VALUES ('a\\'); COMMIT; --');\n",
        2,
        "COMMIT;",
        true,
    );
    // An E'' string: an escaped backslash does not escape the quote.
    refused("SELECT E'a\\\\';\nCOMMIT;\n", 2, "COMMIT;", true);
    // A U&'' string with UESCAPE: the backslash is an ordinary character.
    refused(
        "SELECT U&'d!0061t\\' UESCAPE '!';\nCOMMIT;\n",
        2,
        "COMMIT;",
        true,
    );
    // The wrapper's own COMMIT is last; the one a naive reading puts in a
    // string is not.
    refused(
        "BEGIN;\nCREATE TABLE t (v text);\nINSERT INTO t VALUES ('a\\'); COMMIT; --');\nCOMMIT;\n",
        3,
        "COMMIT;",
        true,
    );
}

#[test]
fn routine_bodies_do_not_hide_a_commit() {
    refused(
        "CREATE TABLE t (id int);\nCREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC INSERT INTO t VALUES (1); END;\nEND;\n",
        3,
        "END;",
        true,
    );
    refused(
        "CREATE FUNCTION f(x int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT CASE WHEN x > 0 THEN 1 END;\nEND;\nSAVEPOINT s;\n",
        5,
        "SAVEPOINT s;",
        false,
    );
}

/// The parser built into wdh-migrate is PostgreSQL 18's; a server of an
/// older version takes as a name a word that a later one reserved (its
/// grammar takes what that parser rejects): the script is split at its
/// semicolons and its COMMIT refused all the same; without one, the
/// server runs it, as one transaction.
#[test]
fn a_script_the_built_in_parser_rejects_does_not_hide_a_commit() {
    let server: i32 = query_one(&db(), "SELECT current_setting('server_version_num')::int");
    // The version that reserved the word, and the script.
    let cases: [(i32, &str, usize, &str); 2] = [
        (
            160_000,
            "CREATE TABLE system_user (id int);\nCOMMIT;\nCREATE TABLE b (id int);\n",
            2,
            "COMMIT;",
        ),
        (
            170_000,
            "CREATE FUNCTION json_scalar(int) RETURNS int LANGUAGE sql AS 'SELECT 1';\n\nrollback and chain;\n",
            3,
            "rollback and chain;",
        ),
    ];
    let older: Vec<_> = cases.iter().filter(|c| server < c.0).collect();
    if older.is_empty() {
        eprintln!("server {server} reserves these words too: no script of them runs there");
        return;
    }
    for (_, script, line, statement) in older {
        refused(script, *line, statement, true);
    }
    if server >= 160_000 {
        return;
    }
    // The error says why, and what to do.
    let db = db();
    let dir = folder(&[(
        "0001_a/up.sql",
        "CREATE TABLE system_user (id int);\nCOMMIT;\n",
    )]);
    let run = wdh(&["upgrade"]).db(&db).migrations(dir.path()).run();
    run.expect(
        2,
        &[
            "0001_a/up.sql:2: `COMMIT;` may control the transaction",
            "rejects this script (syntax error at or near \"system_user\")",
            "double-quoted",
        ],
    );
    assert!(!exists(&db, "system_user"));
    // Without transaction control, the server runs it with its ledger row.
    write(
        dir.path(),
        "0001_a/up.sql",
        "CREATE TABLE system_user (id int);\nINSERT INTO system_user VALUES (1);\n",
    );
    wdh(&["upgrade"])
        .db(&db)
        .migrations(dir.path())
        .run()
        .expect(0, &[]);
    assert_eq!(applied_versions(&db), ["0001"]);
    let rows: i64 = query_one(&db, "SELECT count(*) FROM system_user");
    assert_eq!(rows, 1);
}

// ---------------------------------------------------------------------
// 2. A COMMIT that is only text: one transaction with the ledger row.
// ---------------------------------------------------------------------

/// The values of `t.v`, sorted.
fn values(db: &TestDatabase) -> Vec<String> {
    query_one(
        db,
        "SELECT coalesce(array_agg(v ORDER BY v), ARRAY[]::text[]) FROM t",
    )
}

/// `carrier` (statements with a `COMMIT` only as text, inserting into
/// `t (v text)`, lines ended by `eol`), in the up and the down script of a
/// migration, plain and wrapped in a bare `BEGIN … COMMIT`, run through the
/// CLI at `url`: followed by a failing statement it rolls back whole (no
/// object, no row, no ledger row, the server confirming it); without, it
/// applies and its effects commit with the ledger row; the down, failing,
/// leaves the table and its rows and the ledger saying applied, and
/// succeeding, leaves the database as before the migration.
fn atomic_both_ways(db: &TestDatabase, url: &str, eol: &str, carrier: &str, expected: &[&str]) {
    atomic(db, url, eol, carrier, expected, &[false, true]);
}

/// [`atomic_both_ways`], in the given forms (wrapped or not).
fn atomic(
    db: &TestDatabase,
    url: &str,
    eol: &str,
    carrier: &str,
    expected: &[&str],
    forms: &[bool],
) {
    for &wrapped in forms {
        let script = |lines: &[&str], fail: bool| {
            let mut all: Vec<&str> = Vec::new();
            if wrapped {
                all.push("BEGIN;");
            }
            all.extend_from_slice(lines);
            if fail {
                all.push("SELECT 1 / 0;");
            }
            if wrapped {
                all.push("COMMIT;");
            }
            all.push("");
            all.join(eol)
        };
        let up = |fail| script(&["CREATE TABLE t (v text);", carrier], fail);
        let down = |fail| script(&["DELETE FROM t;", carrier, "DROP TABLE t;"], fail);
        let context = format!("{carrier:?} (wrapped: {wrapped})");

        let dir = based(db, url);
        let before = snapshot(db);
        write(dir.path(), "0002_text/up.sql", &up(true));
        write(dir.path(), "0002_text/down.sql", &down(false));
        let run = wdh(&["upgrade"]).url(url).migrations(dir.path()).run();
        run.expect(
            1,
            &[
                "0002_text/up.sql",
                "division by zero",
                "Its changes and its ledger row were rolled back (the server confirms it)",
            ],
        );
        assert_eq!(snapshot(db), before, "{context}");
        assert!(!exists(db, "t"), "{context}");
        assert!(failed_rows(db).is_empty(), "{context}");
        let run = wdh(&["upgrade", "--json"])
            .url(url)
            .migrations(dir.path())
            .run();
        let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(
            doc["error"]["migration"]["fate"], "rolled_back",
            "{context}"
        );
        assert_eq!(snapshot(db), before, "{context}");

        write(dir.path(), "0002_text/up.sql", &up(false));
        wdh(&["upgrade"])
            .url(url)
            .migrations(dir.path())
            .run()
            .expect(0, &[]);
        assert_eq!(applied_versions(db), ["0001", "0002"], "{context}");
        let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(values(db), want, "{context}");
        // The table and the ledger row were written by one transaction.
        let together: bool = query_one(
            db,
            "SELECT (SELECT xmin::text FROM wdh_migrate.applied WHERE version = '0002') \
             = (SELECT xmin::text FROM pg_catalog.pg_class WHERE oid = 'public.t'::regclass)",
        );
        assert!(together, "{context}");
        let applied = snapshot(db);

        write(dir.path(), "0002_text/down.sql", &down(true));
        let run = wdh(&["downgrade", "-1"])
            .url(url)
            .migrations(dir.path())
            .run();
        run.expect(
            1,
            &[
                "0002_text/down.sql",
                "division by zero",
                "(the server confirms it)",
            ],
        );
        assert_eq!(snapshot(db), applied, "{context}");
        assert_eq!(values(db), want, "{context}: the rows are still there");
        assert!(failed_rows(db).is_empty(), "{context}");

        write(dir.path(), "0002_text/down.sql", &down(false));
        wdh(&["downgrade", "-1"])
            .url(url)
            .migrations(dir.path())
            .run()
            .expect(0, &[]);
        assert_eq!(snapshot(db), before, "{context}");
        // Back to the empty start, for the wrapped round.
        wdh(&["downgrade", "base"])
            .url(url)
            .migrations(dir.path())
            .run()
            .expect(0, &[]);
        assert_eq!(applied_versions(db), [] as [&str; 0]);
    }
}

/// One test per carrier: a `COMMIT` the server reads as text.
macro_rules! text_only {
    ($($name:ident: $eol:expr, $carrier:expr => [$($value:expr),* $(,)?];)*) => {$(
        #[test]
        fn $name() {
            let db = db();
            atomic_both_ways(&db, &db.url(), $eol, $carrier, &[$($value),*]);
        }
    )*};
}

text_only! {
    commit_in_a_comment_of_a_crlf_file: "\r\n",
        "-- COMMIT;\r\nINSERT INTO t VALUES ('x'); -- ROLLBACK;" => ["x"];
    commit_in_a_comment_of_a_cr_only_file: "\r",
        "-- COMMIT;\rINSERT INTO t VALUES ('x');\r/* END; */" => ["x"];
    commit_in_names_spelled_like_keywords: "\n",
        "CREATE TABLE commit (begin int, \"end\" int);\n\
         CREATE FUNCTION begin() RETURNS int LANGUAGE sql AS 'SELECT 1';\n\
         CREATE FUNCTION \"end\"() RETURNS int LANGUAGE sql AS 'SELECT 2';\n\
         CREATE FUNCTION \"commit\"() RETURNS int LANGUAGE sql AS 'SELECT 3';\n\
         INSERT INTO commit VALUES (begin(), \"end\"());\n\
         INSERT INTO t SELECT begin || ',' || \"end\" || ',' || \"commit\"() FROM commit;\n\
         DROP TABLE commit;\nDROP FUNCTION begin();\nDROP FUNCTION \"end\"();\nDROP FUNCTION \"commit\"();"
        => ["1,2,3"];
    commit_in_nested_comments: "\n",
        "/* outer /* inner */ COMMIT; still the outer comment */\nINSERT INTO t VALUES ('x');" => ["x"];
    commit_in_tagged_dollar_quotes: "\n",
        "INSERT INTO t VALUES ($x$ $$ ; COMMIT; $$ $x$);\n\
         DO $do$ BEGIN INSERT INTO t VALUES ($q$;COMMIT;$q$); END $do$;"
        => [" $$ ; COMMIT; $$ ", ";COMMIT;"];
    commit_in_an_e_string: "\n",
        "INSERT INTO t VALUES (E'it\\'s; COMMIT; --'), (E'\\\\'';END;--');"
        => ["it's; COMMIT; --", "\\';END;--"];
    commit_in_a_standard_string_ending_in_a_backslash: "\n",
        "INSERT INTO t VALUES ('a\\''); COMMIT; --');" => ["a\\'); COMMIT; --"];
    commit_in_u_strings: "\n",
        "INSERT INTO t VALUES (U&'!0027); COMMIT; --' UESCAPE '!'), (U&'\\0041''); END; --');"
        => ["'); COMMIT; --", "A'); END; --"];
    commit_in_quoted_identifiers: "\n",
        "CREATE TABLE \"x; COMMIT; --\" (v text);\n\
         INSERT INTO t SELECT 'q' FROM (SELECT 1) AS \"; END; --\";\nDROP TABLE \"x; COMMIT; --\";"
        => ["q"];
    end_of_begin_atomic_bodies: "\n",
        "CREATE PROCEDURE p() LANGUAGE sql\nBEGIN ATOMIC\n  INSERT INTO t VALUES (CASE WHEN true THEN 'one' END);\n  \
         INSERT INTO t VALUES ('two');\nEND;\nCALL p();\nDROP PROCEDURE p();"
        => ["one", "two"];
    settings_changed_by_the_script_itself: "\n",
        "SET standard_conforming_strings = off;\nSELECT set_config('backslash_quote', 'off', true);\n\
         INSERT INTO t VALUES ('a\\''); COMMIT; --');"
        => ["a\\'); COMMIT; --"];
}

/// A COMMIT in a DO block or a procedure is the server's to refuse: the
/// migration's transaction is a transaction block, so it fails there
/// (2D000) and everything rolls back.
#[test]
fn a_commit_inside_a_do_block_or_a_procedure_fails_and_rolls_back() {
    for (body, code) in [
        ("DO $$ BEGIN COMMIT; END $$;", "2D000"),
        (
            "CREATE PROCEDURE p() LANGUAGE plpgsql AS $$ BEGIN COMMIT; END $$;\nCALL p();",
            "2D000",
        ),
    ] {
        let db = db();
        let dir = based(&db, &db.url());
        let before = snapshot(&db);
        write(
            dir.path(),
            "0002_do/up.sql",
            &format!("CREATE TABLE t (id int);\nINSERT INTO t VALUES (1);\n{body}\n"),
        );
        write(dir.path(), "0002_do/down.sql", "DROP TABLE t;\n");
        let run = wdh(&["upgrade"]).db(&db).migrations(dir.path()).run();
        run.expect(
            1,
            &[
                "0002_do/up.sql",
                &format!("SQLSTATE {code}"),
                "(the server confirms it)",
            ],
        );
        assert_eq!(snapshot(&db), before, "{body}");
        assert!(failed_rows(&db).is_empty(), "{body}");
    }
}

// ---------------------------------------------------------------------
// standard_conforming_strings and backslash_quote, wherever they are set.
// ---------------------------------------------------------------------

/// Under `standard_conforming_strings = on` (how the runner pins it) the
/// COMMIT is in a string; under `off` it would be a real one.
const STANDARD: &str = "INSERT INTO t VALUES ('a\\''); COMMIT; --');";
const STANDARD_VALUE: &str = "a\\'); COMMIT; --";
/// Under `backslash_quote = off` the `\'` would be an error.
const ESCAPE: &str = "INSERT INTO t VALUES (E'it\\'s; COMMIT; --');";
const ESCAPE_VALUE: &str = "it's; COMMIT; --";
/// Under a client-only encoding such as SJIS, the last byte of `ā` (UTF-8
/// C4 81) and the backslash would be one character, ending the string.
const MULTIBYTE: &str = "INSERT INTO t VALUES (E'\u{0101}\\'); COMMIT; --');";
const MULTIBYTE_VALUE: &str = "\u{0101}'); COMMIT; --";

/// What a new session made from `url` sees for `setting`.
fn seen(url: &str, setting: &str) -> String {
    let target = Target::parse(url, Source::Explicit).unwrap();
    let mut c = target.config().connect(postgres::NoTls).unwrap();
    c.query_one(&format!("SELECT current_setting('{setting}')"), &[])
        .unwrap()
        .get(0)
}

/// Both carriers through the CLI at `url`, where sessions see `settings`.
fn pinned_against(db: &TestDatabase, url: &str, settings: &[(&str, &str)]) {
    for (name, value) in settings {
        assert_eq!(seen(url, name), *value, "{name} as {url} sets it");
    }
    for (carrier, value) in [
        (STANDARD, STANDARD_VALUE),
        (ESCAPE, ESCAPE_VALUE),
        (MULTIBYTE, MULTIBYTE_VALUE),
    ] {
        atomic(db, url, "\n", carrier, &[value], &[false]);
    }
}

/// A role of this test, a superuser that can run migrations, dropped with
/// what it owns at the end.
struct Role<'a> {
    db: &'a TestDatabase,
    name: String,
}

impl<'a> Role<'a> {
    fn create(db: &'a TestDatabase) -> Role<'a> {
        let name = format!("{}_role", db.name());
        db.connect()
            .unwrap()
            .batch_execute(&format!("CREATE ROLE \"{name}\" LOGIN SUPERUSER"))
            .unwrap();
        Role { db, name }
    }

    /// The database's URL, connecting as this role.
    fn url(&self) -> String {
        let url = self.db.url();
        let as_role = url.replacen(
            "postgresql://postgres@",
            &format!("postgresql://{}@", self.name),
            1,
        );
        assert_ne!(as_role, url, "the harness's URL names postgres: {url}");
        as_role
    }
}

impl Drop for Role<'_> {
    fn drop(&mut self) {
        let sql = format!(
            "REASSIGN OWNED BY \"{0}\" TO postgres; DROP OWNED BY \"{0}\"; DROP ROLE \"{0}\"",
            self.name
        );
        let result = match self.db.connect() {
            Ok(mut c) => c.batch_execute(&sql).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = result {
            eprintln!("dropping role {}: {e}", self.name);
        }
    }
}

fn alter_database(db: &TestDatabase, setting: &str) {
    db.connect()
        .unwrap()
        .batch_execute(&format!("ALTER DATABASE \"{}\" SET {setting}", db.name()))
        .unwrap();
}

#[test]
fn standard_conforming_strings_off_on_the_database() {
    let db = db();
    alter_database(&db, "standard_conforming_strings = off");
    pinned_against(&db, &db.url(), &[("standard_conforming_strings", "off")]);
}

#[test]
fn standard_conforming_strings_off_on_the_role_in_the_database() {
    let db = db();
    let role = Role::create(&db);
    db.connect()
        .unwrap()
        .batch_execute(&format!(
            "ALTER ROLE \"{}\" IN DATABASE \"{}\" SET standard_conforming_strings = off",
            role.name,
            db.name()
        ))
        .unwrap();
    assert_eq!(seen(&db.url(), "standard_conforming_strings"), "on");
    pinned_against(&db, &role.url(), &[("standard_conforming_strings", "off")]);
}

#[test]
fn standard_conforming_strings_off_on_the_role() {
    let db = db();
    let role = Role::create(&db);
    db.connect()
        .unwrap()
        .batch_execute(&format!(
            "ALTER ROLE \"{}\" SET standard_conforming_strings = off; \
             ALTER ROLE \"{0}\" SET backslash_quote = off",
            role.name
        ))
        .unwrap();
    pinned_against(
        &db,
        &role.url(),
        &[
            ("standard_conforming_strings", "off"),
            ("backslash_quote", "off"),
        ],
    );
}

#[test]
fn standard_conforming_strings_off_in_the_connection_strings_options() {
    let db = db();
    let url = format!(
        "{}&options=-c%20standard_conforming_strings%3Doff",
        db.url()
    );
    pinned_against(&db, &url, &[("standard_conforming_strings", "off")]);
    let url = format!(
        "{}&options=-c%20standard_conforming_strings%3Doff%20-c%20backslash_quote%3Doff",
        db.url()
    );
    pinned_against(
        &db,
        &url,
        &[
            ("standard_conforming_strings", "off"),
            ("backslash_quote", "off"),
        ],
    );
}

#[test]
fn backslash_quote_off_on_the_database() {
    let db = db();
    alter_database(&db, "backslash_quote = off");
    pinned_against(&db, &db.url(), &[("backslash_quote", "off")]);
    alter_database(&db, "standard_conforming_strings = off");
    pinned_against(
        &db,
        &db.url(),
        &[
            ("standard_conforming_strings", "off"),
            ("backslash_quote", "off"),
        ],
    );
}

/// `client_encoding` set for the database or in the connection string's
/// options does not reach the session: the driver asks for UTF-8 when it
/// connects, which wins. (A migration can still change it on the session;
/// see below.)
#[test]
fn client_encoding_set_for_the_database_or_in_the_options() {
    let db = db();
    alter_database(&db, "client_encoding = 'SJIS'");
    let url = format!("{}&options=-c%20client_encoding%3DSJIS", db.url());
    pinned_against(&db, &url, &[("client_encoding", "UTF8")]);
}

#[test]
fn standard_conforming_strings_off_for_the_whole_server() {
    let cluster = TestCluster::start_with(ClusterOptions {
        settings: vec![
            ("standard_conforming_strings".into(), "off".into()),
            ("backslash_quote".into(), "off".into()),
        ],
        ..Default::default()
    })
    .unwrap();
    let db = cluster.server().create_database().unwrap();
    pinned_against(
        &db,
        &db.url(),
        &[
            ("standard_conforming_strings", "off"),
            ("backslash_quote", "off"),
        ],
    );
}

/// A migration earlier in the same run leaves a setting on the session (a
/// plain SET persists once its transaction commits; a no-transaction one
/// sets it outright), and the next one runs on that session: it is still
/// read as the scanner read it. `standard_conforming_strings = off` would
/// make a backslash escape the quote; `client_encoding = 'SJIS'` would
/// read the last byte of `ā` (UTF-8 C4 81) and the backslash after it as
/// one character, so that the string ends at the quote.
#[test]
fn settings_left_on_the_session_by_an_earlier_migration() {
    let cases = [
        (
            "standard_conforming_strings = off",
            STANDARD,
            "SELECT length('a\\''); COMMIT; --');",
            STANDARD_VALUE,
        ),
        (
            "client_encoding = 'SJIS'",
            MULTIBYTE,
            "SELECT length(E'\u{0101}\\'); COMMIT; --');",
            MULTIBYTE_VALUE,
        ),
    ];
    for (setting, up_carrier, down_carrier, value) in cases {
        for setter in [
            format!("SET {setting};\n"),
            format!("-- wdh:no-transaction\nSET {setting};\n"),
        ] {
            let make = |fail: bool| {
                let up = format!(
                    "CREATE TABLE t (v text);\n{up_carrier}\n{}",
                    if fail { "SELECT 1 / 0;\n" } else { "" }
                );
                folder(&[
                    ("0001_session/up.sql", &setter),
                    ("0001_session/down.sql", "SELECT 1;\n"),
                    ("0002_text/up.sql", &up),
                    ("0002_text/down.sql", "DROP TABLE t;\n"),
                    ("0003_after/up.sql", "SELECT 1;\n"),
                    ("0003_after/down.sql", &setter),
                ])
            };

            // Up: 0001 sets the session, 0002 fails and rolls back whole.
            let db = db();
            let dir = make(true);
            let run = wdh(&["upgrade"]).db(&db).migrations(dir.path()).run();
            run.expect(
                1,
                &[
                    "0002_text/up.sql",
                    "division by zero",
                    "(the server confirms it)",
                ],
            );
            assert_eq!(applied_versions(&db), ["0001"], "{setter}");
            assert!(!exists(&db, "t"), "{setter}");
            assert!(failed_rows(&db).is_empty());

            // Up: without the failure, on a new database so 0001 runs first again.
            let db = super::support::db();
            let dir = make(false);
            wdh(&["upgrade"])
                .db(&db)
                .migrations(dir.path())
                .run()
                .expect(0, &[]);
            assert_eq!(applied_versions(&db), ["0001", "0002", "0003"]);
            assert_eq!(values(&db), [value], "{setter}");

            // Down: 0003's down sets the session, 0002's fails after deleting the rows.
            write(
                dir.path(),
                "0002_text/down.sql",
                &format!("DELETE FROM t;\n{down_carrier}\nDROP TABLE t;\nSELECT 1 / 0;\n"),
            );
            let run = wdh(&["downgrade", "base"])
                .db(&db)
                .migrations(dir.path())
                .run();
            run.expect(
                1,
                &[
                    "0002_text/down.sql",
                    "division by zero",
                    "(the server confirms it)",
                ],
            );
            assert_eq!(applied_versions(&db), ["0001", "0002"], "{setter}");
            assert_eq!(values(&db), [value], "{setter}: the rows are still there");
            assert!(failed_rows(&db).is_empty());
        }
    }
}

// ---------------------------------------------------------------------
// 3. A script that ends the transaction anyway: the fence and txid_status.
// ---------------------------------------------------------------------

/// The set in `dir`, with one script of its only migration replaced by
/// `sql`, which the loader would refuse.
fn with_script(dir: &Path, direction: Direction, sql: &str) -> MigrationSet {
    let mut set = MigrationSet::load(dir).unwrap();
    let m = &mut set.migrations[0];
    let path = match direction {
        Direction::Up => m.up.path.clone(),
        Direction::Down => m.down.script().unwrap().path.clone(),
    };
    let script = Script {
        path,
        sql: sql.to_string(),
        checksum: Sha256::digest(sql.as_bytes()).into(),
        no_transaction: false,
        wraps_own_transaction: false,
        blocks: Vec::new(),
        allows: Vec::new(),
    };
    match direction {
        Direction::Up => m.up = script,
        Direction::Down => m.down = Down::Script(script),
    }
    set
}

fn run_lib(db: &TestDatabase, set: &MigrationSet, direction: Direction) -> Box<MigrationFailure> {
    let t = target(db);
    let runner = Runner::new(&t, RunOptions::default());
    let result = match direction {
        Direction::Up => runner.upgrade(set, &"head".parse::<UpgradeTo>().unwrap(), &mut |_| {}),
        Direction::Down => {
            runner.downgrade(set, &"base".parse::<DowngradeTo>().unwrap(), &mut |_| {})
        }
    };
    match result {
        Err(RunError::Migration { failure, .. }) => failure,
        other => panic!("a migration failure, not {other:?}"),
    }
}

/// The folder every fence test starts from: one migration with two tables.
fn two_tables() -> tempfile::TempDir {
    folder(&[
        (
            "0001_ab/up.sql",
            "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n",
        ),
        ("0001_ab/down.sql", "DROP TABLE b;\nDROP TABLE a;\n"),
    ])
}

/// COMMIT (in every spelling) ends the transaction: what ran before it
/// committed, the rest rolled back, and the ledger says so, `status` shows
/// it with its repair, and no run goes on as if not until it is repaired.
#[test]
fn a_script_that_commits_is_caught_by_the_fence_and_recorded_as_partial() {
    for (control, after) in [
        ("COMMIT", "SELECT 1 / 0;"),
        ("COMMIT", ""),
        ("END", ""),
        ("COMMIT AND CHAIN", "SELECT 1 / 0;"),
        ("COMMIT AND CHAIN", ""),
    ] {
        let case = format!("{control} then {after:?}");
        let db = db();
        let dir = two_tables();
        let sql =
            format!("CREATE TABLE a (id int);\n{control};\nCREATE TABLE b (id int);\n{after}\n");
        let set = with_script(dir.path(), Direction::Up, &sql);
        let failure = run_lib(&db, &set, Direction::Up);
        assert_eq!(failure.fate, Some(Fate::ScriptCommitted), "{case}");
        assert_eq!(failure.direction, Direction::Up);
        assert_eq!(failure.file, "0001_ab/up.sql");
        let code = if after.is_empty() { "WM002" } else { "22012" };
        assert_eq!(failure.code, code, "{case}");
        let text = failure.to_string();
        assert!(
            text.contains("The script ended the migration's transaction itself")
                && text.contains("COMMITTED without the ledger row")
                && text.contains("recorded as failed (partial)"),
            "{case}: {text}"
        );
        if after.is_empty() {
            assert!(
                text.contains(
                    "the script ended the migration's transaction itself (SQLSTATE WM002)"
                ),
                "{text}"
            );
        }
        assert!(exists(&db, "a"), "{case}: committed by the script");
        assert!(!exists(&db, "b"), "{case}: rolled back");
        assert_eq!(applied_versions(&db), [] as [&str; 0], "{case}");
        let failed = failed_rows(&db);
        assert_eq!(failed.len(), 1, "{case}");
        let (version, direction, state, error) = &failed[0];
        assert_eq!(
            (version.as_str(), direction.as_str(), state.as_str()),
            ("0001", "up", "partial")
        );
        assert!(
            error.contains("0001_ab/up.sql")
                && error.contains("ended the migration's transaction itself"),
            "{error}"
        );

        // The CLI, with the file repaired: status shows it, with the repair.
        let status = wdh(&["status"]).db(&db).migrations(dir.path()).run();
        status.expect(0, &[]);
        assert!(
            status.stdout.contains("failed")
                && status
                    .stdout
                    .contains("Part of it committed without its ledger row")
                && status
                    .stdout
                    .contains("`wdh-migrate upgrade --retry-failed`"),
            "{}",
            status.stdout
        );
        let before = (snapshot(&db), failed_rows(&db));
        let run = wdh(&["upgrade"]).db(&db).migrations(dir.path()).run();
        run.expect(4, &["0001_ab (up)", "--retry-failed"]);
        assert_eq!((snapshot(&db), failed_rows(&db)), before);
        // A retry that fails again (a is still there) keeps the record.
        let run = wdh(&["upgrade", "--retry-failed"])
            .db(&db)
            .migrations(dir.path())
            .run();
        run.expect(
            1,
            &["relation \"a\" already exists", "(the server confirms it)"],
        );
        assert_eq!((snapshot(&db), failed_rows(&db)), before);
        // Undone by hand, the retry applies it in one transaction.
        db.connect().unwrap().batch_execute("DROP TABLE a").unwrap();
        wdh(&["upgrade", "--retry-failed"])
            .db(&db)
            .migrations(dir.path())
            .run()
            .expect(0, &[]);
        assert_eq!(applied_versions(&db), ["0001"]);
        assert!(exists(&db, "a") && exists(&db, "b"));
        assert!(failed_rows(&db).is_empty());
    }
}

/// ROLLBACK (in every spelling) ends the transaction too, which would
/// otherwise "succeed" without its first table: the fence fails, and the
/// server says the whole of it rolled back.
#[test]
fn a_script_that_rolls_back_is_caught_by_the_fence_and_nothing_stays() {
    for (control, after) in [
        ("ROLLBACK", ""),
        ("ABORT", ""),
        ("ROLLBACK AND CHAIN", ""),
        ("ROLLBACK", "SELECT 1 / 0;"),
    ] {
        let case = format!("{control} then {after:?}");
        let db = db();
        let dir = two_tables();
        let sql =
            format!("CREATE TABLE a (id int);\n{control};\nCREATE TABLE b (id int);\n{after}\n");
        let set = with_script(dir.path(), Direction::Up, &sql);
        let failure = run_lib(&db, &set, Direction::Up);
        assert_eq!(failure.fate, Some(Fate::RolledBack), "{case}");
        let code = if after.is_empty() { "WM002" } else { "22012" };
        assert_eq!(failure.code, code, "{case}");
        let text = failure.to_string();
        assert!(
            text.contains("were rolled back (the server confirms it)"),
            "{case}: {text}"
        );
        if after.is_empty() {
            assert!(
                text.contains("the script ended the migration's transaction itself"),
                "{text}"
            );
        }
        assert!(!exists(&db, "a") && !exists(&db, "b"), "{case}");
        assert_eq!(applied_versions(&db), [] as [&str; 0]);
        assert!(failed_rows(&db).is_empty(), "{case}: nothing to repair");
        // Nothing to repair: the next run, with the file as it should be, applies it.
        wdh(&["upgrade"])
            .db(&db)
            .migrations(dir.path())
            .run()
            .expect(0, &[]);
        assert_eq!(applied_versions(&db), ["0001"]);
    }
}

/// Savepoints do not end the transaction: the fence passes, and the
/// ledger row commits with what the script kept.
#[test]
fn savepoints_keep_the_transaction_and_the_ledger_agrees() {
    let db = db();
    let dir = two_tables();
    let set = with_script(
        dir.path(),
        Direction::Up,
        "CREATE TABLE a (id int);\nSAVEPOINT s;\nCREATE TABLE b (id int);\nROLLBACK TO SAVEPOINT s;\n\
         RELEASE SAVEPOINT s;\nBEGIN;\n",
    );
    let t = target(&db);
    Runner::new(&t, RunOptions::default())
        .upgrade(&set, &"head".parse::<UpgradeTo>().unwrap(), &mut |_| {})
        .unwrap();
    assert_eq!(applied_versions(&db), ["0001"]);
    assert!(exists(&db, "a") && !exists(&db, "b"));
}

/// The down direction: the script's COMMIT dropped one table for good; the
/// ledger still says applied, the failure is recorded as a partial down,
/// and only a down retry goes on.
#[test]
fn a_down_script_that_commits_is_recorded_as_a_partial_down() {
    let db = db();
    let dir = two_tables();
    wdh(&["upgrade"])
        .db(&db)
        .migrations(dir.path())
        .run()
        .expect(0, &[]);
    let set = with_script(
        dir.path(),
        Direction::Down,
        "DROP TABLE b;\nCOMMIT;\nDROP TABLE a;\nSELECT 1 / 0;\n",
    );
    let failure = run_lib(&db, &set, Direction::Down);
    assert_eq!(failure.fate, Some(Fate::ScriptCommitted));
    assert_eq!(failure.direction, Direction::Down);
    assert_eq!(failure.file, "0001_ab/down.sql");
    let text = failure.to_string();
    assert!(
        text.starts_with("reverting migration 0001_ab failed in 0001_ab/down.sql")
            && text.contains("The script ended the migration's transaction itself"),
        "{text}"
    );
    assert!(!exists(&db, "b"), "committed by the script");
    assert!(exists(&db, "a"), "rolled back");
    assert_eq!(
        applied_versions(&db),
        ["0001"],
        "the ledger still says applied"
    );
    let failed = failed_rows(&db);
    assert_eq!(failed.len(), 1);
    assert_eq!(
        (
            failed[0].0.as_str(),
            failed[0].1.as_str(),
            failed[0].2.as_str()
        ),
        ("0001", "down", "partial")
    );

    let status = wdh(&["status"]).db(&db).migrations(dir.path()).run();
    assert!(
        status.stdout.contains("failed")
            && status
                .stdout
                .contains("Part of it committed without its ledger row")
            && status
                .stdout
                .contains("`wdh-migrate downgrade -1 --retry-failed`"),
        "{}",
        status.stdout
    );
    let before = (snapshot(&db), failed_rows(&db));
    for args in [
        &["upgrade"][..],
        &["upgrade", "--retry-failed"],
        &["downgrade", "-1"],
    ] {
        let run = wdh(args).db(&db).migrations(dir.path()).run();
        run.expect(4, &["0001_ab (down)", "downgrade -1 --retry-failed"]);
        assert_eq!((snapshot(&db), failed_rows(&db)), before, "{args:?}");
    }
    write(
        dir.path(),
        "0001_ab/down.sql",
        "DROP TABLE IF EXISTS b;\nDROP TABLE a;\n",
    );
    wdh(&["downgrade", "-1", "--retry-failed"])
        .db(&db)
        .migrations(dir.path())
        .run()
        .expect(0, &[]);
    assert_eq!(applied_versions(&db), [] as [&str; 0]);
    assert!(!exists(&db, "a"));
    assert!(failed_rows(&db).is_empty());
}

/// A down script that rolls back: nothing of it stays, the ledger still
/// says applied, nothing is recorded as failed.
#[test]
fn a_down_script_that_rolls_back_leaves_everything_applied() {
    let db = db();
    let dir = two_tables();
    wdh(&["upgrade"])
        .db(&db)
        .migrations(dir.path())
        .run()
        .expect(0, &[]);
    let before = snapshot(&db);
    let set = with_script(
        dir.path(),
        Direction::Down,
        "DROP TABLE b;\nROLLBACK;\nDROP TABLE a;\n",
    );
    let failure = run_lib(&db, &set, Direction::Down);
    assert_eq!(failure.fate, Some(Fate::RolledBack));
    assert_eq!(failure.code, "WM002");
    assert_eq!(snapshot(&db), before);
    assert!(exists(&db, "a") && exists(&db, "b"));
    assert_eq!(applied_versions(&db), ["0001"]);
    assert!(failed_rows(&db).is_empty());
}

/// PREPARE TRANSACTION ends the session's transaction without committing
/// it (where the server allows prepared transactions): the migration's
/// changes would linger, holding their locks, neither committed nor rolled
/// back, and a next run would wait on them. The runner rolls the prepared
/// transaction back, says so, and nothing of it stays.
#[test]
fn a_script_that_prepares_its_transaction_is_rolled_back() {
    let cluster = TestCluster::start_with(ClusterOptions {
        settings: vec![("max_prepared_transactions".into(), "2".into())],
        ..Default::default()
    })
    .unwrap();
    let db = cluster.server().create_database().unwrap();
    let dir = two_tables();
    for (direction, sql) in [
        (
            Direction::Up,
            "CREATE TABLE a (id int);\nPREPARE TRANSACTION 'wdh_scanner_up';\nCREATE TABLE b (id int);\n",
        ),
        (
            Direction::Down,
            "DROP TABLE b;\nPREPARE TRANSACTION 'it''s down';\nDROP TABLE a;\n",
        ),
    ] {
        let before = snapshot(&db);
        let set = with_script(dir.path(), direction, sql);
        let t = target(&db);
        let mut warnings = Vec::new();
        let runner = Runner::new(&t, RunOptions::default());
        let mut on = |e: wdh_migrate_core::runner::Event<'_>| {
            if let wdh_migrate_core::runner::Event::Warning(w) = e {
                warnings.push(w.to_string());
            }
        };
        let result = match direction {
            Direction::Up => runner.upgrade(&set, &"head".parse::<UpgradeTo>().unwrap(), &mut on),
            Direction::Down => runner.downgrade(&set, &"base".parse::<DowngradeTo>().unwrap(), &mut on),
        };
        let Err(RunError::Migration { failure, .. }) = result else {
            panic!("{direction}: a migration failure, not {result:?}")
        };
        assert_eq!(failure.fate, Some(Fate::RolledBack), "{direction}: {failure}");
        assert_eq!(failure.code, "WM002");
        assert!(
            failure.to_string().contains("were rolled back (the server confirms it)"),
            "{failure}"
        );
        let gid = if direction == Direction::Up { "'wdh_scanner_up'" } else { "'it''s down'" };
        assert!(
            warnings.iter().any(|w| w.contains(&format!("PREPARE TRANSACTION {gid}"))
                && w.contains(&format!("ROLLBACK PREPARED {gid}"))),
            "{warnings:?}"
        );
        let prepared: i64 = query_one(&db, "SELECT count(*) FROM pg_prepared_xacts");
        assert_eq!(prepared, 0, "{direction}");
        assert_eq!(snapshot(&db), before, "{direction}");
        assert!(failed_rows(&db).is_empty());
        // Nothing waits on it: the set as written runs.
        let (args, versions): (&[&str], &[&str]) = match direction {
            Direction::Up => (&["upgrade"], &["0001"]),
            Direction::Down => (&["downgrade", "base"], &[]),
        };
        wdh(args).db(&db).migrations(dir.path()).run().expect(0, &[]);
        assert_eq!(applied_versions(&db), versions);
    }
}

// ---------------------------------------------------------------------
// 4. The next migration's prologue at the end of a migration's message.
// ---------------------------------------------------------------------

/// [`two_tables`] and a second migration, whose transaction the first
/// one's message opens after its `COMMIT`.
fn two_tables_then_c() -> tempfile::TempDir {
    folder(&[
        (
            "0001_ab/up.sql",
            "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n",
        ),
        ("0001_ab/down.sql", "DROP TABLE b;\nDROP TABLE a;\n"),
        ("0002_c/up.sql", "CREATE TABLE c (id int);\n"),
        ("0002_c/down.sql", "DROP TABLE c;\n"),
    ])
}

/// A script that commits is caught as before when another migration
/// follows it, the ending of its message included: the error after the
/// script's own `COMMIT` is not taken for the next migration's.
#[test]
fn a_script_that_commits_before_another_migration_is_still_recorded_as_partial() {
    for (control, after) in [
        ("COMMIT", "SELECT 1 / 0;"),
        ("COMMIT", ""),
        ("COMMIT AND CHAIN", "SELECT 1 / 0;"),
    ] {
        let case = format!("{control} then {after:?}");
        let db = db();
        let dir = two_tables_then_c();
        let sql =
            format!("CREATE TABLE a (id int);\n{control};\nCREATE TABLE b (id int);\n{after}\n");
        let set = with_script(dir.path(), Direction::Up, &sql);
        let failure = run_lib(&db, &set, Direction::Up);
        assert_eq!(failure.version, "0001", "{case}");
        assert_eq!(failure.fate, Some(Fate::ScriptCommitted), "{case}");
        let code = if after.is_empty() { "WM002" } else { "22012" };
        assert_eq!(failure.code, code, "{case}");
        assert!(exists(&db, "a"), "{case}: committed by the script");
        assert!(!exists(&db, "b") && !exists(&db, "c"), "{case}");
        assert_eq!(applied_versions(&db), [] as [&str; 0], "{case}");
        let failed = failed_rows(&db);
        assert_eq!(failed.len(), 1, "{case}");
        assert_eq!(
            (
                failed[0].0.as_str(),
                failed[0].1.as_str(),
                failed[0].2.as_str()
            ),
            ("0001", "up", "partial"),
            "{case}"
        );
    }
}

/// What a script leaves on its session makes the next migration's prologue
/// fail after the script's migration committed (here: `pg_backend_pid()`
/// revoked from PUBLIC, and a role without the right to it set): that
/// migration is applied, or reverted, and the next one fails with what the
/// server said, nothing of it sent, as when its prologue is a message of
/// its own.
#[test]
fn a_prologue_failing_after_the_migration_before_committed_fails_the_next_migration() {
    const LEAVE_THE_SESSION_UNABLE: &str = "GRANT USAGE ON SCHEMA wdh_migrate TO pg_monitor;\n\
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA wdh_migrate TO pg_monitor;\n\
        GRANT USAGE ON ALL SEQUENCES IN SCHEMA wdh_migrate TO pg_monitor;\n\
        REVOKE EXECUTE ON FUNCTION pg_catalog.pg_backend_pid() FROM PUBLIC;\n\
        SET ROLE pg_monitor;\n";
    for direction in [Direction::Up, Direction::Down] {
        let db = db();
        let (up_a, down_c) = match direction {
            Direction::Up => (
                format!("CREATE TABLE a (id int);\n{LEAVE_THE_SESSION_UNABLE}"),
                "DROP TABLE c;\n".to_string(),
            ),
            Direction::Down => (
                "CREATE TABLE a (id int);\n".to_string(),
                format!("DROP TABLE c;\n{LEAVE_THE_SESSION_UNABLE}"),
            ),
        };
        let dir = folder(&[
            ("0001_a/up.sql", &up_a),
            ("0001_a/down.sql", "DROP TABLE a;\n"),
            ("0002_c/up.sql", "CREATE TABLE c (id int);\n"),
            ("0002_c/down.sql", &down_c),
        ]);
        let set = MigrationSet::load(dir.path()).unwrap();
        if direction == Direction::Down {
            let t = target(&db);
            Runner::new(&t, RunOptions::default())
                .upgrade(&set, &"head".parse::<UpgradeTo>().unwrap(), &mut |_| {})
                .unwrap();
        }
        let failure = run_lib(&db, &set, direction);
        let (failed_version, applied): (&str, &[&str]) = match direction {
            Direction::Up => ("0002", &["0001"]),
            Direction::Down => ("0001", &["0001"]),
        };
        assert_eq!(failure.version, failed_version, "{direction}: {failure}");
        assert_eq!(failure.direction, direction);
        assert_eq!(failure.code, "42501", "{direction}: {failure}");
        assert!(
            failure.message.contains("pg_backend_pid"),
            "{direction}: {failure}"
        );
        assert_eq!(failure.fate, None, "{direction}: nothing of it was sent");
        assert_eq!(applied_versions(&db), applied, "{direction}");
        assert!(exists(&db, "a"), "{direction}");
        assert!(!exists(&db, "c"), "{direction}");
        assert!(failed_rows(&db).is_empty(), "{direction}");
    }
}
