//! Planning: comparing the ledger with the migration files. Pure — no
//! database — and unit-tested here. The ledger's rows are the ledger's own
//! types ([`crate::ledger::rows`]), their versions already resolved.

use std::collections::HashSet;

use crate::ledger::{AppliedRow, LedgerState};
use crate::migrations::{Direction, Migration, MigrationSet, Version};
use crate::spelling::{Knob, Library, Spelling};

/// An applied migration whose up script changed since.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Drift {
    /// Version, as the ledger records it.
    pub version: String,
    /// The migration's version ([`AppliedRow::resolved`]).
    #[serde(skip)]
    pub resolved: Version,
    /// The file now.
    pub path: String,
    /// Checksum the ledger recorded.
    pub recorded: String,
    /// Checksum of the file now.
    pub current: String,
}

/// The ledger compared with the files.
#[derive(Debug, Clone)]
pub struct Analysis<'a> {
    /// Applied migrations that are in the set, in set order.
    pub applied: Vec<&'a Migration>,
    /// Migrations not applied, in set order.
    pub pending: Vec<&'a Migration>,
    /// Pending migrations older than the newest applied one.
    pub out_of_order: Vec<&'a Migration>,
    /// Applied migrations whose file changed.
    pub drifted: Vec<Drift>,
    /// Applied migrations with no file in the set.
    pub missing: Vec<AppliedRow>,
    /// The newest applied migration of the set, if any.
    pub current: Option<&'a Migration>,
}

/// Compares the ledger with the set.
pub fn analyze<'a>(set: &'a MigrationSet, ledger: &LedgerState) -> Analysis<'a> {
    let mut applied_versions: HashSet<&str> = HashSet::new();
    let mut drifted = Vec::new();
    let mut missing = Vec::new();
    let mut applied_set: HashSet<usize> = HashSet::new();
    for row in &ledger.applied {
        match position(set, row) {
            Some(i) => {
                applied_set.insert(i);
                applied_versions.insert(row.version.as_str());
                let m = &set.migrations[i];
                let current = m.up.checksum_hex();
                if current != row.checksum {
                    drifted.push(Drift {
                        version: row.version.clone(),
                        resolved: m.version.clone(),
                        path: m.up.path.display().to_string(),
                        recorded: row.checksum.clone(),
                        current,
                    });
                }
            }
            None => missing.push(row.clone()),
        }
    }
    // The ledger may be read unordered; report in version order.
    missing.sort_by(|a: &AppliedRow, b: &AppliedRow| {
        (a.version.len(), &a.version).cmp(&(b.version.len(), &b.version))
    });
    drifted.sort_by(|a: &Drift, b: &Drift| {
        (a.version.len(), &a.version).cmp(&(b.version.len(), &b.version))
    });
    let applied: Vec<&Migration> = set
        .migrations
        .iter()
        .enumerate()
        .filter(|(i, _)| applied_set.contains(i))
        .map(|(_, m)| m)
        .collect();
    let pending: Vec<&Migration> = set
        .migrations
        .iter()
        .enumerate()
        .filter(|(i, _)| !applied_set.contains(i))
        .map(|(_, m)| m)
        .collect();
    let current = applied.last().copied();
    let out_of_order = match current {
        Some(c) => pending
            .iter()
            .copied()
            .filter(|m| m.version < c.version)
            .collect(),
        None => Vec::new(),
    };
    Analysis {
        applied,
        pending,
        out_of_order,
        drifted,
        missing,
        current,
    }
}

/// Where the set holds the migration `row` records.
fn position(set: &MigrationSet, row: &AppliedRow) -> Option<usize> {
    set.migrations
        .iter()
        .position(|m| row.is_version(&m.version))
}

/// Where an upgrade goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpgradeTo {
    /// Every pending migration.
    Head,
    /// Pending migrations up to and including this version.
    Version(String),
    /// The next N pending migrations.
    Steps(usize),
}

/// Where a downgrade goes. There is no default: a target must be named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DowngradeTo {
    /// Revert everything.
    Base,
    /// Revert every applied migration after this version (it stays applied).
    Version(String),
    /// Revert the N newest applied versions (in version order, which after an
    /// out-of-order apply is not the order they were applied in).
    Steps(usize),
}

impl std::str::FromStr for UpgradeTo {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "head" => Ok(UpgradeTo::Head),
            _ if s.starts_with('+') => steps(&s[1..]).map(UpgradeTo::Steps),
            _ if is_version(s) => Ok(UpgradeTo::Version(s.to_string())),
            _ => Err(format!(
                "`{s}` is not an upgrade target: use head, a version, or +N"
            )),
        }
    }
}

impl std::str::FromStr for DowngradeTo {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "base" => Ok(DowngradeTo::Base),
            _ if s.starts_with('-') => steps(&s[1..]).map(DowngradeTo::Steps),
            _ if is_version(s) => Ok(DowngradeTo::Version(s.to_string())),
            _ => Err(format!(
                "`{s}` is not a downgrade target: use base, a version, or -N"
            )),
        }
    }
}

impl std::fmt::Display for UpgradeTo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UpgradeTo::Head => f.write_str("head"),
            UpgradeTo::Version(v) => f.write_str(v),
            UpgradeTo::Steps(n) => write!(f, "+{n}"),
        }
    }
}

impl std::fmt::Display for DowngradeTo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DowngradeTo::Base => f.write_str("base"),
            DowngradeTo::Version(v) => f.write_str(v),
            DowngradeTo::Steps(n) => write!(f, "-{n}"),
        }
    }
}

fn steps(n: &str) -> Result<usize, String> {
    match n.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("`{n}` is not a positive number of steps")),
    }
}

fn is_version(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_digit()) && s.chars().all(|c| c.is_ascii_digit() || c == '-')
}

/// What the checks allow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Allow {
    /// Proceed although applied migrations changed or are missing.
    pub drift: bool,
    /// Apply pending migrations older than the newest applied one.
    pub out_of_order: bool,
}

/// Why a plan cannot be made. Each names the versions involved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
#[error("{}", self.render(&Library))]
pub enum PlanError {
    /// Applied migrations changed since they were applied.
    Drift(Vec<Drift>),
    /// Applied migrations are missing from the set.
    Missing(Vec<AppliedRow>),
    /// Pending migrations are older than the newest applied one.
    OutOfOrder {
        /// The out-of-order pending versions.
        pending: Vec<String>,
        /// The newest applied version.
        current: String,
    },
    /// The target version is not in the set.
    UnknownVersion(String),
    /// An upgrade target below the current version.
    UpgradeTargetApplied {
        /// The target.
        target: String,
        /// The current version.
        current: String,
    },
    /// A downgrade target that is not applied.
    DowngradeTargetNotApplied(String),
    /// More steps asked than possible.
    TooManySteps {
        /// Steps asked.
        asked: usize,
        /// Steps possible.
        available: usize,
        /// "applied" or "reverted".
        verb: &'static str,
    },
    /// Migrations in the downgrade path cannot be reverted.
    Irreversible(Vec<(String, String)>),
}

impl PlanError {
    /// The error's text, the settings it points to spelled by `spelling`.
    pub fn render(&self, spelling: &dyn Spelling) -> String {
        match self {
            PlanError::Drift(drifts) => format!(
                "{} applied migration(s) changed since they were applied: {}.\n\
                 Restore the files as they were applied (an applied migration must not change; write a new one), \
                 or pass {} to proceed anyway",
                drifts.len(),
                drifts
                    .iter()
                    .map(|d| format!(
                        "{} ({}: recorded {}, now {})",
                        d.version,
                        d.path,
                        short(&d.recorded),
                        short(&d.current)
                    ))
                    .collect::<Vec<_>>()
                    .join(", "),
                spelling.knob(Knob::AllowDrift)
            ),
            PlanError::Missing(rows) => format!(
                "{} applied migration(s) are missing from the migration set: {}.\n\
                 Restore their files, check that {} points at the right folder, or pass {} to proceed anyway",
                rows.len(),
                rows.iter()
                    .map(|r| format!("{}_{}", r.version, r.name))
                    .collect::<Vec<_>>()
                    .join(", "),
                spelling.knob(Knob::MigrationsFolder),
                spelling.knob(Knob::AllowDrift)
            ),
            PlanError::OutOfOrder { pending, current } => format!(
                "pending migration(s) {} are older than the newest applied one ({current}); \
                 applying them now runs them out of order. Pass {} if that is intended, \
                 or renumber them after {current}",
                pending.join(", "),
                spelling.knob(Knob::AllowOutOfOrder)
            ),
            PlanError::UnknownVersion(v) => format!(
                "version {v} is not in the migration set; `wdh-migrate status` lists the versions"
            ),
            PlanError::UpgradeTargetApplied { target, current } => format!(
                "version {target} is already applied (current: {current}); to go back, use `wdh-migrate downgrade {target}`"
            ),
            PlanError::DowngradeTargetNotApplied(v) => format!(
                "version {v} is not applied, so the database cannot be downgraded to it; `wdh-migrate status` shows what is applied"
            ),
            PlanError::TooManySteps {
                asked,
                available,
                verb,
            } => format!(
                "asked for {asked} step(s) but only {available} migration(s) can be {verb}"
            ),
            PlanError::Irreversible(list) => format!(
                "refusing to downgrade: {} cannot be reverted ({}); nothing was run. \
                 Downgrade to a version after it instead, or write a down.sql and remove `-- wdh:irreversible`",
                list.iter().map(|(v, _)| v.as_str()).collect::<Vec<_>>().join(", "),
                list.iter()
                    .map(|(v, why)| format!("{v}: {why}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        }
    }
}

fn short(hex: &str) -> &str {
    &hex[..hex.len().min(12)]
}

/// Migrations to run, in order.
#[derive(Debug, Clone)]
pub struct Plan<'a> {
    /// Up or down.
    pub direction: Direction,
    /// The migrations, in the order they run.
    pub steps: Vec<&'a Migration>,
    /// The version before the run.
    pub from: Option<String>,
    /// The version after the run.
    pub to: Option<String>,
    /// Drift or missing migrations that were allowed (shown, not fatal).
    pub allowed: Vec<PlanError>,
}

fn checks(analysis: &Analysis<'_>, allow: Allow) -> Result<Vec<PlanError>, PlanError> {
    let mut allowed = Vec::new();
    if !analysis.drifted.is_empty() {
        let e = PlanError::Drift(analysis.drifted.clone());
        if !allow.drift {
            return Err(e);
        }
        allowed.push(e);
    }
    if !analysis.missing.is_empty() {
        let e = PlanError::Missing(analysis.missing.clone());
        if !allow.drift {
            return Err(e);
        }
        allowed.push(e);
    }
    Ok(allowed)
}

/// Plans an upgrade.
pub fn plan_upgrade<'a>(
    set: &'a MigrationSet,
    ledger: &LedgerState,
    to: &UpgradeTo,
    allow: Allow,
) -> Result<Plan<'a>, PlanError> {
    let a = analyze(set, ledger);
    let allowed = checks(&a, allow)?;
    let from = a.current.map(|m| m.version.to_string());
    let steps: Vec<&Migration> = match to {
        UpgradeTo::Head => a.pending.clone(),
        UpgradeTo::Steps(n) => {
            if *n > a.pending.len() {
                return Err(PlanError::TooManySteps {
                    asked: *n,
                    available: a.pending.len(),
                    verb: "applied",
                });
            }
            a.pending[..*n].to_vec()
        }
        UpgradeTo::Version(v) => {
            let target = set
                .find(v)
                .ok_or_else(|| PlanError::UnknownVersion(v.clone()))?;
            let steps: Vec<&Migration> = a
                .pending
                .iter()
                .copied()
                .filter(|m| m.version <= target.version)
                .collect();
            if steps.is_empty() {
                if let Some(c) = a.current.filter(|c| c.version > target.version) {
                    return Err(PlanError::UpgradeTargetApplied {
                        target: v.clone(),
                        current: c.version.to_string(),
                    });
                }
            }
            steps
        }
    };
    let late: Vec<String> = steps
        .iter()
        .filter(|m| a.out_of_order.contains(m))
        .map(|m| m.version.to_string())
        .collect();
    if !late.is_empty() && !allow.out_of_order {
        let current = from.clone().unwrap_or_default();
        return Err(PlanError::OutOfOrder {
            pending: late,
            current,
        });
    }
    let newest = steps
        .iter()
        .chain(a.current.iter())
        .max_by(|x, y| x.version.cmp(&y.version));
    let to = newest.map(|m| m.version.to_string());
    Ok(Plan {
        direction: Direction::Up,
        steps,
        from,
        to,
        allowed,
    })
}

/// Plans a downgrade. Refuses, before anything runs, when a migration on the
/// way cannot be reverted.
pub fn plan_downgrade<'a>(
    set: &'a MigrationSet,
    ledger: &LedgerState,
    to: &DowngradeTo,
    allow: Allow,
) -> Result<Plan<'a>, PlanError> {
    let a = analyze(set, ledger);
    let allowed = checks(
        &a,
        Allow {
            drift: allow.drift,
            ..allow
        },
    )?;
    if !a.missing.is_empty() {
        // Applied migrations without files cannot be reverted, even when allowed for upgrades.
        return Err(PlanError::Irreversible(
            a.missing
                .iter()
                .map(|r| {
                    (
                        r.version.clone(),
                        "its files are missing from the set".to_string(),
                    )
                })
                .collect(),
        ));
    }
    let from = a.current.map(|m| m.version.to_string());
    let applied = &a.applied;
    let keep = match to {
        DowngradeTo::Base => 0,
        DowngradeTo::Steps(n) => {
            if *n > applied.len() {
                return Err(PlanError::TooManySteps {
                    asked: *n,
                    available: applied.len(),
                    verb: "reverted",
                });
            }
            applied.len() - n
        }
        DowngradeTo::Version(v) => {
            let target = set
                .find(v)
                .ok_or_else(|| PlanError::UnknownVersion(v.clone()))?;
            let pos = applied
                .iter()
                .position(|m| m.version == target.version)
                .ok_or_else(|| PlanError::DowngradeTargetNotApplied(v.clone()))?;
            pos + 1
        }
    };
    let steps: Vec<&Migration> = applied[keep..].iter().rev().copied().collect();
    let irreversible: Vec<(String, String)> = steps
        .iter()
        .filter(|m| !m.is_reversible())
        .map(|m| {
            let why = match &m.down {
                crate::migrations::Down::Missing => {
                    format!("no down script next to {}", m.up.path.display())
                }
                _ => "marked `-- wdh:irreversible`".to_string(),
            };
            (m.version.to_string(), why)
        })
        .collect();
    if !irreversible.is_empty() {
        return Err(PlanError::Irreversible(irreversible));
    }
    let to = keep.checked_sub(1).map(|i| applied[i].version.to_string());
    Ok(Plan {
        direction: Direction::Down,
        steps,
        from,
        to,
        allowed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    fn set(files: &[(&str, &str)]) -> MigrationSet {
        let files = files
            .iter()
            .map(|(p, s)| (PathBuf::from(p), s.as_bytes().to_vec()))
            .collect();
        MigrationSet::from_files(Path::new("migrations"), files).unwrap()
    }

    fn four() -> MigrationSet {
        set(&[
            ("1_a.up.sql", "CREATE TABLE a ();"),
            ("1_a.down.sql", "DROP TABLE a;"),
            ("2_b.up.sql", "CREATE TABLE b ();"),
            ("2_b.down.sql", "DROP TABLE b;"),
            ("9_c.up.sql", "CREATE TABLE c ();"),
            ("9_c.down.sql", "DROP TABLE c;"),
            ("10_d.up.sql", "CREATE TABLE d ();"),
            ("10_d.down.sql", ""),
        ])
    }

    fn applied(set: &MigrationSet, versions: &[&str]) -> LedgerState {
        LedgerState {
            exists: true,
            applied: versions
                .iter()
                .map(|v| {
                    let m = set.find(v).unwrap();
                    AppliedRow {
                        version: m.version.to_string(),
                        resolved: Some(m.version.clone()),
                        name: m.name.clone(),
                        checksum: m.up.checksum_hex(),
                        applied_at: String::new(),
                        execution_ms: 0.0,
                        applied_by: "test".into(),
                        client_addr: None,
                    }
                })
                .collect(),
            failed: vec![],
        }
    }

    fn versions(plan: &Plan<'_>) -> Vec<String> {
        plan.steps.iter().map(|m| m.version.to_string()).collect()
    }

    #[test]
    fn upgrade_targets() {
        let s = four();
        let empty = LedgerState::default();
        let p = plan_upgrade(&s, &empty, &UpgradeTo::Head, Allow::default()).unwrap();
        assert_eq!(versions(&p), ["1", "2", "9", "10"]);
        assert_eq!((p.from, p.to.as_deref()), (None, Some("10")));
        let p = plan_upgrade(&s, &empty, &UpgradeTo::Steps(2), Allow::default()).unwrap();
        assert_eq!(versions(&p), ["1", "2"]);
        let p = plan_upgrade(&s, &empty, &"9".parse().unwrap(), Allow::default()).unwrap();
        assert_eq!(versions(&p), ["1", "2", "9"]);
        let at2 = applied(&s, &["1", "2"]);
        let p = plan_upgrade(&s, &at2, &UpgradeTo::Head, Allow::default()).unwrap();
        assert_eq!(versions(&p), ["9", "10"]);
        assert_eq!(p.from.as_deref(), Some("2"));
        assert!(matches!(
            plan_upgrade(&s, &at2, &UpgradeTo::Steps(3), Allow::default()),
            Err(PlanError::TooManySteps { .. })
        ));
        assert!(matches!(
            plan_upgrade(&s, &at2, &"1".parse().unwrap(), Allow::default()),
            Err(PlanError::UpgradeTargetApplied { .. })
        ));
        assert!(matches!(
            plan_upgrade(&s, &at2, &"5".parse().unwrap(), Allow::default()),
            Err(PlanError::UnknownVersion(_))
        ));
        let all = applied(&s, &["1", "2", "9", "10"]);
        assert!(plan_upgrade(&s, &all, &UpgradeTo::Head, Allow::default())
            .unwrap()
            .steps
            .is_empty());
    }

    #[test]
    fn downgrade_targets() {
        let s = four();
        let all = applied(&s, &["1", "2", "9", "10"]);
        let p = plan_downgrade(&s, &all, &DowngradeTo::Base, Allow::default()).unwrap();
        assert_eq!(versions(&p), ["10", "9", "2", "1"]);
        assert_eq!((p.from.as_deref(), p.to), (Some("10"), None));
        let p = plan_downgrade(&s, &all, &DowngradeTo::Steps(1), Allow::default()).unwrap();
        assert_eq!(versions(&p), ["10"]);
        let p = plan_downgrade(&s, &all, &"2".parse().unwrap(), Allow::default()).unwrap();
        assert_eq!(versions(&p), ["10", "9"]);
        assert_eq!(p.to.as_deref(), Some("2"));
        let at2 = applied(&s, &["1", "2"]);
        assert!(matches!(
            plan_downgrade(&s, &at2, &"9".parse().unwrap(), Allow::default()),
            Err(PlanError::DowngradeTargetNotApplied(_))
        ));
        assert!(matches!(
            plan_downgrade(&s, &at2, &DowngradeTo::Steps(3), Allow::default()),
            Err(PlanError::TooManySteps { .. })
        ));
    }

    #[test]
    fn drift_and_missing_refuse_unless_allowed() {
        let s = four();
        let mut ledger = applied(&s, &["1", "2"]);
        ledger.applied[0].checksum = "0".repeat(64);
        let e = plan_upgrade(&s, &ledger, &UpgradeTo::Head, Allow::default()).unwrap_err();
        assert!(
            matches!(&e, PlanError::Drift(d) if d[0].version == "1"),
            "{e}"
        );
        assert!(e.to_string().contains("1_a.up.sql"), "{e}");
        let p = plan_upgrade(
            &s,
            &ledger,
            &UpgradeTo::Head,
            Allow {
                drift: true,
                ..Allow::default()
            },
        )
        .unwrap();
        assert_eq!(p.allowed.len(), 1);

        let mut ledger = applied(&s, &["1", "2"]);
        ledger.applied.push(AppliedRow {
            version: "3".into(),
            resolved: Version::parse("3", s.layout),
            name: "gone".into(),
            ..ledger.applied[0].clone()
        });
        let e = plan_upgrade(&s, &ledger, &UpgradeTo::Head, Allow::default()).unwrap_err();
        assert!(
            matches!(&e, PlanError::Missing(m) if m[0].version == "3"),
            "{e}"
        );
        assert!(e.to_string().contains("3_gone"));
        assert!(plan_upgrade(
            &s,
            &ledger,
            &UpgradeTo::Head,
            Allow {
                drift: true,
                ..Allow::default()
            }
        )
        .is_ok());
        assert!(matches!(
            plan_downgrade(
                &s,
                &ledger,
                &DowngradeTo::Base,
                Allow {
                    drift: true,
                    ..Allow::default()
                }
            ),
            Err(PlanError::Irreversible(_))
        ));
    }

    #[test]
    fn out_of_order_refuses_unless_allowed() {
        let s = four();
        let ledger = applied(&s, &["1", "9"]);
        let e = plan_upgrade(&s, &ledger, &UpgradeTo::Head, Allow::default()).unwrap_err();
        assert_eq!(
            e,
            PlanError::OutOfOrder {
                pending: vec!["2".into()],
                current: "9".into()
            }
        );
        let p = plan_upgrade(
            &s,
            &ledger,
            &UpgradeTo::Head,
            Allow {
                out_of_order: true,
                ..Allow::default()
            },
        )
        .unwrap();
        assert_eq!(versions(&p), ["2", "10"]);
    }

    #[test]
    fn irreversible_migrations_refuse_the_downgrade_before_anything_runs() {
        let s = set(&[
            ("1_a.up.sql", "CREATE TABLE a ();"),
            ("1_a.down.sql", "DROP TABLE a;"),
            ("2_b.up.sql", "CREATE TABLE b ();"),
            ("3_c.up.sql", "-- wdh:irreversible\nCREATE TABLE c ();"),
            ("3_c.down.sql", "DROP TABLE c;"),
        ]);
        let all = applied(&s, &["1", "2", "3"]);
        let e = plan_downgrade(&s, &all, &DowngradeTo::Base, Allow::default()).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("2: no down script") && msg.contains("3: marked"),
            "{msg}"
        );
    }

    #[test]
    fn target_parsing() {
        assert_eq!("head".parse::<UpgradeTo>(), Ok(UpgradeTo::Head));
        assert_eq!("+2".parse::<UpgradeTo>(), Ok(UpgradeTo::Steps(2)));
        assert_eq!(
            "2017-01-20-174200".parse::<UpgradeTo>(),
            Ok(UpgradeTo::Version("2017-01-20-174200".into()))
        );
        assert!("+0".parse::<UpgradeTo>().is_err());
        assert!("-1".parse::<UpgradeTo>().is_err());
        assert!("base".parse::<UpgradeTo>().is_err());
        assert_eq!("base".parse::<DowngradeTo>(), Ok(DowngradeTo::Base));
        assert_eq!("-3".parse::<DowngradeTo>(), Ok(DowngradeTo::Steps(3)));
        assert!("head".parse::<DowngradeTo>().is_err());
        assert!("".parse::<DowngradeTo>().is_err());
    }
}
