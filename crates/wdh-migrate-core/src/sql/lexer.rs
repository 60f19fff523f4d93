//! The lexer: turns SQL text into tokens (words, quoted identifiers,
//! strings, numbers, parameters, punctuation and comments) with their byte
//! ranges.

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
    pub(super) fn is_comment(&self) -> bool {
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
