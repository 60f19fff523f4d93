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
    /// The target of a symbolic link could not be read (a dangling link,
    /// for example).
    Stat {
        /// The entry.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A file a layout reads is not a regular file (a FIFO, a socket, a
    /// device): reading it could block forever, so it is not read.
    NotAFile {
        /// The entry.
        path: PathBuf,
        /// What it is, e.g. `a FIFO (named pipe)`.
        kind: &'static str,
    },
    /// A symbolic link resolves outside the directory being walked.
    LinkOutside {
        /// The link.
        path: PathBuf,
        /// Where it resolves to.
        target: PathBuf,
        /// The directory being walked.
        root: PathBuf,
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
            WalkError::NotAFile { path, kind } => write!(
                f,
                "{} is {kind}, not a regular file, so it is not read (reading it could \
                 block forever); replace it with a regular file",
                path.display()
            ),
            WalkError::LinkOutside { path, target, root } => write!(
                f,
                "{} is a symbolic link to {}, outside {}; links are followed only when \
                 they resolve inside the migration directory: copy the file in instead",
                path.display(),
                target.display(),
                root.display()
            ),
        }
    }
}

impl Error for WalkError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            WalkError::ReadDir { source, .. } | WalkError::Stat { source, .. } => Some(source),
            WalkError::NotAFile { .. } | WalkError::LinkOutside { .. } => None,
        }
    }
}

/// A directory entry: name, path and its type (symbolic links followed).
type Found = (OsString, PathBuf, fs::FileType);

/// What a file that is neither a regular file nor a folder is.
fn kind(t: fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
    }
    let _ = t;
    "neither a file nor a folder"
}

/// The non-hidden entries of `dir`, sorted by name. The type comes from the
/// directory entry itself (no `stat` per file); only symbolic links are
/// followed, with a `stat`, and only when they resolve inside `root` (the
/// walked directory, canonical).
fn entries(dir: &Path, root: &Path) -> Result<Vec<Found>, WalkError> {
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
        let file_type = match entry.file_type() {
            Ok(t) if !t.is_symlink() => t,
            _ => followed(&path, root)?,
        };
        out.push((name, path, file_type));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// The type of what the link (or entry of unknown type) at `path` resolves
/// to, if it resolves inside `root`.
fn followed(path: &Path, root: &Path) -> Result<fs::FileType, WalkError> {
    let stat = |source| WalkError::Stat {
        path: path.to_path_buf(),
        source,
    };
    let target = fs::canonicalize(path).map_err(stat)?;
    if !target.starts_with(root) {
        return Err(WalkError::LinkOutside {
            path: path.to_path_buf(),
            target,
            root: root.to_path_buf(),
        });
    }
    Ok(fs::metadata(&target).map_err(stat)?.file_type())
}

/// A listed entry, refused if a layout reads it and it is not a regular
/// file.
fn listed(parts: &[&OsStr], path: PathBuf, file_type: fs::FileType) -> Result<Listed, WalkError> {
    let is_dir = file_type.is_dir();
    let wanted = !is_dir && wanted(parts);
    if wanted && !file_type.is_file() {
        return Err(WalkError::NotAFile {
            path,
            kind: kind(file_type),
        });
    }
    Ok(Listed {
        rel: rel(parts, is_dir),
        path,
        is_dir,
        wanted,
    })
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
///
/// Symbolic links are followed when they resolve inside `root`; one that
/// resolves outside is a [`WalkError::LinkOutside`], a dangling one a
/// [`WalkError::Stat`]. A file a layout reads that is not a regular file
/// (a FIFO, a device) is a [`WalkError::NotAFile`], never opened.
pub fn walk(root: &Path) -> Result<Walk, WalkError> {
    let canonical = fs::canonicalize(root).map_err(|source| WalkError::ReadDir {
        path: root.to_path_buf(),
        source,
    })?;
    Ok(Walk {
        top: entries(root, &canonical)?.into_iter(),
        root: canonical,
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
    /// The walked directory, canonical.
    root: PathBuf,
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
            match entries(&path, &self.root) {
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
        let result = if let Some((parent, (child, path, file_type))) = self.children.next() {
            listed(&[parent.as_os_str(), child.as_os_str()], path, file_type)
        } else {
            let (name, path, file_type) = self.top.next()?;
            if file_type.is_dir() && name.to_str().is_some_and(lists_folder) {
                self.open = Some((name.clone(), path.clone()));
            }
            listed(&[name.as_os_str()], path, file_type)
        };
        self.failed = result.is_err();
        Some(result)
    }
}
