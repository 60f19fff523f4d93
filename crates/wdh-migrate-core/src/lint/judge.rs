//! From hits to findings: the target's facts decide a sized rule's
//! severity (or that there is nothing to say), the file's `-- wdh:allow`
//! directives acknowledge, and an allow that acknowledges nothing is said.

use super::live::{self, Facts, Questions};
use super::rules;
use super::walk::{Ask, Hit};
use super::{Acknowledged, Finding, Job, Report, Severity, TableSize, Thresholds};
use crate::migrations::Direction;

/// What the hits of the live jobs ask the catalog.
pub(super) fn questions(jobs: &[Job<'_>], analysis: &[Vec<Hit>]) -> Questions {
    let mut q = Questions::default();
    for (job, hits) in jobs.iter().zip(analysis) {
        if !job.live {
            continue;
        }
        for hit in hits {
            let Some(table) = hit.ask.table() else {
                continue;
            };
            if !q.tables.contains(table) {
                q.tables.push(table.clone());
            }
            match &hit.ask {
                Ask::TypeChange { column, .. } | Ask::NotNull { column, .. } => {
                    let c = (table.clone(), column.clone());
                    if !q.columns.contains(&c) {
                        q.columns.push(c);
                    }
                }
                Ask::Default { functions, .. } => {
                    for f in functions {
                        if !q.functions.contains(f) {
                            q.functions.push(f.clone());
                        }
                    }
                }
                Ask::Nothing | Ask::Size(_) => {}
            }
        }
    }
    q
}

/// Bytes as MB with one decimal.
fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
}

/// A count with thousands separators.
fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// What the facts say of a hit: `None` when there is nothing to say (the
/// table is not there yet or is empty, or the change needs no rewrite),
/// else its severity, the table's size and what to add to the message.
fn judge_live(
    hit: &Hit,
    facts: &Facts,
    thresholds: Thresholds,
) -> Option<(Severity, Option<TableSize>, String)> {
    let Some(table) = hit.ask.table() else {
        return Some((hit.rule.severity, None, String::new()));
    };
    // Not in the database yet: an earlier pending migration creates it,
    // so no one else is using it.
    let found = facts.table(table)?;
    let mut now = String::new();
    match &hit.ask {
        Ask::TypeChange { column, to, .. } => {
            if let Some(c) = facts.column(table, column) {
                if live::no_rewrite(c, to) {
                    return None;
                }
                now = format!("; `{column}` is `{}` now", live::spelled(c));
            }
        }
        Ask::NotNull { column, .. } => {
            if let Some(c) = facts.column(table, column) {
                if c.not_null || (c.checked && facts.version >= 120_000) {
                    return None;
                }
            }
        }
        Ask::Default { functions, .. } => {
            if functions.iter().all(|f| facts.not_volatile(f)) {
                return None;
            }
        }
        Ask::Nothing | Ask::Size(_) => {}
    }
    let size = TableSize {
        table: found.qualified.clone(),
        rows: found.rows,
        bytes: found.bytes,
    };
    let rows = match found.rows {
        Some(r) => format!("about {} rows", count(r)),
        None => "rows unknown (never analyzed)".into(),
    };
    if !hit.rule.sized {
        return Some((hit.rule.severity, Some(size), now));
    }
    if found.is_empty() {
        return None;
    }
    let large = found.rows.is_some_and(|r| r >= thresholds.rows) || found.bytes >= thresholds.bytes;
    if large {
        Some((
            Severity::Error,
            Some(size),
            format!(
                "{now}; `{}` is large: {rows}, {} (large from {} rows or {})",
                found.qualified,
                mb(found.bytes),
                count(thresholds.rows),
                mb(thresholds.bytes)
            ),
        ))
    } else {
        Some((
            Severity::Warning,
            Some(size),
            format!(
                "{now}; `{}` is small ({rows}, {}), so it is brief",
                found.qualified,
                mb(found.bytes)
            ),
        ))
    }
}

/// The findings of every job.
pub(super) fn judge(
    jobs: &[Job<'_>],
    analysis: Vec<Vec<Hit>>,
    facts: Option<&Facts>,
    thresholds: Thresholds,
) -> Report {
    let mut report = Report {
        files: jobs.len(),
        server_version: facts.map(|f| f.version),
        ..Report::default()
    };
    for (job, hits) in jobs.iter().zip(analysis) {
        let start = report.findings.len();
        let mut used: Vec<&'static str> = Vec::new();
        let base = |rule: &'static rules::Rule| Finding {
            rule: rule.id,
            severity: rule.severity,
            path: job.script.path.clone(),
            line: 1,
            column: 1,
            message: String::new(),
            help: String::new(),
            statement: String::new(),
            version: job.migration.version.to_string(),
            direction: job.direction,
            size: None,
            acknowledged: None,
        };
        for hit in hits {
            if !used.contains(&hit.rule.id) {
                used.push(hit.rule.id);
            }
            let (severity, size, more) = match (job.live, facts) {
                (true, Some(facts)) => match judge_live(&hit, facts, thresholds) {
                    Some(v) => v,
                    None => continue,
                },
                _ => (hit.rule.severity, None, String::new()),
            };
            let acknowledged = job
                .script
                .allows
                .iter()
                .find(|a| a.rule == hit.rule.id)
                .map(|a| Acknowledged {
                    line: a.line,
                    reason: a.reason.clone(),
                });
            report.findings.push(Finding {
                severity,
                line: hit.pos.line,
                column: hit.pos.column,
                message: hit.message + &more,
                help: hit.help,
                statement: hit.statement,
                size,
                acknowledged,
                ..base(hit.rule)
            });
        }
        for allow in &job.script.allows {
            if used.contains(&allow.rule.as_str()) || allow.rule == rules::UNUSED_ALLOW.id {
                continue;
            }
            let unchecked = job.direction == Direction::Down
                && rules::rule(&allow.rule).is_some_and(rules::Rule::is_destructive);
            let message = if unchecked {
                format!(
                    "`-- wdh:allow {}` acknowledges nothing: down scripts are not checked for `{}` (a downgrade is guarded as a whole)",
                    allow.rule, allow.rule
                )
            } else {
                format!(
                    "`-- wdh:allow {}` acknowledges nothing: no statement of this file is a `{}` finding",
                    allow.rule, allow.rule
                )
            };
            report.findings.push(Finding {
                line: allow.line,
                message,
                help: "remove the directive, so it cannot hide a later statement by accident"
                    .into(),
                statement: format!("-- wdh:allow {}", allow.rule),
                ..base(&rules::UNUSED_ALLOW)
            });
        }
        report.findings[start..].sort_by_key(|f| (f.line, f.column));
    }
    report
}
