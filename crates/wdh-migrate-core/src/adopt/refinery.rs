//! refinery's ledger, `refinery_schema_history`, as
//! `refinery_core/src/traits/mod.rs` (`ASSERT_MIGRATIONS_TABLE_QUERY`)
//! creates it, with `int4` versions (`int8` with the `int8-versions`
//! feature). Its checksum (`refinery_core/src/runner.rs`) is verified.

use postgres::Client;

use super::{rows, text, AdoptError, Claim, Claims, Found, Recorded};

/// The table as refinery creates it (default `int4` versions).
pub(super) const DDL: &str = "CREATE TABLE IF NOT EXISTS refinery_schema_history(
             version int4 PRIMARY KEY,
             name VARCHAR(255),
             applied_on VARCHAR(255),
             checksum VARCHAR(255));";

pub(super) fn read(client: &mut Client, found: &Found) -> Result<Claims, AdoptError> {
    let sql = format!(
        "SELECT version::pg_catalog.text, checksum, pg_catalog.pg_typeof(version)::pg_catalog.text FROM {} ORDER BY version",
        found.table
    );
    let rows = rows(client, found, &sql)?;
    let mut claims = Vec::new();
    for r in &rows {
        let recorded = match text(r, 1).parse::<u64>() {
            Ok(checksum) => Recorded::SipHash {
                checksum,
                wide: text(r, 2) == "bigint",
            },
            Err(_) => Recorded::Nothing,
        };
        claims.push(Claim {
            version: text(r, 0),
            file: None,
            recorded,
            applied_at: None,
        });
    }
    Ok(Claims {
        rows: claims,
        ..Claims::default()
    })
}
