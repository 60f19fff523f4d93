//! File names of the layouts that hold both scripts of a migration in one
//! `.sql` file, in sections: goose (`<version>_<name>.sql` with
//! `-- +goose Up` / `-- +goose Down`), sql-migrate (any `.sql` file with
//! `-- +migrate Up` / `-- +migrate Down`) and dbmate (`<version>…​.sql` with
//! `-- migrate:up` / `-- migrate:down`).
//!
//! Their names alone do not tell them apart (nor from a `seed.sql`): which
//! of them a file belongs to is read from its sections by
//! `wdh-migrate-core`, so every top-level `.sql` file that is not a flat
//! `.up.sql`/`.down.sql` pair is read.

use crate::{flat_pairs, FileRules};

/// True for a top-level file name that a sectioned layout may hold: a
/// `.sql` file that is not an `.up.sql` or `.down.sql` file.
pub fn is_candidate(name: &str) -> bool {
    name.ends_with(".sql") && flat_pairs::split(name).is_none()
}

/// The sectioned layouts' [`FileRules`] (goose, sql-migrate, dbmate).
#[derive(Debug, Clone, Copy)]
pub struct Sectioned;

impl FileRules for Sectioned {
    fn lists_folder(&self, _name: &str) -> bool {
        false
    }

    fn reads(&self, parts: &[&str]) -> bool {
        matches!(parts, [name] if is_candidate(name))
    }
}
