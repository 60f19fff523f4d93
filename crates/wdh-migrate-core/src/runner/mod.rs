//! Running a plan against a database: `upgrade`, `downgrade`, `status`,
//! `history` and dry runs.
//!
//! Every operation takes an explicit [`Target`]; nothing is read from the
//! environment. Before connecting, a destructive operation is judged on the
//! database the target names (the claim). After connecting, the run stops
//! before any statement if `current_database()` differs from that name, and
//! the guard judges again on the live facts ([`Identity`]).
//!
//! Each transactional migration is sent as one message —
//! `BEGIN; <sql>; <ledger row>; COMMIT;` — so the migration and its ledger
//! row commit or roll back together, in one round trip. The whole run holds
//! a session-level advisory lock, released on every path (and by the server
//! when the session ends).

use std::time::{Duration, Instant};

use postgres::error::{DbError, ErrorPosition};
use postgres::{Client, NoTls};

use crate::guard::{self, Decision, Marker, Operation, Override, SafetyPolicy};
use crate::identity::Identity;
use crate::ledger::{self, AuditEntry};
use crate::migrations::{Migration, MigrationSet, Script};
use crate::plan::{
    self, Allow, AppliedRow, Direction, DowngradeTo, FailedRow, LedgerState, Plan, PlanError,
    UpgradeTo,
};
use crate::sql::{quote_ident, quote_literal};
use crate::target::Target;

mod dry_run;
mod error;
mod status;

pub use dry_run::{DryRun, DryRunStep};
pub use error::{MigrationFailure, RunError};
pub use status::{Status, StatusEntry};

/// The advisory lock key of a run (`wdh_migr` in ASCII), per database.
pub const LOCK_KEY: i64 = 0x7764_685f_6d69_6772;

/// How a run behaves.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// How long to wait for another run's lock before failing.
    pub lock_wait: Duration,
    /// `lock_timeout` for the migrations' statements (none: the server's).
    pub lock_timeout: Option<Duration>,
    /// `statement_timeout` for the migrations' statements (none: the server's).
    pub statement_timeout: Option<Duration>,
    /// Drift and out-of-order allowances.
    pub allow: Allow,
    /// Retry a no-transaction migration recorded as failed.
    pub retry_failed: bool,
    /// Which database names are safe.
    pub policy: SafetyPolicy,
    /// The override of the production guard, as the caller read it.
    pub override_: Override,
    /// Connection timeout.
    pub connect_timeout: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            lock_wait: Duration::from_secs(60),
            lock_timeout: None,
            statement_timeout: None,
            allow: Allow::default(),
            retry_failed: false,
            policy: SafetyPolicy::default(),
            override_: Override::default(),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// What happens during a run, for progress output.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// Connected; these are the live facts.
    Connected(&'a Identity),
    /// The guard was overridden (print it loudly).
    Override(&'a str),
    /// Something was allowed that is normally refused (drift, …).
    Warning(&'a str),
    /// The plan is known.
    Planned {
        /// Up or down.
        direction: Direction,
        /// How many migrations will run.
        steps: usize,
    },
    /// A migration starts.
    Started {
        /// The migration.
        migration: &'a Migration,
        /// Up or down.
        direction: Direction,
    },
    /// A migration finished.
    Finished {
        /// The migration.
        migration: &'a Migration,
        /// Up or down.
        direction: Direction,
        /// How long it took, round trip included.
        elapsed: Duration,
    },
}

/// What a run did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunReport {
    /// The live facts of the database it ran on.
    pub identity: Identity,
    /// Version before.
    pub from: Option<String>,
    /// Version after.
    pub to: Option<String>,
    /// Migrations run, in order: version, name, milliseconds.
    pub ran: Vec<(String, String, f64)>,
    /// Whether the guard was overridden.
    pub override_used: bool,
}

impl RunReport {
    /// A run that found nothing to do: it stays at `at`.
    fn unchanged(identity: &Identity, at: Option<String>) -> RunReport {
        RunReport {
            identity: identity.clone(),
            from: at.clone(),
            to: at,
            ran: vec![],
            override_used: false,
        }
    }
}

/// What `mark` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MarkReport {
    /// The live facts before the change.
    pub identity: Identity,
    /// The marker before.
    pub from: Option<Marker>,
    /// The marker now.
    pub to: Marker,
    /// Whether the guard was overridden.
    pub override_used: bool,
}

/// Runs operations against one explicit target.
#[derive(Debug)]
pub struct Runner<'t> {
    target: &'t Target,
    options: RunOptions,
}

/// A connection whose live database has been checked against the target's
/// claim ([`Runner::connect`]).
pub struct Connected {
    client: Client,
    identity: Identity,
}

impl Connected {
    /// The live facts of the connection.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Creates the ledger unless this session already knows it exists.
    fn ensure_ledger(&mut self) -> Result<(), postgres::Error> {
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

impl<'t> Runner<'t> {
    /// A runner for `target`.
    pub fn new(target: &'t Target, options: RunOptions) -> Runner<'t> {
        Runner { target, options }
    }

    /// The target.
    pub fn target(&self) -> &Target {
        self.target
    }

    /// Connects for an upgrade: reads the live facts, and stops before any
    /// other statement if the connected database is not the one the target
    /// names. The environment marker is not read: it decides only
    /// destructive operations, which read it themselves.
    pub fn connect(&self) -> Result<Connected, RunError> {
        self.connect_with(false)
    }

    fn connect_with(&self, marker: bool) -> Result<Connected, RunError> {
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
            Decision::Allow => Ok(false),
            Decision::AllowWithOverride { .. } => Ok(true),
            Decision::Refuse(r) => Err(RunError::Blocked(Box::new(r))),
        }
    }

    /// Judges `op` on the live facts; a refusal is written to the audit log.
    fn judge_live(
        &self,
        c: &mut Connected,
        op: &Operation,
        audit: &AuditEntry,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<bool, RunError> {
        let decision = match guard::decide(
            op,
            &c.identity.database,
            c.identity.marker.as_ref(),
            &self.options.policy,
            &self.options.override_,
        ) {
            Ok(d) => d,
            Err(e) => {
                self.audit(
                    c,
                    AuditEntry {
                        outcome: "refused".into(),
                        error: Some(e.to_string()),
                        ..audit.clone()
                    },
                );
                return Err(e.into());
            }
        };
        match decision {
            Decision::Allow => Ok(false),
            Decision::AllowWithOverride { warning } => {
                on(Event::Override(&warning));
                Ok(true)
            }
            Decision::Refuse(r) => {
                self.audit(
                    c,
                    AuditEntry {
                        outcome: "refused".into(),
                        error: Some(r.to_string()),
                        ..audit.clone()
                    },
                );
                Err(RunError::Blocked(Box::new(r)))
            }
        }
    }

    /// Appends an audit row, creating the ledger if needed. Best effort: a
    /// failure to audit never hides the run's own outcome.
    fn audit(&self, c: &mut Connected, entry: AuditEntry) {
        let entry = AuditEntry {
            target: self.target.redacted(),
            error: entry.error.map(|e| self.target.scrub(&e)),
            ..entry
        };
        let _ = c
            .ensure_ledger()
            .and_then(|()| c.client.batch_execute(&ledger::audit_sql(&entry)));
    }

    /// Reads the ledger; `detail` adds when, by whom and how long (for
    /// `status` and `history`), which planning does not need.
    fn read_ledger(&self, c: &mut Connected, detail: bool) -> Result<LedgerState, RunError> {
        let exists = c.identity.ledger_exists;
        let (format, state) = ledger::read(&mut c.client, exists, detail)
            .map_err(RunError::db(&c.identity.database, "reading the ledger"))?;
        if format > ledger::FORMAT {
            return Err(RunError::LedgerTooNew {
                database: c.identity.database.clone(),
                format,
            });
        }
        Ok(state)
    }

    /// Applies pending migrations up to `to`.
    pub fn upgrade(
        &self,
        set: &MigrationSet,
        to: &UpgradeTo,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<RunReport, RunError> {
        self.upgrade_on(&mut self.connect()?, set, to, on)
    }

    /// [`Runner::upgrade`] on a connection made with [`Runner::connect`]
    /// (so a caller can load the migration set while it connects, or run
    /// several steps on one session).
    pub fn upgrade_on(
        &self,
        c: &mut Connected,
        set: &MigrationSet,
        to: &UpgradeTo,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<RunReport, RunError> {
        on(Event::Connected(&c.identity));
        let database = c.identity.database.clone();
        // Fast path: nothing pending needs neither the lock nor a write.
        let state = self.read_ledger(c, false)?;
        let plan = plan::plan_upgrade(set, &state, to, self.options.allow)
            .map_err(plan_error(&database))?;
        if plan.steps.is_empty() && state.failed.is_empty() {
            for w in &plan.allowed {
                on(Event::Warning(w));
            }
            return Ok(RunReport::unchanged(&c.identity, plan.from));
        }
        self.locked(c, |runner, c| {
            c.ensure_ledger()
                .map_err(RunError::db(&database, "creating the ledger"))?;
            let state = runner.read_ledger(c, false)?;
            runner.check_failed(&database, &state, Direction::Up)?;
            let plan = plan::plan_upgrade(set, &state, to, runner.options.allow)
                .map_err(plan_error(&database))?;
            if plan.steps.is_empty() {
                // Another run applied them while this one waited for the lock.
                return Ok(RunReport::unchanged(&c.identity, plan.from));
            }
            runner.execute(c, set, &state, &plan, false, on)
        })
    }

    /// Reverts applied migrations down to `to`. Destructive: guarded on the
    /// claim before connecting and on the live facts after.
    pub fn downgrade(
        &self,
        set: &MigrationSet,
        to: &DowngradeTo,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<RunReport, RunError> {
        self.judge_claim(&downgrade_operation(to))?;
        self.downgrade_on(&mut self.connect_with(true)?, set, to, on)
    }

    /// [`Runner::downgrade`] on a connection made with [`Runner::connect`];
    /// the claim is judged again, and the live facts are read again and
    /// judged under the lock.
    pub fn downgrade_on(
        &self,
        c: &mut Connected,
        set: &MigrationSet,
        to: &DowngradeTo,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<RunReport, RunError> {
        let op = downgrade_operation(to);
        self.judge_claim(&op)?;
        on(Event::Connected(&c.identity));
        let database = c.identity.database.clone();
        let audit = AuditEntry {
            operation: "downgrade".into(),
            to: Some(to.to_string()),
            ..AuditEntry::default()
        };
        self.refuse_early(c, &op, &audit, on)?;
        self.locked(c, |runner, c| {
            // Judge the live facts under the lock, as they are now: a marker
            // set while this run waited for the lock counts.
            runner.refresh_identity(c)?;
            let override_used = runner.judge_live(c, &op, &audit, on)?;
            let state = runner.read_ledger(c, false)?;
            runner.check_failed(&database, &state, Direction::Down)?;
            let plan =
                plan::plan_downgrade(set, &state, to, runner.options.allow).map_err(|error| {
                    let e = RunError::Plan {
                        database: database.clone(),
                        error,
                    };
                    if c.identity.ledger_exists {
                        runner.audit(
                            c,
                            AuditEntry {
                                outcome: "refused".into(),
                                error: Some(e.to_string()),
                                override_used,
                                ..audit.clone()
                            },
                        );
                    }
                    e
                })?;
            c.ensure_ledger()
                .map_err(RunError::db(&database, "creating the ledger"))?;
            runner.execute(c, set, &state, &plan, override_used, on)
        })
    }

    /// Refuses while a no-transaction migration is recorded as failed,
    /// unless `--retry-failed` asks to run it again in this direction.
    fn check_failed(
        &self,
        database: &str,
        state: &LedgerState,
        direction: Direction,
    ) -> Result<(), RunError> {
        let retrying = |f: &FailedRow| self.options.retry_failed && f.direction == direction;
        if state.failed.iter().all(retrying) {
            return Ok(());
        }
        Err(RunError::FailedEarlier {
            database: database.to_string(),
            failed: state.failed.clone(),
        })
    }

    /// Runs `f` holding the run lock; the lock is released on every path.
    fn locked<T>(
        &self,
        c: &mut Connected,
        f: impl FnOnce(&Self, &mut Connected) -> Result<T, RunError>,
    ) -> Result<T, RunError> {
        let database = c.identity.database.clone();
        let started = Instant::now();
        let wait_ms = server_ms(self.options.lock_wait);
        let acquired = c.client.batch_execute(&format!(
            "SET lock_timeout = '{wait_ms}ms'; SELECT pg_catalog.pg_advisory_lock({LOCK_KEY})"
        ));
        if let Err(e) = acquired {
            let timed_out = e.code() == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE);
            if !timed_out {
                return Err(RunError::db(&database, "taking the migration lock")(e));
            }
            let holder = c
                .client
                .simple_query(&format!(
                    "SELECT l.pid FROM pg_catalog.pg_locks l WHERE l.locktype OPERATOR(pg_catalog.=) 'advisory' \
                     AND l.granted AND l.objsubid OPERATOR(pg_catalog.=) 1 \
                     AND l.database OPERATOR(pg_catalog.=) (SELECT d.oid FROM pg_catalog.pg_database d \
                         WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()) \
                     AND ((l.classid::pg_catalog.int8 OPERATOR(pg_catalog.<<) 32) OPERATOR(pg_catalog.|) l.objid::pg_catalog.int8) \
                         OPERATOR(pg_catalog.=) {LOCK_KEY}"
                ))
                .ok()
                .and_then(|m| ledger::single(&m))
                .and_then(|p| p.parse().ok());
            return Err(RunError::Locked {
                database,
                holder_pid: holder,
                waited_ms: started.elapsed().as_millis(),
            });
        }
        let mut session = String::from("RESET lock_timeout;");
        if c.identity.server_version >= 140_000 {
            // A run killed mid-migration: the server notices the dead client
            // within a second and rolls the migration back instead of
            // committing it after its client is gone.
            session.push_str("SET client_connection_check_interval = '1s';");
        }
        if let Some(t) = self.options.lock_timeout {
            session.push_str(&format!("SET lock_timeout = '{}ms';", server_ms(t)));
        }
        if let Some(t) = self.options.statement_timeout {
            session.push_str(&format!("SET statement_timeout = '{}ms';", server_ms(t)));
        }
        let result = c
            .client
            .batch_execute(&session)
            .map_err(RunError::db(&database, "setting the session's timeouts"))
            .and_then(|()| f(self, c));
        if !c.client.is_closed() {
            let _ = c
                .client
                .batch_execute(&format!("SELECT pg_catalog.pg_advisory_unlock({LOCK_KEY})"));
        }
        tracing::debug!(database = %database, "migration lock released");
        result
    }

    fn execute(
        &self,
        c: &mut Connected,
        set: &MigrationSet,
        state: &LedgerState,
        plan: &Plan<'_>,
        override_used: bool,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<RunReport, RunError> {
        let database = c.identity.database.clone();
        let operation = match plan.direction {
            Direction::Up => "upgrade",
            Direction::Down => "downgrade",
        };
        for w in &plan.allowed {
            on(Event::Warning(w));
        }
        on(Event::Planned {
            direction: plan.direction,
            steps: plan.steps.len(),
        });
        let mut ran = Vec::new();
        let audit = AuditEntry {
            operation: operation.into(),
            from: plan.from.clone(),
            to: plan.to.clone(),
            override_used,
            ..AuditEntry::default()
        };
        tracing::info!(database = %database, operation, steps = plan.steps.len(), from = ?plan.from, to = ?plan.to, "running");
        for m in &plan.steps {
            tracing::debug!(version = %m.version, name = %m.name, "migration starts");
            on(Event::Started {
                migration: m,
                direction: plan.direction,
            });
            let t = Instant::now();
            let outcome = match script_for(m, plan.direction) {
                Some(script) if script.no_transaction => self.run_no_transaction(
                    c,
                    m,
                    script,
                    plan.direction,
                    &state.recorded_version(set, m),
                ),
                Some(script) => run_in_transaction(
                    &mut c.client,
                    m,
                    script,
                    plan.direction,
                    &state.recorded_version(set, m),
                    state.is_failed(set, m),
                ),
                None => Err(StepError::Db(None)),
            };
            let elapsed = t.elapsed();
            if let Err(e) = outcome {
                let failure = match e {
                    StepError::Failure(f) => f,
                    StepError::Db(e) => {
                        Box::new(failure_from(m, plan.direction, e.as_ref(), None, None))
                    }
                };
                let mut failure = failure;
                failure.completed_before = ran
                    .iter()
                    .map(|(v, n, _): &(String, String, f64)| format!("{v}_{n}"))
                    .collect();
                let failure = RunError::Migration {
                    database: database.clone(),
                    failure,
                };
                self.audit(
                    c,
                    AuditEntry {
                        outcome: "failed".into(),
                        error: Some(failure.to_string()),
                        ..audit.clone()
                    },
                );
                return Err(failure);
            }
            on(Event::Finished {
                migration: m,
                direction: plan.direction,
                elapsed,
            });
            ran.push((
                m.version.to_string(),
                m.name.clone(),
                elapsed.as_secs_f64() * 1000.0,
            ));
        }
        self.audit(
            c,
            AuditEntry {
                outcome: "success".into(),
                ..audit
            },
        );
        Ok(RunReport {
            identity: c.identity.clone(),
            from: plan.from.clone(),
            to: plan.to.clone(),
            ran,
            override_used,
        })
    }

    /// Runs a no-transaction script one statement at a time; it is recorded
    /// as running first, its progress after each statement, and applied only
    /// after the last one succeeds.
    fn run_no_transaction(
        &self,
        c: &mut Connected,
        m: &Migration,
        script: &Script,
        direction: Direction,
        version: &str,
    ) -> Result<(), StepError> {
        let sql = script.executable_sql();
        let statements = crate::sql::split_statements(&sql);
        let dir = match direction {
            Direction::Up => "up",
            Direction::Down => "down",
        };
        let t = Instant::now();
        c.client
            .batch_execute(&ledger::record_started(
                version,
                &m.name,
                dir,
                statements.len(),
            ))
            .map_err(|e| StepError::Db(Some(e)))?;
        for (i, stmt) in statements.iter().enumerate() {
            if let Err(e) = c.client.batch_execute(&stmt.sql) {
                let db = e.as_db_error();
                // Without a server position, the statement's own start is still exact.
                let line_col = Some(stmt.line_col(&sql, db.and_then(position).unwrap_or(1)));
                let failure = failure_from(
                    m,
                    direction,
                    Some(&e),
                    line_col,
                    Some((i, statements.len())),
                );
                return Err(self.no_transaction_failed(c, version, failure, statements.len()));
            }
            c.client
                .batch_execute(&ledger::record_progress(version, i + 1))
                .map_err(|e| StepError::Db(Some(e)))?;
        }
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        let record = match direction {
            Direction::Up => {
                ledger::record_applied(version, &m.name, &m.up.checksum_hex(), true, Some(ms))
            }
            Direction::Down => ledger::record_reverted(version),
        };
        let total = statements.len();
        c.client
            .batch_execute(&format!(
                "BEGIN;{record}{}COMMIT;",
                ledger::clear_failed(version)
            ))
            .map_err(|e| {
                // Every statement ran; only the ledger update failed.
                let failure = failure_from(m, direction, Some(&e), None, Some((total, total)));
                self.no_transaction_failed(c, version, failure, total)
            })
    }

    /// Records a no-transaction migration's failure: ends any transaction the
    /// script (or the final ledger message) left open, reads back how many
    /// statements really took effect (progress written inside a transaction
    /// the script opened was rolled back with it), and marks it failed.
    fn no_transaction_failed(
        &self,
        c: &mut Connected,
        version: &str,
        mut failure: MigrationFailure,
        total: usize,
    ) -> StepError {
        let _ = c.client.batch_execute("ROLLBACK");
        let done = c
            .client
            .query_opt(
                r#"SELECT "statements_done" FROM "wdh_migrate"."failed" WHERE "version" = $1"#,
                &[&version],
            )
            .ok()
            .flatten()
            .and_then(|r| usize::try_from(r.get::<_, i32>(0)).ok());
        if let (Some(done), Some((ran, _))) = (done, failure.partial) {
            // All ran but the ledger update: keep "all"; otherwise trust the ledger.
            if ran < total {
                failure.partial = Some((done, total));
            }
        }
        // Only what the server said: the repair steps are added where shown.
        let place = match failure.line_col {
            Some((l, col)) => format!("{}:{l}:{col}", failure.file),
            None => failure.file.clone(),
        };
        let error = format!("{place}: {} (SQLSTATE {})", failure.message, failure.code);
        let _ = c
            .client
            .batch_execute(&ledger::record_failed(version, &self.target.scrub(&error)));
        StepError::Failure(Box::new(failure))
    }

    /// Stores the environment marker on the database itself
    /// (`ALTER DATABASE … SET wdh.environment`, and `wdh.environment_locked`
    /// for a locked marker). Weakening a marker is destructive: it passes the
    /// guard on the live facts like a downgrade, and is audited.
    pub fn mark(&self, to: Marker, on: &mut dyn FnMut(Event<'_>)) -> Result<MarkReport, RunError> {
        // On the claim the current marker is unknown: the live check decides.
        self.judge_claim(&Operation::Mark { from: None, to })?;
        let mut c = self.connect_with(true)?;
        on(Event::Connected(&c.identity));
        let current = c.identity.marker;
        let early = AuditEntry {
            operation: "mark".into(),
            from: current.map(|m| m.to_string()),
            to: Some(to.to_string()),
            ..AuditEntry::default()
        };
        self.refuse_early(&mut c, &Operation::Mark { from: current, to }, &early, on)?;
        // Under the run lock, so it cannot change while a downgrade is judged.
        self.locked(&mut c, |runner, c| {
            runner.refresh_identity(c)?;
            let from = c.identity.marker;
            let audit = AuditEntry {
                operation: "mark".into(),
                from: from.map(|m| m.to_string()),
                to: Some(to.to_string()),
                ..AuditEntry::default()
            };
            let override_used = runner.judge_live(c, &Operation::Mark { from, to }, &audit, on)?;
            let database = quote_ident(&c.identity.database);
            let lock = if to.locked { "SET wdh.environment_locked = 'on'" } else { "RESET wdh.environment_locked" };
            let sql = format!(
                "ALTER DATABASE {database} SET wdh.environment = {}; ALTER DATABASE {database} {lock};",
                quote_literal(to.environment.as_str())
            );
            let outcome = c.client.batch_execute(&sql).map_err(RunError::db(
                &c.identity.database,
                "storing the environment marker (it needs the database's owner or a superuser)",
            ));
            let (outcome_text, error) = match &outcome {
                Ok(()) => ("success", None),
                Err(e) => ("failed", Some(e.to_string())),
            };
            runner.audit(c, AuditEntry { outcome: outcome_text.into(), error, override_used, ..audit });
            outcome?;
            Ok(MarkReport { identity: c.identity.clone(), from, to, override_used })
        })
    }

    /// Refuses (and audits) before waiting for the lock what the live facts
    /// already refuse; what they allow is judged again under the lock.
    fn refuse_early(
        &self,
        c: &mut Connected,
        op: &Operation,
        audit: &AuditEntry,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), RunError> {
        let decision = guard::decide(
            op,
            &c.identity.database,
            c.identity.marker.as_ref(),
            &self.options.policy,
            &self.options.override_,
        );
        match decision {
            Ok(Decision::Allow | Decision::AllowWithOverride { .. }) => Ok(()),
            Ok(Decision::Refuse(_)) | Err(_) => self.judge_live(c, op, audit, on).map(|_| ()),
        }
    }

    /// Reads the live facts again (after waiting for the lock).
    fn refresh_identity(&self, c: &mut Connected) -> Result<(), RunError> {
        c.identity = Identity::read(&mut c.client, true).map_err(RunError::db(
            &c.identity.database,
            "reading the connection's identity",
        ))?;
        Ok(())
    }

    /// The plan and the exact SQL of an upgrade, without running anything.
    pub fn dry_run_upgrade(&self, set: &MigrationSet, to: &UpgradeTo) -> Result<DryRun, RunError> {
        let mut c = self.connect_with(true)?;
        let state = self.read_ledger(&mut c, false)?;
        // A dry run refuses what the run would refuse.
        self.check_failed(&c.identity.database, &state, Direction::Up)?;
        let plan = plan::plan_upgrade(set, &state, to, self.options.allow)
            .map_err(plan_error(&c.identity.database))?;
        Ok(dry_run::dry_run(
            c.identity,
            set,
            &state,
            &plan,
            "allowed (an upgrade is not destructive)".into(),
        ))
    }

    /// The plan, the exact SQL and the guard's decision of a downgrade,
    /// without running anything.
    pub fn dry_run_downgrade(
        &self,
        set: &MigrationSet,
        to: &DowngradeTo,
    ) -> Result<DryRun, RunError> {
        let mut c = self.connect_with(true)?;
        let state = self.read_ledger(&mut c, false)?;
        self.check_failed(&c.identity.database, &state, Direction::Down)?;
        let plan = plan::plan_downgrade(set, &state, to, self.options.allow)
            .map_err(plan_error(&c.identity.database))?;
        let decision = guard::decide(
            &downgrade_operation(to),
            &c.identity.database,
            c.identity.marker.as_ref(),
            &self.options.policy,
            &self.options.override_,
        );
        let verdict = match decision {
            Ok(Decision::Allow) => "allowed".to_string(),
            Ok(Decision::AllowWithOverride { warning }) => {
                format!("allowed with the override: {warning}")
            }
            Ok(Decision::Refuse(r)) => format!("would be refused: {r}"),
            Err(e) => format!("would fail: {e}"),
        };
        Ok(dry_run::dry_run(c.identity, set, &state, &plan, verdict))
    }

    /// The state of every migration of the set on the database. Reads only.
    pub fn status(&self, set: &MigrationSet) -> Result<Status, RunError> {
        let mut c = self.connect_with(true)?;
        let state = self.read_ledger(&mut c, true)?;
        Ok(status::status(c.identity, set, &state))
    }

    /// Applied migrations in the order they were applied. Reads only.
    pub fn history(&self) -> Result<(Identity, Vec<AppliedRow>), RunError> {
        let mut c = self.connect_with(true)?;
        let state = self.read_ledger(&mut c, true)?;
        Ok((c.identity, state.applied))
    }

    /// The newest applied version of the set. Reads only.
    pub fn current(&self, set: &MigrationSet) -> Result<(Identity, Option<String>), RunError> {
        let mut c = self.connect_with(true)?;
        let state = self.read_ledger(&mut c, false)?;
        let current = plan::analyze(set, &state)
            .current
            .map(|m| m.version.to_string());
        Ok((c.identity, current))
    }
}

enum StepError {
    Failure(Box<MigrationFailure>),
    Db(Option<postgres::Error>),
}

fn script_for(m: &Migration, direction: Direction) -> Option<&Script> {
    match direction {
        Direction::Up => Some(&m.up),
        Direction::Down => m.down.script(),
    }
}

/// A timeout in whole milliseconds as PostgreSQL takes it: at least 1
/// (0 would mean no limit) and at most `i32::MAX`.
fn server_ms(d: Duration) -> u128 {
    d.as_millis().clamp(1, i32::MAX as u128)
}

/// What to do about a failed no-transaction migration.
pub fn repair_steps(f: &FailedRow) -> String {
    // A failed down leaves the migration applied and newest: `-1` reverts exactly it.
    let command = match f.direction {
        Direction::Up => "upgrade",
        Direction::Down => "downgrade -1",
    };
    format!(
        "{} of {} statement(s) took effect and stay. Repair: undo them by hand, fix the file if needed, \
         then run `wdh-migrate {command} --retry-failed` (it runs the script again from its first statement)",
        f.statements_done, f.statements_total
    )
}

/// The guard's view of a downgrade to `to`: `base` and a version count as
/// reverting everything, the most destructive reading.
pub fn downgrade_operation(to: &DowngradeTo) -> Operation {
    Operation::Downgrade {
        steps: match to {
            DowngradeTo::Steps(n) => *n,
            DowngradeTo::Base | DowngradeTo::Version(_) => usize::MAX,
        },
    }
}

fn plan_error(database: &str) -> impl FnOnce(PlanError) -> RunError {
    let database = database.to_string();
    move |error| RunError::Plan { database, error }
}

/// What precedes the migration's SQL in its message.
const PREFIX: &str = "BEGIN;\n";

/// The one message that runs a transactional migration with its ledger row.
fn transactional_message(
    m: &Migration,
    script: &Script,
    direction: Direction,
    version: &str,
    clear_failed: bool,
) -> String {
    let record = match direction {
        Direction::Up => {
            ledger::record_applied(version, &m.name, &m.up.checksum_hex(), false, None)
        }
        Direction::Down => ledger::record_reverted(version),
    };
    // Only a version recorded as failed has a failure record to clear.
    let clear = if clear_failed {
        ledger::clear_failed(version)
    } else {
        String::new()
    };
    format!(
        "{PREFIX}{}\n;\n{record}\n{clear}COMMIT;",
        script.executable_sql()
    )
}

fn run_in_transaction(
    client: &mut Client,
    m: &Migration,
    script: &Script,
    direction: Direction,
    version: &str,
    clear_failed: bool,
) -> Result<(), StepError> {
    let message = transactional_message(m, script, direction, version, clear_failed);
    match client.batch_execute(&message) {
        Ok(()) => Ok(()),
        Err(e) => {
            if !client.is_closed() {
                let _ = client.batch_execute("ROLLBACK");
            }
            let sql = script.executable_sql();
            let line_col = e.as_db_error().and_then(position).and_then(|p| {
                let in_file = p.checked_sub(PREFIX.chars().count())?;
                (in_file >= 1 && in_file <= sql.chars().count())
                    .then(|| crate::sql::line_col(&sql, in_file))
            });
            Err(StepError::Failure(Box::new(failure_from(
                m,
                direction,
                Some(&e),
                line_col,
                None,
            ))))
        }
    }
}

fn position(db: &DbError) -> Option<usize> {
    match db.position()? {
        ErrorPosition::Original(p) => usize::try_from(*p).ok(),
        ErrorPosition::Internal { .. } => None,
    }
}

fn failure_from(
    m: &Migration,
    direction: Direction,
    e: Option<&postgres::Error>,
    line_col: Option<(usize, usize)>,
    partial: Option<(usize, usize)>,
) -> MigrationFailure {
    let file = script_for(m, direction)
        .map(|s| s.path.display().to_string())
        .unwrap_or_default();
    let db = e.and_then(|e| e.as_db_error());
    MigrationFailure {
        version: m.version.to_string(),
        name: m.name.clone(),
        file,
        direction,
        line_col,
        code: db
            .map(|d| d.code().code().to_string())
            .unwrap_or_else(|| "-".into()),
        message: match (db, e) {
            (Some(d), _) => d.message().to_string(),
            (None, Some(e)) => e.to_string(),
            (None, None) => "no script to run".into(),
        },
        detail: db.and_then(|d| d.detail().map(str::to_string)),
        hint: db.and_then(|d| d.hint().map(str::to_string)),
        partial,
        completed_before: Vec::new(),
    }
}
