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
//! The scanner reads strings as with `standard_conforming_strings = on` and
//! `backslash_quote = safe_encoding`, the defaults. The runner pins both in
//! every transaction that runs a migration (`SET LOCAL`, before the
//! migration's text is sent), so the server scans a migration exactly as it
//! was split here, whatever the database, the role or the connection string
//! set.
//!
//! # A script the parser rejects
//!
//! A script that does not parse is split at the scanner's top-level
//! semicolons and no statement of it is classified. Sent as one message
//! (a transactional migration), the server rejects the whole message before
//! running any of it; a no-transaction script must parse
//! ([`syntax_error`]), because its statements are sent one at a time.

mod index;
mod position;
mod quote;
mod scan;
mod split;
#[cfg(test)]
mod tests;
mod transaction;

pub use index::{concurrent_index, ConcurrentIndex};
pub use position::line_col;
pub(crate) use position::line_of_byte;
pub use quote::{quote_ident, quote_literal};
pub use scan::{is_blank, nul_byte};
pub(crate) use scan::{line_comments, long_identifiers};
pub(crate) use split::may_control_transactions;
pub use split::{split_statements, syntax_error, Statement, SyntaxError};
pub use transaction::TransactionControl;
