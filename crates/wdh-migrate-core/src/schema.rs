//! Catalog-based schema capture and comparison.
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
//!   inside it (plus one query for the settings and the server version).
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

use std::collections::BTreeMap;
use std::fmt::Write as _;

use postgres::{Client, SimpleQueryMessage, SimpleQueryRow};
use serde::Serialize;

use crate::sql::quote_literal;

/// A catalog-based capture of a database's schema: one entry per object,
/// keyed by a stable identity.
///
/// Keys look like `table business.annuity_performance` (an object class,
/// a space, then the object's quoted, schema-qualified name); values are
/// normalized definitions, possibly spanning several lines. Serializes as a
/// JSON-style map from key to definition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Snapshot {
    entries: BTreeMap<String, String>,
}

impl Snapshot {
    /// A snapshot made of `(key, definition)` pairs; a repeated key keeps
    /// the last definition.
    pub fn from_entries(entries: impl IntoIterator<Item = (String, String)>) -> Snapshot {
        Snapshot {
            entries: entries.into_iter().collect(),
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
        self.entries.get(key).map(String::as_str)
    }

    /// The keys, in sorted order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// `(key, definition)` pairs, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
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
}

impl Change {
    /// The key of the object that changed.
    pub fn key(&self) -> &str {
        match self {
            Change::Added { key, .. }
            | Change::Removed { key, .. }
            | Change::Changed { key, .. } => key,
        }
    }
}

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
    let version = rows(tx.simple_query(SETTINGS)?)
        .next()
        .and_then(|row| row.get(0).and_then(|v| v.parse::<i32>().ok()))
        .unwrap_or(0);
    let compression = if version >= 140_000 {
        COMPRESSION
    } else {
        "NULL"
    };
    let exclude = exclude
        .iter()
        .map(|s| quote_literal(s))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = CAPTURE
        .replace("{compression}", compression)
        .replace("{exclude}", &format!("ARRAY[{exclude}]::text[]"));
    let messages = tx.simple_query(&sql)?;
    tx.rollback()?;

    let mut entries: BTreeMap<String, String> = BTreeMap::new();
    for row in rows(messages) {
        let (Some(key), def) = (row.get(0), row.get(1)) else {
            continue;
        };
        let def = def.unwrap_or_default().trim_end().to_string();
        match entries.get_mut(key) {
            // Keys are unique by construction; should two objects ever share
            // one, keep both definitions in a stable order.
            Some(existing) => {
                let mut both = [existing.clone(), def];
                both.sort();
                *existing = both.join("\n");
            }
            None => {
                entries.insert(key.to_string(), def);
            }
        }
    }
    Ok(Snapshot { entries })
}

fn rows(messages: Vec<SimpleQueryMessage>) -> impl Iterator<Item = SimpleQueryRow> {
    messages.into_iter().filter_map(|m| match m {
        SimpleQueryMessage::Row(row) => Some(row),
        _ => None,
    })
}

/// The differences from `before` to `after`, sorted by key.
pub fn diff(before: &Snapshot, after: &Snapshot) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut b = before.entries.iter().peekable();
    let mut a = after.entries.iter().peekable();
    loop {
        match (b.peek(), a.peek()) {
            (None, None) => break,
            (Some((bk, bv)), Some((ak, av))) if bk == ak => {
                if bv != av {
                    changes.push(Change::Changed {
                        key: (*bk).clone(),
                        before: (*bv).clone(),
                        after: (*av).clone(),
                    });
                }
                b.next();
                a.next();
            }
            (Some((bk, bv)), Some((ak, _))) if bk < ak => {
                changes.push(Change::Removed {
                    key: (*bk).clone(),
                    before: (*bv).clone(),
                });
                b.next();
            }
            (Some((bk, bv)), None) => {
                changes.push(Change::Removed {
                    key: (*bk).clone(),
                    before: (*bv).clone(),
                });
                b.next();
            }
            (_, Some((ak, av))) => {
                changes.push(Change::Added {
                    key: (*ak).clone(),
                    after: (*av).clone(),
                });
                a.next();
            }
        }
    }
    changes
}

/// Indentation of the lines of a multi-line definition.
const INDENT: &str = "    ";

/// Unchanged lines shown around the changed lines of a multi-line
/// definition.
const CONTEXT: usize = 3;

/// A readable, unified-diff-like rendering of `changes`, one or more lines
/// per change, each line ending with a newline:
///
/// ```text
/// - column public.t.name: text
/// + column public.t.name: character varying(40) NOT NULL
/// + comment table public.t: people
/// ~ function public.greet():
///       CREATE OR REPLACE FUNCTION public.greet()
///        RETURNS text
///        LANGUAGE sql
/// -     AS $function$SELECT 'hi'$function$
/// +     AS $function$SELECT 'hello'$function$
/// + index public.t_name_idx: CREATE INDEX t_name_idx ON public.t USING btree (name)
/// - view public.names:
/// -     view
/// -      SELECT t.name
/// -        FROM public.t;
/// ```
///
/// - an added or removed object is one `+ key: definition` or
///   `- key: definition` line (just the key when the definition is empty);
///   a multi-line definition follows its `+ key:`/`- key:` line, one
///   indented line each, prefixed with the same sign;
/// - a changed object with single-line definitions is a `- key: before`
///   line then a `+ key: after` line;
/// - a changed object with a multi-line definition is a `~ key:` line
///   followed by a line-by-line diff of the definition: `-` and `+` for
///   removed and added lines, a space for unchanged ones, at most three
///   unchanged lines around each change and `...` for the rest.
pub fn render(changes: &[Change]) -> String {
    let mut out = String::new();
    for change in changes {
        match change {
            Change::Added { key, after } => render_whole(&mut out, '+', key, after),
            Change::Removed { key, before } => render_whole(&mut out, '-', key, before),
            Change::Changed { key, before, after } => {
                if before.contains('\n') || after.contains('\n') {
                    let _ = writeln!(out, "~ {key}:");
                    render_line_diff(&mut out, before, after);
                } else {
                    render_whole(&mut out, '-', key, before);
                    render_whole(&mut out, '+', key, after);
                }
            }
        }
    }
    out
}

fn render_whole(out: &mut String, sign: char, key: &str, def: &str) {
    if def.is_empty() {
        let _ = writeln!(out, "{sign} {key}");
    } else if !def.contains('\n') {
        let _ = writeln!(out, "{sign} {key}: {def}");
    } else {
        let _ = writeln!(out, "{sign} {key}:");
        for line in def.lines() {
            detail(out, sign, line);
        }
    }
}

fn detail(out: &mut String, sign: char, line: &str) {
    let _ = writeln!(out, "{sign} {INDENT}{line}");
}

/// One line of a line-by-line diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op<'a> {
    Same(&'a str),
    Del(&'a str),
    Ins(&'a str),
}

impl Op<'_> {
    fn is_change(&self) -> bool {
        !matches!(self, Op::Same(_))
    }
}

fn render_line_diff(out: &mut String, before: &str, after: &str) {
    let a: Vec<&str> = before.lines().collect();
    let b: Vec<&str> = after.lines().collect();
    let ops = line_diff(&a, &b);
    // Show every change and up to CONTEXT unchanged lines on either side.
    let mut shown = vec![false; ops.len()];
    for (i, op) in ops.iter().enumerate() {
        if op.is_change() {
            let from = i.saturating_sub(CONTEXT);
            let to = (i + CONTEXT).min(ops.len() - 1);
            for s in &mut shown[from..=to] {
                *s = true;
            }
        }
    }
    let mut skipping = false;
    for (op, show) in ops.iter().zip(shown) {
        if !show {
            if !skipping {
                let _ = writeln!(out, "  {INDENT}...");
                skipping = true;
            }
            continue;
        }
        skipping = false;
        match op {
            Op::Same(l) => detail(out, ' ', l),
            Op::Del(l) => detail(out, '-', l),
            Op::Ins(l) => detail(out, '+', l),
        }
    }
}

/// Above this many cells, the longest-common-subsequence table is not
/// built: the differing middle is shown as all removed, then all added.
const MAX_DIFF_CELLS: usize = 4_000_000;

/// A shortest line-by-line edit from `a` to `b` (longest common
/// subsequence), removals before additions within each changed run.
fn line_diff<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<Op<'a>> {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (am, bm) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let mut ops: Vec<Op<'a>> = a[..prefix].iter().map(|l| Op::Same(l)).collect();
    let (n, m) = (am.len(), bm.len());
    if n.saturating_mul(m) > MAX_DIFF_CELLS {
        ops.extend(am.iter().map(|l| Op::Del(l)));
        ops.extend(bm.iter().map(|l| Op::Ins(l)));
    } else {
        // lcs[i * (m + 1) + j]: length of the LCS of am[i..] and bm[j..].
        let w = m + 1;
        let mut lcs = vec![0u32; (n + 1) * w];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                lcs[i * w + j] = if am[i] == bm[j] {
                    lcs[(i + 1) * w + j + 1] + 1
                } else {
                    lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && am[i] == bm[j] {
                ops.push(Op::Same(am[i]));
                i += 1;
                j += 1;
            } else if i < n && (j == m || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) {
                ops.push(Op::Del(am[i]));
                i += 1;
            } else {
                ops.push(Op::Ins(bm[j]));
                j += 1;
            }
        }
    }
    ops.extend(a[a.len() - suffix..].iter().map(|l| Op::Same(l)));
    ops
}

/// Output settings that `pg_get_*` functions and constant deparsing depend
/// on, fixed for the capture's transaction (and JIT off: compiling would
/// cost more than the query), then the server version.
const SETTINGS: &str = "\
SET LOCAL search_path = pg_catalog;
SET LOCAL DateStyle = 'ISO, MDY';
SET LOCAL IntervalStyle = 'postgres';
SET LOCAL TimeZone = 'UTC';
SET LOCAL extra_float_digits = 1;
SET LOCAL bytea_output = 'hex';
SET LOCAL standard_conforming_strings = on;
SET LOCAL quote_all_identifiers = off;
SET LOCAL lc_monetary = 'C';
SET LOCAL jit = off;
SELECT current_setting('server_version_num');
";

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
const CAPTURE: &str = r#"
WITH ns AS MATERIALIZED (
    SELECT n.oid, quote_ident(n.nspname) AS q, n.nspacl, n.nspowner
      FROM pg_namespace n
     WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
       AND left(n.nspname, 8) <> 'pg_toast'
       AND left(n.nspname, 7) <> 'pg_temp'
       AND n.nspname::text <> ALL ({exclude})
       AND NOT EXISTS (SELECT FROM pg_depend d
                        WHERE d.classid = 'pg_namespace'::regclass AND d.objid = n.oid
                          AND d.deptype = 'e')
),
rel AS MATERIALIZED (
    SELECT c.oid, c.relkind, c.relpersistence, c.reloptions, c.relacl, c.relowner, c.relam,
           c.reltablespace, c.reltoastrelid, c.reloftype, c.relispartition, c.relpartbound,
           c.relrowsecurity, c.relforcerowsecurity, c.relreplident,
           ns.q || '.' || quote_ident(c.relname) AS qname,
           CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                WHEN 'S' THEN 'sequence' WHEN 'i' THEN 'index' WHEN 'I' THEN 'index'
                WHEN 'c' THEN 'type' ELSE 'table' END AS prefix
      FROM pg_class c
      JOIN ns ON ns.oid = c.relnamespace
     WHERE c.oid >= 16384
       AND c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S', 'i', 'I', 'c')
       AND NOT EXISTS (SELECT FROM pg_depend d
                        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                          AND (d.deptype = 'e' OR (c.relkind = 'S' AND d.deptype = 'i')))
),
fn AS MATERIALIZED (
    SELECT p.oid, p.prokind, p.proacl, p.proowner,
           CASE p.prokind WHEN 'p' THEN 'procedure ' WHEN 'a' THEN 'aggregate '
                ELSE 'function ' END
             || ns.q || '.' || quote_ident(p.proname)
             || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS key
      FROM pg_proc p
      JOIN ns ON ns.oid = p.pronamespace
     WHERE p.oid >= 16384
       AND NOT EXISTS (SELECT FROM pg_depend d
                        WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                          AND d.deptype IN ('e', 'i'))
),
typ AS MATERIALIZED (
    SELECT t.oid, t.typtype, t.typacl, t.typowner, t.typrelid, t.typbasetype, t.typtypmod,
           t.typcollation, t.typdefaultbin, t.typnotnull,
           ns.q || '.' || quote_ident(t.typname) AS qname
      FROM pg_type t
      JOIN ns ON ns.oid = t.typnamespace
     WHERE t.oid >= 16384
       AND t.typtype <> 'm'
       AND (t.typrelid = 0
            OR EXISTS (SELECT FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind = 'c'))
       AND NOT (t.typelem <> 0 AND t.typlen = -1
                AND EXISTS (SELECT FROM pg_type e WHERE e.oid = t.typelem AND e.typarray = t.oid))
       AND NOT EXISTS (SELECT FROM pg_depend d
                        WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid
                          AND d.deptype IN ('e', 'i'))
),
obj (classid, objid, key, def, acl, owner, aclkind) AS MATERIALIZED (
    SELECT 'pg_namespace'::regclass::oid, ns.oid, 'schema ' || ns.q, ''::text,
           ns.nspacl, ns.nspowner, 'n'::text
      FROM ns
UNION ALL
    SELECT 'pg_class'::regclass, r.oid, 'table ' || r.qname,
           concat(
             CASE WHEN r.relpersistence = 'u' THEN 'unlogged ' END,
             CASE r.relkind WHEN 'p' THEN 'partitioned table' WHEN 'f' THEN 'foreign table'
                  ELSE 'table' END,
             ' (',
             (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
                FROM pg_attribute a
               WHERE a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped),
             ')',
             CASE WHEN r.reloftype <> 0 THEN E'\nof type ' || format_type(r.reloftype, NULL) END,
             CASE WHEN r.relkind = 'p' THEN E'\npartition by ' || pg_get_partkeydef(r.oid) END,
             CASE WHEN r.relispartition THEN
               (SELECT E'\npartition of ' || i.inhparent::regclass::text || ' '
                       || pg_get_expr(r.relpartbound, r.oid)
                  FROM pg_inherits i WHERE i.inhrelid = r.oid)
             ELSE
               (SELECT E'\ninherits ' || string_agg(i.inhparent::regclass::text, ', '
                                                    ORDER BY i.inhseqno)
                  FROM pg_inherits i WHERE i.inhrelid = r.oid)
             END,
             CASE WHEN r.reloptions IS NOT NULL THEN
               E'\nwith (' || array_to_string(ARRAY(SELECT o FROM unnest(r.reloptions) o
                                                    ORDER BY o), ', ') || ')'
             END,
             (SELECT E'\nwith toast (' || array_to_string(ARRAY(SELECT o FROM unnest(tc.reloptions) o
                                                                ORDER BY o), ', ') || ')'
                FROM pg_class tc WHERE tc.oid = r.reltoastrelid AND tc.reloptions IS NOT NULL),
             (SELECT E'\nusing ' || quote_ident(am.amname)
                FROM pg_am am WHERE am.oid = r.relam AND am.amname <> 'heap'),
             (SELECT E'\ntablespace ' || quote_ident(ts.spcname)
                FROM pg_tablespace ts WHERE ts.oid = r.reltablespace),
             CASE WHEN r.relrowsecurity OR r.relforcerowsecurity THEN
               E'\nrow level security '
               || CASE WHEN r.relrowsecurity THEN 'enabled' ELSE 'disabled' END
               || CASE WHEN r.relforcerowsecurity THEN ', forced' ELSE '' END
             END,
             -- (foreign tables have no replica identity)
             CASE (CASE WHEN r.relkind <> 'f' THEN r.relreplident END)
               WHEN 'f' THEN E'\nreplica identity full'
               WHEN 'n' THEN E'\nreplica identity nothing'
               WHEN 'i' THEN E'\nreplica identity using index '
                 || (SELECT quote_ident(ic.relname) FROM pg_index x
                       JOIN pg_class ic ON ic.oid = x.indexrelid
                      WHERE x.indrelid = r.oid AND x.indisreplident)
             END,
             (SELECT E'\nclustered on ' || quote_ident(ic.relname) FROM pg_index x
                JOIN pg_class ic ON ic.oid = x.indexrelid
               WHERE x.indrelid = r.oid AND x.indisclustered),
             (SELECT E'\nserver ' || quote_ident(s.srvname)
                     || CASE WHEN ft.ftoptions IS NOT NULL THEN
                          ' options (' || array_to_string(ARRAY(SELECT o FROM unnest(ft.ftoptions) o
                                                                ORDER BY o), ', ') || ')'
                        ELSE '' END
                FROM pg_foreign_table ft JOIN pg_foreign_server s ON s.oid = ft.ftserver
               WHERE ft.ftrelid = r.oid)
           ),
           r.relacl, r.relowner, 'r'
      FROM rel r
     WHERE r.relkind IN ('r', 'p', 'f')
UNION ALL
    SELECT 'pg_class'::regclass, r.oid, r.prefix || ' ' || r.qname,
           concat(
             r.prefix,
             CASE WHEN r.reloptions IS NOT NULL THEN
               ' with (' || array_to_string(ARRAY(SELECT o FROM unnest(r.reloptions) o
                                                   ORDER BY o), ', ') || ')'
             END,
             (SELECT ' using ' || quote_ident(am.amname)
                FROM pg_am am WHERE am.oid = r.relam AND am.amname <> 'heap'),
             (SELECT ' tablespace ' || quote_ident(ts.spcname)
                FROM pg_tablespace ts WHERE ts.oid = r.reltablespace),
             (SELECT ' clustered on ' || quote_ident(ic.relname) FROM pg_index x
                JOIN pg_class ic ON ic.oid = x.indexrelid
               WHERE x.indrelid = r.oid AND x.indisclustered),
             E'\n',
             pg_get_viewdef(r.oid)
           ),
           r.relacl, r.relowner, 'r'
      FROM rel r
     WHERE r.relkind IN ('v', 'm')
UNION ALL
    SELECT 'pg_class'::regclass, r.oid, 'sequence ' || r.qname,
           concat(
             CASE WHEN r.relpersistence = 'u' THEN 'unlogged ' END,
             'sequence AS ', format_type(s.seqtypid, NULL),
             ' START ', s.seqstart, ' INCREMENT ', s.seqincrement,
             ' MINVALUE ', s.seqmin, ' MAXVALUE ', s.seqmax, ' CACHE ', s.seqcache,
             CASE WHEN s.seqcycle THEN ' CYCLE' ELSE ' NO CYCLE' END,
             (SELECT ' OWNED BY ' || string_agg(d.refobjid::regclass::text || '.'
                                                 || quote_ident(a.attname), ', ')
                FROM pg_depend d
                JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
               WHERE d.classid = 'pg_class'::regclass AND d.objid = r.oid
                 AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0
                 AND d.deptype = 'a')
           ),
           r.relacl, r.relowner, 's'
      FROM rel r
      JOIN pg_sequence s ON s.seqrelid = r.oid
UNION ALL
    SELECT 'pg_class'::regclass, r.oid, 'index ' || r.qname,
           CASE WHEN NOT EXISTS (SELECT FROM pg_constraint co
                                  WHERE co.conindid = x.indexrelid
                                    AND co.conrelid = x.indrelid
                                    AND co.contype IN ('p', 'u', 'x')) THEN
             concat(
               pg_get_indexdef(x.indexrelid),
               (SELECT E'\ntablespace ' || quote_ident(ts.spcname)
                  FROM pg_tablespace ts WHERE ts.oid = r.reltablespace),
               CASE WHEN NOT x.indisvalid THEN E'\ninvalid' END
             )
           END,
           NULL, NULL, NULL
      FROM pg_index x
      JOIN rel r ON r.oid = x.indexrelid
      JOIN rel t ON t.oid = x.indrelid
UNION ALL
    SELECT 'pg_constraint'::regclass, co.oid,
           'constraint ' || r.qname || '.' || quote_ident(co.conname),
           pg_get_constraintdef(co.oid),
           NULL, NULL, NULL
      FROM pg_constraint co
      JOIN rel r ON r.oid = co.conrelid
     WHERE co.contype <> 't'
       AND NOT (co.contype = 'f' AND co.conparentid <> 0)
UNION ALL
    SELECT 'pg_constraint'::regclass, co.oid,
           'constraint ' || t.qname || '.' || quote_ident(co.conname),
           NULL, NULL, NULL, NULL
      FROM pg_constraint co
      JOIN typ t ON t.oid = co.contypid
UNION ALL
    SELECT 'pg_trigger'::regclass, tg.oid,
           'trigger ' || r.qname || '.' || quote_ident(tg.tgname),
           pg_get_triggerdef(tg.oid)
             || CASE tg.tgenabled WHEN 'D' THEN E'\ndisabled'
                  WHEN 'R' THEN E'\nenabled replica' WHEN 'A' THEN E'\nenabled always'
                  ELSE '' END,
           NULL, NULL, NULL
      FROM pg_trigger tg
      JOIN rel r ON r.oid = tg.tgrelid
     WHERE NOT tg.tgisinternal
UNION ALL
    SELECT 'pg_policy'::regclass, pol.oid,
           'policy ' || r.qname || '.' || quote_ident(pol.polname),
           concat(
             CASE WHEN pol.polpermissive THEN 'AS PERMISSIVE' ELSE 'AS RESTRICTIVE' END,
             ' FOR ', CASE pol.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT'
                        WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
             ' TO ',
             (SELECT string_agg(g.name, ', ' ORDER BY g.name)
                FROM (SELECT CASE WHEN ro = 0 THEN 'PUBLIC'
                                  ELSE quote_ident(pg_get_userbyid(ro)) END AS name
                        FROM unnest(pol.polroles) ro) g),
             ' USING (' || pg_get_expr(pol.polqual, pol.polrelid) || ')',
             ' WITH CHECK (' || pg_get_expr(pol.polwithcheck, pol.polrelid) || ')'
           ),
           NULL, NULL, NULL
      FROM pg_policy pol
      JOIN rel r ON r.oid = pol.polrelid
UNION ALL
    SELECT 'pg_rewrite'::regclass, rw.oid,
           'rule ' || r.qname || '.' || quote_ident(rw.rulename),
           pg_get_ruledef(rw.oid)
             || CASE rw.ev_enabled WHEN 'D' THEN E'\ndisabled'
                  WHEN 'R' THEN E'\nenabled replica' WHEN 'A' THEN E'\nenabled always'
                  ELSE '' END,
           NULL, NULL, NULL
      FROM pg_rewrite rw
      JOIN rel r ON r.oid = rw.ev_class
     WHERE rw.rulename <> '_RETURN'
UNION ALL
    SELECT 'pg_proc'::regclass, f.oid, f.key,
           CASE WHEN f.prokind = 'a' THEN
             (SELECT concat_ws(', ',
                       'aggregate returns ' || pg_get_function_result(f.oid),
                       CASE ag.aggkind WHEN 'o' THEN 'ordered-set'
                            WHEN 'h' THEN 'hypothetical' END,
                       'sfunc = ' || ag.aggtransfn::oid::regprocedure::text,
                       'stype = ' || format_type(ag.aggtranstype, NULL),
                       'finalfunc = ' || NULLIF(ag.aggfinalfn::oid, 0::oid)::regprocedure::text,
                       'combinefunc = '
                         || NULLIF(ag.aggcombinefn::oid, 0::oid)::regprocedure::text,
                       'serialfunc = ' || NULLIF(ag.aggserialfn::oid, 0::oid)::regprocedure::text,
                       'deserialfunc = '
                         || NULLIF(ag.aggdeserialfn::oid, 0::oid)::regprocedure::text,
                       'msfunc = ' || NULLIF(ag.aggmtransfn::oid, 0::oid)::regprocedure::text,
                       'minvfunc = ' || NULLIF(ag.aggminvtransfn::oid, 0::oid)::regprocedure::text,
                       'mfinalfunc = '
                         || NULLIF(ag.aggmfinalfn::oid, 0::oid)::regprocedure::text,
                       'mstype = ' || format_type(NULLIF(ag.aggmtranstype, 0::oid), NULL),
                       'initcond = ' || quote_literal(ag.agginitval),
                       'minitcond = ' || quote_literal(ag.aggminitval),
                       'sortop = ' || NULLIF(ag.aggsortop, 0::oid)::regoperator::text)
                FROM pg_aggregate ag WHERE ag.aggfnoid = f.oid)
           ELSE pg_get_functiondef(f.oid) END,
           f.proacl, f.proowner, 'f'
      FROM fn f
UNION ALL
    SELECT 'pg_type'::regclass, t.oid, 'type ' || t.qname,
           CASE t.typtype
             WHEN 'e' THEN
               concat('enum (',
                      (SELECT string_agg(quote_literal(e.enumlabel), ', '
                                         ORDER BY e.enumsortorder)
                         FROM pg_enum e WHERE e.enumtypid = t.oid),
                      ')')
             WHEN 'd' THEN
               concat('domain ', format_type(t.typbasetype, t.typtypmod),
                      (SELECT ' COLLATE ' || quote_ident(cn.nspname) || '.'
                              || quote_ident(cl.collname)
                         FROM pg_collation cl
                         JOIN pg_namespace cn ON cn.oid = cl.collnamespace
                         JOIN pg_type bt ON bt.oid = t.typbasetype
                        WHERE cl.oid = t.typcollation AND t.typcollation <> bt.typcollation),
                      ' DEFAULT ' || pg_get_expr(t.typdefaultbin, 0),
                      CASE WHEN t.typnotnull THEN ' NOT NULL' END,
                      (SELECT string_agg(E'\nCONSTRAINT ' || quote_ident(co.conname) || ' '
                                         || pg_get_constraintdef(co.oid), '' ORDER BY co.conname)
                         FROM pg_constraint co WHERE co.contypid = t.oid))
             WHEN 'c' THEN
               concat('composite (',
                      (SELECT string_agg(quote_ident(a.attname) || ' '
                                         || format_type(a.atttypid, a.atttypmod)
                                         || coalesce(
                                              (SELECT ' COLLATE ' || quote_ident(cn.nspname) || '.'
                                                      || quote_ident(cl.collname)
                                                 FROM pg_collation cl
                                                 JOIN pg_namespace cn ON cn.oid = cl.collnamespace
                                                 JOIN pg_type at ON at.oid = a.atttypid
                                                WHERE cl.oid = a.attcollation
                                                  AND a.attcollation <> at.typcollation), ''),
                                         ', ' ORDER BY a.attnum)
                         FROM pg_attribute a
                        WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped),
                      ')')
             WHEN 'r' THEN
               (SELECT concat_ws(', ',
                         'range (subtype = ' || format_type(rg.rngsubtype, NULL),
                         'subtype_opclass = ' || (SELECT quote_ident(opc.opcname)
                                                    FROM pg_opclass opc
                                                   WHERE opc.oid = rg.rngsubopc
                                                     AND NOT opc.opcdefault),
                         'collation = ' || (SELECT quote_ident(cn.nspname) || '.'
                                                   || quote_ident(cl.collname)
                                              FROM pg_collation cl
                                              JOIN pg_namespace cn ON cn.oid = cl.collnamespace
                                              JOIN pg_type st ON st.oid = rg.rngsubtype
                                             WHERE cl.oid = rg.rngcollation
                                               AND rg.rngcollation <> st.typcollation),
                         'canonical = ' || NULLIF(rg.rngcanonical::oid, 0::oid)::regprocedure::text,
                         'subtype_diff = '
                           || NULLIF(rg.rngsubdiff::oid, 0::oid)::regprocedure::text,
                         'multirange_type_name = '
                           || format_type(NULLIF((to_jsonb(rg) ->> 'rngmultitypid')::oid, 0::oid),
                                          NULL)) || ')'
                  FROM pg_range rg WHERE rg.rngtypid = t.oid)
             WHEN 'p' THEN 'shell type'
             ELSE
               (SELECT concat_ws(', ',
                         'base type (input = ' || bt.typinput::oid::regprocedure::text,
                         'output = ' || bt.typoutput::oid::regprocedure::text,
                         'receive = ' || NULLIF(bt.typreceive::oid, 0::oid)::regprocedure::text,
                         'send = ' || NULLIF(bt.typsend::oid, 0::oid)::regprocedure::text,
                         'typmod_in = ' || NULLIF(bt.typmodin::oid, 0::oid)::regprocedure::text,
                         'typmod_out = ' || NULLIF(bt.typmodout::oid, 0::oid)::regprocedure::text,
                         'analyze = ' || NULLIF(bt.typanalyze::oid, 0::oid)::regprocedure::text,
                         'internallength = ' || bt.typlen,
                         CASE WHEN bt.typbyval THEN 'passedbyvalue' END,
                         'alignment = ' || bt.typalign::text, 'storage = ' || bt.typstorage::text,
                         'category = ' || bt.typcategory::text,
                         'element = ' || format_type(NULLIF(bt.typelem, 0::oid), NULL),
                         'delimiter = ' || quote_literal(bt.typdelim::text)) || ')'
                  FROM pg_type bt WHERE bt.oid = t.oid)
           END,
           t.typacl, t.typowner, 'T'
      FROM typ t
UNION ALL
    -- Stands for everything the extension's script creates, its comment
    -- included (so 'pg_extension' is not a comment's catalog here).
    SELECT 0::oid, e.oid, 'extension ' || quote_ident(e.extname),
           'version ' || e.extversion || ', schema ' || ns.q,
           NULL, NULL, NULL
      FROM pg_extension e
      JOIN ns ON ns.oid = e.extnamespace
UNION ALL
    SELECT 'pg_collation'::regclass, cl.oid, 'collation ' || ns.q || '.' || quote_ident(cl.collname),
           (SELECT concat_ws(', ',
                     'provider ' || CASE cl.collprovider WHEN 'c' THEN 'libc' WHEN 'i' THEN 'icu'
                                      WHEN 'd' THEN 'default' ELSE cl.collprovider::text END,
                     'locale ' || quote_literal(coalesce(j ->> 'colllocale', j ->> 'colliculocale')),
                     'lc_collate ' || quote_literal(j ->> 'collcollate'),
                     'lc_ctype ' || quote_literal(j ->> 'collctype'),
                     'rules ' || quote_literal(j ->> 'collicurules'),
                     CASE WHEN NOT cl.collisdeterministic THEN 'nondeterministic' END)
              FROM (SELECT to_jsonb(cl) AS j) x),
           NULL, NULL, NULL
      FROM pg_collation cl
      JOIN ns ON ns.oid = cl.collnamespace
     WHERE cl.oid >= 16384
       AND NOT EXISTS (SELECT FROM pg_depend d
                        WHERE d.classid = 'pg_collation'::regclass AND d.objid = cl.oid
                          AND d.deptype = 'e')
UNION ALL
    SELECT 'pg_operator'::regclass, o.oid,
           'operator ' || ns.q || '.' || o.oprname
             || '(' || coalesce(format_type(NULLIF(o.oprleft, 0::oid), NULL), 'NONE')
             || ', ' || coalesce(format_type(NULLIF(o.oprright, 0::oid), NULL), 'NONE') || ')',
           concat_ws(', ',
             'function = ' || o.oprcode::oid::regprocedure::text,
             'commutator = ' || NULLIF(o.oprcom, 0::oid)::regoperator::text,
             'negator = ' || NULLIF(o.oprnegate, 0::oid)::regoperator::text,
             'restrict = ' || NULLIF(o.oprrest::oid, 0::oid)::regprocedure::text,
             'join = ' || NULLIF(o.oprjoin::oid, 0::oid)::regprocedure::text,
             CASE WHEN o.oprcanhash THEN 'hashes' END,
             CASE WHEN o.oprcanmerge THEN 'merges' END),
           NULL, NULL, NULL
      FROM pg_operator o
      JOIN ns ON ns.oid = o.oprnamespace
     WHERE o.oid >= 16384
       AND NOT EXISTS (SELECT FROM pg_depend d
                        WHERE d.classid = 'pg_operator'::regclass AND d.objid = o.oid
                          AND d.deptype = 'e')
UNION ALL
    SELECT 'pg_statistic_ext'::regclass, s.oid,
           'statistics ' || ns.q || '.' || quote_ident(s.stxname),
           pg_get_statisticsobjdef(s.oid)
             || coalesce((SELECT E'\nstatistics target ' || v
                            FROM (SELECT to_jsonb(s) ->> 'stxstattarget' AS v) x
                           WHERE v::int >= 0), ''),
           NULL, NULL, NULL
      FROM pg_statistic_ext s
      JOIN ns ON ns.oid = s.stxnamespace
      JOIN rel r ON r.oid = s.stxrelid
),
cols AS (
    SELECT r.oid, r.qname, a.attnum, a.attacl, r.relowner,
           'column ' || r.qname || '.' || quote_ident(a.attname) AS key,
           concat(
             format_type(a.atttypid, a.atttypmod),
             (SELECT ' COLLATE ' || quote_ident(cn.nspname) || '.' || quote_ident(cl.collname)
                FROM pg_collation cl JOIN pg_namespace cn ON cn.oid = cl.collnamespace
               WHERE cl.oid = a.attcollation AND a.attcollation <> t.typcollation),
             CASE WHEN a.attgenerated = 's' THEN
               ' GENERATED ALWAYS AS (' || pg_get_expr(ad.adbin, ad.adrelid) || ') STORED'
             ELSE ' DEFAULT ' || pg_get_expr(ad.adbin, ad.adrelid) END,
             CASE WHEN a.attnotnull THEN ' NOT NULL' END,
             CASE a.attidentity WHEN 'a' THEN ' GENERATED ALWAYS AS IDENTITY'
                  WHEN 'd' THEN ' GENERATED BY DEFAULT AS IDENTITY' END,
             CASE WHEN a.attidentity <> '' THEN
               (SELECT ' (' || NULLIF(concat_ws(' ',
                   CASE WHEN s.seqstart <> CASE WHEN s.seqincrement > 0 THEN s.seqmin
                                                ELSE s.seqmax END
                        THEN 'START ' || s.seqstart END,
                   CASE WHEN s.seqincrement <> 1 THEN 'INCREMENT ' || s.seqincrement END,
                   CASE WHEN s.seqmin <> CASE WHEN s.seqincrement > 0 THEN 1
                          ELSE CASE s.seqtypid WHEN 'int2'::regtype::oid THEN -32768
                                 WHEN 'int4'::regtype::oid THEN -2147483648
                                 ELSE -9223372036854775808 END END
                        THEN 'MINVALUE ' || s.seqmin END,
                   CASE WHEN s.seqmax <> CASE WHEN s.seqincrement < 0 THEN -1
                          ELSE CASE s.seqtypid WHEN 'int2'::regtype::oid THEN 32767
                                 WHEN 'int4'::regtype::oid THEN 2147483647
                                 ELSE 9223372036854775807 END END
                        THEN 'MAXVALUE ' || s.seqmax END,
                   CASE WHEN s.seqcache <> 1 THEN 'CACHE ' || s.seqcache END,
                   CASE WHEN s.seqcycle THEN 'CYCLE' END), '') || ')'
                  FROM pg_depend d JOIN pg_sequence s ON s.seqrelid = d.objid
                 WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
                   AND d.refobjid = a.attrelid AND d.refobjsubid = a.attnum
                   AND d.deptype = 'i')
             END,
             CASE WHEN a.attstorage <> t.typstorage THEN
               ' STORAGE ' || CASE a.attstorage WHEN 'p' THEN 'PLAIN' WHEN 'e' THEN 'EXTERNAL'
                                WHEN 'm' THEN 'MAIN' ELSE 'EXTENDED' END
             END,
             {compression},
             CASE WHEN a.attstattarget >= 0 THEN ' STATISTICS ' || a.attstattarget END,
             CASE WHEN a.attoptions IS NOT NULL THEN
               ' WITH (' || array_to_string(ARRAY(SELECT o FROM unnest(a.attoptions) o
                                                   ORDER BY o), ', ') || ')'
             END,
             CASE WHEN a.attfdwoptions IS NOT NULL THEN
               ' OPTIONS (' || array_to_string(ARRAY(SELECT o FROM unnest(a.attfdwoptions) o
                                                      ORDER BY o), ', ') || ')'
             END
           ) AS def
      FROM rel r
      JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
      JOIN pg_type t ON t.oid = a.atttypid
      LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
     WHERE r.relkind IN ('r', 'p', 'f')
),
acl_obj AS (
    SELECT key, acl, owner, aclkind FROM obj WHERE acl IS NOT NULL
UNION ALL
    SELECT key, attacl, relowner, 'c' FROM cols WHERE attacl IS NOT NULL
UNION ALL
    SELECT 'column ' || r.qname || '.' || quote_ident(a.attname), a.attacl, r.relowner, 'c'
      FROM rel r
      JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE r.relkind IN ('v', 'm') AND a.attacl IS NOT NULL
),
acl_have AS (
    SELECT o.key, o.owner, e.grantor, e.grantee, e.privilege_type, e.is_grantable
      FROM acl_obj o, LATERAL aclexplode(o.acl) e
),
acl_default AS (
    SELECT o.key, o.owner, e.grantor, e.grantee, e.privilege_type, e.is_grantable
      FROM acl_obj o, LATERAL aclexplode(acldefault(o.aclkind::"char", o.owner)) e
),
acl_delta AS (
    SELECT 'GRANT' AS verb, g.* FROM (SELECT * FROM acl_have EXCEPT SELECT * FROM acl_default) g
UNION ALL
    SELECT 'REVOKE', r.* FROM (SELECT * FROM acl_default EXCEPT SELECT * FROM acl_have) r
),
acl_lines AS (
    SELECT key,
           concat(verb, ' ', string_agg(privilege_type, ', ' ORDER BY privilege_type),
                  CASE verb WHEN 'GRANT' THEN ' TO ' ELSE ' FROM ' END,
                  CASE WHEN grantee = 0 THEN 'PUBLIC' WHEN grantee = owner THEN '<owner>'
                       ELSE quote_ident(pg_get_userbyid(grantee)) END,
                  CASE WHEN is_grantable THEN ' WITH GRANT OPTION' END,
                  CASE WHEN grantor <> owner THEN
                    ' GRANTED BY ' || quote_ident(pg_get_userbyid(grantor)) END) AS line
      FROM acl_delta
     GROUP BY key, owner, verb, grantee, grantor, is_grantable
)
SELECT key, def FROM obj WHERE def IS NOT NULL
UNION ALL
SELECT key, def FROM cols
UNION ALL
SELECT 'comment ' || o.key, d.description
  FROM pg_description d
  JOIN obj o ON o.objid = d.objoid AND o.classid = d.classoid
 WHERE d.objoid >= 16384 AND d.objsubid = 0
UNION ALL
SELECT 'comment schema ' || ns.q, c.description
  FROM ns, LATERAL (SELECT d.description FROM pg_description d
                     WHERE d.objoid = ns.oid AND d.classoid = 'pg_namespace'::regclass
                       AND d.objsubid = 0 AND ns.oid < 16384) c
UNION ALL
SELECT 'comment column ' || r.qname || '.' || quote_ident(a.attname), d.description
  FROM pg_description d
  JOIN rel r ON r.oid = d.objoid
  JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum = d.objsubid
 WHERE d.objoid >= 16384 AND d.classoid = 'pg_class'::regclass AND d.objsubid > 0
UNION ALL
SELECT 'grant ' || key, string_agg(line, E'\n' ORDER BY line)
  FROM acl_lines
 GROUP BY key
UNION ALL
SELECT concat('default privileges for role ', quote_ident(pg_get_userbyid(da.defaclrole)),
              ' in schema ' || dns.q,
              ' on ', CASE da.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences'
                        WHEN 'f' THEN 'functions' WHEN 'T' THEN 'types' WHEN 'n' THEN 'schemas'
                        ELSE da.defaclobjtype::text END),
       coalesce((SELECT string_agg(l.line, E'\n' ORDER BY l.line)
                   FROM (SELECT concat('GRANT ', string_agg(e.privilege_type, ', '
                                                            ORDER BY e.privilege_type),
                                       ' TO ', CASE WHEN e.grantee = 0 THEN 'PUBLIC'
                                                    ELSE quote_ident(pg_get_userbyid(e.grantee))
                                               END,
                                       CASE WHEN e.is_grantable THEN ' WITH GRANT OPTION' END)
                                AS line
                           FROM aclexplode(da.defaclacl) e
                          GROUP BY e.grantee, e.is_grantable) l),
                'no privileges')
  FROM pg_default_acl da
  LEFT JOIN ns dns ON dns.oid = da.defaclnamespace
 WHERE da.defaclnamespace = 0 OR dns.oid IS NOT NULL
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(entries: &[(&str, &str)]) -> Snapshot {
        Snapshot::from_entries(entries.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn accessors() {
        let s = snap(&[("table public.b", "table (x)"), ("schema public", "")]);
        assert_eq!(s.len(), 2);
        assert!(!s.is_empty());
        assert!(Snapshot::default().is_empty());
        assert_eq!(s.get("table public.b"), Some("table (x)"));
        assert_eq!(s.get("table public.c"), None);
        assert_eq!(
            s.keys().collect::<Vec<_>>(),
            ["schema public", "table public.b"]
        );
        assert_eq!(s.iter().next(), Some(("schema public", "")));
    }

    #[test]
    fn diff_of_equal_snapshots_is_empty() {
        let s = snap(&[("a", "1"), ("b", "2")]);
        assert!(diff(&s, &s.clone()).is_empty());
        assert!(diff(&Snapshot::default(), &Snapshot::default()).is_empty());
    }

    #[test]
    fn diff_finds_added_removed_and_changed_in_key_order() {
        let before = snap(&[("a", "1"), ("b", "2"), ("d", "4"), ("e", "5")]);
        let after = snap(&[("b", "2"), ("c", "3"), ("d", "four"), ("f", "6")]);
        assert_eq!(
            diff(&before, &after),
            [
                Change::Removed {
                    key: "a".into(),
                    before: "1".into()
                },
                Change::Added {
                    key: "c".into(),
                    after: "3".into()
                },
                Change::Changed {
                    key: "d".into(),
                    before: "4".into(),
                    after: "four".into()
                },
                Change::Removed {
                    key: "e".into(),
                    before: "5".into()
                },
                Change::Added {
                    key: "f".into(),
                    after: "6".into()
                },
            ]
        );
        let keys: Vec<_> = diff(&after, &before)
            .iter()
            .map(|c| c.key().to_string())
            .collect();
        assert_eq!(keys, ["a", "c", "d", "e", "f"]);
    }

    #[test]
    fn render_single_line_changes() {
        let before = snap(&[
            ("column public.t.a", "integer"),
            (
                "index public.t_a_idx",
                "CREATE INDEX t_a_idx ON public.t USING btree (a)",
            ),
            ("schema old", ""),
        ]);
        let after = snap(&[("column public.t.a", "bigint NOT NULL"), ("schema new", "")]);
        assert_eq!(
            render(&diff(&before, &after)),
            "- column public.t.a: integer\n\
             + column public.t.a: bigint NOT NULL\n\
             - index public.t_a_idx: CREATE INDEX t_a_idx ON public.t USING btree (a)\n\
             + schema new\n\
             - schema old\n"
        );
        assert_eq!(render(&[]), "");
    }

    #[test]
    fn render_multi_line_definitions_line_by_line() {
        let added = Change::Added {
            key: "view public.v".into(),
            after: "view\n SELECT 1;".into(),
        };
        assert_eq!(
            render(&[added]),
            "+ view public.v:\n+     view\n+      SELECT 1;\n"
        );
        let changed = Change::Changed {
            key: "function public.f()".into(),
            before: "head\nbody 1\ntail".into(),
            after: "head\nbody 2\nextra\ntail".into(),
        };
        assert_eq!(
            render(&[changed]),
            "~ function public.f():\n\
             \x20     head\n\
             -     body 1\n\
             +     body 2\n\
             +     extra\n\
             \x20     tail\n"
        );
        // A single-line definition becoming multi-line is shown line by line too.
        let grown = Change::Changed {
            key: "table public.t".into(),
            before: "table (a)".into(),
            after: "table (a)\nrow level security enabled".into(),
        };
        assert_eq!(
            render(&[grown]),
            "~ table public.t:\n\
             \x20     table (a)\n\
             +     row level security enabled\n"
        );
    }

    #[test]
    fn render_elides_distant_unchanged_lines() {
        let before: Vec<String> = (1..=20).map(|i| format!("line {i}")).collect();
        let mut after = before.clone();
        after[9] = "line ten".into();
        let change = Change::Changed {
            key: "function public.long()".into(),
            before: before.join("\n"),
            after: after.join("\n"),
        };
        assert_eq!(
            render(&[change]),
            "~ function public.long():\n\
             \x20     ...\n\
             \x20     line 7\n\
             \x20     line 8\n\
             \x20     line 9\n\
             -     line 10\n\
             +     line ten\n\
             \x20     line 11\n\
             \x20     line 12\n\
             \x20     line 13\n\
             \x20     ...\n"
        );
    }

    #[test]
    fn line_diff_is_a_shortest_edit() {
        let a = ["a", "b", "c", "d"];
        let b = ["a", "c", "x", "d", "e"];
        assert_eq!(
            line_diff(&a, &b),
            [
                Op::Same("a"),
                Op::Del("b"),
                Op::Same("c"),
                Op::Ins("x"),
                Op::Same("d"),
                Op::Ins("e"),
            ]
        );
        assert_eq!(line_diff(&[], &["x"]), [Op::Ins("x")]);
        assert_eq!(line_diff(&["x"], &[]), [Op::Del("x")]);
        assert_eq!(
            line_diff(&["x", "x"], &["x"]),
            [Op::Same("x"), Op::Del("x")]
        );
    }
}
