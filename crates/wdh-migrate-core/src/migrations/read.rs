//! Reading a migration directory into a listing for
//! [`MigrationSet::from_files`](super::MigrationSet::from_files).

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::listing::{content_needed, looks_versioned};
use super::LoadError;

fn is_hidden(name: &OsStr) -> bool {
    name.as_encoded_bytes().first() == Some(&b'.')
}

/// The non-hidden entries of `dir`, sorted by name, with whether each is a
/// folder. The type comes from the directory entry itself (no `stat` per
/// file); only symbolic links are followed with a `stat`.
fn entries(dir: &Path) -> Result<Vec<(OsString, PathBuf, bool)>, LoadError> {
    let read_err = |source: io::Error| LoadError::ReadDir {
        path: dir.to_path_buf(),
        source,
    };
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(read_err)? {
        let entry = entry.map_err(read_err)?;
        let name = entry.file_name();
        if !is_hidden(&name) {
            let path = entry.path();
            let folder = match entry.file_type() {
                Ok(t) if !t.is_symlink() => t.is_dir(),
                _ => is_dir(&path)?,
            };
            out.push((name, path, folder));
        }
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

/// Whether `path` is a folder (following symbolic links).
fn is_dir(path: &Path) -> Result<bool, LoadError> {
    fs::metadata(path)
        .map(|m| m.is_dir())
        .map_err(|source| LoadError::ReadFile {
            path: path.to_path_buf(),
            source,
        })
}

/// The file's bytes if they can matter, else nothing.
fn contents(path: &Path, parts: &[&OsStr]) -> Result<Vec<u8>, LoadError> {
    let names: Option<Vec<&str>> = parts.iter().map(|p| p.to_str()).collect();
    if !names.is_some_and(|names| content_needed(&names)) {
        return Ok(Vec::new());
    }
    // Not fs::read: its size probe costs a `stat` per file, and migrations are small.
    let mut bytes = Vec::with_capacity(512);
    fs::File::open(path)
        .and_then(|mut f| io::Read::read_to_end(&mut f, &mut bytes))
        .map(|_| bytes)
        .map_err(|source| LoadError::ReadFile {
            path: path.to_path_buf(),
            source,
        })
}

/// Lists `dir`: its entries, and the entries directly inside folders whose
/// name starts with a digit. Folders are listed with a trailing `/`.
pub(super) fn read_listing(dir: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>, LoadError> {
    match fs::metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(LoadError::MissingDirectory {
                path: dir.to_path_buf(),
            })
        }
        Err(source) => {
            return Err(LoadError::ReadDir {
                path: dir.to_path_buf(),
                source,
            })
        }
        Ok(meta) if !meta.is_dir() => {
            return Err(LoadError::NotADirectory {
                path: dir.to_path_buf(),
            })
        }
        Ok(_) => {}
    }
    let mut out = Vec::new();
    for (name, path, folder) in entries(dir)? {
        if !folder {
            let parts = [name.as_os_str()];
            out.push((rel(&parts, false), contents(&path, &parts)?));
            continue;
        }
        out.push((rel(&[&name], true), Vec::new()));
        if !name.to_str().is_some_and(looks_versioned) {
            continue;
        }
        for (child, child_path, child_folder) in entries(&path)? {
            let parts = [name.as_os_str(), child.as_os_str()];
            if child_folder {
                out.push((rel(&parts, true), Vec::new()));
            } else {
                out.push((rel(&parts, false), contents(&child_path, &parts)?));
            }
        }
    }
    Ok(out)
}
