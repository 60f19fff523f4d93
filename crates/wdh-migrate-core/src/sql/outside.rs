//! Statements Flyway runs outside a transaction: those PostgreSQL refuses
//! inside a transaction block, as Flyway's PostgreSQL parser lists them
//! (`PostgreSQLParser.detectCanExecuteInTransaction`), read from the parse
//! tree rather than matched as text.

use pg_query::protobuf::{node::Node, DiscardMode, ObjectType, ReindexObjectType};

/// Whether the statement `node` is one Flyway runs outside a transaction:
/// `CREATE`/`DROP DATABASE`, `TABLESPACE` or `SUBSCRIPTION`, `ALTER
/// SYSTEM`, `CREATE`/`DROP INDEX CONCURRENTLY`, `REINDEX SCHEMA`,
/// `DATABASE` or `SYSTEM`, `VACUUM` and `DISCARD ALL`. (Flyway also lists
/// `ALTER TYPE … ADD VALUE`, which PostgreSQL 12 and later run inside a
/// transaction.)
fn outside(node: &Node) -> bool {
    match node {
        Node::CreatedbStmt(_)
        | Node::DropdbStmt(_)
        | Node::CreateTableSpaceStmt(_)
        | Node::DropTableSpaceStmt(_)
        | Node::CreateSubscriptionStmt(_)
        | Node::DropSubscriptionStmt(_)
        | Node::AlterSystemStmt(_)
        | Node::VacuumStmt(_) => true,
        Node::IndexStmt(i) => i.concurrent,
        Node::DropStmt(d) => d.concurrent && d.remove_type == ObjectType::ObjectIndex as i32,
        Node::ReindexStmt(r) => [
            ReindexObjectType::ReindexObjectSchema,
            ReindexObjectType::ReindexObjectSystem,
            ReindexObjectType::ReindexObjectDatabase,
        ]
        .iter()
        .any(|k| r.kind == *k as i32),
        Node::DiscardStmt(d) => d.target == DiscardMode::DiscardAll as i32,
        _ => false,
    }
}

/// For each top-level statement of `src`, in order, its byte offset and
/// whether Flyway runs it outside a transaction; empty when the parser
/// rejects `src`.
pub(crate) fn outside_transaction(src: &str) -> Vec<(usize, bool)> {
    let Ok(parsed) = pg_query::parse(src, pg_query::ParserOptions::DEFAULT) else {
        return Vec::new();
    };
    parsed
        .protobuf
        .stmts
        .iter()
        .map(|raw| {
            let at = usize::try_from(raw.stmt_location).unwrap_or(0);
            let out = raw
                .stmt
                .as_ref()
                .and_then(|n| n.node.as_ref())
                .is_some_and(outside);
            (at, out)
        })
        .collect()
}
