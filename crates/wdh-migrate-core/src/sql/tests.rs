//! Tests of the lexer, statement splitting, transaction-control detection,
//! positions and quoting.

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
fn unterminated_constructs_run_to_end() {
    assert_eq!(
        texts("SELECT 'abc; SELECT 2"),
        vec!["SELECT 'abc; SELECT 2"]
    );
    assert_eq!(
        texts("SELECT $x$ abc; SELECT 2"),
        vec!["SELECT $x$ abc; SELECT 2"]
    );
    // A trailing comment is not part of the last statement.
    assert_eq!(texts("SELECT 1 /* abc; SELECT 2"), vec!["SELECT 1"]);
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

#[test]
fn first_keyword_skips_comments() {
    assert_eq!(
        first_keyword("  -- x\n/* y */ select 1").as_deref(),
        Some("SELECT")
    );
    assert_eq!(first_keyword("(SELECT 1)"), None);
    assert_eq!(first_keyword("-- only"), None);
    let s = &split_statements("begin;")[0];
    assert_eq!(s.first_keyword().as_deref(), Some("BEGIN"));
}

#[test]
fn classifies_transaction_control() {
    use TransactionControl::*;
    let cases: &[(&str, Option<TransactionControl>)] = &[
        ("BEGIN;", Some(Begin)),
        ("begin work", Some(Begin)),
        ("BEGIN ISOLATION LEVEL SERIALIZABLE;", Some(Begin)),
        ("START TRANSACTION READ ONLY", Some(Begin)),
        ("START something", None),
        ("BEGIN ATOMIC SELECT 1; END", None),
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
        assert_eq!(transaction_control(sql), *want, "{sql}");
    }
}

#[test]
fn bare_begin_and_commit() {
    use TransactionControl::*;
    assert_eq!(bare_begin_or_commit("BEGIN;"), Some(Begin));
    assert_eq!(
        bare_begin_or_commit("begin transaction -- c\n;"),
        Some(Begin)
    );
    assert_eq!(bare_begin_or_commit("START TRANSACTION"), Some(Begin));
    assert_eq!(bare_begin_or_commit("COMMIT WORK;"), Some(Commit));
    assert_eq!(bare_begin_or_commit("END"), Some(Commit));
    assert_eq!(
        bare_begin_or_commit("BEGIN ISOLATION LEVEL SERIALIZABLE"),
        None
    );
    assert_eq!(bare_begin_or_commit("COMMIT AND CHAIN"), None);
    assert_eq!(bare_begin_or_commit("ROLLBACK"), None);
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
