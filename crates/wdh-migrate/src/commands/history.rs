//! `history`: applied migrations in the order they were applied.

use wdh_migrate_core::runner::{RunOptions, Runner};

use super::Context;
use crate::error::CliError;
use crate::output;

pub fn run(cx: &Context<'_>) -> Result<(), CliError> {
    let (identity, rows) = Runner::new(cx.target, RunOptions::default()).history()?;
    super::note_read_only(&identity);
    if cx.output.json {
        output::json(&serde_json::json!({
            "database": identity.database,
            "applied": rows,
            "standby": identity.standby,
            "read_only": identity.read_only,
        }));
    } else {
        output::history(&identity, &rows);
    }
    Ok(())
}
