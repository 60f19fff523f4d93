//! Reading the ledger into its rows, each version resolved once.

use postgres::{Client, SimpleQueryMessage};

use crate::migrations::Direction;
use crate::migrations::{Layout, Version};

use super::rows::{AppliedRow, FailedRow, LedgerState};
use super::{rfc3339, statements, FORMAT};

/// Reads the ledger in one round trip (two when a no-transaction migration
/// is recorded as running, to tell whether its run is still alive). `exists`
/// comes from the identity query (no ledger: empty state). Each row's
/// version is resolved with `layout`, the layout of the set it is compared
/// with.
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
) -> Result<(i32, LedgerState), postgres::Error> {
    if !exists {
        return Ok((FORMAT, LedgerState::default()));
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
    let format = results
        .first()
        .and_then(|r| r.first())
        .and_then(|r| r[0].as_deref())
        .and_then(|v| v.parse().ok())
        .unwrap_or(FORMAT);
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
                let pid = text(&r[6]);
                let alive =
                    single(&client.simple_query(&statements::backend_alive(
                        pid.parse::<i32>().unwrap_or(0),
                    ))?)
                    .is_some_and(|v| v == "t");
                if alive {
                    format!("still running in server process {pid}")
                } else {
                    "interrupted: the run that was applying it ended before it finished".to_string()
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
    ))
}

/// How many statements of the failed no-transaction migration recorded as
/// `version` took effect, as the ledger says now (none if it cannot say).
pub(crate) fn statements_done(client: &mut Client, version: &str) -> Option<usize> {
    client
        .query_opt(statements::STATEMENTS_DONE, &[&version])
        .ok()
        .flatten()
        .and_then(|r| usize::try_from(r.get::<_, i32>(0)).ok())
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
