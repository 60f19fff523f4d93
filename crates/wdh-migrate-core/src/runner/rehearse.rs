//! The preview of what a run destroys ([`crate::preview`]), found on the
//! live database.
//!
//! Rehearsal: the steps that run in a transaction are run, in order, in
//! one transaction that is always rolled back, under a short
//! `lock_timeout` (the lock schedule's first, 100 ms by default), so a
//! rehearsal never queues the application's queries for longer. The
//! catalog is read before and after each step: schemas and tables that
//! vanished, columns newly dropped, tables given a new, empty file
//! (`TRUNCATE`), rows deleted (`pg_stat_xact_user_tables`). The script's
//! locks end with `ROLLBACK TO SAVEPOINT` (PostgreSQL releases a
//! subtransaction's locks when it is rolled back); the rows are counted
//! after it, on the database as it is, with only `ACCESS SHARE` locks.
//!
//! A step that cannot be rehearsed (no-transaction, transaction control
//! of its own, a read-only session) and every step after it, or the
//! steps after a rehearsal that failed, are read from the parse tree and
//! resolved on the live catalog.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use postgres::SimpleQueryMessage;

use crate::migrations::{Migration, Script};
use crate::plan::Plan;
use crate::preview::{parse, Count, Loss, Lost, Method, Preview, StepPreview};
use crate::sql::{quote_ident, quote_literal};

use super::session::CallError;
use super::step::script_for;
use super::{Connected, RunError, Runner};

/// Tables estimated at up to this many rows are counted exactly.
pub const EXACT_ROWS: u64 = 100_000;

/// A table with no statistics (never analyzed) is counted exactly up to
/// this size on disk.
const EXACT_BYTES: u64 = 64 << 20;

/// The longest a rehearsal's statement may run, unless the run's own
/// statement timeout is shorter.
const REHEARSAL_STATEMENT: Duration = Duration::from_secs(30);

const SAVEPOINT: &str = "wdh_migrate_rehearsal";

/// The schemas a preview looks at: not the system's, not the ledger's.
const USER_SCHEMA: &str = "n.nspname OPERATOR(pg_catalog.!~) '^pg_' \
    AND n.nspname OPERATOR(pg_catalog.<>) 'information_schema' \
    AND n.nspname OPERATOR(pg_catalog.<>) 'wdh_migrate'";

/// What a rehearsal compares: schemas, tables (with their file), the
/// columns already dropped, and the rows this transaction deleted.
fn state_query() -> String {
    format!(
        "SELECT 'n', n.oid::pg_catalog.text, NULL FROM pg_catalog.pg_namespace n WHERE {USER_SCHEMA}
UNION ALL SELECT 'r', c.oid::pg_catalog.text, c.relfilenode::pg_catalog.text
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
 WHERE c.relkind OPERATOR(pg_catalog.=) 'r' AND c.relpersistence OPERATOR(pg_catalog.<>) 't' AND {USER_SCHEMA}
UNION ALL SELECT 'd', a.attrelid::pg_catalog.text, a.attnum::pg_catalog.text
  FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) a.attrelid
  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
 WHERE a.attisdropped AND a.attnum OPERATOR(pg_catalog.>) 0 AND c.relkind OPERATOR(pg_catalog.=) 'r' AND {USER_SCHEMA}
UNION ALL SELECT 'x', s.relid::pg_catalog.text, s.n_tup_del::pg_catalog.text
  FROM pg_catalog.pg_stat_xact_user_tables s WHERE s.n_tup_del OPERATOR(pg_catalog.>) 0"
    )
}

#[derive(Debug, Default, Clone)]
struct State {
    schemas: HashSet<u32>,
    /// Table → its file (`relfilenode`).
    tables: HashMap<u32, u32>,
    dropped_columns: HashSet<(u32, i16)>,
    /// Table → rows this transaction deleted from it so far.
    deleted: HashMap<u32, u64>,
}

impl State {
    fn read(rows: &[Vec<Option<String>>]) -> State {
        let mut s = State::default();
        for r in rows {
            let num = |i: usize| r.get(i).and_then(|v| v.as_deref());
            let (Some(kind), Some(a)) = (num(0), num(1).and_then(|v| v.parse::<u32>().ok())) else {
                continue;
            };
            match kind {
                "n" => {
                    s.schemas.insert(a);
                }
                "r" => {
                    s.tables
                        .insert(a, num(2).and_then(|v| v.parse().ok()).unwrap_or(0));
                }
                "d" => {
                    if let Some(n) = num(2).and_then(|v| v.parse().ok()) {
                        s.dropped_columns.insert((a, n));
                    }
                }
                "x" => {
                    s.deleted
                        .insert(a, num(2).and_then(|v| v.parse().ok()).unwrap_or(0));
                }
                _ => {}
            }
        }
        s
    }
}

/// Something a step destroys, by the catalog's numbers, before it is
/// named and counted.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Want {
    Schema(u32),
    Table(u32),
    Column(u32, i16),
    Truncated(u32),
    /// Rows deleted: counted by the rehearsal, every row (a `DELETE`
    /// without `WHERE` read from the parse tree), or not known.
    Deleted(u32, Deleted),
    /// Named by the script but not found on the live catalog (created by
    /// an earlier step, or not there): shown as written.
    Unresolved(Lost, String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deleted {
    Counted(u64),
    Every,
    Unknown,
}

/// What one step's preview holds before it is resolved.
struct Pending {
    migration: String,
    method: Method,
    wants: Vec<Want>,
    /// For a step read from the parse tree: its script, whose names are
    /// found on the catalog once the rehearsal is rolled back.
    unrehearsed: Option<String>,
}

type Rows = Vec<Vec<Option<String>>>;

fn rows(messages: Vec<SimpleQueryMessage>) -> Rows {
    messages
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
            }
            _ => None,
        })
        .collect()
}

/// Why a script is not rehearsed, if it is not.
fn not_rehearsable(script: &Script, writable: bool) -> Option<String> {
    if script.no_transaction {
        return Some("it runs outside a transaction".into());
    }
    if !writable {
        return Some("the session is read-only".into());
    }
    let sql = script.executable_sql();
    if crate::sql::syntax_error(&sql).is_some() {
        return Some("PostgreSQL's parser rejects it".into());
    }
    if crate::sql::split_statements(&sql)
        .iter()
        .any(|s| s.transaction_control().is_some())
    {
        return Some("it controls transactions itself".into());
    }
    None
}

fn oid_array(oids: impl IntoIterator<Item = u32>) -> String {
    let list: Vec<String> = oids.into_iter().map(|o| o.to_string()).collect();
    format!("'{{{}}}'::pg_catalog.oid[]", list.join(","))
}

impl Runner<'_> {
    /// What the steps of `plan` destroy, step by step: rehearsed where
    /// they run in a transaction, from the parse tree where not. Changes
    /// nothing: the rehearsal's transaction is rolled back on every path.
    pub(super) fn preview(&self, c: &mut Connected, plan: &Plan<'_>) -> Result<Preview, RunError> {
        let database = c.identity.database.clone();
        let writable = !c.identity.standby && !c.identity.read_only;
        let steps: Vec<(&Migration, &Script)> = plan
            .steps
            .iter()
            .filter_map(|m| script_for(m, plan.direction).map(|s| (*m, s)))
            .collect();
        let mut pending: Vec<Pending> = Vec::new();
        if steps
            .iter()
            .any(|(_, s)| not_rehearsable(s, writable).is_none())
        {
            let result = self.rehearse(c, &steps, writable, &mut pending);
            c.client.rollback(self.quick());
            result.map_err(RunError::db(&database, "rehearsing the run"))?;
        } else {
            for (m, script) in &steps {
                pending.push(Pending {
                    migration: format!("{}_{}", m.version, m.name),
                    method: Method::ParseTree {
                        why: not_rehearsable(script, writable).unwrap_or_default(),
                    },
                    wants: Vec::new(),
                    unrehearsed: Some(script.executable_sql().into_owned()),
                });
            }
        }
        // The parse tree's names, found on the database as it is.
        for p in &mut pending {
            if let Some(sql) = p.unrehearsed.take() {
                p.wants = self
                    .resolve_named(c, &parse::named(&sql))
                    .map_err(RunError::db(&database, "reading what the run would drop"))?;
                p.wants.sort_by_key(want_order);
            }
        }
        let steps = self
            .name_and_count(c, pending)
            .map_err(RunError::db(&database, "counting what the run would drop"))?;
        Ok(Preview { steps })
    }

    /// Rehearses `steps` in one transaction (the caller rolls it back),
    /// pushing each step's numbers to `out`: a step that cannot be
    /// rehearsed is left to the parse tree, and so is every step from the
    /// first whose rehearsal fails (the ones after it would run on what it
    /// did not do).
    fn rehearse(
        &self,
        c: &mut Connected,
        steps: &[(&Migration, &Script)],
        writable: bool,
        out: &mut Vec<Pending>,
    ) -> Result<(), CallError> {
        let lock = self
            .options
            .lock_timeout
            .map_or(Duration::from_millis(100), |s| s.first);
        let statement = self
            .options
            .statement_timeout
            .map_or(REHEARSAL_STATEMENT, |t| t.min(REHEARSAL_STATEMENT));
        let ms = |d: Duration| d.as_millis().clamp(1, i32::MAX as u128);
        c.client.batch_execute(
            self.quick(),
            &format!(
                "BEGIN;\nSET LOCAL client_encoding = 'UTF8';\nSET LOCAL standard_conforming_strings = on;\n\
                 SET LOCAL backslash_quote = safe_encoding;\nSET LOCAL lock_timeout = '{}ms';\n\
                 SET LOCAL statement_timeout = '{}ms';\nSET LOCAL idle_in_transaction_session_timeout = '{}ms';\n\
                 SAVEPOINT {SAVEPOINT};",
                ms(lock),
                ms(statement),
                ms(statement + self.round_trip() * 4),
            ),
        )?;
        let query = state_query();
        let limit = Some(statement + self.round_trip());
        let mut before = State::read(&rows(c.client.simple_query(limit, &query)?));
        let original = before.clone();
        let mut stopped: Option<String> = None;
        for (m, script) in steps {
            let migration = format!("{}_{}", m.version, m.name);
            let sql = script.executable_sql().into_owned();
            let why = match &stopped {
                Some(why) => Some(why.clone()),
                None => not_rehearsable(script, writable),
            };
            if let Some(why) = why {
                out.push(Pending {
                    migration,
                    method: Method::ParseTree { why },
                    wants: Vec::new(),
                    unrehearsed: Some(sql),
                });
                continue;
            }
            let limit = Some(
                statement.saturating_mul(
                    u32::try_from(script.statements().len().max(1)).unwrap_or(u32::MAX),
                ) + self.round_trip(),
            );
            c.client
                .batch_execute(
                    self.quick(),
                    // As each migration's prologue: what the scanner read
                    // the script with, whatever an earlier step set.
                    "SAVEPOINT wdh_migrate_step;\nSET LOCAL client_encoding = 'UTF8';\n\
                     SET LOCAL standard_conforming_strings = on;\nSET LOCAL backslash_quote = safe_encoding;",
                )?;
            match c.client.simple_query(limit, &sql) {
                Ok(_) => {}
                Err(CallError::Db(e)) => {
                    let code = e.code().map(postgres::error::SqlState::code);
                    let why = match code {
                        Some("55P03") => format!(
                            "its rehearsal was not granted a lock within {} ms, and gave up so as not to hold up the database's queries",
                            ms(lock)
                        ),
                        Some("57014") => format!(
                            "its rehearsal ran longer than {} s",
                            statement.as_secs()
                        ),
                        _ => format!(
                            "its rehearsal failed: {}",
                            e.as_db_error().map_or_else(|| e.to_string(), |d| d.message().to_string())
                        ),
                    };
                    out.push(Pending {
                        migration,
                        method: Method::ParseTree { why },
                        wants: Vec::new(),
                        unrehearsed: Some(sql),
                    });
                    // Undo this step only; the next ones are rehearsed on
                    // what the earlier ones did (a lock not granted stops
                    // the rehearsal: the next step would wait again).
                    c.client
                        .batch_execute(self.quick(), "ROLLBACK TO SAVEPOINT wdh_migrate_step")?;
                    if code == Some("55P03") {
                        stopped = Some(
                            "an earlier step's rehearsal was not granted a lock in time".into(),
                        );
                    }
                    continue;
                }
                Err(silent) => return Err(silent),
            }
            let after = State::read(&rows(c.client.simple_query(limit, &query)?));
            let mut wants = Vec::new();
            for s in before.schemas.difference(&after.schemas) {
                if original.schemas.contains(s) {
                    wants.push(Want::Schema(*s));
                }
            }
            let mut changed = Vec::new();
            for (t, file) in &before.tables {
                if !original.tables.contains_key(t) {
                    continue;
                }
                match after.tables.get(t) {
                    None => wants.push(Want::Table(*t)),
                    Some(now) if now != file => changed.push(*t),
                    Some(_) => {}
                }
            }
            for col in after.dropped_columns.difference(&before.dropped_columns) {
                if original.tables.contains_key(&col.0) && after.tables.contains_key(&col.0) {
                    wants.push(Want::Column(col.0, col.1));
                }
            }
            if !changed.is_empty() {
                // A new file with nothing in it: truncated (a rewrite keeps
                // the rows).
                let empty = rows(c.client.simple_query(
                    limit,
                    &format!(
                        "SELECT o::pg_catalog.text FROM pg_catalog.unnest({}) AS o \
                         WHERE pg_catalog.pg_relation_size(o) OPERATOR(pg_catalog.=) 0",
                        oid_array(changed.iter().copied())
                    ),
                )?);
                for r in empty {
                    if let Some(t) = r
                        .first()
                        .and_then(|v| v.as_deref())
                        .and_then(|v| v.parse().ok())
                    {
                        wants.push(Want::Truncated(t));
                    }
                }
            }
            for (t, n) in &after.deleted {
                let was = before.deleted.get(t).copied().unwrap_or(0);
                if *n > was && original.tables.contains_key(t) && after.tables.contains_key(t) {
                    wants.push(Want::Deleted(*t, Deleted::Counted(n - was)));
                }
            }
            wants.sort_by_key(want_order);
            out.push(Pending {
                migration,
                method: Method::Rehearsed,
                wants,
                unrehearsed: None,
            });
            before = after;
        }
        // The script's locks end here; what is counted is counted as the
        // database is.
        c.client
            .batch_execute(self.quick(), &format!("ROLLBACK TO SAVEPOINT {SAVEPOINT}"))?;
        Ok(())
    }

    /// The parse tree's names, found on the live catalog as the script
    /// would find them (its `search_path`).
    fn resolve_named(
        &self,
        c: &mut Connected,
        named: &[parse::Named],
    ) -> Result<Vec<Want>, CallError> {
        if named.is_empty() {
            return Ok(Vec::new());
        }
        let quoted = |n: &parse::Named| match &n.relation.schema {
            Some(s) => format!("{}.{}", quote_ident(s), quote_ident(&n.relation.name)),
            None => quote_ident(&n.relation.name),
        };
        let mut selects = Vec::new();
        for n in named {
            let q = quote_literal(&quoted(n));
            selects.push(match n.lost {
                Lost::Schema => format!(
                    "pg_catalog.to_regnamespace({})::pg_catalog.oid::pg_catalog.text",
                    quote_literal(&quote_ident(&n.relation.name))
                ),
                Lost::Column => format!(
                    "(SELECT a.attrelid::pg_catalog.text || ' ' || a.attnum::pg_catalog.text FROM pg_catalog.pg_attribute a \
                     WHERE a.attrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass({q}) AND a.attname OPERATOR(pg_catalog.=) {} AND NOT a.attisdropped)",
                    quote_literal(n.column.as_deref().unwrap_or_default())
                ),
                _ => format!("pg_catalog.to_regclass({q})::pg_catalog.oid::pg_catalog.text"),
            });
        }
        let found = rows(
            c.client
                .simple_query(self.quick(), &format!("SELECT {}", selects.join(", ")))?,
        );
        let row = found.into_iter().next().unwrap_or_default();
        let mut wants = Vec::new();
        let mut cascaded = Vec::new();
        for (i, n) in named.iter().enumerate() {
            let got = row.get(i).cloned().flatten();
            let oid = got.as_deref().and_then(|v| v.parse::<u32>().ok());
            let written = match &n.column {
                Some(col) => format!("{}.{}", quoted(n), quote_ident(col)),
                None => quoted(n),
            };
            wants.push(match (n.lost, oid, got.as_deref()) {
                (Lost::Schema, Some(o), _) => {
                    if n.cascade {
                        cascaded.push(o);
                    }
                    Want::Schema(o)
                }
                (Lost::Table, Some(o), _) => Want::Table(o),
                (Lost::Truncated, Some(o), _) => Want::Truncated(o),
                (Lost::Deleted, Some(o), _) => Want::Deleted(
                    o,
                    if n.every_row {
                        Deleted::Every
                    } else {
                        Deleted::Unknown
                    },
                ),
                (Lost::Column, _, Some(pair)) => {
                    let mut it = pair.split(' ');
                    match (
                        it.next().and_then(|v| v.parse().ok()),
                        it.next().and_then(|v| v.parse().ok()),
                    ) {
                        (Some(t), Some(a)) => Want::Column(t, a),
                        _ => Want::Unresolved(n.lost, written),
                    }
                }
                _ => Want::Unresolved(n.lost, written),
            });
        }
        if !cascaded.is_empty() {
            // `DROP SCHEMA … CASCADE` drops its tables with it.
            let tables = rows(c.client.simple_query(
                self.quick(),
                &format!(
                    "SELECT c.oid::pg_catalog.text FROM pg_catalog.pg_class c \
                     WHERE c.relnamespace OPERATOR(pg_catalog.=) ANY({}) AND c.relkind OPERATOR(pg_catalog.=) 'r' ORDER BY c.relname",
                    oid_array(cascaded)
                ),
            )?);
            for r in tables {
                if let Some(t) = r
                    .first()
                    .and_then(|v| v.as_deref())
                    .and_then(|v| v.parse().ok())
                {
                    if !wants.contains(&Want::Table(t)) {
                        wants.push(Want::Table(t));
                    }
                }
            }
        }
        Ok(wants)
    }

    /// Names each step's losses and counts them, exactly up to
    /// [`EXACT_ROWS`] estimated rows, from the statistics above.
    fn name_and_count(
        &self,
        c: &mut Connected,
        pending: Vec<Pending>,
    ) -> Result<Vec<StepPreview>, CallError> {
        let mut tables: Vec<u32> = Vec::new();
        let mut schemas: Vec<u32> = Vec::new();
        let mut columns: Vec<(u32, i16)> = Vec::new();
        for w in pending.iter().flat_map(|p| &p.wants) {
            match w {
                Want::Schema(s) => schemas.push(*s),
                Want::Table(t) | Want::Truncated(t) | Want::Deleted(t, _) => tables.push(*t),
                Want::Column(t, a) => {
                    tables.push(*t);
                    columns.push((*t, *a));
                }
                Want::Unresolved(..) => {}
            }
        }
        tables.sort_unstable();
        tables.dedup();
        // Schema, table, display name, reltuples, size, may select.
        let mut meta: HashMap<u32, (String, String, String, i64, u64, bool)> = HashMap::new();
        if !tables.is_empty() {
            for r in rows(c.client.simple_query(
                self.quick(),
                &format!(
                    "SELECT c.oid::pg_catalog.text, n.nspname, c.relname, pg_catalog.format('%I.%I', n.nspname, c.relname),
                            c.reltuples::pg_catalog.int8::pg_catalog.text, pg_catalog.pg_relation_size(c.oid)::pg_catalog.text,
                            pg_catalog.has_table_privilege(c.oid, 'SELECT')::pg_catalog.text
                       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
                      WHERE c.oid OPERATOR(pg_catalog.=) ANY({})",
                    oid_array(tables.iter().copied())
                ),
            )?) {
                let get = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
                if let Ok(oid) = get(0).parse() {
                    meta.insert(
                        oid,
                        (
                            get(1),
                            get(2),
                            get(3),
                            get(4).parse().unwrap_or(-1),
                            get(5).parse().unwrap_or(0),
                            get(6) == "true",
                        ),
                    );
                }
            }
        }
        let mut schema_names: HashMap<u32, String> = HashMap::new();
        if !schemas.is_empty() {
            for r in rows(c.client.simple_query(
                self.quick(),
                &format!(
                    "SELECT n.oid::pg_catalog.text, pg_catalog.format('%I', n.nspname) FROM pg_catalog.pg_namespace n \
                     WHERE n.oid OPERATOR(pg_catalog.=) ANY({})",
                    oid_array(schemas.iter().copied())
                ),
            )?) {
                if let (Some(Some(o)), Some(Some(name))) = (r.first(), r.get(1)) {
                    if let Ok(o) = o.parse() {
                        schema_names.insert(o, name.clone());
                    }
                }
            }
        }
        // Column → (name, quoted name, null fraction).
        let mut column_meta: HashMap<(u32, i16), (String, String, Option<f64>)> = HashMap::new();
        if !columns.is_empty() {
            let pairs: Vec<String> = columns
                .iter()
                .map(|(t, a)| format!("({t}::pg_catalog.oid, {a}::pg_catalog.int2)"))
                .collect();
            for r in rows(c.client.simple_query(
                self.quick(),
                &format!(
                    "SELECT a.attrelid::pg_catalog.text, a.attnum::pg_catalog.text, a.attname, pg_catalog.format('%I', a.attname),
                            (SELECT s.null_frac::pg_catalog.text FROM pg_catalog.pg_stats s
                              WHERE s.schemaname OPERATOR(pg_catalog.=) n.nspname AND s.tablename OPERATOR(pg_catalog.=) c.relname
                                AND s.attname OPERATOR(pg_catalog.=) a.attname AND NOT s.inherited)
                       FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) a.attrelid
                       JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
                      WHERE (a.attrelid, a.attnum) IN ({})",
                    pairs.join(", ")
                ),
            )?) {
                let get = |i: usize| r.get(i).cloned().flatten();
                if let (Some(t), Some(a), Some(name), Some(q)) = (
                    get(0).and_then(|v| v.parse().ok()),
                    get(1).and_then(|v| v.parse().ok()),
                    get(2),
                    get(3),
                ) {
                    column_meta.insert((t, a), (name, q, get(4).and_then(|v| v.parse().ok())));
                }
            }
        }
        let exact = |t: u32| {
            meta.get(&t).is_some_and(|m| {
                m.5 && ((0..=EXACT_ROWS as i64).contains(&m.3) || (m.3 < 0 && m.4 <= EXACT_BYTES))
            })
        };
        // One query counts every table and column counted exactly.
        let mut counts: Vec<String> = Vec::new();
        let mut counted: HashMap<(u32, Option<i16>), usize> = HashMap::new();
        let table_sql = |t: u32| {
            meta.get(&t)
                .map(|m| format!("{}.{}", quote_ident(&m.0), quote_ident(&m.1)))
        };
        for w in pending.iter().flat_map(|p| &p.wants) {
            let key = match w {
                Want::Table(t) | Want::Truncated(t) | Want::Deleted(t, Deleted::Every) => {
                    (*t, None)
                }
                Want::Column(t, a) => (*t, Some(*a)),
                _ => continue,
            };
            if counted.contains_key(&key) || !exact(key.0) {
                continue;
            }
            let Some(table) = table_sql(key.0) else {
                continue;
            };
            let what = match key.1 {
                None => "*".to_string(),
                Some(a) => match column_meta.get(&(key.0, a)) {
                    Some((name, _, _)) => quote_ident(name),
                    None => continue,
                },
            };
            counted.insert(key, counts.len());
            counts.push(format!(
                "(SELECT pg_catalog.count({what}) FROM ONLY {table})::pg_catalog.text"
            ));
        }
        let values: Vec<Option<u64>> = if counts.is_empty() {
            Vec::new()
        } else {
            let limit = Some(REHEARSAL_STATEMENT + self.round_trip());
            rows(
                c.client
                    .simple_query(limit, &format!("SELECT {}", counts.join(", ")))?,
            )
            .into_iter()
            .next()
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.and_then(|v| v.parse().ok()))
            .collect()
        };
        let count_of = |t: u32, col: Option<i16>| -> Option<Count> {
            if let Some(i) = counted.get(&(t, col)) {
                return values
                    .get(*i)
                    .copied()
                    .flatten()
                    .map(|n| Count { n, exact: true });
            }
            let m = meta.get(&t)?;
            if m.3 < 0 {
                return None;
            }
            let rows = m.3 as f64;
            let n = match col {
                None => rows,
                Some(a) => match column_meta.get(&(t, a)).and_then(|c| c.2) {
                    Some(null_frac) => rows * (1.0 - null_frac),
                    None => rows,
                },
            };
            Some(Count {
                n: n.round().max(0.0) as u64,
                exact: false,
            })
        };
        let table_of = |t: u32| meta.get(&t).map(|m| (m.0.clone(), m.1.clone()));
        let name_of = |t: u32| {
            meta.get(&t)
                .map_or_else(|| format!("(table {t})"), |m| m.2.clone())
        };
        let mut out = Vec::new();
        for p in pending {
            let mut losses = Vec::new();
            for w in p.wants {
                losses.push(match w {
                    Want::Schema(s) => Loss {
                        lost: Lost::Schema,
                        name: schema_names
                            .get(&s)
                            .cloned()
                            .unwrap_or_else(|| format!("(schema {s})")),
                        table: None,
                        count: None,
                    },
                    Want::Table(t) => Loss {
                        lost: Lost::Table,
                        name: name_of(t),
                        table: table_of(t),
                        count: count_of(t, None),
                    },
                    Want::Truncated(t) => Loss {
                        lost: Lost::Truncated,
                        name: name_of(t),
                        table: table_of(t),
                        count: count_of(t, None),
                    },
                    Want::Column(t, a) => Loss {
                        lost: Lost::Column,
                        name: format!(
                            "{}.{}",
                            name_of(t),
                            column_meta
                                .get(&(t, a))
                                .map_or_else(|| format!("(column {a})"), |c| c.1.clone())
                        ),
                        table: table_of(t),
                        count: count_of(t, Some(a)),
                    },
                    Want::Deleted(t, d) => Loss {
                        lost: Lost::Deleted,
                        name: name_of(t),
                        table: table_of(t),
                        count: match d {
                            Deleted::Counted(n) => Some(Count { n, exact: true }),
                            Deleted::Every => count_of(t, None),
                            Deleted::Unknown => None,
                        },
                    },
                    Want::Unresolved(lost, name) => Loss {
                        lost,
                        name,
                        table: None,
                        count: None,
                    },
                });
            }
            out.push(StepPreview {
                migration: p.migration,
                method: p.method,
                losses,
            });
        }
        Ok(out)
    }
}

/// Tables first, then columns, truncations, deletions, and the schemas
/// that held them.
fn want_order(w: &Want) -> u8 {
    match w {
        Want::Table(_) => 0,
        Want::Column(..) => 1,
        Want::Truncated(_) => 2,
        Want::Deleted(..) => 3,
        Want::Schema(_) => 4,
        Want::Unresolved(..) => 5,
    }
}
