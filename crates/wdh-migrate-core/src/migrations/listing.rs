//! Parsing a listing (relative paths and bytes) into a [`MigrationSet`]:
//! the part that is the same for every layout.
//!
//! Hidden names are skipped, names that are not UTF-8 are reported as
//! ignored, and the other entries are offered in path order to each layout
//! of [`Layout::DETECTED`] until one recognises them. Then the layout that
//! found migrations (at most one) builds them. An up script with no
//! statement is refused here, for every layout.

use std::path::{is_separator, Path, PathBuf};

use super::layout::{self, Collect, Entry, Offer};
use super::{IgnoredFile, Layout, LoadError, MigrationSet};

/// Whether up scripts with no statement yet are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Drafts {
    /// Refused ([`LoadError::EmptyUp`]): what running and checking load.
    Refuse,
    /// Allowed: for adding migrations next to ones not written yet.
    Allow,
}

/// Parses a listing; see [`MigrationSet::from_files`].
pub(super) fn parse(
    root: &Path,
    files: Vec<(PathBuf, Vec<u8>)>,
    drafts: Drafts,
) -> Result<MigrationSet, LoadError> {
    let (entries, mut ignored) = entries(files);
    let mut collectors: Vec<(Layout, Box<dyn Collect>)> = Layout::DETECTED
        .iter()
        .map(|&layout| (layout, layout.rules().collector()))
        .collect();
    for entry in entries {
        if let Some(report) = offer(root, &mut collectors, entry)? {
            ignored.push(report);
        }
    }

    let mut found = collectors
        .iter()
        .enumerate()
        .filter_map(|(i, (l, c))| c.example().map(|example| (i, *l, example)));
    let detected = found.next();
    if let (Some((_, l1, first)), Some((_, l2, second))) = (detected, found.next()) {
        return Err(layout::mixed(root, (l1, first), (l2, second)));
    }
    let detected = detected.map(|(i, _, _)| i);

    ignored.sort_by(|a, b| a.path.cmp(&b.path));
    let (layout, migrations) = match detected {
        Some(i) => {
            let (layout, collector) = collectors.swap_remove(i);
            (layout, collector.build(root)?)
        }
        None => (Layout::Empty, Vec::new()),
    };
    let blank = migrations.iter().find(|m| m.up.is_empty());
    if let (Some(blank), Drafts::Refuse) = (blank, drafts) {
        return Err(LoadError::EmptyUp {
            path: root.join(&blank.up.path),
        });
    }
    Ok(MigrationSet {
        layout,
        migrations,
        ignored,
    })
}

/// Splits the listing into entries, sorted by path, without hidden ones;
/// names that are not UTF-8 are reported as ignored.
fn entries(files: Vec<(PathBuf, Vec<u8>)>) -> (Vec<Entry>, Vec<IgnoredFile>) {
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
    (entries, ignored)
}

/// Offers `entry` to each layout in turn; returns its report if the layout
/// that recognised it reports it as ignored.
fn offer(
    root: &Path,
    collectors: &mut [(Layout, Box<dyn Collect>)],
    mut entry: Entry,
) -> Result<Option<IgnoredFile>, LoadError> {
    for (_, collector) in collectors.iter_mut() {
        entry = match collector.offer(root, entry)? {
            Offer::Taken | Offer::Covered => return Ok(None),
            Offer::Ignored(report) => return Ok(Some(report)),
            Offer::NotMine(entry) => entry,
        };
    }
    Ok(Some(IgnoredFile {
        path: PathBuf::from(entry.parts.join("/")),
        reason: "not part of any migration layout".to_string(),
    }))
}
