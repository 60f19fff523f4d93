//! The environment variables the CLI reads: read once, at start, and
//! nowhere else.
//!
//! Of libpq's variables only those that choose no database are read: the
//! TLS ones (`PGSSLMODE`, `PGSSLROOTCERT`, `PGSSLCERT`, `PGSSLKEY`, …, as
//! defaults for what the connection string leaves out) and `HOME`, where
//! libpq's default TLS files live (`~/.postgresql/root.crt`, …). Those that
//! choose a target (`PGHOST`, `PGPORT`, `PGDATABASE`, `PGUSER`,
//! `PGSERVICE`, …) are never read.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Result};
use wdh_migrate_core::tls::Origin;

/// libpq's TLS variables and the setting each gives a default for.
pub const TLS_VARIABLES: &[(&str, &str)] = &[
    ("PGSSLMODE", "sslmode"),
    ("PGSSLNEGOTIATION", "sslnegotiation"),
    ("PGSSLROOTCERT", "sslrootcert"),
    ("PGSSLCERT", "sslcert"),
    ("PGSSLKEY", "sslkey"),
    ("PGSSLCRL", "sslcrl"),
    ("PGSSLCRLDIR", "sslcrldir"),
    ("PGSSLSNI", "sslsni"),
    ("PGSSLCERTMODE", "sslcertmode"),
    ("PGSSLMINPROTOCOLVERSION", "ssl_min_protocol_version"),
    ("PGSSLMAXPROTOCOLVERSION", "ssl_max_protocol_version"),
    ("PGSSLCOMPRESSION", "sslcompression"),
    ("PGCHANNELBINDING", "channel_binding"),
];

/// libpq's default TLS files in `~/.postgresql/`, used when they exist.
const DEFAULT_FILES: &[(&str, &str)] = &[
    ("sslrootcert", "root.crt"),
    ("sslcert", "postgresql.crt"),
    ("sslkey", "postgresql.key"),
    ("sslcrl", "root.crl"),
];

/// The environment variables the CLI reads, read once.
#[derive(Debug, Default, Clone)]
pub struct Env {
    pub wdh_database_url: Option<String>,
    pub database_url: Option<String>,
    pub allow_production_downgrade: Option<String>,
    /// The TLS variables that are set: `(variable, setting, value)`.
    pub tls: Vec<(&'static str, &'static str, String)>,
    /// `HOME`, where libpq's default TLS files are looked for.
    pub home: Option<PathBuf>,
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
        let mut tls = Vec::new();
        for (variable, setting) in TLS_VARIABLES {
            if let Some(value) = var(variable)? {
                if value.is_empty() {
                    bail!(
                        "{variable} is set but empty; unset it, or give it a value for \
                         {setting} (an empty value is not the same as none)"
                    );
                }
                tls.push((*variable, *setting, value));
            }
        }
        Ok(Env {
            wdh_database_url: var("WDH_DATABASE_URL")?,
            database_url: var("DATABASE_URL")?,
            allow_production_downgrade: var("WDH_ALLOW_PRODUCTION_DOWNGRADE")?,
            tls,
            home: std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(PathBuf::from),
        })
    }

    /// The defaults for the TLS settings a connection string leaves out, in
    /// libpq's order: the variables, then the default files that exist.
    pub fn tls_defaults(&self) -> Vec<(&'static str, String, Origin)> {
        let mut out: Vec<(&'static str, String, Origin)> = self
            .tls
            .iter()
            .map(|(variable, setting, value)| {
                (
                    *setting,
                    value.clone(),
                    Origin::Variable((*variable).to_owned()),
                )
            })
            .collect();
        if let Some(home) = &self.home {
            for (setting, file) in DEFAULT_FILES {
                let path = home.join(".postgresql").join(file);
                if path.is_file() {
                    out.push((setting, path.display().to_string(), Origin::DefaultFile));
                }
            }
        }
        out
    }
}
