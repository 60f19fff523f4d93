//! What a destructive step destroys, before it runs: the schemas, tables
//! and columns it drops, with their row counts, and the rows it deletes or
//! truncates.
//!
//! The runner finds it out by rehearsal where the step runs in a
//! transaction (`runner::rehearse`: the script run in a transaction that
//! is always rolled back, the catalog and the counts read around it), and
//! from the parse tree ([`parse`]) where it cannot: a no-transaction step,
//! a script with transaction control of its own, a read-only session, a
//! lock not granted within the rehearsal's `lock_timeout`. This module
//! holds what both produce and how it is shown: pure, unit-tested.

use std::fmt;

pub mod parse;
#[cfg(test)]
mod tests;

/// What is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lost {
    /// A schema dropped (its tables are listed as tables of their own).
    Schema,
    /// A table dropped, with its rows.
    Table,
    /// A column dropped, with its values.
    Column,
    /// Every row of a table removed by `TRUNCATE`.
    Truncated,
    /// Rows removed by `DELETE`.
    Deleted,
}

/// A count, and whether it was counted or estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Count {
    /// Rows (of a table, truncated or deleted) or non-null values (of a
    /// column).
    pub n: u64,
    /// Counted (`count(*)`, or the rows a rehearsal removed); otherwise
    /// estimated from the planner's statistics (`reltuples`, a column's
    /// `null_frac`), for a table larger than the exact-count threshold.
    pub exact: bool,
}

/// One thing a step destroys.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Loss {
    /// What is lost.
    pub lost: Lost,
    /// Its name as SQL writes it, qualified: `business`,
    /// `business.company`, `business.plan.code`.
    pub name: String,
    /// For a table or column: the schema and the table holding it (what a
    /// snapshot keeps); none for a schema.
    #[serde(skip)]
    pub table: Option<(String, String)>,
    /// Rows (table, truncated, deleted) or non-null values (column); none
    /// when it cannot be told (a `DELETE … WHERE` read from the parse
    /// tree, a table the role may not read).
    pub count: Option<Count>,
}

/// How a step's losses were found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Method {
    /// Rehearsed: run in a transaction on the target and rolled back.
    Rehearsed,
    /// Read from the parse tree (the step was not rehearsed), and why.
    ParseTree {
        /// Why it was not rehearsed.
        why: String,
    },
}

/// What one step destroys.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StepPreview {
    /// `<version>_<name>`.
    pub migration: String,
    /// How it was found.
    #[serde(flatten)]
    pub method: Method,
    /// What it destroys, in the order found.
    pub losses: Vec<Loss>,
}

/// What a run's destructive steps destroy, step by step.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Preview {
    /// The steps, in the order they run (steps that destroy nothing too).
    pub steps: Vec<StepPreview>,
}

impl Preview {
    /// Whether nothing is lost.
    pub fn is_empty(&self) -> bool {
        self.steps.iter().all(|s| s.losses.is_empty())
    }

    /// Every loss, with its step.
    pub fn losses(&self) -> impl Iterator<Item = (&StepPreview, &Loss)> {
        self.steps
            .iter()
            .flat_map(|s| s.losses.iter().map(move |l| (s, l)))
    }

    /// One line per loss: `0003_x: would drop table business.company
    /// (1,000 rows)`.
    pub fn lines(&self) -> Vec<String> {
        self.losses()
            .map(|(s, l)| format!("{}: would {l}", s.migration))
            .collect()
    }

    /// One line per loss, for a run that is about to do it: `0003_x: drop
    /// table business.company (1,000 rows)`.
    pub fn plain_lines(&self) -> Vec<String> {
        self.losses()
            .map(|(s, l)| format!("{}: {l}", s.migration))
            .collect()
    }

    /// The losses in one sentence, for a warning: `drop table
    /// business.company (1,000 rows); drop column …`.
    pub fn summary(&self) -> String {
        self.losses()
            .map(|(_, l)| l.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The preview as JSON, for the audit row's `loss` column.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.steps).unwrap_or_else(|_| "[]".into())
    }

    /// The tables whose rows or values a snapshot must keep, once each, in
    /// the order first named: those with something in them (a count that
    /// is not an exact zero: an estimate or an unknown count keeps the
    /// table).
    pub fn tables_with_data(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for (_, l) in self.losses() {
            let empty = matches!(l.count, Some(Count { n: 0, exact: true }));
            if let (Some(t), false) = (&l.table, empty) {
                if !out.contains(t) {
                    out.push(t.clone());
                }
            }
        }
        out
    }

    /// Whether any step was read from the parse tree rather than
    /// rehearsed.
    pub fn any_unrehearsed(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s.method, Method::ParseTree { .. }))
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn counted(count: Option<Count>, one: &str, many: &str) -> String {
    match count {
        None => format!("{many}: unknown"),
        Some(Count { n, exact: true }) => {
            format!("{} {}", thousands(n), if n == 1 { one } else { many })
        }
        Some(Count { n, exact: false }) => format!("about {} {many}, estimated", thousands(n)),
    }
}

impl fmt::Display for Loss {
    /// `drop table business.company (1,000 rows)`, without the `would`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.lost {
            Lost::Schema => write!(f, "drop schema {}", self.name),
            Lost::Table => write!(
                f,
                "drop table {} ({})",
                self.name,
                counted(self.count, "row", "rows")
            ),
            Lost::Column => write!(
                f,
                "drop column {} ({})",
                self.name,
                counted(self.count, "non-null value", "non-null values")
            ),
            Lost::Truncated => write!(
                f,
                "truncate {} ({})",
                self.name,
                counted(self.count, "row", "rows")
            ),
            Lost::Deleted => match self.count {
                None => write!(
                    f,
                    "delete rows from {} (how many is not known without a rehearsal)",
                    self.name
                ),
                Some(Count { n, exact }) => write!(
                    f,
                    "delete {}{} {} from {}",
                    if exact { "" } else { "about " },
                    thousands(n),
                    if n == 1 { "row" } else { "rows" },
                    self.name
                ),
            },
        }
    }
}
