//! Why a migration set could not be loaded.

use std::io;
use std::path::{Path, PathBuf};

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
    /// A file a layout reads is not a regular file (a FIFO, a socket, a
    /// device); it is not opened, as reading it could block forever.
    #[error("{path} is {kind}, not a regular file, so it is not read (reading it could block forever); replace it with a regular file holding the script")]
    NotAFile {
        /// The entry.
        path: PathBuf,
        /// What it is, e.g. `a FIFO (named pipe)`.
        kind: &'static str,
    },
    /// A symbolic link in the migration directory resolves outside it.
    #[error("{path} is a symbolic link to {target}, outside the migration directory {root}; links are followed only when they resolve inside it: copy the file into the directory instead")]
    LinkOutside {
        /// The link.
        path: PathBuf,
        /// Where it resolves to.
        target: PathBuf,
        /// The migration directory, canonical.
        root: PathBuf,
    },
    /// A file is not valid UTF-8.
    #[error("{path} is not valid UTF-8 (first invalid byte at offset {offset}); save it as UTF-8")]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// Byte offset of the first invalid byte in the file.
        offset: usize,
    },
    /// A file holds a NUL byte, which PostgreSQL takes in no query text.
    #[error("{path} holds a NUL byte at offset {offset}; PostgreSQL takes no query text with one: remove it")]
    NulByte {
        /// The file.
        path: PathBuf,
        /// Byte offset of the NUL byte in the file.
        offset: usize,
    },
    /// A no-transaction script that PostgreSQL's parser rejects: its
    /// statements are sent one at a time, so each must be found exactly.
    #[error(
        "{path} runs outside a transaction, one statement at a time, but PostgreSQL's parser rejects it ({message}); \
         fix the SQL (statements of a no-transaction script are only split where the server's parser splits them)"
    )]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
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
    /// An up script holds no statement yet (only comments, whitespace or
    /// semicolons), as `new` writes it. An empty *down* script is allowed:
    /// a deliberate no-op.
    #[error("{path} has no statement yet (only comments or whitespace); write the migration's SQL in it, or remove the migration if it is not needed")]
    EmptyUp {
        /// The up script.
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
    /// The directory mixes two layouts (migration folders and flat
    /// `.up.sql`/`.down.sql` files, goose and dbmate files, …).
    #[error("{path} mixes {first_layout} (such as {first}) and {second_layout} (such as {second}); use one layout")]
    MixedLayouts {
        /// The migration directory.
        path: PathBuf,
        /// What the first layout's migrations are, e.g. `migration folders`.
        first_layout: &'static str,
        /// A migration of the first layout.
        first: PathBuf,
        /// What the second layout's migrations are.
        second_layout: &'static str,
        /// A migration of the second layout.
        second: PathBuf,
    },
    /// A line of a migration file that the layout refuses: a section marker
    /// out of place, an unknown annotation, goose's `ENVSUB ON`, a Flyway
    /// placeholder, SQL before the up section, …
    #[error("{path}:{line}: {problem}")]
    Directive {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong and what to do.
        problem: String,
    },
    /// A Flyway repeatable migration (`R__<description>.sql`).
    #[error("{path} is a Flyway repeatable migration (R__), which wdh-migrate does not run: make it a versioned migration (`V<version>__<description>.sql`) holding the change, or move it out of the migration directory")]
    Repeatable {
        /// The file.
        path: PathBuf,
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
    /// A script that runs in a transaction, that PostgreSQL's parser rejects,
    /// has a statement that starts like transaction control: split at its
    /// semicolons alone, it may be one, and a server of another version
    /// may run the script.
    #[error(
        "{path}:{line}: `{statement}` may control the transaction, but the script already runs inside one: the PostgreSQL \
         parser built into wdh-migrate (PostgreSQL {parser}) rejects this script ({message}), so its statements are told \
         apart at its semicolons alone, and this one starts like transaction control. If it is, remove it; either way, fix \
         what the parser rejects (a word that a newer PostgreSQL reserves, such as system_user, can be double-quoted)"
    )]
    UnparsedTransactionControl {
        /// The script.
        path: PathBuf,
        /// 1-based line of the statement.
        line: usize,
        /// The start of the statement.
        statement: String,
        /// The parser's message.
        message: String,
        /// The major version of PostgreSQL whose parser rejects the script.
        parser: u32,
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
            | LoadError::NotAFile { path, .. }
            | LoadError::LinkOutside { path, .. }
            | LoadError::NotUtf8 { path, .. }
            | LoadError::NulByte { path, .. }
            | LoadError::Syntax { path, .. }
            | LoadError::MissingUp { path }
            | LoadError::EmptyUp { path }
            | LoadError::MalformedName { path, .. }
            | LoadError::OrphanDown { path }
            | LoadError::MixedLayouts { path, .. }
            | LoadError::UnknownDirective { path, .. }
            | LoadError::MisplacedDirective { path, .. }
            | LoadError::TransactionControl { path, .. }
            | LoadError::UnparsedTransactionControl { path, .. }
            | LoadError::Metadata { path, .. }
            | LoadError::Directive { path, .. }
            | LoadError::Repeatable { path } => path,
            LoadError::DuplicateVersion { second, .. } => second,
            LoadError::PairMismatch { down, .. } => down,
        }
    }
}
