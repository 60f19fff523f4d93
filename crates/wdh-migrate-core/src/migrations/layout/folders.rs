//! The folder layout (Diesel): one folder per migration.
//!
//! A migration is a folder `<version>_<name>/` holding `up.sql` and
//! optionally `down.sql`, for example `2017-01-20-174200_create_users/` or
//! `0007_add_index/`. Folder names may contain spaces. An optional Diesel
//! `metadata.toml` containing `run_in_transaction = false` makes both
//! scripts run outside a transaction. Its `[alembic]` table records the
//! Alembic revision a migration was converted from (`revision = "<id>"`,
//! written by `wdh-migrate import alembic`, with the revision's
//! `down_revision` list); any other key is an error.
//!
//! The version is the leading run of digits and dashes (it must start with a
//! digit) before the first `_`; the name is everything after that `_`.
//! Dashes are ignored: the normalized version is the digits alone
//! (`2017-01-20-174200` becomes `20170120174200`). Like Diesel, versions are
//! compared **as text**: real Diesel sets mix 14-digit (`20170831...`) and
//! 18-digit (`2025-11-19-091444-0000`) versions, and text order keeps them
//! chronological.
//!
//! A folder whose name does not start with a digit is reported as ignored
//! without being read; so are extra files and folders inside a migration
//! folder. A versioned folder without `up.sql` is an error.

#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use wdh_migrate_layout::folders::{self as files, FolderFile};

use super::naming::{digits_and_dashes, split_version, version};
use super::{Collect, Entry, NewFile, Offer, Rules};
use crate::migrations::script::{decode, down_of, parse_script};
use crate::migrations::version::KeyPart;
use crate::migrations::{AlembicRevision, IgnoredFile, LoadError, Migration, Version};
use crate::sql;

const FOLDER_FORM: &str = "migration folders are named `<version>_<name>`, \
     e.g. `0001_create_users` or `2017-01-20-174200_create_users`";

/// The folder layout's rules.
pub(crate) struct Folders;

impl Rules for Folders {
    fn parse_version(&self, raw: &str) -> Option<Version> {
        let normalized = digits_and_dashes(raw)?;
        let key = vec![KeyPart::Text(normalized.clone())];
        Some(Version::new(raw, normalized, key))
    }

    fn collector(&self) -> Box<dyn Collect> {
        Box::new(Collector::default())
    }

    fn new_files(&self, version: &str, slug: &str, up: &str, down: &str) -> Vec<NewFile> {
        let folder = PathBuf::from(format!("{version}_{slug}"));
        vec![
            NewFile {
                path: folder.join("up.sql"),
                text: up.to_owned(),
            },
            NewFile {
                path: folder.join("down.sql"),
                text: down.to_owned(),
            },
        ]
    }
}

/// A versioned folder and the files found in it.
struct Folder {
    rel: String,
    version: Version,
    name: String,
    up: Option<Vec<u8>>,
    down: Option<Vec<u8>>,
    metadata: Option<Vec<u8>>,
}

enum FolderState {
    Migration(usize),
    Ignored,
}

/// The folders of one listing.
#[derive(Default)]
struct Collector {
    folders: Vec<Folder>,
    states: HashMap<String, FolderState>,
    ignored_subfolders: BTreeSet<String>,
}

impl Collector {
    /// The state of the top-level folder `top`, seen for the first time:
    /// a new migration, or ignored (with its report).
    fn open(&mut self, root: &Path, top: &str) -> Result<Option<IgnoredFile>, LoadError> {
        if !files::is_migration_folder(top) {
            self.states.insert(top.to_string(), FolderState::Ignored);
            return Ok(Some(IgnoredFile {
                path: PathBuf::from(top),
                reason: "folder name does not start with a version, so it is not a \
                         migration folder; its contents are not read"
                    .to_string(),
            }));
        }
        let path = root.join(top);
        let (raw, name) = split_version(top).map_err(|problem| LoadError::MalformedName {
            path: path.clone(),
            problem: format!("its name {problem}; {FOLDER_FORM}"),
        })?;
        self.folders.push(Folder {
            rel: top.to_string(),
            version: version(&Folders, raw, &path, FOLDER_FORM)?,
            name: name.to_string(),
            up: None,
            down: None,
            metadata: None,
        });
        let idx = self.folders.len() - 1;
        self.states
            .insert(top.to_string(), FolderState::Migration(idx));
        Ok(None)
    }
}

impl Collect for Collector {
    fn offer(&mut self, root: &Path, entry: Entry) -> Result<Offer, LoadError> {
        if entry.parts.len() == 1 && !entry.is_dir {
            return Ok(Offer::NotMine(entry));
        }
        let top = entry.parts[0].as_str();
        if !self.states.contains_key(top) {
            if let Some(report) = self.open(root, top)? {
                return Ok(Offer::Ignored(report));
            }
        }
        let Some(FolderState::Migration(idx)) = self.states.get(top) else {
            return Ok(Offer::Covered);
        };
        let folder = &mut self.folders[*idx];
        match entry.parts.as_slice() {
            [_, file] if !entry.is_dir => {
                let slot = match files::file(file) {
                    Some(FolderFile::Up) => &mut folder.up,
                    Some(FolderFile::Down) => &mut folder.down,
                    Some(FolderFile::Metadata) => &mut folder.metadata,
                    None => {
                        return Ok(Offer::Ignored(IgnoredFile {
                            path: PathBuf::from(format!("{top}/{file}")),
                            reason: "not part of the migration: a migration folder holds \
                                     up.sql, down.sql and metadata.toml"
                                .to_string(),
                        }))
                    }
                };
                *slot = Some(entry.bytes);
                Ok(Offer::Taken)
            }
            [_, sub, ..] => {
                let rel = format!("{top}/{sub}");
                if !self.ignored_subfolders.insert(rel.clone()) {
                    return Ok(Offer::Covered);
                }
                Ok(Offer::Ignored(IgnoredFile {
                    path: PathBuf::from(rel),
                    reason: "folder inside a migration folder; its contents are not read"
                        .to_string(),
                }))
            }
            [_] | [] => Ok(Offer::Taken),
        }
    }

    fn example(&self) -> Option<&str> {
        self.folders.first().map(|f| f.rel.as_str())
    }

    fn build(self: Box<Self>, root: &Path) -> Result<Vec<Migration>, LoadError> {
        let mut folders = self.folders;
        folders.sort_by(|a, b| a.version.cmp(&b.version).then_with(|| a.rel.cmp(&b.rel)));
        for pair in folders.windows(2) {
            if pair[0].version == pair[1].version {
                return Err(LoadError::DuplicateVersion {
                    version: pair[1].version.normalized().to_string(),
                    first: root.join(&pair[0].rel),
                    second: root.join(&pair[1].rel),
                });
            }
        }
        let mut migrations = Vec::with_capacity(folders.len());
        for folder in folders {
            migrations.push(build_one(root, folder)?);
        }
        Ok(migrations)
    }
}

/// Builds the migration of one folder.
fn build_one(root: &Path, folder: Folder) -> Result<Migration, LoadError> {
    let Some(up) = folder.up else {
        return Err(LoadError::MissingUp {
            path: root.join(&folder.rel),
        });
    };
    let metadata = match &folder.metadata {
        Some(bytes) => parse_metadata(root, &format!("{}/{}", folder.rel, files::METADATA), bytes)?,
        None => Metadata::default(),
    };
    let no_transaction = metadata.no_transaction;
    let (up, up_irreversible) = parse_script(
        root,
        &format!("{}/{}", folder.rel, files::UP),
        &up,
        no_transaction,
    )?;
    let (down, down_irreversible) = match &folder.down {
        Some(bytes) => {
            let (script, irreversible) = parse_script(
                root,
                &format!("{}/{}", folder.rel, files::DOWN),
                bytes,
                no_transaction,
            )?;
            (Some(script), irreversible)
        }
        None => (None, false),
    };
    Ok(Migration {
        version: folder.version,
        name: folder.name,
        up,
        down: down_of(down, up_irreversible || down_irreversible),
        alembic: metadata.alembic,
    })
}

/// What a `metadata.toml` says.
#[derive(Debug, Default)]
struct Metadata {
    /// The scripts run outside a transaction (`run_in_transaction = false`).
    no_transaction: bool,
    /// The `[alembic]` table.
    alembic: Option<AlembicRevision>,
}

/// Parses a Diesel `metadata.toml`, with the `[alembic]` table of a
/// converted migration.
fn parse_metadata(root: &Path, rel: &str, bytes: &[u8]) -> Result<Metadata, LoadError> {
    let path = root.join(rel);
    let text = decode(&path, bytes)?;
    let problem = |problem: String| LoadError::Metadata {
        path: path.clone(),
        problem,
    };
    let table: toml::Table = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map_or(1, |span| sql::line_of_byte(text, span.start));
        problem(format!(
            "line {line}: not valid TOML: {}; fix it or remove the file",
            e.message().trim_end()
        ))
    })?;
    let mut metadata = Metadata::default();
    for (key, value) in &table {
        match (key.as_str(), value) {
            ("run_in_transaction", toml::Value::Boolean(b)) => metadata.no_transaction = !b,
            ("run_in_transaction", _) => {
                return Err(problem(
                    "`run_in_transaction` must be `true` or `false`".to_string(),
                ))
            }
            ("alembic", toml::Value::Table(alembic)) => {
                metadata.alembic = Some(alembic_revision(alembic).map_err(problem)?);
            }
            ("alembic", _) => {
                return Err(problem(
                    "`alembic` must be a table (`[alembic]` with `revision = \"<id>\"`)".to_string(),
                ))
            }
            (other, _) => {
                return Err(problem(format!(
                    "unknown key `{other}`; the supported keys are `run_in_transaction` and `[alembic]`"
                )))
            }
        }
    }
    Ok(metadata)
}

/// An `[alembic]` table: `revision`, a non-empty string, and optionally
/// `down_revision` and `depends_on`, lists of strings.
fn alembic_revision(table: &toml::Table) -> Result<AlembicRevision, String> {
    let mut revision = None;
    let mut down_revision = Vec::new();
    let mut depends_on = Vec::new();
    let strings = |items: &[toml::Value]| -> Option<Vec<String>> {
        items
            .iter()
            .map(|i| i.as_str().map(str::to_string))
            .collect()
    };
    for (key, value) in table {
        match (key.as_str(), value) {
            ("revision", toml::Value::String(r)) if !r.trim().is_empty() => {
                revision = Some(r.clone())
            }
            ("revision", _) => {
                return Err("`[alembic] revision` must be a non-empty string".to_string())
            }
            ("down_revision" | "depends_on", toml::Value::Array(items)) => {
                let list = strings(items)
                    .ok_or_else(|| format!("`[alembic] {key}` must be a list of strings"))?;
                if key == "down_revision" {
                    down_revision = list;
                } else {
                    depends_on = list;
                }
            }
            ("down_revision" | "depends_on", _) => {
                return Err(format!("`[alembic] {key}` must be a list of strings"))
            }
            (other, _) => {
                return Err(format!(
                "unknown key `{other}` in `[alembic]`; its keys are `revision`, `down_revision` \
                     and `depends_on`"
            ))
            }
        }
    }
    Ok(AlembicRevision {
        revision: revision.ok_or_else(|| "`[alembic]` has no `revision`".to_string())?,
        down_revision,
        depends_on,
    })
}
