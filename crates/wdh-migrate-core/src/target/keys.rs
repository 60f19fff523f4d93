//! The names a connection string may use: the settings the driver accepts,
//! the further ones libpq knows, and which of them hold secrets.

/// Settings that `postgres::Config` accepts, in both forms, and is handed
/// (the TLS settings are read by [`crate::tls`] instead).
const SUPPORTED: &[&str] = &[
    "user",
    "password",
    "dbname",
    "options",
    "application_name",
    "host",
    "hostaddr",
    "port",
    "connect_timeout",
    "tcp_user_timeout",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_retries",
    "target_session_attrs",
    "load_balance_hosts",
];

/// Settings that libpq knows but neither the driver nor [`crate::tls`]
/// reads (`ssl` and `requiressl` are libpq's spellings of `sslmode`).
const LIBPQ_ONLY: &[&str] = &[
    "service",
    "passfile",
    "client_encoding",
    "fallback_application_name",
    "keepalives_count",
    "sslpassword",
    "requirepeer",
    "require_auth",
    "min_protocol_version",
    "max_protocol_version",
    "gssencmode",
    "krbsrvname",
    "gsslib",
    "gssdelegation",
    "replication",
    "scram_client_key",
    "scram_server_key",
    "oauth_issuer",
    "oauth_client_id",
    "oauth_client_secret",
    "oauth_scope",
    "requiressl",
    "ssl",
];

/// What a setting name is to the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Known {
    /// The driver accepts it; the name as our own constant.
    Supported(&'static str),
    /// A TLS setting, read by [`crate::tls`] and not handed to the driver.
    Tls(&'static str),
    /// libpq knows it, the driver does not.
    LibpqOnly(&'static str),
    /// Nobody knows it (names are case-sensitive: `PASSWORD` is unknown).
    Unknown,
}

/// Looks a setting name up.
pub(super) fn known(name: &str) -> Known {
    if let Some(n) = SUPPORTED.iter().find(|n| **n == name) {
        Known::Supported(n)
    } else if let Some(n) = crate::tls::NAMES.iter().find(|n| **n == name) {
        Known::Tls(n)
    } else if let Some(n) = LIBPQ_ONLY.iter().find(|n| **n == name) {
        Known::LibpqOnly(n)
    } else {
        Known::Unknown
    }
}

/// Whether libpq or the driver knows the name: a known name is read as a
/// setting by every reader, so it ends whatever could be a password.
pub(super) fn is_known(name: &str) -> bool {
    known(name) != Known::Unknown
}

/// Whether a setting's value is a secret or may be one: `password`,
/// `passfile`, `sslpassword`, `oauth_client_secret`, `scram_client_key`,
/// and any name (in any case) that looks like them.
pub(super) fn is_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["pass", "secret", "key"].iter().any(|w| name.contains(w))
}
