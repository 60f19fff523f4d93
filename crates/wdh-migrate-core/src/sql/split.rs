//! Statement splitting: the top-level statements of a script, and the
//! questions asked of a single statement (blank, first keyword).

use super::lexer::{tokenize, Kind, Token};
use super::{line_col, transaction_control, TransactionControl};

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
pub(super) fn split_with_tokens(src: &str) -> Vec<(usize, usize, Vec<Token>)> {
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
