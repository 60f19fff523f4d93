//! The background dropper of one server: a thread that drops test
//! databases once their tests are done, so a drop (which forces a
//! checkpoint) never sits on a test's critical path.

use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use postgres::{Client, Config, NoTls};

use crate::admin::Admin;
use crate::database::{self, drop_test_database};
use crate::error::pg_text;
use crate::names::check_name;

/// The queue of drops of one server, with its thread started on first use.
pub(crate) struct Dropper {
    /// A private cluster: failed drops are not reported (the cluster takes them).
    private: bool,
    sender: Mutex<Option<Sender<String>>>,
    pending: Arc<(Mutex<usize>, Condvar)>,
}

impl Dropper {
    pub(crate) fn new(private: bool) -> Dropper {
        Dropper {
            private,
            sender: Mutex::new(None),
            pending: Arc::new((Mutex::new(0), Condvar::new())),
        }
    }

    /// Queues a drop on the background thread; falls back to dropping now.
    pub(crate) fn schedule(&self, admin: &Admin, name: String) {
        let sender = {
            let mut sender = self.sender.lock().unwrap_or_else(|p| p.into_inner());
            sender
                .get_or_insert_with(|| {
                    spawn_dropper(
                        admin.config().clone(),
                        self.private,
                        Arc::clone(&self.pending),
                    )
                })
                .clone()
        };
        *self.pending.0.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        if let Err(mpsc::SendError(name)) = sender.send(name) {
            finish_one(&self.pending);
            if let Err(e) = database::drop_now(admin, &name) {
                eprintln!(
                    "wdh-testdb: could not drop test database {name}: {}",
                    e.report()
                );
            }
        }
    }

    /// Waits until every queued database is gone (at most `timeout`).
    /// Returns whether the queue emptied.
    pub(crate) fn wait(&self, timeout: Duration) -> bool {
        let (count, cond) = &*self.pending;
        let guard = count.lock().unwrap_or_else(|p| p.into_inner());
        let (guard, _) = cond
            .wait_timeout_while(guard, timeout, |n| *n > 0)
            .unwrap_or_else(|p| p.into_inner());
        *guard == 0
    }
}

fn finish_one(pending: &(Mutex<usize>, Condvar)) {
    let mut n = pending.0.lock().unwrap_or_else(|p| p.into_inner());
    *n = n.saturating_sub(1);
    pending.1.notify_all();
}

/// The background dropper. On a private cluster a failed drop is not
/// reported: the cluster (stopping, or already gone) takes the database with it.
fn spawn_dropper(
    admin: Config,
    private: bool,
    pending: Arc<(Mutex<usize>, Condvar)>,
) -> Sender<String> {
    let (tx, rx) = mpsc::channel::<String>();
    let spawned = std::thread::Builder::new()
        .name("wdh-testdb-dropper".into())
        .spawn(move || {
            let mut client: Option<Client> = None;
            let mut version = 0;
            for name in rx {
                if check_name(&name).is_ok() {
                    let outcome = (|| -> std::result::Result<(), postgres::Error> {
                        if client.as_ref().is_none_or(Client::is_closed) {
                            let mut c = admin.connect(NoTls)?;
                            version = c
                                .query_one(
                                    "SELECT current_setting('server_version_num')::int",
                                    &[],
                                )?
                                .get::<_, i32>(0) as u32;
                            client = Some(c);
                        }
                        match client.as_mut() {
                            Some(c) => drop_test_database(c, &name, version),
                            None => Ok(()),
                        }
                    })();
                    if let Err(e) = outcome {
                        client = None;
                        if !private {
                            eprintln!(
                                "wdh-testdb: could not drop test database {name}: {}",
                                pg_text(&e)
                            );
                        }
                    }
                }
                finish_one(&pending);
            }
        });
    if spawned.is_err() {
        // No thread: the receiver is gone, so sends fail and drops happen inline.
        let (tx, _) = mpsc::channel();
        return tx;
    }
    tx
}
