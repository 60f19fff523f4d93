//! The sql-migrate layout: one `.sql` file per migration, its scripts in
//! sections (`-- +migrate Up`, `-- +migrate Down`).
//!
//! As sql-migrate reads them (rubenv/sql-migrate `sqlparse/sqlparse.go`):
//! commands are lines starting with exactly `-- +migrate ` (case-sensitive):
//! `Up` and `Down`, each with an optional `notransaction` (that direction
//! runs outside a transaction), and `StatementBegin` … `StatementEnd` (an
//! explicit statement, kept whole). Sections may repeat; lines before the
//! first one are ignored, as in sql-migrate; unknown commands are ignored
//! too.
//!
//! sql-migrate names a migration by its file name and orders files by the
//! number they start with (`migrate.go`, `Migration.Less`), then by name.
//! Here the version is that number, compared **as an integer** (leading
//! zeros ignored); the name is the rest of the file name after one `_` or
//! `-`, without `.sql`. A file that starts with no number is refused (it
//! has no version), and two files starting with the same number are a
//! duplicate version.

#[cfg(test)]
mod tests;

use super::sectioned::{self, one_file, Collector};
use super::sections::{Dialect, Line};
use super::{Collect, NewFile, Rules};
use crate::migrations::version::KeyPart;
use crate::migrations::Version;

/// sql-migrate's command prefix.
const PREFIX: &str = "-- +migrate ";

/// The sql-migrate layout.
pub(crate) struct SqlMigrate;

impl Dialect for SqlMigrate {
    fn tool(&self) -> &'static str {
        "sql-migrate"
    }

    fn classify(&self, line: &str) -> Result<Line, String> {
        let Some(rest) = line.strip_prefix(PREFIX) else {
            return Ok(Line::Plain);
        };
        let mut fields = rest.split_whitespace();
        let Some(command) = fields.next() else {
            return Err("an incomplete `-- +migrate` command".to_string());
        };
        let no_transaction = fields.any(|f| f == "notransaction");
        Ok(match command {
            "Up" => Line::Up { no_transaction },
            "Down" => Line::Down { no_transaction },
            "StatementBegin" => Line::Begin,
            "StatementEnd" => Line::End,
            _ => Line::Plain,
        })
    }

    fn up_marker(&self) -> &'static str {
        "-- +migrate Up"
    }

    fn single_sections(&self) -> bool {
        false
    }

    fn refuses_text_before_up(&self) -> bool {
        false
    }
}

impl sectioned::Layout for SqlMigrate {
    fn sniff(&self, text: &str) -> bool {
        text.lines()
            .any(|l| matches!(self.classify(l), Ok(Line::Up { .. } | Line::Down { .. })))
    }

    fn split_name<'a>(&self, name: &'a str) -> Result<(&'a str, &'a str), String> {
        let stem = name.strip_suffix(".sql").unwrap_or(name);
        let end = stem
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(stem.len());
        if end == 0 {
            return Err(
                "does not start with a number (sql-migrate runs such files after the \
                        numbered ones, by name; wdh-migrate needs a version)"
                    .to_string(),
            );
        }
        let (version, rest) = stem.split_at(end);
        let rest = rest
            .strip_prefix('_')
            .or_else(|| rest.strip_prefix('-'))
            .unwrap_or(rest);
        Ok((version, rest))
    }

    fn form(&self) -> &'static str {
        "sql-migrate migrations are named `<number>-<name>.sql` or `<number>_<name>.sql`, \
         e.g. `20240102150405-create_users.sql`"
    }
}

impl Rules for SqlMigrate {
    fn parse_version(&self, raw: &str) -> Option<Version> {
        sectioned::digits_version(raw, KeyPart::number)
    }

    fn collector(&self) -> Box<dyn Collect> {
        Box::new(Collector::new(&SqlMigrate))
    }

    fn new_files(&self, version: &str, slug: &str, up: &str, down: &str) -> Vec<NewFile> {
        // `sql-migrate new` names its files `<timestamp>-<name>.sql`.
        one_file(
            format!("{version}-{slug}.sql"),
            format!("-- +migrate Up\n{up}\n-- +migrate Down\n{down}"),
        )
    }
}
