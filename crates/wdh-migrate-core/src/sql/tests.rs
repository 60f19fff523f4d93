//! Tests of statement splitting and transaction-control detection with
//! PostgreSQL's scanner and parser, positions and quoting.

use super::*;

fn texts(src: &str) -> Vec<String> {
    split_statements(src).into_iter().map(|s| s.sql).collect()
}

#[test]
fn splits_simple_statements() {
    assert_eq!(
        texts("SELECT 1; SELECT 2;\nSELECT 3"),
        vec!["SELECT 1;", "SELECT 2;", "SELECT 3"]
    );
}

#[test]
fn statement_offsets_match_source() {
    let src = "  -- lead\n  CREATE TABLE t (a int);  /* x */ SELECT 2 -- tail\n";
    let stmts = split_statements(src);
    assert_eq!(stmts.len(), 2);
    for s in &stmts {
        assert_eq!(&src[s.start..s.end], s.sql);
    }
    assert_eq!(stmts[0].sql, "CREATE TABLE t (a int);");
    assert_eq!(stmts[1].sql, "SELECT 2");
}

#[test]
fn drops_blank_statements() {
    assert!(texts("").is_empty());
    assert!(texts("  ;; -- c\n /* only */ ;").is_empty());
    assert_eq!(texts(";;SELECT 1;;"), vec!["SELECT 1;"]);
    assert!(is_blank("-- nothing\n\n/* here */ ;"));
    assert!(!is_blank("-- x\nSELECT 1"));
}

#[test]
fn comments_hide_semicolons() {
    assert_eq!(
        texts("SELECT 1 -- a; b\n; SELECT /* ; /* nested ; */ still; */ 2;"),
        vec![
            "SELECT 1 -- a; b\n;",
            "SELECT /* ; /* nested ; */ still; */ 2;"
        ]
    );
}

#[test]
fn strings_hide_semicolons() {
    assert_eq!(
        texts("SELECT 'a;''b;'; SELECT 2"),
        vec!["SELECT 'a;''b;';", "SELECT 2"]
    );
    // Without the E prefix a backslash is an ordinary character.
    assert_eq!(
        texts(r"SELECT 'a\'; SELECT 2"),
        vec![r"SELECT 'a\';", "SELECT 2"]
    );
    // With it, it escapes the quote.
    assert_eq!(
        texts(r"SELECT E'a\';b'; SELECT 2"),
        vec![r"SELECT E'a\';b';", "SELECT 2"]
    );
    assert_eq!(
        texts(r"SELECT e'\\'; SELECT 2"),
        vec![r"SELECT e'\\';", "SELECT 2"]
    );
    // An identifier ending in e is not an E prefix.
    assert_eq!(
        texts(r"SELECT some'\'; SELECT 2"),
        vec![r"SELECT some'\';", "SELECT 2"]
    );
    assert_eq!(
        texts("SELECT U&'d;\\0061', X'0;', N'x;'; SELECT 2"),
        vec!["SELECT U&'d;\\0061', X'0;', N'x;';", "SELECT 2"]
    );
}

#[test]
fn quoted_identifiers_hide_semicolons() {
    assert_eq!(
        texts(r#"CREATE TABLE "a;""b" (x int); SELECT U&"c;" FROM t"#),
        vec![
            r#"CREATE TABLE "a;""b" (x int);"#,
            r#"SELECT U&"c;" FROM t"#
        ]
    );
}

#[test]
fn dollar_quotes_hide_semicolons() {
    let src = "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n\
               DO $body$ BEGIN PERFORM 1; RAISE NOTICE '$$'; END $body$;\n\
               SELECT $a$ $b$ ; $a$;";
    let t = texts(src);
    assert_eq!(t.len(), 3, "{t:?}");
    assert!(t[1].starts_with("DO $body$") && t[1].ends_with("$body$;"));
    assert_eq!(t[2], "SELECT $a$ $b$ ; $a$;");
}

#[test]
fn parameters_and_identifier_dollars_are_not_dollar_quotes() {
    assert_eq!(
        texts("PREPARE p AS SELECT $1, $2; SELECT a$b$c FROM t; SELECT 1"),
        vec![
            "PREPARE p AS SELECT $1, $2;",
            "SELECT a$b$c FROM t;",
            "SELECT 1"
        ]
    );
}

#[test]
fn unterminated_constructs_are_one_statement() {
    // The scanner rejects the text; the server rejects the whole message.
    assert_eq!(
        texts("SELECT 'abc; SELECT 2"),
        vec!["SELECT 'abc; SELECT 2"]
    );
    assert_eq!(
        texts("SELECT $x$ abc; SELECT 2"),
        vec!["SELECT $x$ abc; SELECT 2"]
    );
    assert_eq!(
        texts("SELECT 1 /* abc; SELECT 2"),
        vec!["SELECT 1 /* abc; SELECT 2"]
    );
}

#[test]
fn a_script_the_parser_rejects_splits_at_the_scanners_semicolons() {
    let stmts = split_statements("SELECT 1; COMMIT; SELEC nope; (SELECT 2; SELECT 3)");
    let t: Vec<&str> = stmts.iter().map(|s| s.sql.as_str()).collect();
    assert_eq!(
        t,
        [
            "SELECT 1;",
            "COMMIT;",
            "SELEC nope;",
            "(SELECT 2; SELECT 3)"
        ]
    );
    let controls: Vec<_> = stmts.iter().map(|s| s.control).collect();
    assert_eq!(
        controls,
        [None, Some(TransactionControl::Commit), None, None]
    );
    assert!(syntax_error("SELEC nope").is_some());
    assert!(syntax_error("SELECT 1; COMMIT").is_none());
}

/// A server of another version may run what this parser rejects (here a
/// word PostgreSQL 16 reserved, which PostgreSQL 15 takes as a name): each
/// piece that starts like transaction control is classified as it.
#[test]
fn a_script_the_parser_rejects_is_classified_by_its_statements_first_words() {
    use TransactionControl::*;
    let cases: &[(&str, Option<TransactionControl>, bool)] = &[
        ("COMMIT;", Some(Commit), true),
        ("commit work;", Some(Commit), true),
        ("End /* c */ -- d\r transaction;", Some(Commit), true),
        ("COMMIT AND CHAIN;", Some(Commit), false),
        ("COMMIT PREPARED 'x';", Some(CommitPrepared), false),
        ("BEGIN;", Some(Begin), true),
        ("START TRANSACTION;", Some(Begin), true),
        ("BEGIN ISOLATION LEVEL SERIALIZABLE;", Some(Begin), false),
        ("ROLLBACK;", Some(Rollback), false),
        ("ABORT;", Some(Rollback), false),
        ("ROLLBACK TO SAVEPOINT s;", Some(RollbackToSavepoint), false),
        ("ROLLBACK PREPARED 'x';", Some(RollbackPrepared), false),
        ("SAVEPOINT s;", Some(Savepoint), false),
        ("RELEASE s;", Some(Release), false),
        ("PREPARE TRANSACTION 'x';", Some(PrepareTransaction), false),
        ("PREPARE q AS SELECT 1;", None, false),
        ("SELECT 'COMMIT';", None, false),
        ("CREATE TABLE commit (begin int);", None, false),
    ];
    for (stmt, control, bare) in cases {
        let src = format!("CREATE TABLE system_user (id int);\n{stmt}\nSELECT 1");
        assert!(syntax_error(&src).is_some(), "{src}");
        let stmts = split_statements(&src);
        assert_eq!(stmts.len(), 3, "{src}: {stmts:?}");
        assert_eq!(stmts[1].sql, *stmt);
        assert_eq!(stmts[1].control, *control, "{stmt}");
        assert_eq!(stmts[1].bare, *bare, "{stmt}");
        assert_eq!(stmts[0].control, None);
        assert_eq!(stmts[2].control, None);
    }
    // Wide on purpose: the END of a BEGIN ATOMIC body counts too.
    let stmts = split_statements(
        "CREATE FUNCTION system_user() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;",
    );
    assert_eq!(stmts.len(), 2, "{stmts:?}");
    assert_eq!(stmts[1].control, Some(Commit));
    // Where this parser accepts the script, it alone classifies it.
    assert!(split_statements(
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;"
    )
    .iter()
    .all(|s| s.control.is_none()));
}

#[test]
fn parentheses_hide_semicolons() {
    assert_eq!(
        texts("CREATE RULE r AS ON INSERT TO t DO ALSO (SELECT 1; SELECT 2); SELECT 3;"),
        vec![
            "CREATE RULE r AS ON INSERT TO t DO ALSO (SELECT 1; SELECT 2);",
            "SELECT 3;"
        ]
    );
}

#[test]
fn begin_atomic_bodies_are_one_statement() {
    let src = "CREATE OR REPLACE FUNCTION f(x int) RETURNS int LANGUAGE sql\n\
               BEGIN ATOMIC\n\
                 SELECT CASE WHEN x > 0 THEN 1 ELSE 2 END;\n\
                 SELECT x;\n\
               END;\n\
               CREATE PROCEDURE p() BEGIN ATOMIC INSERT INTO t VALUES (1); END;\n\
               BEGIN;\nSELECT 1;\nEND;";
    let t = texts(src);
    assert_eq!(t.len(), 5, "{t:?}");
    assert!(t[0].starts_with("CREATE OR REPLACE FUNCTION") && t[0].ends_with("END;"));
    assert_eq!(
        t[1],
        "CREATE PROCEDURE p() BEGIN ATOMIC INSERT INTO t VALUES (1); END;"
    );
    assert_eq!(t[2..], ["BEGIN;", "SELECT 1;", "END;"]);
}

#[test]
fn case_outside_routine_bodies_does_not_nest() {
    assert_eq!(
        texts("SELECT CASE WHEN true THEN 1 END; SELECT 2;"),
        vec!["SELECT CASE WHEN true THEN 1 END;", "SELECT 2;"]
    );
}

#[test]
fn non_ascii_text_is_kept_intact() {
    let src = "INSERT INTO t VALUES ('é;ü'); -- ünïcode ;\nSELECT 'ß'";
    let stmts = split_statements(src);
    assert_eq!(stmts.len(), 2);
    assert_eq!(stmts[0].sql, "INSERT INTO t VALUES ('é;ü');");
    assert_eq!(stmts[1].sql, "SELECT 'ß'");
}

fn control(sql: &str) -> Option<TransactionControl> {
    let stmts = split_statements(sql);
    assert!(stmts.len() <= 1, "{sql}: {stmts:?}");
    stmts.first().and_then(Statement::transaction_control)
}

#[test]
fn classifies_transaction_control() {
    use TransactionControl::*;
    let cases: &[(&str, Option<TransactionControl>)] = &[
        ("BEGIN;", Some(Begin)),
        ("begin work", Some(Begin)),
        ("BEGIN ISOLATION LEVEL SERIALIZABLE;", Some(Begin)),
        ("START TRANSACTION READ ONLY", Some(Begin)),
        ("COMMIT;", Some(Commit)),
        ("COMMIT AND CHAIN", Some(Commit)),
        ("END;", Some(Commit)),
        ("end transaction", Some(Commit)),
        ("ROLLBACK", Some(Rollback)),
        ("ABORT;", Some(Rollback)),
        ("ROLLBACK TO SAVEPOINT s", Some(RollbackToSavepoint)),
        ("ROLLBACK WORK TO s", Some(RollbackToSavepoint)),
        ("SAVEPOINT s;", Some(Savepoint)),
        ("RELEASE SAVEPOINT s", Some(Release)),
        ("RELEASE s", Some(Release)),
        ("PREPARE TRANSACTION 'x'", Some(PrepareTransaction)),
        ("PREPARE q AS SELECT 1", None),
        ("COMMIT PREPARED 'x'", Some(CommitPrepared)),
        ("ROLLBACK PREPARED 'x'", Some(RollbackPrepared)),
        ("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", None),
        ("/* c */ -- d\n Begin ;", Some(Begin)),
        ("SELECT 1", None),
        ("", None),
    ];
    for (sql, want) in cases {
        assert_eq!(control(sql), *want, "{sql}");
    }
}

#[test]
fn bare_begin_and_commit() {
    use TransactionControl::*;
    let bare = |sql: &str, want| split_statements(sql)[0].is_bare(want);
    assert!(bare("BEGIN;", Begin));
    assert!(bare("begin transaction -- c\n;", Begin));
    assert!(bare("START TRANSACTION", Begin));
    assert!(bare("COMMIT WORK;", Commit));
    assert!(bare("END", Commit));
    assert!(!bare("BEGIN ISOLATION LEVEL SERIALIZABLE", Begin));
    assert!(!bare("COMMIT AND CHAIN", Commit));
    assert!(!bare("ROLLBACK", Commit));
    assert!(!bare("COMMIT", Begin));
}

/// Every way found for a `COMMIT` to hide from a scanner that is not the
/// server's: each script holds exactly one `COMMIT` statement, and the
/// split finds it where the server does.
#[test]
fn a_commit_cannot_hide() {
    let cases: &[(&str, usize)] = &[
        // A `--` comment ends at a bare carriage return, as in the server.
        ("SELECT 1; -- note\rCOMMIT;\rSELECT 2;", 3),
        // A file with carriage-return line ends only.
        ("CREATE TABLE t (a int);\r-- c\rCOMMIT;\rDROP TABLE t;\r", 3),
        // Keywords used as names.
        ("CREATE FUNCTION begin() RETURNS int LANGUAGE sql AS 'SELECT 1'; SELECT begin(); COMMIT; SELECT 1", 4),
        ("CREATE TABLE \"commit\" (\"end\" int); SELECT \"end\" FROM \"commit\"; COMMIT;", 3),
        ("SELECT 1 AS commit; COMMIT; SELECT 1 AS begin;", 3),
        // Nested block comments.
        ("SELECT /* a /* b */ ; */ 1; COMMIT;", 2),
        // Tagged dollar quotes, another tag inside.
        ("DO $a$ BEGIN PERFORM $b$ ; COMMIT $b$; END $a$; COMMIT;", 2),
        ("SELECT $x$ $y$ ; COMMIT $y$ $x$; COMMIT;", 2),
        // E'' strings: a backslash escapes the quote.
        ("SELECT E'it\\'s; COMMIT; --'; COMMIT;", 2),
        // A standard string: the backslash is an ordinary character.
        ("SELECT 'a\\'; COMMIT; --'", 2),
        // U&'' strings and identifiers.
        ("SELECT U&'d\\0061t;' UESCAPE '!'; SELECT U&\"a;\"; COMMIT;", 3),
        // SQL-standard routine bodies.
        ("CREATE PROCEDURE p() BEGIN ATOMIC INSERT INTO t VALUES (1); END; COMMIT;", 2),
    ];
    for (sql, n) in cases {
        let stmts = split_statements(sql);
        assert_eq!(stmts.len(), *n, "{sql:?}: {stmts:?}");
        let commits: Vec<&Statement> = stmts
            .iter()
            .filter(|s| s.control == Some(TransactionControl::Commit))
            .collect();
        assert_eq!(commits.len(), 1, "{sql:?}: {stmts:?}");
        assert_eq!(commits[0].sql, "COMMIT;", "{sql:?}");
        for s in &stmts {
            assert_eq!(&sql[s.start..s.end], s.sql);
        }
        assert!(may_control_transactions(sql), "{sql:?}");
    }
}

#[test]
fn the_cheap_test_finds_no_transaction_keyword_in_strings_or_comments() {
    assert!(!may_control_transactions(
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$; -- COMMIT\n/* ROLLBACK */ SELECT 'commit'"
    ));
    assert!(may_control_transactions("SELECT CASE WHEN true THEN 1 END"));
    assert!(may_control_transactions("SELECT 'unterminated"));
}

#[test]
fn blank_scripts_and_nul_bytes() {
    assert!(is_blank("-- nothing\r/* here */ ;\n"));
    assert!(!is_blank("-- x\rSELECT 1"));
    assert!(!is_blank("SELECT 'open"));
    assert_eq!(nul_byte("SELECT 1;\0"), Some(9));
    assert_eq!(nul_byte("SELECT 1;"), None);
    assert_eq!(line_comments("SELECT 1 -- a\r-- b\n'-- c'").len(), 2);
}

#[test]
fn line_col_counts_characters() {
    let src = "SELECT 1;\nSELECT 'é' + x;";
    assert_eq!(line_col(src, 1), (1, 1));
    assert_eq!(line_col(src, 9), (1, 9));
    assert_eq!(line_col(src, 10), (1, 10)); // the newline itself
    assert_eq!(line_col(src, 11), (2, 1));
    // 'x' is character 24 (é is one character, two bytes).
    assert_eq!(src.chars().nth(23), Some('x'));
    assert_eq!(line_col(src, 24), (2, 14));
    assert_eq!(line_col(src, 0), (1, 1));
    assert_eq!(line_col(src, 1000), (2, 16));
    assert_eq!(line_col("", 5), (1, 1));
}

/// Lines end as libpq counts them for `LINE n:`: at `\n`, at `\r`, and
/// once at `\r\n`.
#[test]
fn line_col_ends_lines_at_carriage_returns_too() {
    let cr = "SELECT 1;\rSELECT 2;\rnope;";
    assert_eq!(line_col(cr, 21), (3, 1));
    assert_eq!(line_col(cr, 22), (3, 2));
    let crlf = "SELECT 1;\r\nSELECT 2;\r\nnope;";
    assert_eq!(line_col(crlf, 23), (3, 1));
    assert_eq!(line_col(crlf, 10), (1, 10), "the \\r of a \\r\\n");
    assert_eq!(line_col(crlf, 11), (2, 1), "its \\n, as libpq counts it");
    let mixed = "a\rb\nc\r\nd\n\re";
    assert_eq!(line_col(mixed, 3), (2, 1));
    assert_eq!(line_col(mixed, 5), (3, 1));
    assert_eq!(line_col(mixed, 8), (4, 1));
    assert_eq!(line_col(mixed, 11), (6, 1));
    assert_eq!(line_of_byte(cr, 20), 3);
    assert_eq!(line_of_byte(crlf, 22), 3);
    assert_eq!(line_of_byte(mixed, 10), 6);
    assert_eq!(line_of_byte("\n\n", 2), 3);
    assert_eq!(line_of_byte("\r\n", 2), 2);
    // A `--` comment ends at a bare carriage return: the COMMIT after it
    // is on the second line.
    let src = "SELECT 1; -- note\rCOMMIT;\nSELECT 2;";
    let stmts = split_statements(src);
    assert_eq!(stmts[1].sql, "COMMIT;");
    assert_eq!(line_of_byte(src, stmts[1].start), 2);
    assert_eq!(stmts[2].line_col(src, 1), (3, 1));
}

#[test]
fn statement_line_col_maps_to_source() {
    let src = "-- é header\nSELECT 1;\nSELECT\n  nope;";
    let stmts = split_statements(src);
    // "nope" is character 10 of the second statement.
    assert_eq!(stmts[1].line_col(src, 10), (4, 3));
    assert_eq!(stmts[0].line_col(src, 1), (2, 1));
}

#[test]
fn line_of_byte_counts_newlines() {
    assert_eq!(line_of_byte("a\nb\nc", 0), 1);
    assert_eq!(line_of_byte("a\nb\nc", 2), 2);
    assert_eq!(line_of_byte("a\nb\nc", 100), 3);
}

#[test]
fn quoting() {
    assert_eq!(quote_ident("users"), "\"users\"");
    assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
    assert_eq!(quote_ident(""), "\"\"");
    assert_eq!(quote_literal("it's"), "'it''s'");
    assert_eq!(quote_literal(r"a\b'c"), r"E'a\\b''c'");
    assert_eq!(quote_literal(""), "''");
    assert_eq!(quote_literal("é"), "'é'");
}

#[test]
fn texts_that_differ_only_in_string_constants() {
    let v = |t: &str| {
        format!("view\n SELECT {t}::timestamp with time zone AS t\n  FROM public.x\n WHERE (x.a = 'it''s');")
    };
    assert_eq!(
        differing_string_constants(
            &v("'2026-12-01 10:00:00+00'"),
            &v("'2026-12-01 10:00:01.5+00'")
        ),
        Some(vec![(
            "2026-12-01 10:00:00+00".to_string(),
            "2026-12-01 10:00:01.5+00".to_string()
        )])
    );
    // White space only: no constant differs.
    assert_eq!(
        differing_string_constants("SELECT 'a'  FROM t", "SELECT 'a'\nFROM t"),
        Some(vec![])
    );
    // A number, a name, a cast, an extra token: not constants only.
    for (a, b) in [
        ("SELECT 1", "SELECT 2"),
        ("SELECT 'a' FROM t", "SELECT 'a' FROM u"),
        ("SELECT 'a'::date", "SELECT 'a'::timestamp"),
        ("SELECT 'a'", "SELECT 'a', 'b'"),
        ("SELECT 'a'", "SELECT E'a'"),
        ("SELECT 'a", "SELECT 'b"),
    ] {
        assert_eq!(differing_string_constants(a, b), None, "{a} / {b}");
    }
}
