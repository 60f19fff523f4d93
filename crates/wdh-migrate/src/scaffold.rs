//! `init` and `new`: creating the configuration and new migrations.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use wdh_migrate_core::migrations::MigrationSet;

/// The reference configuration, written by `init`.
pub const REFERENCE_CONFIG: &str = include_str!("../../../docs/wdh.toml");

/// Creates `wdh.toml` and an empty migrations folder in `dir`. Refuses to
/// overwrite an existing file. Returns what it created.
pub fn init(dir: &Path, migrations: &Path) -> Result<Vec<PathBuf>> {
    let config = dir.join("wdh.toml");
    if config.exists() {
        bail!(
            "{} already exists; init does not overwrite it (see docs/wdh.toml for every key)",
            config.display()
        );
    }
    let folder = dir.join(migrations);
    if folder.exists() && !folder.is_dir() {
        bail!("{} exists and is not a folder", folder.display());
    }
    let mut created = Vec::new();
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&config)
        .and_then(|mut f| std::io::Write::write_all(&mut f, REFERENCE_CONFIG.as_bytes()))
        .with_context(|| format!("writing {}", config.display()))?;
    created.push(config);
    if !folder.exists() {
        std::fs::create_dir_all(&folder)
            .with_context(|| format!("creating {}", folder.display()))?;
        created.push(folder);
    }
    Ok(created)
}

/// How versions are written in a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `20261125072253` (UTC, sqlx and golang-migrate).
    Timestamp,
    /// `2026-11-25-072253` (UTC, Diesel); `tail` keeps Diesel's `-0000` suffix when the set uses it.
    Dashed { tail: bool },
    /// `0007`: the next number, zero-padded to `width`.
    Sequence { width: usize },
    /// Flyway's dotted versions (`1.2`, `1_2`): the last part counts on,
    /// written with the set's separator.
    Dotted,
}

/// The version style a folder already uses (an empty one gets UTC
/// timestamps).
pub fn detect(set: &MigrationSet) -> Style {
    let Some(last) = set.migrations.last() else {
        return Style::Timestamp;
    };
    let raw = last.version.raw();
    if raw.contains(['.', '_']) {
        Style::Dotted
    } else if raw.contains('-') {
        Style::Dashed {
            tail: raw.split('-').count() > 4,
        }
    } else if raw.len() >= 14 {
        Style::Timestamp
    } else {
        Style::Sequence { width: raw.len() }
    }
}

/// The next version in `style`, after every version of the set.
pub fn next_version(set: &MigrationSet, style: Style, now_epoch_secs: i64) -> Result<String> {
    let last = set
        .migrations
        .last()
        .map(|m| m.version.normalized().to_string());
    match style {
        Style::Dotted => {
            let raw = set.migrations.last().map_or("0", |m| m.version.raw());
            let cut = raw.rfind(['.', '_']).map_or(0, |i| i + 1);
            let (head, part) = raw.split_at(cut);
            let n: u128 = part
                .parse()
                .context("the last version's last part is too long to count on from")?;
            Ok(format!("{head}{:0width$}", n + 1, width = part.len()))
        }
        Style::Sequence { width } => {
            let n: u128 = last
                .as_deref()
                .unwrap_or("0")
                .parse()
                .context("the last version is too long to count on from")?;
            Ok(format!("{:0width$}", n + 1))
        }
        Style::Timestamp | Style::Dashed { .. } => {
            // Never at or before the last version (two `new` in one second).
            let mut secs = now_epoch_secs;
            loop {
                let version = timestamp(secs, style);
                let digits: String = version.chars().filter(char::is_ascii_digit).collect();
                if last.as_deref().is_none_or(|l| digits.as_str() > l) {
                    return Ok(version);
                }
                secs += 1;
            }
        }
    }
}

fn timestamp(secs: i64, style: Style) -> String {
    // `YYYY-MM-DDTHH:MM:SS.mmmZ`
    let iso = wdh_migrate_core::ledger::rfc3339(secs as f64);
    let (date, time) = (&iso[..10], iso[11..19].replace(':', ""));
    match style {
        Style::Dashed { tail: true } => format!("{date}-{time}-0000"),
        Style::Dashed { tail: false } => format!("{date}-{time}"),
        _ => format!("{}{time}", date.replace('-', "")),
    }
}

/// `Add Users Table!` → `add_users_table`.
pub fn slug(name: &str) -> Result<String> {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    let out = out.trim_end_matches('_').to_string();
    if out.is_empty() {
        bail!("`{name}` has no letters or digits to name a migration with");
    }
    Ok(out)
}

/// Creates the next migration in `dir`; returns the paths created.
pub fn new_migration(dir: &Path, name: &str, now_epoch_secs: i64) -> Result<Vec<PathBuf>> {
    // Migrations made by an earlier `new` and not written yet count too.
    let set = MigrationSet::load_drafts(dir)?;
    let style = detect(&set);
    let version = next_version(&set, style, now_epoch_secs)?;
    let slug = slug(name)?;
    let up = format!("-- {name}\n-- Write the change here.\n");
    let down = format!("-- Revert: {name}\n-- Write the exact inverse of the up script here (an empty one is a deliberate no-op).\n");
    // An empty folder gets the default layout, one folder per migration.
    let files = set.layout.new_files(&version, &slug, &up, &down);
    // A new folder is created, never reused; files are never overwritten.
    let mut folders: Vec<PathBuf> = Vec::new();
    for file in &files {
        if let Some(parent) = file.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            if !folders.iter().any(|f| f == parent) {
                let folder = dir.join(parent);
                std::fs::create_dir(&folder)
                    .with_context(|| format!("creating {}", folder.display()))?;
                folders.push(parent.to_path_buf());
            }
        }
    }
    let mut created = Vec::new();
    for file in files {
        let path = dir.join(&file.path);
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, file.text.as_bytes()))
            .with_context(|| format!("writing {}", path.display()))?;
        created.push(path);
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slug("Add Users Table!").unwrap(), "add_users_table");
        assert_eq!(slug("  create--index on x ").unwrap(), "create_index_on_x");
        assert_eq!(slug("Größe").unwrap(), "größe");
        assert!(slug("--").is_err());
    }

    #[test]
    fn the_next_flyway_version_counts_on_its_last_part() {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in [("V1_9__a.sql", "SELECT 1;"), ("V1_10__b.sql", "SELECT 1;")] {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let set = MigrationSet::load(dir.path()).unwrap();
        assert_eq!(detect(&set), Style::Dotted);
        assert_eq!(next_version(&set, Style::Dotted, 0).unwrap(), "1_11");
        let created = new_migration(dir.path(), "add x", 0).unwrap();
        let names: Vec<String> = created
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["V1_11__add_x.sql", "U1_11__add_x.sql"]);
    }

    #[test]
    fn new_writes_each_sectioned_layout() {
        for (existing, text, want) in [
            (
                "20240101000000_a.sql",
                "-- +goose Up\nSELECT 1;\n",
                "_add_x.sql",
            ),
            (
                "20240101000000-a.sql",
                "-- +migrate Up\nSELECT 1;\n",
                "-add_x.sql",
            ),
            (
                "20240101000000_a.sql",
                "-- migrate:up\nSELECT 1;\n-- migrate:down\n",
                "_add_x.sql",
            ),
        ] {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join(existing), text).unwrap();
            let before = MigrationSet::load(dir.path()).unwrap().layout;
            let created = new_migration(dir.path(), "add x", 1_795_590_514).unwrap();
            assert_eq!(created.len(), 1, "{created:?}");
            let name = created[0]
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            assert!(
                name.starts_with("20261125070834") && name.ends_with(want),
                "{name}"
            );
            let set = MigrationSet::load_drafts(dir.path()).unwrap();
            assert_eq!(set.layout, before);
            assert_eq!(set.migrations.len(), 2);
            assert!(set.migrations[1].down.script().is_some());
        }
    }

    #[test]
    fn timestamps_in_each_style() {
        let t = 1_795_590_514; // 2026-11-25T07:08:34Z
        assert_eq!(timestamp(t, Style::Timestamp), "20261125070834");
        assert_eq!(
            timestamp(t, Style::Dashed { tail: false }),
            "2026-11-25-070834"
        );
        assert_eq!(
            timestamp(t, Style::Dashed { tail: true }),
            "2026-11-25-070834-0000"
        );
    }
}
