//! What the ledger holds, as the runner and the planner see it.
//!
//! A row's version is kept twice: as the ledger records it (every ledger
//! statement about the row must use that text) and resolved, once, when the
//! row is read, with the ordering of the migration set it is compared with
//! (in the flat layout `1` and `0001` are the same version). Every
//! comparison with a migration uses the resolved version.

use crate::migrations::Direction;
use crate::migrations::{Migration, Version};

/// A migration as the ledger records it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AppliedRow {
    /// Normalized version, as recorded.
    pub version: String,
    /// [`AppliedRow::version`] resolved with the set's layout when the row
    /// was read; `None` when the text is not a version.
    #[serde(skip)]
    pub resolved: Option<Version>,
    /// Name at the time it was applied.
    pub name: String,
    /// SHA-256 (hex) of its up script when it was applied.
    pub checksum: String,
    /// When it was applied (RFC 3339).
    pub applied_at: String,
    /// How long its SQL took, in milliseconds.
    pub execution_ms: f64,
    /// The role that applied it.
    pub applied_by: String,
    /// The client address (none over a unix socket).
    pub client_addr: Option<String>,
}

impl AppliedRow {
    /// Whether the row records `version`.
    pub fn is_version(&self, version: &Version) -> bool {
        self.resolved.as_ref() == Some(version)
    }
}

/// A no-transaction migration that failed, or was interrupted, part-way.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FailedRow {
    /// Normalized version, as recorded.
    pub version: String,
    /// [`FailedRow::version`] resolved with the set's layout when the row
    /// was read; `None` when the text is not a version.
    #[serde(skip)]
    pub resolved: Option<Version>,
    /// Name.
    pub name: String,
    /// Whether it failed applying (`up`) or reverting (`down`).
    pub direction: Direction,
    /// `running` (or interrupted), `failed`, or `partial` (a transactional
    /// script that ended its transaction itself).
    pub state: String,
    /// Statements that completed before the failure.
    pub statements_done: i32,
    /// Statements in the script.
    pub statements_total: i32,
    /// The error, or a note that the run was interrupted.
    pub error: String,
    /// When it failed (RFC 3339).
    pub failed_at: String,
}

impl FailedRow {
    /// Whether the row records `version`.
    pub fn is_version(&self, version: &Version) -> bool {
        self.resolved.as_ref() == Some(version)
    }
}

/// The run lock's row, as read.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LockRow {
    /// Whether a run holds it (its lease may have expired).
    pub held: bool,
    /// The server process that took it (behind a transaction pooler, a
    /// pooled session, not the holder's own).
    pub pid: Option<i32>,
    /// The holder's own description: program, version, host and process.
    pub client: Option<String>,
    /// The role that took it.
    pub role: Option<String>,
    /// The client address the server saw (none over a unix socket).
    pub client_addr: Option<String>,
    /// The operation holding it (`upgrade`, `downgrade`, …).
    pub operation: Option<String>,
    /// Seconds since the holder last renewed its lease.
    pub heartbeat_age_s: Option<f64>,
    /// The lease, in milliseconds: without a renewal for that long, the
    /// lock is free.
    pub lease_ms: Option<i64>,
    /// Seconds since it was taken.
    pub held_for_s: Option<f64>,
}

impl LockRow {
    /// Held, and renewed within its lease.
    pub fn is_live(&self) -> bool {
        self.held
            && match (self.heartbeat_age_s, self.lease_ms) {
                (Some(age), Some(lease)) => age * 1000.0 <= lease as f64,
                _ => false,
            }
    }

    /// Who holds it, for messages: `wdh-migrate 0.1.0 on host (pid 12),
    /// role r, upgrade, last heartbeat 1.2 s ago`.
    pub fn describe(&self) -> String {
        let mut parts = vec![self
            .client
            .clone()
            .unwrap_or_else(|| "an unknown client".into())];
        if let Some(role) = &self.role {
            parts.push(format!("role `{role}`"));
        }
        if let Some(addr) = &self.client_addr {
            parts.push(format!("from {addr}"));
        }
        if let Some(pid) = self.pid {
            parts.push(format!("server process {pid}"));
        }
        if let Some(op) = &self.operation {
            parts.push(op.clone());
        }
        if let Some(age) = self.heartbeat_age_s {
            let lease = self
                .lease_ms
                .map(|l| format!(" (lease {:.1} s)", l as f64 / 1000.0))
                .unwrap_or_default();
            parts.push(format!("last heartbeat {age:.1} s ago{lease}"));
        }
        parts.join(", ")
    }
}

/// What the ledger holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LedgerState {
    /// Whether the ledger schema exists at all.
    pub exists: bool,
    /// Applied migrations, in the order they were applied.
    pub applied: Vec<AppliedRow>,
    /// Failed no-transaction migrations.
    pub failed: Vec<FailedRow>,
}

impl LedgerState {
    /// The version as the ledger records `m` (the ledger may hold `1` where
    /// the file now says `0001`: in the flat layout they are the same
    /// version); the file's own version when the ledger has no row for it.
    /// Every ledger statement about `m` must use this text.
    pub fn recorded_version(&self, m: &Migration) -> String {
        self.applied
            .iter()
            .filter(|r| r.is_version(&m.version))
            .map(|r| &r.version)
            .chain(
                self.failed
                    .iter()
                    .filter(|f| f.is_version(&m.version))
                    .map(|f| &f.version),
            )
            .next()
            .cloned()
            .unwrap_or_else(|| m.version.to_string())
    }

    /// Whether `m` is recorded as failed (outside a transaction).
    pub fn is_failed(&self, m: &Migration) -> bool {
        self.failed.iter().any(|f| f.is_version(&m.version))
    }
}

/// One audit row.
#[derive(Debug, Clone, Default)]
pub struct AuditEntry {
    /// `upgrade`, `downgrade`, `mark`, …
    pub operation: String,
    /// Version before.
    pub from: Option<String>,
    /// Version after (or intended).
    pub to: Option<String>,
    /// The target as given, password redacted.
    pub target: String,
    /// `success`, `failed` or `refused`.
    pub outcome: String,
    /// The error, if any (password redacted).
    pub error: Option<String>,
    /// Whether a safety override was used.
    pub override_used: bool,
    /// For an upgrade with destructive statements: each, and how the guard
    /// let it run (acknowledged in its file, the override, a safe
    /// database) or that it refused.
    pub destructive: Option<String>,
    /// What the run's destructive steps destroy, as JSON (the preview's
    /// list: each object dropped or rows removed, with its count).
    pub loss: Option<String>,
    /// The file a snapshot of what the run destroys was written to.
    pub snapshot: Option<String>,
}
