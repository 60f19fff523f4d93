//! Opening a connection to a target as libpq does: each host in turn
//! (shuffled with `load_balance_hosts=random`), each with TLS as `sslmode`
//! says and its own password, until one fits `target_session_attrs`; every
//! login — TCP connect, TLS, authentication and the first read of the live
//! facts — bounded by the connect timeout, per host.

use std::time::Duration;

use postgres::config::{Host, LoadBalanceHosts};
use postgres::Config;

use crate::identity::Identity;
use crate::target::{HostEntry, HostPassword, PasswordOrigin, SessionAttrs, Target};
use crate::tls::Connector;

use super::session::{self, LoginError, Session};

/// Why one host was not used.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HostFailure {
    /// The host, as messages name it (`db1:5432`, `/run/postgresql (unix socket)`).
    pub host: String,
    /// What happened, scrubbed of the target's passwords.
    pub reason: String,
}

/// Everything needed to open connections to a target's hosts: `Send`, so
/// a heartbeat thread can open its own.
#[derive(Clone)]
pub(crate) struct Dialer {
    hosts: Vec<(HostEntry, Config, Option<String>)>,
    attrs: SessionAttrs,
    limit: Duration,
    random: bool,
    target: Target,
    /// TLS for every host, the target's files read once.
    tls: Connector,
}

/// A login that reached a host.
pub(crate) struct Reached {
    pub(crate) session: Session,
    pub(crate) identity: Identity,
    /// Which host of the target (an index for [`Dialer::reopen`]).
    pub(crate) index: usize,
}

impl Dialer {
    /// The connections of `target`, each login within `limit` (the
    /// string's `connect_timeout` wins), with TLS by `tls`.
    pub(crate) fn new(target: &Target, limit: Duration, tls: Connector) -> Dialer {
        let limit = target.connect_timeout().unwrap_or(limit);
        let base = target.config();
        let hosts = target
            .hosts()
            .into_iter()
            .enumerate()
            .map(|(i, entry)| {
                let mut config = single_host(base, &entry);
                target.conn().apply(&mut config, limit);
                let password = target.host_password(i).cloned().unwrap_or_default();
                if let Some(pw) = &password.password {
                    config.password(pw);
                }
                let note = if base.get_password().is_some_and(|p| !p.is_empty()) {
                    Some("the password came from the connection string".to_owned())
                } else {
                    password_note(&password)
                };
                (entry, config, note)
            })
            .collect();
        Dialer {
            hosts,
            attrs: target.session_attrs(),
            limit,
            random: base.get_load_balance_hosts() == LoadBalanceHosts::Random,
            target: target.clone(),
            tls,
        }
    }

    /// Logs in to the first host that fits `target_session_attrs` and
    /// reads its live facts (the marker too when `marker`).
    pub(crate) fn open(&self, marker: bool) -> Result<Reached, Vec<HostFailure>> {
        if self.hosts.is_empty() {
            return Err(vec![HostFailure {
                host: "no host given".into(),
                reason: "the connection string names no host; add host=… (a name, an address \
                         or a unix socket directory)"
                    .into(),
            }]);
        }
        let mut order: Vec<usize> = (0..self.hosts.len()).collect();
        if self.random {
            shuffle(&mut order);
        }
        let passes: &[SessionAttrs] = if self.attrs == SessionAttrs::PreferStandby {
            &[SessionAttrs::Standby, SessionAttrs::Any]
        } else {
            std::slice::from_ref(&self.attrs)
        };
        // A host that does not answer in the first pass is not tried again.
        let mut unreachable: Vec<(usize, HostFailure)> = Vec::new();
        let mut failures = Vec::new();
        for want in passes {
            failures.clear();
            for &i in &order {
                let (entry, _, _) = &self.hosts[i];
                if let Some((_, f)) = unreachable.iter().find(|(j, _)| *j == i) {
                    failures.push(f.clone());
                    continue;
                }
                match self.login(i, marker) {
                    Ok((session, identity)) => {
                        if want.accepts(identity.standby, identity.read_only) {
                            return Ok(Reached {
                                session,
                                identity,
                                index: i,
                            });
                        }
                        failures.push(HostFailure {
                            host: entry.label(),
                            reason: format!(
                                "{}, and target_session_attrs={} asks for {}",
                                describe_session(&identity),
                                self.attrs,
                                wanted(*want)
                            ),
                        });
                    }
                    Err(reason) => {
                        let failure = HostFailure {
                            host: entry.label(),
                            reason,
                        };
                        unreachable.push((i, failure.clone()));
                        failures.push(failure);
                    }
                }
            }
        }
        Err(failures)
    }

    /// Logs in to host `index` again (the host a run reached), whatever
    /// its session is, reading nothing.
    pub(crate) fn reopen(&self, index: usize) -> Result<Session, HostFailure> {
        let (entry, config, _) = &self.hosts[index];
        session::login(&self.tls, config.clone(), entry.label(), self.limit, |_| {
            Ok(())
        })
        .map(|(session, ())| session)
        .map_err(|e| HostFailure {
            host: entry.label(),
            reason: self.reason(index, e),
        })
    }

    fn login(&self, i: usize, marker: bool) -> Result<(Session, Identity), String> {
        let (entry, config, _) = &self.hosts[i];
        let unix_socket = entry.is_unix_socket();
        session::login(
            &self.tls,
            config.clone(),
            entry.label(),
            self.limit,
            move |client| Identity::read_with(client, marker, unix_socket),
        )
        .map_err(|e| self.reason(i, e))
    }

    /// What went wrong with a login to host `i`, scrubbed.
    fn reason(&self, i: usize, e: LoginError) -> String {
        let (_, _, note) = &self.hosts[i];
        let text = match e {
            LoginError::TimedOut(limit) => format!(
                "no answer within the connect timeout ({} s): the server accepted no \
                 connection, or accepted it and then sent nothing (connect, TLS, \
                 authentication and the first query all count)",
                limit.as_secs_f64()
            ),
            LoginError::Db(e) => {
                let mut text = crate::causes::describe(&e);
                if is_auth_failure(&e) {
                    if let Some(note) = note {
                        text.push_str(&format!(" ({note})"));
                    }
                }
                text
            }
        };
        self.target.scrub(&text)
    }
}

/// A password's provenance, for an authentication failure's message.
fn password_note(p: &HostPassword) -> Option<String> {
    match (&p.origin, &p.searched) {
        (Some(PasswordOrigin::ConnectionString), _) => {
            Some("the password came from the connection string".into())
        }
        (Some(origin), _) => Some(format!("the password came from {origin}")),
        (None, Some((_, why))) => Some(format!("no password was sent: {why}")),
        (None, None) => Some(
            "no password was sent: none in the connection string, and none from PGPASSWORD or a \
             password file"
                .into(),
        ),
    }
}

/// Whether the server refused the login for its password.
fn is_auth_failure(e: &postgres::Error) -> bool {
    use postgres::error::SqlState;
    match e.code() {
        Some(code) => {
            *code == SqlState::INVALID_PASSWORD
                || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        }
        None => crate::causes::describe(e).contains("password missing"),
    }
}

/// `a hot standby` / `a read-only session (default_transaction_read_only
/// is on)` / `a primary that accepts writes`.
pub(crate) fn describe_session(identity: &Identity) -> String {
    if identity.standby {
        "it is a hot standby (in recovery: read-only)".into()
    } else if identity.read_only {
        "its session is read-only (default_transaction_read_only is on)".into()
    } else {
        "it is a primary whose session accepts writes".into()
    }
}

fn wanted(attrs: SessionAttrs) -> &'static str {
    match attrs {
        SessionAttrs::Any => "any session",
        SessionAttrs::ReadWrite => "a session that accepts writes",
        SessionAttrs::ReadOnly => "a read-only session",
        SessionAttrs::Primary => "a primary",
        _ => "a standby",
    }
}

/// `base` with one host: every other setting kept, `target_session_attrs`
/// and load balancing left to [`Dialer::open`].
fn single_host(base: &Config, entry: &HostEntry) -> Config {
    let mut c = Config::new();
    if let Some(v) = base.get_user() {
        c.user(v);
    }
    if let Some(v) = base.get_password() {
        c.password(v);
    }
    if let Some(v) = base.get_dbname() {
        c.dbname(v);
    }
    if let Some(v) = base.get_options() {
        c.options(v);
    }
    if let Some(v) = base.get_application_name() {
        c.application_name(v);
    }
    c.ssl_mode(base.get_ssl_mode());
    c.ssl_negotiation(base.get_ssl_negotiation());
    c.channel_binding(base.get_channel_binding());
    match &entry.host {
        Some(Host::Tcp(name)) => {
            c.host(name);
        }
        #[cfg(unix)]
        Some(Host::Unix(path)) => {
            c.host_path(path);
        }
        None => {}
    }
    if let Some(addr) = entry.hostaddr {
        c.hostaddr(addr);
    }
    c.port(entry.port);
    c.keepalives(base.get_keepalives());
    c.keepalives_idle(base.get_keepalives_idle());
    if let Some(v) = base.get_keepalives_interval() {
        c.keepalives_interval(v);
    }
    if let Some(v) = base.get_keepalives_retries() {
        c.keepalives_retries(v);
    }
    c
}

/// Shuffles `order` (`load_balance_hosts=random`).
fn shuffle(order: &mut [usize]) {
    use std::hash::{BuildHasher, Hasher};
    for i in (1..order.len()).rev() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(i);
        let j = usize::try_from(h.finish() % (i as u64 + 1)).unwrap_or(0);
        order.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::Source;

    #[test]
    fn each_host_gets_the_targets_settings_and_wdh_migrates_defaults() {
        let t = Target::parse(
            "host=db1,db2 port=5432,6432 user=app dbname=orders options='-c x=1' \
             application_name=mine keepalives_idle=7 connect_timeout=4 tcp_user_timeout=900",
            Source::Explicit,
        )
        .unwrap();
        let d = Dialer::new(&t, Duration::from_secs(10), t.connector().unwrap());
        assert_eq!(d.limit, Duration::from_secs(4));
        assert_eq!(d.hosts.len(), 2);
        let (entry, c, _) = &d.hosts[1];
        assert_eq!(entry.label(), "db2:6432");
        assert_eq!(c.get_hosts(), [Host::Tcp("db2".into())]);
        assert_eq!(c.get_ports(), [6432]);
        assert_eq!(c.get_user(), Some("app"));
        assert_eq!(c.get_dbname(), Some("orders"));
        assert_eq!(c.get_options(), Some("-c x=1"));
        assert_eq!(c.get_application_name(), Some("mine"));
        assert_eq!(c.get_keepalives_idle(), Duration::from_secs(7));
        assert_eq!(
            c.get_keepalives_interval(),
            Some(crate::target::KEEPALIVES_INTERVAL)
        );
        assert_eq!(c.get_connect_timeout(), Some(&Duration::from_secs(4)));
        assert_eq!(c.get_tcp_user_timeout(), Some(&Duration::from_millis(900)));
    }

    #[test]
    fn a_shuffle_keeps_every_host() {
        let mut order: Vec<usize> = (0..6).collect();
        shuffle(&mut order);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..6).collect::<Vec<_>>());
    }
}
