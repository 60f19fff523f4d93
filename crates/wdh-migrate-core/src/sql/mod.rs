//! A small PostgreSQL lexer: statement splitting, statement classification,
//! error-position mapping and quoting.
//!
//! Everything here is pure string processing; nothing talks to a server.
//!
//! # What the lexer understands
//!
//! * `--` line comments and nested `/* ... */` block comments;
//! * single-quoted strings with `''` escapes, including the `B''`, `X''`,
//!   `N''` and `U&''` prefixed forms;
//! * `E''` strings, in which a backslash escapes the next character;
//! * double-quoted identifiers with `""` escapes (and `U&""`);
//! * dollar-quoted strings `$$ ... $$` and `$tag$ ... $tag$` (a `$` followed
//!   by a digit is a parameter such as `$1`, not a dollar quote; a `$` inside an
//!   identifier such as `a$b` is part of the identifier);
//! * parentheses: like `psql`, a `;` inside parentheses does not end a
//!   statement;
//! * SQL-standard routine bodies: in a statement that starts with
//!   `CREATE [OR REPLACE] FUNCTION` or `CREATE [OR REPLACE] PROCEDURE`, the
//!   words `BEGIN`, `CASE` and `END` outside parentheses are counted the way
//!   `psql` counts them, so the semicolons of a `BEGIN ATOMIC ... END` body do
//!   not end the statement.
//!
//! # Limits
//!
//! * Strings are lexed as with `standard_conforming_strings = on` (the
//!   default since PostgreSQL 9.1): a backslash is only special in `E''`
//!   strings.
//! * The routine-body heuristic is the one `psql` uses: it is a word count,
//!   not a parser. An identifier spelled `begin`, `case` or `end` (unquoted)
//!   outside parentheses in such a statement would confuse it, exactly as it
//!   confuses `psql`.
//! * `psql` meta-commands (`\i`, `\set`, ...) and `COPY ... FROM stdin` data
//!   blocks are not SQL and are not understood.
//! * An unterminated string, quoted identifier, dollar quote or block comment
//!   extends to the end of the input; an unbalanced `(` keeps the rest of the
//!   input in one statement. The server reports the actual syntax error.

mod lexer;
mod position;
mod quote;
mod split;
#[cfg(test)]
mod tests;
mod transaction;

pub(crate) use lexer::{tokenize, Kind};
pub use position::line_col;
pub(crate) use position::line_of_byte;
pub use quote::{quote_ident, quote_literal};
pub use split::{first_keyword, is_blank, split_statements, Statement};
pub(crate) use transaction::bare_begin_or_commit;
pub use transaction::{transaction_control, TransactionControl};
