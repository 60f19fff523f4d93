//! The environment variables the CLI reads: read once, at start, and
//! nowhere else.
//!
//! Of libpq's variables only those that choose no database are read: the
//! TLS ones (`PGSSLMODE`, `PGSSLROOTCERT`, `PGSSLCERT`, `PGSSLKEY`, …, as
//! defaults for what the connection string leaves out), what libpq reads
//! to find a password (`PGPASSWORD`, `PGPASSFILE`), and the home directory
//! (`HOME`, else the account's), where libpq's default TLS files
//! (`~/.postgresql/root.crt`, …) and `~/.pgpass` live. Those that choose a
//! target (`PGHOST`, `PGPORT`, `PGDATABASE`, `PGUSER`, `PGSERVICE`,
//! `PGSERVICEFILE`, `PGOPTIONS`, …) are never read.

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Result};
use wdh_migrate_core::target::PasswordSources;
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

/// The environment variables the CLI reads, read once. `Debug` never
/// shows `PGPASSWORD`.
#[derive(Default, Clone)]
pub struct Env {
    pub wdh_database_url: Option<String>,
    pub database_url: Option<String>,
    pub allow_production_downgrade: Option<String>,
    /// The TLS variables that are set: `(variable, setting, value)`.
    pub tls: Vec<(&'static str, &'static str, String)>,
    /// `PGPASSWORD`: the password when the target has none.
    pub pgpassword: Option<String>,
    /// `PGPASSFILE`: the password file when the target names none.
    pub pgpassfile: Option<PathBuf>,
    /// The home directory (`HOME`, else the account's), for `~/.pgpass`
    /// and libpq's default TLS files.
    pub home: Option<PathBuf>,
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env")
            .field(
                "wdh_database_url",
                &self.wdh_database_url.as_ref().map(|_| "(set)"),
            )
            .field("database_url", &self.database_url.as_ref().map(|_| "(set)"))
            .field(
                "allow_production_downgrade",
                &self.allow_production_downgrade,
            )
            .field("tls", &self.tls)
            .field("pgpassword", &self.pgpassword.as_ref().map(|_| "(set)"))
            .field("pgpassfile", &self.pgpassfile)
            .field("home", &self.home)
            .finish()
    }
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
        let path = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        Ok(Env {
            wdh_database_url: var("WDH_DATABASE_URL")?,
            database_url: var("DATABASE_URL")?,
            allow_production_downgrade: var("WDH_ALLOW_PRODUCTION_DOWNGRADE")?,
            tls,
            pgpassword: var("PGPASSWORD")?,
            pgpassfile: path("PGPASSFILE"),
            home: path("HOME").or_else(account_home),
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

    /// Where a password comes from when the target has none, as libpq
    /// looks: `PGPASSWORD`, then `PGPASSFILE`, else `~/.pgpass`.
    pub fn password_sources(&self) -> PasswordSources {
        let mut sources = PasswordSources::none();
        if let Some(pw) = &self.pgpassword {
            sources = sources.password(pw.clone(), "PGPASSWORD");
        }
        match (&self.pgpassfile, &self.home) {
            (Some(file), _) => sources.passfile(file.clone(), "PGPASSFILE"),
            (None, Some(home)) => sources.passfile(home.join(".pgpass"), "~/.pgpass"),
            (None, None) => sources,
        }
    }
}

/// The home directory of the account this process runs as, from the
/// account database (as libpq does when `HOME` is not set).
fn account_home() -> Option<PathBuf> {
    use std::os::unix::ffi::OsStringExt;
    let mut buf = vec![0u8; 4096];
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: the buffers are valid for their lengths; getpwuid_r writes
    // the entry into `pwd` and its strings into `buf`.
    let rc = unsafe {
        libc::getpwuid_r(
            libc::geteuid(),
            &mut pwd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() || pwd.pw_dir.is_null() {
        return None;
    }
    // SAFETY: pw_dir points into `buf`, NUL-terminated by getpwuid_r.
    let dir = unsafe { std::ffi::CStr::from_ptr(pwd.pw_dir) };
    let dir = OsString::from_vec(dir.to_bytes().to_vec());
    (!dir.is_empty()).then(|| PathBuf::from(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_password_or_url() {
        let env = Env {
            pgpassword: Some("hunter2".into()),
            database_url: Some("postgres://a:s3cret@h/d".into()),
            ..Env::default()
        };
        let text = format!("{env:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
    }

    #[test]
    fn the_passfile_is_pgpassfile_else_the_homes() {
        let env = Env {
            home: Some("/home/app".into()),
            ..Env::default()
        };
        let text = format!("{:?}", env.password_sources());
        assert!(text.contains("/home/app/.pgpass"), "{text}");
        let env = Env {
            home: Some("/home/app".into()),
            pgpassfile: Some("/etc/app/pgpass".into()),
            ..Env::default()
        };
        let text = format!("{:?}", env.password_sources());
        assert!(text.contains("/etc/app/pgpass"), "{text}");
        assert!(
            text.contains("PGPASSFILE") && !text.contains("~/.pgpass"),
            "{text}"
        );
    }

    #[test]
    fn the_account_has_a_home() {
        assert!(account_home().is_some());
    }
}
