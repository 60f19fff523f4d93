//! TLS for test clusters: a private certificate authority made by the test
//! ([`Pki`], with `rcgen`), the server's files ([`ServerTls`]) and the
//! `pg_hba.conf` lines of a TLS-only server ([`hba_tls_only`]).
//!
//! ```no_run
//! use wdh_testdb::{ClusterOptions, Pki, ServerTls, Tcp, TestCluster, hba_tls_only};
//!
//! let pki = Pki::new()?;
//! let cluster = TestCluster::start_with(ClusterOptions {
//!     tcp: Some(Tcp::Tls(ServerTls::new(pki.server(&["localhost", "127.0.0.1"])?))),
//!     hba: Some(hba_tls_only("scram-sha-256")),
//!     ..ClusterOptions::default()
//! })?;
//! println!("127.0.0.1:{}", cluster.tcp_port().unwrap_or_default());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CertificateRevocationListParams,
    DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair,
    KeyUsagePurpose, RevokedCertParams, SerialNumber,
};

use crate::error::{Error, Result};

/// How a cluster listens on 127.0.0.1 (an ephemeral port), besides its
/// unix socket, which keeps `trust` for the harness's own connections.
#[derive(Debug, Clone)]
pub enum Tcp {
    /// Plain text: `ssl = off`.
    Plain,
    /// `ssl = on` with these files.
    Tls(ServerTls),
}

/// A certificate and its private key, PEM.
#[derive(Clone)]
pub struct Issued {
    /// The certificate.
    pub cert_pem: String,
    /// The private key (PKCS #8).
    pub key_pem: String,
    /// Its serial number, for a revocation list.
    pub serial: u64,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("serial", &self.serial)
            .finish_non_exhaustive()
    }
}

/// The server's TLS files: its certificate and key, and the authority
/// whose client certificates it accepts (`ssl_ca_file`, for `cert`
/// authentication).
#[derive(Debug, Clone)]
pub struct ServerTls {
    /// The server's certificate and key.
    pub server: Issued,
    /// PEM certificates of the authorities that issue client certificates.
    pub client_ca_pem: Option<String>,
}

impl ServerTls {
    /// The server presents `server`; no client certificate is asked for.
    pub fn new(server: Issued) -> ServerTls {
        ServerTls {
            server,
            client_ca_pem: None,
        }
    }

    /// The server also accepts client certificates issued by `ca_pem`.
    pub fn with_client_ca(mut self, ca_pem: &str) -> ServerTls {
        self.client_ca_pem = Some(ca_pem.to_owned());
        self
    }
}

/// `pg_hba.conf` of a TLS-only server: the unix socket trusted (for the
/// harness), TLS connections from 127.0.0.1 authenticated with `method`
/// (`scram-sha-256`, `cert`, …), and every plain-text TCP connection
/// rejected.
pub fn hba_tls_only(method: &str) -> String {
    format!(
        "local all all trust\n\
         hostssl all all 127.0.0.1/32 {method}\n\
         hostnossl all all 0.0.0.0/0 reject\n\
         host all all ::/0 reject\n"
    )
}

/// `pg_hba.conf` of a plain-text server: the unix socket trusted, TCP from
/// 127.0.0.1 with `method`.
pub fn hba_plain(method: &str) -> String {
    format!(
        "local all all trust\n\
         host all all 127.0.0.1/32 {method}\n"
    )
}

/// A private certificate authority for one test: ECDSA P-256 keys, made
/// fresh, trusted by nothing else on the machine.
pub struct Pki {
    issuer: Issuer<'static, KeyPair>,
    ca_pem: String,
    next_serial: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pki").finish_non_exhaustive()
    }
}

fn failed(what: &str) -> impl FnOnce(rcgen::Error) -> Error + '_ {
    move |e| Error::Certificate {
        what: what.to_owned(),
        reason: e.to_string(),
    }
}

impl Pki {
    /// A new authority, `CN=wdh-testdb CA`.
    pub fn new() -> Result<Pki> {
        Pki::named("wdh-testdb CA")
    }

    /// A new authority with this common name.
    pub fn named(common_name: &str) -> Result<Pki> {
        let key = KeyPair::generate().map_err(failed("a CA key"))?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(failed("a CA"))?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.distinguished_name = name(common_name);
        params.key_identifier_method = KeyIdMethod::Sha256;
        let cert = params.self_signed(&key).map_err(failed("a CA"))?;
        Ok(Pki {
            issuer: Issuer::new(params, key),
            ca_pem: cert.pem(),
            next_serial: std::sync::atomic::AtomicU64::new(1000),
        })
    }

    /// The authority's certificate (for `sslrootcert`).
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A server certificate for `names` (DNS names or IP addresses).
    pub fn server(&self, names: &[&str]) -> Result<Issued> {
        self.issue(names, "server", ExtendedKeyUsagePurpose::ServerAuth, false)
    }

    /// A server certificate for `names` that expired in 2001.
    pub fn expired_server(&self, names: &[&str]) -> Result<Issued> {
        self.issue(names, "server", ExtendedKeyUsagePurpose::ServerAuth, true)
    }

    /// A client certificate for the role `user` (its common name, as the
    /// `cert` method matches it).
    pub fn client(&self, user: &str) -> Result<Issued> {
        self.issue(&[], user, ExtendedKeyUsagePurpose::ClientAuth, false)
    }

    /// A revocation list of this authority revoking `revoked`, PEM.
    pub fn crl(&self, revoked: &[&Issued]) -> Result<String> {
        let params = CertificateRevocationListParams {
            this_update: date_time_ymd(2020, 1, 1),
            next_update: date_time_ymd(4000, 1, 1),
            crl_number: SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|i| RevokedCertParams {
                    serial_number: SerialNumber::from(i.serial),
                    revocation_time: date_time_ymd(2020, 1, 1),
                    reason_code: None,
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        };
        let crl = params.signed_by(&self.issuer).map_err(failed("a CRL"))?;
        crl.pem().map_err(failed("a CRL"))
    }

    fn issue(
        &self,
        names: &[&str],
        common_name: &str,
        usage: ExtendedKeyUsagePurpose,
        expired: bool,
    ) -> Result<Issued> {
        let key = KeyPair::generate().map_err(failed("a key"))?;
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names).map_err(failed("a certificate"))?;
        params.distinguished_name = name(common_name);
        params.extended_key_usages = vec![usage];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        let serial = self
            .next_serial
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        params.serial_number = Some(SerialNumber::from(serial));
        if expired {
            params.not_before = date_time_ymd(2000, 1, 1);
            params.not_after = date_time_ymd(2001, 1, 1);
        }
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(failed("a certificate"))?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            serial,
        })
    }
}

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn
}
