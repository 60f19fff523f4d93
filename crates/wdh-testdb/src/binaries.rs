//! Finding the PostgreSQL server binaries.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};

/// A directory holding `initdb` and `postgres`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgBinaries {
    bindir: PathBuf,
}

impl PgBinaries {
    /// Use the binaries in `bindir`; fails when `initdb` or `postgres` is missing there.
    pub fn in_dir(bindir: impl Into<PathBuf>) -> Result<PgBinaries> {
        let bindir = bindir.into();
        if has_server(&bindir) {
            Ok(PgBinaries { bindir })
        } else {
            Err(Error::BinariesNotFound {
                searched: vec![bindir],
            })
        }
    }

    /// The directory.
    pub fn bindir(&self) -> &Path {
        &self.bindir
    }

    /// Path of one binary, e.g. `initdb`.
    pub fn bin(&self, name: &str) -> PathBuf {
        self.bindir.join(name)
    }
}

/// Where to look for the binaries, in order: an explicit directory
/// (`PG_BINDIR`), `pg_config --bindir`, the newest `<root>/*/bin` under
/// `/usr/lib/postgresql`, then each directory of `PATH`.
///
/// An explicit directory is never second-guessed: when it lacks the binaries
/// the search fails instead of silently picking another installation.
#[derive(Debug, Clone)]
pub struct Locator {
    /// An explicit directory (what `PG_BINDIR` says).
    pub explicit: Option<PathBuf>,
    /// The `pg_config` program to ask, if any.
    pub pg_config: Option<PathBuf>,
    /// The root holding one folder per major version (`/usr/lib/postgresql`).
    pub versioned_root: Option<PathBuf>,
    /// The search path (what `PATH` says).
    pub path: Option<OsString>,
}

impl Locator {
    /// The standard search: `PG_BINDIR`, `pg_config` on `PATH`,
    /// `/usr/lib/postgresql/*/bin`, `PATH`.
    pub fn from_env() -> Locator {
        let path = std::env::var_os("PATH");
        let pg_config = path.as_ref().and_then(|p| {
            std::env::split_paths(p)
                .map(|d| d.join("pg_config"))
                .find(|c| c.is_file())
        });
        Locator {
            explicit: std::env::var_os("PG_BINDIR")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            pg_config,
            versioned_root: Some(PathBuf::from("/usr/lib/postgresql")),
            path,
        }
    }

    /// Runs the search.
    pub fn locate(&self) -> Result<PgBinaries> {
        if let Some(dir) = &self.explicit {
            return PgBinaries::in_dir(dir);
        }
        let mut searched = Vec::new();
        if let Some(pg_config) = &self.pg_config {
            if let Some(dir) = pg_config_bindir(pg_config) {
                if has_server(&dir) {
                    return Ok(PgBinaries { bindir: dir });
                }
                searched.push(dir);
            } else {
                searched.push(pg_config.clone());
            }
        }
        if let Some(root) = &self.versioned_root {
            let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|e| {
                    let major = e
                        .file_name()
                        .to_str()?
                        .split('.')
                        .next()?
                        .parse::<u32>()
                        .ok()?;
                    Some((major, e.path().join("bin")))
                })
                .collect();
            versions.sort();
            if let Some((_, dir)) = versions.iter().rev().find(|(_, d)| has_server(d)) {
                return Ok(PgBinaries {
                    bindir: dir.clone(),
                });
            }
            searched.push(root.join("*/bin"));
        }
        if let Some(path) = &self.path {
            for dir in std::env::split_paths(path) {
                if has_server(&dir) {
                    return Ok(PgBinaries { bindir: dir });
                }
                searched.push(dir);
            }
        }
        Err(Error::BinariesNotFound { searched })
    }
}

fn has_server(dir: &Path) -> bool {
    dir.join("initdb").is_file() && dir.join("postgres").is_file()
}

fn pg_config_bindir(pg_config: &Path) -> Option<PathBuf> {
    let out = Command::new(pg_config).arg("--bindir").output().ok()?;
    if !out.status.success() {
        return None;
    }
    let dir = String::from_utf8(out.stdout).ok()?;
    Some(PathBuf::from(dir.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nothing() -> Locator {
        Locator {
            explicit: None,
            pg_config: None,
            versioned_root: None,
            path: None,
        }
    }

    #[test]
    fn explicit_directory_without_binaries_is_an_error_naming_it() {
        let empty = std::env::temp_dir();
        let err = Locator {
            explicit: Some(empty.clone()),
            ..Locator::from_env()
        }
        .locate()
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(&empty.display().to_string()), "{msg}");
        assert!(msg.contains("apt-get install postgresql"), "{msg}");
    }

    #[test]
    fn empty_search_lists_every_place() {
        let root = PathBuf::from("/nonexistent/pg");
        let err = Locator {
            versioned_root: Some(root),
            path: Some(OsString::from("/nonexistent/a:/nonexistent/b")),
            ..nothing()
        }
        .locate()
        .unwrap_err();
        let msg = err.to_string();
        for p in [
            "/nonexistent/pg/*/bin",
            "/nonexistent/a",
            "/nonexistent/b",
            "PG_BINDIR",
        ] {
            assert!(msg.contains(p), "{p} missing from: {msg}");
        }
    }
}
