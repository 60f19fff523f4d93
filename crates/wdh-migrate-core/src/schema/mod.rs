//! Catalog-based schema capture and comparison.
//!
//! [`capture_globals`] reads what every database of the server shares
//! (roles, memberships, role and database settings, tablespaces, other
//! databases, `ALTER SYSTEM` settings) into [`Globals`], compared with
//! [`diff_globals`]; a password hash is only ever said to have changed.
//!
//! [`capture`] reads a database's schema from the system catalogs into a
//! [`Snapshot`]: one entry per object, keyed by a stable identity such as
//! `table business.annuity_performance` or
//! `column business.annuity_performance.report_month`, with a normalized,
//! human-readable definition. [`diff`] compares two snapshots and [`render`]
//! turns the result into a unified-diff-like text.
//!
//! The capture is meant for round-trip checks (capture, upgrade one step,
//! downgrade one step, capture again, compare), so it is:
//!
//! - **independent of OIDs and creation order**: keys are built from names
//!   (schema-qualified, quoted with `quote_ident`), definitions come from the
//!   `pg_get_*def` functions and the catalogs with every list sorted by name
//!   or by its meaningful order (enum labels, columns), never by OID;
//! - **deterministic**: it runs in a read-only transaction with
//!   `search_path = pg_catalog` (so every name in a definition is
//!   schema-qualified) and fixed output settings (`DateStyle`,
//!   `IntervalStyle`, `TimeZone`, `extra_float_digits`, ...), all set with
//!   `SET LOCAL` and gone when the transaction ends;
//! - **fast**: one catalog query for everything, one statement per class
//!   inside it (plus one query for the settings and the server version);
//!   a [`CaptureSession`] captures the same database again and again with
//!   its queries prepared once, reading again only what changed since the
//!   capture before (`session.rs`).
//!
//! # Column order
//!
//! Each column is its own entry (`column s.t.c`: type, collation, default,
//! `NOT NULL`, identity, generated expression, storage, ...), and the table
//! entry lists its column names in their physical order. Two tables with the
//! same columns in a different order therefore differ in their `table` entry
//! only. This is deliberate: `DROP COLUMN` followed by `ADD COLUMN` moves the
//! column to the end, which changes `SELECT *`, `COPY` without a column list
//! and `INSERT` without one, so a down script that does that is not an exact
//! inverse.
//!
//! # What is captured
//!
//! Key prefixes: `schema`, `table` (plain, partitioned, unlogged, foreign;
//! with partition key and bound, parents, options, access method, tablespace,
//! row-level security, replica identity, clustering), `column`, `constraint`
//! (table and, for comments only, domain constraints), `index` (indexes that
//! back a primary key, unique or exclusion constraint are described by their
//! constraint), `view`, `materialized view`, `sequence` (type, start,
//! increment, bounds, cache, cycle, owner column; never the current value),
//! `function`, `procedure`, `aggregate`, `trigger` (user triggers, with their
//! enabled state), `policy`, `rule` (rules other than a view's `_RETURN`),
//! `type` (enums with labels in order, domains with base type, collation,
//! default, `NOT NULL` and constraints, composites, ranges, base and shell
//! types), `extension` (version and schema), `collation`, `operator`,
//! `statistics` (extended statistics), `grant` (privileges that differ from
//! the built-in defaults on schemas, relations, columns, functions and types,
//! with the owner written as `<owner>`), `default privileges`, and
//! `comment` (on any of the above, including columns).
//!
//! # What is left out
//!
//! - the schemas `pg_catalog`, `information_schema`, `pg_toast*`, `pg_temp*`
//!   and those the caller excludes (everything in them, and comments and
//!   privileges on it);
//! - objects that belong to an extension, and the extension's comment:
//!   `CREATE EXTENSION` shows up as its `extension` entry only;
//! - implicit objects: toast tables, array types, table row types,
//!   multirange types, identity sequences (described by their column),
//!   internal triggers (foreign keys), foreign keys cloned onto partitions,
//!   the `_RETURN` rule of views;
//! - owners (privileges are compared with the owner as `<owner>`; default
//!   privileges are keyed by the role they apply to), sequences' current
//!   values, planner statistics, whether a materialized view is populated;
//! - classes not listed above: casts, operator classes and families, text
//!   search objects, conversions, languages, foreign data wrappers and
//!   servers, publications, subscriptions and event triggers.
//!
//! The catalog columns it reads need PostgreSQL 12 or later.

mod capture;
mod diff;
mod globals;
mod render;
mod session;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

pub use capture::capture;
pub use diff::diff;
pub use globals::{capture_globals, diff_globals, Globals};
pub use render::render;
pub use session::{CaptureSession, Captured};

/// A catalog-based capture of a database's schema: one entry per object,
/// keyed by a stable identity.
///
/// Keys look like `table business.annuity_performance` (an object class,
/// a space, then the object's quoted, schema-qualified name); values are
/// normalized definitions, possibly spanning several lines. Serializes as a
/// JSON-style map from key to definition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Shared: a capture session keeps an unchanged table's entries from
    /// one capture to the next without copying them.
    entries: BTreeMap<Arc<str>, Arc<str>>,
}

impl Serialize for Snapshot {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl Snapshot {
    /// A snapshot made of `(key, definition)` pairs; a repeated key keeps
    /// the last definition.
    pub fn from_entries(entries: impl IntoIterator<Item = (String, String)>) -> Snapshot {
        Snapshot {
            entries: entries
                .into_iter()
                .map(|(k, v)| (Arc::from(k), Arc::from(v)))
                .collect(),
        }
    }

    /// How many objects it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds no object.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The definition of the object with this key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(|v| &**v)
    }

    /// The keys, in sorted order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(|k| &**k)
    }

    /// `(key, definition)` pairs, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (&**k, &**v))
    }
}

/// One difference between two snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Change {
    /// The object exists only in the second snapshot.
    Added {
        /// The object's key.
        key: String,
        /// Its definition in the second snapshot.
        after: String,
    },
    /// The object exists only in the first snapshot.
    Removed {
        /// The object's key.
        key: String,
        /// Its definition in the first snapshot.
        before: String,
    },
    /// The object exists in both with different definitions.
    Changed {
        /// The object's key.
        key: String,
        /// Its definition in the first snapshot.
        before: String,
        /// Its definition in the second snapshot.
        after: String,
    },
    /// A secret of the object differs (a role's password hash, a setting
    /// that looks like a secret). Neither value is kept: `what` only says
    /// what changed, e.g. `password changed`.
    Secret {
        /// The object's key.
        key: String,
        /// What changed, e.g. `password changed (removed)`.
        what: String,
    },
}

impl Change {
    /// The key of the object that changed.
    pub fn key(&self) -> &str {
        match self {
            Change::Added { key, .. }
            | Change::Removed { key, .. }
            | Change::Changed { key, .. }
            | Change::Secret { key, .. } => key,
        }
    }
}
