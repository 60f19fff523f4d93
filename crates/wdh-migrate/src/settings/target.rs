//! Which database: the documented order, once. `--database-url` >
//! `WDH_DATABASE_URL` > `DATABASE_URL` > `database_url` in `./wdh.toml` (or
//! `--config FILE`); the first found wins and nothing later replaces it.

use std::path::PathBuf;

use anyhow::{bail, Result};
use wdh_migrate_core::target::{Source, Target};

use super::config::Config;
use super::env::Env;

/// Resolves the target by the documented order.
pub fn resolve(flag: Option<&String>, env: &Env, config: &Config) -> Result<Target> {
    let candidates: [(Option<&String>, Source); 4] = [
        (flag, Source::Flag),
        (env.wdh_database_url.as_ref(), Source::WdhDatabaseUrl),
        (env.database_url.as_ref(), Source::DatabaseUrl),
        (
            config.values.database_url.as_ref(),
            Source::ConfigFile(
                config
                    .file
                    .clone()
                    .unwrap_or_else(|| PathBuf::from("wdh.toml")),
            ),
        ),
    ];
    for (value, source) in candidates {
        if let Some(url) = value {
            if url.trim().is_empty() {
                bail!(
                    "{source} is set but empty; unset it, or give it a database URL \
                     (an empty value does not fall through to the next source)"
                );
            }
            return Ok(Target::parse(url, source)?.with_tls_defaults(&env.tls_defaults())?);
        }
    }
    bail!(
        "no database given: pass --database-url URL, set WDH_DATABASE_URL or DATABASE_URL, \
         or put database_url in ./wdh.toml (or the file named by --config). \
         There is no default database; --sandbox runs on a throw-away local cluster"
    )
}

#[cfg(test)]
mod tests {
    use super::super::config::ConfigFile;
    use super::*;

    fn config(url: Option<&str>) -> Config {
        Config {
            file: Some(PathBuf::from("/etc/app/wdh.toml")),
            values: ConfigFile {
                database_url: url.map(str::to_string),
                ..ConfigFile::default()
            },
        }
    }

    #[test]
    fn the_flag_wins_then_the_variables_then_the_file() {
        let env = Env {
            wdh_database_url: Some("postgresql://h/wdh_env".into()),
            database_url: Some("postgresql://h/plain_env".into()),
            allow_production_downgrade: None,
            ..Env::default()
        };
        let cfg = config(Some("postgresql://h/from_file"));
        let flag = "postgresql://h/flag".to_string();
        let t = resolve(Some(&flag), &env, &cfg).unwrap();
        assert_eq!((t.database(), t.source()), ("flag", &Source::Flag));
        let t = resolve(None, &env, &cfg).unwrap();
        assert_eq!(
            (t.database(), t.source()),
            ("wdh_env", &Source::WdhDatabaseUrl)
        );
        let env2 = Env {
            wdh_database_url: None,
            ..env.clone()
        };
        let t = resolve(None, &env2, &cfg).unwrap();
        assert_eq!(
            (t.database(), t.source()),
            ("plain_env", &Source::DatabaseUrl)
        );
        let t = resolve(None, &Env::default(), &cfg).unwrap();
        assert_eq!(t.database(), "from_file");
        assert!(matches!(t.source(), Source::ConfigFile(_)));
    }

    #[test]
    fn an_empty_variable_does_not_fall_through() {
        let env = Env {
            wdh_database_url: Some(String::new()),
            database_url: Some("postgresql://h/prod".into()),
            allow_production_downgrade: None,
            ..Env::default()
        };
        let e = resolve(None, &env, &Config::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("WDH_DATABASE_URL is set but empty"), "{e}");
    }

    #[test]
    fn no_source_names_every_one() {
        let e = resolve(None, &Env::default(), &Config::default())
            .unwrap_err()
            .to_string();
        for needle in [
            "--database-url",
            "WDH_DATABASE_URL",
            "DATABASE_URL",
            "wdh.toml",
        ] {
            assert!(e.contains(needle), "{needle}: {e}");
        }
    }
}

#[cfg(test)]
mod tls_tests {
    use super::*;
    use wdh_migrate_core::tls::SslMode;

    #[test]
    fn tls_variables_are_defaults_and_home_gives_the_default_files() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir(home.path().join(".postgresql")).unwrap();
        std::fs::write(home.path().join(".postgresql/root.crt"), "x").unwrap();
        let env = Env {
            database_url: Some("postgresql://h/app?sslmode=require".into()),
            tls: vec![
                ("PGSSLMODE", "sslmode", "verify-full".into()),
                ("PGSSLCERT", "sslcert", "/c.pem".into()),
                ("PGSSLKEY", "sslkey", "/k.pem".into()),
            ],
            home: Some(home.path().to_path_buf()),
            ..Env::default()
        };
        let t = resolve(None, &env, &Config::default()).unwrap();
        assert_eq!(t.tls().mode(), SslMode::Require, "the string wins");
        let line = t.to_string();
        assert!(line.contains("sslcert=/c.pem from PGSSLCERT"), "{line}");
        assert!(line.contains("sslkey=/k.pem from PGSSLKEY"), "{line}");
        assert!(
            line.contains(&format!(
                "sslrootcert={}/.postgresql/root.crt from libpq's default location",
                home.path().display()
            )),
            "{line}"
        );
        assert!(!line.contains("PGSSLMODE"), "{line}");
        let bad = Env {
            tls: vec![("PGSSLMODE", "sslmode", "sometimes".into())],
            ..env
        };
        let e = resolve(None, &bad, &Config::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`sslmode` is `sometimes`") && e.contains("PGSSLMODE"),
            "{e}"
        );
    }
}
