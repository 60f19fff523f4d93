//! Transaction control, as PostgreSQL's parser classifies it (or, in a
//! script the parser rejects, as a statement's first words suggest).

use pg_query::protobuf::{Token, TransactionStmt, TransactionStmtKind};

use super::scan::Tok;

/// A statement that controls the transaction.
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

/// The kind of a parsed transaction statement, and whether it is bare: a
/// `BEGIN` without transaction modes or a `COMMIT` without `AND CHAIN`.
pub(super) fn classify(stmt: &TransactionStmt) -> Option<(TransactionControl, bool)> {
    use TransactionStmtKind as K;
    let kind = match TransactionStmtKind::try_from(stmt.kind).ok()? {
        K::TransStmtBegin | K::TransStmtStart => TransactionControl::Begin,
        K::TransStmtCommit => TransactionControl::Commit,
        K::TransStmtRollback => TransactionControl::Rollback,
        K::TransStmtSavepoint => TransactionControl::Savepoint,
        K::TransStmtRelease => TransactionControl::Release,
        K::TransStmtRollbackTo => TransactionControl::RollbackToSavepoint,
        K::TransStmtPrepare => TransactionControl::PrepareTransaction,
        K::TransStmtCommitPrepared => TransactionControl::CommitPrepared,
        K::TransStmtRollbackPrepared => TransactionControl::RollbackPrepared,
        K::Undefined => return None,
    };
    let bare = stmt.options.is_empty() && !stmt.chain;
    Some((kind, bare))
}

/// The transaction control a statement of a script the parser rejects
/// starts like, from its tokens (comments left out), and whether it is
/// bare. Such a script's statements are only told apart at its semicolons,
/// so the test is deliberately wide: a statement that starts with a word
/// that starts transaction control counts as it, whatever follows (an
/// `END` closing a `BEGIN ATOMIC` body counts too).
pub(super) fn leading(toks: &[Tok]) -> Option<(TransactionControl, bool)> {
    let first = toks.first()?;
    let is = |i: usize, t: Token| toks.get(i).is_some_and(|tok| tok.is(t));
    let kind = if first.is(Token::BeginP) || first.is(Token::Start) {
        TransactionControl::Begin
    } else if first.is(Token::Commit) && is(1, Token::Prepared) {
        TransactionControl::CommitPrepared
    } else if first.is(Token::Commit) || first.is(Token::EndP) {
        TransactionControl::Commit
    } else if first.is(Token::Rollback) && is(1, Token::Prepared) {
        TransactionControl::RollbackPrepared
    } else if first.is(Token::Rollback) && toks.iter().any(|t| t.is(Token::To)) {
        TransactionControl::RollbackToSavepoint
    } else if first.is(Token::Rollback) || first.is(Token::AbortP) {
        TransactionControl::Rollback
    } else if first.is(Token::Savepoint) {
        TransactionControl::Savepoint
    } else if first.is(Token::Release) {
        TransactionControl::Release
    } else if first.is(Token::Prepare) && is(1, Token::Transaction) {
        TransactionControl::PrepareTransaction
    } else {
        return None;
    };
    // Bare: `BEGIN`, `START TRANSACTION`, `COMMIT`, `END`, each with an
    // optional WORK or TRANSACTION and nothing else.
    let bare = matches!(kind, TransactionControl::Begin | TransactionControl::Commit)
        && toks[1..]
            .iter()
            .all(|t| t.is(Token::Work) || t.is(Token::Transaction) || t.is_semicolon())
        && (!first.is(Token::Start) || is(1, Token::Transaction));
    Some((kind, bare))
}
