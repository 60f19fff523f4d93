//! Loading a migration set from a directory or from embedded files.
//!
//! Loading is pure: a directory is first turned into a *listing* (relative
//! paths and file contents), and [`MigrationSet::from_files`] parses that
//! listing. [`MigrationSet::load`] reads a directory into a listing;
//! [`EmbeddedMigrations`] (built by `embed_migrations!`) holds a listing
//! compiled into the binary. Both go through the same parser.
//!
//! # Layouts
//!
//! The layout is detected automatically:
//!
//! * [`Layout::Folders`]: one folder per migration, `<version>_<name>/up.sql`
//!   and `<version>_<name>/down.sql` (the Diesel layout), for example
//!   `2017-01-20-174200_create_users/` or `0007_add_index/`. An optional
//!   Diesel `metadata.toml` containing `run_in_transaction = false` makes both
//!   scripts run outside a transaction. Folder names may contain spaces.
//! * [`Layout::FlatPairs`]: `<version>_<name>.up.sql` and
//!   `<version>_<name>.down.sql` side by side (the sqlx and golang-migrate
//!   layout).
//!
//! Mixing both layouts in one directory is an error. A directory with no
//! migration at all has [`Layout::Empty`].
//!
//! # Versions and ordering
//!
//! The version is the leading run of digits and dashes (it must start with a
//! digit) before the first `_`; the name is everything after that `_`.
//! Dashes are ignored: the *normalized* version is the digits alone
//! (`2017-01-20-174200` becomes `20170120174200`), and that is what the
//! ledger records.
//!
//! Migrations are ordered the way the tool that writes each layout orders
//! them:
//!
//! * folders, like Diesel: the normalized versions are compared **as text**.
//!   Real Diesel sets mix 14-digit (`20170831...`) and 18-digit
//!   (`2025-11-19-091444-0000`) versions; text order keeps them
//!   chronological;
//! * flat pairs, like sqlx and golang-migrate: the versions are compared **as
//!   integers**, so `9` comes before `10`. Leading zeros are ignored and the
//!   comparison is done on the digits (length, then text), so any length of
//!   version works without overflow.
//!
//! Two migrations with equal ordering keys (for example folders
//! `2017-01-20-174200_a` and `20170120174200_b`, or files `0001_a.up.sql`
//! and `1_b.up.sql`) are a [`LoadError::DuplicateVersion`].
//!
//! # Scripts
//!
//! A missing down script makes the migration irreversible
//! ([`Down::Missing`]); a down script with only whitespace and comments is a
//! deliberate no-op and is allowed.
//!
//! The comment lines at the top of a script (`--` lines and blank lines
//! before anything else) may hold directives:
//!
//! * `-- wdh:no-transaction`: run the script outside a transaction, one
//!   statement at a time (see [`Script::statements`]);
//! * `-- wdh:irreversible`: in `up.sql` or `down.sql`, marks the migration as
//!   irreversible ([`Down::Irreversible`]).
//!
//! Directive names are case-insensitive and whitespace around `--`, `wdh`,
//! `:` and the name is tolerated; text after the name is a free comment. An
//! unknown `wdh:` directive is an error, and so is a `wdh:` directive placed
//! after the first statement.
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
//! the raw file bytes.
//!
//! # Files that are not migrations
//!
//! A `README.md`, a `seed.sql` without a version, a folder whose name does
//! not start with a digit, or an extra file inside a migration folder is not
//! an error: it is reported in [`MigrationSet::ignored`] with the reason.
//! Names starting with `.` are skipped silently. A name that looks like a
//! migration but does not follow the layout (for example `0012-add.up.sql`
//! or `add_users.up.sql`) is an error.

mod listing;
mod read;
mod script;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::sql;

/// The layout of a migration directory. See the [module documentation](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layout {
    /// One folder per migration holding `up.sql` and `down.sql` (Diesel).
    Folders,
    /// `<version>_<name>.up.sql` and `.down.sql` files (sqlx, golang-migrate).
    FlatPairs,
    /// No migration found.
    Empty,
}

/// The ordering key of a version; see the [module documentation](self).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum VersionKey {
    /// Normalized digits compared as text (folder layout).
    Text(String),
    /// Digits without leading zeros, compared as an integer (flat layout).
    Integer(String),
}

impl Ord for VersionKey {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Self::Text(a), Self::Text(b)) => a.cmp(b),
            (Self::Integer(a), Self::Integer(b)) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
            (Self::Text(_), Self::Integer(_)) => Ordering::Less,
            (Self::Integer(_), Self::Text(_)) => Ordering::Greater,
        }
    }
}

impl PartialOrd for VersionKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A migration version.
///
/// Equality, ordering and hashing use the layout-dependent ordering key
/// described in the [module documentation](self): in the flat layout `0001`
/// and `1` are equal. [`Display`](fmt::Display) shows the normalized digits.
#[derive(Debug, Clone)]
pub struct Version {
    raw: String,
    normalized: String,
    key: VersionKey,
}

impl Version {
    /// Parses a version as written (digits and dashes, starting with a
    /// digit) with the ordering of `layout` ([`Layout::Empty`] orders like
    /// [`Layout::Folders`]). Returns `None` if `raw` is not a version.
    pub fn parse(raw: &str, layout: Layout) -> Option<Version> {
        if !raw.starts_with(|c: char| c.is_ascii_digit())
            || !raw.chars().all(|c| c.is_ascii_digit() || c == '-')
        {
            return None;
        }
        let normalized: String = raw.chars().filter(char::is_ascii_digit).collect();
        let key = match layout {
            Layout::FlatPairs => {
                VersionKey::Integer(normalized.trim_start_matches('0').to_string())
            }
            Layout::Folders | Layout::Empty => VersionKey::Text(normalized.clone()),
        };
        Some(Version {
            raw: raw.to_string(),
            normalized,
            key,
        })
    }

    /// The version as written in the file or folder name, dashes included.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The digits of the version without dashes; this is what the ledger
    /// records.
    pub fn normalized(&self) -> &str {
        &self.normalized
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Version {}

impl Hash for Version {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.normalized)
    }
}

/// One SQL script of a migration (`up` or `down`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// Path relative to the root of the set, with `/` separators, e.g.
    /// `0007_add_index/up.sql` or `0007_add_index.up.sql`.
    pub path: PathBuf,
    /// The file's text, with a leading UTF-8 byte-order mark removed.
    pub sql: String,
    /// SHA-256 of the raw file bytes (byte-order mark and CRLF included).
    pub checksum: [u8; 32],
    /// Run outside a transaction: set by `-- wdh:no-transaction` or by a
    /// `metadata.toml` with `run_in_transaction = false`.
    pub no_transaction: bool,
    /// The script starts with a bare `BEGIN` and ends with a bare `COMMIT`;
    /// [`Script::executable_sql`] blanks them out. Always `false` for a
    /// no-transaction script.
    pub wraps_own_transaction: bool,
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
            || sql::bare_begin_or_commit(&first.sql) != Some(sql::TransactionControl::Begin)
            || sql::bare_begin_or_commit(&last.sql) != Some(sql::TransactionControl::Commit)
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
    /// no-transaction script one statement at a time. Offsets are byte
    /// offsets into [`Script::executable_sql`], which for a no-transaction
    /// script is [`Script::sql`]; map a server error position in a statement
    /// to the file with [`sql::Statement::line_col`].
    pub fn statements(&self) -> Vec<sql::Statement> {
        sql::split_statements(&self.executable_sql())
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
    /// Reads and parses the migration directory `dir`.
    ///
    /// Reads the entries of `dir` and the files directly inside folders whose
    /// name starts with a digit; other folders are reported as ignored
    /// without being read. Then parses the listing with
    /// [`MigrationSet::from_files`].
    pub fn load(dir: &Path) -> Result<MigrationSet, LoadError> {
        let files = read::read_listing(dir)?;
        MigrationSet::from_files(dir, files)
    }

    /// Parses a listing of files.
    ///
    /// Each entry is a path relative to the set root, with `/` separators,
    /// and the file's bytes. A path ending in `/` (with empty contents)
    /// stands for a folder; folder entries let empty migration folders and
    /// unread folders be reported. Contents are only examined for files that
    /// can be part of a migration (`*.up.sql` and `*.down.sql` at the top
    /// level; `up.sql`, `down.sql` and `metadata.toml` inside a versioned
    /// folder), so a listing may give empty contents for other files.
    ///
    /// `root_display` is only used to name paths in errors.
    pub fn from_files(
        root_display: &Path,
        files: Vec<(PathBuf, Vec<u8>)>,
    ) -> Result<MigrationSet, LoadError> {
        listing::parse(root_display, files)
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

/// Why a migration set could not be loaded. Every variant names the file or
/// folder at fault.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The migration directory does not exist.
    #[error("migration directory {path} does not exist; create it or point to the directory that holds the migrations")]
    MissingDirectory {
        /// The directory.
        path: PathBuf,
    },
    /// The migration directory path is not a directory.
    #[error("{path} is not a directory; point to the directory that holds the migrations")]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// A directory could not be listed.
    #[error("cannot list directory {path}; check that it is readable")]
    ReadDir {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A file could not be read.
    #[error("cannot read {path}; check that it is a readable file")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A file is not valid UTF-8.
    #[error("{path} is not valid UTF-8 (first invalid byte at offset {offset}); save it as UTF-8")]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// Byte offset of the first invalid byte in the file.
        offset: usize,
    },
    /// Two migrations have the same version.
    #[error(
        "{first} and {second} have the same version {version}; give one of them another version"
    )]
    DuplicateVersion {
        /// The normalized version.
        version: String,
        /// The first migration (folder or file).
        first: PathBuf,
        /// The second migration (folder or file).
        second: PathBuf,
    },
    /// A versioned folder has no `up.sql`.
    #[error("migration folder {path} has no up.sql; add one, or move the folder out of the migration directory")]
    MissingUp {
        /// The folder.
        path: PathBuf,
    },
    /// A file or folder looks like a migration but its name does not follow
    /// the layout.
    #[error("{path} looks like a migration but {problem}")]
    MalformedName {
        /// The file or folder.
        path: PathBuf,
        /// What is wrong and the expected form.
        problem: String,
    },
    /// A `.down.sql` file has no `.up.sql` with the same version.
    #[error("{path} has no matching .up.sql with the same version; add the up script, or remove the down script")]
    OrphanDown {
        /// The down file.
        path: PathBuf,
    },
    /// An up and a down file share a version but not a name.
    #[error(
        "{up} and {down} have the same version but different names; rename one so the names match"
    )]
    PairMismatch {
        /// The up file.
        up: PathBuf,
        /// The down file.
        down: PathBuf,
    },
    /// The directory mixes migration folders and flat `.up.sql`/`.down.sql`
    /// files.
    #[error("{path} mixes migration folders (such as {folder}) and flat .up.sql/.down.sql files (such as {file}); use one layout")]
    MixedLayouts {
        /// The migration directory.
        path: PathBuf,
        /// A migration folder.
        folder: PathBuf,
        /// A flat migration file.
        file: PathBuf,
    },
    /// A `-- wdh:` directive is not known.
    #[error("{path}:{line}: unknown directive `wdh:{directive}`; the directives are `-- wdh:no-transaction` and `-- wdh:irreversible`")]
    UnknownDirective {
        /// The script.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The directive name as written.
        directive: String,
    },
    /// A `-- wdh:` directive appears after the first statement.
    #[error("{path}:{line}: directive `wdh:{directive}` is after the first statement and would have no effect; move it to the comment lines at the top of the file")]
    MisplacedDirective {
        /// The script.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The directive name as written.
        directive: String,
    },
    /// A script that runs in a transaction contains transaction control.
    #[error("{path}:{line}: `{statement}` controls the transaction, but the script already runs inside one; remove it, or put `-- wdh:no-transaction` at the top of the file to manage transactions yourself")]
    TransactionControl {
        /// The script.
        path: PathBuf,
        /// 1-based line of the statement.
        line: usize,
        /// The start of the statement.
        statement: String,
    },
    /// A `metadata.toml` is invalid.
    #[error("{path}: {problem}")]
    Metadata {
        /// The metadata file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
}

impl LoadError {
    /// The file or folder the error is about (for errors naming two, the
    /// second one).
    pub fn path(&self) -> &Path {
        match self {
            LoadError::MissingDirectory { path }
            | LoadError::NotADirectory { path }
            | LoadError::ReadDir { path, .. }
            | LoadError::ReadFile { path, .. }
            | LoadError::NotUtf8 { path, .. }
            | LoadError::MissingUp { path }
            | LoadError::MalformedName { path, .. }
            | LoadError::OrphanDown { path }
            | LoadError::MixedLayouts { path, .. }
            | LoadError::UnknownDirective { path, .. }
            | LoadError::MisplacedDirective { path, .. }
            | LoadError::TransactionControl { path, .. }
            | LoadError::Metadata { path, .. } => path,
            LoadError::DuplicateVersion { second, .. } => second,
            LoadError::PairMismatch { down, .. } => down,
        }
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
