//! Data loss: `DROP TABLE`, `DROP COLUMN`, `DROP SCHEMA`, `TRUNCATE`,
//! `DELETE` and `UPDATE` without `WHERE`, `DROP DATABASE`, and `DROP …
//! CASCADE`. An up script with one of these, unacknowledged, is a
//! destructive upgrade for the guard; down scripts are not looked at (a
//! downgrade is destructive as a whole).

use pg_query::protobuf::node::Node;
use pg_query::protobuf::{
    AlterTableCmd, DeleteStmt, DropBehavior, DropStmt, DropdbStmt, ObjectType, TruncateStmt,
};

use super::names::{dropped, Relation};
use super::rules::{self, Rule};
use super::walk::{Ask, FileCx};

fn help(rule: &Rule, first: &str) -> String {
    format!(
        "{first}; when the loss is intended, acknowledge it in the file: `-- wdh:allow {} <reason>` among its first comment lines (without it, `upgrade` refuses this migration on a protected database)",
        rule.id
    )
}

fn cascade(behavior: i32, what: &str) -> String {
    if behavior == DropBehavior::DropCascade as i32 {
        format!(", and with `CASCADE` {what}")
    } else {
        String::new()
    }
}

pub(super) fn drop(cx: &mut FileCx<'_>, s: &DropStmt) {
    let kind = ObjectType::try_from(s.remove_type).unwrap_or(ObjectType::Undefined);
    match kind {
        ObjectType::ObjectTable => {
            for rel in dropped(&s.objects) {
                if cx.is_new(&rel) {
                    continue;
                }
                cx.hit(
                    &rules::DROP_TABLE,
                    -1,
                    format!(
                        "`DROP TABLE {}` loses every row of {rel}{}",
                        rel.name,
                        cascade(s.behavior, "the views and foreign keys that depend on it")
                    ),
                    help(&rules::DROP_TABLE, "stop using the table in the code and deploy that first; keep the table (or a dump of it) until you are sure"),
                    Ask::Nothing,
                );
            }
        }
        ObjectType::ObjectSchema => {
            for schema in dropped(&s.objects) {
                if cx.created_schemas.contains(&schema.name) {
                    continue;
                }
                let what = if s.behavior == DropBehavior::DropCascade as i32 {
                    "drops every table in it, with its rows, and everything else it holds"
                } else {
                    "drops it (only if it is empty: without `CASCADE` it fails otherwise)"
                };
                cx.hit(
                    &rules::DROP_SCHEMA,
                    -1,
                    format!("`DROP SCHEMA {}` {what}", schema.name),
                    help(
                        &rules::DROP_SCHEMA,
                        "drop what it holds in earlier, reviewed migrations, so each loss is seen",
                    ),
                    Ask::Nothing,
                );
            }
        }
        ObjectType::ObjectIndex | ObjectType::ObjectDatabase => {}
        other if s.behavior == DropBehavior::DropCascade as i32 => {
            let what = match other {
                ObjectType::ObjectType => "TYPE",
                ObjectType::ObjectDomain => "DOMAIN",
                ObjectType::ObjectExtension => "EXTENSION",
                ObjectType::ObjectFunction => "FUNCTION",
                ObjectType::ObjectProcedure => "PROCEDURE",
                ObjectType::ObjectSequence => "SEQUENCE",
                ObjectType::ObjectView => "VIEW",
                ObjectType::ObjectMatview => "MATERIALIZED VIEW",
                ObjectType::ObjectForeignTable => "FOREIGN TABLE",
                ObjectType::ObjectCollation => "COLLATION",
                _ => "…",
            };
            cx.hit(
                &rules::DROP_CASCADE,
                -1,
                format!("`DROP {what} … CASCADE` also drops what depends on it, without naming it: columns of a type or domain in every table (with their data), defaults, views, triggers"),
                help(&rules::DROP_CASCADE, "drop the dependents yourself first, so the file says what is lost, then drop it without `CASCADE`"),
                Ask::Nothing,
            );
        }
        _ => {}
    }
}

pub(super) fn drop_column(cx: &mut FileCx<'_>, rel: &Relation, location: i32, cmd: &AlterTableCmd) {
    if cx.is_new_column(rel, &cmd.name) {
        return;
    }
    cx.hit(
        &rules::DROP_COLUMN,
        location,
        format!(
            "`DROP COLUMN {}` loses the column's values in every row of {rel}{}; the running code may still read or write it",
            cmd.name,
            cascade(cmd.behavior, "the views, indexes and constraints that use it")
        ),
        help(&rules::DROP_COLUMN, "stop using the column in the code (and the ORM's column list) and deploy that first"),
        Ask::Nothing,
    );
}

pub(super) fn truncate(cx: &mut FileCx<'_>, s: &TruncateStmt) {
    for r in &s.relations {
        let Some(Node::RangeVar(range)) = r.node.as_ref() else {
            continue;
        };
        let rel = Relation::of(range);
        if cx.is_new(&rel) {
            continue;
        }
        cx.hit(
            &rules::TRUNCATE,
            range.location,
            format!(
                "`TRUNCATE` loses every row of {rel}{}",
                cascade(s.behavior, "those of every table that references it")
            ),
            help(
                &rules::TRUNCATE,
                "delete only the rows meant, with a `WHERE`",
            ),
            Ask::Nothing,
        );
    }
}

pub(super) fn delete(cx: &mut FileCx<'_>, s: &DeleteStmt) {
    let Some(range) = s.relation.as_ref() else {
        return;
    };
    let rel = Relation::of(range);
    if s.where_clause.is_some() || cx.is_new(&rel) {
        return;
    }
    cx.hit(
        &rules::DELETE_WITHOUT_WHERE,
        range.location,
        format!("`DELETE` without `WHERE` loses every row of {rel}"),
        help(
            &rules::DELETE_WITHOUT_WHERE,
            "add the `WHERE` that limits it to the rows meant",
        ),
        Ask::Nothing,
    );
}

/// `UPDATE` without `WHERE` of columns that were there before the
/// migration.
pub(super) fn update_all(cx: &mut FileCx<'_>, rel: &Relation, location: i32, columns: &[&String]) {
    cx.hit(
        &rules::UPDATE_WITHOUT_WHERE,
        location,
        format!(
            "`UPDATE` without `WHERE` overwrites {} in every row of {rel}: the old values are lost",
            columns
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        help(
            &rules::UPDATE_WITHOUT_WHERE,
            "add the `WHERE` that limits it to the rows meant",
        ),
        Ask::Nothing,
    );
}

pub(super) fn drop_database(cx: &mut FileCx<'_>, s: &DropdbStmt) {
    cx.hit(
        &rules::DROP_DATABASE,
        -1,
        format!("`DROP DATABASE {}` loses a whole database", s.dbname),
        help(
            &rules::DROP_DATABASE,
            "a migration of one database should not drop another; do it by hand, deliberately",
        ),
        Ask::Nothing,
    );
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{fires, hits, quiet};

    #[test]
    fn drop_table() {
        fires("drop-table", "DROP TABLE t;", (1, 1));
        fires(
            "drop-table",
            "SELECT 1;\n DROP TABLE IF EXISTS a, s.b CASCADE;",
            (2, 2),
        );
        quiet(
            "drop-table",
            "CREATE TABLE scratch (a int);\nDROP TABLE scratch;",
        );
        quiet("drop-table", "DROP VIEW v;");
    }

    #[test]
    fn drop_column() {
        fires("drop-column", "ALTER TABLE t DROP COLUMN a;", (1, 13));
        quiet(
            "drop-column",
            "ALTER TABLE t ADD COLUMN a int;\nALTER TABLE t DROP COLUMN a;",
        );
        quiet("drop-column", "ALTER TABLE t DROP CONSTRAINT c;");
    }

    #[test]
    fn drop_schema() {
        fires("drop-schema", "DROP SCHEMA app CASCADE;", (1, 1));
        fires("drop-schema", "DROP SCHEMA app;", (1, 1));
        quiet("drop-schema", "CREATE SCHEMA tmp; DROP SCHEMA tmp;");
    }

    #[test]
    fn truncate_delete_update() {
        fires("truncate", "TRUNCATE t, u CASCADE;", (1, 10));
        quiet("truncate", "CREATE TABLE t (a int); TRUNCATE t;");
        fires("delete-without-where", "DELETE FROM t;", (1, 13));
        quiet("delete-without-where", "DELETE FROM t WHERE a IS NULL;");
        fires("update-without-where", "UPDATE t SET a = 1;", (1, 8));
        quiet(
            "update-without-where",
            "UPDATE t SET a = 1 WHERE a IS NULL;",
        );
        quiet(
            "update-without-where",
            "ALTER TABLE t ADD COLUMN c int;\nUPDATE t SET c = 1;",
        );
    }

    #[test]
    fn drop_database_and_cascade() {
        fires(
            "drop-database",
            "-- wdh:no-transaction\nDROP DATABASE other;",
            (2, 1),
        );
        fires("drop-cascade", "DROP TYPE mood CASCADE;", (1, 1));
        fires("drop-cascade", "DROP EXTENSION hstore CASCADE;", (1, 1));
        quiet("drop-cascade", "DROP TYPE mood;");
    }

    #[test]
    fn down_scripts_are_not_looked_at() {
        for sql in [
            "DROP TABLE t;",
            "ALTER TABLE t DROP COLUMN a;",
            "TRUNCATE t;",
        ] {
            let found = hits(sql, false, None);
            assert!(
                found.iter().all(|h| !h.rule.is_destructive()),
                "{sql}: {found:?}"
            );
        }
    }
}
