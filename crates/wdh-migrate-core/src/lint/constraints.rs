//! Constraints that scan the table or build an index under a lock that
//! blocks writes: CHECK and FOREIGN KEY without `NOT VALID`, `SET NOT
//! NULL` without a validated CHECK, PRIMARY KEY and UNIQUE without an
//! index built first.

use pg_query::protobuf::node::Node;
use pg_query::protobuf::{AlterDomainStmt, ColumnDef, ConstrType, Constraint, NullTestType};

use super::names::{strings, Relation};
use super::rules;
use super::walk::{Ask, FileCx};

const NOT_VALID_THEN_VALIDATE: &str = "add it `NOT VALID` (new and updated rows are checked at once), then run `VALIDATE CONSTRAINT` in a later migration: validating takes only SHARE UPDATE EXCLUSIVE, so reads and writes go on";

fn kind(c: &Constraint) -> ConstrType {
    ConstrType::try_from(c.contype).unwrap_or(ConstrType::Undefined)
}

/// The column of a `CHECK (col IS NOT NULL)`.
fn not_null_column(c: &Constraint) -> Option<String> {
    match c.raw_expr.as_ref()?.node.as_ref()? {
        Node::NullTest(t) if t.nulltesttype == NullTestType::IsNotNull as i32 => {
            match t.arg.as_ref()?.node.as_ref()? {
                Node::ColumnRef(r) => match strings(&r.fields).as_slice() {
                    [column] => Some(column.clone()),
                    _ => None,
                },
                _ => None,
            }
        }
        _ => None,
    }
}

fn referenced(c: &Constraint) -> String {
    c.pktable.as_ref().map_or_else(
        || "the referenced table".into(),
        |t| Relation::of(t).to_string(),
    )
}

/// Constraints on a column `ADD COLUMN` adds.
pub(super) fn add_column(cx: &mut FileCx<'_>, rel: &Relation, col: &ColumnDef) {
    if cx.is_new(rel) {
        return;
    }
    let name = &col.colname;
    for c in col
        .constraints
        .iter()
        .filter_map(|c| match c.node.as_ref() {
            Some(Node::Constraint(c)) => Some(&**c),
            _ => None,
        })
    {
        match kind(c) {
            ConstrType::ConstrPrimary | ConstrType::ConstrUnique => cx.hit(
                &rules::UNIQUE_WITHOUT_INDEX,
                c.location,
                format!(
                    "`ADD COLUMN {name} … {}` builds a unique index on {rel} under ACCESS EXCLUSIVE: its reads and writes wait until it is built",
                    if kind(c) == ConstrType::ConstrPrimary { "PRIMARY KEY" } else { "UNIQUE" }
                ),
                "add the column, build its index with `CREATE UNIQUE INDEX CONCURRENTLY` in a `-- wdh:no-transaction` migration, then `ADD CONSTRAINT … USING INDEX`".into(),
                Ask::Size(cx.table(rel)),
            ),
            ConstrType::ConstrForeign => cx.hit(
                &rules::CONSTRAINT_NOT_VALID,
                c.location,
                format!(
                    "`ADD COLUMN {name} … REFERENCES` checks every row of {rel} against {} while both are locked against writes",
                    referenced(c)
                ),
                format!("add the column, then the constraint: {NOT_VALID_THEN_VALIDATE}"),
                Ask::Size(cx.table(rel)),
            ),
            ConstrType::ConstrCheck => cx.hit(
                &rules::CONSTRAINT_NOT_VALID,
                c.location,
                format!("`ADD COLUMN {name} … CHECK` checks every row of {rel} under ACCESS EXCLUSIVE"),
                format!("add the column, then the constraint: {NOT_VALID_THEN_VALIDATE}"),
                Ask::Size(cx.table(rel)),
            ),
            _ => {}
        }
    }
}

pub(super) fn add_constraint(cx: &mut FileCx<'_>, rel: &Relation, c: &Constraint) {
    let name = if c.conname.is_empty() {
        String::new()
    } else {
        format!(" {}", c.conname)
    };
    match kind(c) {
        k @ (ConstrType::ConstrCheck | ConstrType::ConstrForeign) => {
            let not_null = (k == ConstrType::ConstrCheck)
                .then(|| not_null_column(c))
                .flatten();
            if c.skip_validation {
                cx.not_valid.push((rel.clone(), c.conname.clone()));
                if let Some(column) = not_null {
                    cx.chain
                        .not_valid_checks
                        .push((rel.clone(), c.conname.clone(), column));
                }
                return;
            }
            if cx.is_new(rel) {
                return;
            }
            let message = if k == ConstrType::ConstrCheck {
                format!("`ADD CONSTRAINT{name} CHECK` without `NOT VALID` checks every row of {rel} under ACCESS EXCLUSIVE: its reads and writes wait until it ends")
            } else {
                format!(
                    "`ADD CONSTRAINT{name} FOREIGN KEY` without `NOT VALID` checks every row of {rel} against {} while both are locked against writes",
                    referenced(c)
                )
            };
            cx.hit(
                &rules::CONSTRAINT_NOT_VALID,
                c.location,
                message,
                NOT_VALID_THEN_VALIDATE.into(),
                Ask::Size(cx.table(rel)),
            );
            if let Some(column) = not_null {
                cx.chain.not_null_checks.push((rel.clone(), column));
            }
        }
        k
        @ (ConstrType::ConstrPrimary | ConstrType::ConstrUnique | ConstrType::ConstrExclusion) => {
            if !c.indexname.is_empty() || cx.is_new(rel) {
                return;
            }
            let what = match k {
                ConstrType::ConstrPrimary => "PRIMARY KEY",
                ConstrType::ConstrUnique => "UNIQUE",
                _ => "EXCLUDE",
            };
            let help = if k == ConstrType::ConstrExclusion {
                "an EXCLUDE constraint cannot be added from an index built beforehand: add it while the table is small, or when its reads and writes can wait".to_string()
            } else {
                format!("build the index first with `CREATE UNIQUE INDEX CONCURRENTLY` in a `-- wdh:no-transaction` migration, then `ADD CONSTRAINT{name} {what} USING INDEX <index>`{}",
                    if k == ConstrType::ConstrPrimary { " (make its columns NOT NULL first, the way `set-not-null` says)" } else { "" })
            };
            cx.hit(
                &rules::UNIQUE_WITHOUT_INDEX,
                c.location,
                format!("`ADD CONSTRAINT{name} {what}` builds its index on {rel} under ACCESS EXCLUSIVE: its reads and writes wait until it is built"),
                help,
                Ask::Size(cx.table(rel)),
            );
        }
        ConstrType::ConstrNotnull if !c.skip_validation => {
            for column in strings(&c.keys) {
                set_not_null(cx, rel, c.location, &column);
            }
        }
        _ => {}
    }
}

pub(super) fn validate(cx: &mut FileCx<'_>, rel: &Relation, location: i32, name: &str) {
    if let Some(i) = cx
        .chain
        .not_valid_checks
        .iter()
        .position(|(t, n, _)| t.same(rel) && n == name)
    {
        let (t, _, column) = cx.chain.not_valid_checks.remove(i);
        cx.chain.not_null_checks.push((t, column));
    }
    let added_here = cx.not_valid.iter().any(|(t, n)| t.same(rel) && n == name);
    if added_here && cx.in_transaction() && !cx.is_new(rel) {
        cx.hit(
            &rules::CONSTRAINT_NOT_VALID,
            location,
            format!("`VALIDATE CONSTRAINT {name}` runs in the transaction that added it `NOT VALID`: the `ADD`'s lock is still held while it checks every row of {rel}"),
            "validate it in a later migration: on its own, validating takes only SHARE UPDATE EXCLUSIVE".into(),
            Ask::Size(cx.table(rel)),
        );
    }
}

pub(super) fn set_not_null(cx: &mut FileCx<'_>, rel: &Relation, location: i32, column: &str) {
    if cx.is_new(rel) {
        return;
    }
    let checked = cx
        .chain
        .not_null_checks
        .iter()
        .any(|(t, c)| t.same(rel) && c == column);
    if checked && cx.at_least(120_000) {
        return;
    }
    let help = if cx.at_least(120_000) {
        format!("add `CONSTRAINT … CHECK ({column} IS NOT NULL) NOT VALID`, `VALIDATE CONSTRAINT` it in a later migration (no blocking lock), then `SET NOT NULL`: PostgreSQL 12+ sees the validated CHECK and skips the scan; then drop the CHECK")
    } else {
        format!("before PostgreSQL 12 `SET NOT NULL` always scans: keep a validated `CHECK ({column} IS NOT NULL)` (added `NOT VALID`, validated in a later migration) instead of NOT NULL")
    };
    cx.hit(
        &rules::SET_NOT_NULL,
        location,
        format!("`SET NOT NULL` on `{column}` checks every row of {rel} under ACCESS EXCLUSIVE: its reads and writes wait until it ends"),
        help,
        Ask::NotNull {
            table: cx.table(rel),
            column: column.to_string(),
        },
    );
}

pub(super) fn alter_domain(cx: &mut FileCx<'_>, s: &AlterDomainStmt) {
    let Some(Node::Constraint(c)) = s.def.as_ref().and_then(|d| d.node.as_ref()) else {
        return;
    };
    if s.subtype != "C" || c.skip_validation {
        return;
    }
    cx.hit(
        &rules::CONSTRAINT_NOT_VALID,
        c.location,
        format!(
            "`ALTER DOMAIN {} ADD CONSTRAINT` without `NOT VALID` checks every column of the domain in every table, under locks that block their writes",
            strings(&s.type_name).join(".")
        ),
        "add it `NOT VALID`, then `ALTER DOMAIN … VALIDATE CONSTRAINT` in a later migration".into(),
        Ask::Nothing,
    );
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{fires, hits, quiet};

    #[test]
    fn a_constraint_without_not_valid() {
        fires(
            "constraint-not-valid",
            "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0);",
            (1, 19),
        );
        fires(
            "constraint-not-valid",
            "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (o) REFERENCES o (id);",
            (1, 19),
        );
        fires(
            "constraint-not-valid",
            "ALTER TABLE t ADD COLUMN o int REFERENCES o (id);",
            (1, 32),
        );
        fires(
            "constraint-not-valid",
            "ALTER DOMAIN d ADD CONSTRAINT c CHECK (VALUE > 0);",
            (1, 20),
        );
        quiet(
            "constraint-not-valid",
            "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID;",
        );
        quiet(
            "constraint-not-valid",
            "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (o) REFERENCES o (id) NOT VALID;",
        );
        quiet(
            "constraint-not-valid",
            "CREATE TABLE t (a int); ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0);",
        );
        quiet(
            "constraint-not-valid",
            "ALTER DOMAIN d ADD CONSTRAINT c CHECK (VALUE > 0) NOT VALID;",
        );
    }

    #[test]
    fn validating_in_the_transaction_that_added_it() {
        fires(
            "constraint-not-valid",
            "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID;\nALTER TABLE t VALIDATE CONSTRAINT c;",
            (2, 13),
        );
        quiet(
            "constraint-not-valid",
            "ALTER TABLE t VALIDATE CONSTRAINT c;",
        );
    }

    #[test]
    fn set_not_null_without_a_validated_check() {
        fires(
            "set-not-null",
            "ALTER TABLE t ALTER COLUMN a SET NOT NULL;",
            (1, 13),
        );
        quiet(
            "set-not-null",
            "CREATE TABLE t (a int); ALTER TABLE t ALTER COLUMN a SET NOT NULL;",
        );
        // The 12+ way: a validated CHECK, then SET NOT NULL skips the scan.
        quiet(
            "set-not-null",
            "ALTER TABLE t ADD CONSTRAINT a_nn CHECK (a IS NOT NULL) NOT VALID;\n\
             ALTER TABLE t VALIDATE CONSTRAINT a_nn;\n\
             ALTER TABLE t ALTER COLUMN a SET NOT NULL;",
        );
        // Before 12 it scans anyway.
        let found = hits(
            "ALTER TABLE t ADD CONSTRAINT a_nn CHECK (a IS NOT NULL) NOT VALID;\n\
             ALTER TABLE t VALIDATE CONSTRAINT a_nn;\n\
             ALTER TABLE t ALTER COLUMN a SET NOT NULL;",
            true,
            Some(110_000),
        );
        assert!(
            found
                .iter()
                .any(|h| h.rule.id == "set-not-null" && h.help.contains("before PostgreSQL 12")),
            "{found:?}"
        );
    }

    #[test]
    fn a_unique_constraint_without_an_index() {
        fires(
            "unique-without-index",
            "ALTER TABLE t ADD CONSTRAINT u UNIQUE (a);",
            (1, 19),
        );
        fires(
            "unique-without-index",
            "ALTER TABLE t ADD PRIMARY KEY (id);",
            (1, 19),
        );
        fires(
            "unique-without-index",
            "ALTER TABLE t ADD COLUMN id bigint PRIMARY KEY;",
            (1, 36),
        );
        quiet(
            "unique-without-index",
            "ALTER TABLE t ADD CONSTRAINT u UNIQUE USING INDEX u_idx;",
        );
        quiet(
            "unique-without-index",
            "CREATE TABLE t (a int); ALTER TABLE t ADD PRIMARY KEY (a);",
        );
    }
}
