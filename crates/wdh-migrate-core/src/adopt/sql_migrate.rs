//! sql-migrate's ledger, `gorp_migrations`, as `migrate.go` declares it
//! (`MigrationRecord { Id string; AppliedAt time.Time }`, created by gorp's
//! `CreateTablesIfNotExists` with the PostgreSQL dialect: `text` and
//! `timestamp with time zone`): one row per applied file, named by its file
//! name. It records no checksum.

use postgres::Client;

use super::{epoch, rows, text, AdoptError, Claim, Claims, Found, Recorded};

/// The table as gorp creates it for sql-migrate.
pub(super) const DDL: &str = r#"create table if not exists "gorp_migrations" ("id" text not null primary key, "applied_at" timestamp with time zone) ;"#;

pub(super) fn read(client: &mut Client, found: &Found) -> Result<Claims, AdoptError> {
    let sql = format!(
        "SELECT id, extract(epoch FROM applied_at)::pg_catalog.text FROM {} ORDER BY id",
        found.table
    );
    let rows = rows(client, found, &sql)?;
    Ok(Claims {
        rows: rows
            .iter()
            .map(|r| {
                let id = text(r, 0);
                Claim {
                    version: id.clone(),
                    file: Some(id),
                    recorded: Recorded::Nothing,
                    applied_at: epoch(r, 1),
                }
            })
            .collect(),
        ..Claims::default()
    })
}
