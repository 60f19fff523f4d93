//! `status`: every migration of the set as the ledger sees it.

use crate::identity::Identity;
use crate::ledger::LedgerState;
use crate::migrations::{Down, IgnoredFile, MigrationSet};
use crate::plan;

use super::repair_steps;
use crate::spelling::{Knob, Spelling};

/// The migration state of a database, for `status`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Status {
    /// The live facts.
    pub identity: Identity,
    /// The newest applied version.
    pub current: Option<String>,
    /// One entry per migration of the set, then applied ones missing from it.
    pub migrations: Vec<StatusEntry>,
    /// Files that are not migrations.
    pub ignored: Vec<(String, String)>,
    /// The run lock: who holds it and its last heartbeat (none where the
    /// ledger has no lock row yet).
    pub lock: Option<crate::ledger::LockRow>,
    /// What the connection showed of a pooler (transaction pooling, a proxy
    /// in front), if anything.
    pub pooling: Option<String>,
    /// The database's INVALID indexes (a failed or interrupted concurrent
    /// index build leaves one).
    pub invalid_indexes: Vec<String>,
}

/// One line of `status`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StatusEntry {
    /// Version.
    pub version: String,
    /// Name.
    pub name: String,
    /// `applied`, `pending`, `drifted`, `failed`, `missing` (applied, no file) or `out-of-order` (pending, older than current).
    pub state: &'static str,
    /// `reversible`, `no-op down`, `irreversible` or `no down.sql`.
    pub down: &'static str,
    /// Whether it runs outside a transaction.
    pub no_transaction: bool,
    /// When it was applied.
    pub applied_at: Option<String>,
    /// Details for failed or drifted entries, with the repair steps.
    pub note: Option<String>,
}

/// What `status` reads besides the ledger's rows.
pub(super) struct Extra {
    pub(super) lock: Option<crate::ledger::LockRow>,
    pub(super) pooling: Option<String>,
    pub(super) invalid_indexes: Vec<String>,
}

pub(super) fn status(
    identity: Identity,
    set: &MigrationSet,
    state: &LedgerState,
    spelling: &dyn Spelling,
    extra: Extra,
) -> Status {
    let a = plan::analyze(set, state);
    let mut entries = Vec::new();
    for m in &set.migrations {
        let version = m.version.to_string();
        let row = state.applied.iter().find(|r| r.is_version(&m.version));
        let failed = state.failed.iter().find(|f| f.is_version(&m.version));
        let drift = a.drifted.iter().find(|d| d.resolved == m.version);
        let (state_name, note) = if let Some(f) = failed {
            (
                "failed",
                Some(format!("{}: {}", f.error, repair_steps(f, spelling))),
            )
        } else if let Some(d) = drift {
            (
                "drifted",
                Some(format!(
                    "{} changed since it was applied (recorded {}, now {})",
                    d.path,
                    &d.recorded[..12.min(d.recorded.len())],
                    &d.current[..12]
                )),
            )
        } else if row.is_some() {
            ("applied", None)
        } else if a.out_of_order.iter().any(|x| x.version == m.version) {
            (
                "out-of-order",
                Some(format!(
                    "pending, but older than the current version; upgrade needs {}",
                    spelling.knob(Knob::AllowOutOfOrder)
                )),
            )
        } else {
            ("pending", None)
        };
        let down = match &m.down {
            Down::Script(s) if s.is_empty() => "no-op down",
            Down::Script(_) => "reversible",
            Down::Missing => "no down.sql",
            Down::Irreversible(_) => "irreversible",
        };
        entries.push(StatusEntry {
            version,
            name: m.name.clone(),
            state: state_name,
            down,
            no_transaction: m.up.no_transaction,
            applied_at: row.map(|r| r.applied_at.clone()),
            note,
        });
    }
    for r in &a.missing {
        entries.push(StatusEntry {
            version: r.version.clone(),
            name: r.name.clone(),
            state: "missing",
            down: "no down.sql",
            no_transaction: false,
            applied_at: Some(r.applied_at.clone()),
            note: Some("applied, but its files are not in the migration set".into()),
        });
    }
    let ignored = set
        .ignored
        .iter()
        .map(|i: &IgnoredFile| (i.path.display().to_string(), i.reason.clone()))
        .collect();
    Status {
        identity,
        current: a.current.map(|m| m.version.to_string()),
        migrations: entries,
        ignored,
        lock: extra.lock,
        pooling: extra.pooling,
        invalid_indexes: extra.invalid_indexes,
    }
}
