//! The goose layout: one `<version>_<name>.sql` file per migration, its
//! scripts in sections (`-- +goose Up`, `-- +goose Down`).
//!
//! As goose reads them (pressly/goose `internal/sqlparser/parser.go`):
//! annotations are `--` comment lines holding `+goose`, without leading
//! white space, matched case-insensitively: `Up`, `Down` (optional, after
//! `Up`), `StatementBegin` … `StatementEnd` (an explicit statement, kept
//! whole), and `NO TRANSACTION` anywhere in the file (both directions run
//! outside a transaction). SQL before `Up` is an error, as in goose.
//! `ENVSUB ON` is refused: goose substitutes environment variables into the
//! SQL as it runs, so the text that runs would not be the text checksummed.
//!
//! The version is the integer before the first `_` (goose's
//! `NumericComponent`: at least 1), compared **as an integer**, as goose
//! orders migrations; leading zeros are ignored (`00001` is `1`, as goose's
//! `goose_db_version` records it). Outside explicit statements, the
//! server's parser splits the statements of a no-transaction section.

#[cfg(test)]
mod tests;

use super::sectioned::{self, one_file, Collector};
use super::sections::{Dialect, Line};
use super::{Collect, NewFile, Rules};
use crate::migrations::version::KeyPart;
use crate::migrations::Version;

/// The goose layout.
pub(crate) struct Goose;

/// What a goose annotation line says, as goose's `extractAnnotation` reads
/// it.
fn annotation(line: &str) -> Option<Result<Line, String>> {
    if !(line.trim_start().starts_with("--") && line.contains("+goose")) {
        return None;
    }
    if line.starts_with([' ', '\t']) {
        return Some(Err(
            "a goose annotation with leading white space (goose refuses it); remove the white space"
                .to_string(),
        ));
    }
    let cmd = line.replace("--", "");
    let cmd = cmd.replacen("+goose", "", 1);
    if cmd.contains("+goose") {
        return Some(Err("two `+goose` annotations on one line".to_string()));
    }
    let cmd = cmd.trim();
    let is = |want: &str| cmd.eq_ignore_ascii_case(want);
    Some(if is("Up") {
        Ok(Line::Up {
            no_transaction: false,
        })
    } else if is("Down") {
        Ok(Line::Down {
            no_transaction: false,
        })
    } else if is("StatementBegin") {
        Ok(Line::Begin)
    } else if is("StatementEnd") {
        Ok(Line::End)
    } else if is("NO TRANSACTION") {
        Ok(Line::FileNoTransaction)
    } else if is("ENVSUB ON") {
        Err("`-- +goose ENVSUB ON` is refused: goose substitutes environment variables into the SQL \
             when it runs, so the text that runs is not the text checksummed; write the values into \
             the file"
            .to_string())
    } else if is("ENVSUB OFF") {
        Ok(Line::Plain)
    } else {
        Err(format!(
            "unknown goose annotation `{cmd}`; goose knows Up, Down, StatementBegin, StatementEnd, \
             NO TRANSACTION and ENVSUB"
        ))
    })
}

impl Dialect for Goose {
    fn tool(&self) -> &'static str {
        "goose"
    }

    fn classify(&self, line: &str) -> Result<Line, String> {
        annotation(line).unwrap_or(Ok(Line::Plain))
    }

    fn up_marker(&self) -> &'static str {
        "-- +goose Up"
    }

    fn single_sections(&self) -> bool {
        true
    }

    fn refuses_text_before_up(&self) -> bool {
        true
    }
}

impl sectioned::Layout for Goose {
    fn sniff(&self, text: &str) -> bool {
        text.lines()
            .any(|l| matches!(annotation(l), Some(Ok(Line::Up { .. } | Line::Down { .. }))))
    }

    fn split_name<'a>(&self, name: &'a str) -> Result<(&'a str, &'a str), String> {
        let stem = name.strip_suffix(".sql").unwrap_or(name);
        let Some((version, rest)) = stem.split_once('_') else {
            return Err("has no `_` after the version".to_string());
        };
        if version.is_empty() || !version.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!("does not start with a number (`{version}`)"));
        }
        if version.trim_start_matches('0').is_empty() {
            return Err("has version 0 (goose versions start at 1)".to_string());
        }
        Ok((version, rest))
    }

    fn form(&self) -> &'static str {
        "goose migrations are named `<version>_<name>.sql`, e.g. `00001_create_users.sql`"
    }
}

impl Rules for Goose {
    fn parse_version(&self, raw: &str) -> Option<Version> {
        sectioned::digits_version(raw, KeyPart::number)
    }

    fn collector(&self) -> Box<dyn Collect> {
        Box::new(Collector::new(&Goose))
    }

    fn new_files(&self, version: &str, slug: &str, up: &str, down: &str) -> Vec<NewFile> {
        one_file(
            format!("{version}_{slug}.sql"),
            format!("-- +goose Up\n{up}\n-- +goose Down\n{down}"),
        )
    }
}
