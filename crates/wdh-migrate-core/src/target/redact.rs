//! Keeping passwords out of text: masking of connection strings that may not
//! parse, scrubbing of known secrets from other text, and the redacted
//! error for a string that is refused.

use std::fmt;
use std::ops::Range;

use super::keys;
use super::parse::{libpq_space, percent_decode_lossy, Refusal};
use super::{Source, TargetError};

/// The replacement text for a password.
pub(super) const MASK: &str = "***";

/// The passwords of a connection string as written and as decoded, kept
/// only to remove them from other text. `Debug` shows how many there are,
/// never what they are.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    values: Vec<String>,
}

impl Secrets {
    pub(super) fn new(mut values: Vec<String>) -> Secrets {
        values.retain(|s| !s.is_empty());
        // Longest first, so that a password is not half-replaced by a
        // shorter secret that it contains.
        values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        values.dedup();
        Secrets { values }
    }

    /// These secrets and `more`.
    pub(super) fn with(mut self, more: Vec<String>) -> Secrets {
        self.values.extend(more);
        Secrets::new(self.values)
    }

    /// Replaces every occurrence of each secret in `text` with `***`.
    pub fn scrub(&self, text: &str) -> String {
        scrub_all(text, &self.values)
    }

    /// Whether there is nothing to scrub.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets({} hidden)", self.values.len())
    }
}

/// Replaces every occurrence of `password` in `text` with `***`, and
/// additionally masks anything in `text` that looks like a password in a
/// connection string (`user:secret@` in a URL, `password=secret` and the
/// other secret settings such as `sslpassword=`).
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
    mask(&scrubbed, &spans(&scrubbed, Scope::Text)).0
}

/// The error for a string that was refused: the string with everything
/// that could be a password masked, and the reason, which shows a setting
/// name only where it lies outside everything masked.
pub(super) fn unparseable(conn: &str, origin: Source, refusal: Refusal) -> TargetError {
    let masked = spans(conn, Scope::Whole);
    let (redacted, secrets) = mask(conn, &masked);
    let outside = |at: &Range<usize>| {
        masked
            .iter()
            .all(|s| s.end <= at.start || at.end <= s.start)
    };
    let reason = match refusal {
        Refusal::Plain(reason) => reason,
        Refusal::Driver(reason) => {
            let scrubbed = Secrets::new(secrets).scrub(&reason);
            mask(&scrubbed, &spans(&scrubbed, Scope::Text)).0
        }
        Refusal::UnknownName { at, query } if outside(&at) => {
            let name = &conn[at];
            let what = if query { "query parameter" } else { "setting" };
            let lower = name.to_ascii_lowercase();
            if lower != name && keys::is_known(&lower) {
                format!("unknown {what} `{name}`; setting names are lower case (`{lower}`)")
            } else {
                format!("unknown {what} `{name}`")
            }
        }
        Refusal::NoEquals { at, query } if outside(&at) => {
            let what = if query {
                "the query parameter"
            } else {
                "the setting"
            };
            format!("{what} `{}` has no `=` after it", &conn[at])
        }
        Refusal::UnknownName { query, .. } | Refusal::NoEquals { query, .. } => {
            let fix = if query {
                "write `&` in a password as %26"
            } else {
                "put a password that contains spaces in quotes, with \\' for a quote and \\\\ \
                 for a backslash"
            };
            format!(
                "what follows the password is not a setting that libpq or the driver knows \
                 (not shown: it may be part of the password); {fix}"
            )
        }
    };
    TargetError::Unparseable {
        redacted,
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
fn scrub_all(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), MASK);
        }
    }
    out
}

/// What the masked text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// A whole connection string, which may not be valid: a URL runs to its
    /// end, and a password setting runs to the next setting that libpq knows.
    Whole,
    /// Other text that may quote connection strings: a URL ends at white
    /// space or a quote, a setting's value at white space or its quote.
    Text,
}

/// Masks `spans` of `text`; returns the masked text and what was masked,
/// as written and percent-decoded.
fn mask(text: &str, spans: &[Range<usize>]) -> (String, Vec<String>) {
    let mut out = String::with_capacity(text.len());
    let mut secrets = Vec::new();
    let mut copied = 0;
    for span in spans {
        out.push_str(&text[copied..span.start]);
        out.push_str(MASK);
        let masked = &text[span.clone()];
        secrets.push(masked.to_owned());
        secrets.push(percent_decode_lossy(masked));
        copied = span.end;
    }
    out.push_str(&text[copied..]);
    (out, secrets)
}

/// Everything in `text` that could be a password: sorted, merged byte
/// ranges.
fn spans(text: &str, scope: Scope) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    url_spans(text, scope, &mut spans);
    setting_spans(text, scope, &mut spans);
    spans.retain(|s| !s.is_empty());
    spans.sort_by_key(|s| s.start);
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(spans.len());
    for span in spans {
        match merged.last_mut() {
            Some(last) if span.start <= last.end => last.end = last.end.max(span.end),
            _ => merged.push(span),
        }
    }
    merged
}

/// Characters that end a URL or a value in other text.
fn ends_in_text(c: char) -> bool {
    c.is_whitespace() || matches!(c, '`' | '"' | '\'')
}

/// `scheme://user:secret@host`: everything between the first `:` of the
/// credentials and the last `@` of the URL. In a whole connection string
/// the URL runs to the end and the scheme may be missing.
fn url_spans(text: &str, scope: Scope, spans: &mut Vec<Range<usize>>) {
    let mut urls = Vec::new();
    match scope {
        Scope::Whole => urls.push(text.find("://").map_or(0, |i| i + 3)..text.len()),
        Scope::Text => {
            for (found, _) in text.match_indices("://") {
                let start = found + 3;
                let end = text[start..]
                    .find(ends_in_text)
                    .map_or(text.len(), |i| start + i);
                urls.push(start..end);
            }
        }
    }
    for url in urls {
        let part = &text[url.clone()];
        if let Some(at) = part.rfind('@') {
            if let Some(colon) = part[..at].find(':') {
                spans.push(url.start + colon + 1..url.start + at);
            }
        }
    }
}

/// Characters that end a setting name when reading backwards from its `=`.
fn before_name(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '?' | '&' | '=' | '`' | '"' | '\'' | '(' | '/' | ';' | ','
        )
}

/// `password=secret`, `password = 'sec ret'`, `?password=secret&…`, and
/// the other secret settings (`passfile`, `sslpassword`, …) in any case
/// and percent-encoding.
fn setting_spans(text: &str, scope: Scope, spans: &mut Vec<Range<usize>>) {
    for (eq, _) in text.match_indices('=') {
        let key_end = text[..eq].trim_end_matches([' ', '\t']).len();
        let key_start = text[..key_end]
            .char_indices()
            .rev()
            .find(|&(_, c)| before_name(c))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let key = percent_decode_lossy(&text[key_start..key_end]);
        if key.is_empty() || !keys::is_secret(&key) {
            continue;
        }
        let in_query = matches!(text[..key_start].chars().next_back(), Some('?' | '&'));
        let after_eq = &text[eq + 1..];
        let value = match scope {
            Scope::Whole => after_eq.trim_start(),
            Scope::Text => after_eq.trim_start_matches([' ', '\t']),
        };
        let value_start = text.len() - value.len();
        let end = if in_query {
            query_value_end(text, value_start, scope)
        } else {
            setting_value_end(text, value_start, scope)
        };
        spans.push(value_start..end);
    }
}

/// Where a query parameter's value ends: at the next `&name=` whose name
/// libpq knows, or at the end of the URL.
fn query_value_end(text: &str, from: usize, scope: Scope) -> usize {
    let end = match scope {
        Scope::Whole => text.len(),
        Scope::Text => text[from..]
            .find(ends_in_text)
            .map_or(text.len(), |i| from + i),
    };
    let mut search = from;
    while let Some(amp) = text[search..end].find('&') {
        let amp = search + amp;
        let next = &text[amp + 1..end];
        if let Some(eq) = next.find('=') {
            let name = &next[..eq];
            if !name.contains('&') && keys::is_known(&percent_decode_lossy(name)) {
                return amp;
            }
        }
        search = amp + 1;
    }
    end
}

/// Where a key=value setting's value ends. In a whole connection string:
/// at the next setting whose name libpq knows (a quoted part skipped), so
/// that a password with an unquoted space, or with text after its quotes,
/// is masked whole. In other text: after the quoted value, or at white
/// space.
fn setting_value_end(text: &str, from: usize, scope: Scope) -> usize {
    let mut start = from;
    if let Some(quoted) = text[from..].strip_prefix('\'') {
        let mut escaped = false;
        let mut close = None;
        for (i, c) in quoted.char_indices() {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '\'' {
                close = Some(from + 1 + i + 1);
                break;
            }
        }
        match (close, scope) {
            (Some(close), Scope::Text) => return close,
            (Some(close), Scope::Whole) => start = close,
            (None, Scope::Text) => return text[from..].find('\n').map_or(text.len(), |i| from + i),
            (None, Scope::Whole) => return text.len(),
        }
    }
    if scope == Scope::Text {
        return text[from..]
            .find(ends_in_text)
            .map_or(text.len(), |i| from + i);
    }
    // Up to the next known `name=` after unescaped white space (as libpq
    // sees it: a non-ASCII space does not end a value); trailing white
    // space is not masked.
    let mut escaped = false;
    let mut after_space = false;
    let mut end = start;
    for (i, c) in text[start..].char_indices() {
        let at = start + i;
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if libpq_space(c) {
            after_space = true;
            continue;
        } else if after_space && starts_with_known_setting(&text[at..]) {
            return end;
        }
        after_space = false;
        end = at + c.len_utf8();
    }
    end
}

/// Whether `text` starts with `name=` (white space allowed before the `=`)
/// for a name that libpq knows.
fn starts_with_known_setting(text: &str) -> bool {
    let name_end = text
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(text.len());
    let after = text[name_end..].trim_start_matches([' ', '\t']);
    after.starts_with('=') && keys::is_known(&text[..name_end])
}
