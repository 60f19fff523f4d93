//! Keeping passwords out of text: masking of connection strings that may not
//! parse, scrubbing of known secrets from other text, and the redacted
//! error for an unparseable string.

use super::parse::percent_decode_lossy;
use super::{Source, TargetError};

/// The replacement text for a password.
pub(super) const MASK: &str = "***";

/// Replaces every occurrence of `password` in `text` with `***`, and
/// additionally masks anything in `text` that looks like a password in a
/// connection string (`user:secret@` in a URL, `password=secret` settings).
///
/// Use it for text that may quote a connection string or a known password,
/// such as an error message from the server. An empty `password` only
/// applies the pattern-based masking.
pub fn redact(text: &str, password: &str) -> String {
    let scrubbed = if password.is_empty() {
        text.to_owned()
    } else {
        text.replace(password, MASK)
    };
    best_effort_redact(&scrubbed, false).0
}

/// Builds the error for a string that could not be parsed, redacting the
/// input and the reason on a best-effort basis.
pub(super) fn unparseable(conn: &str, origin: Source, reason: &str) -> TargetError {
    let (redacted, mut secrets) = best_effort_redact(conn, true);
    secrets.retain(|s| !s.is_empty());
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let reason = best_effort_redact(&scrub_all(reason, &secrets), false).0;
    TargetError::Unparseable {
        redacted: scrub_all(&redacted, &secrets),
        origin,
        reason,
    }
}

/// An error and its causes, joined with `: `.
pub(super) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

/// Replaces every occurrence of each (non-empty) secret with `***`.
pub(super) fn scrub_all(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), MASK);
        }
    }
    out
}

/// Masks anything that looks like a password in text that may not be a
/// valid connection string: the part between `user:` and the last `@` of a
/// URL, and the values of settings whose name contains `pass`. Returns
/// the masked text and the masked values. Masks too much rather than too
/// little.
fn best_effort_redact(text: &str, whole: bool) -> (String, Vec<String>) {
    let mut secrets = Vec::new();
    let mut spans: Vec<(usize, usize)> = Vec::new();

    // `scheme://user:secret@host`: everything between the first `:` of the
    // credentials and the last `@`. In a whole connection string the URL
    // runs to the end and the scheme may be missing; in other text it ends
    // at whitespace or a quote.
    if whole {
        let start = text.find("://").map_or(0, |i| i + 3);
        let rest = &text[start..];
        if let Some(at) = rest.rfind('@') {
            if let Some(colon) = rest[..at].find(':') {
                spans.push((start + colon + 1, start + at));
            }
        }
    } else {
        let mut search_from = 0;
        while let Some(found) = text[search_from..].find("://") {
            let start = search_from + found + 3;
            let rest = &text[start..];
            let end = rest
                .find(|c: char| c.is_whitespace() || matches!(c, '`' | '"' | '\''))
                .unwrap_or(rest.len());
            let url = &rest[..end];
            if let Some(at) = url.rfind('@') {
                if let Some(colon) = url[..at].find(':') {
                    spans.push((start + colon + 1, start + at));
                }
            }
            search_from = start;
        }
    }

    // `password=secret`, `password = 'sec ret'`, `?password=secret&...`.
    let bytes = text.as_bytes();
    for (eq, _) in text.match_indices('=') {
        let mut key_end = eq;
        while key_end > 0 && bytes[key_end - 1].is_ascii_whitespace() {
            key_end -= 1;
        }
        let key_start = text[..key_end]
            .rfind(|c: char| c.is_whitespace() || matches!(c, '&' | '?' | '=' | '`' | '"'))
            .map_or(0, |i| i + 1);
        let key = percent_decode_lossy(&text[key_start..key_end]).to_ascii_lowercase();
        if !key.contains("pass") {
            continue;
        }
        let mut value_start = eq + 1;
        while value_start < bytes.len() && bytes[value_start].is_ascii_whitespace() {
            value_start += 1;
        }
        let rest = &text[value_start..];
        let value_len = if let Some(quoted) = rest.strip_prefix('\'') {
            let mut escaped = false;
            let mut len = rest.len();
            for (i, c) in quoted.char_indices() {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '\'' {
                    len = 1 + i + 1;
                    break;
                }
            }
            len
        } else {
            rest.find(|c: char| c.is_whitespace() || matches!(c, '&' | '`' | '"'))
                .unwrap_or(rest.len())
        };
        if value_len > 0 {
            spans.push((value_start, value_start + value_len));
        }
    }

    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (start, end) in spans {
        if end <= copied {
            continue;
        }
        let start = start.max(copied);
        out.push_str(&text[copied..start]);
        if start < end {
            secrets.push(text[start..end].to_owned());
            secrets.push(percent_decode_lossy(&text[start..end]));
        }
        out.push_str(MASK);
        copied = end;
    }
    out.push_str(&text[copied..]);
    (out, secrets)
}
