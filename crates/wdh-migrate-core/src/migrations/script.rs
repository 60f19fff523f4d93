//! Parsing one script, in any layout: decoding, `-- wdh:` directives and
//! transaction-control checks.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{Down, LoadError, Script};
use crate::sql::{self, TransactionControl};

/// Directives found in the leading comment lines of a script.
#[derive(Debug, Default)]
struct Header {
    no_transaction: bool,
    irreversible: bool,
    /// Byte offset of the first line that is neither blank nor a `--`
    /// comment.
    end: usize,
}

/// If the text after `--` is a `wdh:` directive, returns its name as
/// written (possibly empty).
fn directive_name(comment: &str) -> Option<&str> {
    let rest = comment.trim_start();
    let prefix = rest.get(..3)?;
    if !prefix.eq_ignore_ascii_case("wdh") {
        return None;
    }
    let after = rest[3..].trim_start().strip_prefix(':')?;
    Some(after.split_whitespace().next().unwrap_or(""))
}

/// Decodes a file as UTF-8, without a leading byte-order mark.
pub(super) fn decode<'a>(path: &Path, bytes: &'a [u8]) -> Result<&'a str, LoadError> {
    let text = std::str::from_utf8(bytes).map_err(|e| LoadError::NotUtf8 {
        path: path.to_path_buf(),
        offset: e.valid_up_to(),
    })?;
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
}

fn scan_header(sql: &str, path: &Path) -> Result<Header, LoadError> {
    let mut header = Header::default();
    let mut offset = 0;
    // A line ends where the server's scanner ends a `--` comment: at `\n`
    // or `\r` (a file with carriage-return line ends only has lines too).
    for line in sql.split_inclusive(['\n', '\r']) {
        let trimmed = line.trim();
        if !trimmed.is_empty() {
            let Some(comment) = trimmed.strip_prefix("--") else {
                header.end = offset;
                return Ok(header);
            };
            if let Some(name) = directive_name(comment) {
                match name.to_ascii_lowercase().as_str() {
                    "no-transaction" => header.no_transaction = true,
                    "irreversible" => header.irreversible = true,
                    _ => {
                        return Err(LoadError::UnknownDirective {
                            path: path.to_path_buf(),
                            line: sql::line_of_byte(sql, offset),
                            directive: name.to_string(),
                        })
                    }
                }
            }
        }
        offset += line.len();
    }
    header.end = sql.len();
    Ok(header)
}

/// Rejects `-- wdh:` directives after the leading comment lines.
fn check_misplaced(sql: &str, header_end: usize, path: &Path) -> Result<(), LoadError> {
    for comment in sql::line_comments(sql) {
        if comment.start < header_end {
            continue;
        }
        if let Some(name) = directive_name(&sql[comment.start + 2..comment.end]) {
            return Err(LoadError::MisplacedDirective {
                path: path.to_path_buf(),
                line: sql::line_of_byte(sql, comment.start),
                directive: name.to_string(),
            });
        }
    }
    Ok(())
}

/// Checks the transaction control of a script that runs in a transaction,
/// found by PostgreSQL's parser. Returns whether it wraps itself in a bare
/// `BEGIN` ... `COMMIT`.
fn check_transaction_control(sql: &str, path: &Path) -> Result<bool, LoadError> {
    if !sql::may_control_transactions(sql) {
        return Ok(false);
    }
    let stmts = sql::split_statements(sql);
    let n = stmts.len();
    let controls: Vec<usize> = (0..n).filter(|&i| stmts[i].control.is_some()).collect();
    if controls.is_empty() {
        return Ok(false);
    }
    let wraps = n >= 2
        && stmts[0].is_bare(TransactionControl::Begin)
        && stmts[n - 1].is_bare(TransactionControl::Commit);
    match controls
        .into_iter()
        .find(|&i| !(wraps && (i == 0 || i == n - 1)))
    {
        None => Ok(true),
        Some(i) => {
            let stmt = &stmts[i];
            let first_line = stmt.sql.split(['\r', '\n']).next().unwrap_or("").trim();
            let mut statement: String = first_line.chars().take(60).collect();
            if statement.len() < first_line.len() {
                statement.push_str("...");
            }
            let (path, line) = (path.to_path_buf(), sql::line_of_byte(sql, stmt.start));
            // Split at its semicolons alone: the statement only starts like
            // transaction control, but a server of another version may run it.
            if let Some(e) = sql::syntax_error(sql) {
                return Err(LoadError::UnparsedTransactionControl {
                    path,
                    line,
                    statement,
                    message: e.message,
                    parser: sql::parser_version(),
                });
            }
            Err(LoadError::TransactionControl {
                path,
                line,
                statement,
            })
        }
    }
}

/// Parses the script at `rel` (relative to `root`). `forced_no_transaction`
/// comes from the layout (for example a folder's `metadata.toml`). Returns the script and whether it carries
/// `-- wdh:irreversible`.
pub(super) fn parse_script(
    root: &Path,
    rel: &str,
    bytes: &[u8],
    forced_no_transaction: bool,
) -> Result<(Script, bool), LoadError> {
    let sql = decode(&root.join(rel), bytes)?;
    let checksum = Sha256::digest(bytes).into();
    parse_text(root, rel, sql, checksum, forced_no_transaction, Vec::new())
}

/// One section of a file that holds both scripts of a migration (goose,
/// sql-migrate, dbmate): `sql` is the file's text with every line that is
/// not this section's blanked, so server positions still point into the
/// file, `checksum` is that of the section's own text, and `blocks` the
/// ranges of `sql` the file marks as one statement each.
pub(super) fn parse_section(
    root: &Path,
    rel: &str,
    sql: &str,
    checksum: [u8; 32],
    forced_no_transaction: bool,
    blocks: Vec<std::ops::Range<usize>>,
) -> Result<(Script, bool), LoadError> {
    parse_text(root, rel, sql, checksum, forced_no_transaction, blocks)
}

/// SHA-256 of `text`: the checksum of a section's own text.
pub(super) fn checksum_of(text: &[u8]) -> [u8; 32] {
    Sha256::digest(text).into()
}

fn parse_text(
    root: &Path,
    rel: &str,
    sql: &str,
    checksum: [u8; 32],
    forced_no_transaction: bool,
    blocks: Vec<std::ops::Range<usize>>,
) -> Result<(Script, bool), LoadError> {
    let path = root.join(rel);
    if let Some(offset) = sql::nul_byte(sql) {
        return Err(LoadError::NulByte { path, offset });
    }
    let header = scan_header(sql, &path)?;
    check_misplaced(sql, header.end, &path)?;
    let no_transaction = forced_no_transaction || header.no_transaction;
    if no_transaction {
        // Its statements are sent one at a time: each must be where the
        // server's parser finds it.
        if let Some(e) = sql::syntax_error(sql) {
            return Err(LoadError::Syntax {
                path,
                message: e.message,
            });
        }
    }
    let wraps_own_transaction = !no_transaction && check_transaction_control(sql, &path)?;
    let script = Script {
        path: PathBuf::from(rel),
        sql: sql.to_string(),
        checksum,
        no_transaction,
        wraps_own_transaction,
        blocks,
    };
    Ok((script, header.irreversible))
}

/// The down side from an optional down script and the irreversible flag.
pub(super) fn down_of(script: Option<Script>, irreversible: bool) -> Down {
    match (script, irreversible) {
        (script, true) => Down::Irreversible(script),
        (Some(script), false) => Down::Script(script),
        (None, false) => Down::Missing,
    }
}
