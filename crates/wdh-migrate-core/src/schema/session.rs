//! Captures taken again and again on one connection, as `check` takes them
//! after every step: the output settings are set once for the session,
//! the queries are prepared once (parsed and planned once, not per step),
//! and each capture is one round trip.
//!
//! A [`Fingerprint`] is computed on the server over exactly the rows a
//! capture reads (the schema's and the shared objects'), written out
//! unambiguously and sorted: two fingerprints are equal only when the two
//! captures would be, so a fingerprint stands for a capture wherever it is
//! only compared, and nothing but a SHA-256 digest per part leaves the
//! server.

use postgres::{Client, Statement};

use super::capture::{capture_sql, insert, server_version, SETTINGS};
use super::globals::{globals_sql, Readable};
use super::{diff, diff_globals, Change, Globals, Snapshot};

/// Stands for a capture: SHA-256 digests of its schema rows and of its
/// shared objects' rows, and how many schema objects it holds. Equal
/// fingerprints mean equal captures (the digests are over every row the
/// capture reads, written out unambiguously).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    schema: String,
    globals: String,
    objects: usize,
}

impl Fingerprint {
    /// How many schema objects the capture holds.
    pub fn objects(&self) -> usize {
        self.objects
    }
}

/// A capture of the schema and of the server's shared objects, with its
/// fingerprint.
#[derive(Debug, Clone)]
pub struct Captured {
    /// The database's schema.
    pub schema: Snapshot,
    /// The server's shared objects.
    pub globals: Globals,
    /// Stands for both.
    pub fingerprint: Fingerprint,
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
}

struct Prepared {
    readable: Readable,
    capture: Statement,
    fingerprint: Statement,
    /// Schema objects when they were prepared: the plans were made for a
    /// schema of about that size.
    planned_for: usize,
}

impl std::fmt::Debug for CaptureSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureSession")
            .field("exclude", &self.exclude)
            .field("readable", &self.prepared.readable)
            .finish()
    }
}

impl CaptureSession {
    /// Takes `client`, a connection used for nothing else, for captures
    /// of its database leaving out the schemas in `exclude` (and of the
    /// server's shared objects): fixes its output settings for the session
    /// (and makes its transactions read-only), reads what the role may
    /// read of the shared objects, and prepares the queries.
    pub fn new(mut client: Client, exclude: &[&str]) -> Result<CaptureSession, postgres::Error> {
        // SET, not SET LOCAL: the settings last as long as the session.
        let settings = SETTINGS.replace("SET LOCAL ", "SET ");
        let version = server_version(client.simple_query(&format!(
            "SET default_transaction_read_only = on;\n{settings}"
        ))?);
        let exclude: Vec<String> = exclude.iter().map(|s| (*s).to_owned()).collect();
        let prepared = prepare(&mut client, version, &exclude, 0)?;
        Ok(CaptureSession {
            client,
            exclude,
            prepared,
        })
    }

    /// What this role could not read of the shared objects, with why.
    pub fn unread(&self) -> Vec<String> {
        self.prepared.readable.unread()
    }

    /// The schema and the shared objects, with their fingerprint: one
    /// round trip.
    pub fn capture(&mut self) -> Result<Captured, postgres::Error> {
        let rows = self.query(|p| &p.capture)?;
        let mut schema = std::collections::BTreeMap::new();
        let mut globals = Vec::new();
        let mut fingerprint = None;
        for row in rows {
            let kind: &str = row.try_get(0)?;
            let field = |i: usize| row.try_get::<_, Option<String>>(i);
            match kind {
                "s" => {
                    if let Some(key) = field(1)? {
                        insert(&mut schema, &key, field(2)?.as_deref());
                    }
                }
                "g" => globals.push([field(1)?, field(2)?, field(3)?, field(4)?]),
                _ => fingerprint = Some(fingerprint_of(field(1)?, field(2)?, field(3)?)),
            }
        }
        let fingerprint = fingerprint.unwrap_or_else(|| fingerprint_of(None, None, None));
        self.grown_to(fingerprint.objects)?;
        Ok(Captured {
            schema: Snapshot { entries: schema },
            globals: Globals::from_rows(self.unread(), globals),
            fingerprint,
        })
    }

    /// The fingerprint alone: one round trip, and only its digests leave
    /// the server.
    pub fn fingerprint(&mut self) -> Result<Fingerprint, postgres::Error> {
        let rows = self.query(|p| &p.fingerprint)?;
        let row = rows.first();
        let field = |i: usize| -> Result<Option<String>, postgres::Error> {
            row.map_or(Ok(None), |r| r.try_get(i))
        };
        let fingerprint = fingerprint_of(field(0)?, field(1)?, field(2)?);
        self.grown_to(fingerprint.objects)?;
        Ok(fingerprint)
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
    ) -> Result<Vec<postgres::Row>, postgres::Error> {
        match self.client.query(which(&self.prepared), &[]) {
            Ok(rows) => Ok(rows),
            Err(e) if e.as_db_error().is_none() => Err(e),
            Err(_) => {
                self.prepare_again(self.prepared.planned_for)?;
                self.client.query(which(&self.prepared), &[])
            }
        }
    }

    /// Plans made for a small schema can be poor for a large one (a scan
    /// of a catalog that was tiny, repeated for every row): once the schema
    /// has grown well past the size they were made for, they are made again.
    fn grown_to(&mut self, objects: usize) -> Result<(), postgres::Error> {
        if objects > 2 * self.prepared.planned_for + 32 {
            self.prepare_again(objects)?;
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

fn fingerprint_of(
    schema: Option<String>,
    globals: Option<String>,
    objects: Option<String>,
) -> Fingerprint {
    Fingerprint {
        schema: schema.unwrap_or_default(),
        globals: globals.unwrap_or_default(),
        objects: objects.and_then(|n| n.parse().ok()).unwrap_or(0),
    }
}

fn prepare(
    client: &mut Client,
    version: i32,
    exclude: &[String],
    planned_for: usize,
) -> Result<Prepared, postgres::Error> {
    let readable = Readable::read(client, version)?;
    let exclude: Vec<&str> = exclude.iter().map(String::as_str).collect();
    let rows = ROWS
        .replace("{schema}", &capture_sql(version, &exclude))
        .replace("{globals}", &globals_sql(readable));
    let capture = client.prepare(&format!("{rows}\n{CAPTURE}"))?;
    let fingerprint = client.prepare(&format!("{rows}\n{FINGERPRINT}"))?;
    Ok(Prepared {
        readable,
        capture,
        fingerprint,
        planned_for,
    })
}

/// The rows of both captures, each once: `s (key, def)` for the schema
/// (`{schema}`), `g (key, def, noun, digest)` for the shared objects
/// (`{globals}`); and `fp`, their fingerprint: a SHA-256 digest of each
/// part's rows, sorted, each written with the length of each field.
const ROWS: &str = r#"WITH s (key, def) AS MATERIALIZED (
{schema}
),
g (key, def, noun, digest) AS MATERIALIZED (
{globals}
),
fp (schema, globals, objects) AS (
    SELECT (SELECT pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.concat(
                     pg_catalog.string_agg(l, '' ORDER BY l COLLATE "C")), 'UTF8')), 'hex')
              FROM (SELECT pg_catalog.concat(pg_catalog.length(key), ':', key, ':',
                             pg_catalog.length(def), ':', def, E'\n') AS l
                      FROM s) x),
           (SELECT pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.concat(
                     pg_catalog.string_agg(l, '' ORDER BY l COLLATE "C")), 'UTF8')), 'hex')
              FROM (SELECT pg_catalog.concat(pg_catalog.length(key), ':', key, ':',
                             pg_catalog.length(def), ':', def, ':', pg_catalog.length(noun), ':',
                             noun, ':', pg_catalog.length(digest), ':', digest, E'\n') AS l
                      FROM g) y),
           (SELECT pg_catalog.count(DISTINCT key) FROM s)::pg_catalog.text
)"#;

/// Every row, tagged: `s` the schema's, `g` the shared objects', and one
/// `f` row with the fingerprint.
const CAPTURE: &str =
    "SELECT 's'::pg_catalog.text, key, def, NULL::pg_catalog.text, NULL::pg_catalog.text FROM s\n\
     UNION ALL SELECT 'g', key, def, noun, digest FROM g\n\
     UNION ALL SELECT 'f', schema, globals, objects, NULL FROM fp";

/// The fingerprint's row only.
const FINGERPRINT: &str = "SELECT schema, globals, objects FROM fp";
