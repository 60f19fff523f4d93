//! Reading a migration directory into a listing for
//! [`MigrationSet::from_files`](super::MigrationSet::from_files), with the
//! walk `embed_migrations!` uses too.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use wdh_migrate_layout::{walk, WalkError};

use super::LoadError;

fn walk_error(e: WalkError) -> LoadError {
    match e {
        WalkError::ReadDir { path, source } => LoadError::ReadDir { path, source },
        WalkError::Stat { path, source } => LoadError::ReadFile { path, source },
        WalkError::NotAFile { path, kind } => LoadError::NotAFile { path, kind },
        WalkError::LinkOutside { path, target, root } => {
            LoadError::LinkOutside { path, target, root }
        }
    }
}

/// The file's bytes.
fn contents(path: &Path) -> Result<Vec<u8>, LoadError> {
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

/// Checks that `dir` exists and is a directory, reading nothing in it.
pub(super) fn check_dir(dir: &Path) -> Result<(), LoadError> {
    match fs::metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(LoadError::MissingDirectory {
            path: dir.to_path_buf(),
        }),
        Err(source) => Err(LoadError::ReadDir {
            path: dir.to_path_buf(),
            source,
        }),
        Ok(meta) if !meta.is_dir() => Err(LoadError::NotADirectory {
            path: dir.to_path_buf(),
        }),
        Ok(_) => Ok(()),
    }
}

/// Lists `dir` with [`walk`]: its entries, and the entries directly inside
/// the folders a layout lists. Folders are listed with a trailing `/`; only
/// the files a layout reads are read, and only regular files (a FIFO named
/// `up.sql` is an error, never opened). Symbolic links are followed only
/// when they resolve inside `dir`.
pub(super) fn read_listing(dir: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>, LoadError> {
    check_dir(dir)?;
    let mut out = Vec::new();
    for listed in walk(dir).map_err(walk_error)? {
        let listed = listed.map_err(walk_error)?;
        let bytes = if listed.wanted {
            contents(&listed.path)?
        } else {
            Vec::new()
        };
        out.push((listed.rel, bytes));
    }
    Ok(out)
}
