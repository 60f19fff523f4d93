//! Quoting of identifiers and string literals.

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
