//! Transaction control, as PostgreSQL's parser classifies it.

use pg_query::protobuf::{TransactionStmt, TransactionStmtKind};

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
