//! Which entries of a migration directory wdh-migrate reads, per layout.
//!
//! This crate is the one place that knows the *file names* of each
//! migration layout. `wdh-migrate-core` uses it to read a directory, and the
//! `embed_migrations!` proc macro uses it to decide what to compile into a
//! binary, so both see the same listing. It depends on nothing beyond the
//! standard library, so the proc macro stays light.
//!
//! Each layout has one module here ([`folders`], [`flat_pairs`],
//! [`sectioned`] for goose, sql-migrate and dbmate, [`flyway`]) with its
//! file names and a unit struct implementing [`FileRules`]; [`LAYOUTS`]
//! lists them all. A directory is walked by [`walk`]: the non-hidden
//! entries at the top, and the entries directly inside the top-level folders
//! some layout [lists](FileRules::lists_folder). Each file is marked
//! [wanted](Listed::wanted) when some layout [reads](FileRules::reads) it;
//! other files are listed by name only.
//!
//! What the files *mean* (versions, ordering, scripts, directives) is
//! decided by the layout modules of `wdh-migrate-core`
//! (`migrations::layout`).

pub mod flat_pairs;
pub mod flyway;
pub mod folders;
pub mod sectioned;
mod walk;

#[cfg(test)]
mod tests;

pub use walk::{walk, Listed, Walk, WalkError};

/// The file names one layout reads.
pub trait FileRules: Sync {
    /// Whether the entries of the top-level folder `name` are listed
    /// (because they can belong to one of this layout's migrations).
    fn lists_folder(&self, name: &str) -> bool;

    /// Whether the contents of the file at `parts` (its path components
    /// below the root) can matter to this layout.
    fn reads(&self, parts: &[&str]) -> bool;
}

/// Every layout's file rules.
pub const LAYOUTS: &[&dyn FileRules] = &[
    &folders::Folders,
    &flat_pairs::FlatPairs,
    &sectioned::Sectioned,
    &flyway::Flyway,
];

/// True if a name starts like a version (with an ASCII digit).
pub fn looks_versioned(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_digit())
}

/// True if some layout lists the entries of the top-level folder `name`.
pub fn lists_folder(name: &str) -> bool {
    LAYOUTS.iter().any(|rules| rules.lists_folder(name))
}

/// True if the contents of the file at `parts` (path components below the
/// root) can matter to some layout.
pub fn reads(parts: &[&str]) -> bool {
    LAYOUTS.iter().any(|rules| rules.reads(parts))
}

/// True if a file or folder name is hidden (starts with `.`); hidden
/// entries are never listed.
pub fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.as_encoded_bytes().first() == Some(&b'.')
}
