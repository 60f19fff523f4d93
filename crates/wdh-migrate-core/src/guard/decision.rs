//! Decisions: whether an operation may run, given the classification of
//! the database and the override, and the refusal when it may not.

use super::message::{shorten, shown};
use super::{
    classify, Classification, GuardError, Marker, ProtectedReason, RuleSource, SafeReason,
    SafetyPolicy, OVERRIDE_VALUE, OVERRIDE_VARIABLE,
};
use crate::spelling::{Knob, Library, Spelling};

/// An operation the guard decides on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operation {
    /// Apply migrations forward.
    Upgrade,
    /// Revert migrations; destructive whatever the number of steps.
    Downgrade {
        /// How many migrations to revert.
        steps: usize,
    },
    /// Apply migrations forward, some of whose up scripts hold statements
    /// of lint's destructive family that their file does not acknowledge
    /// (`DROP TABLE`, `TRUNCATE`, `DELETE` without `WHERE`, …): judged as
    /// a downgrade is.
    DestructiveUpgrade {
        /// The statements, in the order they would run.
        statements: Vec<DestructiveStatement>,
    },
    /// Change the environment marker on the server.
    Mark {
        /// The marker before the change, if known (`None` if there is none
        /// or it has not been read yet).
        from: Option<Marker>,
        /// The marker after the change.
        to: Marker,
    },
}

/// A statement of lint's destructive family in a pending up script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestructiveStatement {
    /// The up script, relative to the set's root.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The lint rule that finds it (`drop-table`, …).
    pub rule: String,
    /// The statement's first line, cut short.
    pub statement: String,
}

impl std::fmt::Display for DestructiveStatement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{} {} ({})",
            self.file,
            self.line,
            self.column,
            shown_line(&self.statement),
            self.rule
        )
    }
}

/// A statement's text with control characters escaped, so it cannot forge
/// a line of a message.
fn shown_line(text: &str) -> String {
    text.chars()
        .flat_map(|c| -> Vec<char> {
            if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            }
        })
        .collect()
}

impl Operation {
    /// Whether the operation can lose data or weaken protection: every
    /// downgrade (even by zero steps) and every marker change to a lower
    /// environment or from locked to unlocked. Upgrades and strengthening a
    /// marker are not destructive.
    pub fn is_destructive(&self) -> bool {
        match self {
            Operation::Upgrade => false,
            Operation::Downgrade { .. } | Operation::DestructiveUpgrade { .. } => true,
            Operation::Mark { from, to } => from.is_some_and(|from| from.is_weakened_by(to)),
        }
    }

    /// Like [`Operation::is_destructive`], but a marker change is also
    /// compared with the marker actually found on the server.
    fn is_destructive_given(&self, current: Option<&Marker>) -> bool {
        match self {
            Operation::Mark { to, .. } => {
                self.is_destructive() || current.is_some_and(|current| current.is_weakened_by(to))
            }
            _ => self.is_destructive(),
        }
    }
}

/// The explicit permission to run a destructive operation on a protected
/// database, as read by the command-line front end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Override {
    /// The value of `WDH_ALLOW_PRODUCTION_DOWNGRADE`, or `None` if unset.
    pub allow_variable: Option<String>,
    /// The live database's name as the caller confirmed it (the CLI's
    /// `--confirm-database`), or `None` if not given.
    pub confirm_database: Option<String>,
}

/// What the guard decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead: the operation is not destructive.
    Allow,
    /// Go ahead: a destructive operation on a database the policy marks
    /// safe. Show the note when [`SafeNote::names_a_source`]: it says which
    /// rule made the database safe and where the policy's lists come from.
    AllowSafe(SafeNote),
    /// Go ahead because of an explicit override; show the warning first.
    AllowWithOverride {
        /// The warning to show: the database and the override used.
        warning: OverrideWarning,
    },
    /// Do not run the operation; show the refusal.
    Refuse(Refusal),
}

/// Why a destructive operation is allowed without the override: the rule
/// of the policy that makes the database safe. Its `Display` is
/// `` `ci_42` is safe by the prefix `ci_` from /srv/app/wdh.toml ``, and
/// names where the policy's other list comes from when that is not built
/// in either.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafeNote {
    /// The database.
    pub database: String,
    /// The rule that makes it safe.
    pub reason: SafeReason,
    /// Where the policy's safe words come from.
    pub words_from: RuleSource,
    /// Where the policy's safe prefixes come from.
    pub prefixes_from: RuleSource,
}

impl SafeNote {
    /// Whether the policy was not entirely built in: then every
    /// destructive run should show the note, so a configuration that
    /// widened the guard is never silent.
    pub fn names_a_source(&self) -> bool {
        self.words_from.is_configured() || self.prefixes_from.is_configured()
    }
}

impl std::fmt::Display for SafeNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is safe by ", shown(&self.database))?;
        let from = self.reason.from();
        if from.is_configured() {
            write!(f, "{} {from}", self.reason.rule())?;
        } else {
            write!(
                f,
                "the built-in {}",
                self.reason.rule().trim_start_matches("the ")
            )?;
        }
        let (other, other_from) = match self.reason {
            SafeReason::Word { .. } => ("prefixes", &self.prefixes_from),
            SafeReason::Prefix { .. } => ("words", &self.words_from),
        };
        if other_from.is_configured() && other_from != from {
            write!(f, "; the safe {other} come {other_from}")?;
        }
        Ok(())
    }
}

/// The warning of an operation allowed by the override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverrideWarning {
    /// The protected database.
    pub database: String,
    pub(super) action: Action,
    /// Why it is protected.
    pub reason: ProtectedReason,
    /// For a destructive upgrade, its destructive statements.
    pub statements: Vec<DestructiveStatement>,
}

impl OverrideWarning {
    /// The warning's text, its knobs spelled by `spelling`.
    pub fn render(&self, spelling: &dyn Spelling) -> String {
        let what = match self.action {
            Action::WeakenMarker => "weakening the environment marker of",
            Action::Downgrade => "downgrading",
            Action::DestructiveUpgrade => "running a destructive upgrade on",
        };
        let mut text = format!(
            "WARNING: {what} protected database {} because \
             {OVERRIDE_VARIABLE}={OVERRIDE_VALUE} and {} were given. It is protected because {}.",
            shown(&self.database),
            spelling.knob(Knob::ConfirmDatabase(Some(&self.database))),
            self.reason
        );
        for s in &self.statements {
            text.push_str(&format!("\n  Destructive: {s}"));
        }
        text
    }
}

impl std::fmt::Display for OverrideWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render(&Library))
    }
}

/// Why a refused operation was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefusalKind {
    /// The database is protected and no override was given.
    Protected,
    /// A downgrade of a database whose `production` marker is locked; no
    /// override is accepted.
    Locked,
    /// The override variable is set correctly but the confirmation was
    /// not given.
    ConfirmationMissing,
    /// The override variable is set correctly but the confirmation names
    /// another database.
    ConfirmationMismatch {
        /// The database the confirmation named.
        confirmed: String,
    },
}

/// A refused operation. Its `Display` is the full message for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The database the operation was refused on.
    pub database: String,
    /// Why it was refused.
    pub kind: RefusalKind,
    pub(super) reason: ProtectedReason,
    pub(super) action: Action,
    pub(super) safe_example: String,
    /// For a destructive upgrade, its destructive statements.
    pub statements: Vec<DestructiveStatement>,
}

impl Refusal {
    /// Why the database is protected.
    pub fn reason(&self) -> &ProtectedReason {
        &self.reason
    }
}

/// What was refused, for the first line of the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    Downgrade,
    DestructiveUpgrade,
    WeakenMarker,
}

/// Decides whether `op` may run on `database`, given the server marker (if
/// known), the policy and the override. Pure: call it on the claim before
/// connecting (with `marker` `None`) and again on the live facts.
///
/// For [`Operation::Mark`], the change counts as weakening if `to` is weaker
/// than its `from` or than `marker`.
///
/// # Errors
///
/// [`GuardError::UnsafePolicy`] if a destructive operation meets a policy
/// that fails [`SafetyPolicy::check`]. [`GuardError::BadOverrideValue`] if a
/// destructive operation on a protected database meets an override
/// variable set to anything other than [`OVERRIDE_VALUE`] (a locked
/// `production` marker refuses a downgrade before that).
pub fn decide(
    op: &Operation,
    database: &str,
    marker: Option<&Marker>,
    policy: &SafetyPolicy,
    ov: &Override,
) -> Result<Decision, GuardError> {
    if !op.is_destructive_given(marker) {
        return Ok(Decision::Allow);
    }
    policy.check()?;
    let reason = match classify(database, marker, policy) {
        Classification::Safe(reason) => {
            return Ok(Decision::AllowSafe(SafeNote {
                database: database.to_owned(),
                reason,
                words_from: policy.words_from.clone(),
                prefixes_from: policy.prefixes_from.clone(),
            }))
        }
        Classification::Protected(reason) => reason,
    };
    let (action, statements) = match op {
        Operation::Mark { .. } => (Action::WeakenMarker, Vec::new()),
        Operation::DestructiveUpgrade { statements } => {
            (Action::DestructiveUpgrade, statements.clone())
        }
        _ => (Action::Downgrade, Vec::new()),
    };
    let refuse = |kind| {
        Ok(Decision::Refuse(Refusal {
            database: database.to_owned(),
            kind,
            reason: reason.clone(),
            action,
            safe_example: safe_example(policy),
            statements: statements.clone(),
        }))
    };

    let locked = marker.is_some_and(Marker::is_locked_production);
    if locked
        && matches!(
            op,
            Operation::Downgrade { .. } | Operation::DestructiveUpgrade { .. }
        )
    {
        return refuse(RefusalKind::Locked);
    }
    match (ov.allow_variable.as_deref(), ov.confirm_database.as_deref()) {
        (None, _) => refuse(RefusalKind::Protected),
        (Some(value), _) if value != OVERRIDE_VALUE => Err(GuardError::BadOverrideValue {
            database: database.to_owned(),
            value: shorten(value),
        }),
        (Some(_), None) => refuse(RefusalKind::ConfirmationMissing),
        (Some(_), Some(confirmed)) if confirmed != database => {
            refuse(RefusalKind::ConfirmationMismatch {
                confirmed: confirmed.to_owned(),
            })
        }
        (Some(_), Some(_)) => Ok(Decision::AllowWithOverride {
            warning: OverrideWarning {
                database: database.to_owned(),
                action,
                reason,
                statements,
            },
        }),
    }
}

/// An example of a safe name under `policy`.
fn safe_example(policy: &SafetyPolicy) -> String {
    if let Some(prefix) = policy.safe_prefixes.iter().find(|p| !p.is_empty()) {
        format!("`{prefix}...`")
    } else if let Some(word) = policy.safe_words.iter().find(|w| !w.is_empty()) {
        format!("`..._{word}`")
    } else {
        "one allowed by the safety policy".to_owned()
    }
}
