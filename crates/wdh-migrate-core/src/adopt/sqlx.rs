//! sqlx's ledger, `_sqlx_migrations`, as `sqlx-postgres/src/migrate.rs`
//! (`ensure_migrations_table`) creates it. Its checksum is the SHA-384 of
//! the file's text (`sqlx-core/src/migrate/migration.rs`), verified here; a
//! row with `success = false` is refused.

use postgres::Client;

use super::{epoch, is_true, rows, text, AdoptError, Claim, Claims, Found, Recorded};

/// The table as sqlx creates it.
pub(super) const DDL: &str = "
CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
    success BOOLEAN NOT NULL,
    checksum BYTEA NOT NULL,
    execution_time BIGINT NOT NULL
);
";

pub(super) fn read(client: &mut Client, found: &Found) -> Result<Claims, AdoptError> {
    let sql = format!(
        "SELECT version::pg_catalog.text, success::pg_catalog.text, pg_catalog.encode(checksum, 'hex'), \
         extract(epoch FROM installed_on)::pg_catalog.text FROM {} ORDER BY version",
        found.table
    );
    let rows = rows(client, found, &sql)?;
    let failed: Vec<String> = rows
        .iter()
        .filter(|r| !is_true(&text(r, 1)))
        .map(|r| text(r, 0))
        .collect();
    if !failed.is_empty() {
        return Err(AdoptError::Failed {
            tool: found.tool,
            table: found.table.clone(),
            what: format!(
                "version(s) {} as failed (success = false)",
                failed.join(", ")
            ),
            repair: format!(
                "finish or undo that migration's changes by hand, then delete its row \
                 (`DELETE FROM {} WHERE version = …`) or let `sqlx migrate run` apply it",
                found.table
            ),
        });
    }
    let claims = rows
        .iter()
        .map(|r| Claim {
            version: text(r, 0),
            file: None,
            recorded: Recorded::Sha384(hex(&text(r, 2))),
            applied_at: epoch(r, 3),
        })
        .collect();
    Ok(Claims {
        rows: claims,
        ..Claims::default()
    })
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}
