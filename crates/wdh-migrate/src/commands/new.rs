//! `new <name>`: the next migration in the folder's layout and version style.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::CliError;
use crate::scaffold;

pub fn run(migrations: &Path, name: &str) -> Result<(), CliError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let now = i64::try_from(now).unwrap_or(0);
    for path in scaffold::new_migration(migrations, name, now).map_err(CliError::Usage)? {
        println!("{}", path.display());
    }
    Ok(())
}
