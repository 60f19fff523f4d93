//! The dbmate layout: one `<version>_<name>.sql` file per migration, its
//! scripts in sections (`-- migrate:up`, `-- migrate:down`).
//!
//! As dbmate reads them (amacneil/dbmate `pkg/dbmate/migration.go`): a
//! section starts at a line matching `^--\s*migrate:up` (or `down`),
//! followed by options such as `transaction:false` (that direction runs
//! outside a transaction); the up section comes first, SQL before it is an
//! error. One up and one down section per file (several `migrate:up`
//! blocks in one file are refused). A file without a down section is
//! irreversible here.
//!
//! The version is the leading run of digits (`^(\d+).*\.sql$`, dbmate's
//! `migrationFileRegexp`), recorded as written; dbmate orders migrations by
//! **file name** and records versions as text, so versions compare as
//! text here, and a set in which the two orders differ (`1_a.sql` and
//! `10_b.sql`) is refused.

#[cfg(test)]
mod tests;

use std::path::Path;

use super::sectioned::{self, one_file, Collector};
use super::sections::{Dialect, Line};
use super::{Collect, NewFile, Rules};
use crate::migrations::version::KeyPart;
use crate::migrations::{LoadError, Version};

/// The dbmate layout.
pub(crate) struct Dbmate;

/// The direction and options of a dbmate section marker line.
fn marker(line: &str) -> Option<Line> {
    let rest = line.strip_prefix("--")?.trim_start();
    let rest = rest.strip_prefix("migrate:")?;
    let (up, options) = if let Some(o) = rest.strip_prefix("up") {
        (true, o)
    } else {
        (false, rest.strip_prefix("down")?)
    };
    // `(\s*$|\s+\S+)`: the marker ends, or white space and options follow.
    if !(options.trim().is_empty() || options.starts_with(char::is_whitespace)) {
        return None;
    }
    let no_transaction = options
        .split_whitespace()
        .filter_map(|pair| pair.split_once(':'))
        .any(|(k, v)| k == "transaction" && v == "false");
    Some(if up {
        Line::Up { no_transaction }
    } else {
        Line::Down { no_transaction }
    })
}

impl Dialect for Dbmate {
    fn tool(&self) -> &'static str {
        "dbmate"
    }

    fn classify(&self, line: &str) -> Result<Line, String> {
        Ok(marker(line).unwrap_or(Line::Plain))
    }

    fn up_marker(&self) -> &'static str {
        "-- migrate:up"
    }

    fn single_sections(&self) -> bool {
        true
    }

    fn refuses_text_before_up(&self) -> bool {
        true
    }
}

impl sectioned::Layout for Dbmate {
    fn sniff(&self, text: &str) -> bool {
        text.lines().any(|l| marker(l).is_some())
    }

    fn split_name<'a>(&self, name: &'a str) -> Result<(&'a str, &'a str), String> {
        let stem = name.strip_suffix(".sql").unwrap_or(name);
        let end = stem
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(stem.len());
        if end == 0 {
            return Err("does not start with a version (dbmate ignores such files)".to_string());
        }
        let (version, rest) = stem.split_at(end);
        Ok((version, rest.strip_prefix('_').unwrap_or(rest)))
    }

    fn form(&self) -> &'static str {
        "dbmate migrations are named `<version>_<name>.sql`, e.g. `20240102150405_create_users.sql`"
    }

    fn check_order(&self, root: &Path, sorted: &[(Version, String)]) -> Result<(), LoadError> {
        let mut by_name: Vec<&(Version, String)> = sorted.iter().collect();
        by_name.sort_by(|a, b| a.1.cmp(&b.1));
        match sorted.iter().zip(&by_name).find(|(a, b)| a.1 != b.1) {
            None => Ok(()),
            Some((by_version, first_by_name)) => Err(LoadError::MalformedName {
                path: root.join(&first_by_name.1),
                problem: format!(
                    "dbmate runs it before {} (by file name), but its version sorts after; give \
                     the versions one length (dbmate's timestamps do)",
                    by_version.1
                ),
            }),
        }
    }
}

impl Rules for Dbmate {
    fn parse_version(&self, raw: &str) -> Option<Version> {
        sectioned::digits_version(raw, |r| KeyPart::Text(r.to_string()))
    }

    fn collector(&self) -> Box<dyn Collect> {
        Box::new(Collector::new(&Dbmate))
    }

    fn new_files(&self, version: &str, slug: &str, up: &str, down: &str) -> Vec<NewFile> {
        one_file(
            format!("{version}_{slug}.sql"),
            format!("-- migrate:up\n{up}\n-- migrate:down\n{down}"),
        )
    }
}
