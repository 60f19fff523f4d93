//! `downgrade <base|<version>|-N>`: revert applied migrations, guarded.

use wdh_migrate_core::plan::DowngradeTo;
use wdh_migrate_core::runner::{downgrade_operation, RunOptions, Runner};

use super::{load, Context};
use crate::error::{CliError, Flags};
use crate::{output, term};

pub fn run(
    cx: &Context<'_>,
    to: &DowngradeTo,
    dry_run: bool,
    options: &RunOptions,
) -> Result<(), CliError> {
    let runner = Runner::new(cx.target, options.clone()).with_spelling(&Flags);
    if dry_run {
        let d = runner.dry_run_downgrade(&load(cx.migrations)?, to)?;
        output::dry_run_or_json(&d, cx.output, cx.migrations);
        return Ok(());
    }
    // Judge the claim before reading any file or opening any connection.
    runner.judge_claim(&downgrade_operation(to))?;
    let mut progress = term::Progress::new(cx.output.json || cx.output.quiet);
    let report = runner.downgrade(&load(cx.migrations)?, to, &mut |e| progress.event(e))?;
    output::report_or_json(&report, "downgrade", cx.output);
    Ok(())
}
