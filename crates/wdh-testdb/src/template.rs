//! Migrated test databases: a template per migration set, cloned per test.
//!
//! The first request for a set builds `wdh_test_tpl_<checksum>` by running
//! the set to head, once per server, under an advisory lock so that several
//! test processes asking at once build it once. The template is then marked
//! `IS_TEMPLATE` and closed to connections (`ALLOW_CONNECTIONS false`), so
//! nothing can hold a connection that would stop it from being copied. Each
//! test gets `CREATE DATABASE wdh_test_<random> TEMPLATE … STRATEGY
//! FILE_COPY` (about 1.5× faster than `WAL_LOG` for a migrated schema; see
//! the bench).
//!
//! A changed set has a new checksum, so a new template. A process that uses
//! a template holds a shared advisory lock on it for as long as it lives;
//! building a template sweeps the other templates that no live process
//! holds.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

use postgres::{Client, NoTls};
use wdh_migrate_core::migrations::MigrationSet;
use wdh_migrate_core::runner::{RunOptions, Runner};
use wdh_migrate_core::target::{Source, Target};

use crate::admin::Admin;
use crate::database;
use crate::error::{Error, Result};
use crate::names::{self, check_name};

/// The prefix of template databases.
pub const TEMPLATE_PREFIX: &str = names::TEMPLATE_PREFIX;

/// Advisory lock namespaces (first key of the two-key form).
const USE_LOCK: i32 = 0x7764_7470; // "wdtp": a process uses this template (shared)
const BUILD_LOCK: i32 = 0x7764_7462; // "wdtb": a process builds this template

/// Per-server state of templates and pools.
#[derive(Default)]
pub(crate) struct Templates {
    /// Set checksum → ready template name.
    ready: Mutex<HashMap<[u8; 32], String>>,
    /// Holds the shared "in use" locks of this process's templates.
    holder: Mutex<Option<Client>>,
    /// Template name → its pool of ready clones.
    pools: Mutex<HashMap<String, Arc<Pool>>>,
    /// How many clones each pool keeps ready.
    pool_size: AtomicUsize,
}

impl Templates {
    pub(crate) fn new() -> Templates {
        Templates {
            pool_size: AtomicUsize::new(2),
            ..Templates::default()
        }
    }
}

/// The template name of a set.
pub fn template_name(set: &MigrationSet) -> String {
    format!("{TEMPLATE_PREFIX}{}", &set.checksum_hex()[..20])
}

fn key(name: &str) -> i32 {
    let h = name.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    i32::from_ne_bytes(h.to_ne_bytes())
}

impl Templates {
    /// The template database for `set`, built on first use.
    pub(crate) fn template(&self, admin: &Admin, set: &MigrationSet) -> Result<String> {
        let checksum = set.checksum();
        if let Some(name) = self
            .ready
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&checksum)
        {
            return Ok(name.clone());
        }
        let name = template_name(set);
        check_name(&name)?;
        // Mark it in use first, so no concurrent sweep drops it under us.
        {
            let mut holder = self.holder.lock().unwrap_or_else(|p| p.into_inner());
            if holder.as_ref().is_none_or(Client::is_closed) {
                *holder = Some(
                    admin
                        .config()
                        .connect(NoTls)
                        .map_err(Error::pg("connecting to the test server"))?,
                );
            }
            if let Some(c) = holder.as_mut() {
                c.execute(
                    "SELECT pg_advisory_lock_shared($1, $2)",
                    &[&USE_LOCK, &key(&name)],
                )
                .map_err(Error::pg(format!("marking template {name} in use")))?;
            }
        }
        build_template(admin, &name, set)?;
        self.ready
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(checksum, name.clone());
        Ok(name)
    }

    /// The name of a clone of the set's template, taken from the pool of
    /// clones made ahead of demand when one is ready.
    pub(crate) fn pooled_clone(&self, admin: &Arc<Admin>, set: &MigrationSet) -> Result<String> {
        let template = self.template(admin, set)?;
        let pool = self.pool(admin, &template);
        match pool.take() {
            Some(name) => Ok(name),
            None => {
                let name = names::fresh_name();
                clone_template(admin, &template, &name)?;
                Ok(name)
            }
        }
    }

    /// The name of a clone of the set's template made now, bypassing the pool.
    pub(crate) fn fresh_clone(&self, admin: &Admin, set: &MigrationSet) -> Result<String> {
        let template = self.template(admin, set)?;
        let name = names::fresh_name();
        clone_template(admin, &template, &name)?;
        Ok(name)
    }

    /// How many clones each pool keeps ready (0 turns pools off).
    pub(crate) fn set_pool_size(&self, size: usize) {
        self.pool_size.store(size, Ordering::Relaxed);
    }

    fn pool(&self, admin: &Arc<Admin>, template: &str) -> Arc<Pool> {
        let mut pools = self.pools.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(pools.entry(template.to_string()).or_insert_with(|| {
            Pool::start(admin, template, self.pool_size.load(Ordering::Relaxed))
        }))
    }

    /// Stops the pools and drops their unused clones (at exit, for servers
    /// that outlive the process).
    pub(crate) fn drain_pools(&self, admin: &Admin) {
        let pools: Vec<Arc<Pool>> = self
            .pools
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        for pool in pools {
            for name in pool.stop() {
                let _ = database::drop_now(admin, &name);
            }
        }
    }
}

fn build_template(admin: &Admin, name: &str, set: &MigrationSet) -> Result<()> {
    let mut client = admin
        .config_for("postgres")
        .connect(NoTls)
        .map_err(Error::pg("connecting to the test server"))?;
    let pg = |what: &str| Error::pg(format!("{what} template {name}"));
    client
        .execute(
            "SELECT pg_advisory_lock($1, $2)",
            &[&BUILD_LOCK, &key(name)],
        )
        .map_err(pg("locking"))?;
    let ready: Option<bool> = client
        .query_opt(
            "SELECT datistemplate FROM pg_database WHERE datname = $1",
            &[&name],
        )
        .map_err(pg("looking up"))?
        .map(|r| r.get(0));
    let built = match ready {
        Some(true) => Ok(()),
        partial => {
            if partial.is_some() {
                // Left half-built by a killed process.
                database::drop_now(admin, name)?;
            }
            build_template_locked(admin, &mut client, name, set)
        }
    };
    let _ = client.execute(
        "SELECT pg_advisory_unlock($1, $2)",
        &[&BUILD_LOCK, &key(name)],
    );
    built?;
    sweep_stale_templates(admin, &mut client, name);
    Ok(())
}

fn build_template_locked(
    admin: &Admin,
    client: &mut Client,
    name: &str,
    set: &MigrationSet,
) -> Result<()> {
    client
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .map_err(Error::pg(format!("creating template {name}")))?;
    let failed = |source: Box<dyn std::error::Error + Send + Sync>| Error::TemplateBuild {
        template: name.to_string(),
        source,
    };
    let run = Target::parse(&admin.url_for(name), Source::Explicit)
        .map_err(|e| failed(Box::new(e)))
        .and_then(|target| {
            Runner::new(&target, RunOptions::default())
                .upgrade(set, &wdh_migrate_core::UpgradeTo::Head, &mut |_| {})
                .map(|_| ())
                .map_err(|e| failed(Box::new(e)))
        });
    if let Err(e) = run {
        let _ = database::drop_now(admin, name);
        return Err(e);
    }
    client
        .batch_execute(&format!(
            "ALTER DATABASE \"{name}\" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"
        ))
        .map_err(Error::pg(format!("sealing template {name}")))
}

/// Drops the templates no live process uses (other than `keep`).
fn sweep_stale_templates(admin: &Admin, client: &mut Client, keep: &str) {
    let Ok(rows) = client.query(
        "SELECT datname FROM pg_database WHERE starts_with(datname, $1) AND datname <> $2",
        &[&TEMPLATE_PREFIX, &keep],
    ) else {
        return;
    };
    for row in rows {
        let Ok(name) = row.try_get::<_, String>(0) else {
            continue; // not UTF-8: not a name this harness made; never touched
        };
        if check_name(&name).is_err() {
            continue; // not a name this harness made; never touched
        }
        let free = client
            .query_one(
                "SELECT pg_try_advisory_lock($1, $2)",
                &[&USE_LOCK, &key(&name)],
            )
            .map(|r| r.get::<_, bool>(0))
            .unwrap_or(false);
        if free {
            let _ =
                client.batch_execute(&format!("ALTER DATABASE \"{name}\" WITH IS_TEMPLATE false"));
            let _ = database::drop_now(admin, &name);
            let _ = client.execute(
                "SELECT pg_advisory_unlock($1, $2)",
                &[&USE_LOCK, &key(&name)],
            );
        }
    }
}

/// A clone of `template` named `name`, waiting briefly for the template
/// to have no connections.
pub(crate) fn clone_template(admin: &Admin, template: &str, name: &str) -> Result<()> {
    check_name(name)?;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let created = admin.with_admin(|c, version| {
            let strategy = if version >= 150_000 {
                " STRATEGY FILE_COPY"
            } else {
                ""
            };
            c.batch_execute(&format!(
                "CREATE DATABASE \"{name}\" TEMPLATE \"{template}\"{strategy}"
            ))
        });
        match created {
            Ok(()) => return Ok(()),
            Err(e)
                if e.code() == Some(&postgres::error::SqlState::OBJECT_IN_USE)
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) if e.code() == Some(&postgres::error::SqlState::OBJECT_IN_USE) => {
                let holders = admin
                    .with_admin(|c, _| {
                        c.query(
                            "SELECT string_agg(pid || ' ' || coalesce(application_name, '') || ' ' || coalesce(client_addr::text, 'local'), ', ') \
                             FROM pg_stat_activity WHERE datname = $1",
                            &[&template],
                        )
                    })
                    .ok()
                    .and_then(|rows| rows.first().and_then(|r| r.get::<_, Option<String>>(0)))
                    .unwrap_or_else(|| "unknown sessions".into());
                return Err(Error::TemplateInUse {
                    template: template.to_string(),
                    holders,
                });
            }
            Err(e) => {
                return Err(Error::pg(format!(
                    "cloning template {template} into {name}"
                ))(e))
            }
        }
    }
}

/// Clones made ahead of demand, refilled by a background thread.
pub(crate) struct Pool {
    ready: Mutex<VecDeque<String>>,
    wake: Condvar,
    size: usize,
    stopped: AtomicBool,
    refiller: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Pool {
    fn start(admin: &Arc<Admin>, template: &str, size: usize) -> Arc<Pool> {
        let pool = Arc::new(Pool {
            ready: Mutex::new(VecDeque::new()),
            wake: Condvar::new(),
            size,
            stopped: AtomicBool::new(false),
            refiller: Mutex::new(None),
        });
        if size > 0 {
            let weak_admin = Arc::downgrade(admin);
            let pool_ref = Arc::clone(&pool);
            let template = template.to_string();
            let handle = std::thread::Builder::new()
                .name("wdh-testdb-pool".into())
                .spawn(move || pool_ref.refill(&weak_admin, &template));
            *pool.refiller.lock().unwrap_or_else(|p| p.into_inner()) = handle.ok();
        }
        pool
    }

    fn take(&self) -> Option<String> {
        let name = self
            .ready
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop_front();
        self.wake.notify_all();
        name
    }

    /// Keeps the pool full while the server's handle lives (`admin` does
    /// not keep it alive).
    fn refill(&self, admin: &Weak<Admin>, template: &str) {
        loop {
            {
                let ready = self.ready.lock().unwrap_or_else(|p| p.into_inner());
                let ready = self
                    .wake
                    .wait_while(ready, |r| {
                        r.len() >= self.size && !self.stopped.load(Ordering::Relaxed)
                    })
                    .unwrap_or_else(|p| p.into_inner());
                drop(ready);
            }
            if self.stopped.load(Ordering::Relaxed) {
                return;
            }
            let Some(admin) = admin.upgrade() else {
                return;
            };
            let name = names::fresh_name();
            if clone_template(&admin, template, &name).is_err() {
                // The server is going away (or refuses): stop refilling; takers clone themselves.
                return;
            }
            let mut ready = self.ready.lock().unwrap_or_else(|p| p.into_inner());
            if self.stopped.load(Ordering::Relaxed) {
                drop(ready);
                let _ = database::drop_now(&admin, &name);
                return;
            }
            ready.push_back(name);
        }
    }

    /// Stops refilling and returns the unused clones. Waits for a clone in
    /// flight, which the refill thread drops itself once it sees the stop.
    fn stop(&self) -> Vec<String> {
        let drained = {
            // Under the mutex the refill thread waits with, so the wake-up cannot be missed.
            let mut ready = self.ready.lock().unwrap_or_else(|p| p.into_inner());
            self.stopped.store(true, Ordering::Relaxed);
            ready.drain(..).collect()
        };
        self.wake.notify_all();
        if let Some(handle) = self
            .refiller
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            let _ = handle.join();
        }
        drained
    }
}
