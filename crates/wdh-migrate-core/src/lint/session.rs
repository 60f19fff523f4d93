//! Statements at odds with the migration's transaction: what cannot run in
//! a transaction block, and settings that outlive the migration (a plain
//! `SET`) or do nothing (`SET LOCAL` outside a transaction).

use pg_query::protobuf::{
    AlterEnumStmt, DropStmt, ObjectType, VacuumStmt, VariableSetKind, VariableSetStmt,
};

use super::names::strings;
use super::rules;
use super::walk::{Ask, FileCx};

/// A statement that cannot run inside a transaction block.
pub(super) fn not_in_transaction(cx: &mut FileCx<'_>, what: &str) {
    concurrently(cx, what, -1);
}

/// `what` (a `CONCURRENTLY` statement, or another that cannot run inside a
/// transaction block) is an error where the migration runs in one.
pub(super) fn concurrently(cx: &mut FileCx<'_>, what: &str, location: i32) {
    if !cx.in_transaction() {
        return;
    }
    let (message, help) = if cx.transactional {
        (
            format!("`{what}` cannot run inside a transaction block, and this migration runs in one: the server refuses it and the migration fails"),
            "put it alone in a migration whose first line is `-- wdh:no-transaction`".to_string(),
        )
    } else if cx.nested_pos().is_none() {
        (
            format!("`{what}` cannot run inside a transaction block, and the file's own `BEGIN` opened one: the server refuses it"),
            "move it out of the `BEGIN … COMMIT`".to_string(),
        )
    } else {
        (
            format!("`{what}` cannot run inside a `DO` block or a function: the server refuses it"),
            "run it as a statement of its own, in a migration marked `-- wdh:no-transaction`"
                .to_string(),
        )
    };
    cx.hit(
        &rules::CONCURRENTLY_IN_TRANSACTION,
        location,
        message,
        help,
        Ask::Nothing,
    );
}

pub(super) fn vacuum(cx: &mut FileCx<'_>, s: &VacuumStmt) {
    // `ANALYZE` alone can run in a transaction block.
    if s.is_vacuumcmd {
        not_in_transaction(cx, "VACUUM");
    }
}

pub(super) fn drop(cx: &mut FileCx<'_>, s: &DropStmt) {
    if s.concurrent && ObjectType::try_from(s.remove_type) == Ok(ObjectType::ObjectIndex) {
        concurrently(cx, "DROP INDEX CONCURRENTLY", -1);
    }
}

/// `ALTER TYPE … ADD VALUE` cannot run in a transaction block before
/// PostgreSQL 12.
pub(super) fn alter_enum(cx: &mut FileCx<'_>, s: &AlterEnumStmt) {
    if s.new_val.is_empty() || cx.at_least(120_000) {
        return;
    }
    concurrently(cx, "ALTER TYPE … ADD VALUE (before PostgreSQL 12)", -1);
}

/// Settings that outlive the migration, or do nothing.
pub(super) fn set(cx: &mut FileCx<'_>, s: &VariableSetStmt) {
    let kind = VariableSetKind::try_from(s.kind).unwrap_or(VariableSetKind::Undefined);
    let sets = matches!(
        kind,
        VariableSetKind::VarSetValue
            | VariableSetKind::VarSetDefault
            | VariableSetKind::VarSetCurrent
            | VariableSetKind::VarSetMulti
    );
    if !sets {
        return;
    }
    if s.name == "search_path" {
        cx.search_path = match kind {
            VariableSetKind::VarSetValue => Some(search_path(s)),
            _ => None,
        };
    }
    // `SET TRANSACTION …` only sets the current transaction.
    if s.name == "TRANSACTION" {
        return;
    }
    let name = match s.name.as_str() {
        "SESSION CHARACTERISTICS" => "SESSION CHARACTERISTICS AS TRANSACTION",
        "role" => "ROLE",
        "session_authorization" => "SESSION AUTHORIZATION",
        "timezone" => "TIME ZONE",
        other => other,
    };
    if s.is_local && !cx.in_transaction() {
        cx.hit(
            &rules::SESSION_SETTING,
            -1,
            format!("`SET LOCAL {name}` does nothing here: this migration runs outside a transaction, so the setting ends with the statement"),
            "a no-transaction migration runs with the session's settings; set what it needs with `ALTER ROLE … SET` or in the connection string, or drop the statement".into(),
            Ask::Nothing,
        );
    } else if !s.is_local {
        let help = if cx.in_transaction() {
            format!("use `SET LOCAL {name} …`: it ends with the migration's transaction")
        } else {
            "set it with `ALTER ROLE … SET` or in the connection string, or `RESET` it at the end of the migration".to_string()
        };
        cx.hit(
            &rules::SESSION_SETTING,
            -1,
            format!("`SET {name}` outlives the migration: the run's later migrations see it, and behind a transaction pooler so do other clients of the server session"),
            help,
            Ask::Nothing,
        );
    }
}

/// The schemas of `SET search_path TO a, "B"`.
fn search_path(s: &VariableSetStmt) -> Vec<String> {
    s.args
        .iter()
        .filter_map(|a| match a.node.as_ref() {
            Some(pg_query::protobuf::node::Node::AConst(c)) => match c.val.as_ref() {
                Some(pg_query::protobuf::a_const::Val::Sval(s)) => Some(s.sval.clone()),
                _ => None,
            },
            Some(pg_query::protobuf::node::Node::String(_)) => {
                strings(std::slice::from_ref(a)).pop()
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{fires, hits, quiet};

    #[test]
    fn concurrently_in_a_transaction() {
        fires(
            "concurrently-in-transaction",
            "CREATE INDEX CONCURRENTLY i ON t (a);",
            (1, 32),
        );
        fires(
            "concurrently-in-transaction",
            "DROP INDEX CONCURRENTLY i;",
            (1, 1),
        );
        fires(
            "concurrently-in-transaction",
            "REINDEX INDEX CONCURRENTLY i;",
            (1, 28),
        );
        fires("concurrently-in-transaction", "VACUUM t;", (1, 1));
        fires(
            "concurrently-in-transaction",
            "ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY;",
            (1, 13),
        );
        quiet(
            "concurrently-in-transaction",
            "-- wdh:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);",
        );
        quiet("concurrently-in-transaction", "ANALYZE t;");
        fires(
            "concurrently-in-transaction",
            "-- wdh:no-transaction\nBEGIN;\nCREATE INDEX CONCURRENTLY i ON t (a);\nCOMMIT;",
            (3, 32),
        );
        quiet(
            "concurrently-in-transaction",
            "ALTER TYPE mood ADD VALUE 'meh';",
        );
    }

    #[test]
    fn adding_an_enum_value_in_a_transaction_before_12() {
        let found = hits("ALTER TYPE mood ADD VALUE 'meh';", true, Some(110_000));
        assert!(
            found
                .iter()
                .any(|h| h.rule.id == "concurrently-in-transaction"),
            "{found:?}"
        );
    }

    #[test]
    fn a_plain_set_outlives_the_migration() {
        fires("session-setting", "SET search_path = app;", (1, 1));
        fires("session-setting", "SET ROLE admin;", (1, 1));
        fires(
            "session-setting",
            "-- wdh:no-transaction\nSET LOCAL lock_timeout = '1s';",
            (2, 1),
        );
        quiet("session-setting", "SET LOCAL lock_timeout = '1s';");
        quiet(
            "session-setting",
            "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;",
        );
        quiet("session-setting", "RESET search_path;");
        // An explicit transaction of a no-transaction file.
        quiet(
            "session-setting",
            "-- wdh:no-transaction\nBEGIN;\nSET LOCAL lock_timeout = '1s';\nCOMMIT;",
        );
    }
}
