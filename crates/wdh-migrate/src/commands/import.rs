//! `import alembic`: converts an Alembic project's revisions into a
//! folder-layout set, written whole or not at all. It reads and writes
//! files only; Alembic runs in offline mode.

use std::path::Path;

use crate::error::CliError;
use crate::import::{self, alembic, ImportError};
use crate::settings::Output;

pub fn alembic(
    config: &Path,
    out: &Path,
    program: Option<&str>,
    output: Output,
) -> Result<(), CliError> {
    let fail = |e: ImportError| {
        if e.is_usage() {
            CliError::Usage(e.into())
        } else {
            CliError::Failed(e.into())
        }
    };
    let alembic = alembic::Alembic::locate(config, program).map_err(fail)?;
    if !output.quiet {
        eprintln!("import: running {} offline (--sql)", alembic.describe());
    }
    let converted = alembic::convert(&alembic).map_err(fail)?;
    let migrations = import::migrations(&converted);
    import::write_set(out, &migrations).map_err(fail)?;
    for (m, c) in migrations.iter().zip(&converted) {
        println!("  {:<48} <- {}", m.folder, c.revision.id);
    }
    println!(
        "import: {} migration(s) from Alembic revisions written to {}; check them with \
         `wdh-migrate check --migrations {}`",
        migrations.len(),
        out.display(),
        out.display()
    );
    Ok(())
}
