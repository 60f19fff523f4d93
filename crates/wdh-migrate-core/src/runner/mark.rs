//! `mark`: storing the environment marker on the database itself.

use crate::guard::{Marker, Operation};
use crate::ledger::{statements, AuditEntry};

use super::{Event, MarkReport, RunError, Runner};

impl Runner<'_> {
    /// Stores the environment marker on the database itself
    /// (`ALTER DATABASE … SET wdh.environment`, and `wdh.environment_locked`
    /// for a locked marker). Weakening a marker is destructive: it passes the
    /// guard on the live facts like a downgrade, and is audited.
    pub fn mark(&self, to: Marker, on: &mut dyn FnMut(Event<'_>)) -> Result<MarkReport, RunError> {
        // On the claim the current marker is unknown: the live check decides.
        self.judge_claim(&Operation::Mark { from: None, to })?;
        let mut c = self.connect_with(true)?;
        on(Event::Connected(&c.identity));
        c.require_writable("store the environment marker")?;
        let current = c.identity.marker;
        let early = AuditEntry {
            operation: "mark".into(),
            from: current.map(|m| m.to_string()),
            to: Some(to.to_string()),
            ..AuditEntry::default()
        };
        self.refuse_early(&mut c, &Operation::Mark { from: current, to }, &early, on)?;
        // Under the run lock, so it cannot change while a downgrade is judged.
        self.locked(&mut c, "mark", |runner, c| {
            runner.refresh_identity(c)?;
            let from = c.identity.marker;
            let audit = AuditEntry {
                operation: "mark".into(),
                from: from.map(|m| m.to_string()),
                to: Some(to.to_string()),
                ..AuditEntry::default()
            };
            let override_used = runner.judge_live(c, &Operation::Mark { from, to }, &audit, on)?;
            let sql =
                statements::set_marker(&c.identity.database, to.environment.as_str(), to.locked);
            let limit = Some(runner.options.lock_wait + runner.round_trip());
            let outcome = c.client.batch_execute(limit, &sql).map_err(RunError::db(
                &c.identity.database,
                "storing the environment marker (it needs the database's owner or a superuser)",
            ));
            let (outcome_text, error) = match &outcome {
                Ok(()) => ("success", None),
                Err(e) => ("failed", Some(e.report(runner.spelling))),
            };
            runner.audit_or_warn(
                c,
                AuditEntry {
                    outcome: outcome_text.into(),
                    error,
                    override_used,
                    ..audit
                },
                on,
            );
            outcome?;
            Ok(MarkReport {
                identity: c.identity.clone(),
                from,
                to,
                override_used,
            })
        })
    }
}
