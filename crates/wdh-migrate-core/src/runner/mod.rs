//! Running a plan against a database: `upgrade`, `downgrade`, `status`,
//! `history`, `mark` and dry runs.
//!
//! Every operation takes an explicit [`Target`]; nothing is read from the
//! environment. Before connecting, a destructive operation is judged on the
//! database the target names (the claim). After connecting, the run stops
//! before any statement if `current_database()` differs from that name, and
//! the guard judges again on the live facts ([`Identity`]).
//!
//! This module holds the options, the events, the reports and the public
//! entry points. The seams are modules of their own: the live facts and
//! their judging (`live`), the run lock (`lock`), executing one migration
//! (`step`), the environment marker (`mark`), dry runs, the status report
//! and the errors. Every statement sent for bookkeeping (lock, marker,
//! ledger rows) is built by [`crate::ledger::statements`].

use std::time::{Duration, Instant};

use crate::guard::{Decision, Marker, Operation, Override, SafetyPolicy};
use crate::identity::Identity;
use crate::ledger::{self, AppliedRow, AuditEntry, FailedRow, LedgerState};
use crate::migrations::Direction;
use crate::migrations::{Layout, Migration, MigrationSet};
use crate::plan::{self, Allow, DowngradeTo, Plan, PlanError, UpgradeTo};
use crate::preview::Preview;
use crate::spelling::{Knob, Library, Spelling};
use crate::target::Target;

mod adopt;
mod connect;
mod dry_run;
mod error;
mod keep;
mod live;
mod lock;
mod mark;
mod pending;
mod rehearse;
mod retry;
mod session;
mod status;
mod step;
mod stepping;
mod watch;

pub use crate::ledger::statements::LOCK_KEY;
pub use adopt::{AdoptReport, BaselineReport, Marked};
pub use connect::HostFailure;
pub use dry_run::{DryRun, DryRunStep};
pub use error::{Fate, LockReport, MigrationFailure, RunError};
pub use live::Connected;
pub use retry::LockSchedule;
pub use status::{Status, StatusEntry};
pub use stepping::Stepper;

/// How a run behaves.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// How long to wait for another run's lock before failing.
    pub lock_wait: Duration,
    /// How the migrations wait for their locks: the `lock_timeout` of each
    /// attempt and how long to retry ([`LockSchedule`]; by default 100 ms
    /// doubling to 1 s, for up to 60 s). None: the server's `lock_timeout`,
    /// and no retries.
    pub lock_timeout: Option<LockSchedule>,
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
    /// How long one login may take (TCP connect, TLS, authentication and
    /// the first query), per host; also the limit of each round trip of
    /// wdh-migrate's own statements, and the margin over the statement
    /// timeout of a migration's message. A `connect_timeout` in the
    /// connection string wins.
    pub connect_timeout: Duration,
    /// The run lock's lease: a run that has not renewed it for this long
    /// (killed, or cut off from the server) no longer holds the lock.
    pub lock_lease: Duration,
    /// How the run names itself in the lock row (program, version, host,
    /// process), for `status` and for the error of a run that waits.
    pub client: String,
    /// When `upgrade`'s lint counts a table as large.
    pub lint: crate::lint::Thresholds,
    /// When a destructive run takes a snapshot first, where it goes and
    /// which `pg_dump` writes it.
    pub snapshot: crate::snapshot::SnapshotOptions,
}

/// `wdh-migrate <version> (process <pid>)`: how a run names itself by
/// default.
pub fn default_client() -> String {
    format!(
        "wdh-migrate {} (process {})",
        env!("CARGO_PKG_VERSION"),
        std::process::id()
    )
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            lock_wait: Duration::from_secs(60),
            lock_timeout: Some(LockSchedule::DEFAULT),
            statement_timeout: None,
            allow: Allow::default(),
            retry_failed: false,
            policy: SafetyPolicy::default(),
            override_: Override::default(),
            connect_timeout: Duration::from_secs(10),
            lock_lease: Duration::from_secs(10),
            client: default_client(),
            lint: crate::lint::Thresholds::default(),
            snapshot: crate::snapshot::SnapshotOptions::default(),
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
    /// A destructive operation is allowed because the database is safe
    /// under a policy that is not entirely built in: which rule made it
    /// safe, and where it comes from (print it, even when quiet).
    Safe(&'a str),
    /// Something was allowed that is normally refused (drift, …).
    Warning(&'a str),
    /// A lint finding of a pending migration, before anything runs (print
    /// it; an error-level one is only refused on a protected database).
    Finding(&'a crate::lint::Finding),
    /// What the run's destructive steps destroy, before the first runs
    /// (rehearsed, or read from the parse tree).
    Preview(&'a Preview),
    /// The snapshot of what the run destroys was written here, before its
    /// first step.
    Snapshot(&'a std::path::Path),
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
    /// A migration, or a statement of a no-transaction migration, could
    /// not get a lock in time: it was rolled back (or, outside a
    /// transaction, cancelled) and runs again after a pause.
    Retrying {
        /// The migration.
        migration: &'a Migration,
        /// Up or down.
        direction: Direction,
        /// For a no-transaction migration: the statement (1 is the first)
        /// and how many there are.
        statement: Option<(usize, usize)>,
        /// The attempt that timed out (1 is the first).
        attempt: u32,
        /// Its `lock_timeout`.
        timeout: Duration,
        /// The lock it waited for and who held it, when seen (the first
        /// attempt of a transactional migration is not watched).
        waited_for: Option<&'a str>,
        /// The pause before the next attempt.
        pause: Duration,
        /// The next attempt's `lock_timeout`.
        next_timeout: Duration,
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

impl Event<'_> {
    /// For [`Event::Retrying`], what a front end says of it after `lock: `:
    /// `0003_x: no lock within 100 ms (waiting for …); rolled back, attempt
    /// 2 in 120 ms with lock_timeout 200 ms`; none for the other events.
    pub fn retry_text(&self) -> Option<String> {
        let Event::Retrying {
            migration,
            statement,
            attempt,
            timeout,
            waited_for,
            pause,
            next_timeout,
            ..
        } = self
        else {
            return None;
        };
        let what = match statement {
            Some((n, total)) => format!(
                "statement {n} of {total} of {}_{}",
                migration.version, migration.name
            ),
            None => format!("{}_{}", migration.version, migration.name),
        };
        let behind = waited_for
            .map(|w| format!(" (waiting for {w})"))
            .unwrap_or_default();
        let undone = if statement.is_some() {
            "cancelled"
        } else {
            "rolled back"
        };
        Some(format!(
            "{what}: no lock within {}{behind}; {undone}, attempt {} in {} with lock_timeout {}",
            short_duration(*timeout),
            attempt + 1,
            short_duration(*pause),
            short_duration(*next_timeout)
        ))
    }
}

/// `120 ms`, `1.5 s`: a duration as messages print it.
pub fn short_duration(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        let s = format!("{:.1}", ms / 1000.0);
        format!("{} s", s.strip_suffix(".0").unwrap_or(&s))
    }
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
    /// The lint findings of the migrations an upgrade ran.
    pub findings: Vec<crate::lint::Finding>,
    /// What its destructive steps destroyed, as previewed before they ran
    /// (none when the run destroyed nothing).
    pub preview: Option<Preview>,
    /// The snapshot taken before them.
    pub snapshot: Option<std::path::PathBuf>,
}

/// What a destructive run destroys and how the guard let it: what the audit
/// row records of it.
#[derive(Debug, Clone, Default)]
struct Destroys {
    /// For an upgrade: its destructive statements and how each was let run.
    destructive: Option<String>,
    /// The preview.
    preview: Option<Preview>,
    /// The snapshot's path.
    snapshot: Option<std::path::PathBuf>,
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
            findings: vec![],
            preview: None,
            snapshot: None,
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
    spelling: &'t dyn Spelling,
    /// Opens every connection of the run, its TLS files read once.
    tls: crate::tls::Connector,
}

impl<'t> Runner<'t> {
    /// A runner for `target`.
    pub fn new(target: &'t Target, options: RunOptions) -> Runner<'t> {
        Runner {
            target,
            options,
            spelling: &Library,
            tls: target
                .connector()
                .unwrap_or_else(crate::tls::Connector::broken),
        }
    }

    /// Names the settings in the texts this runner builds (the notes of
    /// [`Runner::status`]) with `spelling` instead of the library's names.
    pub fn with_spelling(mut self, spelling: &'t dyn Spelling) -> Runner<'t> {
        self.spelling = spelling;
        self
    }

    /// The target.
    pub fn target(&self) -> &Target {
        self.target
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
        c.require_writable("upgrade")?;
        let database = c.identity.database.clone();
        // Fast path: nothing pending needs neither the lock nor a write.
        let state = self.read_ledger(c, false, set.layout)?;
        let plan = plan::plan_upgrade(set, &state, to, self.options.allow)
            .map_err(plan_error(&database))?;
        if plan.steps.is_empty() && state.failed.is_empty() {
            for w in &plan.allowed {
                on(Event::Warning(&w.render(self.spelling)));
            }
            return Ok(RunReport::unchanged(&c.identity, plan.from));
        }
        let target = to.to_string();
        // Lint the pending migrations against the live catalog, and refuse
        // what the live facts already refuse, before waiting for the lock.
        let checked = self.check_pending(c, &plan, &target, on)?;
        self.locked(c, "upgrade", |runner, c| {
            let state = runner.read_ledger(c, false, set.layout)?;
            runner.check_failed(&database, &state, Direction::Up)?;
            let plan = plan::plan_upgrade(set, &state, to, runner.options.allow)
                .map_err(plan_error(&database))?;
            if plan.steps.is_empty() {
                // Another run applied them while this one waited for the lock.
                return Ok(RunReport::unchanged(&c.identity, plan.from));
            }
            // Another run changed what is pending while this one waited.
            let checked = if checked.covers(&plan) {
                checked
            } else {
                runner.check_pending(c, &plan, &target, on)?
            };
            let (override_used, destroys) =
                runner.judge_destructive(c, &checked, &plan, &target, on)?;
            let mut report = runner.execute(c, &state, &plan, override_used, destroys, on)?;
            report.findings = checked.report.findings;
            Ok(report)
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
        c.require_writable("downgrade")?;
        let database = c.identity.database.clone();
        let audit = AuditEntry {
            operation: "downgrade".into(),
            to: Some(to.to_string()),
            ..AuditEntry::default()
        };
        self.refuse_early(c, &op, &audit, on)?;
        self.locked(c, "downgrade", |runner, c| {
            // Judge the live facts under the lock, as they are now: a marker
            // set while this run waited for the lock counts.
            runner.refresh_identity(c)?;
            let override_used = match runner.decide_live(c, &op) {
                Ok(Decision::Allow | Decision::AllowSafe(_)) => false,
                Ok(Decision::AllowWithOverride { .. }) => true,
                // Refused: said and audited.
                _ => runner.judge_live(c, &op, &audit, on)?,
            };
            let state = runner.read_ledger(c, false, set.layout)?;
            runner.check_failed(&database, &state, Direction::Down)?;
            let plan =
                plan::plan_downgrade(set, &state, to, runner.options.allow).map_err(|error| {
                    let e = plan_error(&database)(error);
                    if c.identity.ledger_exists {
                        runner.audit_or_warn(
                            c,
                            AuditEntry {
                                outcome: "refused".into(),
                                error: Some(e.report(runner.spelling)),
                                override_used,
                                ..audit.clone()
                            },
                            on,
                        );
                    }
                    e
                })?;
            // What it destroys, found before the override's warning, which
            // names it.
            let preview = if plan.steps.is_empty() {
                Preview::default()
            } else {
                runner.preview(c, &plan)?
            };
            let override_used = runner.judge_live_naming(c, &op, &audit, &preview, on)?;
            let destroys =
                runner.keep_what_is_lost(c, "downgrade", preview, override_used, &audit, on)?;
            runner.execute(c, &state, &plan, override_used, destroys, on)
        })
    }

    /// Shows `preview` and takes its snapshot ([`Runner::keep`]): what the
    /// audit row records of a destructive run.
    fn keep_what_is_lost(
        &self,
        c: &mut Connected,
        operation: &str,
        preview: Preview,
        override_used: bool,
        audit: &AuditEntry,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<Destroys, RunError> {
        if preview.is_empty() {
            return Ok(Destroys {
                destructive: audit.destructive.clone(),
                preview: None,
                snapshot: None,
            });
        }
        on(Event::Preview(&preview));
        let snapshot = self.keep(c, operation, &preview, override_used, audit, on)?;
        Ok(Destroys {
            destructive: audit.destructive.clone(),
            preview: Some(preview),
            snapshot,
        })
    }

    /// Refuses while a no-transaction migration is recorded as failed,
    /// unless [`RunOptions::retry_failed`] asks to run it again in this direction.
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

    fn execute(
        &self,
        c: &mut Connected,
        state: &LedgerState,
        plan: &Plan<'_>,
        override_used: bool,
        destroys: Destroys,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<RunReport, RunError> {
        self.execute_audited(c, state, plan, override_used, destroys, true, on)
    }

    /// [`Runner::execute`]; `audited` says whether the outcome is written
    /// to the audit log (a [`Stepper`] writes one row for all its steps).
    #[allow(clippy::too_many_arguments)]
    fn execute_audited(
        &self,
        c: &mut Connected,
        state: &LedgerState,
        plan: &Plan<'_>,
        override_used: bool,
        destroys: Destroys,
        audited: bool,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<RunReport, RunError> {
        let database = c.identity.database.clone();
        let operation = match plan.direction {
            Direction::Up => "upgrade",
            Direction::Down => "downgrade",
        };
        for w in &plan.allowed {
            on(Event::Warning(&w.render(self.spelling)));
        }
        for note in std::mem::take(&mut c.notes) {
            on(Event::Warning(&note));
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
            destructive: destroys.destructive.clone(),
            loss: destroys.preview.as_ref().map(Preview::to_json),
            snapshot: destroys.snapshot.as_ref().map(|p| p.display().to_string()),
            ..AuditEntry::default()
        };
        tracing::info!(database = %database, operation, steps = plan.steps.len(), from = ?plan.from, to = ?plan.to, "running");
        for (i, m) in plan.steps.iter().enumerate() {
            tracing::debug!(version = %m.version, name = %m.name, "migration starts");
            on(Event::Started {
                migration: m,
                direction: plan.direction,
            });
            let t = Instant::now();
            let next = plan.steps.get(i + 1).copied();
            let outcome = self.run_step(c, state, m, next, plan.direction, on);
            let elapsed = t.elapsed();
            if let Err(failure) = outcome {
                self.end_ahead(c);
                let completed_before: Vec<String> = ran
                    .iter()
                    .map(|(v, n, _): &(String, String, f64)| format!("{v}_{n}"))
                    .collect();
                let failure = match failure {
                    step::StepFailure::Failed(mut failure) => {
                        failure.completed_before = completed_before;
                        RunError::Migration {
                            database: database.clone(),
                            failure,
                        }
                    }
                    step::StepFailure::Silent { silent, sent } if sent.migration => {
                        RunError::OutcomeUnknown {
                            database: database.clone(),
                            host: silent.host,
                            migration: format!("{}_{}", m.version, m.name),
                            direction: plan.direction,
                            waited_ms: error::millis(silent.waited),
                            bounded: sent.bounded,
                            completed_before,
                        }
                    }
                    step::StepFailure::Silent { silent, .. } => RunError::Silent {
                        database: database.clone(),
                        host: silent.host,
                        action: format!(
                            "opening the transaction of migration {}_{} (nothing of it was sent)",
                            m.version, m.name
                        ),
                        waited_ms: error::millis(silent.waited),
                    },
                };
                for note in std::mem::take(&mut c.notes) {
                    on(Event::Warning(&note));
                }
                if audited {
                    self.audit_or_warn(
                        c,
                        AuditEntry {
                            outcome: "failed".into(),
                            error: Some(failure.report(self.spelling)),
                            ..audit.clone()
                        },
                        on,
                    );
                }
                return Err(failure);
            }
            for note in std::mem::take(&mut c.notes) {
                on(Event::Warning(&note));
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
        self.end_ahead(c);
        if audited {
            self.audit_or_warn(
                c,
                AuditEntry {
                    outcome: "success".into(),
                    ..audit
                },
                on,
            );
        }
        Ok(RunReport {
            identity: c.identity.clone(),
            from: plan.from.clone(),
            to: plan.to.clone(),
            ran,
            override_used,
            findings: vec![],
            preview: destroys.preview,
            snapshot: destroys.snapshot,
        })
    }

    /// The plan and the exact SQL of an upgrade, without running anything.
    pub fn dry_run_upgrade(&self, set: &MigrationSet, to: &UpgradeTo) -> Result<DryRun, RunError> {
        let mut c = self.connect_with(true)?;
        let state = self.read_ledger(&mut c, false, set.layout)?;
        // A dry run refuses what the run would refuse.
        self.check_failed(&c.identity.database, &state, Direction::Up)?;
        let plan = plan::plan_upgrade(set, &state, to, self.options.allow)
            .map_err(plan_error(&c.identity.database))?;
        let (report, mut verdict, preview) = self.dry_check(&mut c, &plan)?;
        if let Err(e) = c.require_writable("upgrade") {
            verdict = format!("would be refused: {e}");
        }
        let mut d = dry_run::dry_run(c.identity, &state, &plan, verdict, &self.options);
        d.findings = report.findings;
        d.attach(preview);
        Ok(d)
    }

    /// The plan, the exact SQL and the guard's decision of a downgrade,
    /// without running anything.
    pub fn dry_run_downgrade(
        &self,
        set: &MigrationSet,
        to: &DowngradeTo,
    ) -> Result<DryRun, RunError> {
        let mut c = self.connect_with(true)?;
        let state = self.read_ledger(&mut c, false, set.layout)?;
        self.check_failed(&c.identity.database, &state, Direction::Down)?;
        let plan = plan::plan_downgrade(set, &state, to, self.options.allow)
            .map_err(plan_error(&c.identity.database))?;
        let verdict = match self.decide_live(&c, &downgrade_operation(to)) {
            Ok(Decision::Allow) => "allowed".to_string(),
            Ok(Decision::AllowSafe(note)) if note.names_a_source() => format!("allowed: {note}"),
            Ok(Decision::AllowSafe(_)) => "allowed".to_string(),
            Ok(Decision::AllowWithOverride { warning }) => {
                format!(
                    "allowed with the override: {}",
                    warning.render(self.spelling)
                )
            }
            Ok(Decision::Refuse(r)) => format!("would be refused: {}", r.render(self.spelling)),
            Err(e) => format!("would fail: {}", e.render(self.spelling)),
        };
        let verdict = match c.require_writable("downgrade") {
            Ok(()) => verdict,
            Err(e) => format!("would be refused: {e}"),
        };
        let preview = if plan.steps.is_empty() {
            Preview::default()
        } else {
            self.preview(&mut c, &plan)?
        };
        let mut d = dry_run::dry_run(c.identity, &state, &plan, verdict, &self.options);
        d.attach(preview);
        Ok(d)
    }

    /// The state of every migration of the set on the database. Reads only.
    pub fn status(&self, set: &MigrationSet) -> Result<Status, RunError> {
        let mut c = self.connect_with(true)?;
        let state = self.read_ledger(&mut c, true, set.layout)?;
        let database = c.identity.database.clone();
        let lock = if c.identity.lock_table_exists {
            c.client
                .with(self.quick(), ledger::read_lock)
                .map_err(RunError::db(&database, "reading the migration lock"))?
        } else {
            None
        };
        let invalid_indexes = c
            .client
            .with(self.quick(), |client| Ok(ledger::invalid_indexes(client)))
            .map_err(RunError::db(&database, "reading the invalid indexes"))?;
        if let Ok(m) = c
            .client
            .simple_query(self.quick(), "SELECT pg_catalog.pg_backend_pid()")
        {
            if let Some(pid) = ledger::single(&m).and_then(|p| p.parse().ok()) {
                c.saw_pid(pid);
            }
        }
        let extra = status::Extra {
            lock,
            pooling: c.pooling(self.tcp_port(&c)),
            invalid_indexes,
        };
        Ok(status::status(
            c.identity,
            set,
            &state,
            self.spelling,
            extra,
        ))
    }

    /// Applied migrations in the order they were applied. Reads only.
    pub fn history(&self) -> Result<(Identity, Vec<AppliedRow>), RunError> {
        let mut c = self.connect_with(true)?;
        // No set to compare with: the versions resolve with the default
        // ordering, which the history does not use.
        let state = self.read_ledger(&mut c, true, Layout::Empty)?;
        Ok((c.identity, state.applied))
    }

    /// The newest applied version of the set. Reads only.
    pub fn current(&self, set: &MigrationSet) -> Result<(Identity, Option<String>), RunError> {
        let mut c = self.connect_with(true)?;
        let state = self.read_ledger(&mut c, false, set.layout)?;
        let current = plan::analyze(set, &state)
            .current
            .map(|m| m.version.to_string());
        Ok((c.identity, current))
    }
}

/// What to do about a migration recorded as failed.
pub fn repair_steps(f: &FailedRow, spelling: &dyn Spelling) -> String {
    if f.state == "partial" {
        return format!(
            "Part of it committed without its ledger row. Repair: undo or finish its changes by hand, remove the \
             transaction control from the file, then run {} (it runs the script again in one transaction)",
            spelling.knob(Knob::RetryCommand(f.direction))
        );
    }
    format!(
        "{} of {} statement(s) took effect and stay. Repair: fix the file if needed, then run {} (it resumes at \
         statement {}; an INVALID index the interrupted statement left is dropped and built again)",
        f.statements_done,
        f.statements_total,
        spelling.knob(Knob::RetryCommand(f.direction)),
        f.statements_done + 1
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
