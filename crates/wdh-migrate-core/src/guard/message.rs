//! The texts the guard shows: the refusal message, the guard's own errors,
//! and the quoting that keeps strange database names from forging lines or
//! shell words.

use std::fmt;

use super::decision::Action;
use super::{ProtectedReason, Refusal, RefusalKind, OVERRIDE_VALUE, OVERRIDE_VARIABLE};

/// How many characters of a wrong override value are shown.
const SHOWN_VALUE_CHARS: usize = 40;

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let db = shown(&self.database);
        match self.action {
            Action::Downgrade => {
                f.write_str("BLOCKED: Refusing to downgrade potential production database.\n")?
            }
            Action::WeakenMarker => f.write_str(
                "BLOCKED: Refusing to weaken the environment marker of potential production \
                 database.\n",
            )?,
        }
        writeln!(f, "  Database: {db}")?;
        writeln!(f, "  Protected because {}.", self.reason)?;
        match &self.kind {
            RefusalKind::Locked => {
                return write!(
                    f,
                    "  The `production` marker is locked, so no override is accepted.\n  \
                     To proceed: unlock it first with `wdh-migrate mark production` \
                     (without --locked), which is itself guarded, then run the downgrade again."
                );
            }
            RefusalKind::ConfirmationMissing => writeln!(
                f,
                "  {OVERRIDE_VARIABLE} is set, but --confirm-database was not given."
            )?,
            RefusalKind::ConfirmationMismatch { confirmed } => writeln!(
                f,
                "  {OVERRIDE_VARIABLE} is set, but --confirm-database names {}, not {db}.",
                shown(confirmed)
            )?,
            RefusalKind::Protected => {}
        }
        write!(
            f,
            "  To proceed: set {OVERRIDE_VARIABLE}={OVERRIDE_VALUE} AND pass \
             --confirm-database {}",
            shell_word(&self.database)
        )?;
        if matches!(self.reason, ProtectedReason::Marked { .. }) {
            f.write_str(".")
        } else {
            write!(
                f,
                ";\n  or use a database whose name marks it safe, e.g. {}.",
                self.safe_example
            )
        }
    }
}

impl std::error::Error for Refusal {}

/// An error of the guard itself; the operation must not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GuardError {
    /// The override variable is set, but not to [`OVERRIDE_VALUE`].
    #[error(
        "WDH_ALLOW_PRODUCTION_DOWNGRADE is set to {value}, not to the exact value \
         I_KNOW_WHAT_I_AM_DOING, so nothing was done to protected database {}. \
         To override, set it to exactly I_KNOW_WHAT_I_AM_DOING and pass \
         --confirm-database {}; otherwise unset it.",
        shown(.database),
        shell_word(.database)
    )]
    BadOverrideValue {
        /// The protected database.
        database: String,
        /// The value found, quoted, escaped and cut to 40 characters.
        value: String,
    },
    /// A marker names no known environment.
    #[error("{value} is not an environment; use one of production, staging, test or dev")]
    UnknownEnvironment {
        /// The value found, quoted, escaped and cut to 40 characters.
        value: String,
    },
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
pub(super) fn shell_word(name: &str) -> String {
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
