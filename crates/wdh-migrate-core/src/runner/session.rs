//! A connection whose every wait has a limit.
//!
//! The driver's blocking client cannot give up on a server that accepted
//! a connection and then went silent: a read waits for ever. So each
//! connection lives on a thread of its own, which logs in and then runs
//! the round trips it is handed; the run waits for each answer at most as
//! long as the round trip may take, and gives the connection up when none
//! comes. A connection given up is closed by its thread once the server
//! answers or the operating system ends it (TCP keepalives,
//! `tcp_user_timeout`); the run never waits for that.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use postgres::{Client, SimpleQueryMessage};

use crate::tls::Connector;

/// How long dropping a session waits for its thread to close the
/// connection cleanly (a `Terminate` message) before leaving it to it.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

type Job = Box<dyn FnOnce(&mut Client) + Send>;

/// A round trip that got no answer in time, or a session given up before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Silent {
    /// The host, as messages name it.
    pub(crate) host: String,
    /// How long the round trip that was given up waited.
    pub(crate) waited: Duration,
}

/// Why a round trip failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CallError {
    /// The driver or the server said so.
    #[error(transparent)]
    Db(postgres::Error),
    /// No answer in time: the session is given up.
    #[error("the server at {} sent no answer for {:.1} s; the connection was given up", .0.host, .0.waited.as_secs_f64())]
    Silent(Silent),
}

impl From<postgres::Error> for CallError {
    fn from(e: postgres::Error) -> Self {
        CallError::Db(e)
    }
}

impl CallError {
    /// The driver's error, if it is one.
    pub(crate) fn db(&self) -> Option<&postgres::Error> {
        match self {
            CallError::Db(e) => Some(e),
            CallError::Silent(_) => None,
        }
    }
}

/// Why a login failed.
#[derive(Debug)]
pub(crate) enum LoginError {
    /// The driver or the server refused it.
    Db(postgres::Error),
    /// It did not finish within the limit (connect, TLS, authentication
    /// and the first round trip).
    TimedOut(Duration),
}

/// A live connection, run on a thread of its own.
pub(crate) struct Session {
    jobs: Option<mpsc::Sender<Job>>,
    /// Set by the thread after each round trip: the driver closed it.
    closed: Arc<AtomicBool>,
    /// The thread says here that it has closed the connection.
    done: mpsc::Receiver<()>,
    host: String,
    /// The wait of the round trip that was given up.
    lost: Option<Duration>,
}

/// Opens a connection with `config`, TLS as `tls` says, and runs `first`
/// on it, all within `limit`; `host` names it in messages.
pub(crate) fn login<T: Send + 'static>(
    tls: &Connector,
    config: postgres::Config,
    host: String,
    limit: Duration,
    first: impl FnOnce(&mut Client) -> Result<T, postgres::Error> + Send + 'static,
) -> Result<(Session, T), LoginError> {
    let (jobs, queue) = mpsc::channel::<Job>();
    let (answer, answered) = mpsc::sync_channel(1);
    let (finished, done) = mpsc::sync_channel(1);
    let closed = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&closed);
    let tls = tls.clone();
    let spawned = std::thread::Builder::new()
        .name("wdh-migrate-connection".into())
        .spawn(move || {
            let opened = tls.connect(&config).and_then(|mut client| {
                let value = first(&mut client)?;
                Ok((client, value))
            });
            let mut client = match opened {
                Ok((client, value)) => {
                    if answer.send(Ok(value)).is_err() {
                        return;
                    }
                    client
                }
                Err(e) => {
                    let _ = answer.send(Err(e));
                    return;
                }
            };
            while let Ok(job) = queue.recv() {
                job(&mut client);
                flag.store(client.is_closed(), Ordering::Relaxed);
            }
            drop(client);
            let _ = finished.send(());
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "could not start a connection's thread");
        return Err(LoginError::TimedOut(Duration::ZERO));
    }
    match answered.recv_timeout(limit) {
        Ok(Ok(value)) => Ok((
            Session {
                jobs: Some(jobs),
                closed,
                done,
                host,
                lost: None,
            },
            value,
        )),
        Ok(Err(e)) => Err(LoginError::Db(e)),
        Err(_) => Err(LoginError::TimedOut(limit)),
    }
}

impl Session {
    /// The host this session is connected to, as messages name it.
    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    /// Whether the connection is closed or was given up.
    pub(crate) fn is_closed(&self) -> bool {
        self.jobs.is_none() || self.closed.load(Ordering::Relaxed)
    }

    /// Runs `f` on the connection and waits at most `limit` (none: as long
    /// as it takes, until the operating system ends a dead connection) for
    /// it; after that the session is given up.
    pub(crate) fn with<T: Send + 'static>(
        &mut self,
        limit: Option<Duration>,
        f: impl FnOnce(&mut Client) -> Result<T, postgres::Error> + Send + 'static,
    ) -> Result<T, CallError> {
        let silent = |waited| {
            CallError::Silent(Silent {
                host: self.host.clone(),
                waited,
            })
        };
        let Some(jobs) = &self.jobs else {
            return Err(silent(self.lost.unwrap_or_default()));
        };
        let (answer, answered) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |client| {
            let _ = answer.send(f(client));
        });
        let started = Instant::now();
        if jobs.send(job).is_err() {
            self.jobs = None;
            return Err(silent(Duration::ZERO));
        }
        let got = match limit {
            Some(limit) => answered.recv_timeout(limit).map_err(|_| ()),
            None => answered.recv().map_err(|_| ()),
        };
        match got {
            Ok(result) => result.map_err(CallError::Db),
            Err(()) => {
                let waited = started.elapsed();
                tracing::warn!(host = %self.host, waited_ms = waited.as_millis() as u64,
                    "the server sent no answer in time; the connection is given up");
                self.jobs = None;
                self.lost = Some(waited);
                Err(silent(waited))
            }
        }
    }

    /// `simple_query`, within `limit`.
    pub(crate) fn simple_query(
        &mut self,
        limit: Option<Duration>,
        sql: &str,
    ) -> Result<Vec<SimpleQueryMessage>, CallError> {
        let sql = sql.to_owned();
        self.with(limit, move |c| c.simple_query(&sql))
    }

    /// `batch_execute`, within `limit`.
    pub(crate) fn batch_execute(
        &mut self,
        limit: Option<Duration>,
        sql: &str,
    ) -> Result<(), CallError> {
        let sql = sql.to_owned();
        self.with(limit, move |c| c.batch_execute(&sql))
    }

    /// Ends a transaction a failed message left open, if the connection
    /// still stands.
    pub(crate) fn rollback(&mut self, limit: Option<Duration>) {
        if !self.is_closed() {
            let _ = self.with(limit, |c| {
                crate::ledger::rollback(c);
                Ok(())
            });
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.jobs.take().is_some() && self.lost.is_none() {
            // The thread closes the connection; wait briefly, so that the
            // server sees a clean end rather than a broken connection.
            let _ = self.done.recv_timeout(CLOSE_WAIT);
        }
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("host", &self.host)
            .field("closed", &self.is_closed())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_to_a_socket_that_never_answers_gives_up_at_its_limit() {
        // Accepts (the kernel does, into the backlog) and never answers:
        // neither the startup message nor the SSL request.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = silent.local_addr().unwrap().port();
        for mode in ["disable", "prefer", "require"] {
            let mut settings = crate::tls::TlsSettings::default();
            settings
                .set("sslmode", mode, crate::tls::Origin::ConnectionString)
                .unwrap();
            let tls = Connector::new(&settings, true).unwrap();
            let mut config = postgres::Config::new();
            config.host("127.0.0.1").port(port).user("u").dbname("d");
            let started = Instant::now();
            let e = login(
                &tls,
                config,
                "127.0.0.1".into(),
                Duration::from_millis(300),
                |_| Ok(()),
            )
            .unwrap_err();
            let took = started.elapsed();
            assert!(
                matches!(e, LoginError::TimedOut(l) if l == Duration::from_millis(300)),
                "sslmode={mode}: {e:?}"
            );
            assert!(
                took >= Duration::from_millis(300) && took < Duration::from_secs(3),
                "sslmode={mode}: {took:?}"
            );
        }
    }
}
