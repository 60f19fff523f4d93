//! Dry runs: the plan and the exact SQL, in order, without running anything.

use crate::identity::Identity;
use crate::ledger::{statements, LedgerState};
use crate::migrations::Direction;
use crate::plan::Plan;
use crate::preview::{Preview, StepPreview};

use super::step::{script_for, transactional_message, DRY_RUN_TOKEN, DRY_RUN_XID};

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
    /// How the migrations wait for their locks: the lock schedule, or that
    /// they wait as the server's `lock_timeout` says. The messages show
    /// each migration's first attempt.
    pub locks: String,
    /// Each message that would be sent, in order, labelled.
    pub steps: Vec<DryRunStep>,
    /// The lint findings of the migrations an upgrade would run.
    pub findings: Vec<crate::lint::Finding>,
}

impl DryRun {
    /// Gives each step what `preview` says it would destroy.
    pub(super) fn attach(&mut self, preview: Preview) {
        for p in preview.steps {
            let label = format!("{} ", p.migration);
            if let Some(step) = self.steps.iter_mut().find(|s| s.label.starts_with(&label)) {
                step.would_destroy = Some(p);
            }
        }
    }

    /// Whether any step would destroy something.
    pub fn destroys(&self) -> bool {
        self.steps.iter().any(|s| {
            s.would_destroy
                .as_ref()
                .is_some_and(|p| !p.losses.is_empty())
        })
    }
}

/// One message of a dry run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DryRunStep {
    /// What it is (`ledger`, or `<version>_<name> up`).
    pub label: String,
    /// The file it comes from.
    pub file: Option<String>,
    /// The messages, in order, exactly as they would be sent, joined by
    /// newlines (see [`DryRunStep::messages`]).
    pub sql: String,
    /// Each message exactly as it would be sent: for a transactional
    /// migration the prologue, then the script with its fence and ledger
    /// row, where `:xid` stands for the transaction's id and `':lock'` for
    /// the run lock's token, both known only at run time.
    pub messages: Vec<String>,
    /// What the step would destroy, rehearsed or read from the parse tree
    /// (a downgrade's steps, and an upgrade's up to its last with a
    /// statement of the destructive family); none for the others.
    pub would_destroy: Option<StepPreview>,
}

impl DryRunStep {
    fn new(label: String, file: Option<String>, messages: Vec<String>) -> DryRunStep {
        DryRunStep {
            label,
            file,
            sql: messages.join("\n"),
            messages,
            would_destroy: None,
        }
    }
}

pub(super) fn dry_run(
    identity: Identity,
    state: &LedgerState,
    plan: &Plan<'_>,
    guard: String,
    options: &super::RunOptions,
) -> DryRun {
    let mut steps = Vec::new();
    if !identity.ledger_exists && plan.direction == Direction::Up && !plan.steps.is_empty() {
        steps.push(DryRunStep::new(
            "create the ledger".into(),
            None,
            vec![
                statements::ledger_setup_begin(options.lock_wait),
                statements::ledger_setup_finish(statements::LedgerParts::default()),
            ],
        ));
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
        let messages = if script.no_transaction {
            // The messages sent one by one, in order (execution_ms is measured at run time).
            let record = statements::record_done(
                plan.direction,
                &version,
                &m.name,
                &m.up.checksum_hex(),
                true,
                Some(0.0),
            );
            let parsed = script.statements();
            let resume = state
                .failed
                .iter()
                .find(|f| f.is_version(&m.version) && f.direction == plan.direction)
                .map_or(0, |f| usize::try_from(f.statements_done).unwrap_or(0))
                .min(parsed.len());
            let mut messages = vec![format!(
                "{};{}",
                statements::NO_TRANSACTION_SESSION,
                statements::record_started(&version, &m.name, dir, parsed.len(), resume)
            )];
            for (i, statement) in parsed.iter().enumerate().skip(resume) {
                messages.push(statement.sql.clone());
                messages.push(
                    statements::record_progress(&version, i + 1)
                        + &statements::renew_lock(DRY_RUN_TOKEN),
                );
            }
            messages.push(statements::finish_no_transaction(&record, &version));
            messages
        } else {
            vec![
                statements::transaction_prologue(
                    identity.server_version,
                    // The first attempt's (a retry sends the next timeout).
                    options.lock_timeout.map(|s| s.timeout(1)),
                    options.statement_timeout,
                ),
                transactional_message(
                    m,
                    script,
                    plan.direction,
                    &version,
                    state.is_failed(m),
                    DRY_RUN_XID,
                    Some(DRY_RUN_TOKEN),
                ),
            ]
        };
        let mut step = DryRunStep::new(
            format!("{}_{} {dir}", m.version, m.name),
            Some(script.path.display().to_string()),
            messages,
        );
        if script.no_transaction {
            step.sql = format!(
                "-- outside a transaction, one message at a time:\n{}",
                step.sql
            );
        }
        steps.push(step);
    }
    let locks = match options.lock_timeout {
        Some(s) if s.budget.is_zero() => format!("{s}"),
        Some(s) => format!(
            "{s}: a migration that cannot get a lock in time is rolled back and runs again \
             (outside a transaction, a statement is cancelled and runs again); the messages show the first attempt"
        ),
        None => "the server's lock_timeout, no retries".to_string(),
    };
    DryRun {
        identity,
        direction: plan.direction,
        from: plan.from.clone(),
        to: plan.to.clone(),
        guard,
        locks,
        steps,
        findings: Vec::new(),
    }
}
