//! Migration sets compiled into the binary by `embed_migrations!`.

use std::path::{Path, PathBuf};

use super::{LoadError, MigrationSet};

/// A migration directory compiled into the binary by
/// `wdh_migrate_macros::embed_migrations!`.
///
/// New files in the directory are only seen after the crate is rebuilt;
/// changed files are picked up automatically. To also pick up added files,
/// put `println!("cargo:rerun-if-changed=migrations");` in the crate's
/// `build.rs`.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedMigrations {
    root: &'static str,
    files: &'static [(&'static str, &'static [u8])],
}

impl EmbeddedMigrations {
    /// Wraps a listing in the format of [`MigrationSet::from_files`].
    pub const fn new(files: &'static [(&'static str, &'static [u8])]) -> Self {
        Self {
            root: "<embedded migrations>",
            files,
        }
    }

    /// Sets the directory name shown in errors.
    pub const fn with_root(self, root: &'static str) -> Self {
        Self { root, ..self }
    }

    /// The directory name shown in errors.
    pub const fn root(&self) -> &'static str {
        self.root
    }

    /// The embedded listing.
    pub const fn files(&self) -> &'static [(&'static str, &'static [u8])] {
        self.files
    }

    /// Parses the embedded listing with [`MigrationSet::from_files`].
    pub fn load(&self) -> Result<MigrationSet, LoadError> {
        let files = self
            .files
            .iter()
            .map(|(path, bytes)| (PathBuf::from(path), bytes.to_vec()))
            .collect();
        MigrationSet::from_files(Path::new(self.root), files)
    }
}
