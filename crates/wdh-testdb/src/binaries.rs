//! Finding the PostgreSQL server binaries and the PgBouncer program.

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

/// The `<root>/<major>/bin` folders under `root`, oldest first.
fn versioned_bindirs(root: &Path) -> Vec<(u32, PathBuf)> {
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
    versions
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

    /// Every place `program` (a client program such as `pg_dump`) may be,
    /// in the search's order: the explicit directory, the versioned root's
    /// folders newest first, then `PATH`'s directories (`pg_config` is not
    /// run: its directory is on `PATH`). Only files that exist, each once.
    pub fn candidates(&self, program: &str) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = Vec::new();
        if let Some(dir) = &self.explicit {
            dirs.push(dir.clone());
        }
        if let Some(root) = &self.versioned_root {
            let versions = versioned_bindirs(root);
            dirs.extend(versions.into_iter().rev().map(|(_, d)| d));
        }
        if let Some(path) = &self.path {
            dirs.extend(std::env::split_paths(path));
        }
        let mut out: Vec<PathBuf> = Vec::new();
        for d in dirs {
            let p = d.join(program);
            if p.is_file() && !out.contains(&p) {
                out.push(p);
            }
        }
        out
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
            let versions = versioned_bindirs(root);
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

/// Where to look for the `pgbouncer` program, in order: an explicit program
/// (`PGBOUNCER`), each directory of `PATH`, then the fixed places
/// (`/usr/sbin/pgbouncer`, where the Debian package puts it, outside a
/// normal user's `PATH`).
///
/// An explicit program is never second-guessed: when it is not a file the
/// search fails instead of silently picking another installation.
#[derive(Debug, Clone)]
pub struct PgBouncerLocator {
    /// An explicit program (what `PGBOUNCER` says).
    pub explicit: Option<PathBuf>,
    /// The search path (what `PATH` says).
    pub path: Option<OsString>,
    /// Programs tried after `PATH`.
    pub fixed: Vec<PathBuf>,
}

impl PgBouncerLocator {
    /// The standard search: `PGBOUNCER`, `PATH`, `/usr/sbin/pgbouncer`.
    pub fn from_env() -> PgBouncerLocator {
        PgBouncerLocator {
            explicit: std::env::var_os("PGBOUNCER")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            path: std::env::var_os("PATH"),
            fixed: vec![PathBuf::from("/usr/sbin/pgbouncer")],
        }
    }

    /// Runs the search; returns the program's path.
    pub fn locate(&self) -> Result<PathBuf> {
        if let Some(program) = &self.explicit {
            return if program.is_file() {
                Ok(program.clone())
            } else {
                Err(Error::PgBouncerNotFound {
                    searched: vec![program.clone()],
                })
            };
        }
        let on_path = self
            .path
            .iter()
            .flat_map(std::env::split_paths)
            .map(|dir| dir.join("pgbouncer"));
        let mut searched = Vec::new();
        for program in on_path.chain(self.fixed.iter().cloned()) {
            if program.is_file() {
                return Ok(program);
            }
            searched.push(program);
        }
        Err(Error::PgBouncerNotFound { searched })
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
    fn a_client_programs_candidates_come_in_the_searchs_order_each_once() {
        let root = tempfile::tempdir().unwrap();
        let make = |dir: &std::path::Path| {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(dir.join("pg_dump"), "").unwrap();
            dir.join("pg_dump")
        };
        let explicit = make(&root.path().join("explicit"));
        let v14 = make(&root.path().join("versions/14/bin"));
        let v16 = make(&root.path().join("versions/16/bin"));
        std::fs::create_dir_all(root.path().join("versions/notes")).unwrap();
        let on_path = make(&root.path().join("path"));
        let locator = Locator {
            explicit: Some(root.path().join("explicit")),
            pg_config: None,
            versioned_root: Some(root.path().join("versions")),
            path: Some(OsString::from(format!(
                "{}:/nonexistent:{}",
                root.path().join("path").display(),
                root.path().join("versions/16/bin").display()
            ))),
        };
        assert_eq!(locator.candidates("pg_dump"), [explicit, v16, v14, on_path]);
        assert!(locator.candidates("pg_restore").is_empty());
    }

    #[test]
    fn pgbouncer_is_found_on_path_before_the_fixed_places() {
        let dir = tempfile::tempdir().unwrap();
        let program = dir.path().join("pgbouncer");
        std::fs::write(&program, "").unwrap();
        let found = PgBouncerLocator {
            explicit: None,
            path: Some(OsString::from(format!(
                "/nonexistent/a:{}",
                dir.path().display()
            ))),
            fixed: vec![PathBuf::from("/nonexistent/fixed/pgbouncer")],
        }
        .locate()
        .unwrap();
        assert_eq!(found, program);
        let fixed = PgBouncerLocator {
            explicit: None,
            path: Some(OsString::from("/nonexistent/a")),
            fixed: vec![program.clone()],
        }
        .locate()
        .unwrap();
        assert_eq!(fixed, program);
    }

    #[test]
    fn a_missing_pgbouncer_lists_every_place_and_says_how_to_install_it() {
        let err = PgBouncerLocator {
            explicit: None,
            path: Some(OsString::from("/nonexistent/a:/nonexistent/b")),
            fixed: vec![PathBuf::from("/nonexistent/sbin/pgbouncer")],
        }
        .locate()
        .unwrap_err();
        let msg = err.to_string();
        for p in [
            "/nonexistent/a/pgbouncer",
            "/nonexistent/b/pgbouncer",
            "/nonexistent/sbin/pgbouncer",
            "scripts/setup",
            "apt-get install pgbouncer",
            "PGBOUNCER",
        ] {
            assert!(msg.contains(p), "{p} missing from: {msg}");
        }
    }

    #[test]
    fn an_explicit_pgbouncer_that_is_missing_is_not_second_guessed() {
        let dir = tempfile::tempdir().unwrap();
        let on_path = dir.path().join("pgbouncer");
        std::fs::write(&on_path, "").unwrap();
        let err = PgBouncerLocator {
            explicit: Some(PathBuf::from("/nonexistent/bin/pgbouncer")),
            path: Some(dir.path().as_os_str().to_owned()),
            fixed: vec![on_path],
        }
        .locate()
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("/nonexistent/bin/pgbouncer"), "{msg}");
        assert!(!msg.contains(&dir.path().display().to_string()), "{msg}");
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
