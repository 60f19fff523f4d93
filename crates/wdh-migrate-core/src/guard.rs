//! The production guard: which databases are safe to damage, and whether an
//! operation may run. Pure functions only: no I/O, no environment.
//!
//! # Classification
//!
//! Only the database *name* is ever matched, never the host (`localhost` is
//! not `local`). The name is split into words on `_`, `-` and `.`; it is
//! safe if one word equals a safe word, or if the whole name starts with a
//! safe prefix (both ignoring ASCII case). So `my-dev.db`, `TEST` and
//! `wdh_test_abc` are safe; `attestation` and `prod_db` are not. Empty
//! words and prefixes in a [`SafetyPolicy`] are ignored.
//!
//! The environment marker stored on the server can only make a database
//! *more* protected:
//!
//! | name \ server marker | none        | `test` / `dev` | `staging`  | `production` |
//! |----------------------|-------------|----------------|------------|--------------|
//! | safe                 | Safe        | Safe           | Protected  | Protected    |
//! | not safe             | Protected   | Protected      | Protected  | Protected    |
//!
//! The lock flag of a marker does not change the classification.
//!
//! # Decisions
//!
//! [`decide`] applies these rules in order:
//!
//! | operation       | database                              | override                                  | decision                     |
//! |-----------------|---------------------------------------|-------------------------------------------|------------------------------|
//! | not destructive | any                                   | ignored                                   | `Allow`                      |
//! | destructive     | Safe                                  | ignored                                   | `Allow`                      |
//! | downgrade       | Protected, marked `production` locked | ignored                                   | `Refuse` (`Locked`)          |
//! | destructive     | Protected                             | variable set to another value             | `Err(BadOverrideValue)`      |
//! | destructive     | Protected                             | right value, `--confirm-database` = name  | `AllowWithOverride`          |
//! | destructive     | Protected                             | right value, no `--confirm-database`      | `Refuse` (`ConfirmationMissing`) |
//! | destructive     | Protected                             | right value, other `--confirm-database`   | `Refuse` (`ConfirmationMismatch`) |
//! | destructive     | Protected                             | variable not set                          | `Refuse` (`Protected`)       |
//!
//! Destructive operations (see [`Operation::is_destructive`]) are every
//! downgrade, even by zero steps, and every change of the marker that weakens
//! it: a lower environment (`production` > `staging` > `test` = `dev`) or
//! removing the lock. Unlocking a `production` marker therefore needs the
//! same override as a downgrade.
//!
//! The runner calls [`decide`] twice: once on the claim (the database named
//! by the target, no marker) before connecting, and once on the live facts
//! (`current_database()` and the marker read from the server).

use std::fmt;
use std::str::FromStr;

/// The exact value of `WDH_ALLOW_PRODUCTION_DOWNGRADE` that permits a
/// destructive operation on a protected database.
pub const OVERRIDE_VALUE: &str = "I_KNOW_WHAT_I_AM_DOING";

/// The environment variable that carries the override; named in messages.
const OVERRIDE_VARIABLE: &str = "WDH_ALLOW_PRODUCTION_DOWNGRADE";

/// How many characters of a wrong override value are shown.
const SHOWN_VALUE_CHARS: usize = 40;

/// Which database names mark a database as safe to damage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafetyPolicy {
    /// Words that make a name safe when one of its `_`/`-`/`.`-separated
    /// words equals them (ignoring ASCII case).
    pub safe_words: Vec<String>,
    /// Prefixes that make a name safe when it starts with one of them
    /// (ignoring ASCII case).
    pub safe_prefixes: Vec<String>,
}

impl Default for SafetyPolicy {
    /// Safe words `test`, `tmp`, `dev`, `local`, `sandbox`; safe prefix
    /// `wdh_test_`.
    fn default() -> Self {
        SafetyPolicy {
            safe_words: ["test", "tmp", "dev", "local", "sandbox"]
                .map(String::from)
                .to_vec(),
            safe_prefixes: vec!["wdh_test_".to_owned()],
        }
    }
}

/// The environment recorded in a database's marker on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Environment {
    /// A production database.
    Production,
    /// A staging database.
    Staging,
    /// A test database.
    Test,
    /// A development database.
    Dev,
}

impl Environment {
    /// All environments, most protected first.
    pub const ALL: [Environment; 4] = [
        Environment::Production,
        Environment::Staging,
        Environment::Test,
        Environment::Dev,
    ];

    /// The lower-case name, as stored and displayed.
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Production => "production",
            Environment::Staging => "staging",
            Environment::Test => "test",
            Environment::Dev => "dev",
        }
    }

    /// How strongly the environment protects a database; `test` and `dev`
    /// are equal.
    fn rank(self) -> u8 {
        match self {
            Environment::Production => 2,
            Environment::Staging => 1,
            Environment::Test | Environment::Dev => 0,
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Environment {
    type Err = GuardError;

    /// Parses `production`, `staging`, `test` or `dev`, ignoring ASCII case
    /// and surrounding whitespace.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        Environment::ALL
            .into_iter()
            .find(|env| env.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| GuardError::UnknownEnvironment { value: shorten(s) })
    }
}

/// The environment marker stored on a database server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Marker {
    /// The environment the database belongs to.
    pub environment: Environment,
    /// Whether the marker is locked; a locked `production` marker refuses
    /// every downgrade, override or not.
    pub locked: bool,
}

impl Marker {
    /// Whether changing from `self` to `to` lowers the protection: a lower
    /// environment or a removed lock.
    pub fn is_weakened_by(&self, to: &Marker) -> bool {
        to.environment.rank() < self.environment.rank() || (self.locked && !to.locked)
    }

    fn is_locked_production(&self) -> bool {
        self.locked && self.environment == Environment::Production
    }
}

impl serde::Serialize for Marker {
    /// As its display form, e.g. `"production (locked)"`.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl fmt::Display for Marker {
    /// `production` or `production (locked)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.locked {
            write!(f, "{} (locked)", self.environment)
        } else {
            write!(f, "{}", self.environment)
        }
    }
}

/// Why a database counts as safe to damage.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SafeReason {
    /// One word of the name is a safe word.
    Word {
        /// The safe word, as written in the policy.
        word: String,
    },
    /// The name starts with a safe prefix.
    Prefix {
        /// The safe prefix, as written in the policy.
        prefix: String,
    },
}

impl fmt::Display for SafeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SafeReason::Word { word } => write!(f, "its name contains the word `{word}`"),
            SafeReason::Prefix { prefix } => write!(f, "its name has the prefix `{prefix}`"),
        }
    }
}

/// Why a database counts as potential production.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtectedReason {
    /// The name matches no safe word or prefix (and there is no marker).
    NameNotSafe {
        /// The policy's safe words.
        safe_words: Vec<String>,
        /// The policy's safe prefixes.
        safe_prefixes: Vec<String>,
    },
    /// The name matches no safe word or prefix; the server's `test`/`dev`
    /// marker does not change that.
    NameNotSafeDespiteMarker {
        /// The environment of the server's marker.
        environment: Environment,
        /// The policy's safe words.
        safe_words: Vec<String>,
        /// The policy's safe prefixes.
        safe_prefixes: Vec<String>,
    },
    /// The server marks the database `production` or `staging`.
    Marked {
        /// The server's marker.
        marker: Marker,
    },
}

impl fmt::Display for ProtectedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtectedReason::NameNotSafe {
                safe_words,
                safe_prefixes,
            } => write_no_match(f, safe_words, safe_prefixes),
            ProtectedReason::NameNotSafeDespiteMarker {
                environment,
                safe_words,
                safe_prefixes,
            } => {
                write_no_match(f, safe_words, safe_prefixes)?;
                write!(
                    f,
                    "; the server marks it `{environment}`, but a marker alone never makes \
                     a database safe"
                )
            }
            ProtectedReason::Marked { marker } => {
                write!(f, "it is marked `{}` on the server", marker.environment)?;
                if marker.locked {
                    f.write_str(" and the marker is locked")?;
                }
                Ok(())
            }
        }
    }
}

fn write_no_match(
    f: &mut fmt::Formatter<'_>,
    words: &[String],
    prefixes: &[String],
) -> fmt::Result {
    write!(
        f,
        "its name matches no safe word or prefix (safe words: {}; prefixes: {})",
        list_or_none(words),
        list_or_none(prefixes)
    )
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

/// Whether a database may be damaged without an override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classification {
    /// Safe: destructive operations are allowed.
    Safe(SafeReason),
    /// Potential production: destructive operations need the override.
    Protected(ProtectedReason),
}

impl Classification {
    /// Whether the classification is [`Classification::Safe`].
    pub fn is_safe(&self) -> bool {
        matches!(self, Classification::Safe(_))
    }
}

impl fmt::Display for Classification {
    /// `safe: <reason>` or `protected: <reason>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Classification::Safe(reason) => write!(f, "safe: {reason}"),
            Classification::Protected(reason) => write!(f, "protected: {reason}"),
        }
    }
}

/// Classifies a database by its name alone.
pub fn classify_name(database: &str, policy: &SafetyPolicy) -> Classification {
    for word in database.split(['_', '-', '.']) {
        if let Some(safe) = policy
            .safe_words
            .iter()
            .find(|safe| !safe.is_empty() && safe.eq_ignore_ascii_case(word))
        {
            return Classification::Safe(SafeReason::Word { word: safe.clone() });
        }
    }
    if let Some(prefix) = policy.safe_prefixes.iter().find(|prefix| {
        !prefix.is_empty()
            && database
                .get(..prefix.len())
                .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
    }) {
        return Classification::Safe(SafeReason::Prefix {
            prefix: prefix.clone(),
        });
    }
    Classification::Protected(ProtectedReason::NameNotSafe {
        safe_words: policy.safe_words.clone(),
        safe_prefixes: policy.safe_prefixes.clone(),
    })
}

/// Classifies a database by its name and, if known, the marker on the
/// server. See the table in the [module documentation](self).
pub fn classify(database: &str, marker: Option<&Marker>, policy: &SafetyPolicy) -> Classification {
    match marker {
        Some(marker) if marker.environment.rank() > Environment::Test.rank() => {
            Classification::Protected(ProtectedReason::Marked { marker: *marker })
        }
        Some(marker) => match classify_name(database, policy) {
            Classification::Protected(ProtectedReason::NameNotSafe {
                safe_words,
                safe_prefixes,
            }) => Classification::Protected(ProtectedReason::NameNotSafeDespiteMarker {
                environment: marker.environment,
                safe_words,
                safe_prefixes,
            }),
            other => other,
        },
        None => classify_name(database, policy),
    }
}

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
    /// Change the environment marker on the server.
    Mark {
        /// The marker before the change, if known (`None` if there is none
        /// or it has not been read yet).
        from: Option<Marker>,
        /// The marker after the change.
        to: Marker,
    },
}

impl Operation {
    /// Whether the operation can lose data or weaken protection: every
    /// downgrade (even by zero steps) and every marker change to a lower
    /// environment or from locked to unlocked. Upgrades and strengthening a
    /// marker are not destructive.
    pub fn is_destructive(&self) -> bool {
        match self {
            Operation::Upgrade => false,
            Operation::Downgrade { .. } => true,
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
    /// The value of `--confirm-database`, or `None` if not given.
    pub confirm_database: Option<String>,
}

/// What the guard decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// Go ahead because of an explicit override; show the warning first.
    AllowWithOverride {
        /// A warning naming the database and the override used.
        warning: String,
    },
    /// Do not run the operation; show the refusal.
    Refuse(Refusal),
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
    /// The override variable is set correctly but `--confirm-database` was
    /// not given.
    ConfirmationMissing,
    /// The override variable is set correctly but `--confirm-database` names
    /// another database.
    ConfirmationMismatch {
        /// The database `--confirm-database` named.
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
    reason: ProtectedReason,
    action: Action,
    safe_example: String,
}

impl Refusal {
    /// Why the database is protected.
    pub fn reason(&self) -> &ProtectedReason {
        &self.reason
    }
}

/// What was refused, for the first line of the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Downgrade,
    WeakenMarker,
}

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

/// Decides whether `op` may run on `database`, given the server marker (if
/// known), the policy and the override. Pure: call it on the claim before
/// connecting (with `marker` `None`) and again on the live facts.
///
/// For [`Operation::Mark`], the change counts as weakening if `to` is weaker
/// than its `from` or than `marker`.
///
/// # Errors
///
/// [`GuardError::BadOverrideValue`] if a destructive operation on a
/// protected database meets an override variable set to anything other than
/// [`OVERRIDE_VALUE`] (a locked `production` marker refuses a downgrade
/// before that).
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
    let reason = match classify(database, marker, policy) {
        Classification::Safe(_) => return Ok(Decision::Allow),
        Classification::Protected(reason) => reason,
    };
    let action = match op {
        Operation::Mark { .. } => Action::WeakenMarker,
        _ => Action::Downgrade,
    };
    let refuse = |kind| {
        Ok(Decision::Refuse(Refusal {
            database: database.to_owned(),
            kind,
            reason: reason.clone(),
            action,
            safe_example: safe_example(policy),
        }))
    };

    let locked = marker.is_some_and(Marker::is_locked_production);
    if locked && matches!(op, Operation::Downgrade { .. }) {
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
        (Some(_), Some(_)) => {
            let what = match op {
                Operation::Mark { .. } => "weakening the environment marker of",
                _ => "downgrading",
            };
            Ok(Decision::AllowWithOverride {
                warning: format!(
                    "WARNING: {what} protected database {} because \
                     {OVERRIDE_VARIABLE}={OVERRIDE_VALUE} and --confirm-database {} were \
                     given. It is protected because {reason}.",
                    shown(database),
                    shell_word(database)
                ),
            })
        }
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

/// A name in backticks with control characters escaped, so that a strange
/// database name cannot forge lines of a message.
fn shown(name: &str) -> String {
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
fn shell_word(name: &str) -> String {
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
fn shorten(value: &str) -> String {
    let mut chars = value.chars();
    let head: String = chars.by_ref().take(SHOWN_VALUE_CHARS).collect();
    if chars.next().is_some() {
        let quoted = shown(&head);
        format!("{}...`", &quoted[..quoted.len() - 1])
    } else {
        shown(&head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> SafetyPolicy {
        SafetyPolicy::default()
    }

    fn marker(environment: Environment, locked: bool) -> Marker {
        Marker {
            environment,
            locked,
        }
    }

    /// Every marker the server can carry, plus none.
    fn all_markers() -> Vec<Option<Marker>> {
        let mut markers = vec![None];
        for env in Environment::ALL {
            for locked in [false, true] {
                markers.push(Some(marker(env, locked)));
            }
        }
        markers
    }

    #[test]
    fn default_policy() {
        let p = policy();
        assert_eq!(p.safe_words, ["test", "tmp", "dev", "local", "sandbox"]);
        assert_eq!(p.safe_prefixes, ["wdh_test_"]);
    }

    #[test]
    fn names() {
        let p = policy();
        for (name, safe) in [
            ("test", true),
            ("TEST", true),
            ("app_test", true),
            ("app-Test", true),
            ("my-dev.db", true),
            ("wdh_test_abc", true),
            ("orders.tmp", true),
            ("local", true),
            ("sandbox_1", true),
            ("attestation", false),
            ("testing", false),
            ("prod_db", false),
            ("postgres", false),
            ("localhost", false),
            ("app_devops", false),
            ("app test", false),
            ("", false),
            ("app__db", false),
        ] {
            assert_eq!(classify_name(name, &p).is_safe(), safe, "{name:?}");
        }
    }

    #[test]
    fn reasons() {
        let p = policy();
        assert_eq!(
            classify_name("app_TEST", &p),
            Classification::Safe(SafeReason::Word {
                word: "test".to_owned()
            })
        );
        assert_eq!(
            classify_name("app_test", &p).to_string(),
            "safe: its name contains the word `test`"
        );
        let prefixed = SafetyPolicy {
            safe_words: vec![],
            safe_prefixes: vec!["scratch".to_owned()],
        };
        assert_eq!(
            classify_name("ScratchPad", &prefixed),
            Classification::Safe(SafeReason::Prefix {
                prefix: "scratch".to_owned()
            })
        );
        assert_eq!(
            SafeReason::Prefix {
                prefix: "wdh_test_".to_owned()
            }
            .to_string(),
            "its name has the prefix `wdh_test_`"
        );
        assert_eq!(
            classify_name("prod_db", &p).to_string(),
            "protected: its name matches no safe word or prefix (safe words: test, tmp, dev, \
             local, sandbox; prefixes: wdh_test_)"
        );
        assert_eq!(
            classify(
                "app_test",
                Some(&marker(Environment::Production, false)),
                &p
            )
            .to_string(),
            "protected: it is marked `production` on the server"
        );
        assert!(
            classify("prod", Some(&marker(Environment::Test, false)), &p)
                .to_string()
                .ends_with("a marker alone never makes a database safe")
        );
    }

    #[test]
    fn empty_policy_entries_are_ignored() {
        let p = SafetyPolicy {
            safe_words: vec![String::new()],
            safe_prefixes: vec![String::new()],
        };
        for name in ["prod", "prod__db", "", "prod_"] {
            assert!(!classify_name(name, &p).is_safe(), "{name:?}");
        }
    }

    #[test]
    fn prefix_on_non_ascii_boundary() {
        let p = SafetyPolicy {
            safe_words: vec![],
            safe_prefixes: vec!["ab".to_owned()],
        };
        assert!(!classify_name("é", &p).is_safe());
        assert!(!classify_name("aé", &p).is_safe());
        assert!(classify_name("AB_x", &p).is_safe());
    }

    /// Name classes used by the truth tables, with the policy they are
    /// classified under.
    fn name_classes() -> Vec<(&'static str, SafetyPolicy, bool)> {
        let prefixed = SafetyPolicy {
            safe_words: vec!["test".to_owned()],
            safe_prefixes: vec!["scratch".to_owned()],
        };
        vec![
            ("app_test", policy(), true),
            ("wdh_test_abc", policy(), true),
            ("scratchpad", prefixed.clone(), true),
            ("orders", policy(), false),
            ("attestation", policy(), false),
            ("localhost", policy(), false),
            ("orders", prefixed, false),
        ]
    }

    #[test]
    fn classification_truth_table() {
        use Environment::*;
        // (marker, safe name is safe?, unsafe name is safe?)
        let table: Vec<(Option<Marker>, bool, bool)> = vec![
            (None, true, false),
            (Some(marker(Test, false)), true, false),
            (Some(marker(Test, true)), true, false),
            (Some(marker(Dev, false)), true, false),
            (Some(marker(Dev, true)), true, false),
            (Some(marker(Staging, false)), false, false),
            (Some(marker(Staging, true)), false, false),
            (Some(marker(Production, false)), false, false),
            (Some(marker(Production, true)), false, false),
        ];
        assert_eq!(table.len(), all_markers().len());
        for (name, p, name_safe) in name_classes() {
            for (m, if_safe_name, if_unsafe_name) in &table {
                let want = if name_safe {
                    *if_safe_name
                } else {
                    *if_unsafe_name
                };
                let got = classify(name, m.as_ref(), &p);
                assert_eq!(got.is_safe(), want, "{name} with {m:?}: {got}");
                if let (Some(m), Classification::Protected(reason)) = (m, &got) {
                    if m.environment.rank() > 0 {
                        assert_eq!(reason, &ProtectedReason::Marked { marker: *m });
                    }
                }
            }
        }
    }

    #[test]
    fn environment_strings() {
        for env in Environment::ALL {
            assert_eq!(env.to_string().parse::<Environment>(), Ok(env));
            assert_eq!(env.to_string(), env.to_string().to_lowercase());
        }
        assert_eq!(
            " Production ".parse::<Environment>(),
            Ok(Environment::Production)
        );
        let err = "prod".parse::<Environment>().expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "`prod` is not an environment; use one of production, staging, test or dev"
        );
        let long = "x".repeat(500);
        assert!(
            long.parse::<Environment>()
                .expect_err("unknown")
                .to_string()
                .len()
                < 120
        );
        assert_eq!(
            marker(Environment::Staging, true).to_string(),
            "staging (locked)"
        );
        assert_eq!(marker(Environment::Dev, false).to_string(), "dev");
    }

    #[test]
    fn destructive_operations() {
        use Environment::*;
        assert!(!Operation::Upgrade.is_destructive());
        assert!(Operation::Downgrade { steps: 0 }.is_destructive());
        assert!(Operation::Downgrade { steps: 5 }.is_destructive());
        let mark = |from: Option<Marker>, to: Marker| Operation::Mark { from, to };
        for (from, to, destructive) in [
            (None, marker(Production, true), false),
            (None, marker(Test, false), false),
            (
                Some(marker(Production, true)),
                marker(Production, false),
                true,
            ),
            (
                Some(marker(Production, true)),
                marker(Production, true),
                false,
            ),
            (
                Some(marker(Production, false)),
                marker(Production, true),
                false,
            ),
            (Some(marker(Production, false)), marker(Staging, true), true),
            (Some(marker(Production, false)), marker(Test, false), true),
            (
                Some(marker(Staging, false)),
                marker(Production, false),
                false,
            ),
            (Some(marker(Staging, false)), marker(Dev, false), true),
            (Some(marker(Test, false)), marker(Dev, false), false),
            (Some(marker(Dev, false)), marker(Test, false), false),
            (Some(marker(Test, true)), marker(Dev, false), true),
            (Some(marker(Test, false)), marker(Staging, false), false),
        ] {
            assert_eq!(
                mark(from, to).is_destructive(),
                destructive,
                "{from:?} -> {to:?}"
            );
        }
    }

    /// The outcome class of a decision, for table comparison.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Outcome {
        Allow,
        Override,
        Refuse(RefusalKind),
        BadValue,
    }

    fn outcome(result: Result<Decision, GuardError>) -> Outcome {
        match result {
            Ok(Decision::Allow) => Outcome::Allow,
            Ok(Decision::AllowWithOverride { .. }) => Outcome::Override,
            Ok(Decision::Refuse(refusal)) => Outcome::Refuse(refusal.kind),
            Err(GuardError::BadOverrideValue { .. }) => Outcome::BadValue,
            Err(other) => panic!("unexpected error {other}"),
        }
    }

    /// Override combinations and the outcome each gives for a destructive,
    /// non-locked operation on a protected database.
    fn overrides(database: &str) -> Vec<(Override, Outcome)> {
        let set = |value: Option<&str>, confirm: Option<&str>| Override {
            allow_variable: value.map(str::to_owned),
            confirm_database: confirm.map(str::to_owned),
        };
        vec![
            (set(None, None), Outcome::Refuse(RefusalKind::Protected)),
            (
                set(None, Some(database)),
                Outcome::Refuse(RefusalKind::Protected),
            ),
            (set(Some("yes"), None), Outcome::BadValue),
            (set(Some(""), Some(database)), Outcome::BadValue),
            (
                set(Some("i_know_what_i_am_doing"), Some(database)),
                Outcome::BadValue,
            ),
            (
                set(Some("I_KNOW_WHAT_I_AM_DOING "), Some(database)),
                Outcome::BadValue,
            ),
            (
                set(Some(OVERRIDE_VALUE), None),
                Outcome::Refuse(RefusalKind::ConfirmationMissing),
            ),
            (
                set(Some(OVERRIDE_VALUE), Some("other_db")),
                Outcome::Refuse(RefusalKind::ConfirmationMismatch {
                    confirmed: "other_db".to_owned(),
                }),
            ),
            (
                set(Some(OVERRIDE_VALUE), Some(&database.to_uppercase())),
                Outcome::Refuse(RefusalKind::ConfirmationMismatch {
                    confirmed: database.to_uppercase(),
                }),
            ),
            (set(Some(OVERRIDE_VALUE), Some(database)), Outcome::Override),
        ]
    }

    fn operations() -> Vec<Operation> {
        let mut ops = vec![
            Operation::Upgrade,
            Operation::Downgrade { steps: 0 },
            Operation::Downgrade { steps: 1 },
            Operation::Downgrade { steps: usize::MAX },
        ];
        for from in all_markers() {
            for to in all_markers().into_iter().flatten() {
                ops.push(Operation::Mark { from, to });
            }
        }
        ops
    }

    /// The whole truth table: every name class x every marker x every
    /// operation x every override combination.
    #[test]
    fn decision_truth_table() {
        let mut rows = 0;
        for (name, p, name_safe) in name_classes() {
            for m in all_markers() {
                let marked_protected = m.is_some_and(|m| m.environment.rank() > 0);
                let protected = marked_protected || !name_safe;
                let locked_production = m.is_some_and(|m| m.is_locked_production());
                for op in operations() {
                    let destructive = match &op {
                        Operation::Upgrade => false,
                        Operation::Downgrade { .. } => true,
                        Operation::Mark { from, to } => [from.as_ref(), m.as_ref()]
                            .into_iter()
                            .flatten()
                            .any(|current| current.is_weakened_by(to)),
                    };
                    let is_downgrade = matches!(op, Operation::Downgrade { .. });
                    for (ov, when_protected) in overrides(name) {
                        let want = if !destructive || !protected {
                            Outcome::Allow
                        } else if locked_production && is_downgrade {
                            Outcome::Refuse(RefusalKind::Locked)
                        } else {
                            when_protected
                        };
                        let got = outcome(decide(&op, name, m.as_ref(), &p, &ov));
                        assert_eq!(got, want, "{op:?} on {name} marked {m:?} with {ov:?}");
                        rows += 1;
                    }
                }
            }
        }
        assert!(rows > 5000, "{rows}");
    }

    #[test]
    fn key_rows() {
        use Environment::*;
        let p = policy();
        let none = Override::default();
        let full = |db: &str| Override {
            allow_variable: Some(OVERRIDE_VALUE.to_owned()),
            confirm_database: Some(db.to_owned()),
        };
        let down = Operation::Downgrade { steps: 1 };
        let prod_locked = marker(Production, true);
        let prod = marker(Production, false);

        // The claim phase: the name alone decides.
        assert_eq!(
            outcome(decide(&down, "wdh_test_x", None, &p, &none)),
            Outcome::Allow
        );
        assert_eq!(
            outcome(decide(&down, "prod_db", None, &p, &none)),
            Outcome::Refuse(RefusalKind::Protected)
        );
        // A safe name marked production is protected.
        assert_eq!(
            outcome(decide(&down, "app_test", Some(&prod), &p, &none)),
            Outcome::Refuse(RefusalKind::Protected)
        );
        assert_eq!(
            outcome(decide(
                &down,
                "app_test",
                Some(&prod),
                &p,
                &full("app_test")
            )),
            Outcome::Override
        );
        // A locked production marker refuses a downgrade whatever the override.
        assert_eq!(
            outcome(decide(&down, "app", Some(&prod_locked), &p, &full("app"))),
            Outcome::Refuse(RefusalKind::Locked)
        );
        // Unlocking needs the override; with it, it is allowed.
        let unlock = Operation::Mark {
            from: Some(prod_locked),
            to: prod,
        };
        assert_eq!(
            outcome(decide(&unlock, "app", Some(&prod_locked), &p, &none)),
            Outcome::Refuse(RefusalKind::Protected)
        );
        assert_eq!(
            outcome(decide(&unlock, "app", Some(&prod_locked), &p, &full("app"))),
            Outcome::Override
        );
        // A `from` that disagrees with the server cannot hide a weakening.
        let sneaky = Operation::Mark {
            from: Some(marker(Test, false)),
            to: marker(Test, false),
        };
        assert_eq!(
            outcome(decide(&sneaky, "app", Some(&prod), &p, &none)),
            Outcome::Refuse(RefusalKind::Protected)
        );
        // Strengthening is always allowed.
        let lock = Operation::Mark {
            from: Some(prod),
            to: prod_locked,
        };
        assert_eq!(
            outcome(decide(&lock, "app", Some(&prod), &p, &none)),
            Outcome::Allow
        );
        // A bad override value on a safe database is irrelevant.
        let bad = Override {
            allow_variable: Some("yes".to_owned()),
            confirm_database: None,
        };
        assert_eq!(
            outcome(decide(&down, "app_test", None, &p, &bad)),
            Outcome::Allow
        );
    }

    fn refusal(op: &Operation, db: &str, m: Option<&Marker>, ov: &Override) -> Refusal {
        match decide(op, db, m, &policy(), ov) {
            Ok(Decision::Refuse(refusal)) => refusal,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn refusal_messages() {
        use Environment::*;
        let down = Operation::Downgrade { steps: 2 };
        let text = refusal(&down, "prod_db", None, &Override::default()).to_string();
        assert!(text.starts_with("BLOCKED: Refusing to downgrade potential production database.\n"));
        assert!(text.contains("Database: `prod_db`"), "{text}");
        assert!(
            text.contains("its name matches no safe word or prefix"),
            "{text}"
        );
        assert!(text.contains(
            "set WDH_ALLOW_PRODUCTION_DOWNGRADE=I_KNOW_WHAT_I_AM_DOING AND pass \
             --confirm-database prod_db;"
        ));
        assert!(text.contains("e.g. `wdh_test_...`"), "{text}");

        let r = refusal(
            &down,
            "app",
            Some(&marker(Production, true)),
            &Override::default(),
        );
        assert_eq!(r.kind, RefusalKind::Locked);
        assert_eq!(r.database, "app");
        let text = r.to_string();
        assert!(text.contains("it is marked `production` on the server and the marker is locked"));
        assert!(
            text.contains("`wdh-migrate mark production` (without --locked)"),
            "{text}"
        );
        assert!(text.contains("itself guarded"), "{text}");

        let text = refusal(
            &down,
            "app",
            Some(&marker(Staging, false)),
            &Override {
                allow_variable: Some(OVERRIDE_VALUE.to_owned()),
                confirm_database: Some("other".to_owned()),
            },
        )
        .to_string();
        assert!(
            text.contains("--confirm-database names `other`, not `app`"),
            "{text}"
        );
        assert!(!text.contains("marks it safe"), "{text}");

        let text = refusal(
            &down,
            "app",
            None,
            &Override {
                allow_variable: Some(OVERRIDE_VALUE.to_owned()),
                confirm_database: None,
            },
        )
        .to_string();
        assert!(text.contains("--confirm-database was not given"), "{text}");

        let weaken = Operation::Mark {
            from: Some(marker(Production, false)),
            to: marker(Dev, false),
        };
        let text = refusal(
            &weaken,
            "app",
            Some(&marker(Production, false)),
            &Override::default(),
        )
        .to_string();
        assert!(text.starts_with(
            "BLOCKED: Refusing to weaken the environment marker of potential production database.\n"
        ));
    }

    #[test]
    fn override_warning_names_database() {
        let ov = Override {
            allow_variable: Some(OVERRIDE_VALUE.to_owned()),
            confirm_database: Some("prod_db".to_owned()),
        };
        match decide(
            &Operation::Downgrade { steps: 1 },
            "prod_db",
            None,
            &policy(),
            &ov,
        ) {
            Ok(Decision::AllowWithOverride { warning }) => {
                assert!(warning.contains("`prod_db`"), "{warning}");
                assert!(warning.starts_with("WARNING: downgrading"), "{warning}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_override_value_is_shortened_and_escaped() {
        let ov = Override {
            allow_variable: Some(format!("line1\nline2{}", "y".repeat(1000))),
            confirm_database: Some("prod_db".to_owned()),
        };
        let err = decide(
            &Operation::Downgrade { steps: 1 },
            "prod_db",
            None,
            &policy(),
            &ov,
        )
        .expect_err("bad value");
        let text = err.to_string();
        assert!(text.starts_with("WDH_ALLOW_PRODUCTION_DOWNGRADE is set to `line1\\nline2"));
        assert!(!text.contains('\n'), "{text}");
        assert!(text.contains("...`"), "{text}");
        assert!(!text.contains(&"y".repeat(41)), "{text}");
        assert!(text.contains("protected database `prod_db`"), "{text}");
    }

    #[test]
    fn confirm_hint_is_one_shell_word() {
        assert_eq!(shell_word("prod_db"), "prod_db");
        assert_eq!(shell_word("my db"), "'my db'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word("a`b`$(x)"), "'a`b`$(x)'");
        assert_eq!(shell_word(""), "''");
        let text = refusal(
            &Operation::Downgrade { steps: 1 },
            "my db",
            None,
            &Override::default(),
        )
        .to_string();
        assert!(text.contains("--confirm-database 'my db'"), "{text}");
    }

    #[test]
    fn strange_names_cannot_forge_lines() {
        let r = refusal(
            &Operation::Downgrade { steps: 1 },
            "prod\nBLOCKED: nothing",
            None,
            &Override::default(),
        );
        assert_eq!(
            r.to_string()
                .lines()
                .filter(|l| l.starts_with("BLOCKED"))
                .count(),
            1
        );
    }
}
