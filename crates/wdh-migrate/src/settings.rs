//! Settings, resolved once at the edge: the target with its provenance,
//! the migrations folder, the safety policy and the run options.
//!
//! Order: `--database-url` > `WDH_DATABASE_URL` > `DATABASE_URL` >
//! `database_url` in `./wdh.toml` (or `--config FILE`). Nothing later
//! replaces the target chosen here.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;
use wdh_migrate_core::guard::SafetyPolicy;
use wdh_migrate_core::target::{Source, Target};

use crate::args::{GlobalArgs, RunArgs};

/// `wdh.toml`. Unknown keys are errors.
#[derive(Debug, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The database URL (lowest precedence).
    pub database_url: Option<String>,
    /// The migrations folder, relative to the file.
    pub migrations: Option<PathBuf>,
    /// Whole words of a database name that make it safe.
    pub safe_words: Option<Vec<String>>,
    /// Name prefixes that make a database safe.
    pub safe_prefixes: Option<Vec<String>>,
    /// How long to wait for another run's lock.
    pub lock_wait: Option<String>,
    /// lock_timeout for migration statements.
    pub lock_timeout: Option<String>,
    /// statement_timeout for migration statements.
    pub statement_timeout: Option<String>,
}

/// A loaded configuration file and where it is.
#[derive(Debug, Default)]
pub struct Config {
    pub file: Option<PathBuf>,
    pub values: ConfigFile,
}

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

pub fn load_config(global: &GlobalArgs) -> Result<Config> {
    let (path, explicit) = match &global.config {
        Some(p) => (p.clone(), true),
        None => (PathBuf::from("wdh.toml"), false),
    };
    if !path.exists() {
        if explicit {
            bail!("the configuration file {} does not exist", path.display());
        }
        return Ok(Config::default());
    }
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let values: ConfigFile =
        toml::from_str(&text).map_err(|e| anyhow!("{}: {}", path.display(), e.message()))?;
    Ok(Config {
        file: Some(path),
        values,
    })
}

/// Resolves the target by the documented order.
pub fn resolve_target(global: &GlobalArgs, env: &Env, config: &Config) -> Result<Target> {
    let candidates: [(Option<&String>, Source); 4] = [
        (global.database_url.as_ref(), Source::Flag),
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
            return Ok(Target::parse(url, source)?);
        }
    }
    bail!(
        "no database given: pass --database-url URL, set WDH_DATABASE_URL or DATABASE_URL, \
         or put database_url in ./wdh.toml (or the file named by --config). \
         There is no default database; --sandbox runs on a throw-away local cluster"
    )
}

/// The migrations folder: the flag, else `migrations` in the config file
/// (relative to the file), else `./migrations`.
pub fn migrations_dir(global: &GlobalArgs, config: &Config) -> PathBuf {
    if let Some(dir) = &global.migrations {
        return dir.clone();
    }
    match (&config.values.migrations, &config.file) {
        (Some(dir), Some(file)) => relative_to(file, dir),
        _ => PathBuf::from("migrations"),
    }
}

fn relative_to(file: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    file.parent().unwrap_or(Path::new(".")).join(path)
}

pub fn policy(config: &Config) -> SafetyPolicy {
    let mut policy = SafetyPolicy::default();
    if let Some(words) = &config.values.safe_words {
        policy.safe_words = words.clone();
    }
    if let Some(prefixes) = &config.values.safe_prefixes {
        policy.safe_prefixes = prefixes.clone();
    }
    policy
}

pub struct Timeouts {
    pub lock_wait: Option<Duration>,
    pub lock_timeout: Option<Duration>,
    pub statement_timeout: Option<Duration>,
}

pub fn timeouts(run: &RunArgs, config: &Config) -> Result<Timeouts> {
    let pick =
        |flag: &Option<String>, file: &Option<String>, name: &str| -> Result<Option<Duration>> {
            flag.as_ref()
                .or(file.as_ref())
                .map(|v| parse_duration(v).with_context(|| format!("--{name}")))
                .transpose()
        };
    Ok(Timeouts {
        lock_wait: pick(&run.lock_wait, &config.values.lock_wait, "lock-wait")?,
        lock_timeout: pick(
            &run.lock_timeout,
            &config.values.lock_timeout,
            "lock-timeout",
        )?,
        statement_timeout: pick(
            &run.statement_timeout,
            &config.values.statement_timeout,
            "statement-timeout",
        )?,
    })
}

/// `500ms`, `30s`, `2m`, `1h`; a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| anyhow!("`{text}` is not a duration (e.g. 500ms, 30s, 2m)"))?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        other => bail!("`{other}` is not a duration unit in `{text}` (use ms, s, m or h)"),
    };
    // PostgreSQL takes whole milliseconds up to i32::MAX, and 0 would mean "no limit".
    let max_ms = f64::from(i32::MAX);
    if secs * 1000.0 < 1.0 || secs * 1000.0 > max_ms {
        bail!("`{text}` is out of range: give at least 1ms and at most 596h (2^31 - 1 ms)");
    }
    Duration::try_from_secs_f64(secs).map_err(|_| anyhow!("`{text}` is not a duration"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn global(url: Option<&str>) -> GlobalArgs {
        GlobalArgs {
            database_url: url.map(str::to_string),
            migrations: None,
            config: None,
            json: false,
            print_target: false,
            sandbox: false,
            quiet: false,
            verbose: 0,
        }
    }

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
        };
        let cfg = config(Some("postgresql://h/from_file"));
        let t = resolve_target(&global(Some("postgresql://h/flag")), &env, &cfg).unwrap();
        assert_eq!((t.database(), t.source()), ("flag", &Source::Flag));
        let t = resolve_target(&global(None), &env, &cfg).unwrap();
        assert_eq!(
            (t.database(), t.source()),
            ("wdh_env", &Source::WdhDatabaseUrl)
        );
        let env2 = Env {
            wdh_database_url: None,
            ..env.clone()
        };
        let t = resolve_target(&global(None), &env2, &cfg).unwrap();
        assert_eq!(
            (t.database(), t.source()),
            ("plain_env", &Source::DatabaseUrl)
        );
        let t = resolve_target(&global(None), &Env::default(), &cfg).unwrap();
        assert_eq!(t.database(), "from_file");
        assert!(matches!(t.source(), Source::ConfigFile(_)));
    }

    #[test]
    fn an_empty_variable_does_not_fall_through() {
        let env = Env {
            wdh_database_url: Some(String::new()),
            database_url: Some("postgresql://h/prod".into()),
            allow_production_downgrade: None,
        };
        let e = resolve_target(&global(None), &env, &Config::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("WDH_DATABASE_URL is set but empty"), "{e}");
    }

    #[test]
    fn no_source_names_every_one() {
        let e = resolve_target(&global(None), &Env::default(), &Config::default())
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

    #[test]
    fn migrations_are_relative_to_the_config_file() {
        let cfg = Config {
            file: Some(PathBuf::from("/etc/app/wdh.toml")),
            values: ConfigFile {
                migrations: Some("db/migrations".into()),
                ..ConfigFile::default()
            },
        };
        assert_eq!(
            migrations_dir(&global(None), &cfg),
            PathBuf::from("/etc/app/db/migrations")
        );
        assert_eq!(
            migrations_dir(&global(None), &Config::default()),
            PathBuf::from("migrations")
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("3 weeks").is_err());
        assert!(
            parse_duration("0").is_err(),
            "0 would mean no limit to the server"
        );
        assert!(parse_duration("0.1ms").is_err());
        assert!(parse_duration("99999999999999999999999h").is_err());
        assert!(parse_duration("25d").is_err());
    }
}
