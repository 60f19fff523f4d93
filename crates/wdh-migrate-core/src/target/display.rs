//! How a [`Target`] shows itself: `Display`, `Debug` (never with the
//! password) and the list of hosts it connects to.

use std::fmt;

use super::hosts::HostEntry;
use super::Target;

impl Target {
    /// The hosts the target connects to, e.g. `db1:5432` or
    /// `/run/postgresql (unix socket)`; several hosts are separated by `, `.
    pub fn hosts_display(&self) -> String {
        let hosts = self.hosts();
        if hosts.is_empty() {
            return "no host given".to_owned();
        }
        let parts: Vec<String> = hosts.iter().map(HostEntry::label).collect();
        parts.join(", ")
    }
}

/// `postgresql://app@db1/app (from --database-url)`, with the TLS settings
/// and the password that do not come from the string and where they come
/// from: `(from DATABASE_URL; sslmode=verify-full from PGSSLMODE; password
/// from PGPASSWORD)`, `…; password from /home/app/.pgpass line 2`.
impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (from {}", self.redacted, self.source)?;
        let elsewhere = self.tls.from_elsewhere();
        if !elsewhere.is_empty() {
            write!(f, "; {}", elsewhere.join(", "))?;
        }
        let origins = self.password_origins();
        if !origins.is_empty() {
            let list: Vec<String> = origins.iter().map(ToString::to_string).collect();
            write!(f, "; password from {}", list.join(", "))?;
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
