//! The live facts: connecting, checking the connected database against the
//! target's claim, judging an operation on the claim and on the live facts
//! (a refusal is audited), reading the facts again under the lock, and
//! reading the ledger.

use postgres::{Client, NoTls};

use crate::guard::{self, Decision, Operation};
use crate::identity::Identity;
use crate::ledger::{self, statements, AuditEntry, LedgerState};
use crate::migrations::Layout;

use super::{Event, RunError, Runner};

/// A connection whose live database has been checked against the target's
/// claim ([`Runner::connect`]).
pub struct Connected {
    pub(super) client: Client,
    pub(super) identity: Identity,
}

impl Connected {
    /// The live facts of the connection.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Creates the ledger unless this session already knows it exists.
    pub(super) fn ensure_ledger(&mut self) -> Result<(), postgres::Error> {
        if !self.identity.ledger_exists {
            ledger::ensure(&mut self.client)?;
            self.identity.ledger_exists = true;
        }
        Ok(())
    }
}

impl std::fmt::Debug for Connected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connected")
            .field("identity", &self.identity)
            .finish()
    }
}

impl Runner<'_> {
    /// Connects for an upgrade: reads the live facts, and stops before any
    /// other statement if the connected database is not the one the target
    /// names. The environment marker is not read: it decides only
    /// destructive operations, which read it themselves.
    pub fn connect(&self) -> Result<Connected, RunError> {
        self.connect_with(false)
    }

    pub(super) fn connect_with(&self, marker: bool) -> Result<Connected, RunError> {
        let mut config = self.target.config().clone();
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(self.options.connect_timeout);
        }
        config.application_name("wdh-migrate");
        let mut client = config.connect(NoTls).map_err(|source| RunError::Connect {
            target: self.target.redacted(),
            source,
        })?;
        let identity = Identity::read(&mut client, marker).map_err(RunError::db(
            self.target.database(),
            "reading the connection's identity",
        ))?;
        tracing::debug!(target = %self.target.redacted(), live = %identity.describe(), "connected");
        if identity.database != self.target.database() {
            return Err(RunError::DatabaseMismatch {
                claimed: self.target.database().to_string(),
                connected: identity.database.clone(),
            });
        }
        Ok(Connected { client, identity })
    }

    /// Judges `op` on the claim (the database the target names) before
    /// connecting: a plainly protected target is refused without any
    /// connection. The operations call it themselves; a caller can call it
    /// first too, to refuse before any other work. Returns whether the
    /// override is in use.
    pub fn judge_claim(&self, op: &Operation) -> Result<bool, RunError> {
        let decision = guard::decide(
            op,
            self.target.database(),
            None,
            &self.options.policy,
            &self.options.override_,
        )?;
        match decision {
            Decision::Allow | Decision::AllowSafe(_) => Ok(false),
            Decision::AllowWithOverride { .. } => Ok(true),
            Decision::Refuse(r) => Err(RunError::Blocked(Box::new(r))),
        }
    }

    /// The guard's decision on `op` from the live facts of `c`.
    pub(super) fn decide_live(
        &self,
        c: &Connected,
        op: &Operation,
    ) -> Result<Decision, guard::GuardError> {
        guard::decide(
            op,
            &c.identity.database,
            c.identity.marker.as_ref(),
            &self.options.policy,
            &self.options.override_,
        )
    }

    /// Judges `op` on the live facts; a refusal is written to the audit log.
    pub(super) fn judge_live(
        &self,
        c: &mut Connected,
        op: &Operation,
        audit: &AuditEntry,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<bool, RunError> {
        let decision = match self.decide_live(c, op) {
            Ok(d) => d,
            Err(e) => {
                self.audit(
                    c,
                    AuditEntry {
                        outcome: "refused".into(),
                        error: Some(e.render(self.spelling)),
                        ..audit.clone()
                    },
                );
                return Err(e.into());
            }
        };
        match decision {
            Decision::Allow => Ok(false),
            Decision::AllowSafe(note) => {
                if note.names_a_source() {
                    on(Event::Safe(&note.to_string()));
                }
                Ok(false)
            }
            Decision::AllowWithOverride { warning } => {
                on(Event::Override(&warning.render(self.spelling)));
                Ok(true)
            }
            Decision::Refuse(r) => {
                self.audit(
                    c,
                    AuditEntry {
                        outcome: "refused".into(),
                        error: Some(r.render(self.spelling)),
                        ..audit.clone()
                    },
                );
                Err(RunError::Blocked(Box::new(r)))
            }
        }
    }

    /// Refuses (and audits) before waiting for the lock what the live facts
    /// already refuse; what they allow is judged again under the lock.
    pub(super) fn refuse_early(
        &self,
        c: &mut Connected,
        op: &Operation,
        audit: &AuditEntry,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), RunError> {
        let decision = self.decide_live(c, op);
        match decision {
            Ok(Decision::Allow | Decision::AllowSafe(_) | Decision::AllowWithOverride { .. }) => {
                Ok(())
            }
            Ok(Decision::Refuse(_)) | Err(_) => self.judge_live(c, op, audit, on).map(|_| ()),
        }
    }

    /// Reads the live facts again (after waiting for the lock).
    pub(super) fn refresh_identity(&self, c: &mut Connected) -> Result<(), RunError> {
        c.identity = Identity::read(&mut c.client, true).map_err(RunError::db(
            &c.identity.database,
            "reading the connection's identity",
        ))?;
        Ok(())
    }

    /// Appends an audit row, creating the ledger if needed. Best effort: a
    /// failure to audit never hides the run's own outcome.
    pub(super) fn audit(&self, c: &mut Connected, entry: AuditEntry) {
        let entry = AuditEntry {
            target: self.target.redacted(),
            error: entry.error.map(|e| self.target.scrub(&e)),
            ..entry
        };
        let _ = c
            .ensure_ledger()
            .and_then(|()| c.client.batch_execute(&statements::audit_sql(&entry)));
    }

    /// Reads the ledger, each version resolved with `layout` (the layout of
    /// the set it is compared with); `detail` adds when, by whom and how
    /// long (for `status` and `history`), which planning does not need.
    pub(super) fn read_ledger(
        &self,
        c: &mut Connected,
        detail: bool,
        layout: Layout,
    ) -> Result<LedgerState, RunError> {
        let exists = c.identity.ledger_exists;
        let (format, state) = ledger::read(&mut c.client, exists, detail, layout)
            .map_err(RunError::db(&c.identity.database, "reading the ledger"))?;
        if format > ledger::FORMAT {
            return Err(RunError::LedgerTooNew {
                database: c.identity.database.clone(),
                format,
            });
        }
        Ok(state)
    }
}
