//! Captures taken again and again on one connection, as `check` takes them
//! after every step, each equal to what [`super::capture`] and
//! [`super::capture_globals`] give, at a cost that follows what changed
//! rather than the size of the schema.
//!
//! - The output settings are set once for the session and the queries are
//!   prepared once (parsed and planned once; planned again when the schema
//!   has grown well past the size they were planned for). A capture is one
//!   round trip, two when something must be read.
//! - A table is read with everything that hangs off it: its columns,
//!   constraints, indexes, triggers, policies, rules, statistics, and the
//!   comments and grants on all of these (its *entries*). A capture keeps a
//!   table's entries from the capture before unless something they are made
//!   of may have changed since; it keeps the entries of the rest of the
//!   schema (schemas, views, sequences, functions, types, …) unless any of
//!   those may have.
//!
//! What may have changed is read from the catalogs themselves
//! (`changes.sql`): every row written since the capture before (its xmin is
//! no older than that capture's snapshot), how many rows of each catalog
//! hang off each table and how many objects the rest of the schema holds
//! (a deleted row leaves no young row behind), the shared objects, and the
//! totals of the catalogs that decide how an index's operator class is
//! shown. A table's entries are read again when a young row is a new part
//! of it (a new index, constraint, trigger, …) or a count of its parts
//! changed; the rest of the schema when a young row or a count is of it;
//! everything when a young row belongs to an object that existed at the
//! capture before (a renamed column, type, schema, function, a changed
//! grant or comment — names or definitions that other entries may show; a
//! built-in object included; an object that joined an extension, which the
//! capture leaves out), is a new object in `pg_catalog` (where names are
//! looked up), or is in the catalogs of operator classes, access methods
//! and casts, and when the shared objects (role and tablespace names),
//! those catalogs' totals or the number of extension members (an object
//! that left one) changed. A new object can change no
//! entry of an object that existed before it without also writing a row of
//! that object.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use postgres::{Client, Statement};

use super::capture::{
    capture_sql_reading, entry, exclude_array, insert_entry, server_version, Entries, SETTINGS,
};
use super::globals::{globals_sql, Readable};
use super::{diff, diff_globals, Change, Globals, Snapshot};

/// A capture of the schema and of the server's shared objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    /// The database's schema.
    pub schema: Snapshot,
    /// The server's shared objects.
    pub globals: Globals,
}

impl Captured {
    /// The schema's changes from `self` to `after`, then the shared
    /// objects'.
    pub fn diff(&self, after: &Captured) -> Vec<Change> {
        let mut changes = diff(&self.schema, &after.schema);
        changes.extend(diff_globals(&self.globals, &after.globals));
        changes
    }
}

/// Captures on a connection kept for them ([`CaptureSession::new`]).
pub struct CaptureSession {
    client: Client,
    exclude: Vec<String>,
    prepared: Prepared,
    /// What the capture before saw, for the next one to keep.
    before: Option<Before>,
    /// How many tables' entries the last capture kept.
    kept: usize,
}

struct Prepared {
    readable: Readable,
    changes: Statement,
    rows: Statement,
    /// Schema entries when they were prepared: the plans were made for a
    /// schema of about that size.
    planned_for: usize,
}

/// What a capture keeps for the next one.
struct Before {
    /// Its snapshot's xmin (as text): a row written since is at least as young.
    boundary: String,
    /// The highest OID of an object then.
    max_oid: u32,
    totals: BTreeMap<String, i64>,
    globals: Globals,
    tables: BTreeMap<u32, Table>,
    /// The entries of the rest of the schema, and the counts that show a
    /// deletion there.
    others: Vec<Entry>,
    other_counts: BTreeMap<String, i64>,
}

/// An entry of a snapshot.
type Entry = (Arc<str>, Arc<str>);

/// A table's entries, and the counts of its parts when they were read.
struct Table {
    entries: Vec<Entry>,
    counts: BTreeMap<String, i64>,
}

impl std::fmt::Debug for CaptureSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureSession")
            .field("exclude", &self.exclude)
            .field("readable", &self.prepared.readable)
            .finish()
    }
}

/// `pg_catalog`'s OID (`PG_CATALOG_NAMESPACE`), the same in every version.
const PG_CATALOG: u32 = 11;

/// A row written since the capture before (a `young` row of `changes.sql`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Young {
    /// The object it belongs to; `None` for the catalogs of which any
    /// change is read again in full.
    pub(super) own: Option<u32>,
    /// The table it is a new part of.
    pub(super) of_table: Option<u32>,
    /// The schema of the object.
    pub(super) schema: Option<u32>,
    /// Whether the object is one of the rest of the schema (not a table or
    /// a part of one).
    pub(super) of_others: bool,
}

/// What a young row asks the next capture to read again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reread {
    /// Everything.
    All,
    /// This table's entries.
    Table(u32),
    /// Nothing a table's entries are made of.
    Nothing,
}

/// What `young` asks to read again, when every object that existed at the
/// capture before had an OID up to `max_oid`.
pub(super) fn reread(young: Young, max_oid: u32) -> Reread {
    let Some(own) = young.own else {
        return Reread::All;
    };
    // A changed object that existed before (with an OID counter that wrapped
    // around, a new object may look like one: read everything, too).
    if own == 0 || own <= max_oid {
        return Reread::All;
    }
    if young.schema == Some(PG_CATALOG) {
        return Reread::All;
    }
    match young.of_table {
        Some(table) if table != 0 && table <= max_oid => Reread::Table(table),
        _ => Reread::Nothing,
    }
}

impl CaptureSession {
    /// Takes `client`, a connection used for nothing else, for captures
    /// of its database leaving out the schemas in `exclude` (and of the
    /// server's shared objects): fixes its output settings for the session
    /// (and makes its transactions read-only), reads what the role may
    /// read of the shared objects, and prepares the queries.
    pub fn new(mut client: Client, exclude: &[&str]) -> Result<CaptureSession, postgres::Error> {
        // SET, not SET LOCAL: the settings last as long as the session. A
        // generic plan for the queries with parameters: planning them costs
        // more than running them.
        let version = server_version(client.simple_query(&session_settings())?);
        let exclude: Vec<String> = exclude.iter().map(|s| (*s).to_owned()).collect();
        let prepared = prepare(&mut client, version, &exclude, 0)?;
        Ok(CaptureSession {
            client,
            exclude,
            prepared,
            before: None,
            kept: 0,
        })
    }

    /// How many tables' entries the last capture kept from the one before
    /// (the others were read again).
    pub fn kept(&self) -> usize {
        self.kept
    }

    /// What this role could not read of the shared objects, with why.
    pub fn unread(&self) -> Vec<String> {
        self.prepared.readable.unread()
    }

    /// The schema and the shared objects, keeping the entries of the
    /// tables that cannot have changed since the capture before.
    pub fn capture(&mut self) -> Result<Captured, postgres::Error> {
        self.capture_keeping(true)
    }

    /// The schema and the shared objects, everything read again.
    pub fn capture_all(&mut self) -> Result<Captured, postgres::Error> {
        self.capture_keeping(false)
    }

    fn capture_keeping(&mut self, keep: bool) -> Result<Captured, postgres::Error> {
        let boundary = self.before.as_ref().map(|b| b.boundary.clone());
        let now = Changes::read(self.query(|p| &p.changes, &[&boundary])?)?;
        let globals = Globals::from_rows(self.unread(), now.globals.clone());
        let before = self.before.take().filter(|_| keep);
        // The tables whose entries are read again (None: all of them), and
        // whether the rest of the schema is.
        let again: Option<BTreeSet<u32>> = before.as_ref().and_then(|b| now.again(b, &globals));
        let others_again = match (&again, &before) {
            (Some(_), Some(b)) => now.others_changed(b),
            _ => true,
        };
        let all = again.is_none();
        let listed: Vec<u32> = again.iter().flatten().copied().collect();
        let mut read: BTreeMap<u32, Vec<Entry>> = BTreeMap::new();
        let mut others: Vec<Entry> = Vec::new();
        if all || others_again || !listed.is_empty() {
            for row in self.query(|p| &p.rows, &[&all, &listed, &others_again])? {
                let (Some(key), def, table) = (
                    row.try_get::<_, Option<&str>>(0)?,
                    row.try_get::<_, Option<&str>>(1)?,
                    row.try_get::<_, Option<u32>>(2)?,
                ) else {
                    continue;
                };
                let e = entry(key, def);
                match table {
                    Some(t) => read.entry(t).or_default().push(e),
                    None => others.push(e),
                }
            }
        }
        let (mut kept, others) = match before {
            Some(b) if !others_again => (b.tables, b.others),
            Some(b) => (b.tables, others),
            None => (BTreeMap::new(), others),
        };
        let mut tables = BTreeMap::new();
        self.kept = 0;
        for t in &now.tables {
            let entries = match (&again, kept.remove(t)) {
                (Some(again), Some(table)) if !again.contains(t) => {
                    self.kept += 1;
                    table.entries
                }
                _ => read.remove(t).unwrap_or_default(),
            };
            let counts = now.counts.get(t).cloned().unwrap_or_default();
            tables.insert(*t, Table { entries, counts });
        }
        let mut entries = Entries::new();
        for (key, def) in others
            .iter()
            .chain(tables.values().flat_map(|t| t.entries.iter()))
        {
            insert_entry(&mut entries, Arc::clone(key), Arc::clone(def));
        }
        let captured = Captured {
            schema: Snapshot { entries },
            globals,
        };
        self.before = Some(Before {
            boundary: now.boundary,
            max_oid: now.max_oid,
            totals: now.totals,
            globals: captured.globals.clone(),
            tables,
            others,
            other_counts: now.other_counts,
        });
        self.grown_to(captured.schema.len())?;
        Ok(captured)
    }

    /// The server's shared objects alone, as [`super::capture_globals`]
    /// reads them (what this role may read is asked again).
    pub fn globals(&mut self) -> Result<Globals, postgres::Error> {
        super::capture_globals(&mut self.client)
    }

    /// Whether the server reads `text` as a date, a time or a timestamp
    /// (`timestamptz` or `timetz` input), as it would a literal.
    pub fn reads_as_time(&mut self, text: &str) -> Result<bool, postgres::Error> {
        for sql in [
            "SELECT $1::pg_catalog.text::pg_catalog.timestamptz IS NOT NULL",
            "SELECT $1::pg_catalog.text::pg_catalog.timetz IS NOT NULL",
        ] {
            match self.client.query_one(sql, &[&text]) {
                Ok(row) => return row.try_get(0),
                // Not valid input for the type: a data exception (22xxx).
                Err(e) if e.code().is_some_and(|c| c.code().starts_with("22")) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(false)
    }

    /// Runs a prepared query; when the server refuses it (what the role
    /// may read changed, a prepared statement was lost), prepares again
    /// and runs it once more.
    fn query(
        &mut self,
        which: impl Fn(&Prepared) -> &Statement,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<postgres::Row>, postgres::Error> {
        match self.client.query(which(&self.prepared), params) {
            Ok(rows) => Ok(rows),
            Err(e) if e.as_db_error().is_none() => Err(e),
            Err(_) => {
                self.prepare_again(self.prepared.planned_for)?;
                self.client.query(which(&self.prepared), params)
            }
        }
    }

    /// Plans made for a small schema can be poor for a large one (a scan
    /// of a catalog that was tiny, repeated for every row): once the schema
    /// has grown well past the size they were made for, they are made again.
    fn grown_to(&mut self, entries: usize) -> Result<(), postgres::Error> {
        if entries > 2 * self.prepared.planned_for + 32 {
            self.prepare_again(entries)?;
        }
        Ok(())
    }

    fn prepare_again(&mut self, planned_for: usize) -> Result<(), postgres::Error> {
        self.prepared = prepare(
            &mut self.client,
            self.prepared.readable.version,
            &self.exclude,
            planned_for,
        )?;
        Ok(())
    }
}

/// The rows of `changes.sql`, with the shared objects.
struct Changes {
    tables: BTreeSet<u32>,
    counts: BTreeMap<u32, BTreeMap<String, i64>>,
    young: Vec<Young>,
    totals: BTreeMap<String, i64>,
    other_counts: BTreeMap<String, i64>,
    boundary: String,
    max_oid: u32,
    globals: Vec<[Option<String>; 4]>,
}

impl Changes {
    fn read(rows: Vec<postgres::Row>) -> Result<Changes, postgres::Error> {
        let mut c = Changes {
            tables: BTreeSet::new(),
            counts: BTreeMap::new(),
            young: Vec::new(),
            totals: BTreeMap::new(),
            other_counts: BTreeMap::new(),
            boundary: String::new(),
            max_oid: 0,
            globals: Vec::new(),
        };
        for row in rows {
            let kind: &str = row.try_get(0)?;
            let catalog: Option<String> = row.try_get(1)?;
            let own: Option<u32> = row.try_get(2)?;
            let n: Option<i64> = row.try_get(5)?;
            match kind {
                "table" => c.tables.extend(own),
                "count" => {
                    if let (Some(t), Some(catalog)) = (own, catalog) {
                        c.counts
                            .entry(t)
                            .or_default()
                            .insert(catalog, n.unwrap_or(0));
                    }
                }
                "young" => c.young.push(Young {
                    own,
                    of_table: row.try_get(3)?,
                    schema: row.try_get(4)?,
                    of_others: n != Some(0),
                }),
                "total" => {
                    c.totals.insert(catalog.unwrap_or_default(), n.unwrap_or(0));
                }
                "other" => {
                    c.other_counts
                        .insert(catalog.unwrap_or_default(), n.unwrap_or(0));
                }
                "next" => {
                    c.boundary = catalog.unwrap_or_default();
                    c.max_oid = own.unwrap_or(0);
                }
                _ => c
                    .globals
                    .push([6, 7, 8, 9].map(|i| row.try_get(i).ok().flatten())),
            }
        }
        Ok(c)
    }

    /// Whether the rest of the schema (all but the tables' entries) must be
    /// read again: a row of it was written, or a count shows a deletion.
    fn others_changed(&self, before: &Before) -> bool {
        before.other_counts != self.other_counts || self.young.iter().any(|y| y.of_others)
    }

    /// The tables whose entries must be read again, given what the capture
    /// before saw; None when everything must be.
    fn again(&self, before: &Before, globals: &Globals) -> Option<BTreeSet<u32>> {
        if before.totals != self.totals || before.globals != *globals {
            return None;
        }
        let mut again = BTreeSet::new();
        for y in &self.young {
            match reread(*y, before.max_oid) {
                Reread::All => return None,
                Reread::Table(t) => {
                    again.insert(t);
                }
                Reread::Nothing => {}
            }
        }
        let none = BTreeMap::new();
        for t in &self.tables {
            let counts = self.counts.get(t).unwrap_or(&none);
            if before
                .tables
                .get(t)
                .is_none_or(|table| table.counts != *counts)
            {
                again.insert(*t);
            }
        }
        Some(again)
    }
}

fn prepare(
    client: &mut Client,
    version: i32,
    exclude: &[String],
    planned_for: usize,
) -> Result<Prepared, postgres::Error> {
    let readable = Readable::read(client, version)?;
    let changes = client.prepare(
        &CHANGES_WITH_GLOBALS
            .replace(
                "{changes}",
                &CHANGES.replace("{exclude}", &exclude_array(&names(exclude))),
            )
            .replace("{globals}", &globals_sql(readable)),
    )?;
    let rows = client.prepare(&rows_sql(version, exclude))?;
    Ok(Prepared {
        readable,
        changes,
        rows,
        planned_for,
    })
}

/// The session's settings: read-only transactions, the capture's output
/// settings for as long as the session lasts (SET, not SET LOCAL), and a
/// generic plan for the queries with parameters (planning them costs more
/// than running them).
fn session_settings() -> String {
    format!(
        "SET default_transaction_read_only = on;\n\
         SET plan_cache_mode = force_generic_plan;\n{}",
        SETTINGS.replace("SET LOCAL ", "SET ")
    )
}

fn names(exclude: &[String]) -> Vec<&str> {
    exclude.iter().map(String::as_str).collect()
}

/// The schema's rows: every table when `$1`, else the tables listed in
/// `$2`; the rest of the schema when `$3`.
fn rows_sql(version: i32, exclude: &[String]) -> String {
    capture_sql_reading(
        version,
        &names(exclude),
        "($1::pg_catalog.bool OR c.oid = ANY ($2::pg_catalog.oid[]))",
        "$3::pg_catalog.bool",
    )
}

/// What changed since a capture; see the file.
const CHANGES: &str = include_str!("changes.sql");

/// `changes.sql`'s rows (`{changes}`) and the shared objects' (`{globals}`,
/// tagged `global`, in the last four columns), in one round trip.
const CHANGES_WITH_GLOBALS: &str =
    "WITH ch (kind, catalog, own, attr, nsp, n) AS (\n{changes}\n),\n\
     gl (key, def, noun, digest) AS (\n{globals}\n)\n\
     SELECT kind, catalog, own, attr, nsp, n, NULL::pg_catalog.text, NULL::pg_catalog.text, \
     NULL::pg_catalog.text, NULL::pg_catalog.text FROM ch\n\
     UNION ALL SELECT 'global', NULL, NULL, NULL, NULL, NULL, key, def, noun, digest FROM gl";
