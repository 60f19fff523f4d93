//! `adopt [--from TOOL] [--dry-run]`: record what another tool's ledger says
//! it applied, without running any SQL.

use wdh_migrate_core::adopt::{Tool, Verified};
use wdh_migrate_core::runner::{RunOptions, Runner};

use super::{load, Context};
use crate::error::{CliError, Flags};
use crate::{output, term};

pub fn run(
    cx: &Context<'_>,
    from: Option<Tool>,
    dry_run: bool,
    options: &RunOptions,
) -> Result<(), CliError> {
    let set = load(cx.migrations)?;
    let mut progress = term::Progress::new(cx.output.json || cx.output.quiet);
    let r = Runner::new(cx.target, options.clone())
        .with_spelling(&Flags)
        .adopt(&set, from, dry_run, &mut |e| progress.event(e))?;
    if cx.output.json {
        output::json(&r);
        return Ok(());
    }
    for note in &r.notes {
        eprintln!("note: {note}");
    }
    let verb = if r.dry_run {
        "would record"
    } else {
        "recorded"
    };
    for m in &r.marked {
        let when = m
            .applied_at
            .as_ref()
            .map(|t| format!(" (applied by {} at {t})", r.from.tool))
            .unwrap_or_default();
        println!("  {verb} {}_{}{when}", m.version, m.name);
    }
    let verified = match r.verified {
        Verified::Checksums => format!("every file matches the checksum {} recorded", r.from.tool),
        Verified::NoChecksum => format!(
            "{} records no checksum: the files were not verified",
            r.from.tool
        ),
    };
    let already = if r.already > 0 {
        format!(", {} already recorded", r.already)
    } else {
        String::new()
    };
    println!(
        "adopt: {verb} {} migration(s) from {} ({}) without running them{already}; {verified}; {} is left as it was",
        r.marked.len(),
        r.from.tool,
        r.from.table,
        r.from.table
    );
    Ok(())
}
