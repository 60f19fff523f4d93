//! Dry runs: the plan and the exact SQL, in order, without running anything.

use crate::identity::Identity;
use crate::ledger::{statements, LedgerState};
use crate::migrations::Direction;
use crate::plan::Plan;

use super::step::{script_for, transactional_message};

/// A dry run: the plan and the exact SQL, in order; nothing was run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DryRun {
    /// The live facts.
    pub identity: Identity,
    /// Up or down.
    pub direction: Direction,
    /// Version before.
    pub from: Option<String>,
    /// Version after.
    pub to: Option<String>,
    /// What the guard would decide for this run.
    pub guard: String,
    /// Each message that would be sent, in order, labelled.
    pub steps: Vec<DryRunStep>,
}

/// One message of a dry run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DryRunStep {
    /// What it is (`ledger`, or `<version>_<name> up`).
    pub label: String,
    /// The file it comes from.
    pub file: Option<String>,
    /// The SQL, exactly as it would be sent.
    pub sql: String,
}

pub(super) fn dry_run(
    identity: Identity,
    state: &LedgerState,
    plan: &Plan<'_>,
    guard: String,
) -> DryRun {
    let mut steps = Vec::new();
    if !identity.ledger_exists && plan.direction == Direction::Up && !plan.steps.is_empty() {
        steps.push(DryRunStep {
            label: "create the ledger".into(),
            file: None,
            sql: statements::create_message(),
        });
    }
    for m in &plan.steps {
        let Some(script) = script_for(m, plan.direction) else {
            continue;
        };
        let dir = match plan.direction {
            Direction::Up => "up",
            Direction::Down => "down",
        };
        let version = state.recorded_version(m);
        let sql = if script.no_transaction {
            // The messages sent one by one, in order (execution_ms is measured at run time).
            let record = statements::record_done(
                plan.direction,
                &version,
                &m.name,
                &m.up.checksum_hex(),
                true,
                Some(0.0),
            );
            let parsed = crate::sql::split_statements(&script.executable_sql());
            let mut messages = vec![statements::record_started(
                &version,
                &m.name,
                dir,
                parsed.len(),
            )];
            for (i, statement) in parsed.iter().enumerate() {
                messages.push(statement.sql.clone());
                messages.push(statements::record_progress(&version, i + 1));
            }
            messages.push(statements::finish_no_transaction(&record, &version));
            format!(
                "-- outside a transaction, one message at a time:\n{}",
                messages.join("\n")
            )
        } else {
            transactional_message(m, script, plan.direction, &version, state.is_failed(m))
        };
        steps.push(DryRunStep {
            label: format!("{}_{} {dir}", m.version, m.name),
            file: Some(script.path.display().to_string()),
            sql,
        });
    }
    DryRun {
        identity,
        direction: plan.direction,
        from: plan.from.clone(),
        to: plan.to.clone(),
        guard,
        steps,
    }
}
