//! A small PostgreSQL lexer: statement splitting, statement classification,
//! error-position mapping and quoting.
//!
//! Everything here is pure string processing; nothing talks to a server.
//!
//! # What the lexer understands
//!
//! * `--` line comments and nested `/* ... */` block comments;
//! * single-quoted strings with `''` escapes, including the `B''`, `X''`,
//!   `N''` and `U&''` prefixed forms;
//! * `E''` strings, in which a backslash escapes the next character;
//! * double-quoted identifiers with `""` escapes (and `U&""`);
//! * dollar-quoted strings `$$ ... $$` and `$tag$ ... $tag$` (a `$` followed
//!   by a digit is a parameter such as `$1`, not a dollar quote; a `$` inside an
//!   identifier such as `a$b` is part of the identifier);
//! * parentheses: like `psql`, a `;` inside parentheses does not end a
//!   statement;
//! * SQL-standard routine bodies: in a statement that starts with
//!   `CREATE [OR REPLACE] FUNCTION` or `CREATE [OR REPLACE] PROCEDURE`, the
//!   words `BEGIN`, `CASE` and `END` outside parentheses are counted the way
//!   `psql` counts them, so the semicolons of a `BEGIN ATOMIC ... END` body do
//!   not end the statement.
//!
//! # Limits
//!
//! * Strings are lexed as with `standard_conforming_strings = on` (the
//!   default since PostgreSQL 9.1): a backslash is only special in `E''`
//!   strings.
//! * The routine-body heuristic is the one `psql` uses: it is a word count,
//!   not a parser. An identifier spelled `begin`, `case` or `end` (unquoted)
//!   outside parentheses in such a statement would confuse it, exactly as it
//!   confuses `psql`.
//! * `psql` meta-commands (`\i`, `\set`, ...) and `COPY ... FROM stdin` data
//!   blocks are not SQL and are not understood.
//! * An unterminated string, quoted identifier, dollar quote or block comment
//!   extends to the end of the input; an unbalanced `(` keeps the rest of the
//!   input in one statement. The server reports the actual syntax error.

/// One top-level statement found by [`split_statements`].
///
/// `sql` is exactly `&src[start..end]`: it begins at the statement's first
/// token (comments and whitespace before it belong to no statement) and ends
/// just after its terminating `;`, which is included. A last statement
/// without a terminating `;` ends at its last token; trailing comments after
/// it are not included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The statement text, including the terminating `;` if there is one.
    pub sql: String,
    /// Byte offset of the statement's first byte in the source.
    pub start: usize,
    /// Byte offset just past the statement's last byte in the source.
    pub end: usize,
}

impl Statement {
    /// Maps a server error position inside this statement to a line and
    /// column of the whole source.
    ///
    /// `src` must be the text the statement was split from and
    /// `char_position` a 1-based character position into [`Statement::sql`],
    /// as PostgreSQL reports it. Returns 1-based `(line, column)` in `src`.
    pub fn line_col(&self, src: &str, char_position: usize) -> (usize, usize) {
        let before = src.get(..self.start).map_or(0, |s| s.chars().count());
        line_col(src, before + char_position.max(1))
    }

    /// The uppercased first word of the statement, see [`first_keyword`].
    pub fn first_keyword(&self) -> Option<String> {
        first_keyword(&self.sql)
    }

    /// The transaction-control kind of the statement, see
    /// [`transaction_control`].
    pub fn transaction_control(&self) -> Option<TransactionControl> {
        transaction_control(&self.sql)
    }
}

/// The kind of a token produced by the lexer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An unquoted identifier or keyword.
    Word,
    /// A double-quoted identifier.
    QuotedIdent,
    /// Any kind of string constant, dollar-quoted strings included.
    Str,
    /// A numeric constant.
    Number,
    /// A positional parameter such as `$1`.
    Param,
    /// `;`
    Semicolon,
    /// `(`
    OpenParen,
    /// `)`
    CloseParen,
    /// Any other character (operators, punctuation).
    Other,
    /// A `--` comment, up to but excluding the end of line.
    LineComment,
    /// A `/* */` comment, nested comments included.
    BlockComment,
}

/// A token: its kind and its byte range in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) kind: Kind,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl Token {
    fn is_comment(&self) -> bool {
        matches!(self.kind, Kind::LineComment | Kind::BlockComment)
    }
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident_cont(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit() || b == b'$'
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Scans a quoted run starting at `i` (which holds the opening `quote`),
/// honouring doubled quotes and, when `backslash` is set, backslash escapes.
/// Returns the index just past the closing quote, or the input length.
fn scan_quoted(b: &[u8], i: usize, quote: u8, backslash: bool) -> usize {
    let mut j = i + 1;
    while j < b.len() {
        let c = b[j];
        if backslash && c == b'\\' {
            j += 2;
        } else if c == quote {
            if b.get(j + 1) == Some(&quote) {
                j += 2;
            } else {
                return j + 1;
            }
        } else {
            j += 1;
        }
    }
    b.len()
}

/// If a dollar-quote delimiter (`$$` or `$tag$`) starts at `i`, returns the
/// index just past it.
fn dollar_delimiter(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    if j < b.len() && is_ident_start(b[j]) {
        j += 1;
        while j < b.len() && (is_ident_start(b[j]) || b[j].is_ascii_digit()) {
            j += 1;
        }
    }
    (b.get(j) == Some(&b'$')).then_some(j + 1)
}

fn find_subslice(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Splits `src` into tokens. Whitespace produces no token. Every token
/// boundary is a character boundary (tokens are only cut at ASCII bytes).
pub(crate) fn tokenize(src: &str) -> Vec<Token> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let kind;
        if is_space(c) {
            i += 1;
            continue;
        } else if c == b'-' && b.get(i + 1) == Some(&b'-') {
            i = b[i..]
                .iter()
                .position(|&x| x == b'\n')
                .map_or(b.len(), |p| i + p);
            kind = Kind::LineComment;
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 1usize;
            i += 2;
            while i < b.len() && depth > 0 {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    i += 2;
                } else {
                    i += 1;
                }
            }
            kind = Kind::BlockComment;
        } else if c == b'\'' {
            i = scan_quoted(b, i, b'\'', false);
            kind = Kind::Str;
        } else if c == b'"' {
            i = scan_quoted(b, i, b'"', false);
            kind = Kind::QuotedIdent;
        } else if is_ident_start(c) {
            let mut j = i + 1;
            while j < b.len() && is_ident_cont(b[j]) {
                j += 1;
            }
            let word = &b[i..j];
            let next = b.get(j).copied();
            if next == Some(b'\'') && matches!(word, b"e" | b"E") {
                i = scan_quoted(b, j, b'\'', true);
                kind = Kind::Str;
            } else if next == Some(b'\'') && matches!(word, b"b" | b"B" | b"x" | b"X" | b"n" | b"N")
            {
                i = scan_quoted(b, j, b'\'', false);
                kind = Kind::Str;
            } else if next == Some(b'&')
                && matches!(word, b"u" | b"U")
                && matches!(b.get(j + 1), Some(b'\'') | Some(b'"'))
            {
                let quote = b[j + 1];
                i = scan_quoted(b, j + 1, quote, false);
                kind = if quote == b'\'' {
                    Kind::Str
                } else {
                    Kind::QuotedIdent
                };
            } else {
                i = j;
                kind = Kind::Word;
            }
        } else if c.is_ascii_digit() {
            let mut j = i + 1;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b'.') {
                j += 1;
            }
            i = j;
            kind = Kind::Number;
        } else if c == b'$' {
            if b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                let mut j = i + 1;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                i = j;
                kind = Kind::Param;
            } else if let Some(body) = dollar_delimiter(b, i) {
                let delim = &b[i..body];
                i = find_subslice(&b[body..], delim).map_or(b.len(), |p| body + p + delim.len());
                kind = Kind::Str;
            } else {
                i += 1;
                kind = Kind::Other;
            }
        } else {
            i += 1;
            kind = match c {
                b';' => Kind::Semicolon,
                b'(' => Kind::OpenParen,
                b')' => Kind::CloseParen,
                _ => Kind::Other,
            };
        }
        out.push(Token {
            kind,
            start,
            end: i,
        });
    }
    out
}

/// Tracks whether a statement starts with `CREATE [OR REPLACE]
/// FUNCTION|PROCEDURE`, the way `psql` does.
#[derive(Default)]
struct RoutineHead {
    words: Vec<String>,
}

impl RoutineHead {
    fn push(&mut self, word: &str) {
        if self.words.len() < 4 {
            self.words.push(word.to_ascii_uppercase());
        }
    }

    fn is_routine(&self) -> bool {
        let w = |i: usize| self.words.get(i).map(String::as_str);
        let routine = |s: Option<&str>| matches!(s, Some("FUNCTION") | Some("PROCEDURE"));
        w(0) == Some("CREATE")
            && (routine(w(1)) || (w(1) == Some("OR") && w(2) == Some("REPLACE") && routine(w(3))))
    }
}

/// Splits `src` into its top-level statements.
///
/// A `;` ends a statement unless it is inside a comment, a string, a quoted
/// identifier, a dollar quote, parentheses, or a `BEGIN ... END` routine body
/// (see the module documentation for the exact rules and limits). Statements
/// made only of whitespace and comments (including a lone `;`) are dropped.
/// See [`Statement`] for the exact extent of each statement.
pub fn split_statements(src: &str) -> Vec<Statement> {
    split_with_tokens(src)
        .into_iter()
        .map(|(start, end, _)| Statement {
            sql: src[start..end].to_string(),
            start,
            end,
        })
        .collect()
}

/// Splits like [`split_statements`] and returns, for each statement, its byte
/// range and its non-comment tokens (the terminating `;` included).
pub(crate) fn split_with_tokens(src: &str) -> Vec<(usize, usize, Vec<Token>)> {
    let mut out = Vec::new();
    let mut toks: Vec<Token> = Vec::new();
    let mut paren = 0usize;
    let mut begin_depth = 0usize;
    let mut head = RoutineHead::default();
    for tok in tokenize(src) {
        if tok.is_comment() {
            continue;
        }
        match tok.kind {
            Kind::Semicolon if paren == 0 && begin_depth == 0 => {
                if let Some(first) = toks.first() {
                    let start = first.start;
                    toks.push(tok);
                    out.push((start, tok.end, std::mem::take(&mut toks)));
                }
                head = RoutineHead::default();
                continue;
            }
            Kind::OpenParen => paren += 1,
            Kind::CloseParen => paren = paren.saturating_sub(1),
            Kind::Word => {
                let word = &src[tok.start..tok.end];
                head.push(word);
                if paren == 0 && head.is_routine() {
                    if word.eq_ignore_ascii_case("begin") {
                        begin_depth += 1;
                    } else if word.eq_ignore_ascii_case("case") {
                        if begin_depth > 0 {
                            begin_depth += 1;
                        }
                    } else if word.eq_ignore_ascii_case("end") {
                        begin_depth = begin_depth.saturating_sub(1);
                    }
                }
            }
            _ => {}
        }
        toks.push(tok);
    }
    if let (Some(first), Some(last)) = (toks.first(), toks.last()) {
        let (start, end) = (first.start, last.end);
        out.push((start, end, toks));
    }
    out
}

/// True if `src` contains no statement: only whitespace, comments and
/// semicolons.
pub fn is_blank(src: &str) -> bool {
    tokenize(src)
        .iter()
        .all(|t| t.is_comment() || t.kind == Kind::Semicolon)
}

/// The uppercased first word of `stmt`, after leading whitespace and
/// comments.
///
/// Returns `None` if the statement is blank or does not start with an
/// unquoted word (for example `(SELECT 1)`).
pub fn first_keyword(stmt: &str) -> Option<String> {
    let tok = tokenize(stmt).into_iter().find(|t| !t.is_comment())?;
    (tok.kind == Kind::Word).then(|| stmt[tok.start..tok.end].to_ascii_uppercase())
}

/// A statement that controls the transaction, as classified by
/// [`transaction_control`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransactionControl {
    /// `BEGIN [WORK | TRANSACTION] [modes]` or `START TRANSACTION [modes]`.
    Begin,
    /// `COMMIT` or `END`, with or without `WORK`/`TRANSACTION`/`AND CHAIN`.
    Commit,
    /// `ROLLBACK` or `ABORT` (without `TO`).
    Rollback,
    /// `ROLLBACK [WORK | TRANSACTION] TO [SAVEPOINT] name`.
    RollbackToSavepoint,
    /// `SAVEPOINT name`.
    Savepoint,
    /// `RELEASE [SAVEPOINT] name`.
    Release,
    /// `PREPARE TRANSACTION 'id'`.
    PrepareTransaction,
    /// `COMMIT PREPARED 'id'`.
    CommitPrepared,
    /// `ROLLBACK PREPARED 'id'`.
    RollbackPrepared,
}

/// The non-comment tokens of `stmt` with a terminating `;` removed.
fn significant(stmt: &str) -> Vec<Token> {
    let mut toks: Vec<Token> = tokenize(stmt)
        .into_iter()
        .filter(|t| !t.is_comment())
        .collect();
    while toks.last().is_some_and(|t| t.kind == Kind::Semicolon) {
        toks.pop();
    }
    toks
}

/// Classifies `stmt` as a transaction-control statement.
///
/// Recognised: `BEGIN`, `START TRANSACTION`, `COMMIT`, `END`, `ROLLBACK`,
/// `ABORT`, `SAVEPOINT`, `RELEASE`, `PREPARE TRANSACTION`, `COMMIT PREPARED`
/// and `ROLLBACK PREPARED`. `BEGIN ATOMIC` (the start of an SQL-standard
/// routine body) is not transaction control; neither are `SET TRANSACTION`
/// or `PREPARE name AS ...`.
pub fn transaction_control(stmt: &str) -> Option<TransactionControl> {
    let toks = significant(stmt);
    let word = |i: usize| {
        toks.get(i)
            .filter(|t| t.kind == Kind::Word)
            .map(|t| stmt[t.start..t.end].to_ascii_uppercase())
    };
    let w0 = word(0)?;
    let w1 = word(1);
    let is = |w: &Option<String>, s: &str| w.as_deref() == Some(s);
    match w0.as_str() {
        "BEGIN" if !is(&w1, "ATOMIC") => Some(TransactionControl::Begin),
        "START" if is(&w1, "TRANSACTION") => Some(TransactionControl::Begin),
        "COMMIT" if is(&w1, "PREPARED") => Some(TransactionControl::CommitPrepared),
        "COMMIT" | "END" => Some(TransactionControl::Commit),
        "ROLLBACK" if is(&w1, "PREPARED") => Some(TransactionControl::RollbackPrepared),
        "ROLLBACK" | "ABORT" => {
            let to = is(&w1, "TO")
                || ((is(&w1, "WORK") || is(&w1, "TRANSACTION")) && is(&word(2), "TO"));
            Some(if to && w0 == "ROLLBACK" {
                TransactionControl::RollbackToSavepoint
            } else {
                TransactionControl::Rollback
            })
        }
        "SAVEPOINT" => Some(TransactionControl::Savepoint),
        "RELEASE" => Some(TransactionControl::Release),
        "PREPARE" if is(&w1, "TRANSACTION") && toks.get(2).is_some_and(|t| t.kind == Kind::Str) => {
            Some(TransactionControl::PrepareTransaction)
        }
        _ => None,
    }
}

/// If `stmt` is a bare `BEGIN`/`START TRANSACTION` (no transaction modes) or
/// a bare `COMMIT`/`END` (no `AND CHAIN`), returns `Begin` or `Commit`.
pub(crate) fn bare_begin_or_commit(stmt: &str) -> Option<TransactionControl> {
    let toks = significant(stmt);
    if toks.iter().any(|t| t.kind != Kind::Word) {
        return None;
    }
    let words: Vec<String> = toks
        .iter()
        .map(|t| stmt[t.start..t.end].to_ascii_uppercase())
        .collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["BEGIN"] | ["BEGIN", "WORK" | "TRANSACTION"] | ["START", "TRANSACTION"] => {
            Some(TransactionControl::Begin)
        }
        ["COMMIT" | "END"] | ["COMMIT" | "END", "WORK" | "TRANSACTION"] => {
            Some(TransactionControl::Commit)
        }
        _ => None,
    }
}

/// Converts a PostgreSQL error position into a line and column.
///
/// `char_position` is a 1-based *character* (not byte) position into `src`,
/// as reported in the `position` field of a server error. Returns the 1-based
/// `(line, column)`, both counted in characters; lines end at `\n`. A
/// position of 0 is treated as 1; a position past the end maps to just after
/// the last character.
pub fn line_col(src: &str, char_position: usize) -> (usize, usize) {
    let target = char_position.max(1);
    let (mut line, mut col) = (1, 1);
    for (idx, ch) in src.chars().enumerate() {
        if idx + 1 == target {
            return (line, col);
        }
        if ch == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    (line, col)
}

/// The 1-based line of the character at byte offset `byte` of `src`.
pub(crate) fn line_of_byte(src: &str, byte: usize) -> usize {
    let end = byte.min(src.len());
    1 + src.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// Quotes `s` as an SQL identifier: always wrapped in double quotes, with
/// embedded double quotes doubled.
pub fn quote_ident(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        if ch == '"' {
            out.push('"');
        }
        out.push(ch);
    }
    out.push('"');
    out
}

/// Quotes `s` as an SQL string literal the way PostgreSQL's `quote_literal`
/// does: wrapped in single quotes with embedded single quotes doubled; if `s`
/// contains a backslash, the `E''` form is used and backslashes are doubled
/// too, so the result is correct whatever `standard_conforming_strings` is.
pub fn quote_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 3);
    if s.contains('\\') {
        out.push('E');
    }
    out.push('\'');
    for ch in s.chars() {
        if ch == '\'' || ch == '\\' {
            out.push(ch);
        }
        out.push(ch);
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
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
}
