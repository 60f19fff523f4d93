//! Why a TLS handshake failed, said for people: which host, what was
//! wrong with it, and what to do.

use std::fmt;
use std::sync::Arc;

use rustls::{AlertDescription, CertificateError};

use super::Context;

/// A failed TLS handshake with one host. The driver reports it as the
/// cause of its "error performing TLS handshake".
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) host: String,
    pub(crate) why: Why,
    pub(crate) context: Arc<Context>,
}

#[derive(Debug)]
pub(crate) enum Why {
    /// The host is no name a certificate can be checked against.
    BadName,
    /// The connection broke.
    Io(String),
    /// The server answered the SSL request with `N`.
    Refused,
    /// The server answered the SSL request with something else.
    Unexpected(u8),
    /// The server's certificate was refused.
    Certificate(CertificateError),
    /// The server ended the handshake.
    Alert(AlertDescription),
    /// Anything else rustls refused.
    Other(String),
}

impl Why {
    pub(crate) fn from_io(e: std::io::Error) -> Why {
        match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            Some(rustls::Error::InvalidCertificate(c)) => Why::Certificate(c.clone()),
            Some(rustls::Error::AlertReceived(a)) => Why::Alert(*a),
            Some(other) => Why::Other(other.to_string()),
            None => Why::Io(e.to_string()),
        }
    }
}

impl std::error::Error for Failure {}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = &self.host;
        let cx = &self.context;
        let mode = cx.mode_described();
        let roots = cx.roots.as_deref().unwrap_or("no root certificate");
        let cert = || format!("the certificate of the server at {host}");
        match &self.why {
            Why::BadName => write!(
                f,
                "`{host}` is not a host name or IP address a TLS certificate can be checked \
                 against; name the server by its DNS name or address"
            ),
            Why::Io(e) => write!(
                f,
                "the connection to {host} broke during the TLS handshake ({e}); check that it \
                 is a PostgreSQL server and that nothing in between cuts TLS connections"
            ),
            Why::Refused => write!(
                f,
                "the server at {host} does not accept TLS connections (it answered the SSL \
                 request with `N`), and {mode} needs TLS. Turn `ssl` on in the server's \
                 configuration, or connect with sslmode=prefer where plain text is acceptable"
            ),
            Why::Unexpected(b) => write!(
                f,
                "the server at {host} answered the SSL request with byte {b:#04x} instead of \
                 `S` or `N`: it does not look like a PostgreSQL server"
            ),
            Why::Certificate(c) => match c {
                CertificateError::UnknownIssuer => write!(
                    f,
                    "{} is not signed by a certificate authority in {roots} ({mode}). Give the \
                     certificate of the authority that issued the server's certificate with \
                     sslrootcert=FILE (the server's administrator or provider publishes it)",
                    cert()
                ),
                CertificateError::BadSignature => write!(
                    f,
                    "{} has a signature that does not verify against {roots} ({mode}); give \
                     the right authority with sslrootcert",
                    cert()
                ),
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => write!(
                    f,
                    "{} has expired ({mode} checks its dates): the server needs a renewed \
                     certificate (or this machine's clock is wrong)",
                    cert()
                ),
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    write!(
                        f,
                        "{} is not valid yet ({mode} checks its dates): check this machine's \
                         clock and the server's certificate",
                        cert()
                    )
                }
                CertificateError::NotValidForName => write!(
                    f,
                    "{} is not issued for the name `{host}`, and {mode} checks the name. \
                     Connect with a name the certificate names (host=NAME, with \
                     hostaddr=ADDRESS to choose the address), or use sslmode=verify-ca to \
                     check the authority only",
                    cert()
                ),
                CertificateError::NotValidForNameContext { presented, .. } => write!(
                    f,
                    "{} is not issued for the name `{host}` (it names {}), and {mode} checks \
                     the name. Connect with a name the certificate names (host=NAME, with \
                     hostaddr=ADDRESS to choose the address), or use sslmode=verify-ca to \
                     check the authority only",
                    cert(),
                    if presented.is_empty() {
                        "no name".to_owned()
                    } else {
                        presented
                            .iter()
                            .map(|p| plain_name(p))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ),
                CertificateError::Revoked => write!(
                    f,
                    "{} has been revoked according to {}; the server needs a new certificate",
                    cert(),
                    cx.crl.as_deref().unwrap_or("the revocation list")
                ),
                CertificateError::UnknownRevocationStatus => write!(
                    f,
                    "the revocation status of {} is unknown: {} holds no list from an \
                     authority of its chain; give the revocation list of every authority \
                     in the chain",
                    cert(),
                    cx.crl.as_deref().unwrap_or("the revocation list")
                ),
                CertificateError::ExpiredRevocationList
                | CertificateError::ExpiredRevocationListContext { .. } => write!(
                    f,
                    "the revocation list {} is out of date, so {} cannot be checked; get a \
                     current list from the authority",
                    cx.crl.as_deref().unwrap_or("given"),
                    cert()
                ),
                CertificateError::InvalidPurpose
                | CertificateError::InvalidPurposeContext { .. } => {
                    write!(f, "{} is not a certificate for TLS servers", cert())
                }
                other => write!(f, "{} was refused ({mode}): {other:?}", cert()),
            },
            Why::Alert(alert) => {
                let client_cert_problem = matches!(
                    alert,
                    AlertDescription::CertificateRequired
                        | AlertDescription::BadCertificate
                        | AlertDescription::UnknownCA
                        | AlertDescription::CertificateUnknown
                        | AlertDescription::CertificateExpired
                        | AlertDescription::CertificateRevoked
                        | AlertDescription::AccessDenied
                        | AlertDescription::HandshakeFailure
                );
                match (&cx.client_cert, client_cert_problem) {
                    (Some(client), true) => write!(
                        f,
                        "the server at {host} did not accept the client certificate {client} \
                         (TLS alert {alert:?}): it must be issued by an authority in the \
                         server's ssl_ca_file, be valid now, and go with its key"
                    ),
                    (None, true) => write!(
                        f,
                        "the server at {host} ended the TLS handshake (alert {alert:?}); it \
                         may require a client certificate: give one with sslcert and sslkey"
                    ),
                    _ if *alert == AlertDescription::ProtocolVersion => write!(
                        f,
                        "the server at {host} speaks no TLS version offered ({}); check \
                         ssl_min_protocol_version and ssl_max_protocol_version",
                        cx.versions
                    ),
                    _ => write!(
                        f,
                        "the server at {host} ended the TLS handshake with the alert {alert:?}"
                    ),
                }
            }
            Why::Other(e) => write!(f, "the TLS handshake with {host} failed ({mode}): {e}"),
        }
    }
}

/// A name as the verifier lists it (`DnsName("db1")`, `IpAddress(10.0.0.1)`)
/// without its wrapping.
fn plain_name(presented: &str) -> &str {
    for prefix in ["DnsName(\"", "IpAddress("] {
        if let Some(inner) = presented.strip_prefix(prefix) {
            return inner.trim_end_matches(')').trim_end_matches('"');
        }
    }
    presented
}

#[cfg(test)]
mod tests {
    #[test]
    fn presented_names_lose_their_wrapping() {
        assert_eq!(super::plain_name("DnsName(\"db1\")"), "db1");
        assert_eq!(super::plain_name("IpAddress(127.0.0.1)"), "127.0.0.1");
        assert_eq!(super::plain_name("other"), "other");
    }
}
