//! The texts the guard shows: the refusal message, the guard's own errors,
//! and the quoting that keeps strange database names from forging lines or
//! shell words.

use std::fmt;

use super::decision::Action;
use super::{
    ProtectedReason, Refusal, RefusalKind, RuleKind, RuleSource, MIN_RULE_CHARS, OVERRIDE_VALUE,
    OVERRIDE_VARIABLE,
};
use crate::spelling::{Knob, Library, Spelling};

/// How many characters of a wrong override value are shown.
const SHOWN_VALUE_CHARS: usize = 40;

impl Refusal {
    /// The refusal's text, its knobs spelled by `spelling`.
    pub fn render(&self, spelling: &dyn Spelling) -> String {
        let db = shown(&self.database);
        let mut text = match self.action {
            Action::Downgrade => {
                String::from("BLOCKED: Refusing to downgrade potential production database.\n")
            }
            Action::DestructiveUpgrade => String::from(
                "BLOCKED: Refusing a destructive upgrade of potential production database.\n",
            ),
            Action::WeakenMarker => String::from(
                "BLOCKED: Refusing to weaken the environment marker of potential production \
                 database.\n",
            ),
        };
        text.push_str(&format!("  Database: {db}\n"));
        for s in &self.statements {
            text.push_str(&format!("  Destructive: {s}\n"));
        }
        text.push_str(&format!("  Protected because {}.\n", self.reason));
        match &self.kind {
            RefusalKind::Locked => {
                text.push_str(&format!(
                    "  The `production` marker is locked, so no override is accepted.\n  \
                     To proceed: {}unlock it first with {}, which is itself guarded, then run \
                     the {} again.",
                    if self.statements.is_empty() {
                        ""
                    } else {
                        "acknowledge each statement in its file, or "
                    },
                    spelling.knob(Knob::UnlockMarker),
                    if self.statements.is_empty() {
                        "downgrade"
                    } else {
                        "upgrade"
                    },
                ));
                if let Some(s) = self.statements.first() {
                    text.push_str(&format!(
                        "\n  A statement is acknowledged with `-- wdh:allow {}` among its file's first comment lines.",
                        s.rule
                    ));
                }
                return text;
            }
            RefusalKind::ConfirmationMissing => text.push_str(&format!(
                "  {OVERRIDE_VARIABLE} is set, but {} was not given.\n",
                spelling.knob(Knob::ConfirmDatabase(None))
            )),
            RefusalKind::ConfirmationMismatch { confirmed } => text.push_str(&format!(
                "  {OVERRIDE_VARIABLE} is set, but {} names {}, not {db}.\n",
                spelling.knob(Knob::ConfirmDatabase(None)),
                shown(confirmed)
            )),
            RefusalKind::Protected => {}
        }
        if !self.statements.is_empty() {
            let mut rules: Vec<&str> = self.statements.iter().map(|s| s.rule.as_str()).collect();
            rules.dedup();
            text.push_str(&format!(
                "  To proceed: if the loss is intended, acknowledge it in the file, a reviewed and committed decision: {} among its first comment lines;\n  or ",
                rules
                    .iter()
                    .map(|r| format!("`-- wdh:allow {r} <reason>`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            text.push_str(&format!(
                "set {OVERRIDE_VARIABLE}={OVERRIDE_VALUE} AND pass {}",
                spelling.knob(Knob::ConfirmDatabase(Some(&self.database)))
            ));
        } else {
            text.push_str(&format!(
                "  To proceed: set {OVERRIDE_VARIABLE}={OVERRIDE_VALUE} AND pass {}",
                spelling.knob(Knob::ConfirmDatabase(Some(&self.database)))
            ));
        }
        if matches!(self.reason, ProtectedReason::Marked { .. }) {
            text.push('.');
        } else {
            text.push_str(&format!(
                ";\n  or use a database whose name marks it safe, e.g. {}.",
                self.safe_example
            ));
        }
        text
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(&Library))
    }
}

impl std::error::Error for Refusal {}

/// An error of the guard itself; the operation must not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GuardError {
    /// The override variable is set, but not to [`OVERRIDE_VALUE`].
    #[error("{}", self.render(&Library))]
    BadOverrideValue {
        /// The protected database.
        database: String,
        /// The value found, quoted, escaped and cut to 40 characters.
        value: String,
    },
    /// A marker names no known environment.
    #[error("{}", self.render(&Library))]
    UnknownEnvironment {
        /// The value found, quoted, escaped and cut to 40 characters.
        value: String,
    },
    /// A safe word or prefix of the policy could mark databases safe that
    /// must never be ([`SafetyPolicy::check`](super::SafetyPolicy::check)).
    #[error("{}", self.render(&Library))]
    UnsafePolicy {
        /// A safe word or a safe prefix.
        kind: RuleKind,
        /// The entry, quoted, escaped and cut to 40 characters.
        entry: String,
        /// Where its list comes from.
        from: RuleSource,
        /// What is wrong with it.
        problem: PolicyProblem,
    },
}

/// What is wrong with a safe word or prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyProblem {
    /// Shorter than [`MIN_RULE_CHARS`] characters.
    TooShort,
    /// It would make this system database safe.
    MakesSystemDatabaseSafe {
        /// `postgres`, `template0` or `template1`.
        database: &'static str,
    },
    /// A safe word holding `_`, `-` or `.`, which split a name into words,
    /// so it can never match.
    SplitsIntoWords,
}

impl GuardError {
    /// The error's text, its knobs spelled by `spelling`.
    pub fn render(&self, spelling: &dyn Spelling) -> String {
        match self {
            GuardError::BadOverrideValue { database, value } => format!(
                "{OVERRIDE_VARIABLE} is set to {value}, not to the exact value \
                 {OVERRIDE_VALUE}, so nothing was done to protected database {}. \
                 To override, set it to exactly {OVERRIDE_VALUE} and pass {}; otherwise unset it.",
                shown(database),
                spelling.knob(Knob::ConfirmDatabase(Some(database)))
            ),
            GuardError::UnknownEnvironment { value } => format!(
                "{value} is not an environment; use one of production, staging, test or dev"
            ),
            GuardError::UnsafePolicy {
                kind,
                entry,
                from,
                problem,
            } => {
                let what = match problem {
                    PolicyProblem::TooShort => format!(
                        "is shorter than {MIN_RULE_CHARS} characters, so it could mark databases \
                         safe by accident; use a longer one"
                    ),
                    PolicyProblem::MakesSystemDatabaseSafe { database } => format!(
                        "would mark the system database `{database}` safe to downgrade; remove it \
                         or make it more specific"
                    ),
                    PolicyProblem::SplitsIntoWords => "holds `_`, `-` or `.`, which split a name \
                         into words, so it can never match a word; list it as a safe prefix, or \
                         drop the separator"
                        .to_owned(),
                };
                let from = match from {
                    RuleSource::BuiltIn => String::new(),
                    from => format!(" ({from})"),
                };
                format!("the {kind} {entry}{from} {what}")
            }
        }
    }
}

/// A name in backticks with control characters escaped, so that a strange
/// database name cannot forge lines of a message.
pub(super) fn shown(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('`');
    for c in name.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.push('`');
    out
}

/// A name as a single shell word: as it is if it only has letters, digits,
/// `_`, `-` and `.`, otherwise in single quotes (control characters escaped).
pub fn shell_word(name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if plain {
        return name.to_owned();
    }
    let mut out = String::from("'");
    for c in name.chars() {
        match c {
            '\'' => out.push_str("'\\''"),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Like [`shown`], but cut to the first 40 characters.
pub(super) fn shorten(value: &str) -> String {
    let mut chars = value.chars();
    let head: String = chars.by_ref().take(SHOWN_VALUE_CHARS).collect();
    if chars.next().is_some() {
        let quoted = shown(&head);
        format!("{}...`", &quoted[..quoted.len() - 1])
    } else {
        shown(&head)
    }
}
