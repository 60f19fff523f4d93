//! Classification: which databases are safe to damage, judged by the name
//! (safe words and prefixes) and the environment marker on the server.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use super::message::shorten;
use super::{GuardError, PolicyProblem};

/// Where a list of a [`SafetyPolicy`] comes from, so that messages can say
/// which rule made a database safe and where it was written. The library
/// reads no file: the caller says where it read the list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RuleSource {
    /// The library's own default list.
    #[default]
    BuiltIn,
    /// A configuration file the caller read the list from.
    File(PathBuf),
    /// Given by the calling program in some other way.
    Caller,
}

impl RuleSource {
    /// Whether the list was set by the caller (a file or otherwise), not
    /// built in.
    pub fn is_configured(&self) -> bool {
        !matches!(self, RuleSource::BuiltIn)
    }
}

impl fmt::Display for RuleSource {
    /// `built in`, `from <file>` or `set by the caller`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleSource::BuiltIn => f.write_str("built in"),
            RuleSource::File(path) => write!(f, "from {}", path.display()),
            RuleSource::Caller => f.write_str("set by the caller"),
        }
    }
}

/// Which database names mark a database as safe to damage.
///
/// Set [`SafetyPolicy::words_from`] and [`SafetyPolicy::prefixes_from`]
/// when changing a list, so that messages name where it came from; check
/// the lists with [`SafetyPolicy::check`] before any work ([`decide`](super::decide)
/// refuses a destructive operation under a policy that fails it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafetyPolicy {
    /// Words that make a name safe when one of its `_`/`-`/`.`-separated
    /// words equals them (ignoring ASCII case).
    pub safe_words: Vec<String>,
    /// Prefixes that make a name safe when it starts with one of them
    /// (ignoring ASCII case).
    pub safe_prefixes: Vec<String>,
    /// Where `safe_words` comes from.
    pub words_from: RuleSource,
    /// Where `safe_prefixes` comes from.
    pub prefixes_from: RuleSource,
}

impl Default for SafetyPolicy {
    /// Safe words `test`, `tmp`, `dev`, `local`, `sandbox`; safe prefix
    /// `wdh_test_`; both built in.
    fn default() -> Self {
        SafetyPolicy {
            safe_words: ["test", "tmp", "dev", "local", "sandbox"]
                .map(String::from)
                .to_vec(),
            safe_prefixes: vec!["wdh_test_".to_owned()],
            words_from: RuleSource::BuiltIn,
            prefixes_from: RuleSource::BuiltIn,
        }
    }
}

/// The shortest safe word or prefix: shorter ones match names by accident.
pub const MIN_RULE_CHARS: usize = 3;

/// The databases every cluster has, which no safe word or prefix may mark
/// safe.
pub const SYSTEM_DATABASES: [&str; 3] = ["postgres", "template0", "template1"];

/// Whether a rule of a [`SafetyPolicy`] is a safe word or a safe prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleKind {
    /// An entry of [`SafetyPolicy::safe_words`].
    Word,
    /// An entry of [`SafetyPolicy::safe_prefixes`].
    Prefix,
}

impl fmt::Display for RuleKind {
    /// `safe word` or `safe prefix`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RuleKind::Word => "safe word",
            RuleKind::Prefix => "safe prefix",
        })
    }
}

impl SafetyPolicy {
    /// Checks every safe word and prefix: each has at least
    /// [`MIN_RULE_CHARS`] characters, makes none of [`SYSTEM_DATABASES`]
    /// safe, and (for a word) holds no `_`, `-` or `.`, which split a name
    /// into words, so such a word could never match.
    ///
    /// # Errors
    ///
    /// [`GuardError::UnsafePolicy`] for the first entry that fails, naming
    /// it and where its list came from.
    pub fn check(&self) -> Result<(), GuardError> {
        let lists = [
            (RuleKind::Word, &self.safe_words, &self.words_from),
            (RuleKind::Prefix, &self.safe_prefixes, &self.prefixes_from),
        ];
        for (kind, entries, from) in lists {
            for entry in entries {
                if let Some(problem) = problem(kind, entry) {
                    return Err(GuardError::UnsafePolicy {
                        kind,
                        entry: shorten(entry),
                        from: from.clone(),
                        problem,
                    });
                }
            }
        }
        Ok(())
    }

    /// Whether either list was set by the caller rather than built in.
    pub fn is_configured(&self) -> bool {
        self.words_from.is_configured() || self.prefixes_from.is_configured()
    }
}

/// What is wrong with one safe word or prefix, if anything.
fn problem(kind: RuleKind, entry: &str) -> Option<PolicyProblem> {
    if entry.chars().count() < MIN_RULE_CHARS {
        return Some(PolicyProblem::TooShort);
    }
    if kind == RuleKind::Word && entry.contains(['_', '-', '.']) {
        return Some(PolicyProblem::SplitsIntoWords);
    }
    let alone = SafetyPolicy {
        safe_words: if kind == RuleKind::Word {
            vec![entry.to_owned()]
        } else {
            vec![]
        },
        safe_prefixes: if kind == RuleKind::Prefix {
            vec![entry.to_owned()]
        } else {
            vec![]
        },
        ..SafetyPolicy::default()
    };
    SYSTEM_DATABASES
        .into_iter()
        .find(|db| classify_name(db, &alone).is_safe())
        .map(|database| PolicyProblem::MakesSystemDatabaseSafe { database })
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
    pub(super) fn rank(self) -> u8 {
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

    pub(super) fn is_locked_production(&self) -> bool {
        self.locked && self.environment == Environment::Production
    }
}

/// The marker as stored on the server: the values of `wdh.environment` and
/// `wdh.environment_locked`, read so that nothing unreadable makes a
/// database look less protected ([`Marker::from_stored`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoredMarker {
    /// The marker the guard judges, if any is stored.
    pub marker: Option<Marker>,
    /// A `wdh.environment` value that names no environment (judged as
    /// `production`); empty when it is empty, or not set while
    /// `wdh.environment_locked` is.
    pub unknown_environment: Option<String>,
    /// A `wdh.environment_locked` value that is not a boolean (judged as
    /// locked).
    pub unreadable_lock: Option<String>,
}

impl Marker {
    /// Reads the stored settings `wdh.environment` (`environment`) and
    /// `wdh.environment_locked` (`locked`), each `None` when not set.
    ///
    /// The environment is read as [`Environment::from_str`] reads it; the
    /// lock as PostgreSQL reads a boolean ([`parse_bool`]). What cannot be
    /// read protects as much as the strongest reading, never less: an
    /// unknown environment is judged `production`, an unreadable lock as
    /// locked, and a lock without an environment as a `production` marker
    /// with that lock. Both are reported in the result, so they can be
    /// shown.
    pub fn from_stored(environment: Option<&str>, locked: Option<&str>) -> StoredMarker {
        let mut stored = StoredMarker::default();
        let locked = match locked {
            None => false,
            Some(value) => parse_bool(value).unwrap_or_else(|| {
                stored.unreadable_lock = Some(value.to_owned());
                true
            }),
        };
        let environment = match environment {
            Some(value) => value.parse().unwrap_or_else(|_| {
                stored.unknown_environment = Some(value.to_owned());
                Environment::Production
            }),
            None if stored.unreadable_lock.is_some() || locked => {
                stored.unknown_environment = Some(String::new());
                Environment::Production
            }
            None => return stored,
        };
        stored.marker = Some(Marker {
            environment,
            locked,
        });
        stored
    }
}

/// Reads a boolean as PostgreSQL's `parse_bool` does: `true`, `false`,
/// `yes`, `no` and any prefix of them (`t`, `f`, `y`, `n`, `tr`, ...), `on`,
/// `off` and `of`, `1` and `0`, ignoring ASCII case and surrounding
/// whitespace. `None` for anything else (`o` alone is ambiguous, so it is
/// not a boolean either).
pub fn parse_bool(value: &str) -> Option<bool> {
    let v = value.trim().to_ascii_lowercase();
    let prefix_of = |word: &str| !v.is_empty() && word.starts_with(v.as_str());
    match v.as_str() {
        "1" | "on" => Some(true),
        "0" | "of" | "off" => Some(false),
        _ if prefix_of("true") || prefix_of("yes") => Some(true),
        _ if prefix_of("false") || prefix_of("no") => Some(false),
        _ => None,
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
        /// Where the policy's safe words come from.
        from: RuleSource,
    },
    /// The name starts with a safe prefix.
    Prefix {
        /// The safe prefix, as written in the policy.
        prefix: String,
        /// Where the policy's safe prefixes come from.
        from: RuleSource,
    },
}

impl SafeReason {
    /// Where the rule that made the database safe comes from.
    pub fn from(&self) -> &RuleSource {
        match self {
            SafeReason::Word { from, .. } | SafeReason::Prefix { from, .. } => from,
        }
    }

    /// `the word `test`` or `the prefix `ci_``.
    pub(super) fn rule(&self) -> String {
        match self {
            SafeReason::Word { word, .. } => format!("the word `{word}`"),
            SafeReason::Prefix { prefix, .. } => format!("the prefix `{prefix}`"),
        }
    }
}

impl fmt::Display for SafeReason {
    /// `its name contains the word `test``, followed by where the rule
    /// comes from when it is not built in.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SafeReason::Word { word, .. } => write!(f, "its name contains the word `{word}`")?,
            SafeReason::Prefix { prefix, .. } => write!(f, "its name has the prefix `{prefix}`")?,
        }
        if self.from().is_configured() {
            write!(f, " ({})", self.from())?;
        }
        Ok(())
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
        /// Where the safe words come from.
        words_from: RuleSource,
        /// Where the safe prefixes come from.
        prefixes_from: RuleSource,
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
        /// Where the safe words come from.
        words_from: RuleSource,
        /// Where the safe prefixes come from.
        prefixes_from: RuleSource,
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
                words_from,
                prefixes_from,
            } => write_no_match(f, (safe_words, words_from), (safe_prefixes, prefixes_from)),
            ProtectedReason::NameNotSafeDespiteMarker {
                environment,
                safe_words,
                safe_prefixes,
                words_from,
                prefixes_from,
            } => {
                write_no_match(f, (safe_words, words_from), (safe_prefixes, prefixes_from))?;
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
    words: (&[String], &RuleSource),
    prefixes: (&[String], &RuleSource),
) -> fmt::Result {
    write!(
        f,
        "its name matches no safe word or prefix (safe words: {}; prefixes: {})",
        list_or_none(words),
        list_or_none(prefixes)
    )
}

/// The list, then where it comes from unless it is built in.
fn list_or_none((items, from): (&[String], &RuleSource)) -> String {
    let mut text = if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    };
    if from.is_configured() {
        text.push_str(&format!(" ({from})"));
    }
    text
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
            return Classification::Safe(SafeReason::Word {
                word: safe.clone(),
                from: policy.words_from.clone(),
            });
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
            from: policy.prefixes_from.clone(),
        });
    }
    Classification::Protected(ProtectedReason::NameNotSafe {
        safe_words: policy.safe_words.clone(),
        safe_prefixes: policy.safe_prefixes.clone(),
        words_from: policy.words_from.clone(),
        prefixes_from: policy.prefixes_from.clone(),
    })
}

/// Classifies a database by its name and, if known, the marker on the
/// server. See the table in the [module documentation](crate::guard).
pub fn classify(database: &str, marker: Option<&Marker>, policy: &SafetyPolicy) -> Classification {
    match marker {
        Some(marker) if marker.environment.rank() > Environment::Test.rank() => {
            Classification::Protected(ProtectedReason::Marked { marker: *marker })
        }
        Some(marker) => match classify_name(database, policy) {
            Classification::Protected(ProtectedReason::NameNotSafe {
                safe_words,
                safe_prefixes,
                words_from,
                prefixes_from,
            }) => Classification::Protected(ProtectedReason::NameNotSafeDespiteMarker {
                environment: marker.environment,
                safe_words,
                safe_prefixes,
                words_from,
                prefixes_from,
            }),
            other => other,
        },
        None => classify_name(database, policy),
    }
}
