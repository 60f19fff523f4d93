//! TLS as libpq does it, over rustls (no OpenSSL at run time).
//!
//! * [`TlsSettings`] — the TLS settings of a target with libpq's names and
//!   meaning (`sslmode`, `sslrootcert`, `sslcert`, `sslkey`, `sslcrl`, …),
//!   each with where it came from ([`Origin`]): the connection string, or a
//!   default the caller read (`PGSSLMODE`, `~/.postgresql/root.crt`). The
//!   library reads no environment variable: the caller hands them in.
//! * [`Connector`] — the files read (a key that others may read is refused,
//!   as libpq refuses it) and the rustls configuration built, once; it
//!   opens every connection of a target with libpq's `sslmode` semantics.
//!
//! `sslmode`: `disable` plain text; `allow` plain text first, TLS when the
//! server refuses the plain connection; `prefer` (the default) TLS when the
//! server offers it, plain text when it answers the SSL request with `N` —
//! but never after a failed handshake; `require` TLS, the certificate
//! unchecked; `verify-ca` TLS with a certificate issued by an authority of
//! `sslrootcert`; `verify-full` that, and the certificate names the host.
//! As in libpq, a root certificate given with `require` (or weaker) has the
//! chain checked as with `verify-ca`; `sslrootcert=system` uses the
//! platform's store and makes `verify-full` the default (a weaker mode is
//! refused). Unix sockets are never encrypted, whatever the mode, and their
//! targets read no TLS file. SCRAM channel binding (`SCRAM-SHA-256-PLUS`,
//! `tls-server-end-point`) is used where the server offers it
//! (`channel_binding=require` insists on it).

mod binding;
mod failure;
mod files;
mod settings;
mod stream;
mod verify;

use std::path::PathBuf;
use std::sync::Arc;

use postgres::config::{Host, SslMode as DriverMode, SslNegotiation};
use postgres::{Client, NoTls};
use rustls::client::WebPkiServerVerifier;
use rustls::{ClientConfig, RootCertStore};

pub use settings::{CertMode, Given, Origin, Protocol, RootCert, SslMode, TlsSettings};

pub(crate) use settings::NAMES;

use stream::MakeRustls;

/// ALPN protocol name of PostgreSQL (needed for `sslnegotiation=direct`).
const ALPN: &[u8] = b"postgresql";

/// Why the TLS files of a target could not be used. No connection was made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file a TLS setting names cannot be used.
    #[error(
        "the {what} file {} ({setting}, from {origin}) cannot be used: {problem}. No connection \
         was made.", path.display()
    )]
    File {
        /// The setting (`sslrootcert`).
        setting: &'static str,
        /// What the file holds.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Where the setting came from.
        origin: Origin,
        /// What is wrong.
        problem: String,
    },
    /// The private key file may be read by others (libpq's rule).
    #[error(
        "private key file \"{}\" (sslkey, from {origin}) has group or world access (mode {mode:04o}); \
         file must have permissions u=rw (0600) or less if owned by the current user, or \
         permissions u=rw,g=r (0640) or less if owned by root. No connection was made: run \
         `chmod 0600 {}`.", path.display(), path.display()
    )]
    KeyReadable {
        /// The key file.
        path: PathBuf,
        /// Where the setting came from.
        origin: Origin,
        /// Its permission bits.
        mode: u32,
    },
    /// A client certificate without its key.
    #[error(
        "certificate present, but not private key file: sslcert {} (from {origin}) is given, but \
         no sslkey. No connection was made. Give the key with sslkey=FILE.", cert.display()
    )]
    NoKey {
        /// The certificate file.
        cert: PathBuf,
        /// Where the certificate setting came from.
        origin: Origin,
    },
    /// A mode that verifies the server, without a root certificate.
    #[error(
        "sslmode={mode} (from {origin}) checks the server's certificate, but no root certificate \
         is given. No connection was made. Give the authority's certificate with \
         sslrootcert=FILE (or put it in ~/.postgresql/root.crt), use the system's trusted roots \
         with sslrootcert=system, or change sslmode to one that does not verify the server."
    )]
    NoRootCertificate {
        /// The mode.
        mode: SslMode,
        /// Where it came from.
        origin: Origin,
    },
    /// The platform's certificate store could not be read.
    #[error(
        "sslrootcert=system: the system's trusted root certificates could not be read \
         ({problem}). No connection was made. Install the CA certificates (the \
         `ca-certificates` package), or give a file with sslrootcert=FILE."
    )]
    SystemStore {
        /// What went wrong.
        problem: String,
    },
    /// rustls refused the certificates or the key.
    #[error("the TLS settings cannot be used: {problem}. No connection was made.")]
    Refused {
        /// What rustls said, with the files it concerns.
        problem: String,
    },
}

/// What a handshake failure's message names.
#[derive(Debug)]
pub(crate) struct Context {
    mode: SslMode,
    mode_origin: Option<Origin>,
    /// The roots, shown: `/x/ca.pem (from PGSSLROOTCERT)`.
    roots: Option<String>,
    client_cert: Option<String>,
    crl: Option<String>,
    versions: String,
}

impl Context {
    fn mode_described(&self) -> String {
        match &self.mode_origin {
            Some(origin) => format!("sslmode={} from {origin}", self.mode),
            None => format!("sslmode={} (the default)", self.mode),
        }
    }
}

/// Opens connections with the TLS settings of a target: its files read and
/// checked once. Cheap to clone.
#[derive(Clone)]
pub struct Connector {
    inner: Arc<Inner>,
}

enum Inner {
    /// No TLS: `sslmode=disable`, or a target of unix sockets only.
    Plain,
    /// TLS as the mode says.
    Tls {
        mode: SslMode,
        direct: bool,
        make: MakeRustls,
    },
    /// The files could not be used; every connection fails with why.
    Broken(TlsError),
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &*self.inner {
            Inner::Plain => f.write_str("Connector(plain)"),
            Inner::Tls { mode, .. } => write!(f, "Connector(sslmode={mode})"),
            Inner::Broken(e) => write!(f, "Connector(broken: {e})"),
        }
    }
}

/// Whether a connection to these hosts may use TLS: any host over TCP.
pub(crate) fn any_tcp(config: &postgres::Config) -> bool {
    !config.get_hostaddrs().is_empty()
        || config.get_hosts().iter().any(|h| matches!(h, Host::Tcp(_)))
}

impl Connector {
    /// Reads the files `settings` name and builds the TLS configuration;
    /// nothing is read when `tcp` is false (unix sockets only: libpq uses
    /// no TLS there) or the mode is `disable`.
    ///
    /// # Errors
    ///
    /// [`TlsError`] when a file cannot be read or used, a key file may be
    /// read by others, or a mode that verifies the server has no root
    /// certificate.
    pub fn new(settings: &TlsSettings, tcp: bool) -> Result<Connector, TlsError> {
        let mode = settings.mode();
        if !tcp || mode == SslMode::Disable {
            return Ok(Connector {
                inner: Arc::new(Inner::Plain),
            });
        }
        let (config, context) = client_config(settings)?;
        let make = MakeRustls {
            config: Arc::new(config),
            request: !settings.direct(),
            plain_on_refusal: mode == SslMode::Prefer,
            context: Arc::new(context),
        };
        Ok(Connector {
            inner: Arc::new(Inner::Tls {
                mode,
                direct: settings.direct(),
                make,
            }),
        })
    }

    /// A connector that fails every connection with `error` (for a caller
    /// that reports `error` before it would connect).
    pub fn broken(error: TlsError) -> Connector {
        Connector {
            inner: Arc::new(Inner::Broken(error)),
        }
    }

    /// Why this connector cannot connect, if it cannot.
    pub fn problem(&self) -> Option<&TlsError> {
        match &*self.inner {
            Inner::Broken(e) => Some(e),
            _ => None,
        }
    }

    /// Connects with `config` (the driver's settings; its `ssl_mode` and
    /// `ssl_negotiation` are set here, per attempt).
    ///
    /// # Errors
    ///
    /// The driver's error; a failed handshake's cause says which host, what
    /// was wrong and what to do.
    pub fn connect(&self, config: &postgres::Config) -> Result<Client, postgres::Error> {
        let mut config = config.clone();
        // A host list given only as addresses: the driver names the TLS
        // peer by `host`, so each address is its own name.
        if config.get_hosts().is_empty() && !config.get_hostaddrs().is_empty() {
            for addr in config.get_hostaddrs().to_vec() {
                config.host(&addr.to_string());
            }
        }
        match &*self.inner {
            Inner::Plain => plain(config),
            Inner::Broken(e) => {
                // Reached only by a caller that ignored `problem`: fail at
                // the first TCP host, with why.
                let failing = Failing(e.clone());
                config
                    .ssl_mode(DriverMode::Require)
                    .ssl_negotiation(SslNegotiation::Direct);
                config.connect(failing)
            }
            Inner::Tls { mode, direct, make } => match mode {
                SslMode::Allow => match plain(config.clone()) {
                    Ok(client) => Ok(client),
                    // The server refused the plain connection: try TLS.
                    Err(e) if e.as_db_error().is_some() => {
                        let mut tls = make.clone();
                        tls.plain_on_refusal = false;
                        with_tls(config, *direct, tls)
                    }
                    Err(e) => Err(e),
                },
                _ => with_tls(config, *direct, make.clone()),
            },
        }
    }
}

fn plain(mut config: postgres::Config) -> Result<Client, postgres::Error> {
    config.ssl_mode(DriverMode::Disable);
    config.connect(NoTls)
}

/// Connects with TLS on TCP hosts: the driver is told to negotiate
/// directly, and the connector sends the SSL request itself (unless
/// `sslnegotiation=direct`), so that a refusal is worded here and `prefer`
/// falls back to plain text only when the server answers `N`. A unix
/// socket in the list gets no TLS (the request's `N`, for `prefer`).
fn with_tls(
    mut config: postgres::Config,
    direct: bool,
    make: MakeRustls,
) -> Result<Client, postgres::Error> {
    let unix = config
        .get_hosts()
        .iter()
        .any(|h| !matches!(h, Host::Tcp(_)));
    if unix && !direct {
        // The driver sends the request itself and reads a unix socket's `N`.
        let mut make = make;
        make.request = false;
        config
            .ssl_mode(if make.plain_on_refusal {
                DriverMode::Prefer
            } else {
                DriverMode::Require
            })
            .ssl_negotiation(SslNegotiation::Postgres);
        return config.connect(make);
    }
    config
        .ssl_mode(DriverMode::Require)
        .ssl_negotiation(SslNegotiation::Direct);
    config.connect(make)
}

/// The rustls configuration of `settings`, and what its failures name.
fn client_config(settings: &TlsSettings) -> Result<(ClientConfig, Context), TlsError> {
    let mode = settings.mode();
    let provider = Arc::new(rustls::crypto::ring::default_provider());

    let mut crls = Vec::new();
    let mut crl_shown = Vec::new();
    if let Some(crl) = &settings.crl {
        crls.extend(files::crls(files::CRL, crl)?);
        crl_shown.push(format!("sslcrl {}", files::shown(&crl.value, &crl.origin)));
    }
    if let Some(dir) = &settings.crldir {
        crls.extend(files::crl_dir(dir)?);
        crl_shown.push(format!(
            "sslcrldir {}",
            files::shown(&dir.value, &dir.origin)
        ));
    }

    let (roots, roots_shown) = match &settings.rootcert {
        Some(Given {
            value: RootCert::System,
            ..
        }) => (
            Some(files::system_roots()?),
            Some("the system's trusted roots (sslrootcert=system)".to_owned()),
        ),
        Some(
            given @ Given {
                value: RootCert::File(path),
                origin,
            },
        ) => {
            let file = Given {
                value: path.clone(),
                origin: given.origin.clone(),
            };
            (
                Some(files::certificates(files::ROOTCERT, &file)?),
                Some(format!("sslrootcert {}", files::shown(path, origin))),
            )
        }
        None => (None, None),
    };

    let verifier: Arc<dyn rustls::client::danger::ServerCertVerifier> = match roots {
        None if matches!(mode, SslMode::VerifyCa | SslMode::VerifyFull) => {
            return Err(TlsError::NoRootCertificate {
                mode,
                origin: settings
                    .mode
                    .as_ref()
                    .map_or(Origin::ConnectionString, |m| m.origin.clone()),
            })
        }
        None => Arc::new(verify::AnyCertificate(Arc::clone(&provider))),
        Some(certs) => {
            let mut store = RootCertStore::empty();
            let (added, _ignored) = store.add_parsable_certificates(certs);
            if added == 0 {
                return Err(TlsError::Refused {
                    problem: format!(
                        "{} holds no certificate usable as a root",
                        roots_shown.as_deref().unwrap_or("sslrootcert")
                    ),
                });
            }
            let mut builder =
                WebPkiServerVerifier::builder_with_provider(Arc::new(store), Arc::clone(&provider));
            if !crls.is_empty() {
                builder = builder.with_crls(crls);
            }
            let webpki = builder.build().map_err(|e| TlsError::Refused {
                problem: format!(
                    "{}: {e}",
                    if crl_shown.is_empty() {
                        roots_shown.clone().unwrap_or_default()
                    } else {
                        crl_shown.join(", ")
                    }
                ),
            })?;
            if mode == SslMode::VerifyFull {
                webpki
            } else {
                Arc::new(verify::ChainOnly(webpki))
            }
        }
    };

    let versions = protocol_versions(settings);
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&versions)
        .map_err(|e| TlsError::Refused {
            problem: format!("the TLS versions asked for: {e}"),
        })?
        .dangerous()
        .with_custom_certificate_verifier(verifier);

    let send_cert = !matches!(
        settings.certmode.as_ref().map(|c| c.value),
        Some(CertMode::Disable)
    );
    let (mut config, client_shown) = match (&settings.cert, send_cert) {
        (Some(cert), true) => {
            let chain = files::certificates(files::CERT, cert)?;
            let key = match &settings.key {
                Some(key) => files::private_key(key)?,
                None => {
                    return Err(TlsError::NoKey {
                        cert: cert.value.clone(),
                        origin: cert.origin.clone(),
                    })
                }
            };
            let shown = format!("sslcert {}", files::shown(&cert.value, &cert.origin));
            let config =
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| TlsError::Refused {
                        problem: format!("{shown} and its sslkey: {e}"),
                    })?;
            (config, Some(shown))
        }
        _ => (builder.with_no_client_auth(), None),
    };
    config.alpn_protocols = vec![ALPN.to_vec()];
    config.enable_sni = settings.sni.as_ref().is_none_or(|s| s.value);

    let context = Context {
        mode,
        mode_origin: settings.mode.as_ref().map(|m| m.origin.clone()),
        roots: roots_shown,
        client_cert: client_shown,
        crl: (!crl_shown.is_empty()).then(|| crl_shown.join(" and ")),
        versions: versions
            .iter()
            .map(|v| match v.version {
                rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3",
                _ => "TLSv1.2",
            })
            .collect::<Vec<_>>()
            .join(", "),
    };
    Ok((config, context))
}

/// The versions between `ssl_min_protocol_version` (libpq's default:
/// TLSv1.2) and `ssl_max_protocol_version`.
fn protocol_versions(settings: &TlsSettings) -> Vec<&'static rustls::SupportedProtocolVersion> {
    let min = settings
        .min_protocol
        .as_ref()
        .map_or(Protocol::Tls12, |g| g.value);
    let max = settings
        .max_protocol
        .as_ref()
        .map_or(Protocol::Tls13, |g| g.value);
    let mut out = Vec::new();
    if min <= Protocol::Tls12 && max >= Protocol::Tls12 {
        out.push(&rustls::version::TLS12);
    }
    if max >= Protocol::Tls13 {
        out.push(&rustls::version::TLS13);
    }
    out
}

/// A connector that fails at the first host with the error it carries.
#[derive(Clone)]
struct Failing(TlsError);

impl postgres::tls::MakeTlsConnect<postgres::Socket> for Failing {
    type Stream = stream::Stream;
    type TlsConnect = stream::RustlsConnect;
    type Error = TlsError;

    fn make_tls_connect(&mut self, _: &str) -> Result<stream::RustlsConnect, TlsError> {
        Err(self.0.clone())
    }
}
