//! Statement splitting with PostgreSQL's parser, and the questions asked of
//! a statement (its transaction control).

use pg_query::protobuf::{node::Node, Token};

use super::line_col;
use super::scan::{tokens, Tok};
use super::transaction::{classify, leading, TransactionControl};

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
    /// The statement's transaction control, as the parser classifies it
    /// (none for every other statement). In a script the parser rejects,
    /// the transaction control the statement starts like (see
    /// [`split_statements`]); none for a script the scanner rejects.
    pub control: Option<TransactionControl>,
    /// A `BEGIN` without transaction modes, or a `COMMIT` without
    /// `AND CHAIN`.
    pub bare: bool,
    /// An explicit statement: a block the script marks as one statement
    /// (goose's and sql-migrate's `StatementBegin` … `StatementEnd`), which
    /// may hold several statements of the parser; a no-transaction script
    /// sends it whole, as one simple-protocol message. Never set by
    /// [`split_statements`].
    pub explicit: bool,
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

    /// The transaction-control kind of the statement.
    pub fn transaction_control(&self) -> Option<TransactionControl> {
        self.control
    }

    /// True for a bare `BEGIN`/`START TRANSACTION` (`want` = `Begin`) or a
    /// bare `COMMIT`/`END` (`want` = `Commit`).
    pub(crate) fn is_bare(&self, want: TransactionControl) -> bool {
        self.bare && self.control == Some(want)
    }
}

/// PostgreSQL's parser rejected a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// The parser's message, such as `syntax error at or near "x"`.
    pub message: String,
}

/// Why PostgreSQL's parser rejects `src`, if it does.
pub fn syntax_error(src: &str) -> Option<SyntaxError> {
    match pg_query::parse(src, pg_query::ParserOptions::DEFAULT) {
        Ok(_) => None,
        Err(pg_query::Error::Parse(message)) => Some(SyntaxError { message }),
        Err(e) => Some(SyntaxError {
            message: e.to_string(),
        }),
    }
}

/// The major version of PostgreSQL whose parser this is (its grammar and
/// reserved words are that version's).
pub fn parser_version() -> u32 {
    pg_query::parse("SELECT", pg_query::ParserOptions::DEFAULT)
        .ok()
        .and_then(|p| u32::try_from(p.protobuf.version / 10_000).ok())
        .unwrap_or(0)
}

/// Splits `src` into its top-level statements, where the server's parser
/// splits it, each classified.
///
/// Statements made only of whitespace and comments (a lone `;`) are
/// dropped. A script the parser rejects is split at the scanner's
/// semicolons outside parentheses, and each piece that starts with a word
/// that starts transaction control (`COMMIT`, `END`, `ROLLBACK`, …) is
/// classified as that control: a server whose grammar differs from the
/// parser's (another PostgreSQL version: a word reserved in a newer one,
/// syntax added in a newer one) may run the script, and then every
/// statement it runs starts at one of those semicolons, so no `COMMIT` of
/// it goes unseen. One the scanner rejects too (an unterminated string, …)
/// is one statement, unclassified. See [`Statement`] for the exact extent
/// of each statement.
pub fn split_statements(src: &str) -> Vec<Statement> {
    let Some(toks) = tokens(src) else {
        return whole(src);
    };
    let toks: Vec<Tok> = toks.into_iter().filter(|t| !t.is_comment()).collect();
    match pg_query::parse(src, pg_query::ParserOptions::DEFAULT) {
        Ok(parsed) => parsed
            .protobuf
            .stmts
            .iter()
            .filter_map(|raw| {
                let from = usize::try_from(raw.stmt_location).ok()?;
                let to = match usize::try_from(raw.stmt_len).ok()? {
                    0 => src.len(),
                    len => from + len,
                };
                let (control, bare) = match raw.stmt.as_ref().and_then(|n| n.node.as_ref()) {
                    Some(Node::TransactionStmt(t)) => {
                        classify(t).map_or((None, false), |(c, b)| (Some(c), b))
                    }
                    _ => (None, false),
                };
                statement(src, &toks, from, to, control, bare)
            })
            .collect(),
        Err(_) => scanner_split(src, &toks),
    }
}

/// The statement whose tokens start in `from..to`, its terminating `;`
/// included.
fn statement(
    src: &str,
    toks: &[Tok],
    from: usize,
    to: usize,
    control: Option<TransactionControl>,
    bare: bool,
) -> Option<Statement> {
    let first = toks.iter().position(|t| t.start >= from && t.start < to)?;
    let mut last = first;
    while last + 1 < toks.len() && toks[last + 1].start < to {
        last += 1;
    }
    if toks.get(last + 1).is_some_and(Tok::is_semicolon) {
        last += 1;
    }
    let (start, end) = (toks[first].start, toks[last].end);
    Some(Statement {
        sql: src.get(start..end)?.to_string(),
        start,
        end,
        control,
        bare,
        explicit: false,
    })
}

/// Splits at the semicolons outside parentheses (a script the parser
/// rejects), each piece classified by the words it starts with.
fn scanner_split(src: &str, toks: &[Tok]) -> Vec<Statement> {
    let mut out = Vec::new();
    let mut first: Option<usize> = None;
    let mut depth = 0usize;
    for (i, t) in toks.iter().enumerate() {
        if t.is(Token::Ascii40) {
            depth += 1;
        } else if t.is(Token::Ascii41) {
            depth = depth.saturating_sub(1);
        }
        if t.is_semicolon() && depth == 0 {
            if let Some(f) = first.take() {
                out.extend(piece(src, &toks[f..=i]));
            }
        } else if first.is_none() {
            first = Some(i);
        }
    }
    if let Some(f) = first {
        out.extend(piece(src, &toks[f..]));
    }
    out
}

/// The statement made of `toks` (a piece of a script the parser rejects).
fn piece(src: &str, toks: &[Tok]) -> Option<Statement> {
    let (start, end) = (toks.first()?.start, toks.last()?.end);
    let (control, bare) = leading(toks).map_or((None, false), |(c, b)| (Some(c), b));
    Some(Statement {
        sql: src.get(start..end)?.to_string(),
        start,
        end,
        control,
        bare,
        explicit: false,
    })
}

/// The whole of `src` as one statement, leading and trailing whitespace
/// left out (a script the scanner rejects).
fn whole(src: &str) -> Vec<Statement> {
    let start = src.len() - src.trim_start().len();
    let end = src.trim_end().len();
    if start >= end {
        return Vec::new();
    }
    unclassified(src, start, end).into_iter().collect()
}

fn unclassified(src: &str, start: usize, end: usize) -> Option<Statement> {
    Some(Statement {
        sql: src.get(start..end)?.to_string(),
        start,
        end,
        control: None,
        bare: false,
        explicit: false,
    })
}

/// Whether `src` may hold transaction control: a keyword token that starts
/// one (`BEGIN`, `START`, `COMMIT`, `END`, `ROLLBACK`, `ABORT`,
/// `SAVEPOINT`, `RELEASE`, `PREPARE`), or text the scanner rejects. A
/// cheap test before [`split_statements`] parses the whole script.
pub(crate) fn may_control_transactions(src: &str) -> bool {
    const KEYWORDS: [Token; 9] = [
        Token::BeginP,
        Token::Start,
        Token::Commit,
        Token::EndP,
        Token::Rollback,
        Token::AbortP,
        Token::Savepoint,
        Token::Release,
        Token::Prepare,
    ];
    tokens(src).is_none_or(|toks| toks.iter().any(|t| KEYWORDS.iter().any(|k| t.is(*k))))
}
