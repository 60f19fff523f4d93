//! The collector the sectioned layouts share (goose, sql-migrate, dbmate):
//! one top-level `.sql` file per migration, recognised by its up marker,
//! cut into its sections ([`sections`](super::sections)).

use std::path::{Path, PathBuf};

use wdh_migrate_layout::sectioned::is_candidate;

use super::sections::{cut, Dialect, Section};
use super::{Collect, Entry, Offer, Rules};
use crate::migrations::script::{checksum_of, decode, down_of, parse_section};
use crate::migrations::{LoadError, Migration, Version};

/// A sectioned layout: its dialect, how its files are named and ordered.
pub(super) trait Layout: Dialect + Rules {
    /// Whether the file's text has this layout's up (or down) marker: the
    /// file is this layout's.
    fn sniff(&self, text: &str) -> bool;

    /// The version (as written) and name of the file `name`, or what is
    /// wrong with the name.
    fn split_name<'a>(&self, name: &'a str) -> Result<(&'a str, &'a str), String>;

    /// The expected form of a name, for messages.
    fn form(&self) -> &'static str;

    /// Checks the order of the migrations, sorted by version, against the
    /// order the tool itself runs them in (by default the same).
    fn check_order(&self, _root: &Path, _sorted: &[(Version, String)]) -> Result<(), LoadError> {
        Ok(())
    }
}

/// One file of a sectioned layout.
struct File {
    rel: String,
    version: Version,
    name: String,
    bytes: Vec<u8>,
}

/// The files of one listing, for the layout `L`.
pub(super) struct Collector<L: 'static> {
    layout: &'static L,
    files: Vec<File>,
}

impl<L: Layout> Collector<L> {
    pub(super) fn new(layout: &'static L) -> Self {
        Collector {
            layout,
            files: Vec::new(),
        }
    }
}

impl<L: Layout> Collect for Collector<L> {
    fn offer(&mut self, root: &Path, entry: Entry) -> Result<Offer, LoadError> {
        let [name] = entry.parts.as_slice() else {
            return Ok(Offer::NotMine(entry));
        };
        if entry.is_dir || !is_candidate(name) {
            return Ok(Offer::NotMine(entry));
        }
        let path = root.join(name);
        // A file that is not UTF-8 is not sniffed; the layout that takes it
        // (or none) says so.
        let Ok(text) = std::str::from_utf8(&entry.bytes) else {
            return Ok(Offer::NotMine(entry));
        };
        if !self.layout.sniff(text) {
            return Ok(Offer::NotMine(entry));
        }
        let (raw, migration) =
            self.layout
                .split_name(name)
                .map_err(|problem| LoadError::MalformedName {
                    path: path.clone(),
                    problem: format!(
                        "holds {} sections but its name {problem}; {}",
                        self.layout.tool(),
                        self.layout.form()
                    ),
                })?;
        let version = self
            .layout
            .parse_version(raw)
            .ok_or_else(|| LoadError::MalformedName {
                path: path.clone(),
                problem: format!("`{raw}` is not a version; {}", self.layout.form()),
            })?;
        self.files.push(File {
            rel: name.clone(),
            version,
            name: migration.to_string(),
            bytes: entry.bytes,
        });
        Ok(Offer::Taken)
    }

    fn example(&self) -> Option<&str> {
        self.files.first().map(|f| f.rel.as_str())
    }

    fn build(self: Box<Self>, root: &Path) -> Result<Vec<Migration>, LoadError> {
        let mut files = self.files;
        files.sort_by(|a, b| a.version.cmp(&b.version).then_with(|| a.rel.cmp(&b.rel)));
        for pair in files.windows(2) {
            if pair[0].version == pair[1].version {
                return Err(LoadError::DuplicateVersion {
                    version: pair[1].version.normalized().to_string(),
                    first: root.join(&pair[0].rel),
                    second: root.join(&pair[1].rel),
                });
            }
        }
        let order: Vec<(Version, String)> = files
            .iter()
            .map(|f| (f.version.clone(), f.rel.clone()))
            .collect();
        self.layout.check_order(root, &order)?;
        files
            .into_iter()
            .map(|f| build_one(self.layout, root, f))
            .collect()
    }
}

/// Builds the migration of one file: its sections as scripts.
fn build_one<L: Layout>(layout: &L, root: &Path, file: File) -> Result<Migration, LoadError> {
    let path = root.join(&file.rel);
    let text = decode(&path, &file.bytes)?;
    let cut = cut(layout, &path, text)?;
    if !cut.up.present {
        return Err(LoadError::Directive {
            path,
            line: 1,
            problem: format!("has no `{}` section; add one", layout.up_marker()),
        });
    }
    let script = |section: &Section| {
        parse_section(
            root,
            &file.rel,
            &section.text,
            checksum_of(&section.own),
            cut.file_no_transaction || section.no_transaction,
            section.blocks.clone(),
        )
    };
    let (up, up_irreversible) = script(&cut.up)?;
    let (down, down_irreversible) = if cut.down.present {
        let (s, irreversible) = script(&cut.down)?;
        (Some(s), irreversible)
    } else {
        (None, false)
    };
    Ok(Migration {
        version: file.version,
        name: file.name,
        up,
        down: down_of(down, up_irreversible || down_irreversible),
        alembic: None,
    })
}

/// The path of a new migration's one file, holding both sections.
pub(super) fn one_file(name: String, text: String) -> Vec<super::NewFile> {
    vec![super::NewFile {
        path: PathBuf::from(name),
        text,
    }]
}

/// A version made of digits only (goose, sql-migrate, dbmate), ordered by
/// the key `key` makes of it; none for anything else.
pub(super) fn digits_version(
    raw: &str,
    key: impl FnOnce(&str) -> crate::migrations::version::KeyPart,
) -> Option<crate::migrations::Version> {
    if raw.is_empty() || !raw.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some(crate::migrations::Version::new(
        raw,
        raw.to_string(),
        vec![key(raw)],
    ))
}
