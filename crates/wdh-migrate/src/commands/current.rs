//! `current`: the newest applied version (`base` when none).

use wdh_migrate_core::runner::{RunOptions, Runner};

use super::{load, Context};
use crate::error::CliError;
use crate::output;

pub fn run(cx: &Context<'_>) -> Result<(), CliError> {
    let (identity, current) =
        Runner::new(cx.target, RunOptions::default()).current(&load(cx.migrations)?)?;
    super::note_read_only(&identity);
    if cx.output.json {
        output::json(&serde_json::json!({
            "database": identity.database,
            "current": current,
            "standby": identity.standby,
            "read_only": identity.read_only,
        }));
    } else {
        println!("{}", current.as_deref().unwrap_or("base"));
    }
    Ok(())
}
