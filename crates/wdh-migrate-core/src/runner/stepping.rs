//! One migration at a time, up or down, under one run lock: what `check`
//! does on its throw-away database (up, down and up again of every
//! migration). Taking the lock, judging the live facts, linting and
//! reading the ledger for each of those steps would cost more than the
//! steps themselves, so the lock is taken once, the guard judges once under
//! it the most destructive thing a step does (a downgrade), and the ledger
//! is read once: each step plans one migration from what the ledger holds
//! after the steps before it and runs it as an upgrade or a downgrade does
//! (its transaction, fence and ledger row). One audit row records them all.

use crate::ledger::{AppliedRow, AuditEntry, LedgerState};
use crate::migrations::{Direction, MigrationSet};
use crate::plan::{self, DowngradeTo, UpgradeTo};

use super::{downgrade_operation, plan_error, Connected, Event, RunError, RunReport, Runner};

/// Steps through a migration set on a connection that holds the run lock
/// ([`Runner::stepping`]).
pub struct Stepper<'a, 't> {
    runner: &'a Runner<'t>,
    c: &'a mut Connected,
    set: &'a MigrationSet,
    override_used: bool,
    /// What the ledger holds now, when known without reading it (after a
    /// failed step it is read again).
    state: Option<LedgerState>,
    /// Steps taken.
    steps: usize,
    /// The first step that failed, for the audit row.
    failed: Option<String>,
}

impl std::fmt::Debug for Stepper<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stepper")
            .field("database", &self.c.identity.database)
            .field("steps", &self.steps)
            .finish()
    }
}

impl Runner<'_> {
    /// Runs `f` with a [`Stepper`] over `set` on `c`, holding the run lock
    /// (the ledger created first) until `f` returns; the lock is released
    /// on every path. Writes one audit row (`step`) for every step `f`
    /// took: how many, and the first failure.
    ///
    /// The guard judges a downgrade, on the claim and then on the live
    /// facts under the lock, once for all the steps: the stepper is meant
    /// for a throw-away database, where nothing else runs. The pending
    /// migrations are not linted, and a destructive upgrade is not judged
    /// again (a database on which a downgrade is allowed allows it).
    pub fn stepping<T>(
        &self,
        c: &mut Connected,
        set: &MigrationSet,
        f: impl FnOnce(&mut Stepper<'_, '_>) -> T,
    ) -> Result<T, RunError> {
        let op = downgrade_operation(&DowngradeTo::Steps(1));
        self.judge_claim(&op)?;
        c.require_writable("step through migrations")?;
        let audit = AuditEntry {
            operation: "step".into(),
            ..AuditEntry::default()
        };
        self.refuse_early(c, &op, &audit, &mut |_| {})?;
        self.locked(c, "step", |runner, c| {
            runner.refresh_identity(c)?;
            let override_used = runner.judge_live(c, &op, &audit, &mut |_| {})?;
            let mut stepper = Stepper {
                runner,
                c,
                set,
                override_used,
                state: None,
                steps: 0,
                failed: None,
            };
            let out = f(&mut stepper);
            let Stepper {
                c, steps, failed, ..
            } = stepper;
            let entry = AuditEntry {
                to: Some(format!("{steps} step(s), one migration each")),
                outcome: if failed.is_some() {
                    "failed"
                } else {
                    "success"
                }
                .into(),
                error: failed,
                override_used,
                ..audit
            };
            runner.audit_or_warn(c, entry, &mut |_| {});
            Ok(out)
        })
    }
}

impl Stepper<'_, '_> {
    /// Applies the next pending migration, if any.
    pub fn up(&mut self, on: &mut dyn FnMut(Event<'_>)) -> Result<RunReport, RunError> {
        self.step(Direction::Up, on)
    }

    /// Reverts the newest applied migration, if any.
    pub fn down(&mut self, on: &mut dyn FnMut(Event<'_>)) -> Result<RunReport, RunError> {
        self.step(Direction::Down, on)
    }

    fn step(
        &mut self,
        direction: Direction,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<RunReport, RunError> {
        let outcome = self.try_step(direction, on);
        if let Err(e) = &outcome {
            // What the failure left in the ledger is read again.
            self.state = None;
            if self.failed.is_none() {
                self.failed = Some(e.report(self.runner.spelling));
            }
        }
        outcome
    }

    fn try_step(
        &mut self,
        direction: Direction,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<RunReport, RunError> {
        let runner = self.runner;
        let c = &mut *self.c;
        let database = c.identity.database.clone();
        let mut state = match self.state.take() {
            Some(state) => state,
            None => runner.read_ledger(c, false, self.set.layout)?,
        };
        runner.check_failed(&database, &state, direction)?;
        let allow = runner.options.allow;
        let plan = match direction {
            Direction::Up => plan::plan_upgrade(self.set, &state, &UpgradeTo::Steps(1), allow),
            Direction::Down => {
                plan::plan_downgrade(self.set, &state, &DowngradeTo::Steps(1), allow)
            }
        }
        .map_err(plan_error(&database))?;
        let Some(&m) = plan.steps.first() else {
            let report = RunReport::unchanged(&c.identity, plan.from);
            self.state = Some(state);
            return Ok(report);
        };
        self.steps += 1;
        let report = runner.execute_audited(
            c,
            &state,
            &plan,
            self.override_used,
            super::Destroys::default(),
            false,
            on,
        )?;
        // The ledger now holds what the step's transaction wrote with it.
        match direction {
            Direction::Up if state.failed.is_empty() => {
                state.applied.push(AppliedRow {
                    version: state.recorded_version(m),
                    resolved: Some(m.version.clone()),
                    name: m.name.clone(),
                    checksum: m.up.checksum_hex(),
                    applied_at: String::new(),
                    execution_ms: report.ran.first().map_or(0.0, |r| r.2),
                    applied_by: c.identity.role.clone(),
                    client_addr: None,
                });
                self.state = Some(state);
            }
            Direction::Down if state.failed.is_empty() => {
                state.applied.retain(|r| !r.is_version(&m.version));
                self.state = Some(state);
            }
            // A failed row the step cleared: read the ledger again.
            _ => {}
        }
        Ok(report)
    }
}
