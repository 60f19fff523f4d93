//! The TLS settings of a connection string, with libpq's names, values and
//! rules, and where each came from. Pure: nothing here reads a file.

use std::fmt;
use std::path::PathBuf;

use postgres::config::{ChannelBinding, SslNegotiation};

/// The TLS settings this crate reads itself (the driver is handed none of
/// them): libpq's names.
pub(crate) const NAMES: &[&str] = &[
    "sslmode",
    "sslnegotiation",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "sslcrl",
    "sslcrldir",
    "sslsni",
    "sslcertmode",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "sslcompression",
    "channel_binding",
];

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SslMode {
    /// Plain text only.
    Disable,
    /// Plain text first; TLS if the server refuses the plain connection.
    Allow,
    /// TLS first; plain text if the server does not offer TLS (libpq's default).
    Prefer,
    /// TLS only; the certificate is not checked (unless a root
    /// certificate is given: then its chain is, as with `verify-ca`).
    Require,
    /// TLS only, with a certificate signed by a trusted authority.
    VerifyCa,
    /// `verify-ca`, and the certificate must name the host connected to.
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Option<SslMode> {
        Some(match value {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }

    /// The name libpq gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// Whether a connection in this mode may be in plain text.
    pub fn allows_plain(self) -> bool {
        matches!(self, SslMode::Disable | SslMode::Allow | SslMode::Prefer)
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a TLS setting came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// The connection string itself.
    ConnectionString,
    /// An environment variable, read by the caller (`PGSSLMODE`, …).
    Variable(String),
    /// libpq's default file in the user's home directory
    /// (`~/.postgresql/root.crt`, …), found by the caller.
    DefaultFile,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::ConnectionString => f.write_str("the connection string"),
            Origin::Variable(name) => f.write_str(name),
            Origin::DefaultFile => f.write_str("libpq's default location"),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Given<T> {
    /// The value.
    pub value: T,
    /// Where it came from.
    pub origin: Origin,
}

/// `sslrootcert`: a file of certificate authorities, or the platform's store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootCert {
    /// A PEM file.
    File(PathBuf),
    /// `system`: the platform's trusted roots.
    System,
}

/// `sslcertmode` (libpq 16): whether a client certificate is sent
/// (`require`, where the server must ask for one, is refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertMode {
    /// Never sent.
    Disable,
    /// Sent when the server asks for one (the default).
    Allow,
}

/// A TLS protocol version, as `ssl_min_protocol_version` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Protocol {
    /// `TLSv1` (not offered: rustls speaks TLS 1.2 and 1.3 only).
    Tls10,
    /// `TLSv1.1` (not offered).
    Tls11,
    /// `TLSv1.2`.
    Tls12,
    /// `TLSv1.3`.
    Tls13,
}

impl Protocol {
    fn parse(value: &str) -> Option<Protocol> {
        Some(match value.to_ascii_lowercase().as_str() {
            "tlsv1" => Protocol::Tls10,
            "tlsv1.1" => Protocol::Tls11,
            "tlsv1.2" => Protocol::Tls12,
            "tlsv1.3" => Protocol::Tls13,
            _ => return None,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            Protocol::Tls10 => "TLSv1",
            Protocol::Tls11 => "TLSv1.1",
            Protocol::Tls12 => "TLSv1.2",
            Protocol::Tls13 => "TLSv1.3",
        }
    }
}

/// Every TLS setting of a target, each with where it came from; `None`
/// where nothing set it (libpq's default applies).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    pub(crate) mode: Option<Given<SslMode>>,
    pub(crate) negotiation: Option<Given<bool>>,
    pub(crate) rootcert: Option<Given<RootCert>>,
    pub(crate) cert: Option<Given<PathBuf>>,
    pub(crate) key: Option<Given<PathBuf>>,
    pub(crate) crl: Option<Given<PathBuf>>,
    pub(crate) crldir: Option<Given<PathBuf>>,
    pub(crate) sni: Option<Given<bool>>,
    pub(crate) certmode: Option<Given<CertMode>>,
    pub(crate) min_protocol: Option<Given<Protocol>>,
    pub(crate) max_protocol: Option<Given<Protocol>>,
    pub(crate) compression: Option<Given<bool>>,
    pub(crate) channel_binding: Option<Given<ChannelBinding>>,
}

/// A setting whose value is refused; the text says why, quoting the value
/// (TLS values are never secrets).
pub(crate) type Invalid = String;

fn boolean(name: &str, value: &str) -> Result<bool, Invalid> {
    match value {
        "1" => Ok(true),
        "0" => Ok(false),
        _ => Err(format!(
            "`{name}` is `{value}`; libpq accepts only 1 or 0 there"
        )),
    }
}

fn path(name: &str, value: &str) -> Result<PathBuf, Invalid> {
    if value.is_empty() {
        return Err(format!(
            "`{name}` is empty; name a file, or leave the setting out"
        ));
    }
    Ok(PathBuf::from(value))
}

fn one_of(name: &str, value: &str, allowed: &str) -> Invalid {
    format!("`{name}` is `{value}`; libpq accepts {allowed}")
}

impl TlsSettings {
    /// Whether `name` is one of the settings read here.
    pub(crate) fn knows(name: &str) -> bool {
        NAMES.contains(&name)
    }

    /// Sets `name` to `value`; a later setting replaces an earlier one,
    /// as libpq and the driver read a connection string.
    pub(crate) fn set(&mut self, name: &str, value: &str, origin: Origin) -> Result<(), Invalid> {
        self.apply(name, value, origin, true)
    }

    /// Sets `name` to `value` unless something already set it: a default.
    pub(crate) fn fill(&mut self, name: &str, value: &str, origin: Origin) -> Result<(), Invalid> {
        self.apply(name, value, origin, false)
    }

    fn apply(
        &mut self,
        name: &str,
        value: &str,
        origin: Origin,
        replace: bool,
    ) -> Result<(), Invalid> {
        fn put<T>(slot: &mut Option<Given<T>>, value: T, origin: Origin, replace: bool) {
            if replace || slot.is_none() {
                *slot = Some(Given { value, origin });
            }
        }
        match name {
            "sslmode" => {
                let mode = SslMode::parse(value).ok_or_else(|| {
                    one_of(
                        name,
                        value,
                        "disable, allow, prefer, require, verify-ca and verify-full",
                    )
                })?;
                put(&mut self.mode, mode, origin, replace);
            }
            "sslnegotiation" => {
                let direct = match value {
                    "postgres" => false,
                    "direct" => true,
                    _ => return Err(one_of(name, value, "postgres and direct")),
                };
                put(&mut self.negotiation, direct, origin, replace);
            }
            "sslrootcert" => {
                let root = if value == "system" {
                    RootCert::System
                } else {
                    RootCert::File(path(name, value)?)
                };
                put(&mut self.rootcert, root, origin, replace);
            }
            "sslcert" => put(&mut self.cert, path(name, value)?, origin, replace),
            "sslkey" => put(&mut self.key, path(name, value)?, origin, replace),
            "sslcrl" => put(&mut self.crl, path(name, value)?, origin, replace),
            "sslcrldir" => put(&mut self.crldir, path(name, value)?, origin, replace),
            "sslsni" => put(&mut self.sni, boolean(name, value)?, origin, replace),
            "sslcompression" => {
                // libpq accepts it and ignores it: no server compresses any more.
                put(
                    &mut self.compression,
                    boolean(name, value)?,
                    origin,
                    replace,
                );
            }
            "sslcertmode" => {
                let mode = match value {
                    "disable" => CertMode::Disable,
                    "allow" => CertMode::Allow,
                    "require" => {
                        return Err("`sslcertmode` is `require`, which is not supported (the \
                             client cannot insist that the server ask for its certificate); use \
                             allow, or the server's `cert` authentication"
                            .to_owned())
                    }
                    _ => return Err(one_of(name, value, "disable, allow and require")),
                };
                put(&mut self.certmode, mode, origin, replace);
            }
            "ssl_min_protocol_version" | "ssl_max_protocol_version" => {
                let version = Protocol::parse(value)
                    .ok_or_else(|| one_of(name, value, "TLSv1, TLSv1.1, TLSv1.2 and TLSv1.3"))?;
                let slot = if name == "ssl_min_protocol_version" {
                    &mut self.min_protocol
                } else {
                    &mut self.max_protocol
                };
                put(slot, version, origin, replace);
            }
            "channel_binding" => {
                let binding = match value {
                    "disable" => ChannelBinding::Disable,
                    "prefer" => ChannelBinding::Prefer,
                    "require" => ChannelBinding::Require,
                    _ => return Err(one_of(name, value, "disable, prefer and require")),
                };
                put(&mut self.channel_binding, binding, origin, replace);
            }
            _ => return Err(format!("`{name}` is not a TLS setting")),
        }
        Ok(())
    }

    /// The rules between settings, checked once every setting and default
    /// is in, with libpq's messages where libpq has one.
    pub(crate) fn check(&self) -> Result<(), Invalid> {
        let mode = self.mode();
        if self.direct() && mode.allows_plain() {
            return Err(format!(
                "weak sslmode \"{mode}\" may not be used with sslnegotiation=direct \
                 (use \"require\", \"verify-ca\", or \"verify-full\")"
            ));
        }
        if matches!(self.rootcert_value(), Some(RootCert::System)) && mode != SslMode::VerifyFull {
            return Err(format!(
                "weak sslmode \"{mode}\" may not be used with sslrootcert=system \
                 (use \"verify-full\")"
            ));
        }
        if let Some(max) = &self.max_protocol {
            if max.value < Protocol::Tls12 {
                return Err(format!(
                    "ssl_max_protocol_version is {} (from {}), but only TLSv1.2 and TLSv1.3 \
                     are supported; raise it to TLSv1.2 or leave it out",
                    max.value.as_str(),
                    max.origin
                ));
            }
            if let Some(min) = &self.min_protocol {
                if min.value > max.value {
                    return Err(format!(
                        "invalid SSL protocol version range: ssl_min_protocol_version {} is \
                         above ssl_max_protocol_version {}",
                        min.value.as_str(),
                        max.value.as_str()
                    ));
                }
            }
        }
        if let Some(key) = &self.key {
            if self.cert.is_none() && key.origin != Origin::DefaultFile {
                return Err(format!(
                    "sslkey {} (from {}) is given without sslcert: give the client \
                     certificate the key belongs to, or leave sslkey out",
                    key.value.display(),
                    key.origin
                ));
            }
        }
        Ok(())
    }

    /// The mode in effect: as set, else `verify-full` with
    /// `sslrootcert=system` (as libpq does), else `prefer`.
    pub fn mode(&self) -> SslMode {
        match (&self.mode, self.rootcert_value()) {
            (Some(m), _) => m.value,
            (None, Some(RootCert::System)) => SslMode::VerifyFull,
            (None, _) => SslMode::Prefer,
        }
    }

    /// Whether nothing but `sslmode` is set.
    pub fn only_mode(&self) -> bool {
        TlsSettings {
            mode: None,
            ..self.clone()
        } == TlsSettings::default()
    }

    /// Whether `sslnegotiation=direct`.
    pub(crate) fn direct(&self) -> bool {
        self.negotiation.as_ref().is_some_and(|n| n.value)
    }

    fn rootcert_value(&self) -> Option<&RootCert> {
        self.rootcert.as_ref().map(|r| &r.value)
    }

    /// The channel binding setting, for the driver.
    pub(crate) fn channel_binding(&self) -> Option<ChannelBinding> {
        self.channel_binding.as_ref().map(|c| c.value)
    }

    /// `sslnegotiation`, for the driver's config.
    pub(crate) fn negotiation(&self) -> SslNegotiation {
        if self.direct() {
            SslNegotiation::Direct
        } else {
            SslNegotiation::Postgres
        }
    }

    /// The settings that did not come from the connection string, as
    /// `name=value from ORIGIN`, for the target line.
    pub fn from_elsewhere(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut note = |name: &str, value: String, origin: &Origin| {
            if *origin != Origin::ConnectionString {
                out.push(format!("{name}={value} from {origin}"));
            }
        };
        let shown = |p: &PathBuf| p.display().to_string();
        if let Some(g) = &self.mode {
            note("sslmode", g.value.to_string(), &g.origin);
        }
        if let Some(g) = &self.negotiation {
            let v = if g.value { "direct" } else { "postgres" };
            note("sslnegotiation", v.into(), &g.origin);
        }
        if let Some(g) = &self.rootcert {
            let v = match &g.value {
                RootCert::System => "system".into(),
                RootCert::File(p) => shown(p),
            };
            note("sslrootcert", v, &g.origin);
        }
        for (name, slot) in [
            ("sslcert", &self.cert),
            ("sslkey", &self.key),
            ("sslcrl", &self.crl),
            ("sslcrldir", &self.crldir),
        ] {
            if let Some(g) = slot {
                note(name, shown(&g.value), &g.origin);
            }
        }
        for (name, slot) in [("sslsni", &self.sni), ("sslcompression", &self.compression)] {
            if let Some(g) = slot {
                note(name, if g.value { "1" } else { "0" }.into(), &g.origin);
            }
        }
        if let Some(g) = &self.certmode {
            let v = match g.value {
                CertMode::Disable => "disable",
                CertMode::Allow => "allow",
            };
            note("sslcertmode", v.into(), &g.origin);
        }
        for (name, slot) in [
            ("ssl_min_protocol_version", &self.min_protocol),
            ("ssl_max_protocol_version", &self.max_protocol),
        ] {
            if let Some(g) = slot {
                note(name, g.value.as_str().into(), &g.origin);
            }
        }
        if let Some(g) = &self.channel_binding {
            let v = match g.value {
                ChannelBinding::Disable => "disable",
                ChannelBinding::Require => "require",
                _ => "prefer",
            };
            note("channel_binding", v.into(), &g.origin);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<TlsSettings, Invalid> {
        let mut s = TlsSettings::default();
        for (k, v) in pairs {
            s.set(k, v, Origin::ConnectionString)?;
        }
        s.check()?;
        Ok(s)
    }

    #[test]
    fn the_default_mode_is_prefer_and_system_roots_make_it_verify_full() {
        assert_eq!(settings(&[]).unwrap().mode(), SslMode::Prefer);
        let s = settings(&[("sslrootcert", "system")]).unwrap();
        assert_eq!(s.mode(), SslMode::VerifyFull);
    }

    #[test]
    fn system_roots_refuse_a_weaker_mode_as_libpq_does() {
        for mode in ["disable", "allow", "prefer", "require", "verify-ca"] {
            let e = settings(&[("sslrootcert", "system"), ("sslmode", mode)]).unwrap_err();
            assert_eq!(
                e,
                format!("weak sslmode \"{mode}\" may not be used with sslrootcert=system (use \"verify-full\")")
            );
        }
    }

    #[test]
    fn direct_negotiation_needs_a_mode_that_requires_tls() {
        for mode in ["disable", "allow", "prefer"] {
            let e = settings(&[("sslnegotiation", "direct"), ("sslmode", mode)]).unwrap_err();
            assert!(e.starts_with(&format!("weak sslmode \"{mode}\"")), "{e}");
        }
        assert!(
            settings(&[("sslnegotiation", "direct")]).is_err(),
            "prefer is the default"
        );
        for mode in ["require", "verify-ca", "verify-full"] {
            assert!(settings(&[("sslnegotiation", "direct"), ("sslmode", mode)]).is_ok());
        }
    }

    #[test]
    fn values_are_checked_and_the_message_names_the_setting() {
        let e = settings(&[("sslmode", "verify")]).unwrap_err();
        assert!(
            e.contains("`sslmode` is `verify`") && e.contains("verify-full"),
            "{e}"
        );
        assert!(settings(&[("sslsni", "yes")])
            .unwrap_err()
            .contains("1 or 0"));
        assert!(settings(&[("sslcert", "")]).unwrap_err().contains("empty"));
        assert!(settings(&[("ssl_max_protocol_version", "TLSv1.1")])
            .unwrap_err()
            .contains("only TLSv1.2 and TLSv1.3"));
        assert!(settings(&[
            ("ssl_min_protocol_version", "TLSv1.3"),
            ("ssl_max_protocol_version", "TLSv1.2")
        ])
        .unwrap_err()
        .contains("range"));
        assert!(settings(&[("sslkey", "/k")])
            .unwrap_err()
            .contains("without sslcert"));
    }

    #[test]
    fn a_later_setting_wins_and_a_default_fills_only_a_gap() {
        let mut s = settings(&[("sslmode", "require"), ("sslmode", "verify-ca")]).unwrap();
        assert_eq!(s.mode(), SslMode::VerifyCa);
        s.fill("sslmode", "disable", Origin::Variable("PGSSLMODE".into()))
            .unwrap();
        assert_eq!(s.mode(), SslMode::VerifyCa);
        s.fill(
            "sslrootcert",
            "/ca.pem",
            Origin::Variable("PGSSLROOTCERT".into()),
        )
        .unwrap();
        assert_eq!(
            s.from_elsewhere(),
            ["sslrootcert=/ca.pem from PGSSLROOTCERT"]
        );
    }
}
