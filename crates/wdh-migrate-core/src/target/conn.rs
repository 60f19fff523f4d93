//! The connection settings wdh-migrate applies itself, with libpq's
//! meaning where the driver reads them differently or not at all:
//! `passfile`, `connect_timeout` (whole seconds, at least 2, bounding the
//! whole login), `tcp_user_timeout` (milliseconds, where the driver reads
//! seconds), `keepalives_count` (the driver calls it `keepalives_retries`),
//! `target_session_attrs` (all six of libpq's values) and
//! `fallback_application_name`; and the defaults wdh-migrate gives the
//! driver's own settings (TCP keepalives, `application_name`).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::parse::Refusal;

/// Which server sessions a target accepts, as libpq's
/// `target_session_attrs` says: hosts are tried in order until one fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SessionAttrs {
    /// Any session (the default).
    #[default]
    Any,
    /// A session that accepts writes: not a hot standby, and
    /// `default_transaction_read_only` off.
    ReadWrite,
    /// A read-only session.
    ReadOnly,
    /// A server that is not in recovery.
    Primary,
    /// A hot standby.
    Standby,
    /// A hot standby if any host is one, else any server.
    PreferStandby,
}

impl SessionAttrs {
    fn parse(value: &str) -> Option<SessionAttrs> {
        Some(match value {
            "any" => SessionAttrs::Any,
            "read-write" => SessionAttrs::ReadWrite,
            "read-only" => SessionAttrs::ReadOnly,
            "primary" => SessionAttrs::Primary,
            "standby" => SessionAttrs::Standby,
            "prefer-standby" => SessionAttrs::PreferStandby,
            _ => return None,
        })
    }

    /// Whether a session with these facts fits (`PreferStandby` takes a
    /// standby here; the caller tries again with any session).
    pub fn accepts(self, in_recovery: bool, read_only: bool) -> bool {
        match self {
            SessionAttrs::Any => true,
            SessionAttrs::ReadWrite => !read_only,
            SessionAttrs::ReadOnly => read_only,
            SessionAttrs::Primary => !in_recovery,
            SessionAttrs::Standby | SessionAttrs::PreferStandby => in_recovery,
        }
    }
}

impl fmt::Display for SessionAttrs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SessionAttrs::Any => "any",
            SessionAttrs::ReadWrite => "read-write",
            SessionAttrs::ReadOnly => "read-only",
            SessionAttrs::Primary => "primary",
            SessionAttrs::Standby => "standby",
            SessionAttrs::PreferStandby => "prefer-standby",
        })
    }
}

/// TCP keepalives unless the string sets them: a first probe after 30 s of
/// silence, then every 10 s, 3 unanswered probes end the connection; and
/// 60 s for sent data to stay unacknowledged (`tcp_user_timeout`). A
/// server that is gone, or a network that drops everything, ends a run in
/// about a minute and a half instead of the system's two hours and more.
pub const KEEPALIVES_IDLE: Duration = Duration::from_secs(30);
/// See [`KEEPALIVES_IDLE`].
pub const KEEPALIVES_INTERVAL: Duration = Duration::from_secs(10);
/// See [`KEEPALIVES_IDLE`].
pub const KEEPALIVES_COUNT: u32 = 3;
/// See [`KEEPALIVES_IDLE`].
pub const TCP_USER_TIMEOUT: Duration = Duration::from_secs(60);

/// The `application_name` a connection has unless the string sets one (or
/// sets `fallback_application_name`).
pub const APPLICATION_NAME: &str = "wdh-migrate";

/// What the string says of the settings wdh-migrate applies itself.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConnSettings {
    /// `passfile`: the password file to read (none: the caller's).
    pub(crate) passfile: Option<PathBuf>,
    /// `connect_timeout`, at least 2 s (none: the caller's).
    pub(crate) connect_timeout: Option<Duration>,
    /// `tcp_user_timeout`; zero leaves the system's.
    pub(crate) tcp_user_timeout: Option<Duration>,
    /// `keepalives_count` (or the driver's `keepalives_retries`); zero
    /// leaves the system's.
    pub(crate) keepalives_count: Option<u32>,
    /// `target_session_attrs`.
    pub(crate) session_attrs: SessionAttrs,
    /// `fallback_application_name`.
    pub(crate) fallback_application_name: Option<String>,
    /// Whether the string sets `keepalives_idle`.
    pub(crate) idle_given: bool,
    /// Whether the string sets `keepalives_interval`.
    pub(crate) interval_given: bool,
}

impl ConnSettings {
    /// Reads the applied settings (the last of each wins, as in libpq) and
    /// notes which of the driver's settings the string gives.
    pub(super) fn read(
        applied: &[(&'static str, String)],
        names: &[&'static str],
    ) -> Result<ConnSettings, Refusal> {
        let mut s = ConnSettings {
            idle_given: names.contains(&"keepalives_idle"),
            interval_given: names.contains(&"keepalives_interval"),
            ..ConnSettings::default()
        };
        for (name, value) in applied {
            match *name {
                "passfile" => s.passfile = (!value.is_empty()).then(|| PathBuf::from(value)),
                "connect_timeout" => {
                    let secs = integer(name, value)?;
                    if secs <= 0 {
                        return Err(Refusal::Plain(
                            "`connect_timeout` is 0 or less, which libpq reads as waiting for \
                             ever; wdh-migrate never waits without a limit: give a number of \
                             seconds (the default is 10)"
                                .into(),
                        ));
                    }
                    // libpq's rule: less than 2 seconds is 2.
                    s.connect_timeout = Some(Duration::from_secs(secs.max(2).unsigned_abs()));
                }
                "tcp_user_timeout" => {
                    let ms = non_negative(name, value)?;
                    s.tcp_user_timeout = Some(Duration::from_millis(ms));
                }
                "keepalives_count" => {
                    let n = non_negative(name, value)?;
                    s.keepalives_count = Some(u32::try_from(n).unwrap_or(u32::MAX));
                }
                "target_session_attrs" => {
                    s.session_attrs = SessionAttrs::parse(value).ok_or_else(|| {
                        Refusal::Plain(
                            "`target_session_attrs` must be any, read-write, read-only, \
                             primary, standby or prefer-standby"
                                .into(),
                        )
                    })?;
                }
                "fallback_application_name" => {
                    s.fallback_application_name = Some(value.clone());
                }
                _ => {}
            }
        }
        if s.keepalives_count.is_some() && names.contains(&"keepalives_retries") {
            return Err(Refusal::Plain(
                "both `keepalives_count` (libpq's name) and `keepalives_retries` (the \
                 driver's) are given; give `keepalives_count` only"
                    .into(),
            ));
        }
        Ok(s)
    }

    /// The driver's settings for one connection: `base` with the applied
    /// settings and wdh-migrate's defaults; `connect_timeout` bounds the
    /// socket's connect (the caller bounds the whole login).
    pub(crate) fn apply(&self, config: &mut postgres::Config, connect_timeout: Duration) {
        config.connect_timeout(connect_timeout);
        if config.get_application_name().is_none() {
            config.application_name(
                self.fallback_application_name
                    .as_deref()
                    .unwrap_or(APPLICATION_NAME),
            );
        }
        if !self.idle_given {
            config.keepalives_idle(KEEPALIVES_IDLE);
        }
        if !self.interval_given {
            config.keepalives_interval(KEEPALIVES_INTERVAL);
        }
        match self.keepalives_count {
            Some(0) => {}
            Some(n) => {
                config.keepalives_retries(n);
            }
            None if config.get_keepalives_retries().is_none() => {
                config.keepalives_retries(KEEPALIVES_COUNT);
            }
            None => {}
        }
        match self.tcp_user_timeout {
            Some(t) if t.is_zero() => {}
            Some(t) => {
                config.tcp_user_timeout(t);
            }
            None => {
                config.tcp_user_timeout(TCP_USER_TIMEOUT);
            }
        }
    }
}

/// An integer as libpq reads one (`strtol`, white space around it allowed).
fn integer(name: &str, value: &str) -> Result<i64, Refusal> {
    value
        .trim_matches(|c: char| c.is_ascii_whitespace())
        .parse::<i64>()
        .map_err(|_| Refusal::Plain(format!("`{name}` must be a whole number")))
}

fn non_negative(name: &str, value: &str) -> Result<u64, Refusal> {
    let n = integer(name, value)?;
    u64::try_from(n).map_err(|_| Refusal::Plain(format!("`{name}` must not be negative")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&'static str, &str)]) -> Result<ConnSettings, Refusal> {
        let applied: Vec<_> = pairs.iter().map(|(n, v)| (*n, v.to_string())).collect();
        ConnSettings::read(&applied, &[])
    }

    #[test]
    fn connect_timeout_is_libpqs_with_no_unlimited_wait() {
        let s = read(&[("connect_timeout", " 7 ")]).unwrap();
        assert_eq!(s.connect_timeout, Some(Duration::from_secs(7)));
        let s = read(&[("connect_timeout", "1")]).unwrap();
        assert_eq!(s.connect_timeout, Some(Duration::from_secs(2)));
        for bad in ["0", "-3", "ten", "1.5", ""] {
            assert!(read(&[("connect_timeout", bad)]).is_err(), "{bad}");
        }
    }

    #[test]
    fn tcp_user_timeout_is_in_milliseconds() {
        let s = read(&[("tcp_user_timeout", "1500")]).unwrap();
        assert_eq!(s.tcp_user_timeout, Some(Duration::from_millis(1500)));
        let mut c = postgres::Config::new();
        s.apply(&mut c, Duration::from_secs(10));
        assert_eq!(c.get_tcp_user_timeout(), Some(&Duration::from_millis(1500)));
        assert!(read(&[("tcp_user_timeout", "-1")]).is_err());
    }

    #[test]
    fn every_libpq_session_attribute_reads() {
        for v in [
            "any",
            "read-write",
            "read-only",
            "primary",
            "standby",
            "prefer-standby",
        ] {
            let s = read(&[("target_session_attrs", v)]).unwrap();
            assert_eq!(s.session_attrs.to_string(), v);
        }
        assert!(read(&[("target_session_attrs", "master")]).is_err());
        assert!(SessionAttrs::ReadWrite.accepts(false, false));
        assert!(!SessionAttrs::ReadWrite.accepts(true, true));
        assert!(!SessionAttrs::ReadWrite.accepts(false, true));
        assert!(SessionAttrs::Primary.accepts(false, true));
        assert!(SessionAttrs::Standby.accepts(true, true));
        assert!(!SessionAttrs::Standby.accepts(false, false));
    }

    #[test]
    fn defaults_keep_a_silent_peer_from_hanging_a_run() {
        let mut c = postgres::Config::new();
        ConnSettings::default().apply(&mut c, Duration::from_secs(4));
        assert_eq!(c.get_connect_timeout(), Some(&Duration::from_secs(4)));
        assert_eq!(c.get_application_name(), Some(APPLICATION_NAME));
        assert!(c.get_keepalives());
        assert_eq!(c.get_keepalives_idle(), KEEPALIVES_IDLE);
        assert_eq!(c.get_keepalives_interval(), Some(KEEPALIVES_INTERVAL));
        assert_eq!(c.get_keepalives_retries(), Some(KEEPALIVES_COUNT));
        assert_eq!(c.get_tcp_user_timeout(), Some(&TCP_USER_TIMEOUT));
    }

    #[test]
    fn the_strings_application_name_wins_then_the_fallback() {
        let mut c = postgres::Config::new();
        c.application_name("mine");
        let s = read(&[("fallback_application_name", "fb")]).unwrap();
        s.apply(&mut c, Duration::from_secs(4));
        assert_eq!(c.get_application_name(), Some("mine"));
        let mut c = postgres::Config::new();
        s.apply(&mut c, Duration::from_secs(4));
        assert_eq!(c.get_application_name(), Some("fb"));
    }

    #[test]
    fn both_names_of_the_keepalive_count_are_refused() {
        let applied = vec![("keepalives_count", "4".to_string())];
        assert!(ConnSettings::read(&applied, &["keepalives_retries"]).is_err());
        let s = ConnSettings::read(&applied, &[]).unwrap();
        let mut c = postgres::Config::new();
        s.apply(&mut c, Duration::from_secs(4));
        assert_eq!(c.get_keepalives_retries(), Some(4));
    }
}
