//! Rewrites of the whole table: a column type change, a new column that
//! must be computed for every row, `SET TABLESPACE` and friends, and a
//! backfill in the migration's transaction.

use pg_query::protobuf::node::Node;
use pg_query::protobuf::{AlterTableType, ColumnDef, ConstrType, Constraint, UpdateStmt};

use super::destructive;
use super::names::{strings, Relation, TypeSpec};
use super::rules;
use super::walk::{Ask, FileCx};

/// Built-in functions that are not volatile (in every overload), among
/// those a column default calls; a default made of constants, operators,
/// casts and these needs no rewrite on PostgreSQL 11+.
const NOT_VOLATILE: &[&str] = &[
    "abs",
    "array_length",
    "btrim",
    "ceil",
    "ceiling",
    "coalesce",
    "concat",
    "concat_ws",
    "current_database",
    "current_schema",
    "current_setting",
    "date",
    "date_part",
    "date_trunc",
    "floor",
    "format",
    "greatest",
    "initcap",
    "int4",
    "int8",
    "interval",
    "json_build_array",
    "json_build_object",
    "jsonb_build_array",
    "jsonb_build_object",
    "least",
    "left",
    "length",
    "localtime",
    "localtimestamp",
    "lower",
    "lpad",
    "ltrim",
    "make_date",
    "make_interval",
    "make_time",
    "make_timestamp",
    "make_timestamptz",
    "md5",
    "now",
    "nullif",
    "numeric",
    "replace",
    "right",
    "round",
    "rpad",
    "rtrim",
    "split_part",
    "statement_timestamp",
    "substr",
    "substring",
    "text",
    "timezone",
    "to_char",
    "to_date",
    "to_json",
    "to_jsonb",
    "to_number",
    "to_timestamp",
    "transaction_timestamp",
    "trim",
    "trunc",
    "upper",
];

/// Built-in functions that are volatile, among those a default calls.
const VOLATILE: &[&str] = &[
    "clock_timestamp",
    "gen_random_uuid",
    "nextval",
    "pg_current_xact_id",
    "random",
    "random_normal",
    "setval",
    "timeofday",
    "txid_current",
    "uuid_generate_v1",
    "uuid_generate_v1mc",
    "uuid_generate_v4",
    "uuidv4",
    "uuidv7",
];

/// What evaluating a default once per row costs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Volatility {
    /// Not volatile: evaluated once, stored in the catalog.
    Stable,
    /// Volatile: evaluated for every row, which rewrites the table.
    Volatile,
    /// Calls functions lint does not know (a target tells).
    Unknown(Vec<String>),
}

impl Volatility {
    fn and(self, other: Volatility) -> Volatility {
        match (self, other) {
            (Volatility::Volatile, _) | (_, Volatility::Volatile) => Volatility::Volatile,
            (Volatility::Unknown(mut a), Volatility::Unknown(b)) => {
                a.extend(b);
                a.sort();
                a.dedup();
                Volatility::Unknown(a)
            }
            (Volatility::Unknown(a), _) | (_, Volatility::Unknown(a)) => Volatility::Unknown(a),
            _ => Volatility::Stable,
        }
    }
}

/// The volatility of an expression, as far as the parse tree tells.
pub(super) fn volatility(node: Option<&Node>) -> Volatility {
    let all = |nodes: &[pg_query::protobuf::Node]| {
        nodes.iter().fold(Volatility::Stable, |v, n| {
            v.and(volatility(n.node.as_ref()))
        })
    };
    let boxed = |n: &Option<Box<pg_query::protobuf::Node>>| {
        volatility(n.as_ref().and_then(|n| n.node.as_ref()))
    };
    match node {
        None => Volatility::Stable,
        Some(Node::AConst(_) | Node::SqlvalueFunction(_)) => Volatility::Stable,
        Some(Node::TypeCast(c)) => boxed(&c.arg),
        Some(Node::CollateClause(c)) => boxed(&c.arg),
        Some(Node::AExpr(e)) => boxed(&e.lexpr).and(boxed(&e.rexpr)),
        Some(Node::BoolExpr(e)) => all(&e.args),
        Some(Node::NullTest(e)) => boxed(&e.arg),
        Some(Node::CoalesceExpr(e)) => all(&e.args),
        Some(Node::MinMaxExpr(e)) => all(&e.args),
        Some(Node::AArrayExpr(e)) => all(&e.elements),
        Some(Node::RowExpr(e)) => all(&e.args),
        Some(Node::List(l)) => all(&l.items),
        Some(Node::CaseExpr(e)) => {
            let whens = e
                .args
                .iter()
                .fold(Volatility::Stable, |v, w| match w.node.as_ref() {
                    Some(Node::CaseWhen(w)) => v.and(boxed(&w.expr)).and(boxed(&w.result)),
                    other => v.and(volatility(other)),
                });
            boxed(&e.arg).and(whens).and(boxed(&e.defresult))
        }
        Some(Node::FuncCall(f)) => {
            let names = strings(&f.funcname);
            let builtin = match names.as_slice() {
                [name] => Some(name.as_str()),
                [schema, name] if schema == "pg_catalog" => Some(name.as_str()),
                _ => None,
            };
            let own = match builtin {
                Some(n) if NOT_VOLATILE.contains(&n) => Volatility::Stable,
                Some(n) if VOLATILE.contains(&n) => Volatility::Volatile,
                _ => Volatility::Unknown(vec![names.join(".")]),
            };
            own.and(all(&f.args))
        }
        Some(_) => Volatility::Volatile,
    }
}

fn constraints(col: &ColumnDef) -> impl Iterator<Item = &Constraint> {
    col.constraints
        .iter()
        .filter_map(|c| match c.node.as_ref() {
            Some(Node::Constraint(c)) => Some(&**c),
            _ => None,
        })
}

fn kind(c: &Constraint) -> ConstrType {
    ConstrType::try_from(c.contype).unwrap_or(ConstrType::Undefined)
}

const SERIALS: &[&str] = &[
    "serial",
    "bigserial",
    "smallserial",
    "serial2",
    "serial4",
    "serial8",
];

const ADD_THEN_BACKFILL: &str = "add the column without that default (a constant default is free since PostgreSQL 11), give it its default with `ALTER COLUMN … SET DEFAULT` for new rows, and fill the existing rows in batches outside the migration";

pub(super) fn add_column(cx: &mut FileCx<'_>, rel: &Relation, col: &ColumnDef) {
    if cx.is_new(rel) {
        return;
    }
    let location = col.location;
    let name = &col.colname;
    let ty = col.type_name.as_ref().map(TypeSpec::of);
    let serial = ty
        .as_ref()
        .is_some_and(|t| t.schema.is_none() && SERIALS.contains(&t.name.as_str()));
    let mut default = None;
    let mut rewrite = None;
    let mut not_null = col.is_not_null;
    for c in constraints(col) {
        match kind(c) {
            ConstrType::ConstrDefault => default = Some(c),
            ConstrType::ConstrIdentity => {
                rewrite = Some(format!(
                    "the identity column `{name}` is filled from its sequence for every row: `ADD COLUMN` rewrites {rel} under ACCESS EXCLUSIVE"
                ));
            }
            ConstrType::ConstrGenerated if c.generated_kind != "v" => {
                rewrite = Some(format!(
                    "the stored generated column `{name}` is computed for every row: `ADD COLUMN` rewrites {rel} under ACCESS EXCLUSIVE"
                ));
            }
            ConstrType::ConstrNotnull => not_null = true,
            _ => {}
        }
    }
    if serial && rewrite.is_none() {
        rewrite = Some(format!(
            "the serial column `{name}` gets `nextval()` for every row: `ADD COLUMN` rewrites {rel} under ACCESS EXCLUSIVE"
        ));
    }
    let filled = rewrite.is_some() || default.is_some();
    if let Some(message) = rewrite {
        cx.hit(
            &rules::VOLATILE_DEFAULT,
            location,
            message,
            "add a plain nullable column, fill it in batches outside the migration, then add the identity or default for new rows".into(),
            Ask::Size(cx.table(rel)),
        );
    } else if let Some(d) = default {
        let expr = d.raw_expr.as_ref().and_then(|e| e.node.as_ref());
        let null = matches!(expr, Some(Node::AConst(c)) if c.isnull);
        if null {
            // DEFAULT NULL: nothing to store.
        } else if !cx.at_least(110_000) {
            cx.hit(
                &rules::VOLATILE_DEFAULT,
                d.location,
                format!("before PostgreSQL 11 every default is written to every row: `ADD COLUMN {name} … DEFAULT` rewrites {rel} under ACCESS EXCLUSIVE"),
                "add the column without a default, set the default with `ALTER COLUMN … SET DEFAULT` for new rows, and fill the existing rows in batches outside the migration".into(),
                Ask::Size(cx.table(rel)),
            );
        } else {
            match volatility(expr) {
                Volatility::Stable => {}
                Volatility::Volatile => cx.hit(
                    &rules::VOLATILE_DEFAULT,
                    d.location,
                    format!("the default of `{name}` is volatile, so it is computed for every row: `ADD COLUMN` rewrites {rel} under ACCESS EXCLUSIVE"),
                    ADD_THEN_BACKFILL.into(),
                    Ask::Size(cx.table(rel)),
                ),
                Volatility::Unknown(functions) => cx.hit(
                    &rules::VOLATILE_DEFAULT,
                    d.location,
                    format!(
                        "the default of `{name}` calls {}, which may be volatile (the target's catalog tells): then it is computed for every row and `ADD COLUMN` rewrites {rel} under ACCESS EXCLUSIVE",
                        functions.iter().map(|f| format!("`{f}()`")).collect::<Vec<_>>().join(", ")
                    ),
                    ADD_THEN_BACKFILL.into(),
                    Ask::Default {
                        table: cx.table(rel),
                        functions,
                    },
                ),
            }
        }
    }
    if not_null && !filled {
        cx.hit(
            &rules::ADD_REQUIRED_COLUMN,
            location,
            format!("`ADD COLUMN {name} … NOT NULL` without a default fails on {rel} as soon as it has a row"),
            "give it a default (a constant one is free since PostgreSQL 11), or add it nullable, fill it, and make it NOT NULL the way `set-not-null` says".into(),
            Ask::Size(cx.table(rel)),
        );
    }
}

pub(super) fn type_change(
    cx: &mut FileCx<'_>,
    rel: &Relation,
    location: i32,
    column: &str,
    col: &ColumnDef,
) {
    if cx.is_new_column(rel, column) {
        return;
    }
    let Some(to) = col.type_name.as_ref().map(TypeSpec::of) else {
        return;
    };
    let using = col.raw_default.is_some();
    let ask = if using {
        Ask::Size(cx.table(rel))
    } else {
        Ask::TypeChange {
            table: cx.table(rel),
            column: column.to_string(),
            to: to.clone(),
        }
    };
    cx.hit(
        &rules::COLUMN_TYPE_CHANGE,
        location,
        format!(
            "`ALTER COLUMN {column} TYPE {to}`{} rewrites {rel} and rebuilds its indexes under ACCESS EXCLUSIVE: its reads and writes wait until it ends",
            if using { " … USING" } else { "" }
        ),
        "add a column of the new type, fill it in batches (a trigger keeps it in step), move the code to it, then drop the old one; a change that needs no rewrite (`varchar(n)` to a longer `varchar` or to `text`, `numeric(p,s)` to a higher precision) is fine, and with a target lint tells which it is".into(),
        ask,
    );
}

pub(super) fn table_rewrite(cx: &mut FileCx<'_>, rel: &Relation, location: i32, t: AlterTableType) {
    if cx.is_new(rel) {
        return;
    }
    let (what, help) = match t {
        AlterTableType::AtSetTableSpace => (
            "`SET TABLESPACE` copies",
            "create the table in its tablespace from the start, or move it with `pg_repack --tablespace` outside the migration",
        ),
        AlterTableType::AtSetLogged => (
            "`SET LOGGED` rewrites (and writes to the WAL)",
            "decide when the table is created; otherwise copy it into a new logged table outside the migration",
        ),
        AlterTableType::AtSetUnLogged => (
            "`SET UNLOGGED` rewrites",
            "decide when the table is created",
        ),
        AlterTableType::AtSetAccessMethod => (
            "`SET ACCESS METHOD` rewrites",
            "decide when the table is created; otherwise copy it into a new table outside the migration",
        ),
        _ => (
            "`SET EXPRESSION` of a stored generated column recomputes every row and rewrites",
            "add a new generated column and move the code to it, or make it a plain column filled in batches",
        ),
    };
    cx.hit(
        &rules::TABLE_REWRITE,
        location,
        format!("{what} {rel} under ACCESS EXCLUSIVE: its reads and writes wait until it ends"),
        help.into(),
        Ask::Size(cx.table(rel)),
    );
}

/// `UPDATE` without `WHERE`: a backfill of columns the migration added, or
/// the loss of every row's old values.
pub(super) fn update(cx: &mut FileCx<'_>, s: &UpdateStmt) {
    let Some(range) = s.relation.as_ref() else {
        return;
    };
    let rel = Relation::of(range);
    if s.where_clause.is_some() || cx.is_new(&rel) {
        return;
    }
    let columns: Vec<String> = s
        .target_list
        .iter()
        .filter_map(|t| match t.node.as_ref() {
            Some(Node::ResTarget(r)) => Some(r.name.clone()),
            _ => None,
        })
        .collect();
    let old: Vec<&String> = columns
        .iter()
        .filter(|c| !cx.is_new_column(&rel, c))
        .collect();
    if old.is_empty() {
        cx.hit(
            &rules::BACKFILL,
            range.location,
            format!("`UPDATE` of {rel} without `WHERE` writes a new version of every row in the migration's transaction: each stays locked against other writes until it commits, and the table doubles in size until vacuumed"),
            "fill the new column in batches outside the migration (each `UPDATE … WHERE id BETWEEN …` its own transaction), or in a `-- wdh:no-transaction` migration of small updates".into(),
            Ask::Size(cx.table(&rel)),
        );
    } else {
        destructive::update_all(cx, &rel, range.location, &old);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{fires, hits, quiet};
    use super::*;

    fn default_of(sql: &str) -> Volatility {
        let parsed = pg_query::parse(&format!("SELECT {sql}"), pg_query::ParserOptions::DEFAULT)
            .expect("parses");
        let Some(Node::SelectStmt(s)) = parsed.protobuf.stmts[0]
            .stmt
            .as_ref()
            .and_then(|n| n.node.as_ref())
        else {
            panic!("a select");
        };
        let Some(Node::ResTarget(t)) = s.target_list[0].node.as_ref() else {
            panic!("a target");
        };
        volatility(t.val.as_ref().and_then(|v| v.node.as_ref()))
    }

    #[test]
    fn volatility_of_defaults() {
        for stable in [
            "0",
            "'x'",
            "now()",
            "current_timestamp",
            "'{}'::jsonb",
            "now() + interval '1 day'",
            "lower('A') || 'b'",
            "pg_catalog.now()",
            "CASE WHEN true THEN 1 ELSE 2 END",
            "ARRAY[1, 2]",
        ] {
            assert_eq!(default_of(stable), Volatility::Stable, "{stable}");
        }
        for volatile in [
            "random()",
            "gen_random_uuid()",
            "nextval('s')",
            "clock_timestamp()",
            "(SELECT 1)",
            "lower(gen_random_uuid()::text)",
        ] {
            assert_eq!(default_of(volatile), Volatility::Volatile, "{volatile}");
        }
        assert_eq!(
            default_of("app.next_code(1)"),
            Volatility::Unknown(vec!["app.next_code".into()])
        );
    }

    #[test]
    fn a_default_that_rewrites() {
        fires(
            "volatile-default",
            "ALTER TABLE t ADD COLUMN u uuid DEFAULT gen_random_uuid();",
            (1, 33),
        );
        fires(
            "volatile-default",
            "ALTER TABLE t ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY;",
            (1, 26),
        );
        fires(
            "volatile-default",
            "ALTER TABLE t ADD COLUMN id serial;",
            (1, 26),
        );
        fires(
            "volatile-default",
            "ALTER TABLE t ADD COLUMN c int GENERATED ALWAYS AS (a + 1) STORED;",
            (1, 26),
        );
        fires(
            "volatile-default",
            "ALTER TABLE t ADD COLUMN c int DEFAULT f();",
            (1, 32),
        );
        quiet(
            "volatile-default",
            "ALTER TABLE t ADD COLUMN c int NOT NULL DEFAULT 0, ADD COLUMN d timestamptz DEFAULT now();",
        );
        quiet(
            "volatile-default",
            "ALTER TABLE t ADD COLUMN c int GENERATED ALWAYS AS (a + 1) VIRTUAL;",
        );
        quiet(
            "volatile-default",
            "CREATE TABLE t (a int); ALTER TABLE t ADD COLUMN u uuid DEFAULT gen_random_uuid();",
        );
    }

    #[test]
    fn a_constant_default_rewrites_before_11() {
        let sql = "ALTER TABLE t ADD COLUMN c int DEFAULT 0;";
        assert!(
            hits(sql, true, Some(100_000))
                .iter()
                .any(|h| h.rule.id == "volatile-default"
                    && h.message.contains("before PostgreSQL 11"))
        );
        assert!(hits(sql, true, Some(110_000)).is_empty());
    }

    #[test]
    fn a_required_column_without_default() {
        fires(
            "add-required-column",
            "ALTER TABLE t ADD COLUMN c int NOT NULL;",
            (1, 26),
        );
        quiet(
            "add-required-column",
            "ALTER TABLE t ADD COLUMN c int NOT NULL DEFAULT 0;",
        );
        quiet("add-required-column", "ALTER TABLE t ADD COLUMN c int;");
    }

    #[test]
    fn a_column_type_change() {
        fires(
            "column-type-change",
            "ALTER TABLE t ALTER COLUMN c TYPE bigint;",
            (1, 13),
        );
        fires(
            "column-type-change",
            "ALTER TABLE t ALTER COLUMN c TYPE int USING c::int;",
            (1, 13),
        );
        quiet(
            "column-type-change",
            "ALTER TABLE t ADD COLUMN c int; ALTER TABLE t ALTER COLUMN c TYPE bigint;",
        );
    }

    #[test]
    fn a_table_rewrite() {
        fires(
            "table-rewrite",
            "ALTER TABLE t SET TABLESPACE fast;",
            (1, 13),
        );
        fires("table-rewrite", "ALTER TABLE t SET LOGGED;", (1, 13));
        fires("table-rewrite", "ALTER TABLE t SET UNLOGGED;", (1, 13));
        quiet("table-rewrite", "ALTER TABLE t SET (fillfactor = 70);");
    }

    #[test]
    fn a_backfill_of_a_new_column() {
        fires(
            "backfill",
            "ALTER TABLE t ADD COLUMN c int;\nUPDATE t SET c = a;",
            (2, 8),
        );
        quiet(
            "backfill",
            "ALTER TABLE t ADD COLUMN c int;\nUPDATE t SET c = a WHERE id < 100;",
        );
        quiet("backfill", "UPDATE t SET a = 1;");
    }
}
