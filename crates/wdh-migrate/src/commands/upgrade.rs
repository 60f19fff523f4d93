//! `upgrade [head|<version>|+N]`: apply pending migrations.

use wdh_migrate_core::plan::UpgradeTo;
use wdh_migrate_core::runner::{RunOptions, Runner};

use super::{check_folder, load, Context};
use crate::error::{CliError, Flags};
use crate::{output, term};

pub fn run(
    cx: &Context<'_>,
    to: &UpgradeTo,
    dry_run: bool,
    options: &RunOptions,
) -> Result<(), CliError> {
    let runner = Runner::new(cx.target, options.clone()).with_spelling(&Flags);
    if dry_run {
        let d = runner.dry_run_upgrade(&load(cx.migrations)?, to)?;
        output::dry_run_or_json(&d, cx.output, cx.migrations);
        return Ok(());
    }
    // A wrong folder opens no connection.
    check_folder(cx.migrations)?;
    // Read the files while connecting: a no-op upgrade at every service
    // start pays for the slower of the two, not both.
    let (set, connected) = std::thread::scope(|s| {
        let loading = s.spawn(|| load(cx.migrations));
        let connected = runner.connect();
        (loading.join(), connected)
    });
    let set = set.unwrap_or_else(|_| Err(CliError::usage("reading the migrations failed")))?;
    let mut progress =
        term::Progress::new(cx.output.json || cx.output.quiet).with_root(cx.migrations);
    let report = runner.upgrade_on(&mut connected?, &set, to, &mut |e| progress.event(e))?;
    output::report_or_json(&report, "upgrade", cx.output);
    Ok(())
}
