//! The environment variables the CLI reads: read once, at start, and
//! nowhere else.

use anyhow::{anyhow, Result};

/// The environment variables the CLI reads, read once.
#[derive(Debug, Default, Clone)]
pub struct Env {
    pub wdh_database_url: Option<String>,
    pub database_url: Option<String>,
    pub allow_production_downgrade: Option<String>,
}

impl Env {
    /// Reads the variables. A variable set to nothing is kept as set (so
    /// resolution refuses it), and one that is not valid UTF-8 is an error:
    /// neither may silently fall through to the next source.
    pub fn read() -> Result<Env> {
        let var = |k: &str| -> Result<Option<String>> {
            match std::env::var_os(k) {
                None => Ok(None),
                Some(v) => v
                    .into_string()
                    .map(Some)
                    .map_err(|_| anyhow!("{k} is set but is not valid UTF-8; fix or unset it")),
            }
        };
        Ok(Env {
            wdh_database_url: var("WDH_DATABASE_URL")?,
            database_url: var("DATABASE_URL")?,
            allow_production_downgrade: var("WDH_ALLOW_PRODUCTION_DOWNGRADE")?,
        })
    }
}
