//! Reading a schema from the system catalogs: the fixed session settings,
//! then one catalog query (kept in `capture.sql`) whose rows become the
//! entries of a [`Snapshot`].

use std::collections::BTreeMap;
use std::sync::Arc;

use postgres::{Client, SimpleQueryMessage, SimpleQueryRow};

use super::Snapshot;
use crate::sql::quote_literal;

/// Captures every object outside `pg_catalog`, `information_schema`,
/// `pg_toast*`, `pg_temp*` and the schemas named in `exclude` (the ledger's
/// `wdh_migrate`, typically).
///
/// Runs in its own read-only transaction, so the client must not be inside
/// one; the session's settings are untouched afterwards. See the module
/// documentation for what is captured and how it is normalized.
pub fn capture(client: &mut Client, exclude: &[&str]) -> Result<Snapshot, postgres::Error> {
    // Four round trips: BEGIN, the settings with the server version, the
    // capture, ROLLBACK. Dropping `tx` on an error rolls back.
    let mut tx = client.build_transaction().read_only(true).start()?;
    let version = server_version(tx.simple_query(SETTINGS)?);
    let messages = tx.simple_query(&capture_sql(version, exclude))?;
    tx.rollback()?;

    let mut entries = Entries::new();
    for row in rows(messages) {
        if let Some(key) = row.get(0) {
            insert(&mut entries, key, row.get(1));
        }
    }
    Ok(Snapshot { entries })
}

/// The capture's query for a server of `version` (`server_version_num`),
/// leaving out the schemas in `exclude`: `(key, definition)` rows.
pub(super) fn capture_sql(version: i32, exclude: &[&str]) -> String {
    capture_sql_reading(version, exclude, "true", "true")
}

/// [`capture_sql`], reading the tables for which `tables` (an expression
/// on `c`, their `pg_class` row) is true, with everything that hangs off
/// them, and the rest of the schema when `others` is; the rows are `(key,
/// definition, unit)`, `unit` the table a row hangs off (`NULL` for the
/// rows of other objects).
pub(super) fn capture_sql_reading(
    version: i32,
    exclude: &[&str],
    tables: &str,
    others: &str,
) -> String {
    let compression = if version >= 140_000 {
        COMPRESSION
    } else {
        "NULL"
    };
    CAPTURE
        .replace("{compression}", compression)
        .replace("{exclude}", &exclude_array(exclude))
        .replace("{tables}", tables)
        .replace("{others}", others)
}

/// The excluded schemas as a `text[]` literal.
pub(super) fn exclude_array(exclude: &[&str]) -> String {
    let exclude = exclude
        .iter()
        .map(|s| quote_literal(s))
        .collect::<Vec<_>>()
        .join(", ");
    format!("ARRAY[{exclude}]::text[]")
}

/// The server version that [`SETTINGS`] ends with (0 if unreadable).
pub(super) fn server_version(messages: Vec<SimpleQueryMessage>) -> i32 {
    rows(messages)
        .next()
        .and_then(|row| row.get(0).and_then(|v| v.parse::<i32>().ok()))
        .unwrap_or(0)
}

/// The entries of a [`Snapshot`].
pub(super) type Entries = BTreeMap<Arc<str>, Arc<str>>;

/// An entry as a row gives it: a missing definition is an empty one,
/// trailing white space is dropped.
pub(super) fn entry(key: &str, def: Option<&str>) -> (Arc<str>, Arc<str>) {
    (
        Arc::from(key),
        Arc::from(def.unwrap_or_default().trim_end()),
    )
}

/// Adds an entry from a row ([`entry`]).
pub(super) fn insert(entries: &mut Entries, key: &str, def: Option<&str>) {
    let (key, def) = entry(key, def);
    insert_entry(entries, key, def);
}

/// Adds an entry. Keys are unique by construction; should two objects ever
/// share one, both definitions are kept in a stable order.
pub(super) fn insert_entry(entries: &mut Entries, key: Arc<str>, def: Arc<str>) {
    match entries.get_mut(&key) {
        Some(existing) => {
            let mut both = [existing.to_string(), def.to_string()];
            both.sort();
            *existing = Arc::from(both.join("\n"));
        }
        None => {
            entries.insert(key, def);
        }
    }
}

pub(super) fn rows(messages: Vec<SimpleQueryMessage>) -> impl Iterator<Item = SimpleQueryRow> {
    messages.into_iter().filter_map(|m| match m {
        SimpleQueryMessage::Row(row) => Some(row),
        _ => None,
    })
}

/// Output settings that `pg_get_*` functions and constant deparsing depend
/// on, fixed for the capture's transaction (and JIT off: compiling would
/// cost more than the query), then the server version.
pub(super) const SETTINGS: &str = include_str!("settings.sql");

/// A column's compression method (PostgreSQL 14 and later).
const COMPRESSION: &str = "CASE WHEN a.attcompression <> '' THEN ' COMPRESSION ' || \
     CASE a.attcompression WHEN 'p' THEN 'pglz' WHEN 'l' THEN 'lz4' \
     ELSE a.attcompression::text END END";

/// The capture: `(key, definition)` rows; `{exclude}` is the excluded
/// schemas as a `text[]`, `{compression}` the [`COMPRESSION`] expression or
/// `NULL` before PostgreSQL 14.
///
/// `obj` holds every keyed object with the catalog and OID it comes from
/// (so comments can find their key) and its privileges; rows with a NULL
/// definition are there for comments only.
///
/// `oid >= 16384` (`FirstNormalObjectId`) holds for every object created
/// after `initdb`, which includes everything in a user schema: it only lets
/// the catalogs' OID indexes skip the built-in objects. The one built-in
/// object captured is the `public` schema itself, whose comment is read
/// separately.
const CAPTURE: &str = include_str!("capture.sql");
