//! `adopt` and `baseline`: recording migrations as applied without running
//! any of their SQL — those another tool's ledger says it applied, or every
//! migration up to a version on a database built by hand.
//!
//! Both read and judge everything first, writing nothing (a refusal leaves
//! the database and both ledgers as they were; a dry run stops there), then
//! take the run lock, read and judge again, and write every row in one
//! transaction with the lock's fence, and the audit row.

use crate::adopt::{self, Found, Tool, Verified};
use crate::ledger::{statements, AuditEntry, LedgerState};
use crate::migrations::{Migration, MigrationSet, Version};
use crate::plan::PlanError;

use super::{Connected, Event, RunError, Runner};
use crate::identity::Identity;

/// One migration recorded as applied without running.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Marked {
    /// The version.
    pub version: String,
    /// The name.
    pub name: String,
    /// When the other tool applied it (RFC 3339), if it says.
    pub applied_at: Option<String>,
}

/// What `adopt` did (or, in a dry run, would do).
#[derive(Debug, Clone, serde::Serialize)]
pub struct AdoptReport {
    /// The live facts of the database.
    pub identity: Identity,
    /// The ledger adopted.
    pub from: Found,
    /// The migrations recorded, in set order.
    pub marked: Vec<Marked>,
    /// Migrations the tool applied that the ledger already recorded.
    pub already: usize,
    /// Whether the files were verified against the tool's checksums.
    pub verified: Verified,
    /// Notes (rows of the other ledger that are not migrations, …).
    pub notes: Vec<String>,
    /// Nothing was written.
    pub dry_run: bool,
}

/// What `baseline` did (or would do).
#[derive(Debug, Clone, serde::Serialize)]
pub struct BaselineReport {
    /// The live facts of the database.
    pub identity: Identity,
    /// The version given.
    pub to: String,
    /// The migrations recorded, in set order.
    pub marked: Vec<Marked>,
    /// Nothing was written.
    pub dry_run: bool,
}

fn marked(m: &Migration, applied_at: Option<f64>) -> Marked {
    Marked {
        version: m.version.to_string(),
        name: m.name.clone(),
        applied_at: applied_at.map(crate::ledger::rfc3339),
    }
}

impl Runner<'_> {
    /// Records in wdh-migrate's ledger every migration of `set` that
    /// another tool's ledger (`from`, or the only one found) says it
    /// applied, without running any SQL; refuses, writing nothing, when an
    /// applied version has no file or its file no longer matches the
    /// checksum the tool recorded, or the tool records a failed migration.
    /// The other ledger is only read. With `dry_run`, nothing is written.
    pub fn adopt(
        &self,
        set: &MigrationSet,
        from: Option<Tool>,
        dry_run: bool,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<AdoptReport, RunError> {
        let mut c = self.connect()?;
        on(Event::Connected(&c.identity));
        let database = c.identity.database.clone();
        let adopt_error = |error| RunError::Adopt {
            database: database.clone(),
            error,
        };
        let found = adopt::detect(&mut c.client).map_err(adopt_error)?;
        let found = adopt::detect::choose(found, from).map_err(adopt_error)?;
        let (report, records) = self.judge_adopt(&mut c, set, &found, dry_run)?;
        if dry_run || records.is_empty() {
            return Ok(report);
        }
        self.locked(&mut c, "adopt", |runner, c| {
            // Judged again under the lock: another run may have adopted or
            // applied meanwhile.
            let (report, records) = runner.judge_adopt(c, set, &found, false)?;
            if records.is_empty() {
                return Ok(report);
            }
            let to = report.marked.last().map(|m| m.version.clone());
            runner.record(c, &records, &format!("adopt from {}", found.tool), to, on)?;
            Ok(report)
        })
    }

    /// Reads both ledgers and plans the adoption: the report and the
    /// statements that record it.
    fn judge_adopt(
        &self,
        c: &mut Connected,
        set: &MigrationSet,
        found: &Found,
        dry_run: bool,
    ) -> Result<(AdoptReport, Vec<String>), RunError> {
        let database = c.identity.database.clone();
        let state = self.read_ledger(c, false, set.layout)?;
        refuse_failed(&database, &state)?;
        let adopt_error = |error| RunError::Adopt {
            database: database.clone(),
            error,
        };
        let claims = adopt::read(&mut c.client, found).map_err(adopt_error)?;
        let plan = adopt::plan(set, found, &claims, &state).map_err(adopt_error)?;
        let records = plan
            .marks
            .iter()
            .map(|mark| {
                let m = mark.migration;
                statements::record_adopted(
                    m.version.normalized(),
                    &m.name,
                    &m.up.checksum_hex(),
                    mark.applied_at,
                )
            })
            .collect();
        let report = AdoptReport {
            identity: c.identity.clone(),
            from: found.clone(),
            marked: plan
                .marks
                .iter()
                .map(|mark| marked(mark.migration, mark.applied_at))
                .collect(),
            already: plan.already,
            verified: plan.verified,
            notes: plan.notes,
            dry_run,
        };
        Ok((report, records))
    }

    /// Brings a database that has no ledger rows (built by hand, restored
    /// from a dump) under management: every migration of `set` up to and
    /// including `version` is recorded as applied, without running. Refused
    /// when the ledger records any migration. With `dry_run`, nothing is
    /// written.
    pub fn baseline(
        &self,
        set: &MigrationSet,
        version: &str,
        dry_run: bool,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<BaselineReport, RunError> {
        let mut c = self.connect()?;
        on(Event::Connected(&c.identity));
        let (report, _) = self.judge_baseline(&mut c, set, version, dry_run)?;
        if dry_run {
            return Ok(report);
        }
        self.locked(&mut c, "baseline", |runner, c| {
            let (report, records) = runner.judge_baseline(c, set, version, false)?;
            runner.record(c, &records, "baseline", Some(report.to.clone()), on)?;
            Ok(report)
        })
    }

    fn judge_baseline(
        &self,
        c: &mut Connected,
        set: &MigrationSet,
        version: &str,
        dry_run: bool,
    ) -> Result<(BaselineReport, Vec<String>), RunError> {
        let database = c.identity.database.clone();
        let target = Version::parse(version, set.layout)
            .filter(|v| set.migrations.iter().any(|m| &m.version == v))
            .ok_or_else(|| RunError::Plan {
                database: database.clone(),
                error: PlanError::UnknownVersion(version.to_string()),
            })?;
        let state = self.read_ledger(c, false, set.layout)?;
        if !state.applied.is_empty() || !state.failed.is_empty() {
            let newest = crate::plan::analyze(set, &state)
                .current
                .map(|m| format!("{}_{}", m.version, m.name));
            return Err(RunError::BaselineNotEmpty {
                database,
                recorded: state.applied.len() + state.failed.len(),
                newest,
            });
        }
        let marks: Vec<&Migration> = set
            .migrations
            .iter()
            .filter(|m| m.version <= target)
            .collect();
        let records = marks
            .iter()
            .map(|m| {
                statements::record_adopted(
                    m.version.normalized(),
                    &m.name,
                    &m.up.checksum_hex(),
                    None,
                )
            })
            .collect();
        let report = BaselineReport {
            identity: c.identity.clone(),
            to: target.to_string(),
            marked: marks.iter().map(|m| marked(m, None)).collect(),
            dry_run,
        };
        Ok((report, records))
    }

    /// Writes `records` in one transaction fenced by the lock, and the
    /// audit row; a failure is audited too.
    fn record(
        &self,
        c: &mut Connected,
        records: &[String],
        operation: &str,
        to: Option<String>,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), RunError> {
        let token = c.held.as_ref().map(|h| h.token.clone());
        let audit = AuditEntry {
            operation: operation.to_string(),
            to,
            ..AuditEntry::default()
        };
        let written = c
            .client
            .batch_execute(&statements::record_adopted_all(records, token.as_deref()));
        if let Err(e) = written {
            crate::ledger::rollback(&mut c.client);
            let e = RunError::db(&c.identity.database, "recording the migrations")(e);
            self.audit_or_warn(
                c,
                AuditEntry {
                    outcome: "failed".into(),
                    error: Some(e.report(self.spelling)),
                    ..audit
                },
                on,
            );
            return Err(e);
        }
        if let Some(held) = &c.held {
            held.renewed();
        }
        self.audit_or_warn(
            c,
            AuditEntry {
                outcome: "success".into(),
                ..audit
            },
            on,
        );
        Ok(())
    }
}

/// Refuses while wdh-migrate's ledger records a failed migration.
fn refuse_failed(database: &str, state: &LedgerState) -> Result<(), RunError> {
    if state.failed.is_empty() {
        return Ok(());
    }
    Err(RunError::FailedEarlier {
        database: database.to_string(),
        failed: state.failed.clone(),
    })
}
