//! An upgrade's pending migrations, linted against the live catalog before
//! anything runs: every finding is shown (but the column-type advice,
//! which `lint` shows); on a protected database an
//! error-level finding that its file does not acknowledge refuses the run;
//! destructive statements make the upgrade a destructive operation, judged
//! by the guard as a downgrade is.

use crate::guard::{self, Classification, Decision, DestructiveStatement, Operation};
use crate::ledger::AuditEntry;
use crate::lint::{self, Finding, Job, Report};
use crate::migrations::Direction;
use crate::plan::Plan;

use crate::preview::Preview;

use super::{Connected, Destroys, Event, RunError, Runner};

/// The lint of a plan's steps.
#[derive(Debug)]
pub(super) struct Checked {
    /// The versions it linted, in order.
    versions: Vec<String>,
    /// What it found.
    pub(super) report: Report,
}

impl Checked {
    /// Whether it linted exactly the steps of `plan`.
    pub(super) fn covers(&self, plan: &Plan<'_>) -> bool {
        self.versions == versions(plan)
    }

    /// The guard's view: a destructive upgrade when an up script holds a
    /// destructive statement its file does not acknowledge.
    pub(super) fn operation(&self) -> Option<Operation> {
        let statements: Vec<DestructiveStatement> = self
            .report
            .findings
            .iter()
            .filter(|f| f.is_destructive())
            .map(|f| DestructiveStatement {
                file: f.path.display().to_string(),
                line: f.line,
                column: f.column,
                rule: f.rule.to_string(),
                statement: f.statement.clone(),
            })
            .collect();
        (!statements.is_empty()).then_some(Operation::DestructiveUpgrade { statements })
    }

    /// Whether `m`'s up script holds a statement of the destructive
    /// family, acknowledged or not.
    pub(super) fn destroys(&self, m: &crate::migrations::Migration) -> bool {
        self.report.findings.iter().any(|f| {
            f.rule().is_destructive() && f.direction == Direction::Up && f.path == m.up.path
        })
    }

    /// The audit row's `destructive` text: each destructive statement,
    /// acknowledged or `how` the guard let it run (none when there is
    /// none).
    pub(super) fn audit_note(&self, how: &str) -> Option<String> {
        let notes: Vec<String> = self
            .report
            .findings
            .iter()
            .filter(|f| f.rule().is_destructive() && f.direction == Direction::Up)
            .map(|f| {
                let verdict = match &f.acknowledged {
                    Some(a) => format!(
                        "acknowledged by `-- wdh:allow {}` on line {}{}",
                        f.rule,
                        a.line,
                        a.reason
                            .as_ref()
                            .map(|r| format!(" ({r})"))
                            .unwrap_or_default()
                    ),
                    None => how.to_string(),
                };
                format!(
                    "{}:{}:{} {} ({}): {verdict}",
                    f.path.display(),
                    f.line,
                    f.column,
                    f.statement,
                    f.rule
                )
            })
            .collect();
        (!notes.is_empty()).then(|| notes.join("; "))
    }
}

fn versions(plan: &Plan<'_>) -> Vec<String> {
    plan.steps.iter().map(|m| m.version.to_string()).collect()
}

impl Runner<'_> {
    /// Lints the up scripts of `plan` against the live catalog.
    fn lint_plan(&self, c: &mut Connected, plan: &Plan<'_>) -> Result<Report, RunError> {
        let jobs: Vec<Job<'_>> = plan
            .steps
            .iter()
            .map(|m| Job {
                migration: m,
                script: &m.up,
                direction: Direction::Up,
                live: true,
            })
            .collect();
        {
            let limit = Some(self.round_trip() * 3);
            let client = &mut c.client;
            lint::against_with(c.identity.server_version, &jobs, self.options.lint, |q| {
                client.with(limit, move |client| q.read(client))
            })
        }
        .map_err(RunError::db(
            &c.identity.database,
            "reading the sizes of the tables the pending migrations change",
        ))
    }

    /// Lints the pending migrations of an upgrade and shows every finding;
    /// refuses (audited) what the live facts already refuse: a destructive
    /// upgrade the guard refuses (exit 3), then error-level findings on a
    /// protected database (exit 4). `to` is the upgrade's target, for the
    /// audit row.
    pub(super) fn check_pending(
        &self,
        c: &mut Connected,
        plan: &Plan<'_>,
        to: &str,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<Checked, RunError> {
        let checked = Checked {
            versions: versions(plan),
            report: self.lint_plan(c, plan)?,
        };
        // Column types are a design choice for review (`lint` shows them),
        // not something to weigh at the moment the migration runs.
        for f in checked
            .report
            .findings
            .iter()
            .filter(|f| f.rule().family != lint::Family::Types)
        {
            on(Event::Finding(f));
        }
        let mut marker_read = false;
        if let Some(op) = checked.operation() {
            self.refresh_identity(c)?;
            marker_read = true;
            let audit = AuditEntry {
                operation: "upgrade".into(),
                to: Some(to.to_string()),
                destructive: checked.audit_note("refused"),
                ..AuditEntry::default()
            };
            self.refuse_early(c, &op, &audit, on)?;
        }
        let errors: Vec<Finding> = checked
            .report
            .findings
            .iter()
            .filter(|f| f.is_error() && !f.rule().is_destructive())
            .cloned()
            .collect();
        if errors.is_empty() {
            return Ok(checked);
        }
        if !marker_read {
            self.refresh_identity(c)?;
        }
        let database = c.identity.database.clone();
        let reason =
            match guard::classify(&database, c.identity.marker.as_ref(), &self.options.policy) {
                Classification::Safe(_) => return Ok(checked),
                Classification::Protected(reason) => reason,
            };
        let e = RunError::Lint {
            database,
            reason: reason.to_string(),
            findings: errors,
        };
        self.audit_or_warn(
            c,
            AuditEntry {
                operation: "upgrade".into(),
                to: Some(to.to_string()),
                outcome: "refused".into(),
                error: Some(e.report(self.spelling)),
                destructive: checked
                    .audit_note("not judged: the upgrade was refused for its lint errors"),
                ..AuditEntry::default()
            },
            on,
        );
        Err(e)
    }

    /// Judges the destructive statements of `checked` on the live facts,
    /// read again under the lock: refused (audited) on a protected
    /// database without an acknowledgement or the override; on a safe one,
    /// a warning. Returns whether the override is in use and the audit
    /// row's `destructive` text.
    pub(super) fn judge_destructive(
        &self,
        c: &mut Connected,
        checked: &Checked,
        plan: &Plan<'_>,
        to: &str,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<(bool, Destroys), RunError> {
        let audit = AuditEntry {
            operation: "upgrade".into(),
            to: Some(to.to_string()),
            destructive: checked.audit_note("refused"),
            ..AuditEntry::default()
        };
        let Some(op) = checked.operation() else {
            // Destructive statements their files acknowledge: previewed
            // and kept as any other.
            let destructive = checked.audit_note("");
            let preview = self.preview_upgrade(c, checked, plan)?;
            let destroys = self.keep_what_is_lost(
                c,
                "upgrade",
                preview,
                false,
                &AuditEntry {
                    destructive,
                    ..audit
                },
                on,
            )?;
            return Ok((false, destroys));
        };
        self.refresh_identity(c)?;
        let listed: Vec<String> = match &op {
            Operation::DestructiveUpgrade { statements } => {
                statements.iter().map(ToString::to_string).collect()
            }
            _ => Vec::new(),
        };
        let how = match self.decide_live(c, &op) {
            Ok(Decision::AllowSafe(note)) => {
                on(Event::Warning(&format!(
                    "running a destructive upgrade on `{}`, allowed because {note}: {}",
                    c.identity.database,
                    listed.join("; ")
                )));
                format!("allowed on a safe database ({note})")
            }
            Ok(Decision::AllowWithOverride { .. }) => "allowed by the override".to_string(),
            _ => "refused".to_string(),
        };
        // Refused: said and audited, nothing rehearsed.
        let preview = match self.decide_live(c, &op) {
            Ok(Decision::Refuse(_)) | Err(_) => {
                self.judge_live(c, &op, &audit, on)?;
                Preview::default()
            }
            _ => self.preview_upgrade(c, checked, plan)?,
        };
        let override_used = self.judge_live_naming(c, &op, &audit, &preview, on)?;
        let destroys = self.keep_what_is_lost(
            c,
            "upgrade",
            preview,
            override_used,
            &AuditEntry {
                destructive: checked.audit_note(&how),
                ..audit
            },
            on,
        )?;
        Ok((override_used, destroys))
    }

    /// What the upgrade's steps up to its last one with a statement of the
    /// destructive family destroy (none without such a statement).
    pub(super) fn preview_upgrade(
        &self,
        c: &mut Connected,
        checked: &Checked,
        plan: &Plan<'_>,
    ) -> Result<Preview, RunError> {
        let Some(last) = plan.steps.iter().rposition(|m| checked.destroys(m)) else {
            return Ok(Preview::default());
        };
        let upto = Plan {
            direction: plan.direction,
            steps: plan.steps[..=last].to_vec(),
            from: plan.from.clone(),
            to: plan.to.clone(),
            allowed: Vec::new(),
        };
        self.preview(c, &upto)
    }

    /// The plan's lint, the guard's verdict on it and what it would
    /// destroy, for a dry run.
    pub(super) fn dry_check(
        &self,
        c: &mut Connected,
        plan: &Plan<'_>,
    ) -> Result<(Report, String, Preview), RunError> {
        let checked = Checked {
            versions: versions(plan),
            report: self.lint_plan(c, plan)?,
        };
        let mut verdict = match checked.operation() {
            None => "allowed (no destructive statement)".to_string(),
            Some(op) => match self.decide_live(c, &op) {
                Ok(Decision::AllowSafe(note)) => {
                    format!("a destructive upgrade, allowed: {note}")
                }
                Ok(Decision::AllowWithOverride { warning }) => format!(
                    "a destructive upgrade, allowed with the override: {}",
                    warning.render(self.spelling)
                ),
                Ok(Decision::Allow) => "allowed".to_string(),
                Ok(Decision::Refuse(r)) => format!("would be refused: {}", r.render(self.spelling)),
                Err(e) => format!("would fail: {}", e.render(self.spelling)),
            },
        };
        let errors = checked
            .report
            .findings
            .iter()
            .filter(|f| f.is_error() && !f.rule().is_destructive())
            .count();
        if errors > 0 {
            if let Classification::Protected(reason) = guard::classify(
                &c.identity.database,
                c.identity.marker.as_ref(),
                &self.options.policy,
            ) {
                verdict.push_str(&format!(
                    "\nwould be refused by lint: {errors} error-level finding(s) on a protected database ({reason})"
                ));
            }
        }
        let preview = self.preview_upgrade(c, &checked, plan)?;
        Ok((checked.report, verdict, preview))
    }
}

impl Runner<'_> {
    /// Lints `set` against the target: the up scripts of the pending
    /// migrations and the down scripts of the applied ones (what an
    /// upgrade or a downgrade would run next) are judged against the live
    /// catalog; the down scripts of pending migrations without it (their
    /// tables are not there yet); the up scripts of applied migrations are
    /// not linted (they ran). Reads only.
    pub fn lint(
        &self,
        set: &crate::migrations::MigrationSet,
    ) -> Result<(crate::identity::Identity, Report), RunError> {
        let mut c = self.connect()?;
        let state = self.read_ledger(&mut c, false, set.layout)?;
        let analysis = crate::plan::analyze(set, &state);
        let mut jobs = Vec::new();
        let mut skipped = 0;
        for m in &set.migrations {
            let applied = analysis.applied.iter().any(|a| a.version == m.version);
            if applied {
                skipped += 1;
            } else {
                jobs.push(Job {
                    migration: m,
                    script: &m.up,
                    direction: Direction::Up,
                    live: true,
                });
            }
            if let Some(down) = m.down.script() {
                jobs.push(Job {
                    migration: m,
                    script: down,
                    direction: Direction::Down,
                    live: applied,
                });
            }
        }
        let mut report = {
            let limit = Some(self.round_trip() * 3);
            let client = &mut c.client;
            lint::against_with(c.identity.server_version, &jobs, self.options.lint, |q| {
                client.with(limit, move |client| q.read(client))
            })
        }
        .map_err(RunError::db(
            &c.identity.database,
            "reading the sizes of the tables the migrations change",
        ))?;
        report.applied_skipped = skipped;
        Ok((c.identity, report))
    }
}
