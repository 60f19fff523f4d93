//! Finding other tools' ledgers: each tool's table as the search path
//! resolves its name (each tool creates it in the first schema of the
//! search path and reads it unqualified). `schema_migrations` is
//! golang-migrate's when it has a `dirty` column, dbmate's otherwise.

use postgres::Client;

use super::{rows, AdoptError, Tool};

/// Another tool's ledger found in the database.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Found {
    /// The tool.
    pub tool: Tool,
    /// The table, as PostgreSQL names it from the search path (schema-
    /// qualified when the schema is not on it).
    pub table: String,
}

/// One row per tool table that exists: its name, the table as `regclass`
/// text, and whether it has a `dirty` column.
fn detect_sql() -> String {
    let mut names: Vec<&str> = Tool::ALL.iter().map(|t| t.table()).collect();
    names.dedup();
    let values: Vec<String> = names
        .iter()
        .map(|n| format!("({})", crate::sql::quote_literal(n)))
        .collect();
    format!(
        r#"SELECT t.name, c.oid::pg_catalog.regclass::pg_catalog.text,
    EXISTS (SELECT FROM pg_catalog.pg_attribute a WHERE a.attrelid OPERATOR(pg_catalog.=) c.oid
        AND a.attname OPERATOR(pg_catalog.=) 'dirty' AND NOT a.attisdropped)
FROM (VALUES {}) AS t(name)
JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(pg_catalog.quote_ident(t.name))"#,
        values.join(", ")
    )
}

/// Every other tool's ledger in the database the client is connected to.
pub fn detect(client: &mut Client) -> Result<Vec<Found>, AdoptError> {
    let probe = Found {
        tool: Tool::Sqlx,
        table: "the other tools' tables".into(),
    };
    let mut found = Vec::new();
    for row in rows(client, &probe, &detect_sql())? {
        let name = super::text(&row, 0);
        let table = super::text(&row, 1);
        let dirty = row.get(2).cloned().flatten().as_deref() == Some("t");
        let tool = match name.as_str() {
            "schema_migrations" if dirty => Tool::GolangMigrate,
            "schema_migrations" => Tool::Dbmate,
            other => match Tool::ALL.iter().find(|t| t.table() == other) {
                Some(t) => *t,
                None => continue,
            },
        };
        found.push(Found { tool, table });
    }
    found.sort_by_key(|f| Tool::ALL.iter().position(|t| *t == f.tool));
    Ok(found)
}

/// The ledger to adopt: that of `from`, or the only one found.
pub fn choose(found: Vec<Found>, from: Option<Tool>) -> Result<Found, AdoptError> {
    match from {
        Some(tool) => found
            .into_iter()
            .find(|f| f.tool == tool)
            .ok_or(AdoptError::NotFound { tool: Some(tool) }),
        None => {
            let mut found = found.into_iter();
            match (found.next(), found.next()) {
                (None, _) => Err(AdoptError::NotFound { tool: None }),
                (Some(one), None) => Ok(one),
                (Some(first), Some(second)) => Err(AdoptError::Ambiguous { first, second }),
            }
        }
    }
}
