//! `wdh.toml`: the configuration file, its keys and how it is found.
//! Unknown keys are errors; paths in it are relative to the file.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;
use wdh_migrate_core::guard::{RuleSource, SafetyPolicy};
use wdh_migrate_core::lint::Thresholds;

/// `wdh.toml`. Unknown keys are errors.
#[derive(Debug, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The database URL (lowest precedence).
    pub database_url: Option<String>,
    /// The migrations folder, relative to the file.
    pub migrations: Option<PathBuf>,
    /// Whole words of a database name that make it safe.
    pub safe_words: Option<Vec<String>>,
    /// Name prefixes that make a database safe.
    pub safe_prefixes: Option<Vec<String>>,
    /// How long to wait for another run's lock.
    pub lock_wait: Option<String>,
    /// The run lock's lease.
    pub lock_lease: Option<String>,
    /// Each attempt's lock_timeout (`100ms..1s`, `2s`, or `0`: the server's).
    pub lock_timeout: Option<String>,
    /// How long a migration retries when it cannot get a lock in time.
    pub lock_budget: Option<String>,
    /// statement_timeout for migration statements.
    pub statement_timeout: Option<String>,
    /// Lint: a table with at least this many rows is large.
    pub large_table_rows: Option<u64>,
    /// Lint: a table of at least this many MB (table, indexes and TOAST) is large.
    pub large_table_mb: Option<u64>,
    /// Where destructive runs write their snapshots, relative to the file.
    pub snapshot_dir: Option<PathBuf>,
}

/// A loaded configuration file and where it is.
#[derive(Debug, Default)]
pub struct Config {
    pub file: Option<PathBuf>,
    pub values: ConfigFile,
}

/// Loads `path` (given with `--config`, so it must exist) or, with none,
/// `./wdh.toml` when it exists. A symbolic link that leads nowhere, or a
/// path that is not a regular file (a FIFO would block the read), is an
/// error, not "no configuration".
pub fn load(path: Option<&Path>) -> Result<Config> {
    let (path, explicit) = match path {
        Some(p) => (p.to_path_buf(), true),
        None => (PathBuf::from("wdh.toml"), false),
    };
    match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if explicit {
                bail!("the configuration file {} does not exist", path.display());
            }
            return Ok(Config::default());
        }
        Err(e) => {
            return Err(anyhow!(e).context(format!("reading {}", path.display())));
        }
        Ok(link) if link.file_type().is_symlink() => match std::fs::metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "the configuration file {} is a symbolic link to {}, which does not exist; \
                 fix the link or remove it",
                path.display(),
                std::fs::read_link(&path)
                    .map(|t| t.display().to_string())
                    .unwrap_or_else(|_| "an unreadable target".into())
            ),
            Err(e) => return Err(anyhow!(e).context(format!("reading {}", path.display()))),
            Ok(meta) => regular(&path, &meta)?,
        },
        Ok(meta) => regular(&path, &meta)?,
    }
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let values: ConfigFile =
        toml::from_str(&text).map_err(|e| anyhow!("{}: {}", path.display(), e.message()))?;
    let config = Config {
        file: Some(path),
        values,
    };
    // A safe word or prefix that could mark the wrong databases safe is a
    // configuration error for every command, before any work. The message
    // names the file.
    config.policy().check().map_err(|e| anyhow!("{e}"))?;
    Ok(config)
}

/// Refuses a configuration path that is not a regular file.
fn regular(path: &Path, meta: &std::fs::Metadata) -> Result<()> {
    if meta.is_file() {
        return Ok(());
    }
    let what = if meta.is_dir() {
        "a folder"
    } else {
        "not a regular file (a FIFO, a socket or a device)"
    };
    bail!(
        "the configuration file {} is {what}, so it is not read; make it a regular TOML file",
        path.display()
    )
}

impl Config {
    /// A path from the file, relative to the file's folder.
    pub fn relative(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            return path.to_path_buf();
        }
        match &self.file {
            Some(file) => file.parent().unwrap_or(Path::new(".")).join(path),
            None => path.to_path_buf(),
        }
    }

    /// The safety policy: the library's default lists, replaced by the
    /// file's `safe_words` and `safe_prefixes` where given, each list
    /// marked with the file it comes from (so every destructive run can
    /// name it).
    pub fn policy(&self) -> SafetyPolicy {
        let mut policy = SafetyPolicy::default();
        let from = || RuleSource::File(PathBuf::from(self.file_display()));
        if let Some(words) = &self.values.safe_words {
            policy.safe_words = words.clone();
            policy.words_from = from();
        }
        if let Some(prefixes) = &self.values.safe_prefixes {
            policy.safe_prefixes = prefixes.clone();
            policy.prefixes_from = from();
        }
        policy
    }

    /// When lint counts a table as large: the file's `large_table_rows` and
    /// `large_table_mb`, else the library's defaults.
    pub fn thresholds(&self) -> Thresholds {
        let defaults = Thresholds::default();
        Thresholds {
            rows: self.values.large_table_rows.unwrap_or(defaults.rows),
            bytes: self
                .values
                .large_table_mb
                .map_or(defaults.bytes, |mb| mb.saturating_mul(1024 * 1024)),
        }
    }

    /// The file's path, absolute where it can be made so, for messages.
    fn file_display(&self) -> String {
        match &self.file {
            Some(file) => std::path::absolute(file)
                .unwrap_or_else(|_| file.clone())
                .display()
                .to_string(),
            None => "no configuration file".to_owned(),
        }
    }
}
