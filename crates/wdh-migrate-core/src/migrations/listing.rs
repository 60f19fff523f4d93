//! Parsing a listing (relative paths and bytes) into a [`MigrationSet`].

use std::collections::btree_map::Entry as MapEntry;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{is_separator, Path, PathBuf};

use super::script::{parse_metadata, parse_script};
use super::{Down, IgnoredFile, Layout, LoadError, Migration, MigrationSet, Script, Version};

const FOLDER_FORM: &str = "migration folders are named `<version>_<name>`, \
     e.g. `0001_create_users` or `2017-01-20-174200_create_users`";
const FLAT_FORM: &str = "flat migrations are named `<version>_<name>.up.sql` and \
     `<version>_<name>.down.sql`, e.g. `0001_create_users.up.sql`";

/// True if a name starts like a version (with an ASCII digit).
pub(super) fn looks_versioned(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_digit())
}

/// True if the contents of the file at `parts` (path components relative to
/// the root) can matter to [`parse`]: top-level `*.up.sql` and `*.down.sql`,
/// and `up.sql`, `down.sql` and `metadata.toml` inside a folder.
pub(super) fn content_needed(parts: &[&str]) -> bool {
    match parts {
        [name] => name.ends_with(".up.sql") || name.ends_with(".down.sql"),
        [folder, name] => {
            looks_versioned(folder) && matches!(*name, "up.sql" | "down.sql" | "metadata.toml")
        }
        _ => false,
    }
}

/// Splits `<version>_<name>` into its version and name, or describes what is
/// wrong with it.
fn split_version(stem: &str) -> Result<(&str, &str), String> {
    if !looks_versioned(stem) {
        return Err("does not start with a version".to_string());
    }
    let end = stem
        .find(|c: char| !(c.is_ascii_digit() || c == '-'))
        .unwrap_or(stem.len());
    let (version, rest) = stem.split_at(end);
    match rest.strip_prefix('_') {
        Some("") => Err(format!("has no name after `{version}_`")),
        Some(name) => Ok((version, name)),
        None => match rest.chars().next() {
            None => Err(format!("has no `_<name>` after the version `{version}`")),
            Some(c) => Err(format!(
                "its version `{version}` is followed by `{c}` instead of `_`"
            )),
        },
    }
}

/// One entry of the listing, split into path components.
struct Entry {
    parts: Vec<String>,
    is_dir: bool,
    bytes: Vec<u8>,
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

/// A top-level `.up.sql` or `.down.sql` file.
struct Flat {
    rel: String,
    version: Version,
    name: String,
    bytes: Vec<u8>,
}

enum FolderState {
    Migration(usize),
    Ignored,
}

fn version(raw: &str, layout: Layout, path: &Path, form: &str) -> Result<Version, LoadError> {
    Version::parse(raw, layout).ok_or_else(|| LoadError::MalformedName {
        path: path.to_path_buf(),
        problem: format!("`{raw}` is not a version; {form}"),
    })
}

/// Parses a listing; see [`MigrationSet::from_files`].
pub(super) fn parse(
    root: &Path,
    files: Vec<(PathBuf, Vec<u8>)>,
) -> Result<MigrationSet, LoadError> {
    let mut ignored = Vec::new();
    let mut entries = Vec::new();
    for (path, bytes) in files {
        let lossy = path.to_string_lossy();
        let parts: Vec<String> = lossy
            .split(is_separator)
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect();
        if parts.is_empty() || parts.iter().any(|p| p.starts_with('.')) {
            continue;
        }
        if path.to_str().is_none() {
            ignored.push(IgnoredFile {
                path,
                reason: "its name is not valid UTF-8, so it is not read".to_string(),
            });
            continue;
        }
        let is_dir = lossy.ends_with(is_separator);
        entries.push(Entry {
            parts,
            is_dir,
            bytes,
        });
    }
    entries.sort_by(|a, b| a.parts.cmp(&b.parts));

    let mut folders: Vec<Folder> = Vec::new();
    let mut states: HashMap<String, FolderState> = HashMap::new();
    let mut ups: Vec<Flat> = Vec::new();
    let mut downs: Vec<Flat> = Vec::new();
    let mut ignored_subfolders: BTreeSet<String> = BTreeSet::new();

    for entry in entries {
        let top = entry.parts[0].as_str();
        if entry.parts.len() == 1 && !entry.is_dir {
            classify_top_file(root, top, entry.bytes, &mut ups, &mut downs, &mut ignored)?;
            continue;
        }
        if !states.contains_key(top) {
            let state = if !looks_versioned(top) {
                ignored.push(IgnoredFile {
                    path: PathBuf::from(top),
                    reason: "folder name does not start with a version, so it is not a \
                             migration folder; its contents are not read"
                        .to_string(),
                });
                FolderState::Ignored
            } else {
                let path = root.join(top);
                let (raw, name) =
                    split_version(top).map_err(|problem| LoadError::MalformedName {
                        path: path.clone(),
                        problem: format!("its name {problem}; {FOLDER_FORM}"),
                    })?;
                folders.push(Folder {
                    rel: top.to_string(),
                    version: version(raw, Layout::Folders, &path, FOLDER_FORM)?,
                    name: name.to_string(),
                    up: None,
                    down: None,
                    metadata: None,
                });
                FolderState::Migration(folders.len() - 1)
            };
            states.insert(top.to_string(), state);
        }
        let Some(FolderState::Migration(idx)) = states.get(top) else {
            continue;
        };
        let folder = &mut folders[*idx];
        match entry.parts.as_slice() {
            [_] => {}
            [_, file] if !entry.is_dir => {
                let slot = match file.as_str() {
                    "up.sql" => &mut folder.up,
                    "down.sql" => &mut folder.down,
                    "metadata.toml" => &mut folder.metadata,
                    _ => {
                        ignored.push(IgnoredFile {
                            path: PathBuf::from(format!("{top}/{file}")),
                            reason: "not part of the migration: a migration folder holds \
                                     up.sql, down.sql and metadata.toml"
                                .to_string(),
                        });
                        continue;
                    }
                };
                *slot = Some(entry.bytes);
            }
            [_, sub, ..] => {
                let rel = format!("{top}/{sub}");
                if ignored_subfolders.insert(rel.clone()) {
                    ignored.push(IgnoredFile {
                        path: PathBuf::from(rel),
                        reason: "folder inside a migration folder; its contents are not read"
                            .to_string(),
                    });
                }
            }
            [] => {}
        }
    }

    if let (Some(folder), Some(flat)) = (folders.first(), ups.first().or(downs.first())) {
        return Err(LoadError::MixedLayouts {
            path: root.to_path_buf(),
            folder: root.join(&folder.rel),
            file: root.join(&flat.rel),
        });
    }

    ignored.sort_by(|a, b| a.path.cmp(&b.path));
    let (layout, migrations) = if !folders.is_empty() {
        (Layout::Folders, build_folders(root, folders)?)
    } else if !ups.is_empty() || !downs.is_empty() {
        (Layout::FlatPairs, build_flat(root, ups, downs)?)
    } else {
        (Layout::Empty, Vec::new())
    };
    Ok(MigrationSet {
        layout,
        migrations,
        ignored,
    })
}

/// Classifies a file at the top of the directory.
fn classify_top_file(
    root: &Path,
    name: &str,
    bytes: Vec<u8>,
    ups: &mut Vec<Flat>,
    downs: &mut Vec<Flat>,
    ignored: &mut Vec<IgnoredFile>,
) -> Result<(), LoadError> {
    let (stem, list) = if let Some(stem) = name.strip_suffix(".up.sql") {
        (stem, ups)
    } else if let Some(stem) = name.strip_suffix(".down.sql") {
        (stem, downs)
    } else {
        let reason = if !name.to_ascii_lowercase().ends_with(".sql") {
            "not a .sql file"
        } else if looks_versioned(name) {
            return Err(LoadError::MalformedName {
                path: root.join(name),
                problem: "is neither an `.up.sql` nor a `.down.sql` file; name it \
                          `<version>_<name>.up.sql` (with a matching `.down.sql`), or \
                          move it to `<version>_<name>/up.sql`"
                    .to_string(),
            });
        } else {
            "no version at the start of its name, so it is not a migration"
        };
        ignored.push(IgnoredFile {
            path: PathBuf::from(name),
            reason: reason.to_string(),
        });
        return Ok(());
    };
    let path = root.join(name);
    let (raw, migration_name) =
        split_version(stem).map_err(|problem| LoadError::MalformedName {
            path: path.clone(),
            problem: format!("its name {problem}; {FLAT_FORM}"),
        })?;
    list.push(Flat {
        rel: name.to_string(),
        version: version(raw, Layout::FlatPairs, &path, FLAT_FORM)?,
        name: migration_name.to_string(),
        bytes,
    });
    Ok(())
}

/// The down side from an optional down script and the irreversible flag.
fn down_of(script: Option<Script>, irreversible: bool) -> Down {
    match (script, irreversible) {
        (script, true) => Down::Irreversible(script),
        (Some(script), false) => Down::Script(script),
        (None, false) => Down::Missing,
    }
}

fn build_folders(root: &Path, mut folders: Vec<Folder>) -> Result<Vec<Migration>, LoadError> {
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
        let Some(up) = folder.up else {
            return Err(LoadError::MissingUp {
                path: root.join(&folder.rel),
            });
        };
        let no_transaction = match &folder.metadata {
            Some(bytes) => parse_metadata(root, &format!("{}/metadata.toml", folder.rel), bytes)?,
            None => false,
        };
        let (up, up_irreversible) =
            parse_script(root, &format!("{}/up.sql", folder.rel), &up, no_transaction)?;
        let (down, down_irreversible) = match &folder.down {
            Some(bytes) => {
                let (script, irreversible) = parse_script(
                    root,
                    &format!("{}/down.sql", folder.rel),
                    bytes,
                    no_transaction,
                )?;
                (Some(script), irreversible)
            }
            None => (None, false),
        };
        migrations.push(Migration {
            version: folder.version,
            name: folder.name,
            up,
            down: down_of(down, up_irreversible || down_irreversible),
        });
    }
    Ok(migrations)
}

fn build_flat(root: &Path, ups: Vec<Flat>, downs: Vec<Flat>) -> Result<Vec<Migration>, LoadError> {
    let mut groups: BTreeMap<Version, (Option<Flat>, Option<Flat>)> = BTreeMap::new();
    for (is_up, flat) in ups
        .into_iter()
        .map(|f| (true, f))
        .chain(downs.into_iter().map(|f| (false, f)))
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
        migrations.push(Migration {
            version: up.version,
            name: up.name,
            up: up_script,
            down: down_of(down_script, up_irreversible || down_irreversible),
        });
    }
    Ok(migrations)
}
