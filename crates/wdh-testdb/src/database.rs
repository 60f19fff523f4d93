//! The statements that create, drop and sweep `wdh_test_` databases on a
//! server, each refusing a name without the prefix before any statement.

use postgres::Client;

use crate::admin::Admin;
use crate::error::{pg_text, Error, Result};
use crate::names::{self, check_name};

/// Creates an empty database with this (checked) name.
pub(crate) fn create(admin: &Admin, name: &str) -> Result<()> {
    check_name(name)?;
    admin
        .with_admin(|client, version| {
            // FILE_COPY beats the default WAL_LOG for small templates (see the bench).
            let strategy = if version >= 150_000 {
                " STRATEGY FILE_COPY"
            } else {
                ""
            };
            client.batch_execute(&format!("CREATE DATABASE \"{name}\"{strategy}"))
        })
        .map_err(Error::pg(format!("creating database {name}")))
}

/// Drops a test database now (terminating its connections).
pub(crate) fn drop_now(admin: &Admin, name: &str) -> Result<()> {
    check_name(name)?;
    admin
        .with_admin(|c, version| drop_test_database(c, name, version))
        .map_err(Error::pg(format!("dropping database {name}")))
}

/// Drops every `wdh_test_` database that a process of this host created
/// and that process is gone, if nobody is connected to it. Returns the
/// names dropped.
///
/// A name this harness does not make (not `wdh_test_<pid>_<host>_<random>`
/// with a valid name, or not UTF-8) is skipped with a line on stderr: its
/// creator is unknown, so it is never dropped, and the sweep goes on.
/// Templates (`wdh_test_tpl_`) are left to their own sweep, silently.
pub(crate) fn sweep_stale(admin: &Admin) -> Result<Vec<String>> {
    let host = names::host_tag();
    let rows = admin
        .with_admin(|c, _| {
            c.query(
                "SELECT d.datname, (SELECT count(*) FROM pg_stat_activity a WHERE a.datid = d.oid) \
                 FROM pg_database d WHERE starts_with(d.datname, $1)",
                &[&names::PREFIX],
            )
        })
        .map_err(Error::pg("listing test databases"))?;
    let mut stale = Vec::new();
    for row in &rows {
        let Ok(name) = row.try_get::<_, String>(0) else {
            eprintln!(
                "wdh-testdb: the sweep skipped a test database whose name is not valid UTF-8; \
                 drop it by hand if it is a leftover"
            );
            continue;
        };
        if name.starts_with(names::TEMPLATE_PREFIX) {
            continue;
        }
        let Some(creator) = names::creator(&name) else {
            eprintln!(
                "wdh-testdb: the sweep skipped test database {name:?}: it is not a name this \
                 harness makes (wdh_test_<pid>_<host>_<random>), so its creator is unknown; \
                 drop it by hand if it is a leftover"
            );
            continue;
        };
        let sessions = row.try_get::<_, i64>(1).unwrap_or(1);
        if sessions == 0 && creator.host == host && !names::process_alive(creator.pid) {
            stale.push(name);
        }
    }
    let mut dropped = Vec::new();
    for name in stale {
        // A plain DROP: a session that connected since the listing makes
        // it fail, instead of being terminated as WITH (FORCE) would.
        match admin
            .with_admin(|c, _| c.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\"")))
        {
            Ok(()) => dropped.push(name),
            Err(e) => eprintln!(
                "wdh-testdb: left stale test database {name} in place: {}",
                pg_text(&e)
            ),
        }
    }
    Ok(dropped)
}

/// Drops a test database, terminating its sessions first. Before
/// PostgreSQL 13 (no `WITH (FORCE)`) that takes two messages: `DROP
/// DATABASE` cannot share a message with another statement.
pub(crate) fn drop_test_database(
    client: &mut Client,
    name: &str,
    version: u32,
) -> std::result::Result<(), postgres::Error> {
    if version >= 130_000 {
        return client.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
    }
    client.execute(
        "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity WHERE datname = $1 AND pid <> pg_catalog.pg_backend_pid()",
        &[&name],
    )?;
    client.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\""))
}
