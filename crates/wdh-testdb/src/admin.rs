//! Admin connections to one server: its connection settings, a few open
//! connections kept for reuse, the server version, and connection URLs.

use std::sync::{Mutex, OnceLock};

use postgres::config::Host;
use postgres::{Client, Config, NoTls};

/// How to reach one server as its admin role, with pooled connections.
pub(crate) struct Admin {
    config: Config,
    pool: Mutex<Vec<Client>>,
    server_version: OnceLock<u32>,
}

impl Admin {
    pub(crate) fn new(config: Config) -> Admin {
        Admin {
            config,
            pool: Mutex::new(Vec::new()),
            server_version: OnceLock::new(),
        }
    }

    /// Connection settings of the admin connection (its own database).
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// Connection settings for `database` on this server.
    pub(crate) fn config_for(&self, database: &str) -> Config {
        let mut config = self.config.clone();
        config.dbname(database);
        config
    }

    /// A connection string (URL form) for `database` on this server.
    pub(crate) fn url_for(&self, database: &str) -> String {
        url_for(&self.config, database)
    }

    /// Runs `f` on a pooled admin connection (with the server version).
    pub(crate) fn with_admin<T>(
        &self,
        f: impl FnOnce(&mut Client, u32) -> std::result::Result<T, postgres::Error>,
    ) -> std::result::Result<T, postgres::Error> {
        let pooled = self.pool.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut client = match pooled {
            Some(c) if !c.is_closed() => c,
            _ => self.config.connect(NoTls)?,
        };
        let version = match self.server_version.get() {
            Some(v) => *v,
            None => {
                let v: i32 = client
                    .query_one("SELECT current_setting('server_version_num')::int", &[])?
                    .get(0);
                *self
                    .server_version
                    .get_or_init(|| u32::try_from(v).unwrap_or(0))
            }
        };
        let result = f(&mut client, version);
        if result.is_ok() || !client.is_closed() {
            self.pool
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(client);
        }
        result
    }
}

/// Renders a connection URL from a config, with every host in the query so
/// unix socket paths need no encoding in the authority.
pub(crate) fn url_for(config: &Config, database: &str) -> String {
    let mut url = String::from("postgresql://");
    if let Some(user) = config.get_user() {
        url.push_str(&encode_credential(user.as_bytes()));
        if let Some(password) = config.get_password() {
            url.push(':');
            url.push_str(&encode_credential(password));
        }
        url.push('@');
    }
    url.push('/');
    url.push_str(&encode(database));
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            Host::Tcp(name) => name.clone(),
            Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let mut params = Vec::new();
    if !hosts.is_empty() {
        params.push(format!(
            "host={}",
            hosts
                .iter()
                .map(|h| encode(h))
                .collect::<Vec<_>>()
                .join(",")
        ));
    }
    if !config.get_ports().is_empty() {
        params.push(format!(
            "port={}",
            config
                .get_ports()
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(",")
        ));
    }
    if !params.is_empty() {
        url.push('?');
        url.push_str(&params.join("&"));
    }
    url
}

/// Percent-encodes a host path or a database name (a `/` stays as it is).
fn encode(s: &str) -> String {
    encode_bytes(s.as_bytes(), b"/")
}

/// Percent-encodes a user name or password, `/` included: libpq reads no
/// credentials in front of an `@` that follows a `/`.
fn encode_credential(bytes: &[u8]) -> String {
    encode_bytes(bytes, b"")
}

fn encode_bytes(bytes: &[u8], keep: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            b if keep.contains(&b) => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_round_trip_through_the_config_parser() {
        let mut config = Config::new();
        config
            .host_path("/dev/shm/wdh-testdb-1/")
            .port(5432)
            .user("postgres")
            .password("p@ss:w/rd");
        let url = url_for(&config, "wdh_test_x");
        assert!(
            url.starts_with("postgresql://postgres:p%40ss%3Aw%2Frd@/"),
            "{url}"
        );
        let parsed: Config = url.parse().unwrap();
        assert_eq!(parsed.get_dbname(), Some("wdh_test_x"));
        assert_eq!(parsed.get_hosts(), config.get_hosts());
        assert_eq!(parsed.get_password(), Some(&b"p@ss:w/rd"[..]));
        assert_eq!(parsed.get_ports(), &[5432]);
    }
}
