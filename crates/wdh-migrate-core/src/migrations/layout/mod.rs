//! Migration layouts: one module per layout, behind one seam.
//!
//! A *layout* is a way of writing migrations as files: which names are
//! migrations, how versions are written and ordered, which file holds the up
//! and the down script, and which extra directives it knows. Each layout is
//! one module here ([`folders`], [`flat_pairs`]) with its tests beside it;
//! the file names it reads live in the matching module of the
//! `wdh-migrate-layout` crate, which `embed_migrations!` shares.
//!
//! Loading a listing (see `listing.rs`) is generic: entries are offered in
//! path order to each layout of [`Layout::DETECTED`] in turn, and the first
//! that recognises an entry decides what it is (part of one of its
//! migrations, a file it reports as ignored with its reason, or a malformed
//! name, which is an error). The layout of a directory is the one that
//! found migrations; two layouts finding migrations is
//! [`LoadError::MixedLayouts`]. That layout then builds its migrations:
//! pairs its files, checks them, parses their scripts and orders them by
//! their versions' keys.
//!
//! # Adding a layout
//!
//! 1. in the `wdh-migrate-layout` crate, a module with the file names the
//!    layout reads (a unit struct implementing its `FileRules`: whether a
//!    top-level folder is listed, whether a file's contents are read) and
//!    its line in `LAYOUTS`; that is all the listing and `embed_migrations!`
//!    need;
//! 2. here, a module with a unit struct implementing `Rules` and a
//!    collector implementing `Collect`, and its variant of [`Layout`]
//!    (with its arm in `Layout::rules` and its place in
//!    [`Layout::DETECTED`]):
//!    * *recognising its names*: `Collect::offer` answers `NotMine` for
//!      anything else, so detection and the mixing check come for free.
//!      Place it in [`Layout::DETECTED`] before a layout that would call its
//!      names malformed (the sectioned layouts, which sniff `-- +goose Up`
//!      in `0001_x.sql`, go before [`flat_pairs`], which rejects a
//!      versioned `.sql` that is neither `.up.sql` nor `.down.sql`);
//!    * *versions and ordering*: `Rules::parse_version` builds the ordering
//!      key from parts compared as text or as numbers ([`flyway`]: one
//!      number part per dotted component);
//!    * *one file, two scripts*: a layout holding both scripts in one file
//!      in sections is a `sections::Dialect` (what each line is) and a
//!      `sectioned::Layout` (names, sniffing, order) sharing
//!      `sectioned::Collector`, as [`goose`], [`sql_migrate`] and [`dbmate`]
//!      do: each section keeps the file's line numbers and has its own
//!      checksum;
//!    * *its own directives*: read them (a section flag such as goose's
//!      `-- +goose NO TRANSACTION`, Flyway's `.conf` file) and pass the
//!      no-transaction flag to `script::parse_script`, as [`folders`] does
//!      for `metadata.toml`;
//!    * its errors are [`LoadError`] variants, added there
//!      if none fits;
//! 3. its tests, in the module's `tests.rs`.
//!
//! `Rules::new_files` names the files of a new migration, for `new`.

pub mod dbmate;
pub mod flat_pairs;
pub mod flyway;
pub mod folders;
pub mod goose;
mod naming;
mod sectioned;
mod sections;
pub mod sql_migrate;

use std::path::{Path, PathBuf};

use super::{IgnoredFile, LoadError, Migration, Version};

/// The layout of a migration directory. See the [module documentation](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layout {
    /// One folder per migration holding `up.sql` and `down.sql` (Diesel).
    Folders,
    /// `<version>_<name>.up.sql` and `.down.sql` files (sqlx, golang-migrate).
    FlatPairs,
    /// goose: `<version>_<name>.sql` with `-- +goose Up` / `-- +goose Down`.
    Goose,
    /// sql-migrate: `<number>-<name>.sql` with `-- +migrate Up` / `Down`.
    SqlMigrate,
    /// dbmate: `<version>_<name>.sql` with `-- migrate:up` / `-- migrate:down`.
    Dbmate,
    /// Flyway: `V<version>__<description>.sql` and undo `U…`.
    Flyway,
    /// No migration found.
    Empty,
}

impl Layout {
    /// The layouts a directory is checked for, in the order entries are
    /// offered to them.
    pub const DETECTED: &'static [Layout] = &[
        Layout::Folders,
        Layout::Goose,
        Layout::SqlMigrate,
        Layout::Dbmate,
        Layout::Flyway,
        Layout::FlatPairs,
    ];

    /// What this layout's migrations are, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Layout::Folders => "migration folders",
            Layout::FlatPairs => "flat .up.sql/.down.sql files",
            Layout::Goose => "goose files (-- +goose Up)",
            Layout::SqlMigrate => "sql-migrate files (-- +migrate Up)",
            Layout::Dbmate => "dbmate files (-- migrate:up)",
            Layout::Flyway => "Flyway scripts (V<version>__<description>.sql)",
            Layout::Empty => "no migrations",
        }
    }

    /// The files of a new migration `<version>_<slug>` in this layout (an
    /// empty set gets the default layout, [`Layout::Folders`]), its scripts
    /// `up` and `down`; paths relative to the set's directory, to be created
    /// without overwriting anything.
    pub fn new_files(self, version: &str, slug: &str, up: &str, down: &str) -> Vec<NewFile> {
        self.rules().new_files(version, slug, up, down)
    }

    /// The rules of this layout; an empty set parses versions like the
    /// default layout, [`Layout::Folders`].
    pub(crate) fn rules(self) -> &'static dyn Rules {
        match self {
            Layout::Folders | Layout::Empty => &folders::Folders,
            Layout::FlatPairs => &flat_pairs::FlatPairs,
            Layout::Goose => &goose::Goose,
            Layout::SqlMigrate => &sql_migrate::SqlMigrate,
            Layout::Dbmate => &dbmate::Dbmate,
            Layout::Flyway => &flyway::Flyway,
        }
    }
}

/// One layout's rules: its versions, and a collector for its files.
pub(crate) trait Rules: Sync {
    /// Parses a version as this layout writes it, with this layout's
    /// ordering key; `None` if `raw` is not a version of this layout.
    fn parse_version(&self, raw: &str) -> Option<Version>;

    /// A collector for one listing.
    fn collector(&self) -> Box<dyn Collect>;

    /// The files of a new migration `<version>_<slug>` whose scripts are
    /// `up` and `down`, relative to the set's directory.
    fn new_files(&self, version: &str, slug: &str, up: &str, down: &str) -> Vec<NewFile>;
}

/// A file of a new migration (see [`Layout::new_files`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFile {
    /// The path, relative to the set's directory.
    pub path: PathBuf,
    /// Its contents.
    pub text: String,
}

/// Gathers one layout's files from a listing, then builds its migrations.
pub(crate) trait Collect {
    /// Offered each entry of the listing in path order (unless an earlier
    /// layout recognised it). `root` is only used to name paths in errors.
    fn offer(&mut self, root: &Path, entry: Entry) -> Result<Offer, LoadError>;

    /// The path (relative to the root) of one migration this layout found,
    /// if any: the layout is present.
    fn example(&self) -> Option<&str>;

    /// Builds the migrations, validated and in ascending version order.
    fn build(self: Box<Self>, root: &Path) -> Result<Vec<Migration>, LoadError>;
}

/// One entry of a listing, split into path components.
#[derive(Debug)]
pub(crate) struct Entry {
    /// Path components below the root (none hidden, all UTF-8).
    pub(crate) parts: Vec<String>,
    /// True for a folder.
    pub(crate) is_dir: bool,
    /// The file's bytes (empty for a folder or a file no layout reads).
    pub(crate) bytes: Vec<u8>,
}

/// What a layout made of an offered entry.
#[derive(Debug)]
pub(crate) enum Offer {
    /// Part of one of its migrations.
    Taken,
    /// Its kind of entry, but not a migration: reported as ignored.
    Ignored(IgnoredFile),
    /// Inside a folder it already reported as ignored: not reported again.
    Covered,
    /// Not its kind of entry; offered to the next layout.
    NotMine(Entry),
}

/// The error for a directory in which two layouts found migrations, given
/// an example of each (relative paths, in [`Layout::DETECTED`] order).
pub(crate) fn mixed(
    root: &Path,
    (first_layout, first): (Layout, &str),
    (second_layout, second): (Layout, &str),
) -> LoadError {
    LoadError::MixedLayouts {
        path: root.to_path_buf(),
        first_layout: first_layout.describe(),
        first: root.join(first),
        second_layout: second_layout.describe(),
        second: root.join(second),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_layout_but_empty_is_detected_once() {
        for layout in [
            Layout::Folders,
            Layout::FlatPairs,
            Layout::Goose,
            Layout::SqlMigrate,
            Layout::Dbmate,
            Layout::Flyway,
            Layout::Empty,
        ] {
            let times = Layout::DETECTED.iter().filter(|&&l| l == layout).count();
            assert_eq!(times, usize::from(layout != Layout::Empty), "{layout:?}");
        }
    }

    #[test]
    fn an_empty_set_parses_versions_like_folders() {
        let empty = Version::parse("10", Layout::Empty).expect("version");
        let folder = Version::parse("10", Layout::Folders).expect("version");
        assert_eq!(empty, folder);
        assert!(Version::parse("9", Layout::Empty) > Some(empty));
    }
}
