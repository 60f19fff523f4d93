//! Loading a migration set from a directory or from embedded files.
//!
//! Loading is pure: a directory is first turned into a *listing* (relative
//! paths and file contents), and [`MigrationSet::from_files`] parses that
//! listing. [`MigrationSet::load`] reads a directory into a listing;
//! [`EmbeddedMigrations`] (built by `embed_migrations!`) holds a listing
//! compiled into the binary. Both go through the same parser, and both list
//! a directory with the same walk (the `wdh-migrate-layout` crate), so they
//! see the same files.
//!
//! # Layouts
//!
//! The layout is detected automatically; each one is described in its
//! module under [`layout`]:
//!
//! * [`Layout::Folders`]: one folder per migration, `<version>_<name>/up.sql`
//!   and `<version>_<name>/down.sql` (the Diesel layout), with an optional
//!   Diesel `metadata.toml` ([`layout::folders`]);
//! * [`Layout::FlatPairs`]: `<version>_<name>.up.sql` and
//!   `<version>_<name>.down.sql` side by side (the sqlx and golang-migrate
//!   layout; [`layout::flat_pairs`]);
//! * [`Layout::Goose`], [`Layout::SqlMigrate`], [`Layout::Dbmate`]: one
//!   `.sql` file per migration holding both scripts in sections
//!   ([`layout::goose`], [`layout::sql_migrate`], [`layout::dbmate`]);
//! * [`Layout::Flyway`]: `V<version>__<description>.sql` and its undo
//!   `U<version>__<description>.sql` ([`layout::flyway`]).
//!
//! Mixing layouts in one directory is an error
//! ([`LoadError::MixedLayouts`]). A directory with no migration at all has
//! [`Layout::Empty`].
//!
//! # Versions and ordering
//!
//! Each layout parses its own versions and orders them the way the tool that
//! writes that layout does: Diesel folders as text, sqlx files as integers
//! (see the layout modules). The *normalized* version (for both layouts: the
//! digits without dashes) is what the ledger records.
//!
//! Two migrations with equal ordering keys (for example folders
//! `2017-01-20-174200_a` and `20170120174200_b`, or files `0001_a.up.sql`
//! and `1_b.up.sql`) are a [`LoadError::DuplicateVersion`].
//!
//! # Scripts
//!
//! A missing down script makes the migration irreversible
//! ([`Down::Missing`]); a down script with only whitespace and comments is a
//! deliberate no-op and is allowed. An *up* script with only whitespace and
//! comments (what `wdh-migrate new` writes) is a [`LoadError::EmptyUp`]: it
//! is not written yet, and applying it would record a migration that did
//! nothing.
//!
//! The comment lines at the top of a script (`--` lines and blank lines
//! before anything else) may hold directives, in every layout:
//!
//! * `-- wdh:no-transaction`: run the script outside a transaction, one
//!   statement at a time (see [`Script::statements`]);
//! * `-- wdh:irreversible`: in the up or down script, marks the migration as
//!   irreversible ([`Down::Irreversible`]);
//! * `-- wdh:allow <rule> [reason]`: acknowledges the lint rule `rule` for
//!   this file ([`Allow`], [`crate::lint`]); a rule lint does not know is an
//!   error.
//!
//! Directive names are case-insensitive and whitespace around `--`, `wdh`,
//! `:` and the name is tolerated; text after the name is a free comment. An
//! unknown `wdh:` directive is an error, and so is a `wdh:` directive placed
//! after the first statement. A layout may add directives of its own (the
//! folder layout's `metadata.toml`).
//!
//! Each script normally runs inside the runner's transaction, so top-level
//! transaction control (`BEGIN`, `START TRANSACTION`, `COMMIT`, `END`,
//! `ROLLBACK`, `ABORT`, `SAVEPOINT`, `RELEASE`, `PREPARE TRANSACTION`, ...)
//! is an error, with one exception: a script whose first statement is a bare
//! `BEGIN`/`START TRANSACTION` and whose last is a bare `COMMIT`/`END` (as
//! golang-migrate sets often have) is accepted, and those two statements are
//! blanked out by [`Script::executable_sql`]. In a `wdh:no-transaction`
//! script transaction control is left alone.
//!
//! Files are decoded as UTF-8; a leading byte-order mark is removed from
//! [`Script::sql`] and CRLF line ends are kept. Checksums are computed over
//! the raw file bytes (for a section of a sectioned file, over the
//! section's own lines).
//!
//! # Files that are not migrations
//!
//! A `README.md`, a `seed.sql` without a version, a folder whose name does
//! not start with a digit, or an extra file inside a migration folder is not
//! an error: it is reported in [`MigrationSet::ignored`] with the reason.
//! Names starting with `.` are skipped silently. A name that looks like a
//! migration but does not follow the layout (for example `0012-add.up.sql`
//! or `add_users.up.sql`) is an error.

mod direction;
mod embedded;
mod error;
pub mod layout;
mod listing;
mod read;
mod script;
mod version;

#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::sql;

pub use direction::Direction;
pub use embedded::EmbeddedMigrations;
pub use error::LoadError;
pub use layout::Layout;
pub use version::Version;

/// One SQL script of a migration (`up` or `down`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// Path relative to the root of the set, with `/` separators, e.g.
    /// `0007_add_index/up.sql` or `0007_add_index.up.sql`.
    pub path: PathBuf,
    /// The file's text, with a leading UTF-8 byte-order mark removed.
    pub sql: String,
    /// SHA-256 of the raw file bytes (byte-order mark and CRLF included);
    /// for a section of a sectioned file (goose, sql-migrate, dbmate), of
    /// the section's own lines, so each direction has its own.
    pub checksum: [u8; 32],
    /// Run outside a transaction: set by `-- wdh:no-transaction` or by a
    /// `metadata.toml` with `run_in_transaction = false`.
    pub no_transaction: bool,
    /// The script starts with a bare `BEGIN` and ends with a bare `COMMIT`;
    /// [`Script::executable_sql`] blanks them out. Always `false` for a
    /// no-transaction script.
    pub wraps_own_transaction: bool,
    /// Byte ranges of [`Script::sql`] that the script marks as one
    /// statement each (goose's and sql-migrate's `StatementBegin` …
    /// `StatementEnd`); empty in the other layouts. See
    /// [`Script::statements`].
    pub blocks: Vec<std::ops::Range<usize>>,
    /// The `-- wdh:allow <rule> [reason]` directives of its leading
    /// comments: lint findings of those rules in this file are
    /// acknowledged.
    pub allows: Vec<Allow>,
}

/// A `-- wdh:allow <rule> [reason]` directive: a reviewed decision that
/// the file's findings of `rule` are meant (see [`crate::lint`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allow {
    /// The rule's id, one of [`crate::lint::RULES`].
    pub rule: String,
    /// The text after the rule, if any.
    pub reason: Option<String>,
    /// The directive's line in the file.
    pub line: usize,
}

impl Script {
    /// The SQL to send to the server.
    ///
    /// For a script that [wraps its own transaction](Script::wraps_own_transaction),
    /// the wrapping `BEGIN` and `COMMIT` statements are replaced by spaces,
    /// one space per character (line ends are kept), so the text has the
    /// same number of characters and lines as the file and server error
    /// positions still map to it with [`sql::line_col`]. Otherwise the
    /// script's SQL unchanged.
    pub fn executable_sql(&self) -> Cow<'_, str> {
        if !self.wraps_own_transaction {
            return Cow::Borrowed(&self.sql);
        }
        let stmts = sql::split_statements(&self.sql);
        let (Some(first), Some(last)) = (stmts.first(), stmts.last()) else {
            return Cow::Borrowed(&self.sql);
        };
        if stmts.len() < 2
            || !first.is_bare(sql::TransactionControl::Begin)
            || !last.is_bare(sql::TransactionControl::Commit)
        {
            return Cow::Borrowed(&self.sql);
        }
        let blank =
            |i: usize| (first.start..first.end).contains(&i) || (last.start..last.end).contains(&i);
        let out = self
            .sql
            .char_indices()
            .map(|(i, c)| {
                if blank(i) && c != '\n' && c != '\r' {
                    ' '
                } else {
                    c
                }
            })
            .collect();
        Cow::Owned(out)
    }

    /// True if the script holds no statement (only whitespace, comments and
    /// semicolons): a deliberate no-op.
    pub fn is_empty(&self) -> bool {
        sql::is_blank(&self.sql)
    }

    /// The top-level statements of [`Script::executable_sql`], for running a
    /// no-transaction script one statement at a time: where the server's
    /// parser splits it, except that the statements inside one of the
    /// script's [blocks](Script::blocks) are one
    /// [explicit](sql::Statement::explicit) statement, kept whole. Offsets
    /// are byte offsets into [`Script::executable_sql`], which for a
    /// no-transaction script is [`Script::sql`]; map a server error position
    /// in a statement to the file with [`sql::Statement::line_col`].
    pub fn statements(&self) -> Vec<sql::Statement> {
        let sql = self.executable_sql();
        let split = sql::split_statements(&sql);
        if self.blocks.is_empty() {
            return split;
        }
        let mut out: Vec<sql::Statement> = Vec::with_capacity(split.len());
        let mut open: Option<usize> = None;
        for stmt in split {
            let block = self.blocks.iter().position(|b| b.contains(&stmt.start));
            match (block, out.last_mut()) {
                (Some(b), Some(last)) if open == Some(b) => {
                    last.end = stmt.end;
                    last.sql = sql[last.start..last.end].to_string();
                    last.control = None;
                    last.bare = false;
                }
                (Some(b), _) => {
                    open = Some(b);
                    out.push(sql::Statement {
                        explicit: true,
                        ..stmt
                    });
                }
                (None, _) => {
                    open = None;
                    out.push(stmt);
                }
            }
        }
        out
    }

    /// The checksum as 64 lowercase hexadecimal digits.
    pub fn checksum_hex(&self) -> String {
        hex(&self.checksum)
    }
}

/// The down side of a migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Down {
    /// A down script; it may be [empty](Script::is_empty), a deliberate no-op.
    Script(Script),
    /// There is no down script: the migration cannot be reverted.
    Missing,
    /// `-- wdh:irreversible` appears in the up or down script: the migration
    /// cannot be reverted. Holds the down script if there is one.
    Irreversible(Option<Script>),
}

impl Down {
    /// The down script, if there is a file (also for an irreversible one).
    pub fn script(&self) -> Option<&Script> {
        match self {
            Down::Script(s) | Down::Irreversible(Some(s)) => Some(s),
            Down::Missing | Down::Irreversible(None) => None,
        }
    }
}

/// One migration: a version, a name, an up script and its down side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// The version.
    pub version: Version,
    /// The name after `<version>_`, e.g. `create_users`.
    pub name: String,
    /// The up script.
    pub up: Script,
    /// The down side.
    pub down: Down,
    /// The Alembic revision it was converted from (the `[alembic]` table of
    /// its `metadata.toml`), if it was.
    pub alembic: Option<AlembicRevision>,
}

/// The Alembic revision a migration was converted from, with the revisions
/// it builds on: what adopting an Alembic-migrated database follows from
/// the heads `alembic_version` lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlembicRevision {
    /// The revision id.
    pub revision: String,
    /// Its `down_revision` (none for a root, several for a merge).
    pub down_revision: Vec<String>,
    /// Its `depends_on`.
    pub depends_on: Vec<String>,
}

impl Migration {
    /// True if the migration can be reverted: it has a down script and is
    /// not marked irreversible.
    pub fn is_reversible(&self) -> bool {
        matches!(self.down, Down::Script(_))
    }

    /// True if reverting is allowed and does nothing (an empty down script).
    pub fn down_is_noop(&self) -> bool {
        matches!(&self.down, Down::Script(s) if s.is_empty())
    }
}

/// A file or folder of the migration directory that is not part of any
/// migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoredFile {
    /// Path relative to the root of the set, with `/` separators.
    pub path: PathBuf,
    /// Why it is not a migration.
    pub reason: String,
}

/// A loaded, validated, ordered set of migrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationSet {
    /// The detected layout.
    pub layout: Layout,
    /// The migrations, in ascending version order.
    pub migrations: Vec<Migration>,
    /// Files and folders that are not migrations, in path order.
    pub ignored: Vec<IgnoredFile>,
}

impl MigrationSet {
    /// Checks, without reading it, that the migration directory `dir` exists
    /// and is a directory: the errors [`MigrationSet::load`] would give for
    /// it, cheaply, before any work.
    pub fn check_directory(dir: &Path) -> Result<(), LoadError> {
        read::check_dir(dir)
    }

    /// Reads and parses the migration directory `dir`.
    ///
    /// Reads the entries of `dir` and the files directly inside the folders
    /// a layout lists (folders whose name starts with a digit); other
    /// folders are reported as ignored without being read. Then parses the
    /// listing with [`MigrationSet::from_files`].
    pub fn load(dir: &Path) -> Result<MigrationSet, LoadError> {
        let files = read::read_listing(dir)?;
        MigrationSet::from_files(dir, files)
    }

    /// Like [`MigrationSet::load`], but an up script with no statement yet
    /// is not an error: for tools that add a migration next to ones not
    /// written yet (`wdh-migrate new`). Never run such a set.
    pub fn load_drafts(dir: &Path) -> Result<MigrationSet, LoadError> {
        let files = read::read_listing(dir)?;
        listing::parse(dir, files, listing::Drafts::Allow)
    }

    /// Parses a listing of files.
    ///
    /// Each entry is a path relative to the set root, with `/` separators,
    /// and the file's bytes. A path ending in `/` (with empty contents)
    /// stands for a folder; folder entries let empty migration folders and
    /// unread folders be reported. Contents are only examined for the files
    /// a layout reads (`.sql` files and Flyway's `.sql.conf` files at the
    /// top level; `up.sql`, `down.sql` and `metadata.toml` inside a
    /// versioned folder; see `wdh_migrate_layout::reads`), so a listing may
    /// give empty contents for other files.
    ///
    /// `root_display` is only used to name paths in errors.
    ///
    /// An up script with no statement (only comments, whitespace or
    /// semicolons) is a [`LoadError::EmptyUp`].
    pub fn from_files(
        root_display: &Path,
        files: Vec<(PathBuf, Vec<u8>)>,
    ) -> Result<MigrationSet, LoadError> {
        listing::parse(root_display, files, listing::Drafts::Refuse)
    }

    /// SHA-256 identifying the set: over each migration's normalized
    /// version, name, up checksum and down checksum (or a marker for a
    /// missing or irreversible down), in order.
    pub fn checksum(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"wdh-migrate set 1\0");
        let field = |h: &mut Sha256, bytes: &[u8]| {
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        };
        for m in &self.migrations {
            field(&mut h, m.version.normalized().as_bytes());
            field(&mut h, m.name.as_bytes());
            h.update(m.up.checksum);
            match &m.down {
                Down::Script(s) => {
                    h.update(b"S");
                    h.update(s.checksum);
                }
                Down::Missing => h.update(b"M"),
                Down::Irreversible(Some(s)) => {
                    h.update(b"I");
                    h.update(s.checksum);
                }
                Down::Irreversible(None) => h.update(b"N"),
            }
        }
        h.finalize().into()
    }

    /// [`MigrationSet::checksum`] as 64 lowercase hexadecimal digits.
    pub fn checksum_hex(&self) -> String {
        hex(&self.checksum())
    }

    /// The migration with the given version.
    ///
    /// `version` is compared with the set's ordering key, so the normalized
    /// form stored in the ledger matches, and so do the raw form with dashes
    /// and (in the flat layout) the form without leading zeros.
    pub fn find(&self, version: &str) -> Option<&Migration> {
        let wanted = Version::parse(version, self.layout)?;
        self.migrations.iter().find(|m| m.version == wanted)
    }
}

/// Lowercase hexadecimal encoding.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}
