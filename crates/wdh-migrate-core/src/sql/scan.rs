//! The server's scanner: tokens, comments and blank scripts.

use std::ops::Range;

use pg_query::protobuf::Token;

/// One token of PostgreSQL's scanner: its kind and byte range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Tok {
    pub(super) token: i32,
    pub(super) start: usize,
    pub(super) end: usize,
}

impl Tok {
    pub(super) fn is(&self, token: Token) -> bool {
        self.token == token as i32
    }

    pub(super) fn is_comment(&self) -> bool {
        self.is(Token::SqlComment) || self.is(Token::CComment)
    }

    pub(super) fn is_semicolon(&self) -> bool {
        self.is(Token::Ascii59)
    }
}

/// The tokens of `src`, comments included; `None` when the scanner rejects
/// it (an unterminated string or comment, a NUL byte, …).
pub(super) fn tokens(src: &str) -> Option<Vec<Tok>> {
    // Text made only of the scanner's white space has no token (and
    // `scan_tokens` must not be asked: it builds a slice from a null
    // pointer for it).
    if src
        .trim_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c'])
        .is_empty()
    {
        return Some(Vec::new());
    }
    let toks = pg_query::scan_tokens(src).ok()?;
    Some(
        toks.into_iter()
            .map(|t| Tok {
                token: t.token,
                start: usize::try_from(t.start).unwrap_or(0),
                end: usize::try_from(t.end).unwrap_or(0),
            })
            .collect(),
    )
}

/// True if `src` contains no statement: only whitespace, comments and
/// semicolons. A script the scanner rejects is not blank.
pub fn is_blank(src: &str) -> bool {
    tokens(src).is_some_and(|toks| toks.iter().all(|t| t.is_comment() || t.is_semicolon()))
}

/// The byte ranges of the `--` comments of `src`, as the server's scanner
/// finds them (none when it rejects the text).
pub(crate) fn line_comments(src: &str) -> Vec<Range<usize>> {
    tokens(src)
        .unwrap_or_default()
        .into_iter()
        .filter(|t| t.is(Token::SqlComment))
        .map(|t| t.start..t.end)
        .collect()
}

/// Whether `src` may hold an identifier of `len` bytes or more: a run of
/// that many identifier bytes, or two double quotes that far apart. A cheap
/// test before the scanner runs (text in strings and comments may pass it;
/// the scanner then decides).
fn may_hold_long_identifier(src: &str, len: usize) -> bool {
    let mut run = 0;
    let mut quote: Option<usize> = None;
    for (i, b) in src.bytes().enumerate() {
        if b == b'"' {
            if quote.is_some_and(|q| i - q > len) {
                return true;
            }
            quote = Some(i);
        }
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80 {
            run += 1;
            if run >= len {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

/// The byte offset of the first NUL byte of `src`: PostgreSQL takes no
/// query text that holds one.
pub fn nul_byte(src: &str) -> Option<usize> {
    src.bytes().position(|b| b == 0)
}

/// The identifiers of `src` longer than PostgreSQL's 63 bytes, as it reads
/// them (quotes removed, `""` read as `"`), with their first byte; none
/// when the scanner rejects the text.
pub(crate) fn long_identifiers(src: &str) -> Vec<(usize, String)> {
    const NAMEDATALEN: usize = 64;
    if !may_hold_long_identifier(src, NAMEDATALEN) {
        return Vec::new();
    }
    tokens(src)
        .unwrap_or_default()
        .into_iter()
        .filter(|t| t.is(Token::Ident))
        .filter_map(|t| {
            let text = src.get(t.start..t.end)?;
            let name = match text.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                Some(quoted) => quoted.replace("\"\"", "\""),
                None => text.to_ascii_lowercase(),
            };
            (name.len() >= NAMEDATALEN).then_some((t.start, name))
        })
        .collect()
}
