//! SQL as PostgreSQL reads it: statement splitting, transaction-control
//! detection, error-position mapping and quoting.
//!
//! Splitting and classification use PostgreSQL's own scanner and parser
//! (libpg_query, built from the server's source, through the `pg_query`
//! crate), so a statement boundary or a `COMMIT` is found exactly where the
//! server finds it: comments ended by a bare carriage return, nested block
//! comments, tagged dollar quotes, `E''` and `U&''` strings, keywords used
//! as names and SQL-standard routine bodies (`BEGIN ATOMIC … END`) are read
//! as the server reads them.
//!
//! # The server's settings
//!
//! The scanner reads UTF-8 text, and strings as with
//! `standard_conforming_strings = on` and `backslash_quote = safe_encoding`,
//! the defaults. The runner pins all three (`client_encoding = 'UTF8'`) in
//! every transaction that runs a migration (`SET LOCAL`, before the
//! migration's text is sent), so the server scans a migration exactly as it
//! was split here, whatever the server, the database, the role, the
//! connection string or an earlier migration on the same session set.
//!
//! # A script the parser rejects
//!
//! A script that does not parse is split at the scanner's semicolons
//! outside parentheses. The server may still run it: its grammar is that of
//! its own version, and a word that a newer version reserves (`system_user`
//! since PostgreSQL 16) or syntax that a newer version added parses there
//! and not here, or the other way round. So each piece that starts with a
//! word that starts transaction control is classified as that control, and
//! the loader refuses the script: every statement the server could run
//! starts at one of those semicolons, so no `COMMIT` goes unseen. Where
//! the server's grammar is the parser's, it rejects the whole message
//! before running any of it. A no-transaction script must parse
//! ([`syntax_error`]), because its statements are sent one at a time.

mod constants;
mod index;
mod outside;
mod position;
mod quote;
mod rerun;
mod scan;
mod split;
#[cfg(test)]
mod tests;
mod transaction;

pub use constants::differing_string_constants;
pub use index::{concurrent_index, ConcurrentIndex};
pub(crate) use outside::outside_transaction;
pub use position::line_col;
pub(crate) use position::line_of_byte;
pub use quote::{quote_ident, quote_literal};
pub use rerun::{rerun, Rerun};
pub use scan::{is_blank, nul_byte};
pub(crate) use scan::{line_comments, long_identifiers};
pub(crate) use split::may_control_transactions;
pub use split::{parser_version, split_statements, syntax_error, Statement, SyntaxError};
pub use transaction::TransactionControl;
