//! Walking a migration directory: the entries a layout can care about, in
//! name order, with whether their contents are wanted.

use std::error::Error;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::vec;

use crate::{is_hidden, lists_folder, reads};

/// One listed entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Path relative to the root: components joined with `/`, with a
    /// trailing `/` for a folder.
    pub rel: PathBuf,
    /// The entry on disk.
    pub path: PathBuf,
    /// True for a folder (symbolic links followed).
    pub is_dir: bool,
    /// True for a file whose contents can matter to some layout; other files
    /// are listed by name only.
    pub wanted: bool,
}

/// Why a directory could not be walked.
#[derive(Debug)]
pub enum WalkError {
    /// A directory could not be listed.
    ReadDir {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The target of a symbolic link could not be read.
    Stat {
        /// The entry.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

impl fmt::Display for WalkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WalkError::ReadDir { path, source } => {
                write!(f, "cannot list {}: {source}", path.display())
            }
            WalkError::Stat { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
        }
    }
}

impl Error for WalkError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            WalkError::ReadDir { source, .. } | WalkError::Stat { source, .. } => Some(source),
        }
    }
}

/// A directory entry: name, path and whether it is a folder.
type Found = (OsString, PathBuf, bool);

/// The non-hidden entries of `dir`, sorted by name. The type comes from the
/// directory entry itself (no `stat` per file); only symbolic links are
/// followed with a `stat`.
fn entries(dir: &Path) -> Result<Vec<Found>, WalkError> {
    let read_err = |source: io::Error| WalkError::ReadDir {
        path: dir.to_path_buf(),
        source,
    };
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(read_err)? {
        let entry = entry.map_err(read_err)?;
        let name = entry.file_name();
        if is_hidden(&name) {
            continue;
        }
        let path = entry.path();
        let is_dir = match entry.file_type() {
            Ok(t) if !t.is_symlink() => t.is_dir(),
            _ => fs::metadata(&path)
                .map_err(|source| WalkError::Stat {
                    path: path.clone(),
                    source,
                })?
                .is_dir(),
        };
        out.push((name, path, is_dir));
    }
    out.sort();
    Ok(out)
}

/// Joins relative components with `/`, with a trailing `/` for a folder.
fn rel(parts: &[&OsStr], is_dir: bool) -> PathBuf {
    let mut s = OsString::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            s.push("/");
        }
        s.push(part);
    }
    if is_dir {
        s.push("/");
    }
    PathBuf::from(s)
}

/// Whether the contents of the file at `parts` can matter to some layout
/// (never for a name that is not UTF-8).
fn wanted(parts: &[&OsStr]) -> bool {
    let names: Option<Vec<&str>> = parts.iter().map(|p| p.to_str()).collect();
    names.is_some_and(|names| reads(&names))
}

/// Walks the directory `root`; see the [crate documentation](crate).
///
/// The top level is listed at once; a folder's entries are listed when the
/// iterator reaches them, so a caller reading contents as it goes reads in
/// the same order as the listing.
pub fn walk(root: &Path) -> Result<Walk, WalkError> {
    Ok(Walk {
        top: entries(root)?.into_iter(),
        open: None,
        children: Vec::new().into_iter(),
        failed: false,
    })
}

/// The iterator returned by [`walk`]: entries in path order, a folder before
/// its contents. It ends after the first error.
#[derive(Debug)]
pub struct Walk {
    top: vec::IntoIter<Found>,
    /// A listed folder whose entries come next: its name and path.
    open: Option<(OsString, PathBuf)>,
    /// The remaining entries of the current folder, and its name.
    children: vec::IntoIter<(OsString, Found)>,
    failed: bool,
}

impl Iterator for Walk {
    type Item = Result<Listed, WalkError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if let Some((name, path)) = self.open.take() {
            match entries(&path) {
                Ok(found) => {
                    self.children = found
                        .into_iter()
                        .map(|child| (name.clone(), child))
                        .collect::<Vec<_>>()
                        .into_iter();
                }
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
        if let Some((parent, (child, path, is_dir))) = self.children.next() {
            let parts = [parent.as_os_str(), child.as_os_str()];
            return Some(Ok(Listed {
                rel: rel(&parts, is_dir),
                wanted: !is_dir && wanted(&parts),
                path,
                is_dir,
            }));
        }
        let (name, path, is_dir) = self.top.next()?;
        let parts = [name.as_os_str()];
        if is_dir && name.to_str().is_some_and(lists_folder) {
            self.open = Some((name.clone(), path.clone()));
        }
        Some(Ok(Listed {
            rel: rel(&parts, is_dir),
            wanted: !is_dir && wanted(&parts),
            path,
            is_dir,
        }))
    }
}
