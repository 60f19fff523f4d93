//! The Flyway layout: `V<version>__<description>.sql` migrations with
//! their undo scripts `U<version>__<description>.sql`, at the top of the
//! directory.
//!
//! Versions are ordered as Flyway orders them (flyway/flyway
//! `MigrationVersion`): `_` is read as `.`, the parts between dots are
//! compared **as integers**, one by one, a missing part counting as 0 (so
//! `1.2` comes before `1.10`, and `1.0` is `1`). The ledger records the
//! version as Flyway's `flyway_schema_history` does: with `.` for `_`
//! (`V1_1__x.sql` is `1.1`). The name is the description as written.
//!
//! A migration runs in a transaction unless its configuration file
//! `<script>.conf` says `executeInTransaction=false`, or (as Flyway's
//! PostgreSQL parser decides) every statement in it is one PostgreSQL
//! refuses inside a transaction (`CREATE INDEX CONCURRENTLY`, `VACUUM`,
//! `ALTER SYSTEM`, …); a script that mixes those with other statements is
//! refused, as Flyway refuses it. Repeatable `R__` migrations and Flyway
//! placeholders (`${name}`, which Flyway replaces before running) are
//! refused with what to do instead.

#[cfg(test)]
mod tests;

use std::collections::btree_map::Entry as MapEntry;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use wdh_migrate_layout::flyway::{split, Kind, SEPARATOR};

use super::naming::version;
use super::{Collect, Entry, NewFile, Offer, Rules};
use crate::migrations::script::{decode, down_of, parse_script};
use crate::migrations::version::KeyPart;
use crate::migrations::{LoadError, Migration, Script, Version};
use crate::sql;

const FLYWAY_FORM: &str = "Flyway migrations are named `V<version>__<description>.sql` (undo: \
     `U<version>__<description>.sql`), e.g. `V1_2__add_users.sql`";

/// The Flyway layout's rules.
pub(crate) struct Flyway;

impl Rules for Flyway {
    fn parse_version(&self, raw: &str) -> Option<Version> {
        let dotted = raw.replace('_', ".");
        let mut key: Vec<KeyPart> = Vec::new();
        for part in dotted.split('.') {
            if part.is_empty() || !part.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            key.push(KeyPart::number(part));
        }
        // Trailing zero parts do not count: `1.0` is `1`.
        while key.len() > 1 && key.last() == Some(&KeyPart::number("0")) {
            key.pop();
        }
        Some(Version::new(raw, dotted, key))
    }

    fn collector(&self) -> Box<dyn Collect> {
        Box::new(Collector::default())
    }

    fn new_files(&self, version: &str, slug: &str, up: &str, down: &str) -> Vec<NewFile> {
        vec![
            NewFile {
                path: PathBuf::from(format!("V{version}__{slug}.sql")),
                text: up.to_owned(),
            },
            NewFile {
                path: PathBuf::from(format!("U{version}__{slug}.sql")),
                text: down.to_owned(),
            },
        ]
    }
}

/// A `V` or `U` script.
struct File {
    rel: String,
    version: Version,
    name: String,
    bytes: Vec<u8>,
}

/// The Flyway files of one listing.
#[derive(Default)]
struct Collector {
    ups: Vec<File>,
    undos: Vec<File>,
    confs: BTreeMap<String, Vec<u8>>,
}

impl Collect for Collector {
    fn offer(&mut self, root: &Path, entry: Entry) -> Result<Offer, LoadError> {
        let [name] = entry.parts.as_slice() else {
            return Ok(Offer::NotMine(entry));
        };
        if entry.is_dir {
            return Ok(Offer::NotMine(entry));
        }
        let Some((kind, rest, conf)) = split(name) else {
            return Ok(Offer::NotMine(entry));
        };
        let path = root.join(name);
        if kind == Kind::Repeatable {
            return Err(LoadError::Repeatable { path });
        }
        if conf {
            let script = name.strip_suffix(".conf").unwrap_or(name).to_string();
            self.confs.insert(script, entry.bytes);
            return Ok(Offer::Taken);
        }
        let Some((raw, description)) = rest.split_once(SEPARATOR) else {
            return Err(LoadError::MalformedName {
                path,
                problem: format!(
                    "has no `{SEPARATOR}` between its version and its description; {FLYWAY_FORM}"
                ),
            });
        };
        let file = File {
            rel: name.clone(),
            version: version(&Flyway, raw, &path, FLYWAY_FORM)?,
            name: description.to_string(),
            bytes: entry.bytes,
        };
        match kind {
            Kind::Versioned => self.ups.push(file),
            _ => self.undos.push(file),
        }
        Ok(Offer::Taken)
    }

    fn example(&self) -> Option<&str> {
        self.ups
            .first()
            .or(self.undos.first())
            .map(|f| f.rel.as_str())
    }

    fn build(self: Box<Self>, root: &Path) -> Result<Vec<Migration>, LoadError> {
        let Collector { ups, undos, confs } = *self;
        for script in confs.keys() {
            if !ups.iter().chain(&undos).any(|f| &f.rel == script) {
                return Err(LoadError::Metadata {
                    path: root.join(format!("{script}.conf")),
                    problem: format!("configures {script}, which is not in the directory"),
                });
            }
        }
        let mut groups: BTreeMap<Version, (Option<File>, Option<File>)> = BTreeMap::new();
        for (is_up, file) in ups
            .into_iter()
            .map(|f| (true, f))
            .chain(undos.into_iter().map(|f| (false, f)))
        {
            let slots = match groups.entry(file.version.clone()) {
                MapEntry::Vacant(v) => v.insert((None, None)),
                MapEntry::Occupied(o) => o.into_mut(),
            };
            let slot = if is_up { &mut slots.0 } else { &mut slots.1 };
            if let Some(first) = slot {
                return Err(LoadError::DuplicateVersion {
                    version: file.version.normalized().to_string(),
                    first: root.join(&first.rel),
                    second: root.join(&file.rel),
                });
            }
            *slot = Some(file);
        }
        let mut migrations = Vec::with_capacity(groups.len());
        for (up, undo) in groups.into_values() {
            let Some(up) = up else {
                let undo = undo.map(|u| u.rel).unwrap_or_default();
                return Err(LoadError::MalformedName {
                    path: root.join(&undo),
                    problem: "is an undo script with no `V` script of the same version; add the \
                              migration, or remove the undo script"
                        .to_string(),
                });
            };
            let (up_script, up_irreversible) = script(root, &up, &confs)?;
            let (down, down_irreversible) = match &undo {
                Some(undo) => {
                    let (s, irreversible) = script(root, undo, &confs)?;
                    (Some(s), irreversible)
                }
                None => (None, false),
            };
            migrations.push(Migration {
                version: up.version,
                name: up.name,
                up: up_script,
                down: down_of(down, up_irreversible || down_irreversible),
                alembic: None,
            });
        }
        Ok(migrations)
    }
}

/// Parses one script with its configuration file, if any: whether it runs
/// in a transaction, as Flyway decides.
fn script(
    root: &Path,
    file: &File,
    confs: &BTreeMap<String, Vec<u8>>,
) -> Result<(Script, bool), LoadError> {
    let path = root.join(&file.rel);
    let no_transaction = match confs.get(&file.rel) {
        Some(bytes) => parse_conf(&root.join(format!("{}.conf", file.rel)), bytes)?,
        None => false,
    };
    let text = decode(&path, &file.bytes)?;
    if let Some((line, name)) = placeholder(text) {
        return Err(LoadError::Directive {
            path,
            line,
            problem: format!(
                "holds the Flyway placeholder `${{{name}}}`, which Flyway replaces before it runs \
                 the script; wdh-migrate runs the text as written: write the value in"
            ),
        });
    }
    let parsed = parse_script(root, &file.rel, &file.bytes, no_transaction)?;
    if parsed.0.no_transaction {
        return Ok(parsed);
    }
    let statements = sql::outside_transaction(text);
    let outside = statements.iter().filter(|(_, out)| *out).count();
    if outside == 0 {
        return Ok(parsed);
    }
    if outside < statements.len() {
        let at = statements
            .iter()
            .find(|(_, out)| *out)
            .map_or(0, |(at, _)| *at);
        return Err(LoadError::Directive {
            path,
            line: sql::line_of_byte(text, at),
            problem: "mixes a statement PostgreSQL runs only outside a transaction with others \
                      (Flyway refuses that too, unless `mixed` is set); move it to a migration of \
                      its own, or put `-- wdh:no-transaction` at the top of the file to run every \
                      statement on its own"
                .to_string(),
        });
    }
    // Every statement must run outside a transaction: Flyway runs the
    // script without one.
    parse_script(root, &file.rel, &file.bytes, true)
}

/// The first Flyway placeholder (`${name}`) in `text`: its line and name.
fn placeholder(text: &str) -> Option<(usize, &str)> {
    let mut from = 0;
    while let Some(i) = text[from..].find("${") {
        let start = from + i;
        let rest = &text[start + 2..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '.' | '-')))
            .unwrap_or(rest.len());
        if end > 0 && rest[end..].starts_with('}') {
            return Some((sql::line_of_byte(text, start), &rest[..end]));
        }
        from = start + 2;
    }
    None
}

/// Reads a script configuration file (`executeInTransaction=false`);
/// returns true if the script runs outside a transaction.
fn parse_conf(path: &Path, bytes: &[u8]) -> Result<bool, LoadError> {
    let text = decode(path, bytes)?;
    let problem = |line: usize, problem: String| LoadError::Metadata {
        path: path.to_path_buf(),
        problem: format!("line {line}: {problem}"),
    };
    let mut no_transaction = false;
    for (idx, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let Some((key, value)) = line.split_once(['=', ':']) else {
            return Err(problem(idx + 1, format!("`{line}` is not `key=value`")));
        };
        let (key, value) = (key.trim(), value.trim());
        match key {
            "executeInTransaction" => match value {
                "true" => no_transaction = false,
                "false" => no_transaction = true,
                _ => {
                    return Err(problem(
                        idx + 1,
                        "`executeInTransaction` must be `true` or `false`".to_string(),
                    ))
                }
            },
            "encoding" if value.eq_ignore_ascii_case("UTF-8") => {}
            "encoding" => {
                return Err(problem(
                    idx + 1,
                    format!("encoding `{value}`: scripts are read as UTF-8; convert the script"),
                ))
            }
            other => {
                return Err(problem(
                    idx + 1,
                    format!("unknown key `{other}`; the keys read are `executeInTransaction` and `encoding`"),
                ))
            }
        }
    }
    Ok(no_transaction)
}
