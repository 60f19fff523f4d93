//! A target as libpq's keywords, for a libpq program (`pg_dump`) that must
//! reach the same server as the run: one host (the one the run reached),
//! the database, the user, the TLS settings; the password kept apart, to
//! be handed over in the program's environment, never on its command line.

use postgres::config::{ChannelBinding, Host};

use crate::tls::{RootCert, SslMode};

use super::Target;

/// What a libpq program is given to connect.
#[derive(Clone)]
pub struct LibpqConnection {
    /// `keyword=value` pairs, in order; no secret among them.
    pub keywords: Vec<(&'static str, String)>,
    password: Option<Vec<u8>>,
}

impl std::fmt::Debug for LibpqConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LibpqConnection")
            .field("keywords", &self.keywords)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

/// A value as libpq's conninfo quotes it: in single quotes, with `\` and
/// `'` escaped.
fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if c == '\\' || c == '\'' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

impl LibpqConnection {
    /// The conninfo string (`host='…' port='…' …`), without the password.
    pub fn conninfo(&self) -> String {
        self.keywords
            .iter()
            .map(|(k, v)| format!("{k}={}", quoted(v)))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The password to give the program as `PGPASSWORD`, if any.
    pub fn password(&self) -> Option<&[u8]> {
        self.password.as_deref()
    }
}

impl Target {
    /// This target as libpq's keywords for host `index` of
    /// [`Target::hosts`] (the one a run reached), with `application_name`.
    pub fn libpq(&self, index: usize, application_name: &str) -> LibpqConnection {
        let mut keywords: Vec<(&'static str, String)> = Vec::new();
        if let Some(h) = self.hosts().get(index) {
            match &h.host {
                Some(Host::Tcp(name)) => keywords.push(("host", name.clone())),
                #[cfg(unix)]
                Some(Host::Unix(path)) => keywords.push(("host", path.display().to_string())),
                None => {}
            }
            if let Some(addr) = h.hostaddr {
                keywords.push(("hostaddr", addr.to_string()));
            }
            keywords.push(("port", h.port.to_string()));
        }
        keywords.push(("dbname", self.database.clone()));
        if let Some(user) = self.config.get_user().filter(|u| !u.is_empty()) {
            keywords.push(("user", user.to_string()));
        }
        if let Some(options) = self.config.get_options().filter(|o| !o.is_empty()) {
            keywords.push(("options", options.to_string()));
        }
        keywords.push(("application_name", application_name.to_string()));
        if let Some(t) = self.conn.connect_timeout {
            keywords.push(("connect_timeout", t.as_secs().max(1).to_string()));
        }
        let tls = self.tls();
        let mode = tls.mode();
        keywords.push(("sslmode", mode.as_str().to_string()));
        if mode != SslMode::Disable {
            if let Some(r) = &tls.rootcert {
                keywords.push((
                    "sslrootcert",
                    match &r.value {
                        RootCert::File(p) => p.display().to_string(),
                        RootCert::System => "system".to_string(),
                    },
                ));
            }
            let paths = [
                ("sslcert", &tls.cert),
                ("sslkey", &tls.key),
                ("sslcrl", &tls.crl),
                ("sslcrldir", &tls.crldir),
            ];
            for (k, v) in paths {
                if let Some(v) = v {
                    keywords.push((k, v.value.display().to_string()));
                }
            }
            if let Some(sni) = &tls.sni {
                keywords.push(("sslsni", if sni.value { "1" } else { "0" }.to_string()));
            }
        }
        if let Some(b) = tls.channel_binding() {
            keywords.push((
                "channel_binding",
                match b {
                    ChannelBinding::Disable => "disable",
                    ChannelBinding::Require => "require",
                    _ => "prefer",
                }
                .to_string(),
            ));
        }
        let password = self
            .host_password(index)
            .and_then(|p| p.password.clone())
            .or_else(|| {
                self.config
                    .get_password()
                    .filter(|p| !p.is_empty())
                    .map(<[u8]>::to_vec)
            });
        LibpqConnection { keywords, password }
    }
}
