//! How a [`Target`] shows itself: `Display`, `Debug` (never with the
//! password) and the list of hosts it connects to.

use std::fmt;

use postgres::config::Host;

use super::Target;

/// The port PostgreSQL listens on unless told otherwise.
const DEFAULT_PORT: u16 = 5432;

impl Target {
    /// The hosts the target connects to, e.g. `db1:5432` or
    /// `/run/postgresql (unix socket)`; several hosts are separated by `, `.
    pub fn hosts_display(&self) -> String {
        let hosts = self.config.get_hosts();
        let addrs = self.config.get_hostaddrs();
        let ports = self.config.get_ports();
        let count = hosts.len().max(addrs.len());
        if count == 0 {
            return "no host given".to_owned();
        }
        let mut parts = Vec::with_capacity(count);
        for i in 0..count {
            let port = ports
                .get(i)
                .or_else(|| ports.first())
                .copied()
                .unwrap_or(DEFAULT_PORT);
            let addr = addrs.get(i);
            let part = match (hosts.get(i), addr) {
                (Some(Host::Tcp(name)), None) => format!("{}:{port}", bracket_ipv6(name)),
                (Some(Host::Tcp(name)), Some(addr)) => {
                    format!("{}:{port} (address {addr})", bracket_ipv6(name))
                }
                #[cfg(unix)]
                (Some(Host::Unix(path)), _) if port == DEFAULT_PORT => {
                    format!("{} (unix socket)", path.display())
                }
                #[cfg(unix)]
                (Some(Host::Unix(path)), _) => {
                    format!("{} (unix socket, port {port})", path.display())
                }
                (None, Some(addr)) => format!("{}:{port}", bracket_ipv6(&addr.to_string())),
                (None, None) => "no host given".to_owned(),
            };
            parts.push(part);
        }
        parts.join(", ")
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (from {}", self.redacted, self.source)?;
        let elsewhere = self.tls.from_elsewhere();
        if !elsewhere.is_empty() {
            write!(f, "; {}", elsewhere.join(", "))?;
        }
        f.write_str(")")
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("database", &self.database)
            .field("source", &self.source)
            .field("redacted", &self.redacted)
            .finish_non_exhaustive()
    }
}

/// Puts an IPv6 address in brackets so that the port stays readable.
fn bracket_ipv6(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}
