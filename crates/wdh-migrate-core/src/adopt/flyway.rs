//! Flyway's ledger, `flyway_schema_history`, as
//! `flyway-core/…/database/postgresql/createMetaDataTable.sql` creates it.
//! Rows are read in `installed_rank` order: a versioned migration is
//! applied by its successful row, unapplied by a later `UNDO_SQL` or
//! `DELETE` row; a `BASELINE` row marks everything up to its version as
//! applied. Failed rows are refused (`flyway repair` removes them). The
//! CRC-32 checksum Flyway records (`ChecksumCalculator`) is verified.

use postgres::Client;

use super::{epoch, is_true, rows, text, AdoptError, Claim, Claims, Found, Recorded, UpTo};

/// The table as Flyway creates it on PostgreSQL.
pub(super) const DDL: &str = r#"CREATE TABLE "flyway_schema_history" (
    "installed_rank" INT NOT NULL,
    "version" VARCHAR(50),
    "description" VARCHAR(200) NOT NULL,
    "type" VARCHAR(20) NOT NULL,
    "script" VARCHAR(1000) NOT NULL,
    "checksum" INTEGER,
    "installed_by" VARCHAR(100) NOT NULL,
    "installed_on" TIMESTAMP NOT NULL DEFAULT now(),
    "execution_time" INTEGER NOT NULL,
    "success" BOOLEAN NOT NULL
);
ALTER TABLE "flyway_schema_history" ADD CONSTRAINT "flyway_schema_history_pk" PRIMARY KEY ("installed_rank");
CREATE INDEX "flyway_schema_history_s_idx" ON "flyway_schema_history" ("success");"#;

pub(super) fn read(client: &mut Client, found: &Found) -> Result<Claims, AdoptError> {
    let sql = format!(
        r#"SELECT "version", "type", "checksum"::pg_catalog.text, "success"::pg_catalog.text,
    extract(epoch FROM "installed_on"::pg_catalog.timestamptz)::pg_catalog.text, "script"
FROM {} ORDER BY "installed_rank""#,
        found.table
    );
    let rows = rows(client, found, &sql)?;
    let failed: Vec<String> = rows
        .iter()
        .filter(|r| !is_true(&text(r, 3)))
        .map(|r| match r.first().cloned().flatten() {
            Some(v) => v,
            None => text(r, 5),
        })
        .collect();
    if !failed.is_empty() {
        return Err(AdoptError::Failed {
            tool: found.tool,
            table: found.table.clone(),
            what: format!("failed migration(s) {}", failed.join(", ")),
            repair: "undo what they did by hand, then run `flyway repair` (it removes failed rows)"
                .to_string(),
        });
    }
    let mut claims: Vec<Claim> = Vec::new();
    let mut up_to = None;
    let mut notes = Vec::new();
    for r in &rows {
        let Some(version) = r.first().cloned().flatten() else {
            notes.push(format!(
                "{} is a repeatable migration in Flyway's history; wdh-migrate does not run repeatables",
                text(r, 5)
            ));
            continue;
        };
        match text(r, 1).as_str() {
            "SCHEMA" => {}
            "BASELINE" => {
                up_to = Some(UpTo {
                    version,
                    needs_file: false,
                })
            }
            "UNDO_SQL" | "UNDO_JDBC" | "DELETE" => claims.retain(|c| c.version != version),
            _ => {
                claims.retain(|c| c.version != version);
                let recorded = match text(r, 2).parse::<i32>() {
                    Ok(crc) => Recorded::Crc32(crc),
                    Err(_) => Recorded::Nothing,
                };
                claims.push(Claim {
                    version,
                    file: None,
                    recorded,
                    applied_at: epoch(r, 4),
                });
            }
        }
    }
    Ok(Claims {
        rows: claims,
        up_to,
        notes,
        ..Claims::default()
    })
}
