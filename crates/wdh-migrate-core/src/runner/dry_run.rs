//! Dry runs: the plan and the exact SQL, in order, without running anything.

use crate::identity::Identity;
use crate::ledger;
use crate::migrations::MigrationSet;
use crate::plan::{Direction, LedgerState, Plan};

use super::{script_for, transactional_message};

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
    set: &MigrationSet,
    state: &LedgerState,
    plan: &Plan<'_>,
    guard: String,
) -> DryRun {
    let mut steps = Vec::new();
    if !identity.ledger_exists && plan.direction == Direction::Up && !plan.steps.is_empty() {
        steps.push(DryRunStep {
            label: "create the ledger".into(),
            file: None,
            sql: ledger::create_message(),
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
        let version = state.recorded_version(set, m);
        let sql = if script.no_transaction {
            // The messages sent one by one, in order (execution_ms is measured at run time).
            let record = match plan.direction {
                Direction::Up => {
                    ledger::record_applied(&version, &m.name, &m.up.checksum_hex(), true, Some(0.0))
                }
                Direction::Down => ledger::record_reverted(&version),
            };
            let statements = crate::sql::split_statements(&script.executable_sql());
            let mut messages = vec![ledger::record_started(
                &version,
                &m.name,
                dir,
                statements.len(),
            )];
            for (i, statement) in statements.iter().enumerate() {
                messages.push(statement.sql.clone());
                messages.push(ledger::record_progress(&version, i + 1));
            }
            messages.push(format!(
                "BEGIN;{record}{}COMMIT;",
                ledger::clear_failed(&version)
            ));
            format!(
                "-- outside a transaction, one message at a time:\n{}",
                messages.join("\n")
            )
        } else {
            transactional_message(m, script, plan.direction, &version, state.is_failed(set, m))
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
