//! What a script destroys, read from its parse tree (PostgreSQL's own
//! parser, through libpg_query): `DROP SCHEMA`, `DROP TABLE`, `ALTER TABLE
//! … DROP COLUMN`, `TRUNCATE`, `DELETE`. Names are as the script writes
//! them; the runner resolves them on the live catalog. What the script
//! creates before it drops it is not a loss. `DO` bodies, functions and
//! `EXECUTE` are not looked into: a rehearsal sees them, the parse tree
//! does not.

use pg_query::protobuf::node::Node;
use pg_query::protobuf::{AlterTableType, DropBehavior, ObjectType};

use crate::lint::names::{dropped, Relation};

use super::Lost;

/// A thing a script names to destroy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// What is lost.
    pub lost: Lost,
    /// The schema (of a schema: its name) or table, as written.
    pub relation: Relation,
    /// The column, for [`Lost::Column`].
    pub column: Option<String>,
    /// `DROP SCHEMA … CASCADE`: everything in it goes.
    pub cascade: bool,
    /// A `DELETE` without `WHERE`: every row goes.
    pub every_row: bool,
}

/// What `sql` names to destroy, in order; empty for a script the parser
/// rejects.
pub fn named(sql: &str) -> Vec<Named> {
    let Ok(parsed) = pg_query::parse(sql, pg_query::ParserOptions::DEFAULT) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut created: Vec<Relation> = Vec::new();
    let mut created_schemas: Vec<String> = Vec::new();
    let mut added: Vec<(Relation, String)> = Vec::new();
    let is_new = |created: &[Relation], r: &Relation| created.iter().any(|c| c.same(r));
    for raw in &parsed.protobuf.stmts {
        let Some(node) = raw.stmt.as_ref().and_then(|s| s.node.as_ref()) else {
            continue;
        };
        match node {
            Node::CreateStmt(s) => {
                if let Some(r) = s.relation.as_ref() {
                    created.push(Relation::of(r));
                }
            }
            Node::CreateTableAsStmt(s) => {
                if let Some(r) = s.into.as_ref().and_then(|i| i.rel.as_ref()) {
                    created.push(Relation::of(r));
                }
            }
            Node::CreateSchemaStmt(s) => created_schemas.push(s.schemaname.clone()),
            Node::DropStmt(s) => {
                let cascade = s.behavior == DropBehavior::DropCascade as i32;
                match ObjectType::try_from(s.remove_type) {
                    Ok(ObjectType::ObjectTable) => {
                        for r in dropped(&s.objects) {
                            if !is_new(&created, &r) {
                                out.push(Named {
                                    lost: Lost::Table,
                                    relation: r,
                                    column: None,
                                    cascade,
                                    every_row: true,
                                });
                            }
                        }
                    }
                    Ok(ObjectType::ObjectSchema) => {
                        for r in dropped(&s.objects) {
                            if !created_schemas.contains(&r.name) {
                                out.push(Named {
                                    lost: Lost::Schema,
                                    relation: r,
                                    column: None,
                                    cascade,
                                    every_row: true,
                                });
                            }
                        }
                    }
                    _ => {}
                }
            }
            Node::AlterTableStmt(s) => {
                let Some(range) = s.relation.as_ref() else {
                    continue;
                };
                if ObjectType::try_from(s.objtype) != Ok(ObjectType::ObjectTable) {
                    continue;
                }
                let rel = Relation::of(range);
                for cmd in &s.cmds {
                    let Some(Node::AlterTableCmd(cmd)) = cmd.node.as_ref() else {
                        continue;
                    };
                    match AlterTableType::try_from(cmd.subtype) {
                        Ok(AlterTableType::AtAddColumn) => {
                            if let Some(Node::ColumnDef(d)) =
                                cmd.def.as_ref().and_then(|d| d.node.as_ref())
                            {
                                added.push((rel.clone(), d.colname.clone()));
                            }
                        }
                        Ok(AlterTableType::AtDropColumn) => {
                            let fresh = is_new(&created, &rel)
                                || added.iter().any(|(r, c)| r.same(&rel) && *c == cmd.name);
                            if !fresh {
                                out.push(Named {
                                    lost: Lost::Column,
                                    relation: rel.clone(),
                                    column: Some(cmd.name.clone()),
                                    cascade: cmd.behavior == DropBehavior::DropCascade as i32,
                                    every_row: true,
                                });
                            }
                        }
                        _ => {}
                    }
                }
            }
            Node::TruncateStmt(s) => {
                for r in &s.relations {
                    if let Some(Node::RangeVar(range)) = r.node.as_ref() {
                        let rel = Relation::of(range);
                        if !is_new(&created, &rel) {
                            out.push(Named {
                                lost: Lost::Truncated,
                                relation: rel,
                                column: None,
                                cascade: s.behavior == DropBehavior::DropCascade as i32,
                                every_row: true,
                            });
                        }
                    }
                }
            }
            Node::DeleteStmt(s) => {
                if let Some(range) = s.relation.as_ref() {
                    let rel = Relation::of(range);
                    if !is_new(&created, &rel) {
                        out.push(Named {
                            lost: Lost::Deleted,
                            relation: rel,
                            column: None,
                            cascade: false,
                            every_row: s.where_clause.is_none(),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    out
}
