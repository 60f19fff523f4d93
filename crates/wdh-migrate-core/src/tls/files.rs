//! Reading the files the TLS settings name: certificate authorities,
//! client certificates and keys (refused when others may read them, as
//! libpq refuses them), revocation lists, and the platform's store.

use std::path::{Path, PathBuf};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};

use super::settings::{Given, Origin};
use super::TlsError;

/// What a setting's file is, for messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Role {
    /// The setting's name (`sslrootcert`).
    pub(crate) setting: &'static str,
    /// What the file holds (`root certificate`).
    pub(crate) what: &'static str,
}

pub(crate) const ROOTCERT: Role = Role {
    setting: "sslrootcert",
    what: "root certificate",
};
pub(crate) const CERT: Role = Role {
    setting: "sslcert",
    what: "client certificate",
};
pub(crate) const KEY: Role = Role {
    setting: "sslkey",
    what: "private key",
};
pub(crate) const CRL: Role = Role {
    setting: "sslcrl",
    what: "certificate revocation list",
};
pub(crate) const CRLDIR: Role = Role {
    setting: "sslcrldir",
    what: "certificate revocation list",
};

fn refuse(role: Role, given: &Given<PathBuf>, problem: impl Into<String>) -> TlsError {
    TlsError::File {
        setting: role.setting,
        what: role.what,
        path: given.value.clone(),
        origin: given.origin.clone(),
        problem: problem.into(),
    }
}

fn read(role: Role, given: &Given<PathBuf>) -> Result<Vec<u8>, TlsError> {
    std::fs::read(&given.value).map_err(|e| refuse(role, given, format!("cannot read it: {e}")))
}

/// The PEM certificates of a file (`sslrootcert`, `sslcert`).
pub(crate) fn certificates(
    role: Role,
    given: &Given<PathBuf>,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(role, given)?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| refuse(role, given, format!("it is not valid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(refuse(
            role,
            given,
            "it holds no certificate (a PEM `BEGIN CERTIFICATE` block)",
        ));
    }
    Ok(certs)
}

/// Whether a key file's mode lets others read it, by libpq's rule: a file
/// owned by root may be `u=rw,g=r` (0640) at most, any other `u=rw` (0600).
pub(crate) fn key_too_open(mode: u32, owner: u32) -> bool {
    let forbidden = if owner == 0 { 0o037 } else { 0o077 };
    mode & forbidden != 0
}

/// The private key of `sslkey`: PEM (PKCS #8, PKCS #1 or SEC1) or DER,
/// refused when it is not a regular file or others may read it.
pub(crate) fn private_key(given: &Given<PathBuf>) -> Result<PrivateKeyDer<'static>, TlsError> {
    let meta = std::fs::metadata(&given.value)
        .map_err(|e| refuse(KEY, given, format!("cannot read it: {e}")))?;
    if !meta.is_file() {
        return Err(refuse(KEY, given, "it is not a regular file"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if key_too_open(meta.mode(), meta.uid()) {
            return Err(TlsError::KeyReadable {
                path: given.value.clone(),
                origin: given.origin.clone(),
                mode: meta.mode() & 0o7777,
            });
        }
    }
    let bytes = read(KEY, given)?;
    if contains(&bytes, b"ENCRYPTED") {
        return Err(refuse(
            KEY,
            given,
            "it is encrypted, and encrypted keys (sslpassword) are not supported; write a \
             decrypted copy readable only by you (`openssl pkey -in KEY -out KEY.plain`, then \
             chmod 0600)",
        ));
    }
    match PrivateKeyDer::from_pem_slice(&bytes) {
        Ok(key) => Ok(key),
        Err(rustls_pki_types::pem::Error::NoItemsFound) => {
            PrivateKeyDer::try_from(bytes).map_err(|_| {
                refuse(
                    KEY,
                    given,
                    "it holds no private key (PEM `PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE \
                     KEY`, or DER)",
                )
            })
        }
        Err(e) => Err(refuse(KEY, given, format!("it is not valid PEM: {e}"))),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The revocation lists of a file (PEM or DER).
pub(crate) fn crls(
    role: Role,
    given: &Given<PathBuf>,
) -> Result<Vec<CertificateRevocationListDer<'static>>, TlsError> {
    let bytes = read(role, given)?;
    let pem: Vec<_> = CertificateRevocationListDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| refuse(role, given, format!("it is not valid PEM: {e}")))?;
    if !pem.is_empty() {
        return Ok(pem);
    }
    if bytes.first() == Some(&0x30) {
        return Ok(vec![CertificateRevocationListDer::from(bytes)]);
    }
    Err(refuse(
        role,
        given,
        "it holds no revocation list (a PEM `BEGIN X509 CRL` block, or DER)",
    ))
}

/// The revocation lists of every file in `sslcrldir`.
pub(crate) fn crl_dir(
    given: &Given<PathBuf>,
) -> Result<Vec<CertificateRevocationListDer<'static>>, TlsError> {
    let entries = std::fs::read_dir(&given.value)
        .map_err(|e| refuse(CRLDIR, given, format!("cannot read the folder: {e}")))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        out.extend(crls(
            CRLDIR,
            &Given {
                value: p,
                origin: given.origin.clone(),
            },
        )?);
    }
    Ok(out)
}

/// The platform's trusted roots (`sslrootcert=system`), found as OpenSSL
/// finds them.
pub(crate) fn system_roots() -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let found = rustls_native_certs::load_native_certs();
    if found.certs.is_empty() {
        let why = found.errors.first().map_or_else(
            || "no certificate was found".to_owned(),
            ToString::to_string,
        );
        return Err(TlsError::SystemStore { problem: why });
    }
    Ok(found.certs)
}

/// `path` shown with where it came from.
pub(crate) fn shown(path: &Path, origin: &Origin) -> String {
    format!("{} (from {origin})", path.display())
}

#[cfg(test)]
mod tests {
    use super::key_too_open;

    #[test]
    fn key_modes_follow_libpq() {
        // Owned by the user: 0600 or less.
        assert!(!key_too_open(0o100600, 1000));
        assert!(!key_too_open(0o100400, 1000));
        assert!(key_too_open(0o100640, 1000));
        assert!(key_too_open(0o100604, 1000));
        // Owned by root: up to 0640.
        assert!(!key_too_open(0o100640, 0));
        assert!(key_too_open(0o100660, 0));
        assert!(key_too_open(0o100644, 0));
        assert!(key_too_open(0o100650, 0));
    }
}
