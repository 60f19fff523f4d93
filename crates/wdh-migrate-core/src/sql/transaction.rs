//! Transaction-control detection: which statements begin, end or otherwise
//! control a transaction.

use super::lexer::{tokenize, Kind, Token};

/// A statement that controls the transaction, as classified by
/// [`transaction_control`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransactionControl {
    /// `BEGIN [WORK | TRANSACTION] [modes]` or `START TRANSACTION [modes]`.
    Begin,
    /// `COMMIT` or `END`, with or without `WORK`/`TRANSACTION`/`AND CHAIN`.
    Commit,
    /// `ROLLBACK` or `ABORT` (without `TO`).
    Rollback,
    /// `ROLLBACK [WORK | TRANSACTION] TO [SAVEPOINT] name`.
    RollbackToSavepoint,
    /// `SAVEPOINT name`.
    Savepoint,
    /// `RELEASE [SAVEPOINT] name`.
    Release,
    /// `PREPARE TRANSACTION 'id'`.
    PrepareTransaction,
    /// `COMMIT PREPARED 'id'`.
    CommitPrepared,
    /// `ROLLBACK PREPARED 'id'`.
    RollbackPrepared,
}

/// The non-comment tokens of `stmt` with a terminating `;` removed.
fn significant(stmt: &str) -> Vec<Token> {
    let mut toks: Vec<Token> = tokenize(stmt)
        .into_iter()
        .filter(|t| !t.is_comment())
        .collect();
    while toks.last().is_some_and(|t| t.kind == Kind::Semicolon) {
        toks.pop();
    }
    toks
}

/// Classifies `stmt` as a transaction-control statement.
///
/// Recognised: `BEGIN`, `START TRANSACTION`, `COMMIT`, `END`, `ROLLBACK`,
/// `ABORT`, `SAVEPOINT`, `RELEASE`, `PREPARE TRANSACTION`, `COMMIT PREPARED`
/// and `ROLLBACK PREPARED`. `BEGIN ATOMIC` (the start of an SQL-standard
/// routine body) is not transaction control; neither are `SET TRANSACTION`
/// or `PREPARE name AS ...`.
pub fn transaction_control(stmt: &str) -> Option<TransactionControl> {
    let toks = significant(stmt);
    let word = |i: usize| {
        toks.get(i)
            .filter(|t| t.kind == Kind::Word)
            .map(|t| stmt[t.start..t.end].to_ascii_uppercase())
    };
    let w0 = word(0)?;
    let w1 = word(1);
    let is = |w: &Option<String>, s: &str| w.as_deref() == Some(s);
    match w0.as_str() {
        "BEGIN" if !is(&w1, "ATOMIC") => Some(TransactionControl::Begin),
        "START" if is(&w1, "TRANSACTION") => Some(TransactionControl::Begin),
        "COMMIT" if is(&w1, "PREPARED") => Some(TransactionControl::CommitPrepared),
        "COMMIT" | "END" => Some(TransactionControl::Commit),
        "ROLLBACK" if is(&w1, "PREPARED") => Some(TransactionControl::RollbackPrepared),
        "ROLLBACK" | "ABORT" => {
            let to = is(&w1, "TO")
                || ((is(&w1, "WORK") || is(&w1, "TRANSACTION")) && is(&word(2), "TO"));
            Some(if to && w0 == "ROLLBACK" {
                TransactionControl::RollbackToSavepoint
            } else {
                TransactionControl::Rollback
            })
        }
        "SAVEPOINT" => Some(TransactionControl::Savepoint),
        "RELEASE" => Some(TransactionControl::Release),
        "PREPARE" if is(&w1, "TRANSACTION") && toks.get(2).is_some_and(|t| t.kind == Kind::Str) => {
            Some(TransactionControl::PrepareTransaction)
        }
        _ => None,
    }
}

/// If `stmt` is a bare `BEGIN`/`START TRANSACTION` (no transaction modes) or
/// a bare `COMMIT`/`END` (no `AND CHAIN`), returns `Begin` or `Commit`.
pub(crate) fn bare_begin_or_commit(stmt: &str) -> Option<TransactionControl> {
    let toks = significant(stmt);
    if toks.iter().any(|t| t.kind != Kind::Word) {
        return None;
    }
    let words: Vec<String> = toks
        .iter()
        .map(|t| stmt[t.start..t.end].to_ascii_uppercase())
        .collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["BEGIN"] | ["BEGIN", "WORK" | "TRANSACTION"] | ["START", "TRANSACTION"] => {
            Some(TransactionControl::Begin)
        }
        ["COMMIT" | "END"] | ["COMMIT" | "END", "WORK" | "TRANSACTION"] => {
            Some(TransactionControl::Commit)
        }
        _ => None,
    }
}
