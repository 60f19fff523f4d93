//! Whether a statement that runs outside a transaction can run again after
//! its lock wait was cancelled, from the parse tree.
//!
//! Outside a transaction block most statements still run in one
//! transaction of their own: cancelled, they leave nothing, and run again
//! as if for the first time. A few commit part of their work on the way: a
//! concurrent index build leaves an INVALID index (dropped before the next
//! attempt), and a procedure, a `DO` block, a partition detached
//! concurrently and a `REINDEX` of a whole schema, database or system leave
//! what a new attempt would repeat or could not tell from what was there.

use pg_query::protobuf::{node::Node, AlterTableType, ReindexObjectType};

use super::{concurrent_index, ConcurrentIndex};

/// What a statement outside a transaction leaves when its lock wait is
/// cancelled, and so whether it runs again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rerun {
    /// Nothing: it runs again.
    Safe,
    /// A concurrent index build: an INVALID index, dropped before it runs
    /// again.
    IndexBuild(ConcurrentIndex),
    /// Part of its work, or something a new attempt could not tell from
    /// what was there: it is not cancelled, and waits for its locks as the
    /// server's `lock_timeout` says. Why, as a phrase.
    Unsafe(&'static str),
}

/// How `statement`, one statement that runs outside a transaction, can run
/// again (`Unsafe` for one that does not parse, and for transaction
/// control).
pub fn rerun(statement: &str) -> Rerun {
    let Ok(parsed) = pg_query::parse(statement, pg_query::ParserOptions::DEFAULT) else {
        return Rerun::Unsafe("it does not parse");
    };
    let [raw] = parsed.protobuf.stmts.as_slice() else {
        return Rerun::Unsafe("it is not one statement");
    };
    let Some(node) = raw.stmt.as_ref().and_then(|s| s.node.as_ref()) else {
        return Rerun::Unsafe("it is empty");
    };
    match node {
        Node::CallStmt(_) => Rerun::Unsafe("a procedure may commit part of its work"),
        Node::DoStmt(_) => Rerun::Unsafe("a DO block may commit part of its work"),
        Node::TransactionStmt(_) => Rerun::Unsafe("it controls the transaction"),
        Node::AlterTableStmt(a) if detaches_concurrently(a) => Rerun::Unsafe(
            "a cancelled DETACH PARTITION … CONCURRENTLY must be finished with FINALIZE",
        ),
        Node::ReindexStmt(r) if concurrently(&r.params) && !one_relation(r.kind) => Rerun::Unsafe(
            "a REINDEX … CONCURRENTLY of a schema, database or system leaves copies no retry can tell",
        ),
        Node::IndexStmt(_) | Node::ReindexStmt(_) => match concurrent_index(statement) {
            Some(build) => Rerun::IndexBuild(build),
            None => Rerun::Safe,
        },
        _ => Rerun::Safe,
    }
}

fn detaches_concurrently(a: &pg_query::protobuf::AlterTableStmt) -> bool {
    a.cmds.iter().any(|c| match c.node.as_ref() {
        Some(Node::AlterTableCmd(cmd)) => {
            cmd.subtype == AlterTableType::AtDetachPartition as i32
                && matches!(
                    cmd.def.as_deref().and_then(|d| d.node.as_ref()),
                    Some(Node::PartitionCmd(p)) if p.concurrent
                )
        }
        _ => false,
    })
}

fn concurrently(params: &[pg_query::protobuf::Node]) -> bool {
    params
        .iter()
        .any(|p| matches!(p.node.as_ref(), Some(Node::DefElem(d)) if d.defname == "concurrently"))
}

fn one_relation(kind: i32) -> bool {
    matches!(
        ReindexObjectType::try_from(kind),
        Ok(ReindexObjectType::ReindexObjectIndex | ReindexObjectType::ReindexObjectTable)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_that_commit_on_the_way_are_not_run_again() {
        for safe in [
            "ALTER TABLE t ADD COLUMN c int",
            "ALTER TYPE mood ADD VALUE 'meh'",
            "DROP INDEX CONCURRENTLY i",
            "VACUUM t",
            "REINDEX INDEX i",
            "ALTER TABLE p DETACH PARTITION c",
        ] {
            assert_eq!(rerun(safe), Rerun::Safe, "{safe}");
        }
        assert!(matches!(
            rerun("CREATE INDEX CONCURRENTLY i ON t (a)"),
            Rerun::IndexBuild(ConcurrentIndex::Create { index: Some(_), .. })
        ));
        assert!(matches!(
            rerun("create index concurrently on t (a)"),
            Rerun::IndexBuild(ConcurrentIndex::Create { index: None, .. })
        ));
        assert!(matches!(
            rerun("REINDEX TABLE CONCURRENTLY t"),
            Rerun::IndexBuild(ConcurrentIndex::ReindexTable { .. })
        ));
        for not in [
            "CALL p()",
            "DO $$ BEGIN COMMIT; END $$",
            "ALTER TABLE p DETACH PARTITION c CONCURRENTLY",
            "REINDEX SCHEMA CONCURRENTLY s",
            "BEGIN",
            "COMMIT",
            "SELEC 1",
        ] {
            assert!(matches!(rerun(not), Rerun::Unsafe(_)), "{not}");
        }
    }
}
