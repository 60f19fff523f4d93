//! PgBouncer's settings: the options a test chooses, checked before anything
//! starts, and the `pgbouncer.ini` and `userlist.txt` they become. Pure: no
//! process, no file.

use std::path::Path;
use std::time::Duration;

use crate::error::{Error, Result};

/// The role every connection of the harness uses, and PgBouncer's admin.
pub(crate) const ADMIN_USER: &str = "postgres";

/// When PgBouncer hands a server connection back to the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PoolMode {
    /// When the client disconnects; then `server_reset_query` (`DISCARD
    /// ALL`) runs, so the next client starts clean.
    Session,
    /// After each transaction (a statement outside one is a transaction);
    /// no reset query runs, so session state (`SET`, prepared statements,
    /// advisory locks, temp tables) stays on the server connection for
    /// whichever client gets it next.
    Transaction,
}

impl PoolMode {
    /// The value of PgBouncer's `pool_mode`.
    pub fn as_str(self) -> &'static str {
        match self {
            PoolMode::Session => "session",
            PoolMode::Transaction => "transaction",
        }
    }
}

impl std::fmt::Display for PoolMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How to start a [`PgBouncer`](crate::PgBouncer).
///
/// Everything not set here stays at PgBouncer's default, notably
/// `server_reset_query` (`DISCARD ALL`, run in session mode only) and
/// `server_round_robin` (off: the most recently used idle server
/// connection is handed out first).
#[derive(Debug, Clone)]
pub struct PgBouncerOptions {
    /// `pool_mode`.
    pub pool_mode: PoolMode,
    /// The `pgbouncer` program; `None` searches with
    /// [`PgBouncerLocator::from_env`](crate::PgBouncerLocator::from_env).
    pub program: Option<std::path::PathBuf>,
    /// `default_pool_size`: server connections per database and user (PgBouncer's default, 20).
    pub default_pool_size: u32,
    /// `max_client_conn`: client connections in all (PgBouncer's default, 100).
    pub max_client_conn: u32,
    /// Also listen on 127.0.0.1, on an ephemeral port (the unix socket is
    /// always there).
    pub tcp: bool,
    /// Reach the cluster over TCP, at 127.0.0.1 on its TCP port (the
    /// cluster must listen there: `ClusterOptions::tcp`), instead of its
    /// unix socket; with `server_tls_sslmode` in `settings`, over TLS.
    pub server_over_tcp: bool,
    /// `ignore_startup_parameters`: startup parameters PgBouncer accepts
    /// and drops. Empty by default: the `postgres` crate sends only
    /// `client_encoding`, `user`, `database` and, when set,
    /// `application_name` (all handled by PgBouncer) and `options` (which
    /// PgBouncer 1.18 refuses; listing it here makes PgBouncer drop it
    /// silently, so the settings it carries never reach the server).
    pub ignore_startup_parameters: Vec<String>,
    /// Further `[pgbouncer]` settings (`name = value`), e.g.
    /// `server_reset_query_always` or `query_wait_timeout`. The settings the
    /// harness writes itself are refused here.
    pub settings: Vec<(String, String)>,
    /// How long to wait for PgBouncer to accept connections.
    pub ready_timeout: Duration,
}

impl PgBouncerOptions {
    /// The defaults, in `mode`.
    pub fn new(mode: PoolMode) -> PgBouncerOptions {
        PgBouncerOptions {
            pool_mode: mode,
            program: None,
            default_pool_size: 20,
            max_client_conn: 100,
            tcp: false,
            server_over_tcp: false,
            ignore_startup_parameters: Vec::new(),
            settings: Vec::new(),
            ready_timeout: Duration::from_secs(30),
        }
    }
}

/// Settings the harness writes itself, and where to set them instead.
const MANAGED: &[(&str, &str)] = &[
    ("pool_mode", "set `PgBouncerOptions::pool_mode`"),
    (
        "default_pool_size",
        "set `PgBouncerOptions::default_pool_size`",
    ),
    ("max_client_conn", "set `PgBouncerOptions::max_client_conn`"),
    (
        "ignore_startup_parameters",
        "set `PgBouncerOptions::ignore_startup_parameters`",
    ),
    ("listen_addr", "set `PgBouncerOptions::tcp`"),
    ("listen_port", "the harness picks the port"),
    (
        "unix_socket_dir",
        "the harness gives each PgBouncer its own directory",
    ),
    (
        "auth_type",
        "the harness authenticates as the cluster does (trust)",
    ),
    ("auth_file", "the harness writes it"),
    ("auth_user", "the harness sets it"),
    ("admin_users", "the harness sets it"),
    ("logfile", "the harness logs to a file of its own"),
    ("pidfile", "the harness tracks the process itself"),
    (
        "user",
        "the harness runs PgBouncer as the cluster's account",
    ),
];

/// Refuses options that would not give a working PgBouncer, before any work.
pub(crate) fn validate(options: &PgBouncerOptions) -> Result<()> {
    for (name, value) in [
        ("default_pool_size", options.default_pool_size),
        ("max_client_conn", options.max_client_conn),
    ] {
        if value == 0 {
            return Err(refused(name, "it must be at least 1"));
        }
    }
    for param in &options.ignore_startup_parameters {
        if !is_name(param) {
            return Err(refused(
                "ignore_startup_parameters",
                format!("`{param}` is not a parameter name (letters, digits and `_` only)"),
            ));
        }
    }
    for (name, value) in &options.settings {
        if !is_name(name) {
            return Err(refused(
                name,
                "a setting name has letters, digits and `_` only",
            ));
        }
        let lower = name.to_ascii_lowercase();
        if let Some((_, instead)) = MANAGED.iter().find(|(managed, _)| *managed == lower) {
            return Err(refused(
                name,
                format!("the harness writes this setting; {instead}"),
            ));
        }
        if value.chars().any(char::is_control) {
            return Err(refused(name, "its value holds a control character"));
        }
    }
    Ok(())
}

/// Refuses a path that cannot be written into `pgbouncer.ini` as is.
pub(crate) fn check_path(what: &str, path: &Path) -> Result<()> {
    let text = path
        .to_str()
        .ok_or_else(|| refused(what, format!("the path {} is not UTF-8", path.display())))?;
    if text
        .chars()
        .any(|c| c.is_control() || c == '\'' || c == '"')
    {
        return Err(refused(
            what,
            format!(
                "the path {text} holds a quote or a control character, which pgbouncer.ini cannot carry; \
                 put the cluster elsewhere (ClusterOptions::storage)"
            ),
        ));
    }
    if text.trim() != text {
        return Err(refused(
            what,
            format!("the path `{text}` starts or ends with white space"),
        ));
    }
    Ok(())
}

/// Where PgBouncer listens and what it sits in front of.
pub(crate) struct Layout<'a> {
    /// PgBouncer's own directory (socket, files).
    pub dir: &'a Path,
    /// PgBouncer's port (unix socket name, and TCP port when listening there).
    pub port: u16,
    /// Whether to listen on 127.0.0.1 too.
    pub tcp: bool,
    /// The cluster's socket directory and port.
    pub server_socket_dir: &'a Path,
    pub server_port: u16,
    /// The cluster's TCP port on 127.0.0.1, to reach it there instead.
    pub server_tcp_port: Option<u16>,
}

/// The name of the auth file in PgBouncer's directory.
pub(crate) const AUTH_FILE: &str = "userlist.txt";

/// `pgbouncer.ini` for these (validated) options.
pub(crate) fn render_ini(options: &PgBouncerOptions, layout: &Layout<'_>) -> String {
    let mut ini = String::from("; Written by wdh-testdb for one test process.\n");
    ini.push_str("[databases]\n");
    // Every database of the cluster, with the client's user name.
    match layout.server_tcp_port {
        Some(port) => ini.push_str(&format!("* = host=127.0.0.1 port={port}\n\n")),
        None => ini.push_str(&format!(
            "* = host='{}' port={}\n\n",
            layout.server_socket_dir.display(),
            layout.server_port
        )),
    }
    ini.push_str("[pgbouncer]\n");
    let mut set = |name: &str, value: &str| ini.push_str(&format!("{name} = {value}\n"));
    set("pool_mode", options.pool_mode.as_str());
    if layout.tcp {
        set("listen_addr", "127.0.0.1");
    }
    set("listen_port", &layout.port.to_string());
    set("unix_socket_dir", &layout.dir.display().to_string());
    // The cluster trusts local connections; so does its pooler. The auth
    // user looks up any other role in the cluster (auth_query), so every
    // role of the cluster can connect, not only those in the auth file.
    set("auth_type", "trust");
    set(
        "auth_file",
        &layout.dir.join(AUTH_FILE).display().to_string(),
    );
    set("auth_user", ADMIN_USER);
    set("admin_users", ADMIN_USER);
    set("default_pool_size", &options.default_pool_size.to_string());
    set("max_client_conn", &options.max_client_conn.to_string());
    if !options.ignore_startup_parameters.is_empty() {
        set(
            "ignore_startup_parameters",
            &options.ignore_startup_parameters.join(","),
        );
    }
    for (name, value) in &options.settings {
        set(name, value);
    }
    ini
}

/// `userlist.txt`: the admin role, without a password (trust).
pub(crate) fn render_auth_file() -> String {
    format!("\"{ADMIN_USER}\" \"\"\n")
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn refused(option: &str, reason: impl Into<String>) -> Error {
    Error::PgBouncerOptionRefused {
        option: option.to_string(),
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn layout<'a>(dir: &'a Path, server: &'a Path, tcp: bool) -> Layout<'a> {
        Layout {
            dir,
            port: 40001,
            tcp,
            server_socket_dir: server,
            server_port: 5432,
            server_tcp_port: None,
        }
    }

    #[test]
    fn the_ini_forwards_every_database_to_the_cluster_socket() {
        let mut options = PgBouncerOptions::new(PoolMode::Transaction);
        options.default_pool_size = 2;
        options.ignore_startup_parameters = vec!["options".into(), "extra_float_digits".into()];
        options.settings = vec![("server_reset_query_always".into(), "1".into())];
        let ini = render_ini(
            &options,
            &layout(
                Path::new("/dev/shm/c/pgbouncer-1"),
                Path::new("/dev/shm/c"),
                false,
            ),
        );
        for line in [
            "* = host='/dev/shm/c' port=5432",
            "pool_mode = transaction",
            "listen_port = 40001",
            "unix_socket_dir = /dev/shm/c/pgbouncer-1",
            "auth_type = trust",
            "auth_file = /dev/shm/c/pgbouncer-1/userlist.txt",
            "default_pool_size = 2",
            "max_client_conn = 100",
            "ignore_startup_parameters = options,extra_float_digits",
            "server_reset_query_always = 1",
        ] {
            assert!(
                ini.lines().any(|l| l == line),
                "{line} missing from:\n{ini}"
            );
        }
        assert!(!ini.contains("listen_addr"), "{ini}");
        assert!(!ini.contains("server_reset_query ="), "{ini}");
        let tcp = render_ini(
            &PgBouncerOptions::new(PoolMode::Session),
            &layout(Path::new("/d"), Path::new("/s"), true),
        );
        assert!(tcp.lines().any(|l| l == "listen_addr = 127.0.0.1"), "{tcp}");
        let upstream = render_ini(
            &PgBouncerOptions::new(PoolMode::Session),
            &Layout {
                server_tcp_port: Some(5433),
                ..layout(Path::new("/d"), Path::new("/s"), false)
            },
        );
        assert!(
            upstream
                .lines()
                .any(|l| l == "* = host=127.0.0.1 port=5433"),
            "{upstream}"
        );
        assert!(tcp.lines().any(|l| l == "pool_mode = session"), "{tcp}");
        assert!(!tcp.contains("ignore_startup_parameters"), "{tcp}");
    }

    #[test]
    fn options_that_cannot_work_are_refused_naming_the_option() {
        let base = || PgBouncerOptions::new(PoolMode::Session);
        let cases: Vec<(PgBouncerOptions, &str, &str)> = vec![
            (
                PgBouncerOptions {
                    default_pool_size: 0,
                    ..base()
                },
                "default_pool_size",
                "at least 1",
            ),
            (
                PgBouncerOptions {
                    max_client_conn: 0,
                    ..base()
                },
                "max_client_conn",
                "at least 1",
            ),
            (
                PgBouncerOptions {
                    ignore_startup_parameters: vec!["options,user".into()],
                    ..base()
                },
                "ignore_startup_parameters",
                "options,user",
            ),
            (
                PgBouncerOptions {
                    settings: vec![("listen_port".into(), "5".into())],
                    ..base()
                },
                "listen_port",
                "the harness writes this setting",
            ),
            (
                PgBouncerOptions {
                    settings: vec![("Pool_Mode".into(), "statement".into())],
                    ..base()
                },
                "Pool_Mode",
                "PgBouncerOptions::pool_mode",
            ),
            (
                PgBouncerOptions {
                    settings: vec![("%include /etc/x".into(), String::new())],
                    ..base()
                },
                "%include /etc/x",
                "letters, digits",
            ),
            (
                PgBouncerOptions {
                    settings: vec![("query_wait_timeout".into(), "1\nauth_type = any".into())],
                    ..base()
                },
                "query_wait_timeout",
                "control character",
            ),
        ];
        for (options, option, reason) in cases {
            let err = validate(&options).unwrap_err();
            assert!(
                matches!(&err, Error::PgBouncerOptionRefused { option: o, .. } if o == option),
                "{err}"
            );
            let msg = err.to_string();
            assert!(msg.contains(reason), "{reason} missing from: {msg}");
            assert!(msg.contains("nothing was started"), "{msg}");
        }
        validate(&PgBouncerOptions {
            settings: vec![("query_wait_timeout".into(), "5".into())],
            ignore_startup_parameters: vec!["extra_float_digits".into()],
            ..base()
        })
        .unwrap();
    }

    #[test]
    fn paths_pgbouncer_ini_cannot_carry_are_refused() {
        for bad in ["/tmp/it's", "/tmp/a\nb", "/tmp/x ", "/tmp/\"q\""] {
            let err = check_path("the cluster's socket directory", Path::new(bad)).unwrap_err();
            assert!(matches!(err, Error::PgBouncerOptionRefused { .. }), "{err}");
        }
        check_path("dir", Path::new("/dev/shm/wdh-testdb-1-ab/pgbouncer-1-cd")).unwrap();
        check_path("dir", Path::new("/tmp/with space")).unwrap();
    }
}
