//! The CLI's errors and exit codes, in one place.
//!
//! Every command returns [`CliError`]; [`CliError::code`] is its exit code
//! and [`CliError::render`] the text printed on stderr: the error's own
//! message, each cause once, and the hint that names the command-line
//! flag to use (library errors name no flag: the CLI adds it here).

use wdh_migrate_core::guard::shell_word;
use wdh_migrate_core::migrations::Direction;
use wdh_migrate_core::runner::RunError;
use wdh_migrate_core::spelling::{Knob, Spelling};
use wdh_migrate_core::target::{Secrets, Target};

/// The CLI's names for the settings a library message points to: its flags.
#[derive(Debug)]
pub struct Flags;

impl Spelling for Flags {
    fn knob(&self, knob: Knob<'_>) -> String {
        match knob {
            Knob::AllowDrift => "--allow-drift".into(),
            Knob::AllowOutOfOrder => "--allow-out-of-order".into(),
            Knob::MigrationsFolder => "--migrations".into(),
            Knob::RetryFailed => "--retry-failed".into(),
            Knob::RetryCommand(Direction::Up) => "`wdh-migrate upgrade --retry-failed`".into(),
            Knob::RetryCommand(Direction::Down) => {
                "`wdh-migrate downgrade -1 --retry-failed`".into()
            }
            Knob::ConfirmDatabase(None) => "--confirm-database".into(),
            Knob::ConfirmDatabase(Some(name)) => format!("--confirm-database {}", shell_word(name)),
            Knob::UnlockMarker => "`wdh-migrate mark production` (without --locked)".into(),
            Knob::LockBudget => "a longer --lock-budget".into(),
            Knob::SnapshotDir => "--snapshot-dir".into(),
            Knob::NoSnapshot => "--no-snapshot".into(),
            _ => wdh_migrate_core::spelling::Library.knob(knob),
        }
    }
}

/// Exit codes (documented in `--help` and the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// Success.
    Ok = 0,
    /// A migration or the database failed.
    Failed = 1,
    /// Bad usage, configuration or migration files.
    Usage = 2,
    /// Refused by the production guard, or the connection reached another
    /// database, a hot standby or a read-only session.
    Blocked = 3,
    /// Refused by the checks (drift, missing, out of order, irreversible, failed earlier).
    Checks = 4,
    /// Another run holds the lock.
    Locked = 5,
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit as u8)
    }
}

/// Why a command failed.
#[derive(Debug)]
pub enum CliError {
    /// Bad arguments, configuration or migration files (exit 2).
    Usage(anyhow::Error),
    /// A run of the library failed; its exit code follows from the error.
    Run(Box<RunError>),
    /// `check` found a down that is not the inverse of its up (exit 4).
    CheckNotInverse,
    /// `check` could not run a migration (exit 1).
    CheckFailed,
    /// `check --admin-url`: the migrations changed what every database of
    /// the shared server shares (exit 4).
    CheckGlobals,
    /// `lint` found errors that their files do not acknowledge (exit 4).
    LintErrors {
        /// How many.
        errors: usize,
    },
    /// Anything else that failed while working (exit 1).
    Failed(anyhow::Error),
}

impl CliError {
    /// A usage error from a message.
    pub fn usage(message: impl std::fmt::Display) -> CliError {
        CliError::Usage(anyhow::anyhow!("{message}"))
    }

    /// A failure from any error, its causes kept.
    pub fn failed(e: impl Into<anyhow::Error>) -> CliError {
        CliError::Failed(e.into())
    }

    /// The exit code.
    pub fn code(&self) -> Exit {
        match self {
            CliError::Usage(_) => Exit::Usage,
            CliError::Run(e) => run_code(e),
            CliError::CheckNotInverse | CliError::CheckGlobals | CliError::LintErrors { .. } => {
                Exit::Checks
            }
            CliError::CheckFailed | CliError::Failed(_) => Exit::Failed,
        }
    }

    /// The text for stderr, each cause once, `secrets` scrubbed.
    pub fn render(&self, secrets: &Secrets) -> String {
        let text = match self {
            // anyhow's alternate form writes each cause once, after a colon.
            CliError::Usage(e) | CliError::Failed(e) => format!("error: {e:#}"),
            CliError::Run(e) => match &**e {
                RunError::Blocked(refusal) => refusal.render(&Flags),
                e => format!("error: {}", e.report(&Flags)),
            },
            CliError::CheckNotInverse => {
                "error: check failed: a down.sql is not the exact inverse of its up.sql (see above)"
                    .to_string()
            }
            CliError::CheckFailed => {
                "error: check failed: a migration did not run (see above)".to_string()
            }
            CliError::LintErrors { errors } => format!(
                "error: lint found {errors} error(s) (see above): make each safe the way its help says, \
                 or acknowledge it in its file with `-- wdh:allow <rule> <reason>`"
            ),
            CliError::CheckGlobals => "error: check failed: the migrations changed roles, \
                 settings or databases that every database of this shared server shares (see \
                 above); make them leave those as they were, or check them on a private \
                 cluster (`wdh-migrate check` without --admin-url)"
                .to_string(),
        };
        secrets.scrub(&text)
    }
}

impl From<RunError> for CliError {
    fn from(e: RunError) -> Self {
        CliError::Run(Box::new(e))
    }
}

/// The exit code of a library run's failure: the one mapping, shared by
/// every front end (the Python package's exceptions follow it).
pub fn run_code(e: &RunError) -> Exit {
    use wdh_migrate_core::plan::PlanError;
    match e {
        RunError::Blocked(_)
        | RunError::Guard(_)
        | RunError::DatabaseMismatch { .. }
        | RunError::ReadOnly { .. }
        | RunError::Snapshot { .. }
        | RunError::SnapshotRequired { .. } => Exit::Blocked,
        // A target that cannot be reached is a usage error, not a check refusal.
        RunError::Plan {
            error:
                PlanError::UnknownVersion(_)
                | PlanError::TooManySteps { .. }
                | PlanError::UpgradeTargetApplied { .. }
                | PlanError::DowngradeTargetNotApplied(_),
            ..
        } => Exit::Usage,
        RunError::Adopt {
            error: wdh_migrate_core::adopt::AdoptError::Ambiguous { .. },
            ..
        } => Exit::Usage,
        RunError::Plan { .. }
        | RunError::FailedEarlier { .. }
        | RunError::Adopt { .. }
        | RunError::BaselineNotEmpty { .. }
        | RunError::Lint { .. } => Exit::Checks,
        // A TLS file that cannot be used is configuration: nothing connected.
        RunError::Tls { .. } => Exit::Usage,
        RunError::Locked { .. } => Exit::Locked,
        _ => Exit::Failed,
    }
}

/// A failed command, with the secrets its text must not show.
#[derive(Debug)]
pub struct Failure {
    /// What failed.
    pub error: CliError,
    /// The passwords of the target (or admin URL) the command worked on.
    pub secrets: Secrets,
}

impl Failure {
    /// A failure on `target`.
    pub fn on(error: CliError, target: &Target) -> Failure {
        Failure::hiding(error, target.secrets().clone())
    }

    /// A failure whose text must not show `secrets`.
    pub fn hiding(error: CliError, secrets: Secrets) -> Failure {
        Failure { error, secrets }
    }

    /// The exit code.
    pub fn code(&self) -> Exit {
        self.error.code()
    }

    /// The text for stderr.
    pub fn render(&self) -> String {
        self.error.render(&self.secrets)
    }

    /// The failure as a JSON document, for `--json`: the exit code, the
    /// message as on stderr and, for a failed migration, the failure in full
    /// with every migration of the run that completed before it. Every
    /// string is scrubbed of the target's secrets (a failure before any
    /// target was resolved comes from errors that redact what they quote,
    /// as `Target::parse`'s do). `None` for a failed `check`, whose report
    /// on stdout already says it.
    pub fn to_json(&self) -> Option<serde_json::Value> {
        if matches!(
            self.error,
            CliError::CheckNotInverse
                | CliError::CheckFailed
                | CliError::CheckGlobals
                | CliError::LintErrors { .. }
        ) {
            return None;
        }
        let migration = match &self.error {
            CliError::Run(e) => match &**e {
                RunError::Migration { failure, .. } => Some(failure),
                _ => None,
            },
            _ => None,
        };
        let mut doc = serde_json::json!({
            "error": {
                "exit_code": self.code() as u8,
                "message": self.render(),
                "migration": migration,
            }
        });
        scrub_strings(&mut doc, &self.secrets);
        Some(doc)
    }
}

/// Scrubs secrets from every string of a JSON document.
fn scrub_strings(value: &mut serde_json::Value, secrets: &Secrets) {
    match value {
        serde_json::Value::String(s) => *s = secrets.scrub(s),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| scrub_strings(v, secrets)),
        serde_json::Value::Object(map) => map.values_mut().for_each(|v| scrub_strings(v, secrets)),
        _ => {}
    }
}

impl From<CliError> for Failure {
    fn from(error: CliError) -> Self {
        Failure::hiding(error, Secrets::default())
    }
}

#[cfg(test)]
mod tests {
    use wdh_migrate_core::guard::{
        decide, Decision, Environment, GuardError, Marker, Operation, Override, SafetyPolicy,
    };
    use wdh_migrate_core::plan::PlanError;
    use wdh_migrate_core::spelling::Library;

    use super::*;

    const REASON: &str = "its name matches no safe word or prefix (safe words: test, tmp, dev, \
                          local, sandbox; prefixes: wdh_test_)";

    fn decision(database: &str, marker: Option<&Marker>, ov: &Override) -> Decision {
        decide(
            &Operation::Downgrade { steps: 1 },
            database,
            marker,
            &SafetyPolicy::default(),
            ov,
        )
        .expect("a decision")
    }

    fn refusal(database: &str, marker: Option<&Marker>, ov: &Override) -> String {
        match decision(database, marker, ov) {
            Decision::Refuse(r) => r.render(&Flags),
            other => panic!("{other:?}"),
        }
    }

    fn with_variable(confirm: Option<&str>) -> Override {
        Override {
            allow_variable: Some("I_KNOW_WHAT_I_AM_DOING".into()),
            confirm_database: confirm.map(str::to_string),
        }
    }

    /// The CLI's texts, character for character as they were before the
    /// library's messages stopped naming flags.
    #[test]
    fn the_flags_fill_the_library_messages_exactly() {
        assert_eq!(
            refusal("prod_db", None, &Override::default()),
            format!(
                "BLOCKED: Refusing to downgrade potential production database.\n  \
                 Database: `prod_db`\n  Protected because {REASON}.\n  \
                 To proceed: set WDH_ALLOW_PRODUCTION_DOWNGRADE=I_KNOW_WHAT_I_AM_DOING AND pass \
                 --confirm-database prod_db;\n  \
                 or use a database whose name marks it safe, e.g. `wdh_test_...`."
            )
        );
        assert!(refusal("my db", None, &Override::default())
            .contains("AND pass --confirm-database 'my db';"));
        assert!(refusal("app", None, &with_variable(None)).contains(
            "\n  WDH_ALLOW_PRODUCTION_DOWNGRADE is set, but --confirm-database was not given.\n  \
             To proceed:"
        ));
        assert!(
            refusal("app", None, &with_variable(Some("other"))).contains(
                "\n  WDH_ALLOW_PRODUCTION_DOWNGRADE is set, but --confirm-database names `other`, \
             not `app`.\n"
            )
        );
        let locked = Marker {
            environment: Environment::Production,
            locked: true,
        };
        assert!(
            refusal("app", Some(&locked), &with_variable(Some("app"))).ends_with(
                "  The `production` marker is locked, so no override is accepted.\n  \
             To proceed: unlock it first with `wdh-migrate mark production` (without --locked), \
             which is itself guarded, then run the downgrade again."
            )
        );
        match decision("app", None, &with_variable(Some("app"))) {
            Decision::AllowWithOverride { warning } => assert_eq!(
                warning.render(&Flags),
                format!(
                    "WARNING: downgrading protected database `app` because \
                     WDH_ALLOW_PRODUCTION_DOWNGRADE=I_KNOW_WHAT_I_AM_DOING and --confirm-database \
                     app were given. It is protected because {REASON}."
                )
            ),
            other => panic!("{other:?}"),
        }
        let bad = GuardError::BadOverrideValue {
            database: "app".into(),
            value: "`yes`".into(),
        };
        assert_eq!(
            bad.render(&Flags),
            "WDH_ALLOW_PRODUCTION_DOWNGRADE is set to `yes`, not to the exact value \
             I_KNOW_WHAT_I_AM_DOING, so nothing was done to protected database `app`. \
             To override, set it to exactly I_KNOW_WHAT_I_AM_DOING and pass \
             --confirm-database app; otherwise unset it."
        );
        let out_of_order = PlanError::OutOfOrder {
            pending: vec!["2".into()],
            current: "3".into(),
        };
        assert_eq!(
            out_of_order.render(&Flags),
            "pending migration(s) 2 are older than the newest applied one (3); applying them \
             now runs them out of order. Pass --allow-out-of-order if that is intended, or \
             renumber them after 3"
        );
        for (knob, flag) in [
            (Knob::AllowDrift, "--allow-drift"),
            (Knob::MigrationsFolder, "--migrations"),
            (Knob::RetryFailed, "--retry-failed"),
            (
                Knob::RetryCommand(Direction::Up),
                "`wdh-migrate upgrade --retry-failed`",
            ),
            (
                Knob::RetryCommand(Direction::Down),
                "`wdh-migrate downgrade -1 --retry-failed`",
            ),
        ] {
            assert_eq!(Flags.knob(knob), flag);
        }
    }

    #[test]
    fn the_library_itself_names_no_flag() {
        let refused = match decision("prod_db", None, &with_variable(None)) {
            Decision::Refuse(r) => r.to_string(),
            other => panic!("{other:?}"),
        };
        let warning = match decision("app", None, &with_variable(Some("app"))) {
            Decision::AllowWithOverride { warning } => warning.to_string(),
            other => panic!("{other:?}"),
        };
        let out_of_order = PlanError::OutOfOrder {
            pending: vec!["2".into()],
            current: "3".into(),
        }
        .to_string();
        for text in [refused, warning, out_of_order] {
            assert!(!text.contains("--"), "{text}");
            assert!(
                text.contains("`RunOptions::") || text.contains("`Override::"),
                "{text}"
            );
        }
        assert!(Library.knob(Knob::AllowDrift).contains("RunOptions"));
    }
}

#[cfg(test)]
#[path = "../../wdh-migrate-core/tests/support/conn_strings.rs"]
mod conn_strings;

/// No part of a generated password shows in a failure's text or JSON.
#[cfg(test)]
mod secret_tests {
    use proptest::prelude::*;
    use wdh_migrate_core::target::{server_secrets, Source};

    use super::conn_strings::{assert_hidden, case, Case, Expect, Place};
    use super::*;

    /// Every string of the failure's JSON document, decoded, and the
    /// document as printed.
    fn json_texts(failure: &Failure) -> Vec<String> {
        fn strings(value: &serde_json::Value, out: &mut Vec<String>) {
            match value {
                serde_json::Value::String(s) => out.push(s.clone()),
                serde_json::Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
                serde_json::Value::Object(map) => map.values().for_each(|v| strings(v, out)),
                _ => {}
            }
        }
        let doc = failure.to_json().expect("a JSON document");
        let mut out = vec![doc.to_string()];
        strings(&doc, &mut out);
        out
    }

    fn assert_failure_hidden(case: &Case, failure: &Failure) {
        let mut texts = vec![("the message", failure.render())];
        texts.extend(json_texts(failure).into_iter().map(|t| ("the JSON", t)));
        assert_hidden(case, &texts);
    }

    /// A failure on a target whose message quotes the password as the
    /// server or the driver might, when the target read that password.
    fn on_target(case: &Case, target: &Target) -> Failure {
        let message = if case.expect == Expect::Anything {
            format!("could not connect to {target}")
        } else {
            format!(
                "could not connect to {target}: password \"{}\" rejected for {}",
                case.password, case.conn
            )
        };
        Failure::on(CliError::Failed(anyhow::anyhow!("{message}")), target)
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 256,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn failures_show_no_part_of_a_password(case in case(Place::any())) {
            match Target::parse(&case.conn, Source::Flag) {
                Ok(target) => {
                    assert_hidden(&case, &[("the target line", format!("target: {target}"))]);
                    assert_failure_hidden(&case, &on_target(&case, &target));
                }
                Err(e) => assert_failure_hidden(&case, &Failure::from(CliError::Usage(e.into()))),
            }
            match server_secrets(&case.conn, Source::AdminUrl) {
                Ok(secrets) if case.expect != Expect::Anything => {
                    let e = anyhow::anyhow!("connecting to {} with \"{}\" failed", case.conn, case.password);
                    assert_failure_hidden(&case, &Failure::hiding(CliError::Failed(e), secrets));
                }
                Ok(_) => {}
                Err(e) => assert_failure_hidden(&case, &Failure::from(CliError::Usage(e.into()))),
            }
        }
    }
}
