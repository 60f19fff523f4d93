//! Alembic's ledger, `alembic_version (version_num)`, as
//! `alembic/runtime/migration.py` (`MigrationContext._version`) creates it:
//! one row per head of the revision graph the database is at. Every
//! revision a head builds on (its `down_revision`s and `depends_on`,
//! transitively) is applied. It records no checksum.
//!
//! The migration set knows which revision each migration was converted
//! from (`[alembic]` in its `metadata.toml`, written by `wdh-migrate import
//! alembic`), so the heads are followed through the set's own graph.

use std::collections::{HashMap, HashSet};

use postgres::Client;

use super::{rows, text, AdoptError, Claims, Found};
use crate::migrations::MigrationSet;

/// The table as Alembic creates it (with the default name).
pub(super) const DDL: &str = "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, \
                              CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))";

pub(super) fn read(client: &mut Client, found: &Found) -> Result<Claims, AdoptError> {
    let sql = format!("SELECT version_num FROM {} ORDER BY 1", found.table);
    let heads: Vec<String> = rows(client, found, &sql)?
        .iter()
        .map(|r| text(r, 0))
        .collect();
    let mut notes = Vec::new();
    if heads.is_empty() {
        notes.push("Alembic's version table is empty: the database is at base".to_string());
    } else {
        notes.push(format!("Alembic's head(s): {}", heads.join(", ")));
    }
    Ok(Claims {
        alembic_heads: heads,
        notes,
        ..Claims::default()
    })
}

/// The indices in `set` of the revisions `heads` build on, heads included;
/// `Err` with every revision reached that no migration of the set was
/// converted from.
pub(super) fn applied(set: &MigrationSet, heads: &[String]) -> Result<Vec<usize>, Vec<String>> {
    let by_revision: HashMap<&str, usize> = set
        .migrations
        .iter()
        .enumerate()
        .filter_map(|(i, m)| m.alembic.as_ref().map(|a| (a.revision.as_str(), i)))
        .collect();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut todo: Vec<&str> = heads.iter().map(String::as_str).collect();
    let mut found = Vec::new();
    let mut missing = Vec::new();
    while let Some(revision) = todo.pop() {
        if !seen.insert(revision) {
            continue;
        }
        match by_revision.get(revision) {
            Some(&i) => {
                found.push(i);
                if let Some(a) = &set.migrations[i].alembic {
                    todo.extend(
                        a.down_revision
                            .iter()
                            .chain(&a.depends_on)
                            .map(String::as_str),
                    );
                }
            }
            None => missing.push(format!("revision {revision}")),
        }
    }
    if missing.is_empty() {
        found.sort_unstable();
        Ok(found)
    } else {
        missing.sort();
        Err(missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::test_support::{ok, UP};

    /// a → b → d(merge of b, c); a → c; e on another branch from a; x
    /// depended on by c.
    fn set() -> MigrationSet {
        let meta = |rev: &str, down: &[&str], deps: &[&str]| {
            let list = |l: &[&str]| {
                l.iter()
                    .map(|r| format!("{r:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            format!(
                "[alembic]\nrevision = {rev:?}\ndown_revision = [{}]\ndepends_on = [{}]\n",
                list(down),
                list(deps)
            )
        };
        let files = [
            ("0001_a", meta("a", &[], &[])),
            ("0002_x", meta("x", &[], &[])),
            ("0003_b", meta("b", &["a"], &[])),
            ("0004_c", meta("c", &["a"], &["x"])),
            ("0005_d", meta("d", &["b", "c"], &[])),
            ("0006_e", meta("e", &["a"], &[])),
        ];
        let listing: Vec<(String, String)> = files
            .iter()
            .flat_map(|(dir, meta)| {
                [
                    (format!("{dir}/up.sql"), UP.to_string()),
                    (format!("{dir}/metadata.toml"), meta.clone()),
                ]
            })
            .collect();
        let borrowed: Vec<(&str, &str)> = listing
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect();
        ok(&borrowed)
    }

    #[test]
    fn every_revision_a_head_builds_on_and_nothing_else() {
        let set = set();
        let versions = |heads: &[&str]| -> Vec<String> {
            let heads: Vec<String> = heads.iter().map(|h| h.to_string()).collect();
            applied(&set, &heads)
                .unwrap()
                .into_iter()
                .map(|i| set.migrations[i].name.clone())
                .collect()
        };
        assert_eq!(versions(&["d"]), ["a", "x", "b", "c", "d"]);
        assert_eq!(versions(&["b"]), ["a", "b"]);
        // Two heads: both branches; a dependency counts as applied.
        assert_eq!(versions(&["c", "e"]), ["a", "x", "c", "e"]);
        assert!(versions(&[]).is_empty());
    }

    #[test]
    fn a_revision_the_set_does_not_know_is_named() {
        let set = set();
        let missing = applied(&set, &["zz9".to_string(), "b".to_string()]).unwrap_err();
        assert_eq!(missing, ["revision zz9"]);
        // A set that was not converted from Alembic knows no revision.
        let plain = ok(&[("0001_a/up.sql", UP)]);
        assert_eq!(
            applied(&plain, &["a".to_string()]).unwrap_err(),
            ["revision a"]
        );
    }
}
