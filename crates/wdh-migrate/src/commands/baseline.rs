//! `baseline <version> [--dry-run]`: record every migration up to a version
//! as applied, without running, on a database with no ledger rows.

use wdh_migrate_core::runner::{RunOptions, Runner};

use super::{load, Context};
use crate::error::{CliError, Flags};
use crate::{output, term};

pub fn run(
    cx: &Context<'_>,
    version: &str,
    dry_run: bool,
    options: &RunOptions,
) -> Result<(), CliError> {
    let set = load(cx.migrations)?;
    let mut progress = term::Progress::new(cx.output.json || cx.output.quiet);
    let r = Runner::new(cx.target, options.clone())
        .with_spelling(&Flags)
        .baseline(&set, version, dry_run, &mut |e| progress.event(e))?;
    if cx.output.json {
        output::json(&r);
        return Ok(());
    }
    let verb = if r.dry_run { "would mark" } else { "marked" };
    for m in &r.marked {
        println!("  {verb} {}_{} as applied", m.version, m.name);
    }
    println!(
        "baseline: {verb} {} migration(s) as applied without running them; {} is at {}",
        r.marked.len(),
        r.identity.database,
        r.to
    );
    Ok(())
}
