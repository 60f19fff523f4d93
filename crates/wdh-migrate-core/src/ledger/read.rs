//! Reading the ledger into its rows, each version resolved once.

use postgres::{Client, SimpleQueryMessage};

use crate::migrations::Direction;
use crate::migrations::{Layout, Version};

use super::rows::{AppliedRow, FailedRow, LedgerState, LockRow};
use super::{rfc3339, statements, FORMAT};

/// Reads the ledger in one round trip, with the server process that
/// answered (to tell transaction pooling) (two when a no-transaction migration
/// is recorded as running, to tell whether its run is still alive). `exists`
/// comes from the identity query (no ledger: empty state). Each row's
/// version is resolved with `layout`, the layout of the set it is compared
/// with; `holds_lock` tells that the caller holds the run lock (so a
/// migration recorded as running is not running).
///
/// Kept cheap for a fresh backend, as a no-op `upgrade` runs it on every
/// start: no views, and with `detail` false (planning needs only versions,
/// names and checksums) no conversions or sorting — on a fresh backend that
/// halves the cost of the read.
pub fn read(
    client: &mut Client,
    exists: bool,
    detail: bool,
    layout: Layout,
    holds_lock: bool,
) -> Result<(i32, LedgerState, Option<i32>), postgres::Error> {
    if !exists {
        return Ok((FORMAT, LedgerState::default(), None));
    }
    let messages = client.simple_query(&statements::read_ledger(detail))?;
    let results = result_sets(messages);
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let num = |v: &Option<String>| {
        v.as_deref()
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let resolve = |v: &str| Version::parse(v, layout);
    let first = results.first().and_then(|r| r.first());
    let format = first
        .and_then(|r| r[0].as_deref())
        .and_then(|v| v.parse().ok())
        .unwrap_or(FORMAT);
    let pid = first
        .and_then(|r| r.get(1))
        .and_then(|v| v.as_deref())
        .and_then(|v| v.parse().ok());
    let applied = results
        .get(1)
        .map(|rows| {
            rows.iter()
                .map(|r| {
                    let version = text(&r[0]);
                    AppliedRow {
                        resolved: resolve(&version),
                        version,
                        name: text(&r[1]),
                        checksum: text(&r[2]),
                        applied_at: r[3]
                            .as_deref()
                            .map_or_else(String::new, |_| rfc3339(num(&r[3]))),
                        execution_ms: num(&r[4]),
                        applied_by: text(&r[5]),
                        client_addr: r[6].clone(),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let mut failed = Vec::new();
    for r in results.get(2).map(Vec::as_slice).unwrap_or_default() {
        let error = match r[4].as_deref() {
            Some("running") => {
                // Running only while a run holds the lock: this one (under
                // the lock) is not running it, another renews its lease.
                let holder = if holds_lock { None } else { read_lock(client)? };
                match holder.filter(LockRow::is_live) {
                    Some(lock) => format!("still running in the run holding the migration lock ({})", lock.describe()),
                    None => format!(
                        "interrupted: the run that was applying it ended before it finished (statement {} was in flight and may have taken effect)",
                        num(&r[2]) as i32 + 1
                    ),
                }
            }
            _ => r[5].clone().unwrap_or_else(|| "failed".to_string()),
        };
        let version = text(&r[0]);
        failed.push(FailedRow {
            resolved: resolve(&version),
            version,
            name: text(&r[1]),
            direction: if r[8].as_deref() == Some("down") {
                Direction::Down
            } else {
                Direction::Up
            },
            state: text(&r[4]),
            statements_done: num(&r[2]) as i32,
            statements_total: num(&r[3]) as i32,
            error,
            failed_at: rfc3339(num(&r[7])),
        });
    }
    Ok((
        format,
        LedgerState {
            exists: true,
            applied,
            failed,
        },
        pid,
    ))
}

/// How many statements of the failed no-transaction migration recorded as
/// `version` took effect, as the ledger says now (none if it cannot say).
pub(crate) fn statements_done(client: &mut Client, version: &str) -> Option<usize> {
    // A simple query: a prepared statement would not survive a transaction
    // pooler handing the next message to another server session.
    let sql = statements::statements_done(version);
    client
        .simple_query(&sql)
        .ok()
        .and_then(|m| single(&m))
        .and_then(|v| v.parse().ok())
}

/// The database's INVALID indexes (none when it cannot tell).
pub(crate) fn invalid_indexes(client: &mut Client) -> Vec<String> {
    client
        .simple_query(statements::INVALID_INDEXES)
        .map(|messages| {
            messages
                .into_iter()
                .filter_map(|m| match m {
                    SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The run lock's row (none where the ledger has no lock table yet).
pub fn read_lock(client: &mut Client) -> Result<Option<LockRow>, postgres::Error> {
    if single(&client.simple_query(statements::LOCK_TABLE_EXISTS)?).as_deref() != Some("t") {
        return Ok(None);
    }
    let messages = client.simple_query(&statements::lock_holder())?;
    let Some(r) = result_sets(messages)
        .into_iter()
        .next()
        .and_then(|rows| rows.into_iter().next())
    else {
        return Ok(None);
    };
    let f = |i: usize| r[i].as_deref().and_then(|v| v.parse::<f64>().ok());
    Ok(Some(LockRow {
        held: r[0].as_deref() == Some("t"),
        pid: r[1].as_deref().and_then(|v| v.parse().ok()),
        client: r[2].clone(),
        role: r[3].clone(),
        client_addr: r[4].clone(),
        operation: r[5].clone(),
        heartbeat_age_s: f(6),
        lease_ms: r[7].as_deref().and_then(|v| v.parse().ok()),
        held_for_s: f(8),
    }))
}

/// The rows of each statement of a simple query, as optional texts.
fn result_sets(messages: Vec<SimpleQueryMessage>) -> Vec<Vec<Vec<Option<String>>>> {
    let mut results: Vec<Vec<Vec<Option<String>>>> = vec![Vec::new()];
    for m in messages {
        match m {
            SimpleQueryMessage::Row(row) => {
                let values = (0..row.len())
                    .map(|i| row.get(i).map(str::to_string))
                    .collect();
                if let Some(last) = results.last_mut() {
                    last.push(values);
                }
            }
            SimpleQueryMessage::CommandComplete(_) => results.push(Vec::new()),
            _ => {}
        }
    }
    results
}

/// The first value of the first row.
pub(crate) fn single(messages: &[SimpleQueryMessage]) -> Option<String> {
    messages.iter().find_map(|m| match m {
        SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
        _ => None,
    })
}
