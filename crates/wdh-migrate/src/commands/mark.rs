//! `mark <environment> [--locked]`: store the environment on the database.

use wdh_migrate_core::guard::Marker;
use wdh_migrate_core::runner::{RunOptions, Runner};

use super::Context;
use crate::error::{CliError, Flags};
use crate::{output, term};

pub fn run(cx: &Context<'_>, to: Marker, options: &RunOptions) -> Result<(), CliError> {
    let mut progress = term::Progress::new(cx.output.json || cx.output.quiet);
    let r = Runner::new(cx.target, options.clone())
        .with_spelling(&Flags)
        .mark(to, &mut |e| progress.event(e))?;
    if cx.output.json {
        output::json(&r)
    } else {
        let from = r
            .from
            .map_or_else(|| "unmarked".to_string(), |m| m.to_string());
        println!(
            "mark: {} is now marked {} (was {from})",
            r.identity.database, r.to
        );
    }
    Ok(())
}
