//! Comparing two SQL texts token by token, to tell texts that differ only
//! in their string constants (as two definitions of an object created from
//! the current time do) from texts that differ in anything else.

use pg_query::protobuf::Token;

use super::scan::tokens;

/// When `a` and `b` are the same tokens but for some string constants
/// (`'…'`), those constants' values, in order, as `(a's, b's)` pairs (none
/// when the texts differ only in white space). `None` when anything else
/// differs (a token, its kind, their number, a constant of another kind),
/// or when the scanner rejects either text.
pub fn differing_string_constants(a: &str, b: &str) -> Option<Vec<(String, String)>> {
    let (ta, tb) = (tokens(a)?, tokens(b)?);
    if ta.len() != tb.len() {
        return None;
    }
    let mut differing = Vec::new();
    for (x, y) in ta.iter().zip(&tb) {
        let (sx, sy) = (a.get(x.start..x.end)?, b.get(y.start..y.end)?);
        if x.token != y.token {
            return None;
        }
        if sx == sy {
            continue;
        }
        if !x.is(Token::Sconst) {
            return None;
        }
        differing.push((plain_string(sx)?, plain_string(sy)?));
    }
    Some(differing)
}

/// The value of a plain string constant (`'it''s'` is `it's`); `None` for
/// the other spellings (`E'…'`, dollar quotes, …).
fn plain_string(token: &str) -> Option<String> {
    let inner = token.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(inner.replace("''", "'"))
}
