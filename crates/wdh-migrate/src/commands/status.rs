//! `status`: every migration and its state.

use wdh_migrate_core::runner::{RunOptions, Runner};

use super::{load, Context};
use crate::error::{CliError, Flags};
use crate::output;

pub fn run(cx: &Context<'_>) -> Result<(), CliError> {
    let status = Runner::new(cx.target, RunOptions::default())
        .with_spelling(&Flags)
        .status(&load(cx.migrations)?)?;
    if cx.output.json {
        output::json(&status)
    } else {
        output::status(&status)
    }
    Ok(())
}
