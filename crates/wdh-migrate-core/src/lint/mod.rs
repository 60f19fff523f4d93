//! Lint: what each migration's statements do to a live database, read with
//! PostgreSQL's own parser (libpg_query) and, with a target, judged against
//! the live catalog.
//!
//! # Rules
//!
//! Every rule has a stable id, a family and a default severity
//! ([`rules::RULES`]; the README has the table). The families are one
//! module each: locks held while something long runs ([`Family::Locking`]),
//! table rewrites ([`Family::Rewrite`]), constraints that scan the table
//! ([`Family::Constraints`]), statements at odds with the migration's
//! transaction ([`Family::Transactions`]), changes that break the code
//! running against the database ([`Family::Compatibility`]), data loss
//! ([`Family::Destructive`]), statements lint cannot see
//! ([`Family::Hidden`]), column types ([`Family::Types`]), and the file
//! itself ([`Family::Meta`]).
//!
//! A statement on a table created earlier in the same file is never a
//! finding of the locking, rewrite, constraint or destructive families: no
//! one else can be using that table yet.
//!
//! # With a target
//!
//! [`live::Facts`] are read from the catalog for the tables the findings
//! name: `pg_class.reltuples` and `pg_total_relation_size` (a partitioned
//! table counts its partitions), the column's current type (a type change
//! that needs no rewrite, such as `varchar(10)` to `varchar(20)` or to
//! `text`, is no finding), whether a validated `CHECK (col IS NOT NULL)`
//! exists (then `SET NOT NULL` does not scan, on PostgreSQL 12+), and the
//! volatility of the functions a new column's default calls. A rule that is
//! [sized](rules::Rule::sized) is then no finding for a table that is not
//! there yet (an earlier pending migration creates it) or is empty, a
//! warning below the [`Thresholds`] and an error at or above them, its
//! message saying how large (rows and MB). The server's version chooses the
//! advice (and whether a constant default rewrites: before PostgreSQL 11 it
//! does).
//!
//! Without a target a table's size is unknown: a sized rule keeps its
//! default severity, as if the table were large.
//!
//! # Acknowledgement
//!
//! `-- wdh:allow <rule> [reason]` among a file's leading comments
//! acknowledges that rule for that file: its findings are shown as
//! acknowledged and are no longer errors. A rule that finds nothing in a
//! file that allows it is an [`rules::UNUSED_ALLOW`] warning.
//!
//! # What lint cannot see
//!
//! The body of a `DO` block in PL/pgSQL is parsed (with libpg_query's
//! PL/pgSQL parser) and its static statements are linted like the file's,
//! at the line they are on; an `EXECUTE` of a string built at run time, a
//! `DO` block in another language or one that does not parse, and `CALL`
//! are [`rules::HIDDEN_SQL`] warnings. The body of a `CREATE FUNCTION` is
//! not linted: it runs when it is called, not when the migration runs.
//!
//! # Destructive statements
//!
//! The destructive family (`drop-table`, `drop-column`, `drop-schema`,
//! `truncate`, `delete-without-where`, `update-without-where`,
//! `drop-database`, `drop-cascade`) is looked for in up scripts only: a
//! down script undoes its up and is guarded as a whole, as a downgrade. An
//! upgrade with such a finding that its file does not acknowledge is a
//! destructive operation for the guard
//! ([`crate::guard::Operation::DestructiveUpgrade`]).

mod compat;
mod constraints;
mod destructive;
mod hidden;
mod judge;
pub mod live;
mod locking;
pub(crate) mod names;
mod render;
mod rewrite;
pub mod rules;
mod session;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
mod types;
mod walk;

use std::path::PathBuf;

use crate::migrations::{Direction, Migration, MigrationSet, Script};

pub use live::Facts;
pub use names::Relation;
pub use rules::{rule, Rule, RULES};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// `lint` exits 4; `upgrade` refuses it on a protected database.
    Error,
    /// Shown; nothing is refused.
    Warning,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// What a family of rules is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// A lock held while something long runs.
    Locking,
    /// A rewrite of the whole table.
    Rewrite,
    /// A constraint that scans the table.
    Constraints,
    /// A statement at odds with the migration's transaction.
    Transactions,
    /// A change that breaks the code running against the database.
    Compatibility,
    /// Data loss; judged by the guard as a destructive operation.
    Destructive,
    /// Statements lint cannot see.
    Hidden,
    /// Column types.
    Types,
    /// The file itself.
    Meta,
}

/// When a table is large: at or above either limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Thresholds {
    /// Rows (`pg_class.reltuples`, the planner's estimate).
    pub rows: u64,
    /// Bytes (`pg_total_relation_size`: the table, its indexes and TOAST).
    pub bytes: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            rows: 100_000,
            bytes: 100 * 1024 * 1024,
        }
    }
}

/// A `-- wdh:allow` that acknowledges a finding.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Acknowledged {
    /// The directive's line in the file.
    pub line: usize,
    /// The reason written after the rule, if any.
    pub reason: Option<String>,
}

/// How large a table is, as the live catalog says.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TableSize {
    /// The table, schema-qualified.
    pub table: String,
    /// The planner's row estimate (`reltuples`); none when the table was
    /// never vacuumed or analyzed.
    pub rows: Option<u64>,
    /// `pg_total_relation_size`.
    pub bytes: u64,
}

/// One finding: a statement of a file and what it does.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Finding {
    /// The rule's id.
    pub rule: &'static str,
    /// The severity after the target's facts: for a sized rule, the
    /// table's size decides it.
    pub severity: Severity,
    /// The file, relative to the set's root.
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What the statement does.
    pub message: String,
    /// The safe way to do it.
    pub help: String,
    /// The statement's first line, cut to 60 characters.
    pub statement: String,
    /// The migration's version.
    pub version: String,
    /// Whether the file runs up or down.
    pub direction: Direction,
    /// The table's size, when a target gave it.
    pub size: Option<TableSize>,
    /// Set when the file acknowledges the rule.
    pub acknowledged: Option<Acknowledged>,
}

impl Finding {
    /// The rule.
    pub fn rule(&self) -> &'static Rule {
        rules::rule(self.rule).unwrap_or(&rules::SYNTAX_ERROR)
    }

    /// An error that no `-- wdh:allow` acknowledges.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error && self.acknowledged.is_none()
    }

    /// A statement of the destructive family in an up script that no
    /// `-- wdh:allow` acknowledges: the guard judges its upgrade.
    pub fn is_destructive(&self) -> bool {
        self.rule().is_destructive()
            && self.direction == Direction::Up
            && self.acknowledged.is_none()
    }
}

/// What lint found in a set.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Report {
    /// Every finding, in migration order, then file, then position.
    pub findings: Vec<Finding>,
    /// How many files were linted.
    pub files: usize,
    /// Up scripts of applied migrations, not linted (they ran already).
    pub applied_skipped: usize,
    /// The server's `server_version_num`, when a target gave the facts.
    pub server_version: Option<i32>,
}

impl Report {
    /// Findings that are errors, not acknowledged.
    pub fn errors(&self) -> usize {
        self.findings.iter().filter(|f| f.is_error()).count()
    }

    /// Findings that are warnings, not acknowledged.
    pub fn warnings(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Warning && f.acknowledged.is_none())
            .count()
    }

    /// Acknowledged findings.
    pub fn acknowledged(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.acknowledged.is_some())
            .count()
    }
}

/// One file to lint.
#[derive(Debug, Clone, Copy)]
pub struct Job<'a> {
    /// Its migration.
    pub migration: &'a Migration,
    /// The script.
    pub script: &'a Script,
    /// Up or down.
    pub direction: Direction,
    /// Judge it against the live facts (a pending up, or the down of an
    /// applied migration); otherwise its tables' sizes are unknown.
    pub live: bool,
}

/// The files of `set`, in order: each migration's up, then its down.
pub fn every_file(set: &MigrationSet) -> Vec<Job<'_>> {
    let mut jobs = Vec::new();
    for m in &set.migrations {
        jobs.push(Job {
            migration: m,
            script: &m.up,
            direction: Direction::Up,
            live: false,
        });
        if let Some(down) = m.down.script() {
            jobs.push(Job {
                migration: m,
                script: down,
                direction: Direction::Down,
                live: false,
            });
        }
    }
    jobs
}

/// Lints `jobs` without a target: a sized rule keeps its default severity.
pub fn offline(jobs: &[Job<'_>]) -> Report {
    let analysis = walk::analyze(jobs, None);
    judge::judge(jobs, analysis, None, Thresholds::default())
}

/// Lints `jobs`, reading the live facts from `client` for the jobs marked
/// [`Job::live`] (one to three catalog queries, only for the tables the
/// findings name). `version` is the server's `server_version_num`.
pub fn against(
    client: &mut postgres::Client,
    version: i32,
    jobs: &[Job<'_>],
    thresholds: Thresholds,
) -> Result<Report, postgres::Error> {
    against_with(version, jobs, thresholds, |q| q.read(client))
}

/// The catalog questions lint asks for some jobs: owned, so they can be
/// sent to the connection's own thread.
#[derive(Debug)]
pub struct LiveQuery {
    questions: live::Questions,
    version: i32,
}

impl LiveQuery {
    /// Asks them on `client`.
    pub fn read(&self, client: &mut postgres::Client) -> Result<live::Facts, postgres::Error> {
        live::read(client, self.version, &self.questions)
    }
}

/// [`against`], the live facts read by `read` (for a connection that runs
/// its round trips elsewhere).
pub fn against_with<E>(
    version: i32,
    jobs: &[Job<'_>],
    thresholds: Thresholds,
    read: impl FnOnce(LiveQuery) -> Result<live::Facts, E>,
) -> Result<Report, E> {
    let analysis = walk::analyze(jobs, Some(version));
    let questions = judge::questions(jobs, &analysis);
    let facts = read(LiveQuery { questions, version })?;
    Ok(judge::judge(jobs, analysis, Some(&facts), thresholds))
}
