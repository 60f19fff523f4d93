//! Why a ledger could not be adopted.

use super::{Found, Tool};

/// Why another tool's ledger could not be adopted. Nothing was written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdoptError {
    /// No ledger of the tool (or of any tool) in the database.
    #[error("{}", match tool {
        Some(t) => format!("no {t} ledger (table `{}`) on the search path; connect to the database {t} migrated, or name another tool with --from", t.table()),
        None => format!("no other tool's ledger on the search path (looked for {}); name the tool with --from if its table is elsewhere", Tool::ALL.iter().map(|t| format!("`{}` ({t})", t.table())).collect::<Vec<_>>().join(", ")),
    })]
    NotFound {
        /// The tool asked for, if one was.
        tool: Option<Tool>,
    },
    /// Two tools' ledgers were found and none was named.
    #[error("found two ledgers: {} ({}) and {} ({}); name the one to adopt with --from {} or --from {}", first.tool, first.table, second.tool, second.table, first.tool, second.tool)]
    Ambiguous {
        /// The first found.
        first: Found,
        /// The second found.
        second: Found,
    },
    /// The tool recorded a migration that failed or was left dirty.
    #[error("{tool} ({table}) records {what}; {repair}. Then adopt again")]
    Failed {
        /// The tool.
        tool: Tool,
        /// Its table.
        table: String,
        /// What it records, with the versions.
        what: String,
        /// How to repair it with the tool itself.
        repair: String,
    },
    /// Applied versions without a file, or whose file changed.
    #[error("{}", refused(tool, table, missing, mismatched))]
    Refused {
        /// The tool.
        tool: Tool,
        /// Its table.
        table: String,
        /// Versions the tool applied that have no file in the set.
        missing: Vec<String>,
        /// Versions whose file no longer matches the checksum the tool
        /// recorded, with the file.
        mismatched: Vec<String>,
    },
    /// The tool's table could not be read.
    #[error(
        "reading {tool}'s ledger {table} failed: {}",
        crate::causes::describe(source)
    )]
    Read {
        /// The tool.
        tool: Tool,
        /// Its table.
        table: String,
        /// The cause (its text is part of this error's message).
        source: postgres::Error,
    },
}

fn refused(tool: &Tool, table: &str, missing: &[String], mismatched: &[String]) -> String {
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!(
            "{tool} ({table}) applied {} that have no file in the migration set: {}",
            if missing.len() == 1 {
                "a version"
            } else {
                "versions"
            },
            missing.join(", ")
        ));
    }
    if !mismatched.is_empty() {
        parts.push(format!(
            "the file of {} no longer matches the checksum {tool} recorded: {}",
            if mismatched.len() == 1 {
                "a version"
            } else {
                "versions"
            },
            mismatched.join(", ")
        ));
    }
    format!(
        "{}; nothing was recorded. Point --migrations at the set {tool} applied (restore the files as they were applied), then adopt again",
        parts.join("; ")
    )
}
