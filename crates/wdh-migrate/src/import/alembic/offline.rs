//! What `alembic upgrade|downgrade <from>:<to> --sql` prints, turned into
//! one revision's script.
//!
//! Alembic writes `-- Running upgrade <from> -> <to>` (or `downgrade`)
//! before each step it runs, then the step's SQL and its own bookkeeping:
//! `CREATE TABLE alembic_version …` before the first step from base,
//! `INSERT`/`UPDATE`/`DELETE` on it after each step, `BEGIN;` and
//! `COMMIT;` around the run (or around each step). The revision's section
//! is the text after its marker, up to the next marker; from it every
//! statement on the version table and every bare `BEGIN`/`COMMIT` is
//! dropped. Statements are found by PostgreSQL's own parser
//! (`wdh_migrate_core::sql::split_statements`).
//!
//! A `COMMIT` followed by more of the revision's statements means the
//! revision ran some of them outside a transaction (Alembic's
//! `autocommit_block()`, for `CREATE INDEX CONCURRENTLY`): the migration
//! then runs outside a transaction.

use wdh_migrate_core::sql::{split_statements, TransactionControl};

/// Up or down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `alembic upgrade`.
    Upgrade,
    /// `alembic downgrade`.
    Downgrade,
}

impl Step {
    /// `upgrade` or `downgrade`, as alembic's command and marker name it.
    pub fn word(self) -> &'static str {
        match self {
            Step::Upgrade => "upgrade",
            Step::Downgrade => "downgrade",
        }
    }
}

/// A revision's script in one direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// Its statements, each with its terminating `;`.
    pub statements: Vec<String>,
    /// Some ran outside a transaction.
    pub no_transaction: bool,
}

/// The version table a run from base creates: the table its `CREATE
/// TABLE` before the first marker names (`alembic_version` unless env.py
/// chose another).
pub fn version_table(output: &str) -> Option<String> {
    let preamble = output
        .split_once("\n-- Running ")
        .map_or(output, |(before, _)| before);
    split_statements(preamble).into_iter().find_map(|s| {
        let parsed = pg_query::parse(&s.sql, pg_query::ParserOptions::DEFAULT).ok()?;
        parsed.ddl_tables().into_iter().next()
    })
}

/// The section of `revision` in `output` (the text after its marker, up to
/// the next marker), cleaned of Alembic's bookkeeping.
pub fn script(output: &str, step: Step, revision: &str, version_table: &str) -> Option<Script> {
    let section = section(output, step, revision)?;
    Some(clean(&section, version_table))
}

fn section(output: &str, step: Step, revision: &str) -> Option<String> {
    let mut lines = output.lines();
    for line in lines.by_ref() {
        let Some(m) = marker(line) else { continue };
        let ids = match step {
            Step::Upgrade => &m.to,
            Step::Downgrade => &m.from,
        };
        if m.step == step && ids.iter().any(|id| id == revision) {
            let body: Vec<&str> = lines.take_while(|l| marker(l).is_none()).collect();
            return Some(body.join("\n"));
        }
    }
    None
}

/// A step's marker line: `-- Running upgrade a, b -> c`.
struct Marker {
    step: Step,
    from: Vec<String>,
    to: Vec<String>,
}

fn marker(line: &str) -> Option<Marker> {
    let rest = line.strip_prefix("-- Running ")?;
    let (step, rest) = match rest.strip_prefix("upgrade ") {
        Some(r) => (Step::Upgrade, r),
        None => (Step::Downgrade, rest.strip_prefix("downgrade ")?),
    };
    // A step to base leaves the right side empty: `downgrade a -> `.
    let (from, to) = rest
        .split_once(" -> ")
        .or_else(|| rest.trim_end().strip_suffix(" ->").map(|f| (f, "")))?;
    let ids = |s: &str| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect()
    };
    Some(Marker {
        step,
        from: ids(from),
        to: ids(to),
    })
}

fn clean(section: &str, version_table: &str) -> Script {
    let mut statements = Vec::new();
    let mut committed = false;
    let mut no_transaction = false;
    for s in split_statements(section) {
        match s.control {
            Some(TransactionControl::Commit) if s.bare => {
                committed = true;
                continue;
            }
            Some(TransactionControl::Begin) if s.bare => continue,
            _ => {}
        }
        if touches(&s.sql, version_table) {
            continue;
        }
        if committed {
            no_transaction = true;
        }
        statements.push(s.sql);
    }
    Script {
        statements,
        no_transaction,
    }
}

/// Whether a statement reads or writes the version table.
fn touches(sql: &str, version_table: &str) -> bool {
    let Ok(parsed) = pg_query::parse(sql, pg_query::ParserOptions::DEFAULT) else {
        return false;
    };
    let unqualified = |name: &str| name.rsplit('.').next().unwrap_or(name).to_string();
    let wanted = unqualified(version_table);
    parsed
        .tables()
        .iter()
        .chain(parsed.ddl_tables().iter())
        .any(|t| unqualified(t) == wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `alembic upgrade bbb2:ddd4 --sql` for a merge of bbb2 and ccc3: the
    /// run also applies ccc3.
    const MERGE: &str = "BEGIN;

-- Running upgrade aaa1 -> ccc3

CREATE INDEX users_name_idx ON users (name);

INSERT INTO alembic_version (version_num) VALUES ('ccc3') RETURNING alembic_version.version_num;

-- Running upgrade bbb2, ccc3 -> ddd4

COMMENT ON TABLE users IS 'merged';

DELETE FROM alembic_version WHERE alembic_version.version_num = 'bbb2';

UPDATE alembic_version SET version_num='ddd4' WHERE alembic_version.version_num = 'ccc3';

COMMIT;
";

    const FROM_BASE: &str = "BEGIN;

CREATE TABLE alembic_version (
    version_num VARCHAR(32) NOT NULL, 
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

-- Running upgrade  -> aaa1

CREATE TABLE users (
    id SERIAL NOT NULL, 
    name VARCHAR(50) NOT NULL, 
    PRIMARY KEY (id)
);

INSERT INTO alembic_version (version_num) VALUES ('aaa1') RETURNING alembic_version.version_num;

COMMIT;
";

    #[test]
    fn the_revision_s_own_statements_without_alembic_s() {
        assert_eq!(version_table(FROM_BASE).as_deref(), Some("alembic_version"));
        let up = script(FROM_BASE, Step::Upgrade, "aaa1", "alembic_version").unwrap();
        assert_eq!(up.statements.len(), 1);
        assert!(up.statements[0].starts_with("CREATE TABLE users ("));
        assert!(!up.no_transaction);
        let merge = script(MERGE, Step::Upgrade, "ddd4", "alembic_version").unwrap();
        assert_eq!(merge.statements, ["COMMENT ON TABLE users IS 'merged';"]);
        let branch = script(MERGE, Step::Upgrade, "ccc3", "alembic_version").unwrap();
        assert_eq!(
            branch.statements,
            ["CREATE INDEX users_name_idx ON users (name);"]
        );
        assert_eq!(
            script(MERGE, Step::Upgrade, "zzz9", "alembic_version"),
            None
        );
        assert_eq!(
            script(MERGE, Step::Downgrade, "ddd4", "alembic_version"),
            None
        );
    }

    #[test]
    fn downgrades_to_base_and_from_a_merge() {
        let down = "BEGIN;\n\n-- Running downgrade aaa1 -> \n\nDROP TABLE users;\n\n\
                    DELETE FROM alembic_version WHERE alembic_version.version_num = 'aaa1';\n\n\
                    DROP TABLE alembic_version;\n\nCOMMIT;\n";
        let s = script(down, Step::Downgrade, "aaa1", "alembic_version").unwrap();
        assert_eq!(s.statements, ["DROP TABLE users;"]);
        let merge =
            "-- Running downgrade ddd4 -> bbb2, ccc3\n\nCOMMENT ON TABLE users IS NULL;\n\n\
                     INSERT INTO alembic_version (version_num) VALUES ('ccc3');\n";
        let s = script(merge, Step::Downgrade, "ddd4", "alembic_version").unwrap();
        assert_eq!(s.statements, ["COMMENT ON TABLE users IS NULL;"]);
    }

    #[test]
    fn an_autocommit_block_makes_it_a_no_transaction_migration() {
        let out = "BEGIN;\n-- Running upgrade a -> b\n\nALTER TABLE t ADD COLUMN c int;\n\nCOMMIT;\n\n\
                   CREATE INDEX CONCURRENTLY t_c ON t (c);\n\nBEGIN;\n\n\
                   UPDATE alembic_version SET version_num='b' WHERE alembic_version.version_num = 'a';\n\nCOMMIT;\n";
        let s = script(out, Step::Upgrade, "b", "alembic_version").unwrap();
        assert_eq!(
            s.statements,
            [
                "ALTER TABLE t ADD COLUMN c int;",
                "CREATE INDEX CONCURRENTLY t_c ON t (c);"
            ]
        );
        assert!(s.no_transaction);
        // A transaction per migration ends the step with COMMIT: still transactional.
        let per = "-- Running upgrade a -> b\nALTER TABLE t ADD COLUMN c int;\nUPDATE alembic_version SET version_num='b';\nCOMMIT;\nBEGIN;\n";
        assert!(
            !script(per, Step::Upgrade, "b", "alembic_version")
                .unwrap()
                .no_transaction
        );
    }

    #[test]
    fn another_version_table_and_a_schema() {
        let out = "CREATE TABLE app.db_revisions (version_num VARCHAR(32) NOT NULL);\n\
                   -- Running upgrade  -> a\nCREATE TABLE t (id int);\n\
                   INSERT INTO app.db_revisions (version_num) VALUES ('a');\n";
        let table = version_table(out).unwrap();
        assert_eq!(table, "app.db_revisions");
        let s = script(out, Step::Upgrade, "a", &table).unwrap();
        assert_eq!(s.statements, ["CREATE TABLE t (id int);"]);
    }
}
