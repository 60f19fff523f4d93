//! The index a concurrent index build names, from the parse tree: what an
//! interrupted build may leave behind as an INVALID index.

use pg_query::protobuf::{node::Node, ReindexObjectType};

/// A statement that builds an index concurrently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConcurrentIndex {
    /// `CREATE [UNIQUE] INDEX CONCURRENTLY [name] ON [schema.]table`.
    Create {
        /// The table's schema, if named.
        schema: Option<String>,
        /// The table.
        table: String,
        /// The index, if named.
        index: Option<String>,
    },
    /// `REINDEX INDEX CONCURRENTLY [schema.]index`.
    ReindexIndex {
        /// The schema, if named.
        schema: Option<String>,
        /// The index.
        index: String,
    },
    /// `REINDEX TABLE CONCURRENTLY [schema.]table`.
    ReindexTable {
        /// The schema, if named.
        schema: Option<String>,
        /// The table.
        table: String,
    },
}

/// The concurrent index build `statement` is, if it is one statement that
/// builds an index concurrently.
pub fn concurrent_index(statement: &str) -> Option<ConcurrentIndex> {
    let parsed = pg_query::parse(statement, pg_query::ParserOptions::DEFAULT).ok()?;
    let [raw] = parsed.protobuf.stmts.as_slice() else {
        return None;
    };
    let named = |s: &str| (!s.is_empty()).then(|| s.to_string());
    match raw.stmt.as_ref()?.node.as_ref()? {
        Node::IndexStmt(i) if i.concurrent => {
            let rel = i.relation.as_ref()?;
            Some(ConcurrentIndex::Create {
                schema: named(&rel.schemaname),
                table: rel.relname.clone(),
                index: named(&i.idxname),
            })
        }
        Node::ReindexStmt(r) => {
            let concurrently = r.params.iter().any(|p| {
                matches!(p.node.as_ref(), Some(Node::DefElem(d)) if d.defname == "concurrently")
            });
            if !concurrently {
                return None;
            }
            let rel = r.relation.as_ref()?;
            let schema = named(&rel.schemaname);
            match ReindexObjectType::try_from(r.kind).ok()? {
                ReindexObjectType::ReindexObjectIndex => Some(ConcurrentIndex::ReindexIndex {
                    schema,
                    index: rel.relname.clone(),
                }),
                ReindexObjectType::ReindexObjectTable => Some(ConcurrentIndex::ReindexTable {
                    schema,
                    table: rel.relname.clone(),
                }),
                _ => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_concurrent_builds() {
        assert_eq!(
            concurrent_index("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS \"I x\" ON s.t (a);"),
            Some(ConcurrentIndex::Create {
                schema: Some("s".into()),
                table: "t".into(),
                index: Some("I x".into())
            })
        );
        assert_eq!(
            concurrent_index("create index concurrently on T (a)"),
            Some(ConcurrentIndex::Create {
                schema: None,
                table: "t".into(),
                index: None
            })
        );
        assert_eq!(
            concurrent_index("REINDEX INDEX CONCURRENTLY i"),
            Some(ConcurrentIndex::ReindexIndex {
                schema: None,
                index: "i".into()
            })
        );
        assert_eq!(
            concurrent_index("REINDEX (VERBOSE) TABLE CONCURRENTLY s.t"),
            Some(ConcurrentIndex::ReindexTable {
                schema: Some("s".into()),
                table: "t".into()
            })
        );
        assert_eq!(concurrent_index("CREATE INDEX i ON t (a)"), None);
        assert_eq!(concurrent_index("REINDEX INDEX i"), None);
        assert_eq!(concurrent_index("SELECT 1"), None);
    }
}
