//! Watching a statement's lock waits from a connection of its own.
//!
//! While a watched statement runs, a thread asks the server (`pg_locks`)
//! whether the server process running it waits for a lock, which lock, for
//! how long and behind which processes (`pg_blocking_pids`). It connects
//! only when its first look is due, so a statement that ends quickly opens
//! no connection, and it looks less and less often while it finds no wait.
//!
//! What it saw names the lock in the retries' messages and in the error of
//! a migration whose budget ran out. For a statement outside a transaction,
//! where no `SET LOCAL lock_timeout` can apply and a session setting would
//! stay on a pooled server session, it is also the lock timeout: once the
//! statement has waited that long for one lock, the watch cancels it, with
//! `pg_cancel_backend` in the same statement that checks it still waits
//! for that lock. Not with a cancel request: one sent through a pooler
//! reaches whichever statement its client runs by then, and PgBouncer 1.18
//! exits on a cancel request whose client closes first, as
//! tokio-postgres's does.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use postgres::types::Type;
use postgres::Client;

use crate::ledger::statements;

use super::retry::human;
use super::Runner;

/// The longest pause between two looks.
const MAX_INTERVAL: Duration = Duration::from_secs(1);
/// The shortest.
const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// Which server process runs the watched statement.
#[derive(Debug, Clone)]
pub(super) enum Backend {
    /// Known: a transaction's (its prologue read it).
    Pid(i32),
    /// The process of this run's connections that runs `sql` (outside a
    /// transaction, behind a transaction pooler, each statement may run on
    /// another one), `hint` first: the one that answered last.
    Running { hint: i32, sql: String },
}

/// What a watch saw of one statement.
#[derive(Debug, Default, Clone)]
pub(super) struct Seen {
    /// The last lock wait seen, described: the lock and who holds it.
    pub(super) waited_for: Option<String>,
    /// The watch cancelled the statement: it waited too long for a lock.
    pub(super) cancelled: bool,
}

struct Watching {
    generation: u64,
    backend: Backend,
    /// Cancel once it has waited this long for one lock.
    cancel_after: Option<Duration>,
    next_look: Instant,
    interval: Duration,
    /// Where no server tells when a wait began (before 14): the lock
    /// first seen waited for, and when.
    first_seen: Option<(String, Instant)>,
    seen: Seen,
}

#[derive(Default)]
struct State {
    stop: bool,
    generation: u64,
    watching: Option<Watching>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> Option<MutexGuard<'_, State>> {
        self.state.lock().ok()
    }
}

/// A thread that watches one statement at a time of one connection.
pub(super) struct LockWatch {
    shared: Arc<Shared>,
}

impl LockWatch {
    /// A watch for the statements of a run's connection.
    pub(super) fn start(runner: &Runner<'_>, server_version: i32) -> Self {
        let shared = Arc::new(Shared::default());
        let connect = runner.client_connector();
        let thread = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name("wdh-migrate-lock-watch".into())
            .spawn(move || watch(&thread, &connect, server_version));
        if spawned.is_err() {
            tracing::warn!(
                "could not start the lock watch thread; lock waits outside a transaction are not bounded"
            );
        }
        LockWatch { shared }
    }

    /// Watches the statement `backend` runs from now on: first look after
    /// `first_look`; with `cancel_after`, cancel it once it has waited
    /// that long for a lock.
    pub(super) fn begin(
        &self,
        backend: Backend,
        first_look: Duration,
        cancel_after: Option<Duration>,
    ) {
        let Some(mut s) = self.shared.lock() else {
            return;
        };
        s.generation += 1;
        let interval = first_look.clamp(MIN_INTERVAL, MAX_INTERVAL);
        s.watching = Some(Watching {
            generation: s.generation,
            backend,
            cancel_after,
            next_look: Instant::now() + interval,
            interval,
            first_seen: None,
            seen: Seen::default(),
        });
        drop(s);
        self.shared.wake.notify_all();
    }

    /// The watched statement ended: what was seen. Waits for a cancel
    /// being sent.
    pub(super) fn end(&self) -> Seen {
        self.shared
            .lock()
            .and_then(|mut s| s.watching.take())
            .map(|w| w.seen)
            .unwrap_or_default()
    }
}

impl Drop for LockWatch {
    fn drop(&mut self) {
        if let Some(mut s) = self.shared.lock() {
            s.stop = true;
            s.watching = None;
        }
        self.shared.wake.notify_all();
    }
}

/// A lock wait, as the server shows it.
struct Wait {
    /// The server process that waits.
    pid: i32,
    /// The lock's identity, to tell one wait from the next.
    lock: String,
    /// The lock and who holds it.
    described: String,
    /// How long it has waited (14+).
    waited: Option<Duration>,
}

fn watch(
    shared: &Shared,
    connect: &dyn Fn() -> Result<Client, postgres::Error>,
    server_version: i32,
) {
    let mut client: Option<Client> = None;
    loop {
        let (generation, backend) = {
            let Some(mut s) = shared.lock() else {
                return;
            };
            loop {
                if s.stop {
                    return;
                }
                let now = Instant::now();
                let due = s.watching.as_ref().map(|w| w.next_look);
                match due {
                    Some(at) if at <= now => break,
                    Some(at) => match shared.wake.wait_timeout(s, at - now) {
                        Ok((guard, _)) => s = guard,
                        Err(_) => return,
                    },
                    None => match shared.wake.wait(s) {
                        Ok(guard) => s = guard,
                        Err(_) => return,
                    },
                }
            }
            let Some(w) = s.watching.as_mut() else {
                continue;
            };
            // Until this look says otherwise, the next one is an interval away.
            w.next_look = Instant::now() + w.interval;
            (w.generation, w.backend.clone())
        };
        if client.as_ref().is_none_or(Client::is_closed) {
            client = connect()
                .inspect_err(|e| tracing::debug!(error = %e, "the lock watch could not connect"))
                .ok();
        }
        let Some(c) = client.as_mut() else {
            continue;
        };
        let wait = look(c, &backend, server_version);
        let Some(mut s) = shared.lock() else {
            return;
        };
        let Some(w) = s.watching.as_mut().filter(|w| w.generation == generation) else {
            continue;
        };
        let now = Instant::now();
        let Some(wait) = wait else {
            w.first_seen = None;
            w.interval = (w.interval * 2).min(MAX_INTERVAL);
            w.next_look = now + w.interval;
            continue;
        };
        let waited = wait.waited.unwrap_or_else(|| match &w.first_seen {
            Some((lock, since)) if *lock == wait.lock => now - *since,
            _ => {
                w.first_seen = Some((wait.lock.clone(), now));
                Duration::ZERO
            }
        });
        w.seen.waited_for = Some(wait.described);
        let Some(limit) = w.cancel_after else {
            continue;
        };
        if waited < limit {
            w.next_look = now + (limit - waited).min(w.interval).max(MIN_INTERVAL);
            continue;
        }
        // Still under the lock, so the statement's end waits for the
        // cancel, which only a statement still waiting for this lock gets.
        let cancelled = c
            .query_typed(
                statements::CANCEL_LOCK_WAIT,
                &[(&wait.pid, Type::INT4), (&wait.lock, Type::TEXT)],
            )
            .map(|rows| rows.first().is_some_and(|r| r.get::<_, bool>(0)));
        match cancelled {
            Ok(true) => {
                w.seen.cancelled = true;
                w.next_look = now + Duration::from_secs(3600);
            }
            Ok(false) => w.next_look = now + MIN_INTERVAL,
            Err(e) => {
                tracing::warn!(error = %e, "cancelling a statement that waited too long for a lock failed");
            }
        }
    }
}

/// The lock the statement waits for, if it waits.
fn look(c: &mut Client, backend: &Backend, server_version: i32) -> Option<Wait> {
    let pid = match backend {
        Backend::Pid(pid) => *pid,
        Backend::Running { hint, sql } => c
            .query_typed_opt(
                statements::RUNNING_STATEMENT,
                &[(sql, Type::TEXT), (hint, Type::INT4)],
            )
            .ok()
            .flatten()?
            .get(0),
    };
    let row = c
        .query_typed_opt(statements::lock_wait(server_version), &[(&pid, Type::INT4)])
        .ok()
        .flatten()?;
    let locktype: String = row.get(0);
    let mode: Option<String> = row.get(1);
    let relation: Option<String> = row.get(2);
    let waited: Option<f64> = row.get(3);
    let object: Option<String> = row.get(4);
    let lock: String = row.get(5);
    let what = describe_lock(
        &locktype,
        mode.as_deref(),
        relation.as_deref(),
        object.as_deref(),
    );
    let holders: Vec<String> = c
        .query_typed(statements::LOCK_HOLDERS, &[(&pid, Type::INT4)])
        .map(|rows| {
            rows.iter()
                .map(|r| {
                    describe_holder(r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5))
                })
                .collect()
        })
        .unwrap_or_default();
    let described = match holders.as_slice() {
        [] => what,
        _ => format!("{what}, behind {}", holders.join("; ")),
    };
    Some(Wait {
        pid,
        lock,
        described,
        waited: waited.and_then(|s| Duration::try_from_secs_f64(s.max(0.0)).ok()),
    })
}

/// `AccessExclusiveLock on public.t`, or what a lock of another type is.
fn describe_lock(
    locktype: &str,
    mode: Option<&str>,
    relation: Option<&str>,
    object: Option<&str>,
) -> String {
    let mode = mode.unwrap_or("a lock");
    match (locktype, relation) {
        ("relation", Some(r)) => format!("{mode} on {r}"),
        ("tuple", Some(r)) => format!("a row lock on {r}"),
        ("transactionid", _) => format!(
            "a row lock: the end of transaction {}",
            object.unwrap_or("?")
        ),
        ("virtualxid", _) => "the end of an older transaction".to_string(),
        ("advisory", _) => format!("an advisory lock ({mode})"),
        (other, _) => format!("{mode} on a {other} lock"),
    }
}

/// `process 4242 (AccessShareLock; role app, application psql, idle in
/// transaction, its transaction open for 3.2 s)`: what the server lets this
/// role see of it (no query text: it may hold data).
fn describe_holder(
    pid: i32,
    modes: Option<String>,
    role: Option<String>,
    application: Option<String>,
    state: Option<String>,
    open: Option<f64>,
) -> String {
    let mut facts = Vec::new();
    if let Some(m) = modes.filter(|m| !m.is_empty()) {
        facts.push(format!("holding {m}"));
    }
    if let Some(r) = role {
        facts.push(format!("role {r}"));
    }
    if let Some(a) = application.filter(|a| !a.is_empty()) {
        facts.push(format!("application {a}"));
    }
    if let Some(s) = state {
        facts.push(s);
    }
    if let Some(d) = open.and_then(|s| Duration::try_from_secs_f64(s.max(0.0)).ok()) {
        facts.push(format!("its transaction open for {}", human(d)));
    }
    if facts.is_empty() {
        format!("process {pid}")
    } else {
        format!("process {pid} ({})", facts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_and_holders_read_as_sentences() {
        assert_eq!(
            describe_lock(
                "relation",
                Some("AccessExclusiveLock"),
                Some("public.t"),
                None
            ),
            "AccessExclusiveLock on public.t"
        );
        assert_eq!(
            describe_lock("virtualxid", Some("ShareLock"), None, Some("3/7")),
            "the end of an older transaction"
        );
        assert_eq!(
            describe_lock("transactionid", Some("ShareLock"), None, Some("812")),
            "a row lock: the end of transaction 812"
        );
        assert_eq!(
            describe_holder(
                42,
                Some("AccessShareLock".into()),
                Some("app".into()),
                Some("psql".into()),
                Some("idle in transaction".into()),
                Some(3.21)
            ),
            "process 42 (holding AccessShareLock, role app, application psql, idle in transaction, \
             its transaction open for 3.2 s)"
        );
        assert_eq!(
            describe_holder(7, None, None, Some(String::new()), None, None),
            "process 7"
        );
    }
}
