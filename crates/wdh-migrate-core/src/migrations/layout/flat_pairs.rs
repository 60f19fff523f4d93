//! The flat-pairs layout (sqlx, golang-migrate): `<version>_<name>.up.sql`
//! and `<version>_<name>.down.sql` side by side.
//!
//! The version is the leading run of digits and dashes (it must start with a
//! digit) before the first `_`; the name is everything after that `_`, and
//! an up and a down file with the same version must have the same name. The
//! normalized version is the digits alone. Like sqlx and golang-migrate,
//! versions are compared **as integers**, so `9` comes before `10`; leading
//! zeros are ignored (`0001` and `1` are the same version) and the
//! comparison is done on the digits (length, then text), so any length of
//! version works without overflow.
//!
//! A down file without an up file is an error. At the top of the directory,
//! a file that is not a `.sql` file, or a `.sql` file whose name does not
//! start with a version (a `seed.sql`), is reported as ignored; a versioned
//! `.sql` file that is neither `.up.sql` nor `.down.sql` is an error.

#[cfg(test)]
mod tests;

use std::collections::btree_map::Entry as MapEntry;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use wdh_migrate_layout::flat_pairs::{split, Side};
use wdh_migrate_layout::looks_versioned;

use super::naming::{digits_and_dashes, split_version, version};
use super::{Collect, Entry, NewFile, Offer, Rules};
use crate::migrations::script::{down_of, parse_script};
use crate::migrations::version::KeyPart;
use crate::migrations::{IgnoredFile, LoadError, Migration, Version};

const FLAT_FORM: &str = "flat migrations are named `<version>_<name>.up.sql` and \
     `<version>_<name>.down.sql`, e.g. `0001_create_users.up.sql`";

/// The flat-pairs layout's rules.
pub(crate) struct FlatPairs;

impl Rules for FlatPairs {
    fn parse_version(&self, raw: &str) -> Option<Version> {
        let normalized = digits_and_dashes(raw)?;
        let key = vec![KeyPart::number(&normalized)];
        Some(Version::new(raw, normalized, key))
    }

    fn collector(&self) -> Box<dyn Collect> {
        Box::new(Collector::default())
    }

    fn new_files(&self, version: &str, slug: &str, up: &str, down: &str) -> Vec<NewFile> {
        vec![
            NewFile {
                path: PathBuf::from(format!("{version}_{slug}.up.sql")),
                text: up.to_owned(),
            },
            NewFile {
                path: PathBuf::from(format!("{version}_{slug}.down.sql")),
                text: down.to_owned(),
            },
        ]
    }
}

/// A top-level `.up.sql` or `.down.sql` file.
struct Flat {
    rel: String,
    version: Version,
    name: String,
    bytes: Vec<u8>,
}

/// The flat files of one listing.
#[derive(Default)]
struct Collector {
    ups: Vec<Flat>,
    downs: Vec<Flat>,
}

impl Collect for Collector {
    fn offer(&mut self, root: &Path, entry: Entry) -> Result<Offer, LoadError> {
        let [name] = entry.parts.as_slice() else {
            return Ok(Offer::NotMine(entry));
        };
        if entry.is_dir {
            return Ok(Offer::NotMine(entry));
        }
        let Some((stem, side)) = split(name) else {
            let reason = if !name.to_ascii_lowercase().ends_with(".sql") {
                "not a .sql file"
            } else if looks_versioned(name) {
                return Err(LoadError::MalformedName {
                    path: root.join(name),
                    problem: "is neither an `.up.sql` nor a `.down.sql` file, and holds no \
                              section marker (`-- +goose Up`, `-- +migrate Up`, \
                              `-- migrate:up`); name it `<version>_<name>.up.sql` (with a \
                              matching `.down.sql`), move it to `<version>_<name>/up.sql`, or \
                              mark its sections"
                        .to_string(),
                });
            } else {
                "no version at the start of its name, so it is not a migration"
            };
            return Ok(Offer::Ignored(IgnoredFile {
                path: PathBuf::from(name),
                reason: reason.to_string(),
            }));
        };
        let path = root.join(name);
        let (raw, migration_name) =
            split_version(stem).map_err(|problem| LoadError::MalformedName {
                path: path.clone(),
                problem: format!("its name {problem}; {FLAT_FORM}"),
            })?;
        let flat = Flat {
            rel: name.to_string(),
            version: version(&FlatPairs, raw, &path, FLAT_FORM)?,
            name: migration_name.to_string(),
            bytes: entry.bytes,
        };
        match side {
            Side::Up => self.ups.push(flat),
            Side::Down => self.downs.push(flat),
        }
        Ok(Offer::Taken)
    }

    fn example(&self) -> Option<&str> {
        self.ups
            .first()
            .or(self.downs.first())
            .map(|f| f.rel.as_str())
    }

    fn build(self: Box<Self>, root: &Path) -> Result<Vec<Migration>, LoadError> {
        let mut groups: BTreeMap<Version, (Option<Flat>, Option<Flat>)> = BTreeMap::new();
        for (is_up, flat) in self
            .ups
            .into_iter()
            .map(|f| (true, f))
            .chain(self.downs.into_iter().map(|f| (false, f)))
        {
            let slots = match groups.entry(flat.version.clone()) {
                MapEntry::Vacant(v) => v.insert((None, None)),
                MapEntry::Occupied(o) => o.into_mut(),
            };
            let slot = if is_up { &mut slots.0 } else { &mut slots.1 };
            if let Some(first) = slot {
                return Err(LoadError::DuplicateVersion {
                    version: flat.version.normalized().to_string(),
                    first: root.join(&first.rel),
                    second: root.join(&flat.rel),
                });
            }
            *slot = Some(flat);
        }
        let mut migrations = Vec::with_capacity(groups.len());
        for (up, down) in groups.into_values() {
            let up = match (up, &down) {
                (Some(up), _) => up,
                (None, Some(down)) => {
                    return Err(LoadError::OrphanDown {
                        path: root.join(&down.rel),
                    })
                }
                (None, None) => continue,
            };
            migrations.push(build_one(root, up, down)?);
        }
        Ok(migrations)
    }
}

/// Builds the migration of an up file and its down file, if any.
fn build_one(root: &Path, up: Flat, down: Option<Flat>) -> Result<Migration, LoadError> {
    if let Some(down) = &down {
        if down.name != up.name {
            return Err(LoadError::PairMismatch {
                up: root.join(&up.rel),
                down: root.join(&down.rel),
            });
        }
    }
    let (up_script, up_irreversible) = parse_script(root, &up.rel, &up.bytes, false)?;
    let (down_script, down_irreversible) = match &down {
        Some(down) => {
            let (script, irreversible) = parse_script(root, &down.rel, &down.bytes, false)?;
            (Some(script), irreversible)
        }
        None => (None, false),
    };
    Ok(Migration {
        version: up.version,
        name: up.name,
        up: up_script,
        down: down_of(down_script, up_irreversible || down_irreversible),
        alembic: None,
    })
}
