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
//! | downgrade, destructive upgrade | Protected, marked `production` locked | ignored                    | `Refuse` (`Locked`)          |
//! | destructive     | Protected                             | variable set to another value             | `Err(BadOverrideValue)`      |
//! | destructive     | Protected                             | right value, confirmed name = database    | `AllowWithOverride`          |
//! | destructive     | Protected                             | right value, no confirmed name            | `Refuse` (`ConfirmationMissing`) |
//! | destructive     | Protected                             | right value, another confirmed name       | `Refuse` (`ConfirmationMismatch`) |
//! | destructive     | Protected                             | variable not set                          | `Refuse` (`Protected`)       |
//!
//! Destructive operations (see [`Operation::is_destructive`]) are every
//! downgrade, even by zero steps, every upgrade whose pending up scripts hold
//! statements of lint's destructive family that their file does not
//! acknowledge ([`Operation::DestructiveUpgrade`]), and every change of the
//! marker that weakens it: a lower environment (`production` > `staging` > `test` = `dev`) or
//! removing the lock. Unlocking a `production` marker therefore needs the
//! same override as a downgrade.
//!
//! The runner calls [`decide`] twice: once on the claim (the database named
//! by the target, no marker) before connecting, and once on the live facts
//! (`current_database()` and the marker read from the server).

mod classification;
mod decision;
mod message;
#[cfg(test)]
mod tests;

pub use classification::{
    classify, classify_name, parse_bool, Classification, Environment, Marker, ProtectedReason,
    RuleKind, RuleSource, SafeReason, SafetyPolicy, StoredMarker, MIN_RULE_CHARS, SYSTEM_DATABASES,
};
pub use decision::{
    decide, Decision, DestructiveStatement, Operation, Override, OverrideWarning, Refusal,
    RefusalKind, SafeNote,
};
pub use message::{shell_word, GuardError, PolicyProblem};

/// The exact value of `WDH_ALLOW_PRODUCTION_DOWNGRADE` that permits a
/// destructive operation on a protected database.
pub const OVERRIDE_VALUE: &str = "I_KNOW_WHAT_I_AM_DOING";

/// The environment variable that carries the override; named in messages.
const OVERRIDE_VARIABLE: &str = "WDH_ALLOW_PRODUCTION_DOWNGRADE";
