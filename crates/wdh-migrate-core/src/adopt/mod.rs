//! Adopting another tool's ledger: what sqlx, Diesel, golang-migrate,
//! dbmate, goose, Flyway, refinery, sql-migrate or Alembic recorded as applied in the
//! target database, matched with the migration set, so wdh-migrate records
//! those migrations as applied without running any of their SQL.
//!
//! One module per tool reads that tool's table exactly as the tool's own
//! source creates it (each module names the file) and says what it claims
//! (its claims, [`ReadClaims`]): the versions applied, with the checksum the tool recorded
//! where it records one, which is verified against the file. [`plan`] is
//! pure: claims × set × wdh-migrate's ledger → the migrations to record, or
//! the refusal naming every version without a file or whose file changed.
//! The other tool's table is only read, never written: the switch can be
//! undone.

mod alembic;
pub mod checksum;
mod dbmate;
pub mod detect;
mod diesel;
mod error;
mod flyway;
mod golang_migrate;
mod goose;
mod refinery;
mod sql_migrate;
mod sqlx;

use postgres::{Client, SimpleQueryMessage};

use crate::ledger::LedgerState;
use crate::migrations::{Migration, MigrationSet, Version};

pub use detect::{detect, Found};
pub use error::AdoptError;

/// A tool whose ledger can be adopted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Tool {
    /// sqlx: `_sqlx_migrations`.
    Sqlx,
    /// Diesel: `__diesel_schema_migrations`.
    Diesel,
    /// golang-migrate: `schema_migrations (version, dirty)`.
    GolangMigrate,
    /// dbmate: `schema_migrations (version)`.
    Dbmate,
    /// goose: `goose_db_version`.
    Goose,
    /// Flyway: `flyway_schema_history`.
    Flyway,
    /// refinery: `refinery_schema_history`.
    Refinery,
    /// sql-migrate: `gorp_migrations`.
    SqlMigrate,
    /// Alembic: `alembic_version`, its heads (the set must come from
    /// `wdh-migrate import alembic`, which records each revision).
    Alembic,
}

impl Tool {
    /// Every tool, in the order they are looked for.
    pub const ALL: [Tool; 9] = [
        Tool::Sqlx,
        Tool::Diesel,
        Tool::GolangMigrate,
        Tool::Dbmate,
        Tool::Goose,
        Tool::Flyway,
        Tool::Refinery,
        Tool::SqlMigrate,
        Tool::Alembic,
    ];

    /// The tool's name as `--from` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Sqlx => "sqlx",
            Tool::Diesel => "diesel",
            Tool::GolangMigrate => "golang-migrate",
            Tool::Dbmate => "dbmate",
            Tool::Goose => "goose",
            Tool::Flyway => "flyway",
            Tool::Refinery => "refinery",
            Tool::SqlMigrate => "sql-migrate",
            Tool::Alembic => "alembic",
        }
    }

    /// The table the tool creates by default (unqualified: in the first
    /// schema of the search path, where each tool creates it).
    pub fn table(self) -> &'static str {
        match self {
            Tool::Sqlx => "_sqlx_migrations",
            Tool::Diesel => "__diesel_schema_migrations",
            Tool::GolangMigrate | Tool::Dbmate => "schema_migrations",
            Tool::Goose => "goose_db_version",
            Tool::Flyway => "flyway_schema_history",
            Tool::Refinery => "refinery_schema_history",
            Tool::SqlMigrate => "gorp_migrations",
            Tool::Alembic => "alembic_version",
        }
    }

    /// The DDL the tool runs to create its table, as its source has it:
    /// for tests, which create the table as the tool would.
    pub fn ddl(self) -> &'static str {
        match self {
            Tool::Sqlx => sqlx::DDL,
            Tool::Diesel => diesel::DDL,
            Tool::GolangMigrate => golang_migrate::DDL,
            Tool::Dbmate => dbmate::DDL,
            Tool::Goose => goose::DDL,
            Tool::Flyway => flyway::DDL,
            Tool::Refinery => refinery::DDL,
            Tool::SqlMigrate => sql_migrate::DDL,
            Tool::Alembic => alembic::DDL,
        }
    }
}

impl std::fmt::Display for Tool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Tool {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Tool::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Tool::ALL.iter().map(|t| t.name()).collect();
                format!(
                    "`{s}` is not a tool wdh-migrate adopts from: {}",
                    names.join(", ")
                )
            })
    }
}

/// The checksum a tool recorded for a migration, to verify against the
/// file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Recorded {
    /// The tool records none.
    Nothing,
    /// sqlx: SHA-384 of the file.
    Sha384(Vec<u8>),
    /// Flyway: CRC-32 of the file's lines.
    Crc32(i32),
    /// refinery: SipHash-1-3 of name, version and SQL; `wide` for an
    /// `int8` version column.
    SipHash { checksum: u64, wide: bool },
}

/// One migration the tool records as applied.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Claim {
    /// The version as the tool records it.
    pub(crate) version: String,
    /// The file the tool names (sql-migrate's id), if it names one.
    pub(crate) file: Option<String>,
    /// Its checksum.
    pub(crate) recorded: Recorded,
    /// When the tool applied it (seconds since the epoch), if it says.
    pub(crate) applied_at: Option<f64>,
}

/// Everything below or at a version is applied, without a row per
/// migration (golang-migrate's one version, Flyway's baseline).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct UpTo {
    pub(crate) version: String,
    /// Whether the version itself must have a file (golang-migrate: it
    /// ran it; Flyway's baseline: it ran nothing).
    pub(crate) needs_file: bool,
}

/// What a tool claims is applied.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Claims {
    pub(crate) rows: Vec<Claim>,
    pub(crate) up_to: Option<UpTo>,
    /// Alembic: the heads its version table lists; every revision they
    /// build on is applied.
    pub(crate) alembic_heads: Vec<String>,
    /// Notes for the report (rows that are not migrations, …).
    pub(crate) notes: Vec<String>,
}

/// One migration to record as applied.
#[derive(Debug, Clone)]
pub struct Mark<'a> {
    /// The migration.
    pub migration: &'a Migration,
    /// When the other tool applied it (seconds since the epoch), if it says.
    pub applied_at: Option<f64>,
}

/// What adopting would record.
#[derive(Debug, Clone)]
pub struct Plan<'a> {
    /// The migrations to record, in set order.
    pub marks: Vec<Mark<'a>>,
    /// How many the tool applied that wdh-migrate's ledger already records.
    pub already: usize,
    /// Whether the files were verified against the tool's checksums.
    pub verified: Verified,
    /// Notes for the report.
    pub notes: Vec<String>,
}

/// Whether the files were verified against the checksums the tool recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verified {
    /// Every file matched the tool's checksum.
    Checksums,
    /// The tool records no checksum: only that each version has a file.
    NoChecksum,
}

/// Reads what the tool behind `found` claims is applied; refuses a ledger
/// that records a failed or dirty migration.
pub fn read(client: &mut Client, found: &Found) -> Result<ReadClaims, AdoptError> {
    let claims = match found.tool {
        Tool::Sqlx => sqlx::read(client, found)?,
        Tool::Diesel => diesel::read(client, found)?,
        Tool::GolangMigrate => golang_migrate::read(client, found)?,
        Tool::Dbmate => dbmate::read(client, found)?,
        Tool::Goose => goose::read(client, found)?,
        Tool::Flyway => flyway::read(client, found)?,
        Tool::Refinery => refinery::read(client, found)?,
        Tool::SqlMigrate => sql_migrate::read(client, found)?,
        Tool::Alembic => alembic::read(client, found)?,
    };
    Ok(ReadClaims(claims))
}

/// What a tool claims, as read by [`read`].
#[derive(Debug, Clone)]
pub struct ReadClaims(pub(crate) Claims);

/// The migrations of `set` that the tool behind `found` applied and that
/// wdh-migrate's `ledger` does not record yet, each verified against the
/// checksum the tool recorded; the refusal names every applied version with
/// no file in the set and every file that no longer matches.
pub fn plan<'a>(
    set: &'a MigrationSet,
    found: &Found,
    claims: &ReadClaims,
    ledger: &LedgerState,
) -> Result<Plan<'a>, AdoptError> {
    let claims = &claims.0;
    let mut missing = Vec::new();
    let mut mismatched = Vec::new();
    let mut chosen: Vec<(usize, Option<f64>)> = Vec::new();
    let mut checked = false;
    let position = |claim: &Claim| match &claim.file {
        Some(file) => set
            .migrations
            .iter()
            .position(|m| m.up.path.to_str() == Some(file.as_str())),
        None => Version::parse(&claim.version, set.layout)
            .and_then(|v| set.migrations.iter().position(|m| m.version == v)),
    };
    for claim in &claims.rows {
        let Some(i) = position(claim) else {
            missing.push(claim.file.clone().unwrap_or_else(|| claim.version.clone()));
            continue;
        };
        let m = &set.migrations[i];
        match checksum::verify(&claim.recorded, m, &claim.version) {
            Some(true) => checked = true,
            Some(false) => mismatched.push(format!("{} ({})", claim.version, m.up.path.display())),
            None => {}
        }
        chosen.push((i, claim.applied_at));
    }
    if let Some(up_to) = &claims.up_to {
        match Version::parse(&up_to.version, set.layout) {
            Some(v) => {
                if up_to.needs_file && !set.migrations.iter().any(|m| m.version == v) {
                    missing.push(up_to.version.clone());
                }
                for (i, m) in set.migrations.iter().enumerate() {
                    if m.version <= v && !chosen.iter().any(|(j, _)| *j == i) {
                        chosen.push((i, None));
                    }
                }
            }
            None => missing.push(up_to.version.clone()),
        }
    }
    match alembic::applied(set, &claims.alembic_heads) {
        Ok(found) => chosen.extend(found.into_iter().map(|i| (i, None))),
        Err(revisions) => missing.extend(revisions),
    }
    if !missing.is_empty() || !mismatched.is_empty() {
        return Err(AdoptError::Refused {
            tool: found.tool,
            table: found.table.clone(),
            missing,
            mismatched,
        });
    }
    chosen.sort_by_key(|(i, _)| *i);
    chosen.dedup_by_key(|(i, _)| *i);
    let mut already = 0;
    let mut marks = Vec::new();
    for (i, applied_at) in chosen {
        let migration = &set.migrations[i];
        if ledger
            .applied
            .iter()
            .any(|r| r.is_version(&migration.version))
        {
            already += 1;
        } else {
            marks.push(Mark {
                migration,
                applied_at,
            });
        }
    }
    let verified = if checked {
        Verified::Checksums
    } else {
        Verified::NoChecksum
    };
    Ok(Plan {
        marks,
        already,
        verified,
        notes: claims.notes.clone(),
    })
}

/// The rows of the one result of `sql`, as text.
fn rows(
    client: &mut Client,
    found: &Found,
    sql: &str,
) -> Result<Vec<Vec<Option<String>>>, AdoptError> {
    let messages = client
        .simple_query(sql)
        .map_err(|source| AdoptError::Read {
            tool: found.tool,
            table: found.table.clone(),
            source,
        })?;
    Ok(messages
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
            }
            _ => None,
        })
        .collect())
}

/// A column as text (empty when NULL).
fn text(row: &[Option<String>], i: usize) -> String {
    row.get(i).cloned().flatten().unwrap_or_default()
}

/// A column as seconds since the epoch.
fn epoch(row: &[Option<String>], i: usize) -> Option<f64> {
    row.get(i)?.as_deref()?.parse().ok()
}

/// A boolean as PostgreSQL writes it as text (`t`, or `true` after a cast).
fn is_true(s: &str) -> bool {
    s == "t" || s == "true"
}
