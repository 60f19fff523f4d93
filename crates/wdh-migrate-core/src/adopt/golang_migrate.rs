//! golang-migrate's ledger, `schema_migrations (version, dirty)`, as
//! `database/postgres/postgres.go` (`ensureVersionTable`) creates it: one
//! row, the current version; every migration up to it is applied. A dirty
//! version is refused with golang-migrate's own repair. It records no
//! checksum.

use postgres::Client;

use super::{is_true, rows, text, AdoptError, Claim, Claims, Found, Recorded, UpTo};

/// The table as golang-migrate creates it (in `current_schema()`).
pub(super) const DDL: &str =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version bigint not null primary key, dirty boolean not null)";

pub(super) fn read(client: &mut Client, found: &Found) -> Result<Claims, AdoptError> {
    // As golang-migrate's `Version()` reads it.
    let sql = format!(
        "SELECT version::pg_catalog.text, dirty::pg_catalog.text FROM {} LIMIT 1",
        found.table
    );
    let rows = rows(client, found, &sql)?;
    let Some(row) = rows.first() else {
        return Ok(Claims::default());
    };
    let version = text(row, 0);
    if is_true(&text(row, 1)) {
        return Err(AdoptError::Failed {
            tool: found.tool,
            table: found.table.clone(),
            what: format!("version {version} as dirty (a migration failed part-way)"),
            repair: format!(
                "fix the database by hand, then mark the version it is really at with \
                 `migrate force {version}` (or the version before it)"
            ),
        });
    }
    // golang-migrate's "nil version" is -1; below 0 nothing is applied.
    if version.starts_with('-') {
        return Ok(Claims::default());
    }
    Ok(Claims {
        rows: vec![Claim {
            version: version.clone(),
            file: None,
            recorded: Recorded::Nothing,
            applied_at: None,
        }],
        up_to: Some(UpTo {
            version,
            needs_file: true,
        }),
        notes: Vec::new(),
        ..Claims::default()
    })
}
