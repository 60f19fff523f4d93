//! File names of the folder layout (Diesel): one folder per migration,
//! `<version>_<name>/up.sql`, `down.sql` and an optional `metadata.toml`.

use crate::{looks_versioned, FileRules};

/// The up script inside a migration folder.
pub const UP: &str = "up.sql";
/// The down script inside a migration folder.
pub const DOWN: &str = "down.sql";
/// Diesel's per-migration settings inside a migration folder.
pub const METADATA: &str = "metadata.toml";

/// A file a migration folder can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderFile {
    /// `up.sql`.
    Up,
    /// `down.sql`.
    Down,
    /// `metadata.toml`.
    Metadata,
}

/// What the file `name` inside a migration folder is, if it is part of the
/// migration.
pub fn file(name: &str) -> Option<FolderFile> {
    match name {
        UP => Some(FolderFile::Up),
        DOWN => Some(FolderFile::Down),
        METADATA => Some(FolderFile::Metadata),
        _ => None,
    }
}

/// True if the top-level folder `name` can be a migration folder (it starts
/// with a version).
pub fn is_migration_folder(name: &str) -> bool {
    looks_versioned(name)
}

/// The folder layout's [`FileRules`].
#[derive(Debug, Clone, Copy)]
pub struct Folders;

impl FileRules for Folders {
    fn lists_folder(&self, name: &str) -> bool {
        is_migration_folder(name)
    }

    fn reads(&self, parts: &[&str]) -> bool {
        matches!(parts, [folder, name] if is_migration_folder(folder) && file(name).is_some())
    }
}
