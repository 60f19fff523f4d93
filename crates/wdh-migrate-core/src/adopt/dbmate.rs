//! dbmate's ledger, `schema_migrations (version)`, as
//! `pkg/driver/postgres/postgres.go` (`CreateMigrationsTable`) creates it:
//! one row per applied version. It records no checksum.

use postgres::Client;

use super::{rows, text, AdoptError, Claim, Claims, Found, Recorded};

/// The table as dbmate creates it.
pub(super) const DDL: &str =
    "create table if not exists schema_migrations (version varchar primary key)";

pub(super) fn read(client: &mut Client, found: &Found) -> Result<Claims, AdoptError> {
    let sql = format!("SELECT version FROM {} ORDER BY version", found.table);
    let rows = rows(client, found, &sql)?;
    Ok(Claims {
        rows: rows
            .iter()
            .map(|r| Claim {
                version: text(r, 0),
                file: None,
                recorded: Recorded::Nothing,
                applied_at: None,
            })
            .collect(),
        ..Claims::default()
    })
}
