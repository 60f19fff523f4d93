//! The snapshot a destructive run takes before its first step
//! ([`crate::snapshot`]): on a protected database always (running without
//! one needs the override), on a safe one when asked.

use std::path::PathBuf;

use crate::guard::{self, Classification};
use crate::ledger::AuditEntry;
use crate::preview::Preview;
use crate::snapshot::{self, Contents, SnapshotMode};
use crate::sql::quote_literal;

use super::{Connected, Event, RunError, Runner};

impl Runner<'_> {
    /// Writes the snapshot of what `preview` destroys, when the database
    /// and [`RunOptions::snapshot`](super::RunOptions::snapshot) call for
    /// one, and returns its path; refuses the run (audited) when it cannot
    /// be written, or when a protected database is to run without one and
    /// the override is not in use.
    pub(super) fn keep(
        &self,
        c: &mut Connected,
        operation: &str,
        preview: &Preview,
        override_used: bool,
        audit: &AuditEntry,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<Option<PathBuf>, RunError> {
        // Nothing but empty tables and columns: nothing to keep.
        let tables = preview.tables_with_data();
        if tables.is_empty() {
            return Ok(None);
        }
        // The marker as it is now: it decides whether the database is
        // protected.
        self.refresh_identity(c)?;
        let database = c.identity.database.clone();
        let protected =
            match guard::classify(&database, c.identity.marker.as_ref(), &self.options.policy) {
                Classification::Protected(reason) => Some(reason.to_string()),
                Classification::Safe(_) => None,
            };
        let refuse =
            |runner: &Self, c: &mut Connected, e: RunError, on: &mut dyn FnMut(Event<'_>)| {
                runner.audit_or_warn(
                    c,
                    AuditEntry {
                        outcome: "refused".into(),
                        error: Some(e.report(runner.spelling)),
                        loss: Some(preview.to_json()),
                        override_used,
                        ..audit.clone()
                    },
                    on,
                );
                e
            };
        match (self.options.snapshot.mode, protected) {
            (SnapshotMode::Never, Some(reason)) if !override_used => {
                let e = RunError::SnapshotRequired { database, reason };
                return Err(refuse(self, c, e, on));
            }
            (SnapshotMode::Never, Some(_)) => {
                on(Event::Warning(&format!(
                    "running without a snapshot of what this {operation} destroys on `{database}`, as asked: {}",
                    preview.summary()
                )));
                return Ok(None);
            }
            (SnapshotMode::Never | SnapshotMode::Protected, None) => return Ok(None),
            (SnapshotMode::Always, _) | (SnapshotMode::Protected, Some(_)) => {}
        }
        match self.write_snapshot(c, operation, &tables) {
            Ok(path) => {
                on(Event::Snapshot(&path));
                Ok(Some(path))
            }
            Err(e) => Err(refuse(self, c, e, on)),
        }
    }

    fn write_snapshot(
        &self,
        c: &mut Connected,
        operation: &str,
        tables: &[(String, String)],
    ) -> Result<PathBuf, RunError> {
        let database = c.identity.database.clone();
        let failed = |error| RunError::Snapshot {
            database: database.clone(),
            error,
        };
        let server_major = u32::try_from(c.identity.server_version / 10_000).unwrap_or(0);
        let pg_dump =
            snapshot::find_pg_dump(&self.options.snapshot.pg_dump, server_major).map_err(failed)?;
        // The schemas that hold the tables, and their other tables (whose
        // definitions are kept, not their rows).
        let mut schemas: Vec<String> = Vec::new();
        for (s, _) in tables {
            if !schemas.contains(s) {
                schemas.push(s.clone());
            }
        }
        let list: Vec<String> = schemas.iter().map(|s| quote_literal(s)).collect();
        let found = c
            .client
            .simple_query(
                self.quick(),
                &format!(
                    "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c \
                     JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace \
                     WHERE n.nspname OPERATOR(pg_catalog.=) ANY(ARRAY[{}]) \
                       AND c.relkind OPERATOR(pg_catalog.=) ANY('{{r,p,m}}'::pg_catalog.\"char\"[]) ORDER BY 1, 2",
                    list.join(", ")
                ),
            )
            .map_err(RunError::db(&database, "listing the tables a snapshot leaves out"))?;
        let other_tables: Vec<(String, String)> = found
            .into_iter()
            .filter_map(|m| match m {
                postgres::SimpleQueryMessage::Row(r) => Some((
                    r.get(0).unwrap_or_default().to_string(),
                    r.get(1).unwrap_or_default().to_string(),
                )),
                _ => None,
            })
            .filter(|t| !tables.contains(t))
            .collect();
        let contents = Contents {
            schemas,
            other_tables,
        };
        let connection = self.target.libpq(
            c.index,
            &format!("wdh-migrate {} snapshot", env!("CARGO_PKG_VERSION")),
        );
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let name = snapshot::file_name(&database, operation, now);
        snapshot::write(
            &pg_dump,
            &connection,
            &contents,
            &self.options.snapshot.dir,
            &name,
        )
        .map_err(|e| match e {
            // pg_dump's own words, scrubbed of the target's secrets.
            snapshot::SnapshotError::PgDump {
                program,
                status,
                stderr,
            } => failed(snapshot::SnapshotError::PgDump {
                program,
                status,
                stderr: self.target.scrub(&stderr),
            }),
            other => failed(other),
        })
    }
}
