//! The rule registry: every rule's stable id, family, default severity,
//! whether a target's table sizes judge it, and what it finds. The README's
//! rule table is this list.

use super::{Family, Severity};

/// One lint rule.
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    /// The stable id, as written in `-- wdh:allow <id>` and shown as
    /// `error[<id>]`.
    pub id: &'static str,
    /// The family it belongs to.
    pub family: Family,
    /// Its severity without a target, or when the size of its table does
    /// not decide it.
    pub severity: Severity,
    /// Judged by the size of the table it locks or rewrites when there is a
    /// target: a table that is not there yet or is empty is fine, a small
    /// one is a warning, a large one an error.
    pub sized: bool,
    /// What it finds, in one line.
    pub summary: &'static str,
    /// The closest rule of squawk, the linter whose rule list this one
    /// follows, if there is one.
    pub squawk: Option<&'static str>,
}

impl Rule {
    /// Whether a statement it finds is a destructive operation, judged by
    /// the guard like a downgrade.
    pub fn is_destructive(&self) -> bool {
        self.family == Family::Destructive
    }
}

macro_rules! rules {
    ($($name:ident = $id:literal, $family:ident, $severity:ident, $sized:literal, $squawk:expr, $summary:literal;)*) => {
        $(
            #[doc = $summary]
            pub static $name: Rule = Rule {
                id: $id,
                family: Family::$family,
                severity: Severity::$severity,
                sized: $sized,
                summary: $summary,
                squawk: $squawk,
            };
        )*
        /// Every rule, in the order of the README's table.
        pub static RULES: &[&Rule] = &[$(&$name),*];
    };
}

rules! {
    INDEX_WITHOUT_CONCURRENTLY = "index-without-concurrently", Locking, Error, true,
        Some("require-concurrent-index-creation"),
        "`CREATE INDEX` without `CONCURRENTLY` on a table the migration did not create: blocks writes while it builds";
    REINDEX_WITHOUT_CONCURRENTLY = "reindex-without-concurrently", Locking, Error, true,
        Some("require-concurrent-reindex"),
        "`REINDEX` without `CONCURRENTLY`: blocks writes, and reads that use the index, while it rebuilds";
    DROP_INDEX_WITHOUT_CONCURRENTLY = "drop-index-without-concurrently", Locking, Warning, false,
        Some("require-concurrent-index-deletion"),
        "`DROP INDEX` without `CONCURRENTLY` on an index the migration did not create: takes ACCESS EXCLUSIVE on its table";
    DETACH_PARTITION_WITHOUT_CONCURRENTLY = "detach-partition-without-concurrently", Locking, Warning, false,
        Some("require-concurrent-partition-detach"),
        "`DETACH PARTITION` without `CONCURRENTLY` (PostgreSQL 14+): takes ACCESS EXCLUSIVE on the parent";
    VACUUM_FULL = "vacuum-full", Locking, Error, true, Some("prefer-repack"),
        "`VACUUM FULL`: rewrites the table under ACCESS EXCLUSIVE, blocking reads and writes";
    CLUSTER = "cluster", Locking, Error, true, Some("prefer-repack"),
        "`CLUSTER`: rewrites the table under ACCESS EXCLUSIVE, blocking reads and writes";
    REFRESH_WITHOUT_CONCURRENTLY = "refresh-without-concurrently", Locking, Error, true, None,
        "`REFRESH MATERIALIZED VIEW` without `CONCURRENTLY`: blocks reads of the view while it refreshes";
    COLUMN_TYPE_CHANGE = "column-type-change", Rewrite, Error, true, Some("changing-column-type"),
        "`ALTER COLUMN … TYPE` that rewrites the table (and its indexes) under ACCESS EXCLUSIVE";
    VOLATILE_DEFAULT = "volatile-default", Rewrite, Error, true, Some("adding-field-with-default"),
        "`ADD COLUMN` with a volatile default, an identity, a serial or a stored generated column (any default before PostgreSQL 11): rewrites the table";
    ADD_REQUIRED_COLUMN = "add-required-column", Rewrite, Error, true, Some("adding-required-field"),
        "`ADD COLUMN … NOT NULL` without a default on an existing table: fails as soon as the table has a row";
    TABLE_REWRITE = "table-rewrite", Rewrite, Error, true, None,
        "`SET TABLESPACE`, `SET LOGGED`/`UNLOGGED`, `SET ACCESS METHOD`: rewrite the table under ACCESS EXCLUSIVE";
    BACKFILL = "backfill", Rewrite, Error, true, None,
        "`UPDATE` without `WHERE` of columns the migration added: rewrites every row in the migration's transaction";
    CONSTRAINT_NOT_VALID = "constraint-not-valid", Constraints, Error, true,
        Some("constraint-missing-not-valid, adding-foreign-key-constraint, ban-alter-domain-with-add-constraint"),
        "`ADD CONSTRAINT` CHECK or FOREIGN KEY without `NOT VALID` on an existing table, or validated in the transaction that added it: scans it under a lock that blocks writes";
    SET_NOT_NULL = "set-not-null", Constraints, Error, true, Some("adding-not-nullable-field"),
        "`SET NOT NULL` without a validated `CHECK (… IS NOT NULL)`: scans the table under ACCESS EXCLUSIVE";
    UNIQUE_WITHOUT_INDEX = "unique-without-index", Constraints, Error, true,
        Some("disallowed-unique-constraint, adding-primary-key-constraint, adding-serial-primary-key-field"),
        "a PRIMARY KEY, UNIQUE or EXCLUDE constraint added without `USING INDEX`: builds its index under ACCESS EXCLUSIVE";
    CONCURRENTLY_IN_TRANSACTION = "concurrently-in-transaction", Transactions, Error, false,
        Some("ban-concurrent-index-creation-in-transaction"),
        "`CONCURRENTLY`, `VACUUM` or another statement that cannot run in a transaction block, in a migration that runs in one";
    SESSION_SETTING = "session-setting", Transactions, Warning, false, None,
        "a plain `SET` (it outlives the migration on the session, and behind a pooler reaches other clients), or `SET LOCAL` where there is no transaction";
    RENAME_COLUMN = "rename-column", Compatibility, Warning, false, Some("renaming-column"),
        "renaming a column: the running code still uses the old name";
    RENAME_TABLE = "rename-table", Compatibility, Warning, false, Some("renaming-table"),
        "renaming a table or view: the running code still uses the old name";
    DROP_NOT_NULL = "drop-not-null", Compatibility, Warning, false, Some("ban-drop-not-null"),
        "`DROP NOT NULL`: code that reads the column may not expect NULL";
    DROP_TABLE = "drop-table", Destructive, Error, false, Some("ban-drop-table"),
        "`DROP TABLE` of a table the migration did not create: its rows are lost";
    DROP_COLUMN = "drop-column", Destructive, Error, false, Some("ban-drop-column"),
        "`DROP COLUMN` of a column the migration did not add: its values are lost, and the running code may still use it";
    DROP_SCHEMA = "drop-schema", Destructive, Error, false, None,
        "`DROP SCHEMA`: everything in it is lost";
    TRUNCATE = "truncate", Destructive, Error, false, Some("ban-truncate-cascade"),
        "`TRUNCATE` of a table the migration did not create: its rows are lost (with `CASCADE`, those of every referencing table too)";
    DELETE_WITHOUT_WHERE = "delete-without-where", Destructive, Error, false, None,
        "`DELETE` without `WHERE`: every row is lost";
    UPDATE_WITHOUT_WHERE = "update-without-where", Destructive, Error, false, None,
        "`UPDATE` without `WHERE` of columns that hold data: every row's old value is lost";
    DROP_DATABASE = "drop-database", Destructive, Error, false, Some("ban-drop-database"),
        "`DROP DATABASE`";
    DROP_CASCADE = "drop-cascade", Destructive, Error, false, None,
        "`DROP … CASCADE` of a type, domain, extension, function, sequence or view: it drops what depends on it, columns and their data included";
    HIDDEN_SQL = "hidden-sql", Hidden, Warning, false, None,
        "statements lint cannot see: `EXECUTE` in a `DO` block, a `DO` block it cannot parse, `CALL`";
    PREFER_TIMESTAMPTZ = "prefer-timestamptz", Types, Warning, false, Some("prefer-timestamptz"),
        "a `timestamp` (without time zone) column";
    CHAR_TYPE = "char-type", Types, Warning, false, Some("ban-char-field"),
        "a `char(n)` column: blank-padded, and no faster than `text`";
    PREFER_IDENTITY = "prefer-identity", Types, Warning, false, Some("prefer-identity"),
        "a `serial` column: prefer `GENERATED … AS IDENTITY`";
    PREFER_BIGINT_KEY = "prefer-bigint-key", Types, Warning, false,
        Some("prefer-bigint-over-int, prefer-bigint-over-smallint"),
        "an `integer` or `smallint` primary key or identity: it can run out";
    IDENTIFIER_TOO_LONG = "identifier-too-long", Meta, Warning, false, Some("identifier-too-long"),
        "an identifier longer than 63 bytes: PostgreSQL silently cuts it";
    SYNTAX_ERROR = "syntax-error", Meta, Error, false, Some("syntax-error"),
        "a file PostgreSQL's parser rejects: nothing in it is checked";
    UNUSED_ALLOW = "unused-allow", Meta, Warning, false, None,
        "a `-- wdh:allow <rule>` whose rule finds nothing in its file";
}

/// The rule with id `id`.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().copied().find(|r| r.id == id)
}
