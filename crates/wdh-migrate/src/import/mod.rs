//! `wdh-migrate import <tool>`: another tool's migrations, converted into a
//! folder-layout set (`<n>_<slug>/up.sql`, `down.sql`, `metadata.toml`).
//!
//! The set is written to a temporary folder beside the destination, loaded
//! back (it must load as any set does), and only then renamed into place:
//! a failure leaves nothing half-written. The destination must not exist,
//! or be an empty folder.

pub mod alembic;

use std::path::{Path, PathBuf};

use wdh_migrate_core::migrations::MigrationSet;

use alembic::{Converted, Down, Unconvertible};

/// Why an import failed. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The Alembic configuration is not there.
    #[error(
        "the Alembic configuration {path} does not exist; run in the project's folder or pass \
         --config with its alembic.ini"
    )]
    NoConfig {
        /// The path given.
        path: PathBuf,
    },
    /// No way to run Alembic was found.
    #[error(
        "Alembic was not found (tried {tried}); install it in the project's environment and \
         activate it, or pass --alembic with the command that runs it"
    )]
    NoAlembic {
        /// What was tried.
        tried: String,
    },
    /// Alembic failed.
    #[error("`{command}` failed: {reason}")]
    Alembic {
        /// The command.
        command: String,
        /// Its last words.
        reason: String,
    },
    /// The revision graph is not one Alembic could run.
    #[error("the Alembic revision graph cannot be ordered: {0}")]
    Graph(String),
    /// The project has no revision.
    #[error("the Alembic project of {config} has no revision; nothing to import")]
    NoRevisions {
        /// The configuration.
        config: PathBuf,
    },
    /// Revisions that cannot run offline.
    #[error("{}", offline_message(failed))]
    Offline {
        /// Which, and why.
        failed: Vec<Unconvertible>,
    },
    /// The destination is taken.
    #[error(
        "{path} already exists and is not an empty folder; nothing was written. Pass --out with a \
         new folder (the converted set is written whole, never merged into another)"
    )]
    Occupied {
        /// The destination.
        path: PathBuf,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}; nothing was written")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The converted set does not load.
    #[error(
        "the converted set does not load, so nothing was written: {0}. Convert that revision by \
         hand"
    )]
    Invalid(String),
}

impl ImportError {
    /// Whether the arguments are at fault (exit 2) rather than the work (exit 1).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            ImportError::NoConfig { .. } | ImportError::Occupied { .. }
        )
    }
}

fn offline_message(failed: &[Unconvertible]) -> String {
    let mut text = format!(
        "{} Alembic revision step(s) cannot run offline, so nothing was written:",
        failed.len()
    );
    for f in failed {
        text.push_str(&format!(
            "\n  {} ({}: `{}`): {}",
            f.revision,
            f.step.word(),
            f.command,
            f.reason
        ));
    }
    text.push_str(
        "\nA revision that reads the database (op.get_bind() and a query) cannot be converted to \
         SQL: make it run offline (use op.execute with the SQL it needs), or write its up.sql and \
         down.sql by hand after importing the others",
    );
    text
}

/// One migration to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMigration {
    /// `<n>_<slug>`.
    pub folder: String,
    /// `up.sql`.
    pub up: String,
    /// `down.sql`.
    pub down: String,
    /// `metadata.toml`.
    pub metadata: String,
}

/// The converted revisions as migrations `0001_<slug>`, … in their order.
pub fn migrations(converted: &[Converted]) -> Vec<NewMigration> {
    let width = converted.len().to_string().len().max(4);
    converted
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let r = &c.revision;
            let header = format!(
                "-- Alembic revision {}{}\n-- (converted by `wdh-migrate import alembic`)\n",
                r.id,
                if r.message.is_empty() {
                    String::new()
                } else {
                    format!(": {}", r.message)
                }
            );
            let up = if c.up.statements.is_empty() {
                format!(
                    "{header}-- It runs no SQL (a merge point, or only Python): a no-op keeps it in \
                     the order.\nSELECT 1;\n"
                )
            } else {
                format!("{header}\n{}\n", c.up.statements.join("\n\n"))
            };
            let down = match &c.down {
                Down::Script(s) if s.statements.is_empty() => {
                    format!("{header}-- Its downgrade runs no SQL.\n")
                }
                Down::Script(s) => format!("{header}\n{}\n", s.statements.join("\n\n")),
                Down::Irreversible(why) => format!(
                    "-- wdh:irreversible\n{header}-- Its downgrade raises: {}\n",
                    why.replace('\n', " ")
                ),
            };
            let no_transaction =
                c.up.no_transaction || matches!(&c.down, Down::Script(s) if s.no_transaction);
            let quote = |s: &str| toml::Value::String(s.to_string()).to_string();
            let metadata = format!(
                "# Converted from Alembic by `wdh-migrate import alembic`.\n{}\n[alembic]\nrevision = {}\ndown_revision = [{}]\n{}",
                if no_transaction {
                    "# Alembic ran part of it outside a transaction (autocommit_block).\nrun_in_transaction = false\n"
                } else {
                    ""
                },
                quote(&r.id),
                r.parents.iter().map(|p| quote(p)).collect::<Vec<_>>().join(", "),
                if r.depends_on.is_empty() {
                    String::new()
                } else {
                    format!(
                        "depends_on = [{}]\n",
                        r.depends_on.iter().map(|p| quote(p)).collect::<Vec<_>>().join(", ")
                    )
                }
            );
            NewMigration {
                folder: format!("{:0width$}_{}", i + 1, slug(&r.message, &r.id)),
                up,
                down,
                metadata,
            }
        })
        .collect()
}

/// A folder name's slug: the message's letters and digits, lower case,
/// words joined by `_`, at most 48 characters; the revision id when the
/// message has none.
pub fn slug(message: &str, revision: &str) -> String {
    let words = |text: &str| -> String {
        let mut out = String::new();
        for c in text.chars() {
            if c.is_ascii_alphanumeric() {
                out.push(c.to_ascii_lowercase());
            } else if !out.ends_with('_') && !out.is_empty() {
                out.push('_');
            }
        }
        let mut cut: String = out.chars().take(48).collect();
        while cut.ends_with('_') {
            cut.pop();
        }
        cut
    };
    match words(message) {
        s if s.is_empty() => match words(revision) {
            r if r.is_empty() => "revision".into(),
            r => format!("revision_{r}"),
        },
        s => s,
    }
}

/// Writes `migrations` to `out` whole, or nothing: into a temporary folder
/// beside it, loaded back, then renamed into place. Returns the set.
pub fn write_set(out: &Path, migrations: &[NewMigration]) -> Result<MigrationSet, ImportError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ImportError::Io { path, source }
    };
    let existing_empty = match std::fs::read_dir(out).map(|mut e| e.next().is_none()) {
        Ok(true) => true,
        Ok(false) => {
            return Err(ImportError::Occupied {
                path: out.to_path_buf(),
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(_) if out.exists() => {
            return Err(ImportError::Occupied {
                path: out.to_path_buf(),
            })
        }
        Err(e) => return Err(io(out)(e)),
    };
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = out
        .file_name()
        .map_or_else(|| "migrations".into(), |n| n.to_string_lossy().into_owned());
    let temp = parent.join(format!(".{name}.wdh-import-{}", std::process::id()));
    let written = (|| {
        std::fs::create_dir(&temp).map_err(io(&temp))?;
        for m in migrations {
            let dir = temp.join(&m.folder);
            std::fs::create_dir(&dir).map_err(io(&dir))?;
            for (file, text) in [
                ("up.sql", &m.up),
                ("down.sql", &m.down),
                ("metadata.toml", &m.metadata),
            ] {
                std::fs::write(dir.join(file), text).map_err(io(&dir.join(file)))?;
            }
        }
        let set = MigrationSet::load(&temp).map_err(|e| {
            ImportError::Invalid(wdh_migrate_core::causes::describe(&e).replace(
                &format!("{}/", temp.display()),
                &format!("{}/", out.display()),
            ))
        })?;
        if existing_empty {
            std::fs::remove_dir(out).map_err(io(out))?;
        }
        std::fs::rename(&temp, out).map_err(io(out))?;
        Ok(set)
    })();
    if written.is_err() {
        let _ = std::fs::remove_dir_all(&temp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::alembic::{Revision, Script};
    use super::*;

    fn converted(id: &str, parents: &[&str], message: &str, up: &[&str], down: Down) -> Converted {
        Converted {
            revision: Revision {
                id: id.into(),
                parents: parents.iter().map(|p| p.to_string()).collect(),
                depends_on: vec![],
                message: message.into(),
                path: None,
            },
            up: Script {
                statements: up.iter().map(|s| s.to_string()).collect(),
                no_transaction: false,
            },
            down,
        }
    }

    fn script(statements: &[&str]) -> Down {
        Down::Script(Script {
            statements: statements.iter().map(|s| s.to_string()).collect(),
            no_transaction: false,
        })
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("Create users table", "a1"), "create_users_table");
        assert_eq!(slug("  add e-mail (unique!) ", "a1"), "add_e_mail_unique");
        assert_eq!(slug("", "ae10-27"), "revision_ae10_27");
        assert_eq!(slug("ÄÖÜ", ""), "revision");
        assert_eq!(slug(&"x ".repeat(40), "a").len(), 47);
    }

    #[test]
    fn written_whole_and_loaded_back_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let set = [
            converted(
                "aaa1",
                &[],
                "create users",
                &["CREATE TABLE users (id int);"],
                script(&["DROP TABLE users;"]),
            ),
            converted("ddd4", &["bbb2", "ccc3"], "merge", &[], script(&[])),
            converted(
                "eee5",
                &["ddd4"],
                "",
                &["CREATE TABLE t (id int);"],
                Down::Irreversible("NotImplementedError: no way back".into()),
            ),
        ];
        let out = dir.path().join("migrations");
        let loaded = write_set(&out, &migrations(&set)).unwrap();
        let names: Vec<_> = loaded
            .migrations
            .iter()
            .map(|m| {
                (
                    format!("{}_{}", m.version, m.name),
                    m.alembic.clone().unwrap().revision,
                    m.is_reversible(),
                    m.down_is_noop(),
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                (
                    "0001_create_users".to_string(),
                    "aaa1".to_string(),
                    true,
                    false
                ),
                ("0002_merge".to_string(), "ddd4".to_string(), true, true),
                (
                    "0003_revision_eee5".to_string(),
                    "eee5".to_string(),
                    false,
                    false
                ),
            ]
        );
        let metadata = std::fs::read_to_string(out.join("0002_merge/metadata.toml")).unwrap();
        assert!(metadata.contains("revision = \"ddd4\"\ndown_revision = [\"bbb2\", \"ccc3\"]"));
        // Nothing left beside it.
        let siblings: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(siblings.len(), 1);

        // A second import into it is refused; the set stays as it was.
        let again = write_set(&out, &migrations(&set[..1])).unwrap_err();
        assert!(matches!(again, ImportError::Occupied { .. }), "{again}");
        assert_eq!(MigrationSet::load(&out).unwrap().migrations.len(), 3);

        // A set that does not load is not written, and no temporary folder stays.
        let bad = [converted(
            "zz",
            &[],
            "bad",
            &["BEGIN; CREATE TABLE x (id int); SAVEPOINT s;"],
            script(&[]),
        )];
        let fresh = dir.path().join("fresh");
        let e = write_set(&fresh, &migrations(&bad)).unwrap_err();
        assert!(matches!(e, ImportError::Invalid(_)), "{e}");
        assert!(e.to_string().contains("fresh/0001_bad/up.sql"), "{e}");
        assert!(!fresh.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

        // An empty folder is filled.
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        assert_eq!(
            write_set(&empty, &migrations(&set))
                .unwrap()
                .migrations
                .len(),
            3
        );
    }
}
