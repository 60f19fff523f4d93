//! Running the project's Alembic: `alembic` on PATH, else `python3 -m
//! alembic` (or `python`), or the command given with `--alembic`; always
//! with `-c <the configuration>`, in the configuration's folder (where
//! Alembic resolves `script_location`), and only in offline mode for SQL:
//! nothing it runs opens a database connection through wdh-migrate.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::offline::Step;
use crate::import::ImportError;

/// How to run the project's Alembic.
#[derive(Debug, Clone)]
pub struct Alembic {
    program: Vec<OsString>,
    config: PathBuf,
    dir: PathBuf,
}

impl Alembic {
    /// Alembic for the configuration file `config`: `program` (words split
    /// on white space) when given, else the first of `alembic` on PATH,
    /// `python3 -m alembic` and `python -m alembic` that works.
    pub fn locate(config: &Path, program: Option<&str>) -> Result<Alembic, ImportError> {
        if !config.is_file() {
            return Err(ImportError::NoConfig {
                path: config.to_path_buf(),
            });
        }
        let config = std::path::absolute(config).map_err(|source| ImportError::Io {
            path: config.to_path_buf(),
            source,
        })?;
        let dir = config
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        if let Some(words) = program {
            let program: Vec<OsString> = words.split_whitespace().map(OsString::from).collect();
            if program.is_empty() {
                return Err(ImportError::NoAlembic {
                    tried: "--alembic with an empty command".into(),
                });
            }
            return Ok(Alembic {
                program,
                config,
                dir,
            });
        }
        if let Some(found) = on_path("alembic") {
            return Ok(Alembic {
                program: vec![found.into()],
                config,
                dir,
            });
        }
        for python in ["python3", "python"] {
            let works = Command::new(python)
                .args(["-c", "import alembic"])
                .output()
                .is_ok_and(|o| o.status.success());
            if works {
                return Ok(Alembic {
                    program: vec![python.into(), "-m".into(), "alembic".into()],
                    config,
                    dir,
                });
            }
        }
        Err(ImportError::NoAlembic {
            tried: "`alembic` on PATH, `python3 -m alembic`, `python -m alembic`".into(),
        })
    }

    /// The command as shown to people.
    pub fn describe(&self) -> String {
        let mut words: Vec<String> = self
            .program
            .iter()
            .map(|w| w.to_string_lossy().into_owned())
            .collect();
        words.push("-c".into());
        words.push(self.config.display().to_string());
        words.join(" ")
    }

    /// The configuration file, absolute.
    pub fn config(&self) -> &Path {
        &self.config
    }

    /// `alembic history --verbose`.
    pub fn history(&self) -> Result<String, ImportError> {
        let out = self.run(&["history", "--verbose"])?;
        if !out.status.success() {
            return Err(ImportError::Alembic {
                command: format!("{} history --verbose", self.describe()),
                reason: reason(&out),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `alembic <upgrade|downgrade> <range> --sql`: its SQL, or why it failed.
    pub fn offline(&self, step: Step, range: &str) -> Result<String, String> {
        let out = self
            .run(&[step.word(), range, "--sql"])
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(reason(&out))
        }
    }

    fn run(&self, args: &[&str]) -> Result<Output, ImportError> {
        let (program, first) = self.program.split_first().ok_or(ImportError::NoAlembic {
            tried: "an empty command".into(),
        })?;
        Command::new(program)
            .args(first)
            .arg("-c")
            .arg(&self.config)
            .args(args)
            .current_dir(&self.dir)
            // Leave the project's folders as they were (no __pycache__).
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
            .map_err(|source| ImportError::Io {
                path: PathBuf::from(program),
                source,
            })
    }
}

/// Why a run failed, in one line: Alembic's `FAILED:` line, else the last
/// line of the traceback (`SomeError: …`), else the exit status.
fn reason(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let line = lines
        .iter()
        .rev()
        .find(|l| l.starts_with("FAILED:"))
        .or_else(|| lines.last())
        .map(|l| l.to_string())
        .unwrap_or_else(|| format!("exited with {}", out.status));
    let mut short: String = line.chars().take(300).collect();
    if short.len() < line.len() {
        short.push('…');
    }
    short
}

/// `name` as the shell would find it on PATH.
fn on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| {
                p.metadata()
                    .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            })
    })
}
