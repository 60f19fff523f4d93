//! `init`: `wdh.toml` (every key, commented) and an empty migrations folder.

use std::path::Path;

use crate::error::CliError;
use crate::scaffold;

pub fn run(folder: &Path) -> Result<(), CliError> {
    for path in scaffold::init(Path::new(""), folder).map_err(CliError::Usage)? {
        println!("created {}", path.display());
    }
    Ok(())
}
