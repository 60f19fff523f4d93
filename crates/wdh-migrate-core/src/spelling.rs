//! How a message names the setting that gets past it.
//!
//! Many errors end with what to do next, and sometimes that is "turn this
//! setting on": allow drift, confirm the database's name, retry a failed
//! migration. The library names no front end's flags: each message is
//! written once, here in the library, with a [`Knob`] where the setting
//! goes, and a [`Spelling`] chosen by the caller fills it in. The CLI spells
//! knobs as its flags (`--allow-drift`); `Display` uses [`Library`], which
//! names the library's own API (`RunOptions::allow.drift`).

use crate::migrations::Direction;

/// A setting a message can point to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Knob<'a> {
    /// Proceed although applied migrations changed or are missing.
    AllowDrift,
    /// Apply pending migrations older than the newest applied one.
    AllowOutOfOrder,
    /// The folder the migration set is read from.
    MigrationsFolder,
    /// Run a no-transaction migration recorded as failed again.
    RetryFailed,
    /// The whole operation that retries a failed no-transaction migration
    /// in this direction (a failed down is the newest applied migration, so
    /// a downgrade by one step).
    RetryCommand(Direction),
    /// The confirmation of the override: the live database's name, or with
    /// `None` the setting itself.
    ConfirmDatabase(Option<&'a str>),
    /// Marking a database `production` without the lock.
    UnlockMarker,
    /// How long a migration retries when it cannot get a lock in time.
    LockBudget,
    /// The directory snapshots are written to.
    SnapshotDir,
    /// Running a destructive step without a snapshot.
    NoSnapshot,
}

/// Fills in the knobs of a message.
pub trait Spelling: std::fmt::Debug {
    /// How this front end names `knob`.
    fn knob(&self, knob: Knob<'_>) -> String;
}

/// The library's own names for the knobs: the fields of
/// [`RunOptions`](crate::runner::RunOptions) and the methods of
/// [`Runner`](crate::runner::Runner).
#[derive(Debug, Clone, Copy, Default)]
pub struct Library;

impl Spelling for Library {
    fn knob(&self, knob: Knob<'_>) -> String {
        match knob {
            Knob::AllowDrift => "`RunOptions::allow.drift`".into(),
            Knob::AllowOutOfOrder => "`RunOptions::allow.out_of_order`".into(),
            Knob::MigrationsFolder => "the migration set's directory".into(),
            Knob::RetryFailed => "`RunOptions::retry_failed`".into(),
            Knob::RetryCommand(Direction::Up) => {
                "the upgrade again with `RunOptions::retry_failed`".into()
            }
            Knob::RetryCommand(Direction::Down) => {
                "a downgrade by one step with `RunOptions::retry_failed`".into()
            }
            Knob::ConfirmDatabase(None) => "`Override::confirm_database`".into(),
            Knob::ConfirmDatabase(Some(name)) => {
                format!("`Override::confirm_database` = {name:?}")
            }
            Knob::UnlockMarker => "`Runner::mark` with an unlocked `production` marker".into(),
            Knob::LockBudget => "a longer `RunOptions::lock_timeout` budget".into(),
            Knob::SnapshotDir => "`RunOptions::snapshot.dir`".into(),
            Knob::NoSnapshot => "`RunOptions::snapshot.mode` = `SnapshotMode::Never`".into(),
        }
    }
}
