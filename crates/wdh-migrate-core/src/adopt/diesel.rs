//! Diesel's ledger, `__diesel_schema_migrations`, as
//! `diesel/src/migration/setup_migration_table.sql` creates it; its version
//! is the folder's version without dashes
//! (`migrations_internals::version_from_string`). Diesel records no
//! checksum.

use postgres::Client;

use super::{epoch, rows, text, AdoptError, Claim, Claims, Found, Recorded};

/// The table as Diesel creates it.
pub(super) const DDL: &str = "
CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (
       version VARCHAR(50) PRIMARY KEY NOT NULL,
       run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
";

pub(super) fn read(client: &mut Client, found: &Found) -> Result<Claims, AdoptError> {
    let sql = format!(
        "SELECT version, extract(epoch FROM run_on::pg_catalog.timestamptz)::pg_catalog.text FROM {} ORDER BY version",
        found.table
    );
    let rows = rows(client, found, &sql)?;
    Ok(Claims {
        rows: rows
            .iter()
            .map(|r| Claim {
                version: text(r, 0),
                file: None,
                recorded: Recorded::Nothing,
                applied_at: epoch(r, 1),
            })
            .collect(),
        ..Claims::default()
    })
}
