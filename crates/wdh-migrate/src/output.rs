//! Human and JSON output. Results go to stdout, progress and errors to stderr.

use wdh_migrate_core::identity::Identity;
use wdh_migrate_core::ledger::AppliedRow;
use wdh_migrate_core::migrations::Direction;
use wdh_migrate_core::runner::{DryRun, RunReport, Status};

use crate::settings::Output;

pub fn json<T: serde::Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("error: could not render JSON: {e}"),
    }
}

fn version(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("base")
}

/// A dry run, as SQL or as JSON.
pub fn dry_run_or_json(d: &DryRun, output: Output, migrations: &std::path::Path) {
    if output.json {
        json(d)
    } else {
        dry_run(d, migrations)
    }
}

/// A run's report, as a line (unless `--quiet`) or as JSON.
pub fn report_or_json(r: &RunReport, operation: &str, output: Output) {
    if output.json {
        json(r)
    } else if !output.quiet {
        report(r, operation)
    }
}

pub fn report(r: &RunReport, operation: &str) {
    if r.ran.is_empty() {
        println!(
            "{operation}: nothing to do; {} is at {}",
            r.identity.database,
            version(&r.from)
        );
    } else {
        let total: f64 = r.ran.iter().map(|(_, _, ms)| ms).sum();
        println!(
            "{operation}: {} migration(s) in {total:.1} ms; {} is now at {} (was {})",
            r.ran.len(),
            r.identity.database,
            version(&r.to),
            version(&r.from)
        );
    }
}

pub fn status(s: &Status) {
    let paint = crate::term::Paint::stdout();
    println!("{}: at {}", describe(&s.identity), version(&s.current));
    if let Some(reason) = s.identity.read_only_reason() {
        println!(
            "{}",
            paint.yellow(&format!(
                "read-only: {reason}; this is what it shows, but upgrade, downgrade and mark need \
                 a primary (target_session_attrs=read-write)"
            ))
        );
    }
    let width = s
        .migrations
        .iter()
        .map(|m| m.version.len() + m.name.len() + 1)
        .max()
        .unwrap_or(0);
    for m in &s.migrations {
        let mut flags = Vec::new();
        if m.down != "reversible" {
            flags.push(m.down);
        }
        if m.no_transaction {
            flags.push("no-transaction");
        }
        let flags = if flags.is_empty() {
            String::new()
        } else {
            format!("  [{}]", flags.join(", "))
        };
        let label = format!("{}_{}", m.version, m.name);
        let state = format!("{:<12}", m.state);
        let state = match m.state {
            "applied" => paint.green(&state),
            "pending" | "out-of-order" => paint.yellow(&state),
            _ => paint.red(&state),
        };
        println!(
            "  {state} {label:<width$}  {}{flags}",
            m.applied_at.as_deref().unwrap_or("")
        );
        if let Some(note) = &m.note {
            println!("               {note}");
        }
    }
    for (path, reason) in &s.ignored {
        println!("  {:<12} {path}  ({reason})", "ignored");
    }
    if let Some(lock) = s.lock.as_ref().filter(|l| l.held) {
        let state = if lock.is_live() {
            "held by"
        } else {
            "left by (lease expired; the next run takes it over)"
        };
        println!("lock: {state} {}", lock.describe());
    }
    if let Some(pooling) = &s.pooling {
        println!("pooler: {pooling}");
    }
    if !s.invalid_indexes.is_empty() {
        println!(
            "{}",
            paint.red(&format!(
                "INVALID index(es): {} (a failed or interrupted concurrent index build leaves one)",
                s.invalid_indexes.join(", ")
            ))
        );
    }
    let count = |state: &str| s.migrations.iter().filter(|m| m.state == state).count();
    println!(
        "{} applied, {} pending, {} drifted, {} failed, {} missing",
        count("applied") + count("drifted"),
        count("pending") + count("out-of-order"),
        count("drifted"),
        count("failed"),
        count("missing")
    );
}

pub fn history(identity: &Identity, rows: &[AppliedRow]) {
    println!("{}", describe(identity));
    if rows.is_empty() {
        println!("  nothing applied");
    }
    for r in rows {
        let addr = r
            .client_addr
            .as_deref()
            .map(|a| format!(" from {a}"))
            .unwrap_or_default();
        println!(
            "  {}  {}_{}  {:.1} ms  by {}{addr}",
            r.applied_at, r.version, r.name, r.execution_ms, r.applied_by
        );
    }
}

pub fn dry_run(d: &DryRun, migrations: &std::path::Path) {
    let verb = match d.direction {
        Direction::Up => "upgrade",
        Direction::Down => "downgrade",
    };
    println!(
        "-- dry run: {verb} {} from {} to {}; nothing is run",
        d.identity.database,
        version(&d.from),
        version(&d.to)
    );
    println!("-- guard: {}", d.guard.replace('\n', "\n--   "));
    println!("-- locks: {}", d.locks);
    for f in &d.findings {
        println!("-- lint: {}", f.render(migrations).replace('\n', "\n--   "));
    }
    if d.steps.is_empty() {
        println!("-- nothing to do");
    }
    for s in &d.steps {
        match &s.file {
            Some(f) => println!("\n-- {} ({f})", s.label),
            None => println!("\n-- {}", s.label),
        }
        if let Some(p) = &s.would_destroy {
            for l in &p.losses {
                println!("-- would {l}");
            }
            match &p.method {
                wdh_migrate_core::preview::Method::Rehearsed if p.losses.is_empty() => {
                    println!("-- would destroy nothing (rehearsed: run in a transaction and rolled back)")
                }
                wdh_migrate_core::preview::Method::Rehearsed => {
                    println!("-- (rehearsed: run in a transaction and rolled back)")
                }
                wdh_migrate_core::preview::Method::ParseTree { why } => {
                    println!("-- (read from the parse tree, not rehearsed: {why})")
                }
            }
        }
        println!("{}", s.sql);
    }
}

pub fn describe(identity: &Identity) -> String {
    identity.describe()
}
