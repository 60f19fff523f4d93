//! The live facts: connecting, checking the connected database against the
//! target's claim, judging an operation on the claim and on the live facts
//! (a refusal is audited), reading the facts again under the lock, and
//! reading the ledger.

use std::time::Duration;

use crate::guard::{self, Decision, Operation};
use crate::identity::Identity;
use crate::ledger::{self, statements, AuditEntry, LedgerState};
use crate::migrations::Layout;

use super::connect::Dialer;
use super::session::Session;
use super::{Event, RunError, Runner};

/// A connection whose live database has been checked against the target's
/// claim ([`Runner::connect`]).
pub struct Connected {
    pub(super) client: Session,
    /// Which host of the target it reached (to reach the same one again).
    pub(super) index: usize,
    pub(super) identity: Identity,
    /// The run lock this connection's run holds, if it holds it.
    pub(super) held: Option<super::lock::Held>,
    /// Notes for the run's output (a lock taken over from a dead run, …).
    pub(super) notes: Vec<String>,
    /// The server processes seen answering this connection, in order.
    pub(super) pids: Vec<i32>,
    /// The next migration's transaction, opened by the message that
    /// committed the one before it ([`super::step::Ahead`]).
    pub(super) ahead: Option<super::step::Ahead>,
}

impl Connected {
    /// The live facts of the connection.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The host of the target this connection reached, as messages name
    /// it (`db2:5432`, `/run/postgresql (unix socket)`).
    pub fn host(&self) -> &str {
        self.client.host()
    }

    /// What the connection showed of a pooler: the server process answering
    /// it changed between messages (transaction pooling), or the server
    /// listens on another port than the one connected to (a proxy or a
    /// pooler in front). None when neither was seen, which does not prove
    /// there is none: a pooler that kept one server session for this
    /// client looks like a direct connection.
    pub fn pooling(&self, target_port: Option<u16>) -> Option<String> {
        let mut distinct: Vec<i32> = Vec::new();
        for p in &self.pids {
            if !distinct.contains(p) {
                distinct.push(*p);
            }
        }
        if distinct.len() > 1 {
            let list: Vec<String> = distinct.iter().map(i32::to_string).collect();
            return Some(format!(
                "transaction pooling: the server process answering this connection changed between messages ({})",
                list.join(" → ")
            ));
        }
        match (self.identity.server_port, target_port) {
            (Some(server), Some(client)) if i32::from(client) != server => Some(format!(
                "a proxy or pooler in front of the server: connected to port {client}, the server listens on {server}"
            )),
            _ => None,
        }
    }

    /// Records the server process that answered a message.
    pub(super) fn saw_pid(&mut self, pid: i32) {
        if self.pids.last() != Some(&pid) {
            if self.pids.len() == 1 || (self.pids.len() > 1 && !self.pids.contains(&pid)) {
                tracing::info!(database = %self.identity.database, from = ?self.pids.last(), to = pid,
                    "the server process answering this connection changed: transaction pooling");
            }
            self.pids.push(pid);
        }
    }

    /// Refuses, before any statement, to write on a hot standby or a
    /// read-only session: `operation` names what would be written.
    pub(super) fn require_writable(&self, operation: &str) -> Result<(), RunError> {
        match self.identity.read_only_reason() {
            None => Ok(()),
            Some(reason) => Err(RunError::ReadOnly {
                database: self.identity.database.clone(),
                host: self.host().to_string(),
                reason,
                operation: operation.to_string(),
            }),
        }
    }

    /// Creates the ledger, or upgrades an older format, unless this
    /// session already knows it is current; `wait` bounds the wait for a
    /// concurrent run creating it (and `round_trip` each message). Never
    /// on a standby or a read-only session.
    pub(super) fn ensure_ledger(
        &mut self,
        wait: Duration,
        round_trip: Duration,
    ) -> Result<(), RunError> {
        if !self.identity.ledger_exists || !self.identity.ledger_current {
            self.require_writable("create the ledger")?;
            let database = self.identity.database.clone();
            self.client
                .with(Some(wait + round_trip * 2), move |c| {
                    ledger::ensure(c, wait)
                })
                .map_err(RunError::db(&database, "creating the ledger"))?;
            self.identity.ledger_exists = true;
            self.identity.lock_table_exists = true;
            self.identity.ledger_current = true;
            self.identity.ledger_usage = Some(true);
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
        if let Some(problem) = self.tls.problem() {
            return Err(RunError::Tls {
                target: self.target.redacted(),
                source: Box::new(problem.clone()),
            });
        }
        let reached = self
            .dialer()
            .open(marker)
            .map_err(|failures| RunError::Connect {
                target: self.target.redacted(),
                failures,
            })?;
        let identity = reached.identity;
        tracing::info!(target = %self.target.redacted(), host = %reached.session.host(),
            live = %identity.describe(), "connected");
        if identity.database != self.target.database() {
            return Err(RunError::DatabaseMismatch {
                claimed: self.target.database().to_string(),
                connected: identity.database.clone(),
            });
        }
        let pids = vec![identity.backend_pid];
        Ok(Connected {
            client: reached.session,
            index: reached.index,
            identity,
            held: None,
            ahead: None,
            notes: Vec::new(),
            pids,
        })
    }

    /// How this run opens connections: every connection of a run (the
    /// heartbeat's too) is opened by it, with the target's settings, each
    /// host's password, the defaults of `crate::target`, TLS as the
    /// target's `sslmode` says and the connect timeout bounding each login.
    pub(super) fn dialer(&self) -> Dialer {
        Dialer::new(self.target, self.options.connect_timeout, self.tls.clone())
    }

    /// The `application_name` of this run's connections: the string's,
    /// else its `fallback_application_name`, else `wdh-migrate`.
    pub(super) fn application_name(&self) -> String {
        self.target.application_name().to_owned()
    }

    /// The limit of one round trip of wdh-migrate's own statements: the
    /// connect timeout (the string's, else the run's).
    pub(super) fn round_trip(&self) -> Duration {
        self.target
            .connect_timeout()
            .unwrap_or(self.options.connect_timeout)
    }

    /// [`Runner::round_trip`], as a session's limit.
    pub(super) fn quick(&self) -> Option<Duration> {
        Some(self.round_trip())
    }

    /// The limit of a message that runs `statements` statements of a
    /// migration: each may take the statement timeout, plus a round trip;
    /// none without a statement timeout (a dead connection is then ended
    /// by TCP keepalives and `tcp_user_timeout`).
    pub(super) fn migration_limit(&self, statements: usize) -> Option<Duration> {
        self.options.statement_timeout.map(|t| {
            t.saturating_mul(u32::try_from(statements.max(1)).unwrap_or(u32::MAX))
                + self.round_trip()
        })
    }

    /// The TCP port of the host `c` reached (none over a unix socket).
    pub(super) fn tcp_port(&self, c: &Connected) -> Option<u16> {
        self.target
            .hosts()
            .get(c.index)
            .filter(|h| !h.is_unix_socket())
            .map(crate::target::HostEntry::port)
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
        self.judge_live_naming(c, op, audit, &crate::preview::Preview::default(), on)
    }

    /// [`Runner::judge_live`], the override's warning naming what `preview`
    /// says the run destroys.
    pub(super) fn judge_live_naming(
        &self,
        c: &mut Connected,
        op: &Operation,
        audit: &AuditEntry,
        preview: &crate::preview::Preview,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<bool, RunError> {
        let decision = match self.decide_live(c, op) {
            Ok(d) => d,
            Err(e) => {
                self.audit_or_warn(
                    c,
                    AuditEntry {
                        outcome: "refused".into(),
                        error: Some(e.render(self.spelling)),
                        ..audit.clone()
                    },
                    on,
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
                let mut text = warning.render(self.spelling);
                for line in preview.plain_lines() {
                    text.push_str(&format!("\n  It destroys: {line}"));
                }
                on(Event::Override(&text));
                Ok(true)
            }
            Decision::Refuse(r) => {
                self.audit_or_warn(
                    c,
                    AuditEntry {
                        outcome: "refused".into(),
                        error: Some(r.render(self.spelling)),
                        ..audit.clone()
                    },
                    on,
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
        let unix_socket = self
            .target
            .hosts()
            .get(c.index)
            .is_some_and(crate::target::HostEntry::is_unix_socket);
        c.identity = c
            .client
            .with(self.quick(), move |client| {
                Identity::read_with(client, true, unix_socket)
            })
            .map_err(RunError::db(
                &c.identity.database,
                "reading the connection's identity",
            ))?;
        Ok(())
    }

    /// Appends an audit row, creating the ledger if needed; a failed insert
    /// is tried again (twice). Best effort: a failure to audit never hides
    /// the run's own outcome, but it is said — `Err` carries what went
    /// wrong, and the run's output shows it as a warning.
    pub(super) fn audit(&self, c: &mut Connected, entry: AuditEntry) -> Result<(), String> {
        let entry = AuditEntry {
            target: self.target.redacted(),
            error: entry.error.map(|e| self.target.scrub(&e)),
            ..entry
        };
        let sql = statements::audit_sql(&entry);
        let mut last = String::new();
        for attempt in 0..3 {
            if c.client.is_closed() {
                last = "the connection is closed".into();
                break;
            }
            if let Some(reason) = c.identity.read_only_reason() {
                last = reason;
                break;
            }
            let written = c
                .ensure_ledger(self.options.lock_wait, self.round_trip())
                .and_then(|()| {
                    c.client
                        .batch_execute(self.quick(), &sql)
                        .map_err(RunError::db(&c.identity.database, "writing the audit row"))
                });
            match written {
                Ok(()) => return Ok(()),
                Err(e) => {
                    c.client.rollback(self.quick());
                    last = self.target.scrub(&crate::causes::describe(&e));
                    tracing::debug!(attempt, error = %last, "writing the audit row failed");
                    std::thread::sleep(std::time::Duration::from_millis(20 << attempt));
                }
            }
        }
        Err(format!(
            "the {} of this {} could not be written to the audit log (wdh_migrate.audit) of database `{}`: {last}",
            match entry.outcome.as_str() {
                "refused" => "refusal",
                "failed" => "failure",
                _ => "outcome",
            },
            entry.operation,
            c.identity.database
        ))
    }

    /// [`Runner::audit`], its failure shown as a warning.
    pub(super) fn audit_or_warn(
        &self,
        c: &mut Connected,
        entry: AuditEntry,
        on: &mut dyn FnMut(Event<'_>),
    ) {
        if let Err(w) = self.audit(c, entry) {
            tracing::warn!("{w}");
            on(Event::Warning(&w));
        }
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
        let database = c.identity.database.clone();
        if exists && c.identity.ledger_usage == Some(false) {
            return Err(RunError::LedgerPermission {
                database,
                role: c.identity.role.clone(),
                grant: format!(
                    "GRANT USAGE ON SCHEMA wdh_migrate TO {}",
                    crate::sql::quote_ident(&c.identity.role)
                ),
            });
        }
        let holds_lock = c.held.is_some();
        let (format, state, pid) = c
            .client
            .with(self.quick(), move |client| {
                ledger::read(client, exists, detail, layout, holds_lock)
            })
            .map_err(|e| {
                if e.db().and_then(postgres::Error::code)
                    == Some(&postgres::error::SqlState::INSUFFICIENT_PRIVILEGE)
                {
                    RunError::LedgerPermission {
                        database: database.clone(),
                        role: c.identity.role.clone(),
                        grant: format!(
                            "GRANT SELECT ON ALL TABLES IN SCHEMA wdh_migrate TO {}",
                            crate::sql::quote_ident(&c.identity.role)
                        ),
                    }
                } else {
                    RunError::db(&database, "reading the ledger")(e)
                }
            })?;
        if let Some(pid) = pid {
            c.saw_pid(pid);
        }
        if format > ledger::FORMAT {
            return Err(RunError::LedgerTooNew { database, format });
        }
        Ok(state)
    }
}
