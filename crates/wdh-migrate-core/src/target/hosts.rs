//! The hosts a target names, one entry per host as libpq counts them
//! (`host=a,b port=p,q`, `hostaddr=…`), in the order they are tried.

use std::net::IpAddr;

use postgres::config::Host;

/// The port PostgreSQL listens on unless told otherwise.
pub(crate) const DEFAULT_PORT: u16 = 5432;

/// One host of a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEntry {
    pub(crate) host: Option<Host>,
    pub(crate) hostaddr: Option<IpAddr>,
    pub(crate) port: u16,
}

impl HostEntry {
    /// How messages name it: `db1:5432`, `db1:5432 (address 10.0.0.1)`,
    /// `[::1]:5433`, `/run/postgresql (unix socket)`.
    pub fn label(&self) -> String {
        let port = self.port;
        match (&self.host, self.hostaddr) {
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
        }
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether it is a unix socket.
    pub fn is_unix_socket(&self) -> bool {
        #[cfg(unix)]
        {
            matches!(self.host, Some(Host::Unix(_)))
        }
        #[cfg(not(unix))]
        {
            false
        }
    }

    /// What the password file matches: the host name (or socket
    /// directory), else the address.
    pub(crate) fn passfile_host(&self) -> String {
        match (&self.host, self.hostaddr) {
            (Some(Host::Tcp(name)), _) => name.clone(),
            #[cfg(unix)]
            (Some(Host::Unix(path)), _) => path.display().to_string(),
            (None, Some(addr)) => addr.to_string(),
            (None, None) => String::new(),
        }
    }
}

/// The hosts of `config`, in order; an empty list when it names none.
pub(crate) fn entries(config: &postgres::Config) -> Vec<HostEntry> {
    let hosts = config.get_hosts();
    let addrs = config.get_hostaddrs();
    let ports = config.get_ports();
    let count = hosts.len().max(addrs.len());
    (0..count)
        .map(|i| HostEntry {
            host: hosts.get(i).cloned(),
            hostaddr: addrs.get(i).copied(),
            port: ports
                .get(i)
                .or_else(|| ports.first())
                .copied()
                .unwrap_or(DEFAULT_PORT),
        })
        .collect()
}

/// Why the hosts and ports of `config` do not line up, as libpq would
/// refuse them.
pub(crate) fn check(config: &postgres::Config) -> Result<(), String> {
    let hosts = config.get_hosts().len();
    let addrs = config.get_hostaddrs().len();
    let ports = config.get_ports().len();
    if hosts > 0 && addrs > 0 && hosts != addrs {
        return Err(format!(
            "it names {hosts} host(s) and {addrs} hostaddr(s); give one address per host"
        ));
    }
    let count = hosts.max(addrs);
    if ports > 1 && ports != count {
        return Err(format!(
            "it names {count} host(s) and {ports} ports; give one port for all hosts or one per host"
        ));
    }
    Ok(())
}

/// Puts an IPv6 address in brackets so that the port stays readable.
fn bracket_ipv6(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}
