//! File names of the Flyway layout: `V<version>__<description>.sql`, its
//! undo `U<version>__<description>.sql`, repeatable `R__<description>.sql`
//! (refused by `wdh-migrate-core`), and a script's configuration file
//! `<script>.sql.conf`, all at the top of the directory.

use crate::FileRules;

/// The separator between a Flyway version and its description.
pub const SEPARATOR: &str = "__";
/// The ending of a Flyway script.
pub const SUFFIX: &str = ".sql";
/// The ending of a Flyway script's configuration file.
pub const CONF_SUFFIX: &str = ".sql.conf";

/// What a Flyway file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `V<version>__<description>.sql`.
    Versioned,
    /// `U<version>__<description>.sql`.
    Undo,
    /// `R__<description>.sql`.
    Repeatable,
}

/// What the top-level file `name` is, with the rest of its name (version,
/// separator and description, without the prefix letter and `.sql`), and
/// whether it is a script's configuration file (`.sql.conf`). `None` for a
/// name that is not Flyway's (a prefix letter followed by a digit, or
/// `R__`).
pub fn split(name: &str) -> Option<(Kind, &str, bool)> {
    let (stem, conf) = match name.strip_suffix(CONF_SUFFIX) {
        Some(stem) => (stem, true),
        None => (name.strip_suffix(SUFFIX)?, false),
    };
    let mut chars = stem.chars();
    let kind = match chars.next()? {
        'V' => Kind::Versioned,
        'U' => Kind::Undo,
        'R' if stem.starts_with("R__") => return Some((Kind::Repeatable, &stem[1..], conf)),
        _ => return None,
    };
    let rest = chars.as_str();
    rest.starts_with(|c: char| c.is_ascii_digit())
        .then_some((kind, rest, conf))
}

/// The Flyway layout's [`FileRules`].
#[derive(Debug, Clone, Copy)]
pub struct Flyway;

impl FileRules for Flyway {
    fn lists_folder(&self, _name: &str) -> bool {
        false
    }

    fn reads(&self, parts: &[&str]) -> bool {
        matches!(parts, [name] if split(name).is_some())
    }
}
