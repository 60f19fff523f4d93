//! An error's causes as text, each once: for front ends and reports that
//! print the whole chain after a message that names none of them.

use std::error::Error;

/// Each error of the chain starting at `first`, its text after
/// `separator`.
///
/// A `postgres::Error` that carries the server's error says only `db
/// error`; the server's error after it in the chain (severity, message,
/// DETAIL, HINT) is the one written.
pub fn causes(mut first: Option<&(dyn Error + 'static)>, separator: &str) -> String {
    let mut text = String::new();
    while let Some(e) = first {
        let says_nothing = e
            .downcast_ref::<postgres::Error>()
            .is_some_and(|e| e.as_db_error().is_some());
        if !says_nothing {
            text.push_str(separator);
            text.push_str(&e.to_string());
        }
        first = e.source();
    }
    text
}

/// `e` and its causes on one line, `: `-separated: the server's own error
/// where `e` carries one.
pub fn describe(e: &(dyn Error + 'static)) -> String {
    let text = causes(Some(e), ": ");
    text.strip_prefix(": ").unwrap_or(&text).to_string()
}
