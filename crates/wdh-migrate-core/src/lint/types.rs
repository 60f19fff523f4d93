//! Column types that are hard to change later: `timestamp` without time
//! zone, `char(n)`, `serial`, and `integer` keys. Looked for in up scripts
//! only (a down script restores what was there).

use pg_query::protobuf::node::Node;
use pg_query::protobuf::{ColumnDef, ConstrType, Constraint, CreateStmt};

use super::names::{strings, TypeSpec};
use super::rules;
use super::walk::{Ask, FileCx};

fn constraints(nodes: &[pg_query::protobuf::Node]) -> impl Iterator<Item = &Constraint> {
    nodes.iter().filter_map(|c| match c.node.as_ref() {
        Some(Node::Constraint(c)) => Some(&**c),
        _ => None,
    })
}

fn is(c: &Constraint, kind: ConstrType) -> bool {
    c.contype == kind as i32
}

pub(super) fn create_table(cx: &mut FileCx<'_>, s: &CreateStmt) {
    let columns: Vec<&ColumnDef> = s
        .table_elts
        .iter()
        .filter_map(|e| match e.node.as_ref() {
            Some(Node::ColumnDef(c)) => Some(&**c),
            _ => None,
        })
        .collect();
    // A table-level PRIMARY KEY of one column.
    let key: Option<String> = constraints(&s.table_elts)
        .find(|c| is(c, ConstrType::ConstrPrimary))
        .and_then(|c| match strings(&c.keys).as_slice() {
            [one] => Some(one.clone()),
            _ => None,
        });
    for col in columns {
        column(cx, col, key.as_deref() == Some(col.colname.as_str()));
    }
}

/// The type rules for one new column; `key` when a table-level PRIMARY
/// KEY names it alone.
pub(super) fn column(cx: &mut FileCx<'_>, col: &ColumnDef, key: bool) {
    if !cx.up {
        return;
    }
    let Some(t) = col.type_name.as_ref() else {
        return;
    };
    let ty = TypeSpec::of(t);
    let name = &col.colname;
    let location = t.location;
    if ty.is("timestamp") {
        cx.hit(
            &rules::PREFER_TIMESTAMPTZ,
            location,
            format!("`{name}` is a `timestamp` without time zone: the same instant reads differently for clients in other time zones"),
            "use `timestamptz` (it stores an instant; each client sees it in its own time zone)".into(),
            Ask::Nothing,
        );
    }
    if ty.is("bpchar") {
        cx.hit(
            &rules::CHAR_TYPE,
            location,
            format!("`{name}` is a `char(n)`: shorter values are padded with blanks, which comparisons ignore but `length()`, `LIKE` and clients see"),
            "use `text` (or `varchar(n)`), with a `CHECK` on the length if it matters".into(),
            Ask::Nothing,
        );
    }
    let serial = ty.schema.is_none()
        && matches!(
            ty.name.as_str(),
            "serial" | "serial4" | "smallserial" | "serial2" | "bigserial" | "serial8"
        );
    if serial {
        cx.hit(
            &rules::PREFER_IDENTITY,
            location,
            format!("`{name}` is a `{}`: its sequence is a separate object with its own owner and grants", ty.name),
            "use `bigint GENERATED ALWAYS AS IDENTITY` (or `BY DEFAULT`)".into(),
            Ask::Nothing,
        );
    }
    let small = ty.is("int4")
        || ty.is("int2")
        || (ty.schema.is_none()
            && matches!(
                ty.name.as_str(),
                "serial" | "serial4" | "smallserial" | "serial2"
            ));
    let keyed = key
        || constraints(&col.constraints)
            .any(|c| is(c, ConstrType::ConstrPrimary) || is(c, ConstrType::ConstrIdentity));
    if small && (keyed || serial) {
        cx.hit(
            &rules::PREFER_BIGINT_KEY,
            location,
            format!("`{name}` is a 32-bit (or 16-bit) key: it runs out after about 2 billion (32 thousand) rows, and changing it then rewrites the table and every table that references it"),
            "use `bigint`".into(),
            Ask::Nothing,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{fires, hits, quiet};

    #[test]
    fn column_types() {
        fires(
            "prefer-timestamptz",
            "CREATE TABLE t (at timestamp NOT NULL);",
            (1, 20),
        );
        quiet("prefer-timestamptz", "CREATE TABLE t (at timestamptz);");
        fires("char-type", "CREATE TABLE t (code char(4));", (1, 22));
        fires(
            "char-type",
            "ALTER TABLE t ADD COLUMN code character(4);",
            (1, 31),
        );
        quiet("char-type", "CREATE TABLE t (code text, v varchar(4));");
        fires(
            "prefer-identity",
            "CREATE TABLE t (id bigserial PRIMARY KEY);",
            (1, 20),
        );
        quiet(
            "prefer-identity",
            "CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);",
        );
        fires(
            "prefer-bigint-key",
            "CREATE TABLE t (id int PRIMARY KEY);",
            (1, 20),
        );
        fires("prefer-bigint-key", "CREATE TABLE t (id serial);", (1, 20));
        fires(
            "prefer-bigint-key",
            "CREATE TABLE t (id integer, PRIMARY KEY (id));",
            (1, 20),
        );
        quiet(
            "prefer-bigint-key",
            "CREATE TABLE t (a int, b int, PRIMARY KEY (a, b), n integer);",
        );
        quiet(
            "prefer-bigint-key",
            "CREATE TABLE t (id bigint PRIMARY KEY);",
        );
    }

    #[test]
    fn down_scripts_restore_what_was_there() {
        assert!(hits("CREATE TABLE t (at timestamp);", false, None).is_empty());
    }
}
